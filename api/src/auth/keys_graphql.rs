//! `apiKeys`, `createApiKey`, `revokeApiKey`: integration keys, managed by admins.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use entity::api_key;

use super::Permission;
use super::{api_keys, policy, service};
use crate::core::field::FieldError;

use crate::graphql::relay::{NodeKind, decode_id, global_id};
use crate::graphql::{ContextExt, UserError};
use crate::org::graphql::Member;

/// An integration key. The secret itself is shown once, by `createApiKey`.
pub struct ApiKey(pub api_key::Model);

/// An integration key. The secret itself is shown once, by `createApiKey`.
#[Object]
impl ApiKey {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::ApiKey, self.0.id)
    }
    /// Name, e.g. "Power BI".
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The public start of the key (`sbk_` and 12 hex digits): tells keys apart in lists and logs.
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }
    /// What it may do: `org:read`, `forecasts:read`, `kpis:read`, `scores:read`, `payouts:read`,
    /// `activities:write`, `deals:write`.
    async fn scopes(&self) -> Vec<String> {
        api_keys::scopes_of(&self.0)
    }
    /// The admin who created it (its writes are recorded under them).
    async fn created_by(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        Ok(crate::org::graphql::member_by_id(ctx, self.0.created_by).await?)
    }
    /// Created at.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Last used (to the minute); `null` if never.
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
    /// Revoked at; a revoked key is refused at once.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
}

/// A new key.
#[derive(InputObject)]
pub struct CreateApiKeyInput {
    /// Name, e.g. "Power BI".
    name: String,
    /// Scopes: `org:read`, `forecasts:read`, `kpis:read`, `scores:read`, `payouts:read`,
    /// `activities:write`, `deals:write`.
    scopes: Vec<String>,
}

/// Revokes a key.
#[derive(InputObject)]
pub struct RevokeApiKeyInput {
    /// The key.
    id: ID,
}

/// Result of `createApiKey`.
#[derive(SimpleObject)]
pub struct CreateApiKeyPayload {
    /// The key; `null` when refused.
    api_key: Option<ApiKey>,
    /// The whole secret, shown this once: send it as `Authorization: Bearer <key>` or `X-Api-Key: <key>`.
    secret: Option<String>,
    /// What to fix.
    user_errors: Vec<UserError>,
}

/// Result of `revokeApiKey`.
#[derive(SimpleObject)]
pub struct RevokeApiKeyPayload {
    /// The key, now revoked.
    api_key: Option<ApiKey>,
    /// What to fix.
    user_errors: Vec<UserError>,
}

/// An API key through `node`: admins signed in as members only, as `apiKeys` (an API key is
/// kept out by the scopes `node` checks first).
pub async fn node(
    p: &super::Principal,
    db: &impl sea_orm::ConnectionTrait,
    id: uuid::Uuid,
) -> crate::core::error::AppResult<Option<ApiKey>> {
    if p.api_key.is_some() || p.require(Permission::OrganizationUpdate).is_err() {
        return Ok(None);
    }
    Ok(api_keys::find(p.org, db, id).await?.map(ApiKey))
}

fn admin_member<'a>(ctx: &'a Context<'_>) -> Result<&'a super::Principal> {
    let p = ctx.principal()?;
    policy::may_manage_api_keys(p)?;
    Ok(p)
}

fn errors(list: Vec<FieldError>) -> Vec<UserError> {
    list.into_iter().map(UserError::from).collect()
}

/// API key queries.
#[derive(Default)]
pub struct ApiKeyQuery;

#[Object]
impl ApiKeyQuery {
    /// The organization's API keys, newest first, revoked ones included (admins).
    async fn api_keys(&self, ctx: &Context<'_>) -> Result<Vec<ApiKey>> {
        let p = admin_member(ctx)?;
        Ok(api_keys::list(p.org, &ctx.state()?.db).await?.into_iter().map(ApiKey).collect())
    }
}

/// API key mutations.
#[derive(Default)]
pub struct ApiKeyMutation;

#[Object]
impl ApiKeyMutation {
    /// Creates a key (admins). The answer carries the secret once; only a hash is kept.
    async fn create_api_key(&self, ctx: &Context<'_>, input: CreateApiKeyInput) -> Result<CreateApiKeyPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let cmd = service::CreateApiKey { name: input.name, scopes: input.scopes };
        Ok(match service::create_api_key(&state.db, &state.events, p, cmd).await? {
            Ok(k) => CreateApiKeyPayload { api_key: Some(ApiKey(k.key)), secret: Some(k.secret), user_errors: vec![] },
            Err(e) => CreateApiKeyPayload { api_key: None, secret: None, user_errors: errors(e) },
        })
    }

    /// Revokes a key (admins): it is refused from the next request on.
    async fn revoke_api_key(&self, ctx: &Context<'_>, input: RevokeApiKeyInput) -> Result<RevokeApiKeyPayload> {
        // Someone who may not manage keys is refused before the ID is read.
        let p = admin_member(ctx)?;
        let state = ctx.state()?;
        let id = decode_id(&input.id, NodeKind::ApiKey)?;
        Ok(match service::revoke_api_key(&state.db, &state.events, p, id).await? {
            Ok(k) => RevokeApiKeyPayload { api_key: Some(ApiKey(k)), user_errors: vec![] },
            Err(e) => RevokeApiKeyPayload { api_key: None, user_errors: errors(e) },
        })
    }
}
