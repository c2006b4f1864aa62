//! graphql-transport-ws conformance with the real `graphql-ws` npm client: runs
//! `tests/ws-conformance/conformance.mjs` (Node 20+) against a server on SQLite. Fails, rather
//! than skips, when `node` or `npm` is missing.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use scorebord_tests::{Backend, TestApp};

/// A short init timeout so the 4408 case does not wait the default 10 s.
const INIT_TIMEOUT_MS: u64 = 1_500;

struct Ran {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs a command to completion (killing it after `limit`), collecting its output.
fn run(mut command: Command, limit: Duration) -> Ran {
    let shown = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    let collect = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = collect(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = collect(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for child") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let out = stdout.join().unwrap_or_default();
            let err = stderr.join().unwrap_or_default();
            panic!("{shown} did not finish within {limit:?}\n--- stdout\n{out}\n--- stderr\n{err}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Ran { status, stdout: stdout.join().unwrap_or_default(), stderr: stderr.join().unwrap_or_default() }
}

/// Fails the test with a clear message when a required tool is not on PATH.
fn require_tool(tool: &str) {
    let found = Command::new(tool)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "`{tool}` is not installed or not on PATH: the WebSocket conformance test needs Node.js 20+ with npm \
         (it runs the graphql-ws npm client from tests/ws-conformance)"
    );
}

/// `npm ci` in the conformance directory unless its dependencies are already installed.
fn install_dependencies(dir: &Path) {
    let installed = ["graphql-ws", "ws", "graphql"]
        .iter()
        .all(|package| dir.join("node_modules").join(package).join("package.json").is_file());
    if installed {
        return;
    }
    require_tool("npm");
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
        require_tool("node");
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
