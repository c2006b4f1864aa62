//! What the HTTP transport needs to know from inside GraphQL execution, and how a GraphQL
//! response becomes an HTTP response (GraphQL over HTTP: status codes per media type).
//!
//! Every HTTP request carries an [`Exchange`] in its request data. The [`HttpTransport`]
//! extension marks it when execution starts (so everything before — JSON, parsing,
//! validation, variable coercion, the rate limit — is a *request error*: no `data` entry, and
//! a 4xx under `application/graphql-response+json`), refuses a mutation or subscription that
//! came by GET (405), and checks that every required variable was given (variable coercion,
//! which async-graphql would otherwise report only when a field reads it, mid-execution).

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest,
};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition, OperationType};
use async_graphql::{Request, ServerError, ServerResult, Variables};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::accept::Media;

/// One HTTP request's view of its GraphQL execution.
#[derive(Debug, Default)]
pub struct Exchange {
    /// The request came by GET: only queries may run.
    get: bool,
    executed: AtomicBool,
    refused_on_get: AtomicBool,
}

impl Exchange {
    /// For a POST.
    pub fn post() -> Arc<Self> {
        Arc::new(Exchange::default())
    }

    /// For a GET.
    pub fn get() -> Arc<Self> {
        Arc::new(Exchange { get: true, ..Exchange::default() })
    }

    /// Whether execution started (after parsing, validation, variables and the rate limit).
    pub fn executed(&self) -> bool {
        self.executed.load(Ordering::Acquire)
    }

    /// Whether a GET selected a mutation or subscription.
    pub fn refused_on_get(&self) -> bool {
        self.refused_on_get.load(Ordering::Acquire)
    }
}

/// The extension factory; placed after the checks that may refuse a request, so that
/// execution counts as started only once they all let it through.
pub struct HttpTransport;

impl ExtensionFactory for HttpTransport {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(TransportExtension { operation: Mutex::new(None) })
    }
}

struct TransportExtension {
    operation: Mutex<Option<String>>,
}

/// The operation a request selects, as async-graphql will pick it (`None` when the selection
/// is invalid; validation then refuses the request).
pub fn selected_operation<'a>(doc: &'a ExecutableDocument, name: Option<&str>) -> Option<&'a OperationDefinition> {
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), None) => Some(&op.node),
        (DocumentOperations::Single(_), Some(_)) => None,
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| &op.node),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next().map(|op| &op.node),
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// The first required variable (non-null, no default) that is missing or null.
pub fn missing_variable(op: &OperationDefinition, variables: &Variables) -> Option<String> {
    op.variable_definitions.iter().find_map(|def| {
        let def = &def.node;
        let required = !def.var_type.node.nullable && def.default_value.is_none();
        let given = variables.get(&def.name.node).is_some_and(|v| *v != async_graphql::Value::Null);
        (required && !given).then(|| {
            format!("Variable \"${}\" of required type \"{}\" was not provided.", def.name.node, def.var_type.node)
        })
    })
}

fn bad_request(message: String) -> ServerError {
    let mut err = ServerError::new(message, None);
    err.extensions.get_or_insert_with(Default::default).set("code", "BAD_USER_INPUT");
    err
}

#[async_trait::async_trait]
impl Extension for TransportExtension {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        *self.operation.lock().unwrap_or_else(|e| e.into_inner()) = request.operation_name.clone();
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        let Some(exchange) = ctx.data_opt::<Arc<Exchange>>() else { return Ok(doc) };
        let name = self.operation.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let Some(op) = selected_operation(&doc, name.as_deref()) else { return Ok(doc) };
        if exchange.get && op.ty != OperationType::Query {
            exchange.refused_on_get.store(true, Ordering::Release);
            return Err(bad_request(format!(
                "a {} cannot be sent with GET: send it with POST (GET runs queries only)",
                op.ty
            )));
        }
        if let Some(message) = missing_variable(op, variables) {
            return Err(bad_request(message));
        }
        Ok(doc)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> async_graphql::Response {
        if let Some(exchange) = ctx.data_opt::<Arc<Exchange>>() {
            exchange.executed.store(true, Ordering::Release);
        }
        next.run(ctx, operation_name).await
    }
}

