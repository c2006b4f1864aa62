//! Sends queued webhook deliveries. The queue stays in the database (an outbox, oldest due
//! first); this loop claims deliveries one at a time, each with its own lease counted from its
//! own claim, and sends them concurrently within limits: `WEBHOOK_CONCURRENCY` overall,
//! `WEBHOOK_CONCURRENCY_PER_ORGANIZATION` and `WEBHOOK_CONCURRENCY_PER_HOST`, so receivers that
//! never answer hold at most their organization's and their host's share of the senders, never
//! the queue. A request ends after `WEBHOOK_TIMEOUT_MS`, and the lease outlasts it, so no other
//! instance takes a delivery that is still being sent.
//!
//! Outcomes: 2xx is delivered; anything else is retried after 1, 2, 4, … times
//! `WEBHOOK_RETRY_BASE_MS`, up to 8 attempts, then FAILED. After `WEBHOOK_CIRCUIT_FAILURES`
//! failures in a row a webhook is paused: its pending deliveries wait (moved to the pause's end,
//! attempts untouched), then one request probes it. A crash while sending leaves the claim to
//! expire, so the delivery is sent again by whoever claims it next (at least once; the event
//! `id` lets receivers drop duplicates).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use uuid::Uuid;

use entity::{webhook, webhook_delivery};

use super::limits::{Busy, Circuit, CircuitState, Limits, Slot, Slots};
use super::model::{self, MAX_ATTEMPTS};
use super::{destination, store};
use crate::core::error::AppResult;
use crate::state::AppState;

/// Candidates read per query.
const BATCH: u64 = 64;
/// Queries per pass: later ones leave out what the earlier ones found busy.
const QUERIES_PER_PASS: usize = 4;
/// How long the loop sleeps when nothing can start and no request finishes.
const IDLE: Duration = Duration::from_millis(250);
/// How much longer than a request a claim lasts (the outcome still has to be written).
const LEASE_MARGIN_SECONDS: i64 = 30;

/// Starts the dispatcher for the life of the process.
pub fn start(state: AppState) {
    let client = match destination::client(&state.config) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook client could not start; no webhooks will be sent");
            return;
        }
    };
    let dispatcher = Arc::new(Dispatcher::new(state, client));
    tokio::spawn(dispatcher.run());
}

struct Dispatcher {
    state: AppState,
    client: reqwest::Client,
    limits: Limits,
    slots: Mutex<Slots>,
    /// Webhooks with failures on record (a success removes the entry).
    circuits: Mutex<HashMap<Uuid, Circuit>>,
    /// Signalled when a request finishes, so its slot is refilled at once.
    finished: Notify,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded maps stay consistent between statements, so a panic elsewhere leaves them usable.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A taken slot, given back when the request ends however it ends.
struct SlotGuard {
    dispatcher: Arc<Dispatcher>,
    slot: Slot,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        lock(&self.dispatcher.slots).release(&self.slot);
        self.dispatcher.finished.notify_one();
    }
}

impl Dispatcher {
    fn new(state: AppState, client: reqwest::Client) -> Self {
        let c = &state.config;
        let as_usize = |n: u32| usize::try_from(n).unwrap_or(usize::MAX);
        let limits = Limits {
            total: as_usize(c.webhook_concurrency),
            per_organization: as_usize(c.webhook_concurrency_per_organization),
            per_host: as_usize(c.webhook_concurrency_per_host),
        };
        Dispatcher {
            state,
            client,
            limits,
            slots: Mutex::default(),
            circuits: Mutex::default(),
            finished: Notify::new(),
        }
    }

    fn lease(&self) -> chrono::Duration {
        let ms = i64::try_from(self.state.config.webhook_timeout_ms).unwrap_or(i64::MAX / 4);
        chrono::Duration::milliseconds(ms) + chrono::Duration::seconds(LEASE_MARGIN_SECONDS)
    }

