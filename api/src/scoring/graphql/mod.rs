//! GraphQL surface of the points engine: activity types, logging and voiding activities,
//! campaigns, points targets, scores, leaderboards and their live updates.

mod inputs;
mod mutations;
mod queries;
mod subscriptions;
mod types;

pub use self::inputs::*;
pub use self::mutations::*;
pub use self::queries::*;
pub use self::subscriptions::*;
pub use self::types::*;

use async_graphql::{Context, MaybeUndefined, Result};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::model::{self, PeriodGrain};
use super::queue::activity_event;
use super::scores::{self, LogRequest, OrgSettings, ScoreParts};
use super::{decimal_to_cents, store};
use crate::auth::{Permission, Principal};
use crate::error::{AppError, AppResult};
use crate::graphql::UserError;
use crate::graphql::relay::{NodeKind, decode_id};
use crate::org::model::{FieldError, OrgId};
use crate::org::{model as org_model, store as org_store};
use crate::state::AppState;

// ---------------------------------------------------------------- helpers

fn field_errors(errors: Vec<FieldError>) -> Vec<UserError> {
    errors.into_iter().map(UserError::from).collect()
}

/// A self-logging ceiling from an activity type input: per day or per activity.
fn parse_ceiling(value: i32, per_day: bool) -> Result<i32, FieldError> {
    if per_day {
        model::parse_self_ceiling("selfMaxQuantityPerDay", value, model::MAX_SELF_QUANTITY_PER_DAY)
    } else {
        model::parse_self_ceiling("selfMaxQuantityPerActivity", value, model::MAX_QUANTITY)
    }
}

/// A ceiling change: unchanged, back to the default (`null`), or a new value.
fn maybe_ceiling(value: MaybeUndefined<i32>, per_day: bool, errors: &mut Vec<FieldError>) -> Option<Option<i32>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => parse_ceiling(v, per_day).map_err(|e| errors.push(e)).ok().map(Some),
    }
}

fn parse_text(field: &str, raw: Option<String>, max: usize) -> Result<Option<String>, FieldError> {
    crate::org::model::parse_free_text(field, raw.as_deref(), max)
}

/// The parts of `Score` the operation selects.
fn score_parts(ctx: &Context<'_>) -> ScoreParts {
    let look = ctx.look_ahead();
    ScoreParts {
        target: ["target", "attainmentPercent", "pacingPercent"].iter().any(|f| look.field(f).exists()),
        streak: look.field("streakWeeks").exists(),
        by_type: look.field("byActivityType").exists(),
    }
}

