//! Per-request metrics, and `extensions.code` on errors async-graphql raises itself
//! (parse, validation, limits), so every error a client sees carries a code.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_graphql::extensions::ExtensionContext;
use async_graphql::parser::Positioned;
use async_graphql::parser::types::{Directive, ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Request, Response, ServerError, ServerResult, Variables};

use crate::metrics::{Metrics, operation_label as label};

/// The metrics requests record into; [`Observability::begin`] makes one request's
/// [`Observation`].
pub struct Observability {
    metrics: Arc<Metrics>,
}

impl Observability {
    /// Records into these metrics.
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Observability { metrics }
    }
}

impl Observability {
    /// One request's observation.
    pub fn begin(&self) -> Observation {
        Observation { metrics: self.metrics.clone(), operation: Mutex::new(None), request_id: Mutex::new(None) }
    }
}

/// One request's observation, called by the request hooks ([`super::hooks`]) at each step.
pub struct Observation {
    metrics: Arc<Metrics>,
    operation: Mutex<Option<String>>,
    /// The request's ID, seen when the operation executes (request data is not visible to
    /// the `request` hook itself).
    request_id: Mutex<Option<crate::request_id::RequestId>>,
}

/// Most field selections (aliases included) one document may make. async-graphql's
/// complexity limit does not count `__typename`, so 10,000 aliases of it would pass.
pub const MAX_FIELDS: usize = 2_000;

