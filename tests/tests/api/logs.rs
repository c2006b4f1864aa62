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
