//! The layer rules of `api/src`, checked on the source text (docs/architecture.md names each
//! rule beside the test that holds it).
//!
//! The import graph is read from `use` trees and from inline `crate::`/`super::`/`self::` paths,
//! file to file, with `#[cfg(test)]` modules left out (tests may reach anywhere). A path goes to
//! the deepest file whose module it names: `crate::org::model::OrgId` to `org/model.rs`.

mod graph;

use std::collections::{BTreeMap, BTreeSet};

use graph::{Graph, SourceFile};

/// Top-level modules that are business domains.
const DOMAINS: &[&str] = &[
    "archive",
    "audit",
    "auth",
    "firm",
    "forecast",
    "import",
    "incentive",
    "kpi",
    "mystery",
    "org",
    "pipeline",
    "quota",
    "scoring",
    "template",
    "territory",
    "webhooks",
];

fn graph() -> Graph {
    Graph::read(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))
}

fn top(file: &SourceFile) -> &str {
    file.module.first().map_or("", String::as_str)
}

fn is_domain(file: &SourceFile) -> bool {
    DOMAINS.contains(&top(file))
}

/// Edges from files matching `from` to files matching `to`, as "a.rs -> b.rs (path)".
fn offending(graph: &Graph, from: impl Fn(&SourceFile) -> bool, to: impl Fn(&SourceFile) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    for (i, file) in graph.files.iter().enumerate() {
        if !from(file) {
            continue;
        }
        for (target, via) in &graph.edges[i] {
            if to(&graph.files[*target]) {
                out.push(format!("{} -> {} ({via})", file.rel, graph.files[*target].rel));
            }
        }
    }
    out
}

#[test]
fn the_graph_reader_sees_the_imports_it_should() {
    let graph = graph();
    assert!(graph.files.len() > 100, "read {} files", graph.files.len());
    // A `use` tree, an inline path and a `super::` path each make an edge.
    let lib = graph.index("lib.rs").expect("lib.rs");
    assert!(graph.edges[lib].keys().any(|t| graph.files[*t].rel == "config.rs"), "lib.rs uses config");
    let total: usize = graph.edges.iter().map(BTreeMap::len).sum();
    assert!(total > 300, "only {total} edges: the reader is missing imports");
}

#[test]
fn there_is_no_import_circle() {
    let graph = graph();
    let circles = graph.circles();
    let described: Vec<String> = circles
        .iter()
        .map(|c| {
            let names: Vec<&str> = c.iter().map(|i| graph.files[*i].rel.as_str()).collect();
            let members: BTreeSet<usize> = c.iter().copied().collect();
            let mut ties = Vec::new();
            for i in c {
                for (t, via) in &graph.edges[*i] {
                    if members.contains(t) {
                        ties.push(format!("    {} -> {} ({via})", graph.files[*i].rel, graph.files[*t].rel));
                    }
                }
            }
            format!("{} files: {}\n{}", names.len(), names.join(", "), ties.join("\n"))
        })
        .collect();
    assert!(circles.is_empty(), "{} import circle(s):\n{}", circles.len(), described.join("\n"));
}

/// What the kernel may use besides itself: the infrastructure below every domain.
const INFRASTRUCTURE: &[&str] = &["core", "config", "cors", "db", "events", "metrics"];

#[test]
fn the_kernel_imports_no_domain_and_nothing_above_it() {
    let graph = graph();
    let bad = offending(&graph, |f| top(f) == "core", |f| !INFRASTRUCTURE.contains(&top(f)));
    assert!(bad.is_empty(), "core/ reaches above the infrastructure:\n{}", bad.join("\n"));
    // The infrastructure stays below the domains too.
    let bad = offending(&graph, |f| INFRASTRUCTURE.contains(&top(f)), |f| !INFRASTRUCTURE.contains(&top(f)));
    assert!(bad.is_empty(), "the infrastructure imports a domain or a layer above:\n{}", bad.join("\n"));
}

