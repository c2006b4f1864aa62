//! GraphQL surface of the points engine: activity types, logging and voiding activities,
//! campaigns, points targets, scores, leaderboards and their live updates.

use std::collections::HashSet;
use std::time::Duration as StdDuration;

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject, Subscription};
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::Stream;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use uuid::Uuid;

use entity::{activity, activity_type, campaign, points_target};

use super::hot::BoardUpdate;
use super::model::{self, ActivityCategory, ActivityUnit, CampaignStatus, Period, PeriodGrain};
use super::policy::ActivityAccess;
use super::queue::{LogJob, Queued, activity_event};
use super::scores::{
    self, BoardData, BoardMetric, BoardRequest, BoardSpec, BoardSubject, LogRequest, OrgSettings, PeriodSpec,
    ScoreData, ScoreParts,
};
use super::{cents_to_f64, decimal_to_cents, store};
use crate::auth::{Permission, Principal, ReadScope};
use crate::error::{AppError, AppResult};
use crate::events::Event;
use crate::graphql::keyset::Keyset;
use crate::graphql::loaders::{ActivityTypeKey, CampaignKey, MemberKey, TeamKey};
use crate::graphql::relay::{NodeKind, PageArgs, connection, decode_id, global_id};
use crate::graphql::{ContextExt, UserError};
use crate::org::graphql::{Member, Team};
use crate::org::model::{self as org_model, FieldError, OrgId, Role, SalesRole};
use crate::org::store as org_store;
use crate::state::AppState;
pub use crate::objects::{Activity, ActivityConnection, ActivityEdge};

// ---------------------------------------------------------------- output types

/// Something a member can log, and what it is worth.
pub struct ActivityType(pub activity_type::Model);

/// Something a member can log, and what it is worth.
#[Object]
impl ActivityType {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::ActivityType, self.0.id)
    }
    /// Name, e.g. "Quote sent".
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Free text.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// ACTION (something done) or RESULT (something achieved).
    async fn category(&self) -> ActivityCategory {
        ActivityCategory::parse(&self.0.category).unwrap_or(ActivityCategory::Action)
    }
    /// COUNT (points per unit) or PROGRESS (points per completed step of long-running work).
    async fn unit(&self) -> ActivityUnit {
        ActivityUnit::parse(&self.0.unit).unwrap_or(ActivityUnit::Count)
    }
    /// Points per unit (COUNT) or per completed step (PROGRESS). Changing it affects later activities only.
    async fn points(&self) -> f64 {
        cents_to_f64(self.0.points_cents)
    }
    /// PROGRESS: the step size in percent (e.g. 10: a point per 10 %).
    async fn step_percent(&self) -> Option<i32> {
        self.0.step_percent
    }
    /// The KPI this activity feeds, if any.
    async fn kpi_key(&self) -> Option<&str> {
        self.0.kpi_key.as_deref()
    }
    /// COUNT: the most units a member may log for themself in one activity (this type's
    /// setting, else the default of 100). Logging for another member is not limited.
    async fn self_max_quantity_per_activity(&self) -> i32 {
        self.0.self_max_quantity_per_activity.unwrap_or(model::DEFAULT_SELF_QUANTITY_PER_ACTIVITY)
    }
    /// COUNT: the most units of this type a member may log for themself per day (their
    /// organization's local day; voided activities do not count). This type's setting, else
    /// the default of 500.
    async fn self_max_quantity_per_day(&self) -> i32 {
        self.0.self_max_quantity_per_day.unwrap_or(model::DEFAULT_SELF_QUANTITY_PER_DAY)
    }
    /// False once archived: it can no longer be logged; history stays.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// Increases with every change (also archiving); pass it to `updateActivityType` to refuse
    /// an edit when someone else changed the type since.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A logged activity: a score event. Points, multiplier and campaign are stored on it, so
/// later changes to its type or campaigns never rewrite history. Corrections are voids.
#[Object]
impl Activity {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Activity, self.0.id)
    }
    /// Whose score it counts for.
    async fn member(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        Ok(ctx.loader()?.load_one(MemberKey(self.0.member_id)).await?.map(Member))
    }
    /// What was done.
    async fn activity_type(&self, ctx: &Context<'_>) -> Result<Option<ActivityType>> {
        Ok(ctx.loader()?.load_one(ActivityTypeKey(self.0.activity_type_id)).await?.map(ActivityType))
    }
    /// COUNT: how many.
    async fn quantity(&self) -> Option<i32> {
        self.0.quantity
    }
    /// PROGRESS: the cumulative percent reported.
    async fn progress_percent(&self) -> Option<i32> {
        self.0.progress_percent
    }
    /// PROGRESS: the piece of work.
    async fn work_item_key(&self) -> Option<&str> {
        self.0.work_item_key.as_deref()
    }
    /// Points before the campaign multiplier.
    async fn base_points(&self) -> f64 {
        cents_to_f64(self.0.base_points_cents)
    }
    /// The multiplier applied (1 without a campaign).
    async fn multiplier(&self) -> f64 {
        cents_to_f64(self.0.multiplier_cents)
    }
    /// Points awarded (base × multiplier); they stop counting when voided.
    async fn points(&self) -> f64 {
        cents_to_f64(self.0.points_cents)
    }
    /// The campaign whose multiplier applied.
    async fn campaign(&self, ctx: &Context<'_>) -> Result<Option<Campaign>> {
        let Some(id) = self.0.campaign_id else { return Ok(None) };
        Ok(ctx.loader()?.load_one(CampaignKey(id)).await?.map(Campaign))
    }
    /// When it happened.
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
    /// The deal it belongs to.
    async fn deal(&self, ctx: &Context<'_>) -> Result<Option<crate::pipeline::graphql::Deal>> {
        let Some(id) = self.0.deal_id else { return Ok(None) };
        let p = ctx.principal()?;
        let db = &ctx.state()?.db;
        match crate::pipeline::store::find_deal(p.org, db, id).await? {
            Some(d) if crate::pipeline::graphql::may_read(p, db, &d).await => {
                Ok(Some(crate::pipeline::graphql::Deal(d)))
            }
            _ => Ok(None),
        }
    }
    /// Free text.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// SELF, MANAGER (logged by a manager for the member) or INTEGRATION.
    async fn source(&self) -> &str {
        &self.0.source
    }
    /// Who logged it.
    async fn logged_by(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        Ok(ctx.loader()?.load_one(MemberKey(self.0.logged_by)).await?.map(Member))
    }
    /// The client's retry key, if sent.
    async fn idempotency_key(&self) -> Option<&str> {
        self.0.idempotency_key.as_deref()
    }
    /// Whether it was voided.
    async fn voided(&self) -> bool {
        self.0.voided_at.is_some()
    }
    /// When voided.
    async fn voided_at(&self) -> Option<DateTime<Utc>> {
        self.0.voided_at
    }
    /// Who voided it.
    async fn voided_by(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        let Some(id) = self.0.voided_by else { return Ok(None) };
        Ok(ctx.loader()?.load_one(MemberKey(id)).await?.map(Member))
    }
    /// Why it was voided.
    async fn void_reason(&self) -> Option<&str> {
        self.0.void_reason.as_deref()
    }
    /// When it was logged.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A themed window ("double sales september") multiplying the points of chosen activity
/// types for chosen teams. Where several apply, the highest multiplier wins.
pub struct Campaign(pub campaign::Model);

crate::connection_type!(ActivityTypeConnection, ActivityTypeEdge, ActivityType, "activity types");
crate::connection_type!(CampaignConnection, CampaignEdge, Campaign, "campaigns");

