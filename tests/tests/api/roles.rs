use scorebord_tests::{TestApp, backend_tests, error_code};
use serde_json::json;

backend_tests!(
    rep_and_viewer_cannot_write,
    manager_acts_only_inside_subtree,
    viewer_permissions_by_role,
    a_caller_without_the_role_is_refused_before_its_ids_are_read
);

const CREATE_MEMBER: &str =
    "mutation($i: CreateMemberInput!) { createMember(input: $i) { member { id } userErrors { code } } }";
const UPDATE_MEMBER: &str = "mutation($i: UpdateMemberInput!) { updateMember(input: $i) { member { name team { name } } userErrors { field code } } }";

async fn rep_and_viewer_cannot_write(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let members_before = app.count_rows("members").await;
    let new = json!({"i": {"name": "New Rep", "email": "new@acme.test", "salesRole": "INBOUND"}});
    for token in [&org.rep_token, &org.viewer_token, &org.manager_token] {
        let body = app.gql(Some(token), CREATE_MEMBER, new.clone()).await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    }
    for token in [&org.rep_token, &org.viewer_token] {
        let body = app
            .gql(
                Some(token),
                "mutation($i: CreateTeamInput!) { createTeam(input: $i) { team { id } } }",
                json!({"i": {"name": "Rogue", "parentTeamId": org.outbound}}),
            )
            .await;
        assert_eq!(error_code(&body), "FORBIDDEN");
        let body = app
            .gql(
                Some(token),
                "mutation { updateOrganization(input: {name: \"Pwned\"}) { organization { name } } }",
                json!({}),
            )
            .await;
        assert_eq!(error_code(&body), "FORBIDDEN");
        let body = app.gql(Some(token), UPDATE_MEMBER, json!({"i": {"id": org.inbound_rep, "name": "Renamed"}})).await;
        assert_eq!(error_code(&body), "FORBIDDEN");
    }
    assert_eq!(app.count_rows("members").await, members_before);
    // A rep may change their own name, but not their own team or role.
    let own = app.ok(&org.rep_token, UPDATE_MEMBER, json!({"i": {"id": org.rep, "name": "Rep Renamed"}})).await;
    assert_eq!(own["updateMember"]["member"]["name"], "Rep Renamed");
    let body = app.gql(Some(&org.rep_token), UPDATE_MEMBER, json!({"i": {"id": org.rep, "role": "ADMIN"}})).await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    // The admin can create.
    let created = app.ok(&org.admin_token, CREATE_MEMBER, new).await;
    assert!(created["createMember"]["member"]["id"].is_string());
}

async fn manager_acts_only_inside_subtree(app: &TestApp) {
    // The manager manages Outbound (a sub-team of Sales); Inbound is outside their reach.
    let org = app.seed_org("acme").await;
    let inside =
        app.ok(&org.manager_token, UPDATE_MEMBER, json!({"i": {"id": org.rep, "name": "Renamed By Manager"}})).await;
    assert_eq!(inside["updateMember"]["member"]["name"], "Renamed By Manager");
    let outside =
        app.gql(Some(&org.manager_token), UPDATE_MEMBER, json!({"i": {"id": org.inbound_rep, "name": "Nope"}})).await;
    assert_eq!(error_code(&outside), "FORBIDDEN");
    // Moving someone of their own team into a team outside their reach is refused too.
    let body =
        app.gql(Some(&org.manager_token), UPDATE_MEMBER, json!({"i": {"id": org.rep, "teamId": org.inbound}})).await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    // Role changes are for admins.
    let body = app.gql(Some(&org.manager_token), UPDATE_MEMBER, json!({"i": {"id": org.rep, "role": "MANAGER"}})).await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    // Teams: below their team yes, elsewhere no, top level no.
    let q = "mutation($i: CreateTeamInput!) { createTeam(input: $i) { team { name parentTeam { name } } userErrors { code } } }";
    let sub =
        app.ok(&org.manager_token, q, json!({"i": {"name": "Outbound North", "parentTeamId": org.outbound}})).await;
    assert_eq!(sub["createTeam"]["team"]["parentTeam"]["name"], "acme Outbound");
    for parent in [json!(org.inbound), json!(org.sales), json!(null)] {
        let body =
            app.gql(Some(&org.manager_token), q, json!({"i": {"name": "Elsewhere", "parentTeamId": parent}})).await;
        assert_eq!(error_code(&body), "FORBIDDEN", "parent {parent}");
    }
    // Deactivation inside only.
    let d = "mutation($id: ID!) { deactivateMember(input: {id: $id}) { member { active } userErrors { code } } }";
    assert_eq!(error_code(&app.gql(Some(&org.manager_token), d, json!({"id": org.inbound_rep})).await), "FORBIDDEN");
    let ok = app.ok(&org.manager_token, d, json!({"id": org.rep})).await;
    assert_eq!(ok["deactivateMember"]["member"]["active"], false);
    let me = app.ok(&org.manager_token, d, json!({"id": org.manager})).await;
    assert_eq!(me["deactivateMember"]["userErrors"][0]["code"], "SELF");
}

