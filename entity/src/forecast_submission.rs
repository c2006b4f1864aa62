//! `forecast_submissions`: commit and best-case numbers submitted by a rep (for themself) or a manager (for a team); every one kept.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "forecast_submissions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    /// `MEMBER` | `TEAM`
    pub subject_kind: String,
    pub subject_id: Uuid,
    /// `MONTH` | `QUARTER`
    pub grain: String,
    pub period_start: Date,
    pub commit_cents: i64,
    pub best_case_cents: i64,
    pub note: Option<String>,
    pub submitted_by: Uuid,
    pub submitted_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
