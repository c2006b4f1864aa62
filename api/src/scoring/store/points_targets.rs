//! Weekly points targets and their history.

use chrono::{NaiveDate, Utc};
use entity::points_target;
use sea_orm::{ActiveModelTrait, ConnectionTrait, QueryOrder, Set};
use uuid::Uuid;

use crate::core::error::AppResult;
use crate::core::ids::OrgId;
use crate::core::roles::SalesRole;
use crate::db::tenant;

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
    Ok(tenant::scoped::<points_target::Entity>(org)
        .order_by_asc(points_target::Column::EffectiveFrom)
        .order_by_asc(points_target::Column::CreatedAt)
        .all(db)
        .await?)
}
