//! `Accept` negotiation for GraphQL over HTTP: which of the two GraphQL media types a
//! response is written in, and whether a GET comes from a browser that wants GraphiQL.
//!
//! Each element of the header is parsed by the `mime` crate; its weight is the `q` parameter
//! (1 when absent). A media type's weight is the weight of the most specific range that
//! matches it (`application/json` over `application/*` over `*/*`), as RFC 9110 says.
//! Between the two GraphQL types the higher weight wins; on equal weights a type the client
//! named wins over one it only reached through a wildcard, two named types go by the client's
//! order, and wildcards alone mean `application/json` (what clients of before the
//! GraphQL-over-HTTP spec understand).

use mime::Mime;

/// The media type of a GraphQL response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Media {
    /// `application/json`: GraphQL errors answer 200.
    Json,
    /// `application/graphql-response+json`: status codes tell request errors apart.
    GraphqlResponseJson,
}

impl Media {
    /// The `Content-Type` value.
    pub fn content_type(self) -> &'static str {
        match self {
            Media::Json => "application/json",
            Media::GraphqlResponseJson => "application/graphql-response+json",
        }
    }
}

/// How well one media type is accepted.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Weight {
    /// The `q` of the most specific matching range (0: not acceptable).
    q: f32,
    /// 2: named exactly, 1: `type/*`, 0: `*/*`.
    specificity: u8,
    /// Position of that range in the header.
    position: usize,
}

/// The elements of an `Accept` header that parse as media ranges, with their `q`.
fn ranges(accept: &str) -> Vec<(Mime, f32)> {
    split_elements(accept)
        .into_iter()
        .filter_map(|element| {
            let mime: Mime = element.trim().parse().ok()?;
            let q = match mime.get_param("q") {
                None => 1.0,
                Some(q) => q.as_str().parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q))?,
            };
            Some((mime, q))
        })
        .collect()
}

/// Splits on commas that are not inside a quoted parameter value.
fn split_elements(header: &str) -> Vec<&str> {
    let (mut parts, mut start, mut quoted, mut escaped) = (Vec::new(), 0, false, false);
    for (i, c) in header.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&header[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&header[start..]);
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

/// How `ranges` accept `ty/subtype`.
fn weight(ranges: &[(Mime, f32)], ty: &str, subtype: &str) -> Option<Weight> {
    ranges
        .iter()
        .enumerate()
        .filter_map(|(position, (range, q))| {
            // The essence, not `subtype()`: that leaves out a `+json` suffix.
            let (range_type, range_subtype) = range.essence_str().split_once('/')?;
            let specificity = match (range_type, range_subtype) {
                ("*", "*") => 0,
                (t, "*") if t == ty => 1,
                (t, s) if t == ty && s == subtype => 2,
                _ => return None,
            };
            Some(Weight { q: *q, specificity, position })
        })
        // The most specific range decides; among equally specific ones, the first.
        .max_by(|a, b| a.specificity.cmp(&b.specificity).then(b.position.cmp(&a.position)))
}

/// The media type to answer a GraphQL request in, or `None` when the client accepts neither
/// (answer 406). A missing or empty header means `application/json`.
pub fn negotiate(accept: Option<&str>) -> Option<Media> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else { return Some(Media::Json) };
    let ranges = ranges(accept);
    let json = weight(&ranges, "application", "json").filter(|w| w.q > 0.0);
    let graphql = weight(&ranges, "application", "graphql-response+json").filter(|w| w.q > 0.0);
    match (json, graphql) {
        (None, None) => None,
        (Some(_), None) => Some(Media::Json),
        (None, Some(_)) => Some(Media::GraphqlResponseJson),
        (Some(j), Some(g)) => {
            let graphql_first = if g.q != j.q {
                g.q > j.q
            } else if g.specificity == 2 && j.specificity == 2 {
                g.position < j.position
            } else {
                g.specificity == 2
            };
            Some(if graphql_first { Media::GraphqlResponseJson } else { Media::Json })
        }
    }
}

