//! Test harness: starts the real server in-process on an ephemeral port against its own
//! fresh database (a SQLite file in a temp dir, or a new PostgreSQL database that is dropped
//! afterwards) and speaks HTTP and WebSocket to it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use chrono::Utc;
use futures_util::{SinkExt, StreamExt};
use scorebord::core::ids::OrgId;
use scorebord::core::roles::{Role, SalesRole};
use scorebord::org::store::{self, NewMember, NewOrganization};
use scorebord::state::AppState;
use scorebord::{App, Config};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest};
use uuid::Uuid;

/// The HS256 secret of every test server.
pub const SECRET: &str = "test-secret-not-for-production";
/// The password of every seeded member.
pub const PASSWORD: &str = "password123";

/// The time zone of every seeded organization.
pub const ORG_TIME_ZONE: chrono_tz::Tz = chrono_tz::Europe::Amsterdam;

/// Today in the seeded organizations' time zone: the day their weeks and periods are cut by.
/// A test that takes the UTC date instead fails for the hours the two dates differ (late on
/// Sunday in UTC, the organization is already in its next week).
pub fn org_today() -> chrono::NaiveDate {
    Utc::now().with_timezone(&ORG_TIME_ZONE).date_naive()
}

/// Which database a test runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temp dir.
    Sqlite,
    /// A fresh database on `TEST_POSTGRES_URL`.
    Postgres,
}

/// Runs each named `async fn(&TestApp)` once on SQLite and once on PostgreSQL (when
/// `TEST_POSTGRES_URL` is set), as `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::TestApp::spawn($crate::Backend::Sqlite).await;
                    super::$name(&app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if !$crate::postgres_configured() {
                        eprintln!("TEST_POSTGRES_URL is not set: the PostgreSQL variant did not run");
                        return;
                    }
                    let app = $crate::TestApp::spawn($crate::Backend::Postgres).await;
                    super::$name(&app).await;
                }
            )*
        }
    };
}

/// Whether `TEST_POSTGRES_URL` is set.
pub fn postgres_configured() -> bool {
    std::env::var("TEST_POSTGRES_URL").is_ok_and(|v| !v.is_empty())
}

/// A PostgreSQL database made for one test, dropped when the test ends (also on panic).
struct PgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                if let Ok(db) = Database::connect(&admin_url).await {
                    let _ = db.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
                    let _ = db.close().await;
                }
            });
        })
        .join();
    }
}

/// A running server and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:port`
    pub base_url: String,
    /// The bound address.
    pub addr: SocketAddr,
    /// Where `/metrics` is served when `METRICS_BIND` is set (its own listener).
    pub metrics_addr: Option<SocketAddr>,
    /// HTTP client.
    pub client: reqwest::Client,
    /// The server's services (for seeding through the store layer and checking rows).
    pub state: AppState,
    /// The backend in use.
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
    _pg: Option<PgDatabase>,
}

/// A seeded organization: Sales (manager) → Inbound, Outbound; admin, manager of Sales's
/// Outbound sub-team, reps in Inbound and Outbound, a viewer.
#[derive(Clone, Debug)]
pub struct Org {
    /// Tenant.
    pub id: OrgId,
    /// Slug.
    pub slug: String,
    /// Global ID of the organization.
    pub gid: String,
    /// Team IDs (global).
    pub sales: String,
    /// Inbound team.
    pub inbound: String,
    /// Outbound team.
    pub outbound: String,
    /// Member IDs (global).
    pub admin: String,
    /// Manager of Outbound.
    pub manager: String,
    /// Rep in Outbound.
    pub rep: String,
    /// Rep in Inbound.
    pub inbound_rep: String,
    /// Viewer.
    pub viewer: String,
    /// Tokens.
    pub admin_token: String,
    /// Manager token.
    pub manager_token: String,
    /// Outbound rep token.
    pub rep_token: String,
    /// Inbound rep token.
    pub inbound_rep_token: String,
    /// Viewer token.
    pub viewer_token: String,
}

fn gid(kind: &str, id: Uuid) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}:{id}"))
}