#[test]
fn graphql_primitives_import_no_domain() {
    let graph = graph();
    let bad = offending(&graph, |f| top(f) == "graphql", |f| is_domain(f) || ["schema", "server"].contains(&top(f)));
    assert!(bad.is_empty(), "graphql/ primitives import a domain, the schema or the server:\n{}", bad.join("\n"));
}

#[test]
fn nothing_below_the_schema_imports_the_schema_or_the_server() {
    let graph = graph();
    let above = ["schema", "server", "lib.rs", "main.rs", "demo", "fuzzing"];
    let bad = offending(
        &graph,
        |f| !above.contains(&top(f)) && !above.contains(&f.rel.as_str()),
        |f| ["schema", "server"].contains(&top(f)),
    );
    assert!(bad.is_empty(), "imports of the schema or the server from below:\n{}", bad.join("\n"));
    // The schema is assembled above the domains, and the server above the schema.
    let bad = offending(&graph, |f| top(f) == "schema", |f| top(f) == "server");
    assert!(bad.is_empty(), "the schema imports the server:\n{}", bad.join("\n"));
}

#[test]
fn models_are_pure_rules() {
    let graph = graph();
    let mut bad = Vec::new();
    for file in &graph.files {
        let is_model = file.module.iter().any(|m| m == "model") || file.rel.ends_with("/model.rs");
        if !is_domain(file) || !is_model {
            continue;
        }
        if file.code.contains("sea_orm") {
            bad.push(format!("{}: uses sea_orm", file.rel));
        }
        for used in graph::async_graphql_items(&file.code) {
            if used != "Enum" {
                bad.push(format!("{}: uses async_graphql::{used}", file.rel));
            }
        }
        if file.code.contains("tokio::") || file.code.contains(".await") {
            bad.push(format!("{}: does input/output", file.rel));
        }
    }
    assert!(bad.is_empty(), "models hold pure rules only:\n{}", bad.join("\n"));
}

#[test]
fn no_source_file_is_over_1000_lines_without_its_tests() {
    let graph = graph();
    let mut bad = Vec::new();
    for file in &graph.files {
        let lines = file.lines;
        if lines > 1000 {
            bad.push(format!("{}: {lines} lines", file.rel));
        }
    }
    assert!(bad.is_empty(), "files a reader cannot hold (lines, tests left out):\n{}", bad.join("\n"));
}

/// The entity modules (`entity/src/<name>.rs`) whose rows belong to an organization.
fn tenant_entities() -> BTreeSet<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../entity/src");
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir).expect("entity/src") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("entity file");
        if text.contains("pub organization_id:") {
            out.insert(path.file_stem().expect("stem").to_string_lossy().into_owned());
        }
    }
    out
}

/// The identifier right before `at` in `code` (letters, digits, `_`).
fn ident_before(code: &str, at: usize) -> &str {
    let start = code[..at].rfind(|c: char| !(c.is_alphanumeric() || c == '_')).map_or(0, |i| i + 1);
    &code[start..at]
}

/// Files that may look across tenants, and why.
const ACROSS_TENANTS: &[(&str, &str)] = &[
    ("auth/store.rs", "a refresh token is found by its secret before its organization is known"),
    ("auth/api_keys.rs", "an API key is found by its prefix before its organization is known"),
    ("graphql/apq.rs", "a persisted query is found by its hash, which only its text has"),
    ("webhooks/store.rs", "the outbox sends every organization's deliveries"),
    ("org/hosts.rs", "a request's host names its organization before any organization is known"),
];

/// Files that build SQL by hand, and why; every statement there names `organization_id`
/// itself (checked below on the literal text).
const RAW_SQL: &[(&str, &str)] = &[
    ("scoring/store/activities.rs", "batched inserts and idempotency-key lookups in one round trip"),
    ("scoring/scores.rs", "a work item's progress row locked FOR UPDATE on PostgreSQL"),
];

