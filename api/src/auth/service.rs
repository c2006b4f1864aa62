//! The sign-in and API key use-cases: signing in, rotating and ending a login, changing one's
//! password, and creating and revoking integration keys.
//!
//! Signing in, refreshing and signing out have no principal yet (the organization is known
//! only from the credential), record no audit entry and publish nothing: they run in a plain
//! write transaction. A password change and the key changes run in a [`Unit`].

use std::net::IpAddr;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use uuid::Uuid;

use entity::{api_key, member};

use super::jwt::JwtKeys;
use super::throttle::{self, LoginThrottle, Throttled};
use super::{api_keys, password, policy, store};
use crate::core::error::{AppError, AppResult};
use crate::core::field::{Checked, FieldError};
use crate::core::ids::OrgId;
use crate::core::principal::Principal;
use crate::db::unit::{Unit, snapshot};
use crate::events::{Event, EventBus};
use crate::org::service::audit_member;

/// Lifetime of an access token issued by `login` and `refreshToken`.
pub const ACCESS_TOKEN_TTL_MINUTES: i64 = 15;

/// A PHC hash of a random password, checked when the member does not exist so that an
/// unknown e-mail takes as long as a wrong password.
pub(crate) const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2NvcmVib3JkZHVtbXk$yRZ3Nvq9sV0MPmLHLyj2zYWZKjvMt3xw9e3VZrV7nD0";

/// A use-case's answer, or the refusal of a throttled password attempt (nothing was checked
/// then; the caller answers RATE_LIMITED with the seconds to wait).
pub type Throttleable<T> = Result<T, Throttled>;

/// Where password attempts are counted: the throttle and the client's address, if known.
#[derive(Clone, Copy)]
pub struct Attempts<'a> {
    /// Failed sign-ins per account and per client address.
    pub throttle: &'a LoginThrottle,
    /// The client's address.
    pub address: Option<IpAddr>,
}

/// Credentials to sign in with, as given.
#[derive(Debug, Clone)]
pub struct Login {
    /// The organization's slug.
    pub organization_slug: String,
    /// The member's e-mail.
    pub email: String,
    /// The member's password.
    pub password: String,
}

/// Tokens for a signed-in member.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// The access token (a JWT).
    pub access_token: String,
    /// When the access token expires.
    pub access_token_expires_at: DateTime<Utc>,
    /// The refresh token, to exchange once.
    pub refresh_token: String,
    /// When the refresh token expires.
    pub refresh_token_expires_at: DateTime<Utc>,
    /// The signed-in member.
    pub member: member::Model,
}

/// A password change of the signed-in member, as given.
#[derive(Debug, Clone)]
pub struct ChangePassword {
    /// The current password.
    pub current_password: String,
    /// The new password.
    pub new_password: String,
}

/// An API key to create, as given.
#[derive(Debug, Clone)]
pub struct CreateApiKey {
    /// Its name.
    pub name: String,
    /// Its scopes.
    pub scopes: Vec<String>,
}

/// A created API key and its secret, which is shown this once.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// The stored key (only a hash of the secret).
    pub key: api_key::Model,
    /// The whole secret.
    pub secret: String,
}

fn invalid_credentials() -> AppError {
    AppError::Unauthenticated("invalid organization, e-mail or password".into())
}

async fn issue_tokens(
    jwt: &JwtKeys,
    tx: &DatabaseTransaction,
    member: member::Model,
    family: Uuid,
) -> AppResult<Tokens> {
    let org = OrgId(member.organization_id);
    let ttl = Duration::minutes(ACCESS_TOKEN_TTL_MINUTES);
    let access_token = jwt.issue(member.id, org.0, ttl)?;
    let (refresh_token, refresh_token_expires_at) = store::issue_refresh_token(org, tx, member.id, family).await?;
    Ok(Tokens {
        access_token,
        access_token_expires_at: Utc::now() + ttl,
        refresh_token,
        refresh_token_expires_at,
        member,
    })
}

