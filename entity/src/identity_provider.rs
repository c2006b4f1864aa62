//! `identity_providers`: an organization's own OpenID Connect provider.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "identity_providers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub organization_id: Uuid,
    /// The `iss` its tokens carry.
    pub issuer: String,
    /// The `aud` its tokens must carry.
    pub audience: String,
    /// Where its keys are published (a JWKS), or `None` with inline `jwks`.
    pub jwks_url: Option<String>,
    /// Its keys as a JWKS document, when not fetched.
    pub jwks: Option<String>,
    /// `EMAIL` or `SUBJECT`: the claim that names the member.
    pub member_claim: String,
    /// Whether a first sign-in of an unknown person creates the member.
    pub create_members: bool,
    /// Role of a member created at sign-in.
    pub default_role: String,
    /// Sales role of a member created at sign-in.
    pub default_sales_role: String,
    /// Team of a member created at sign-in.
    pub default_team_id: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
