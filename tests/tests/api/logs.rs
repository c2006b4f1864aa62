//! Secrets never reach the logs: a real server process at RUST_LOG=debug (JSON lines, as
//! shipped to log collectors) sees a login, a wrong password, token refresh, API-key and
//! webhook creation and use; its captured output must contain none of the secrets.

use std::time::Duration;

use serde_json::{Value, json};

const JWT_SECRET: &str = "log-test-signing-secret-0123456789";

async fn gql(client: &reqwest::Client, base: &str, token: Option<&str>, query: &str, variables: Value) -> Value {
    let mut req = client.post(format!("{base}/graphql")).json(&json!({"query": query, "variables": variables}));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.expect("request").json().await.expect("JSON")
}

#[tokio::test]
async fn secrets_never_appear_in_logs() {
    let bin = scorebord_tests::server_binary();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("logs.db").display());
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let base = format!("http://127.0.0.1:{port}");
    let envs = [
        ("DATABASE_URL", db.as_str()),
        ("JWT_SECRET", JWT_SECRET),
        ("RUST_LOG", "debug"),
        ("LOG_FORMAT", "json"),
        ("WEBHOOKS_ALLOW_PRIVATE", "true"),
    ];
    // The CLI prints the initial password on stdout (that is its job); it must not log it.
    let created = std::process::Command::new(&bin)
        .args(["org", "create", "--name", "Logs B.V.", "--slug", "logs", "--admin-email", "admin@logs.test"])
        .envs(envs)
        .output()
        .expect("org create");
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let stdout = String::from_utf8_lossy(&created.stdout);
    let password = stdout.split("initial password: ").nth(1).expect("password printed").trim().to_owned();
    let mut logs = String::from_utf8_lossy(&created.stderr).into_owned();

    let log_file = dir.path().join("server.log");
    let out = std::fs::File::create(&log_file).expect("log file");
    let mut server = tokio::process::Command::new(&bin)
        .arg("serve")
        .envs(envs)
        .env("BIND", format!("127.0.0.1:{port}"))
        .stdout(out.try_clone().expect("clone"))
        .stderr(out)
        .kill_on_drop(true)
        .spawn()
        .expect("start server");
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let login = "mutation($p: String!) { login(input: {organizationSlug: \"logs\", email: \"admin@logs.test\", password: $p}) { accessToken refreshToken } }";
    let wrong = "Wrong-Horse-Battery-Staple-42";
    let refused = gql(&client, &base, None, login, json!({"p": wrong})).await;
    assert!(refused.get("errors").is_some(), "{refused}");
    let ok = gql(&client, &base, None, login, json!({"p": password})).await;
    let access = ok["data"]["login"]["accessToken"].as_str().expect("access token").to_owned();
    let refresh = ok["data"]["login"]["refreshToken"].as_str().expect("refresh token").to_owned();
    let refreshed = gql(
        &client,
        &base,
        None,
        "mutation($r: String!) { refreshToken(input: {refreshToken: $r}) { accessToken refreshToken } }",
        json!({"r": refresh}),
    )
    .await;
    let access2 = refreshed["data"]["refreshToken"]["accessToken"].as_str().expect("refreshed").to_owned();
    let refresh2 = refreshed["data"]["refreshToken"]["refreshToken"].as_str().expect("refreshed").to_owned();
    // Reusing the spent refresh token is refused.
    let reused = gql(
        &client,
        &base,
        None,
        "mutation($r: String!) { refreshToken(input: {refreshToken: $r}) { accessToken } }",
        json!({"r": refresh}),
    )
    .await;
    assert!(reused.get("errors").is_some(), "{reused}");
    let key = gql(
        &client,
        &base,
        Some(&access2),
        "mutation { createApiKey(input: {name: \"BI\", scopes: [\"org:read\"]}) { secret userErrors { message } } }",
        json!({}),
    )
    .await;
    let api_key = key["data"]["createApiKey"]["secret"].as_str().expect("key secret").to_owned();
    let viewer = gql(&client, &base, Some(&api_key), "{ organization { name } }", json!({})).await;
    assert_eq!(viewer["data"]["organization"]["name"], "Logs B.V.", "{viewer}");
    let hook = gql(
        &client,
        &base,
        Some(&access2),
        "mutation { createWebhook(input: {url: \"http://127.0.0.1:9/hook\", events: [\"activity.logged\"]}) { signingSecret userErrors { message } } }",
        json!({}),
    )
    .await;
    let signing = hook["data"]["createWebhook"]["signingSecret"].as_str().expect("signing secret").to_owned();
    // A bad token and a garbage one.
    let bad = gql(&client, &base, Some(&format!("{access}x")), "{ viewer { role } }", json!({})).await;
    assert!(bad.get("errors").is_some());

    server.kill().await.expect("stop server");
    logs.push_str(&std::fs::read_to_string(&log_file).expect("read logs"));
    assert!(logs.lines().count() >= 3, "the server logged almost nothing at debug: {logs}");
    for (what, secret) in [
        ("password", password.as_str()),
        ("wrong password", wrong),
        ("access token", access.as_str()),
        ("refreshed access token", access2.as_str()),
        ("refresh token", refresh.as_str()),
        ("second refresh token", refresh2.as_str()),
        ("API key", api_key.as_str()),
        ("webhook signing secret", signing.as_str()),
        ("JWT secret", JWT_SECRET),
    ] {
        assert!(!logs.contains(secret), "the {what} appears in the logs:\n{logs}");
    }
}

