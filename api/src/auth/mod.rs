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
pub mod model;
pub mod oidc;
pub mod password;
pub mod policy;
mod principal;
pub mod providers_graphql;
pub mod service;
pub mod store;
pub mod throttle;

use sea_orm::{ConnectionTrait, DatabaseConnection};
use uuid::Uuid;

use crate::core::error::{AppError, AppResult};
use crate::core::ids::OrgId;
pub use crate::core::principal::{ApiKeyAccess, Auth, FirmRole, FirmStaff, Permission, Principal};
use crate::core::roles::Role;
use crate::events::EventBus;
use jwt::JwtKeys;
pub use principal::{Reach, ReadScope};

/// What authentication reads (and, for a member created at first sign-in, writes).
#[derive(Clone, Copy)]
pub struct Verifiers<'a> {
    /// The database.
    pub db: &'a DatabaseConnection,
    /// This server's signing and verification keys.
    pub keys: &'a JwtKeys,
    /// Members loaded by earlier requests.
    pub members: &'a cache::MemberCache,
    /// Organizations' directories (every member in one read), where a member not yet
    /// remembered is looked up.
    pub directories: &'a crate::org::directory::Directories,
    /// Organizations' identity providers' keys.
    pub providers: &'a oidc::ProviderKeys,
    /// Where a member created at sign-in is announced.
    pub bus: &'a EventBus,
}

/// Turns an `Authorization` header value into an [`Auth`].
pub async fn authenticate(v: Verifiers<'_>, header: Option<&str>) -> AppResult<Auth> {
    authenticate_with(v, header, None, api_keys::Use::Stamp).await
}

/// [`authenticate`] for a request that names the organization it acts in (the
/// `X-Scorebord-Organization` header: an ID or slug). A firm's staff act in that client; a
/// token of the organization's own identity provider is checked against that provider; any
/// other credential must belong to that organization, or it is refused.
pub async fn authenticate_in(v: Verifiers<'_>, header: Option<&str>, organization: Option<&str>) -> AppResult<Auth> {
    authenticate_with(v, header, organization, api_keys::Use::Stamp).await
}

/// [`authenticate`] for a credential checked again (an open socket's, after a change): reads
/// only, so a burst of such checks writes nothing (see [`api_keys::Use`]).
pub async fn authenticate_again(v: Verifiers<'_>, header: Option<&str>, organization: Option<&str>) -> AppResult<Auth> {
    authenticate_with(v, header, organization, api_keys::Use::Check).await
}

async fn authenticate_with(
    v: Verifiers<'_>,
    header: Option<&str>,
    organization: Option<&str>,
    key_use: api_keys::Use,
) -> AppResult<Auth> {
    let organization = organization.map(str::trim).filter(|o| !o.is_empty());
    let auth = credential(v, header, organization, key_use).await?;
    // A member's token or key acts in its own organization only: naming another is refused,
    // not ignored (a front end that believes it is in one client must not see another's data).
    if let (Some(named), Auth::Member(p)) = (organization, &auth)
        && p.firm_staff.is_none()
    {
        let same = crate::org::store::find_org_by_claim(v.db, named).await?.is_some_and(|o| o.id == p.org.0);
        if !same {
            return Ok(Auth::Invalid("this credential belongs to another organization than the one named".into()));
        }
    }
    Ok(auth)
}

