//! Tenant-scoped webhooks and the delivery queue. Events are enqueued in the transaction of the
//! change they announce (an outbox), so a committed change always gets its deliveries and a
//! rolled-back one never does.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use entity::{webhook, webhook_delivery};

use crate::core::error::{AppError, AppResult};
use crate::core::ids::OrgId;
use crate::db::tenant;
use crate::graphql::keyset::{self, KeyKind, KeyValue, Keyset, Page, SortColumn};
use crate::graphql::relay::PageArgs;

/// The organization's webhooks, newest first.
pub async fn list(org: OrgId, db: &impl ConnectionTrait) -> AppResult<Vec<webhook::Model>> {
    Ok(tenant::scoped::<webhook::Entity>(org)
        .order_by_desc(webhook::Column::CreatedAt)
        .order_by_desc(webhook::Column::Id)
        .all(db)
        .await?)
}

/// One webhook.
pub async fn find(org: OrgId, db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<webhook::Model>> {
    Ok(tenant::scoped_by_id::<webhook::Entity>(org, id).one(db).await?)
}

/// Stores a webhook with a fresh signing secret.
pub async fn create(
    org: OrgId,
    db: &impl ConnectionTrait,
    url: String,
    events: &[String],
    description: Option<String>,
    by: Uuid,
) -> AppResult<webhook::Model> {
    let secret: String = {
        use rand::Rng;
        let mut rng = rand::rng();
        (0..32).map(|_| format!("{:02x}", rng.random::<u8>())).collect()
    };
    Ok(webhook::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        url: Set(url),
        description: Set(description),
        events: Set(serde_json::to_string(events).unwrap_or_else(|_| "[]".into())),
        secret: Set(format!("whsec_{secret}")),
        active: Set(true),
        created_by: Set(by),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?)
}

/// Stops (or restarts) deliveries to a webhook.
pub async fn set_active(org: OrgId, db: &impl ConnectionTrait, id: Uuid, active: bool) -> AppResult<webhook::Model> {
    tenant::scoped_update::<webhook::Entity>(org)
        .set(webhook::ActiveModel { active: Set(active), ..Default::default() })
        .filter(webhook::Column::Id.eq(id))
        .exec(db)
        .await?;
    find(org, db, id).await?.ok_or(AppError::NotFound("webhook"))
}

/// Whether the webhook is active and receives `event_type`.
pub fn subscribed(w: &webhook::Model, event_type: &str) -> bool {
    w.active && events_of(w).iter().any(|e| e == event_type)
}

/// The events of a webhook.
pub fn events_of(w: &webhook::Model) -> Vec<String> {
    serde_json::from_str(&w.events).unwrap_or_default()
}

/// The JSON body of an event: `{id, type, created, data}`.
pub fn body(event_id: Uuid, event_type: &str, created: DateTime<Utc>, data: serde_json::Value) -> String {
    serde_json::json!({ "id": event_id, "type": event_type, "created": created, "data": data }).to_string()
}

async fn insert_delivery(
    org: OrgId,
    db: &impl ConnectionTrait,
    webhook_id: Uuid,
    event_type: &str,
    payload: String,
) -> AppResult<webhook_delivery::Model> {
    Ok(new_delivery(org, webhook_id, event_type, payload).insert(db).await?)
}

/// Rows per multi-row INSERT of deliveries (13 columns each, far below SQLite's parameter bound).
const DELIVERY_CHUNK: usize = 250;

/// A pending delivery, not yet stored.
fn new_delivery(org: OrgId, webhook_id: Uuid, event_type: &str, payload: String) -> webhook_delivery::ActiveModel {
    let now = Utc::now();
    webhook_delivery::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        webhook_id: Set(webhook_id),
        event_type: Set(event_type.to_owned()),
        payload: Set(payload),
        status: Set("PENDING".to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        locked_until: Set(None),
        last_status_code: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        delivered_at: Set(None),
    }
}

/// Queues an event for every active webhook of the organization that subscribed to it. Call it
/// inside the transaction of the change.
pub async fn enqueue(
    org: OrgId,
    db: &impl ConnectionTrait,
    event_type: &str,
    data: serde_json::Value,
) -> AppResult<()> {
    enqueue_all(org, db, event_type, vec![data]).await
}

/// Queues several events of one type (a batch), reading the subscribed webhooks once.
pub async fn enqueue_all(
    org: OrgId,
    db: &impl ConnectionTrait,
    event_type: &str,
    events: Vec<serde_json::Value>,
) -> AppResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let hooks = list(org, db).await?;
    enqueue_to(org, db, &hooks, event_type, events).await
}

