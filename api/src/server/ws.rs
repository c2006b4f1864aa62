//! GraphQL over WebSocket (`graphql-transport-ws` and the legacy `graphql-ws`).
//!
//! async-graphql runs the operations; this module owns the connection's first message, checks
//! every later message, and chooses the close codes, because the spec's codes differ from
//! async-graphql's (DESIGN.md §8). For `graphql-transport-ws`:
//!
//! - no `connection_init` within `WS_INIT_TIMEOUT_MS` (10 s) closes 4408;
//! - `subscribe` before `connection_init` closes 4401 (`ping` is answered and `pong`/`complete`
//!   ignored meanwhile, as the spec allows them at any time);
//! - a refused or missing token closes 4403;
//! - a message that is not JSON or not a valid protocol message (unknown type, `subscribe`
//!   without an `id` or a string `query`, …) closes 4400 with the reason (async-graphql would
//!   close 1002);
//! - a second `connection_init` closes 4429;
//! - a `subscribe` whose ID is still in use closes 4409 (async-graphql would replace the stream).
//!
//! The legacy `graphql-ws` subprotocol (subscriptions-transport-ws) keeps async-graphql's
//! message handling, with the same init timeout, 4401/4403 before the ack, and 4409.

pub mod counts;
pub mod shared;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::http::{ClientMessage, WebSocketProtocols, WsMessage};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::{AbortHandle, SelectAll};
use futures_util::{SinkExt, StreamExt, future, stream};
use serde_json::{Map, Value, json};

use super::state::HttpState;
use crate::auth::authenticate_in;
use crate::core::principal::Auth;
use crate::graphql::request_data;
pub use counts::SubscriptionCounts;

/// The longest close reason a close frame can carry (125-byte control payload minus the code).
const MAX_CLOSE_REASON: usize = 123;

struct OpenSocket(prometheus::IntGauge);

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// A close frame; the reason is cut (on a character boundary) to what a frame can carry.
/// The schema, with the messages of its errors put in the connection's language (the
/// member's own, else the organization's); codes stay as they are.
#[derive(Clone)]
struct Localized {
    schema: crate::schema::AppSchema,
    locale: crate::core::locale::Locale,
}

impl Localized {
    fn localize(locale: crate::core::locale::Locale, mut response: async_graphql::Response) -> async_graphql::Response {
        crate::graphql::error::localize_errors(&mut response.errors, locale);
        response
    }
}

impl async_graphql::Executor for Localized {
    async fn execute(&self, request: async_graphql::Request) -> async_graphql::Response {
        Localized::localize(self.locale, self.schema.execute(request).await)
    }

    fn execute_stream(
        &self,
        request: async_graphql::Request,
        session_data: Option<Arc<async_graphql::Data>>,
    ) -> stream::BoxStream<'static, async_graphql::Response> {
        let locale = self.locale;
        async_graphql::Executor::execute_stream(&self.schema, request, session_data)
            .map(move |r| Localized::localize(locale, r))
            .boxed()
    }
}

fn close(code: u16, reason: &str) -> Message {
    let mut end = reason.len().min(MAX_CLOSE_REASON);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    Message::Close(Some(CloseFrame { code, reason: reason[..end].to_owned().into() }))
}

fn message_bytes(msg: Message) -> Option<Vec<u8>> {
    match msg {
        Message::Text(t) => Some(t.as_bytes().to_vec()),
        Message::Binary(b) => Some(b.to_vec()),
        _ => None,
    }
}

/// The token from a `connection_init` payload: `{"authorization": "Bearer …"}` (any case of the key).
/// Why a credential that is not a member's is refused, as a close reason: the reason given, a
/// suspension, or a firm's staff without a client chosen at sign-in.
fn refusal(auth: &Auth) -> String {
    match auth {
        Auth::Invalid(reason) => reason.clone(),
        other => other.principal().err().map(|e| e.message()).unwrap_or_default(),
    }
}

/// The organization a `connection_init` payload names (`{"organization": "<slug>"}`): a firm's
/// staff choose their client with it, a provider's token names its organization with it.
fn organization_from_payload(payload: Option<&Value>) -> Option<String> {
    let obj = payload?.as_object()?;
    obj.iter().find(|(k, _)| k.eq_ignore_ascii_case("organization")).and_then(|(_, v)| v.as_str()).map(str::to_owned)
}

fn token_from_payload(payload: Option<&Value>) -> Option<String> {
    let obj = payload?.as_object()?;
    obj.iter().find(|(k, _)| k.eq_ignore_ascii_case("authorization")).and_then(|(_, v)| v.as_str()).map(str::to_owned)
}

/// A `graphql-transport-ws` client message that is well-formed.
#[derive(Debug, PartialEq)]
enum TransportMsg {
    ConnectionInit(Option<Value>),
    Ping,
    Pong,
    Subscribe(String),
    Complete(String),
}

fn invalid(detail: impl std::fmt::Display) -> String {
    format!("Invalid message received: {detail}")
}

