//! `kpi_targets`: weekly KPI targets per sales role or member, as a history.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "kpi_targets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub kpi_key: String,
    pub sales_role: Option<String>,
    pub member_id: Option<Uuid>,
    /// Exact decimal as text.
    pub per_week: String,
    pub effective_from: Date,
    pub reason: String,
    pub set_by: Uuid,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
