//! `organizations`: the tenant itself.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "organizations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    #[sea_orm(unique)]
    pub slug: String,
    pub display_name: Option<String>,
    pub logo_url: Option<String>,
    pub primary_color: String,
    pub secondary_color: String,
    pub time_zone: String,
    pub currency: String,
    pub fiscal_year_start_month: i32,
    /// How many days back activities may be logged.
    pub activity_open_window_days: i32,
    /// The consulting firm that owns this organization (none for a single-company install).
    pub firm_id: Option<Uuid>,
    /// `ACTIVE`, `SUSPENDED` or `DELETION_PENDING`.
    pub status: String,
    /// When a requested deletion erases the organization (`DELETION_PENDING`).
    pub deletion_due_at: Option<DateTimeUtc>,
    /// `en` or `nl`: the language names and labels are answered in.
    #[serde(default = "default_locale")]
    pub locale: String,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

fn default_locale() -> String {
    "en".to_owned()
}
