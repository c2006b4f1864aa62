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
    each_row_of_the_cost_table_holds,
    what_a_page_did_not_use_goes_back_to_the_budget,
    the_same_document_is_validated_and_charged_for_each_request_values,
);

fn actual_cost(body: &Value) -> u64 {
    body["extensions"]["cost"]["actualQueryCost"].as_u64().unwrap_or_else(|| panic!("no actual cost in {body}"))
}

/// Requested and actual cost of one operation as the admin.
async fn costs(app: &TestApp, org: &Org, query: &str, variables: Value) -> (u64, u64) {
    let body = app.gql(Some(&org.admin_token), query, variables).await;
    (requested_cost(&body), actual_cost(&body))
}

/// docs/api/cost.md (and the README), row by row.
async fn each_row_of_the_cost_table_holds(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let other = app.seed_org("other").await;
    let members = app.ok(&org.admin_token, "{ members { totalCount } }", json!({})).await["members"]["totalCount"]
        .as_u64()
        .unwrap();
    assert!(members > 2 && members < 10, "{members}");
    // A scalar field costs 1; `__typename` nothing.
    assert_eq!(costs(app, &org, "{ __typename viewer { role } }", json!({})).await, (2, 2));
    // An object costs 1 plus its selection.
    assert_eq!(costs(app, &org, "{ organization { name slug branding { displayName } } }", json!({})).await, (5, 5));
    // A connection: 1 + page size × selection (per item: each selected field, with `totalCount`
    // and `pageInfo` counted per item too); actual: the items that came back.
    let q = "{ members(first: 10) { totalCount nodes { id name } } }";
    assert_eq!(costs(app, &org, q, json!({})).await, (1 + 10 * 4, 1 + members * 4));
    let q = "{ members { edges { cursor node { id } } } }";
    assert_eq!(costs(app, &org, q, json!({})).await, (1 + 50 * 4, 1 + members * 4), "default page 50");
    let q = "{ members(last: 2) { nodes { id } } }";
    assert_eq!(costs(app, &org, q, json!({})).await, (1 + 2 * 2, 1 + 2 * 2), "a full page costs what was asked");
    // Connections inside connections multiply; each inner page is refunded on its own.
    let q = "{ teams(first: 5) { nodes { members(first: 10) { nodes { id } } } } }";
    let team_rows = app.ok(&org.admin_token, "{ teams { nodes { members { totalCount } } } }", json!({})).await;
    let per_team: Vec<u64> = team_rows["teams"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["members"]["totalCount"].as_u64().unwrap())
        .collect();
    // Per team: `nodes` 1, `members` 1 + its page × 2.
    let actual = 1 + per_team.iter().map(|n| 2 + n * 2).sum::<u64>();
    assert_eq!(costs(app, &org, q, json!({})).await, (1 + 5 * (1 + 1 + 10 * 2), actual));
    // node: 1 + selection; null (gone, foreign or malformed) costs 1.
    let q = "query($id: ID!) { node(id: $id) { id ... on Member { name } } }";
    assert_eq!(costs(app, &org, q, json!({"id": org.rep})).await, (3, 3));
    assert_eq!(costs(app, &org, q, json!({"id": other.rep})).await, (3, 1));
    // nodes: each ID 1 + selection; a null refunds its share.
    let q = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }";
    assert_eq!(costs(app, &org, q, json!({"ids": [org.rep, other.rep, org.manager]})).await, (6, 4));
    // Expensive fields: 100 on top of their selection.
    let q = format!("{{ forecast(period: {{grain: QUARTER}}, teamId: \"{}\") {{ __typename }} }}", org.sales);
    assert_eq!(costs(app, &org, &q, json!({})).await, (100, 100));
    // A mutation field: 1 plus its payload's selection.
    let q = "mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) { organization { name } userErrors { code } } }";
    assert_eq!(costs(app, &org, q, json!({"i": {"name": "Acme B.V."}})).await, (5, 5));
}

