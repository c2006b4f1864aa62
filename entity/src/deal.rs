//! `deals`: opportunities in the pipeline.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "deals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub company: Option<String>,
    pub owner_id: Uuid,
    /// In cents of the organization's currency.
    pub amount_cents: i64,
    pub stage_id: Uuid,
    /// 0..=100.
    pub probability: i32,
    /// Set by hand: survives stage moves.
    pub probability_manual: bool,
    pub forecast_category: String,
    pub forecast_category_manual: bool,
    pub expected_close_date: Option<Date>,
    pub lead_source: Option<String>,
    pub lead_created_at: Option<DateTimeUtc>,
    pub first_contact_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    /// `WON` | `LOST` when closed.
    pub outcome: Option<String>,
    pub outcome_reason: Option<String>,
    pub address: Option<String>,
    pub country: Option<String>,
    pub postal_code: Option<String>,
    pub industry: Option<String>,
    pub company_size: Option<i32>,
    pub external_id: Option<String>,
    /// Routed from the rules, or set by hand (`territory_manual`).
    pub territory_id: Option<Uuid>,
    pub territory_manual: bool,
    /// JSON object of custom field values, validated against `custom_fields`.
    pub custom_fields: String,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
