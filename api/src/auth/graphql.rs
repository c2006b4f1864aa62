//! Sign-in and "who am I": `viewer`, `login`, `refreshToken`, `logout`, `changePassword`.

use async_graphql::{Context, ErrorExtensions as _, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use std::time::Instant;

use super::{Permission, password, store, throttle};
use crate::core::error::AppError;
use crate::core::field::FieldError;
use crate::core::ids::OrgId;
use crate::core::roles::Role;
use crate::graphql::{ContextExt, UserError};
use crate::org::graphql::{Member, Organization};
use crate::state::AppState;

/// Lifetime of an access token issued by `login` and `refreshToken`.
pub const ACCESS_TOKEN_TTL_MINUTES: i64 = 15;

/// A PHC hash of a random password, checked when the member does not exist so that an
/// unknown e-mail takes as long as a wrong password.
pub(crate) const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2NvcmVib3JkZHVtbXk$yRZ3Nvq9sV0MPmLHLyj2zYWZKjvMt3xw9e3VZrV7nD0";

/// Who is asking: the member behind the token, their organization and what they may do.
pub struct Viewer {
    member: entity::member::Model,
    org: OrgId,
    role: Role,
}

/// Who is asking: the member behind the token, their organization and what they may do.
#[Object]
impl Viewer {
    /// The signed-in member.
    async fn member(&self) -> Member {
        Member(self.member.clone())
    }
    /// Their organization.
    async fn organization(&self, ctx: &Context<'_>) -> Result<Organization> {
        let org = crate::org::store::organization(self.org, &ctx.state()?.db)
            .await?
            .ok_or(AppError::NotFound("organization"))?;
        Ok(Organization(org))
    }
    /// Their role.
    async fn role(&self) -> Role {
        self.role
    }
    /// What the role allows; managers' write permissions apply inside their subtree only.
    async fn permissions(&self) -> Vec<Permission> {
        Permission::granted_to(self.role)
    }
}

/// `viewer`.
#[derive(Default)]
pub struct AuthQuery;

#[Object]
impl AuthQuery {
    /// The signed-in member, their organization, role and permissions.
    async fn viewer(&self, ctx: &Context<'_>) -> Result<Viewer> {
        let p = ctx.principal()?;
        let member = crate::org::store::find_member(p.org, &ctx.state()?.db, p.member_id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        Ok(Viewer { member, org: p.org, role: p.role })
    }
}

/// Credentials for `login`.
#[derive(InputObject)]
pub struct LoginInput {
    /// The organization's slug.
    organization_slug: String,
    /// The member's e-mail.
    email: String,
    /// The member's password.
    password: String,
}

/// A rotated refresh token.
#[derive(InputObject)]
pub struct RefreshTokenInput {
    /// The refresh token from `login` or the previous `refreshToken`. Each works once.
    refresh_token: String,
}

/// Ends a login.
#[derive(InputObject)]
pub struct LogoutInput {
    /// Any refresh token of the login to end.
    refresh_token: String,
}

/// A password change.
#[derive(InputObject)]
pub struct ChangePasswordInput {
    /// The current password.
    current_password: String,
    /// The new password (at least 8 characters).
    new_password: String,
}

/// Tokens for a signed-in member.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// Send as `Authorization: Bearer <accessToken>`; valid 15 minutes.
    access_token: String,
    /// When the access token expires.
    access_token_expires_at: DateTime<Utc>,
    /// Exchange once for new tokens with `refreshToken`; valid 30 days. Reusing an old one ends the login.
    refresh_token: String,
    /// When the refresh token expires.
    refresh_token_expires_at: DateTime<Utc>,
    /// The signed-in member.
    member: Member,
}

/// Result of `logout`.
#[derive(SimpleObject)]
pub struct LogoutPayload {
    /// Whether a login was ended (false when the token was unknown or already ended).
    revoked: bool,
}

/// Result of `changePassword`.
#[derive(SimpleObject)]
pub struct ChangePasswordPayload {
    /// The member; `null` when refused.
    member: Option<Member>,
    /// What to fix; empty on success.
    user_errors: Vec<UserError>,
}

fn invalid_credentials() -> AppError {
    AppError::Unauthenticated("invalid organization, e-mail or password".into())
}

async fn issue_tokens(
    state: &AppState,
    tx: &sea_orm::DatabaseTransaction,
    member: entity::member::Model,
    family: Uuid,
) -> Result<AuthPayload, AppError> {
    let org = OrgId(member.organization_id);
    let ttl = Duration::minutes(ACCESS_TOKEN_TTL_MINUTES);
    let access_token = state.jwt.issue(member.id, org.0, ttl)?;
    let (refresh_token, refresh_token_expires_at) = store::issue_refresh_token(org, tx, member.id, family).await?;
    Ok(AuthPayload {
        access_token,
        access_token_expires_at: Utc::now() + ttl,
        refresh_token,
        refresh_token_expires_at,
        member: Member(member),
    })
}

/// RATE_LIMITED for a throttled sign-in or password check, with the seconds to wait.
fn throttled(t: throttle::Throttled) -> async_graphql::Error {
    let wait = t.retry_after_seconds.ceil();
    tracing::warn!(retry_after_seconds = wait, "password attempt throttled after repeated failures");
    async_graphql::Error::new(format!("too many failed password attempts; retry in {wait} seconds")).extend_with(
        |_, e| {
            e.set("code", AppError::RateLimited.code());
            e.set("retryAfterSeconds", wait);
        },
    )
}

/// Sign-in mutations.
#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Signs in with e-mail and password. Wrong credentials, an unknown organization and a
    /// deactivated member all answer the same UNAUTHENTICATED error. Repeated failures are
    /// throttled per account and per client address: then RATE_LIMITED with
    /// `extensions.retryAfterSeconds`, before the password is even checked.
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> Result<AuthPayload> {
        let state = ctx.state()?;
        if !state.jwt.can_issue() {
            return Err(AppError::forbidden("this server does not issue tokens (no JWT_SECRET)").into());
        }
        if input.password.len() > 1000 || input.email.len() > 254 || input.organization_slug.len() > 63 {
            return Err(invalid_credentials().into());
        }
        let email = input.email.trim().to_lowercase();
        let account = throttle::account_key(&input.organization_slug, &email);
        let address = ctx.data_opt::<throttle::ClientAddress>().and_then(|a| a.0);
        state.login_throttle.check(&account, address, Instant::now()).map_err(throttled)?;
        let member = match crate::org::store::find_org_by_slug(&state.db, input.organization_slug.trim()).await? {
            Some(org) => crate::org::store::find_member_by_email(OrgId(org.id), &state.db, &email).await?,
            None => None,
        };
        let hash = member.as_ref().and_then(|m| m.password_hash.clone()).unwrap_or_else(|| DUMMY_HASH.to_owned());
        let password_ok = password::verify(input.password, hash).await?;
        let Some(member) = member.filter(|m| password_ok && m.active && m.password_hash.is_some()) else {
            state.login_throttle.failed(&account, address, Instant::now());
            return Err(invalid_credentials().into());
        };
        state.login_throttle.succeeded(&account);
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        let payload = issue_tokens(state, &tx, member, Uuid::now_v7()).await?;
        tx.commit().await.map_err(AppError::from)?;
        Ok(payload)
    }

    /// Exchanges a refresh token for new tokens. Each refresh token works once; presenting
    /// one that was already used ends the whole login (all its tokens), since it was replayed.
    async fn refresh_token(&self, ctx: &Context<'_>, input: RefreshTokenInput) -> Result<AuthPayload> {
        let state = ctx.state()?;
        let refused = || AppError::Unauthenticated("refresh token is invalid, expired or revoked".into());
        if input.refresh_token.len() > 200 {
            return Err(refused().into());
        }
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        let Some(token) = store::find_by_secret(&tx, &input.refresh_token).await? else {
            return Err(refused().into());
        };
        let org = OrgId(token.organization_id);
        if token.revoked_at.is_some() || token.expires_at <= Utc::now() {
            return Err(refused().into());
        }
        if token.used_at.is_some() || !store::mark_used(org, &tx, token.id).await? {
            store::revoke_family(org, &tx, token.family_id).await?;
            tx.commit().await.map_err(AppError::from)?;
            tracing::warn!(family = %token.family_id, "refresh token reuse: login revoked");
            return Err(
                AppError::Unauthenticated("refresh token was already used; this login has been ended".into()).into()
            );
        }
        let member = crate::org::store::find_member(org, &tx, token.member_id).await?;
        let Some(member) = member.filter(|m| m.active) else {
            return Err(refused().into());
        };
        let payload = issue_tokens(state, &tx, member, token.family_id).await?;
        tx.commit().await.map_err(AppError::from)?;
        Ok(payload)
    }

    /// Ends the login a refresh token belongs to. Access tokens already issued stay valid
    /// until they expire (at most 15 minutes).
    async fn logout(&self, ctx: &Context<'_>, input: LogoutInput) -> Result<LogoutPayload> {
        let state = ctx.state()?;
        if input.refresh_token.len() > 200 {
            return Ok(LogoutPayload { revoked: false });
        }
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        let revoked = match store::find_by_secret(&tx, &input.refresh_token).await? {
            Some(t) => store::revoke_family(OrgId(t.organization_id), &tx, t.family_id).await? > 0,
            None => false,
        };
        tx.commit().await.map_err(AppError::from)?;
        Ok(LogoutPayload { revoked })
    }

    /// Changes the viewer's password and ends all their logins (recorded in the audit log as
    /// `member.changePassword`, without the password). A wrong current password counts
    /// as a failed sign-in: repeated ones answer RATE_LIMITED, as `login` does.
    async fn change_password(&self, ctx: &Context<'_>, input: ChangePasswordInput) -> Result<ChangePasswordPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let member =
            crate::org::store::find_member(p.org, &state.db, p.member_id).await?.ok_or(AppError::NotFound("member"))?;
        let hash = member.password_hash.clone().unwrap_or_else(|| DUMMY_HASH.to_owned());
        // A stolen access token must not become a way to guess the password: the same
        // throttle as `login`, keyed by the member.
        let account = format!("member\n{}", p.member_id);
        let address = ctx.data_opt::<throttle::ClientAddress>().and_then(|a| a.0);
        state.login_throttle.check(&account, address, Instant::now()).map_err(throttled)?;
        let mut errors: Vec<UserError> = Vec::new();
        if input.current_password.len() > 1000 || !password::verify(input.current_password, hash).await? {
            state.login_throttle.failed(&account, address, Instant::now());
            errors.push(FieldError::new("currentPassword", "INVALID", "the current password is not correct").into());
        }
        if let Err(msg) = password::check_strength(&input.new_password, &[&member.name, &member.email]) {
            errors.push(FieldError::new("newPassword", "INVALID", msg).into());
        }
        if !errors.is_empty() {
            return Ok(ChangePasswordPayload { member: None, user_errors: errors });
        }
        let new_hash = password::hash(input.new_password).await?;
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        let patch = crate::org::store::MemberPatch { password_hash: Some(new_hash), ..Default::default() };
        let before = member;
        let member = crate::org::store::update_member(p.org, &tx, p.member_id, patch, None).await?;
        store::revoke_member(p.org, &tx, p.member_id).await?;
        // The entry shows that the password changed (`hasPassword`), never a hash.
        crate::org::members::record(p, &tx, "member.changePassword", Some(&before), &member).await?;
        tx.commit().await.map_err(AppError::from)?;
        Ok(ChangePasswordPayload { member: Some(Member(member)), user_errors: vec![] })
    }
}
