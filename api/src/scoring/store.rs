//! Tenant-scoped reads and writes of the points engine. Logging an activity, its
//! per-day total and a work item's progress happen in the caller's transaction, so the
//! aggregates never disagree with the activities they sum.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use entity::{activity, activity_day_total, activity_type, campaign, points_target, work_item_progress};

use super::model::{ActivityCategory, ActivityUnit, CampaignRule, CampaignStatus};
use crate::db::set_if;
use crate::error::{AppError, AppResult};
use crate::graphql::keyset::{self, KeyKind, KeyValue, Keyset, Page, SortColumn};
use crate::graphql::relay::PageArgs;
use crate::org::model::{OrgId, SalesRole};

// ---------------------------------------------------------------- activity types

/// A new activity type.
#[derive(Debug, Clone)]
pub struct NewActivityType {
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// ACTION or RESULT.
    pub category: ActivityCategory,
    /// COUNT or PROGRESS.
    pub unit: ActivityUnit,
    /// Points per unit or per step, in hundredths.
    pub points_cents: i64,
    /// PROGRESS step size.
    pub step_percent: Option<i32>,
    /// KPI this type feeds.
    pub kpi_key: Option<String>,
    /// Ceiling on one self-logged activity's quantity (`None`: the default).
    pub self_max_quantity_per_activity: Option<i32>,
    /// Ceiling on a member's self-logged quantity per local day (`None`: the default).
    pub self_max_quantity_per_day: Option<i32>,
}

/// Inserts an activity type.
pub async fn create_activity_type(
    org: OrgId,
    db: &impl ConnectionTrait,
    new: NewActivityType,
) -> AppResult<activity_type::Model> {
    let now = Utc::now();
    Ok(activity_type::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        name: Set(new.name),
        description: Set(new.description),
        category: Set(new.category.as_str().to_owned()),
        unit: Set(new.unit.as_str().to_owned()),
        points_cents: Set(new.points_cents),
        step_percent: Set(new.step_percent),
        kpi_key: Set(new.kpi_key),
        self_max_quantity_per_activity: Set(new.self_max_quantity_per_activity),
        self_max_quantity_per_day: Set(new.self_max_quantity_per_day),
        active: Set(true),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?)
}

/// Changes to an activity type; `None` leaves a field.
#[derive(Debug, Clone, Default)]
pub struct ActivityTypePatch {
    /// Name.
    pub name: Option<String>,
    /// Description (`Some(None)` clears).
    pub description: Option<Option<String>>,
    /// Category.
    pub category: Option<ActivityCategory>,
    /// Points, in hundredths.
    pub points_cents: Option<i64>,
    /// Step size.
    pub step_percent: Option<i32>,
    /// KPI key (`Some(None)` clears).
    pub kpi_key: Option<Option<String>>,
    /// Active flag.
    pub active: Option<bool>,
    /// Self-logging ceiling per activity (`Some(None)`: back to the default).
    pub self_max_quantity_per_activity: Option<Option<i32>>,
    /// Self-logging ceiling per day (`Some(None)`: back to the default).
    pub self_max_quantity_per_day: Option<Option<i32>>,
}

