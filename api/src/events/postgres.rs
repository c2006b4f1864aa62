//! The PostgreSQL transport of the event bus: LISTEN/NOTIFY between the instances that share
//! one database (DESIGN.md §2, §8).
//!
//! - A publisher task owns its own connection (a pool of one, never a request's transaction)
//!   and sends whatever has queued up since its last round trip as one statement: one
//!   `pg_notify` per payload, committed together. A NOTIFY inside a write transaction would
//!   take PostgreSQL's global notify lock at that transaction's commit; here it is taken once
//!   per batch and never by a request.
//! - A listener task owns another connection that has run `LISTEN scorebord_events`. It
//!   re-broadcasts what other instances sent and skips what this instance sent (it already
//!   reached local subscribers). When that connection is lost it reconnects with backoff and
//!   then broadcasts [`Event::Resync`]: notifications sent while it was away are gone.
//!
//! The transport never looks inside an event: it moves `serde_json` text. A payload is
//! `{"from":"<instance>","seq":<n>,"events":[<event>,…]}`, always under PostgreSQL's limit of
//! 8000 bytes; `seq` also keeps two payloads of one batch from being merged by PostgreSQL (it
//! delivers identical payloads of one transaction once). An event this version cannot decode
//! (a newer instance during a rolling deploy) is skipped on its own.
//!
//! Nothing here panics or gives up for good: failures are logged and retried, and events that
//! could not be delivered are replaced by a `Resync` for the other instances.

use std::str::FromStr as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sea_orm::sqlx;
use sea_orm::sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::event::Event;
use super::local::Local;

/// The NOTIFY channel every instance listens on.
pub(super) const CHANNEL: &str = "scorebord_events";

/// PostgreSQL rejects a NOTIFY payload of 8000 bytes or more.
const MAX_PAYLOAD_BYTES: usize = 7999;

/// Events waiting for the publisher. When it is full (the database has been unreachable for a
/// while) further events are dropped and the other instances are told to resync instead.
const QUEUE_CAPACITY: usize = 16 * 1024;

/// Most events taken from the queue for one round trip.
const MAX_BATCH: usize = 1024;

/// First delay before a retry; it doubles up to [`MAX_RETRY_DELAY`].
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(250);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);

/// A listening connection that has been quiet this long is pinged, so a connection that died
/// without a word (a crashed host, a NAT timeout) is noticed.
const IDLE_PING_AFTER: Duration = Duration::from_secs(30);
const PING_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// `application_name` of the two connections, so they can be told apart in `pg_stat_activity`.
pub(super) const LISTENER_APPLICATION_NAME: &str = "scorebord-listen";
const PUBLISHER_APPLICATION_NAME: &str = "scorebord-notify";

/// The sending half, kept in the [`EventBus`](super::EventBus). Dropping its last clone ends
/// both background tasks.
#[derive(Clone, Debug)]
pub(super) struct Outbox {
    queue: mpsc::Sender<Event>,
    /// Set when events could not be queued; the publisher then sends a `Resync` first.
    lost: Arc<AtomicBool>,
    /// Dropped with the last clone: tells the listener to stop.
    _stop: Arc<oneshot::Sender<()>>,
}

impl Outbox {
    /// Hands an event to the publisher without waiting.
    pub(super) fn enqueue(&self, event: Event) {
        if self.queue.try_send(event).is_err() && !self.lost.swap(true, Ordering::AcqRel) {
            tracing::warn!("the NOTIFY queue is full: dropping events; other instances will be told to resync");
        }
    }
}

