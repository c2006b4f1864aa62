//! `members`: people of an organization. Deactivated, never deleted.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    /// Lower-cased; unique per organization.
    pub email: String,
    /// `ADMIN` | `MANAGER` | `REP` | `VIEWER`
    pub role: String,
    /// `INBOUND` | `OUTBOUND` | `CLOSER` | `MANAGER`
    pub sales_role: String,
    pub team_id: Option<Uuid>,
    pub start_date: Date,
    pub active: bool,
    /// Argon2id PHC string; `None` for members who only sign in through an identity provider.
    pub password_hash: Option<String>,
    pub deactivated_at: Option<DateTimeUtc>,
    /// JSON array: percent of full quota for tenure months 1..N.
    pub ramp_percents: Option<String>,
    /// URL of the member's picture (`https:`), shown beside the name.
    pub avatar_url: Option<String>,
    /// The organization's identity provider's subject for this member (`sub`), when it names
    /// members by subject.
    pub external_subject: Option<String>,
    /// `en` or `nl`, when the member chose one over the organization's.
    #[serde(default)]
    pub locale: Option<String>,
    /// Optimistic-concurrency counter: increases with every edit.
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
