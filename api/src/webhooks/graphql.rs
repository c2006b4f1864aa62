//! `webhooks`, `webhookDeliveries`, `createWebhook`, `testWebhook`, `redeliverWebhook`,
//! `disableWebhook` (admins; not API keys).

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use entity::{webhook, webhook_delivery};

use super::{policy, service, store};
use crate::core::error::AppError;
use crate::core::principal::{Permission, Principal};
use crate::graphql::relay::{NodeKind, PageArgs, decode_id, global_id};
use crate::graphql::{ContextExt, UserError};

/// Where events are sent.
pub struct Webhook(pub webhook::Model);

/// Where events are sent.
#[Object]
impl Webhook {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Webhook, self.0.id)
    }
    /// The receiver (http or https).
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// What it is for.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// Subscribed events.
    async fn events(&self) -> Vec<String> {
        store::events_of(&self.0)
    }
    /// Disabled webhooks get nothing.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// Created at.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// One event sent (or to be sent) to one webhook.
pub struct WebhookDelivery(pub webhook_delivery::Model);

crate::connection_type!(WebhookDeliveryConnection, WebhookDeliveryEdge, WebhookDelivery, "webhook deliveries");

/// One event sent (or to be sent) to one webhook.
#[Object]
impl WebhookDelivery {
    /// Opaque global ID (pass it to `redeliverWebhook`).
    pub async fn id(&self) -> ID {
        global_id(NodeKind::WebhookDelivery, self.0.id)
    }
    /// The webhook.
    async fn webhook_id(&self) -> ID {
        global_id(NodeKind::Webhook, self.0.webhook_id)
    }
    /// The event type, e.g. `deal.won`.
    async fn event_type(&self) -> &str {
        &self.0.event_type
    }
    /// PENDING (queued or waiting to retry), DELIVERED or FAILED (after 8 attempts).
    async fn status(&self) -> &str {
        &self.0.status
    }
    /// Attempts so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// HTTP status of the last attempt.
    async fn last_response_code(&self) -> Option<i32> {
        self.0.last_status_code
    }
    /// Why the last attempt failed.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// The next attempt, while PENDING.
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        (self.0.status == "PENDING").then_some(self.0.next_attempt_at)
    }
    /// The JSON body sent: `{id, type, created, data}`.
    async fn payload(&self) -> async_graphql::Json<serde_json::Value> {
        async_graphql::Json(serde_json::from_str(&self.0.payload).unwrap_or_default())
    }
    /// Queued at.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Delivered at.
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }
}

/// A new webhook.
#[derive(InputObject)]
pub struct CreateWebhookInput {
    /// http or https receiver on an allowed port (80 and 443 unless the operator sets
    /// `WEBHOOK_ALLOWED_PORTS`). Addresses inside private networks are refused, when the webhook
    /// is created and again at every send, unless the operator sets `WEBHOOKS_ALLOW_PRIVATE`.
    url: String,
    /// Events: `activity.logged`, `deal.won`, `deal.lost`, `forecast.submitted`,
    /// `statement.approved`, `alert.raised`.
    events: Vec<String>,
    /// What it is for.
    description: Option<String>,
}

/// A webhook to act on.
#[derive(InputObject)]
pub struct WebhookActionInput {
    /// The webhook.
    id: ID,
}

/// A delivery to send again.
#[derive(InputObject)]
pub struct RedeliverWebhookInput {
    /// The delivery.
    delivery_id: ID,
}

/// Result of `createWebhook`.
#[derive(SimpleObject)]
pub struct CreateWebhookPayload {
    /// The webhook; `null` when refused.
    webhook: Option<Webhook>,
    /// The signing secret, shown this once. Verify `Scorebord-Signature: t=<unix>,v1=<hex>` as
    /// HMAC-SHA256 of `"<t>.<body>"` with it.
    signing_secret: Option<String>,
    /// What to fix.
    user_errors: Vec<UserError>,
}

/// Result of `disableWebhook`.
#[derive(SimpleObject)]
pub struct WebhookPayload {
    /// The webhook.
    webhook: Option<Webhook>,
    /// What to fix.
    user_errors: Vec<UserError>,
}

/// Result of `testWebhook` and `redeliverWebhook`.
#[derive(SimpleObject)]
pub struct WebhookDeliveryPayload {
    /// The queued delivery.
    delivery: Option<WebhookDelivery>,
    /// What to fix.
    user_errors: Vec<UserError>,
}

/// A webhook or one of its deliveries, as `node(id:)` answers.
pub enum WebhookNode {
    /// A webhook.
    Webhook(Webhook),
    /// A delivery of a webhook.
    WebhookDelivery(WebhookDelivery),
}

