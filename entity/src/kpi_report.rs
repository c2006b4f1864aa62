//! `kpi_reports`: self-reported KPI values; every change is a new row (the latest counts).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "kpi_reports")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub kpi_key: String,
    pub member_id: Uuid,
    /// The Monday of the week.
    pub week: Date,
    /// Exact decimal as text.
    pub value: String,
    pub reported_by: Uuid,
    pub reported_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
