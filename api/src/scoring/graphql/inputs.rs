//! Input objects and payloads of the points engine's mutations and queries.

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::{Activity, ActivityType, Campaign, PointsTarget, Score, current_week_score, score_parts};
use crate::core::error::{AppError, AppResult};
use crate::core::roles::SalesRole;
use crate::graphql::relay::{NodeKind, decode_id};
use crate::graphql::{ContextExt, UserError};
use crate::scoring::model::{ActivityCategory, ActivityUnit, PeriodGrain};
use crate::scoring::scores::{OrgSettings, PeriodSpec};

// ---------------------------------------------------------------- inputs

/// Which period: a grain around a date, or a campaign's window.
#[derive(InputObject, Clone)]
pub struct PeriodInput {
    /// DAY, WEEK (Monday to Monday), MONTH, QUARTER or YEAR (fiscal). Default WEEK.
    #[graphql(default_with = "PeriodGrain::Week")]
    grain: PeriodGrain,
    /// A date inside the period, in the organization's time zone (default today).
    date: Option<NaiveDate>,
    /// A campaign: its window instead of the grain.
    campaign_id: Option<ID>,
}

pub(super) fn period_spec(input: &PeriodInput) -> AppResult<PeriodSpec> {
    if let Some(d) = input.date
        && (d < NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or(NaiveDate::MIN)
            || d > NaiveDate::from_ymd_opt(2100, 12, 31).unwrap_or(NaiveDate::MAX))
    {
        return Err(AppError::bad_input("'date' must be between 2000-01-01 and 2100-12-31"));
    }
    Ok(match &input.campaign_id {
        Some(id) => PeriodSpec::Campaign(decode_id(id, NodeKind::Campaign)?),
        None => PeriodSpec::Grain(input.grain, input.date),
    })
}

/// Who a leaderboard ranks.
#[derive(Enum, Copy, Clone, PartialEq, Eq, Debug)]
pub enum LeaderboardSubject {
    /// Members of the scope.
    Members,
    /// The direct sub-teams of the scope's team (top-level teams for the whole organization).
    Teams,
}

/// What a leaderboard ranks by.
#[derive(Enum, Copy, Clone, PartialEq, Eq, Debug)]
pub enum LeaderboardMetric {
    /// Raw points.
    Points,
    /// Percent of each one's own target, so a new rep competes fairly with a senior.
    TargetPercent,
}

/// A leaderboard request.
#[derive(InputObject, Clone)]
pub struct LeaderboardInput {
    /// The period.
    pub(super) period: PeriodInput,
    /// Rank within this team's subtree; the whole organization when absent.
    pub(super) team_id: Option<ID>,
    /// MEMBERS (default) or TEAMS.
    #[graphql(default_with = "LeaderboardSubject::Members")]
    pub(super) subject: LeaderboardSubject,
    /// POINTS (default) or TARGET_PERCENT.
    #[graphql(default_with = "LeaderboardMetric::Points")]
    pub(super) metric: LeaderboardMetric,
    /// How many entries, 1 to 200 (default 50).
    #[graphql(default = 50)]
    pub(super) first: i32,
}

/// A new activity type (admins).
#[derive(InputObject)]
pub struct CreateActivityTypeInput {
    /// Name.
    pub(super) name: String,
    /// Free text.
    pub(super) description: Option<String>,
    /// ACTION or RESULT.
    pub(super) category: ActivityCategory,
    /// COUNT or PROGRESS.
    pub(super) unit: ActivityUnit,
    /// Points per unit (COUNT) or per step (PROGRESS): 0 to 100000, at most 2 decimals.
    pub(super) points: f64,
    /// PROGRESS only: step size in percent, 1 to 100.
    pub(super) step_percent: Option<i32>,
    /// The built-in KPI input it feeds: `calls`, `appointments` or `quotes_sent`.
    pub(super) kpi_key: Option<String>,
    /// COUNT: the most units a member may log for themself in one activity, 1 to 10000
    /// (absent: 100).
    pub(super) self_max_quantity_per_activity: Option<i32>,
    /// COUNT: the most units a member may log for themself per local day, 1 to 1000000
    /// (absent: 500).
    pub(super) self_max_quantity_per_day: Option<i32>,
}

