//! Operations: the `operation` metrics label, process and build metrics, `/metrics` on its own
//! listener, request IDs, CORS for browser clients (Apollo, tracing headers, wildcard origins),
//! and a few defects found by users (built-in KPI edits, the legacy protocol's terminate).

use std::collections::BTreeSet;

use scorebord_tests::{TestApp, WsEvent, backend_tests, error_code};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

backend_tests!(
    operation_label_admits_only_valid_known_operations,
    operation_labels_keep_the_most_recent,
    process_build_and_webhook_metrics_are_exposed,
    metrics_bind_moves_metrics_off_the_api_port,
    request_ids_on_every_response,
    internal_errors_carry_the_request_id,
    cors_preflight_allows_apollo_and_wildcard_origins,
    built_in_kpi_edits_are_user_errors,
    legacy_connection_terminate_closes_normally,
);

async fn post(app: &TestApp, token: Option<&str>, body: Value) -> Value {
    let mut req = app.client.post(format!("{}/graphql", app.base_url)).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap().json().await.unwrap()
}

async fn metrics_text(app: &TestApp) -> String {
    app.client.get(format!("{}/metrics", app.base_url)).send().await.unwrap().text().await.unwrap()
}

/// The distinct `operation` label values of the request counter.
async fn operation_labels(app: &TestApp) -> BTreeSet<String> {
    metrics_text(app)
        .await
        .lines()
        .filter(|l| l.starts_with("scorebord_graphql_requests_total{"))
        .filter_map(|l| l.split("operation=\"").nth(1)?.split('"').next().map(str::to_owned))
        .collect()
}

async fn api_key(app: &TestApp, admin: &str) -> String {
    let key = app
        .ok(
            admin,
            "mutation { createApiKey(input: {name: \"BI\", scopes: [\"org:read\"]}) { secret userErrors { message } } }",
            json!({}),
        )
        .await;
    key["createApiKey"]["secret"].as_str().expect("key secret").to_owned()
}

async fn operation_label_admits_only_valid_known_operations(app: &TestApp) {
    let org = app.seed_org("acme").await;
    // Anonymous, valid and executed: not admitted.
    let body = post(app, None, json!({"query": "query AnonName { __typename }"})).await;
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
    // A member's request that fails validation: never executed, not admitted.
    let body = post(app, Some(&org.rep_token), json!({"query": "query InvalidName { nope }"})).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    // A member's request whose operationName names no operation of the document.
    let body =
        post(app, Some(&org.rep_token), json!({"query": "query Real { __typename }", "operationName": "Missing"}))
            .await;
    assert!(body.get("errors").is_some(), "{body}");
    // A bad token is anonymous too.
    post(app, Some("not-a-token"), json!({"query": "query BadTokenName { __typename }"})).await;
    let labels = operation_labels(app).await;
    for never in ["AnonName", "InvalidName", "Missing", "BadTokenName"] {
        assert!(!labels.contains(never), "{never} became a label: {labels:?}");
    }
    assert!(labels.contains("other"), "{labels:?}");
    // Members' and API keys' valid operations are admitted.
    app.ok(&org.rep_token, "query MemberOp { __typename }", json!({})).await;
    let key = api_key(app, &org.admin_token).await;
    let body = post(app, Some(&key), json!({"query": "query KeyOp { organization { name } }"})).await;
    assert!(body.get("errors").is_none(), "{body}");
    // A persisted operation keeps its name even when an anonymous caller runs it by hash.
    let persisted = "query PersistedOp { __typename }";
    let hash = hex::encode(Sha256::digest(persisted.as_bytes()));
    let ext = json!({"persistedQuery": {"version": 1, "sha256Hash": hash}});
    let registered = post(app, Some(&org.rep_token), json!({"query": persisted, "extensions": ext})).await;
    assert!(registered.get("errors").is_none(), "{registered}");
    let labels = operation_labels(app).await;
    for admitted in ["MemberOp", "KeyOp", "PersistedOp"] {
        assert!(labels.contains(admitted), "{admitted} missing: {labels:?}");
    }
    let before = metrics_text(app).await;
    let count = |text: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(r#"scorebord_graphql_requests_total{operation="PersistedOp",outcome="ok"}"#))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or(0.0)
    };
    let by_hash = post(app, None, json!({"extensions": ext})).await;
    assert_eq!(by_hash["data"]["__typename"], "Query", "{by_hash}");
    assert_eq!(count(&metrics_text(app).await), count(&before) + 1.0);
}

