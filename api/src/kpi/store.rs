//! Tenant-scoped reads and writes of KPIs: custom definitions, weekly targets, self-reported
//! values, week locks, and the facts (deals, stage history, activity totals) KPIs are computed from.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;

use entity::{activity, deal, deal_stage_history, kpi, kpi_report, kpi_target, kpi_week_lock};

use super::model::{KpiDirection, KpiKind, KpiUnit};
use crate::core::error::{AppError, AppResult};
use crate::core::ids::OrgId;
use crate::core::roles::SalesRole;
use crate::db::tenant;

/// A new custom KPI.
#[derive(Debug, Clone)]
pub struct NewKpi {
    /// snake_case key.
    pub key: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Kind.
    pub kind: KpiKind,
    /// Unit.
    pub unit: KpiUnit,
    /// Direction.
    pub direction: KpiDirection,
    /// ACTIVITY_COUNT/SUM: the activity types.
    pub activity_type_ids: Vec<Uuid>,
    /// RATIO: numerator KPI key.
    pub numerator_key: Option<String>,
    /// RATIO: denominator KPI key.
    pub denominator_key: Option<String>,
}

/// Inserts a custom KPI.
pub async fn create_kpi(org: OrgId, db: &impl ConnectionTrait, new: NewKpi) -> AppResult<kpi::Model> {
    let now = Utc::now();
    Ok(kpi::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        key: Set(new.key),
        name: Set(new.name),
        description: Set(new.description),
        kind: Set(new.kind.as_str().to_owned()),
        unit: Set(new.unit.as_str().to_owned()),
        direction: Set(new.direction.as_str().to_owned()),
        activity_type_ids: Set(serde_json::to_string(&new.activity_type_ids).unwrap_or_else(|_| "[]".into())),
        numerator_key: Set(new.numerator_key),
        denominator_key: Set(new.denominator_key),
        active: Set(true),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?)
}

/// Every custom KPI of the tenant (archived ones too), by key.
pub async fn custom_kpis(org: OrgId, db: &impl ConnectionTrait) -> AppResult<Vec<kpi::Model>> {
    Ok(tenant::scoped::<kpi::Entity>(org).order_by_asc(kpi::Column::Key).all(db).await?)
}

/// One custom KPI by key.
pub async fn find_kpi(org: OrgId, db: &impl ConnectionTrait, key: &str) -> AppResult<Option<kpi::Model>> {
    Ok(tenant::scoped::<kpi::Entity>(org).filter(kpi::Column::Key.eq(key)).one(db).await?)
}

