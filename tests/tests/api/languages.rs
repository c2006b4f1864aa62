//! Dutch and English: built-in KPI names and enum labels in the member's language, else the
//! organization's, else (signed out) the browser's; codes stay the same in both.

use scorebord_tests::{TestApp, backend_tests};
use serde_json::{Value, json};

backend_tests!(
    names_and_labels_follow_the_member_the_organization_and_the_browser,
    an_organization_words_built_in_names_its_own_way_per_language,
    only_who_may_change_the_organization_relabels_and_only_its_own,
    messages_follow_the_callers_language_over_http_and_websocket,
);

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

const RENAME: &str = "mutation($key: String!, $name: String, $description: String, $locale: Locale) { \
    updateKpi(input: {key: $key, name: $name, description: $description, locale: $locale}) { \
    kpi { key name description formula } userErrors { field code message } } }";

async fn an_organization_words_built_in_names_its_own_way_per_language(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let other = app.seed_org("globex").await;
    let before = app.ok(&org.rep_token, KPIS, json!({})).await;
    let formula = app.ok(&org.rep_token, "{ kpis { key formula } }", json!({})).await["kpis"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key"] == "new_leads")
        .unwrap()["formula"]
        .clone();
    assert_eq!(kpi_name(&before, "new_leads"), "New leads");

    // A built-in renamed in Dutch only: Dutch readers see the organization's words, English
    // readers the built-in name; the key and formula stay.
    let renamed = app
        .ok(
            &org.admin_token,
            RENAME,
            json!({"key": "new_leads", "name": "Verse aanvragen", "description": "Aanvragen via de site.", "locale": "NL"}),
        )
        .await;
    assert_eq!(renamed["updateKpi"]["userErrors"], json!([]), "{renamed}");
    assert_eq!(renamed["updateKpi"]["kpi"]["key"], "new_leads");
    assert_eq!(renamed["updateKpi"]["kpi"]["formula"], formula);
    app.ok(
        &org.admin_token,
        "mutation { updateOrganization(input: {locale: NL}) { organization { locale } } }",
        json!({}),
    )
    .await;
    let nl = app.ok(&org.rep_token, KPIS, json!({})).await;
    assert_eq!(kpi_name(&nl, "new_leads"), "Verse aanvragen");
    let described =
        nl["kpis"].as_array().unwrap().iter().find(|k| k["key"] == "new_leads").unwrap()["description"].clone();
    assert_eq!(described, "Aanvragen via de site.");
    assert_eq!(kpi_name(&nl, "revenue"), "Omzet", "other built-ins keep their Dutch names");
    app.ok(&org.viewer_token, "mutation { setMyLocale(input: {locale: EN}) { locale } }", json!({})).await;
    assert_eq!(kpi_name(&app.ok(&org.viewer_token, KPIS, json!({})).await, "new_leads"), "New leads");

    // The scoreboard names it the organization's way.
    let board = app
        .ok(
            &org.manager_token,
            "query($t: ID!) { scoreboard(teamId: $t) { kpis { key name } } }",
            json!({"t": org.outbound}),
        )
        .await;
    assert_eq!(kpi_name(&board["scoreboard"], "new_leads"), "Verse aanvragen", "{board}");

    // Renamed again without a description: the description stays as worded before.
    let again = app.ok(&org.admin_token, RENAME, json!({"key": "new_leads", "name": "Nieuwe aanvragen"})).await;
    assert_eq!(again["updateKpi"]["kpi"]["name"], "Nieuwe aanvragen", "{again}");
    assert_eq!(again["updateKpi"]["kpi"]["description"], "Aanvragen via de site.");

    // Another organization still sees the built-in names.
    app.ok(
        &other.admin_token,
        "mutation { updateOrganization(input: {locale: NL}) { organization { locale } } }",
        json!({}),
    )
    .await;
    assert_eq!(kpi_name(&app.ok(&other.rep_token, KPIS, json!({})).await, "new_leads"), "Nieuwe leads");

    // Bad names are user errors; archiving a built-in stays refused.
    let blank = app.ok(&org.admin_token, RENAME, json!({"key": "new_leads", "name": "  "})).await;
    assert_eq!(blank["updateKpi"]["userErrors"][0]["code"], "REQUIRED", "{blank}");
    let archived = app
        .ok(&org.admin_token, "mutation { archiveKpi(input: {key: \"new_leads\"}) { userErrors { code } } }", json!({}))
        .await;
    assert_eq!(archived["archiveKpi"]["userErrors"][0]["code"], "BUILT_IN", "{archived}");

    // resetKpiName puts the built-in wording back; a custom key is refused.
    let reset = app
        .ok(
            &org.admin_token,
            "mutation { resetKpiName(input: {key: \"new_leads\", locale: NL}) { kpi { name description } userErrors { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(reset["resetKpiName"]["kpi"]["name"], "Nieuwe leads", "{reset}");
    let not_built_in = app
        .ok(
            &org.admin_token,
            "mutation { resetKpiName(input: {key: \"nothing\"}) { kpi { name } userErrors { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(not_built_in["resetKpiName"]["userErrors"][0]["code"], "NOT_BUILT_IN", "{not_built_in}");

    // Enum labels in the organization's words, per language.
    let set = app
        .ok(
            &org.admin_token,
            "mutation { setEnumLabel(input: {enum: ROLE, value: \"REP\", locale: NL, label: \"Adviseur\"}) { labels { value label } userErrors { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(set["setEnumLabel"]["labels"][2], json!({"value": "REP", "label": "Adviseur"}), "{set}");
    let labels = app.ok(&org.rep_token, "{ enumLabels(enum: ROLE) { value label } }", json!({})).await;
    assert_eq!(labels["enumLabels"][2], json!({"value": "REP", "label": "Adviseur"}));
    let english = app.ok(&org.viewer_token, "{ enumLabels(enum: ROLE) { value label } }", json!({})).await;
    assert_eq!(english["enumLabels"][2], json!({"value": "REP", "label": "Sales rep"}));
    let theirs = app.ok(&other.rep_token, "{ enumLabels(enum: ROLE) { value label } }", json!({})).await;
    assert_eq!(theirs["enumLabels"][2], json!({"value": "REP", "label": "Verkoper"}));
    let cleared = app
        .ok(
            &org.admin_token,
            "mutation { setEnumLabel(input: {enum: ROLE, value: \"REP\", locale: NL, label: null}) { labels { value label } } }",
            json!({}),
        )
        .await;
    assert_eq!(cleared["setEnumLabel"]["labels"][2], json!({"value": "REP", "label": "Verkoper"}), "{cleared}");
    let unknown = app
        .ok(
            &org.admin_token,
            "mutation { setEnumLabel(input: {enum: ROLE, value: \"OWNER\", locale: NL, label: \"Baas\"}) { labels { value } userErrors { field code } } }",
            json!({}),
        )
        .await;
    assert_eq!(unknown["setEnumLabel"]["userErrors"][0]["code"], "INVALID", "{unknown}");
    assert_eq!(unknown["setEnumLabel"]["labels"], Value::Null);
}

async fn only_who_may_change_the_organization_relabels_and_only_its_own(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let relabel = "mutation { setEnumLabel(input: {enum: ROLE, value: \"REP\", locale: NL, label: \"Baas\"}) { labels { label } } }";
    for token in [&org.rep_token, &org.manager_token, &org.viewer_token] {
        let body = app.gql(Some(token), relabel, json!({})).await;
        assert_eq!(scorebord_tests::error_code(&body), "FORBIDDEN", "{body}");
        let body = app.gql(Some(token), RENAME, json!({"key": "new_leads", "name": "Baas"})).await;
        assert_eq!(scorebord_tests::error_code(&body), "FORBIDDEN", "{body}");
    }
    let body = app.gql(None, relabel, json!({})).await;
    assert_eq!(scorebord_tests::error_code(&body), "UNAUTHENTICATED", "{body}");
    let labels = app.ok(&org.rep_token, "{ enumLabels(enum: ROLE) { value label } }", json!({})).await;
    assert_eq!(labels["enumLabels"][2]["label"], "Sales rep", "nothing was relabelled");
    assert_eq!(kpi_name(&app.ok(&org.rep_token, KPIS, json!({})).await, "new_leads"), "New leads");
}

async fn messages_follow_the_callers_language_over_http_and_websocket(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let other = app.seed_org("globex").await;
    let blank_team = "mutation { createTeam(input: {name: \"  \"}) { team { id } userErrors { field message code } } }";

    // English first: the message as written, the code beside it.
    let en = app.ok(&org.admin_token, blank_team, json!({})).await;
    assert_eq!(
        en["createTeam"]["userErrors"][0],
        json!({"field": ["input", "name"], "message": "must not be empty", "code": "REQUIRED"})
    );
    let refused = app.gql(Some(&org.rep_token), blank_team, json!({})).await;
    assert_eq!(refused["errors"][0]["message"], "your role does not allow TeamsWrite", "{refused}");

    // The organization answers in Dutch: user errors and errors, codes and fields unchanged.
    app.ok(
        &org.admin_token,
        "mutation { updateOrganization(input: {locale: NL}) { organization { locale } } }",
        json!({}),
    )
    .await;
    let nl = app.ok(&org.admin_token, blank_team, json!({})).await;
    assert_eq!(
        nl["createTeam"]["userErrors"][0],
        json!({"field": ["input", "name"], "message": "mag niet leeg zijn", "code": "REQUIRED"})
    );
    let refused = app.gql(Some(&org.rep_token), blank_team, json!({})).await;
    assert_eq!(refused["errors"][0]["message"], "je rol staat TeamsWrite niet toe", "{refused}");
    assert_eq!(refused["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let missing = app
        .gql(
            Some(&org.admin_token),
            "mutation($id: ID!) { updateTeam(input: {id: $id, name: \"X\"}) { team { id } } }",
            json!({"id": other.outbound}),
        )
        .await;
    assert_eq!(scorebord_tests::error_code(&missing), "NOT_FOUND", "{missing}");
    assert_eq!(missing["errors"][0]["message"], "team niet gevonden", "{missing}");

    // A member who chose English reads English in the same organization.
    app.ok(&org.viewer_token, "mutation { setMyLocale(input: {locale: EN}) { locale } }", json!({})).await;
    let viewer = app.gql(Some(&org.viewer_token), blank_team, json!({})).await;
    assert_eq!(viewer["errors"][0]["message"], "your role does not allow TeamsWrite", "{viewer}");

    // Signed out: the browser's language.
    let q = json!({"query": "{ viewer { member { name } } }"});
    let dutch: Value = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .header("Accept-Language", "nl-BE,nl;q=0.9")
        .json(&q)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(scorebord_tests::error_code(&dutch), "UNAUTHENTICATED", "{dutch}");
    let message = dutch["errors"][0]["message"].as_str().unwrap();
    assert!(message.starts_with("niet geauthenticeerd: "), "{message}");
    let english: Value =
        app.client.post(format!("{}/graphql", app.base_url)).json(&q).send().await.unwrap().json().await.unwrap();
    assert!(english["errors"][0]["message"].as_str().unwrap().starts_with("not authenticated: "), "{english}");

    // Over WebSocket too.
    let mut ws = app.ws_as(&org.rep_token).await;
    ws.send(json!({"id": "1", "type": "subscribe", "payload": {"query": blank_team}})).await;
    let answer = ws.next_json().await;
    assert_eq!(answer["payload"]["errors"][0]["message"], "je rol staat TeamsWrite niet toe", "{answer}");
}
