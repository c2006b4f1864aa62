//! `custom_fields`: the deal fields an organization defines beyond the built-in ones.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "custom_fields")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    /// camelCase key used in `Deal.customFields`.
    pub key: String,
    pub label: String,
    /// `TEXT` | `NUMBER` | `DATE` | `BOOLEAN` | `CHOICE`
    pub field_type: String,
    /// CHOICE: JSON array of the allowed values.
    pub choices: String,
    pub active: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