/// Signs in with e-mail and password and starts a login. Wrong credentials, an unknown
/// organization and a deactivated member all answer the same UNAUTHENTICATED error. Repeated
/// failures are throttled per account and per client address, before the password is checked.
pub async fn login(
    db: &DatabaseConnection,
    jwt: &JwtKeys,
    attempts: Attempts<'_>,
    cmd: Login,
) -> AppResult<Throttleable<Tokens>> {
    if !jwt.can_issue() {
        return Err(AppError::forbidden("this server does not issue tokens (no JWT_SECRET)"));
    }
    if cmd.password.len() > 1000 || cmd.email.len() > 254 || cmd.organization_slug.len() > 63 {
        return Err(invalid_credentials());
    }
    let email = cmd.email.trim().to_lowercase();
    let account = throttle::account_key(&cmd.organization_slug, &email);
    let Attempts { throttle, address } = attempts;
    if let Err(t) = throttle.check(&account, address, Instant::now()) {
        return Ok(Err(t));
    }
    let org = crate::org::store::find_org_by_slug(db, cmd.organization_slug.trim()).await?;
    let member = match &org {
        Some(org) => crate::org::store::find_member_by_email(OrgId(org.id), db, &email).await?,
        None => None,
    };
    let hash = member.as_ref().and_then(|m| m.password_hash.clone()).unwrap_or_else(|| DUMMY_HASH.to_owned());
    let password_ok = password::verify(cmd.password, hash).await?;
    let Some(member) = member.filter(|m| password_ok && m.active && m.password_hash.is_some()) else {
        throttle.failed(&account, address, Instant::now());
        return Err(invalid_credentials());
    };
    throttle.succeeded(&account);
    // Told only to who knows the password: a suspended organization signs nobody in.
    if let Some(org) = org.filter(|o| o.status != crate::org::store::ORG_ACTIVE) {
        return Err(AppError::Suspended(org.slug));
    }
    let tx = crate::db::begin_write(db).await.map_err(AppError::from)?;
    let tokens = issue_tokens(jwt, &tx, member, Uuid::now_v7()).await?;
    tx.commit().await.map_err(AppError::from)?;
    Ok(Ok(tokens))
}

/// A firm's staff member's credentials, as given.
#[derive(Debug, Clone)]
pub struct FirmLogin {
    /// The firm's slug.
    pub firm_slug: String,
    /// The staff member's e-mail.
    pub email: String,
    /// The staff member's password.
    pub password: String,
    /// The client to act in (ID or slug); none for the firm's own operations.
    pub organization: Option<String>,
}

/// The access token of a signed-in staff member.
#[derive(Debug, Clone)]
pub struct FirmTokens {
    /// The access token (a JWT).
    pub access_token: String,
    /// When it expires.
    pub access_token_expires_at: DateTime<Utc>,
    /// The staff member.
    pub staff: entity::firm_staff::Model,
    /// The client chosen, if any.
    pub organization: Option<entity::organization::Model>,
}

