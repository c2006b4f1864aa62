//! A consulting firm: its staff sign in once, create and run client organizations, act in
//! them with the role the firm grants, and never reach another firm's clients.

use scorebord::firm::service::{NewPerson, create_firm};
use scorebord_tests::{TestApp, backend_tests, error_code};
use serde_json::{Value, json};

backend_tests!(
    a_firm_creates_clients_from_the_starter_and_acts_in_them,
    another_firm_and_the_clients_themselves_never_reach_the_firm,
    a_consultant_acts_only_where_granted_and_a_suspended_client_is_refused
);

const STAFF_PASSWORD: &str = "Tulpen-fiets-gracht-2026";

/// Sets a firm up as the CLI does; answers the firm admin's access token.
async fn firm(app: &TestApp, slug: &str) -> String {
    let person = NewPerson {
        name: format!("{slug} admin"),
        email: format!("admin@{slug}.firm.test"),
        password: Some(STAFF_PASSWORD.into()),
    };
    create_firm(&app.state.db, &format!("{slug} consultancy"), slug, person).await.expect("firm").expect("valid firm");
    firm_login(app, slug, &format!("admin@{slug}.firm.test"), None).await
}

async fn firm_login(app: &TestApp, firm: &str, email: &str, organization: Option<&str>) -> String {
    let body = try_firm_login(app, firm, email, organization).await;
    body["data"]["firmLogin"]["accessToken"].as_str().unwrap_or_else(|| panic!("firmLogin: {body}")).to_owned()
}

async fn try_firm_login(app: &TestApp, firm: &str, email: &str, organization: Option<&str>) -> Value {
    app.gql(
        None,
        "mutation($i: FirmLoginInput!) { firmLogin(input: $i) { accessToken organizationSlug } }",
        json!({"i": {"firmSlug": firm, "email": email, "password": STAFF_PASSWORD, "organization": organization}}),
    )
    .await
}

/// The UUID inside a global ID.
fn raw_id(gid: &Value) -> uuid::Uuid {
    use base64::Engine as _;
    let text =
        String::from_utf8(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(gid.as_str().unwrap()).unwrap())
            .unwrap();
    uuid::Uuid::parse_str(text.split_once(':').unwrap().1).unwrap()
}

/// POSTs as `token`, acting in `organization` (the `X-Scorebord-Organization` header).
async fn gql_in(app: &TestApp, token: &str, organization: &str, query: &str, variables: Value) -> Value {
    app.client
        .post(format!("{}/graphql", app.base_url))
        .bearer_auth(token)
        .header("X-Scorebord-Organization", organization)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON")
}

const CREATE: &str = "mutation($i: CreateClientOrganizationInput!) { createClientOrganization(input: $i) {
  organization { id slug status displayName primaryColor timeZone }
  firstAdmin { id email } firstAdminPassword templateApplied userErrors { field code message } } }";

async fn create_client(app: &TestApp, token: &str, slug: &str, starter: bool) -> Value {
    let input = json!({
        "name": format!("{slug} B.V."), "slug": slug,
        "branding": {"displayName": format!("{slug} sales"), "primaryColor": "#FF6600"},
        "firstAdmin": {"name": "Client Admin", "email": format!("admin@{slug}.test")},
        "template": if starter { json!("STARTER") } else { Value::Null },
    });
    let body = app.ok(token, CREATE, json!({"i": input})).await;
    let payload = body["createClientOrganization"].clone();
    assert_eq!(payload["userErrors"], json!([]), "{payload}");
    payload
}

async fn member_login(app: &TestApp, org: &str, email: &str, password: &str) -> Value {
    app.gql(
        None,
        "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
        json!({"i": {"organizationSlug": org, "email": email, "password": password}}),
    )
    .await
}

const CLIENTS: &str =
    "{ clientOrganizations { totalCount nodes { slug status usage { members activitiesThisMonth lastActivityOn } } } }";

