//! Refresh tokens: stored as SHA-256 hashes, rotated on every use. A token used twice means
//! it was stolen or replayed: the whole family (that login) is revoked.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use entity::refresh_token;

use crate::core::error::AppResult;
use crate::core::ids::OrgId;
use crate::db::tenant;

/// How long a refresh token lives.
pub const REFRESH_TTL_DAYS: i64 = 30;

/// SHA-256 of a secret, hex.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A new random secret: 32 bytes, base64url.
pub fn new_secret() -> String {
    use base64::Engine as _;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Stores a new refresh token in a family and returns its secret.
pub async fn issue_refresh_token(
    org: OrgId,
    db: &impl ConnectionTrait,
    member_id: Uuid,
    family_id: Uuid,
) -> AppResult<(String, DateTime<Utc>)> {
    let secret = new_secret();
    let now = Utc::now();
    let expires_at = now + Duration::days(REFRESH_TTL_DAYS);
    refresh_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        member_id: Set(member_id),
        family_id: Set(family_id),
        token_hash: Set(hash_secret(&secret)),
        expires_at: Set(expires_at),
        used_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok((secret, expires_at))
}

/// Looks a refresh token up by its secret (any tenant: the secret is the credential).
pub async fn find_by_secret(db: &impl ConnectionTrait, secret: &str) -> AppResult<Option<refresh_token::Model>> {
    Ok(tenant::across_tenants::<refresh_token::Entity>()
        .filter(refresh_token::Column::TokenHash.eq(hash_secret(secret)))
        .one(db)
        .await?)
}

/// Marks a token used, only if nobody else did first. Returns false when it was already used:
/// two concurrent refreshes with one token are a reuse.
pub async fn mark_used(org: OrgId, db: &impl ConnectionTrait, id: Uuid) -> AppResult<bool> {
    let result = tenant::scoped_update::<refresh_token::Entity>(org)
        .col_expr(refresh_token::Column::UsedAt, Expr::value(Utc::now()))
        .filter(refresh_token::Column::Id.eq(id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Revokes every token of a family (logout, or reuse detected).
pub async fn revoke_family(org: OrgId, db: &impl ConnectionTrait, family_id: Uuid) -> AppResult<u64> {
    let result = tenant::scoped_update::<refresh_token::Entity>(org)
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(refresh_token::Column::FamilyId.eq(family_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Revokes every refresh token of a member (password change, deactivation).
pub async fn revoke_member(org: OrgId, db: &impl ConnectionTrait, member_id: Uuid) -> AppResult<u64> {
    let result = tenant::scoped_update::<refresh_token::Entity>(org)
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(refresh_token::Column::MemberId.eq(member_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_hash_stably() {
        let a = new_secret();
        let b = new_secret();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash_secret(&a), hash_secret(&a));
        assert_ne!(hash_secret(&a), hash_secret(&b));
        assert_eq!(hash_secret("").len(), 64);
    }
}

/// An identity provider's settings, validated.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// `iss`.
    pub issuer: String,
    /// `aud`.
    pub audience: String,
    /// JWKS URL, or `None` with inline keys.
    pub jwks_url: Option<String>,
    /// Inline JWKS document.
    pub jwks: Option<String>,
    /// The claim naming the member.
    pub member_claim: super::model::MemberClaim,
    /// Create members at first sign-in.
    pub create_members: bool,
    /// Their role.
    pub default_role: crate::core::roles::Role,
    /// Their sales role.
    pub default_sales_role: crate::core::roles::SalesRole,
    /// Their team.
    pub default_team_id: Option<Uuid>,
}

/// The organization's identity provider, if it has one.
pub async fn provider_of(org: OrgId, db: &impl ConnectionTrait) -> AppResult<Option<entity::identity_provider::Model>> {
    Ok(tenant::scoped::<entity::identity_provider::Entity>(org).one(db).await?)
}

/// Sets the organization's identity provider (creating it, or replacing its settings and moving
/// its version on, so kept keys are fetched again).
pub async fn put_provider(
    org: OrgId,
    db: &impl ConnectionTrait,
    s: ProviderSettings,
) -> AppResult<entity::identity_provider::Model> {
    use entity::identity_provider as ip;
    let now = Utc::now();
    let fields = ip::ActiveModel {
        issuer: Set(s.issuer),
        audience: Set(s.audience),
        jwks_url: Set(s.jwks_url),
        jwks: Set(s.jwks),
        member_claim: Set(s.member_claim.as_str().to_owned()),
        create_members: Set(s.create_members),
        default_role: Set(s.default_role.as_str().to_owned()),
        default_sales_role: Set(s.default_sales_role.as_str().to_owned()),
        default_team_id: Set(s.default_team_id),
        updated_at: Set(now),
        ..Default::default()
    };
    match provider_of(org, db).await? {
        Some(before) => {
            let done = tenant::versioned_update::<ip::Entity>(org, Some(before.version))
                .set(fields)
                .filter(ip::Column::Id.eq(before.id))
                .exec(db)
                .await?;
            if done.rows_affected == 0 {
                return Err(crate::core::error::AppError::Conflict(
                    "the identity provider was changed by someone else; reload and try again".into(),
                ));
            }
        }
        None => {
            let mut row = fields;
            row.id = Set(Uuid::now_v7());
            row.organization_id = Set(org.0);
            row.version = Set(1);
            row.created_at = Set(now);
            row.insert(db).await?;
        }
    }
    provider_of(org, db).await?.ok_or(crate::core::error::AppError::NotFound("identity provider"))
}

/// Removes the organization's identity provider; whether it had one.
pub async fn delete_provider(org: OrgId, db: &impl ConnectionTrait) -> AppResult<bool> {
    Ok(tenant::scoped_delete::<entity::identity_provider::Entity>(org).exec(db).await?.rows_affected > 0)
}
