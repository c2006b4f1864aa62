//! `mystery_checks`: one sampled deal of a rep in a round, and its score.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "mystery_checks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub round_id: Uuid,
    pub rep_id: Uuid,
    pub deal_id: Uuid,
    /// JSON array of {criterionId, awarded} once scored.
    pub results: Option<String>,
    pub total_points: Option<i32>,
    pub note: Option<String>,
    pub scored_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
