//! CORS settings: which origins may call the API from a browser (`CORS_ORIGINS`, exact origins
//! or patterns with one wildcard label) and which request headers they may send
//! (`CORS_ALLOWED_HEADERS`). Patterns are checked at startup, so a typo stops the server
//! instead of quietly opening (or closing) the API to browsers.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Request headers browsers may send by default: credentials, JSON, Apollo Client's client
/// awareness and CSRF headers, W3C trace context, the request ID and the organization a firm's
/// staff act in.
pub const DEFAULT_ALLOWED_HEADERS: &str = "authorization,content-type,x-api-key,apollographql-client-name,\
apollographql-client-version,apollo-require-preflight,x-apollo-operation-name,x-apollo-operation-id,\
traceparent,tracestate,x-request-id,x-scorebord-organization";

/// One allowed origin: `https://app.example.com`, or `https://*.client.example` where `*`
/// stands for exactly one DNS label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginPattern {
    scheme: String,
    /// Without the `*.` of a wildcard pattern; lowercase.
    host: String,
    /// The port, the scheme's default when none is written.
    port: Option<u16>,
    wildcard: bool,
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// Splits `scheme://host[:port]` (no path, query, user or fragment).
fn split_origin(origin: &str) -> Option<(String, String, Option<u16>)> {
    let (scheme, rest) = origin.split_once("://")?;
    if scheme.is_empty() || !scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) {
        return None;
    }
    let scheme = scheme.to_ascii_lowercase();
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
        return None;
    }
    let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
        let (inside, after) = bracketed.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?.parse::<u16>().ok()?),
        };
        (format!("[{inside}]"), port)
    } else {
        match rest.split_once(':') {
            Some((host, port)) => (host.to_owned(), Some(port.parse::<u16>().ok()?)),
            None => (rest.to_owned(), None),
        }
    };
    if host.is_empty() {
        return None;
    }
    let port = port.or_else(|| default_port(&scheme));
    Some((scheme, host.to_ascii_lowercase(), port))
}

fn is_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

impl std::str::FromStr for OriginPattern {
    type Err = String;

    fn from_str(entry: &str) -> Result<Self, Self::Err> {
        let entry = entry.trim();
        let stars = entry.matches('*').count();
        if stars > 1 {
            return Err(format!("CORS origin '{entry}' has more than one '*': a pattern may wildcard one label"));
        }
        let Some((scheme, host, port)) = split_origin(entry) else {
            return Err(format!(
                "CORS origin '{entry}' is not an origin: write scheme://host[:port] with no path, \
                 e.g. https://app.example.com or https://*.client.example"
            ));
        };
        let (wildcard, host) = match host.strip_prefix("*.") {
            Some(rest) => (true, rest.to_owned()),
            None => (false, host),
        };
        if host.contains('*') {
            return Err(format!(
                "CORS origin '{entry}': '*' must be the whole leftmost label of the host, as in https://*.client.example"
            ));
        }
        let labels_ok = host.starts_with('[') || host.split('.').all(is_label);
        if !labels_ok {
            return Err(format!("CORS origin '{entry}' has a malformed host name"));
        }
        // `*.com` would allow every site under a top-level domain.
        if wildcard && !host.contains('.') {
            return Err(format!("CORS origin '{entry}': a wildcard needs at least two labels after it"));
        }
        Ok(OriginPattern { scheme, host, port, wildcard })
    }
}

impl OriginPattern {
    /// Whether a browser's `Origin` header value is allowed by this pattern: same scheme and
    /// port, and the same host, or (wildcard) one more label in front of it.
    pub fn matches(&self, origin: &str) -> bool {
        let Some((scheme, host, port)) = split_origin(origin) else { return false };
        if scheme != self.scheme || port != self.port {
            return false;
        }
        if !self.wildcard {
            return host == self.host;
        }
        match host.split_once('.') {
            Some((first, rest)) => is_label(first) && rest == self.host,
            None => false,
        }
    }
}

/// The parsed `CORS_ORIGINS`: any origin (`*`), or a list of patterns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// `*`: every origin (no credentials are involved: tokens travel in headers).
    Any,
    /// Exactly these origins and patterns (none: no cross-origin access).
    Patterns(Vec<OriginPattern>),
}

/// Parses `CORS_ORIGINS` entries; the first bad one is the error.
pub fn parse_origins(entries: &[String]) -> Result<AllowedOrigins, String> {
    let entries: Vec<&str> = entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()).collect();
    if entries.contains(&"*") {
        return Ok(AllowedOrigins::Any);
    }
    entries.iter().map(|e| e.parse()).collect::<Result<_, _>>().map(AllowedOrigins::Patterns)
}

/// Parses `CORS_ALLOWED_HEADERS`: header names, compared without case.
pub fn parse_headers(entries: &[String]) -> Result<Vec<HeaderName>, String> {
    entries
        .iter()
        .map(|e| e.trim())
        .filter(|e| !e.is_empty())
        .map(|e| {
            HeaderName::from_bytes(e.to_ascii_lowercase().as_bytes())
                .map_err(|_| format!("CORS_ALLOWED_HEADERS: '{e}' is not an HTTP header name"))
        })
        .collect()
}