/// A webhook or delivery through `node`: admins signed in as members only, as `webhooks`.
pub async fn node(
    p: &Principal,
    db: &impl sea_orm::ConnectionTrait,
    kind: NodeKind,
    id: uuid::Uuid,
) -> crate::core::error::AppResult<Option<WebhookNode>> {
    use WebhookNode as Node;
    if p.api_key.is_some() || p.require(Permission::OrganizationUpdate).is_err() {
        return Ok(None);
    }
    Ok(match kind {
        NodeKind::Webhook => store::find(p.org, db, id).await?.map(|w| Node::Webhook(Webhook(w))),
        NodeKind::WebhookDelivery => {
            store::find_delivery(p.org, db, id).await?.map(|d| Node::WebhookDelivery(WebhookDelivery(d)))
        }
        _ => None,
    })
}

/// The caller, when they may manage webhooks (see [`policy::may_manage`]).
fn admin<'a>(ctx: &'a Context<'_>) -> Result<&'a Principal> {
    let p = ctx.principal()?;
    policy::may_manage(p)?;
    Ok(p)
}

/// Webhook queries.
#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// The organization's webhooks (admins).
    async fn webhooks(&self, ctx: &Context<'_>) -> Result<Vec<Webhook>> {
        let p = admin(ctx)?;
        Ok(store::list(p.org, &ctx.state()?.db).await?.into_iter().map(Webhook).collect())
    }

    /// Deliveries, newest first (admins).
    #[graphql(complexity = "crate::graphql::relay::page_cost(__field, first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)] // two filters and the four Relay arguments
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this webhook's.")] webhook_id: Option<ID>,
        #[graphql(desc = "Only PENDING, DELIVERED or FAILED.")] status: Option<String>,
        #[graphql(desc = "Page size from the start, 1 to 200 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end, 1 to 200.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
    ) -> Result<WebhookDeliveryConnection> {
        let p = admin(ctx)?;
        let db = &ctx.state()?.db;
        if status.as_deref().is_some_and(|s| !matches!(s, "PENDING" | "DELIVERED" | "FAILED")) {
            return Err(AppError::bad_input("status is PENDING, DELIVERED or FAILED").into());
        }
        let hook = match &webhook_id {
            Some(id) => Some(
                store::find(p.org, db, decode_id(id, NodeKind::Webhook)?)
                    .await?
                    .ok_or(AppError::NotFound("webhook"))?
                    .id,
            ),
            None => None,
        };
        let page = PageArgs::asked(ctx, first, after, last, before);
        page.validate()?;
        let rows = store::page_deliveries(p.org, db, hook, status.as_deref(), &page).await?;
        Ok(crate::graphql::relay::connection(ctx, rows, WebhookDelivery).into())
    }
}

/// Webhook mutations.
#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Creates a webhook (admins). The answer carries the signing secret once.
    async fn create_webhook(&self, ctx: &Context<'_>, input: CreateWebhookInput) -> Result<CreateWebhookPayload> {
        let p = admin(ctx)?;
        let state = ctx.state()?;
        let cmd = service::CreateWebhook { url: input.url, events: input.events, description: input.description };
        Ok(match service::create(&state.db, &state.events, &state.config, p, cmd).await? {
            Ok(w) => {
                let secret = w.secret.clone();
                CreateWebhookPayload { webhook: Some(Webhook(w)), signing_secret: Some(secret), user_errors: vec![] }
            }
            Err(e) => {
                let user_errors = e.into_iter().map(UserError::from).collect();
                CreateWebhookPayload { webhook: None, signing_secret: None, user_errors }
            }
        })
    }

    /// Queues a `webhook.ping` to the webhook (admins).
    async fn test_webhook(&self, ctx: &Context<'_>, input: WebhookActionInput) -> Result<WebhookDeliveryPayload> {
        let p = admin(ctx)?;
        let id = decode_id(&input.id, NodeKind::Webhook)?;
        let d = service::test(&ctx.state()?.db, p, id).await?;
        Ok(WebhookDeliveryPayload { delivery: Some(WebhookDelivery(d)), user_errors: vec![] })
    }

    /// Queues a delivery again, same body and event ID (admins).
    async fn redeliver_webhook(
        &self,
        ctx: &Context<'_>,
        input: RedeliverWebhookInput,
    ) -> Result<WebhookDeliveryPayload> {
        let p = admin(ctx)?;
        let id = decode_id(&input.delivery_id, NodeKind::WebhookDelivery)?;
        let again = service::redeliver(&ctx.state()?.db, p, id).await?;
        Ok(WebhookDeliveryPayload { delivery: Some(WebhookDelivery(again)), user_errors: vec![] })
    }

    /// Stops deliveries to a webhook (admins); queued ones fail without being sent.
    async fn disable_webhook(&self, ctx: &Context<'_>, input: WebhookActionInput) -> Result<WebhookPayload> {
        let p = admin(ctx)?;
        let state = ctx.state()?;
        let id = decode_id(&input.id, NodeKind::Webhook)?;
        let after = service::disable(&state.db, &state.events, p, id).await?;
        Ok(WebhookPayload { webhook: Some(Webhook(after)), user_errors: vec![] })
    }
}
