//! Request IDs and the one log line per request.
//!
//! Every request gets an ID: the client's `X-Request-Id` when it is printable ASCII of at most
//! 128 characters, else the trace ID of a valid W3C `traceparent`, else a new UUIDv7. The ID
//! is returned in the `X-Request-Id` response header (errors and WebSocket upgrades included),
//! is a field of the `request` span every log line of the request is written in, and is put in
//! `extensions.requestId` of INTERNAL errors so a report from a client can be found in the logs.
//! When the request ends, one INFO line (`request finished`) says what it was and how it went.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use tracing::Instrument as _;

/// The request and response header carrying the ID.
pub const HEADER: &str = "x-request-id";

/// Longest client-chosen request ID accepted.
pub const MAX_LEN: usize = 128;

/// A request's ID (in the request's extensions and in GraphQL request data).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(pub Arc<str>);

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a client's `X-Request-Id` may be used as it is: 1 to 128 printable ASCII
/// characters (so it can go into a header and a log line unchanged).
pub fn valid_client_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_LEN && id.bytes().all(|b| (0x20..=0x7e).contains(&b)) && !id.trim().is_empty()
}

/// The trace ID (32 lowercase hex digits) of a W3C `traceparent` header, when it is valid:
/// `version-traceid-parentid-flags`, hex throughout, IDs not all zero, version not `ff`.
pub fn trace_id(traceparent: &str) -> Option<&str> {
    let parts: Vec<&str> = traceparent.trim().split('-').collect();
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let [version, trace, parent, flags, ..] = parts[..] else { return None };
    if !hex(version, 2) || version == "ff" || (version == "00" && parts.len() != 4) {
        return None;
    }
    if !hex(trace, 32) || !hex(parent, 16) || !hex(flags, 2) {
        return None;
    }
    if trace.bytes().all(|b| b == b'0') || parent.bytes().all(|b| b == b'0') {
        return None;
    }
    Some(trace)
}

/// The ID for a request with these headers.
pub fn from_headers(headers: &HeaderMap) -> RequestId {
    if let Some(id) = headers.get(HEADER).and_then(|v| v.to_str().ok()).filter(|id| valid_client_id(id)) {
        return RequestId(id.into());
    }
    if let Some(trace) = headers.get("traceparent").and_then(|v| v.to_str().ok()).and_then(trace_id) {
        return RequestId(trace.into());
    }
    RequestId(uuid::Uuid::now_v7().to_string().into())
}

/// Who sent a request, for the log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrincipalKind {
    /// No (valid) credential.
    Anonymous,
    /// A member's token.
    Member,
    /// An API key.
    ApiKey,
    /// A consulting firm's staff member.
    FirmStaff,
}

impl PrincipalKind {
    /// As written in the log line.
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::Anonymous => "anonymous",
            PrincipalKind::Member => "member",
            PrincipalKind::ApiKey => "api_key",
            PrincipalKind::FirmStaff => "firm_staff",
        }
    }

    /// The kind of an authentication result.
    pub fn of(auth: &crate::core::principal::Auth) -> Self {
        match auth {
            crate::core::principal::Auth::Member(p) if p.api_key.is_some() => PrincipalKind::ApiKey,
            crate::core::principal::Auth::Member(p) if p.firm_staff.is_some() => PrincipalKind::FirmStaff,
            crate::core::principal::Auth::Firm(_) => PrincipalKind::FirmStaff,
            crate::core::principal::Auth::Member(_) => PrincipalKind::Member,
            _ => PrincipalKind::Anonymous,
        }
    }
}

/// What handlers learn about a request for its log line (in the request's extensions).
#[derive(Debug, Default)]
pub struct RequestLog {
    inner: Mutex<LogFields>,
}

#[derive(Debug, Default)]
struct LogFields {
    operation: Option<String>,
    organization: Option<uuid::Uuid>,
    principal: Option<PrincipalKind>,
    cost: Option<u64>,
}

