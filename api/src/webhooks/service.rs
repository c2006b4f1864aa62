//! The webhook use-cases that write: creating one (its destination vetted first), queueing a
//! ping or a redelivery, and disabling one. Creating and disabling run in one [`Unit`] with
//! their audit entry; subscribers hear of them after the commit.

use sea_orm::DatabaseConnection;
use uuid::Uuid;

use entity::{webhook, webhook_delivery};

use super::{destination, model, policy, store};
use crate::config::Config;
use crate::core::error::{AppError, AppResult};
use crate::core::field::{Checked, FieldError};
use crate::core::principal::Principal;
use crate::db::unit::{Unit, snapshot};
use crate::events::{Event, EventBus};

/// A webhook to create.
#[derive(Debug, Clone)]
pub struct CreateWebhook {
    /// The receiver, as given.
    pub url: String,
    /// The events it subscribes to, as given.
    pub events: Vec<String>,
    /// What it is for.
    pub description: Option<String>,
}

/// Creates a webhook, after checking its address (refused inside private networks unless the
/// operator allows them). The model carries the signing secret.
pub async fn create(
    db: &DatabaseConnection,
    bus: &EventBus,
    config: &Config,
    p: &Principal,
    cmd: CreateWebhook,
) -> AppResult<Checked<webhook::Model>> {
    policy::may_manage(p)?;
    let mut e = Vec::new();
    let url = model::parse_url(&cmd.url).map_err(|x| e.push(x)).ok();
    if let Some(u) = &url
        && let Err(refused) = destination::check_destination(u.as_str(), config).await
    {
        e.push(FieldError::new("url", refused.code, refused.message));
    }
    let events = model::parse_events(&cmd.events).map_err(|x| e.push(x)).ok();
    let description = crate::core::field::parse_free_text("description", cmd.description.as_deref(), 500)
        .map_err(|x| e.push(x))
        .ok()
        .flatten();
    let (Some(url), Some(events), true) = (url, events, e.is_empty()) else {
        return Ok(Err(e));
    };
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let w = store::create(p.org, unit.db(), url.to_string(), &events, description, p.member_id).await?;
    unit.audit("webhook.create", "Webhook", Some(w.id), None, snapshot(&w)).await?;
    unit.publish(Event::RulesChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(Ok(w))
}

/// Queues a `webhook.ping` to the webhook `id`.
pub async fn test(db: &DatabaseConnection, p: &Principal, id: Uuid) -> AppResult<webhook_delivery::Model> {
    policy::may_manage(p)?;
    let w = store::find(p.org, db, id).await?.ok_or(AppError::NotFound("webhook"))?;
    store::ping(p.org, db, &w).await
}

/// Queues the delivery `id` again, same body and event ID.
pub async fn redeliver(db: &DatabaseConnection, p: &Principal, id: Uuid) -> AppResult<webhook_delivery::Model> {
    policy::may_manage(p)?;
    let d = store::find_delivery(p.org, db, id).await?.ok_or(AppError::NotFound("delivery"))?;
    store::redeliver(p.org, db, &d).await
}

/// Stops deliveries to the webhook `id`; queued ones fail without being sent.
pub async fn disable(db: &DatabaseConnection, bus: &EventBus, p: &Principal, id: Uuid) -> AppResult<webhook::Model> {
    policy::may_manage(p)?;
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let before = store::find(p.org, unit.db(), id).await?.ok_or(AppError::NotFound("webhook"))?;
    let after = store::set_active(p.org, unit.db(), id, false).await?;
    unit.audit("webhook.disable", "Webhook", Some(id), snapshot(&before), snapshot(&after)).await?;
    unit.publish(Event::RulesChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(after)
}
