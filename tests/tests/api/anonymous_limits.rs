//! What a caller without credentials (or with one) may make the server keep: persisted
//! queries, metrics series, open connections and spooled uploads are bounded, and slow
//! clients are cut off.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use scorebord_tests::{TestApp, backend_tests, error_code};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

backend_tests!(
    anonymous_callers_do_not_register_persisted_queries,
    persisted_queries_are_capped_per_organization,
    random_operation_names_add_no_metric_series,
    connections_per_address_are_capped,
    slow_headers_idle_sockets_and_slow_bodies_are_cut_off,
    anonymous_uploads_are_refused_before_the_body
);

fn sha(query: &str) -> String {
    hex::encode(Sha256::digest(query.as_bytes()))
}

async fn post(app: &TestApp, token: Option<&str>, body: Value) -> Value {
    let mut req = app.client.post(format!("{}/graphql", app.base_url)).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap().json().await.unwrap()
}

fn apq(query: Option<&str>, hash: &str) -> Value {
    let ext = json!({"persistedQuery": {"version": 1, "sha256Hash": hash}});
    match query {
        Some(q) => json!({"query": q, "extensions": ext}),
        None => json!({"extensions": ext}),
    }
}

async fn anonymous_callers_do_not_register_persisted_queries(app: &TestApp) {
    let org = app.seed_org("acme").await;
    // Each request used to store ~100 KB for good; now the query runs and nothing is kept.
    let padding = "#".repeat(50_000);
    for i in 0..10 {
        let query = format!("query Anon{i} {{ __typename }}\n{padding}");
        let body = post(app, None, apq(Some(&query), &sha(&query))).await;
        assert_eq!(body["data"]["__typename"], "Query", "the query still runs: {body}");
        let miss = post(app, None, apq(None, &sha(&query))).await;
        assert_eq!(error_code(&miss), "PERSISTED_QUERY_NOT_FOUND", "{miss}");
    }
    let bad_token = post(app, Some("not-a-token"), apq(Some("{ __typename }"), &sha("{ __typename }"))).await;
    assert_eq!(bad_token["data"]["__typename"], "Query", "{bad_token}");
    assert_eq!(app.count_rows("persisted_queries").await, 0);

    // A member registers; anyone who knows the query may then run it by hash.
    let query = "query Viewer { __typename viewer { role } }";
    let reg = post(app, Some(&org.rep_token), apq(Some(query), &sha(query))).await;
    assert_eq!(reg["data"]["viewer"]["role"], "REP", "{reg}");
    assert_eq!(app.count_rows("persisted_queries").await, 1);
    let anon = post(app, None, apq(None, &sha(query))).await;
    // Found by hash (not PERSISTED_QUERY_NOT_FOUND) and run: the non-null `viewer` fails, so
    // `data` is null, as the spec says.
    assert_eq!(
        error_code(&anon),
        "UNAUTHENTICATED",
        "anonymous lookups stay open, the query's own checks hold: {anon}"
    );
    assert!(anon["data"].is_null(), "{anon}");
    let other = app.seed_org("other").await;
    let hit = post(app, Some(&other.admin_token), apq(None, &sha(query))).await;
    assert_eq!(hit["data"]["viewer"]["role"], "ADMIN", "{hit}");
}

async fn persisted_queries_are_capped_per_organization(app: &TestApp) {
    let app = &TestApp::spawn_with(app.backend, |c| {
        c.apq_max_queries_per_organization = 3;
        c.apq_max_bytes_per_organization = 2_000;
    })
    .await;
    let acme = app.seed_org("acme").await;
    let other = app.seed_org("other").await;
    let kept = "query OtherOrg { __typename }";
    post(app, Some(&other.rep_token), apq(Some(kept), &sha(kept))).await;
    let queries: Vec<String> = (0..6).map(|i| format!("query Acme{i} {{ __typename }}")).collect();
    for q in &queries {
        let body = post(app, Some(&acme.rep_token), apq(Some(q), &sha(q))).await;
        assert_eq!(body["data"]["__typename"], "Query", "{body}");
    }
    // Another instance has no copy in memory: what it finds is what the database kept.
    let second = app.second_instance().await;
    for (i, q) in queries.iter().enumerate() {
        let body = post(&second, Some(&acme.rep_token), apq(None, &sha(q))).await;
        if i < 3 {
            assert_eq!(error_code(&body), "PERSISTED_QUERY_NOT_FOUND", "oldest dropped: {i} {body}");
        } else {
            assert_eq!(body["data"]["__typename"], "Query", "newest kept: {i} {body}");
        }
    }
    let body = post(&second, Some(&other.rep_token), apq(None, &sha(kept))).await;
    assert_eq!(body["data"]["__typename"], "Query", "another organization's entries are untouched: {body}");
    assert_eq!(app.count_rows("persisted_queries").await, 4);

    // Bytes count too: two ~900-byte queries do not fit in 2,000 beside what is kept.
    let big: Vec<String> = (0..2).map(|i| format!("query Big{i} {{ __typename }}\n#{}", "x".repeat(900))).collect();
    for q in &big {
        post(app, Some(&acme.rep_token), apq(Some(q), &sha(q))).await;
    }
    // (A fresh instance: the second keeps in memory what it looked up before.)
    let third = app.second_instance().await;
    let body = post(&third, Some(&acme.rep_token), apq(None, &sha(&queries[4]))).await;
    assert_eq!(error_code(&body), "PERSISTED_QUERY_NOT_FOUND", "{body}");
    let body = post(&third, Some(&acme.rep_token), apq(None, &sha(&queries[5]))).await;
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
    for q in &big {
        let body = post(&third, Some(&acme.rep_token), apq(None, &sha(q))).await;
        assert_eq!(body["data"]["__typename"], "Query", "{body}");
    }
    // A single query over the whole allowance is refused with a reason.
    let huge = format!("query Huge {{ __typename }}\n#{}", "x".repeat(2_100));
    let body = post(app, Some(&acme.rep_token), apq(Some(&huge), &sha(&huge))).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("2000 bytes"), "{body}");
}