/// The CORS layer for validated settings (see [`crate::config::Config::validate`]); entries
/// that do not parse allow nothing. `expose` are the response headers scripts may read.
pub fn layer(origins: &[String], headers: &[String], expose: &[&'static str]) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers(parse_headers(headers).unwrap_or_default())
        .expose_headers(expose.iter().map(|h| HeaderName::from_static(h)).collect::<Vec<_>>())
        .max_age(Duration::from_secs(3600));
    match parse_origins(origins) {
        Ok(AllowedOrigins::Any) => layer.allow_origin(AllowOrigin::any()),
        Ok(AllowedOrigins::Patterns(patterns)) => {
            layer.allow_origin(AllowOrigin::predicate(move |origin: &HeaderValue, _| {
                origin.to_str().is_ok_and(|o| patterns.iter().any(|p| p.matches(o)))
            }))
        }
        Err(_) => layer.allow_origin(AllowOrigin::list(Vec::<HeaderValue>::new())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(p: &str) -> OriginPattern {
        p.parse().unwrap_or_else(|e| panic!("{p}: {e}"))
    }

    #[test]
    fn wildcard_matches_exactly_one_label() {
        let p = pattern("https://*.client.example");
        for ok in ["https://a.client.example", "https://white-label-7.client.example", "HTTPS://A.Client.Example"] {
            assert!(p.matches(ok), "{ok} must match");
        }
        // An explicit default port is the same origin.
        assert!(p.matches("https://a.client.example:443"));
        for bad in [
            "https://client.example",
            "https://.client.example",
            "https://a.b.client.example",
            "https://a.client.example.evil.com",
            "https://aclient.example",
            "https://a-client.example",
            "https://evil.com/.client.example",
            "https://a.client.example/",
            "https://a.client.example/path",
            "https://user@a.client.example",
            "http://a.client.example",
            "wss://a.client.example",
            "https://a.client.example:8443",
            "https://a.client.example:",
            "https://a.client.example:99999",
            "https://-a.client.example",
            "https://a_b.client.example",
            "https://*.client.example",
            "https://a.client.examplex",
            "https://a.xclient.example",
            "null",
            "",
            "a.client.example",
        ] {
            assert!(!p.matches(bad), "{bad} must not match");
        }
    }

    #[test]
    fn wildcard_with_port_needs_that_port() {
        let p = pattern("http://*.dev.example:3000");
        assert!(p.matches("http://a.dev.example:3000"));
        assert!(!p.matches("http://a.dev.example"));
        assert!(!p.matches("http://a.dev.example:3001"));
        assert!(!p.matches("https://a.dev.example:3000"));
    }

    #[test]
    fn exact_origins_match_themselves_only() {
        let p = pattern("https://app.example.com");
        assert!(p.matches("https://app.example.com"));
        assert!(p.matches("https://APP.example.com"));
        assert!(p.matches("https://app.example.com:443"));
        for bad in [
            "https://x.app.example.com",
            "http://app.example.com",
            "https://app.example.com:444",
            "https://app.example.co",
            "https://app.example.com.evil.com",
        ] {
            assert!(!p.matches(bad), "{bad} must not match");
        }
        let local = pattern("http://localhost:5173");
        assert!(local.matches("http://localhost:5173"));
        assert!(!local.matches("http://localhost"));
    }

    #[test]
    fn bad_patterns_are_refused() {
        for bad in [
            "https://*.*.client.example",
            "https://**.client.example",
            "https://a*.client.example",
            "https://*a.client.example",
            "https://a.*.client.example",
            "https://client.*",
            "https://client.example.*",
            "https://*",
            "https://*.com",
            "*.client.example",
            "https://*.client.example/",
            "https://app.example.com/path",
            "app.example.com",
            "https://",
            "https://app.example.com:http",
            "https://bad_host.example",
            "*://app.example.com",
        ] {
            assert!(bad.parse::<OriginPattern>().is_err(), "{bad} must be refused");
        }
        let err = "https://*.*.client.example".parse::<OriginPattern>().unwrap_err();
        assert!(err.contains("more than one"), "{err}");
        let err = "https://a*.client.example".parse::<OriginPattern>().unwrap_err();
        assert!(err.contains("leftmost label"), "{err}");
    }

    #[test]
    fn origin_lists() {
        assert_eq!(parse_origins(&[]), Ok(AllowedOrigins::Patterns(vec![])));
        assert_eq!(parse_origins(&["https://a.example".into(), "*".into()]), Ok(AllowedOrigins::Any));
        assert!(parse_origins(&["https://a.example".into(), "https://*.*.b.example".into()]).is_err());
        let AllowedOrigins::Patterns(list) =
            parse_origins(&[" https://a.example ".into(), "https://*.b.example".into(), String::new()]).unwrap()
        else {
            panic!("patterns expected")
        };
        assert_eq!(list.len(), 2);
    }

    #[test]
    fn default_headers_cover_apollo_and_tracing() {
        let entries: Vec<String> = DEFAULT_ALLOWED_HEADERS.split(',').map(str::to_owned).collect();
        let names = parse_headers(&entries).unwrap();
        for h in [
            "authorization",
            "content-type",
            "x-api-key",
            "apollographql-client-name",
            "apollographql-client-version",
            "traceparent",
            "tracestate",
            "x-request-id",
            "apollo-require-preflight",
            "x-apollo-operation-name",
            "x-apollo-operation-id",
            "x-scorebord-organization",
        ] {
            assert!(names.iter().any(|n| n == h), "{h} missing");
        }
        assert!(parse_headers(&["bad header".into()]).is_err());
        assert!(parse_headers(&["X-Custom".into()]).unwrap()[0] == "x-custom");
    }
}
