//! `checklist_items`: what must be done or filled in a stage before a deal moves on.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "checklist_items")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub stage_id: Uuid,
    pub label: String,
    /// `CONTENT` (a deal field must be filled) | `PROCESS` (a step ticked off)
    pub kind: String,
    /// CONTENT: the deal field that must be filled.
    pub field_name: Option<String>,
    pub required: bool,
    pub position: i32,
    /// Optimistic-concurrency counter: increases with every edit.
    pub version: i32,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