async fn operation_labels_keep_the_most_recent(app: &TestApp) {
    let app = &TestApp::spawn_with(app.backend, |c| c.metrics_operation_labels = 2).await;
    let org = app.seed_org("acme").await;
    app.ok(&org.rep_token, "query First { __typename }", json!({})).await;
    app.ok(&org.rep_token, "query Second { __typename }", json!({})).await;
    app.ok(&org.rep_token, "query First { __typename }", json!({})).await;
    // A third name pushes out the least recently seen (Second), series and all.
    app.ok(&org.rep_token, "query Third { __typename }", json!({})).await;
    let labels = operation_labels(app).await;
    assert!(labels.contains("First") && labels.contains("Third"), "{labels:?}");
    assert!(!labels.contains("Second"), "{labels:?}");
    let named = labels.iter().filter(|n| !["other", "anonymous"].contains(&n.as_str())).count();
    assert!(named <= 2, "{labels:?}");
    // Many random names from an authenticated caller still make at most the cap.
    for i in 0..50 {
        app.ok(&org.rep_token, &format!("query Rnd{i} {{ __typename }}"), json!({})).await;
    }
    let labels = operation_labels(app).await;
    let named = labels.iter().filter(|n| !["other", "anonymous"].contains(&n.as_str())).count();
    assert!(named <= 2, "{labels:?}");
}

async fn process_build_and_webhook_metrics_are_exposed(app: &TestApp) {
    let text = metrics_text(app).await;
    for name in [
        "process_cpu_seconds_total ",
        "process_resident_memory_bytes ",
        "process_open_fds ",
        "process_start_time_seconds ",
        "process_threads ",
        "scorebord_webhook_deliveries_pending 0",
        "scorebord_webhook_delivery_latency_seconds_count 0",
        "scorebord_webhook_request_duration_seconds_count 0",
    ] {
        assert!(text.lines().any(|l| l.starts_with(name)), "no {name:?} in {text}");
    }
    let build = text.lines().find(|l| l.starts_with("scorebord_build_info{")).unwrap_or_else(|| panic!("{text}"));
    assert!(build.contains(&format!("version=\"{}\"", env!("CARGO_PKG_VERSION"))), "{build}");
    assert!(build.ends_with(" 1"), "{build}");
    let fds: f64 = text
        .lines()
        .find(|l| l.starts_with("process_open_fds "))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap();
    assert!(fds > 0.0, "{text}");
}

async fn metrics_bind_moves_metrics_off_the_api_port(app: &TestApp) {
    // Unset (the default): /metrics on the API port, as before.
    let open = app.client.get(format!("{}/metrics", app.base_url)).send().await.unwrap();
    assert_eq!(open.status(), 200);
    let app = &TestApp::spawn_with(app.backend, |c| c.metrics_bind = Some(([127, 0, 0, 1], 0).into())).await;
    let org = app.seed_org("acme").await;
    app.ok(&org.rep_token, "query Viewer { viewer { role } }", json!({})).await;
    let hidden = app.client.get(format!("{}/metrics", app.base_url)).send().await.unwrap();
    assert_eq!(hidden.status(), 404);
    assert!(hidden.headers().contains_key("x-request-id"));
    let metrics_addr = app.metrics_addr.expect("metrics listener");
    assert_ne!(metrics_addr, app.addr);
    let resp = app.client.get(format!("http://{metrics_addr}/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert!(text.contains(r#"scorebord_graphql_requests_total{operation="Viewer",outcome="ok"} 1"#), "{text}");
    // The metrics listener serves nothing else.
    let api = app.client.post(format!("http://{metrics_addr}/graphql")).json(&json!({"query": "{ __typename }"}));
    assert_eq!(api.send().await.unwrap().status(), 404);
    // A METRICS_BIND equal to BIND is refused before anything starts.
    let mut config = scorebord::Config::for_database("sqlite::memory:", "s");
    config.bind = ([127, 0, 0, 1], 18080).into();
    config.metrics_bind = Some(([127, 0, 0, 1], 18080).into());
    let err = scorebord::App::build(config).await.err().expect("refused");
    assert!(err.to_string().contains("METRICS_BIND"), "{err}");
}

fn header<'a>(resp: &'a reqwest::Response, name: &str) -> &'a str {
    resp.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("no {name} on {resp:?}"))
}

