//! What a credential opens is checked where operations execute, for as long as it is used:
//! an API key's scopes cannot be widened by how a document is written (fragments nested past
//! any walk), and an open WebSocket loses what its credential loses (expiry, deactivation,
//! demotion, revocation) instead of keeping the principal of `connection_init`.

use std::time::Duration;

use scorebord_tests::{Org, TestApp, Ws, WsEvent, backend_tests, error_code};
use serde_json::{Value, json};

backend_tests!(
    nested_fragments_do_not_widen_an_api_key,
    a_key_subscribes_only_where_its_scopes_open,
    a_socket_closes_when_its_token_expires,
    a_socket_closes_when_its_member_is_deactivated,
    a_socket_closes_when_its_admin_is_demoted,
    a_socket_closes_when_its_key_is_revoked,
    each_operation_on_a_socket_checks_the_principal_again,
    a_key_stops_working_when_its_creator_is_no_longer_an_admin,
);

async fn a_key_stops_working_when_its_creator_is_no_longer_an_admin(app: &TestApp) {
    let org = app.seed_org("acme").await;
    set_role(app, &org, &org.manager, "ADMIN").await;
    let data =
        app.ok(&org.manager_token, CREATE_KEY, json!({"i": {"name": "left with me", "scopes": ["org:read"]}})).await;
    let key = data["createApiKey"]["secret"].as_str().unwrap().to_owned();
    let body = app.gql(Some(&key), "{ organization { name } }", json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
    set_role(app, &org, &org.manager, "MANAGER").await;
    let body = app.gql(Some(&key), "{ organization { name } }", json!({})).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("no longer an active admin"), "{body}");
    // Back as an admin, the key works again (it was never revoked).
    set_role(app, &org, &org.manager, "ADMIN").await;
    let body = app.gql(Some(&key), "{ organization { name } }", json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
}

/// The UUID inside a global ID (`base64("Kind:uuid")`).
fn uuid_of(global_id: &str) -> uuid::Uuid {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(global_id).expect("base64 global ID");
    let text = String::from_utf8(raw).expect("UTF-8");
    text.split_once(':').and_then(|(_, id)| uuid::Uuid::parse_str(id).ok()).expect("Kind:uuid")
}

const CREATE_KEY: &str = "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret } }";

async fn key(app: &TestApp, org: &Org, scopes: &[&str]) -> String {
    let data = app.ok(&org.admin_token, CREATE_KEY, json!({"i": {"name": "integration", "scopes": scopes}})).await;
    data["createApiKey"]["secret"].as_str().expect("secret").to_owned()
}

/// `mutation { ... on Mutation { ... on Mutation { <inner> } } }`, `depth` fragments deep.
fn nested(depth: usize, inner: &str) -> String {
    format!("mutation {{ {}{inner}{} }}", "... on Mutation { ".repeat(depth), " }".repeat(depth))
}

async fn nested_fragments_do_not_widen_an_api_key(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let read_only = key(app, &org, &["forecasts:read"]).await;
    let members_before = app.count_rows("members").await;
    let create = r#"createMember(input: {name: "Mallory", email: "mallory@acme.test", role: ADMIN,
        salesRole: INBOUND, password: "correct horse battery staple"}) { member { id } userErrors { code } }"#;
    for depth in [0, 1, 16, 17, 18, 30] {
        let body = app.gql(Some(&read_only), &nested(depth, create), json!({})).await;
        assert_eq!(error_code(&body), "FORBIDDEN", "depth {depth}: {body}");
        assert!(body["data"]["createMember"].is_null(), "depth {depth}: {body}");
    }
    // A chain of named fragments, each spreading the next.
    let chain: String = (0..20).map(|i| format!(" fragment F{i} on Mutation {{ ...F{} }}", i + 1)).collect();
    let q = format!("mutation {{ ...F0 }}{chain} fragment F20 on Mutation {{ {create} }}");
    let body = app.gql(Some(&read_only), &q, json!({})).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    assert_eq!(app.count_rows("members").await, members_before, "no member was created");

    // Nobody can sign in as the admin the attack tried to create.
    let login = app
        .gql(
            None,
            r#"mutation { login(input: {email: "mallory@acme.test", password: "correct horse battery staple"}) {
                accessToken } }"#,
            json!({}),
        )
        .await;
    assert!(login["data"]["login"]["accessToken"].is_null(), "{login}");

    // What the key may do still works, nested or not.
    let forecast = format!("forecast(period: {{grain: QUARTER}}, teamId: \"{}\") {{ __typename }}", org.sales);
    let q = format!("query {{ {}{forecast}{} }}", "... on Query { ".repeat(20), " }".repeat(20));
    let body = app.gql(Some(&read_only), &q, json!({})).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "a document the walk cannot see through is refused: {body}");
    let q = format!("query {{ {}{forecast}{} }}", "... on Query { ".repeat(3), " }".repeat(3));
    let body = app.gql(Some(&read_only), &q, json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["data"]["forecast"]["__typename"], "Forecast", "{body}");
}

