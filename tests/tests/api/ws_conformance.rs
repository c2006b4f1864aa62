//! graphql-transport-ws conformance with the real `graphql-ws` npm client: runs
//! `tests/ws-conformance/conformance.mjs` (Node 20+) against a server on SQLite. Fails, rather
//! than skips, when `node` or `npm` is missing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use scorebord_tests::process::{require_tool, run};
use scorebord_tests::{Backend, TestApp};

/// A short init timeout so the 4408 case does not wait the default 10 s.
const INIT_TIMEOUT_MS: u64 = 1_500;

const NEEDS_NODE: &str =
    "Node.js 20+ with npm runs the WebSocket conformance test (the graphql-ws npm client from tests/ws-conformance)";

/// `npm ci` in the conformance directory unless its dependencies are already installed.
fn install_dependencies(dir: &Path) {
    let installed = ["graphql-ws", "ws", "graphql"]
        .iter()
        .all(|package| dir.join("node_modules").join(package).join("package.json").is_file());
    if installed {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_ws_npm_client_conformance() {
    let app = TestApp::spawn_with(Backend::Sqlite, |config| config.ws_init_timeout_ms = INIT_TIMEOUT_MS).await;
    let org = app.seed_org("acme").await;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ws-conformance");
    let base_url = app.base_url.clone();

    let ran = tokio::task::spawn_blocking(move || {
        require_tool("node", NEEDS_NODE);
        install_dependencies(&dir);
        let mut node = Command::new("node");
        node.arg("conformance.mjs")
            .arg(&base_url)
            .arg(&org.rep_token)
            .arg(&org.admin_token)
            .env("WS_INIT_TIMEOUT_MS", INIT_TIMEOUT_MS.to_string())
            .current_dir(&dir);
        run(node, Duration::from_secs(180))
    })
    .await
    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));

    println!("{}", ran.stdout);
    if !ran.stderr.is_empty() {
        eprintln!("{}", ran.stderr);
    }
    assert!(
        ran.status.success(),
        "tests/ws-conformance/conformance.mjs failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        ran.status,
        ran.stdout,
        ran.stderr
    );
    assert!(ran.stdout.contains("ws conformance cases passed"), "unexpected output:\n{}", ran.stdout);
}
