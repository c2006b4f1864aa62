//! `pipeline_stages`: the ordered stages of the pipeline.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "pipeline_stages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    /// 0-based order.
    pub position: i32,
    /// `OPEN` | `WON` | `LOST`
    pub kind: String,
    /// 0..=100.
    pub default_probability: i32,
    /// `PIPELINE` | `BEST_CASE` | `COMMIT` | `CLOSED` | `OMITTED`
    pub default_forecast_category: String,
    pub active: bool,
    /// Optimistic-concurrency counter: increases with every edit.
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
