//! API keys for integrations: a random secret shown once, kept only as a SHA-256 hash, found by
//! its public prefix; scopes limit what it may call (see `graphql::access`).

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder, Set};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use entity::api_key;

use crate::core::error::{AppError, AppResult};
use crate::core::field::FieldError;
use crate::core::ids::OrgId;
use crate::db::tenant;

/// Every scope a key may hold.
pub const SCOPES: [&str; 7] =
    ["org:read", "forecasts:read", "kpis:read", "scores:read", "payouts:read", "activities:write", "deals:write"];

/// What every key starts with, so secret scanners and humans recognise it.
pub const KEY_MARK: &str = "sbk_";

/// Validated scopes: at least one, each known, sorted without duplicates.
pub fn parse_scopes(list: &[String]) -> Result<Vec<String>, FieldError> {
    if list.is_empty() {
        return Err(FieldError::new("scopes", "REQUIRED", format!("give at least one of {}", SCOPES.join(", "))));
    }
    let mut out = Vec::new();
    for s in list {
        let s = s.trim();
        if !SCOPES.contains(&s) {
            return Err(FieldError::new(
                "scopes",
                "INVALID",
                format!("unknown scope '{}'; use {}", s.chars().take(40).collect::<String>(), SCOPES.join(", ")),
            ));
        }
        out.push(s.to_owned());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// A new key: the whole secret (shown once) and its public prefix.
pub fn generate() -> (String, String) {
    let mut rng = rand::rng();
    let prefix: String = (0..12).map(|_| format!("{:x}", rng.random_range(0..16u8))).collect();
    let secret: String = (0..40)
        .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[rng.random_range(0..62)]))
        .collect();
    let prefix = format!("{KEY_MARK}{prefix}");
    (format!("{prefix}_{secret}"), prefix)
}

/// The stored hash of a whole key.
pub fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The prefix of something that looks like a key.
pub fn prefix_of(key: &str) -> Option<&str> {
    if !key.starts_with(KEY_MARK) || key.len() > 200 {
        return None;
    }
    let (prefix, secret) = key.rsplit_once('_')?;
    (prefix.len() == KEY_MARK.len() + 12 && !secret.is_empty()).then_some(prefix)
}

fn equal_constant_time(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Stores a key.
pub async fn create(
    org: OrgId,
    db: &impl ConnectionTrait,
    name: String,
    scopes: &[String],
    created_by: Uuid,
) -> AppResult<(api_key::Model, String)> {
    let (key, prefix) = generate();
    let row = api_key::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        name: Set(name),
        prefix: Set(prefix),
        secret_hash: Set(hash(&key)),
        scopes: Set(serde_json::to_string(scopes).unwrap_or_else(|_| "[]".into())),
        created_by: Set(created_by),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok((row, key))
}

/// The organization's keys, newest first (revoked ones included).
pub async fn list(org: OrgId, db: &impl ConnectionTrait) -> AppResult<Vec<api_key::Model>> {
    Ok(tenant::scoped::<api_key::Entity>(org)
        .order_by_desc(api_key::Column::CreatedAt)
        .order_by_desc(api_key::Column::Id)
        .all(db)
        .await?)
}

/// One key.
pub async fn find(org: OrgId, db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<api_key::Model>> {
    Ok(tenant::scoped_by_id::<api_key::Entity>(org, id).one(db).await?)
}

/// Revokes a key at once.
pub async fn revoke(org: OrgId, db: &impl ConnectionTrait, id: Uuid) -> AppResult<api_key::Model> {
    tenant::scoped_update::<api_key::Entity>(org)
        .set(api_key::ActiveModel { revoked_at: Set(Some(Utc::now())), ..Default::default() })
        .filter(api_key::Column::Id.eq(id))
        .filter(api_key::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    find(org, db, id).await?.ok_or(AppError::NotFound("API key"))
}

/// The scopes of a stored key.
pub fn scopes_of(k: &api_key::Model) -> Vec<String> {
    serde_json::from_str(&k.scopes).unwrap_or_default()
}

/// Whether verifying a key records its use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// A request made with the key: `last_used_at` is stamped (at most once a minute).
    Stamp,
    /// The key checked again (an open socket, after a change or periodically): not a use, so
    /// nothing is written; a change wakes every socket of an organization at once.
    Check,
}

/// The live key this secret belongs to, if any. With [`Use::Stamp`], marks it used (at most
/// once a minute).
pub async fn verify(db: &impl ConnectionTrait, key: &str, key_use: Use) -> AppResult<Option<api_key::Model>> {
    let Some(prefix) = prefix_of(key) else { return Ok(None) };
    let Some(row) =
        tenant::across_tenants::<api_key::Entity>().filter(api_key::Column::Prefix.eq(prefix)).one(db).await?
    else {
        return Ok(None);
    };
    if row.revoked_at.is_some() || !equal_constant_time(&row.secret_hash, &hash(key)) {
        return Ok(None);
    }
    let now: DateTime<Utc> = Utc::now();
    if key_use == Use::Stamp && row.last_used_at.is_none_or(|t| now - t > Duration::seconds(60)) {
        tenant::scoped_update::<api_key::Entity>(OrgId(row.organization_id))
            .set(api_key::ActiveModel { last_used_at: Set(Some(now)), ..Default::default() })
            .filter(api_key::Column::Id.eq(row.id))
            .exec(db)
            .await?;
    }
    Ok(Some(row))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_a_prefix_and_hash_stably() {
        let (key, prefix) = generate();
        assert!(key.starts_with(&prefix));
        assert_eq!(prefix_of(&key), Some(prefix.as_str()));
        assert_eq!(hash(&key), hash(&key));
        assert_ne!(hash(&key), hash(&format!("{key}x")));
        assert_eq!(prefix_of("eyJhbGciOi.x.y"), None);
        assert_eq!(prefix_of("sbk_short_x"), None);
        assert_eq!(prefix_of("sbk_0123456789ab_"), None);
        let (other, _) = generate();
        assert_ne!(key, other);
    }

    #[test]
    fn scopes_are_checked() {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(parse_scopes(&s(&["kpis:read", "org:read", "kpis:read"])).ok(), Some(s(&["kpis:read", "org:read"])));
        assert_eq!(parse_scopes(&[]).map_err(|e| e.code), Err("REQUIRED"));
        assert_eq!(parse_scopes(&s(&["admin"])).map_err(|e| e.code), Err("INVALID"));
        assert_eq!(parse_scopes(&s(&["ORG:READ"])).map_err(|e| e.code), Err("INVALID"));
    }

    #[test]
    fn constant_time_compare() {
        assert!(equal_constant_time("abc", "abc"));
        assert!(!equal_constant_time("abc", "abd"));
        assert!(!equal_constant_time("abc", "ab"));
    }
}
