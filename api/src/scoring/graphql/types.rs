//! Output objects of the points engine: activity types, activities, campaigns, points targets,
//! scores and leaderboards.

use std::sync::Arc;

use async_graphql::parser::types::SelectionSet;
use async_graphql::resolver_utils::enum_value;
use async_graphql::{
    Context, ContextSelectionSet, ID, Lookahead, Object, OutputType, Positioned, Result, ScalarType, SimpleObject,
    Value,
};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{activity_type, campaign, member, points_target};

use crate::core::roles::SalesRole;
use crate::graphql::ContextExt;
use crate::graphql::loaders::{ActivityTypeKey, CampaignKey, TeamKey};
use crate::graphql::projection::{Project, ProjectPage, Projected, leaf, object};
use crate::graphql::relay::{NodeKind, global_id};
pub use crate::objects::{Activity, ActivityConnection, ActivityEdge};
use crate::org::directory::Directory;
use crate::org::graphql::{Member, MemberIn, Team, TeamIn};
use crate::scoring::model::{self, ActivityCategory, ActivityUnit, CampaignStatus, Period, PeriodGrain};
use crate::scoring::scores::{BoardData, ScoreData};
use crate::scoring::{cents_to_f64, decimal_to_cents, store};

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
        Ok(crate::org::graphql::member_by_id(ctx, self.0.member_id).await?)
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
            Some(d) if crate::pipeline::policy::may_read(p, db, &d).await => {
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
        Ok(crate::org::graphql::member_by_id(ctx, self.0.logged_by).await?)
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
        Ok(crate::org::graphql::member_by_id(ctx, id).await?)
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
crate::connection_type!(CampaignConnection, CampaignEdge, Campaign, "campaigns", projected);

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

impl ProjectPage for Campaign {
    const TYPE: &'static str = "Campaign";
    /// The clock the page's statuses are read at.
    type Shared = DateTime<Utc>;

    async fn gather(_: &Context<'_>, _: Lookahead<'_>, _: &[&Self]) -> Result<DateTime<Utc>> {
        Ok(Utc::now())
    }

    fn project_in(
        &self,
        now: &DateTime<Utc>,
        name: &str,
        s: &Positioned<SelectionSet>,
        _: &ContextSelectionSet<'_>,
    ) -> Option<Value> {
        let c = &self.0;
        let text = |v: &Option<String>| leaf(s, v.clone().map_or(Value::Null, Value::String));
        match name {
            "id" => leaf(s, global_id(NodeKind::Campaign, c.id).0),
            "name" => leaf(s, c.name.clone()),
            "theme" => text(&c.theme),
            "reward" => text(&c.reward),
            "startsAt" => leaf(s, ScalarType::to_value(&c.starts_at)),
            "endsAt" => leaf(s, ScalarType::to_value(&c.ends_at)),
            "endedAt" => leaf(s, c.ended_at.as_ref().map_or(Value::Null, ScalarType::to_value)),
            "multiplier" => leaf(s, ScalarType::to_value(&cents_to_f64(c.multiplier_cents))),
            "status" => leaf(s, enum_value(store::campaign_rule(c).status(*now))),
            "version" => leaf(s, c.version),
            // activityTypes and teams are executed
            _ => None,
        }
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
        Ok(crate::org::graphql::member_by_id(ctx, id).await?)
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
        Ok(crate::org::graphql::member_by_id(ctx, self.0.set_by).await?)
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
#[graphql(complex)]
pub struct LeaderboardEntry {
    /// Standard competition rank: 1, 2, 2, 4.
    rank: u32,
    /// The ranked value: points, or attainment percent for TARGET_PERCENT (null without a target).
    value: Option<f64>,
    /// Points in the period.
    points: f64,
    #[graphql(skip)]
    attainment: crate::scoring::model::Attainment,
    #[graphql(skip)]
    member: Option<Arc<member::Model>>,
    #[graphql(skip)]
    team: Option<entity::team::Model>,
}

#[async_graphql::ComplexObject]
impl LeaderboardEntry {
    /// Attainment of its own target.
    async fn attainment_percent(&self) -> Option<f64> {
        self.attainment.percent()
    }
    /// The member (MEMBERS boards).
    async fn member(&self) -> Option<Member> {
        self.member.as_deref().cloned().map(Member)
    }
    /// The team (TEAMS boards).
    async fn team(&self) -> Option<Team> {
        self.team.clone().map(Team)
    }
    /// The member's streak now, whatever period the board covers: consecutive complete weeks on
    /// their points target, counting back from last week (MEMBERS boards; null on TEAMS boards).
    async fn streak_weeks(&self, ctx: &Context<'_>) -> Result<Option<u32>> {
        let Some(m) = &self.member else { return Ok(None) };
        let state = ctx.state()?;
        let s = state.settings.get(ctx.principal()?.org, &state.db).await?;
        Ok(Some(state.hot.member_streak(&s, m, Utc::now()).await?))
    }
}

/// A board's entry with what its projection reads besides it: the organization's directory,
/// and the member's streak when the selection asks for it (see `Leaderboard::entries`).
pub struct EntryIn<'a> {
    entry: &'a LeaderboardEntry,
    dir: Arc<Directory>,
    streak: Option<Option<u32>>,
}

impl OutputType for EntryIn<'_> {
    fn type_name() -> std::borrow::Cow<'static, str> {
        LeaderboardEntry::type_name()
    }

    fn create_type_info(registry: &mut async_graphql::registry::Registry) -> String {
        LeaderboardEntry::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<async_graphql::parser::types::Field>,
    ) -> async_graphql::ServerResult<Value> {
        OutputType::resolve(self.entry, ctx, field).await
    }
}