/// Like [`enqueue_all`], with the organization's webhooks already at hand (inactive ones and
/// those not subscribed to `event_type` are skipped here).
pub async fn enqueue_to(
    org: OrgId,
    db: &impl ConnectionTrait,
    hooks: &[webhook::Model],
    event_type: &str,
    events: Vec<serde_json::Value>,
) -> AppResult<()> {
    let hooks: Vec<&webhook::Model> = hooks.iter().filter(|w| subscribed(w, event_type)).collect();
    if hooks.is_empty() || events.is_empty() {
        return Ok(());
    }
    let mut rows = Vec::with_capacity(events.len() * hooks.len());
    for data in events {
        let payload = body(Uuid::now_v7(), event_type, Utc::now(), data);
        for w in &hooks {
            rows.push(new_delivery(org, w.id, event_type, payload.clone()));
        }
    }
    // Multi-row inserts: a batch of 500 activities is a few statements, not 500 per webhook.
    while !rows.is_empty() {
        let rest = rows.split_off(rows.len().min(DELIVERY_CHUNK));
        webhook_delivery::Entity::insert_many(std::mem::replace(&mut rows, rest)).exec_without_returning(db).await?;
    }
    Ok(())
}

/// Queues a ping for one webhook.
pub async fn ping(org: OrgId, db: &impl ConnectionTrait, w: &webhook::Model) -> AppResult<webhook_delivery::Model> {
    let payload = body(Uuid::now_v7(), super::model::PING, Utc::now(), serde_json::json!({ "webhookId": w.id }));
    insert_delivery(org, db, w.id, super::model::PING, payload).await
}

/// Queues a delivery again with the same body (same event ID, so receivers can de-duplicate).
pub async fn redeliver(
    org: OrgId,
    db: &impl ConnectionTrait,
    d: &webhook_delivery::Model,
) -> AppResult<webhook_delivery::Model> {
    insert_delivery(org, db, d.webhook_id, &d.event_type, d.payload.clone()).await
}

/// One delivery.
pub async fn find_delivery(
    org: OrgId,
    db: &impl ConnectionTrait,
    id: Uuid,
) -> AppResult<Option<webhook_delivery::Model>> {
    Ok(tenant::scoped_by_id::<webhook_delivery::Entity>(org, id).one(db).await?)
}

fn deliveries_query(
    org: OrgId,
    webhook: Option<Uuid>,
    status: Option<&str>,
) -> sea_orm::Select<webhook_delivery::Entity> {
    let mut c = Condition::all();
    if let Some(w) = webhook {
        c = c.add(webhook_delivery::Column::WebhookId.eq(w));
    }
    if let Some(s) = status {
        c = c.add(webhook_delivery::Column::Status.eq(s));
    }
    tenant::scoped::<webhook_delivery::Entity>(org).filter(c)
}

fn delivery_key(d: &webhook_delivery::Model) -> Vec<KeyValue> {
    vec![KeyValue::Time(d.created_at), KeyValue::Id(d.id)]
}

/// `webhookDeliveries`, newest first.
pub const DELIVERIES: Keyset<webhook_delivery::Model> = Keyset {
    connection: "webhookDeliveries",
    order: "CREATED_AT_DESC",
    columns: &[SortColumn::desc(KeyKind::Time), SortColumn::desc(KeyKind::Id)],
    key: delivery_key,
};

/// A page of deliveries, newest first.
pub async fn page_deliveries(
    org: OrgId,
    db: &impl ConnectionTrait,
    webhook: Option<Uuid>,
    status: Option<&str>,
    args: &PageArgs,
) -> AppResult<Page<webhook_delivery::Model>> {
    let exprs = [webhook_delivery::Column::CreatedAt.into_expr(), webhook_delivery::Column::Id.into_expr()];
    keyset::fetch(db, deliveries_query(org, webhook, status), &exprs, &DELIVERIES, args).await
}

// ---------------------------------------------------------------- the dispatcher's queries (all tenants)

