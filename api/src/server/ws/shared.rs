//! Shared rendering of `leaderboardChanged` over `graphql-transport-ws`: the subscribers of one
//! board with the same query and variables get the same bytes, so a board change is resolved
//! and serialized once, not once per subscriber. On a sales-room TV plus 100 phones watching a
//! team's board that is one GraphQL execution and one JSON document per change instead of 101;
//! what remains per subscriber is writing the frame.
//!
//! Each subscription still starts as its own execution with its own principal: that run
//! validates the query and checks permission, and its first message is sent as it is. A
//! subscription whose first message carries no error then drops its own run and follows the
//! shared run of its key (organization, query, variables, operation name); the first such
//! subscription's run becomes that shared run, kept by a leader task until no one follows it.
//! This is sound because a leaderboard shows the same to everyone who may see it (permission
//! decides *whether* a viewer may read a board, never what it contains) and no field reachable
//! from `Leaderboard` (`LeaderboardEntry`, `Member`, `Team`, `PeriodInfo`) reads the viewer. A
//! field that ever does must take its type off this path (see [`shareable`]).
//!
//! A follower receives the latest board only (a slow client skips boards, as each subscription
//! of `leaderboardChanged` always did) and never the same payload twice in a row. When the shared
//! run ends, every follower gets `complete`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::{DocumentOperations, OperationType, Selection};
use async_graphql::{Data, Request, Response};
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};
use tokio::sync::watch;
use uuid::Uuid;

use crate::schema::AppSchema;

/// The root fields whose result depends only on the organization and the arguments.
const SHAREABLE_FIELDS: &[&str] = &["leaderboardChanged"];

/// What makes two subscriptions render identically.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct Key {
    org: Uuid,
    query: String,
    variables: String,
    operation_name: Option<String>,
}

/// The latest serialized `payload` (a GraphQL response) of one shared run.
type Payload = Arc<str>;

/// The shared runs of this instance, by key.
pub struct SharedRenders {
    runs: Mutex<HashMap<Key, Arc<watch::Sender<Payload>>>>,
    /// How many runs there are (`scorebord_shared_subscription_runs`).
    gauge: prometheus::IntGauge,
}

/// One message of a shared subscription for the connection to write.
pub struct Outgoing {
    /// The subscription's ID.
    pub id: String,
    /// The whole `graphql-transport-ws` message.
    pub text: String,
    /// This was `complete`: the ID is free again.
    pub last: bool,
}

/// Whether a subscription request may be served from a shared run: a subscription operation
/// whose only root selection is a field of [`SHAREABLE_FIELDS`], without directives, and a
/// request without extensions (persisted queries and the like take the ordinary path).
pub fn shareable(request: &mut Request) -> bool {
    if !request.extensions.0.is_empty() || !request.uploads.is_empty() {
        return false;
    }
    let operation_name = request.operation_name.clone();
    let Ok(doc) = request.parsed_query() else { return false };
    let operation = match (&doc.operations, operation_name.as_deref()) {
        (DocumentOperations::Single(op), None) => op,
        (DocumentOperations::Multiple(ops), Some(name)) => match ops.get(name) {
            Some(op) => op,
            None => return false,
        },
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => match ops.values().next() {
            Some(op) => op,
            None => return false,
        },
        _ => return false,
    };
    let op = &operation.node;
    if op.ty != OperationType::Subscription || !op.directives.is_empty() {
        return false;
    }
    match op.selection_set.node.items.as_slice() {
        [only] => match &only.node {
            Selection::Field(field) => {
                field.node.directives.is_empty() && SHAREABLE_FIELDS.contains(&field.node.name.node.as_str())
            }
            _ => false,
        },
        _ => false,
    }
}

