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
    "audit",
    "auth",
    "forecast",
    "import",
    "incentive",
    "kpi",
    "mystery",
    "org",
    "pipeline",
    "quota",
    "scoring",
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