/// A themed window ("double sales september") multiplying the points of chosen activity
/// types for chosen teams. Where several apply, the highest multiplier wins.
#[Object]
impl Campaign {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Campaign, self.0.id)
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Theme text for front ends.
    async fn theme(&self) -> Option<&str> {
        self.0.theme.as_deref()
    }
    /// What the winners get.
    async fn reward(&self) -> Option<&str> {
        self.0.reward.as_deref()
    }
    /// Start.
    async fn starts_at(&self) -> DateTime<Utc> {
        self.0.starts_at
    }
    /// Planned end (exclusive).
    async fn ends_at(&self) -> DateTime<Utc> {
        self.0.ends_at
    }
    /// When ended early with `endCampaign`.
    async fn ended_at(&self) -> Option<DateTime<Utc>> {
        self.0.ended_at
    }
    /// Points multiplier, 1 to 10.
    async fn multiplier(&self) -> f64 {
        cents_to_f64(self.0.multiplier_cents)
    }
    /// UPCOMING, RUNNING or ENDED, now.
    async fn status(&self) -> CampaignStatus {
        store::campaign_rule(&self.0).status(Utc::now())
    }
    /// The activity types it multiplies; empty means all.
    async fn activity_types(&self, ctx: &Context<'_>) -> Result<Vec<ActivityType>> {
        let keys: Vec<ActivityTypeKey> =
            store::parse_ids(&self.0.activity_type_ids).into_iter().map(ActivityTypeKey).collect();
        Ok(ctx.loader()?.load_many(keys).await?.into_values().map(ActivityType).collect())
    }
    /// The teams (with their sub-teams) it applies to; empty means all.
    async fn teams(&self, ctx: &Context<'_>) -> Result<Vec<Team>> {
        let keys: Vec<TeamKey> = store::parse_ids(&self.0.team_ids).into_iter().map(TeamKey).collect();
        Ok(ctx.loader()?.load_many(keys).await?.into_values().map(Team).collect())
    }
    /// Increases with every change (also ending it); pass it to `updateCampaign` to refuse a
    /// replacement when someone else changed the campaign since.
    async fn version(&self) -> i32 {
        self.0.version
    }
}

/// A recorded weekly points target: a default for a sales role or an override for a member.
pub struct PointsTarget(pub points_target::Model);

/// A recorded weekly points target: a default for a sales role or an override for a member.
#[Object]
impl PointsTarget {
    /// The sales role it is the default for.
    async fn sales_role(&self) -> Option<SalesRole> {
        self.0.sales_role.as_deref().and_then(SalesRole::parse)
    }
    /// The member it overrides the default for.
    async fn member(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        let Some(id) = self.0.member_id else { return Ok(None) };
        Ok(ctx.loader()?.load_one(MemberKey(id)).await?.map(Member))
    }
    /// Weekly points.
    async fn weekly_points(&self) -> f64 {
        cents_to_f64(self.0.weekly_points_cents)
    }
    /// From which date it applies.
    async fn effective_from(&self) -> NaiveDate {
        self.0.effective_from
    }
    /// Why it was set ("wish versus reality").
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    /// Who set it.
    async fn set_by(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        Ok(ctx.loader()?.load_one(MemberKey(self.0.set_by)).await?.map(Member))
    }
    /// When it was recorded.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A period a score or leaderboard covers.
#[derive(SimpleObject, Clone)]
pub struct PeriodInfo {
    /// DAY, WEEK, MONTH, QUARTER or YEAR; null for a campaign's window.
    grain: Option<PeriodGrain>,
    /// Start (inclusive).
    start: DateTime<Utc>,
    /// End (exclusive).
    end: DateTime<Utc>,
    /// First local day.
    start_date: NaiveDate,
    /// Day after the last local day.
    end_date: NaiveDate,
}

impl From<Period> for PeriodInfo {
    fn from(p: Period) -> Self {
        PeriodInfo { grain: p.grain, start: p.start, end: p.end, start_date: p.start_date, end_date: p.end_date }
    }
}

/// Points and count of one activity type inside a score.
#[derive(SimpleObject)]
pub struct ScoreByType {
    /// The type.
    activity_type: ActivityType,
    /// Counting activities.
    count: i64,
    /// Points.
    points: f64,
}

/// A member's or team's points in a period against the target.
#[derive(SimpleObject)]
pub struct Score {
    /// The period.
    period: PeriodInfo,
    /// Points (voided activities excluded).
    points: f64,
    /// Counting activities.
    activity_count: i64,
    /// Target for the period (the weekly target scaled to its length); null when none is set.
    target: Option<f64>,
    /// Points ÷ target × 100, uncapped; null without a target.
    attainment_percent: Option<f64>,
    /// Attainment ÷ elapsed share of the period: above 100 means ahead of pace.
    pacing_percent: Option<f64>,
    /// Consecutive complete weeks on target, counting back from last week (members only).
    streak_weeks: Option<u32>,
    /// Points and counts per activity type, most points first.
    by_activity_type: Vec<ScoreByType>,
}

impl From<ScoreData> for Score {
    fn from(d: ScoreData) -> Self {
        Score {
            period: d.period.into(),
            points: cents_to_f64(d.points_cents),
            activity_count: d.activity_count,
            target: d.target.map(|t| cents_to_f64(decimal_to_cents(t))),
            attainment_percent: d.attainment_percent,
            pacing_percent: d.pacing_percent,
            streak_weeks: d.streak_weeks,
            by_activity_type: d
                .by_type
                .into_iter()
                .map(|(t, count, points)| ScoreByType {
                    activity_type: ActivityType(t),
                    count,
                    points: cents_to_f64(points),
                })
                .collect(),
        }
    }
}

/// One ranked line of a leaderboard.
#[derive(SimpleObject)]
pub struct LeaderboardEntry {
    /// Standard competition rank: 1, 2, 2, 4.
    rank: u32,
    /// The ranked value: points, or attainment percent for TARGET_PERCENT (null without a target).
    value: Option<f64>,
    /// Points in the period.
    points: f64,
    /// Attainment of its own target.
    attainment_percent: Option<f64>,
    /// The member (MEMBERS boards).
    member: Option<Member>,
    /// The team (TEAMS boards).
    team: Option<Team>,
}

/// A ranking of members or teams in a period.
#[derive(SimpleObject)]
pub struct Leaderboard {
    /// The period.
    period: PeriodInfo,
    /// The top entries, best first; equal values share a rank and are ordered by name.
    entries: Vec<LeaderboardEntry>,
    /// How many are ranked in all (before `first`).
    total_entries: i32,
    /// When this board was computed.
    updated_at: DateTime<Utc>,
}

impl From<BoardData> for Leaderboard {
    fn from(b: BoardData) -> Self {
        Leaderboard {
            period: b.period.into(),
            entries: b
                .entries
                .into_iter()
                .map(|e| LeaderboardEntry {
                    rank: e.rank,
                    value: e.value,
                    points: cents_to_f64(e.points_cents),
                    attainment_percent: e.attainment_percent,
                    member: e.member.map(Member),
                    team: e.team.map(Team),
                })
                .collect(),
            total_entries: i32::try_from(b.total_entries).unwrap_or(i32::MAX),
            updated_at: b.computed_at,
        }
    }
}

/// A score movement pushed to `scoreChanged`.
#[derive(SimpleObject)]
pub struct ScoreChange {
    /// Whose score moved.
    member: Member,
    /// The activity logged or voided.
    activity: Activity,
    /// Points added (negative for a void).
    points_delta: f64,
    /// The member's score for the current week, after the change.
    score: Score,
}

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

fn period_spec(input: &PeriodInput) -> AppResult<PeriodSpec> {
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
    period: PeriodInput,
    /// Rank within this team's subtree; the whole organization when absent.
    team_id: Option<ID>,
    /// MEMBERS (default) or TEAMS.
    #[graphql(default_with = "LeaderboardSubject::Members")]
    subject: LeaderboardSubject,
    /// POINTS (default) or TARGET_PERCENT.
    #[graphql(default_with = "LeaderboardMetric::Points")]
    metric: LeaderboardMetric,
    /// How many entries, 1 to 200 (default 50).
    #[graphql(default = 50)]
    first: i32,
}

/// A new activity type (admins).
#[derive(InputObject)]
pub struct CreateActivityTypeInput {
    /// Name.
    name: String,
    /// Free text.
    description: Option<String>,
    /// ACTION or RESULT.
    category: ActivityCategory,
    /// COUNT or PROGRESS.
    unit: ActivityUnit,
    /// Points per unit (COUNT) or per step (PROGRESS): 0 to 100000, at most 2 decimals.
    points: f64,
    /// PROGRESS only: step size in percent, 1 to 100.
    step_percent: Option<i32>,
    /// The built-in KPI input it feeds: `calls`, `appointments` or `quotes_sent`.
    kpi_key: Option<String>,
    /// COUNT: the most units a member may log for themself in one activity, 1 to 10000
    /// (absent: 100).
    self_max_quantity_per_activity: Option<i32>,
    /// COUNT: the most units a member may log for themself per local day, 1 to 1000000
    /// (absent: 500).
    self_max_quantity_per_day: Option<i32>,
}

/// Changes to an activity type; they apply to activities logged afterwards only.
#[derive(InputObject)]
pub struct UpdateActivityTypeInput {
    /// The type.
    id: ID,
    /// The `version` you last read; when given and stale, the update is refused with CONFLICT
    /// instead of silently overwriting someone else's change.
    version: Option<i32>,
    /// New name.
    name: Option<String>,
    /// New description; `null` clears it.
    description: MaybeUndefined<String>,
    /// New category.
    category: Option<ActivityCategory>,
    /// New points per unit or step.
    points: Option<f64>,
    /// New step size (PROGRESS types).
    step_percent: Option<i32>,
    /// New KPI key; `null` clears it.
    kpi_key: MaybeUndefined<String>,
    /// Reactivate (true) or archive (false).
    active: Option<bool>,
    /// New ceiling on one self-logged activity, 1 to 10000; `null` restores the default (100).
    self_max_quantity_per_activity: MaybeUndefined<i32>,
    /// New ceiling on self-logged units per day, 1 to 1000000; `null` restores the default (500).
    self_max_quantity_per_day: MaybeUndefined<i32>,
}

/// Identifies an activity type.
#[derive(InputObject)]
pub struct ArchiveActivityTypeInput {
    /// The type.
    id: ID,
}

/// Result of an activity type mutation.
#[derive(SimpleObject)]
pub struct ActivityTypePayload {
    /// The type after the change; `null` when refused.
    activity_type: Option<ActivityType>,
    /// What to fix; empty on success.
    user_errors: Vec<UserError>,
}

/// One activity to log.
#[derive(InputObject, Clone)]
pub struct LogActivityInput {
    /// What was done.
    activity_type_id: ID,
    /// For whom (default: the viewer). Managers may log for members of their teams.
    member_id: Option<ID>,
    /// COUNT types: how many, 1 to 10000 (default 1).
    quantity: Option<i32>,
    /// PROGRESS types: the new cumulative percent of the work item, 0 to 100. Points are
    /// awarded for newly completed steps only; progress never goes backwards.
    progress_percent: Option<i32>,
    /// PROGRESS types: which piece of work (e.g. "newsletter-2026-11").
    work_item_key: Option<String>,
    /// When it happened (default now): at most 5 minutes ahead, not before the member's start
    /// date, not before the organization's open window.
    occurred_at: Option<DateTime<Utc>>,
    /// Free text, at most 2000 characters.
    note: Option<String>,
    /// The deal it belongs to (e.g. the quote sent for it).
    deal_id: Option<ID>,
    /// A client-chosen key: sending the same key again for the same member returns the
    /// original activity with `replayed: true` and awards nothing. Use one per user action.
    idempotency_key: Option<String>,
}

/// Result of `logActivity`.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct LogActivityPayload {
    /// The logged activity (the original one when replayed); `null` when refused.
    activity: Option<Activity>,
    /// Whose current-week score `score` reports (computed only when asked for).
    #[graphql(skip)]
    score_of: Option<(OrgSettings, Uuid, DateTime<Utc>)>,
    /// True when the idempotency key was seen before: nothing new was awarded.
    replayed: bool,
    /// What to fix; empty on success.
    user_errors: Vec<UserError>,
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
    items: Vec<LogActivityInput>,
}

