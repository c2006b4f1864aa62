use scorebord::demo;
use scorebord_tests::{TestApp, backend_tests};
use serde_json::json;

backend_tests!(
    demo_seed_is_idempotent_and_answers_the_newcomer_query,
    demo_deal_past_an_open_checklist_item_is_refused
);

async fn demo_seed_is_idempotent_and_answers_the_newcomer_query(app: &TestApp) {
    let org = demo::seed(&app.state).await.expect("seed");
    let counts =
        (app.count_rows("organizations").await, app.count_rows("teams").await, app.count_rows("members").await);
    assert_eq!(counts, (1, 4, 12));
    let scoring = (
        app.count_rows("activity_types").await,
        app.count_rows("campaigns").await,
        app.count_rows("points_targets").await,
    );
    assert_eq!(scoring, (6, 1, 3));
    let pipeline = (app.count_rows("pipeline_stages").await, app.count_rows("deals").await);
    assert_eq!(pipeline, (7, 200));
    let activities = app.count_rows("activities").await;
    assert!(activities > 100, "six weeks of history: {activities}");
    let again = demo::seed(&app.state).await.expect("seed twice");
    assert_eq!(app.count_rows("deals").await, 200);
    assert_eq!(app.count_rows("activities").await, activities);
    assert_eq!(again, org);
    assert_eq!(
        (app.count_rows("organizations").await, app.count_rows("teams").await, app.count_rows("members").await),
        counts
    );

    let tokens = demo::tokens(&app.state, org, chrono::Duration::hours(1)).await.expect("tokens");
    assert_eq!(tokens.iter().map(|(e, _)| e.as_str()).collect::<Vec<_>>(), demo::DEMO_LOGINS.to_vec());
    let rep = &tokens.iter().find(|(e, _)| e == "rep@demo.test").expect("rep").1;
    let data = app
        .ok(
            rep,
            "{ viewer { member { name salesRole team { name } } } organization { name branding { primaryColor } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["viewer"]["member"]["team"]["name"], "Outbound");
    assert_eq!(data["viewer"]["member"]["salesRole"], "OUTBOUND");
    assert_eq!(data["organization"]["name"], "Demo B.V.");
    assert_eq!(data["organization"]["branding"]["primaryColor"], "#0B5FFF");
    let manager = &tokens.iter().find(|(e, _)| e == "manager@demo.test").expect("manager").1;
    let v = app.ok(manager, "{ viewer { role member { name } } teams(filter: {rootsOnly: true}) { edges { node { name manager { email } subTeams { name } } } } }", json!({})).await;
    assert_eq!(v["viewer"]["role"], "MANAGER");
    let sales = &v["teams"]["edges"][0]["node"];
    assert_eq!(sales["manager"]["email"], "manager@demo.test");
    assert_eq!(sales["subTeams"], json!([{"name": "Closers"}, {"name": "Inbound"}, {"name": "Outbound"}]));
    // Every demo member logs in with the password 'demo'.
    let login = app
        .gql(None, "mutation { login(input: {organizationSlug: \"demo\", email: \"closer@demo.test\", password: \"demo\"}) { member { salesRole } } }", json!({}))
        .await;
    assert_eq!(login["data"]["login"]["member"]["salesRole"], "CLOSER");
}

/// Done-when of the pipeline: moving a demo deal past an open required item names the item.
async fn demo_deal_past_an_open_checklist_item_is_refused(app: &TestApp) {
    let org = demo::seed(&app.state).await.expect("seed");
    let tokens = demo::tokens(&app.state, org, chrono::Duration::hours(1)).await.expect("tokens");
    let manager = &tokens.iter().find(|(e, _)| e == "manager@demo.test").expect("manager").1;
    let stages = app.ok(manager, "{ pipelineStages { id name } }", json!({})).await;
    let id_of = |name: &str| {
        stages["pipelineStages"].as_array().unwrap().iter().find(|s| s["name"] == name).unwrap()["id"].clone()
    };
    let deals = app
        .ok(
            manager,
            "query($s: ID) { deals(first: 1, filter: {stageId: $s}) { edges { node { id } } } }",
            json!({"s": id_of("Qualified")}),
        )
        .await;
    let deal = deals["deals"]["edges"][0]["node"]["id"].clone();
    let moved = app
        .ok(manager, "mutation($i: MoveDealStageInput!) { moveDealStage(input: $i) { deal { id } userErrors { message code } } }", json!({"i": {"id": deal, "stageId": id_of("Proposal")}}))
        .await;
    let errors = &moved["moveDealStage"]["userErrors"];
    assert!(
        errors
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["message"] == "open required checklist item: Summary e-mail sent after the call"),
        "{errors}"
    );
    assert!(moved["moveDealStage"]["deal"].is_null());
}
