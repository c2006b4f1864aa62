//! Who a request comes from: its credential, the organization it names (the
//! `X-Scorebord-Organization` header, or the verified host it was sent to), and the plain JSON
//! error of the non-GraphQL endpoints.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::authenticate_in;
use crate::core::ids::OrgId;
use crate::core::principal::Auth;
use crate::state::AppState;

/// The header that names the organization a request acts in: a firm's staff choose their
/// client with it; any other credential must belong to the organization it names.
pub const ORGANIZATION_HEADER: &str = "x-scorebord-organization";

pub async fn auth_from_headers(
    state: &AppState,
    headers: &HeaderMap,
    id: Option<&crate::request_id::RequestId>,
) -> Result<Auth, Response> {
    caller(state, headers, id).await.map(|(auth, _)| auth)
}

/// [`auth_from_headers`], and the organization whose verified host the request was sent to
/// (looked up once for both).
pub async fn caller(
    state: &AppState,
    headers: &HeaderMap,
    id: Option<&crate::request_id::RequestId>,
) -> Result<(Auth, Option<OrgId>), Response> {
    let unavailable = |e: crate::core::error::AppError| {
        let err: async_graphql::Error = e.into();
        let mut err = err.into_server_error(Default::default());
        crate::graphql::observability::tag_internal(&mut err, id);
        let body = async_graphql::Response::from_errors(vec![err]);
        (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
    };
    let api_key = headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(|k| format!("Bearer {}", k.trim()));
    let header = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned).or(api_key);
    let named = headers.get(ORGANIZATION_HEADER).map(|v| v.to_str().unwrap_or("\u{0}"));
    let host = request_host(state, headers).await.map_err(unavailable)?;
    // The organization named by the header, else by the host the front end is served on.
    let host_id = host.map(|o| o.0.to_string());
    let organization = named.or(host_id.as_deref());
    let auth = authenticate_in(state.verifiers(), header.as_deref(), organization).await.map_err(unavailable)?;
    // On a client's own host, the request acts in that client and no other.
    if let (Some(host), Auth::Member(p)) = (host, &auth)
        && p.org != host
    {
        return Ok((Auth::Invalid("this host serves another organization than the one named".into()), Some(host)));
    }
    Ok((auth, host))
}

/// The organization whose verified host name the request was sent to (`Host`, or the first
/// `X-Forwarded-Host` behind a trusted proxy), if any.
async fn request_host(state: &AppState, headers: &HeaderMap) -> Result<Option<OrgId>, crate::core::error::AppError> {
    let forwarded = state
        .config
        .trust_forwarded_for
        .then(|| headers.get("x-forwarded-host").and_then(|v| v.to_str().ok()))
        .flatten()
        .and_then(|v| v.split(',').next());
    let host = forwarded.or_else(|| headers.get(header::HOST).and_then(|v| v.to_str().ok()));
    match host {
        Some(h) => state.hosts.organization(&state.db, h).await,
        None => Ok(None),
    }
}

/// A JSON error `{"error": {code, message}}` of the non-GraphQL endpoints.
pub fn plain_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": { "code": code, "message": message } }))).into_response()
}
