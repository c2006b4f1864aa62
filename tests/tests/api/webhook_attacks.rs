//! Attacks on outgoing webhooks, over HTTP: one organization's dead receiver stalling everyone's
//! deliveries, two instances sending one delivery twice, and webhooks aimed inside the network
//! (special address ranges, other ports, names that resolve to loopback at send time).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use scorebord_tests::{Org, TestApp, backend_tests};
use serde_json::{Value, json};
use uuid::Uuid;

backend_tests!(
    a_receiver_that_never_answers_does_not_delay_another_organization,
    one_host_gets_at_most_its_share_of_senders,
    a_failing_webhook_is_paused_and_its_deliveries_wait,
    two_instances_never_send_a_slow_delivery_twice,
    webhooks_to_special_ranges_and_other_ports_are_refused_when_created,
    a_name_that_resolves_to_loopback_is_refused_at_send_time,
    redirects_are_not_followed,
);

const CREATE_HOOK: &str = "mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { webhook { id } userErrors { field code message } } }";
const PING: &str = "mutation($id: ID!) { testWebhook(input: {id: $id}) { delivery { id } } }";
const DELIVERIES: &str = "query($w: ID) { webhookDeliveries(webhookId: $w, first: 200) { totalCount nodes { id status attempts lastError nextAttemptAt } } }";

/// A receiver that answers every POST after `delay` with `status`, recording each body.
#[derive(Clone)]
struct Receiver {
    bodies: Arc<Mutex<Vec<Value>>>,
    status: Arc<Mutex<u16>>,
    url: String,
    port: u16,
}

