//! Real JavaScript clients against a real server on SQLite, from `tests/clients` (Node 20+,
//! dependencies pinned by its committed package-lock.json, installed with `npm ci`):
//! - `graphql-ws.mjs`: the `graphql-ws` client's subscriptions, and reconnecting with
//!   resubscription after the connection is dropped;
//! - `apollo.mjs`: `@apollo/client` queries and mutations through its normalized
//!   `InMemoryCache` (keyed by our global IDs), and subscriptions through `GraphQLWsLink`;
//! - `relay.mjs`: `relay-runtime` (Environment, Network, Store, `fetchQuery`) refetches a
//!   removed object through `node(id:)` and gets `null` without throwing;
//! - `codegen.mjs`: GraphQL Code Generator types `schema.graphql` and the clients' operations
//!   with no warning, and `tsc --noEmit --strict` accepts the result;
//! - `urql.mjs`: `@urql/core` 6 with its default options (queries by GET, mutations by POST,
//!   its document cache);
//! - `graphql-http-audit.mjs`: the `graphql-http` package's GraphQL-over-HTTP server audit.
//!
//! Apollo Kotlin's persisted queries over GET are replayed request by request in
//! `http_spec.rs` (a JVM client is not run here).
//!
//! Fails, rather than skips, when `node` or `npm` is missing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use scorebord_tests::process::{require_tool, run};
use scorebord_tests::{Org, TestApp};
use serde_json::{Value, json};

const NEEDS_NODE: &str = "Node.js 20+ with npm runs the real-client tests (the npm clients of tests/clients)";

/// One `npm ci` at a time: the three tests share `tests/clients/node_modules`.
static INSTALL: Mutex<()> = Mutex::new(());

fn clients_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("clients")
}

/// Whether every dependency of package.json is installed at its pinned version.
fn installed(dir: &Path) -> bool {
    let read = |path: PathBuf| -> Option<Value> { serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok() };
    let Some(manifest) = read(dir.join("package.json")) else { return false };
    let Some(dependencies) = manifest["dependencies"].as_object() else { return false };
    dependencies.iter().all(|(name, version)| {
        read(dir.join("node_modules").join(name).join("package.json")).is_some_and(|p| p["version"] == *version)
    })
}

/// `npm ci` in tests/clients unless the pinned dependencies are already installed.
fn install_dependencies(dir: &Path) {
    let _one_at_a_time = INSTALL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if installed(dir) {
        return;
    }
    require_tool("npm", NEEDS_NODE);
    let mut npm = Command::new("npm");
    npm.args(["ci", "--no-audit", "--no-fund"]).current_dir(dir);
    let ran = run(npm, Duration::from_secs(300));
    assert!(
        ran.status.success(),
        "`npm ci` in {} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        dir.display(),
        ran.status,
        ran.stdout,
        ran.stderr
    );
}

/// Runs `node <script>` in tests/clients with `env`; returns its output after checking that
/// it exited 0 and that its last line reports every check passed.
pub(crate) async fn node(script: &'static str, env: Vec<(&'static str, String)>) -> String {
    let started = Instant::now();
    let ran = tokio::task::spawn_blocking(move || {
        require_tool("node", NEEDS_NODE);
        let dir = clients_dir();
        install_dependencies(&dir);
        let mut node = Command::new("node");
        node.arg(script).envs(env).current_dir(&dir);
        run(node, Duration::from_secs(240))
    })
    .await
    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    println!("{}\n({script} took {:.1} s)", ran.stdout, started.elapsed().as_secs_f64());
    if !ran.stderr.is_empty() {
        eprintln!("{}", ran.stderr);
    }
    assert!(
        ran.status.success(),
        "tests/clients/{script} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        ran.status,
        ran.stdout,
        ran.stderr
    );
    let last = ran.stdout.lines().last().unwrap_or_default();
    let all_passed = last
        .split_once(": ")
        .and_then(|(_, counts)| counts.strip_suffix(" checks passed"))
        .and_then(|counts| counts.split_once(" of "))
        .is_some_and(|(passed, total)| passed == total && passed != "0");
    assert!(all_passed, "tests/clients/{script}: unexpected last line {last:?}\n{}", ran.stdout);
    ran.stdout
}

/// A COUNT activity type worth 3 points, for the clients to log.
async fn quote_type(app: &TestApp, org: &Org) -> String {
    let d = app
        .ok(
            &org.admin_token,
            "mutation($i: CreateActivityTypeInput!) { createActivityType(input: $i) { activityType { id } userErrors { code } } }",
            json!({"i": {"name": "Quote sent", "category": "ACTION", "unit": "COUNT", "points": 3.0}}),
        )
        .await;
    d["createActivityType"]["activityType"]["id"].as_str().unwrap_or_else(|| panic!("{d}")).to_owned()
}

/// The server, the seeded organization and an activity type, as the scripts read them.
async fn environment(app: &TestApp) -> Vec<(&'static str, String)> {
    let org = app.seed_org("acme").await;
    let activity_type = quote_type(app, &org).await;
    vec![
        ("SCOREBORD_URL", app.base_url.clone()),
        ("ADMIN_TOKEN", org.admin_token.clone()),
        ("MANAGER_TOKEN", org.manager_token.clone()),
        ("REP_TOKEN", org.rep_token.clone()),
        ("ADMIN_ID", org.admin.clone()),
        ("MANAGER_ID", org.manager.clone()),
        ("REP_ID", org.rep.clone()),
        ("OUTBOUND_TEAM_ID", org.outbound.clone()),
        ("INBOUND_TEAM_ID", org.inbound.clone()),
        ("ACTIVITY_TYPE_ID", activity_type),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_ws_client_subscriptions_and_reconnect() {
    let app = TestApp::spawn(scorebord_tests::Backend::Sqlite).await;
    let env = environment(&app).await;
    node("graphql-ws.mjs", env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apollo_client_normalized_cache_and_ws_link() {
    let app = TestApp::spawn(scorebord_tests::Backend::Sqlite).await;
    let env = environment(&app).await;
    node("apollo.mjs", env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_runtime_refetches_a_removed_node_as_null() {
    let app = TestApp::spawn(scorebord_tests::Backend::Sqlite).await;
    let env = environment(&app).await;
    node("relay.mjs", env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_codegen_types_compile_without_warnings() {
    let schema = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("schema.graphql");
    assert!(schema.is_file(), "{} is missing", schema.display());
    node("codegen.mjs", vec![]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urql_default_options_get_queries_and_post_mutations() {
    let app = TestApp::spawn(scorebord_tests::Backend::Sqlite).await;
    let env = environment(&app).await;
    node("urql.mjs", env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_http_server_audit() {
    let app = TestApp::spawn(scorebord_tests::Backend::Sqlite).await;
    let env = environment(&app).await;
    node("graphql-http-audit.mjs", env).await;
}
