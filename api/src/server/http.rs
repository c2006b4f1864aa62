//! The HTTP surface: `/graphql` (GraphQL over HTTP: POST, and GET for queries; GraphiQL for
//! browsers; WebSocket subscriptions), `/graphiql/…` (GraphiQL's files), `/healthz`, `/readyz`
//! and `/metrics`.

pub mod accept;
pub mod archive;
pub mod caller;
pub mod graphiql;
pub mod transport;

use std::sync::Arc;

use async_graphql::http::WebSocketProtocols;
use async_graphql_axum::GraphQLRequest;
use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRequest, FromRequestParts, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use migration::MigratorTrait;

use super::state::HttpState;
use crate::core::ids::OrgId;
use crate::core::principal::Auth;
use crate::graphql::with_request_data;
use accept::Media;
use caller::{auth_from_headers, caller, plain_error};
use transport::{Exchange, render};

/// Builds the router with CORS and the body limit.
pub fn router(state: HttpState) -> Router {
    let config = state.app.config.clone();
    let mut router = Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/graphiql/{digest}/{file}", get(graphiql::asset))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/exports/payouts.csv", get(payouts_csv))
        .route("/exports/organization.ndjson", get(archive::export))
        .route(
            "/firm/clients/import",
            axum::routing::post(archive::import).layer(axum::extract::DefaultBodyLimit::max(archive::MAX_IMPORT_BYTES)),
        );
    // With METRICS_BIND, `/metrics` lives on its own listener only (see `metrics_router`).
    if config.metrics_bind.is_none() {
        router = router.route("/metrics", get(metrics));
    }
    router
        .layer(axum::middleware::from_fn_with_state((config.body_limit_bytes, config.upload_limit_bytes), limit_body))
        .layer(crate::cors::layer(&config.cors_origins, &config.cors_allowed_headers, &[crate::request_id::HEADER]))
        .layer(axum::middleware::from_fn(security_headers))
        .layer(axum::middleware::from_fn(crate::request_id::middleware))
        .with_state(state)
}

/// The router of the `METRICS_BIND` listener: `/metrics` and nothing else.
pub fn metrics_router(state: HttpState) -> Router {
    Router::new().route("/metrics", get(metrics)).with_state(state)
}

/// Headers every response carries: no MIME sniffing, no framing (clickjacking), no referrer
/// leaking tokens in URLs, and HSTS for deployments behind TLS (browsers ignore it over plain
/// HTTP). The default content policy only forbids framing; GraphiQL's page sets its own,
/// stricter one (see [`graphiql::content_security_policy`]).
async fn security_headers(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("content-security-policy", "frame-ancestors 'none'"),
        ("referrer-policy", "no-referrer"),
        ("strict-transport-security", "max-age=31536000; includeSubDomains"),
        ("cross-origin-opener-policy", "same-origin"),
    ] {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    }
    response
}

/// The supported language an `Accept-Language` header prefers.
fn accept_language(headers: &HeaderMap) -> Option<crate::core::locale::Locale> {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::core::locale::Locale::from_accept_language)
}

/// The response media type the client accepts (`None`: answer [`not_acceptable`]).
fn negotiate(headers: &HeaderMap) -> Option<Media> {
    accept::negotiate(headers.get(header::ACCEPT).map(|v| v.to_str().unwrap_or("\u{0}")))
}

/// 406, with a JSON body saying what to accept.
fn not_acceptable() -> Response {
    request_error(
        StatusCode::NOT_ACCEPTABLE,
        "the Accept header allows neither application/graphql-response+json nor application/json",
    )
}

/// `response` (a JSON error answered before GraphQL) labelled with the negotiated media type.
fn in_media(mut response: Response, media: Media) -> Response {
    if response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json")) {
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(media.content_type()));
    }
    response
}

async fn graphql_post(State(state): State<HttpState>, request: axum::extract::Request) -> Response {
    let Some(media) = negotiate(request.headers()) else { return not_acceptable() };
    let traced = Traced::of(request.extensions());
    let (auth, host) = match caller(&state.app, request.headers(), traced.id.as_ref()).await {
        Ok(a) => a,
        Err(resp) => return resp,
    };
    traced.log.caller(&auth);
    // Uploads are spooled to disk as they arrive: only a known caller gets that far.
    if is_multipart(request.headers())
        && let Err(e) = auth.principal()
    {
        let mut err = async_graphql::ServerError::new(format!("uploads need authentication: {}", e.message()), None);
        err.extensions.get_or_insert_with(Default::default).set("code", "UNAUTHENTICATED");
        let body = serde_json::to_vec(&serde_json::json!({ "errors": [err] })).unwrap_or_default();
        let mut refused = transport::json_body(StatusCode::UNAUTHORIZED, media, body);
        refused.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        return refused;
    }
    let address = crate::auth::throttle::ClientAddress::from_request(
        request.headers(),
        request.extensions(),
        state.app.config.trust_forwarded_for,
    );
    let locale = accept_language(request.headers());
    let request = match read_graphql_request(request).await {
        Ok(r) => r.data(crate::graphql::RequestLocale(locale)),
        Err(resp) => return in_media(resp, media),
    };
    execute(&state, (auth, address, host), request, media, Exchange::post(), &traced).await
}