async fn a_firm_creates_clients_from_the_starter_and_acts_in_them(app: &TestApp) {
    let admin = firm(app, "north").await;
    let alpha = create_client(app, &admin, "alpha", true).await;
    assert_eq!(alpha["organization"]["status"], "ACTIVE");
    assert_eq!(alpha["organization"]["displayName"], "alpha sales");
    assert_eq!(alpha["organization"]["primaryColor"], "#FF6600");
    assert_eq!(alpha["templateApplied"], true);
    let password = alpha["firstAdminPassword"].as_str().expect("a generated password").to_owned();
    let beta = create_client(app, &admin, "beta", false).await;
    assert_eq!(beta["templateApplied"], false);

    // The slug is the server's: a second one is refused, and nothing is written.
    let again = app
        .ok(
            &admin,
            CREATE,
            json!({"i": {"name": "Again", "slug": "alpha", "firstAdmin": {"name": "A", "email": "a@again.test"}}}),
        )
        .await;
    assert_eq!(again["createClientOrganization"]["userErrors"][0]["code"], "TAKEN", "{again}");
    let bad = app
        .ok(&admin, CREATE, json!({"i": {"name": "", "slug": "-x", "timeZone": "Mars/Base", "firstAdmin": {"name": "A", "email": "nope"}}}))
        .await;
    let fields: Vec<String> = bad["createClientOrganization"]["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect::<Vec<_>>().join("."))
        .collect();
    for f in ["input.name", "input.slug", "input.timeZone", "input.firstAdmin.email"] {
        assert!(fields.iter().any(|x| x == f), "{f} in {fields:?}");
    }

    // The client's first admin signs in with the generated password, and logs an activity of
    // the starter's types.
    let login = member_login(app, "alpha", "admin@alpha.test", &password).await;
    let client_admin = login["data"]["login"]["accessToken"].as_str().unwrap_or_else(|| panic!("{login}")).to_owned();
    let types = app.ok(&client_admin, "{ activityTypes { nodes { id name } } }", json!({})).await;
    let quote = types["activityTypes"]["nodes"].as_array().unwrap().iter().find(|t| t["name"] == "Quote sent").unwrap()
        ["id"]
        .clone();
    let log = app
        .ok(
            &client_admin,
            "mutation($i: LogActivityInput!) { logActivity(input: $i) { userErrors { message } } }",
            json!({"i": {"activityTypeId": quote}}),
        )
        .await;
    assert_eq!(log["logActivity"]["userErrors"], json!([]), "{log}");

    // The firm's overview: both clients, by name, with their usage.
    let list = app.ok(&admin, CLIENTS, json!({})).await["clientOrganizations"].clone();
    assert_eq!(list["totalCount"], 2);
    let today = scorebord_tests::org_today().to_string();
    assert_eq!(
        list["nodes"],
        json!([
            {"slug": "alpha", "status": "ACTIVE", "usage": {"members": 1, "activitiesThisMonth": 1, "lastActivityOn": today}},
            {"slug": "beta", "status": "ACTIVE", "usage": {"members": 1, "activitiesThisMonth": 0, "lastActivityOn": null}},
        ])
    );
    let one = app
        .ok(
            &admin,
            "query($id: ID!) { clientOrganization(id: $id) { slug usage { members } } }",
            json!({"id": alpha["organization"]["id"]}),
        )
        .await;
    assert_eq!(one["clientOrganization"], json!({"slug": "alpha", "usage": {"members": 1}}));

    // The firm admin acts in a client by naming it: an admin there, audited as themself.
    let none = app.gql(Some(&admin), "{ pipelineStages { name } }", json!({})).await;
    assert_eq!(error_code(&none), "FORBIDDEN", "no client named: {none}");
    let inside = gql_in(app, &admin, "alpha", "{ organization { slug } pipelineStages { name } }", json!({})).await;
    assert_eq!(inside["data"]["organization"]["slug"], "alpha", "{inside}");
    assert_eq!(inside["data"]["pipelineStages"].as_array().map(Vec::len), Some(7));
    let team = gql_in(
        app,
        &admin,
        "alpha",
        "mutation { createTeam(input: {name: \"Inbound\"}) { team { name } userErrors { message } } }",
        json!({}),
    )
    .await;
    assert_eq!(team["data"]["createTeam"]["team"]["name"], "Inbound", "{team}");
    let audit = gql_in(
        app,
        &admin,
        "alpha",
        "{ auditLog(first: 100) { nodes { action actorKind actorStaffId actor { name } } } }",
        json!({}),
    )
    .await;
    let entries = audit["data"]["auditLog"]["nodes"].as_array().unwrap_or_else(|| panic!("{audit}")).clone();
    let by_staff: Vec<&Value> = entries.iter().filter(|e| e["actorKind"] == "firm_staff").collect();
    assert!(by_staff.iter().any(|e| e["action"] == "organization.create"), "{audit}");
    assert!(by_staff.iter().any(|e| e["action"] == "team.create"), "{audit}");
    assert!(by_staff.iter().all(|e| e["actorStaffId"].is_string() && e["actor"].is_null()), "{audit}");

    // A new client copies alpha's set-up: stages, types, targets, a custom KPI with its activity
    // types renamed to the copy's own; none of alpha's people, teams or data.
    let quote_alpha = quote.clone();
    let kpi = gql_in(
        app,
        &admin,
        "alpha",
        "mutation($t: ID!) { createKpi(input: {key: \"quotes\", name: \"Quotes\", kind: ACTIVITY_COUNT, unit: COUNT, activityTypeIds: [$t]}) { kpi { formula } userErrors { message } } }",
        json!({"t": quote_alpha}),
    )
    .await;
    assert_eq!(kpi["data"]["createKpi"]["userErrors"], json!([]), "{kpi}");
    let copy = app
        .ok(
            &admin,
            CREATE,
            json!({"i": {"name": "Gamma", "slug": "gamma", "copySetupFrom": alpha["organization"]["id"],
            "firstAdmin": {"name": "Gamma Admin", "email": "admin@gamma.test"}}}),
        )
        .await["createClientOrganization"]
        .clone();
    assert_eq!((copy["templateApplied"].clone(), copy["userErrors"].clone()), (json!(true), json!([])), "{copy}");
    let setup =
        "{ pipelineStages { name checklist { label } } activityTypes { nodes { id name points } } alertRules { kpiKey }
      mysteryCriteria { name } kpis { key formula } teams { totalCount } members { totalCount } deals { totalCount } }";
    let (a, g) = (
        gql_in(app, &admin, "alpha", setup, json!({})).await["data"].clone(),
        gql_in(app, &admin, "gamma", setup, json!({})).await["data"].clone(),
    );
    for same in ["pipelineStages", "alertRules", "mysteryCriteria"] {
        assert_eq!(a[same], g[same], "{same}");
    }
    let names = |d: &Value| -> Vec<(Value, Value)> {
        d["activityTypes"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["name"].clone(), t["points"].clone()))
            .collect()
    };
    assert_eq!(names(&a), names(&g));
    let ids = |d: &Value| -> Vec<Value> {
        d["activityTypes"]["nodes"].as_array().unwrap().iter().map(|t| t["id"].clone()).collect()
    };
    assert!(ids(&a).iter().all(|id| !ids(&g).contains(id)), "the copy has its own IDs");
    assert!(g["kpis"].as_array().unwrap().iter().any(|k| k["key"] == "quotes"), "{g}");
    // The copied KPI counts the copy's own "Quote sent", not alpha's.
    let gamma_quote =
        g["activityTypes"]["nodes"].as_array().unwrap().iter().find(|t| t["name"] == "Quote sent").unwrap()["id"]
            .clone();
    let row = {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        entity::kpi::Entity::find()
            .filter(entity::kpi::Column::Key.eq("quotes"))
            .filter(entity::kpi::Column::OrganizationId.eq(raw_id(&copy["organization"]["id"])))
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap()
    };
    assert_eq!(row.activity_type_ids, format!("[\"{}\"]", raw_id(&gamma_quote)), "{row:?}");
    assert_eq!(
        (g["teams"]["totalCount"].clone(), g["members"]["totalCount"].clone(), g["deals"]["totalCount"].clone()),
        (json!(0), json!(1), json!(0))
    );
    let both = app
        .ok(&admin, CREATE, json!({"i": {"name": "Delta", "slug": "delta", "copySetupFrom": alpha["organization"]["id"], "template": "STARTER",
            "firstAdmin": {"name": "D", "email": "d@delta.test"}}}))
        .await;
    assert_eq!(both["createClientOrganization"]["userErrors"][0]["code"], "ONE_OF", "{both}");

    // A token signed in to a client carries it; what staff cannot be in a client is refused
    // cleanly (a key acts with its creator's reach; staff log no activities of their own).
    let in_alpha = firm_login(app, "north", "admin@north.firm.test", Some("alpha")).await;
    assert_eq!(app.ok(&in_alpha, "{ organization { slug } }", json!({})).await["organization"]["slug"], "alpha");
    let key = app
        .gql(
            Some(&in_alpha),
            "mutation { createApiKey(input: {name: \"K\", scopes: [\"org:read\"]}) { secret } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&key), "FORBIDDEN", "{key}");
    let own = app
        .gql(
            Some(&in_alpha),
            "mutation($i: LogActivityInput!) { logActivity(input: $i) { activity { id } userErrors { message } } }",
            json!({"i": {"activityTypeId": quote}}),
        )
        .await;
    assert!(own["data"]["logActivity"]["activity"].is_null(), "{own}");
    assert_ne!(error_code(&own), "INTERNAL", "{own}");
}