fn count_fields(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(f) => 1 + count_fields(&f.node.selection_set.node),
            Selection::InlineFragment(f) => count_fields(&f.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

/// Field selections in a document, counting each operation and fragment once.
pub fn document_fields(doc: &ExecutableDocument) -> usize {
    let ops: usize = doc.operations.iter().map(|(_, op)| count_fields(&op.node.selection_set.node)).sum();
    let frags: usize = doc.fragments.values().map(|f| count_fields(&f.node.selection_set.node)).sum();
    ops + frags
}

/// Deepest nesting of brackets (`{`, `[`, `(`) a document may have. The parser turns list and
/// object literals into values recursively without a limit of its own, so a few thousand
/// nested `{a: {a: …}}` overflow a worker thread's stack and abort the process: refuse them
/// before parsing. Legitimate documents stay far below this (selection depth is capped at 15).
pub const MAX_NESTING: usize = 64;

/// The deepest bracket nesting in a GraphQL document, counting up to just over `stop_at`;
/// brackets inside strings, block strings and comments do not count.
pub fn nesting_depth(query: &str, stop_at: usize) -> usize {
    let b = query.as_bytes();
    let (mut i, mut depth, mut max) = (0, 0usize, 0usize);
    while i < b.len() {
        match b[i] {
            b'#' => {
                while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if b[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < b.len() && !b[i..].starts_with(b"\"\"\"") {
                    i += if b[i..].starts_with(b"\\\"\"\"") { 4 } else { 1 };
                }
                i += 3;
                continue;
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                max = max.max(depth);
                if max > stop_at {
                    return max;
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    max
}

fn const_has_nul(v: &async_graphql::Value) -> bool {
    match v {
        async_graphql::Value::String(s) => s.contains('\0'),
        async_graphql::Value::List(l) => l.iter().any(const_has_nul),
        async_graphql::Value::Object(o) => o.values().any(const_has_nul),
        _ => false,
    }
}

/// An argument's literal, its variables as null (variables are checked apart). The parser's
/// non-constant value type is not exported, hence the conversion.
macro_rules! literal {
    ($value:expr) => {
        $value
            .clone()
            .into_const_with(|_| Ok::<_, std::convert::Infallible>(async_graphql::Value::Null))
            .unwrap_or(async_graphql::Value::Null)
    };
}

fn directives_have_nul(directives: &[Positioned<Directive>]) -> bool {
    directives.iter().any(|d| d.node.arguments.iter().any(|(_, v)| const_has_nul(&literal!(v.node))))
}

fn selections_have_nul(set: &SelectionSet) -> bool {
    set.items.iter().any(|item| match &item.node {
        Selection::Field(f) => {
            f.node.arguments.iter().any(|(_, v)| const_has_nul(&literal!(v.node)))
                || directives_have_nul(&f.node.directives)
                || selections_have_nul(&f.node.selection_set.node)
        }
        Selection::InlineFragment(i) => {
            directives_have_nul(&i.node.directives) || selections_have_nul(&i.node.selection_set.node)
        }
        Selection::FragmentSpread(s) => directives_have_nul(&s.node.directives),
    })
}

/// Whether any string in the request, a variable or a literal (`"\u0000"`), holds U+0000.
/// PostgreSQL cannot store it in text at all (SQLite can), so it is refused here, once, for
/// every field, instead of failing as an INTERNAL database error on one backend.
pub fn request_has_nul(doc: &ExecutableDocument, variables: &Variables) -> bool {
    variables.values().any(const_has_nul)
        || doc.operations.iter().any(|(_, op)| {
            directives_have_nul(&op.node.directives)
                || op
                    .node
                    .variable_definitions
                    .iter()
                    .any(|d| d.node.default_value.as_ref().is_some_and(|v| const_has_nul(&v.node)))
                || selections_have_nul(&op.node.selection_set.node)
        })
        || doc
            .fragments
            .values()
            .any(|f| directives_have_nul(&f.node.directives) || selections_have_nul(&f.node.selection_set.node))
}

/// The code for an error that async-graphql produced without one.
fn code_for(message: &str) -> &'static str {
    let m = message.to_ascii_lowercase();
    if m.contains("nested too deep")
        || m.contains("too complex")
        || m.contains("recursion depth")
        || m.contains("too many directives")
    {
        "QUERY_TOO_COMPLEX"
    } else {
        "BAD_USER_INPUT"
    }
}

/// Whether the operation's name may become a metrics label: it passed validation and ran, and
/// either an authenticated caller (member or API key) sent it or it came from the persisted
/// store (registered by one). Anonymous callers never add a name.
fn may_label(ctx: &ExtensionContext<'_>) -> bool {
    matches!(ctx.data_opt::<crate::core::principal::Auth>(), Some(crate::core::principal::Auth::Member(_)))
        || ctx.data_opt::<super::apq::FromPersistedStore>().is_some()
}

/// Puts the request ID into an INTERNAL error's `extensions.requestId`, so the client can
/// quote it and operators find the logged cause.
pub fn tag_internal(error: &mut ServerError, id: Option<&crate::request_id::RequestId>) {
    let Some(id) = id else { return };
    let internal = matches!(
        error.extensions.as_ref().and_then(|e| e.get("code")),
        Some(async_graphql::Value::String(code)) if code == "INTERNAL"
    );
    if internal {
        error.extensions.get_or_insert_with(Default::default).set("requestId", id.0.as_ref());
    }
}

fn too_complex(message: String) -> ServerError {
    let mut err = ServerError::new(message, None);
    err.extensions.get_or_insert_with(Default::default).set("code", "QUERY_TOO_COMPLEX");
    err
}

/// Before parsing: text nested deeper than [`MAX_NESTING`] is refused unparsed.
pub fn check_text(query: &str) -> ServerResult<()> {
    if nesting_depth(query, MAX_NESTING) > MAX_NESTING {
        return Err(too_complex(format!("Query is nested more than {MAX_NESTING} brackets deep (query too complex).")));
    }
    Ok(())
}

/// After parsing: at most [`MAX_FIELDS`] selections, and no NUL in text or variables.
pub fn check_document(doc: &ExecutableDocument, variables: &Variables) -> ServerResult<()> {
    let fields = document_fields(doc);
    if fields > MAX_FIELDS {
        return Err(too_complex(format!(
            "Query selects {fields} fields; at most {MAX_FIELDS} are allowed (query too complex)."
        )));
    }
    if request_has_nul(doc, variables) {
        let mut err = ServerError::new("Text must not contain the NUL character (U+0000).", None);
        err.extensions.get_or_insert_with(Default::default).set("code", "BAD_USER_INPUT");
        return Err(err);
    }
    Ok(())
}

impl Observation {
    /// The request as sent: its operation name labels the metrics.
    pub fn prepared(&self, request: &Request) {
        if let Ok(mut op) = self.operation.lock() {
            *op = request.operation_name.clone();
        }
    }

    /// Execution starts: the operation that runs names the log line.
    pub fn executing(&self, ctx: &ExtensionContext<'_>, operation_name: Option<&str>) {
        if let (Some(name), Ok(mut op)) = (operation_name, self.operation.lock()) {
            *op = Some(name.to_owned());
        }
        // The log line names the operation that ran (the request may leave operationName out).
        if let Some(log) = ctx.data_opt::<Arc<crate::request_id::RequestLog>>() {
            log.operation(operation_name);
        }
        if let (Some(id), Ok(mut slot)) = (ctx.data_opt::<crate::request_id::RequestId>(), self.request_id.lock()) {
            *slot = Some(id.clone());
        }
    }

    /// Execution ended: only now, after validation and execution, may the operation's name
    /// become a label (a name from a request that never ran is not admitted).
    pub fn executed(&self, ctx: &ExtensionContext<'_>, operation_name: Option<&str>) {
        if operation_name.is_some() && may_label(ctx) {
            self.metrics.admit_operation(&label(operation_name));
        }
    }

    /// The answer: a code on every error, the request ID on internal ones, and the request's
    /// count, outcome and latency (since `started`).
    pub fn finish(&self, ctx: &ExtensionContext<'_>, response: &mut Response, started: Instant) {
        for error in &mut response.errors {
            let has_code = error.extensions.as_ref().is_some_and(|ext| ext.get("code").is_some());
            if !has_code {
                let code = code_for(&error.message);
                error.extensions.get_or_insert_with(Default::default).set("code", code);
            }
            if let Some(async_graphql::Value::String(code)) = error.extensions.as_ref().and_then(|e| e.get("code")) {
                self.metrics.errors.with_label_values(&[code.as_str()]).inc();
            }
            let id = self.request_id.lock().ok().and_then(|id| id.clone());
            tag_internal(error, id.as_ref().or(ctx.data_opt::<crate::request_id::RequestId>()));
        }
        let operation =
            self.metrics.operations.label(label(self.operation.lock().ok().and_then(|o| o.clone()).as_deref()));
        let outcome = if response.errors.is_empty() { "ok" } else { "error" };
        self.metrics.requests.with_label_values(&[operation.as_str(), outcome]).inc();
        self.metrics.latency.with_label_values(&[operation.as_str()]).observe(started.elapsed().as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_for_builtin_errors() {
        assert_eq!(code_for("Query is nested too deep."), "QUERY_TOO_COMPLEX");
        assert_eq!(code_for("Query is too complex."), "QUERY_TOO_COMPLEX");
        assert_eq!(code_for("Unknown field \"x\" on type \"Query\"."), "BAD_USER_INPUT");
    }

    #[test]
    fn counts_fields_with_aliases_and_fragments() {
        let doc = async_graphql::parser::parse_query(
            "query { a: viewer { role } b: viewer { role } ...F } fragment F on Query { organization { name slug } }",
        )
        .expect("parse");
        assert_eq!(document_fields(&doc), 7);
        let aliases: String = (0..3000).map(|i| format!("a{i}: __typename ")).collect();
        let doc = async_graphql::parser::parse_query(format!("{{ {aliases} }}")).expect("parse");
        assert_eq!(document_fields(&doc), 3000);
    }

    #[test]
    fn nesting_ignores_strings_and_comments() {
        assert_eq!(nesting_depth("{ a(x: [[1]]) { b } }", 64), 4);
        assert_eq!(nesting_depth("{ a(s: \"{{{{[[[\\\"(((\") }", 64), 2);
        assert_eq!(nesting_depth("{ a(s: \"\"\"{{{\\\"\"\"{{\"\"\") } # {{{{{{\n", 64), 2);
        assert_eq!(nesting_depth(&format!("{}1{}", "[".repeat(1000), "]".repeat(1000)), 64), 65);
        assert_eq!(nesting_depth("}}}{", 64), 1);
    }

    #[test]
    fn finds_nul_in_variables_and_literals() {
        let doc = |q: &str| async_graphql::parser::parse_query(q).expect("parse");
        let none = Variables::default();
        assert!(!request_has_nul(&doc("{ a(x: \"ok\", y: [{z: \"fine\"}]) { b } }"), &none));
        assert!(request_has_nul(&doc("{ a(y: [{z: \"n\\u0000\"}]) { b } }"), &none));
        assert!(request_has_nul(
            &doc("{ ...F } fragment F on Query { a @include(if: true) { b(s: \"\\u0000\") } }"),
            &none
        ));
        assert!(request_has_nul(&doc("query($v: String = \"\\u0000\") { a }"), &none));
        let vars = Variables::from_json(serde_json::json!({"i": {"list": ["ok", "bad\u{0}"]}}));
        assert!(request_has_nul(&doc("{ a }"), &vars));
    }

    #[test]
    fn labels_are_bounded() {
        assert_eq!(label(None), "anonymous");
        assert_eq!(label(Some("")), "anonymous");
        assert_eq!(label(Some("Viewer")), "Viewer");
        assert_eq!(label(Some("a b\n{}")), "ab");
        assert_eq!(label(Some("{}")), "other");
        assert_eq!(label(Some(&"x".repeat(500))).len(), 64);
    }
}