/// Result of `logActivities`.
#[derive(SimpleObject)]
pub struct LogActivitiesPayload {
    /// The logged activities in input order (originals where replayed); empty when refused.
    activities: Vec<Activity>,
    /// How many were replays of earlier keys.
    replayed_count: i32,
    /// What to fix, with the item index in `field` (e.g. `["input", "items", "3", "quantity"]`); nothing is logged when not empty.
    user_errors: Vec<UserError>,
}

/// Voids an activity.
#[derive(InputObject)]
pub struct VoidActivityInput {
    /// The activity.
    id: ID,
    /// Why (required, at most 2000 characters).
    reason: String,
}

/// Result of `voidActivity`.
#[derive(SimpleObject)]
pub struct VoidActivityPayload {
    /// The voided activity; `null` when refused.
    activity: Option<Activity>,
    /// The member's score for the current week, after voiding.
    score: Option<Score>,
    /// What to fix; empty on success.
    user_errors: Vec<UserError>,
}

/// A campaign definition.
#[derive(InputObject)]
pub struct CreateCampaignInput {
    /// Name.
    name: String,
    /// Theme text.
    theme: Option<String>,
    /// Start.
    starts_at: DateTime<Utc>,
    /// End (exclusive), after the start.
    ends_at: DateTime<Utc>,
    /// Points multiplier, 1.0 to 10.0.
    multiplier: f64,
    /// Activity types it multiplies; empty or absent means all.
    #[graphql(default)]
    activity_type_ids: Vec<ID>,
    /// Teams (with sub-teams) it applies to; empty or absent means all.
    #[graphql(default)]
    team_ids: Vec<ID>,
    /// What the winners get.
    reward: Option<String>,
}

/// A new definition for a campaign that has not started.
#[derive(InputObject)]
pub struct UpdateCampaignInput {
    /// The campaign.
    id: ID,
    /// The `version` you last read; when given and stale, the replacement is refused with
    /// CONFLICT instead of silently overwriting someone else's change.
    version: Option<i32>,
    /// The full new definition.
    campaign: CreateCampaignInput,
}

/// Identifies a campaign.
#[derive(InputObject)]
pub struct EndCampaignInput {
    /// The campaign.
    id: ID,
}

/// Result of a campaign mutation.
#[derive(SimpleObject)]
pub struct CampaignPayload {
    /// The campaign after the change; `null` when refused.
    campaign: Option<Campaign>,
    /// What to fix; empty on success.
    user_errors: Vec<UserError>,
}

/// A weekly points target for a sales role (organization default) or a member (override).
#[derive(InputObject)]
pub struct SetPointsTargetInput {
    /// The sales role whose default this is (admins); give this or `memberId`.
    sales_role: Option<SalesRole>,
    /// The member it overrides for (admins, or managers for their teams).
    member_id: Option<ID>,
    /// Weekly points, 0 to 100000.
    weekly_points: f64,
    /// From which date (default today).
    effective_from: Option<NaiveDate>,
    /// Why ("wish versus reality"), required.
    reason: String,
}

/// Result of `setPointsTarget`.
#[derive(SimpleObject)]
pub struct PointsTargetPayload {
    /// The recorded target; `null` when refused.
    target: Option<PointsTarget>,
    /// What to fix; empty on success.
    user_errors: Vec<UserError>,
}

/// Filter for `activities`.
#[derive(InputObject, Default)]
pub struct ActivityFilterInput {
    /// Only this member's.
    member_id: Option<ID>,
    /// Only members of this team and its sub-teams.
    team_id: Option<ID>,
    /// Only this type.
    activity_type_id: Option<ID>,
    /// Occurred at or after.
    from: Option<DateTime<Utc>>,
    /// Occurred before.
    to: Option<DateTime<Utc>>,
    /// Only voided (true) or only counting (false) activities; both when absent.
    voided: Option<bool>,
}

impl ActivityFilterInput {
    /// Only this member's activities.
    pub fn of_member(member_id: ID) -> Self {
        ActivityFilterInput { member_id: Some(member_id), ..Default::default() }
    }
}

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

// ---------------------------------------------------------------- queries

