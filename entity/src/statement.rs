//! `statements`: payout statements, one row per version.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "statements")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub member_id: Uuid,
    pub grain: String,
    pub period_start: Date,
    pub period_end: Date,
    pub version: i32,
    /// `DRAFT` | `APPROVED` | `PAID`
    pub status: String,
    /// The latest version of its member and period.
    pub current: bool,
    pub plan_id: Uuid,
    pub plan_version_id: Uuid,
    pub quota_cents: Option<i64>,
    pub credited_cents: i64,
    pub attainment: Option<String>,
    pub total_cents: i64,
    pub draw_balance_before_cents: i64,
    pub draw_balance_after_cents: i64,
    pub created_at: DateTimeUtc,
    pub approved_at: Option<DateTimeUtc>,
    pub approved_by: Option<Uuid>,
    pub paid_at: Option<DateTimeUtc>,
    pub paid_by: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
