//! The points engine's use-cases that write: activity types, logging and voiding activities,
//! campaigns and points targets. Each checks the caller's role first, then runs in one
//! [`Unit`] (audit entries inside, rule changes announced after the commit). Logging and
//! voiding also bring this instance's in-memory rankings up to date after the commit and only
//! then announce the new totals, so a subscriber who re-reads sees them. A refused request
//! returns its field errors ([`Checked`]) and writes nothing.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use entity::{activity, activity_type, campaign, points_target};

use super::cache::LogCache;
use super::hot::HotBoards;
use super::model::{self, ActivityCategory, ActivityUnit, CampaignStatus};
use super::policy;
use super::queue::{self, LogJob, LogQueue, Queued, activity_event};
use super::scores::{self, LogRequest, OrgSettings, SettingsCache};
use super::{decimal_to_cents, store};
use crate::core::error::{AppError, AppResult};
use crate::core::field::{Checked, FieldError};
use crate::core::ids::OrgId;
use crate::core::principal::Principal;
use crate::core::roles::SalesRole;
use crate::db::unit::{Unit, snapshot};
use crate::events::{Event, EventBus};
use crate::org::{model as org_model, store as org_store};

/// Most activities one `logActivities` call may hold.
pub const MAX_BATCH: usize = 500;

/// A request refused for its content, with the record as it stands when there is one.
#[derive(Debug, Clone)]
pub struct Refused<T> {
    /// The record the request was about, unchanged; `None` when it was not read.
    pub current: Option<T>,
    /// What to fix.
    pub errors: Vec<FieldError>,
}

impl<T> Refused<T> {
    fn new(error: FieldError) -> Self {
        Refused { current: None, errors: vec![error] }
    }
}

/// An activity type to create.
#[derive(Debug, Clone)]
pub struct CreateActivityType {
    /// Name, as given.
    pub name: String,
    /// Free text, as given.
    pub description: Option<String>,
    /// ACTION or RESULT.
    pub category: ActivityCategory,
    /// COUNT or PROGRESS.
    pub unit: ActivityUnit,
    /// Points per unit or step, as given.
    pub points: f64,
    /// PROGRESS only: step size in percent.
    pub step_percent: Option<i32>,
    /// The built-in KPI input it feeds.
    pub kpi_key: Option<String>,
    /// Ceiling on one self-logged activity (absent: the default).
    pub self_max_quantity_per_activity: Option<i32>,
    /// Ceiling on self-logged units per day (absent: the default).
    pub self_max_quantity_per_day: Option<i32>,
}

/// Changes to an activity type; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone)]
pub struct UpdateActivityType {
    /// The type.
    pub id: Uuid,
    /// The version the change was made against (CONFLICT when it moved on).
    pub version: Option<i32>,
    /// A new name.
    pub name: Option<String>,
    /// A new description, or none.
    pub description: Option<Option<String>>,
    /// A new category.
    pub category: Option<ActivityCategory>,
    /// New points per unit or step.
    pub points: Option<f64>,
    /// A new step size (PROGRESS types).
    pub step_percent: Option<i32>,
    /// A new KPI key, or none.
    pub kpi_key: Option<Option<String>>,
    /// Reactivate (true) or archive (false).
    pub active: Option<bool>,
    /// A new ceiling on one self-logged activity, or back to the default.
    pub self_max_quantity_per_activity: Option<Option<i32>>,
    /// A new ceiling on self-logged units per day, or back to the default.
    pub self_max_quantity_per_day: Option<Option<i32>>,
}

/// A campaign definition, as given.
#[derive(Debug, Clone)]
pub struct CampaignDefinition {
    /// Name.
    pub name: String,
    /// Theme text.
    pub theme: Option<String>,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End (exclusive).
    pub ends_at: DateTime<Utc>,
    /// Points multiplier.
    pub multiplier: f64,
    /// Activity types it multiplies; empty means all.
    pub activity_type_ids: Vec<Uuid>,
    /// Teams (with sub-teams) it applies to; empty means all.
    pub team_ids: Vec<Uuid>,
    /// What the winners get.
    pub reward: Option<String>,
}

/// A new definition for a campaign that has not started.
#[derive(Debug, Clone)]
pub struct UpdateCampaign {
    /// The campaign.
    pub id: Uuid,
    /// The version the change was made against (CONFLICT when it moved on).
    pub version: Option<i32>,
    /// The full new definition.
    pub campaign: CampaignDefinition,
}

