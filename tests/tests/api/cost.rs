//! Cost follows work: list arguments and expensive resolvers are priced, a document can run only
//! a few expensive fields, answers are bounded in size, and subscriptions are capped per
//! connection and per caller.

use std::time::Duration;

use scorebord_tests::{Org, TestApp, Ws, WsEvent, backend_tests, error_code};
use serde_json::{Value, json};

backend_tests!(
    nodes_cost_what_they_load,
    expensive_fields_are_priced_and_capped_per_document,
    subscriptions_are_capped_per_connection_and_per_caller,
    answers_are_bounded_in_size,
    api_keys_of_one_admin_share_one_budget,
    every_connection_costs_its_page,
);

/// Each connection a front end pages through costs its page size times its selection.
async fn every_connection_costs_its_page(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let connections = [
        "deals(first: 200) { edges { node { id name owner { name } } } }",
        "activities(first: 200) { edges { node { id } } }",
        "activityTypes(first: 200) { edges { node { id name } } }",
        "campaigns(first: 200) { edges { node { id } } }",
        "quotas(first: 200) { edges { node { id } } }",
        "territories(first: 200) { edges { node { id } } }",
        "statements(first: 200) { edges { node { id } } }",
        "auditLog(first: 200) { edges { node { id } } }",
        "members(first: 200) { edges { node { id } } }",
        "teams(first: 200) { edges { node { id } } }",
    ];
    for connection in connections {
        let body = app.gql(Some(&org.admin_token), &format!("{{ {connection} }}"), json!({})).await;
        assert!(body.get("errors").is_none(), "{connection}: {body}");
        assert!(requested_cost(&body) >= 200, "{connection} costs {}", requested_cost(&body));
    }
}

async fn api_keys_of_one_admin_share_one_budget(default: &TestApp) {
    let app = &TestApp::spawn_with(default.backend, |c| {
        c.rate_limit_points = 1_000;
        c.rate_limit_restore_per_second = 1;
    })
    .await;
    let org = app.seed_org("acme").await;
    let create = "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret } }";
    let mut keys = Vec::new();
    for name in ["first", "second", "third"] {
        let data = app.ok(&org.admin_token, create, json!({"i": {"name": name, "scopes": ["org:read"]}})).await;
        keys.push(data["createApiKey"]["secret"].as_str().unwrap().to_owned());
    }
    // About 600 of the 1,000 points: the first key may, the second must wait for the refill.
    let big = "{ members(first: 150) { edges { node { id name } } } }";
    let first = app.gql(Some(&keys[0]), big, json!({})).await;
    assert!(first.get("errors").is_none(), "{first}");
    let spent = requested_cost(&first);
    assert!((501..=1000).contains(&spent), "the probe must cost more than half the budget: {spent}");
    let second = app.gql(Some(&keys[1]), big, json!({})).await;
    assert_eq!(error_code(&second), "RATE_LIMITED", "another key of the same admin shares the budget: {second}");
    // The admin's own requests keep a budget of their own.
    let own = app.gql(Some(&org.admin_token), big, json!({})).await;
    assert!(own.get("errors").is_none(), "{own}");
}

