//! A leaving client: its data handed over as an archive, read back into a new client with
//! equal counts, and erased (every row of it) after the deletion is requested.

use scorebord::archive::model::TABLES;
use scorebord::archive::service::counts;
use scorebord::core::ids::OrgId;
use scorebord::firm::service::{NewPerson, create_firm};
use scorebord_tests::{TestApp, backend_tests, error_code};
use serde_json::{Value, json};

backend_tests!(
    a_client_exported_reads_back_into_a_new_client_with_equal_counts,
    a_deleted_client_is_erased_to_the_last_row_after_its_grace
);

const STAFF_PASSWORD: &str = "Tulpen-fiets-gracht-2026";

async fn firm_admin(app: &TestApp) -> String {
    let person =
        NewPerson { name: "Anna".into(), email: "anna@north.test".into(), password: Some(STAFF_PASSWORD.into()) };
    create_firm(&app.state.db, "North", "north", person).await.unwrap().unwrap();
    let body = app
        .gql(
            None,
            "mutation($i: FirmLoginInput!) { firmLogin(input: $i) { accessToken } }",
            json!({"i": {"firmSlug": "north", "email": "anna@north.test", "password": STAFF_PASSWORD}}),
        )
        .await;
    body["data"]["firmLogin"]["accessToken"].as_str().unwrap().to_owned()
}

/// A client of the firm, set up from the starter, with a team, a rep, a deal and activities.
async fn busy_client(app: &TestApp, admin: &str, slug: &str) -> (String, String, String) {
    let created = app
        .ok(
            admin,
            "mutation($i: CreateClientOrganizationInput!) { createClientOrganization(input: $i) {
               organization { id } firstAdminPassword userErrors { message } } }",
            json!({"i": {"name": "Alpha", "slug": slug, "template": "STARTER",
                "firstAdmin": {"name": "Client Admin", "email": format!("admin@{slug}.test")}}}),
        )
        .await["createClientOrganization"]
        .clone();
    let password = created["firstAdminPassword"].as_str().unwrap().to_owned();
    let login = app
        .gql(
            None,
            "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
            json!({"i": {"organizationSlug": slug, "email": format!("admin@{slug}.test"), "password": password}}),
        )
        .await;
    let token = login["data"]["login"]["accessToken"].as_str().unwrap().to_owned();
    let team = app.ok(&token, "mutation { createTeam(input: {name: \"Sales\"}) { team { id } } }", json!({})).await
        ["createTeam"]["team"]["id"]
        .clone();
    let sub = app
        .ok(
            &token,
            "mutation($p: ID!) { createTeam(input: {name: \"Inbound\", parentTeamId: $p}) { team { id } } }",
            json!({"p": team}),
        )
        .await["createTeam"]["team"]["id"]
        .clone();
    app.ok(
        &token,
        "mutation($t: ID!) { createMember(input: {name: \"Rik\", email: \"rik@x.test\", role: REP, salesRole: OUTBOUND, teamId: $t}) { member { id } } }",
        json!({"t": sub}),
    )
    .await;
    let types = app.ok(&token, "{ activityTypes { nodes { id name } } }", json!({})).await;
    for t in types["activityTypes"]["nodes"].as_array().unwrap().iter().take(3) {
        let log = app
            .ok(
                &token,
                "mutation($i: LogActivityInput!) { logActivity(input: $i) { userErrors { message } } }",
                json!({"i": {"activityTypeId": t["id"]}}),
            )
            .await;
        assert_eq!(log["logActivity"]["userErrors"], json!([]), "{log}");
    }
    let deal = app
        .ok(&token, "mutation { createDeal(input: {name: \"First\", amount: \"1000\"}) { deal { id } userErrors { message } } }", json!({}))
        .await;
    assert!(deal["createDeal"]["deal"]["id"].is_string(), "{deal}");
    (created["organization"]["id"].as_str().unwrap().to_owned(), token, password)
}

