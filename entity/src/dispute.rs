//! `disputes`: a rep disputing a statement line; resolved by a manager.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "disputes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub statement_id: Uuid,
    pub line_id: Uuid,
    pub member_id: Uuid,
    pub reason: String,
    /// `OPEN` | `ACCEPTED` | `REJECTED`
    pub status: String,
    pub resolution: Option<String>,
    pub adjustment_cents: Option<i64>,
    pub resolved_by: Option<Uuid>,
    pub resolved_at: Option<DateTimeUtc>,
    /// The approved statement that carried the adjustment.
    pub applied_statement_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