    async fn run(self: Arc<Self>) {
        loop {
            match self.clone().fill().await {
                Ok(0) => {
                    tokio::select! {
                        () = self.finished.notified() => {}
                        () = tokio::time::sleep(IDLE) => {}
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = ?e, "webhook dispatch failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// Starts as many due deliveries as the limits allow; returns how many it took on.
    async fn fill(self: Arc<Self>) -> AppResult<usize> {
        let db = &self.state.db;
        let mut progressed = 0;
        let mut busy_webhooks: HashSet<Uuid> = HashSet::new();
        for _ in 0..QUERIES_PER_PASS {
            let (skip_organizations, mut skip_webhooks) = {
                let slots = lock(&self.slots);
                if slots.full(&self.limits) {
                    return Ok(progressed);
                }
                (slots.saturated_organizations(&self.limits), slots.webhooks_at_saturated_hosts(&self.limits))
            };
            skip_webhooks.extend(busy_webhooks.iter().copied());
            let due = store::due(db, Utc::now(), &skip_organizations, &skip_webhooks, BATCH).await?;
            let exhausted = (due.len() as u64) < BATCH;
            let hooks = store::webhooks_by_id(db, due.iter().map(|d| d.webhook_id)).await?;
            for d in due {
                // A webhook of another organization is no webhook of this delivery.
                let hook = hooks.get(&d.webhook_id).filter(|w| w.organization_id == d.organization_id);
                let Some(hook) = hook.filter(|w| w.active) else {
                    let why = if hook.is_some() { "webhook disabled" } else { "webhook deleted" };
                    if let Some(claim) = store::claim(db, &d, self.lease()).await? {
                        store::record_attempt(db, &d, claim, None, Some(why.to_owned()), false, None).await?;
                        self.state.metrics.webhook_deliveries.with_label_values(&["failed"]).inc();
                        progressed += 1;
                    }
                    continue;
                };
                match self.try_start(&d, hook).await? {
                    Started::Yes => progressed += 1,
                    Started::NotNow => {}
                    Started::WebhookBusy => {
                        busy_webhooks.insert(d.webhook_id);
                    }
                    Started::Full => return Ok(progressed),
                }
            }
            if exhausted {
                break;
            }
        }
        Ok(progressed)
    }

    async fn try_start(self: &Arc<Self>, d: &webhook_delivery::Model, hook: &webhook::Model) -> AppResult<Started> {
        let now = Utc::now();
        let threshold = self.state.config.webhook_circuit_failures;
        let circuit = lock(&self.circuits).get(&hook.id).map_or(CircuitState::Closed, |c| c.state(now, threshold));
        if let CircuitState::Paused(until) = circuit {
            store::postpone(&self.state.db, hook.id, until).await?;
            return Ok(Started::WebhookBusy);
        }
        let host = model::parse_url(&hook.url).map(|u| model::host_key(&u)).unwrap_or_default();
        let slot = Slot { organization: d.organization_id, host, webhook: hook.id };
        {
            let mut slots = lock(&self.slots);
            if circuit == CircuitState::Probing && slots.in_flight(hook.id) > 0 {
                return Ok(Started::WebhookBusy);
            }
            match slots.try_take(&self.limits, &slot) {
                Ok(()) => {}
                Err(Busy::Full) => return Ok(Started::Full),
                Err(Busy::Organization) => return Ok(Started::NotNow),
                Err(Busy::Host) => return Ok(Started::WebhookBusy),
            }
        }
        let guard = SlotGuard { dispatcher: self.clone(), slot };
        let Some(claim) = store::claim(&self.state.db, d, self.lease()).await? else {
            return Ok(Started::NotNow); // another instance has it; the guard frees the slot
        };
        let (d, hook) = (d.clone(), hook.clone());
        tokio::spawn(guard.dispatcher.clone().deliver(d, hook, claim, guard));
        Ok(Started::Yes)
    }

    async fn deliver(
        self: Arc<Self>,
        d: webhook_delivery::Model,
        hook: webhook::Model,
        claim: DateTime<Utc>,
        guard: SlotGuard,
    ) {
        let config = &self.state.config;
        // The client's own timeout bounds the request; this also bounds what it does not cover.
        let limit = Duration::from_millis(config.webhook_timeout_ms) + Duration::from_secs(1);
        let send = destination::send(&self.client, config, &hook.url, &hook.secret, &d.payload);
        let sent = std::time::Instant::now();
        let (code, error) = tokio::time::timeout(limit, send)
            .await
            .unwrap_or_else(|_| (None, Some(format!("no answer within {} ms", config.webhook_timeout_ms))));
        let metrics = &self.state.metrics;
        metrics.webhook_request_duration.observe(sent.elapsed().as_secs_f64());
        let delivered = code.is_some_and(|c| (200..300).contains(&c));
        let now = Utc::now();
        let outcome = match (delivered, d.attempts + 1 < MAX_ATTEMPTS) {
            (true, _) => {
                metrics.webhook_latency.observe((now - d.created_at).num_milliseconds().max(0) as f64 / 1000.0);
                "delivered"
            }
            (false, true) => "retry",
            (false, false) => "failed",
        };
        metrics.webhook_deliveries.with_label_values(&[outcome]).inc();
        let pause = {
            let mut circuits = lock(&self.circuits);
            if delivered {
                circuits.remove(&hook.id);
                None
            } else {
                let c = circuits.entry(hook.id).or_default();
                c.failed(now, config.webhook_circuit_failures, config.webhook_circuit_cooloff_ms)
            }
        };
        let next = (!delivered && d.attempts + 1 < MAX_ATTEMPTS).then(|| {
            let wait = model::retry_delay_ms(d.attempts + 1, config.webhook_retry_base_ms);
            now + chrono::Duration::milliseconds(i64::try_from(wait).unwrap_or(i64::MAX / 2))
        });
        let db = &self.state.db;
        match store::record_attempt(db, &d, claim, code, error, delivered, next).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(delivery = %d.id, "webhook delivery outcome not recorded: its claim had expired")
            }
            Err(e) => tracing::warn!(delivery = %d.id, error = ?e, "webhook delivery outcome not recorded"),
        }
        if let Some(until) = pause {
            tracing::info!(webhook = %hook.id, %until, "webhook paused after failures in a row");
            if let Err(e) = store::postpone(db, hook.id, until).await {
                tracing::warn!(webhook = %hook.id, error = ?e, "could not hold a paused webhook's deliveries");
            }
        }
        drop(guard);
    }
}

enum Started {
    /// Claimed and on its way.
    Yes,
    /// Not now (its organization is busy, or another instance has it).
    NotNow,
    /// Nothing of this webhook can start now (paused, probing, or its host is busy).
    WebhookBusy,
    /// Every slot is taken.
    Full,
}