async fn request_ids_on_every_response(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let graphql = format!("{}/graphql", app.base_url);
    // The client's ID comes back.
    let resp = app
        .client
        .post(&graphql)
        .bearer_auth(&org.rep_token)
        .header("x-request-id", "client-chosen-42")
        .json(&json!({"query": "{ viewer { role } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&resp, "x-request-id"), "client-chosen-42");
    // Without one, a new UUIDv7 is made; two requests get two IDs.
    let a = app.client.get(format!("{}/healthz", app.base_url)).send().await.unwrap();
    let b = app.client.get(format!("{}/healthz", app.base_url)).send().await.unwrap();
    let (a, b) = (header(&a, "x-request-id").to_owned(), header(&b, "x-request-id").to_owned());
    assert_ne!(a, b);
    assert_eq!(uuid::Uuid::parse_str(&a).unwrap().get_version_num(), 7, "{a}");
    // A traceparent's trace ID is used when no valid X-Request-Id is sent.
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let resp = app
        .client
        .get(format!("{}/healthz", app.base_url))
        .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"))
        .header("x-request-id", "x".repeat(129))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&resp, "x-request-id"), trace);
    // A hostile ID (too long, control characters) is replaced, never echoed.
    let hostile = [
        reqwest::header::HeaderValue::from_str(&"y".repeat(500)).unwrap(),
        reqwest::header::HeaderValue::from_static("a\tb"),
        reqwest::header::HeaderValue::from_bytes("café".as_bytes()).unwrap(),
    ];
    for bad in hostile {
        let resp = app.client.get(format!("{}/healthz", app.base_url)).header("x-request-id", bad.clone());
        let resp = resp.send().await.unwrap();
        let id = header(&resp, "x-request-id");
        assert_ne!(id.as_bytes(), bad.as_bytes());
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    }
    // Errors carry it too: 404, 400, 415.
    let not_found = app.client.get(format!("{}/nope", app.base_url)).send().await.unwrap();
    assert_eq!(not_found.status(), 404);
    header(&not_found, "x-request-id");
    let bad_json = app.client.post(&graphql).header("content-type", "application/json").body("{").send().await.unwrap();
    assert_eq!(bad_json.status(), 400);
    header(&bad_json, "x-request-id");
    let media = app.client.post(&graphql).header("content-type", "text/plain").body("{}").send().await.unwrap();
    assert_eq!(media.status(), 415);
    header(&media, "x-request-id");
    // The WebSocket upgrade's 101 carries it.
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let mut request = format!("ws://{}/graphql", app.addr).into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
    request.headers_mut().insert("x-request-id", "socket-7".parse().unwrap());
    let (_socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.headers().get("x-request-id").unwrap(), "socket-7");
}

async fn internal_errors_carry_the_request_id(app: &TestApp) {
    use sea_orm::ConnectionTrait as _;
    let org = app.seed_org("acme").await;
    // The database loses a table under the server: reading webhooks fails inside the resolver.
    app.state.db.execute_unprepared("ALTER TABLE webhooks RENAME TO webhooks_gone").await.unwrap();
    let resp = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .bearer_auth(&org.admin_token)
        .header("x-request-id", "trace-me-123")
        .json(&json!({"query": "{ webhooks { id } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&resp, "x-request-id"), "trace-me-123");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(error_code(&body), "INTERNAL", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["requestId"], "trace-me-123", "{body}");
    let text = body.to_string();
    assert!(!text.contains("webhooks_gone") && !text.to_lowercase().contains("no such table"), "{text}");
    // Other errors do not get it.
    let body = post(app, None, json!({"query": "{ viewer { role } }"})).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    assert!(body["errors"][0]["extensions"].get("requestId").is_none(), "{body}");
    app.state.db.execute_unprepared("ALTER TABLE webhooks_gone RENAME TO webhooks").await.unwrap();
}

async fn preflight(app: &TestApp, origin: &str, headers: &str) -> reqwest::Response {
    app.client
        .request(reqwest::Method::OPTIONS, format!("{}/graphql", app.base_url))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", headers)
        .send()
        .await
        .unwrap()
}

async fn cors_preflight_allows_apollo_and_wildcard_origins(app: &TestApp) {
    let app = &TestApp::spawn_with(app.backend, |c| {
        c.cors_origins = vec!["https://*.client.example".into(), "https://app.example".into()];
    })
    .await;
    let apollo = "authorization,content-type,apollographql-client-name,apollographql-client-version,traceparent,tracestate,x-request-id,apollo-require-preflight";
    for origin in ["https://acme.client.example", "https://app.example"] {
        let resp = preflight(app, origin, apollo).await;
        assert!(resp.status().is_success(), "{origin}: {}", resp.status());
        assert_eq!(header(&resp, "access-control-allow-origin"), origin);
        let allowed = header(&resp, "access-control-allow-headers").to_ascii_lowercase();
        for h in apollo.split(',') {
            assert!(allowed.contains(h), "{h} not in {allowed}");
        }
    }
    for origin in [
        "https://client.example",
        "https://a.b.client.example",
        "https://a.client.example.evil.com",
        "http://a.client.example",
        "https://a.client.example:8443",
        "https://evil.example",
    ] {
        let resp = preflight(app, origin, "content-type").await;
        assert!(resp.headers().get("access-control-allow-origin").is_none(), "{origin} was allowed");
    }
    // The actual request exposes the request ID to the page.
    let resp = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .header("Origin", "https://acme.client.example")
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&resp, "access-control-allow-origin"), "https://acme.client.example");
    assert!(header(&resp, "access-control-expose-headers").to_ascii_lowercase().contains("x-request-id"));
    // A configured header list replaces the default.
    let narrow = TestApp::spawn_with(app.backend, |c| {
        c.cors_origins = vec!["https://app.example".into()];
        c.cors_allowed_headers = vec!["authorization".into(), "x-custom".into()];
    })
    .await;
    let resp = preflight(&narrow, "https://app.example", "x-custom").await;
    let allowed = header(&resp, "access-control-allow-headers").to_ascii_lowercase();
    assert!(allowed.contains("x-custom") && !allowed.contains("traceparent"), "{allowed}");
    // Bad patterns stop startup.
    for bad in ["https://*.*.client.example", "https://a*.client.example", "https://client.*"] {
        let mut config = scorebord::Config::for_database("sqlite::memory:", "s");
        config.cors_origins = vec![bad.into()];
        let err = scorebord::App::build(config).await.err().unwrap_or_else(|| panic!("{bad} was accepted"));
        assert!(err.to_string().contains("CORS_ORIGINS"), "{err}");
    }
}

async fn built_in_kpi_edits_are_user_errors(app: &TestApp) {
    let org = app.seed_org("acme").await;
    // Archiving a built-in is a user error that says what can be changed instead.
    let body = post(
        app,
        Some(&org.admin_token),
        json!({"query": "mutation { archiveKpi(input: {key: \"new_leads\"}) { kpi { key } userErrors { field message code } } }"}),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");
    let errors = &body["data"]["archiveKpi"]["userErrors"];
    assert_eq!(errors[0]["code"], "BUILT_IN", "{body}");
    assert!(errors[0]["field"].as_array().unwrap().iter().any(|f| f == "key"), "{body}");
    let message = errors[0]["message"].as_str().unwrap();
    assert!(
        message.contains("built-in") && message.contains("createKpi") && message.contains("setKpiTarget"),
        "{message}"
    );
    let body = post(
        app,
        Some(&org.admin_token),
        json!({"query": "mutation { archiveKpi(input: {key: \"revenue\"}) { kpi { key } userErrors { message code } } }"}),
    )
    .await;
    assert_eq!(body["data"]["archiveKpi"]["userErrors"][0]["code"], "BUILT_IN", "{body}");
    // The built-in is untouched; an unknown key is still NOT_FOUND; a rep is still refused.
    let kpis = app.ok(&org.admin_token, "{ kpis { key name active } }", json!({})).await;
    let leads = kpis["kpis"].as_array().unwrap().iter().find(|k| k["key"] == "new_leads").cloned().unwrap();
    assert_eq!(leads["name"], "New leads", "{leads}");
    let body = post(
        app,
        Some(&org.admin_token),
        json!({"query": "mutation { updateKpi(input: {key: \"no_such_kpi\", name: \"X\"}) { kpi { key } } }"}),
    )
    .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    let body = post(
        app,
        Some(&org.rep_token),
        json!({"query": "mutation { updateKpi(input: {key: \"new_leads\", name: \"X\"}) { kpi { key } } }"}),
    )
    .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
}

async fn legacy_connection_terminate_closes_normally(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let mut ws = app.ws("graphql-ws").await;
    ws.send(json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {}", org.rep_token)}}))
        .await;
    assert_eq!(ws.next_json().await["type"], "connection_ack");
    ws.send(json!({"type": "connection_terminate"})).await;
    loop {
        match ws.next().await {
            WsEvent::Closed(code, _) => {
                assert_eq!(code, 1000, "a terminated legacy connection closes normally");
                break;
            }
            WsEvent::Json(msg) => assert_eq!(msg["type"], "ka", "unexpected {msg}"),
        }
    }
}
