//! `identityProvider`, `setIdentityProvider`, `removeIdentityProvider`: an organization's own
//! OpenID Connect provider, managed by its admins (never by API keys).

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use entity::identity_provider;

use super::model::MemberClaim;
use super::{policy, service, store};
use crate::core::roles::{Role, SalesRole};
use crate::graphql::relay::{NodeKind, decode_id, global_id};
use crate::graphql::{ContextExt, UserError};

/// An organization's own OpenID Connect provider: its tokens sign members in when they name
/// the organization (the `X-Scorebord-Organization` header, or an `org` claim).
pub struct IdentityProvider(identity_provider::Model);

/// An organization's own OpenID Connect provider: its tokens sign members in when they name
/// the organization (the `X-Scorebord-Organization` header, or an `org` claim).
#[Object]
impl IdentityProvider {
    /// The `iss` its tokens carry (compared exactly).
    async fn issuer(&self) -> &str {
        &self.0.issuer
    }
    /// The `aud` its tokens must carry.
    async fn audience(&self) -> &str {
        &self.0.audience
    }
    /// Where its keys are fetched from (kept, and fetched again when a token names an unknown
    /// key); `null` when the keys were given inline.
    async fn jwks_url(&self) -> Option<&str> {
        self.0.jwks_url.as_deref()
    }
    /// Whether its keys were given inline (`jwks`).
    async fn has_inline_keys(&self) -> bool {
        self.0.jwks.is_some()
    }
    /// The claim that names the member; `null` if the stored value is unknown (then nobody
    /// signs in through it).
    async fn member_claim(&self) -> Option<MemberClaim> {
        MemberClaim::parse(&self.0.member_claim)
    }
    /// Whether a first sign-in of someone without a member creates one.
    async fn create_members(&self) -> bool {
        self.0.create_members
    }
    /// Role of a member created at sign-in.
    async fn default_role(&self) -> Option<Role> {
        Role::parse(&self.0.default_role)
    }
    /// Sales role of a member created at sign-in.
    async fn default_sales_role(&self) -> Option<SalesRole> {
        SalesRole::parse(&self.0.default_sales_role)
    }
    /// Team of a member created at sign-in, if any.
    async fn default_team_id(&self) -> Option<ID> {
        self.0.default_team_id.map(|t| global_id(NodeKind::Team, t))
    }
    /// Moves on with every change.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// Last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// `identityProvider`.
#[derive(Default)]
pub struct IdentityProviderQuery;

#[Object]
impl IdentityProviderQuery {
    /// The organization's identity provider; `null` when it has none (admins).
    async fn identity_provider(&self, ctx: &Context<'_>) -> Result<Option<IdentityProvider>> {
        let p = ctx.principal()?;
        policy::may_manage_identity_provider(p)?;
        Ok(store::provider_of(p.org, &ctx.state()?.db).await?.map(IdentityProvider))
    }
}

/// An organization's identity provider.
#[derive(InputObject)]
pub struct SetIdentityProviderInput {
    /// The `iss` its tokens carry, e.g. `https://login.acme.nl/`.
    issuer: String,
    /// The `aud` its tokens must carry (the client ID the provider gave the front end).
    audience: String,
    /// Where its keys are published (https; a JWKS). Give this or `jwks`.
    jwks_url: Option<String>,
    /// Its keys as a JWKS document (JSON text). Give this or `jwksUrl`.
    jwks: Option<String>,
    /// The claim that names the member.
    #[graphql(default_with = "MemberClaim::Email")]
    member_claim: MemberClaim,
    /// Create the member at the first sign-in of someone without one (needs a verified e-mail).
    #[graphql(default = false)]
    create_members: bool,
    /// Role of members created at sign-in (not `ADMIN`).
    #[graphql(default_with = "Role::Rep")]
    default_role: Role,
    /// Sales role of members created at sign-in.
    #[graphql(default_with = "SalesRole::Outbound")]
    default_sales_role: SalesRole,
    /// Team of members created at sign-in.
    default_team_id: Option<ID>,
}

/// The result of `setIdentityProvider`.
#[derive(SimpleObject, Default)]
pub struct SetIdentityProviderPayload {
    /// The provider as it is now; `null` when refused.
    identity_provider: Option<IdentityProvider>,
    /// What to fix: `UNREACHABLE` (its keys could not be fetched), `INVALID`, `ONE_OF`,
    /// `NOT_ALLOWED`; empty on success.
    user_errors: Vec<UserError>,
}

/// The result of `removeIdentityProvider`.
#[derive(SimpleObject)]
pub struct RemoveIdentityProviderPayload {
    /// Whether there was one to remove.
    removed: bool,
}

/// Identity provider mutations.
#[derive(Default)]
pub struct IdentityProviderMutation;

#[Object]
impl IdentityProviderMutation {
    /// Sets the organization's identity provider (admins, not API keys). Its keys are fetched
    /// now: an unreachable provider or one without a usable key is refused with a user error.
    async fn set_identity_provider(
        &self,
        ctx: &Context<'_>,
        input: SetIdentityProviderInput,
    ) -> Result<SetIdentityProviderPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let default_team_id = match &input.default_team_id {
            Some(id) => Some(decode_id(id, NodeKind::Team)?),
            None => None,
        };
        let cmd = service::SetIdentityProvider {
            issuer: input.issuer,
            audience: input.audience,
            jwks_url: input.jwks_url,
            jwks: input.jwks,
            member_claim: input.member_claim,
            create_members: input.create_members,
            default_role: input.default_role,
            default_sales_role: input.default_sales_role,
            default_team_id,
        };
        let allow_private = state.config.webhooks_allow_private;
        Ok(
            match service::set_identity_provider(&state.db, &state.events, &state.providers, allow_private, p, cmd)
                .await?
            {
                Ok(m) => {
                    SetIdentityProviderPayload { identity_provider: Some(IdentityProvider(m)), user_errors: Vec::new() }
                }
                Err(e) => SetIdentityProviderPayload {
                    identity_provider: None,
                    user_errors: e.into_iter().map(UserError::from).collect(),
                },
            },
        )
    }

    /// Removes the organization's identity provider (admins, not API keys): its tokens are
    /// refused from the next request on.
    async fn remove_identity_provider(&self, ctx: &Context<'_>) -> Result<RemoveIdentityProviderPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        Ok(RemoveIdentityProviderPayload {
            removed: service::remove_identity_provider(&state.db, &state.events, p).await?,
        })
    }
}