/// The message's `id`, which must be a non-empty string.
fn required_id(obj: &Map<String, Value>, kind: &str) -> Result<String, String> {
    match obj.get("id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => Ok(id.to_owned()),
        _ => Err(invalid(format_args!("\"{kind}\" needs a non-empty string \"id\""))),
    }
}

/// The optional `payload` of `connection_init`, `ping` and `pong`: absent, null or an object.
fn optional_payload(obj: &Map<String, Value>, kind: &str) -> Result<Option<Value>, String> {
    match obj.get("payload") {
        None | Some(Value::Null) => Ok(None),
        Some(p @ Value::Object(_)) => Ok(Some(p.clone())),
        Some(_) => Err(invalid(format_args!("\"{kind}\" payload must be an object"))),
    }
}

/// Validates a `graphql-transport-ws` client message; `Err` is the 4400 close reason.
fn parse_transport_ws(bytes: &[u8]) -> Result<TransportMsg, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|_| invalid("not JSON"))?;
    let Value::Object(obj) = value else { return Err(invalid("not a JSON object")) };
    let Some(kind) = obj.get("type").and_then(Value::as_str) else {
        return Err(invalid("missing string \"type\""));
    };
    match kind {
        "connection_init" => optional_payload(&obj, kind).map(TransportMsg::ConnectionInit),
        "ping" => optional_payload(&obj, kind).map(|_| TransportMsg::Ping),
        "pong" => optional_payload(&obj, kind).map(|_| TransportMsg::Pong),
        "subscribe" => {
            let id = required_id(&obj, kind)?;
            let query = obj.get("payload").and_then(Value::as_object).and_then(|p| p.get("query"));
            if !query.is_some_and(Value::is_string) {
                return Err(invalid("\"subscribe\" payload needs a string \"query\""));
            }
            // What async-graphql would refuse (variables that are not an object, …) is refused here.
            ClientMessage::from_bytes(bytes).map_err(|e| invalid(format_args!("\"subscribe\" payload: {e}")))?;
            Ok(TransportMsg::Subscribe(id))
        }
        "complete" => required_id(&obj, kind).map(TransportMsg::Complete),
        other => Err(invalid(format_args!("unexpected type \"{other}\""))),
    }
}

/// What to do with a message that arrives before `connection_init`.
#[derive(Debug, PartialEq)]
pub(crate) enum BeforeInit {
    /// It is `connection_init` with this payload.
    Init(Option<Value>),
    /// Answer with `{"type":"pong"}` and keep waiting.
    Pong,
    /// Keep waiting.
    Ignore,
    /// Close with this code and reason.
    Close(u16, String),
}

pub(crate) fn before_init(protocol: WebSocketProtocols, bytes: &[u8]) -> BeforeInit {
    match protocol {
        WebSocketProtocols::GraphQLWS => match parse_transport_ws(bytes) {
            Ok(TransportMsg::ConnectionInit(payload)) => BeforeInit::Init(payload),
            Ok(TransportMsg::Subscribe(_)) => BeforeInit::Close(4401, "Unauthorized".into()),
            Ok(TransportMsg::Ping) => BeforeInit::Pong,
            Ok(TransportMsg::Pong | TransportMsg::Complete(_)) => BeforeInit::Ignore,
            Err(reason) => BeforeInit::Close(4400, reason),
        },
        WebSocketProtocols::SubscriptionsTransportWS => {
            let msg: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
            match msg.get("type").and_then(Value::as_str) {
                Some("connection_init") => BeforeInit::Init(msg.get("payload").cloned()),
                Some("subscribe" | "start") => BeforeInit::Close(4401, "Unauthorized".into()),
                _ => BeforeInit::Close(4400, "expected connection_init".into()),
            }
        }
    }
}

/// Checks a message after `connection_init` and records operation IDs: `None` hands it to
/// async-graphql, `Some` closes the socket with that code and reason.
pub(crate) fn after_init(
    protocol: WebSocketProtocols,
    bytes: &[u8],
    active: &mut HashSet<String>,
) -> Option<(u16, String)> {
    match protocol {
        WebSocketProtocols::GraphQLWS => match parse_transport_ws(bytes) {
            Err(reason) => Some((4400, reason)),
            Ok(TransportMsg::ConnectionInit(_)) => Some((4429, "Too many initialisation requests".into())),
            Ok(TransportMsg::Subscribe(id)) if active.contains(&id) => {
                Some((4409, format!("Subscriber for {id} already exists")))
            }
            Ok(TransportMsg::Subscribe(id)) => {
                active.insert(id);
                None
            }
            Ok(TransportMsg::Complete(id)) => {
                active.remove(&id);
                None
            }
            Ok(TransportMsg::Ping | TransportMsg::Pong) => None,
        },
        WebSocketProtocols::SubscriptionsTransportWS => {
            // async-graphql answers malformed legacy messages itself; only IDs are watched here.
            let msg: Value = serde_json::from_slice(bytes).ok()?;
            // The client ends the connection: close it with a normal close frame (async-graphql
            // would drop the socket without one, which clients see as 1006).
            if msg.get("type").and_then(Value::as_str) == Some("connection_terminate") {
                return Some((1000, "Normal Closure".into()));
            }
            let id = msg.get("id").and_then(Value::as_str)?;
            match msg.get("type").and_then(Value::as_str)? {
                "subscribe" | "start" if !active.insert(id.to_owned()) => {
                    Some((4409, format!("Subscriber for {id} already exists")))
                }
                "complete" | "stop" => {
                    active.remove(id);
                    None
                }
                _ => None,
            }
        }
    }
}

