//! CSV import of deals and activities over the GraphQL multipart request spec, on SQLite and
//! PostgreSQL.

use scorebord_tests::{Org, TestApp, backend_tests, error_code};
use serde_json::{Value, json};

backend_tests!(
    import_deals_in_both_modes,
    import_activities_skips_repeats_and_reports_rows,
    import_refuses_bad_files_and_roles
);

const DEALS: &str = "mutation($file: Upload!, $mode: ImportMode!) { importDeals(file: $file, mode: $mode) { mode rows created updated skipped committed errorCount errors { row column message } } }";
const ACTIVITIES: &str = "mutation($file: Upload!, $mode: ImportMode!) { importActivities(file: $file, mode: $mode) { rows created updated skipped committed errorCount errors { row column message } } }";

/// Sends a GraphQL multipart request with one file as `$file`.
async fn upload(app: &TestApp, token: &str, query: &str, mode: &str, csv: String) -> Value {
    let operations = json!({"query": query, "variables": {"file": null, "mode": mode}});
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({"0": ["variables.file"]}).to_string())
        .part("0", reqwest::multipart::Part::text(csv).file_name("import.csv").mime_str("text/csv").unwrap());
    let resp =
        app.client.post(format!("{}/graphql", app.base_url)).bearer_auth(token).multipart(form).send().await.unwrap();
    resp.json().await.unwrap()
}

async fn setup(app: &TestApp, org: &Org) {
    for (name, kind) in [("Lead", "OPEN"), ("Proposal", "OPEN"), ("Won", "WON"), ("Lost", "LOST")] {
        app.ok(
            &org.admin_token,
            "mutation($i: CreateStageInput!) { createStage(input: $i) { stage { id } } }",
            json!({"i": {"name": name, "kind": kind}}),
        )
        .await;
    }
}

fn deals_csv(slug: &str) -> String {
    format!(
        "externalId,name,ownerEmail,amount,stage,forecastCategory,expectedCloseDate\n\
         crm-1,Acme,rep@{slug}.test,1000.00,Proposal,COMMIT,2026-12-15\n\
         crm-2,Beta,inbound.rep@{slug}.test,250,,,\n\
         crm-3,Gamma,rep@{slug}.test,abc,,,\n\
         crm-4,Delta,nobody@{slug}.test,10,,,\n\
         crm-1,Acme renewed,rep@{slug}.test,1500.00,,BEST_CASE,\n\
         ,No id,rep@{slug}.test,1,,,\n"
    )
}