/// The unused part of a page's price goes back to the caller's bucket.
async fn what_a_page_did_not_use_goes_back_to_the_budget(default: &TestApp) {
    let app = &TestApp::spawn_with(default.backend, |c| {
        c.rate_limit_points = 1_000;
        c.rate_limit_restore_per_second = 1;
    })
    .await;
    let org = app.seed_org("acme").await;
    let q = "{ members(first: 200) { nodes { id } } }";
    for round in 0..3 {
        let body = app.gql(Some(&org.admin_token), q, json!({})).await;
        assert!(body.get("errors").is_none(), "{body}");
        assert_eq!(requested_cost(&body), 401);
        let actual = actual_cost(&body);
        assert!(actual < 20, "{body}");
        let available = body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"].as_u64().unwrap();
        // Without the refund, three rounds of 401 would leave under 200.
        assert!(available + 1 >= 1_000 - (round + 1) * actual, "round {round}: {body}");
    }
}

/// A document sent again is validated against its own variables and operation, priced by them,
/// and charged every time: what is kept of an earlier request's validation never answers for
/// another value, another operation or another caller's budget.
async fn the_same_document_is_validated_and_charged_for_each_request_values(default: &TestApp) {
    let app = &TestApp::spawn_with(default.backend, |c| {
        c.rate_limit_points = 1_000;
        c.rate_limit_restore_per_second = 1;
    })
    .await;
    let org = app.seed_org("acme").await;
    let q = "query Page($n: Int) { teams(first: $n) { nodes { members(first: $n) { nodes { id } } } } } \
             query Other { viewer { role } }";
    let run = |op: &'static str, variables: Value| app.gql_op(Some(&org.admin_token), q, Some(op), variables);

    // What the same operation costs with the value written in.
    let token = org.admin_token.as_str();
    let written = |n: u32| {
        let q = format!(
            "query Page {{ teams(first: {n}) {{ nodes {{ members(first: {n}) {{ nodes {{ id }} }} }} }} }} \
             query Other {{ viewer {{ role }} }}"
        );
        async move { requested_cost(&app.gql_op(Some(token), &q, Some("Page"), json!({})).await) }
    };
    let (ten, two) = (written(10).await, written(2).await);
    assert!(ten > two, "{ten} {two}");
    for _ in 0..2 {
        let page = run("Page", json!({"n": 10})).await;
        assert!(page.get("errors").is_none(), "{page}");
        assert_eq!(requested_cost(&page), ten, "the same price again: {page}");
    }
    // Another value: priced by it, not by the first.
    assert_eq!(requested_cost(&run("Page", json!({"n": 2})).await), two);
    // A value that makes the same text too costly is refused, after it passed with 10.
    let over = run("Page", json!({"n": 100})).await;
    assert!(over["errors"][0]["message"].as_str().unwrap().contains("too complex"), "{over}");
    // A value of the wrong type fails validation, whatever passed before with the same text.
    let wrong = run("Page", json!({"n": "many"})).await;
    assert!(wrong["errors"].as_array().is_some_and(|e| !e.is_empty()) && wrong.get("data").is_none(), "{wrong}");
    assert!(run("Page", json!({"n": 10})).await.get("errors").is_none(), "and the good value still passes");
    // The other operation of the same document is kept apart (async-graphql prices every
    // operation of a document, with the variables given).
    let other = run("Other", json!({"n": 10})).await;
    assert!(other.get("errors").is_none(), "{other}");
    assert_eq!(other["data"]["viewer"]["role"], "ADMIN", "{other}");
    assert!(other["data"].get("teams").is_none(), "the other operation ran: {other}");

    // A kept validation does not skip the charge: about 600 of the 1,000 points, not refunded
    // (expensive fields), pass once; the same text again must wait for the refill.
    let coverage: String = (0..5).map(|i| format!(" c{i}: territoryCoverage {{ on }}")).collect();
    let big = format!("{{{coverage} }}");
    let first = app.gql(Some(&org.admin_token), &big, json!({})).await;
    assert!(first.get("errors").is_none(), "{first}");
    let second = app.gql(Some(&org.admin_token), &big, json!({})).await;
    assert_eq!(error_code(&second), "RATE_LIMITED", "{second}");
}

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
    // About 600 of the 1,000 points, all of it spent (expensive fields are not refunded): the
    // first key may, the second must wait for the refill.
    let coverage: String = (0..5).map(|i| format!(" c{i}: territoryCoverage {{ on }}")).collect();
    let big = format!("{{{coverage} }}");
    let big = big.as_str();
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