/// The request's ID and its log line (set by the request-ID layer), carried into execution.
struct Traced {
    id: Option<crate::request_id::RequestId>,
    log: Arc<crate::request_id::RequestLog>,
}

impl Traced {
    fn of(extensions: &axum::http::Extensions) -> Traced {
        Traced {
            id: extensions.get::<crate::request_id::RequestId>().cloned(),
            log: extensions.get::<Arc<crate::request_id::RequestLog>>().cloned().unwrap_or_default(),
        }
    }
}

/// Runs a GraphQL request from POST or GET as the caller (who, and from which address).
async fn execute(
    state: &HttpState,
    (auth, address, host): (Auth, crate::auth::throttle::ClientAddress, Option<OrgId>),
    request: async_graphql::Request,
    media: Media,
    exchange: Arc<Exchange>,
    traced: &Traced,
) -> Response {
    let log = &traced.log;
    log.operation(request.operation_name.as_deref());
    let mut request = request.data(log.clone());
    if let Some(id) = &traced.id {
        request = request.data(id.clone());
    }
    let request = request.data(exchange.clone());
    let accept = request
        .data
        .get(&std::any::TypeId::of::<crate::graphql::RequestLocale>())
        .and_then(|l| l.downcast_ref::<crate::graphql::RequestLocale>().and_then(|l| l.0));
    let asked = auth.clone();
    let request = with_request_data(request, &state.app, auth).data(address).data(crate::graphql::RequestHost(host));
    let mut response = state.schema.execute(request).await;
    log.cost(response.extensions.get("cost"));
    if !response.errors.is_empty() {
        translate_errors(&state.app, &asked, accept, &mut response.errors).await;
    }
    render(response, media, &exchange)
}

/// Puts the messages of a response's errors in the caller's language (see
/// [`crate::org::directory::locale_of`]); codes stay as they are. English needs no work.
pub(crate) async fn translate_errors(
    app: &crate::state::AppState,
    auth: &Auth,
    accept: Option<crate::core::locale::Locale>,
    errors: &mut [async_graphql::ServerError],
) {
    let locale = match crate::org::directory::locale_of(&app.directories, auth, accept, &app.db).await {
        Ok(l) => l,
        Err(e) => {
            e.log();
            return;
        }
    };
    crate::graphql::error::localize_errors(errors, locale);
}

/// A request refused before it reaches GraphQL, answered like a GraphQL request error (no
/// `data`, `errors[0].extensions.code` BAD_USER_INPUT) so clients need one error path.
fn request_error(status: StatusCode, message: impl Into<String>) -> Response {
    let mut err = async_graphql::ServerError::new(message, None);
    err.extensions.get_or_insert_with(Default::default).set("code", "BAD_USER_INPUT");
    (status, axum::Json(serde_json::json!({ "errors": [err] }))).into_response()
}

/// The body limit [`limit_body`] applied, for the message when a streamed body outgrows it.
#[derive(Clone, Copy)]
struct BodyLimit(usize);

fn over_limit(limit: Option<usize>) -> Response {
    let message = match limit {
        Some(n) => format!("request body over the limit of {n} bytes"),
        None => "request body over the size limit".to_owned(),
    };
    request_error(StatusCode::PAYLOAD_TOO_LARGE, message)
}

/// A body that did not arrive in time (`BODY_READ_TIMEOUT_MS`).
fn body_late() -> Response {
    request_error(StatusCode::REQUEST_TIMEOUT, "the request body did not arrive in time; send it without pauses")
}

/// Whether a body read failed because [`limit_body`]'s cap was hit.
fn is_length_limit(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(e) = cause {
        if e.is::<http_body_util::LengthLimitError>() || e.to_string().contains("length limit exceeded") {
            return true;
        }
        cause = e.source();
    }
    false
}