/// Serves one upgraded connection until either side closes it.
pub async fn serve(
    socket: WebSocket,
    state: HttpState,
    protocol: WebSocketProtocols,
    address: crate::auth::throttle::ClientAddress,
    request_id: Option<crate::request_id::RequestId>,
) {
    state.app.metrics.websockets.inc();
    let _open = OpenSocket(state.app.metrics.websockets.clone());
    let (mut sink, mut source) = socket.split();

    // 1. Wait for connection_init, within the timeout.
    let deadline = tokio::time::Instant::now() + Duration::from_millis(state.app.config.ws_init_timeout_ms);
    let (init_bytes, payload) = loop {
        let msg = match tokio::time::timeout_at(deadline, source.next()).await {
            Err(_) => {
                let _ = sink.send(close(4408, "Connection initialisation timeout")).await;
                return;
            }
            Ok(Some(Ok(msg))) => msg,
            Ok(_) => return,
        };
        let Some(bytes) = message_bytes(msg) else { continue };
        match before_init(protocol, &bytes) {
            BeforeInit::Init(payload) => break (bytes, payload),
            BeforeInit::Pong => {
                if sink.send(Message::Text(r#"{"type":"pong"}"#.into())).await.is_err() {
                    return;
                }
            }
            BeforeInit::Ignore => {}
            BeforeInit::Close(code, reason) => {
                let _ = sink.send(close(code, &reason)).await;
                return;
            }
        }
    };

    // 2. Authenticate from the payload.
    let token = token_from_payload(payload.as_ref());
    let organization = organization_from_payload(payload.as_ref());
    let auth = match authenticate_in(state.app.verifiers(), token.as_deref(), organization.as_deref()).await {
        Ok(Auth::Member(p)) => Auth::Member(p),
        Ok(Auth::Anonymous) => {
            let _ = sink
                .send(close(4403, "Forbidden: send {\"authorization\": \"Bearer <token>\"} in connection_init"))
                .await;
            return;
        }
        Ok(other) => {
            let _ = sink.send(close(4403, &format!("Forbidden: {}", refusal(&other)))).await;
            return;
        }
        Err(_) => {
            let _ = sink.send(close(1011, "Internal error")).await;
            return;
        }
    };

    // 3. Hand the connection (with the init message put back) to async-graphql, checking each
    //    later message first so that bad messages, a second init and duplicate IDs close with
    //    the spec's codes. Subscriptions that render the same for every viewer are diverted to
    //    shared runs (see `shared`) and written by this loop beside async-graphql's output.
    let Auth::Member(principal) = auth.clone() else {
        let _ = sink.send(close(1011, "Internal error")).await;
        return;
    };
    let credential = Arc::new(Credential::new(token.unwrap_or_default(), organization, principal.clone()));
    let org = (protocol == WebSocketProtocols::GraphQLWS).then_some(principal.org.0);
    let session = {
        let mut data = request_data(&state.app, auth.clone());
        data.insert(address);
        if let Some(id) = request_id.clone() {
            data.insert(id);
        }
        Arc::new(data)
    };
    let active_ids: Arc<Mutex<HashSet<String>>> = Arc::default();
    let close_with: Arc<Mutex<Option<(u16, String)>>> = Arc::default();
    let (commands, mut command_rx) = tokio::sync::mpsc::unbounded_channel::<SharedCommand>();
    let limits = Arc::new(SubscriptionLimits {
        counts: state.subscriptions.clone(),
        who: match &principal.api_key {
            Some(key) => format!("key:{}", key.id),
            None => format!("member:{}", principal.member_id),
        },
        per_socket: state.app.config.ws_subscriptions_per_socket as usize,
        per_principal: state.app.config.ws_subscriptions_per_principal as usize,
    });
    state.subscriptions.register(&limits.who, &active_ids);
    let input = {
        let active_ids = active_ids.clone();
        let close_with = close_with.clone();
        let credential = credential.clone();
        let state = state.clone();
        let later = source
            .take_while(|r| future::ready(r.is_ok()))
            .filter_map(|r| future::ready(r.ok().and_then(message_bytes)))
            .then(move |bytes| {
                let active_ids = active_ids.clone();
                let close_with = close_with.clone();
                let credential = credential.clone();
                let state = state.clone();
                let commands = commands.clone();
                let limits = limits.clone();
                async move {
                    let starts = starts_operation(protocol, &bytes);
                    if let Some(start) = &starts {
                        if let Some(refusal) = limits.refuse(&active_ids) {
                            let _ = commands.send(SharedCommand::Refuse(start.clone(), "RATE_LIMITED", refusal));
                            return Inbound::Diverted;
                        }
                        // Every operation runs as the principal of `connection_init`: check that
                        // it still holds (token not expired, member active with the same role,
                        // key not revoked) before letting the operation start.
                        match credential.check(&state).await {
                            Check::Holds => {}
                            Check::Refused(reason) => {
                                if let Ok(mut slot) = close_with.lock() {
                                    *slot = Some((4403, format!("Forbidden: {reason}")));
                                }
                                return Inbound::Close;
                            }
                            Check::Unknown => {
                                let message = "your credential could not be checked just now; try again".to_owned();
                                let _ = commands.send(SharedCommand::Refuse(start.clone(), "INTERNAL", message));
                                return Inbound::Diverted;
                            }
                        }
                    }
                    let verdict = match active_ids.lock() {
                        Ok(mut active) => after_init(protocol, &bytes, &mut active),
                        Err(_) => Some((1011, "Internal error".to_owned())),
                    };
                    if let Some(verdict) = verdict {
                        if let Ok(mut slot) = close_with.lock() {
                            *slot = Some(verdict);
                        }
                        return Inbound::Close;
                    }
                    match org {
                        Some(_) => divert_shared(bytes, &commands),
                        None => Inbound::Forward(bytes),
                    }
                }
            })
            .take_while(|inbound| future::ready(!matches!(inbound, Inbound::Close)))
            .filter_map(|inbound| {
                future::ready(match inbound {
                    Inbound::Forward(bytes) => Some(bytes),
                    Inbound::Diverted | Inbound::Close => None,
                })
            });
        stream::once(future::ready(init_bytes)).chain(later).boxed()
    };
    let locale = match crate::org::directory::locale_of(&state.app.directories, &auth, None, &state.app.db).await {
        Ok(l) => l,
        Err(e) => {
            e.log();
            crate::core::locale::Locale::default()
        }
    };
    let mut data = request_data(&state.app, auth);
    data.insert(address);
    if let Some(id) = request_id {
        data.insert(id);
    }
    let executor = Localized { schema: state.schema.clone(), locale };
    let mut output =
        async_graphql::http::WebSocket::new(executor, input, protocol).connection_data(data).keepalive_timeout(None);
    let mut shared_out: SelectAll<stream::BoxStream<'static, shared::Outgoing>> = SelectAll::new();
    let mut shared_runs: HashMap<String, AbortHandle> = HashMap::new();
    // The socket closes when its token expires, and when a change that may affect its principal
    // (a member deactivated or demoted, a key revoked) shows on the bus, or a periodic check
    // (for changes made outside the API) finds the principal no longer holds.
    let expiry = tokio::time::sleep_until(credential.expires_at());
    tokio::pin!(expiry);
    let mut membership = state.app.events.membership_changes();
    let mut membership_seen = membership.borrow_and_update().epoch;
    let mut periodic = tokio::time::interval_at(tokio::time::Instant::now() + RECHECK_EVERY, RECHECK_EVERY);
    periodic.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let socket_org = principal.org;
    // A re-check runs beside the loop, never inside one of its branches: while it waits for a
    // database connection, the socket's operations must still be polled, or an operation
    // paused in the middle of a query would hold its connection while every socket of the
    // organization waits for one (a membership change wakes them all at once).
    let mut recheck: Option<future::BoxFuture<'static, Check>> = None;
    let start_check = |credential: &Arc<Credential>, state: &HttpState| -> future::BoxFuture<'static, Check> {
        let (credential, state) = (credential.clone(), state.clone());
        Box::pin(async move { credential.check(&state).await })
    };
    loop {
        // Shared boards first: during a fan-out they are what is ready, and a ready branch
        // spares polling the socket's input and async-graphql's streams on every message.
        let msg = tokio::select! {
            biased;
            Some(out) = shared_out.next(), if !shared_out.is_empty() => {
                if out.last {
                    shared_runs.remove(&out.id);
                    if let Ok(mut active) = active_ids.lock() {
                        active.remove(&out.id);
                    }
                }
                Message::Text(out.text.into())
            }
            msg = output.next() => match msg {
                Some(WsMessage::Text(text)) => {
                    if text.contains("\"complete\"") {
                        forget_completed(&text, &active_ids);
                    }
                    Message::Text(text.into())
                }
                Some(WsMessage::Close(code, reason)) => close(code, &reason),
                None => break,
            },
            Some(command) = command_rx.recv() => {
                match (command, org) {
                    (SharedCommand::Start(id, request), Some(org)) => {
                        let run = state.shared.subscribe(&state.schema, session.clone(), org, id.clone(), *request);
                        let (run, handle) = stream::abortable(run);
                        if let Some(old) = shared_runs.insert(id, handle) {
                            old.abort();
                        }
                        shared_out.push(run.boxed());
                    }
                    (SharedCommand::Stop(id), _) => {
                        if let Some(handle) = shared_runs.remove(&id) {
                            handle.abort();
                        }
                    }
                    (SharedCommand::Start(..), None) => {}
                    (SharedCommand::Refuse(id, code, message), _) => {
                        let error = json!([{"message": message, "extensions": {"code": code}}]);
                        let frame = match protocol {
                            WebSocketProtocols::GraphQLWS => json!({"id": id, "type": "error", "payload": error}),
                            WebSocketProtocols::SubscriptionsTransportWS => {
                                json!({"id": id, "type": "error", "payload": error[0]})
                            }
                        };
                        if sink.send(Message::Text(frame.to_string().into())).await.is_err() {
                            return;
                        }
                    }
                }
                continue;
            }
            () = &mut expiry => {
                let _ = sink.send(close(4403, "Forbidden: the token has expired")).await;
                return;
            }
            Ok(()) = membership.changed() => {
                let change = *membership.borrow_and_update();
                let concerned = change.concerns(socket_org, membership_seen);
                membership_seen = change.epoch;
                if concerned && recheck.is_none() {
                    recheck = Some(start_check(&credential, &state));
                }
                continue;
            }
            _ = periodic.tick() => {
                if recheck.is_none() {
                    recheck = Some(start_check(&credential, &state));
                }
                continue;
            }
            // A check that cannot be made (the database is away) keeps the socket: the
            // periodic check tries again.
            checked = async { recheck.as_mut().expect("guarded by is_some").await }, if recheck.is_some() => {
                recheck = None;
                if let Check::Refused(reason) = checked {
                    let _ = sink.send(close(4403, &format!("Forbidden: {reason}"))).await;
                    return;
                }
                continue;
            }
        };
        if sink.send(msg).await.is_err() {
            return;
        }
    }
    // The operations ended without a close frame from async-graphql (the client terminated,
    // or its input ended): close with the reason recorded, or normally.
    let (code, reason) = close_with.lock().ok().and_then(|mut c| c.take()).unwrap_or((1000, String::new()));
    let _ = sink.send(close(code, &reason)).await;
}