/// Signs a firm's staff member in, optionally into one client, as [`login`] does members: the
/// same answer for every wrong credential, the same throttle. A client that is not the firm's,
/// or where the staff member holds no role, is FORBIDDEN; a suspended one is refused as such.
/// Staff get no refresh token: they sign in again when the access token expires.
pub async fn firm_login(
    db: &DatabaseConnection,
    jwt: &JwtKeys,
    attempts: Attempts<'_>,
    cmd: FirmLogin,
) -> AppResult<Throttleable<FirmTokens>> {
    use crate::core::principal::FirmRole;
    if !jwt.can_issue() {
        return Err(AppError::forbidden("this server does not issue tokens (no JWT_SECRET)"));
    }
    let refused = || AppError::Unauthenticated("invalid firm, e-mail or password".into());
    if cmd.password.len() > 1000 || cmd.email.len() > 254 || cmd.firm_slug.len() > 63 {
        return Err(refused());
    }
    let email = cmd.email.trim().to_lowercase();
    let account = throttle::account_key(&format!("firm:{}", cmd.firm_slug.trim()), &email);
    let Attempts { throttle, address } = attempts;
    if let Err(t) = throttle.check(&account, address, Instant::now()) {
        return Ok(Err(t));
    }
    let firm = crate::firm::store::find_firm_by_slug(db, cmd.firm_slug.trim()).await?;
    let staff = match &firm {
        Some(f) => crate::firm::store::find_staff_by_email(f.id, db, &email).await?,
        None => None,
    };
    let hash = staff.as_ref().map(|s| s.password_hash.clone()).unwrap_or_else(|| DUMMY_HASH.to_owned());
    let password_ok = password::verify(cmd.password, hash).await?;
    let (Some(firm), Some(staff)) = (firm, staff.filter(|s| password_ok && s.active)) else {
        throttle.failed(&account, address, Instant::now());
        return Err(refused());
    };
    throttle.succeeded(&account);
    let role = FirmRole::parse(&staff.role).ok_or_else(refused)?;
    let organization = match cmd.organization.as_deref().map(str::trim).filter(|o| !o.is_empty()) {
        None => None,
        Some(named) => {
            let client = crate::org::store::find_org_by_claim(db, named)
                .await?
                .filter(|o| o.firm_id == Some(firm.id))
                .ok_or_else(|| AppError::forbidden("the organization named is not a client of your firm"))?;
            if client.status != crate::org::store::ORG_ACTIVE {
                return Err(AppError::Suspended(client.slug));
            }
            let granted = crate::firm::store::granted_role(firm.id, db, staff.id, OrgId(client.id)).await?;
            if crate::firm::model::role_in_client(role, granted).is_none() {
                return Err(AppError::forbidden("your firm has not granted you a role in this organization"));
            }
            Some(client)
        }
    };
    let ttl = Duration::minutes(ACCESS_TOKEN_TTL_MINUTES);
    let access_token = jwt.issue_firm(staff.id, firm.id, organization.as_ref().map(|o| o.id), ttl)?;
    Ok(Ok(FirmTokens { access_token, access_token_expires_at: Utc::now() + ttl, staff, organization }))
}

/// Exchanges a refresh token for new tokens. Each refresh token works once; presenting one
/// that was already used ends the whole login (all its tokens), since it was replayed.
pub async fn refresh(db: &DatabaseConnection, jwt: &JwtKeys, refresh_token: &str) -> AppResult<Tokens> {
    let refused = || AppError::Unauthenticated("refresh token is invalid, expired or revoked".into());
    if refresh_token.len() > 200 {
        return Err(refused());
    }
    let tx = crate::db::begin_write(db).await.map_err(AppError::from)?;
    let Some(token) = store::find_by_secret(&tx, refresh_token).await? else {
        return Err(refused());
    };
    let org = OrgId(token.organization_id);
    if token.revoked_at.is_some() || token.expires_at <= Utc::now() {
        return Err(refused());
    }
    if token.used_at.is_some() || !store::mark_used(org, &tx, token.id).await? {
        store::revoke_family(org, &tx, token.family_id).await?;
        tx.commit().await.map_err(AppError::from)?;
        tracing::warn!(family = %token.family_id, "refresh token reuse: login revoked");
        return Err(AppError::Unauthenticated("refresh token was already used; this login has been ended".into()));
    }
    if let Some(o) = crate::org::store::organization(org, &tx).await?
        && o.status != crate::org::store::ORG_ACTIVE
    {
        return Err(AppError::Suspended(o.slug));
    }
    let member = crate::org::store::find_member(org, &tx, token.member_id).await?;
    let Some(member) = member.filter(|m| m.active) else {
        return Err(refused());
    };
    let tokens = issue_tokens(jwt, &tx, member, token.family_id).await?;
    tx.commit().await.map_err(AppError::from)?;
    Ok(tokens)
}