async fn import_deals_in_both_modes(app: &TestApp) {
    let org = app.seed_org("imp").await;
    setup(app, &org).await;
    // ALL_OR_NOTHING: bad rows refuse the whole file, and every error is listed.
    let before = app.count_rows("deals").await;
    let r = upload(app, &org.admin_token, DEALS, "ALL_OR_NOTHING", deals_csv("imp")).await;
    let d = &r["data"]["importDeals"];
    assert_eq!(d["committed"], false, "{r}");
    assert_eq!((d["rows"].as_u64(), d["created"].as_u64(), d["skipped"].as_u64()), (Some(6), Some(0), Some(6)));
    let errors: Vec<(u64, String)> = d["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["column"].as_str().unwrap_or("").to_owned()))
        .collect();
    assert_eq!(errors, vec![(4, "amount".into()), (5, "ownerEmail".into()), (7, "externalId".into())]);
    assert_eq!(app.count_rows("deals").await, before, "nothing written");

    // SKIP_INVALID: good rows land (crm-1 created, then updated by its second row).
    let r = upload(app, &org.admin_token, DEALS, "SKIP_INVALID", deals_csv("imp")).await;
    let d = &r["data"]["importDeals"];
    assert_eq!(d["committed"], true, "{r}");
    assert_eq!(
        (d["created"].as_u64(), d["updated"].as_u64(), d["skipped"].as_u64(), d["errorCount"].as_u64()),
        (Some(2), Some(1), Some(3), Some(3))
    );
    assert_eq!(app.count_rows("deals").await, before + 2);
    let q = "{ deals(filter: {search: \"acme\"}) { edges { node { name externalId amount { amount } forecastCategory stage { name } owner { email } expectedCloseDate } } } }";
    let acme = &app.ok(&org.admin_token, q, json!({})).await["deals"]["edges"][0]["node"];
    assert_eq!(acme["name"], "Acme renewed");
    assert_eq!(acme["amount"]["amount"], "1500.00");
    assert_eq!(acme["forecastCategory"], "BEST_CASE");
    assert_eq!(acme["stage"]["name"], "Proposal");
    assert_eq!(acme["owner"]["email"], "rep@imp.test");
    assert_eq!(acme["expectedCloseDate"], "2026-12-15", "kept: the update left it out");
    // Importing the same file again only updates: upsert by externalId.
    let r = upload(app, &org.admin_token, DEALS, "SKIP_INVALID", deals_csv("imp")).await;
    let d = &r["data"]["importDeals"];
    assert_eq!((d["created"].as_u64(), d["updated"].as_u64()), (Some(0), Some(3)));
    assert_eq!(app.count_rows("deals").await, before + 2);

    // A larger file streams through: 2,000 rows.
    let mut big = String::from("externalId,name,ownerEmail,amount\n");
    for i in 0..2000 {
        big.push_str(&format!("bulk-{i},Bulk {i},rep@imp.test,{}.00\n", i + 1));
    }
    let r = upload(app, &org.admin_token, DEALS, "ALL_OR_NOTHING", big).await;
    assert_eq!(r["data"]["importDeals"]["created"], 2000, "{r}");
    assert_eq!(app.count_rows("deals").await, before + 2002);
}

async fn import_activities_skips_repeats_and_reports_rows(app: &TestApp) {
    let org = app.seed_org("impa").await;
    app.ok(&org.admin_token, "mutation { createActivityType(input: {name: \"Call\", category: ACTION, unit: COUNT, points: 2}) { activityType { id } } }", json!({})).await;
    let csv = "externalId,memberEmail,activityType,quantity,occurredAt,note\n\
               a-1,rep@impa.test,Call,3,,first\n\
               a-2,rep@impa.test,call,1,,case-insensitive type\n\
               a-1,rep@impa.test,Call,3,,first\n\
               a-3,rep@impa.test,Meeting,1,,\n\
               a-4,rep@impa.test,Call,lots,,\n\
               a-5,ghost@impa.test,Call,1,,\n\
               a-6,rep@impa.test,Call,1,yesterday,\n\
               a-2,rep@impa.test,Call,5,,the same key for another activity\n"
        .to_owned();
    let r = upload(app, &org.admin_token, ACTIVITIES, "SKIP_INVALID", csv.clone()).await;
    let d = &r["data"]["importActivities"];
    assert_eq!(
        (d["created"].as_u64(), d["skipped"].as_u64(), d["errorCount"].as_u64()),
        (Some(2), Some(6), Some(5)),
        "{r}"
    );
    let columns: Vec<&str> = d["errors"].as_array().unwrap().iter().map(|e| e["column"].as_str().unwrap()).collect();
    assert_eq!(columns, vec!["activityType", "quantity", "memberEmail", "occurredAt", "externalId"]);
    // The points arrive: 3 × 2 + 1 × 2.
    let s = app.ok(&org.rep_token, "{ score(period: {grain: WEEK}) { points } }", json!({})).await;
    assert_eq!(s["score"]["points"], 8.0, "{s}");
    // Sending the file again counts nothing twice.
    let r = upload(app, &org.admin_token, ACTIVITIES, "SKIP_INVALID", csv).await;
    assert_eq!(r["data"]["importActivities"]["created"], 0);
    assert_eq!(app.count_rows("activities").await, 2);
}

async fn import_refuses_bad_files_and_roles(app: &TestApp) {
    let org = app.seed_org("impr").await;
    let r = upload(app, &org.admin_token, DEALS, "SKIP_INVALID", "externalId,colour\nx,red\n".into()).await;
    assert_eq!(error_code(&r), "BAD_USER_INPUT");
    assert!(r["errors"][0]["message"].as_str().unwrap().contains("colour"), "{r}");
    let r = upload(app, &org.admin_token, DEALS, "SKIP_INVALID", "name\nx\n".into()).await;
    assert_eq!(error_code(&r), "BAD_USER_INPUT");
    let r = upload(app, &org.rep_token, DEALS, "SKIP_INVALID", "externalId\nx\n".into()).await;
    assert_eq!(error_code(&r), "FORBIDDEN");
    // An API key with deals:write may import deals, not activities.
    let k = app
        .ok(
            &org.admin_token,
            "mutation { createApiKey(input: {name: \"CRM\", scopes: [\"deals:write\"]}) { secret } }",
            json!({}),
        )
        .await;
    let key = k["createApiKey"]["secret"].as_str().unwrap().to_owned();
    app.ok(
        &org.admin_token,
        "mutation { createStage(input: {name: \"Lead\", kind: OPEN}) { stage { id } } }",
        json!({}),
    )
    .await;
    let r = upload(app, &key, DEALS, "SKIP_INVALID", "externalId,name\nk-1,Via key\n".into()).await;
    assert_eq!(r["data"]["importDeals"]["created"], 1, "{r}");
    let r = upload(app, &key, ACTIVITIES, "SKIP_INVALID", "externalId,memberEmail,activityType\nx,a,b\n".into()).await;
    assert_eq!(error_code(&r), "FORBIDDEN");
}