/// How often an open socket checks its principal even when no event suggests a change (for
/// changes made outside the API, such as SQL run by hand).
const RECHECK_EVERY: Duration = Duration::from_secs(15);

/// What a socket was opened with: the credential of `connection_init` and the principal it
/// named then. Every later operation runs as that principal, so it must keep holding.
/// How many socket credential checks run at once in the process (see [`Credential::check`]).
const RECHECKS_AT_ONCE: usize = 2;
static RECHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(RECHECKS_AT_ONCE);

struct Credential {
    token: String,
    organization: Option<String>,
    principal: crate::core::principal::Principal,
    expires_at: Option<tokio::time::Instant>,
}

impl Credential {
    fn new(token: String, organization: Option<String>, principal: crate::core::principal::Principal) -> Self {
        let bearer = token.trim();
        let bearer = bearer.strip_prefix("Bearer ").or_else(|| bearer.strip_prefix("bearer ")).unwrap_or(bearer);
        // API keys do not expire. A token (this server's or an identity provider's) was verified
        // by `authenticate` just now: its `exp` is read back without checking it again.
        let exp = jsonwebtoken::dangerous::insecure_decode_claims::<serde_json::Map<String, Value>>(bearer.trim())
            .ok()
            .and_then(|claims| claims.get("exp").and_then(Value::as_i64));
        let expires_at = exp.map(|exp| {
            let left = exp.saturating_sub(chrono::Utc::now().timestamp()).max(0);
            tokio::time::Instant::now() + Duration::from_secs(u64::try_from(left).unwrap_or(0))
        });
        Credential { token, organization, principal, expires_at }
    }