async fn export(app: &TestApp, token: &str, organization: Option<&str>) -> (u16, String) {
    let mut req = app.client.get(format!("{}/exports/organization.ndjson", app.base_url)).bearer_auth(token);
    if let Some(o) = organization {
        req = req.header("X-Scorebord-Organization", o);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn import(app: &TestApp, token: &str, slug: &str, archive: String) -> (u16, Value) {
    let res = app
        .client
        .post(format!("{}/firm/clients/import?slug={slug}", app.base_url))
        .bearer_auth(token)
        .body(archive)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

fn org_of(gid: &str) -> OrgId {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(gid).unwrap();
    let text = String::from_utf8(raw).unwrap();
    OrgId(uuid::Uuid::parse_str(text.trim_start_matches("Organization:")).unwrap())
}

async fn a_client_exported_reads_back_into_a_new_client_with_equal_counts(app: &TestApp) {
    let admin = firm_admin(app).await;
    let (alpha, client_admin, password) = busy_client(app, &admin, "alpha").await;

    // Who may take the data out: the client's admin and the firm's staff acting as one; not a
    // rep, not a key, not the anonymous.
    let (status, archive) = export(app, &admin, Some("alpha")).await;
    assert_eq!(status, 200, "{archive}");
    let (own_status, own) = export(app, &client_admin, None).await;
    assert_eq!(own_status, 200);
    let lines = |text: &str| text.lines().count();
    assert_eq!(lines(&own), lines(&archive));
    let key = app
        .ok(
            &client_admin,
            "mutation { createApiKey(input: {name: \"K\", scopes: [\"org:read\", \"payouts:read\"]}) { secret } }",
            json!({}),
        )
        .await["createApiKey"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(export(app, &key, None).await.0, 403);
    assert_eq!(
        app.client.get(format!("{}/exports/organization.ndjson", app.base_url)).send().await.unwrap().status(),
        401
    );

    // The archive: a header, rows, and a manifest with the counts last.
    let parsed: Vec<Value> = archive.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(parsed[0]["scorebord_archive"], 1);
    let manifest = parsed.last().unwrap()["manifest"].clone();
    assert_eq!(manifest["rows"].as_u64().unwrap() as usize, parsed.len() - 2);
    assert_eq!(manifest["tables"]["team"], 2);
    assert_eq!(manifest["tables"]["pipeline_stage"], 7);
    assert!(manifest["tables"]["activity"].as_u64().unwrap() >= 3);
    assert!(!archive.contains("password123") && !archive.contains("\"secret\""), "no secrets of keys or webhooks");

    // Read back into a new client beside the original: equal counts in every archived table.
    let (status, body) = import(app, &admin, "alpha-copy", archive.clone()).await;
    assert_eq!(status, 201, "{body}");
    let copy = OrgId(uuid::Uuid::parse_str(body["organization"]["id"].as_str().unwrap()).unwrap());
    let before = counts(&app.state.db, org_of(&alpha)).await.unwrap();
    let after = counts(&app.state.db, copy).await.unwrap();
    for t in TABLES {
        // The copy's log also records the import itself.
        let archived = manifest["tables"][*t].as_u64().unwrap();
        let expected = if *t == "audit_entry" { archived + 1 } else { archived };
        assert_eq!(after[*t], expected, "{t}: {after:?}");
        if *t != "audit_entry" {
            assert_eq!(after[*t], before[*t], "{t}: the original and the copy hold as many");
        }
    }
    // The copy works: its admin signs in with the same password and finds the data.
    let login = app
        .gql(
            None,
            "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
            json!({"i": {"organizationSlug": "alpha-copy", "email": "admin@alpha.test", "password": password}}),
        )
        .await;
    let copy_admin = login["data"]["login"]["accessToken"].as_str().unwrap_or_else(|| panic!("{login}")).to_owned();
    let seen = app
        .ok(
            &copy_admin,
            "{ organization { slug } teams { totalCount } deals { totalCount } pipelineStages { name } }",
            json!({}),
        )
        .await;
    assert_eq!(seen["organization"]["slug"], "alpha-copy");
    assert_eq!(
        (seen["teams"]["totalCount"].clone(), seen["deals"]["totalCount"].clone()),
        (json!(2), json!(1)),
        "{seen}"
    );
    let list = app.ok(&admin, "{ clientOrganizations { totalCount } }", json!({})).await;
    assert_eq!(list["clientOrganizations"]["totalCount"], 2, "the copy is a client of the firm");

    // A cut-short or foreign archive writes nothing; a taken slug neither.
    let cut: String = archive.lines().take(archive.lines().count() - 1).map(|l| format!("{l}\n")).collect();
    assert_eq!(import(app, &admin, "alpha-cut", cut).await.0, 422);
    assert_eq!(import(app, &admin, "alpha-junk", "{\"hello\": 1}\n".into()).await.0, 422);
    assert_eq!(import(app, &admin, "alpha", archive.clone()).await.0, 422);
    assert_eq!(import(app, &client_admin, "alpha-by-member", archive).await.0, 403, "members import nothing");
    let slugs = app.ok(&admin, "{ clientOrganizations { nodes { slug } } }", json!({})).await;
    assert_eq!(slugs["clientOrganizations"]["nodes"], json!([{"slug": "alpha"}, {"slug": "alpha-copy"}]));
}

async fn a_deleted_client_is_erased_to_the_last_row_after_its_grace(app: &TestApp) {
    let admin = firm_admin(app).await;
    let (alpha, client_admin, _) = busy_client(app, &admin, "alpha").await;
    let (beta, beta_admin, _) = busy_client(app, &admin, "beta").await;
    const DELETE: &str = "mutation($id: ID!) { deleteClientOrganization(input: {id: $id}) {
      organization { status deletionDueAt } erased userErrors { code } } }";

    // With the default grace: refused at once, erased in 30 days unless cancelled.
    let pending = app.ok(&admin, DELETE, json!({"id": alpha})).await["deleteClientOrganization"].clone();
    assert_eq!(pending["organization"]["status"], "DELETION_PENDING", "{pending}");
    assert_eq!(pending["erased"], false);
    let body = app.gql(Some(&client_admin), "{ organization { slug } }", json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["reason"], "ORGANIZATION_SUSPENDED", "{body}");
    let again = app.ok(&admin, DELETE, json!({"id": alpha})).await;
    assert_eq!(again["deleteClientOrganization"]["userErrors"][0]["code"], "UNCHANGED");
    let cancel = app
        .ok(&admin, "mutation($id: ID!) { cancelClientOrganizationDeletion(input: {id: $id}) { organization { status deletionDueAt } } }", json!({"id": alpha}))
        .await;
    assert_eq!(
        cancel["cancelClientOrganizationDeletion"]["organization"],
        json!({"status": "ACTIVE", "deletionDueAt": null})
    );
    assert_eq!(app.ok(&client_admin, "{ organization { slug } }", json!({})).await["organization"]["slug"], "alpha");
    // A consultant, or another firm, deletes nothing.
    let by_member = app.gql(Some(&client_admin), DELETE, json!({"id": alpha})).await;
    assert_eq!(error_code(&by_member), "FORBIDDEN");

    // With no grace, every row of it goes, and nothing of the other client.
    let now = &TestApp::spawn_with(app.backend, |c| c.organization_deletion_grace_hours = 0).await;
    let admin = firm_admin(now).await;
    let (alpha, client_admin, _) = busy_client(now, &admin, "alpha").await;
    let (beta, _, _) = {
        let _ = (beta, beta_admin);
        busy_client(now, &admin, "beta").await
    };
    let before = counts(&now.state.db, org_of(&alpha)).await.unwrap();
    assert!(before.values().sum::<u64>() > 30, "{before:?}");
    // The catalogue's count sees the client's rows before (so its zeros after mean something).
    let seen = now.rows_per_table_of(org_of(&alpha).0).await;
    assert!(seen["members"] >= 2 && seen["organizations"] == 1 && seen["activities"] >= 3, "{seen:?}");
    let beta_before = counts(&now.state.db, org_of(&beta)).await.unwrap();
    let erased = now.ok(&admin, DELETE, json!({"id": alpha})).await["deleteClientOrganization"].clone();
    assert_eq!(erased["erased"], true, "{erased}");
    let after = now.rows_per_table_of(org_of(&alpha).0).await;
    let left: Vec<(&String, &i64)> = after.iter().filter(|(_, n)| **n > 0).collect();
    assert!(left.is_empty(), "rows of the erased client left: {left:?}");
    let rows_before = before.values().sum::<u64>();
    assert!(rows_before > 30, "{before:?}");
    assert_eq!(counts(&now.state.db, org_of(&beta)).await.unwrap(), beta_before, "the other client is untouched");
    let gone = now.gql(Some(&client_admin), "{ organization { slug } }", json!({})).await;
    assert_eq!(error_code(&gone), "UNAUTHENTICATED", "{gone}");
    let list = now.ok(&admin, "{ clientOrganizations { nodes { slug } } }", json!({})).await;
    assert_eq!(list["clientOrganizations"]["nodes"], json!([{"slug": "beta"}]));
}