/// Saves changes to an activity type of the tenant and bumps its version. With
/// `expected_version` the row must still be at that version (CONFLICT otherwise).
pub async fn update_activity_type(
    org: OrgId,
    db: &impl ConnectionTrait,
    id: Uuid,
    patch: ActivityTypePatch,
    expected_version: Option<i32>,
) -> AppResult<activity_type::Model> {
    let changes = activity_type::ActiveModel {
        name: set_if(patch.name),
        description: set_if(patch.description),
        category: set_if(patch.category.map(|c| c.as_str().to_owned())),
        points_cents: set_if(patch.points_cents),
        step_percent: set_if(patch.step_percent.map(Some)),
        kpi_key: set_if(patch.kpi_key),
        active: set_if(patch.active),
        self_max_quantity_per_activity: set_if(patch.self_max_quantity_per_activity),
        self_max_quantity_per_day: set_if(patch.self_max_quantity_per_day),
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    let mut update = activity_type::Entity::update_many()
        .set(changes)
        .col_expr(activity_type::Column::Version, Expr::col(activity_type::Column::Version).add(1))
        .filter(activity_type::Column::OrganizationId.eq(org.0))
        .filter(activity_type::Column::Id.eq(id));
    if let Some(v) = expected_version {
        update = update.filter(activity_type::Column::Version.eq(v));
    }
    if update.exec(db).await?.rows_affected == 0 {
        return Err(match (expected_version, find_activity_type(org, db, id).await?) {
            (Some(v), Some(current)) => AppError::stale_version("activity type", current.version, v),
            _ => AppError::NotFound("activity type"),
        });
    }
    find_activity_type(org, db, id).await?.ok_or(AppError::NotFound("activity type"))
}

/// One activity type of the tenant.
pub async fn find_activity_type(
    org: OrgId,
    db: &impl ConnectionTrait,
    id: Uuid,
) -> AppResult<Option<activity_type::Model>> {
    Ok(activity_type::Entity::find_by_id(id).filter(activity_type::Column::OrganizationId.eq(org.0)).one(db).await?)
}

/// Several activity types (DataLoader batch).
pub async fn activity_types_by_ids(
    org: OrgId,
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> AppResult<Vec<activity_type::Model>> {
    Ok(activity_type::Entity::find()
        .filter(activity_type::Column::OrganizationId.eq(org.0))
        .filter(activity_type::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}

fn activity_type_condition(org: OrgId, include_archived: bool) -> Condition {
    let mut c = Condition::all().add(activity_type::Column::OrganizationId.eq(org.0));
    if !include_archived {
        c = c.add(activity_type::Column::Active.eq(true));
    }
    c
}

/// Every activity type of the organization, archived ones included.
pub async fn all_activity_types(org: OrgId, db: &impl ConnectionTrait) -> AppResult<Vec<activity_type::Model>> {
    Ok(activity_type::Entity::find().filter(activity_type_condition(org, true)).all(db).await?)
}

fn type_key(t: &activity_type::Model) -> Vec<KeyValue> {
    vec![KeyValue::Text(t.name.clone()), KeyValue::Id(t.id)]
}

/// `activityTypes`, by name.
pub const ACTIVITY_TYPES: Keyset<activity_type::Model> = Keyset {
    connection: "activityTypes",
    order: "NAME",
    columns: &[SortColumn::asc(KeyKind::Text), SortColumn::asc(KeyKind::Id)],
    key: type_key,
};

/// A page of activity types, by name.
pub async fn page_activity_types(
    org: OrgId,
    db: &impl ConnectionTrait,
    include_archived: bool,
    args: &PageArgs,
) -> AppResult<Page<activity_type::Model>> {
    let select = activity_type::Entity::find().filter(activity_type_condition(org, include_archived));
    let exprs = [activity_type::Column::Name.into_expr(), activity_type::Column::Id.into_expr()];
    keyset::fetch(db, select, &exprs, &ACTIVITY_TYPES, args).await
}

// ---------------------------------------------------------------- campaigns

/// A new campaign.
#[derive(Debug, Clone)]
pub struct NewCampaign {
    /// Name.
    pub name: String,
    /// Theme text.
    pub theme: Option<String>,
    /// Reward text.
    pub reward: Option<String>,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End (exclusive).
    pub ends_at: DateTime<Utc>,
    /// Multiplier in hundredths.
    pub multiplier_cents: i64,
    /// Types it applies to; empty = all.
    pub activity_type_ids: Vec<Uuid>,
    /// Teams it applies to (with their sub-teams); empty = all.
    pub team_ids: Vec<Uuid>,
}

fn ids_json(ids: &[Uuid]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned())
}

/// The IDs stored in a JSON array column.
pub fn parse_ids(json: &str) -> Vec<Uuid> {
    serde_json::from_str(json).unwrap_or_default()
}

/// Inserts a campaign.
pub async fn create_campaign(org: OrgId, db: &impl ConnectionTrait, new: NewCampaign) -> AppResult<campaign::Model> {
    let now = Utc::now();
    Ok(campaign::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        name: Set(new.name),
        theme: Set(new.theme),
        reward: Set(new.reward),
        starts_at: Set(new.starts_at),
        ends_at: Set(new.ends_at),
        ended_at: Set(None),
        multiplier_cents: Set(new.multiplier_cents),
        activity_type_ids: Set(ids_json(&new.activity_type_ids)),
        team_ids: Set(ids_json(&new.team_ids)),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?)
}

/// Replaces a campaign's definition (the caller checked it has not started) and bumps its
/// version. With `expected_version` the row must still be at that version (CONFLICT otherwise).
pub async fn replace_campaign(
    org: OrgId,
    db: &impl ConnectionTrait,
    id: Uuid,
    new: NewCampaign,
    expected_version: Option<i32>,
) -> AppResult<campaign::Model> {
    let changes = campaign::ActiveModel {
        name: Set(new.name),
        theme: Set(new.theme),
        reward: Set(new.reward),
        starts_at: Set(new.starts_at),
        ends_at: Set(new.ends_at),
        multiplier_cents: Set(new.multiplier_cents),
        activity_type_ids: Set(ids_json(&new.activity_type_ids)),
        team_ids: Set(ids_json(&new.team_ids)),
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    let mut update = campaign::Entity::update_many()
        .set(changes)
        .col_expr(campaign::Column::Version, Expr::col(campaign::Column::Version).add(1))
        .filter(campaign::Column::OrganizationId.eq(org.0))
        .filter(campaign::Column::Id.eq(id));
    if let Some(v) = expected_version {
        update = update.filter(campaign::Column::Version.eq(v));
    }
    if update.exec(db).await?.rows_affected == 0 {
        return Err(match (expected_version, find_campaign(org, db, id).await?) {
            (Some(v), Some(current)) => AppError::stale_version("campaign", current.version, v),
            _ => AppError::NotFound("campaign"),
        });
    }
    find_campaign(org, db, id).await?.ok_or(AppError::NotFound("campaign"))
}

/// Ends a campaign now.
pub async fn end_campaign(org: OrgId, db: &impl ConnectionTrait, id: Uuid) -> AppResult<campaign::Model> {
    campaign::Entity::update_many()
        .col_expr(campaign::Column::EndedAt, Expr::value(Utc::now()))
        .col_expr(campaign::Column::UpdatedAt, Expr::value(Utc::now()))
        .col_expr(campaign::Column::Version, Expr::col(campaign::Column::Version).add(1))
        .filter(campaign::Column::OrganizationId.eq(org.0))
        .filter(campaign::Column::Id.eq(id))
        .exec(db)
        .await?;
    find_campaign(org, db, id).await?.ok_or(AppError::NotFound("campaign"))
}

/// One campaign of the tenant.
pub async fn find_campaign(org: OrgId, db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<campaign::Model>> {
    Ok(campaign::Entity::find_by_id(id).filter(campaign::Column::OrganizationId.eq(org.0)).one(db).await?)
}

/// Several campaigns (DataLoader batch).
pub async fn campaigns_by_ids(org: OrgId, db: &impl ConnectionTrait, ids: &[Uuid]) -> AppResult<Vec<campaign::Model>> {
    Ok(campaign::Entity::find()
        .filter(campaign::Column::OrganizationId.eq(org.0))
        .filter(campaign::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}

fn campaign_condition(org: OrgId, status: Option<CampaignStatus>, now: DateTime<Utc>) -> Condition {
    let mut c = Condition::all().add(campaign::Column::OrganizationId.eq(org.0));
    let not_ended = Condition::all()
        .add(campaign::Column::EndsAt.gt(now))
        .add(Condition::any().add(campaign::Column::EndedAt.is_null()).add(campaign::Column::EndedAt.gt(now)));
    match status {
        None => {}
        Some(CampaignStatus::Upcoming) => c = c.add(campaign::Column::StartsAt.gt(now)).add(not_ended),
        Some(CampaignStatus::Running) => c = c.add(campaign::Column::StartsAt.lte(now)).add(not_ended),
        Some(CampaignStatus::Ended) => c = c.add(not_ended.not()),
    }
    c
}

fn campaign_key(c: &campaign::Model) -> Vec<KeyValue> {
    vec![KeyValue::Time(c.starts_at), KeyValue::Id(c.id)]
}

/// `campaigns`, newest start first.
pub const CAMPAIGNS: Keyset<campaign::Model> = Keyset {
    connection: "campaigns",
    order: "STARTS_AT_DESC",
    columns: &[SortColumn::desc(KeyKind::Time), SortColumn::asc(KeyKind::Id)],
    key: campaign_key,
};

/// A page of campaigns with a status at `now`, newest start first.
pub async fn page_campaigns(
    org: OrgId,
    db: &impl ConnectionTrait,
    status: Option<CampaignStatus>,
    now: DateTime<Utc>,
    args: &PageArgs,
) -> AppResult<Page<campaign::Model>> {
    let select = campaign::Entity::find().filter(campaign_condition(org, status, now));
    let exprs = [campaign::Column::StartsAt.into_expr(), campaign::Column::Id.into_expr()];
    keyset::fetch(db, select, &exprs, &CAMPAIGNS, args).await
}

/// A campaign as the rule engine sees it.
pub fn campaign_rule(c: &campaign::Model) -> CampaignRule {
    CampaignRule {
        id: c.id,
        starts_at: c.starts_at,
        ends_at: c.ends_at,
        ended_at: c.ended_at,
        multiplier: super::cents_to_decimal(c.multiplier_cents),
        activity_type_ids: parse_ids(&c.activity_type_ids),
        team_ids: parse_ids(&c.team_ids),
    }
}

/// Campaigns whose window contains `at`.
pub async fn campaigns_at(org: OrgId, db: &impl ConnectionTrait, at: DateTime<Utc>) -> AppResult<Vec<CampaignRule>> {
    campaigns_between(org, db, at, at).await
}

/// The campaigns running at some instant of `[from, to]`: a superset for every instant in
/// it, which [`CampaignRule::applies`] narrows per activity.
pub async fn campaigns_between(
    org: OrgId,
    db: &impl ConnectionTrait,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Vec<CampaignRule>> {
    let rows = campaign::Entity::find()
        .filter(campaign::Column::OrganizationId.eq(org.0))
        .filter(campaign::Column::StartsAt.lte(to))
        .filter(campaign::Column::EndsAt.gt(from))
        .filter(Condition::any().add(campaign::Column::EndedAt.is_null()).add(campaign::Column::EndedAt.gt(from)))
        .all(db)
        .await?;
    Ok(rows.iter().map(campaign_rule).collect())
}

// ---------------------------------------------------------------- targets

/// A target to record.
#[derive(Debug, Clone)]
pub struct NewTarget {
    /// The sales role it is the default for…
    pub sales_role: Option<SalesRole>,
    /// …or the member it overrides for.
    pub member_id: Option<Uuid>,
    /// Weekly points, in hundredths.
    pub weekly_points_cents: i64,
    /// From which date.
    pub effective_from: NaiveDate,
    /// Why.
    pub reason: String,
    /// Who.
    pub set_by: Uuid,
}

/// Records a target (history is never rewritten).
pub async fn insert_target(org: OrgId, db: &impl ConnectionTrait, new: NewTarget) -> AppResult<points_target::Model> {
    Ok(points_target::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        sales_role: Set(new.sales_role.map(|r| r.as_str().to_owned())),
        member_id: Set(new.member_id),
        weekly_points_cents: Set(new.weekly_points_cents),
        effective_from: Set(new.effective_from),
        reason: Set(new.reason),
        set_by: Set(new.set_by),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?)
}

/// Every target row of the tenant, oldest first (the target book).
pub async fn all_targets(org: OrgId, db: &impl ConnectionTrait) -> AppResult<Vec<points_target::Model>> {
    Ok(points_target::Entity::find()
        .filter(points_target::Column::OrganizationId.eq(org.0))
        .order_by_asc(points_target::Column::EffectiveFrom)
        .order_by_asc(points_target::Column::CreatedAt)
        .all(db)
        .await?)
}

// ---------------------------------------------------------------- activities

/// An activity ready to store: points already computed by the rules.
#[derive(Debug, Clone)]
pub struct ActivityRow {
    /// For whom.
    pub member_id: Uuid,
    /// What.
    pub activity_type_id: Uuid,
    /// COUNT quantity.
    pub quantity: Option<i32>,
    /// PROGRESS cumulative percent.
    pub progress_percent: Option<i32>,
    /// PROGRESS work item.
    pub work_item_key: Option<String>,
    /// Before the multiplier, hundredths.
    pub base_points_cents: i64,
    /// Multiplier, hundredths.
    pub multiplier_cents: i64,
    /// Awarded, hundredths.
    pub points_cents: i64,
    /// Campaign that set the multiplier.
    pub campaign_id: Option<Uuid>,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Its local day.
    pub local_date: NaiveDate,
    /// Related deal.
    pub deal_id: Option<Uuid>,
    /// Note.
    pub note: Option<String>,
    /// SELF | MANAGER | INTEGRATION.
    pub source: &'static str,
    /// Who logged it.
    pub logged_by: Uuid,
    /// Retry key.
    pub idempotency_key: Option<String>,
}

/// Self-logged quantity so far per (member, activity type, local day), for the given ones:
/// what members logged for themselves (source SELF), voided activities not counted. One query
/// for a whole batch; the time range keeps it on the (organization, member, time) index.
pub async fn self_logged_quantities(
    org: OrgId,
    db: &impl ConnectionTrait,
    keys: &[(Uuid, Uuid, NaiveDate)],
) -> AppResult<HashMap<(Uuid, Uuid, NaiveDate), i64>> {
    let (Some(first), Some(last)) = (keys.iter().map(|k| k.2).min(), keys.iter().map(|k| k.2).max()) else {
        return Ok(HashMap::new());
    };
    // A local day lies within a day either side of the same UTC date, whatever the time zone.
    let from = (first - chrono::Duration::days(1)).and_time(chrono::NaiveTime::MIN).and_utc();
    let to = (last + chrono::Duration::days(2)).and_time(chrono::NaiveTime::MIN).and_utc();
    let ids = |pick: fn(&(Uuid, Uuid, NaiveDate)) -> Uuid| {
        let mut v: Vec<Uuid> = keys.iter().map(pick).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let rows: Vec<(Uuid, Uuid, NaiveDate, Option<i64>)> = activity::Entity::find()
        .select_only()
        .column(activity::Column::MemberId)
        .column(activity::Column::ActivityTypeId)
        .column(activity::Column::LocalDate)
        .column_as(Expr::cust("CAST(SUM(quantity) AS BIGINT)"), "total")
        .filter(activity::Column::OrganizationId.eq(org.0))
        .filter(activity::Column::MemberId.is_in(ids(|k| k.0)))
        .filter(activity::Column::ActivityTypeId.is_in(ids(|k| k.1)))
        .filter(activity::Column::OccurredAt.gte(from))
        .filter(activity::Column::OccurredAt.lt(to))
        .filter(activity::Column::Source.eq("SELF"))
        .filter(activity::Column::VoidedAt.is_null())
        .group_by(activity::Column::MemberId)
        .group_by(activity::Column::ActivityTypeId)
        .group_by(activity::Column::LocalDate)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(m, t, d, total)| ((m, t, d), total.unwrap_or(0))).collect())
}

/// The activity stored earlier under a member's idempotency key.
pub async fn find_by_idempotency_key(
    org: OrgId,
    db: &impl ConnectionTrait,
    member: Uuid,
    key: &str,
) -> AppResult<Option<activity::Model>> {
    Ok(activity::Entity::find()
        .filter(activity::Column::OrganizationId.eq(org.0))
        .filter(activity::Column::MemberId.eq(member))
        .filter(activity::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?)
}

/// The row an activity becomes (a new ID, not yet stored). Times are cut to microseconds, as
/// PostgreSQL keeps them, so a batch's in-memory rows equal what a later read returns.
pub fn new_activity(org: OrgId, row: ActivityRow, now: DateTime<Utc>) -> activity::Model {
    use chrono::SubsecRound as _;
    activity::Model {
        id: Uuid::now_v7(),
        organization_id: org.0,
        member_id: row.member_id,
        activity_type_id: row.activity_type_id,
        quantity: row.quantity,
        progress_percent: row.progress_percent,
        work_item_key: row.work_item_key,
        base_points_cents: row.base_points_cents,
        multiplier_cents: row.multiplier_cents,
        points_cents: row.points_cents,
        campaign_id: row.campaign_id,
        occurred_at: row.occurred_at.trunc_subsecs(6),
        local_date: row.local_date,
        deal_id: row.deal_id,
        note: row.note,
        source: row.source.to_owned(),
        logged_by: row.logged_by,
        idempotency_key: row.idempotency_key,
        voided_at: None,
        voided_by: None,
        void_reason: None,
        created_at: now.trunc_subsecs(6),
    }
}

/// Stores an activity and adds it to its day total.
pub async fn insert_activity(org: OrgId, db: &impl ConnectionTrait, row: ActivityRow) -> AppResult<activity::Model> {
    let model = new_activity(org, row, Utc::now()).into_active_model().insert(db).await?;
    add_to_day_totals(
        org,
        db,
        &[((model.member_id, model.activity_type_id, model.local_date), (model.points_cents, 1))],
    )
    .await?;
    Ok(model)
}

/// Rows per multi-row INSERT: 23 columns each stays far below SQLite's 32,766 bound parameters.
const INSERT_CHUNK: usize = 250;

/// Stores activities built by [`new_activity`] (all of `org`) with a few multi-row statements,
/// and adds them to their day totals with one upsert per distinct (member, type, day).
pub async fn insert_activities(org: OrgId, db: &impl ConnectionTrait, rows: &[activity::Model]) -> AppResult<()> {
    for chunk in rows.chunks(INSERT_CHUNK) {
        activity::Entity::insert_many(chunk.iter().cloned().map(IntoActiveModel::into_active_model))
            .exec_without_returning(db)
            .await?;
    }
    let mut days: BTreeMap<(Uuid, Uuid, NaiveDate), (i64, i64)> = BTreeMap::new();
    for a in rows {
        let total = days.entry((a.member_id, a.activity_type_id, a.local_date)).or_default();
        total.0 += a.points_cents;
        total.1 += 1;
    }
    let totals: Vec<DayTotalChange> = days.into_iter().collect();
    add_to_day_totals(org, db, &totals).await
}

/// Most activities [`insert_activities_at_once`] takes in one statement.
pub const AT_ONCE_MOST: usize = 2_000;

/// The columns [`insert_activities_at_once`] writes, as named in its JSON rows.
const AT_ONCE_COLUMNS: &str = "id, organization_id, member_id, activity_type_id, quantity, progress_percent, \
     work_item_key, base_points_cents, multiplier_cents, points_cents, campaign_id, occurred_at, local_date, \
     deal_id, note, source, logged_by, idempotency_key, voided_at, voided_by, void_reason, created_at";

/// PostgreSQL only: stores activities built by [`new_activity`] (all of `org`, at most
/// [`AT_ONCE_MOST`]) and adds them to their day totals in ONE statement, which commits on its
/// own: no BEGIN, no COMMIT, one round trip. An activity whose (member, idempotency key) is
/// already stored is skipped (that request is a replay of the stored one); the IDs of the
/// activities stored come back.
///
/// The rows travel as one JSON parameter read by `json_populate_recordset` (typed by the
/// `activities` row type), so the statement text is the same for any number of rows:
/// PostgreSQL parses and plans it once per connection, where a VALUES list of N rows was a
/// new statement (and a new custom plan of 22 × N parameters) for every batch size.
///
/// Rows are inserted in (member, key) order and day totals upserted in (member, type, day)
/// order, so two such statements running at once wait for each other instead of deadlocking.
pub async fn insert_activities_at_once(
    org: OrgId,
    db: &impl ConnectionTrait,
    rows: &[activity::Model],
) -> AppResult<std::collections::HashSet<Uuid>> {
    if rows.is_empty() {
        return Ok(Default::default());
    }
    if rows.len() > AT_ONCE_MOST {
        return Err(AppError::Internal(anyhow::anyhow!("{} activities exceed one statement", rows.len())));
    }
    let mut sorted: Vec<&activity::Model> = rows.iter().collect();
    sorted.sort_by(|a, b| (a.member_id, &a.idempotency_key, a.id).cmp(&(b.member_id, &b.idempotency_key, b.id)));
    let json = serde_json::Value::Array(sorted.into_iter().map(activity_json).collect()).to_string();
    let sql = format!(
        "WITH stored AS (\
         INSERT INTO activities ({AT_ONCE_COLUMNS}) \
         SELECT {AT_ONCE_COLUMNS} FROM json_populate_recordset(NULL::activities, $1::json) WITH ORDINALITY AS r \
         ORDER BY r.ordinality \
         ON CONFLICT (organization_id, member_id, idempotency_key) DO NOTHING \
         RETURNING id, member_id, activity_type_id, local_date, points_cents), totals AS (\
         INSERT INTO activity_day_totals \
         (id, organization_id, member_id, activity_type_id, day, points_cents, activity_count) \
         SELECT gen_random_uuid(), $2::uuid, member_id, activity_type_id, local_date, \
         SUM(points_cents), COUNT(*) FROM stored GROUP BY member_id, activity_type_id, local_date \
         ORDER BY member_id, activity_type_id, local_date \
         ON CONFLICT (organization_id, member_id, activity_type_id, day) DO UPDATE SET \
         points_cents = activity_day_totals.points_cents + excluded.points_cents, \
         activity_count = activity_day_totals.activity_count + excluded.activity_count) \
         SELECT id FROM stored"
    );
    let stmt = sea_orm::Statement::from_sql_and_values(sea_orm::DbBackend::Postgres, sql, [json.into(), org.0.into()]);
    let mut stored = std::collections::HashSet::with_capacity(rows.len());
    for row in db.query_all_raw(stmt).await? {
        stored.insert(row.try_get::<Uuid>("", "id")?);
    }
    Ok(stored)
}

/// One activity as a JSON object keyed by column, for `json_populate_recordset`. Times are
/// written to the microsecond, truncated, as PostgreSQL stores them from a bound value.
fn activity_json(a: &activity::Model) -> serde_json::Value {
    let time = |t: &DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    serde_json::json!({
        "id": a.id,
        "organization_id": a.organization_id,
        "member_id": a.member_id,
        "activity_type_id": a.activity_type_id,
        "quantity": a.quantity,
        "progress_percent": a.progress_percent,
        "work_item_key": a.work_item_key,
        "base_points_cents": a.base_points_cents,
        "multiplier_cents": a.multiplier_cents,
        "points_cents": a.points_cents,
        "campaign_id": a.campaign_id,
        "occurred_at": time(&a.occurred_at),
        "local_date": a.local_date,
        "deal_id": a.deal_id,
        "note": a.note,
        "source": a.source,
        "logged_by": a.logged_by,
        "idempotency_key": a.idempotency_key,
        "voided_at": a.voided_at.as_ref().map(time),
        "voided_by": a.voided_by,
        "void_reason": a.void_reason,
        "created_at": time(&a.created_at),
    })
}

/// Activities stored under these (member, idempotency key) pairs. The pairs are joined as a
/// VALUES list, so PostgreSQL probes the (organization, member, key) index once per pair
/// (two IN lists would probe every member with every key: 256 probes for a batch of 16).
pub async fn find_by_idempotency_keys(
    org: OrgId,
    db: &impl ConnectionTrait,
    pairs: &[(Uuid, String)],
) -> AppResult<Vec<activity::Model>> {
    use std::fmt::Write as _;
    let backend = db.get_database_backend();
    let postgres = backend == sea_orm::DbBackend::Postgres;
    let mut found = Vec::new();
    for chunk in pairs.chunks(INSERT_CHUNK) {
        // Parameters in order of appearance (SQLite numbers `?` that way): the pairs, then the
        // organization.
        let mut values: Vec<sea_orm::Value> = Vec::with_capacity(chunk.len() * 2 + 1);
        let mut rows = String::with_capacity(chunk.len() * 24);
        for (i, (member, key)) in chunk.iter().enumerate() {
            values.push((*member).into());
            values.push(key.clone().into());
            let separator = if i > 0 { ", " } else { "" };
            let _ = match postgres {
                true => write!(rows, "{separator}(${}::uuid, ${}::text)", 2 * i + 1, 2 * i + 2),
                false => write!(rows, "{separator}(?, ?)"),
            };
        }
        values.push(org.0.into());
        let org_param = if postgres { format!("${}", values.len()) } else { "?".to_owned() };
        let sql = format!(
            "SELECT a.* FROM activities a JOIN (VALUES {rows}) AS k ON a.member_id = k.column1 \
             AND a.idempotency_key = k.column2 WHERE a.organization_id = {org_param}"
        );
        let stmt = sea_orm::Statement::from_sql_and_values(backend, sql, values);
        found.extend(activity::Entity::find().from_raw_sql(stmt).all(db).await?);
    }
    Ok(found)
}

/// Adding to an existing day total instead of failing on it.
fn day_total_upsert() -> OnConflict {
    OnConflict::columns([
        activity_day_total::Column::OrganizationId,
        activity_day_total::Column::MemberId,
        activity_day_total::Column::ActivityTypeId,
        activity_day_total::Column::Day,
    ])
    .value(
        activity_day_total::Column::PointsCents,
        Expr::cust("activity_day_totals.points_cents + excluded.points_cents"),
    )
    .value(
        activity_day_total::Column::ActivityCount,
        Expr::cust("activity_day_totals.activity_count + excluded.activity_count"),
    )
    .to_owned()
}

/// A change to one day total: (member, activity type, day) → (points in hundredths, count).
type DayTotalChange = ((Uuid, Uuid, NaiveDate), (i64, i64));

/// Adds to day totals (creating the rows that do not exist yet), a multi-row upsert per
/// [`INSERT_CHUNK`] changes; each (member, type, day) must appear once.
async fn add_to_day_totals(org: OrgId, db: &impl ConnectionTrait, changes: &[DayTotalChange]) -> AppResult<()> {
    for chunk in changes.chunks(INSERT_CHUNK) {
        let rows =
            chunk.iter().map(|((member, activity_type, day), (points, count))| activity_day_total::ActiveModel {
                id: Set(Uuid::now_v7()),
                organization_id: Set(org.0),
                member_id: Set(*member),
                activity_type_id: Set(*activity_type),
                day: Set(*day),
                points_cents: Set(*points),
                activity_count: Set(*count),
            });
        activity_day_total::Entity::insert_many(rows)
            .on_conflict(day_total_upsert())
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// One activity of the tenant.
pub async fn find_activity(org: OrgId, db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<activity::Model>> {
    Ok(activity::Entity::find_by_id(id).filter(activity::Column::OrganizationId.eq(org.0)).one(db).await?)
}

/// Several activities (DataLoader batch).
pub async fn activities_by_ids(org: OrgId, db: &impl ConnectionTrait, ids: &[Uuid]) -> AppResult<Vec<activity::Model>> {
    Ok(activity::Entity::find()
        .filter(activity::Column::OrganizationId.eq(org.0))
        .filter(activity::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}

/// Voids an activity (if not voided yet) and takes its points out of the day total.
/// Returns the updated row and whether this call voided it.
pub async fn void_activity(
    org: OrgId,
    db: &impl ConnectionTrait,
    id: Uuid,
    by: Uuid,
    reason: String,
) -> AppResult<(activity::Model, bool)> {
    let result = activity::Entity::update_many()
        .col_expr(activity::Column::VoidedAt, Expr::value(Utc::now()))
        .col_expr(activity::Column::VoidedBy, Expr::value(by))
        .col_expr(activity::Column::VoidReason, Expr::value(reason))
        .filter(activity::Column::OrganizationId.eq(org.0))
        .filter(activity::Column::Id.eq(id))
        .filter(activity::Column::VoidedAt.is_null())
        .exec(db)
        .await?;
    let row = find_activity(org, db, id).await?.ok_or(AppError::NotFound("activity"))?;
    if result.rows_affected == 1 {
        add_to_day_totals(org, db, &[((row.member_id, row.activity_type_id, row.local_date), (-row.points_cents, -1))])
            .await?;
    }
    Ok((row, result.rows_affected == 1))
}

/// The cumulative percent reached on a work item.
pub async fn work_item_percent(
    org: OrgId,
    db: &impl ConnectionTrait,
    member: Uuid,
    activity_type: Uuid,
    key: &str,
) -> AppResult<i32> {
    Ok(work_item_progress::Entity::find()
        .filter(work_item_progress::Column::OrganizationId.eq(org.0))
        .filter(work_item_progress::Column::MemberId.eq(member))
        .filter(work_item_progress::Column::ActivityTypeId.eq(activity_type))
        .filter(work_item_progress::Column::WorkItemKey.eq(key))
        .one(db)
        .await?
        .map_or(0, |w| w.percent))
}

/// Creates a work item's row at 0 % unless it exists (a concurrent insert of the same item
/// waits for the other transaction and then does nothing).
pub async fn ensure_work_item(
    org: OrgId,
    db: &impl ConnectionTrait,
    member: Uuid,
    activity_type: Uuid,
    key: &str,
) -> AppResult<()> {
    upsert_work_item(org, db, member, activity_type, key, 0, false).await
}

/// Records a work item's new cumulative percent.
pub async fn set_work_item_percent(
    org: OrgId,
    db: &impl ConnectionTrait,
    member: Uuid,
    activity_type: Uuid,
    key: &str,
    percent: i32,
) -> AppResult<()> {
    upsert_work_item(org, db, member, activity_type, key, percent, true).await
}

/// Inserts a work item's row; an existing one gets `percent` when `overwrite`, else stays.
async fn upsert_work_item(
    org: OrgId,
    db: &impl ConnectionTrait,
    member: Uuid,
    activity_type: Uuid,
    key: &str,
    percent: i32,
    overwrite: bool,
) -> AppResult<()> {
    let row = work_item_progress::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        member_id: Set(member),
        activity_type_id: Set(activity_type),
        work_item_key: Set(key.to_owned()),
        percent: Set(percent),
        updated_at: Set(Utc::now()),
    };
    let mut conflict = OnConflict::columns([
        work_item_progress::Column::OrganizationId,
        work_item_progress::Column::MemberId,
        work_item_progress::Column::ActivityTypeId,
        work_item_progress::Column::WorkItemKey,
    ]);
    if overwrite {
        conflict.update_columns([work_item_progress::Column::Percent, work_item_progress::Column::UpdatedAt]);
    } else {
        conflict.do_nothing();
    }
    work_item_progress::Entity::insert(row).on_conflict(conflict).exec_without_returning(db).await?;
    Ok(())
}

/// Filter for [`list_activities`].
#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    /// Only these members.
    pub member_ids: Option<Vec<Uuid>>,
    /// Only this type.
    pub activity_type_id: Option<Uuid>,
    /// From (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// To (exclusive).
    pub to: Option<DateTime<Utc>>,
    /// Only voided (true) or only counting (false).
    pub voided: Option<bool>,
}

fn activity_condition(org: OrgId, f: &ActivityFilter) -> Condition {
    let mut c = Condition::all().add(activity::Column::OrganizationId.eq(org.0));
    if let Some(ids) = &f.member_ids {
        c = c.add(activity::Column::MemberId.is_in(ids.iter().copied()));
    }
    if let Some(t) = f.activity_type_id {
        c = c.add(activity::Column::ActivityTypeId.eq(t));
    }
    if let Some(from) = f.from {
        c = c.add(activity::Column::OccurredAt.gte(from));
    }
    if let Some(to) = f.to {
        c = c.add(activity::Column::OccurredAt.lt(to));
    }
    match f.voided {
        Some(true) => c = c.add(activity::Column::VoidedAt.is_not_null()),
        Some(false) => c = c.add(activity::Column::VoidedAt.is_null()),
        None => {}
    }
    c
}

fn activity_key(a: &activity::Model) -> Vec<KeyValue> {
    vec![KeyValue::Time(a.occurred_at), KeyValue::Id(a.id)]
}

const NEWEST_FIRST: &[SortColumn] = &[SortColumn::desc(KeyKind::Time), SortColumn::desc(KeyKind::Id)];

/// `activities`, newest first (`occurredAt` does not change: corrections are voids).
pub const ACTIVITIES: Keyset<activity::Model> =
    Keyset { connection: "activities", order: "OCCURRED_AT_DESC", columns: NEWEST_FIRST, key: activity_key };
/// `Member.activities`, newest first.
pub const MEMBER_ACTIVITIES: Keyset<activity::Model> =
    Keyset { connection: "Member.activities", order: "OCCURRED_AT_DESC", columns: NEWEST_FIRST, key: activity_key };

/// A page of activities, newest first, for the connection `keyset` names.
pub async fn page_activities(
    org: OrgId,
    db: &impl ConnectionTrait,
    f: &ActivityFilter,
    keyset: &Keyset<activity::Model>,
    args: &PageArgs,
) -> AppResult<Page<activity::Model>> {
    let select = activity::Entity::find().filter(activity_condition(org, f));
    let exprs = [activity::Column::OccurredAt.into_expr(), activity::Column::Id.into_expr()];
    keyset::fetch(db, select, &exprs, keyset, args).await
}

// ---------------------------------------------------------------- aggregates

/// Points (hundredths) and counts per member over local days `[from, to)`, from the day totals.
pub async fn member_totals(
    org: OrgId,
    db: &impl ConnectionTrait,
    members: Option<&[Uuid]>,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<HashMap<Uuid, (i64, i64)>> {
    let mut q = activity_day_total::Entity::find()
        .select_only()
        .column(activity_day_total::Column::MemberId)
        .column_as(Expr::cust("CAST(SUM(points_cents) AS BIGINT)"), "points")
        .column_as(Expr::cust("CAST(SUM(activity_count) AS BIGINT)"), "n")
        .filter(activity_day_total::Column::OrganizationId.eq(org.0))
        .filter(activity_day_total::Column::Day.gte(from))
        .filter(activity_day_total::Column::Day.lt(to))
        .group_by(activity_day_total::Column::MemberId);
    if let Some(ids) = members {
        q = q.filter(activity_day_total::Column::MemberId.is_in(ids.iter().copied()));
    }
    let rows: Vec<(Uuid, i64, i64)> = q.into_tuple().all(db).await?;
    Ok(rows.into_iter().map(|(m, p, n)| (m, (p, n))).collect())
}

/// Points and counts per activity type for some members over local days `[from, to)`.
pub async fn type_totals(
    org: OrgId,
    db: &impl ConnectionTrait,
    members: &[Uuid],
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Vec<(Uuid, i64, i64)>> {
    Ok(activity_day_total::Entity::find()
        .select_only()
        .column(activity_day_total::Column::ActivityTypeId)
        .column_as(Expr::cust("CAST(SUM(points_cents) AS BIGINT)"), "points")
        .column_as(Expr::cust("CAST(SUM(activity_count) AS BIGINT)"), "n")
        .filter(activity_day_total::Column::OrganizationId.eq(org.0))
        .filter(activity_day_total::Column::MemberId.is_in(members.iter().copied()))
        .filter(activity_day_total::Column::Day.gte(from))
        .filter(activity_day_total::Column::Day.lt(to))
        .group_by(activity_day_total::Column::ActivityTypeId)
        .into_tuple()
        .all(db)
        .await?)
}

/// Points per local day for one member over `[from, to)` (days without points are absent).
pub async fn member_daily_points(
    org: OrgId,
    db: &impl ConnectionTrait,
    member: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Vec<(NaiveDate, i64)>> {
    Ok(activity_day_total::Entity::find()
        .select_only()
        .column(activity_day_total::Column::Day)
        .column_as(Expr::cust("CAST(SUM(points_cents) AS BIGINT)"), "points")
        .filter(activity_day_total::Column::OrganizationId.eq(org.0))
        .filter(activity_day_total::Column::MemberId.eq(member))
        .filter(activity_day_total::Column::Day.gte(from))
        .filter(activity_day_total::Column::Day.lt(to))
        .group_by(activity_day_total::Column::Day)
        .into_tuple()
        .all(db)
        .await?)
}

/// Points and counts per member inside an exact window (a campaign's), from the activities.
pub async fn member_totals_in_window(
    org: OrgId,
    db: &impl ConnectionTrait,
    members: Option<&[Uuid]>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<HashMap<Uuid, (i64, i64)>> {
    let mut q = activity::Entity::find()
        .select_only()
        .column(activity::Column::MemberId)
        .column_as(Expr::cust("CAST(SUM(points_cents) AS BIGINT)"), "points")
        .column_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "n")
        .filter(activity::Column::OrganizationId.eq(org.0))
        .filter(activity::Column::VoidedAt.is_null())
        .filter(activity::Column::OccurredAt.gte(from))
        .filter(activity::Column::OccurredAt.lt(to))
        .group_by(activity::Column::MemberId);
    if let Some(ids) = members {
        q = q.filter(activity::Column::MemberId.is_in(ids.iter().copied()));
    }
    let rows: Vec<(Uuid, i64, i64)> = q.into_tuple().all(db).await?;
    Ok(rows.into_iter().map(|(m, p, n)| (m, (p, n))).collect())
}

/// Points and counts per type inside an exact window, from the activities.
pub async fn type_totals_in_window(
    org: OrgId,
    db: &impl ConnectionTrait,
    members: &[Uuid],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Vec<(Uuid, i64, i64)>> {
    Ok(activity::Entity::find()
        .select_only()
        .column(activity::Column::ActivityTypeId)
        .column_as(Expr::cust("CAST(SUM(points_cents) AS BIGINT)"), "points")
        .column_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "n")
        .filter(activity::Column::OrganizationId.eq(org.0))
        .filter(activity::Column::MemberId.is_in(members.iter().copied()))
        .filter(activity::Column::VoidedAt.is_null())
        .filter(activity::Column::OccurredAt.gte(from))
        .filter(activity::Column::OccurredAt.lt(to))
        .group_by(activity::Column::ActivityTypeId)
        .into_tuple()
        .all(db)
        .await?)
}