#[test]
fn tenant_tables_are_queried_through_the_tenant_helpers() {
    let graph = graph();
    let tenants = tenant_entities();
    assert!(tenants.len() > 30, "read only {} tenant entities", tenants.len());
    let helpers = &graph.files[graph.index("db/tenant.rs").expect("db/tenant.rs")].code;
    let listed = |list: &str| -> BTreeSet<String> {
        let start = helpers.find(&format!("{list}!(\n")).unwrap_or_else(|| panic!("the {list}! list"));
        let body = &helpers[start + list.len() + 2..];
        let body = &body[..body.find(");").expect("end of the list")];
        body.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()
    };
    let implemented = listed("tenants");
    let missing: Vec<_> = tenants.difference(&implemented).collect();
    let extra: Vec<_> = implemented.difference(&tenants).collect();
    assert!(missing.is_empty(), "tenant entities without `Tenant` (add them to tenants!): {missing:?}");
    assert!(extra.is_empty(), "`Tenant` on entities without an organization column: {extra:?}");

    let mut bad = Vec::new();
    for file in &graph.files {
        if file.rel == "db/tenant.rs" {
            continue;
        }
        let code = &file.code;
        for (at, _) in code.match_indices("Column::OrganizationId") {
            let next = code[at + "Column::OrganizationId".len()..].trim_start();
            // A column list (an insert's conflict target) names it; a filter calls a method on it.
            if next.starts_with('.') {
                bad.push(format!("{}: filters on the organization by hand", file.rel));
            }
        }
        for call in [
            "::find(",
            "::find_by_id(",
            "::update_many(",
            "::delete_many(",
            "::delete_by_id(",
            "::update(",
            "::delete(",
        ] {
            for (at, _) in code.match_indices(call) {
                if ident_before(code, at) != "Entity" {
                    continue;
                }
                let before = &code[..at - "Entity".len()];
                let table = if before.ends_with("::") { ident_before(code, before.len() - 2) } else { "" };
                // The tenants themselves: organizations, and the firms that own some of them.
                if table != "organization" && table != "firm" {
                    bad.push(format!("{}: starts a query of `{table}::Entity` itself ({call}", file.rel));
                }
            }
        }
        for call in [".find_related(", ".find_also_related(", ".find_with_related("] {
            if code.contains(call) {
                bad.push(format!("{}: follows a relation without the tenant filter ({call}", file.rel));
            }
        }
        let across = ["across_tenants", "update_across_tenants", "delete_across_tenants", "excluding_tenants"];
        if across.iter().any(|a| code.contains(&format!("tenant::{a}")))
            && !ACROSS_TENANTS.iter().any(|(f, _)| *f == file.rel)
        {
            bad.push(format!("{}: reads across tenants without being listed in ACROSS_TENANTS", file.rel));
        }
        let raw = ["from_sql_and_values", "Statement::from_string", "execute_unprepared", "query_all_raw"];
        if raw.iter().any(|r| code.contains(r)) && top(file) != "db" && !RAW_SQL.iter().any(|(f, _)| *f == file.rel) {
            bad.push(format!("{}: builds SQL by hand without being listed in RAW_SQL", file.rel));
        }
    }
    for (rel, _) in RAW_SQL {
        let text = std::fs::read_to_string(format!("{}/src/{rel}", env!("CARGO_MANIFEST_DIR"))).expect("raw SQL file");
        let statements = text.matches("from_sql_and_values(").count();
        let tenant_filters = text.matches("organization_id").count();
        if statements == 0 || tenant_filters < statements {
            bad.push(format!("{rel}: {statements} statement(s), {tenant_filters} mention(s) of organization_id"));
        }
    }
    assert!(bad.is_empty(), "queries of tenant tables outside the tenant helpers:\n{}", bad.join("\n"));
}

#[test]
fn every_tenant_table_is_archived_or_named_as_not_archived() {
    // An archive must hold all of an organization's data, and an erasure must reach every row:
    // a new tenant table has to be placed in one of the two lists.
    let model =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/archive/model.rs")).expect("archive model");
    let missing: Vec<String> = tenant_entities().into_iter().filter(|t| !model.contains(&format!("\"{t}\""))).collect();
    assert!(missing.is_empty(), "tenant tables neither archived nor listed in NOT_ARCHIVED: {missing:?}");
}