impl TestApp {
    /// Starts a server on the backend with the default test configuration.
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Starts a server on the backend after `configure` adjusts the configuration.
    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> TestApp {
        if std::env::var("SCOREBORD_TEST_LOG").is_ok() {
            let _ = scorebord::telemetry::init(scorebord::config::LogFormat::Pretty, None);
        }
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
                Self::start(backend, url, Some(dir), None, configure).await
            }
            Backend::Postgres => {
                let admin_url = std::env::var("TEST_POSTGRES_URL").expect("TEST_POSTGRES_URL");
                Self::spawn_on_postgres(&admin_url, configure).await
            }
        }
    }

    /// Starts a server on a fresh database of the PostgreSQL server at `admin_url` (a URL whose
    /// user may create databases), dropped when the app is.
    pub async fn spawn_on_postgres(admin_url: &str, configure: impl FnOnce(&mut Config)) -> TestApp {
        let name = format!("scorebord_test_{}", Uuid::new_v4().simple());
        let admin = Database::connect(admin_url).await.expect("connect to the PostgreSQL admin URL");
        admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create database");
        admin.close().await.expect("close");
        let mut url = url::Url::parse(admin_url).expect("the PostgreSQL admin URL is a URL");
        url.set_path(&format!("/{name}"));
        let pg = PgDatabase { admin_url: admin_url.to_owned(), name };
        Self::start(Backend::Postgres, url.to_string(), None, Some(pg), configure).await
    }

    async fn start(
        backend: Backend,
        url: String,
        dir: Option<tempfile::TempDir>,
        pg: Option<PgDatabase>,
        configure: impl FnOnce(&mut Config),
    ) -> TestApp {
        let mut config = Config::for_database(url, SECRET);
        config.database_max_connections = 8;
        // Tests fire requests back to back; the rate-limit test sets its own budget.
        config.rate_limit_points = 1_000_000;
        config.rate_limit_restore_per_second = 1_000_000;
        config.webhooks_allow_private = true;
        // Every request comes from 127.0.0.1: the throttling tests set their own allowances.
        config.login_failures_per_account = 1_000;
        config.login_failures_per_address = 1_000;
        configure(&mut config);
        let app = App::build(config).await.expect("build app");
        let state = app.state.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let metrics = match state.config.metrics_bind {
            Some(at) => Some(tokio::net::TcpListener::bind(at).await.expect("bind METRICS_BIND")),
            None => None,
        };
        let metrics_addr = metrics.as_ref().map(|m| m.local_addr().expect("metrics addr"));
        tokio::spawn(app.serve_on(listener, metrics, std::future::pending()));
        TestApp {
            base_url: format!("http://{addr}"),
            metrics_addr,
            addr,
            client: reqwest::Client::new(),
            state,
            backend,
            _dir: dir,
            _pg: pg,
        }
    }

    /// POSTs a GraphQL operation; returns the JSON body (whatever the status).
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        self.gql_op(token, query, None, variables).await
    }

    /// POSTs one named operation of a document; returns the JSON body (whatever the status).
    pub async fn gql_op(&self, token: Option<&str>, query: &str, operation: Option<&str>, variables: Value) -> Value {
        let mut body = json!({ "query": query, "variables": variables });
        if let Some(name) = operation {
            body["operationName"] = json!(name);
        }
        let mut req = self.client.post(format!("{}/graphql", self.base_url)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request").json().await.expect("JSON body")
    }

    /// POSTs a GraphQL operation that must succeed; returns `data`.
    pub async fn ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let body = self.gql(Some(token), query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// The seeded organization's tokens are minted with the server's key.
    pub fn token_for(&self, org: OrgId, member: Uuid) -> String {
        self.state.jwt.issue(member, org.0, chrono::Duration::minutes(30)).expect("issue token")
    }

    /// Seeds an organization through the store layer.
    pub async fn seed_org(&self, slug: &str) -> Org {
        let db = &self.state.db;
        let org = store::create_organization(
            db,
            NewOrganization {
                name: format!("{slug} B.V."),
                slug: slug.to_owned(),
                time_zone: ORG_TIME_ZONE.name().into(),
                currency: "EUR".into(),
                fiscal_year_start_month: 1,
                primary_color: "#112233".into(),
                secondary_color: "#445566".into(),
                display_name: None,
                logo_url: None,
                locale: scorebord::core::locale::Locale::default(),
            },
        )
        .await
        .expect("org");
        let id = OrgId(org.id);
        let sales = store::create_team(id, db, format!("{slug} Sales"), None, None, None).await.expect("team");
        let inbound =
            store::create_team(id, db, format!("{slug} Inbound"), None, Some(sales.id), None).await.expect("team");
        let outbound =
            store::create_team(id, db, format!("{slug} Outbound"), None, Some(sales.id), None).await.expect("team");
        let hash = scorebord::auth::password::hash(PASSWORD.to_owned()).await.expect("hash");
        let member = |name: &str, role: Role, sales_role: SalesRole, team: Uuid| {
            let new = NewMember {
                name: format!("{slug} {name}"),
                email: format!("{}@{slug}.test", name.to_lowercase().replace(' ', ".")),
                role,
                sales_role,
                team_id: Some(team),
                start_date: Utc::now().date_naive(),
                password_hash: Some(hash.clone()),
                avatar_url: None,
            };
            async move { store::create_member(id, db, new).await.expect("member") }
        };
        let admin = member("Admin", Role::Admin, SalesRole::Manager, sales.id).await;
        let manager = member("Manager", Role::Manager, SalesRole::Manager, outbound.id).await;
        let rep = member("Rep", Role::Rep, SalesRole::Outbound, outbound.id).await;
        let inbound_rep = member("Inbound Rep", Role::Rep, SalesRole::Inbound, inbound.id).await;
        let viewer = member("Viewer", Role::Viewer, SalesRole::Manager, sales.id).await;
        store::update_team(
            id,
            db,
            outbound.id,
            store::TeamPatch { manager_id: Some(Some(manager.id)), ..Default::default() },
            None,
        )
        .await
        .expect("manager");
        Org {
            id,
            slug: slug.to_owned(),
            gid: gid("Organization", org.id),
            sales: gid("Team", sales.id),
            inbound: gid("Team", inbound.id),
            outbound: gid("Team", outbound.id),
            admin: gid("Member", admin.id),
            manager: gid("Member", manager.id),
            rep: gid("Member", rep.id),
            inbound_rep: gid("Member", inbound_rep.id),
            viewer: gid("Member", viewer.id),
            admin_token: self.token_for(id, admin.id),
            manager_token: self.token_for(id, manager.id),
            rep_token: self.token_for(id, rep.id),
            inbound_rep_token: self.token_for(id, inbound_rep.id),
            viewer_token: self.token_for(id, viewer.id),
        }
    }

    /// Rows in a table (to prove a refused request wrote nothing).
    pub async fn count_rows(&self, table: &str) -> i64 {
        let backend = self.state.db.get_database_backend();
        let row = self
            .state
            .db
            .query_one_raw(sea_orm::Statement::from_string(backend, format!("SELECT COUNT(*) AS n FROM {table}")))
            .await
            .expect("count")
            .expect("row");
        row.try_get::<i64>("", "n").expect("n")
    }

    /// Rows of `org` in every table of the database with an `organization_id` column, found
    /// from the database's own catalogue (not from the server's list of tables), plus the
    /// organization's own row (`organizations`) and the firm grants naming it.
    pub async fn rows_per_table_of(&self, org: uuid::Uuid) -> std::collections::BTreeMap<String, i64> {
        let db = &self.state.db;
        let backend = db.get_database_backend();
        let tables: Vec<String> = match backend {
            sea_orm::DbBackend::Postgres => db
                .query_all_raw(sea_orm::Statement::from_string(
                    backend,
                    "SELECT table_name AS t FROM information_schema.columns WHERE column_name = 'organization_id' AND table_schema = current_schema()",
                ))
                .await
                .expect("catalogue")
                .iter()
                .map(|r| r.try_get::<String>("", "t").expect("t"))
                .collect(),
            _ => {
                let all = db
                    .query_all_raw(sea_orm::Statement::from_string(backend, "SELECT name AS t FROM sqlite_master WHERE type = 'table'"))
                    .await
                    .expect("catalogue");
                let mut with = Vec::new();
                for r in all {
                    let t: String = r.try_get("", "t").expect("t");
                    let cols = db
                        .query_all_raw(sea_orm::Statement::from_string(backend, format!("SELECT name AS c FROM pragma_table_info('{t}')")))
                        .await
                        .expect("columns");
                    if cols.iter().any(|c| c.try_get::<String>("", "c").ok().as_deref() == Some("organization_id")) {
                        with.push(t);
                    }
                }
                with
            }
        };
        assert!(tables.len() > 30, "found only {} tables with organization_id", tables.len());
        let mut out = std::collections::BTreeMap::new();
        // SQLite keeps UUIDs as 16-byte blobs, PostgreSQL as `uuid`.
        let id = match backend {
            sea_orm::DbBackend::Postgres => format!("'{org}'"),
            _ => format!("X'{}'", org.simple()),
        };
        let count = |sql: String| async move {
            let row =
                db.query_one_raw(sea_orm::Statement::from_string(backend, sql)).await.expect("count").expect("row");
            row.try_get::<i64>("", "n").expect("n")
        };
        for t in tables {
            out.insert(t.clone(), count(format!("SELECT COUNT(*) AS n FROM {t} WHERE organization_id = {id}")).await);
        }
        out.insert(
            "organizations".into(),
            count(format!("SELECT COUNT(*) AS n FROM organizations WHERE id = {id}")).await,
        );
        out.insert(
            "firm_grants".into(),
            count(format!("SELECT COUNT(*) AS n FROM firm_grants WHERE client_id = {id}")).await,
        );
        out
    }

    /// Opens a GraphQL WebSocket with the given subprotocol.
    pub async fn ws(&self, protocol: &str) -> Ws {
        let mut request = format!("ws://{}/graphql", self.addr).into_client_request().expect("request");
        request.headers_mut().insert("Sec-WebSocket-Protocol", protocol.parse().expect("header"));
        let (stream, response) = tokio_tungstenite::connect_async(request).await.expect("connect");
        assert_eq!(
            response.headers().get("sec-websocket-protocol").and_then(|v| v.to_str().ok()),
            Some(protocol),
            "server must echo the subprotocol"
        );
        Ws { stream }
    }
}

impl TestApp {
    /// A `graphql-transport-ws` connection initialised with `token` and acknowledged.
    pub async fn ws_as(&self, token: &str) -> Ws {
        let mut ws = self.ws("graphql-transport-ws").await;
        ws.send(
            serde_json::json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}}),
        )
        .await;
        assert_eq!(ws.next_json().await["type"], "connection_ack");
        ws
    }
}