/// Whether the client prefers an HTML page to JSON: `text/html` named with a weight above
/// both GraphQL types (equal weight counts when those are reached only through a wildcard),
/// as a browser's address bar asks.
pub fn prefers_html(accept: Option<&str>) -> bool {
    let Some(accept) = accept else { return false };
    let ranges = ranges(accept);
    let Some(html) = weight(&ranges, "text", "html").filter(|w| w.specificity == 2 && w.q > 0.0) else {
        return false;
    };
    [("application", "json"), ("application", "graphql-response+json")]
        .iter()
        .all(|(ty, sub)| weight(&ranges, ty, sub).is_none_or(|w| w.q < html.q || (w.q == html.q && w.specificity < 2)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: Option<Media> = Some(Media::Json);
    const GRAPHQL: Option<Media> = Some(Media::GraphqlResponseJson);

    #[test]
    fn missing_wildcards_and_json_mean_json() {
        assert_eq!(negotiate(None), JSON);
        assert_eq!(negotiate(Some("")), JSON);
        assert_eq!(negotiate(Some("*/*")), JSON);
        assert_eq!(negotiate(Some("application/*")), JSON);
        assert_eq!(negotiate(Some("application/json")), JSON);
        assert_eq!(negotiate(Some("application/json; charset=utf-8")), JSON);
        assert_eq!(negotiate(Some("APPLICATION/JSON")), JSON);
    }

    #[test]
    fn graphql_response_json_when_asked_or_preferred() {
        assert_eq!(negotiate(Some("application/graphql-response+json")), GRAPHQL);
        assert_eq!(negotiate(Some("application/graphql-response+json, application/json;q=0.9")), GRAPHQL);
        assert_eq!(negotiate(Some("application/json;q=0.5, application/graphql-response+json")), GRAPHQL);
        // Named beats a wildcard of the same weight.
        assert_eq!(negotiate(Some("*/*, application/graphql-response+json")), GRAPHQL);
        // Apollo Kotlin's list: both named at q=1, the first named wins.
        assert_eq!(
            negotiate(Some("multipart/mixed;deferSpec=20220824, application/graphql-response+json, application/json")),
            GRAPHQL
        );
        assert_eq!(negotiate(Some("application/json, application/graphql-response+json")), JSON);
        // Apollo Client and urql.
        assert_eq!(negotiate(Some("application/graphql-response+json, application/json;q=0.9")), GRAPHQL);
        assert_eq!(
            negotiate(Some(
                "application/graphql-response+json, application/graphql+json, application/json, text/event-stream, multipart/mixed"
            )),
            GRAPHQL
        );
    }

    #[test]
    fn the_most_specific_range_decides() {
        assert_eq!(negotiate(Some("application/json;q=0, */*")), GRAPHQL);
        assert_eq!(negotiate(Some("application/graphql-response+json;q=0, application/*")), JSON);
        assert_eq!(negotiate(Some("*/*;q=0.1, application/graphql-response+json;q=0.2")), GRAPHQL);
        assert_eq!(negotiate(Some("application/*;q=0.9, application/json;q=0.1")), GRAPHQL);
    }

    #[test]
    fn neither_acceptable() {
        assert_eq!(negotiate(Some("text/html")), None);
        assert_eq!(negotiate(Some("application/xml, text/plain;q=0.5")), None);
        assert_eq!(negotiate(Some("application/json;q=0")), None);
        assert_eq!(negotiate(Some("*/*;q=0")), None);
        assert_eq!(negotiate(Some("garbage")), None);
        // A malformed weight drops its element, it does not count as 1.
        assert_eq!(negotiate(Some("application/json;q=2")), None);
        assert_eq!(negotiate(Some("application/json;q=abc")), None);
    }

    #[test]
    fn quoted_commas_do_not_split() {
        assert_eq!(negotiate(Some(r#"text/plain;x="a,application/json", application/graphql-response+json"#)), GRAPHQL);
        assert_eq!(split_elements(r#"a/b;x="1,\"2", c/d,,"#), vec![r#"a/b;x="1,\"2""#, " c/d"]);
    }

    #[test]
    fn browsers_prefer_html() {
        let firefox = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        let chrome = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7";
        assert!(prefers_html(Some(firefox)));
        assert!(prefers_html(Some(chrome)));
        assert!(prefers_html(Some("text/html, */*")));
        assert!(!prefers_html(None));
        assert!(!prefers_html(Some("*/*")));
        assert!(!prefers_html(Some("text/*")));
        assert!(!prefers_html(Some("application/json")));
        assert!(!prefers_html(Some("text/html;q=0.5, application/json")));
        assert!(!prefers_html(Some("text/html, application/json")));
        assert!(!prefers_html(Some("text/html;q=0")));
    }
}