/// A token of the named organization's own identity provider (the organization named by the
/// request, or by the token's `org` claim), verified against that provider and no other, and
/// the member it names; `None` when the token is not one (then the server's own keys decide).
async fn provider_token(v: Verifiers<'_>, token: &str, organization: Option<&str>) -> AppResult<Option<Auth>> {
    let Ok(header) = jsonwebtoken::decode_header(token) else { return Ok(None) };
    if matches!(
        header.alg,
        jsonwebtoken::Algorithm::HS256 | jsonwebtoken::Algorithm::HS384 | jsonwebtoken::Algorithm::HS512
    ) {
        return Ok(None);
    }
    // Read unverified only to choose the provider; the chosen provider's keys decide.
    let Ok(unverified) =
        jsonwebtoken::dangerous::insecure_decode_claims::<serde_json::Map<String, serde_json::Value>>(token)
    else {
        return Ok(None);
    };
    let named = organization.or_else(|| unverified.get("org").and_then(serde_json::Value::as_str));
    let Some(named) = named else { return Ok(None) };
    let Some(org) = crate::org::store::find_org_by_claim(v.db, named).await? else { return Ok(None) };
    let Some(provider) = store::provider_of(OrgId(org.id), v.db).await? else { return Ok(None) };
    if unverified.get("iss").and_then(serde_json::Value::as_str) != Some(provider.issuer.as_str()) {
        return Ok(None);
    }
    if org.status != crate::org::store::ORG_ACTIVE {
        return Ok(Some(Auth::Suspended(org.slug)));
    }
    let claims = match v.providers.verify(&provider, token).await {
        Ok(c) => c,
        Err(why) => return Ok(Some(Auth::Invalid(why))),
    };
    let org_id = OrgId(org.id);
    let member = match service::member_for_sign_in(v.db, v.bus, org_id, &provider, &claims).await? {
        Ok(m) => m,
        Err(why) => return Ok(Some(Auth::Invalid(why))),
    };
    if !member.active {
        return Ok(Some(Auth::Invalid("member is deactivated".into())));
    }
    Ok(Some(Auth::Member(Principal {
        org: org_id,
        member_id: member.id,
        role: Role::parse(&member.role).unwrap_or(Role::Viewer),
        team_id: member.team_id,
        api_key: None,
        firm_staff: None,
    })))
}

async fn credential(
    v: Verifiers<'_>,
    header: Option<&str>,
    organization: Option<&str>,
    key_use: api_keys::Use,
) -> AppResult<Auth> {
    let Verifiers { db, keys, members, directories, .. } = v;
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
        if let Some(refused) = suspended(db, org).await? {
            return Ok(refused);
        }
        return match crate::org::store::find_member(org, db, k.created_by).await? {
            Some(m) if m.active && Role::parse(&m.role) == Some(Role::Admin) => Ok(Auth::Member(Principal {
                org,
                member_id: k.created_by,
                role: Role::Admin,
                team_id: None,
                api_key: Some(ApiKeyAccess { id: k.id, scopes: api_keys::scopes_of(&k) }),
                firm_staff: None,
            })),
            _ => Ok(Auth::Invalid(
                "API key's creator is no longer an active admin, so the key no longer works; create a new one".into(),
            )),
        };
    }
    // This server's keys first (in memory); only a token they refuse may be an organization's
    // own identity provider's, which costs reading the organization and its provider.
    let jwt::Verified { claims, signer } = match keys.verify(token.trim()) {
        Ok(v) => v,
        Err(e) => {
            return Ok(match provider_token(v, token.trim(), organization).await? {
                Some(auth) => auth,
                None => Auth::Invalid(e.to_string()),
            });
        }
    };
    if let Some(firm) = &claims.firm {
        // Only this server signs a firm's staff in: an identity provider's key, bound to
        // organizations, never makes a firm token.
        if signer != jwt::Signer::Server {
            return Ok(Auth::Invalid("a firm staff token must be signed by this server".into()));
        }
        return firm_staff(db, firm, &claims, organization).await;
    }
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
    // Suspending an organization drops its cached members (it publishes `MembersChanged`).
    if let Some(p) = members.get(&claims.org, member_id, now) {
        return Ok(Auth::Member(p));
    }
    let epoch = members.epoch();
    // A claim naming the organization by ID (this server's tokens) reads the member from the
    // organization's directory: one read of every member per `MEMBER_CACHE_SECONDS` or change,
    // instead of two reads per member. A member the directory lacks (created on another
    // instance a moment ago), a claim naming a slug, and every member when nothing is kept
    // (`MEMBER_CACHE_SECONDS=0`) are read from the database.
    let dir = match Uuid::parse_str(&claims.org) {
        Ok(id) if members.keeps() => match crate::org::directory::directory(directories, OrgId(id), db).await {
            Ok(dir) => Some(dir),
            Err(AppError::NotFound(_)) => return Ok(Auth::Invalid("token organization is unknown".into())),
            Err(e) => return Err(e),
        },
        _ => None,
    };
    let (org, status, slug, known) = match &dir {
        Some(dir) => {
            let o = &dir.organization;
            (OrgId(o.id), o.status.clone(), o.slug.clone(), dir.member(member_id).cloned())
        }
        None => match crate::org::store::find_org_by_claim(db, &claims.org).await? {
            Some(o) => (OrgId(o.id), o.status, o.slug, None),
            None => return Ok(Auth::Invalid("token organization is unknown".into())),
        },
    };
    if status != crate::org::store::ORG_ACTIVE {
        return Ok(Auth::Suspended(slug));
    }
    let member = match known {
        Some(m) => Some(m),
        None => crate::org::store::find_member(org, db, member_id).await?,
    };
    match member {
        Some(m) if m.active => {
            let p = Principal {
                org,
                member_id: m.id,
                role: Role::parse(&m.role).unwrap_or(Role::Viewer),
                team_id: m.team_id,
                api_key: None,
                firm_staff: None,
            };
            members.put(&claims.org, &p, epoch, now);
            Ok(Auth::Member(p))
        }
        Some(_) => Ok(Auth::Invalid("member is deactivated".into())),
        None => Ok(Auth::Invalid("token member is unknown".into())),
    }
}