/// The GraphQL request in a POST body: JSON (`application/json`, or no content type), or a
/// multipart upload. Anything else is refused with a status and a message a developer can act
/// on, never a debug dump: 415 for another content type, 413 over the size limit, 400 for a
/// body that is not UTF-8, not JSON, a batch, or not shaped like a GraphQL request.
async fn read_graphql_request(request: axum::extract::Request) -> Result<async_graphql::Request, Response> {
    let limit = request.extensions().get::<BodyLimit>().map(|l| l.0);
    let content_type =
        request.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap_or("").to_ascii_lowercase());
    let media = content_type.as_deref().map(|c| c.split(';').next().unwrap_or("").trim().to_owned());
    match media.as_deref() {
        None | Some("application/json") => {}
        Some("multipart/form-data") => {
            return match GraphQLRequest::<async_graphql_axum::rejection::GraphQLRejection>::from_request(request, &())
                .await
            {
                Ok(r) => Ok(r.into_inner()),
                Err(rejection) => Err(match rejection.0 {
                    async_graphql::ParseRequestError::PayloadTooLarge => over_limit(limit),
                    async_graphql::ParseRequestError::Io(e) if is_length_limit(&e) => over_limit(limit),
                    async_graphql::ParseRequestError::Io(e) if crate::server::connections::is_body_timeout(&e) => {
                        body_late()
                    }
                    async_graphql::ParseRequestError::InvalidMultipart(e)
                        if crate::server::connections::is_body_timeout(&e) =>
                    {
                        body_late()
                    }
                    async_graphql::ParseRequestError::InvalidMultipart(e) if is_length_limit(&e) => over_limit(limit),
                    async_graphql::ParseRequestError::MissingOperatorsPart => request_error(
                        StatusCode::BAD_REQUEST,
                        "the multipart request lacks the \"operations\" part (GraphQL multipart request spec)",
                    ),
                    other => request_error(StatusCode::BAD_REQUEST, format!("invalid multipart request: {other}")),
                }),
            };
        }
        Some(other) => {
            return Err(request_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "Content-Type {} is not supported: send application/json (or multipart/form-data for uploads)",
                    other.chars().take(100).collect::<String>()
                ),
            ));
        }
    }
    let bytes = match axum::body::to_bytes(request.into_body(), usize::MAX).await {
        Ok(b) => b,
        Err(e) if is_length_limit(&e) => return Err(over_limit(limit)),
        Err(e) if crate::server::connections::is_body_timeout(&e) => return Err(body_late()),
        Err(e) => return Err(request_error(StatusCode::BAD_REQUEST, format!("cannot read the request body: {e}"))),
    };
    if let Err(e) = std::str::from_utf8(&bytes) {
        return Err(request_error(
            StatusCode::BAD_REQUEST,
            format!("the request body is not valid UTF-8 (invalid bytes at offset {})", e.valid_up_to()),
        ));
    }
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        Some(b'[') => {
            return Err(request_error(
                StatusCode::BAD_REQUEST,
                "batched requests are not supported: send one operation per request",
            ));
        }
        _ => {
            return Err(request_error(
                StatusCode::BAD_REQUEST,
                "the request body must be a JSON object: {\"query\": \"…\", \"variables\": {…}, \"operationName\": \"…\"}",
            ));
        }
    }
    match serde_json::from_slice::<GraphqlParams>(&bytes) {
        Ok(params) => params.into_request().map_err(|m| request_error(StatusCode::BAD_REQUEST, m)),
        Err(e) => {
            let what = if e.is_data() { "not a GraphQL request" } else { "not valid JSON" };
            Err(request_error(StatusCode::BAD_REQUEST, format!("the request body is {what}: {e}")))
        }
    }
}

/// The parameters of a GraphQL-over-HTTP request (a POST body, or a GET's query string); each
/// may be null or absent.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphqlParams {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<serde_json::Map<String, serde_json::Value>>,
    extensions: Option<serde_json::Map<String, serde_json::Value>>,
}

impl GraphqlParams {
    /// The GraphQL request; an error message when there is neither a query nor a persisted
    /// query's hash.
    fn into_request(self) -> Result<async_graphql::Request, String> {
        let extensions = self.extensions.unwrap_or_default();
        let query = self.query.unwrap_or_default();
        if query.is_empty() && !extensions.contains_key("persistedQuery") {
            return Err("the request has no query: send {\"query\": \"…\"} (or a persisted query's hash in extensions.persistedQuery)".to_owned());
        }
        let mut request = async_graphql::Request::new(query);
        if let Some(name) = self.operation_name {
            request = request.operation_name(name);
        }
        if let Some(variables) = self.variables {
            request = request.variables(async_graphql::Variables::from_json(serde_json::Value::Object(variables)));
        }
        for (name, value) in extensions {
            let value = async_graphql::Value::from_json(value).map_err(|e| format!("extensions.{name}: {e}"))?;
            request.extensions.0.insert(name, value);
        }
        Ok(request)
    }
}

