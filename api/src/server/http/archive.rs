//! An organization's archive over HTTP: `GET /exports/organization.ndjson` streams it to the
//! organization's admin (or a firm's staff acting as one); `POST /firm/clients/import` reads one
//! into a new client of the caller's firm. Same authentication as `/graphql`; never API keys.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::super::state::HttpState;
use super::caller::{auth_from_headers, plain_error};

/// Largest archive accepted by `POST /firm/clients/import`, in bytes.
pub const MAX_IMPORT_BYTES: usize = 512 * 1024 * 1024;

/// Streams the caller's organization as an archive (NDJSON: a header, one line per row, the
/// manifest last).
pub async fn export(
    State(state): State<HttpState>,
    headers: HeaderMap,
    id: Option<axum::Extension<crate::request_id::RequestId>>,
    log: Option<axum::Extension<Arc<crate::request_id::RequestLog>>>,
) -> Response {
    let id = id.map(|axum::Extension(id)| id);
    let auth = match auth_from_headers(&state.app, &headers, id.as_ref()).await {
        Ok(a) => a,
        Err(resp) => return resp,
    };
    if let Some(axum::Extension(log)) = log {
        log.caller(&auth);
    }
    let p = match auth.principal() {
        Ok(p) => p,
        Err(e) => return plain_error(StatusCode::UNAUTHORIZED, e.code(), &e.message()),
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    if let Err(e) = crate::archive::service::export(&state.app.db, p, tx).await {
        let status = if e.code() == "FORBIDDEN" { StatusCode::FORBIDDEN } else { StatusCode::INTERNAL_SERVER_ERROR };
        e.log();
        return plain_error(status, e.code(), &e.message());
    }
    let lines = async_stream::stream! {
        while let Some(line) = rx.recv().await {
            match line {
                Ok(text) => yield Ok::<_, std::io::Error>(text),
                Err(e) => {
                    e.log();
                    // Cut short: no manifest follows, which a reader detects.
                    yield Err(std::io::Error::other("the export failed"));
                    break;
                }
            }
        }
    };
    (
        [
            (header::CONTENT_TYPE, "application/x-ndjson".to_owned()),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"organization.ndjson\"".to_owned()),
        ],
        Body::from_stream(lines),
    )
        .into_response()
}

/// `?slug=…&name=…` of an import.
#[derive(serde::Deserialize)]
pub struct ImportQuery {
    slug: Option<String>,
    name: Option<String>,
}

/// Reads an archive (the body) into a new client of the caller's firm (firm admins).
pub async fn import(
    State(state): State<HttpState>,
    headers: HeaderMap,
    id: Option<axum::Extension<crate::request_id::RequestId>>,
    axum::extract::Query(q): axum::extract::Query<ImportQuery>,
    body: Body,
) -> Response {
    let id = id.map(|axum::Extension(id)| id);
    let auth = match auth_from_headers(&state.app, &headers, id.as_ref()).await {
        Ok(a) => a,
        Err(resp) => return resp,
    };
    let staff = match auth.firm_staff() {
        Ok(s) => s,
        Err(e) if e.code() == "FORBIDDEN" => return plain_error(StatusCode::FORBIDDEN, e.code(), &e.message()),
        Err(e) => return plain_error(StatusCode::UNAUTHORIZED, e.code(), &e.message()),
    };
    let Some(slug) = q.slug else {
        return plain_error(StatusCode::BAD_REQUEST, "BAD_USER_INPUT", "give ?slug= for the new organization");
    };
    let bytes = match axum::body::to_bytes(body, MAX_IMPORT_BYTES).await {
        Ok(b) => b,
        Err(_) => return plain_error(StatusCode::PAYLOAD_TOO_LARGE, "BAD_USER_INPUT", "the archive is too large"),
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return plain_error(StatusCode::BAD_REQUEST, "BAD_USER_INPUT", "the archive is not UTF-8 text");
    };
    match crate::firm::service::import_client(&state.app.db, &state.app.events, staff, slug, q.name, text).await {
        Ok(Ok((org, manifest))) => (
            StatusCode::CREATED,
            axum::Json(serde_json::json!({
                "organization": {"id": org.id, "slug": org.slug, "name": org.name},
                "manifest": manifest,
            })),
        )
            .into_response(),
        Ok(Err(errors)) => {
            let all: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.field.join("."), e.message)).collect();
            plain_error(StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT", &all.join("; "))
        }
        Err(e) if e.code() == "FORBIDDEN" => plain_error(StatusCode::FORBIDDEN, e.code(), &e.message()),
        Err(e) => {
            e.log();
            plain_error(StatusCode::INTERNAL_SERVER_ERROR, e.code(), &e.message())
        }
    }
}
