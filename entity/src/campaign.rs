//! `campaigns`: themed windows with a points multiplier.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "campaigns")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub theme: Option<String>,
    pub reward: Option<String>,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    /// Set when ended early.
    pub ended_at: Option<DateTimeUtc>,
    /// In hundredths (200 = ×2).
    pub multiplier_cents: i64,
    /// JSON array of activity type IDs; empty = all.
    pub activity_type_ids: String,
    /// JSON array of team IDs; empty = all.
    pub team_ids: String,
    /// Optimistic-concurrency counter: increases with every edit.
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
