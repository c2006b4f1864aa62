//! How a GraphQL response becomes an HTTP response (GraphQL over HTTP: status codes per media
//! type). What execution tells the transport is kept in an [`Exchange`] (see
//! [`crate::graphql::exchange`]).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::accept::Media;
pub use crate::graphql::exchange::Exchange;

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

    #[test]
    fn request_errors_map_to_statuses() {
        assert_eq!(request_error_status(None), StatusCode::BAD_REQUEST);
        assert_eq!(request_error_status(Some("BAD_USER_INPUT")), StatusCode::BAD_REQUEST);
        assert_eq!(request_error_status(Some("QUERY_TOO_COMPLEX")), StatusCode::BAD_REQUEST);
        assert_eq!(request_error_status(Some("RATE_LIMITED")), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(request_error_status(Some("FORBIDDEN")), StatusCode::FORBIDDEN);
    }
}
