//! Activity types: creating, updating, finding and paging them.

use chrono::Utc;
use entity::activity_type;
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::core::error::{AppError, AppResult};
use crate::core::ids::OrgId;
use crate::db::set_if;
use crate::db::tenant;
use crate::graphql::keyset::{self, KeyKind, KeyValue, Keyset, Page, SortColumn};
use crate::graphql::relay::PageArgs;
use crate::scoring::model::{ActivityCategory, ActivityUnit};

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
    let update = tenant::versioned_update::<activity_type::Entity>(org, expected_version)
        .set(changes)
        .filter(activity_type::Column::Id.eq(id));
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
    Ok(tenant::scoped_by_id::<activity_type::Entity>(org, id).one(db).await?)
}

/// Several activity types (DataLoader batch).
pub async fn activity_types_by_ids(
    org: OrgId,
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> AppResult<Vec<activity_type::Model>> {
    Ok(tenant::scoped::<activity_type::Entity>(org)
        .filter(activity_type::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}

fn activity_type_condition(include_archived: bool) -> Condition {
    let mut c = Condition::all();
    if !include_archived {
        c = c.add(activity_type::Column::Active.eq(true));
    }
    c
}

/// Every activity type of the organization, archived ones included.
pub async fn all_activity_types(org: OrgId, db: &impl ConnectionTrait) -> AppResult<Vec<activity_type::Model>> {
    Ok(tenant::scoped::<activity_type::Entity>(org).filter(activity_type_condition(true)).all(db).await?)
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
    let select = tenant::scoped::<activity_type::Entity>(org).filter(activity_type_condition(include_archived));
    let exprs = [activity_type::Column::Name.into_expr(), activity_type::Column::Id.into_expr()];
    keyset::fetch(db, select, &exprs, &ACTIVITY_TYPES, args).await
}
