use scorebord_tests::{TestApp, backend_tests, error_code};
use serde_json::{Value, json};

backend_tests!(
    update_organization_validates_and_versions,
    teams_crud_move_and_cycles,
    members_crud_filters_and_validation,
);

const UPDATE_ORG: &str = "mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) {
  organization { name timeZone currency fiscalYearStartMonth version branding { displayName logoUrl primaryColor secondaryColor } }
  userErrors { field message code } } }";

fn fields(payload: &Value) -> Vec<String> {
    payload["userErrors"].as_array().unwrap().iter().map(|e| e["field"][1].as_str().unwrap().to_owned()).collect()
}

async fn update_organization_validates_and_versions(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let bad = app
        .ok(
            &org.admin_token,
            UPDATE_ORG,
            json!({"i": {"name": "  ", "timeZone": "Mars/Olympus", "currency": "EURO", "primaryColor": "red",
                          "fiscalYearStartMonth": 13, "logoUrl": "javascript:alert(1)"}}),
        )
        .await;
    let p = &bad["updateOrganization"];
    assert!(p["organization"].is_null());
    assert_eq!(fields(p), vec!["name", "logoUrl", "primaryColor", "timeZone", "currency", "fiscalYearStartMonth"]);
    let unchanged = app.ok(&org.admin_token, "{ organization { name timeZone version } }", json!({})).await;
    assert_eq!(unchanged["organization"], json!({"name": "acme B.V.", "timeZone": "Europe/Amsterdam", "version": 1}));

    let ok = app
        .ok(
            &org.admin_token,
            UPDATE_ORG,
            json!({"i": {"version": 1, "name": "Acme Holding", "timeZone": "America/New_York", "currency": "usd",
                          "primaryColor": "#aabbcc", "displayName": "Acme", "logoUrl": "https://cdn.acme.test/logo.png", "fiscalYearStartMonth": 4}}),
        )
        .await;
    let o = &ok["updateOrganization"]["organization"];
    assert_eq!(o["name"], "Acme Holding");
    assert_eq!(o["currency"], "USD");
    assert_eq!(o["version"], 2);
    assert_eq!(o["branding"]["primaryColor"], "#AABBCC");
    assert_eq!(o["branding"]["displayName"], "Acme");
    assert_eq!(o["fiscalYearStartMonth"], 4);
    // A stale version is a conflict, not a silent overwrite.
    let stale = app.gql(Some(&org.admin_token), UPDATE_ORG, json!({"i": {"version": 1, "name": "Lost Update"}})).await;
    assert_eq!(error_code(&stale), "CONFLICT");
    // Null clears optional fields.
    let cleared = app.ok(&org.admin_token, UPDATE_ORG, json!({"i": {"displayName": null, "logoUrl": null}})).await;
    assert_eq!(cleared["updateOrganization"]["organization"]["branding"]["displayName"], "Acme Holding");
    assert!(cleared["updateOrganization"]["organization"]["branding"]["logoUrl"].is_null());
}

async fn teams_crud_move_and_cycles(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let create = "mutation($i: CreateTeamInput!) { createTeam(input: $i) { team { id name description parentTeam { name } manager { name } } userErrors { field code } } }";
    let before = app.count_rows("teams").await;
    let empty = app.ok(&org.admin_token, create, json!({"i": {"name": "   "}})).await;
    assert_eq!(empty["createTeam"]["userErrors"][0]["code"], "REQUIRED");
    let long = app.ok(&org.admin_token, create, json!({"i": {"name": "x".repeat(201)}})).await;
    assert_eq!(long["createTeam"]["userErrors"][0]["code"], "TOO_LONG");
    assert_eq!(app.count_rows("teams").await, before, "refused input writes nothing");

    let north = app
        .ok(&org.admin_token, create, json!({"i": {"name": "North <script>", "description": "O'Brien & co", "parentTeamId": org.outbound, "managerId": org.manager}}))
        .await;
    let north = &north["createTeam"]["team"];
    assert_eq!(north["name"], "North <script>", "text is stored as given, not mangled");
    assert_eq!(north["parentTeam"]["name"], "acme Outbound");
    assert_eq!(north["manager"]["name"], "acme Manager");
    let north_id = north["id"].as_str().unwrap().to_owned();

    // Cycles: Sales cannot move below its grandchild, nor below itself.
    let mv = "mutation($i: MoveTeamInput!) { moveTeam(input: $i) { team { name parentTeam { name } } userErrors { field code message } } }";
    for parent in [&north_id, &org.sales] {
        let cyc = app.ok(&org.admin_token, mv, json!({"i": {"id": org.sales, "parentTeamId": parent}})).await;
        assert_eq!(cyc["moveTeam"]["userErrors"][0]["code"], "CYCLE");
        assert_eq!(cyc["moveTeam"]["userErrors"][0]["field"], json!(["input", "parentTeamId"]));
    }
    let sales = app
        .ok(&org.admin_token, "query($id: ID!) { team(id: $id) { parentTeam { name } } }", json!({"id": org.sales}))
        .await;
    assert!(sales["team"]["parentTeam"].is_null(), "nothing moved");
    // A legal move, then to the top level.
    let moved = app.ok(&org.admin_token, mv, json!({"i": {"id": north_id, "parentTeamId": org.inbound}})).await;
    assert_eq!(moved["moveTeam"]["team"]["parentTeam"]["name"], "acme Inbound");
    let root = app.ok(&org.admin_token, mv, json!({"i": {"id": north_id, "parentTeamId": null}})).await;
    assert!(root["moveTeam"]["team"]["parentTeam"].is_null());

    let upd = "mutation($i: UpdateTeamInput!) { updateTeam(input: $i) { team { name description manager { name } } userErrors { code } } }";
    let u = app
        .ok(
            &org.admin_token,
            upd,
            json!({"i": {"id": north_id, "name": "North", "description": null, "managerId": null}}),
        )
        .await;
    assert_eq!(u["updateTeam"]["team"], json!({"name": "North", "description": null, "manager": null}));
    let roots =
        app.ok(&org.rep_token, "{ teams(filter: {rootsOnly: true}) { edges { node { name } } } }", json!({})).await;
    assert_eq!(roots["teams"]["edges"].as_array().unwrap().len(), 2);
    let subs = app
        .ok(
            &org.rep_token,
            "query($p: ID!) { teams(filter: {parentTeamId: $p}) { totalCount } }",
            json!({"p": org.sales}),
        )
        .await;
    assert_eq!(subs["teams"]["totalCount"], 2);
}