/// Whose weekly points target is set.
#[derive(Debug, Clone, Copy)]
pub enum TargetOf {
    /// A member's override.
    Member(Uuid),
    /// A sales role's default.
    SalesRole(SalesRole),
    /// Neither or both were given: refused.
    Unclear,
}

/// A weekly points target to record.
#[derive(Debug, Clone)]
pub struct SetPointsTarget {
    /// Whose.
    pub of: TargetOf,
    /// Weekly points, as given.
    pub weekly_points: f64,
    /// From which date (default today in the organization's time zone).
    pub effective_from: Option<NaiveDate>,
    /// Why, as given.
    pub reason: String,
}

/// An activity to void.
#[derive(Debug, Clone)]
pub struct VoidActivity {
    /// The activity.
    pub id: Uuid,
    /// Why, as given.
    pub reason: String,
}

/// A logged (or replayed) activity and what its member's score is read with afterwards.
#[derive(Debug, Clone)]
pub struct Logged {
    /// The stored activity (the original one when replayed).
    pub activity: activity::Model,
    /// True when the idempotency key was seen before and nothing was awarded.
    pub replayed: bool,
    /// The organization's settings the activity was logged under.
    pub settings: OrgSettings,
    /// When the call arrived.
    pub now: DateTime<Utc>,
}

/// Activities logged together.
#[derive(Debug, Clone)]
pub struct LoggedBatch {
    /// The activities in input order (originals where replayed).
    pub activities: Vec<activity::Model>,
    /// How many were replays of earlier keys.
    pub replayed: i32,
}

/// A voided activity and what its member's score is read with afterwards.
#[derive(Debug, Clone)]
pub struct Voided {
    /// The activity after voiding.
    pub activity: activity::Model,
    /// The organization's settings.
    pub settings: OrgSettings,
    /// When the call arrived.
    pub now: DateTime<Utc>,
}

// ---------------------------------------------------------------- activity types