/// Longest query string a GET may carry. urql moves to POST past 2,048 bytes of URL and
/// Apollo Kotlin's persisted queries send only a hash, so this leaves room for long queries
/// while refusing what proxies and logs should not have to carry.
pub const MAX_GET_QUERY_STRING_BYTES: usize = 16 * 1024;

/// GET `/graphql`: a WebSocket upgrade starts a subscription connection; a query string is a
/// GraphQL request (queries only: a mutation answers 405); a browser asking for a page with no
/// `query` (nor `extensions`) parameter gets GraphiQL.
async fn graphql_get(State(state): State<HttpState>, request: axum::extract::Request) -> Response {
    let (mut parts, _body) = request.into_parts();
    let id = parts.extensions.get::<crate::request_id::RequestId>().cloned();
    let address = crate::auth::throttle::ClientAddress::from_request(
        &parts.headers,
        &parts.extensions,
        state.app.config.trust_forwarded_for,
    );
    let is_upgrade = parts
        .headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !is_upgrade {
        return graphql_get_request(&state, &parts, address).await;
    }
    let protocol = parts
        .headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').find_map(|p| p.trim().parse::<WebSocketProtocols>().ok()));
    let Some(protocol) = protocol else {
        return (StatusCode::BAD_REQUEST, "Sec-WebSocket-Protocol must be graphql-transport-ws or graphql-ws")
            .into_response();
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        Ok(u) => u,
        Err(rejection) => return rejection.into_response(),
    };
    let span = tracing::Span::current();
    // Board messages are a few KiB: small buffers keep 10,000 idle sockets in tens of MiB
    // (the 128 KiB defaults cost about 150 KiB per connection), and an empty write buffer
    // sends each frame at once.
    upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .protocols([protocol.sec_websocket_protocol()])
        .on_upgrade(move |socket| {
            // The socket's log lines stay in the upgrade request's span (its request ID).
            tracing::Instrument::instrument(crate::server::ws::serve(socket, state, protocol, address, id), span)
        })
        .into_response()
}

/// A GraphQL request (or GraphiQL) by GET.
async fn graphql_get_request(
    state: &HttpState,
    parts: &axum::http::request::Parts,
    address: crate::auth::throttle::ClientAddress,
) -> Response {
    let raw = parts.uri.query().unwrap_or("");
    let accept = parts.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let names_a_request =
        url::form_urlencoded::parse(raw.as_bytes()).any(|(name, _)| name == "query" || name == "extensions");
    if !names_a_request && accept::prefers_html(accept) {
        return graphiql::page(&parts.headers);
    }
    let Some(media) = negotiate(&parts.headers) else { return not_acceptable() };
    if raw.len() > MAX_GET_QUERY_STRING_BYTES {
        let message = format!(
            "the query string is {} bytes, over the limit of {MAX_GET_QUERY_STRING_BYTES}: send long queries with POST",
            raw.len()
        );
        return in_media(request_error(StatusCode::URI_TOO_LONG, message), media);
    }
    let request = match get_params(raw).and_then(|p| p.into_request()) {
        Ok(r) => r,
        Err(message) => return in_media(request_error(StatusCode::BAD_REQUEST, message), media),
    };
    let traced = Traced::of(&parts.extensions);
    let (auth, host) = match caller(&state.app, &parts.headers, traced.id.as_ref()).await {
        Ok(a) => a,
        Err(resp) => return in_media(resp, media),
    };
    traced.log.caller(&auth);
    let request = request.data(crate::graphql::RequestLocale(accept_language(&parts.headers)));
    execute(state, (auth, address, host), request, media, Exchange::get(), &traced).await
}

/// The GraphQL parameters of a GET query string: `query` and `operationName` as text,
/// `variables` and `extensions` as JSON objects. Each at most once; other names are ignored.
fn get_params(raw: &str) -> Result<GraphqlParams, String> {
    let mut params = serde_json::Map::new();
    for (name, value) in url::form_urlencoded::parse(raw.as_bytes()) {
        let json = match name.as_ref() {
            "query" | "operationName" => serde_json::Value::String(value.into_owned()),
            "variables" | "extensions" => {
                serde_json::from_str(&value).map_err(|e| format!("the {name} parameter is not valid JSON: {e}"))?
            }
            _ => continue,
        };
        if params.insert(name.clone().into_owned(), json).is_some() {
            return Err(format!("the {name} parameter is given more than once"));
        }
    }
    if params.is_empty() {
        return Err(
            "a GET needs a query parameter: /graphql?query={…}&variables={…}&operationName=… (or open it in a browser for GraphiQL)"
                .to_owned(),
        );
    }
    serde_json::from_value(serde_json::Value::Object(params)).map_err(|e| format!("invalid GraphQL parameters: {e}"))
}