/// Renames, re-describes or (de)activates a custom KPI and bumps its version. With
/// `expected_version` the row must still be at that version (CONFLICT otherwise).
pub async fn update_kpi(
    org: OrgId,
    db: &impl ConnectionTrait,
    key: &str,
    name: Option<String>,
    description: Option<Option<String>>,
    active: Option<bool>,
    expected_version: Option<i32>,
) -> AppResult<kpi::Model> {
    let mut q = tenant::versioned_update::<kpi::Entity>(org, expected_version)
        .col_expr(kpi::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(kpi::Column::Key.eq(key));
    if let Some(n) = name {
        q = q.col_expr(kpi::Column::Name, Expr::value(n));
    }
    if let Some(d) = description {
        q = q.col_expr(kpi::Column::Description, Expr::value(d));
    }
    if let Some(a) = active {
        q = q.col_expr(kpi::Column::Active, Expr::value(a));
    }
    if q.exec(db).await?.rows_affected == 0 {
        return Err(match (expected_version, find_kpi(org, db, key).await?) {
            (Some(v), Some(current)) => AppError::stale_version("KPI", current.version, v),
            _ => AppError::NotFound("KPI"),
        });
    }
    find_kpi(org, db, key).await?.ok_or(AppError::NotFound("KPI"))
}

/// A KPI target to record.
#[derive(Debug, Clone)]
pub struct NewKpiTarget {
    /// The KPI.
    pub kpi_key: String,
    /// The sales role it is the default for…
    pub sales_role: Option<SalesRole>,
    /// …or the member it overrides for.
    pub member_id: Option<Uuid>,
    /// Per week.
    pub per_week: rust_decimal::Decimal,
    /// From which date.
    pub effective_from: NaiveDate,
    /// Why.
    pub reason: String,
    /// Who.
    pub set_by: Uuid,
}

/// Records a KPI target (history is never rewritten).
pub async fn insert_target(org: OrgId, db: &impl ConnectionTrait, new: NewKpiTarget) -> AppResult<kpi_target::Model> {
    Ok(kpi_target::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        kpi_key: Set(new.kpi_key),
        sales_role: Set(new.sales_role.map(|r| r.as_str().to_owned())),
        member_id: Set(new.member_id),
        per_week: Set(new.per_week.to_string()),
        effective_from: Set(new.effective_from),
        reason: Set(new.reason),
        set_by: Set(new.set_by),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?)
}

/// Every KPI target of the tenant, in recording order.
pub async fn all_targets(org: OrgId, db: &impl ConnectionTrait) -> AppResult<Vec<kpi_target::Model>> {
    Ok(tenant::scoped::<kpi_target::Entity>(org)
        .order_by_asc(kpi_target::Column::CreatedAt)
        .order_by_asc(kpi_target::Column::Id)
        .all(db)
        .await?)
}

/// Records a self-reported value (a new row; the latest counts).
pub async fn insert_report(
    org: OrgId,
    db: &impl ConnectionTrait,
    kpi_key: &str,
    member: Uuid,
    week: NaiveDate,
    value: rust_decimal::Decimal,
    by: Uuid,
) -> AppResult<kpi_report::Model> {
    Ok(kpi_report::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        kpi_key: Set(kpi_key.to_owned()),
        member_id: Set(member),
        week: Set(week),
        value: Set(value.to_string()),
        reported_by: Set(by),
        reported_at: Set(Utc::now()),
    }
    .insert(db)
    .await?)
}

/// Self-reported rows of some members in `[from, to)` weeks, oldest first.
pub async fn reports(
    org: OrgId,
    db: &impl ConnectionTrait,
    members: &[Uuid],
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Vec<kpi_report::Model>> {
    Ok(tenant::scoped::<kpi_report::Entity>(org)
        .filter(kpi_report::Column::MemberId.is_in(members.iter().copied()))
        .filter(kpi_report::Column::Week.gte(from))
        .filter(kpi_report::Column::Week.lt(to))
        .order_by_asc(kpi_report::Column::ReportedAt)
        .order_by_asc(kpi_report::Column::Id)
        .all(db)
        .await?)
}

/// Locks a team's week (again is a no-op).
pub async fn lock_week(org: OrgId, db: &impl ConnectionTrait, team: Uuid, week: NaiveDate, by: Uuid) -> AppResult<()> {
    kpi_week_lock::Entity::insert(kpi_week_lock::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        team_id: Set(team),
        week: Set(week),
        locked_by: Set(by),
        locked_at: Set(Utc::now()),
    })
    .on_conflict_do_nothing_on([
        kpi_week_lock::Column::OrganizationId,
        kpi_week_lock::Column::TeamId,
        kpi_week_lock::Column::Week,
    ])
    .exec(db)
    .await?;
    Ok(())
}

/// Whether any of these teams has locked the week.
pub async fn week_locked(org: OrgId, db: &impl ConnectionTrait, teams: &[Uuid], week: NaiveDate) -> AppResult<bool> {
    Ok(tenant::scoped::<kpi_week_lock::Entity>(org)
        .filter(kpi_week_lock::Column::TeamId.is_in(teams.iter().copied()))
        .filter(kpi_week_lock::Column::Week.eq(week))
        .one(db)
        .await?
        .is_some())
}