async fn members_crud_filters_and_validation(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let create = "mutation($i: CreateMemberInput!) { createMember(input: $i) { member { id name email role salesRole startDate active team { name } } userErrors { field code } } }";
    let before = app.count_rows("members").await;
    let bad = app
        .ok(&org.admin_token, create, json!({"i": {"name": "", "email": "not-an-email", "salesRole": "CLOSER", "password": "short", "startDate": "1800-01-01"}}))
        .await;
    let p = &bad["createMember"];
    assert!(p["member"].is_null());
    assert_eq!(fields(p), vec!["name", "email", "password", "startDate"]);
    let taken = app
        .ok(&org.admin_token, create, json!({"i": {"name": "Dup", "email": "REP@acme.test", "salesRole": "CLOSER"}}))
        .await;
    assert_eq!(taken["createMember"]["userErrors"][0]["code"], "TAKEN");
    assert_eq!(app.count_rows("members").await, before, "refused input writes nothing");

    let created = app
        .ok(
            &org.admin_token,
            create,
            json!({"i": {"name": "Zoë Closer", "email": "Zoe@Acme.test", "role": "REP", "salesRole": "CLOSER", "teamId": org.inbound,
                          "startDate": "2026-01-05", "password": "initial-password"}}),
        )
        .await;
    let m = &created["createMember"]["member"];
    assert_eq!(m["email"], "zoe@acme.test");
    assert_eq!(m["startDate"], "2026-01-05");
    assert_eq!(m["team"]["name"], "acme Inbound");
    let zoe = m["id"].as_str().unwrap().to_owned();
    // She can log in with the initial password.
    let login = app
        .gql(None, "mutation { login(input: {organizationSlug: \"acme\", email: \"zoe@acme.test\", password: \"initial-password\"}) { member { name } } }", json!({}))
        .await;
    assert_eq!(login["data"]["login"]["member"]["name"], "Zoë Closer");

    // Filters: team subtree, role, sales role, active, search.
    let q = "query($f: MemberFilterInput) { members(filter: $f) { totalCount edges { node { name } } } }";
    let count = |f: Value| {
        let token = org.rep_token.clone();
        async move { app.ok(&token, q, json!({"f": f})).await["members"]["totalCount"].as_i64().unwrap() }
    };
    assert_eq!(count(json!({"teamId": org.sales})).await, 6, "Sales and its sub-teams");
    assert_eq!(count(json!({"teamId": org.sales, "includeSubTeams": false})).await, 2);
    assert_eq!(count(json!({"teamId": org.inbound})).await, 2);
    assert_eq!(count(json!({"role": "REP"})).await, 3);
    assert_eq!(count(json!({"salesRole": "CLOSER"})).await, 1);
    assert_eq!(count(json!({"search": "zoë"})).await, 1);
    assert_eq!(count(json!({"search": "ZOE@"})).await, 1);

    // Update: e-mail clash is a user error; valid changes apply.
    let upd = "mutation($i: UpdateMemberInput!) { updateMember(input: $i) { member { name email salesRole team { name } } userErrors { field code } } }";
    let clash = app.ok(&org.admin_token, upd, json!({"i": {"id": zoe, "email": "rep@acme.test"}})).await;
    assert_eq!(clash["updateMember"]["userErrors"][0]["code"], "TAKEN");
    let ok = app
        .ok(
            &org.admin_token,
            upd,
            json!({"i": {"id": zoe, "salesRole": "INBOUND", "teamId": null, "email": "zoe.closer@acme.test"}}),
        )
        .await;
    assert_eq!(
        ok["updateMember"]["member"],
        json!({"name": "Zoë Closer", "email": "zoe.closer@acme.test", "salesRole": "INBOUND", "team": null})
    );

    // Deactivated members stay in history and filters.
    app.ok(
        &org.admin_token,
        "mutation($id: ID!) { deactivateMember(input: {id: $id}) { member { active } } }",
        json!({"id": zoe}),
    )
    .await;
    assert_eq!(count(json!({"active": false})).await, 1);
    assert_eq!(count(json!({"active": true})).await, 5);
}