    /// When the socket must close because its token expires (far away for API keys).
    fn expires_at(&self) -> tokio::time::Instant {
        self.expires_at.unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(100 * 365 * 86_400))
    }

    /// Whether the credential still authenticates the same principal, checked against the
    /// same member and key state as an HTTP request. At most [`RECHECKS_AT_ONCE`] checks run at
    /// a time in the process: a membership change wakes every socket of the organization at
    /// once, and their checks must leave database connections to the requests.
    async fn check(&self, state: &HttpState) -> Check {
        if self.expires_at.is_some_and(|at| at <= tokio::time::Instant::now()) {
            return Check::Refused("the token has expired".into());
        }
        let Ok(_turn) = RECHECKS.acquire().await else { return Check::Unknown };
        let app = &state.app;
        match crate::auth::authenticate_again(app.verifiers(), Some(&self.token), self.organization.as_deref()).await {
            Ok(Auth::Member(now)) => match same_principal(&self.principal, &now) {
                Ok(()) => Check::Holds,
                Err(reason) => Check::Refused(reason),
            },
            Ok(Auth::Anonymous) => Check::Refused("no credential".into()),
            Ok(other) => Check::Refused(refusal(&other)),
            Err(_) => Check::Unknown,
        }
    }
}

/// The outcome of checking a socket's credential again.
enum Check {
    /// It authenticates the principal the socket was opened as.
    Holds,
    /// It does not (any more): the socket closes with the reason.
    Refused(String),
    /// It could not be checked (the database did not answer): nothing is decided.
    Unknown,
}