/// Creates an activity type.
pub async fn create_activity_type(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: CreateActivityType,
) -> AppResult<Checked<activity_type::Model>> {
    policy::may_configure(p)?;
    let mut errors = Vec::new();
    let name = org_model::parse_name("name", &cmd.name).map_err(|e| errors.push(e)).ok();
    let description = parse_text("description", cmd.description, 2000).map_err(|e| errors.push(e)).ok().flatten();
    let kpi_key = crate::kpi::model::parse_activity_kpi_key(cmd.kpi_key.as_deref())
        .map_err(|e| errors.push(e))
        .ok()
        .flatten()
        .map(str::to_owned);
    let points = model::parse_points("points", cmd.points).map_err(|e| errors.push(e)).ok();
    let step = match (cmd.unit, cmd.step_percent) {
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
        cmd.self_max_quantity_per_activity.and_then(|v| parse_ceiling(v, false).map_err(|e| errors.push(e)).ok());
    let per_day = cmd.self_max_quantity_per_day.and_then(|v| parse_ceiling(v, true).map_err(|e| errors.push(e)).ok());
    let (Some(name), Some(points), true) = (name, points, errors.is_empty()) else {
        return Ok(Err(errors));
    };
    let new = store::NewActivityType {
        name,
        description,
        category: cmd.category,
        unit: cmd.unit,
        points_cents: decimal_to_cents(points),
        step_percent: step,
        kpi_key,
        self_max_quantity_per_activity: per_activity,
        self_max_quantity_per_day: per_day,
    };
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let t = store::create_activity_type(p.org, unit.db(), new).await?;
    unit.audit("activityType.create", "ActivityType", Some(t.id), None, snapshot(&t)).await?;
    unit.publish(Event::RulesChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(Ok(t))
}

/// Changes an activity type. Activities logged before keep their points.
pub async fn update_activity_type(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: UpdateActivityType,
) -> AppResult<Checked<activity_type::Model>> {
    policy::may_configure(p)?;
    let id = cmd.id;
    let current = store::find_activity_type(p.org, db, id).await?.ok_or(AppError::NotFound("activity type"))?;
    let mut errors = Vec::new();
    let is_progress = ActivityUnit::parse(&current.unit) == Some(ActivityUnit::Progress);
    let patch = store::ActivityTypePatch {
        name: cmd.name.and_then(|n| org_model::parse_name("name", &n).map_err(|e| errors.push(e)).ok()),
        description: match cmd.description {
            None => None,
            Some(None) => Some(None),
            Some(Some(d)) => parse_text("description", Some(d), 2000).map_err(|e| errors.push(e)).ok(),
        },
        category: cmd.category,
        points_cents: cmd
            .points
            .and_then(|v| model::parse_points("points", v).map_err(|e| errors.push(e)).ok())
            .map(decimal_to_cents),
        step_percent: match cmd.step_percent {
            Some(_) if !is_progress => {
                errors.push(FieldError::new("stepPercent", "INVALID", "only PROGRESS types have a step size"));
                None
            }
            Some(s) => model::parse_step_percent(s).map_err(|e| errors.push(e)).ok(),
            None => None,
        },
        kpi_key: match cmd.kpi_key {
            None => None,
            Some(None) => Some(None),
            Some(Some(k)) => crate::kpi::model::parse_activity_kpi_key(Some(&k))
                .map_err(|e| errors.push(e))
                .ok()
                .map(|k| k.map(str::to_owned)),
        },
        active: cmd.active,
        self_max_quantity_per_activity: maybe_ceiling(cmd.self_max_quantity_per_activity, false, &mut errors),
        self_max_quantity_per_day: maybe_ceiling(cmd.self_max_quantity_per_day, true, &mut errors),
    };
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    // The audit's "before" is the row this transaction replaces, not the one parsed against.
    let before = store::find_activity_type(p.org, unit.db(), id).await?.unwrap_or(current);
    let t = store::update_activity_type(p.org, unit.db(), id, patch, cmd.version).await?;
    unit.audit("activityType.update", "ActivityType", Some(t.id), snapshot(&before), snapshot(&t)).await?;
    unit.publish(Event::RulesChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(Ok(t))
}

/// Archives an activity type: it can no longer be logged; history stays.
pub async fn archive_activity_type(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    id: Uuid,
) -> AppResult<activity_type::Model> {
    policy::may_configure(p)?;
    let patch = store::ActivityTypePatch { active: Some(false), ..Default::default() };
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let before = store::find_activity_type(p.org, unit.db(), id).await?;
    let t = store::update_activity_type(p.org, unit.db(), id, patch, None).await?;
    unit.audit("activityType.archive", "ActivityType", Some(t.id), before.as_ref().and_then(snapshot), snapshot(&t))
        .await?;
    unit.publish(Event::RulesChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(t)
}

// ---------------------------------------------------------------- logging and voiding

/// Logs an activity. A rep logs for themself, a manager for members of their teams. The call
/// joins whatever else is queued on `logs` in one shared transaction; when that transaction
/// rolled back, it runs in one of its own. With an idempotency key a retry returns the
/// original with `replayed: true`.
pub async fn log_activity(
    db: &DatabaseConnection,
    bus: &EventBus,
    hot: &HotBoards,
    logs: &LogQueue,
    p: &Principal,
    req: LogRequest,
) -> AppResult<Checked<Logged>> {
    let now = Utc::now();
    // Whose teams the caller reaches matters only when logging for someone else.
    let reach =
        if req.member_id == p.member_id { crate::auth::Reach::Teams(HashSet::new()) } else { p.reach(db).await? };
    let job = LogJob { principal: p.clone(), reach: reach.clone(), request: req.clone(), now };
    match logs.log(job).await {
        Queued::Logged(outcome, settings) => {
            Ok(Ok(Logged { replayed: outcome.replayed, activity: outcome.activity, settings, now }))
        }
        Queued::Invalid(errors) => Ok(Err(errors)),
        Queued::Failed(e) => Err(e),
        Queued::Alone => log_alone(db, bus, hot, p, &reach, req, now).await,
    }
}

/// One `logActivity` in a transaction of its own: what a queued call does when the shared
/// transaction it was in rolled back.
async fn log_alone(
    db: &DatabaseConnection,
    bus: &EventBus,
    hot: &HotBoards,
    p: &Principal,
    reach: &crate::auth::Reach,
    req: LogRequest,
    now: DateTime<Utc>,
) -> AppResult<Checked<Logged>> {
    let s = scores::settings(p.org, db).await?;
    let unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let outcome = match scores::log_activity(&s, unit.db(), p, reach, req.clone(), now, &mut Default::default()).await {
        Ok(o) => o,
        Err(Ok(errors)) => return Ok(Err(errors)),
        Err(Err(e)) if is_duplicate(&e) => {
            // A concurrent request with the same key committed first: answer with its activity.
            drop(unit);
            let key = req.idempotency_key.as_deref().map(str::trim).unwrap_or_default();
            let original = store::find_by_idempotency_key(p.org, db, req.member_id, key)
                .await?
                .ok_or(AppError::Conflict("a concurrent request clashed; retry".into()))?;
            if !scores::replays(&original, &req) {
                return Ok(Err(vec![model::idempotency_key_reused()]));
            }
            return Ok(Ok(Logged { activity: original, replayed: true, settings: s, now }));
        }
        Err(Err(e)) => return Err(e),
    };
    if !outcome.replayed {
        crate::webhooks::store::enqueue(p.org, unit.db(), scores::ACTIVITY_LOGGED, activity_event(&outcome.activity))
            .await?;
    }
    unit.commit().await?;
    if !outcome.replayed {
        refresh_and_announce(hot, bus, p.org, &outcome, outcome.activity.points_cents).await;
    }
    Ok(Ok(Logged { replayed: outcome.replayed, activity: outcome.activity, settings: s, now }))
}

/// Refuses a `logActivities` call with no items or more than [`MAX_BATCH`].
pub fn check_batch_size(items: usize) -> AppResult<()> {
    if items == 0 || items > MAX_BATCH {
        return Err(AppError::bad_input("'items' must hold 1 to 500 activities"));
    }
    Ok(())
}

/// Logs up to [`MAX_BATCH`] activities in one transaction: all or nothing. Field errors name
/// the item index (`input.items.<i>.<field>`).
pub async fn log_activities(
    db: &DatabaseConnection,
    bus: &EventBus,
    settings: &SettingsCache,
    logging: &LogCache,
    hot: &HotBoards,
    p: &Principal,
    requests: Vec<LogRequest>,
) -> AppResult<Checked<LoggedBatch>> {
    check_batch_size(requests.len())?;
    let now = Utc::now();
    let s = settings.get(p.org, db).await?;
    let reach = p.reach(db).await?;
    let unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let mut outcomes = Vec::with_capacity(requests.len());
    let mut errors = Vec::new();
    let mut memo = scores::LogMemo::batch(&s, unit.db(), &requests, Some(logging)).await?;
    memo.read_campaigns(p.org, unit.db(), requests.iter().map(|r| r.occurred_at.unwrap_or(now))).await?;
    let own = requests.iter().filter(|r| r.member_id == p.member_id);
    memo.read_self_quantities(
        &s,
        unit.db(),
        own.map(|r| (r.member_id, r.activity_type_id, r.occurred_at.unwrap_or(now))),
    )
    .await?;
    for (index, req) in requests.into_iter().enumerate() {
        match scores::log_activity(&s, unit.db(), p, &reach, req, now, &mut memo).await {
            Ok(o) => outcomes.push(o),
            Err(Ok(item_errors)) => errors.extend(item_errors.into_iter().map(|mut e| {
                let field = e.field.pop().unwrap_or_default();
                e.field = vec!["input".into(), "items".into(), index.to_string(), field];
                e
            })),
            Err(Err(e)) if is_duplicate(&e) => {
                return Err(AppError::Conflict(format!(
                    "item {index}: a concurrent request with the same idempotency key; retry"
                )));
            }
            Err(Err(e)) => return Err(e),
        }
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    if let Err(e) = memo.flush(p.org, unit.db()).await {
        if is_duplicate(&e) {
            return Err(AppError::Conflict(
                "a concurrent request stored one of these idempotency keys first; retry".into(),
            ));
        }
        return Err(e);
    }
    let events = outcomes.iter().filter(|o| !o.replayed).map(|o| activity_event(&o.activity)).collect();
    memo.queue_webhooks(p.org, unit.db(), events).await?;
    unit.commit().await?;
    memo.count_self_logged(p.org);
    // One re-read of the changed members' totals, however many activities each.
    let mut changed: Vec<Uuid> = outcomes.iter().filter(|o| !o.replayed).map(|o| o.activity.member_id).collect();
    changed.sort_unstable();
    changed.dedup();
    hot.refresh_members(p.org, &changed).await;
    let mut replayed = 0;
    for o in &outcomes {
        if o.replayed {
            replayed += 1;
        } else {
            queue::announce(bus, p.org, o, o.activity.points_cents);
        }
    }
    Ok(Ok(LoggedBatch { activities: outcomes.into_iter().map(|o| o.activity).collect(), replayed }))
}

/// Voids an activity: its points stop counting, the row stays with who, when and why. A rep
/// may void their own within 24 hours; a manager any in their teams. An activity already
/// voided is refused and returned as it is.
pub async fn void_activity(
    db: &DatabaseConnection,
    bus: &EventBus,
    logging: &LogCache,
    hot: &HotBoards,
    p: &Principal,
    cmd: VoidActivity,
) -> AppResult<Result<Voided, Refused<activity::Model>>> {
    let id = cmd.id;
    let reason = match parse_text("reason", Some(cmd.reason), 2000) {
        Ok(Some(r)) => r,
        Ok(None) => {
            return Ok(Err(Refused::new(FieldError::new("reason", "REQUIRED", "say why the activity is voided"))));
        }
        Err(e) => return Ok(Err(Refused::new(e))),
    };
    let now = Utc::now();
    let s = scores::settings(p.org, db).await?;
    let unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let a = store::find_activity(p.org, unit.db(), id).await?.ok_or(AppError::NotFound("activity"))?;
    let owner = org_store::find_member(p.org, unit.db(), a.member_id).await?.ok_or(AppError::NotFound("member"))?;
    let own_recent = a.member_id == p.member_id && now - a.created_at <= chrono::Duration::hours(24);
    if !own_recent {
        policy::may_void_others(p)?;
        p.reach(unit.db()).await?.require(owner.team_id, "this member")?;
    }
    if a.voided_at.is_some() {
        let e = FieldError::new("id", "ALREADY_VOIDED", "this activity is already voided");
        return Ok(Err(Refused { current: Some(a), errors: vec![e] }));
    }
    let (row, changed) = store::void_activity(p.org, unit.db(), id, p.member_id, reason).await?;
    unit.commit().await?;
    if changed {
        // The voided quantity no longer counts against the member's self-logging ceiling.
        if let (Some(kept), "SELF") = (logging.self_logged(), row.source.as_str()) {
            let key = (row.member_id, row.activity_type_id, row.local_date);
            kept.add(p.org, key, -i64::from(row.quantity.unwrap_or(0)));
        }
        let outcome = scores::LogOutcome { activity: row.clone(), replayed: false, team_id: owner.team_id };
        refresh_and_announce(hot, bus, p.org, &outcome, -row.points_cents).await;
    }
    Ok(Ok(Voided { activity: row, settings: s, now }))
}

/// After a commit: brings this instance's hot rankings up to date (read-your-writes), then
/// tells every subscriber (and the other instances).
async fn refresh_and_announce(
    hot: &HotBoards,
    bus: &EventBus,
    org: OrgId,
    outcome: &scores::LogOutcome,
    delta_cents: i64,
) {
    hot.refresh_member(org, outcome.activity.member_id).await;
    queue::announce(bus, org, outcome, delta_cents);
}

// ---------------------------------------------------------------- campaigns

/// Creates a campaign.
pub async fn create_campaign(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: CampaignDefinition,
) -> AppResult<Checked<campaign::Model>> {
    policy::may_configure(p)?;
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    match parse_campaign(p.org, unit.db(), cmd).await? {
        Err(errors) => Ok(Err(errors)),
        Ok(new) => {
            // The campaign and its links commit together.
            let c = store::create_campaign(p.org, unit.db(), new).await?;
            unit.publish(Event::RulesChanged { org: p.org.0 });
            unit.commit().await?;
            Ok(Ok(c))
        }
    }
}

/// Replaces a campaign's definition, only before it starts: points already awarded never move.
pub async fn update_campaign(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: UpdateCampaign,
) -> AppResult<Checked<campaign::Model>> {
    policy::may_configure(p)?;
    let id = cmd.id;
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let current = store::find_campaign(p.org, unit.db(), id).await?.ok_or(AppError::NotFound("campaign"))?;
    if current.starts_at <= Utc::now() || current.ended_at.is_some() {
        return Ok(Err(vec![FieldError::new("id", "STARTED", "a campaign can only be changed before it starts")]));
    }
    match parse_campaign(p.org, unit.db(), cmd.campaign).await? {
        Err(errors) => Ok(Err(errors)),
        Ok(new) => {
            let c = store::replace_campaign(p.org, unit.db(), id, new, cmd.version).await?;
            unit.publish(Event::RulesChanged { org: p.org.0 });
            unit.commit().await?;
            Ok(Ok(c))
        }
    }
}

/// Ends a campaign now: activities after this get no multiplier from it. A campaign that has
/// already ended is refused and returned as it is.
pub async fn end_campaign(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    id: Uuid,
) -> AppResult<Result<campaign::Model, Refused<campaign::Model>>> {
    policy::may_configure(p)?;
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let current = store::find_campaign(p.org, unit.db(), id).await?.ok_or(AppError::NotFound("campaign"))?;
    if store::campaign_rule(&current).status(Utc::now()) == CampaignStatus::Ended {
        let e = FieldError::new("id", "ENDED", "this campaign has already ended");
        return Ok(Err(Refused { current: Some(current), errors: vec![e] }));
    }
    let c = store::end_campaign(p.org, unit.db(), id).await?;
    unit.publish(Event::RulesChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(Ok(c))
}

async fn parse_campaign(
    org: OrgId,
    db: &impl sea_orm::ConnectionTrait,
    input: CampaignDefinition,
) -> AppResult<Checked<store::NewCampaign>> {
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
    for id in &input.activity_type_ids {
        store::find_activity_type(org, db, *id).await?.ok_or(AppError::NotFound("activity type"))?;
    }
    for id in &input.team_ids {
        org_store::find_team(org, db, *id).await?.ok_or(AppError::NotFound("team"))?;
    }
    match (name, multiplier) {
        (Some(name), Some(m)) if errors.is_empty() => Ok(Ok(store::NewCampaign {
            name,
            theme,
            reward,
            starts_at: input.starts_at,
            ends_at: input.ends_at,
            multiplier_cents: decimal_to_cents(m),
            activity_type_ids: input.activity_type_ids,
            team_ids: input.team_ids,
        })),
        _ => Ok(Err(errors)),
    }
}

// ---------------------------------------------------------------- points targets

/// Records a weekly points target: a sales role's default (admins) or a member's override
/// (admins; managers for their teams). History is kept.
pub async fn set_points_target(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: SetPointsTarget,
) -> AppResult<Checked<points_target::Model>> {
    let mut errors = Vec::new();
    let (member, sales_role) = match cmd.of {
        TargetOf::Unclear => {
            errors.push(FieldError::new("memberId", "INVALID", "give exactly one of memberId and salesRole"));
            (None, None)
        }
        TargetOf::Member(id) => {
            let m = org_store::find_member(p.org, db, id).await?.ok_or(AppError::NotFound("member"))?;
            policy::may_set_member_targets(p)?;
            p.reach(db).await?.require(m.team_id, "this member")?;
            (Some(m.id), None)
        }
        TargetOf::SalesRole(role) => {
            policy::may_configure(p)?;
            (None, Some(role))
        }
    };
    let weekly = model::parse_points("weeklyPoints", cmd.weekly_points).map_err(|e| errors.push(e)).ok();
    let reason = match parse_text("reason", Some(cmd.reason), 2000) {
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
        return Ok(Err(errors));
    };
    if let Some(from) = cmd.effective_from
        && let Err(e) = org_model::check_business_date("effectiveFrom", from)
    {
        errors.push(e);
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let s = scores::settings(p.org, db).await?;
    let new = store::NewTarget {
        sales_role,
        member_id: member,
        weekly_points_cents: decimal_to_cents(weekly),
        effective_from: cmd.effective_from.unwrap_or_else(|| model::local_date(Utc::now(), s.tz)),
        reason,
        set_by: p.member_id,
    };
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let t = store::insert_target(p.org, unit.db(), new).await?;
    unit.audit("pointsTarget.set", "PointsTarget", Some(t.id), None, snapshot(&t)).await?;
    unit.publish(Event::MembersChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(Ok(t))
}

// ---------------------------------------------------------------- helpers

/// A self-logging ceiling from an activity type input: per day or per activity.
fn parse_ceiling(value: i32, per_day: bool) -> Result<i32, FieldError> {
    if per_day {
        model::parse_self_ceiling("selfMaxQuantityPerDay", value, model::MAX_SELF_QUANTITY_PER_DAY)
    } else {
        model::parse_self_ceiling("selfMaxQuantityPerActivity", value, model::MAX_QUANTITY)
    }
}

/// A ceiling change: unchanged, back to the default (`Some(None)`), or a new value.
fn maybe_ceiling(value: Option<Option<i32>>, per_day: bool, errors: &mut Vec<FieldError>) -> Option<Option<i32>> {
    match value {
        None => None,
        Some(None) => Some(None),
        Some(Some(v)) => parse_ceiling(v, per_day).map_err(|e| errors.push(e)).ok().map(Some),
    }
}

fn parse_text(field: &str, raw: Option<String>, max: usize) -> Result<Option<String>, FieldError> {
    crate::core::field::parse_free_text(field, raw.as_deref(), max)
}

/// Whether an error is a uniqueness clash (a concurrent duplicate of an idempotency key).
fn is_duplicate(err: &AppError) -> bool {
    org_store::is_unique_violation(err)
}