/// Ends the login a refresh token belongs to; whether one was ended (false when the token was
/// unknown or already ended).
pub async fn logout(db: &DatabaseConnection, refresh_token: &str) -> AppResult<bool> {
    if refresh_token.len() > 200 {
        return Ok(false);
    }
    let tx = crate::db::begin_write(db).await.map_err(AppError::from)?;
    let revoked = match store::find_by_secret(&tx, refresh_token).await? {
        Some(t) => store::revoke_family(OrgId(t.organization_id), &tx, t.family_id).await? > 0,
        None => false,
    };
    tx.commit().await.map_err(AppError::from)?;
    Ok(revoked)
}

/// Changes the signed-in member's password and ends all their logins (recorded in the audit
/// log as `member.changePassword`, without the password). A wrong current password counts as a
/// failed sign-in, throttled as [`login`] is.
pub async fn change_password(
    db: &DatabaseConnection,
    bus: &EventBus,
    attempts: Attempts<'_>,
    p: &Principal,
    cmd: ChangePassword,
) -> AppResult<Throttleable<Checked<member::Model>>> {
    let member = crate::org::store::find_member(p.org, db, p.member_id).await?.ok_or(AppError::NotFound("member"))?;
    let hash = member.password_hash.clone().unwrap_or_else(|| DUMMY_HASH.to_owned());
    // A stolen access token must not become a way to guess the password: the same throttle as
    // `login`, keyed by the member.
    let account = format!("member\n{}", p.member_id);
    let Attempts { throttle, address } = attempts;
    if let Err(t) = throttle.check(&account, address, Instant::now()) {
        return Ok(Err(t));
    }
    let mut errors = Vec::new();
    if cmd.current_password.len() > 1000 || !password::verify(cmd.current_password, hash).await? {
        throttle.failed(&account, address, Instant::now());
        errors.push(FieldError::new("currentPassword", "INVALID", "the current password is not correct"));
    }
    if let Err(msg) = password::check_strength(&cmd.new_password, &[&member.name, &member.email]) {
        errors.push(FieldError::new("newPassword", "INVALID", msg));
    }
    if !errors.is_empty() {
        return Ok(Ok(Err(errors)));
    }
    let new_hash = password::hash(cmd.new_password).await?;
    let unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let patch = crate::org::store::MemberPatch { password_hash: Some(new_hash), ..Default::default() };
    let before = member;
    let member = crate::org::store::update_member(p.org, unit.db(), p.member_id, patch, None).await?;
    store::revoke_member(p.org, unit.db(), p.member_id).await?;
    // The entry shows that the password changed (`hasPassword`), never a hash.
    audit_member(&unit, "member.changePassword", Some(&before), &member).await?;
    unit.commit().await?;
    Ok(Ok(Ok(member)))
}

/// Creates an API key (admins signed in as members); only a hash of its secret is kept.
pub async fn create_api_key(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: CreateApiKey,
) -> AppResult<Checked<NewApiKey>> {
    policy::may_create_api_key(p)?;
    let mut e = Vec::new();
    let name = crate::core::field::parse_name("name", &cmd.name).map_err(|x| e.push(x)).ok();
    let scopes = api_keys::parse_scopes(&cmd.scopes).map_err(|x| e.push(x)).ok();
    let (Some(name), Some(scopes), true) = (name, scopes, e.is_empty()) else {
        return Ok(Err(e));
    };
    let unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let (key, secret) = api_keys::create(p.org, unit.db(), name, &scopes, p.member_id).await?;
    unit.audit("apiKey.create", "ApiKey", Some(key.id), None, snapshot(&key)).await?;
    unit.commit().await?;
    Ok(Ok(NewApiKey { key, secret }))
}

