//! `activity_types`: what can be logged and what it is worth.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "activity_types")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    /// `ACTION` | `RESULT`
    pub category: String,
    /// `COUNT` | `PROGRESS`
    pub unit: String,
    /// Points per unit (COUNT) or per completed step (PROGRESS), in hundredths.
    pub points_cents: i64,
    /// PROGRESS: the step size in percent.
    pub step_percent: Option<i32>,
    pub kpi_key: Option<String>,
    pub active: bool,
    /// Most units a member may log for themself in one activity; `None`: the server default.
    pub self_max_quantity_per_activity: Option<i32>,
    /// Most units a member may log for themself per local day; `None`: the server default.
    pub self_max_quantity_per_day: Option<i32>,
    /// Optimistic-concurrency counter: increases with every edit.
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
