//! Starting an organization from the built-in starter template.

use scorebord_tests::{TestApp, backend_tests, error_code};
use serde_json::{Value, json};

backend_tests!(a_new_organization_starts_from_the_starter_once_and_only_by_an_admin);

const APPLY: &str = "mutation { applyTemplate(input: {template: STARTER}) { stages checklistItems activityTypes
  pointsTargets kpiTargets alertRules mysteryCriteria userErrors { field code message } } }";
const SETUP: &str =
    "{ pipelineStages { name kind checklist { label kind } } activityTypes { nodes { name points unit kpiKey } }
  alertRules { kpiKey kind periods } mysteryCriteria { name points } }";

async fn a_new_organization_starts_from_the_starter_once_and_only_by_an_admin(app: &TestApp) {
    let org = app.seed_org("fresh").await;
    let other = app.seed_org("other").await;
    let create_deal = "mutation { createDeal(input: {name: \"First\", amount: \"1000\"}) { deal { stage { name } } userErrors { message } } }";
    let before = app.ok(&org.rep_token, create_deal, json!({})).await;
    assert!(before["createDeal"]["deal"].is_null(), "no stage yet: {before}");

    // Nobody but an admin applies it, and a refusal writes nothing.
    assert_eq!(error_code(&app.gql(None, APPLY, json!({})).await), "UNAUTHENTICATED");
    for token in [&org.rep_token, &org.manager_token, &org.viewer_token] {
        assert_eq!(error_code(&app.gql(Some(token), APPLY, json!({})).await), "FORBIDDEN");
    }
    // A leaked key, whatever its scopes, cannot set an organization up.
    let key = app
        .ok(&org.admin_token, "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret } }",
            json!({"i": {"name": "All", "scopes": ["org:read", "forecasts:read", "kpis:read", "scores:read", "payouts:read", "activities:write", "deals:write"]}}))
        .await["createApiKey"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(error_code(&app.gql(Some(&key), APPLY, json!({})).await), "FORBIDDEN");
    assert_eq!(app.ok(&org.admin_token, SETUP, json!({})).await["pipelineStages"], json!([]));

    let applied = app.ok(&org.admin_token, APPLY, json!({})).await["applyTemplate"].clone();
    assert_eq!(
        applied,
        json!({"stages": 7, "checklistItems": 7, "activityTypes": 6, "pointsTargets": 3, "kpiTargets": 6,
               "alertRules": 1, "mysteryCriteria": 3, "userErrors": []})
    );
    let setup = app.ok(&org.rep_token, SETUP, json!({})).await;
    let stages: Vec<&str> =
        setup["pipelineStages"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(stages, ["Lead", "Qualified", "Inspiration session", "Proposal", "Negotiation", "Won", "Lost"]);
    assert_eq!(
        setup["pipelineStages"][0]["checklist"],
        json!([{"label": "Company filled in", "kind": "CONTENT"}, {"label": "Lead source known", "kind": "CONTENT"}])
    );
    let types = setup["activityTypes"]["nodes"].as_array().unwrap();
    let points = |name: &str| types.iter().find(|t| t["name"] == name).map(|t| t["points"].clone());
    assert_eq!(points("Inspiration session offered"), Some(json!(1.0)), "the points article: 1 point");
    assert_eq!(points("Quote sent"), Some(json!(3.0)), "the points article: 3 points");
    assert_eq!(setup["alertRules"], json!([{"kpiKey": "new_leads", "kind": "BELOW_TARGET_STREAK", "periods": 3}]));
    assert_eq!(setup["mysteryCriteria"].as_array().map(Vec::len), Some(3));

    // It works end to end: a deal enters the first stage, a quote scores 3 points against the
    // outbound rep's weekly target, and the rep's scoreboard row carries the KPI targets.
    let deal = app.ok(&org.rep_token, create_deal, json!({})).await;
    assert_eq!(deal["createDeal"]["deal"]["stage"]["name"], "Lead", "{deal}");
    let quote = types.iter().find(|t| t["name"] == "Quote sent").unwrap();
    let quote_id =
        app.ok(&org.admin_token, "{ activityTypes { nodes { id name } } }", json!({})).await["activityTypes"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == quote["name"])
            .unwrap()["id"]
            .clone();
    let log = app
        .ok(
            &org.rep_token,
            "mutation($i: LogActivityInput!) { logActivity(input: $i) { userErrors { message } } }",
            json!({"i": {"activityTypeId": quote_id}}),
        )
        .await;
    assert_eq!(log["logActivity"]["userErrors"], json!([]), "{log}");
    let score = app.ok(&org.rep_token, "{ score(period: {grain: WEEK}) { points target } }", json!({})).await;
    assert_eq!(
        (score["score"]["points"].as_f64(), score["score"]["target"].as_f64()),
        (Some(3.0), Some(30.0)),
        "{score}"
    );
    let board = app
        .ok(
            &org.manager_token,
            "query($t: ID!) { scoreboard(teamId: $t) { rows { member { name } cells { kpiKey target } } } }",
            json!({"t": org.outbound}),
        )
        .await;
    let rep_row = board["scoreboard"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["member"]["name"] == "fresh Rep")
        .cloned()
        .unwrap();
    let target = |key: &str| {
        rep_row["cells"].as_array().unwrap().iter().find(|c| c["kpiKey"] == key).map(|c| c["target"].clone())
    };
    assert_eq!(target("call_to_appointment_rate"), Some(json!(30.0)), "{rep_row}");
    assert_eq!(target("new_leads"), Some(json!(4.0)), "{rep_row}");

    // A second time is refused and adds nothing.
    let again = app.ok(&org.admin_token, APPLY, json!({})).await["applyTemplate"].clone();
    assert_eq!(again["userErrors"][0]["code"], "ALREADY_SET_UP", "{again}");
    assert_eq!(again["stages"], 0);
    let setup = app.ok(&org.admin_token, SETUP, json!({})).await;
    assert_eq!(setup["pipelineStages"].as_array().map(Vec::len), Some(7));

    // The other organization saw none of it; with one stage of its own, it is not mixed in.
    let theirs = app.ok(&other.admin_token, SETUP, json!({})).await;
    assert_eq!((theirs["pipelineStages"].clone(), theirs["alertRules"].clone()), (json!([]), json!([])), "{theirs}");
    app.ok(
        &other.admin_token,
        "mutation { createStage(input: {name: \"Our own\", kind: OPEN}) { stage { id } } }",
        json!({}),
    )
    .await;
    let refused = app.ok(&other.admin_token, APPLY, json!({})).await["applyTemplate"].clone();
    assert_eq!(refused["userErrors"][0]["code"], "ALREADY_SET_UP", "{refused}");
    let message = refused["userErrors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("pipeline stages"), "{message}");
    let theirs: Value = app.ok(&other.admin_token, SETUP, json!({})).await;
    assert_eq!(theirs["pipelineStages"].as_array().map(Vec::len), Some(1), "{theirs}");
    assert_eq!(theirs["activityTypes"]["nodes"], json!([]), "nothing was added beside it");
}
