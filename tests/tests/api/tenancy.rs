use scorebord_tests::{Org, TestApp, backend_tests, error_code};
use serde_json::{Value, json};

backend_tests!(other_tenants_ids_answer_not_found, lists_never_show_another_tenant);

async fn other_tenants_ids_answer_not_found(app: &TestApp) {
    let a = app.seed_org("alpha").await;
    let b = app.seed_org("bravo").await;
    let teams_before = app.count_rows("teams").await;
    let members_before = app.count_rows("members").await;
    // Every operation that takes an ID, given B's IDs by A's admin.
    let cases: Vec<(&str, Value)> = vec![
        ("query($id: ID!) { team(id: $id) { name } }", json!({"id": b.sales})),
        ("query($id: ID!) { member(id: $id) { name } }", json!({"id": b.rep})),
        ("query($id: ID!) { members(filter: {teamId: $id}) { totalCount } }", json!({"id": b.sales})),
        ("mutation($id: ID!) { updateTeam(input: {id: $id, name: \"x\"}) { team { id } } }", json!({"id": b.sales})),
        ("mutation($id: ID!) { moveTeam(input: {id: $id}) { team { id } } }", json!({"id": b.inbound})),
        (
            "mutation($id: ID!, $p: ID!) { moveTeam(input: {id: $id, parentTeamId: $p}) { team { id } } }",
            json!({"id": a.inbound, "p": b.sales}),
        ),
        (
            "mutation($p: ID!) { createTeam(input: {name: \"x\", parentTeamId: $p}) { team { id } } }",
            json!({"p": b.sales}),
        ),
        (
            "mutation($m: ID!) { createTeam(input: {name: \"x\", managerId: $m}) { team { id } } }",
            json!({"m": b.manager}),
        ),
        (
            "mutation($id: ID!, $m: ID!) { updateTeam(input: {id: $id, managerId: $m}) { team { id } } }",
            json!({"id": a.sales, "m": b.admin}),
        ),
        ("mutation($id: ID!) { updateMember(input: {id: $id, name: \"x\"}) { member { id } } }", json!({"id": b.rep})),
        (
            "mutation($id: ID!, $t: ID!) { updateMember(input: {id: $id, teamId: $t}) { member { id } } }",
            json!({"id": a.rep, "t": b.sales}),
        ),
        (
            "mutation($t: ID!) { createMember(input: {name: \"x\", email: \"x@alpha.test\", salesRole: INBOUND, teamId: $t}) { member { id } } }",
            json!({"t": b.sales}),
        ),
        ("mutation($id: ID!) { deactivateMember(input: {id: $id}) { member { id } } }", json!({"id": b.rep})),
        ("mutation($id: ID!) { reactivateMember(input: {id: $id}) { member { id } } }", json!({"id": b.rep})),
    ];
    for (query, vars) in &cases {
        let body = app.gql(Some(&a.admin_token), query, vars.clone()).await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{query}: {body}");
        assert_no_trace_of(&body, &b);
    }
    // `node` answers null, as for an ID that names nothing.
    for id in [&b.rep, &b.sales, &b.gid] {
        let body = app.ok(&a.admin_token, "query($id: ID!) { node(id: $id) { id } }", json!({"id": id})).await;
        assert_eq!(body, json!({"node": null}));
    }
    // The same shape of request with a random, missing ID answers exactly the same.
    let missing = "VGVhbTowMTlhMDAwMC0wMDAwLTcwMDAtODAwMC0wMDAwMDAwMDAwMDA"; // Team:019a0000-0000-7000-8000-000000000000
    let body =
        app.gql(Some(&a.admin_token), "query($id: ID!) { team(id: $id) { name } }", json!({"id": missing})).await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    let nodes =
        app.ok(&a.admin_token, "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", json!({"ids": [b.rep, a.rep]})).await;
    assert!(nodes["nodes"][0].is_null());
    assert_eq!(nodes["nodes"][1]["id"], json!(a.rep));
    assert_eq!(app.count_rows("teams").await, teams_before);
    assert_eq!(app.count_rows("members").await, members_before);
}

fn assert_no_trace_of(body: &Value, other: &Org) {
    let text = body.to_string();
    assert!(!text.contains(&other.slug), "leaked the other org's name: {text}");
}

async fn lists_never_show_another_tenant(app: &TestApp) {
    let a = app.seed_org("alpha").await;
    let b = app.seed_org("bravo").await;
    for token in [&a.admin_token, &a.rep_token, &a.viewer_token] {
        let data = app
            .ok(
                token,
                "{ organization { name } teams(first: 20) { totalCount edges { node { name manager { name } members(first: 10) { nodes { name } } subTeams { name } } } }
                   members(first: 200) { totalCount edges { node { name email team { name } } } } viewer { member { name } organization { slug } } }",
                json!({}),
            )
            .await;
        assert_eq!(data["teams"]["totalCount"], 3);
        assert_eq!(data["members"]["totalCount"], 5);
        assert_no_trace_of(&data, &b);
        assert!(data.to_string().contains("alpha"));
    }
}