/// The distinct `operation` label values of the request counter.
async fn operation_labels(app: &TestApp) -> BTreeSet<String> {
    let text = app.client.get(format!("{}/metrics", app.base_url)).send().await.unwrap().text().await.unwrap();
    text.lines()
        .filter(|l| l.starts_with("scorebord_graphql_requests_total{"))
        .filter_map(|l| l.split("operation=\"").nth(1)?.split('"').next().map(str::to_owned))
        .collect()
}

async fn random_operation_names_add_no_metric_series(app: &TestApp) {
    let app = &TestApp::spawn_with(app.backend, |c| c.metrics_operation_labels = 20).await;
    let org = app.seed_org("acme").await;
    app.ok(&org.rep_token, "query Known { __typename }", json!({})).await;
    let before = operation_labels(app).await;
    assert!(before.contains("Known"), "{before:?}");
    for i in 0..500u32 {
        let name = format!("R{}x{i}", rand::random::<u32>());
        let body = match i % 3 {
            // Anonymous, valid: runs, but a name from an unknown caller makes no series.
            0 => post(app, None, json!({"query": format!("query {name} {{ __typename }}")})).await,
            // A member's request that fails validation never ran: no series either.
            1 => post(app, Some(&org.rep_token), json!({"query": format!("query {name} {{ nope }}")})).await,
            // A member's valid operations are labelled, up to the cap.
            _ => post(app, Some(&org.rep_token), json!({"query": format!("query {name} {{ __typename }}")})).await,
        };
        assert!(body.get("data").is_some() || body.get("errors").is_some(), "{body}");
    }
    let after = operation_labels(app).await;
    // At most the cap of names (one is `Known`), plus the fixed `other` and `anonymous`.
    let named: Vec<&String> = after.iter().filter(|n| !["other", "anonymous"].contains(&n.as_str())).collect();
    assert!(named.len() <= 20, "{} named series: {named:?}", named.len());
    assert!(after.len() <= 22, "{after:?} (before: {before:?})");
    assert!(after.contains("other"), "{after:?}");
    // The most recently seen names are kept: `Known`, pushed out by newer names, comes back
    // when it runs again.
    app.ok(&org.rep_token, "query Known { __typename }", json!({})).await;
    let again = operation_labels(app).await;
    assert!(again.contains("Known"), "{again:?}");
    let named = again.iter().filter(|n| !["other", "anonymous"].contains(&n.as_str())).count();
    assert!(named <= 20, "{again:?}");
}

/// A TCP connection to the server from `source` (any 127.0.0.0/8 address works on loopback).
async fn connect_from(server: SocketAddr, source: IpAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(source, 0)).unwrap();
    socket.connect(server).await.unwrap()
}

/// What the server sends until it closes the connection or `wait` passes; `true` when closed.
async fn read_for(stream: &mut TcpStream, wait: Duration) -> (String, bool) {
    let mut out = Vec::new();
    let deadline = Instant::now() + wait;
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&out).into_owned(), true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&out).into_owned(), false),
        }
    }
}

/// One keep-alive request on a raw connection; returns the status line.
async fn healthz_on(stream: &mut TcpStream) -> String {
    stream.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await.unwrap().unwrap();
    String::from_utf8_lossy(&buf[..n]).lines().next().unwrap_or("").to_owned()
}

