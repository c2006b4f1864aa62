//! `label_overrides`: an organization's own wording for a built-in name in one language.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "label_overrides")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    /// What is relabelled: `Kpi` (a built-in KPI by key) or an enum's GraphQL name (`Role`, …).
    pub subject: String,
    /// The KPI key, or the enum value (`REP`).
    pub key: String,
    /// `en` or `nl`.
    pub locale: String,
    /// The organization's name or label.
    pub label: String,
    /// A built-in KPI's description in the organization's words.
    pub description: Option<String>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
