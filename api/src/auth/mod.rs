//! Who is calling and what they may do.
//!
//! A request carries at most one credential: a bearer access token (HS256 from this server,
//! or RS256/ES256 from an identity provider, whose key is bound to the organizations it may
//! sign in to). It is verified, then the member
//! is loaded, so a deactivated member or a changed role takes effect at once, not when the
//! token expires (loaded members are kept in [`cache::MemberCache`] until anything about
//! members changes, or a few seconds at most). The result is an [`Auth`] value in the GraphQL context; resolvers ask it for
//! a [`Principal`] and check a [`Permission`] with one call.

pub mod api_keys;
pub mod cache;
pub mod graphql;
pub mod jwt;
pub mod keys_graphql;
pub mod password;
pub mod policy;
mod principal;
pub mod service;
pub mod store;
pub mod throttle;

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::core::error::AppResult;
use crate::core::ids::OrgId;
pub use crate::core::principal::{ApiKeyAccess, Auth, Permission, Principal};
use crate::core::roles::Role;
use jwt::JwtKeys;
pub use principal::{Reach, ReadScope};

/// Turns an `Authorization` header value into an [`Auth`].
pub async fn authenticate(
    db: &impl ConnectionTrait,
    keys: &JwtKeys,
    members: &cache::MemberCache,
    header: Option<&str>,
) -> AppResult<Auth> {
    authenticate_with(db, keys, members, header, api_keys::Use::Stamp).await
}

/// [`authenticate`] for a credential checked again (an open socket's, after a change): reads
/// only, so a burst of such checks writes nothing (see [`api_keys::Use`]).
pub async fn authenticate_again(
    db: &impl ConnectionTrait,
    keys: &JwtKeys,
    members: &cache::MemberCache,
    header: Option<&str>,
) -> AppResult<Auth> {
    authenticate_with(db, keys, members, header, api_keys::Use::Check).await
}

async fn authenticate_with(
    db: &impl ConnectionTrait,
    keys: &JwtKeys,
    members: &cache::MemberCache,
    header: Option<&str>,
    key_use: api_keys::Use,
) -> AppResult<Auth> {
    let Some(header) = header.map(str::trim).filter(|h| !h.is_empty()) else {
        return Ok(Auth::Anonymous);
    };
    let Some(token) = header.strip_prefix("Bearer ").or_else(|| header.strip_prefix("bearer ")) else {
        return Ok(Auth::Invalid("the Authorization header must be 'Bearer <token>'".into()));
    };
    if token.trim().starts_with(api_keys::KEY_MARK) {
        let Some(k) = api_keys::verify(db, token.trim(), key_use).await? else {
            return Ok(Auth::Invalid("API key is unknown or revoked".into()));
        };
        // A key acts with its creator's admin reach: it holds only while they are an active
        // admin (a leaked key of someone who left, or was demoted, stops working with them).
        let org = OrgId(k.organization_id);
        return match crate::org::store::find_member(org, db, k.created_by).await? {
            Some(m) if m.active && Role::parse(&m.role) == Some(Role::Admin) => Ok(Auth::Member(Principal {
                org,
                member_id: k.created_by,
                role: Role::Admin,
                team_id: None,
                api_key: Some(ApiKeyAccess { id: k.id, scopes: api_keys::scopes_of(&k) }),
            })),
            _ => Ok(Auth::Invalid(
                "API key's creator is no longer an active admin, so the key no longer works; create a new one".into(),
            )),
        };
    }
    let jwt::Verified { claims, signer } = match keys.verify(token.trim()) {
        Ok(v) => v,
        Err(e) => return Ok(Auth::Invalid(e.to_string())),
    };
    // An identity provider's key signs in only to the organizations it is bound to; checked
    // before the member cache, which is keyed by the claim alone.
    if !signer.names(&claims.org) {
        let bound = crate::org::store::find_org_by_claim(db, &claims.org)
            .await?
            .is_some_and(|o| signer.may_sign_for(o.id, &o.slug));
        if !bound {
            return Ok(Auth::Invalid("this token's signing key may not sign in to its organization".into()));
        }
    }
    let Ok(member_id) = Uuid::parse_str(&claims.sub) else {
        return Ok(Auth::Invalid("token subject is not a member ID".into()));
    };
    let now = std::time::Instant::now();
    if let Some(p) = members.get(&claims.org, member_id, now) {
        return Ok(Auth::Member(p));
    }
    let epoch = members.epoch();
    let Some(org) = crate::org::store::resolve_org(db, &claims.org).await? else {
        return Ok(Auth::Invalid("token organization is unknown".into()));
    };
    match crate::org::store::find_member(org, db, member_id).await? {
        Some(m) if m.active => {
            let p = Principal {
                org,
                member_id: m.id,
                role: Role::parse(&m.role).unwrap_or(Role::Viewer),
                team_id: m.team_id,
                api_key: None,
            };
            members.put(&claims.org, &p, epoch, now);
            Ok(Auth::Member(p))
        }
        Some(_) => Ok(Auth::Invalid("member is deactivated".into())),
        None => Ok(Auth::Invalid("token member is unknown".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn role_grants() {
        assert!(Permission::granted_to(Role::Admin).contains(&Permission::MembersCreate));
        assert!(!Permission::granted_to(Role::Manager).contains(&Permission::MembersCreate));
        assert!(Permission::granted_to(Role::Manager).contains(&Permission::MembersWrite));
        assert_eq!(Permission::granted_to(Role::Rep), vec![Permission::OrganizationRead]);
        assert_eq!(Permission::granted_to(Role::Viewer), vec![Permission::OrganizationRead]);
    }

    #[test]
    fn reach_covers() {
        let t = Uuid::from_u128(1);
        assert!(Reach::All.covers(None));
        assert!(Reach::Teams(HashSet::from([t])).covers(Some(t)));
        assert!(!Reach::Teams(HashSet::from([t])).covers(Some(Uuid::from_u128(2))));
        assert!(!Reach::Teams(HashSet::from([t])).covers(None));
    }
}