impl RequestLog {
    fn with<R>(&self, f: impl FnOnce(&mut LogFields) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Records the caller.
    pub fn caller(&self, auth: &crate::core::principal::Auth) {
        self.with(|l| {
            l.principal = Some(PrincipalKind::of(auth));
            if let crate::core::principal::Auth::Member(p) = auth {
                l.organization = Some(p.org.0);
            }
        });
    }

    /// Records the GraphQL operation name (made label-safe: short, alphanumeric).
    pub fn operation(&self, name: Option<&str>) {
        let label = crate::metrics::operation_label(name);
        self.with(|l| l.operation = Some(label));
    }

    /// Records the cost from a response's `extensions.cost`.
    pub fn cost(&self, cost: Option<&async_graphql::Value>) {
        if let Some(async_graphql::Value::Object(cost)) = cost
            && let Some(async_graphql::Value::Number(n)) = cost.get("requestedQueryCost")
        {
            let n = n.as_u64();
            self.with(|l| l.cost = n);
        }
    }
}

/// Middleware: assigns the ID, runs the request in a `request` span carrying it, sets the
/// response header and writes the request's log line.
pub async fn middleware(mut request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let started = Instant::now();
    let id = from_headers(request.headers());
    let method = request.method().clone();
    let path = request.uri().path().chars().take(200).collect::<String>();
    let log = Arc::new(RequestLog::default());
    request.extensions_mut().insert(id.clone());
    request.extensions_mut().insert(log.clone());
    let span = tracing::info_span!("request", request_id = %id);
    crate::telemetry::set_parent(&span, request.headers());
    let mut response = next.run(request).instrument(span.clone()).await;
    if let Ok(value) = HeaderValue::from_str(&id.0) {
        response.headers_mut().insert(HEADER, value);
    }
    let fields = log.with(std::mem::take);
    let status = response.status().as_u16();
    let _entered = span.enter();
    tracing::info!(
        method = %method,
        path = %path,
        operation = fields.operation.as_deref().unwrap_or(""),
        organization_id = %fields.organization.map(|o| o.to_string()).unwrap_or_default(),
        principal = fields.principal.unwrap_or(PrincipalKind::Anonymous).as_str(),
        status,
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        cost = fields.cost.unwrap_or(0),
        "request finished"
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_printable_and_short() {
        assert!(valid_client_id("abc-123"));
        assert!(valid_client_id("a b"));
        assert!(valid_client_id(&"x".repeat(128)));
        assert!(!valid_client_id(&"x".repeat(129)));
        assert!(!valid_client_id(""));
        assert!(!valid_client_id("   "));
        assert!(!valid_client_id("a\nb"));
        assert!(!valid_client_id("a\tb"));
        assert!(!valid_client_id("é"));
        assert!(!valid_client_id("a\u{7f}"));
    }

    #[test]
    fn trace_ids_from_traceparent() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(trace_id(tp), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "garbage",
        ] {
            assert_eq!(trace_id(bad), None, "{bad}");
        }
        // A later version may append fields.
        assert!(trace_id("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x").is_some());
    }

    #[test]
    fn ids_prefer_the_client_then_the_trace() {
        let mut h = HeaderMap::new();
        let made = from_headers(&h);
        assert_eq!(uuid::Uuid::parse_str(&made.0).map(|u| u.get_version_num()), Ok(7));
        h.insert("traceparent", HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
        assert_eq!(&*from_headers(&h).0, "4bf92f3577b34da6a3ce929d0e0e4736");
        h.insert(HEADER, HeaderValue::from_static("client-42"));
        assert_eq!(&*from_headers(&h).0, "client-42");
        h.insert(HEADER, HeaderValue::from_str(&"y".repeat(200)).unwrap());
        assert_eq!(&*from_headers(&h).0, "4bf92f3577b34da6a3ce929d0e0e4736");
    }
}