async fn readyz(State(state): State<HttpState>) -> Response {
    if !crate::db::ping(&state.app.db).await {
        return (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response();
    }
    match migration::Migrator::get_pending_migrations(&state.app.db).await {
        Ok(pending) if pending.is_empty() => "ready".into_response(),
        Ok(pending) => {
            (StatusCode::SERVICE_UNAVAILABLE, format!("{} migrations pending", pending.len())).into_response()
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "cannot read migration state").into_response(),
    }
}

async fn metrics(State(state): State<HttpState>) -> Response {
    let (open, idle) = crate::db::pool_stats(&state.app.db);
    state.app.metrics.db_pool.with_label_values(&["open"]).set(i64::from(open));
    state.app.metrics.db_pool.with_label_values(&["idle"]).set(idle as i64);
    match crate::webhooks::store::pending_count(&state.app.db).await {
        Ok(n) => state.app.metrics.webhook_pending.set(i64::try_from(n).unwrap_or(i64::MAX)),
        Err(e) => tracing::warn!(error = ?e, "counting pending webhook deliveries for the metrics"),
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.app.metrics.render()).into_response()
}

/// Query of `/exports/payouts.csv`.
#[derive(serde::Deserialize)]
struct PayoutExportQuery {
    /// Any day in the period (YYYY-MM-DD).
    period: Option<String>,
    /// MONTH, QUARTER (default) or YEAR.
    grain: Option<String>,
}

/// The approved (and paid) statements of a period as CSV for payroll: one row per statement.
/// Same authentication as `/graphql`; admins only.
async fn payouts_csv(
    State(state): State<HttpState>,
    headers: HeaderMap,
    id: Option<axum::Extension<crate::request_id::RequestId>>,
    log: Option<axum::Extension<Arc<crate::request_id::RequestLog>>>,
    axum::extract::Query(q): axum::extract::Query<PayoutExportQuery>,
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
        Err(e) => return plain_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", &e.message()),
    };
    if let Err(e) =
        p.require(crate::core::principal::Permission::OrganizationUpdate).and_then(|()| p.require_scope("payouts:read"))
    {
        return plain_error(StatusCode::FORBIDDEN, "FORBIDDEN", &e.message());
    }
    let Some(date) = q
        .period
        .as_deref()
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .filter(|d| crate::org::model::check_business_date("period", *d).is_ok())
    else {
        return plain_error(
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            "give ?period=YYYY-MM-DD (any day in the period, 1900-01-01 to 2100-12-31)",
        );
    };
    let grain = match q.grain.as_deref() {
        None => crate::quota::model::QuotaGrain::Quarter,
        Some(g) => match crate::quota::model::QuotaGrain::parse(&g.to_ascii_uppercase()) {
            Some(g) => g,
            None => return plain_error(StatusCode::BAD_REQUEST, "BAD_USER_INPUT", "grain is MONTH, QUARTER or YEAR"),
        },
    };
    match crate::incentive::export::payouts_csv(p.org, &state.app.db, grain, date).await {
        Ok((name, body)) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            ],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = ?e, "payout export failed");
            let mut response = plain_error(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", "the export failed");
            if let Some(id) = id {
                let body = serde_json::json!({ "error": { "code": "INTERNAL", "message": "the export failed", "requestId": id.0.as_ref() } });
                response = (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response();
            }
            response
        }
    }
}

/// Caps request bodies: `BODY_LIMIT_BYTES` for JSON, `UPLOAD_LIMIT_BYTES` for multipart uploads
/// (CSV imports). A declared length over the cap is refused with 413 before reading; a body that
/// grows past it while streaming fails the request.
async fn limit_body(
    State((body_limit, upload_limit)): State<(usize, usize)>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let multipart = is_multipart(request.headers());
    let limit = if multipart { upload_limit } else { body_limit };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return over_limit(Some(limit));
    }
    let mut request = request.map(|body| axum::body::Body::new(http_body_util::Limited::new(body, limit)));
    request.extensions_mut().insert(BodyLimit(limit));
    next.run(request).await
}

/// Whether the request is a multipart upload (GraphQL multipart request spec).
fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"))
}