async fn a_key_subscribes_only_where_its_scopes_open(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let forecasts = key(app, &org, &["forecasts:read"]).await;
    let mut ws = app.ws_as(&forecasts).await;
    ws.send(json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { scoreChanged { points } }"}}))
        .await;
    let msg = ws.next_json().await;
    let errors = if msg["type"] == "error" { &msg["payload"] } else { &msg["payload"]["errors"] };
    assert_eq!(errors[0]["extensions"]["code"], "FORBIDDEN", "{msg}");
    assert!(msg["payload"]["data"].is_null(), "{msg}");
    let allowed = "subscription($t: ID!) { forecastChanged(teamId: $t) { __typename } }";
    ws.send(json!({"id": "2", "type": "subscribe", "payload": {"query": allowed, "variables": {"t": org.sales}}}))
        .await;
    // Allowed: nothing arrives for it until a forecast changes, and the socket stays open.
    while let Some(event) = ws.next_within(Duration::from_millis(500)).await {
        match event {
            WsEvent::Json(msg) => assert!(msg["id"] == "1" && msg["type"] == "complete", "{msg}"),
            WsEvent::Closed(code, reason) => panic!("closed {code} {reason}"),
        }
    }
}

/// Waits for the socket to close and returns the code and reason.
async fn closed(ws: &mut Ws, within: Duration) -> (u16, String) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match ws.next_within(left).await {
            Some(WsEvent::Closed(code, reason)) => return (code, reason),
            Some(WsEvent::Json(_)) => continue,
            None => panic!("the socket was still open after {within:?}"),
        }
    }
}

const ORG_CHANGED: &str = "subscription { organizationChanged { name } }";

async fn a_socket_closes_when_its_token_expires(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let member = uuid_of(&org.rep);
    let short = app.state.jwt.issue(member, org.id.0, chrono::Duration::seconds(2)).expect("token");
    let mut ws = app.ws_as(&short).await;
    ws.send(json!({"id": "1", "type": "subscribe", "payload": {"query": ORG_CHANGED}})).await;
    let (code, reason) = closed(&mut ws, Duration::from_secs(6)).await;
    assert_eq!(code, 4403, "{reason}");
    assert!(reason.contains("expired"), "{reason}");
}

async fn a_socket_closes_when_its_member_is_deactivated(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let mut ws = app.ws_as(&org.rep_token).await;
    ws.send(json!({"id": "1", "type": "subscribe", "payload": {"query": ORG_CHANGED}})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.ok(
        &org.admin_token,
        "mutation($id: ID!) { deactivateMember(input: {id: $id}) { userErrors { code } } }",
        json!({"id": org.rep}),
    )
    .await;
    let (code, reason) = closed(&mut ws, Duration::from_secs(5)).await;
    assert_eq!(code, 4403, "{reason}");
}

async fn set_role(app: &TestApp, org: &Org, member: &str, role: &str) {
    let data = app
        .ok(
            &org.admin_token,
            "mutation($i: UpdateMemberInput!) { updateMember(input: $i) { member { role } userErrors { code message } } }",
            json!({"i": {"id": member, "role": role}}),
        )
        .await;
    assert_eq!(data["updateMember"]["member"]["role"], role, "{data}");
}

async fn a_socket_closes_when_its_admin_is_demoted(app: &TestApp) {
    let org = app.seed_org("acme").await;
    set_role(app, &org, &org.manager, "ADMIN").await;
    let mut ws = app.ws_as(&org.manager_token).await;
    ws.send(json!({"id": "1", "type": "subscribe", "payload": {"query": ORG_CHANGED}})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    set_role(app, &org, &org.manager, "REP").await;
    let (code, reason) = closed(&mut ws, Duration::from_secs(5)).await;
    assert_eq!(code, 4403, "{reason}");
    assert!(reason.contains("role"), "{reason}");
}

async fn a_socket_closes_when_its_key_is_revoked(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let data = app
        .ok(
            &org.admin_token,
            "mutation { createApiKey(input: {name: \"crm\", scopes: [\"org:read\", \"deals:write\"]}) { secret apiKey { id } } }",
            json!({}),
        )
        .await;
    let secret = data["createApiKey"]["secret"].as_str().unwrap().to_owned();
    let id = data["createApiKey"]["apiKey"]["id"].clone();
    let mut ws = app.ws_as(&secret).await;
    ws.send(json!({"id": "1", "type": "subscribe", "payload": {"query": ORG_CHANGED}})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.ok(
        &org.admin_token,
        "mutation($id: ID!) { revokeApiKey(input: {id: $id}) { apiKey { id } } }",
        json!({"id": id}),
    )
    .await;
    let (code, reason) = closed(&mut ws, Duration::from_secs(5)).await;
    assert_eq!(code, 4403, "{reason}");
}

/// A change the server hears nothing about (SQL run by hand) is still caught by the next
/// operation once the member state HTTP uses has moved on (its cache lasts
/// `MEMBER_CACHE_SECONDS`, 1 s here).
async fn each_operation_on_a_socket_checks_the_principal_again(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let mut ws = app.ws_as(&org.rep_token).await;
    ws.send(json!({"id": "1", "type": "subscribe", "payload": {"query": ORG_CHANGED}})).await;
    assert!(ws.next_within(Duration::from_millis(300)).await.is_none());
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    entity::member::Entity::update_many()
        .col_expr(entity::member::Column::Active, Expr::value(false))
        .filter(entity::member::Column::Id.eq(uuid_of(&org.rep)))
        .exec(&app.state.db)
        .await
        .expect("deactivate without the API");
    // HTTP refuses the token once the cached member expires.
    let mut refused = Value::Null;
    for _ in 0..60 {
        let body = app.gql(Some(&org.rep_token), "{ viewer { role } }", json!({})).await;
        if body.get("errors").is_some() {
            refused = body;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(error_code(&refused), "UNAUTHENTICATED", "{refused}");
    // The socket's next operation is refused the same way: it closes 4403.
    ws.send(json!({"id": "2", "type": "subscribe", "payload": {"query": ORG_CHANGED}})).await;
    let (code, reason) = closed(&mut ws, Duration::from_secs(5)).await;
    assert_eq!(code, 4403, "{reason}");
    assert!(reason.contains("deactivated"), "{reason}");
}
