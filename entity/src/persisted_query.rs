//! `persisted_queries`: Automatic Persisted Queries, shared by all instances. A query text is
//! keyed by its SHA-256, so any caller who knows the text may run it by hash; the organization
//! that registered it owns the row, which counts against that organization's quota.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "persisted_queries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub sha256: String,
    pub query: String,
    /// The organization whose member or API key registered the text.
    pub organization_id: Uuid,
    /// Length of `query` in bytes (what the quota counts).
    pub bytes: i32,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
