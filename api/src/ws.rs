//! GraphQL over WebSocket (`graphql-transport-ws` and the legacy `graphql-ws`).
//!
//! async-graphql runs the operations; this module owns the connection's first message and
//! its close codes, because the spec's codes differ from async-graphql's (DESIGN.md §8):
//! no `connection_init` within 10 s closes 4408, a message before `connection_init` closes
//! 4401, a refused token closes 4403, and a second subscription with an ID still in use
//! closes 4409.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::http::{WebSocketProtocols, WsMessage};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::{SinkExt, StreamExt, future, stream};
use serde_json::Value;

use crate::auth::{Auth, authenticate};
use crate::graphql::request_data;
use crate::http::HttpState;

/// How long a client has to send `connection_init`.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

struct OpenSocket(prometheus::IntGauge);

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.0.dec();
    }
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame { code, reason: reason.to_owned().into() }))
}

fn message_bytes(msg: Message) -> Option<Vec<u8>> {
    match msg {
        Message::Text(t) => Some(t.as_bytes().to_vec()),
        Message::Binary(b) => Some(b.to_vec()),
        _ => None,
    }
}

/// The token from a `connection_init` payload: `{"authorization": "Bearer …"}` (any case of the key).
fn token_from_payload(payload: Option<&Value>) -> Option<String> {
    let obj = payload?.as_object()?;
    obj.iter().find(|(k, _)| k.eq_ignore_ascii_case("authorization")).and_then(|(_, v)| v.as_str()).map(str::to_owned)
}

/// Serves one upgraded connection until either side closes it.
pub async fn serve(socket: WebSocket, state: HttpState, protocol: WebSocketProtocols) {
    state.app.metrics.websockets.inc();
    let _open = OpenSocket(state.app.metrics.websockets.clone());
    let (mut sink, mut source) = socket.split();

    // 1. The first message must be connection_init, within the timeout.
    let first = tokio::time::timeout(INIT_TIMEOUT, async {
        while let Some(Ok(msg)) = source.next().await {
            if let Some(bytes) = message_bytes(msg) {
                return Some(bytes);
            }
        }
        None
    })
    .await;
    let init_bytes = match first {
        Err(_) => {
            let _ = sink.send(close(4408, "Connection initialisation timeout")).await;
            return;
        }
        Ok(None) => return,
        Ok(Some(bytes)) => bytes,
    };
    let init: Value = serde_json::from_slice(&init_bytes).unwrap_or(Value::Null);
    match init.get("type").and_then(Value::as_str) {
        Some("connection_init") => {}
        Some("subscribe" | "start") => {
            let _ = sink.send(close(4401, "Unauthorized")).await;
            return;
        }
        _ => {
            let _ = sink.send(close(4400, "expected connection_init")).await;
            return;
        }
    }

    // 2. Authenticate from the payload.
    let token = token_from_payload(init.get("payload"));
    let auth = match authenticate(&state.app.db, &state.app.jwt, token.as_deref()).await {
        Ok(Auth::Member(p)) => Auth::Member(p),
        Ok(Auth::Anonymous) => {
            let _ = sink
                .send(close(4403, "Forbidden: send {\"authorization\": \"Bearer <token>\"} in connection_init"))
                .await;
            return;
        }
        Ok(Auth::Invalid(reason)) => {
            let _ = sink.send(close(4403, &format!("Forbidden: {reason}"))).await;
            return;
        }
        Err(_) => {
            let _ = sink.send(close(1011, "Internal error")).await;
            return;
        }
    };

    // 3. Hand the connection (with the init message put back) to async-graphql, watching
    //    operation IDs so a duplicate closes 4409 as the spec requires.
    let active_ids: Arc<Mutex<HashSet<String>>> = Arc::default();
    let close_with: Arc<Mutex<Option<(u16, String)>>> = Arc::default();
    let input = {
        let active_ids = active_ids.clone();
        let close_with = close_with.clone();
        stream::once(future::ready(init_bytes))
            .chain(
                source
                    .take_while(|r| future::ready(r.is_ok()))
                    .filter_map(|r| future::ready(r.ok().and_then(message_bytes))),
            )
            .take_while(move |bytes| {
                let ok = track_ids(bytes, &active_ids, &close_with);
                future::ready(ok)
            })
    };
    let data = request_data(&state.app, auth);
    let mut output = async_graphql::http::WebSocket::new(state.schema.clone(), input, protocol)
        .connection_data(data)
        .keepalive_timeout(None);
    while let Some(msg) = output.next().await {
        let msg = match msg {
            WsMessage::Text(text) => {
                if text.contains("\"complete\"") {
                    forget_completed(&text, &active_ids);
                }
                Message::Text(text.into())
            }
            WsMessage::Close(code, reason) => close(code, &reason),
        };
        if sink.send(msg).await.is_err() {
            return;
        }
    }
    let pending = close_with.lock().ok().and_then(|mut c| c.take());
    if let Some((code, reason)) = pending {
        let _ = sink.send(close(code, &reason)).await;
    }
}

/// Records subscribe/complete IDs; false (and a 4409 close reason) on a duplicate ID.
fn track_ids(bytes: &[u8], active: &Mutex<HashSet<String>>, close_with: &Mutex<Option<(u16, String)>>) -> bool {
    let Ok(msg) = serde_json::from_slice::<Value>(bytes) else { return true };
    let id = msg.get("id").and_then(Value::as_str).map(str::to_owned);
    let (Some(kind), Some(id)) = (msg.get("type").and_then(Value::as_str), id) else { return true };
    let Ok(mut set) = active.lock() else { return true };
    match kind {
        "subscribe" | "start" if !set.insert(id.clone()) => {
            if let Ok(mut c) = close_with.lock() {
                *c = Some((4409, format!("Subscriber for {id} already exists")));
            }
            return false;
        }
        "complete" | "stop" => {
            set.remove(&id);
        }
        _ => {}
    }
    true
}

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

    #[test]
    fn token_lookup_ignores_key_case() {
        let v = serde_json::json!({"Authorization": "Bearer abc"});
        assert_eq!(token_from_payload(Some(&v)).as_deref(), Some("Bearer abc"));
        assert_eq!(token_from_payload(Some(&serde_json::json!({"authorization": 5}))), None);
        assert_eq!(token_from_payload(Some(&serde_json::json!("x"))), None);
        assert_eq!(token_from_payload(None), None);
    }

    #[test]
    fn duplicate_ids_are_refused_until_completed() {
        let active = Mutex::new(HashSet::new());
        let close_with = Mutex::new(None);
        let sub = br#"{"type":"subscribe","id":"1","payload":{"query":"subscription{organizationChanged{id}}"}}"#;
        assert!(track_ids(sub, &active, &close_with));
        assert!(!track_ids(sub, &active, &close_with));
        assert_eq!(close_with.lock().expect("lock").as_ref().map(|c| c.0), Some(4409));
        *close_with.lock().expect("lock") = None;
        assert!(track_ids(br#"{"type":"complete","id":"1"}"#, &active, &close_with));
        assert!(track_ids(sub, &active, &close_with));
        forget_completed(r#"{"type":"complete","id":"1"}"#, &active);
        assert!(track_ids(sub, &active, &close_with));
        assert!(track_ids(b"not json", &active, &close_with));
    }
}