/// Connects the listener (so this instance hears everything published after this returns) and
/// spawns the publisher and listener tasks, which re-broadcast into `local`.
pub(super) async fn start(database_url: &str, local: Local) -> Result<Outbox, sqlx::Error> {
    let options = PgConnectOptions::from_str(database_url)?;
    let instance = random_instance_id();
    let listener = connect_listener(&options).await?;
    let publisher = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(CONNECT_TIMEOUT)
        // A dead connection shows up as a failed send, which is retried on a fresh one.
        .test_before_acquire(false)
        .connect_lazy_with(options.clone().application_name(PUBLISHER_APPLICATION_NAME));
    let (queue, queued) = mpsc::channel(QUEUE_CAPACITY);
    let lost = Arc::new(AtomicBool::new(false));
    let (stop, stopped) = oneshot::channel();
    tokio::spawn(run_publisher(publisher, instance, queued, lost.clone()));
    tokio::spawn(run_listener(options, instance, local, listener, stopped));
    tracing::info!(%instance, channel = CHANNEL, "events are shared with other instances through LISTEN/NOTIFY");
    Ok(Outbox { queue, lost, _stop: Arc::new(stop) })
}

/// Identifies this bus in its payloads; random, so two instances never share one.
fn random_instance_id() -> Uuid {
    uuid::Builder::from_random_bytes(rand::random()).into_uuid()
}

// ---------------------------------------------------------------- payloads

/// The start of a payload, up to the first event.
fn payload_head(instance: Uuid, seq: u64) -> String {
    format!(r#"{{"from":"{instance}","seq":{seq},"events":["#)
}

const PAYLOAD_TAIL: &str = "]}";

/// Whether one serialized event fits in a payload on its own, whatever the sequence number.
fn fits_alone(event_json: &str) -> bool {
    payload_head(Uuid::nil(), u64::MAX).len() + event_json.len() + PAYLOAD_TAIL.len() <= MAX_PAYLOAD_BYTES
}

/// Packs serialized events, in order, into as few payloads under the size limit as possible,
/// numbering them from `next_seq`. Events that do not fit even alone (see [`fits_alone`]) are
/// left out; the caller checks that first.
fn pack(instance: Uuid, next_seq: &mut u64, events: &[String]) -> Vec<String> {
    let mut payloads = Vec::new();
    // The payload being filled, without its tail; empty when none is open.
    let mut open = String::new();
    for event in events.iter().filter(|e| fits_alone(e)) {
        if !open.is_empty() {
            if open.len() + 1 + event.len() + PAYLOAD_TAIL.len() <= MAX_PAYLOAD_BYTES {
                open.push(',');
                open.push_str(event);
                continue;
            }
            open.push_str(PAYLOAD_TAIL);
            payloads.push(std::mem::take(&mut open));
        }
        open = payload_head(instance, *next_seq);
        *next_seq = next_seq.wrapping_add(1);
        open.push_str(event);
    }
    if !open.is_empty() {
        open.push_str(PAYLOAD_TAIL);
        payloads.push(open);
    }
    payloads
}

#[derive(Deserialize)]
struct Envelope {
    from: Uuid,
    events: Vec<serde_json::Value>,
}

/// The events of a payload that another instance sent; none when `own` sent it. Events this
/// version does not know are skipped; an unreadable payload is an error.
fn unpack(own: Uuid, payload: &str) -> Result<Vec<Event>, serde_json::Error> {
    let envelope: Envelope = serde_json::from_str(payload)?;
    if envelope.from == own {
        return Ok(Vec::new());
    }
    Ok(envelope
        .events
        .into_iter()
        .filter_map(|value| match serde_json::from_value(value) {
            Ok(event) => Some(event),
            Err(error) => {
                tracing::debug!(%error, from = %envelope.from, "skipping an event this version does not know");
                None
            }
        })
        .collect())
}

// ---------------------------------------------------------------- publisher

async fn run_publisher(pool: PgPool, instance: Uuid, mut queue: mpsc::Receiver<Event>, lost: Arc<AtomicBool>) {
    let mut seq: u64 = 0;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        batch.clear();
        if queue.recv_many(&mut batch, MAX_BATCH).await == 0 {
            return; // The bus is gone.
        }
        let mut resync = lost.swap(false, Ordering::AcqRel);
        let mut encoded = Vec::with_capacity(batch.len() + 1);
        for event in batch.drain(..) {
            match serde_json::to_string(&event) {
                Ok(json) if fits_alone(&json) => encoded.push(json),
                Ok(json) => {
                    tracing::error!(
                        bytes = json.len(),
                        ?event,
                        "event too large for NOTIFY; other instances will resync"
                    );
                    resync = true;
                }
                Err(error) => {
                    tracing::error!(%error, ?event, "event cannot be serialized; other instances will resync");
                    resync = true;
                }
            }
        }
        if resync {
            match serde_json::to_string(&Event::Resync) {
                Ok(json) => encoded.insert(0, json),
                Err(error) => tracing::error!(%error, "Resync cannot be serialized"),
            }
        }
        let payloads = pack(instance, &mut seq, &encoded);
        let mut delay = FIRST_RETRY_DELAY;
        while let Err(error) = notify(&pool, &payloads).await {
            if queue.is_closed() {
                return; // Shutting down: nobody is left to retry for.
            }
            tracing::warn!(%error, retry_in = ?delay, "could not send events to other instances");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(MAX_RETRY_DELAY);
        }
    }
}