async fn current_week_score(
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

fn log_request(principal: &Principal, input: LogActivityInput) -> AppResult<LogRequest> {
    Ok(LogRequest {
        activity_type_id: decode_id(&input.activity_type_id, NodeKind::ActivityType)?,
        member_id: match &input.member_id {
            Some(id) => decode_id(id, NodeKind::Member)?,
            None => principal.member_id,
        },
        quantity: input.quantity,
        progress_percent: input.progress_percent,
        work_item_key: input.work_item_key,
        occurred_at: input.occurred_at,
        note: input.note,
        idempotency_key: input.idempotency_key,
        deal_id: input.deal_id.as_ref().map(|id| decode_id(id, NodeKind::Deal)).transpose()?,
    })
}

/// One `logActivity` in a transaction of its own: what a queued call does when the shared
/// transaction it was in rolled back.
async fn log_alone(
    state: &AppState,
    p: &Principal,
    reach: &crate::auth::Reach,
    req: LogRequest,
    now: DateTime<Utc>,
) -> Result<LogActivityPayload> {
    let s = scores::settings(p.org, &state.db).await?;
    let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
    let outcome = match scores::log_activity(&s, &tx, p, reach, req.clone(), now, &mut Default::default()).await {
        Ok(o) => o,
        Err(Ok(errors)) => {
            return Ok(LogActivityPayload {
                activity: None,
                score_of: None,
                replayed: false,
                user_errors: field_errors(errors),
            });
        }
        Err(Err(e)) if is_duplicate(&e) => {
            // A concurrent request with the same key committed first: answer with its activity.
            drop(tx);
            let key = req.idempotency_key.as_deref().map(str::trim).unwrap_or_default();
            let original = store::find_by_idempotency_key(p.org, &state.db, req.member_id, key)
                .await?
                .ok_or(AppError::Conflict("a concurrent request clashed; retry".into()))?;
            if !scores::replays(&original, &req) {
                return Ok(LogActivityPayload {
                    activity: None,
                    score_of: None,
                    replayed: false,
                    user_errors: field_errors(vec![model::idempotency_key_reused()]),
                });
            }
            return Ok(LogActivityPayload {
                score_of: Some((s, original.member_id, now)),
                activity: Some(Activity(original)),
                replayed: true,
                user_errors: vec![],
            });
        }
        Err(Err(e)) => return Err(e.into()),
    };
    if !outcome.replayed {
        crate::webhooks::store::enqueue(p.org, &tx, scores::ACTIVITY_LOGGED, activity_event(&outcome.activity)).await?;
    }
    tx.commit().await.map_err(AppError::from)?;
    if !outcome.replayed {
        publish(state, p.org, &outcome, outcome.activity.points_cents).await;
    }
    Ok(LogActivityPayload {
        replayed: outcome.replayed,
        score_of: Some((s, outcome.activity.member_id, now)),
        activity: Some(Activity(outcome.activity)),
        user_errors: vec![],
    })
}

/// After a commit: brings this instance's hot rankings up to date (read-your-writes), then
/// tells every subscriber (and the other instances).
async fn publish(state: &AppState, org: OrgId, outcome: &scores::LogOutcome, delta_cents: i64) {
    state.hot.refresh_member(org, outcome.activity.member_id).await;
    announce(state, org, outcome, delta_cents);
}

/// Tells every instance a score changed (after this instance's ranking has the new total).
fn announce(state: &AppState, org: OrgId, outcome: &scores::LogOutcome, delta_cents: i64) {
    super::queue::announce(&state.events, org, outcome, delta_cents);
}

/// Whether an error is a uniqueness clash (a concurrent duplicate of an idempotency key).
fn is_duplicate(err: &AppError) -> bool {
    org_store::is_unique_violation(err)
}

async fn parse_campaign(
    org: OrgId,
    db: &impl sea_orm::ConnectionTrait,
    input: CreateCampaignInput,
) -> AppResult<Result<store::NewCampaign, Vec<FieldError>>> {
    let mut errors = Vec::new();
    let name = org_model::parse_name("name", &input.name).map_err(|e| errors.push(e)).ok();
    let theme = parse_text("theme", input.theme, 2000).map_err(|e| errors.push(e)).ok().flatten();
    let reward = parse_text("reward", input.reward, 2000).map_err(|e| errors.push(e)).ok().flatten();
    let multiplier = model::parse_multiplier(input.multiplier).map_err(|e| errors.push(e)).ok();
    if input.ends_at <= input.starts_at {
        errors.push(FieldError::new("endsAt", "OUT_OF_RANGE", "must be after startsAt"));
    }
    for (field, at) in [("startsAt", input.starts_at), ("endsAt", input.ends_at)] {
        if let Err(e) = org_model::check_business_date(field, at.date_naive()) {
            errors.push(e);
        }
    }
    if input.activity_type_ids.len() > 200 || input.team_ids.len() > 200 {
        errors.push(FieldError::new("activityTypeIds", "TOO_LONG", "at most 200 activity types and 200 teams"));
    }
    let mut types = Vec::new();
    for id in &input.activity_type_ids {
        let id = decode_id(id, NodeKind::ActivityType)?;
        store::find_activity_type(org, db, id).await?.ok_or(AppError::NotFound("activity type"))?;
        types.push(id);
    }
    let mut teams = Vec::new();
    for id in &input.team_ids {
        let id = decode_id(id, NodeKind::Team)?;
        org_store::find_team(org, db, id).await?.ok_or(AppError::NotFound("team"))?;
        teams.push(id);
    }
    match (name, multiplier) {
        (Some(name), Some(m)) if errors.is_empty() => Ok(Ok(store::NewCampaign {
            name,
            theme,
            reward,
            starts_at: input.starts_at,
            ends_at: input.ends_at,
            multiplier_cents: decimal_to_cents(m),
            activity_type_ids: types,
            team_ids: teams,
        })),
        _ => Ok(Err(errors)),
    }
}

fn require_admin(p: &Principal) -> AppResult<()> {
    p.require(Permission::OrganizationUpdate)
}