impl Receiver {
    async fn start(delay: Duration) -> Receiver {
        let bodies: Arc<Mutex<Vec<Value>>> = Arc::default();
        let status = Arc::new(Mutex::new(200u16));
        let (b, s) = (bodies.clone(), status.clone());
        let router = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |body: String| {
                let (b, s) = (b.clone(), s.clone());
                async move {
                    tokio::time::sleep(delay).await;
                    b.lock().unwrap().push(serde_json::from_str(&body).unwrap_or(Value::Null));
                    StatusCode::from_u16(*s.lock().unwrap()).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Receiver { bodies, status, url: format!("http://127.0.0.1:{port}/hook"), port }
    }

    fn count(&self) -> usize {
        self.bodies.lock().unwrap().len()
    }
}

/// A TCP listener that accepts connections and never says a word; counts the connections.
async fn black_hole() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let seen = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    (url, accepted)
}

async fn hook(app: &TestApp, org: &Org, url: &str) -> String {
    let h = app.ok(&org.admin_token, CREATE_HOOK, json!({"i": {"url": url, "events": ["deal.won"]}})).await;
    assert_eq!(h["createWebhook"]["userErrors"], json!([]), "{h}");
    h["createWebhook"]["webhook"]["id"].as_str().unwrap().to_owned()
}

async fn ping(app: &TestApp, org: &Org, hook: &str, times: usize) {
    for _ in 0..times {
        app.ok(&org.admin_token, PING, json!({"id": hook})).await;
    }
}

async fn deliveries(app: &TestApp, org: &Org, hook: &str) -> Vec<Value> {
    let d = app.ok(&org.admin_token, DELIVERIES, json!({"w": hook})).await;
    d["webhookDeliveries"]["nodes"].as_array().unwrap().clone()
}

async fn a_receiver_that_never_answers_does_not_delay_another_organization(app: &TestApp) {
    let (dead, _) = black_hole().await;
    let a = app.seed_org("stall-a").await;
    let a_hook = hook(app, &a, &dead).await;
    ping(app, &a, &a_hook, 30).await;
    // Let the dispatcher take up A's deliveries first: they are older than B's.
    tokio::time::sleep(Duration::from_millis(600)).await;

    let b = app.seed_org("stall-b").await;
    let rx = Receiver::start(Duration::ZERO).await;
    let b_hook = hook(app, &b, &rx.url).await;
    let queued = Instant::now();
    ping(app, &b, &b_hook, 1).await;
    while rx.count() == 0 {
        assert!(queued.elapsed() < Duration::from_secs(5), "B's delivery waited behind A's dead receiver");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A's deliveries are waiting, not lost.
    let mine = deliveries(app, &a, &a_hook).await;
    assert_eq!(mine.len(), 30);
    assert!(mine.iter().all(|d| d["status"] == "PENDING"), "{mine:?}");
}

async fn one_host_gets_at_most_its_share_of_senders(app: &TestApp) {
    let (dead, accepted) = black_hole().await;
    for slug in ["host-a", "host-c"] {
        let org = app.seed_org(slug).await;
        let h = hook(app, &org, &dead).await;
        ping(app, &org, &h, 6).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Twelve deliveries of two organizations (4 each allowed) to one host: 2 at a time.
    assert_eq!(accepted.load(Ordering::SeqCst), 2, "requests in flight to one host");
}

async fn a_failing_webhook_is_paused_and_its_deliveries_wait(app: &TestApp) {
    let app = &TestApp::spawn_with(app.backend, |c| {
        c.webhook_retry_base_ms = 50;
        c.webhook_circuit_failures = 3;
        c.webhook_circuit_cooloff_ms = 3_000;
    })
    .await;
    let org = app.seed_org("pause").await;
    let rx = Receiver::start(Duration::ZERO).await;
    *rx.status.lock().unwrap() = 500;
    let h = hook(app, &org, &rx.url).await;
    ping(app, &org, &h, 10).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    // Three failures in a row pause it; requests already in flight (2 per host) may still land.
    let hits = rx.count();
    assert!((3..=4).contains(&hits), "a failing webhook was sent {hits} requests in 1.5 s");
    let waiting = deliveries(app, &org, &h).await;
    assert!(waiting.iter().all(|d| d["status"] == "PENDING"), "paused, not failed: {waiting:?}");
    let attempts: i64 = waiting.iter().map(|d| d["attempts"].as_i64().unwrap()).sum();
    assert_eq!(usize::try_from(attempts).unwrap(), rx.count(), "every request is one recorded attempt");
    // After the pause one probe goes out; once it succeeds the rest follow.
    *rx.status.lock().unwrap() = 200;
    let started = Instant::now();
    loop {
        let d = deliveries(app, &org, &h).await;
        if d.iter().all(|d| d["status"] == "DELIVERED") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "never resumed: {d:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(started.elapsed() > Duration::from_millis(500), "the pause held");
}

async fn two_instances_never_send_a_slow_delivery_twice(app: &TestApp) {
    let app = &TestApp::spawn_with(app.backend, |c| {
        c.webhook_concurrency_per_host = 20;
        c.webhook_concurrency_per_organization = 20;
    })
    .await;
    let other = app.second_instance().await;
    let org = app.seed_org("twice").await;
    // Every answer takes 7 s: a sequential sender's claims would run out while it still sends.
    let rx = Receiver::start(Duration::from_secs(7)).await;
    let h = hook(app, &org, &rx.url).await;
    ping(app, &org, &h, 20).await;
    let started = Instant::now();
    loop {
        let d = deliveries(app, &org, &h).await;
        if d.iter().all(|d| d["status"] == "DELIVERED") {
            assert!(d.iter().all(|d| d["attempts"] == 1), "{d:?}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "not delivered: {d:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Whatever is still on its way would show up now.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let ids: Vec<String> = rx.bodies.lock().unwrap().iter().map(|b| b["id"].as_str().unwrap().to_owned()).collect();
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!((ids.len(), unique.len()), (20, 20), "each delivery sent once by two instances");
    drop(other);
}

async fn webhooks_to_special_ranges_and_other_ports_are_refused_when_created(app: &TestApp) {
    let strict = TestApp::spawn_with(app.backend, |c| c.webhooks_allow_private = false).await;
    let org = strict.seed_org("ranges").await;
    let refused = |url: &'static str, code: &'static str| (url, code);
    for (url, code) in [
        refused("http://[::ffff:7f00:1]/hook", "PRIVATE_ADDRESS"),
        refused("http://[::ffff:a9fe:a9fe]/hook", "PRIVATE_ADDRESS"),
        refused("http://[::7f00:1]/hook", "PRIVATE_ADDRESS"),
        refused("http://[64:ff9b::7f00:1]/hook", "PRIVATE_ADDRESS"),
        refused("http://[64:ff9b:1::5db8:d822]/hook", "PRIVATE_ADDRESS"),
        refused("http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook", "PRIVATE_ADDRESS"),
        refused("http://[2001:db8::1]/hook", "PRIVATE_ADDRESS"),
        refused("http://[2001:2::1]/hook", "PRIVATE_ADDRESS"),
        refused("http://[3fff::1]/hook", "PRIVATE_ADDRESS"),
        refused("http://[fec0::1]/hook", "PRIVATE_ADDRESS"),
        refused("http://[100::1]/hook", "PRIVATE_ADDRESS"),
        refused("http://[2002:c0a8:101::1]/hook", "PRIVATE_ADDRESS"),
        refused("http://192.0.2.1/hook", "PRIVATE_ADDRESS"),
        refused("http://198.51.100.7/hook", "PRIVATE_ADDRESS"),
        refused("http://203.0.113.9/hook", "PRIVATE_ADDRESS"),
        refused("http://192.88.99.1/hook", "PRIVATE_ADDRESS"),
        refused("http://198.19.255.1/hook", "PRIVATE_ADDRESS"),
        refused("http://255.255.255.255/hook", "PRIVATE_ADDRESS"),
        refused("http://100.127.255.254/hook", "PRIVATE_ADDRESS"),
        refused("https://93.184.216.34:22/hook", "PORT_NOT_ALLOWED"),
        refused("http://93.184.216.34:6379/hook", "PORT_NOT_ALLOWED"),
        refused("https://93.184.216.34:8443/hook", "PORT_NOT_ALLOWED"),
        refused("http://[2606:4700::1111]:25/hook", "PORT_NOT_ALLOWED"),
    ] {
        let d = strict.ok(&org.admin_token, CREATE_HOOK, json!({"i": {"url": url, "events": ["deal.won"]}})).await;
        assert_eq!(d["createWebhook"]["webhook"], Value::Null, "{url}: {d}");
        let e = &d["createWebhook"]["userErrors"][0];
        assert_eq!((&e["code"], &e["field"][1]), (&json!(code), &json!("url")), "{url}: {d}");
        assert!(!e["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(strict.count_rows("webhooks").await, 0);
    for url in ["https://93.184.216.34/hook", "http://93.184.216.34:80/hook", "https://[2606:4700::1111]/hook"] {
        hook(&strict, &org, url).await;
    }
    // The operator may allow other ports.
    let ports = TestApp::spawn_with(app.backend, |c| {
        c.webhooks_allow_private = false;
        c.webhook_allowed_ports = vec![8443];
    })
    .await;
    let org = ports.seed_org("ports").await;
    hook(&ports, &org, "https://93.184.216.34:8443/hook").await;
    let d = ports
        .ok(&org.admin_token, CREATE_HOOK, json!({"i": {"url": "https://93.184.216.34/hook", "events": ["deal.won"]}}))
        .await;
    assert_eq!(d["createWebhook"]["userErrors"][0]["code"], "PORT_NOT_ALLOWED", "{d}");
}

async fn a_name_that_resolves_to_loopback_is_refused_at_send_time(app: &TestApp) {
    let rx = Receiver::start(Duration::ZERO).await;
    let url = format!("http://localhost:{}/hook", rx.port);
    let strict = TestApp::spawn_with(app.backend, |c| {
        c.webhooks_allow_private = false;
        c.webhook_allowed_ports = vec![80, 443, rx.port];
    })
    .await;
    let org = strict.seed_org("rebind").await;
    // Stored as if the name had resolved to a public address when it was vetted, and to
    // loopback since (what a rebinding DNS server does).
    let admin = decode_member(&org.admin);
    let w = scorebord::webhooks::store::create(
        org.id,
        &strict.state.db,
        url.clone(),
        &["deal.won".to_owned()],
        None,
        admin,
    )
    .await
    .unwrap();
    let gid = global_id("Webhook", w.id);
    ping(&strict, &org, &gid, 1).await;
    let started = Instant::now();
    let attempt = loop {
        let d = deliveries(&strict, &org, &gid).await;
        if d[0]["attempts"].as_i64().unwrap() > 0 {
            break d[0].clone();
        }
        assert!(started.elapsed() < Duration::from_secs(10), "never attempted: {d:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(rx.count(), 0, "nothing reached the loopback receiver");
    let why = attempt["lastError"].as_str().unwrap();
    assert!(why.contains("localhost") && why.contains("private network"), "{why}");

    // A port that was allowed when the webhook was stored, and is not now, is not connected to.
    let w = scorebord::webhooks::store::create(
        org.id,
        &strict.state.db,
        "http://93.184.216.34:6379/hook".to_owned(),
        &["deal.won".to_owned()],
        None,
        admin,
    )
    .await
    .unwrap();
    let gid = global_id("Webhook", w.id);
    ping(&strict, &org, &gid, 1).await;
    let started = Instant::now();
    let attempt = loop {
        let d = deliveries(&strict, &org, &gid).await;
        if d[0]["attempts"].as_i64().unwrap() > 0 {
            break d[0].clone();
        }
        assert!(started.elapsed() < Duration::from_secs(20), "never attempted: {d:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let why = attempt["lastError"].as_str().unwrap();
    assert!(why.contains("port 6379 is not allowed"), "{why}");

    // Where private receivers are allowed the same webhook is delivered: the refusal above is
    // the vetting's, not a broken send.
    let org = app.seed_org("rebind-ok").await;
    let h = hook(app, &org, &url).await;
    ping(app, &org, &h, 1).await;
    let started = Instant::now();
    while rx.count() == 0 {
        assert!(started.elapsed() < Duration::from_secs(10), "not delivered through the resolver");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn redirects_are_not_followed(app: &TestApp) {
    // Even where every destination is allowed, a redirect is an answer, not a new destination.
    let target = Receiver::start(Duration::ZERO).await;
    let location = target.url.clone();
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let location = location.clone();
            async move { (StatusCode::TEMPORARY_REDIRECT, [("location", location)]) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let redirecting = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let org = app.seed_org("redirect").await;
    let h = hook(app, &org, &redirecting).await;
    ping(app, &org, &h, 1).await;
    let started = Instant::now();
    let attempt = loop {
        let d = deliveries(app, &org, &h).await;
        if d[0]["attempts"].as_i64().unwrap() > 0 {
            break d[0].clone();
        }
        assert!(started.elapsed() < Duration::from_secs(10), "never attempted: {d:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(target.count(), 0, "the redirect was followed");
    assert_eq!((&attempt["status"], &attempt["lastError"]), (&json!("PENDING"), &json!("HTTP 307")), "{attempt}");
}

fn global_id(kind: &str, id: Uuid) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}:{id}"))
}

fn decode_member(gid: &str) -> Uuid {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(gid).unwrap();
    let text = String::from_utf8(raw).unwrap();
    text.split_once(':').unwrap().1.parse().unwrap()
}
