//! `kpis`: custom KPI definitions (the built-in catalogue lives in code).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "kpis")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    /// snake_case, unique per organization.
    pub key: String,
    pub name: String,
    pub description: Option<String>,
    /// `ACTIVITY_COUNT` | `ACTIVITY_SUM` | `RATIO` | `SELF_REPORTED`
    pub kind: String,
    pub unit: String,
    pub direction: String,
    /// JSON array of activity type IDs (ACTIVITY_COUNT/SUM).
    pub activity_type_ids: String,
    pub numerator_key: Option<String>,
    pub denominator_key: Option<String>,
    pub active: bool,
    /// Optimistic-concurrency counter: increases with every edit.
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
