//! `statement_lines`: the explained lines of a statement.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "statement_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub statement_id: Uuid,
    pub position: i32,
    pub kind: String,
    pub component: Option<String>,
    /// `DEAL` | `ACTIVITY` | `TEAM` | `DRAW` | `DISPUTE` | `PLAN`
    pub source_kind: String,
    pub source_id: Option<Uuid>,
    pub credited_base_cents: Option<i64>,
    pub attainment: Option<String>,
    pub tier: Option<String>,
    pub rate: Option<String>,
    pub amount_cents: i64,
    /// The explanation in English.
    pub explanation: String,
    /// The explanation in Dutch; `None` on lines computed before it was kept (they show the
    /// English one). Absent from older archives, which still import.
    pub explanation_nl: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