/// `Ok` when `now` is the principal the socket was opened as: same member or key, organization,
/// role, team and scopes. Any change closes the socket; the client reconnects as who it is now.
fn same_principal(
    then: &crate::core::principal::Principal,
    now: &crate::core::principal::Principal,
) -> Result<(), String> {
    let key = |p: &crate::core::principal::Principal| p.api_key.as_ref().map(|k| (k.id, k.scopes.clone()));
    if then.org != now.org || then.member_id != now.member_id || key(then) != key(now) {
        return Err("the credential now names someone else".into());
    }
    if then.role != now.role {
        return Err("your role changed; reconnect".into());
    }
    if then.team_id != now.team_id {
        return Err("your team changed; reconnect".into());
    }
    Ok(())
}

/// The ID of the operation a client message starts (`subscribe`, or the legacy `start`).
fn starts_operation(protocol: WebSocketProtocols, bytes: &[u8]) -> Option<String> {
    let msg = serde_json::from_slice::<Value>(bytes).ok()?;
    let starts = matches!(
        (protocol, msg.get("type").and_then(Value::as_str)),
        (WebSocketProtocols::GraphQLWS, Some("subscribe"))
            | (WebSocketProtocols::SubscriptionsTransportWS, Some("start" | "subscribe"))
    );
    if !starts {
        return None;
    }
    msg.get("id").and_then(Value::as_str).map(str::to_owned)
}

/// A client message after `connection_init`, once checked.
enum Inbound {
    /// For async-graphql.
    Forward(Vec<u8>),
    /// A subscription served by a shared run.
    Diverted,
    /// The connection closes (the code and reason are in `close_with`).
    Close,
}

