//! `organization_domains`: a host name an organization's front end is served on.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "organization_domains")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    /// Lower case, `name` or `name:port`; unique on the server.
    #[sea_orm(unique)]
    pub host: String,
    /// What the host must serve at `/.well-known/scorebord-verification.txt`.
    pub verification_token: String,
    /// When the host served it; requests by host are served only after.
    pub verified_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
