//! Aggregates of the activities: points per member and per activity type, in a period or a window,
//! and a member's points per day.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use entity::{activity, activity_day_total};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::core::error::AppResult;
use crate::core::ids::OrgId;
use crate::db::tenant;

// ---------------------------------------------------------------- aggregates

/// Points (hundredths) and counts per member over local days `[from, to)`, from the day totals.
pub async fn member_totals(
    org: OrgId,
    db: &impl ConnectionTrait,
    members: Option<&[Uuid]>,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<HashMap<Uuid, (i64, i64)>> {
    let mut q = tenant::scoped::<activity_day_total::Entity>(org)
        .select_only()
        .column(activity_day_total::Column::MemberId)
        .column_as(Expr::cust("CAST(SUM(points_cents) AS BIGINT)"), "points")
        .column_as(Expr::cust("CAST(SUM(activity_count) AS BIGINT)"), "n")
        .filter(activity_day_total::Column::Day.gte(from))
        .filter(activity_day_total::Column::Day.lt(to))
        .group_by(activity_day_total::Column::MemberId);
    if let Some(ids) = members {
        q = q.filter(activity_day_total::Column::MemberId.is_in(ids.iter().copied()));
    }
    let rows: Vec<(Uuid, i64, i64)> = q.into_tuple().all(db).await?;
    Ok(rows.into_iter().map(|(m, p, n)| (m, (p, n))).collect())
}

/// Points and counts per member and activity type over local days `[from, to)`, for some
/// members or all (`None`): per member, `(activity type, points in hundredths, count)`.
pub async fn member_type_totals(
    org: OrgId,
    db: &impl ConnectionTrait,
    members: Option<&[Uuid]>,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<HashMap<Uuid, Vec<(Uuid, i64, i64)>>> {
    let mut q = tenant::scoped::<activity_day_total::Entity>(org)
        .select_only()
        .column(activity_day_total::Column::MemberId)
        .column(activity_day_total::Column::ActivityTypeId)
        .column_as(Expr::cust("CAST(SUM(points_cents) AS BIGINT)"), "points")
        .column_as(Expr::cust("CAST(SUM(activity_count) AS BIGINT)"), "n")
        .filter(activity_day_total::Column::Day.gte(from))
        .filter(activity_day_total::Column::Day.lt(to))
        .group_by(activity_day_total::Column::MemberId)
        .group_by(activity_day_total::Column::ActivityTypeId);
    if let Some(ids) = members {
        q = q.filter(activity_day_total::Column::MemberId.is_in(ids.iter().copied()));
    }
    let rows: Vec<(Uuid, Uuid, i64, i64)> = q.into_tuple().all(db).await?;
    let mut out: HashMap<Uuid, Vec<(Uuid, i64, i64)>> = HashMap::new();
    for (member, ty, points, n) in rows {
        out.entry(member).or_default().push((ty, points, n));
    }
    Ok(out)
}

/// Points and counts per activity type for some members over local days `[from, to)`.
pub async fn type_totals(
    org: OrgId,
    db: &impl ConnectionTrait,
    members: &[Uuid],
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Vec<(Uuid, i64, i64)>> {
    Ok(tenant::scoped::<activity_day_total::Entity>(org)
        .select_only()
        .column(activity_day_total::Column::ActivityTypeId)
        .column_as(Expr::cust("CAST(SUM(points_cents) AS BIGINT)"), "points")
        .column_as(Expr::cust("CAST(SUM(activity_count) AS BIGINT)"), "n")
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
    Ok(tenant::scoped::<activity_day_total::Entity>(org)
        .select_only()
        .column(activity_day_total::Column::Day)
        .column_as(Expr::cust("CAST(SUM(points_cents) AS BIGINT)"), "points")
        .filter(activity_day_total::Column::MemberId.eq(member))
        .filter(activity_day_total::Column::Day.gte(from))
        .filter(activity_day_total::Column::Day.lt(to))
        .group_by(activity_day_total::Column::Day)
        .into_tuple()
        .all(db)
        .await?)
}

/// Points per member and local day over `[from, to)`, for every member of the organization
/// (days without points are absent): what the streaks of a whole organization are computed
/// from in one read.
pub async fn daily_points_of_all(
    org: OrgId,
    db: &impl ConnectionTrait,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Vec<(Uuid, NaiveDate, i64)>> {
    Ok(tenant::scoped::<activity_day_total::Entity>(org)
        .select_only()
        .column(activity_day_total::Column::MemberId)
        .column(activity_day_total::Column::Day)
        .column_as(Expr::cust("CAST(SUM(points_cents) AS BIGINT)"), "points")
        .filter(activity_day_total::Column::Day.gte(from))
        .filter(activity_day_total::Column::Day.lt(to))
        .group_by(activity_day_total::Column::MemberId)
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
    let mut q = tenant::scoped::<activity::Entity>(org)
        .select_only()
        .column(activity::Column::MemberId)
        .column_as(Expr::cust("CAST(SUM(points_cents) AS BIGINT)"), "points")
        .column_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "n")
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
    Ok(tenant::scoped::<activity::Entity>(org)
        .select_only()
        .column(activity::Column::ActivityTypeId)
        .column_as(Expr::cust("CAST(SUM(points_cents) AS BIGINT)"), "points")
        .column_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "n")
        .filter(activity::Column::MemberId.is_in(members.iter().copied()))
        .filter(activity::Column::VoidedAt.is_null())
        .filter(activity::Column::OccurredAt.gte(from))
        .filter(activity::Column::OccurredAt.lt(to))
        .group_by(activity::Column::ActivityTypeId)
        .into_tuple()
        .all(db)
        .await?)
}