/// One page of the activities `filter` selects that the viewer may read: reps their own,
/// managers their teams', admins and viewers all; a `memberId` outside it is FORBIDDEN. The rule
/// of `activities` and `Member.activities`.
pub async fn activity_page(
    ctx: &Context<'_>,
    filter: ActivityFilterInput,
    keyset: &Keyset<activity::Model>,
    page: &PageArgs,
) -> Result<ActivityConnection> {
    let p = ctx.principal()?;
    let db = &ctx.state()?.db;
    page.validate()?;
    let access = ActivityAccess::of(p, db).await?;
    let mut members: Option<Vec<Uuid>> = None;
    if let Some(id) = &filter.member_id {
        let m = org_store::find_member(p.org, db, decode_id(id, NodeKind::Member)?)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        if !access.may_read(m.id, m.team_id) {
            return Err(AppError::forbidden("you may not read this member's activities").into());
        }
        members = Some(vec![m.id]);
    }
    if let Some(id) = &filter.team_id {
        let team = decode_id(id, NodeKind::Team)?;
        org_store::find_team(p.org, db, team).await?.ok_or(AppError::NotFound("team"))?;
        let in_team: Vec<Uuid> =
            scores::active_members(p.org, db, Some(team)).await?.into_iter().map(|m| m.id).collect();
        members = Some(match members {
            Some(m) => m.into_iter().filter(|id| in_team.contains(id)).collect(),
            None => in_team,
        });
    }
    // Narrow to what the viewer may read.
    let visible: Option<Vec<Uuid>> = match &access {
        ActivityAccess::All => None,
        ActivityAccess::Own(own) => Some(vec![*own]),
        ActivityAccess::Teams { own, teams } => {
            let filter =
                org_store::MemberFilter { team_ids: Some(teams.iter().copied().collect()), ..Default::default() };
            let in_reach = org_store::all_members(p.org, db, &filter).await?.into_iter();
            Some(in_reach.filter(|m| access.may_read(m.id, m.team_id)).map(|m| m.id).chain([*own]).collect())
        }
    };
    if let Some(visible) = visible {
        members = Some(match members {
            Some(m) => m.into_iter().filter(|id| visible.contains(id)).collect(),
            None => visible,
        });
    }
    let activity_type_id = match &filter.activity_type_id {
        Some(id) => Some(
            store::find_activity_type(p.org, db, decode_id(id, NodeKind::ActivityType)?)
                .await?
                .ok_or(AppError::NotFound("activity type"))?
                .id,
        ),
        None => None,
    };
    let store_filter = store::ActivityFilter {
        member_ids: members,
        activity_type_id,
        from: filter.from,
        to: filter.to,
        voided: filter.voided,
    };
    let rows = store::page_activities(p.org, db, &store_filter, keyset, page).await?;
    Ok(connection(ctx, rows, Activity).into())
}

/// Points engine queries.
#[derive(Default)]
pub struct ScoringQuery;

#[Object]
impl ScoringQuery {
    /// Activity types, by name.
    #[graphql(complexity = "crate::graphql::relay::page_cost(__field, first, last, child_complexity)")]
    async fn activity_types(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Include archived types.", default = false)] include_archived: bool,
        #[graphql(desc = "Page size from the start, 1 to 200 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end, 1 to 200.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
    ) -> Result<ActivityTypeConnection> {
        let p = ctx.principal()?;
        let db = &ctx.state()?.db;
        let page = PageArgs { first, after, last, before };
        page.validate()?;
        let rows = store::page_activity_types(p.org, db, include_archived, &page).await?;
        Ok(connection(ctx, rows, ActivityType).into())
    }

    /// Logged activities, newest first. Reps see their own, managers their teams', admins and viewers all
    /// (the rule `node` and `scoreChanged` follow too); a `memberId` outside it is FORBIDDEN.
    #[graphql(complexity = "crate::graphql::relay::page_cost(__field, first, last, child_complexity)")]
    async fn activities(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to include.")] filter: Option<ActivityFilterInput>,
        #[graphql(desc = "Page size from the start, 1 to 200 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end, 1 to 200.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
    ) -> Result<ActivityConnection> {
        let page = PageArgs { first, after, last, before };
        activity_page(ctx, filter.unwrap_or_default(), &store::ACTIVITIES, &page).await
    }

    /// Campaigns, newest start first.
    #[graphql(complexity = "crate::graphql::relay::page_cost(__field, first, last, child_complexity)")]
    async fn campaigns(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only campaigns with this status now.")] status: Option<CampaignStatus>,
        #[graphql(desc = "Page size from the start, 1 to 200 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end, 1 to 200.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
    ) -> Result<CampaignConnection> {
        let p = ctx.principal()?;
        let db = &ctx.state()?.db;
        let page = PageArgs { first, after, last, before };
        page.validate()?;
        let now = Utc::now();
        let rows = store::page_campaigns(p.org, db, status, now, &page).await?;
        Ok(connection(ctx, rows, Campaign).into())
    }

    /// A member's score (default: the viewer) or a team's (the sum over its subtree's active members).
    async fn score(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The member (default: the viewer).")] member_id: Option<ID>,
        #[graphql(desc = "A team instead of a member.")] team_id: Option<ID>,
        #[graphql(desc = "The period.")] period: PeriodInput,
    ) -> Result<Score> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let db = &state.db;
        let spec = period_spec(&period)?;
        let s = state.settings.get(p.org, db).await?;
        let now = Utc::now();
        if member_id.is_some() && team_id.is_some() {
            return Err(AppError::bad_input("give memberId or teamId, not both").into());
        }
        let period = scores::resolve_period(&s, db, spec, now).await?;
        if let Some(team) = &team_id {
            let team = decode_id(team, NodeKind::Team)?;
            org_store::find_team(p.org, db, team).await?.ok_or(AppError::NotFound("team"))?;
            p.read_scope(db).await?.board(Some(team))?;
            let score = scores::team_score(&s, db, team, period, now).await?;
            approve_by_grain(ctx, spec, score.period.end);
            return Ok(score.into());
        }
        let member = match &member_id {
            Some(id) => decode_id(id, NodeKind::Member)?,
            None => p.member_id,
        };
        let m = org_store::find_member(p.org, db, member).await?.ok_or(AppError::NotFound("member"))?;
        // Everyone may read their own score: the scope (a team-tree read) only for others'.
        if m.id != p.member_id {
            p.read_scope(db).await?.member(p, &m)?;
        }
        let score = scores::member_score(&s, db, &m, period, now, score_parts(ctx)).await?;
        approve_by_grain(ctx, spec, score.period.end);
        Ok(score.into())
    }

    /// Members or teams ranked by points or by percent of their own target.
    async fn leaderboard(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to rank.")] input: LeaderboardInput,
    ) -> Result<Leaderboard> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let (s, request) = board_request(p, state, &input).await?;
        let board = compute_board(state, &s, request, None, Utc::now()).await?;
        // A member board follows score, member and target events alone (new teams publish none).
        if request.subject == BoardSubject::Members {
            approve_by_grain(ctx, request.spec, board.period.end);
        }
        Ok(board.into())
    }

    /// The recorded weekly targets, oldest first: a member's overrides (with `memberId`), a
    /// sales role's defaults (with `salesRole`), or all of them.
    async fn points_target_history(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this member's overrides.")] member_id: Option<ID>,
        #[graphql(desc = "Only this sales role's defaults.")] sales_role: Option<SalesRole>,
    ) -> Result<Vec<PointsTarget>> {
        let p = ctx.principal()?;
        let db = &ctx.state()?.db;
        let member = match &member_id {
            Some(id) => {
                let m = org_store::find_member(p.org, db, decode_id(id, NodeKind::Member)?)
                    .await?
                    .ok_or(AppError::NotFound("member"))?;
                p.read_scope(db).await?.member(p, &m)?;
                Some(m.id)
            }
            None => None,
        };
        let rows = store::all_targets(p.org, db).await?;
        // Role defaults are public within the organization; member overrides only where the
        // viewer may read that member's score.
        let scope = p.read_scope(db).await?;
        let mut readable_overrides = HashSet::new();
        for id in rows.iter().filter_map(|t| t.member_id).collect::<HashSet<Uuid>>() {
            if let Some(m) = org_store::find_member(p.org, db, id).await?
                && scope.member(p, &m).is_ok()
            {
                readable_overrides.insert(id);
            }
        }
        Ok(rows
            .into_iter()
            .filter(|t| t.member_id.is_none_or(|m| readable_overrides.contains(&m)))
            .filter(|t| member.is_none_or(|m| t.member_id == Some(m)))
            .filter(|t| sales_role.is_none_or(|r| t.sales_role.as_deref() == Some(r.as_str())))
            .map(PointsTarget)
            .collect())
    }

    /// A realistic weekly target for a member: the 80th percentile of their last 12 complete
    /// weeks; null with fewer than 4 weeks of history.
    async fn suggested_points_target(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The member (default: the viewer).")] member_id: Option<ID>,
    ) -> Result<Option<f64>> {
        let p = ctx.principal()?;
        let db = &ctx.state()?.db;
        let id = match &member_id {
            Some(id) => decode_id(id, NodeKind::Member)?,
            None => p.member_id,
        };
        let m = org_store::find_member(p.org, db, id).await?.ok_or(AppError::NotFound("member"))?;
        p.read_scope(db).await?.member(p, &m)?;
        let s = scores::settings(p.org, db).await?;
        Ok(scores::suggested_target(&s, db, &m, Utc::now()).await?.map(|d| cents_to_f64(decimal_to_cents(d))))
    }
}