async fn connections_per_address_are_capped(app: &TestApp) {
    let app = &TestApp::spawn_with(app.backend, |c| c.max_connections_per_address = 8).await;
    let attacker: IpAddr = "127.0.0.2".parse().unwrap();
    let mut idle = Vec::new();
    for _ in 0..8 {
        idle.push(connect_from(app.addr, attacker).await);
    }
    // The ninth from the same address is closed at once, unanswered but for a 503.
    let mut ninth = connect_from(app.addr, attacker).await;
    let _ = ninth.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n").await;
    let (answer, closed) = read_for(&mut ninth, Duration::from_secs(5)).await;
    assert!(closed, "the connection past the cap stays open: {answer:?}");
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 503"), "{answer:?}");
    // Connections already open keep working, and so do other addresses.
    assert_eq!(healthz_on(&mut idle[0]).await, "HTTP/1.1 200 OK");
    let resp = app.client.get(format!("{}/healthz", app.base_url)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    // A closed connection frees its place.
    drop(idle.pop());
    let started = Instant::now();
    loop {
        let mut again = connect_from(app.addr, attacker).await;
        let _ = again.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n").await;
        let (answer, _) = read_for(&mut again, Duration::from_millis(500)).await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "no place came free: {answer:?}");
    }
    let text = app.client.get(format!("{}/metrics", app.base_url)).send().await.unwrap().text().await.unwrap();
    assert!(text.contains(r#"scorebord_connections_refused_total{reason="address"}"#), "{text}");
}

async fn slow_headers_idle_sockets_and_slow_bodies_are_cut_off(app: &TestApp) {
    let app = &TestApp::spawn_with(app.backend, |c| {
        c.header_read_timeout_ms = 500;
        c.body_read_timeout_ms = 500;
    })
    .await;
    let local: IpAddr = "127.0.0.1".parse().unwrap();
    // Half a header.
    let started = Instant::now();
    let mut half = connect_from(app.addr, local).await;
    half.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n").await.unwrap();
    let (answer, closed) = read_for(&mut half, Duration::from_secs(5)).await;
    assert!(closed, "a connection that never finishes its header stays open");
    assert!(!answer.contains("200 OK"), "{answer:?}");
    assert!(started.elapsed() >= Duration::from_millis(400), "closed before the timeout: {:?}", started.elapsed());
    // A socket that sends nothing, and a keep-alive connection idle after its response.
    let mut silent = connect_from(app.addr, local).await;
    let (_, closed) = read_for(&mut silent, Duration::from_secs(5)).await;
    assert!(closed, "an idle socket stays open");
    let mut kept = connect_from(app.addr, local).await;
    assert_eq!(healthz_on(&mut kept).await, "HTTP/1.1 200 OK");
    let (_, closed) = read_for(&mut kept, Duration::from_secs(5)).await;
    assert!(closed, "an idle keep-alive connection stays open");
    // A body that stops halfway fails with 408.
    let mut slow = connect_from(app.addr, local).await;
    slow.write_all(b"POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"query\":")
        .await
        .unwrap();
    let (answer, _) = read_for(&mut slow, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    // Prompt clients are unaffected.
    let resp = app.client.get(format!("{}/healthz", app.base_url)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}

async fn anonymous_uploads_are_refused_before_the_body(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let local: IpAddr = "127.0.0.1".parse().unwrap();
    let head = |auth: &str| {
        format!(
            "POST /graphql HTTP/1.1\r\nhost: x\r\n{auth}content-type: multipart/form-data; boundary=XYZ\r\ncontent-length: 8000000\r\n\r\n--XYZ\r\ncontent-disposition: form-data; name=\"operations\"\r\n\r\n"
        )
    };
    // 8 MB declared, a few bytes sent: the answer comes without the rest.
    for auth in ["", "authorization: Bearer not-a-token\r\n"] {
        let mut upload = connect_from(app.addr, local).await;
        upload.write_all(head(auth).as_bytes()).await.unwrap();
        let (answer, _) = read_for(&mut upload, Duration::from_secs(5)).await;
        assert!(answer.starts_with("HTTP/1.1 401"), "{auth:?}: {answer:?}");
        assert!(answer.contains("UNAUTHENTICATED"), "{answer:?}");
    }
    // A member's upload is read (the server waits for the file), within the size limit.
    let member = format!("authorization: Bearer {}\r\n", org.admin_token);
    let mut upload = connect_from(app.addr, local).await;
    upload.write_all(head(&member).as_bytes()).await.unwrap();
    let (answer, closed) = read_for(&mut upload, Duration::from_secs(1)).await;
    assert!(answer.is_empty() && !closed, "a member's upload is read: {answer:?}");
    let over = app.state.config.upload_limit_bytes + 1;
    let mut upload = connect_from(app.addr, local).await;
    upload.write_all(head(&member).replace("8000000", &over.to_string()).as_bytes()).await.unwrap();
    let (answer, _) = read_for(&mut upload, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");
}