impl Project for EntryIn<'_> {
    const TYPE: &'static str = "LeaderboardEntry";

    fn project(&self, name: &str, s: &Positioned<SelectionSet>, ctx: &ContextSelectionSet<'_>) -> Option<Value> {
        let e = self.entry;
        match name {
            "rank" => leaf(s, e.rank),
            "value" => leaf(s, e.value.as_ref().map_or(Value::Null, ScalarType::to_value)),
            "points" => leaf(s, ScalarType::to_value(&e.points)),
            "attainmentPercent" => leaf(s, e.attainment.percent().as_ref().map_or(Value::Null, ScalarType::to_value)),
            "streakWeeks" => leaf(s, self.streak?.map_or(Value::Null, Value::from)),
            "member" => match &e.member {
                None => Some(Value::Null),
                Some(m) => object(&MemberIn { member: m, dir: &self.dir }, s, ctx),
            },
            "team" => match &e.team {
                None => Some(Value::Null),
                Some(t) => object(&TeamIn(t), s, ctx),
            },
            _ => None,
        }
    }
}

/// A ranking of members or teams in a period.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Leaderboard {
    /// The period.
    period: PeriodInfo,
    #[graphql(skip)]
    entries: Vec<LeaderboardEntry>,
    /// How many are ranked in all (before `first`).
    total_entries: i32,
    /// When this board was computed.
    updated_at: DateTime<Utc>,
}

#[async_graphql::ComplexObject]
impl Leaderboard {
    /// The top entries, best first; equal values share a rank and are ordered by name.
    async fn entries(&self, ctx: &Context<'_>) -> Result<Projected<EntryIn<'_>>> {
        let p = ctx.principal()?;
        let dir = crate::org::graphql::directory(ctx).await?;
        // The streak is computed here only when asked, so that every field of an entry is at
        // hand when the list is projected.
        let mut streaks = Vec::new();
        let asked = ctx.look_ahead().field("streakWeeks").exists();
        if asked {
            let state = ctx.state()?;
            let s = state.settings.get(p.org, &state.db).await?;
            let members: Vec<&member::Model> = self.entries.iter().filter_map(|e| e.member.as_deref()).collect();
            let mut weeks = state.hot.member_streaks(&s, &members, Utc::now()).await?.into_iter();
            streaks = self.entries.iter().map(|e| e.member.as_ref().and_then(|_| weeks.next())).collect();
        }
        Ok(Projected(
            self.entries
                .iter()
                .enumerate()
                .map(|(i, entry)| EntryIn { entry, dir: dir.clone(), streak: asked.then(|| streaks[i]) })
                .collect(),
        ))
    }
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
                    attainment: e.attainment,
                    member: e.member,
                    team: e.team,
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
    pub(super) member: Member,
    /// The activity logged or voided.
    pub(super) activity: Activity,
    /// Points added (negative for a void).
    pub(super) points_delta: f64,
    /// The member's score for the current week, after the change.
    pub(super) score: Score,
}