/// A WebSocket client.
pub struct Ws {
    stream: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

/// What the server sent.
#[derive(Debug)]
pub enum WsEvent {
    /// A JSON message.
    Json(Value),
    /// A close frame with its code and reason.
    Closed(u16, String),
}

impl Ws {
    /// Sends a JSON message.
    pub async fn send(&mut self, message: Value) {
        self.stream.send(tungstenite::Message::Text(message.to_string().into())).await.expect("send");
    }

    /// The next JSON message or close frame (pings skipped), failing after 10 s.
    pub async fn next(&mut self) -> WsEvent {
        let deadline = std::time::Duration::from_secs(10);
        loop {
            let msg = tokio::time::timeout(deadline, self.stream.next())
                .await
                .expect("no WebSocket message within 10 s")
                .map(|r| r.expect("WebSocket error"));
            match msg {
                Some(tungstenite::Message::Text(t)) => return WsEvent::Json(serde_json::from_str(&t).expect("JSON")),
                Some(tungstenite::Message::Close(frame)) => {
                    return match frame {
                        Some(f) => WsEvent::Closed(u16::from(f.code), f.reason.to_string()),
                        None => WsEvent::Closed(1005, String::new()),
                    };
                }
                Some(_) => continue,
                None => return WsEvent::Closed(1006, String::new()),
            }
        }
    }

