//! `alerts`: raised alerts; the dedupe key makes each one unique.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "alerts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub rule_id: Uuid,
    pub member_id: Uuid,
    pub kpi_key: String,
    /// The week that closed the pattern.
    pub week: Date,
    pub dedupe_key: String,
    /// JSON: the weeks and values that triggered it.
    pub details: String,
    /// `OPEN` | `ACKNOWLEDGED`
    pub status: String,
    pub acknowledged_by: Option<Uuid>,
    pub acknowledged_at: Option<DateTimeUtc>,
    pub acknowledge_note: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
