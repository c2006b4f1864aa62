use scorebord_tests::{TestApp, WsEvent, backend_tests};
use serde_json::json;

backend_tests!(
    organization_changed_is_pushed_after_commit,
    legacy_graphql_ws_protocol,
    rejected_and_premature_connections,
    board_subscribers_share_one_rendering
);

const SUB: &str = "subscription { organizationChanged { name version branding { primaryColor } } }";

async fn organization_changed_is_pushed_after_commit(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let other = app.seed_org("other").await;
    let mut ws = app.ws("graphql-transport-ws").await;
    ws.send(json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {}", org.rep_token)}}))
        .await;
    assert_eq!(ws.next_json().await["type"], "connection_ack");
    ws.send(json!({"id": "1", "type": "subscribe", "payload": {"query": SUB}})).await;
    // Give the subscription a moment to register, then change another org first: it must not arrive.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    app.ok(
        &other.admin_token,
        "mutation { updateOrganization(input: {name: \"Other Renamed\"}) { organization { name } } }",
        json!({}),
    )
    .await;
    app.ok(&org.admin_token, "mutation { updateOrganization(input: {name: \"Acme Live\", primaryColor: \"#00ff00\"}) { organization { name } } }", json!({})).await;
    let msg = ws.next_json().await;
    assert_eq!(msg["type"], "next");
    assert_eq!(msg["id"], "1");
    assert_eq!(
        msg["payload"]["data"]["organizationChanged"],
        json!({"name": "Acme Live", "version": 2, "branding": {"primaryColor": "#00FF00"}})
    );
    // A second subscription with the same ID while the first runs closes 4409.
    ws.send(json!({"id": "1", "type": "subscribe", "payload": {"query": SUB}})).await;
    assert_eq!(ws.close_code().await, 4409);

    let metrics = app.client.get(format!("{}/metrics", app.base_url)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("scorebord_websocket_connections"), "{metrics}");
}

async fn legacy_graphql_ws_protocol(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let mut ws = app.ws("graphql-ws").await;
    ws.send(json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {}", org.viewer_token)}}))
        .await;
    assert_eq!(ws.next_json().await["type"], "connection_ack");
    ws.send(json!({"id": "a", "type": "start", "payload": {"query": SUB}})).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    app.ok(
        &org.admin_token,
        "mutation { updateOrganization(input: {name: \"Legacy\"}) { organization { name } } }",
        json!({}),
    )
    .await;
    let msg = loop {
        let m = ws.next_json().await;
        if m["type"] != "ka" {
            break m;
        }
    };
    assert_eq!(msg["type"], "data");
    assert_eq!(msg["payload"]["data"]["organizationChanged"]["name"], "Legacy");
}

async fn rejected_and_premature_connections(app: &TestApp) {
    let org = app.seed_org("acme").await;
    // A bad token closes 4403.
    let mut ws = app.ws("graphql-transport-ws").await;
    ws.send(json!({"type": "connection_init", "payload": {"authorization": "Bearer not-a-token"}})).await;
    match ws.next().await {
        WsEvent::Closed(code, reason) => {
            assert_eq!(code, 4403);
            assert!(reason.starts_with("Forbidden"), "{reason}");
        }
        other => panic!("expected close, got {other:?}"),
    }
    // No token at all closes 4403 as well.
    let mut ws = app.ws("graphql-transport-ws").await;
    ws.send(json!({"type": "connection_init"})).await;
    assert_eq!(ws.close_code().await, 4403);
    // Subscribing before connection_init closes 4401.
    let mut ws = app.ws("graphql-transport-ws").await;
    ws.send(json!({"id": "1", "type": "subscribe", "payload": {"query": SUB}})).await;
    assert_eq!(ws.close_code().await, 4401);
    // A valid connection still works afterwards.
    let mut ws = app.ws("graphql-transport-ws").await;
    ws.send(json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {}", org.rep_token)}}))
        .await;
    assert_eq!(ws.next_json().await["type"], "connection_ack");
}

const SHARED_BOARD: &str = "subscription($i: LeaderboardInput!) { leaderboardChanged(input: $i) { entries { rank points member { id name } } totalEntries } }";

/// A connected `graphql-transport-ws` socket of the bearer of `token`.
async fn socket(app: &TestApp, token: &str) -> scorebord_tests::Ws {
    let mut ws = app.ws("graphql-transport-ws").await;
    ws.send(json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}})).await;
    assert_eq!(ws.next_json().await["type"], "connection_ack");
    ws
}

/// The next message of subscription `id` (others are skipped).
async fn next_of(ws: &mut scorebord_tests::Ws, id: &str) -> serde_json::Value {
    loop {
        let m = ws.next_json().await;
        if m["id"] == id {
            return m;
        }
    }
}