/// [`Auth::Suspended`] when the organization is not active (or is gone: refused as unknown).
async fn suspended(db: &impl ConnectionTrait, org: OrgId) -> AppResult<Option<Auth>> {
    Ok(match crate::org::store::organization(org, db).await? {
        Some(o) if o.status == crate::org::store::ORG_ACTIVE => None,
        Some(o) => Some(Auth::Suspended(o.slug)),
        None => Some(Auth::Invalid("organization is unknown".into())),
    })
}

/// A firm's staff token: the staff member must be active in the firm the token names; with a
/// client chosen (the request's header first, else the token's `org`), the client must be the
/// firm's, active, and the staff member must hold a role there. Read fresh on every request,
/// so a revoked grant, a suspension or a deactivation takes effect at once.
async fn firm_staff(
    db: &impl ConnectionTrait,
    firm: &str,
    claims: &jwt::Claims,
    organization: Option<&str>,
) -> AppResult<Auth> {
    use crate::core::principal::{FirmRole, FirmStaff};
    let (Ok(firm_id), Ok(staff_id)) = (Uuid::parse_str(firm), Uuid::parse_str(&claims.sub)) else {
        return Ok(Auth::Invalid("a firm staff token names its firm and staff member by ID".into()));
    };
    let staff = match crate::firm::store::find_staff(firm_id, db, staff_id).await? {
        Some(s) if s.active => s,
        Some(_) => return Ok(Auth::Invalid("staff member is deactivated".into())),
        None => return Ok(Auth::Invalid("token staff member is unknown".into())),
    };
    let Some(role) = FirmRole::parse(&staff.role) else {
        return Ok(Auth::Invalid("staff member's role is unknown".into()));
    };
    let me = FirmStaff { firm_id, staff_id, role };
    let chosen = organization.or(Some(claims.org.as_str()).filter(|o| !o.is_empty()));
    let Some(chosen) = chosen else { return Ok(Auth::Firm(me)) };
    let client = match crate::org::store::find_org_by_claim(db, chosen).await? {
        Some(o) if o.firm_id == Some(firm_id) => o,
        // Another firm's client answers like one that does not exist.
        _ => return Ok(Auth::Invalid("the organization named is not a client of your firm".into())),
    };
    if client.status != crate::org::store::ORG_ACTIVE {
        return Ok(Auth::Suspended(client.slug));
    }
    let org = OrgId(client.id);
    let granted = crate::firm::store::granted_role(firm_id, db, staff_id, org).await?;
    match crate::firm::model::role_in_client(role, granted) {
        Some(role) => Ok(Auth::Member(Principal {
            org,
            member_id: staff_id,
            role,
            team_id: None,
            api_key: None,
            firm_staff: Some(me),
        })),
        None => Ok(Auth::Invalid("your firm has not granted you a role in this organization".into())),
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