/// Lets the response cache keep an answer about a period by grain until the period ends (a
/// new period starts empty); a campaign's window is not kept (campaign edits publish no
/// event). A period that has already ended changes only through events (an activity logged
/// late into it), so its answer is kept for the cache's time-to-live: until now the end in
/// the past meant it was never kept, and last quarter's board was executed every time.
fn approve_by_grain(ctx: &Context<'_>, spec: PeriodSpec, end: DateTime<Utc>) {
    if matches!(spec, PeriodSpec::Grain(..)) {
        let now = Utc::now();
        let until = if end <= now { now + chrono::Duration::days(1) } else { end };
        crate::graphql::response_cache::approve(ctx, until);
    }
}

async fn board_request(
    p: &Principal,
    state: &AppState,
    input: &LeaderboardInput,
) -> AppResult<(OrgSettings, BoardRequest)> {
    let db = &state.db;
    if !(1..=200).contains(&input.first) {
        return Err(AppError::bad_input(format!("'first' must be between 1 and 200, got {}", input.first)));
    }
    let spec = period_spec(&input.period)?;
    let team = match &input.team_id {
        Some(id) => {
            let t = decode_id(id, NodeKind::Team)?;
            org_store::find_team(p.org, db, t).await?.ok_or(AppError::NotFound("team"))?;
            Some(t)
        }
        None => None,
    };
    p.read_scope(db).await?.board(team)?;
    if let PeriodSpec::Campaign(c) = spec {
        store::find_campaign(p.org, db, c).await?.ok_or(AppError::NotFound("campaign"))?;
    }
    let s = state.settings.get(p.org, db).await?;
    Ok((
        s,
        BoardRequest {
            spec,
            team,
            subject: match input.subject {
                LeaderboardSubject::Members => BoardSubject::Members,
                LeaderboardSubject::Teams => BoardSubject::Teams,
            },
            metric: match input.metric {
                LeaderboardMetric::Points => BoardMetric::Points,
                LeaderboardMetric::TargetPercent => BoardMetric::TargetPercent,
            },
            first: input.first as usize,
        },
    ))
}

/// Computes a board. `scope` is the team's subtree when the caller already knows it.
async fn compute_board(
    state: &AppState,
    s: &OrgSettings,
    r: BoardRequest,
    scope: Option<&HashSet<Uuid>>,
    now: DateTime<Utc>,
) -> AppResult<BoardData> {
    let db = &state.db;
    // The current period's points board of members is served from the hot ranking.
    if let (PeriodSpec::Grain(grain, date), BoardSubject::Members, BoardMetric::Points) = (r.spec, r.subject, r.metric)
    {
        let today = model::local_date(now, s.tz);
        let current = model::period_containing(grain, today, s.tz, s.fiscal_year_start_month);
        if date.is_none_or(|d| d >= current.start_date && d < current.end_date) {
            let hot = state.hot.current(s, grain, now).await?;
            let computed;
            let scope = match (r.team, scope) {
                (Some(t), None) => {
                    computed = org_store::team_tree(s.org, db).await?.subtree([t]);
                    Some(&computed)
                }
                (_, given) => given,
            };
            return Ok(hot.board(scope, r.first, now));
        }
    }
    let period = scores::resolve_period(s, db, r.spec, now).await?;
    // An ended period's board changes only when one of its days does: served from memory.
    let ended = period.end_date <= model::local_date(now, s.tz);
    if ended && let Some(board) = state.hot.past_board(s.org, r, &period) {
        return Ok(BoardData::clone(&board));
    }
    let sequence = state.hot.past_sequence(s.org);
    let board = scores::leaderboard(
        s,
        db,
        BoardSpec { period, team: r.team, subject: r.subject, metric: r.metric, first: r.first },
        now,
    )
    .await?;
    if ended {
        state.hot.keep_past_board(s.org, r, sequence, &board);
    }
    Ok(board)
}

// ---------------------------------------------------------------- mutations

/// Points engine mutations.
#[derive(Default)]
pub struct ScoringMutation;

#[Object]
impl ScoringMutation {
    /// Creates an activity type (admins).
    async fn create_activity_type(
        &self,
        ctx: &Context<'_>,
        input: CreateActivityTypeInput,
    ) -> Result<ActivityTypePayload> {
        let p = ctx.principal()?;
        require_admin(p)?;
        let state = ctx.state()?;
        let mut errors = Vec::new();
        let name = org_model::parse_name("name", &input.name).map_err(|e| errors.push(e)).ok();
        let description = parse_text("description", input.description, 2000).map_err(|e| errors.push(e)).ok().flatten();
        let kpi_key = crate::kpi::model::parse_activity_kpi_key(input.kpi_key.as_deref())
            .map_err(|e| errors.push(e))
            .ok()
            .flatten()
            .map(str::to_owned);
        let points = model::parse_points("points", input.points).map_err(|e| errors.push(e)).ok();
        let step = match (input.unit, input.step_percent) {
            (ActivityUnit::Progress, Some(s)) => model::parse_step_percent(s).map_err(|e| errors.push(e)).ok(),
            (ActivityUnit::Progress, None) => {
                errors.push(FieldError::new("stepPercent", "REQUIRED", "PROGRESS types need a step size"));
                None
            }
            (ActivityUnit::Count, Some(_)) => {
                errors.push(FieldError::new("stepPercent", "INVALID", "only PROGRESS types have a step size"));
                None
            }
            (ActivityUnit::Count, None) => None,
        };
        let per_activity =
            input.self_max_quantity_per_activity.and_then(|v| parse_ceiling(v, false).map_err(|e| errors.push(e)).ok());
        let per_day =
            input.self_max_quantity_per_day.and_then(|v| parse_ceiling(v, true).map_err(|e| errors.push(e)).ok());
        let (Some(name), Some(points)) = (name, points) else {
            return Ok(ActivityTypePayload { activity_type: None, user_errors: field_errors(errors) });
        };
        if !errors.is_empty() {
            return Ok(ActivityTypePayload { activity_type: None, user_errors: field_errors(errors) });
        }
        let new = store::NewActivityType {
            name,
            description,
            category: input.category,
            unit: input.unit,
            points_cents: decimal_to_cents(points),
            step_percent: step,
            kpi_key,
            self_max_quantity_per_activity: per_activity,
            self_max_quantity_per_day: per_day,
        };
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        let t = store::create_activity_type(p.org, &tx, new).await?;
        crate::audit::store::record(
            p.org,
            &tx,
            p.into(),
            "activityType.create",
            "ActivityType",
            Some(t.id),
            None,
            crate::audit::store::snapshot(&t),
        )
        .await?;
        tx.commit().await.map_err(AppError::from)?;
        state.events.publish(Event::RulesChanged { org: p.org.0 });
        Ok(ActivityTypePayload { activity_type: Some(ActivityType(t)), user_errors: vec![] })
    }