/// Work for the connection's loop from its input.
enum SharedCommand {
    /// Serve subscription `id` from a shared run.
    Start(String, Box<async_graphql::Request>),
    /// The client completed subscription `id`.
    Stop(String),
    /// Subscription `id` is refused before it starts: answer with this code and message.
    Refuse(String, &'static str, String),
}

/// The caps on a socket's subscriptions.
struct SubscriptionLimits {
    counts: Arc<SubscriptionCounts>,
    who: String,
    per_socket: usize,
    per_principal: usize,
}

impl SubscriptionLimits {
    /// The message refusing one more operation on the socket whose IDs are `active`, if it is
    /// one too many for the socket or for its principal.
    fn refuse(&self, active: &Mutex<HashSet<String>>) -> Option<String> {
        let on_socket = active.lock().map_or(usize::MAX, |a| a.len());
        if on_socket >= self.per_socket {
            return Some(format!(
                "this connection already runs {on_socket} operations, the most one connection may \
                 (WS_SUBSCRIPTIONS_PER_SOCKET); complete one first"
            ));
        }
        let total = self.counts.total(&self.who);
        if total >= self.per_principal {
            return Some(format!(
                "you already run {total} operations over your connections, the most one caller may \
                 (WS_SUBSCRIPTIONS_PER_PRINCIPAL); complete one first"
            ));
        }
        None
    }
}

/// Diverts a `subscribe` that a shared run can serve; a `complete` also stops a diverted
/// subscription (async-graphql ignores IDs it does not run). Everything else is forwarded.
fn divert_shared(bytes: Vec<u8>, commands: &tokio::sync::mpsc::UnboundedSender<SharedCommand>) -> Inbound {
    match ClientMessage::from_bytes(&bytes) {
        Ok(ClientMessage::Start { id, payload: mut request }) => {
            if !shared::shareable(&mut request) {
                return Inbound::Forward(bytes);
            }
            match commands.send(SharedCommand::Start(id, Box::new(request))) {
                Ok(()) => Inbound::Diverted,
                Err(_) => Inbound::Forward(bytes),
            }
        }
        Ok(ClientMessage::Stop { id }) => {
            let _ = commands.send(SharedCommand::Stop(id));
            Inbound::Forward(bytes)
        }
        _ => Inbound::Forward(bytes),
    }
}

/// A stream the server completed frees its ID for reuse.
fn forget_completed(text: &str, active: &Mutex<HashSet<String>>) {
    if let Ok(msg) = serde_json::from_str::<Value>(text)
        && msg.get("type").and_then(Value::as_str) == Some("complete")
        && let (Some(id), Ok(mut set)) = (msg.get("id").and_then(Value::as_str), active.lock())
    {
        set.remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TRANSPORT: WebSocketProtocols = WebSocketProtocols::GraphQLWS;
    const LEGACY: WebSocketProtocols = WebSocketProtocols::SubscriptionsTransportWS;
    const SUB: &str = r#"{"type":"subscribe","id":"1","payload":{"query":"subscription{organizationChanged{id}}"}}"#;

    fn bytes(v: Value) -> Vec<u8> {
        v.to_string().into_bytes()
    }

    fn code_after_init(protocol: WebSocketProtocols, msg: &[u8]) -> Option<u16> {
        after_init(protocol, msg, &mut HashSet::new()).map(|(code, _)| code)
    }

    #[test]
    fn token_lookup_ignores_key_case() {
        let v = json!({"Authorization": "Bearer abc"});
        assert_eq!(token_from_payload(Some(&v)).as_deref(), Some("Bearer abc"));
        assert_eq!(token_from_payload(Some(&json!({"authorization": 5}))), None);
        assert_eq!(token_from_payload(Some(&json!("x"))), None);
        assert_eq!(token_from_payload(None), None);
    }

    #[test]
    fn well_formed_transport_messages_parse() {
        let init = json!({"type": "connection_init", "payload": {"authorization": "Bearer x"}});
        assert_eq!(
            parse_transport_ws(&bytes(init)),
            Ok(TransportMsg::ConnectionInit(Some(json!({"authorization": "Bearer x"}))))
        );
        assert_eq!(parse_transport_ws(br#"{"type":"connection_init"}"#), Ok(TransportMsg::ConnectionInit(None)));
        assert_eq!(
            parse_transport_ws(br#"{"type":"connection_init","payload":null}"#),
            Ok(TransportMsg::ConnectionInit(None))
        );
        assert_eq!(parse_transport_ws(br#"{"type":"ping","payload":{"t":1}}"#), Ok(TransportMsg::Ping));
        assert_eq!(parse_transport_ws(br#"{"type":"pong"}"#), Ok(TransportMsg::Pong));
        assert_eq!(parse_transport_ws(SUB.as_bytes()), Ok(TransportMsg::Subscribe("1".into())));
        let with_vars = json!({"type": "subscribe", "id": "2", "payload": {
            "query": "subscription { organizationChanged { id } }",
            "variables": null, "operationName": null, "extensions": {}
        }});
        assert_eq!(parse_transport_ws(&bytes(with_vars)), Ok(TransportMsg::Subscribe("2".into())));
        assert_eq!(parse_transport_ws(br#"{"type":"complete","id":"1"}"#), Ok(TransportMsg::Complete("1".into())));
    }

    #[test]
    fn malformed_messages_close_4400_after_init() {
        let bad: &[&[u8]] = &[
            b"not json",
            b"",
            b"[1,2]",
            br#""connection_init""#,
            br#"{"id":"1"}"#,
            br#"{"type":5}"#,
            br#"{"type":"unknown"}"#,
            br#"{"type":"start","id":"1","payload":{"query":"subscription{organizationChanged{id}}"}}"#,
            br#"{"type":"stop","id":"1"}"#,
            br#"{"type":"connection_terminate"}"#,
            br#"{"type":"connection_ack"}"#,
            br#"{"type":"next","id":"1","payload":{}}"#,
            br#"{"type":"subscribe","payload":{"query":"subscription{organizationChanged{id}}"}}"#,
            br#"{"type":"subscribe","id":"","payload":{"query":"subscription{organizationChanged{id}}"}}"#,
            br#"{"type":"subscribe","id":7,"payload":{"query":"subscription{organizationChanged{id}}"}}"#,
            br#"{"type":"subscribe","id":"1"}"#,
            br#"{"type":"subscribe","id":"1","payload":{}}"#,
            br#"{"type":"subscribe","id":"1","payload":{"query":5}}"#,
            br#"{"type":"subscribe","id":"1","payload":{"query":"{a}","variables":[1]}}"#,
            br#"{"type":"complete"}"#,
            br#"{"type":"ping","payload":"x"}"#,
        ];
        for msg in bad {
            let shown = String::from_utf8_lossy(msg);
            let verdict = after_init(TRANSPORT, msg, &mut HashSet::new());
            let (code, reason) = verdict.unwrap_or_else(|| panic!("{shown} was accepted"));
            assert_eq!(code, 4400, "{shown}");
            assert!(reason.starts_with("Invalid message received"), "{shown}: {reason}");
        }
    }

    #[test]
    fn second_connection_init_closes_4429() {
        let verdict = after_init(TRANSPORT, br#"{"type":"connection_init"}"#, &mut HashSet::new());
        assert_eq!(verdict, Some((4429, "Too many initialisation requests".to_owned())));
        // Also with a payload, and even when the payload is valid.
        let again = bytes(json!({"type": "connection_init", "payload": {"authorization": "Bearer x"}}));
        assert_eq!(code_after_init(TRANSPORT, &again), Some(4429));
    }

    #[test]
    fn legacy_connection_terminate_closes_normally() {
        let legacy = WebSocketProtocols::SubscriptionsTransportWS;
        let verdict = after_init(legacy, br#"{"type":"connection_terminate"}"#, &mut HashSet::new());
        assert_eq!(verdict.map(|(code, _)| code), Some(1000));
        assert_eq!(after_init(legacy, br#"{"type":"stop","id":"1"}"#, &mut HashSet::new()), None);
    }

    #[test]
    fn valid_messages_pass_after_init() {
        for msg in [SUB, r#"{"type":"complete","id":"9"}"#, r#"{"type":"ping"}"#, r#"{"type":"pong","payload":{}}"#] {
            assert_eq!(code_after_init(TRANSPORT, msg.as_bytes()), None, "{msg}");
        }
    }

    #[test]
    fn duplicate_ids_are_refused_until_completed() {
        let mut active = HashSet::new();
        assert_eq!(after_init(TRANSPORT, SUB.as_bytes(), &mut active), None);
        assert_eq!(
            after_init(TRANSPORT, SUB.as_bytes(), &mut active),
            Some((4409, "Subscriber for 1 already exists".to_owned()))
        );
        assert_eq!(after_init(TRANSPORT, br#"{"type":"complete","id":"1"}"#, &mut active), None);
        assert_eq!(after_init(TRANSPORT, SUB.as_bytes(), &mut active), None);
        // A completion sent by the server frees the ID too.
        let shared = Mutex::new(active);
        forget_completed(r#"{"type":"complete","id":"1"}"#, &shared);
        let mut active = shared.into_inner().expect("lock");
        assert_eq!(after_init(TRANSPORT, SUB.as_bytes(), &mut active), None);
    }

    #[test]
    fn before_init_transport_ws() {
        let init = bytes(json!({"type": "connection_init", "payload": {"authorization": "Bearer t"}}));
        assert_eq!(before_init(TRANSPORT, &init), BeforeInit::Init(Some(json!({"authorization": "Bearer t"}))));
        assert_eq!(before_init(TRANSPORT, SUB.as_bytes()), BeforeInit::Close(4401, "Unauthorized".into()));
        assert_eq!(before_init(TRANSPORT, br#"{"type":"ping"}"#), BeforeInit::Pong);
        assert_eq!(before_init(TRANSPORT, br#"{"type":"pong"}"#), BeforeInit::Ignore);
        assert_eq!(before_init(TRANSPORT, br#"{"type":"complete","id":"1"}"#), BeforeInit::Ignore);
        for bad in [&b"nope"[..], br#"{"type":"start","id":"1","payload":{"query":"{a}"}}"#, br#"{"type":"subscribe"}"#]
        {
            assert!(
                matches!(before_init(TRANSPORT, bad), BeforeInit::Close(4400, _)),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        // A payload that is not an object is a bad message, not a missing token.
        assert!(matches!(
            before_init(TRANSPORT, br#"{"type":"connection_init","payload":"Bearer x"}"#),
            BeforeInit::Close(4400, _)
        ));
    }

    #[test]
    fn legacy_protocol_keeps_its_behaviour() {
        let init = bytes(json!({"type": "connection_init", "payload": {"Authorization": "Bearer t"}}));
        assert_eq!(before_init(LEGACY, &init), BeforeInit::Init(Some(json!({"Authorization": "Bearer t"}))));
        let start = br#"{"type":"start","id":"a","payload":{"query":"{a}"}}"#;
        assert_eq!(before_init(LEGACY, start), BeforeInit::Close(4401, "Unauthorized".into()));
        assert!(matches!(before_init(LEGACY, b"nope"), BeforeInit::Close(4400, _)));
        // After init only duplicate IDs and the client's terminate are handled here; the rest
        // is async-graphql's.
        let mut active = HashSet::new();
        assert_eq!(after_init(LEGACY, start, &mut active), None);
        assert_eq!(after_init(LEGACY, start, &mut active).map(|c| c.0), Some(4409));
        assert_eq!(after_init(LEGACY, br#"{"type":"stop","id":"a"}"#, &mut active), None);
        assert_eq!(after_init(LEGACY, start, &mut active), None);
        assert_eq!(after_init(LEGACY, b"not json", &mut active), None);
        // A terminate closes with a normal close frame (async-graphql would drop the socket).
        assert_eq!(after_init(LEGACY, br#"{"type":"connection_terminate"}"#, &mut active).map(|c| c.0), Some(1000));
    }

    #[test]
    fn close_reasons_fit_in_a_frame() {
        let long = format!("Subscriber for {} already exists", "é".repeat(100));
        let Message::Close(Some(frame)) = close(4409, &long) else { panic!("not a close frame") };
        assert_eq!(frame.code, 4409);
        assert!(frame.reason.len() <= MAX_CLOSE_REASON);
        assert!(long.starts_with(frame.reason.as_str()));
        let Message::Close(Some(frame)) = close(4400, "short") else { panic!("not a close frame") };
        assert_eq!(frame.reason.as_str(), "short");
    }
}