/// Changes to an activity type; they apply to activities logged afterwards only.
#[derive(InputObject)]
pub struct UpdateActivityTypeInput {
    /// The type.
    pub(super) id: ID,
    /// The `version` you last read; when given and stale, the update is refused with CONFLICT
    /// instead of silently overwriting someone else's change.
    pub(super) version: Option<i32>,
    /// New name.
    pub(super) name: Option<String>,
    /// New description; `null` clears it.
    pub(super) description: MaybeUndefined<String>,
    /// New category.
    pub(super) category: Option<ActivityCategory>,
    /// New points per unit or step.
    pub(super) points: Option<f64>,
    /// New step size (PROGRESS types).
    pub(super) step_percent: Option<i32>,
    /// New KPI key; `null` clears it.
    pub(super) kpi_key: MaybeUndefined<String>,
    /// Reactivate (true) or archive (false).
    pub(super) active: Option<bool>,
    /// New ceiling on one self-logged activity, 1 to 10000; `null` restores the default (100).
    pub(super) self_max_quantity_per_activity: MaybeUndefined<i32>,
    /// New ceiling on self-logged units per day, 1 to 1000000; `null` restores the default (500).
    pub(super) self_max_quantity_per_day: MaybeUndefined<i32>,
}

/// Identifies an activity type.
#[derive(InputObject)]
pub struct ArchiveActivityTypeInput {
    /// The type.
    pub(super) id: ID,
}

/// Result of an activity type mutation.
#[derive(SimpleObject)]
pub struct ActivityTypePayload {
    /// The type after the change; `null` when refused.
    pub(super) activity_type: Option<ActivityType>,
    /// What to fix; empty on success.
    pub(super) user_errors: Vec<UserError>,
}

/// One activity to log.
#[derive(InputObject, Clone)]
pub struct LogActivityInput {
    /// What was done.
    pub(super) activity_type_id: ID,
    /// For whom (default: the viewer). Managers may log for members of their teams.
    pub(super) member_id: Option<ID>,
    /// COUNT types: how many, 1 to 10000 (default 1).
    pub(super) quantity: Option<i32>,
    /// PROGRESS types: the new cumulative percent of the work item, 0 to 100. Points are
    /// awarded for newly completed steps only; progress never goes backwards.
    pub(super) progress_percent: Option<i32>,
    /// PROGRESS types: which piece of work (e.g. "newsletter-2026-11").
    pub(super) work_item_key: Option<String>,
    /// When it happened (default now): at most 5 minutes ahead, not before the member's start
    /// date, not before the organization's open window.
    pub(super) occurred_at: Option<DateTime<Utc>>,
    /// Free text, at most 2000 characters.
    pub(super) note: Option<String>,
    /// The deal it belongs to (e.g. the quote sent for it).
    pub(super) deal_id: Option<ID>,
    /// A client-chosen key: sending the same key again for the same member returns the
    /// original activity with `replayed: true` and awards nothing. Use one per user action.
    pub(super) idempotency_key: Option<String>,
}

/// Result of `logActivity`.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct LogActivityPayload {
    /// The logged activity (the original one when replayed); `null` when refused.
    pub(super) activity: Option<Activity>,
    /// Whose current-week score `score` reports (computed only when asked for).
    #[graphql(skip)]
    pub(super) score_of: Option<(OrgSettings, Uuid, DateTime<Utc>)>,
    /// True when the idempotency key was seen before: nothing new was awarded.
    pub(super) replayed: bool,
    /// What to fix; empty on success.
    pub(super) user_errors: Vec<UserError>,
}

#[async_graphql::ComplexObject]
impl LogActivityPayload {
    /// The member's score for the current week, after logging.
    async fn score(&self, ctx: &Context<'_>) -> Result<Option<Score>> {
        let Some((s, member, now)) = &self.score_of else { return Ok(None) };
        Ok(current_week_score(s, &ctx.state()?.db, *member, *now, score_parts(ctx)).await?)
    }
}

/// Several activities, all or nothing.
#[derive(InputObject)]
pub struct LogActivitiesInput {
    /// At most 500 items.
    pub(super) items: Vec<LogActivityInput>,
}