/// Creates the organization `slug` with the CLI on `db` and signs its admin in on `base`;
/// returns the admin's access token.
async fn admin_token(db: &str, base: &str, slug: &str) -> String {
    let created = std::process::Command::new(scorebord_tests::server_binary())
        .args(["org", "create", "--name", "Lines B.V.", "--slug", slug, "--admin-email", "admin@lines.test"])
        .env("DATABASE_URL", db)
        .env("JWT_SECRET", scorebord_tests::SECRET)
        .output()
        .expect("org create");
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let stdout = String::from_utf8_lossy(&created.stdout);
    let password = stdout.split("initial password: ").nth(1).expect("password printed").trim().to_owned();
    let login = format!(
        "mutation($p: String!) {{ login(input: {{organizationSlug: \"{slug}\", email: \"admin@lines.test\", password: $p}}) {{ accessToken }} }}"
    );
    let body = gql(&reqwest::Client::new(), base, None, &login, json!({"p": password})).await;
    body["data"]["login"]["accessToken"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
}

/// The JSON log lines of a server's output.
fn json_lines(logs: &str) -> Vec<Value> {
    logs.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).collect()
}

/// One INFO line per request names method, path, operation, organization, principal kind,
/// status, duration and cost, inside a span carrying the request ID; the ID of an INTERNAL
/// error is in the response and on the logged cause.
#[tokio::test]
async fn one_log_line_per_request_with_its_id() {
    use sea_orm::ConnectionTrait as _;
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("lines.db").display());
    let log = dir.path().join("server.log");
    let server =
        scorebord_tests::ServerProcess::start(&db, &log, &[("LOG_FORMAT", "json"), ("RUST_LOG", "info")]).await;
    let base = server.base_url.clone();
    let client = reqwest::Client::new();
    let token = admin_token(&db, &base, "lines").await;
    let send = |id: &'static str, token: Option<&str>, query: &'static str| {
        let mut req = client.post(format!("{base}/graphql")).header("x-request-id", id).json(&json!({"query": query}));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    let member = send("line-member-1", Some(&token), "query LineOp { viewer { role } }").await.expect("request");
    assert_eq!(member.headers()["x-request-id"], "line-member-1");
    send("line-anonymous-2", None, "{ __typename }").await.expect("request");
    let missing = client.get(format!("{base}/nope")).header("x-request-id", "line-404").send().await.expect("404");
    assert_eq!(missing.status(), 404);
    // A table disappears under the server: the next read of it is an INTERNAL error.
    let conn = sea_orm::Database::connect(&db).await.expect("open the database");
    conn.execute_unprepared("ALTER TABLE webhooks RENAME TO webhooks_gone").await.expect("rename");
    let failed = send("line-internal-3", Some(&token), "query Hooks { webhooks { id } }").await.expect("request");
    let body: Value = failed.json().await.expect("JSON");
    assert_eq!(body["errors"][0]["extensions"]["code"], "INTERNAL", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["requestId"], "line-internal-3", "{body}");
    conn.execute_unprepared("ALTER TABLE webhooks_gone RENAME TO webhooks").await.expect("rename back");

    let mut lines = Vec::new();
    for _ in 0..100 {
        lines = json_lines(&std::fs::read_to_string(&log).unwrap_or_default());
        let finished = lines.iter().filter(|l| l["fields"]["message"] == "request finished").count();
        if finished >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let logs = std::fs::read_to_string(&log).unwrap_or_default();
    let finished = |id: &str| {
        lines
            .iter()
            .find(|l| l["fields"]["message"] == "request finished" && l["span"]["request_id"] == id)
            .unwrap_or_else(|| panic!("no request line for {id} in\n{logs}"))
            .clone()
    };
    let line = finished("line-member-1");
    assert_eq!(line["level"], "INFO", "{line}");
    let f = &line["fields"];
    assert_eq!(f["method"], "POST", "{line}");
    assert_eq!(f["path"], "/graphql", "{line}");
    assert_eq!(f["operation"], "LineOp", "{line}");
    assert_eq!(f["principal"], "member", "{line}");
    assert_eq!(f["status"], 200, "{line}");
    assert!(f["duration_ms"].as_f64().is_some_and(|d| d >= 0.0), "{line}");
    assert!(f["cost"].as_u64().is_some_and(|c| c >= 1), "{line}");
    assert!(uuid::Uuid::parse_str(f["organization_id"].as_str().unwrap_or("")).is_ok(), "{line}");
    let anonymous = finished("line-anonymous-2");
    assert_eq!(anonymous["fields"]["principal"], "anonymous", "{anonymous}");
    assert_eq!(anonymous["fields"]["organization_id"], "", "{anonymous}");
    let not_found = finished("line-404");
    assert_eq!(not_found["fields"]["status"], 404, "{not_found}");
    assert_eq!(not_found["fields"]["method"], "GET", "{not_found}");
    let internal = finished("line-internal-3");
    assert_eq!(internal["fields"]["operation"], "Hooks", "{internal}");
    // The cause is logged once, in the failing request's span.
    let cause = lines
        .iter()
        .find(|l| l["level"] == "ERROR" && l["span"]["request_id"] == "line-internal-3")
        .unwrap_or_else(|| panic!("the INTERNAL error's cause is not logged with its request ID:\n{logs}"));
    assert!(cause.to_string().contains("webhooks"), "{cause}");
    server.kill9().await;
}

/// With `OTEL_EXPORTER_OTLP_ENDPOINT`, the request span is exported over OTLP/HTTP (protobuf)
/// to `/v1/traces`, as a child of the caller's `traceparent`, from service `scorebord`.
#[tokio::test]
async fn spans_are_exported_over_otlp_in_the_callers_trace() {
    use std::sync::{Arc, Mutex};
    // (content type, body) of each export received.
    type Exports = Arc<Mutex<Vec<(String, Vec<u8>)>>>;
    let received: Exports = Arc::default();
    let seen = received.clone();
    let receiver = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let seen = seen.clone();
            async move {
                let kind = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                seen.lock().unwrap().push((kind, body.to_vec()));
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("otel.db").display());
    let log = dir.path().join("server.log");
    let env =
        [("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()), ("OTEL_BSP_SCHEDULE_DELAY", "100"), ("RUST_LOG", "info")];
    let server = scorebord_tests::ServerProcess::start(&db, &log, &env).await;
    let trace = "0af7651916cd43dd8448eb211c80319c";
    let resp = reqwest::Client::new()
        .post(format!("{}/graphql", server.base_url))
        .header("traceparent", format!("00-{trace}-b7ad6b7169203331-01"))
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.headers()["x-request-id"], trace);
    let trace_bytes = hex::decode(trace).expect("hex");
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    let mut found = None;
    for _ in 0..300 {
        found = received.lock().unwrap().iter().find(|(_, body)| contains(body, &trace_bytes)).cloned();
        if found.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (kind, body) = found.unwrap_or_else(|| {
        panic!(
            "no exported span carries trace {trace} within 15 s ({} exports received); server log:\n{}",
            received.lock().unwrap().len(),
            server.logs()
        )
    });
    assert_eq!(kind, "application/x-protobuf");
    assert!(contains(&body, b"scorebord"), "the service name is not in the export");
    assert!(contains(&body, b"request"), "the request span is not in the export");
    // The caller's span is the parent: its ID is in the export too.
    assert!(contains(&body, &hex::decode("b7ad6b7169203331").expect("hex")), "no parent span ID");
    server.kill9().await;
}

/// Operations settings that cannot work stop the server before it serves, naming the setting.
#[test]
fn bad_operations_settings_stop_startup() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("bad.db").display());
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let taken = taken.local_addr().expect("addr").to_string();
    for (var, value) in [
        ("METRICS_BIND", "not-an-address"),
        ("METRICS_BIND", "localhost:9464"),
        ("METRICS_BIND", taken.as_str()),
        ("CORS_ORIGINS", "https://*.*.client.example"),
        ("CORS_ORIGINS", "https://a*.client.example"),
        ("CORS_ALLOWED_HEADERS", "bad header"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
    ] {
        let mut command = std::process::Command::new(scorebord_tests::server_binary());
        command
            .arg("serve")
            .env("DATABASE_URL", &db)
            .env("JWT_SECRET", scorebord_tests::SECRET)
            .env("BIND", "127.0.0.1:0")
            .env(var, value);
        let ran = scorebord_tests::process::run(command, Duration::from_secs(60));
        assert!(!ran.status.success(), "{var}={value} was accepted");
        assert!(ran.stderr.contains(var), "{var}={value}: the message does not name the setting:\n{}", ran.stderr);
    }
}