#[test]
fn resolvers_call_services_and_open_no_transaction() {
    let graph = graph();
    let mut bad = Vec::new();
    for file in &graph.files {
        // A resolver is any domain code that reads a GraphQL request's context.
        if !(is_domain(file) && file.code.contains("Context<'_>")) {
            continue;
        }
        for call in ["begin_write(", "Unit::begin(", ".begin()", "begin_with_options(", "serialize(&"] {
            if file.code.contains(call) {
                bad.push(format!("{}: opens or locks a transaction ({call}); call a service", file.rel));
            }
        }
        for call in ["audit::record(", "events.publish(", "unit::record("] {
            if file.code.contains(call) {
                bad.push(format!(
                    "{}: writes an audit entry or publishes itself ({call}); a service's unit does",
                    file.rel
                ));
            }
        }
    }
    assert!(bad.is_empty(), "resolvers doing a service's work:\n{}", bad.join("\n"));
}

/// The verbs of the stores' write functions (`store::create_kpi(`, `store::acknowledge(`).
const STORE_WRITES: &[&str] = &[
    "create",
    "insert",
    "update",
    "delete",
    "set",
    "lock",
    "archive",
    "end",
    "remove",
    "add",
    "upsert",
    "record",
    "mark",
    "void",
    "save",
    "acknowledge",
];

/// The store write functions `code` calls, as `store::name`: a name that is one of
/// [`STORE_WRITES`] or starts with one and `_`, after `store::` (also `org_store::`,
/// `crate::scoring::store::`).
fn store_writes(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (at, _) in code.match_indices("store::") {
        let rest = &code[at + "store::".len()..];
        let len = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
        let (name, after) = rest.split_at(len);
        let writes = STORE_WRITES
            .iter()
            .any(|verb| name == *verb || name.strip_prefix(verb).is_some_and(|tail| tail.starts_with('_')));
        if writes && after.trim_start().starts_with('(') {
            out.push(format!("store::{name}"));
        }
    }
    out
}

#[test]
fn the_store_write_reader_sees_the_calls_it_should() {
    let code = "store::create_kpi(a); crate::scoring::store::void_activity (b); org_store::acknowledge(c);\n\
                store::find_kpi(d); store::settings(e); store::lock_week; store::created_at(f);";
    assert_eq!(
        store_writes(code),
        ["store::create_kpi", "store::void_activity", "store::acknowledge"].map(String::from).to_vec()
    );
}

#[test]
fn resolvers_write_nothing_themselves() {
    let graph = graph();
    let mut bad = Vec::new();
    for file in &graph.files {
        // A resolver is any domain code that reads a GraphQL request's context.
        if !(is_domain(file) && file.code.contains("Context<'_>")) {
            continue;
        }
        for call in store_writes(&file.code) {
            bad.push(format!("{}: calls {call}( itself; a service's unit writes", file.rel));
        }
    }
    assert!(bad.is_empty(), "resolvers writing through a store:\n{}", bad.join("\n"));
}

#[test]
fn services_know_nothing_of_graphql_or_the_app_state() {
    let graph = graph();
    let mut services = 0;
    let mut bad = Vec::new();
    for file in &graph.files {
        let is_service = is_domain(file) && file.module.iter().any(|m| m == "service");
        if !is_service {
            continue;
        }
        services += 1;
        for needle in ["async_graphql", "crate::graphql", "crate::state", "AppState", "Context<'_>"] {
            if file.code.contains(needle) {
                bad.push(format!("{}: uses {needle}", file.rel));
            }
        }
        for (target, via) in &graph.edges[graph.index(&file.rel).expect("indexed")] {
            let t = &graph.files[*target];
            if t.module.iter().any(|m| m == "graphql") || ["schema", "server"].contains(&top(t)) {
                bad.push(format!("{} -> {} ({via})", file.rel, t.rel));
            }
        }
    }
    assert!(services >= 10, "found only {services} service files");
    assert!(bad.is_empty(), "services that reach GraphQL or the app state:\n{}", bad.join("\n"));
}
