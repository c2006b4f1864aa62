//! Sign-in and "who am I": `viewer`, `login`, `refreshToken`, `logout`, `changePassword`.

use async_graphql::{Context, ErrorExtensions as _, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::{Permission, service, throttle};
use crate::core::error::AppError;
use crate::core::roles::Role;
use crate::graphql::{ContextExt, UserError};
use crate::org::graphql::{Member, Organization};
use crate::state::AppState;

/// Who is asking: the member behind the token, their organization and what they may do.
pub struct Viewer {
    member: entity::member::Model,
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
        Ok(Organization(crate::org::graphql::directory(ctx).await?.organization.clone()))
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
        let member = crate::org::graphql::member_by_id(ctx, p.member_id).await?.ok_or(AppError::NotFound("member"))?.0;
        Ok(Viewer { member, role: p.role })
    }
}

/// A firm's staff member's credentials, for `firmLogin`.
#[derive(InputObject)]
pub struct FirmLoginInput {
    /// The firm's slug.
    firm_slug: String,
    /// The staff member's e-mail.
    email: String,
    /// The staff member's password.
    password: String,
    /// A client of the firm to act in (its slug); leave it out for the firm's own
    /// operations.
    organization: Option<String>,
}

/// A signed-in staff member's access token.
#[derive(SimpleObject)]
pub struct FirmAuthPayload {
    /// Send it as `Authorization: Bearer <token>`.
    access_token: String,
    /// When it expires (15 minutes).
    access_token_expires_at: DateTime<Utc>,
    /// The client it acts in, if one was chosen.
    organization_slug: Option<String>,
}

/// Credentials for `login`.
#[derive(InputObject)]
pub struct LoginInput {
    /// The organization's slug; may be left out on a verified host of the organization (its
    /// front end's own host name), which then names it.
    organization_slug: Option<String>,
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

impl From<service::Tokens> for AuthPayload {
    fn from(t: service::Tokens) -> Self {
        AuthPayload {
            access_token: t.access_token,
            access_token_expires_at: t.access_token_expires_at,
            refresh_token: t.refresh_token,
            refresh_token_expires_at: t.refresh_token_expires_at,
            member: Member(t.member),
        }
    }
}

/// Where this request's password attempts are counted.
fn attempts<'a>(ctx: &Context<'_>, state: &'a AppState) -> service::Attempts<'a> {
    let address = ctx.data_opt::<throttle::ClientAddress>().and_then(|a| a.0);
    service::Attempts { throttle: &state.login_throttle, address }
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
        let host = ctx.data_opt::<crate::graphql::RequestHost>().and_then(|h| h.0);
        let host_slug = match host {
            Some(org) => crate::org::store::organization(org, &state.db).await?.map(|o| o.slug),
            None => None,
        };
        let organization_slug = match (input.organization_slug, host_slug) {
            (Some(slug), Some(here)) if slug.trim() != here => {
                return Err(AppError::bad_input("this host serves another organization than the one named").into());
            }
            (Some(slug), _) => slug,
            (None, Some(here)) => here,
            (None, None) => {
                return Err(AppError::bad_input(
                    "organizationSlug is required: this host names no organization (add and verify it with addOrganizationDomain)",
                )
                .into());
            }
        };
        let cmd = service::Login { organization_slug, email: input.email, password: input.password };
        match service::login(&state.db, &state.jwt, attempts(ctx, state), cmd).await? {
            Ok(tokens) => Ok(tokens.into()),
            Err(t) => Err(throttled(t)),
        }
    }

    /// Signs a consulting firm's staff member in with e-mail and password, for the firm's own
    /// operations or, with `organization`, to act in that client (where they must hold a role).
    /// With the token, `X-Scorebord-Organization: <client slug or ID>` chooses the client per
    /// request instead. Wrong credentials all answer the same UNAUTHENTICATED error and are
    /// throttled as `login` is. No refresh token: sign in again after 15 minutes.
    async fn firm_login(&self, ctx: &Context<'_>, input: FirmLoginInput) -> Result<FirmAuthPayload> {
        let state = ctx.state()?;
        let cmd = service::FirmLogin {
            firm_slug: input.firm_slug,
            email: input.email,
            password: input.password,
            organization: input.organization,
        };
        match service::firm_login(&state.db, &state.jwt, attempts(ctx, state), cmd).await? {
            Ok(t) => Ok(FirmAuthPayload {
                access_token: t.access_token,
                access_token_expires_at: t.access_token_expires_at,
                organization_slug: t.organization.map(|o| o.slug),
            }),
            Err(t) => Err(throttled(t)),
        }
    }

    /// Exchanges a refresh token for new tokens. Each refresh token works once; presenting
    /// one that was already used ends the whole login (all its tokens), since it was replayed.
    async fn refresh_token(&self, ctx: &Context<'_>, input: RefreshTokenInput) -> Result<AuthPayload> {
        let state = ctx.state()?;
        Ok(service::refresh(&state.db, &state.jwt, &input.refresh_token).await?.into())
    }

    /// Ends the login a refresh token belongs to. Access tokens already issued stay valid
    /// until they expire (at most 15 minutes).
    async fn logout(&self, ctx: &Context<'_>, input: LogoutInput) -> Result<LogoutPayload> {
        let state = ctx.state()?;
        Ok(LogoutPayload { revoked: service::logout(&state.db, &input.refresh_token).await? })
    }

    /// Changes the viewer's password and ends all their logins (recorded in the audit log as
    /// `member.changePassword`, without the password). A wrong current password counts
    /// as a failed sign-in: repeated ones answer RATE_LIMITED, as `login` does.
    async fn change_password(&self, ctx: &Context<'_>, input: ChangePasswordInput) -> Result<ChangePasswordPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let cmd =
            service::ChangePassword { current_password: input.current_password, new_password: input.new_password };
        Ok(match service::change_password(&state.db, &state.events, attempts(ctx, state), p, cmd).await? {
            Err(t) => return Err(throttled(t)),
            Ok(Ok(member)) => ChangePasswordPayload { member: Some(Member(member)), user_errors: vec![] },
            Ok(Err(e)) => {
                ChangePasswordPayload { member: None, user_errors: e.into_iter().map(UserError::from).collect() }
            }
        })
    }
}