    /// Changes an activity type (admins). Activities logged before keep their points.
    async fn update_activity_type(
        &self,
        ctx: &Context<'_>,
        input: UpdateActivityTypeInput,
    ) -> Result<ActivityTypePayload> {
        let p = ctx.principal()?;
        require_admin(p)?;
        let state = ctx.state()?;
        let id = decode_id(&input.id, NodeKind::ActivityType)?;
        let current =
            store::find_activity_type(p.org, &state.db, id).await?.ok_or(AppError::NotFound("activity type"))?;
        let mut errors = Vec::new();
        let is_progress = ActivityUnit::parse(&current.unit) == Some(ActivityUnit::Progress);
        let patch = store::ActivityTypePatch {
            name: input.name.and_then(|n| org_model::parse_name("name", &n).map_err(|e| errors.push(e)).ok()),
            description: match input.description {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(d) => parse_text("description", Some(d), 2000).map_err(|e| errors.push(e)).ok(),
            },
            category: input.category,
            points_cents: input
                .points
                .and_then(|v| model::parse_points("points", v).map_err(|e| errors.push(e)).ok())
                .map(decimal_to_cents),
            step_percent: match input.step_percent {
                Some(_) if !is_progress => {
                    errors.push(FieldError::new("stepPercent", "INVALID", "only PROGRESS types have a step size"));
                    None
                }
                Some(s) => model::parse_step_percent(s).map_err(|e| errors.push(e)).ok(),
                None => None,
            },
            kpi_key: match input.kpi_key {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(k) => crate::kpi::model::parse_activity_kpi_key(Some(&k))
                    .map_err(|e| errors.push(e))
                    .ok()
                    .map(|k| k.map(str::to_owned)),
            },
            active: input.active,
            self_max_quantity_per_activity: maybe_ceiling(input.self_max_quantity_per_activity, false, &mut errors),
            self_max_quantity_per_day: maybe_ceiling(input.self_max_quantity_per_day, true, &mut errors),
        };
        if !errors.is_empty() {
            return Ok(ActivityTypePayload { activity_type: None, user_errors: field_errors(errors) });
        }
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        // The audit's "before" is the row this transaction replaces, not the one parsed against.
        let before = store::find_activity_type(p.org, &tx, id).await?.unwrap_or(current);
        let t = store::update_activity_type(p.org, &tx, id, patch, input.version).await?;
        crate::audit::store::record(
            p.org,
            &tx,
            p.into(),
            "activityType.update",
            "ActivityType",
            Some(t.id),
            crate::audit::store::snapshot(&before),
            crate::audit::store::snapshot(&t),
        )
        .await?;
        tx.commit().await.map_err(AppError::from)?;
        state.events.publish(Event::RulesChanged { org: p.org.0 });
        Ok(ActivityTypePayload { activity_type: Some(ActivityType(t)), user_errors: vec![] })
    }

    /// Archives an activity type (admins): it can no longer be logged; history stays.
    async fn archive_activity_type(
        &self,
        ctx: &Context<'_>,
        input: ArchiveActivityTypeInput,
    ) -> Result<ActivityTypePayload> {
        let p = ctx.principal()?;
        require_admin(p)?;
        let state = ctx.state()?;
        let id = decode_id(&input.id, NodeKind::ActivityType)?;
        let patch = store::ActivityTypePatch { active: Some(false), ..Default::default() };
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        let before = store::find_activity_type(p.org, &tx, id).await?;
        let t = store::update_activity_type(p.org, &tx, id, patch, None).await?;
        crate::audit::store::record(
            p.org,
            &tx,
            p.into(),
            "activityType.archive",
            "ActivityType",
            Some(t.id),
            before.as_ref().and_then(crate::audit::store::snapshot),
            crate::audit::store::snapshot(&t),
        )
        .await?;
        tx.commit().await.map_err(AppError::from)?;
        state.events.publish(Event::RulesChanged { org: p.org.0 });
        Ok(ActivityTypePayload { activity_type: Some(ActivityType(t)), user_errors: vec![] })
    }

    /// Logs an activity. A rep logs for themself, a manager for members of their teams.
    /// With an `idempotencyKey` a retry returns the original with `replayed: true`.
    async fn log_activity(&self, ctx: &Context<'_>, input: LogActivityInput) -> Result<LogActivityPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let req = log_request(p, input)?;
        let now = Utc::now();
        // Whose teams the caller reaches matters only when logging for someone else.
        let reach = if req.member_id == p.member_id {
            crate::auth::Reach::Teams(HashSet::new())
        } else {
            p.reach(&state.db).await?
        };
        let job = LogJob { principal: p.clone(), reach: reach.clone(), request: req.clone(), now };
        match state.logs.log(job).await {
            Queued::Logged(outcome, s) => Ok(LogActivityPayload {
                replayed: outcome.replayed,
                score_of: Some((s, outcome.activity.member_id, now)),
                activity: Some(Activity(outcome.activity)),
                user_errors: vec![],
            }),
            Queued::Invalid(errors) => Ok(LogActivityPayload {
                activity: None,
                score_of: None,
                replayed: false,
                user_errors: field_errors(errors),
            }),
            Queued::Failed(e) => Err(e.into()),
            Queued::Alone => log_alone(state, p, &reach, req, now).await,
        }
    }

