//! GraphiQL from the binary: pinned production builds embedded at compile time (see
//! `api/assets/graphiql/README.md`), served under `/graphiql/<digest>/<file>` so that a
//! browser may keep them for a year, and a page whose Content-Security-Policy allows only
//! this origin (scripts from files, never inline; fetches and the subscription socket to this
//! host). No third-party origin is involved, so it works with no internet.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};

/// One embedded file.
pub struct Asset {
    /// File name in the URL and in `api/assets/graphiql`.
    pub name: &'static str,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The bytes.
    pub bytes: &'static [u8],
}

/// The files the page loads, in load order (styles first, then scripts).
pub const ASSETS: [Asset; 6] = [
    Asset {
        name: "graphiql.min.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../../assets/graphiql/graphiql.min.css"),
    },
    Asset {
        name: "page.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../../assets/graphiql/page.css"),
    },
    Asset {
        name: "react.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../../assets/graphiql/react.production.min.js"),
    },
    Asset {
        name: "react-dom.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../../assets/graphiql/react-dom.production.min.js"),
    },
    Asset {
        name: "graphiql.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../../assets/graphiql/graphiql.min.js"),
    },
    Asset {
        name: "init.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../../assets/graphiql/init.js"),
    },
];

/// Each asset's sha256: the URL's digest (hex, shortened) and the page's `integrity` (base64).
struct Digests {
    /// Per asset, in [`ASSETS`] order: (URL digest, integrity value).
    each: Vec<(String, String)>,
    page: String,
}

fn digests() -> &'static Digests {
    static DIGESTS: OnceLock<Digests> = OnceLock::new();
    DIGESTS.get_or_init(|| {
        let each: Vec<(String, String)> = ASSETS
            .iter()
            .map(|a| {
                let sum = Sha256::digest(a.bytes);
                let short = hex::encode(&sum[..8]);
                (short, format!("sha256-{}", base64::engine::general_purpose::STANDARD.encode(sum)))
            })
            .collect();
        let page = page_html(&each);
        Digests { each, page }
    })
}

fn page_html(each: &[(String, String)]) -> String {
    let mut head = String::new();
    let mut scripts = String::new();
    for (asset, (digest, integrity)) in ASSETS.iter().zip(each) {
        let url = format!("/graphiql/{digest}/{}", asset.name);
        if asset.name.ends_with(".css") {
            head.push_str(&format!("<link rel=\"stylesheet\" href=\"{url}\" integrity=\"{integrity}\">\n"));
        } else {
            scripts.push_str(&format!("<script src=\"{url}\" integrity=\"{integrity}\"></script>\n"));
        }
    }
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Scorebord GraphiQL</title>\n{head}</head>\n<body>\n<div id=\"graphiql\">Loading…</div>\n{scripts}</body>\n</html>\n"
    )
}

/// The `Host` as a CSP source, when it is a plain host[:port] (anything else is left out:
/// `'self'` still covers the page's own origin in current browsers).
fn csp_host(headers: &HeaderMap) -> Option<&str> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let plain = !host.is_empty()
        && host.len() <= 255
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    plain.then_some(host)
}

/// The page's Content-Security-Policy: everything from this origin only; scripts from files
/// (no inline script, no eval); style attributes inline, which GraphiQL's editors set; data:
/// for the fonts and icons inside graphiql.min.css; the socket to this host.
pub fn content_security_policy(headers: &HeaderMap) -> String {
    let sockets = csp_host(headers).map(|h| format!(" ws://{h} wss://{h}")).unwrap_or_default();
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
         font-src 'self' data:; connect-src 'self'{sockets}; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'"
    )
}

/// The GraphiQL page.
pub fn page(headers: &HeaderMap) -> Response {
    let csp = HeaderValue::from_str(&content_security_policy(headers))
        .unwrap_or(HeaderValue::from_static("default-src 'none'"));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
            (header::CONTENT_SECURITY_POLICY, csp),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (header::VARY, HeaderValue::from_static("accept")),
        ],
        digests().page.clone(),
    )
        .into_response()
}

/// `/graphiql/<digest>/<file>`: an embedded file, cacheable for a year (its URL changes with
/// its content); 404 for any other name or an outdated digest.
pub async fn asset(Path((digest, name)): Path<(String, String)>) -> Response {
    let found = ASSETS.iter().zip(&digests().each).find(|(a, (d, _))| a.name == name && *d == digest);
    let Some((asset, _)) = found else {
        return (StatusCode::NOT_FOUND, "no such GraphiQL file").into_response();
    };
    (
        [(header::CONTENT_TYPE, asset.content_type), (header::CACHE_CONTROL, "public, max-age=31536000, immutable")],
        asset.bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = include_str!("../../../assets/graphiql/MANIFEST");

    #[test]
    fn vendored_files_match_the_manifest() {
        let mut checked = 0;
        for line in MANIFEST.lines() {
            let [file, package, version, sum] = line.split(' ').collect::<Vec<_>>()[..] else {
                panic!("bad MANIFEST line {line:?}");
            };
            assert!(!version.is_empty() && !package.is_empty());
            let asset = ASSETS.iter().find(|a| a.name == file).unwrap_or_else(|| panic!("{file} not embedded"));
            assert_eq!(hex::encode(Sha256::digest(asset.bytes)), sum, "{file} differs from MANIFEST");
            checked += 1;
        }
        assert_eq!(checked, 4);
    }

    #[test]
    fn the_page_references_only_its_own_files() {
        let html = &digests().page;
        for (asset, (digest, integrity)) in ASSETS.iter().zip(&digests().each) {
            assert!(html.contains(&format!("/graphiql/{digest}/{}", asset.name)), "{html}");
            assert!(html.contains(integrity.as_str()));
        }
        assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"), "{html}");
        assert!(!html.contains("<script>"), "no inline script");
    }

    #[test]
    fn csp_names_this_host_only_when_it_is_plain() {
        let with = |host: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
            content_security_policy(&h)
        };
        assert!(with("localhost:8080").contains("connect-src 'self' ws://localhost:8080 wss://localhost:8080;"));
        assert!(with("[::1]:80").contains("ws://[::1]:80"));
        let hostile = with("evil.example; script-src *");
        assert!(hostile.contains("connect-src 'self';") && !hostile.contains("evil"), "{hostile}");
        assert!(content_security_policy(&HeaderMap::new()).contains("script-src 'self';"));
    }
}
