//! `quotas`: targets per member, team or territory, metric, period and label.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "quotas")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    /// `MEMBER` | `TEAM` | `TERRITORY`
    pub subject_kind: String,
    pub subject_id: Uuid,
    /// `REVENUE` | `DEALS_WON` | `POINTS` | `ACTIVITY_COUNT` | `KPI`
    pub metric: String,
    pub activity_type_id: Option<Uuid>,
    pub kpi_key: Option<String>,
    /// `MONTH` | `QUARTER` | `YEAR`
    pub grain: String,
    pub period_start: Date,
    pub label: String,
    /// The full amount (before ramp) in hundredths.
    pub amount_hundredths: i64,
    /// Set by hand (kept by allocations with `keepOverrides`).
    pub manual: bool,
    /// The team quota an allocation derived this one from.
    pub allocated_from: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