/// Sends the payloads in one round trip and one implicit transaction, in order.
async fn notify(pool: &PgPool, payloads: &[String]) -> Result<(), sqlx::Error> {
    if payloads.is_empty() {
        return Ok(());
    }
    sqlx::query("SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload")
        .bind(CHANNEL)
        .bind(payloads)
        .execute(pool)
        .await
        .map(|_| ())
}

// ---------------------------------------------------------------- listener

async fn connect_listener(options: &PgConnectOptions) -> Result<PgListener, sqlx::Error> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(CONNECT_TIMEOUT)
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_with(options.clone().application_name(LISTENER_APPLICATION_NAME))
        .await?;
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.ignore_pool_close_event(true);
    // Reconnection is ours: with backoff, and followed by a Resync.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

async fn run_listener(
    options: PgConnectOptions,
    instance: Uuid,
    local: Local,
    mut listener: PgListener,
    mut stop: oneshot::Receiver<()>,
) {
    loop {
        let cause = tokio::select! {
            _ = &mut stop => return,
            cause = receive(&mut listener, instance, &local) => cause,
        };
        tracing::warn!(%cause, "lost the LISTEN connection for events from other instances; reconnecting");
        drop(listener);
        let mut delay = FIRST_RETRY_DELAY;
        listener = loop {
            let jitter = delay.mul_f64(rand::random::<f64>() / 4.0);
            let connected = tokio::select! {
                _ = &mut stop => return,
                connected = async {
                    tokio::time::sleep(delay + jitter).await;
                    connect_listener(&options).await
                } => connected,
            };
            match connected {
                Ok(listener) => break listener,
                Err(error) => {
                    delay = (delay * 2).min(MAX_RETRY_DELAY);
                    tracing::warn!(%error, retry_in = ?delay, "could not LISTEN again");
                }
            }
        };
        tracing::warn!("listening again; events from other instances may have been missed: subscribers resync");
        local.send(Event::Resync);
    }
}

