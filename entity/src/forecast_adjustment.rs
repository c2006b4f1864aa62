//! `forecast_adjustments`: a manager's adjusted view of someone below them, kept apart from the
//! owner's own numbers.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "forecast_adjustments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    /// `MEMBER` | `TEAM`
    pub subject_kind: String,
    pub subject_id: Uuid,
    pub grain: String,
    pub period_start: Date,
    pub commit_cents: i64,
    pub best_case_cents: i64,
    pub reason: String,
    pub adjusted_by: Uuid,
    pub adjusted_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
