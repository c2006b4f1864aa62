//! Activities: logging (one, many, or many at once), idempotency keys, the per-day totals kept in
//! the same transaction, voiding, work item progress, and paging.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use entity::{activity, activity_day_total, work_item_progress};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect,
    Set,
};
use uuid::Uuid;

use crate::core::error::{AppError, AppResult};
use crate::core::ids::OrgId;
use crate::db::tenant;
use crate::graphql::keyset::{self, KeyKind, KeyValue, Keyset, Page, SortColumn};
use crate::graphql::relay::PageArgs;

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
    let rows: Vec<(Uuid, Uuid, NaiveDate, Option<i64>)> = tenant::scoped::<activity::Entity>(org)
        .select_only()
        .column(activity::Column::MemberId)
        .column(activity::Column::ActivityTypeId)
        .column(activity::Column::LocalDate)
        .column_as(Expr::cust("CAST(SUM(quantity) AS BIGINT)"), "total")
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
    Ok(tenant::scoped::<activity::Entity>(org)
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
        found.extend(tenant::from_raw_sql::<activity::Entity>(stmt).all(db).await?);
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
    Ok(tenant::scoped_by_id::<activity::Entity>(org, id).one(db).await?)
}

/// Several activities (DataLoader batch).
pub async fn activities_by_ids(org: OrgId, db: &impl ConnectionTrait, ids: &[Uuid]) -> AppResult<Vec<activity::Model>> {
    Ok(tenant::scoped::<activity::Entity>(org).filter(activity::Column::Id.is_in(ids.iter().copied())).all(db).await?)
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
    let result = tenant::scoped_update::<activity::Entity>(org)
        .col_expr(activity::Column::VoidedAt, Expr::value(Utc::now()))
        .col_expr(activity::Column::VoidedBy, Expr::value(by))
        .col_expr(activity::Column::VoidReason, Expr::value(reason))
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
    Ok(tenant::scoped::<work_item_progress::Entity>(org)
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

fn activity_condition(f: &ActivityFilter) -> Condition {
    let mut c = Condition::all();
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
    let select = tenant::scoped::<activity::Entity>(org).filter(activity_condition(f));
    let exprs = [activity::Column::OccurredAt.into_expr(), activity::Column::Id.into_expr()];
    keyset::fetch(db, select, &exprs, keyset, args).await
}
