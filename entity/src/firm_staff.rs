//! `firm_staff`: a firm's own people, who sign in once and act in the firm's clients.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "firm_staff")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub firm_id: Uuid,
    pub name: String,
    /// Lower case; unique within the firm.
    pub email: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// `FIRM_ADMIN` or `FIRM_CONSULTANT`.
    pub role: String,
    pub active: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