/// Pending deliveries due at `now` that nobody holds, oldest first, leaving out the given
/// organizations and webhooks (those the dispatcher cannot send to now, so they do not crowd
/// out the rest). Candidates only: [`claim`] decides who sends.
pub async fn due(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    skip_organizations: &[Uuid],
    skip_webhooks: &[Uuid],
    limit: u64,
) -> AppResult<Vec<webhook_delivery::Model>> {
    let mut q = tenant::across_tenants::<webhook_delivery::Entity>()
        .filter(webhook_delivery::Column::Status.eq("PENDING"))
        .filter(webhook_delivery::Column::NextAttemptAt.lte(now))
        .filter(
            Condition::any()
                .add(webhook_delivery::Column::LockedUntil.is_null())
                .add(webhook_delivery::Column::LockedUntil.lt(now)),
        );
    if !skip_organizations.is_empty() {
        q = tenant::excluding_tenants(q, skip_organizations);
    }
    if !skip_webhooks.is_empty() {
        q = q.filter(webhook_delivery::Column::WebhookId.is_not_in(skip_webhooks.iter().copied()));
    }
    Ok(q.order_by_asc(webhook_delivery::Column::NextAttemptAt)
        .order_by_asc(webhook_delivery::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Deliveries waiting to be sent, over all organizations (for the metrics).
pub async fn pending_count(db: &impl ConnectionTrait) -> AppResult<u64> {
    use sea_orm::PaginatorTrait as _;
    Ok(tenant::across_tenants::<webhook_delivery::Entity>()
        .filter(webhook_delivery::Column::Status.eq("PENDING"))
        .count(db)
        .await?)
}

/// Claims a candidate from [`due`] for `lease`, counted from this moment: the claim's end when
/// this caller won it (pass it to [`record_attempt`]), `None` when someone else holds or
/// finished it. However many instances try at once, one wins: the conditional update matches
/// only the row as the candidate saw it (same attempts, same earlier claim, still pending).
pub async fn claim(
    db: &impl ConnectionTrait,
    d: &webhook_delivery::Model,
    lease: Duration,
) -> AppResult<Option<DateTime<Utc>>> {
    let now = Utc::now();
    if d.locked_until.is_some_and(|t| t >= now) {
        return Ok(None);
    }
    let mut cond = Condition::all()
        .add(webhook_delivery::Column::Id.eq(d.id))
        .add(webhook_delivery::Column::Status.eq("PENDING"))
        .add(webhook_delivery::Column::Attempts.eq(d.attempts));
    cond = match d.locked_until {
        Some(t) => cond.add(webhook_delivery::Column::LockedUntil.eq(t)),
        None => cond.add(webhook_delivery::Column::LockedUntil.is_null()),
    };
    // Whole milliseconds, so the value read back equals the one written on every backend.
    let until = now + lease;
    let until = DateTime::from_timestamp_millis(until.timestamp_millis()).unwrap_or(until);
    let r = tenant::scoped_update::<webhook_delivery::Entity>(OrgId(d.organization_id))
        .set(webhook_delivery::ActiveModel { locked_until: Set(Some(until)), ..Default::default() })
        .filter(cond)
        .exec(db)
        .await?;
    Ok((r.rows_affected == 1).then_some(until))
}

/// Records an attempt's outcome under the claim that ends at `claim`; false (and nothing
/// written) when that claim is no longer the delivery's.
#[allow(clippy::too_many_arguments)]
pub async fn record_attempt(
    db: &impl ConnectionTrait,
    d: &webhook_delivery::Model,
    claim: DateTime<Utc>,
    status_code: Option<i32>,
    error: Option<String>,
    delivered: bool,
    next_attempt_at: Option<DateTime<Utc>>,
) -> AppResult<bool> {
    let attempts = d.attempts + 1;
    let status = if delivered {
        "DELIVERED"
    } else if next_attempt_at.is_some() {
        "PENDING"
    } else {
        "FAILED"
    };
    let r = tenant::scoped_update::<webhook_delivery::Entity>(OrgId(d.organization_id))
        .set(webhook_delivery::ActiveModel {
            status: Set(status.to_owned()),
            attempts: Set(attempts),
            last_status_code: Set(status_code),
            last_error: Set(error.map(|e| e.chars().take(500).collect())),
            next_attempt_at: Set(next_attempt_at.unwrap_or(d.next_attempt_at)),
            locked_until: Set(None),
            delivered_at: Set(delivered.then(Utc::now)),
            ..Default::default()
        })
        .filter(webhook_delivery::Column::Id.eq(d.id))
        .filter(webhook_delivery::Column::Status.eq("PENDING"))
        .filter(webhook_delivery::Column::Attempts.eq(d.attempts))
        .filter(webhook_delivery::Column::LockedUntil.eq(claim))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Holds a paused webhook's pending deliveries that nobody is sending until `until` (none is
/// dropped; their attempts are not counted).
pub async fn postpone(db: &impl ConnectionTrait, webhook_id: Uuid, until: DateTime<Utc>) -> AppResult<()> {
    let now = Utc::now();
    tenant::update_across_tenants::<webhook_delivery::Entity>()
        .set(webhook_delivery::ActiveModel { next_attempt_at: Set(until), ..Default::default() })
        .filter(webhook_delivery::Column::WebhookId.eq(webhook_id))
        .filter(webhook_delivery::Column::Status.eq("PENDING"))
        .filter(webhook_delivery::Column::NextAttemptAt.lt(until))
        .filter(
            Condition::any()
                .add(webhook_delivery::Column::LockedUntil.is_null())
                .add(webhook_delivery::Column::LockedUntil.lt(now)),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// Webhooks by ID, across tenants (for the dispatcher, which checks each delivery's
/// organization against its webhook's).
pub async fn webhooks_by_id(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = Uuid>,
) -> AppResult<std::collections::HashMap<Uuid, webhook::Model>> {
    let mut ids: Vec<Uuid> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    Ok(tenant::across_tenants::<webhook::Entity>()
        .filter(webhook::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|w| (w.id, w))
        .collect())
}
