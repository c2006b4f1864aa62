use scorebord_tests::{TestApp, WsEvent, backend_tests};
use serde_json::json;

backend_tests!(
    organization_changed_is_pushed_after_commit,
    legacy_graphql_ws_protocol,
    rejected_and_premature_connections
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