    /// Logs up to 500 activities in one transaction: all or nothing. User errors name the item
    /// index in `field`.
    async fn log_activities(&self, ctx: &Context<'_>, input: LogActivitiesInput) -> Result<LogActivitiesPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        if input.items.is_empty() || input.items.len() > 500 {
            return Err(AppError::bad_input("'items' must hold 1 to 500 activities").into());
        }
        let now = Utc::now();
        let s = state.settings.get(p.org, &state.db).await?;
        let reach = p.reach(&state.db).await?;
        let requests: Vec<LogRequest> = input.items.into_iter().map(|i| log_request(p, i)).collect::<AppResult<_>>()?;
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        let mut outcomes = Vec::with_capacity(requests.len());
        let mut errors = Vec::new();
        let mut memo = scores::LogMemo::batch(&s, &tx, &requests, Some(&state.logging)).await?;
        memo.read_campaigns(p.org, &tx, requests.iter().map(|r| r.occurred_at.unwrap_or(now))).await?;
        let own = requests.iter().filter(|r| r.member_id == p.member_id);
        memo.read_self_quantities(
            &s,
            &tx,
            own.map(|r| (r.member_id, r.activity_type_id, r.occurred_at.unwrap_or(now))),
        )
        .await?;
        for (index, req) in requests.into_iter().enumerate() {
            match scores::log_activity(&s, &tx, p, &reach, req, now, &mut memo).await {
                Ok(o) => outcomes.push(o),
                Err(Ok(item_errors)) => errors.extend(item_errors.into_iter().map(|mut e| {
                    let field = e.field.pop().unwrap_or_default();
                    e.field = vec!["input".into(), "items".into(), index.to_string(), field];
                    UserError::from(e)
                })),
                Err(Err(e)) if is_duplicate(&e) => {
                    return Err(AppError::Conflict(format!(
                        "item {index}: a concurrent request with the same idempotency key; retry"
                    ))
                    .into());
                }
                Err(Err(e)) => return Err(e.into()),
            }
        }
        if !errors.is_empty() {
            return Ok(LogActivitiesPayload { activities: vec![], replayed_count: 0, user_errors: errors });
        }
        if let Err(e) = memo.flush(p.org, &tx).await {
            if is_duplicate(&e) {
                return Err(AppError::Conflict(
                    "a concurrent request stored one of these idempotency keys first; retry".into(),
                )
                .into());
            }
            return Err(e.into());
        }
        let events = outcomes.iter().filter(|o| !o.replayed).map(|o| activity_event(&o.activity)).collect();
        memo.queue_webhooks(p.org, &tx, events).await?;
        tx.commit().await.map_err(AppError::from)?;
        memo.count_self_logged(p.org);
        // One re-read of the changed members' totals, however many activities each.
        let mut changed: Vec<Uuid> = outcomes.iter().filter(|o| !o.replayed).map(|o| o.activity.member_id).collect();
        changed.sort_unstable();
        changed.dedup();
        state.hot.refresh_members(p.org, &changed).await;
        let mut replayed = 0;
        for o in &outcomes {
            if o.replayed {
                replayed += 1;
            } else {
                announce(state, p.org, o, o.activity.points_cents);
            }
        }
        Ok(LogActivitiesPayload {
            activities: outcomes.into_iter().map(|o| Activity(o.activity)).collect(),
            replayed_count: replayed,
            user_errors: vec![],
        })
    }

    /// Voids an activity: its points stop counting, the row stays with who, when and why.
    /// A rep may void their own within 24 hours; a manager any in their teams.
    async fn void_activity(&self, ctx: &Context<'_>, input: VoidActivityInput) -> Result<VoidActivityPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let id = decode_id(&input.id, NodeKind::Activity)?;
        let reason = match parse_text("reason", Some(input.reason), 2000) {
            Ok(Some(r)) => r,
            Ok(None) => {
                let e = FieldError::new("reason", "REQUIRED", "say why the activity is voided");
                return Ok(VoidActivityPayload { activity: None, score: None, user_errors: field_errors(vec![e]) });
            }
            Err(e) => {
                return Ok(VoidActivityPayload { activity: None, score: None, user_errors: field_errors(vec![e]) });
            }
        };
        let now = Utc::now();
        let s = scores::settings(p.org, &state.db).await?;
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        let a = store::find_activity(p.org, &tx, id).await?.ok_or(AppError::NotFound("activity"))?;
        let owner = org_store::find_member(p.org, &tx, a.member_id).await?.ok_or(AppError::NotFound("member"))?;
        let own_recent = a.member_id == p.member_id && now - a.created_at <= chrono::Duration::hours(24);
        if !own_recent {
            if p.role == Role::Rep || p.role == Role::Viewer {
                return Err(AppError::forbidden("reps may void their own activities within 24 hours").into());
            }
            p.reach(&tx).await?.require(owner.team_id, "this member")?;
        }
        if a.voided_at.is_some() {
            let e = FieldError::new("id", "ALREADY_VOIDED", "this activity is already voided");
            return Ok(VoidActivityPayload {
                activity: Some(Activity(a)),
                score: None,
                user_errors: field_errors(vec![e]),
            });
        }
        let (row, changed) = store::void_activity(p.org, &tx, id, p.member_id, reason).await?;
        tx.commit().await.map_err(AppError::from)?;
        if changed {
            // The voided quantity no longer counts against the member's self-logging ceiling.
            if let (Some(kept), "SELF") = (state.logging.self_logged(), row.source.as_str()) {
                let key = (row.member_id, row.activity_type_id, row.local_date);
                kept.add(p.org, key, -i64::from(row.quantity.unwrap_or(0)));
            }
            let outcome = scores::LogOutcome { activity: row.clone(), replayed: false, team_id: owner.team_id };
            publish(state, p.org, &outcome, -row.points_cents).await;
        }
        let score = current_week_score(&s, &state.db, row.member_id, now, ScoreParts::ALL).await?;
        Ok(VoidActivityPayload { activity: Some(Activity(row)), score, user_errors: vec![] })
    }

    /// Creates a campaign (admins).
    async fn create_campaign(&self, ctx: &Context<'_>, input: CreateCampaignInput) -> Result<CampaignPayload> {
        let p = ctx.principal()?;
        require_admin(p)?;
        let state = ctx.state()?;
        match parse_campaign(p.org, &state.db, input).await? {
            Err(errors) => Ok(CampaignPayload { campaign: None, user_errors: field_errors(errors) }),
            Ok(new) => {
                let c = store::create_campaign(p.org, &state.db, new).await?;
                state.events.publish(Event::RulesChanged { org: p.org.0 });
                Ok(CampaignPayload { campaign: Some(Campaign(c)), user_errors: vec![] })
            }
        }
    }

    /// Replaces a campaign's definition (admins), only before it starts: points already awarded never move.
    async fn update_campaign(&self, ctx: &Context<'_>, input: UpdateCampaignInput) -> Result<CampaignPayload> {
        let p = ctx.principal()?;
        require_admin(p)?;
        let state = ctx.state()?;
        let id = decode_id(&input.id, NodeKind::Campaign)?;
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        let current = store::find_campaign(p.org, &tx, id).await?.ok_or(AppError::NotFound("campaign"))?;
        if current.starts_at <= Utc::now() || current.ended_at.is_some() {
            let e = FieldError::new("id", "STARTED", "a campaign can only be changed before it starts");
            return Ok(CampaignPayload { campaign: None, user_errors: field_errors(vec![e]) });
        }
        match parse_campaign(p.org, &tx, input.campaign).await? {
            Err(errors) => Ok(CampaignPayload { campaign: None, user_errors: field_errors(errors) }),
            Ok(new) => {
                let c = store::replace_campaign(p.org, &tx, id, new, input.version).await?;
                tx.commit().await.map_err(AppError::from)?;
                state.events.publish(Event::RulesChanged { org: p.org.0 });
                Ok(CampaignPayload { campaign: Some(Campaign(c)), user_errors: vec![] })
            }
        }
    }

    /// Ends a campaign now (admins); activities after this get no multiplier from it.
    async fn end_campaign(&self, ctx: &Context<'_>, input: EndCampaignInput) -> Result<CampaignPayload> {
        let p = ctx.principal()?;
        require_admin(p)?;
        let state = ctx.state()?;
        let id = decode_id(&input.id, NodeKind::Campaign)?;
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        let current = store::find_campaign(p.org, &tx, id).await?.ok_or(AppError::NotFound("campaign"))?;
        if store::campaign_rule(&current).status(Utc::now()) == CampaignStatus::Ended {
            let e = FieldError::new("id", "ENDED", "this campaign has already ended");
            return Ok(CampaignPayload { campaign: Some(Campaign(current)), user_errors: field_errors(vec![e]) });
        }
        let c = store::end_campaign(p.org, &tx, id).await?;
        tx.commit().await.map_err(AppError::from)?;
        state.events.publish(Event::RulesChanged { org: p.org.0 });
        Ok(CampaignPayload { campaign: Some(Campaign(c)), user_errors: vec![] })
    }

    /// Records a weekly points target: a sales role's default (admins) or a member's override
    /// (admins; managers for their teams). History is kept.
    async fn set_points_target(&self, ctx: &Context<'_>, input: SetPointsTargetInput) -> Result<PointsTargetPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let mut errors = Vec::new();
        let member = match (&input.member_id, input.sales_role) {
            (Some(_), Some(_)) | (None, None) => {
                errors.push(FieldError::new("memberId", "INVALID", "give exactly one of memberId and salesRole"));
                None
            }
            (Some(id), None) => {
                let m = org_store::find_member(p.org, &state.db, decode_id(id, NodeKind::Member)?)
                    .await?
                    .ok_or(AppError::NotFound("member"))?;
                p.require(Permission::MembersWrite)?;
                p.reach(&state.db).await?.require(m.team_id, "this member")?;
                Some(m.id)
            }
            (None, Some(_)) => {
                require_admin(p)?;
                None
            }
        };
        let weekly = model::parse_points("weeklyPoints", input.weekly_points).map_err(|e| errors.push(e)).ok();
        let reason = match parse_text("reason", Some(input.reason), 2000) {
            Ok(Some(r)) => Some(r),
            Ok(None) => {
                errors.push(FieldError::new("reason", "REQUIRED", "say why the target is set"));
                None
            }
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let (Some(weekly), Some(reason)) = (weekly, reason) else {
            return Ok(PointsTargetPayload { target: None, user_errors: field_errors(errors) });
        };
        if let Some(from) = input.effective_from
            && let Err(e) = org_model::check_business_date("effectiveFrom", from)
        {
            errors.push(e);
        }
        if !errors.is_empty() {
            return Ok(PointsTargetPayload { target: None, user_errors: field_errors(errors) });
        }
        let s = scores::settings(p.org, &state.db).await?;
        let new = store::NewTarget {
            sales_role: if member.is_none() { input.sales_role } else { None },
            member_id: member,
            weekly_points_cents: decimal_to_cents(weekly),
            effective_from: input.effective_from.unwrap_or_else(|| model::local_date(Utc::now(), s.tz)),
            reason,
            set_by: p.member_id,
        };
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        let t = store::insert_target(p.org, &tx, new).await?;
        crate::audit::store::record(
            p.org,
            &tx,
            p.into(),
            "pointsTarget.set",
            "PointsTarget",
            Some(t.id),
            None,
            crate::audit::store::snapshot(&t),
        )
        .await?;
        tx.commit().await.map_err(AppError::from)?;
        state.events.publish(Event::MembersChanged { org: p.org.0 });
        Ok(PointsTargetPayload { target: Some(PointsTarget(t)), user_errors: vec![] })
    }
}

// ---------------------------------------------------------------- subscriptions

/// Least time between two leaderboard messages of one subscription.
const BOARD_COALESCE: StdDuration = StdDuration::from_millis(100);

/// Points engine subscriptions.
#[derive(Default)]
pub struct ScoringSubscription;