/// Result of `logActivities`.
#[derive(SimpleObject)]
pub struct LogActivitiesPayload {
    /// The logged activities in input order (originals where replayed); empty when refused.
    pub(super) activities: Vec<Activity>,
    /// How many were replays of earlier keys.
    pub(super) replayed_count: i32,
    /// What to fix, with the item index in `field` (e.g. `["input", "items", "3", "quantity"]`); nothing is logged when not empty.
    pub(super) user_errors: Vec<UserError>,
}

/// Voids an activity.
#[derive(InputObject)]
pub struct VoidActivityInput {
    /// The activity.
    pub(super) id: ID,
    /// Why (required, at most 2000 characters).
    pub(super) reason: String,
}

/// Result of `voidActivity`.
#[derive(SimpleObject)]
pub struct VoidActivityPayload {
    /// The voided activity; `null` when refused.
    pub(super) activity: Option<Activity>,
    /// The member's score for the current week, after voiding.
    pub(super) score: Option<Score>,
    /// What to fix; empty on success.
    pub(super) user_errors: Vec<UserError>,
}

/// A campaign definition.
#[derive(InputObject)]
pub struct CreateCampaignInput {
    /// Name.
    pub(super) name: String,
    /// Theme text.
    pub(super) theme: Option<String>,
    /// Start.
    pub(super) starts_at: DateTime<Utc>,
    /// End (exclusive), after the start.
    pub(super) ends_at: DateTime<Utc>,
    /// Points multiplier, 1.0 to 10.0.
    pub(super) multiplier: f64,
    /// Activity types it multiplies; empty or absent means all.
    #[graphql(default)]
    pub(super) activity_type_ids: Vec<ID>,
    /// Teams (with sub-teams) it applies to; empty or absent means all.
    #[graphql(default)]
    pub(super) team_ids: Vec<ID>,
    /// What the winners get.
    pub(super) reward: Option<String>,
}

/// A new definition for a campaign that has not started.
#[derive(InputObject)]
pub struct UpdateCampaignInput {
    /// The campaign.
    pub(super) id: ID,
    /// The `version` you last read; when given and stale, the replacement is refused with
    /// CONFLICT instead of silently overwriting someone else's change.
    pub(super) version: Option<i32>,
    /// The full new definition.
    pub(super) campaign: CreateCampaignInput,
}

/// Identifies a campaign.
#[derive(InputObject)]
pub struct EndCampaignInput {
    /// The campaign.
    pub(super) id: ID,
}

/// Result of a campaign mutation.
#[derive(SimpleObject)]
pub struct CampaignPayload {
    /// The campaign after the change; `null` when refused.
    pub(super) campaign: Option<Campaign>,
    /// What to fix; empty on success.
    pub(super) user_errors: Vec<UserError>,
}

/// A weekly points target for a sales role (organization default) or a member (override).
#[derive(InputObject)]
pub struct SetPointsTargetInput {
    /// The sales role whose default this is (admins); give this or `memberId`.
    pub(super) sales_role: Option<SalesRole>,
    /// The member it overrides for (admins, or managers for their teams).
    pub(super) member_id: Option<ID>,
    /// Weekly points, 0 to 100000.
    pub(super) weekly_points: f64,
    /// From which date (default today).
    pub(super) effective_from: Option<NaiveDate>,
    /// Why ("wish versus reality"), required.
    pub(super) reason: String,
}

/// Result of `setPointsTarget`.
#[derive(SimpleObject)]
pub struct PointsTargetPayload {
    /// The recorded target; `null` when refused.
    pub(super) target: Option<PointsTarget>,
    /// What to fix; empty on success.
    pub(super) user_errors: Vec<UserError>,
}

/// Filter for `activities`.
#[derive(InputObject, Default)]
pub struct ActivityFilterInput {
    /// Only this member's.
    pub(super) member_id: Option<ID>,
    /// Only members of this team and its sub-teams.
    pub(super) team_id: Option<ID>,
    /// Only this type.
    pub(super) activity_type_id: Option<ID>,
    /// Occurred at or after.
    pub(super) from: Option<DateTime<Utc>>,
    /// Occurred before.
    pub(super) to: Option<DateTime<Utc>>,
    /// Only voided (true) or only counting (false) activities; both when absent.
    pub(super) voided: Option<bool>,
}

impl ActivityFilterInput {
    /// Only this member's activities.
    pub fn of_member(member_id: ID) -> Self {
        ActivityFilterInput { member_id: Some(member_id), ..Default::default() }
    }
}