    /// The next message, which must be JSON.
    pub async fn next_json(&mut self) -> Value {
        match self.next().await {
            WsEvent::Json(v) => v,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// Waits for the close frame and returns its code.
    pub async fn close_code(&mut self) -> u16 {
        loop {
            if let WsEvent::Closed(code, _) = self.next().await {
                return code;
            }
        }
    }
}

/// The `extensions.code` of the first error.
pub fn error_code(body: &Value) -> String {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {body}")).to_owned()
}

impl TestApp {
    /// Starts another server on this app's database with the same configuration, as a second
    /// instance behind a load balancer. It does not own the database: the first app drops it.
    pub async fn second_instance(&self) -> TestApp {
        let app = App::build((*self.state.config).clone()).await.expect("build second instance");
        let state = app.state.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let metrics = match state.config.metrics_bind {
            Some(at) => Some(tokio::net::TcpListener::bind(at).await.expect("bind METRICS_BIND")),
            None => None,
        };
        let metrics_addr = metrics.as_ref().map(|m| m.local_addr().expect("metrics addr"));
        tokio::spawn(app.serve_on(listener, metrics, std::future::pending()));
        TestApp {
            base_url: format!("http://{addr}"),
            metrics_addr,
            addr,
            client: reqwest::Client::new(),
            state,
            backend: self.backend,
            _dir: None,
            _pg: None,
        }
    }
}

impl Ws {
    /// The next JSON message or close frame if one arrives within `wait`, else `None` (to prove
    /// that nothing more is sent).
    pub async fn next_within(&mut self, wait: std::time::Duration) -> Option<WsEvent> {
        tokio::time::timeout(wait, self.next()).await.ok()
    }
}

/// The `scorebord` binary of this target directory, built on first use (for tests that need
/// the server as a separate process: logs, crashes).
pub fn server_binary() -> std::path::PathBuf {
    static BUILT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let mut build = std::process::Command::new(cargo);
            // Cargo runs tests with the package's CARGO_MANIFEST_DIR, CARGO_PKG_NAME, … set.
            // Passed on, build scripts that read them (ring's) see other values than at the
            // `cargo test` that built this executable: the build here re-ran them and rebuilt
            // ring, rustls, reqwest and the server (~2 minutes on 2 cores), and the next
            // `cargo test` rebuilt them all again.
            for (name, _) in std::env::vars_os() {
                let name = name.to_string_lossy();
                if name.starts_with("CARGO_PKG_")
                    || matches!(
                        name.as_ref(),
                        "CARGO_MANIFEST_DIR"
                            | "CARGO_MANIFEST_PATH"
                            | "CARGO_CRATE_NAME"
                            | "CARGO_BIN_NAME"
                            | "CARGO_PRIMARY_PACKAGE"
                            | "CARGO_TARGET_TMPDIR"
                            | "CARGO_RUSTC_CURRENT_DIR"
                    )
                {
                    build.env_remove(name.as_ref());
                }
            }
            let status = build
                .args(["build", "--quiet", "-p", "scorebord", "--bin", "scorebord"])
                .status()
                .expect("run cargo build for the server binary");
            assert!(status.success(), "building the scorebord binary failed");
            // The test executable lives in <target>/debug/deps/.
            let exe = std::env::current_exe().expect("test executable");
            let dir = exe.parent().and_then(|d| d.parent()).expect("target profile directory");
            let bin = dir.join("scorebord");
            assert!(bin.exists(), "{} was not built", bin.display());
            bin
        })
        .clone()
}

/// Child processes for the tests that drive real npm clients.
pub mod process {
    use std::io::Read;
    use std::process::{Command, ExitStatus, Stdio};
    use std::time::{Duration, Instant};