/// Delivers notifications from other instances until the connection is lost; returns why.
async fn receive(listener: &mut PgListener, instance: Uuid, local: &Local) -> String {
    loop {
        match tokio::time::timeout(IDLE_PING_AFTER, listener.try_recv()).await {
            Ok(Ok(Some(notification))) => match unpack(instance, notification.payload()) {
                Ok(events) => {
                    for event in events {
                        local.send(event);
                    }
                }
                Err(error) => tracing::warn!(%error, "ignoring an unreadable notification on {CHANNEL}"),
            },
            Ok(Ok(None)) => return "connection closed".to_owned(),
            Ok(Err(error)) => return error.to_string(),
            Err(_quiet) => {
                match tokio::time::timeout(PING_TIMEOUT, sqlx::query("SELECT 1").execute(&mut *listener)).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(error)) => return error.to_string(),
                    Err(_) => return format!("no answer to a ping within {PING_TIMEOUT:?}"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org_event(i: u128) -> String {
        serde_json::to_string(&Event::OrganizationChanged { org: Uuid::from_u128(i) }).unwrap()
    }

    #[test]
    fn a_small_batch_is_one_payload_that_round_trips() {
        let me = random_instance_id();
        let other = random_instance_id();
        let events: Vec<String> = (1..=3).map(org_event).collect();
        let mut seq = 7;
        let payloads = pack(me, &mut seq, &events);
        assert_eq!(payloads.len(), 1);
        assert_eq!(seq, 8);
        let received = unpack(other, &payloads[0]).unwrap();
        let expected: Vec<Event> = (1..=3).map(|i| Event::OrganizationChanged { org: Uuid::from_u128(i) }).collect();
        assert_eq!(received, expected);
        // The sender's own listener skips it: local subscribers already have it.
        assert_eq!(unpack(me, &payloads[0]).unwrap(), Vec::<Event>::new());
    }

    #[test]
    fn a_large_batch_is_split_under_8000_bytes_in_order() {
        let me = random_instance_id();
        let events: Vec<String> = (0..1000).map(org_event).collect();
        let mut seq = u64::MAX - 2; // wraps, and the widest sequence numbers must still fit
        let payloads = pack(me, &mut seq, &events);
        assert!(payloads.len() > 1, "1000 events (~70 kB) need several payloads");
        assert!(payloads.iter().all(|p| p.len() < 8000), "a payload is too long");
        // Full payloads are really full: splitting is not wasteful.
        assert!(payloads[..payloads.len() - 1].iter().all(|p| p.len() > 8000 - events[0].len() - 2));
        let mut seqs = Vec::new();
        let mut received = Vec::new();
        for p in &payloads {
            let value: serde_json::Value = serde_json::from_str(p).unwrap();
            seqs.push(value["seq"].as_u64().unwrap());
            received.extend(unpack(Uuid::nil(), p).unwrap());
        }
        let expected: Vec<Event> = (0..1000).map(|i| Event::OrganizationChanged { org: Uuid::from_u128(i) }).collect();
        assert_eq!(received, expected);
        let mut distinct = seqs.clone();
        distinct.dedup();
        assert_eq!(distinct.len(), seqs.len(), "each payload has its own sequence number: {seqs:?}");
    }

    #[test]
    fn an_event_too_large_for_any_payload_is_left_out() {
        let big = format!(r#"{{"type":"OrganizationChanged","org":"{}","x":"{}"}}"#, Uuid::nil(), "a".repeat(8000));
        assert!(!fits_alone(&big));
        let events = vec![org_event(1), big, org_event(2)];
        let payloads = pack(Uuid::nil(), &mut 0, &events);
        assert_eq!(payloads.len(), 1);
        assert_eq!(unpack(Uuid::from_u128(9), &payloads[0]).unwrap().len(), 2);
        // An event that exactly fills a payload is kept.
        let head = payload_head(Uuid::nil(), u64::MAX).len();
        let exact = format!("\"{}\"", "b".repeat(MAX_PAYLOAD_BYTES - head - PAYLOAD_TAIL.len() - 2));
        assert!(fits_alone(&exact));
        let mut seq = u64::MAX;
        let payloads = pack(Uuid::nil(), &mut seq, &[exact]);
        assert_eq!(payloads.len(), 1);
        assert!(payloads[0].len() <= MAX_PAYLOAD_BYTES);
    }

    #[test]
    fn unknown_events_are_skipped_and_garbage_is_an_error() {
        let payload = format!(
            r#"{{"from":"{}","seq":1,"events":[{{"type":"SomethingNewer","org":"{}"}},{}]}}"#,
            Uuid::from_u128(1),
            Uuid::nil(),
            org_event(5)
        );
        assert_eq!(
            unpack(Uuid::from_u128(2), &payload).unwrap(),
            vec![Event::OrganizationChanged { org: Uuid::from_u128(5) }]
        );
        assert!(unpack(Uuid::from_u128(2), "not json").is_err());
    }

    #[test]
    fn instance_ids_are_random() {
        assert_ne!(random_instance_id(), random_instance_id());
    }
}