async fn viewer_permissions_by_role(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let q = "{ viewer { role permissions } }";
    let admin = app.ok(&org.admin_token, q, json!({})).await;
    assert_eq!(admin["viewer"]["role"], "ADMIN");
    assert!(admin["viewer"]["permissions"].as_array().unwrap().contains(&json!("MEMBERS_CREATE")));
    let manager = app.ok(&org.manager_token, q, json!({})).await;
    assert_eq!(manager["viewer"]["permissions"], json!(["ORGANIZATION_READ", "TEAMS_WRITE", "MEMBERS_WRITE"]));
    let rep = app.ok(&org.rep_token, q, json!({})).await;
    assert_eq!(rep["viewer"]["permissions"], json!(["ORGANIZATION_READ"]));
}

/// Admin-only writes answer FORBIDDEN to a rep or viewer whatever IDs they send: a malformed ID
/// is not read (BAD_USER_INPUT would tell them more than that they may not).
async fn a_caller_without_the_role_is_refused_before_its_ids_are_read(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let bad = "not-an-id";
    let writes = [
        ("updateIncentivePlan", "UpdateIncentivePlanInput", json!({"id": bad})),
        ("archiveIncentivePlan", "ArchiveIncentivePlanInput", json!({"id": bad})),
        (
            "assignIncentivePlan",
            "AssignIncentivePlanInput",
            json!({"planId": bad, "memberId": bad, "startsOn": "2026-01-01"}),
        ),
        ("endIncentivePlanAssignment", "EndIncentivePlanAssignmentInput", json!({"id": bad, "endsOn": "2026-01-31"})),
        (
            "runPayouts",
            "RunPayoutsInput",
            json!({"period": {"grain": "MONTH", "date": "2026-01-01"}, "memberIds": [bad]}),
        ),
        ("approveStatement", "StatementActionInput", json!({"id": bad})),
        ("markStatementPaid", "StatementActionInput", json!({"id": bad})),
        ("resolveDispute", "ResolveDisputeInput", json!({"id": bad, "resolution": "REJECTED", "note": "no"})),
        (
            "adjustForecast",
            "AdjustForecastInput",
            json!({"memberId": bad, "commit": "1", "bestCase": "2", "reason": "r"}),
        ),
        ("archiveTerritory", "ArchiveTerritoryInput", json!({"id": bad})),
        ("assignTerritory", "AssignTerritoryInput", json!({"territoryId": bad, "memberId": bad, "role": "OWNER"})),
    ];
    for (field, input, vars) in writes {
        let query = format!("mutation($i: {input}!) {{ {field}(input: $i) {{ __typename }} }}");
        for token in [&org.rep_token, &org.viewer_token] {
            let body = app.gql(Some(token), &query, json!({"i": vars.clone()})).await;
            assert_eq!(error_code(&body), "FORBIDDEN", "{field}: {body}");
        }
    }
}