/// Deals owned by these members.
pub async fn deals_of(org: OrgId, db: &impl ConnectionTrait, owners: &[Uuid]) -> AppResult<Vec<deal::Model>> {
    Ok(tenant::scoped::<deal::Entity>(org).filter(deal::Column::OwnerId.is_in(owners.iter().copied())).all(db).await?)
}

/// The stage history of these deals, oldest first.
pub async fn histories(
    org: OrgId,
    db: &impl ConnectionTrait,
    deals: &[Uuid],
) -> AppResult<Vec<deal_stage_history::Model>> {
    let mut out = Vec::new();
    // Chunks keep the IN list well under the backends' parameter limits.
    for chunk in deals.chunks(500) {
        out.extend(
            tenant::scoped::<deal_stage_history::Entity>(org)
                .filter(deal_stage_history::Column::DealId.is_in(chunk.iter().copied()))
                .order_by_asc(deal_stage_history::Column::ChangedAt)
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// The deals (of these) that have a counting activity whose type feeds `quotes_sent`.
pub async fn quoted_deals(
    org: OrgId,
    db: &impl ConnectionTrait,
    deals: &[Uuid],
) -> AppResult<std::collections::HashSet<Uuid>> {
    let types: Vec<Uuid> = tenant::scoped::<entity::activity_type::Entity>(org)
        .select_only()
        .column(entity::activity_type::Column::Id)
        .filter(entity::activity_type::Column::KpiKey.eq(super::model::ACTIVITY_KEY_QUOTES_SENT))
        .into_tuple()
        .all(db)
        .await?;
    let mut out = std::collections::HashSet::new();
    if types.is_empty() {
        return Ok(out);
    }
    for chunk in deals.chunks(500) {
        let rows: Vec<Option<Uuid>> = tenant::scoped::<activity::Entity>(org)
            .select_only()
            .column(activity::Column::DealId)
            .filter(activity::Column::DealId.is_in(chunk.iter().copied()))
            .filter(activity::Column::ActivityTypeId.is_in(types.iter().copied()))
            .filter(activity::Column::VoidedAt.is_null())
            .distinct()
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows.into_iter().flatten());
    }
    Ok(out)
}

/// Units (sum of quantities; a PROGRESS activity counts 1) and points in hundredths per member
/// and activity type in `[from, to)`, voids excluded.
pub async fn activity_units(
    org: OrgId,
    db: &impl ConnectionTrait,
    members: &[Uuid],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<HashMap<(Uuid, Uuid), (i64, i64)>> {
    let rows: Vec<(Uuid, Uuid, i64, i64)> = tenant::scoped::<activity::Entity>(org)
        .select_only()
        .column(activity::Column::MemberId)
        .column(activity::Column::ActivityTypeId)
        .column_as(Expr::cust("CAST(SUM(COALESCE(quantity, 1)) AS BIGINT)"), "units")
        .column_as(Expr::cust("CAST(SUM(points_cents) AS BIGINT)"), "points")
        .filter(activity::Column::MemberId.is_in(members.iter().copied()))
        .filter(activity::Column::VoidedAt.is_null())
        .filter(activity::Column::OccurredAt.gte(from))
        .filter(activity::Column::OccurredAt.lt(to))
        .group_by(activity::Column::MemberId)
        .group_by(activity::Column::ActivityTypeId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(m, t, u, p)| ((m, t), (u, p))).collect())
}

// ---------------------------------------------------------------- alerts

/// A new alert rule.
#[derive(Debug, Clone)]
pub struct NewAlertRule {
    /// The KPI watched.
    pub kpi_key: String,
    /// BELOW_TARGET_STREAK or RATIO_DECLINING.
    pub kind: super::model::AlertKind,
    /// How many weeks.
    pub periods: i32,
    /// Only members of this team's subtree…
    pub team_id: Option<Uuid>,
    /// …or of this sales role.
    pub sales_role: Option<SalesRole>,
    /// Who created it.
    pub created_by: Uuid,
}

/// Inserts an alert rule.
pub async fn create_rule(
    org: OrgId,
    db: &impl ConnectionTrait,
    new: NewAlertRule,
) -> AppResult<entity::alert_rule::Model> {
    Ok(entity::alert_rule::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        kpi_key: Set(new.kpi_key),
        kind: Set(new.kind.as_str().to_owned()),
        periods: Set(new.periods),
        team_id: Set(new.team_id),
        sales_role: Set(new.sales_role.map(|r| r.as_str().to_owned())),
        active: Set(true),
        created_by: Set(new.created_by),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?)
}

/// Every active alert rule of the tenant.
pub async fn rules(org: OrgId, db: &impl ConnectionTrait) -> AppResult<Vec<entity::alert_rule::Model>> {
    Ok(tenant::scoped::<entity::alert_rule::Entity>(org)
        .filter(entity::alert_rule::Column::Active.eq(true))
        .order_by_asc(entity::alert_rule::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Raises an alert unless one with the same dedupe key exists; returns it when new.
pub async fn raise_alert(
    org: OrgId,
    db: &impl ConnectionTrait,
    rule: &entity::alert_rule::Model,
    member: Uuid,
    week: NaiveDate,
    dedupe_key: String,
    details: String,
) -> AppResult<Option<entity::alert::Model>> {
    let id = Uuid::now_v7();
    let inserted = entity::alert::Entity::insert(entity::alert::ActiveModel {
        id: Set(id),
        organization_id: Set(org.0),
        rule_id: Set(rule.id),
        member_id: Set(member),
        kpi_key: Set(rule.kpi_key.clone()),
        week: Set(week),
        dedupe_key: Set(dedupe_key),
        details: Set(details),
        status: Set("OPEN".into()),
        acknowledged_by: Set(None),
        acknowledged_at: Set(None),
        acknowledge_note: Set(None),
        created_at: Set(Utc::now()),
    })
    .on_conflict_do_nothing_on([entity::alert::Column::OrganizationId, entity::alert::Column::DedupeKey])
    .exec(db)
    .await?;
    Ok(match inserted {
        sea_orm::TryInsertResult::Inserted(_) => find_alert(org, db, id).await?,
        _ => None,
    })
}

/// One alert of the tenant.
pub async fn find_alert(org: OrgId, db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<entity::alert::Model>> {
    Ok(tenant::scoped_by_id::<entity::alert::Entity>(org, id).one(db).await?)
}

/// Alerts of some members (all when `None`) with a status, newest first.
pub async fn alerts(
    org: OrgId,
    db: &impl ConnectionTrait,
    members: Option<&[Uuid]>,
    status: Option<&str>,
) -> AppResult<Vec<entity::alert::Model>> {
    let mut q = tenant::scoped::<entity::alert::Entity>(org);
    if let Some(m) = members {
        q = q.filter(entity::alert::Column::MemberId.is_in(m.iter().copied()));
    }
    if let Some(s) = status {
        q = q.filter(entity::alert::Column::Status.eq(s));
    }
    Ok(q.order_by_desc(entity::alert::Column::CreatedAt).limit(500).all(db).await?)
}

/// Acknowledges an alert.
pub async fn acknowledge(
    org: OrgId,
    db: &impl ConnectionTrait,
    id: Uuid,
    by: Uuid,
    note: Option<String>,
) -> AppResult<entity::alert::Model> {
    tenant::scoped_update::<entity::alert::Entity>(org)
        .col_expr(entity::alert::Column::Status, Expr::value("ACKNOWLEDGED"))
        .col_expr(entity::alert::Column::AcknowledgedBy, Expr::value(by))
        .col_expr(entity::alert::Column::AcknowledgedAt, Expr::value(Utc::now()))
        .col_expr(entity::alert::Column::AcknowledgeNote, Expr::value(note))
        .filter(entity::alert::Column::Id.eq(id))
        .exec(db)
        .await?;
    find_alert(org, db, id).await?.ok_or(AppError::NotFound("alert"))
}
