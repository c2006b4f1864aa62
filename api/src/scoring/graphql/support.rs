//! Helpers the resolvers of this area share: parsing, permission checks and publishing.

use async_graphql::{Context, MaybeUndefined, Result};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::types::Score;
use crate::core::error::{AppError, AppResult};
use crate::core::field::FieldError;
use crate::core::ids::OrgId;
use crate::core::principal::{Permission, Principal};
use crate::graphql::UserError;
use crate::org::store as org_store;
use crate::scoring::model::{self, PeriodGrain};
use crate::scoring::scores::{self, OrgSettings, ScoreParts};
use crate::state::AppState;

// ---------------------------------------------------------------- helpers

pub(super) fn field_errors(errors: Vec<FieldError>) -> Vec<UserError> {
    errors.into_iter().map(UserError::from).collect()
}

/// A self-logging ceiling from an activity type input: per day or per activity.
pub(super) fn parse_ceiling(value: i32, per_day: bool) -> Result<i32, FieldError> {
    if per_day {
        model::parse_self_ceiling("selfMaxQuantityPerDay", value, model::MAX_SELF_QUANTITY_PER_DAY)
    } else {
        model::parse_self_ceiling("selfMaxQuantityPerActivity", value, model::MAX_QUANTITY)
    }
}

/// A ceiling change: unchanged, back to the default (`null`), or a new value.
pub(super) fn maybe_ceiling(
    value: MaybeUndefined<i32>,
    per_day: bool,
    errors: &mut Vec<FieldError>,
) -> Option<Option<i32>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => parse_ceiling(v, per_day).map_err(|e| errors.push(e)).ok().map(Some),
    }
}

pub(super) fn parse_text(field: &str, raw: Option<String>, max: usize) -> Result<Option<String>, FieldError> {
    crate::core::field::parse_free_text(field, raw.as_deref(), max)
}

/// The parts of `Score` the operation selects.
pub(super) fn score_parts(ctx: &Context<'_>) -> ScoreParts {
    let look = ctx.look_ahead();
    ScoreParts {
        target: ["target", "attainmentPercent", "pacingPercent"].iter().any(|f| look.field(f).exists()),
        streak: look.field("streakWeeks").exists(),
        by_type: look.field("byActivityType").exists(),
    }
}

pub(super) async fn current_week_score(
    s: &OrgSettings,
    db: &impl sea_orm::ConnectionTrait,
    member: Uuid,
    now: DateTime<Utc>,
    parts: ScoreParts,
) -> AppResult<Option<Score>> {
    let Some(m) = org_store::find_member(s.org, db, member).await? else { return Ok(None) };
    let p = model::period_containing(PeriodGrain::Week, model::local_date(now, s.tz), s.tz, s.fiscal_year_start_month);
    Ok(Some(scores::member_score(s, db, &m, p, now, parts).await?.into()))
}

/// After a commit: brings this instance's hot rankings up to date (read-your-writes), then
/// tells every subscriber (and the other instances).
pub(super) async fn publish(state: &AppState, org: OrgId, outcome: &scores::LogOutcome, delta_cents: i64) {
    state.hot.refresh_member(org, outcome.activity.member_id).await;
    announce(state, org, outcome, delta_cents);
}

/// Tells every instance a score changed (after this instance's ranking has the new total).
pub(super) fn announce(state: &AppState, org: OrgId, outcome: &scores::LogOutcome, delta_cents: i64) {
    crate::scoring::queue::announce(&state.events, org, outcome, delta_cents);
}

/// Whether an error is a uniqueness clash (a concurrent duplicate of an idempotency key).
pub(super) fn is_duplicate(err: &AppError) -> bool {
    org_store::is_unique_violation(err)
}

pub(super) fn require_admin(p: &Principal) -> AppResult<()> {
    p.require(Permission::OrganizationUpdate)
}