/// The number of shared runs, from `/metrics`.
async fn shared_runs(app: &TestApp) -> i64 {
    let metrics = app.client.get(format!("{}/metrics", app.base_url)).send().await.unwrap().text().await.unwrap();
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("scorebord_shared_subscription_runs "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no shared-run gauge in {metrics}"))
}

/// Subscribers of one board with one query share a single rendering (one run, identical
/// messages), yet each is authorized on its own, completes on its own, and outlives the
/// connection whose run is being shared.
async fn board_subscribers_share_one_rendering(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let kind = app
        .ok(&org.admin_token, "mutation { createActivityType(input: {name: \"Call\", category: ACTION, unit: COUNT, points: 2}) { activityType { id } } }", json!({}))
        .await["createActivityType"]["activityType"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let board = json!({"i": {"period": {"grain": "WEEK"}, "teamId": org.outbound}});
    let subscribe =
        |id: &str| json!({"id": id, "type": "subscribe", "payload": {"query": SHARED_BOARD, "variables": board}});
    assert_eq!(shared_runs(app).await, 0);

    // The manager, the Outbound rep and the viewer may read the Outbound board.
    let mut manager = socket(app, &org.manager_token).await;
    let mut rep = socket(app, &org.rep_token).await;
    let mut viewer = socket(app, &org.viewer_token).await;
    manager.send(subscribe("1")).await;
    let first_manager = next_of(&mut manager, "1").await;
    rep.send(subscribe("1")).await;
    let first_rep = next_of(&mut rep, "1").await;
    viewer.send(subscribe("v")).await;
    let first_viewer = next_of(&mut viewer, "v").await;
    assert_eq!(first_manager["payload"], first_rep["payload"]);
    assert_eq!(first_manager["payload"], first_viewer["payload"]);
    assert_eq!(first_viewer["type"], "next");
    assert!(first_viewer["payload"].get("errors").is_none(), "{first_viewer}");
    wait_for_runs(app, 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(shared_runs(app).await, 1, "three subscribers of one board, one run");

    // The Inbound rep may not: refused on its own, while a run for this board exists.
    let mut inbound = socket(app, &org.inbound_rep_token).await;
    inbound.send(subscribe("1")).await;
    let refused = next_of(&mut inbound, "1").await;
    assert_eq!(refused["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN", "{refused}");
    assert_eq!(next_of(&mut inbound, "1").await["type"], "complete");

    // A log reaches every follower with the same message body.
    log_call(app, &org.manager_token, json!({"activityTypeId": kind, "memberId": org.rep, "quantity": 3})).await;
    let mut bodies = Vec::new();
    for (ws, id) in [(&mut manager, "1"), (&mut rep, "1"), (&mut viewer, "v")] {
        let m = next_of(ws, id).await;
        assert_eq!(m["payload"]["data"]["leaderboardChanged"]["entries"][0]["points"], 6.0, "{m}");
        assert_eq!(m["payload"]["data"]["leaderboardChanged"]["entries"][0]["member"]["id"], org.rep, "{m}");
        bodies.push(m["payload"].clone());
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");

    // The rep completes: nothing more for it, the others go on; the ID is free again.
    rep.send(json!({"id": "1", "type": "complete"})).await;
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    log_call(app, &org.rep_token, json!({"activityTypeId": kind})).await;
    assert_eq!(next_of(&mut manager, "1").await["payload"]["data"]["leaderboardChanged"]["entries"][0]["points"], 8.0);
    assert_eq!(next_of(&mut viewer, "v").await["payload"]["data"]["leaderboardChanged"]["entries"][0]["points"], 8.0);
    assert!(
        rep.next_within(std::time::Duration::from_millis(400)).await.is_none(),
        "a completed subscription stays quiet"
    );
    rep.send(subscribe("1")).await;
    let again = next_of(&mut rep, "1").await;
    assert_eq!(again["payload"]["data"]["leaderboardChanged"]["entries"][0]["points"], 8.0, "{again}");

    // The first subscriber's connection (whose run is shared) goes away: the others still get boards.
    drop(manager);
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    log_call(app, &org.rep_token, json!({"activityTypeId": kind})).await;
    assert_eq!(next_of(&mut viewer, "v").await["payload"]["data"]["leaderboardChanged"]["entries"][0]["points"], 10.0);
    assert_eq!(next_of(&mut rep, "1").await["payload"]["data"]["leaderboardChanged"]["entries"][0]["points"], 10.0);

    // Another selection of the same board is another run; a duplicate ID still closes 4409.
    viewer.send(json!({"id": "t", "type": "subscribe", "payload": {"query": "subscription($i: LeaderboardInput!) { leaderboardChanged(input: $i) { totalEntries } }", "variables": board}})).await;
    assert!(next_of(&mut viewer, "t").await["payload"]["data"]["leaderboardChanged"]["totalEntries"].is_number());
    // A subscription joins its run right after its first message is out: wait for it.
    wait_for_runs(app, 2).await;
    viewer.send(subscribe("v")).await;
    assert_eq!(viewer.close_code().await, 4409);

    // When the last follower of a run leaves, the run ends.
    drop(viewer);
    drop(rep);
    wait_for_runs(app, 0).await;
}

/// Logs an activity with `input`.
async fn log_call(app: &TestApp, token: &str, input: serde_json::Value) {
    app.ok(
        token,
        "mutation($i: LogActivityInput!) { logActivity(input: $i) { activity { id } } }",
        json!({"i": input}),
    )
    .await;
}

/// Waits (up to 10 s) until the instance has `n` shared runs; a count that never settles there
/// (three subscribers of one board holding three runs, say) fails.
async fn wait_for_runs(app: &TestApp, n: i64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let runs = shared_runs(app).await;
        if runs == n {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{runs} shared runs, expected {n}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
