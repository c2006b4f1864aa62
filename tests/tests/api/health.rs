use scorebord_tests::{TestApp, backend_tests, error_code};
use serde_json::json;

backend_tests!(
    health_and_readiness,
    metrics_exposition,
    graphiql_on_get,
    body_limit,
    cors_from_configured_origins,
    security_headers_on_every_response
);

async fn security_headers_on_every_response(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let post = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .bearer_auth(&org.rep_token)
        .json(&json!({"query": "{ viewer { role } }"}))
        .send()
        .await
        .unwrap();
    let get = app.client.get(format!("{}/graphql", app.base_url)).send().await.unwrap();
    let health = app.client.get(format!("{}/healthz", app.base_url)).send().await.unwrap();
    let refused = app.client.post(format!("{}/graphql", app.base_url)).body("not json").send().await.unwrap();
    for resp in [&post, &get, &health, &refused] {
        let h = resp.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{:?}", resp.url());
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["content-security-policy"], "frame-ancestors 'none'");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert!(h["strict-transport-security"].to_str().unwrap().starts_with("max-age="));
    }
}

async fn health_and_readiness(app: &TestApp) {
    let health = app.client.get(format!("{}/healthz", app.base_url)).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.client.get(format!("{}/readyz", app.base_url)).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.unwrap(), "ready");
}

async fn metrics_exposition(app: &TestApp) {
    let org = app.seed_org("acme").await;
    app.gql(Some(&org.rep_token), "query Viewer { viewer { role } }", json!({})).await;
    let body = app.gql(None, "query Viewer { viewer { role } }", json!({})).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    let text = app.client.get(format!("{}/metrics", app.base_url)).send().await.unwrap().text().await.unwrap();
    assert!(text.contains(r#"scorebord_graphql_requests_total{operation="Viewer",outcome="ok"} 1"#), "{text}");
    assert!(text.contains(r#"scorebord_graphql_requests_total{operation="Viewer",outcome="error"} 1"#), "{text}");
    assert!(text.contains(r#"scorebord_graphql_errors_total{code="UNAUTHENTICATED"} 1"#), "{text}");
    assert!(text.contains("scorebord_graphql_request_duration_seconds_bucket"), "{text}");
    assert!(text.contains("scorebord_websocket_connections 0"), "{text}");
    assert!(text.contains(r#"scorebord_db_pool_connections{state="open"}"#), "{text}");
}

/// GraphiQL for a browser only: a GET with no query from a client that does not prefer HTML
/// is a GraphQL request without a query (see http_spec.rs for the page and its files).
async fn graphiql_on_get(app: &TestApp) {
    let resp = app
        .client
        .get(format!("{}/graphql", app.base_url))
        .header("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.to_lowercase().contains("graphiql"), "GraphiQL page expected");
    let resp = app.client.get(format!("{}/graphql", app.base_url)).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
}

async fn body_limit(app: &TestApp) {
    // The default limit is 1 MiB; a small one here keeps the oversized body inside the socket
    // buffers, so the client always reads the 413 instead of racing the server's close.
    assert_eq!(scorebord::Config::for_database("sqlite::memory:", "s").body_limit_bytes, 1024 * 1024);
    let app = &TestApp::spawn_with(app.backend, |c| c.body_limit_bytes = 4096).await;
    let org = app.seed_org("acme").await;
    let before = app.count_rows("teams").await;
    let huge = "x".repeat(16 * 1024);
    let resp = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .bearer_auth(&org.admin_token)
        .json(&json!({
            "query": "mutation($n: String!) { createTeam(input: {name: $n}) { team { id } } }",
            "variables": {"n": huge}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    assert_eq!(app.count_rows("teams").await, before);
}

async fn cors_from_configured_origins(app: &TestApp) {
    // The default test server allows no origin.
    let resp = app
        .client
        .request(reqwest::Method::OPTIONS, format!("{}/graphql", app.base_url))
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());

    let allowed = TestApp::spawn_with(app.backend, |c| c.cors_origins = vec!["https://app.example".into()]).await;
    let resp = allowed
        .client
        .request(reqwest::Method::OPTIONS, format!("{}/graphql", allowed.base_url))
        .header("Origin", "https://app.example")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "authorization,content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers().get("access-control-allow-origin").unwrap(), "https://app.example");
    let resp = allowed
        .client
        .request(reqwest::Method::OPTIONS, format!("{}/graphql", allowed.base_url))
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
}