async fn answers_are_bounded_in_size(default: &TestApp) {
    let app = TestApp::spawn_with(default.backend, |c| c.max_response_bytes = 4096).await;
    let org = app.seed_org("acme").await;
    let small = app.gql(Some(&org.admin_token), "{ members(first: 10) { edges { node { name } } } }", json!({})).await;
    assert!(small.get("errors").is_none(), "{small}");
    // Forty aliases of the same small list: a short request, a long answer.
    let aliases: String =
        (0..40).map(|i| format!(" m{i}: members(first: 10) {{ edges {{ node {{ id name email }} }} }}")).collect();
    let body = app.gql(Some(&org.admin_token), &format!("{{{aliases} }}"), json!({})).await;
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{body}");
    // Execution ran (then its answer was dropped): `data` is there, null.
    assert!(body.get("data").is_some_and(Value::is_null), "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("4096 bytes"), "{body}");
}

fn requested_cost(body: &Value) -> u64 {
    body["extensions"]["cost"]["requestedQueryCost"].as_u64().unwrap_or_else(|| panic!("no cost in {body}"))
}

async fn nodes_cost_what_they_load(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let ids: Vec<&str> = std::iter::repeat_n(org.rep.as_str(), 200).collect();
    let q = "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Member { name } } }";
    let one = app.gql(Some(&org.admin_token), q, json!({"ids": [org.rep]})).await;
    let many = app.gql(Some(&org.admin_token), q, json!({"ids": ids})).await;
    assert!(many.get("errors").is_none(), "{many}");
    assert!(requested_cost(&many) >= 200 * 2, "200 loads cost at least 200 × their selection: {many}");
    assert!(requested_cost(&many) >= 100 * requested_cost(&one), "one: {one}, many: {many}");

    // 400 aliases of 200 loads each: refused before anything runs.
    let aliases: String = (0..400).map(|i| format!(" a{i}: nodes(ids: $ids) {{ id }}")).collect();
    let body =
        app.gql(Some(&org.admin_token), &format!("query($ids: [ID!]!) {{{aliases} }}"), json!({"ids": ids})).await;
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{}", &body.to_string()[..300.min(body.to_string().len())]);
    // A request error (nothing executed): no `data` entry at all, as the GraphQL spec says.
    assert!(body.get("data").is_none());
}

fn forecasts(org: &Org, n: usize) -> String {
    let one = format!("forecast(period: {{grain: QUARTER}}, teamId: \"{}\") {{ __typename }}", org.sales);
    let aliases: String = (0..n).map(|i| format!(" f{i}: {one}")).collect();
    format!("{{{aliases} }}")
}

async fn expensive_fields_are_priced_and_capped_per_document(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let single = app.gql(Some(&org.admin_token), &forecasts(&org, 1), json!({})).await;
    assert!(single.get("errors").is_none(), "{single}");
    assert!(requested_cost(&single) >= 100, "a roll-up costs more than its selection: {single}");

    // Six in one document: five run, the sixth is refused with a clear code.
    let six = app.gql(Some(&org.admin_token), &forecasts(&org, 6), json!({})).await;
    let errors = six["errors"].as_array().unwrap_or_else(|| panic!("{six}"));
    assert_eq!(errors.len(), 1, "{six}");
    assert_eq!(errors[0]["extensions"]["code"], "QUERY_TOO_COMPLEX", "{six}");
    assert!(errors[0]["message"].as_str().unwrap().contains("at most 5"), "{six}");

    // Three hundred: refused as a whole before anything runs.
    let many = app.gql(Some(&org.admin_token), &forecasts(&org, 300), json!({})).await;
    assert_eq!(error_code(&many), "QUERY_TOO_COMPLEX", "{}", many["errors"][0]);
    assert!(many.get("data").is_none(), "a request error has no data entry");
    // And the server still answers everyone else at once.
    let other = app.seed_org("other").await;
    let viewer = app.gql(Some(&other.rep_token), "{ viewer { role } }", json!({})).await;
    assert_eq!(viewer["data"]["viewer"]["role"], "REP", "{viewer}");
}

const SUB: &str = "subscription { organizationChanged { name } }";

/// Subscribes `id` and returns the error code if the server refuses it within half a second.
async fn subscribe(ws: &mut Ws, id: &str) -> Option<String> {
    ws.send(json!({"id": id, "type": "subscribe", "payload": {"query": SUB}})).await;
    match ws.next_within(Duration::from_millis(500)).await {
        None => None,
        Some(WsEvent::Json(msg)) => {
            assert_eq!(msg["type"], "error", "{msg}");
            assert_eq!(msg["id"], id, "{msg}");
            Some(msg["payload"][0]["extensions"]["code"].as_str().unwrap_or_default().to_owned())
        }
        Some(WsEvent::Closed(code, reason)) => panic!("closed {code} {reason}"),
    }
}

async fn subscriptions_are_capped_per_connection_and_per_caller(default: &TestApp) {
    // Limits made small for the test; the defaults are in the configuration docs.
    let app = TestApp::spawn_with(default.backend, |c| {
        c.ws_subscriptions_per_socket = 3;
        c.ws_subscriptions_per_principal = 5;
    })
    .await;
    let org = app.seed_org("acme").await;
    let mut a = app.ws_as(&org.rep_token).await;
    for id in ["1", "2", "3"] {
        assert_eq!(subscribe(&mut a, id).await, None, "subscription {id} on the first connection");
    }
    assert_eq!(subscribe(&mut a, "4").await.as_deref(), Some("RATE_LIMITED"), "a fourth on one connection");
    let mut b = app.ws_as(&org.rep_token).await;
    for id in ["1", "2"] {
        assert_eq!(subscribe(&mut b, id).await, None, "subscription {id} on the second connection");
    }
    assert_eq!(subscribe(&mut b, "3").await.as_deref(), Some("RATE_LIMITED"), "a sixth for the same caller");
    // Another caller is not affected.
    let mut c = app.ws_as(&org.inbound_rep_token).await;
    assert_eq!(subscribe(&mut c, "1").await, None);
    // Completing one frees a place.
    a.send(json!({"id": "1", "type": "complete"})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(subscribe(&mut b, "3").await, None, "a place was freed");
    // Closing a connection frees its places.
    let mut d = app.ws_as(&org.rep_token).await;
    assert_eq!(subscribe(&mut d, "1").await.as_deref(), Some("RATE_LIMITED"), "five run already");
    drop(a);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(subscribe(&mut d, "1").await, None, "the closed connection's two places are free");
    assert_eq!(subscribe(&mut d, "2").await, None);
    assert_eq!(subscribe(&mut d, "3").await.as_deref(), Some("RATE_LIMITED"));
}
