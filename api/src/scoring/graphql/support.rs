//! Helpers the resolvers of this area share: user errors and the current week's score.

use async_graphql::Context;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::types::Score;
use crate::core::error::AppResult;
use crate::core::field::FieldError;
use crate::graphql::UserError;
use crate::org::store as org_store;
use crate::scoring::model::{self, PeriodGrain};
use crate::scoring::scores::{self, OrgSettings, ScoreParts};

// ---------------------------------------------------------------- helpers

pub(super) fn field_errors(errors: Vec<FieldError>) -> Vec<UserError> {
    errors.into_iter().map(UserError::from).collect()
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
