//! Dutch and English: built-in KPI names and enum labels in the member's language, else the
//! organization's, else (signed out) the browser's; codes stay the same in both.

use scorebord_tests::{TestApp, backend_tests};
use serde_json::{Value, json};

backend_tests!(names_and_labels_follow_the_member_the_organization_and_the_browser);

async fn anonymous(app: &TestApp, accept_language: Option<&str>, query: &str) -> Value {
    let mut req = app.client.post(format!("{}/graphql", app.base_url)).json(&json!({"query": query}));
    if let Some(l) = accept_language {
        req = req.header("Accept-Language", l);
    }
    req.send().await.unwrap().json().await.unwrap()
}

fn kpi_name(data: &Value, key: &str) -> String {
    data["kpis"].as_array().unwrap().iter().find(|k| k["key"] == key).unwrap()["name"].as_str().unwrap().to_owned()
}

const KPIS: &str = "{ locale kpis { key name description } }";

async fn names_and_labels_follow_the_member_the_organization_and_the_browser(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let custom = app
        .ok(&org.admin_token, "mutation { createKpi(input: {key: \"demos\", name: \"Demo's gegeven\", kind: SELF_REPORTED, unit: COUNT}) { kpi { key } userErrors { message } } }", json!({}))
        .await;
    assert_eq!(custom["createKpi"]["userErrors"], json!([]), "{custom}");

    // English by default.
    let en = app.ok(&org.rep_token, KPIS, json!({})).await;
    assert_eq!((en["locale"].clone(), kpi_name(&en, "new_leads")), (json!("EN"), "New leads".to_owned()));

    // The organization answers in Dutch: built-ins and labels follow, a custom KPI keeps its
    // own name, the scoreboard names its KPIs in Dutch.
    let set = app
        .ok(
            &org.admin_token,
            "mutation { updateOrganization(input: {locale: NL}) { organization { locale } userErrors { message } } }",
            json!({}),
        )
        .await;
    assert_eq!(set["updateOrganization"]["organization"]["locale"], "NL", "{set}");
    let nl = app.ok(&org.rep_token, KPIS, json!({})).await;
    assert_eq!(nl["locale"], "NL");
    assert_eq!(kpi_name(&nl, "new_leads"), "Nieuwe leads");
    assert_eq!(kpi_name(&nl, "sales_velocity"), "Dealsnelheid");
    assert_eq!(kpi_name(&nl, "demos"), "Demo's gegeven");
    let described =
        nl["kpis"].as_array().unwrap().iter().find(|k| k["key"] == "revenue").unwrap()["description"].clone();
    assert_eq!(described, "De waarde van de gewonnen deals.");
    let board = app
        .ok(
            &org.manager_token,
            "query($t: ID!) { scoreboard(teamId: $t) { kpis { key name } rows { cells { kpiKey status } } } }",
            json!({"t": org.outbound}),
        )
        .await;
    assert_eq!(kpi_name(&board["scoreboard"], "new_leads"), "Nieuwe leads", "{board}");
    let labels = app.ok(&org.rep_token, "{ enumLabels(enum: ROLE) { value label } }", json!({})).await;
    assert_eq!(
        labels["enumLabels"],
        json!([{"value": "ADMIN", "label": "Beheerder"}, {"value": "MANAGER", "label": "Manager"},
               {"value": "REP", "label": "Verkoper"}, {"value": "VIEWER", "label": "Meekijker"}])
    );

    // A member who chose English keeps it; the others stay Dutch; null follows the organization.
    let mine = app.ok(&org.rep_token, "mutation { setMyLocale(input: {locale: EN}) { locale } }", json!({})).await;
    assert_eq!(mine["setMyLocale"]["locale"], "EN");
    assert_eq!(kpi_name(&app.ok(&org.rep_token, KPIS, json!({})).await, "new_leads"), "New leads");
    assert_eq!(kpi_name(&app.ok(&org.viewer_token, KPIS, json!({})).await, "new_leads"), "Nieuwe leads");
    app.ok(&org.rep_token, "mutation { setMyLocale(input: {locale: null}) { locale } }", json!({})).await;
    assert_eq!(kpi_name(&app.ok(&org.rep_token, KPIS, json!({})).await, "new_leads"), "Nieuwe leads");

    // Signed out: the browser's language, else English. Codes never change.
    let q = "{ locale enumLabels(enum: KPI_STATUS) { value label } }";
    let dutch = anonymous(app, Some("nl-NL,nl;q=0.9,en;q=0.8"), q).await;
    assert_eq!(dutch["data"]["locale"], "NL", "{dutch}");
    assert_eq!(dutch["data"]["enumLabels"][0], json!({"value": "ON_TARGET", "label": "Op doel"}));
    let english = anonymous(app, Some("de-DE"), q).await;
    assert_eq!(english["data"]["enumLabels"][0], json!({"value": "ON_TARGET", "label": "On target"}));
    assert_eq!(anonymous(app, None, q).await["data"]["locale"], "EN");
}