#[Subscription]
impl ScoringSubscription {
    /// A member's score moved (an activity logged or voided): for one member, for the members
    /// of a team's subtree, or (neither given) for everyone the viewer may read. Only changes whose
    /// activity the viewer may read (as in `activities`) are delivered.
    async fn score_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this member.")] member_id: Option<ID>,
        #[graphql(desc = "Only members of this team and its sub-teams.")] team_id: Option<ID>,
    ) -> Result<impl Stream<Item = Result<ScoreChange>> + use<>> {
        let p = ctx.principal()?.clone();
        let state = ctx.state()?.clone();
        let db = state.db.clone();
        let scope = p.read_scope(&db).await?;
        // Each change carries its activity: only changes whose activity the viewer may read.
        let access = ActivityAccess::of(&p, &db).await?;
        let member = match &member_id {
            Some(id) => {
                let m = org_store::find_member(p.org, &db, decode_id(id, NodeKind::Member)?)
                    .await?
                    .ok_or(AppError::NotFound("member"))?;
                scope.member(&p, &m)?;
                if !access.may_read(m.id, m.team_id) {
                    return Err(AppError::forbidden("you may not read this member's activities").into());
                }
                Some(m.id)
            }
            None => None,
        };
        let teams: Option<HashSet<Uuid>> = match &team_id {
            Some(id) => {
                let t = decode_id(id, NodeKind::Team)?;
                org_store::find_team(p.org, &db, t).await?.ok_or(AppError::NotFound("team"))?;
                scope.board(Some(t))?;
                let subtree = org_store::team_tree(p.org, &db).await?.subtree([t]);
                // Score changes carry activities: only members whose scores the viewer may read.
                Some(match &scope {
                    ReadScope::All => subtree,
                    ReadScope::Limited { member_teams, .. } => subtree.intersection(member_teams).copied().collect(),
                })
            }
            None => match &scope {
                ReadScope::All => None,
                ReadScope::Limited { member_teams, .. } => Some(member_teams.clone()),
            },
        };
        let self_id = p.member_id;
        let mut rx = state.events.subscribe();
        let org = p.org;
        Ok(async_stream::stream! {
            loop {
                let event = match rx.recv().await {
                    Ok(e) => e,
                    // Score changes are deltas: a lagging subscriber skips ahead; the next
                    // message carries the full current score again.
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => break,
                };
                let Event::ScoreChanged { org: event_org, member: who, team, activity, points_delta_cents, .. } = event else { continue };
                if OrgId(event_org) != org || member.is_some_and(|m| m != who) {
                    continue;
                }
                let visible = who == self_id || teams.as_ref().is_none_or(|set| team.is_some_and(|t| set.contains(&t)));
                if !visible || !access.may_read(who, team) {
                    continue;
                }
                // The member's current team decides, as in `activities`.
                let m = match org_store::find_member(org, &db, who).await {
                    Ok(Some(m)) if !access.may_read(m.id, m.team_id) => continue,
                    Ok(m) => m,
                    Err(e) => {
                        yield Err(async_graphql::Error::from(e));
                        continue;
                    }
                };
                let item = async {
                    let s = scores::settings(org, &db).await?;
                    let m = m.ok_or(AppError::NotFound("member"))?;
                    let a = store::find_activity(org, &db, activity).await?.ok_or(AppError::NotFound("activity"))?;
                    let score = current_week_score(&s, &db, who, Utc::now(), ScoreParts::ALL).await?.ok_or(AppError::NotFound("member"))?;
                    AppResult::Ok(ScoreChange { member: Member(m), activity: Activity(a), points_delta: cents_to_f64(points_delta_cents), score })
                }
                .await;
                yield item.map_err(async_graphql::Error::from);
            }
        })
    }

    /// A leaderboard, live: the current board at once, then the new board whenever an entry
    /// changes. Bursts are coalesced (at most one message per 100 ms, always the latest state);
    /// a slow client skips to the latest state.
    async fn leaderboard_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to rank.")] input: LeaderboardInput,
    ) -> Result<impl Stream<Item = Result<Leaderboard>> + use<>> {
        let p = ctx.principal()?.clone();
        let state = ctx.state()?.clone();
        let db = state.db.clone();
        let (s, request) = board_request(&p, &state, &input).await?;
        let org = p.org;
        // Subscribers of the same board share one feed; the first one starts it (and the
        // team's subtree is resolved once per feed, not per subscriber).
        let mut feed = match state.hot.existing_feed(org, request) {
            Some(rx) => rx,
            None => {
                let scope_teams: Option<HashSet<Uuid>> = match request.team {
                    Some(t) => Some(org_store::team_tree(p.org, &db).await?.subtree([t])),
                    None => None,
                };
                let st = state.clone();
                state.hot.feed(org, request, move |tx| start_board_feed(st, s, request, scope_teams, tx))
            }
        };
        Ok(async_stream::stream! {
            loop {
                let current = feed.borrow_and_update().clone();
                match current {
                    Some(Ok(board)) => yield Ok(Leaderboard::from(BoardData::clone(&board))),
                    Some(Err(e)) => yield Err(async_graphql::Error::from(&*e)),
                    None => {}
                }
                if feed.changed().await.is_err() {
                    break;
                }
            }
        })
    }
}

/// Keeps one board's feed current: the board at once, then a recomputation whenever an entry
/// may have changed, at most one per [`BOARD_COALESCE`], published only when it differs. Every
/// subscriber of the board reads the same computed board; a slow subscriber skips to the
/// latest. Ends when the last subscriber has gone.
fn start_board_feed(
    state: AppState,
    settings: OrgSettings,
    request: BoardRequest,
    scope_teams: Option<HashSet<Uuid>>,
    tx: std::sync::Arc<tokio::sync::watch::Sender<super::hot::FeedValue>>,
) {
    let mut rx = state.hot.subscribe();
    tokio::spawn(async move {
        let org = settings.org;
        let mut settings = settings;
        let mut last = None;
        let publish = |result: AppResult<BoardData>, last: &mut Option<scores::Fingerprint>| match result {
            Ok(board) => {
                let fingerprint = board.fingerprint();
                if last.as_ref() != Some(&fingerprint) {
                    *last = Some(fingerprint);
                    tx.send_replace(Some(Ok(std::sync::Arc::new(board))));
                }
            }
            Err(e) => {
                e.log();
                // Subscribers now hold the error: the next board must reach them even when it
                // equals the one before (a database outage that changed nothing).
                *last = None;
                tx.send_replace(Some(Err(std::sync::Arc::new(e))));
            }
        };
        publish(compute_board(&state, &settings, request, scope_teams.as_ref(), Utc::now()).await, &mut last);
        let mut last_sent = tokio::time::Instant::now();
        let mut idle = tokio::time::interval(StdDuration::from_secs(5));
        loop {
            let (relevant, reload) = tokio::select! {
                update = rx.recv() => match update {
                    Ok(BoardUpdate::Reload { org: o }) => (o.is_none_or(|o| o == org), true),
                    Ok(BoardUpdate::Scores { org: o, team }) => {
                        (o == org && scope_teams.as_ref().is_none_or(|set| team.is_some_and(|t| set.contains(&t))), false)
                    }
                    // Skipped updates are covered by recomputing the latest state.
                    Err(RecvError::Lagged(_)) => (true, true),
                    Err(RecvError::Closed) => {
                        state.hot.retire_feed(org, request, &tx, true);
                        return;
                    }
                },
                _ = idle.tick() => (false, false),
            };
            if state.hot.retire_feed(org, request, &tx, false) {
                return;
            }
            if !relevant {
                continue;
            }
            let wait = (last_sent + BOARD_COALESCE).saturating_duration_since(tokio::time::Instant::now());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            // Everything that arrived meanwhile is covered by the recomputation below.
            let mut reload = reload;
            loop {
                match rx.try_recv() {
                    Ok(BoardUpdate::Reload { .. }) | Err(TryRecvError::Lagged(_)) => reload = true,
                    Ok(BoardUpdate::Scores { .. }) => {}
                    Err(TryRecvError::Empty) | Err(TryRecvError::Closed) => break,
                }
            }
            if reload && let Ok(fresh) = scores::settings(org, &state.db).await {
                settings = fresh;
            }
            last_sent = tokio::time::Instant::now();
            publish(compute_board(&state, &settings, request, scope_teams.as_ref(), Utc::now()).await, &mut last);
        }
    });
}
