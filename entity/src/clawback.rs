//! `clawbacks`: commission to take back after a paid deal was reopened or lost.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "clawbacks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub member_id: Uuid,
    pub deal_id: Uuid,
    pub original_line_id: Uuid,
    pub amount_cents: i64,
    pub rate: Option<String>,
    pub tier: Option<String>,
    pub credited_base_cents: Option<i64>,
    pub reason: String,
    /// The approved statement that carried it.
    pub applied_statement_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
