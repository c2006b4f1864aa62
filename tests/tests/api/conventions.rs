use scorebord_tests::{TestApp, backend_tests, error_code};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

backend_tests!(
    pagination_round_trips_and_bounds,
    malformed_ids_and_cursors,
    depth_and_complexity_limits,
    persisted_queries_hit_and_miss,
    malformed_requests,
);

async fn add_members(app: &TestApp, token: &str, n: usize) {
    for i in 0..n {
        let d = app
            .ok(
                token,
                "mutation($i: CreateMemberInput!) { createMember(input: $i) { member { id } userErrors { message } } }",
                json!({"i": {"name": format!("Extra {i:02}"), "email": format!("extra{i}@acme.test"), "salesRole": "OUTBOUND"}}),
            )
            .await;
        assert!(d["createMember"]["member"]["id"].is_string(), "{d}");
    }
}

const PAGE: &str = "query($first: Int, $after: String, $last: Int, $before: String) {
  members(first: $first, after: $after, last: $last, before: $before) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { name } } } }";

fn names(data: &Value) -> Vec<String> {
    data["members"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn pagination_round_trips_and_bounds(app: &TestApp) {
    let org = app.seed_org("acme").await;
    add_members(app, &org.admin_token, 12).await; // 17 members in all
    let all = app.ok(&org.rep_token, PAGE, json!({"first": 200})).await;
    assert_eq!(all["members"]["totalCount"], 17);
    let all_names = names(&all);
    assert_eq!(all_names.len(), 17);
    let mut sorted = all_names.clone();
    sorted.sort();
    assert_eq!(all_names, sorted, "members are ordered by name");

    // Forward, 5 at a time: every member exactly once.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = app.ok(&org.rep_token, PAGE, json!({"first": 5, "after": after})).await;
        assert_eq!(page["members"]["totalCount"], 17);
        seen.extend(names(&page));
        let info = &page["members"]["pageInfo"];
        if !info["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = info["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, all_names);

    // Backward from the end.
    let last = app.ok(&org.rep_token, PAGE, json!({"last": 3})).await;
    assert_eq!(names(&last), all_names[14..].to_vec());
    assert_eq!(last["members"]["pageInfo"]["hasPreviousPage"], true);
    let before = last["members"]["pageInfo"]["startCursor"].as_str().unwrap();
    let prev = app.ok(&org.rep_token, PAGE, json!({"last": 3, "before": before})).await;
    assert_eq!(names(&prev), all_names[11..14].to_vec());

    // Default page is 50; bounds are enforced.
    let default = app.ok(&org.rep_token, PAGE, json!({})).await;
    assert_eq!(names(&default).len(), 17);
    for (first, last) in [
        (Some(0), None),
        (Some(201), None),
        (Some(-1), None),
        (Some(1_000_000), None),
        (None, Some(0)),
        (None, Some(500)),
    ] {
        let body = app.gql(Some(&org.rep_token), PAGE, json!({"first": first, "last": last})).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "first {first:?} last {last:?}: {body}");
    }
    let teams = app
        .ok(
            &org.rep_token,
            "{ teams(first: 2) { totalCount edges { node { name } } pageInfo { hasNextPage } } }",
            json!({}),
        )
        .await;
    assert_eq!(teams["teams"]["totalCount"], 3);
    assert_eq!(teams["teams"]["pageInfo"]["hasNextPage"], true);
}

async fn malformed_ids_and_cursors(app: &TestApp) {
    let org = app.seed_org("acme").await;
    for id in [
        "",
        "nonsense",
        "VGVhbTpub3QtYS11dWlk",
        "RGVhbDowMTlhMDAwMC0wMDAwLTcwMDAtODAwMC0wMDAwMDAwMDAwMDA",
        "'; DROP TABLE members; --",
    ] {
        let body = app.gql(Some(&org.rep_token), "query($id: ID!) { team(id: $id) { name } }", json!({"id": id})).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{id}: {body}");
    }
    // A member ID where a team ID is expected.
    let body =
        app.gql(Some(&org.rep_token), "query($id: ID!) { team(id: $id) { name } }", json!({"id": org.rep})).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    for cursor in ["garbage", "Y3Vyc29yOi0x", "Y3Vyc29yOmFiYw"] {
        let body = app.gql(Some(&org.rep_token), PAGE, json!({"after": cursor})).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{cursor}");
    }
    let body = app.gql(Some(&org.rep_token), "{ members(filter: {role: SUPERUSER}) { totalCount } }", json!({})).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let body = app
        .gql(
            Some(&org.rep_token),
            "query($s: String) { members(filter: {search: $s}) { totalCount } }",
            json!({"s": "x".repeat(201)}),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    // LIKE metacharacters are literal.
    let d = app.ok(&org.rep_token, "{ members(filter: {search: \"%\"}) { totalCount } }", json!({})).await;
    assert_eq!(d["members"]["totalCount"], 0);
    let d = app.ok(&org.rep_token, "{ members(filter: {search: \"ACME rep\"}) { totalCount } }", json!({})).await;
    assert_eq!(d["members"]["totalCount"], 1, "search is case-insensitive");
}

async fn depth_and_complexity_limits(app: &TestApp) {
    let org = app.seed_org("acme").await;
    // 16 levels of parentTeam exceed the depth limit of 15.
    let mut deep = String::from("name");
    for _ in 0..16 {
        deep = format!("parentTeam {{ {deep} }}");
    }
    let body =
        app.gql(Some(&org.rep_token), &format!("{{ teams {{ edges {{ node {{ {deep} }} }} }} }}"), json!({})).await;
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{body}");
    // 10,000 aliases exceed the complexity limit.
    let aliases: String = (0..10_000).map(|i| format!("a{i}: __typename ")).collect();
    let body = app.gql(Some(&org.rep_token), &format!("{{ {aliases} }}"), json!({})).await;
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{}", &body.to_string()[..200.min(body.to_string().len())]);
    // A reasonable query passes.
    app.ok(&org.rep_token, "{ teams { edges { node { parentTeam { parentTeam { name } } } } } }", json!({})).await;
}

async fn persisted_queries_hit_and_miss(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let query = "{ viewer { member { name } } }";
    let hash = hex::encode(Sha256::digest(query.as_bytes()));
    let post = |body: Value| {
        let req = app.client.post(format!("{}/graphql", app.base_url)).bearer_auth(&org.rep_token).json(&body);
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let ext = json!({"persistedQuery": {"version": 1, "sha256Hash": hash}});
    // Miss: the hash alone is unknown.
    let miss = post(json!({"extensions": ext})).await;
    assert_eq!(miss["errors"][0]["message"], "PersistedQueryNotFound");
    assert_eq!(error_code(&miss), "PERSISTED_QUERY_NOT_FOUND");
    // Register with the full query…
    let reg = post(json!({"query": query, "extensions": ext})).await;
    assert_eq!(reg["data"]["viewer"]["member"]["name"], "acme Rep");
    // …then the hash alone works.
    let hit = post(json!({"extensions": ext})).await;
    assert_eq!(hit["data"]["viewer"]["member"]["name"], "acme Rep", "{hit}");
    assert_eq!(app.count_rows("persisted_queries").await, 1);
    // A hash that does not match the query is refused.
    let bad = post(json!({"query": "{ viewer { role } }", "extensions": ext})).await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT");
}

async fn malformed_requests(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let url = format!("{}/graphql", app.base_url);
    let resp = app
        .client
        .post(&url)
        .bearer_auth(&org.rep_token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_client_error(), "{}", resp.status());
    let body = app.gql(Some(&org.rep_token), "{ viewer { ", json!({})).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let body = app.gql(Some(&org.rep_token), "{ nope }", json!({})).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let body = app
        .gql(
            Some(&org.rep_token),
            "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
            json!({}),
        )
        .await;
    // A fragment cycle nests without end: refused by the recursion limit before it runs.
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{body}");
}
