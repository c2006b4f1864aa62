//! `activities`: score events. Corrections are voids, never deletes; points, multiplier and campaign are stored so history never moves.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "activities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub member_id: Uuid,
    pub activity_type_id: Uuid,
    pub quantity: Option<i32>,
    pub progress_percent: Option<i32>,
    pub work_item_key: Option<String>,
    /// Points before the campaign multiplier, in hundredths.
    pub base_points_cents: i64,
    /// The multiplier used, in hundredths (100 = ×1).
    pub multiplier_cents: i64,
    /// Points awarded, in hundredths.
    pub points_cents: i64,
    pub campaign_id: Option<Uuid>,
    pub occurred_at: DateTimeUtc,
    /// `occurred_at` as a date in the organization's time zone (the aggregate's day).
    pub local_date: Date,
    pub deal_id: Option<Uuid>,
    pub note: Option<String>,
    /// `SELF` | `MANAGER` | `INTEGRATION`
    pub source: String,
    pub logged_by: Uuid,
    pub idempotency_key: Option<String>,
    pub voided_at: Option<DateTimeUtc>,
    pub voided_by: Option<Uuid>,
    pub void_reason: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