async fn another_firm_and_the_clients_themselves_never_reach_the_firm(app: &TestApp) {
    let north = firm(app, "north").await;
    let south = firm(app, "south").await;
    let alpha = create_client(app, &north, "alpha", false).await;
    let alpha_id = alpha["organization"]["id"].clone();
    let password = alpha["firstAdminPassword"].as_str().unwrap().to_owned();
    let single = app.seed_org("acme").await;

    // Another firm sees none of it, and cannot act on it or in it.
    assert_eq!(app.ok(&south, CLIENTS, json!({})).await["clientOrganizations"]["totalCount"], 0);
    let read = app
        .gql(Some(&south), "query($id: ID!) { clientOrganization(id: $id) { slug } }", json!({"id": alpha_id}))
        .await;
    assert_eq!(error_code(&read), "NOT_FOUND", "{read}");
    let suspend = app
        .gql(
            Some(&south),
            "mutation($id: ID!) { suspendClientOrganization(input: {id: $id}) { userErrors { code } } }",
            json!({"id": alpha_id}),
        )
        .await;
    assert_eq!(error_code(&suspend), "NOT_FOUND", "{suspend}");
    let copy = app
        .gql(
            Some(&south),
            CREATE,
            json!({"i": {"name": "Theirs", "slug": "theirs", "copySetupFrom": alpha_id,
            "firstAdmin": {"name": "T", "email": "t@theirs.test"}}}),
        )
        .await;
    assert_eq!(error_code(&copy), "NOT_FOUND", "another firm's client is not copied: {copy}");
    let inside = gql_in(app, &south, "alpha", "{ organization { slug } }", json!({})).await;
    assert_eq!(error_code(&inside), "UNAUTHENTICATED", "{inside}");
    let login = try_firm_login(app, "south", "admin@south.firm.test", Some("alpha")).await;
    assert_eq!(error_code(&login), "FORBIDDEN", "{login}");
    // Nor a company of no firm.
    let acme = gql_in(app, &north, "acme", "{ organization { slug } }", json!({})).await;
    assert_eq!(error_code(&acme), "UNAUTHENTICATED", "{acme}");

    // The clients' own people reach none of the firm's calls, whatever they hold.
    let client_admin = member_login(app, "alpha", "admin@alpha.test", &password).await["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = app
        .ok(
            &single.admin_token,
            "mutation { createApiKey(input: {name: \"All\", scopes: [\"org:read\", \"scores:read\"]}) { secret } }",
            json!({}),
        )
        .await["createApiKey"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    for token in [client_admin.as_str(), single.admin_token.as_str(), single.rep_token.as_str(), key.as_str()] {
        for q in [CLIENTS, "{ firm { name } }"] {
            let body = app.gql(Some(token), q, json!({})).await;
            assert_eq!(error_code(&body), "FORBIDDEN", "{q}: {body}");
        }
        let create = app
            .gql(
                Some(token),
                CREATE,
                json!({"i": {"name": "X", "slug": "xx", "firstAdmin": {"name": "A", "email": "a@x.test"}}}),
            )
            .await;
        assert_eq!(error_code(&create), "FORBIDDEN", "{create}");
    }
    assert_eq!(error_code(&app.gql(None, CLIENTS, json!({})).await), "UNAUTHENTICATED");
    // A member's token stays in its own organization even when it names another.
    let other = gql_in(app, &client_admin, "acme", "{ organization { slug } }", json!({})).await;
    assert_eq!(error_code(&other), "UNAUTHENTICATED", "{other}");
    let same = gql_in(app, &client_admin, "alpha", "{ organization { slug } }", json!({})).await;
    assert_eq!(same["data"]["organization"]["slug"], "alpha", "{same}");
    // A bad password for staff answers like any bad credential.
    let wrong = app
        .gql(None, "mutation { firmLogin(input: {firmSlug: \"north\", email: \"admin@north.firm.test\", password: \"nope\"}) { accessToken } }", json!({}))
        .await;
    assert_eq!(error_code(&wrong), "UNAUTHENTICATED", "{wrong}");
}

async fn a_consultant_acts_only_where_granted_and_a_suspended_client_is_refused(app: &TestApp) {
    let admin = firm(app, "north").await;
    let alpha = create_client(app, &admin, "alpha", true).await;
    let alpha_id = alpha["organization"]["id"].clone();
    let password = alpha["firstAdminPassword"].as_str().unwrap().to_owned();
    create_client(app, &admin, "beta", false).await;
    let staff = app
        .ok(
            &admin,
            "mutation($i: CreateFirmStaffInput!) { createFirmStaff(input: $i) { staff { id role } initialPassword userErrors { code } } }",
            json!({"i": {"name": "Consultant", "email": "consultant@north.firm.test", "password": STAFF_PASSWORD, "role": "FIRM_CONSULTANT"}}),
        )
        .await["createFirmStaff"]
        .clone();
    assert_eq!(staff["staff"]["role"], "FIRM_CONSULTANT", "{staff}");
    assert!(staff["initialPassword"].is_null());
    let staff_id = staff["staff"]["id"].clone();

    // Without a grant the consultant is nowhere.
    let refused = try_firm_login(app, "north", "consultant@north.firm.test", Some("alpha")).await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    let consultant = firm_login(app, "north", "consultant@north.firm.test", None).await;
    assert_eq!(app.ok(&consultant, CLIENTS, json!({})).await["clientOrganizations"]["totalCount"], 0);
    let create = app
        .gql(
            Some(&consultant),
            CREATE,
            json!({"i": {"name": "X", "slug": "xx", "firstAdmin": {"name": "A", "email": "a@x.test"}}}),
        )
        .await;
    assert_eq!(error_code(&create), "FORBIDDEN", "a consultant creates no clients: {create}");

    // Granted VIEWER in alpha: reads there, writes nothing, sees only alpha.
    let grant = "mutation($i: SetFirmGrantInput!) { setFirmGrant(input: $i) { role userErrors { code } } }";
    let manager =
        app.ok(&admin, grant, json!({"i": {"staffId": staff_id, "organizationId": alpha_id, "role": "MANAGER"}})).await;
    assert_eq!(manager["setFirmGrant"]["userErrors"][0]["code"], "NOT_GRANTABLE", "{manager}");
    let viewer =
        app.ok(&admin, grant, json!({"i": {"staffId": staff_id, "organizationId": alpha_id, "role": "VIEWER"}})).await;
    assert_eq!(viewer["setFirmGrant"], json!({"role": "VIEWER", "userErrors": []}));
    let by_consultant = app
        .gql(Some(&consultant), grant, json!({"i": {"staffId": staff_id, "organizationId": alpha_id, "role": "ADMIN"}}))
        .await;
    assert_eq!(error_code(&by_consultant), "FORBIDDEN", "{by_consultant}");
    let in_alpha = firm_login(app, "north", "consultant@north.firm.test", Some("alpha")).await;
    let stages = app.ok(&in_alpha, "{ pipelineStages { name } }", json!({})).await;
    assert_eq!(stages["pipelineStages"].as_array().map(Vec::len), Some(7));
    let write =
        app.gql(Some(&in_alpha), "mutation { createTeam(input: {name: \"X\"}) { team { id } } }", json!({})).await;
    assert_eq!(error_code(&write), "FORBIDDEN", "{write}");
    let list = app.ok(&consultant, CLIENTS, json!({})).await;
    assert_eq!(list["clientOrganizations"]["totalCount"], 1, "{list}");
    assert_eq!(
        error_code(&gql_in(app, &consultant, "beta", "{ organization { slug } }", json!({})).await),
        "UNAUTHENTICATED"
    );

    // A consultant who leaves is stopped everywhere at once; the last firm admin stays.
    let active = "mutation($i: SetFirmStaffActiveInput!) { setFirmStaffActive(input: $i) { staff { active } userErrors { code } } }";
    let by_consultant = app.gql(Some(&consultant), active, json!({"i": {"staffId": staff_id, "active": false}})).await;
    assert_eq!(error_code(&by_consultant), "FORBIDDEN", "{by_consultant}");
    let mut ws = app.ws_as(&in_alpha).await;
    let off = app.ok(&admin, active, json!({"i": {"staffId": staff_id, "active": false}})).await;
    // Their open socket in the client closes too.
    let mut closed = None;
    for _ in 0..50 {
        if let Some(scorebord_tests::WsEvent::Closed(code, reason)) =
            ws.next_within(std::time::Duration::from_millis(200)).await
        {
            closed = Some((code, reason));
            break;
        }
    }
    assert_eq!(closed.as_ref().map(|c| c.0), Some(4403), "{closed:?}");
    assert_eq!(off["setFirmStaffActive"], json!({"staff": {"active": false}, "userErrors": []}));
    assert_eq!(
        error_code(&app.gql(Some(&in_alpha), "{ pipelineStages { name } }", json!({})).await),
        "UNAUTHENTICATED"
    );
    assert_eq!(error_code(&app.gql(Some(&consultant), CLIENTS, json!({})).await), "UNAUTHENTICATED");
    assert_eq!(error_code(&try_firm_login(app, "north", "consultant@north.firm.test", None).await), "UNAUTHENTICATED");
    let admin_id = app.ok(&admin, "{ firm { staff { id role } } }", json!({})).await["firm"]["staff"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["role"] == "FIRM_ADMIN")
        .unwrap()["id"]
        .clone();
    let last = app.ok(&admin, active, json!({"i": {"staffId": admin_id, "active": false}})).await;
    assert_eq!(last["setFirmStaffActive"]["userErrors"][0]["code"], "LAST_ADMIN", "{last}");
    let on = app.ok(&admin, active, json!({"i": {"staffId": staff_id, "active": true}})).await;
    assert_eq!(on["setFirmStaffActive"]["staff"]["active"], true);
    let in_alpha = firm_login(app, "north", "consultant@north.firm.test", Some("alpha")).await;

    // Taking the grant back works from the next request on.
    let revoke =
        app.ok(&admin, grant, json!({"i": {"staffId": staff_id, "organizationId": alpha_id, "role": null}})).await;
    assert_eq!(revoke["setFirmGrant"], json!({"role": null, "userErrors": []}));
    assert_eq!(
        error_code(&app.gql(Some(&in_alpha), "{ pipelineStages { name } }", json!({})).await),
        "UNAUTHENTICATED"
    );

    // Suspending refuses the client's tokens, sign-ins and keys with a clear reason; resuming
    // lets them back in. Nothing is lost.
    let client_admin = member_login(app, "alpha", "admin@alpha.test", &password).await["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = app
        .ok(
            &client_admin,
            "mutation { createApiKey(input: {name: \"BI\", scopes: [\"org:read\"]}) { secret } }",
            json!({}),
        )
        .await["createApiKey"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let suspend = "mutation($id: ID!) { suspendClientOrganization(input: {id: $id}) { organization { status } userErrors { code } } }";
    let done = app.ok(&admin, suspend, json!({"id": alpha_id})).await;
    assert_eq!(done["suspendClientOrganization"], json!({"organization": {"status": "SUSPENDED"}, "userErrors": []}));
    let twice = app.ok(&admin, suspend, json!({"id": alpha_id})).await;
    assert_eq!(twice["suspendClientOrganization"]["userErrors"][0]["code"], "UNCHANGED");
    let suspended = |body: &Value| {
        assert_eq!(error_code(body), "FORBIDDEN", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["reason"], "ORGANIZATION_SUSPENDED", "{body}");
    };
    suspended(&app.gql(Some(&client_admin), "{ organization { slug } }", json!({})).await);
    suspended(&app.gql(Some(&key), "{ organization { slug } }", json!({})).await);
    suspended(&member_login(app, "alpha", "admin@alpha.test", &password).await);
    suspended(&gql_in(app, &admin, "alpha", "{ organization { slug } }", json!({})).await);
    let statuses = app.ok(&admin, "{ clientOrganizations(status: SUSPENDED) { nodes { slug } } }", json!({})).await;
    assert_eq!(statuses["clientOrganizations"]["nodes"], json!([{"slug": "alpha"}]));
    let resume = "mutation($id: ID!) { resumeClientOrganization(input: {id: $id}) { organization { status } } }";
    assert_eq!(
        app.ok(&admin, resume, json!({"id": alpha_id})).await["resumeClientOrganization"]["organization"]["status"],
        "ACTIVE"
    );
    assert_eq!(
        app.ok(&client_admin, "{ pipelineStages { name } }", json!({})).await["pipelineStages"]
            .as_array()
            .map(Vec::len),
        Some(7)
    );
    assert_eq!(app.ok(&key, "{ organization { slug } }", json!({})).await["organization"]["slug"], "alpha");
}