/// Revokes an API key (admins signed in as members): it is refused from the next request on.
/// `AccessChanged` is published after the commit.
pub async fn revoke_api_key(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    id: Uuid,
) -> AppResult<Checked<api_key::Model>> {
    policy::may_manage_api_keys(p)?;
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let before = api_keys::find(p.org, unit.db(), id).await?.ok_or(AppError::NotFound("API key"))?;
    if before.revoked_at.is_some() {
        return Ok(Err(vec![FieldError::new("id", "REVOKED", "the key is already revoked")]));
    }
    let after = api_keys::revoke(p.org, unit.db(), id).await?;
    unit.audit("apiKey.revoke", "ApiKey", Some(id), snapshot(&before), snapshot(&after)).await?;
    unit.publish(Event::AccessChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(Ok(after))
}

/// An identity provider's settings, as given.
#[derive(Debug, Clone)]
pub struct SetIdentityProvider {
    /// `iss` of its tokens.
    pub issuer: String,
    /// `aud` its tokens must carry.
    pub audience: String,
    /// Where its keys are published.
    pub jwks_url: Option<String>,
    /// Its keys, inline (a JWKS document).
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

/// Sets the organization's identity provider (admins, not keys). Its keys are fetched (or
/// parsed) now, so a provider that cannot be reached or publishes no usable key is refused
/// before anyone depends on it. Audited; `AccessChanged` follows the commit.
pub async fn set_identity_provider(
    db: &DatabaseConnection,
    bus: &EventBus,
    providers: &super::oidc::ProviderKeys,
    allow_private: bool,
    p: &Principal,
    cmd: SetIdentityProvider,
) -> AppResult<Checked<entity::identity_provider::Model>> {
    use super::model::{check_default_role, parse_identifier};
    policy::may_manage_identity_provider(p)?;
    let mut e = Vec::new();
    let issuer = parse_identifier("issuer", &cmd.issuer).map_err(|x| e.push(x)).ok();
    let audience = parse_identifier("audience", &cmd.audience).map_err(|x| e.push(x)).ok();
    check_default_role(cmd.default_role).map_err(|x| e.push(x)).ok();
    let url = cmd.jwks_url.as_deref().map(str::trim).filter(|u| !u.is_empty());
    let inline = cmd.jwks.as_deref().map(str::trim).filter(|j| !j.is_empty());
    match (url, inline) {
        (Some(_), Some(_)) | (None, None) => {
            e.push(FieldError::new("jwksUrl", "ONE_OF", "give the keys' URL (jwksUrl) or the keys (jwks), one of them"))
        }
        (Some(u), None) => match url::Url::parse(u) {
            Ok(parsed) if parsed.scheme() == "https" || (allow_private && parsed.scheme() == "http") => {
                if let Err(why) = providers.fetch(u).await {
                    e.push(FieldError::new("jwksUrl", "UNREACHABLE", why));
                }
            }
            _ => e.push(FieldError::new("jwksUrl", "INVALID", "must be an https URL")),
        },
        (None, Some(j)) => {
            if let Err(why) = super::oidc::parse_jwks(j) {
                e.push(FieldError::new("jwks", "INVALID", why));
            }
        }
    }
    if let Some(team) = cmd.default_team_id
        && crate::org::store::find_team(p.org, db, team).await?.is_none()
    {
        e.push(FieldError::new("defaultTeamId", "NOT_FOUND", "no such team"));
    }
    let (Some(issuer), Some(audience), true) = (issuer, audience, e.is_empty()) else {
        return Ok(Err(e));
    };
    let settings = store::ProviderSettings {
        issuer,
        audience,
        jwks_url: url.map(str::to_owned),
        jwks: inline.map(str::to_owned),
        member_claim: cmd.member_claim,
        create_members: cmd.create_members,
        default_role: cmd.default_role,
        default_sales_role: cmd.default_sales_role,
        default_team_id: cmd.default_team_id,
    };
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let before = store::provider_of(p.org, unit.db()).await?;
    let after = store::put_provider(p.org, unit.db(), settings).await?;
    unit.audit(
        "identityProvider.set",
        "IdentityProvider",
        Some(after.id),
        before.as_ref().map(provider_snapshot),
        Some(provider_snapshot(&after)),
    )
    .await?;
    unit.publish(Event::AccessChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(Ok(after))
}

/// Removes the organization's identity provider (admins, not keys): its tokens are refused from
/// the next request on. Whether there was one.
pub async fn remove_identity_provider(db: &DatabaseConnection, bus: &EventBus, p: &Principal) -> AppResult<bool> {
    policy::may_manage_identity_provider(p)?;
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let Some(before) = store::provider_of(p.org, unit.db()).await? else { return Ok(false) };
    store::delete_provider(p.org, unit.db()).await?;
    unit.audit("identityProvider.remove", "IdentityProvider", Some(before.id), Some(provider_snapshot(&before)), None)
        .await?;
    unit.publish(Event::AccessChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(true)
}

fn provider_snapshot(m: &entity::identity_provider::Model) -> serde_json::Value {
    serde_json::json!({
        "issuer": m.issuer, "audience": m.audience, "jwksUrl": m.jwks_url, "inlineKeys": m.jwks.is_some(),
        "memberClaim": m.member_claim, "createMembers": m.create_members, "defaultRole": m.default_role,
        "defaultSalesRole": m.default_sales_role, "defaultTeamId": m.default_team_id,
    })
}

/// The member a verified provider token names in `org`: found by the provider's member claim,
/// or created (when the provider creates members) with its default role, sales role and team,
/// in one unit audited as the system. `Err` with the reason when nobody matches.
pub async fn member_for_sign_in(
    db: &DatabaseConnection,
    bus: &EventBus,
    org: OrgId,
    provider: &entity::identity_provider::Model,
    claims: &serde_json::Map<String, serde_json::Value>,
) -> AppResult<Result<member::Model, String>> {
    use super::model::{MemberClaim, sign_in};
    let Some(by) = MemberClaim::parse(&provider.member_claim) else {
        return Ok(Err("the identity provider's member claim is unknown to this server".into()));
    };
    let who = match sign_in(claims, by) {
        Ok(w) => w,
        Err(why) => return Ok(Err(why)),
    };
    let found = match by {
        MemberClaim::Email => crate::org::store::find_member_by_email(org, db, &who.key).await?,
        MemberClaim::Subject => crate::org::store::find_member_by_subject(org, db, &who.key).await?,
    };
    if let Some(m) = found {
        return Ok(Ok(m));
    }
    if !provider.create_members {
        return Ok(Err("no member of this organization matches this sign-in".into()));
    }
    let (Some(email), Some(name)) = (who.email, who.name) else {
        return Ok(Err("a member is created only from a token with a verified e-mail".into()));
    };
    let (Some(role), Some(sales_role)) = (
        crate::core::roles::Role::parse(&provider.default_role).filter(|r| *r != crate::core::roles::Role::Admin),
        crate::core::roles::SalesRole::parse(&provider.default_sales_role),
    ) else {
        return Ok(Err("the identity provider's default roles are unknown to this server".into()));
    };
    let mut unit = Unit::begin(db, bus, org, crate::db::unit::Actor::System).await?;
    if crate::org::store::find_member_by_email(org, unit.db(), &email).await?.is_some() {
        // The e-mail belongs to a member the subject was never recorded for: not taken over.
        return Ok(Err("a member with this e-mail exists, but was not signed in through this provider".into()));
    }
    let settings = crate::core::settings::settings(org, unit.db()).await?;
    let team = match provider.default_team_id {
        Some(t) => crate::org::store::find_team(org, unit.db(), t).await?.map(|t| t.id),
        None => None,
    };
    let new = crate::org::store::NewMember {
        name,
        email,
        role,
        sales_role,
        team_id: team,
        start_date: crate::core::period::local_date(Utc::now(), settings.tz),
        password_hash: None,
        avatar_url: None,
    };
    let created = crate::org::store::create_member(org, unit.db(), new).await?;
    if by == MemberClaim::Subject {
        crate::org::store::set_member_subject(org, unit.db(), created.id, &who.key).await?;
    }
    audit_member(&unit, "member.createOnSignIn", None, &created).await?;
    unit.publish(Event::MembersChanged { org: org.0 });
    unit.commit().await?;
    Ok(Ok(created))
}