/// The `next` message carrying `payload` for subscription `id`.
fn next_message(id: &str, payload: &str) -> String {
    let id = serde_json::to_string(id).unwrap_or_else(|_| "\"\"".to_owned());
    let mut text = String::with_capacity(payload.len() + id.len() + 32);
    text.push_str(r#"{"type":"next","id":"#);
    text.push_str(&id);
    text.push_str(r#","payload":"#);
    text.push_str(payload);
    text.push('}');
    text
}

fn complete_message(id: &str) -> String {
    serde_json::json!({"type": "complete", "id": id}).to_string()
}

fn serialize(response: &Response) -> Payload {
    // A Response always serializes; the fallback keeps the protocol well-formed regardless.
    serde_json::to_string(response)
        .unwrap_or_else(|_| r#"{"data":null,"errors":[{"message":"Internal error"}]}"#.to_owned())
        .into()
}

impl SharedRenders {
    /// No runs yet; `gauge` follows their number.
    pub fn new(gauge: prometheus::IntGauge) -> SharedRenders {
        SharedRenders { runs: Mutex::default(), gauge }
    }

    /// Runs subscription `id` of a connection: its own first message, then the shared run's.
    /// `request` must have passed [`shareable`].
    pub fn subscribe(
        self: &Arc<Self>,
        schema: &AppSchema,
        session: Arc<Data>,
        org: Uuid,
        id: String,
        request: Request,
    ) -> impl Stream<Item = Outgoing> + Send + 'static {
        let key = Key {
            org,
            query: request.query.clone(),
            variables: serde_json::to_string(&request.variables).unwrap_or_default(),
            operation_name: request.operation_name.clone(),
        };
        let mut own = schema.execute_stream_with_session_data(request, session);
        let renders = self.clone();
        async_stream::stream! {
            let next = |text: String| Outgoing { id: id.clone(), text, last: false };
            let Some(first) = own.next().await else {
                yield Outgoing { id: id.clone(), text: complete_message(&id), last: true };
                return;
            };
            let mut last = serialize(&first);
            yield next(next_message(&id, &last));
            if !first.errors.is_empty() {
                // Refused or failed: this subscription keeps to its own run, as any other.
                while let Some(response) = own.next().await {
                    yield next(next_message(&id, &serialize(&response)));
                }
                yield Outgoing { id: id.clone(), text: complete_message(&id), last: true };
                return;
            }
            let mut shared = renders.follow(key, own, last.clone());
            loop {
                let current = shared.borrow_and_update().clone();
                if current != last {
                    yield next(next_message(&id, &current));
                    last = current;
                }
                if shared.changed().await.is_err() {
                    break;
                }
            }
            yield Outgoing { id: id.clone(), text: complete_message(&id), last: true };
        }
    }

    /// A receiver of the shared run of `key`; `own` becomes that run when there is none yet
    /// (with `first`, its first payload, as the current value), and is dropped otherwise.
    fn follow(
        self: &Arc<Self>,
        key: Key,
        own: BoxStream<'static, Response>,
        first: Payload,
    ) -> watch::Receiver<Payload> {
        let Ok(mut runs) = self.runs.lock() else {
            // A poisoned map: serve this subscription from its own run.
            let (tx, rx) = watch::channel(first);
            tokio::spawn(lead(None, key, Arc::new(tx), own));
            return rx;
        };
        if let Some(tx) = runs.get(&key) {
            return tx.subscribe();
        }
        let (tx, rx) = watch::channel(first);
        let tx = Arc::new(tx);
        runs.insert(key.clone(), tx.clone());
        self.gauge.set(runs.len() as i64);
        tokio::spawn(lead(Some(self.clone()), key, tx, own));
        rx
    }

    /// Removes the run of `key` if it is `tx` and no one follows it (or `ended`); true when removed.
    fn retire(&self, key: &Key, tx: &Arc<watch::Sender<Payload>>, ended: bool) -> bool {
        let Ok(mut runs) = self.runs.lock() else { return true };
        if !ended && tx.receiver_count() > 0 {
            return false;
        }
        if runs.get(key).is_some_and(|current| Arc::ptr_eq(current, tx)) {
            runs.remove(key);
            self.gauge.set(runs.len() as i64);
        }
        true
    }
}

/// Publishes each response of a shared run, serialized once, until the run ends or the last
/// follower has gone.
async fn lead(
    renders: Option<Arc<SharedRenders>>,
    key: Key,
    tx: Arc<watch::Sender<Payload>>,
    mut run: BoxStream<'static, Response>,
) {
    loop {
        tokio::select! {
            response = run.next() => match response {
                Some(response) => {
                    let payload = serialize(&response);
                    tx.send_if_modified(|current| {
                        let changed = *current != payload;
                        if changed {
                            *current = payload;
                        }
                        changed
                    });
                }
                None => break,
            },
            _ = tx.closed() => {
                if renders.as_ref().is_none_or(|r| r.retire(&key, &tx, false)) {
                    return;
                }
            }
        }
    }
    if let Some(renders) = renders {
        renders.retire(&key, &tx, true);
    }
    // Dropping the last sender tells the followers the run is over.
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(query: &str, operation_name: Option<&str>) -> Request {
        let mut r = Request::new(query);
        if let Some(name) = operation_name {
            r = r.operation_name(name);
        }
        r
    }

    const BOARD: &str = "subscription($t: ID!) { leaderboardChanged(input: {period: {grain: WEEK}, teamId: $t}) { entries { points member { id name } } } }";

    #[test]
    fn leaderboard_subscriptions_are_shareable() {
        assert!(shareable(&mut request(BOARD, None)));
        let named = "subscription Board { b: leaderboardChanged(input: {period: {grain: WEEK}}) { totalEntries } }";
        assert!(shareable(&mut request(named, None)));
        assert!(shareable(&mut request(named, Some("Board"))));
        let two = format!("{named} subscription Other {{ scoreChanged {{ pointsDelta }} }}");
        assert!(shareable(&mut request(&two, Some("Board"))));
    }

    #[test]
    fn everything_else_is_not() {
        let cases: &[(&str, Option<&str>)] = &[
            // Viewer-dependent subscriptions.
            ("subscription { scoreChanged { pointsDelta } }", None),
            ("subscription { organizationChanged { id } }", None),
            // Not a subscription.
            ("query { leaderboard(input: {period: {grain: WEEK}}) { totalEntries } }", None),
            // Directives, fragments at the root, several root fields.
            (
                "subscription { leaderboardChanged(input: {period: {grain: WEEK}}) @skip(if: false) { totalEntries } }",
                None,
            ),
            (
                "subscription S @deprecated { leaderboardChanged(input: {period: {grain: WEEK}}) { totalEntries } }",
                None,
            ),
            (
                "subscription { ...F } fragment F on Subscription { leaderboardChanged(input: {period: {grain: WEEK}}) { totalEntries } }",
                None,
            ),
            (
                "subscription { ... on Subscription { leaderboardChanged(input: {period: {grain: WEEK}}) { totalEntries } } }",
                None,
            ),
            (
                "subscription { a: leaderboardChanged(input: {period: {grain: WEEK}}) { totalEntries } b: leaderboardChanged(input: {period: {grain: MONTH}}) { totalEntries } }",
                None,
            ),
            // Unparsable, or the operation cannot be chosen.
            ("subscription {", None),
            (
                "subscription A { leaderboardChanged(input: {period: {grain: WEEK}}) { totalEntries } } subscription B { leaderboardChanged(input: {period: {grain: WEEK}}) { totalEntries } }",
                None,
            ),
            ("subscription A { leaderboardChanged(input: {period: {grain: WEEK}}) { totalEntries } }", Some("B")),
            ("subscription { leaderboardChanged(input: {period: {grain: WEEK}}) { totalEntries } }", Some("A")),
        ];
        for (query, name) in cases {
            assert!(!shareable(&mut request(query, *name)), "{query} ({name:?})");
        }
        let mut with_extensions = request(BOARD, None);
        with_extensions.extensions.0.insert("persistedQuery".into(), async_graphql::Value::Null);
        assert!(!shareable(&mut with_extensions));
    }

    #[test]
    fn messages_are_well_formed_json() {
        let text = next_message("a\"b", r#"{"data":{"x":1}}"#);
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(v, serde_json::json!({"type": "next", "id": "a\"b", "payload": {"data": {"x": 1}}}));
        let v: serde_json::Value = serde_json::from_str(&complete_message("7")).expect("json");
        assert_eq!(v, serde_json::json!({"type": "complete", "id": "7"}));
        let response = Response::new(async_graphql::Value::from_json(serde_json::json!({"a": [1, 2]})).expect("value"));
        assert_eq!(&*serialize(&response), r#"{"data":{"a":[1,2]}}"#);
    }
}