/// The status of a request that never executed, under `application/graphql-response+json`:
/// from the first error's code, 400 unless it names something more precise.
pub fn request_error_status(code: Option<&str>) -> StatusCode {
    match code {
        Some("RATE_LIMITED") => StatusCode::TOO_MANY_REQUESTS,
        Some("UNAUTHENTICATED") => StatusCode::UNAUTHORIZED,
        Some("FORBIDDEN") => StatusCode::FORBIDDEN,
        Some("INTERNAL") => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

fn first_code(response: &async_graphql::Response) -> Option<String> {
    let ext = response.errors.first()?.extensions.as_ref()?;
    match ext.get("code")? {
        async_graphql::Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// A JSON body in `media` with `status`.
pub fn json_body(status: StatusCode, media: Media, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static(media.content_type()))], body).into_response()
}

/// The HTTP response for a GraphQL response: 405 with `Allow: POST` for a mutation by GET;
/// for a request that never executed, no `data` entry and (under
/// `application/graphql-response+json`) a 4xx; otherwise 200 with the whole response.
pub fn render(response: async_graphql::Response, media: Media, exchange: &Exchange) -> Response {
    let executed = exchange.executed();
    let status = if exchange.refused_on_get() {
        StatusCode::METHOD_NOT_ALLOWED
    } else if executed || media == Media::Json {
        StatusCode::OK
    } else {
        request_error_status(first_code(&response).as_deref())
    };
    let cache_control =
        response.is_ok().then(|| response.cache_control.value()).flatten().and_then(|v| HeaderValue::from_str(&v).ok());
    let headers = response.http_headers.clone();
    let body = if executed {
        serde_json::to_vec(&response)
    } else {
        // A request error: the GraphQL spec has no `data` entry then.
        let mut value = serde_json::to_value(&response).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            map.remove("data");
        }
        serde_json::to_vec(&value)
    };
    let Ok(body) = body else {
        return json_body(
            StatusCode::INTERNAL_SERVER_ERROR,
            media,
            br#"{"errors":[{"message":"the answer could not be serialized","extensions":{"code":"INTERNAL"}}]}"#
                .to_vec(),
        );
    };
    let mut http = json_body(status, media, body);
    if let Some(value) = cache_control {
        http.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    http.headers_mut().extend(headers);
    if status == StatusCode::METHOD_NOT_ALLOWED {
        http.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
    }
    http
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(doc: &ExecutableDocument, name: Option<&str>) -> Option<OperationType> {
        selected_operation(doc, name).map(|o| o.ty)
    }

    #[test]
    fn selects_the_operation_async_graphql_runs() {
        let doc = async_graphql::parser::parse_query("query A { a } mutation B { b }").unwrap();
        assert_eq!(op(&doc, Some("A")), Some(OperationType::Query));
        assert_eq!(op(&doc, Some("B")), Some(OperationType::Mutation));
        assert_eq!(op(&doc, None), None);
        assert_eq!(op(&doc, Some("C")), None);
        let single = async_graphql::parser::parse_query("mutation { b }").unwrap();
        assert_eq!(op(&single, None), Some(OperationType::Mutation));
        assert_eq!(op(&single, Some("X")), None);
        let named = async_graphql::parser::parse_query("subscription S { s }").unwrap();
        assert_eq!(op(&named, None), Some(OperationType::Subscription));
    }

    #[test]
    fn required_variables_must_be_given() {
        let doc = async_graphql::parser::parse_query("query($a: ID!, $b: ID, $c: Int! = 3, $d: [ID!]!) { x }").unwrap();
        let o = selected_operation(&doc, None).unwrap();
        let vars = |v: serde_json::Value| Variables::from_json(v);
        assert_eq!(missing_variable(o, &vars(serde_json::json!({"a": "1", "d": []}))), None);
        let missing = missing_variable(o, &vars(serde_json::json!({"d": []}))).unwrap();
        assert_eq!(missing, "Variable \"$a\" of required type \"ID!\" was not provided.");
        assert!(missing_variable(o, &vars(serde_json::json!({"a": null, "d": []}))).is_some());
        assert!(missing_variable(o, &vars(serde_json::json!({"a": "1"}))).unwrap().contains("$d"));
    }

    #[test]
    fn request_errors_map_to_statuses() {
        assert_eq!(request_error_status(None), StatusCode::BAD_REQUEST);
        assert_eq!(request_error_status(Some("BAD_USER_INPUT")), StatusCode::BAD_REQUEST);
        assert_eq!(request_error_status(Some("QUERY_TOO_COMPLEX")), StatusCode::BAD_REQUEST);
        assert_eq!(request_error_status(Some("RATE_LIMITED")), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(request_error_status(Some("FORBIDDEN")), StatusCode::FORBIDDEN);
    }
}