    /// A finished child process.
    pub struct Ran {
        /// How it ended.
        pub status: ExitStatus,
        /// Its standard output.
        pub stdout: String,
        /// Its standard error.
        pub stderr: String,
    }

    /// Runs a command to completion (killing it after `limit`), collecting its output.
    pub fn run(mut command: Command, limit: Duration) -> Ran {
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

    /// Fails the test with a clear message when a required tool is not on PATH; `needed_for`
    /// says what needs it.
    pub fn require_tool(tool: &str, needed_for: &str) {
        let found = Command::new(tool)
            .arg("--version")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(found, "`{tool}` is not installed or not on PATH: {needed_for}");
    }
}

/// The real `scorebord` binary running as a child process on a given database, for tests that
/// must kill the server (`kill -9`) and start it again on the same data.
pub struct ServerProcess {
    child: tokio::process::Child,
    /// `http://127.0.0.1:port`
    pub base_url: String,
    /// Where its stdout and stderr go.
    pub log: std::path::PathBuf,
}

impl ServerProcess {
    /// Starts `scorebord serve` on `database_url` with the test secret, no rate limit and
    /// private webhook targets allowed (plus `env`), logging to `log`; returns once `/readyz`
    /// answers 200 (panics with the log after 60 s or if the process exits).
    pub async fn start(database_url: &str, log: &std::path::Path, env: &[(&str, &str)]) -> ServerProcess {
        let bin = server_binary();
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
        let out = std::fs::File::create(log).expect("log file");
        let child = tokio::process::Command::new(bin)
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("JWT_SECRET", SECRET)
            .env("BIND", format!("127.0.0.1:{port}"))
            .env("RATE_LIMIT_POINTS", "1000000")
            .env("RATE_LIMIT_RESTORE_PER_SECOND", "1000000")
            .env("WEBHOOKS_ALLOW_PRIVATE", "true")
            .env("DATABASE_MAX_CONNECTIONS", "8")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null())
            .stdout(out.try_clone().expect("clone log"))
            .stderr(out)
            .kill_on_drop(true)
            .spawn()
            .expect("start the server binary");
        let mut server = ServerProcess { child, base_url: format!("http://127.0.0.1:{port}"), log: log.to_owned() };
        let client = reqwest::Client::new();
        let started = std::time::Instant::now();
        loop {
            let ready = client
                .get(format!("{}/readyz", server.base_url))
                .timeout(std::time::Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("the server exited with {status} before it was ready:\n{}", server.logs());
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "the server was not ready within 60 s:\n{}",
                server.logs()
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Kills the process with SIGKILL (no shutdown code runs) and waits until it is gone.
    pub async fn kill9(mut self) {
        self.child.kill().await.expect("kill -9 the server");
    }

    /// What the process has logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}
