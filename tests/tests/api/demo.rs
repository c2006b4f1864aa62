use scorebord::demo;
use scorebord_tests::{TestApp, backend_tests};
use serde_json::json;

backend_tests!(
    demo_seed_is_idempotent_and_answers_the_newcomer_query,
    demo_deal_past_an_open_checklist_item_is_refused,
    demo_scoreboard_matches_a_hand_count_and_shows_the_demo_alert,
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
    assert_eq!(
        pipeline,
        (7, 219),
        "200 generated deals, the big open one for the payout what-if, 18 won in older quarters"
    );
    let activities = app.count_rows("activities").await;
    assert!(activities > 100, "six weeks of history: {activities}");
    let again = demo::seed(&app.state).await.expect("seed twice");
    assert_eq!(app.count_rows("deals").await, 219);
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

/// Done-when of the KPI rhythm: as the demo manager, last week's Outbound scoreboard gives
/// every rep's new leads and call-to-appointment rate as counted by hand from the demo's deals
/// and activities, with targets and statuses; `alerts` shows the demo alert.
async fn demo_scoreboard_matches_a_hand_count_and_shows_the_demo_alert(app: &TestApp) {
    let org = demo::seed(&app.state).await.expect("seed");
    let tokens = demo::tokens(&app.state, org, chrono::Duration::hours(1)).await.expect("tokens");
    let manager = &tokens.iter().find(|(e, _)| e == "manager@demo.test").expect("manager").1;
    let teams = app.ok(manager, "{ teams(filter: {search: \"Outbound\"}) { edges { node { id } } } }", json!({})).await;
    let outbound = teams["teams"]["edges"][0]["node"]["id"].clone();
    let tz: chrono_tz::Tz = "Europe/Amsterdam".parse().expect("tz");
    let today = chrono::Utc::now().with_timezone(&tz).date_naive();
    let monday =
        today - chrono::Duration::days(i64::from(chrono::Datelike::weekday(&today).num_days_from_monday()) + 7);
    let start = monday
        .and_hms_opt(0, 0, 0)
        .expect("time")
        .and_local_timezone(tz)
        .single()
        .expect("instant")
        .with_timezone(&chrono::Utc);
    let end = (monday + chrono::Duration::days(7))
        .and_hms_opt(0, 0, 0)
        .expect("time")
        .and_local_timezone(tz)
        .single()
        .expect("instant")
        .with_timezone(&chrono::Utc);
    let board = app
        .ok(manager, "query($t: ID!, $w: NaiveDate) { scoreboard(teamId: $t, week: $w) { rows { member { id name } cells { kpiKey value target status trend { values } } } } }", json!({"t": outbound, "w": monday.to_string()}))
        .await;
    let rows = board["scoreboard"]["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 3, "the three Outbound reps");
    for row in rows {
        let member = row["member"]["id"].clone();
        let cell = |key: &str| {
            row["cells"].as_array().expect("cells").iter().find(|c| c["kpiKey"] == key).cloned().expect("cell")
        };
        // New leads by hand: the member's deals whose lead came in last week.
        let deals = app
            .ok(
                manager,
                "query($m: ID) { deals(first: 200, filter: {ownerId: $m}) { edges { node { leadCreatedAt } } } }",
                json!({"m": member}),
            )
            .await;
        let new_leads = deals["deals"]["edges"]
            .as_array()
            .expect("deals")
            .iter()
            .filter(|e| {
                let at = chrono::DateTime::parse_from_rfc3339(e["node"]["leadCreatedAt"].as_str().expect("lead"))
                    .expect("time")
                    .with_timezone(&chrono::Utc);
                at >= start && at < end
            })
            .count();
        let leads = cell("new_leads");
        assert_eq!(leads["value"].as_f64(), Some(new_leads as f64), "{}", row["member"]["name"]);
        assert_eq!(leads["target"], 4.0);
        assert_eq!(leads["status"], if new_leads >= 4 { "ON_TARGET" } else { "OFF_TARGET" });
        assert_eq!(leads["trend"]["values"].as_array().expect("trend").len(), 6);
        // Call-to-appointment by hand: appointments ÷ calls logged last week.
        let acts = app
            .ok(manager, "query($m: ID, $f: DateTime, $t: DateTime) { activities(first: 200, filter: {memberId: $m, from: $f, to: $t, voided: false}) { edges { node { quantity activityType { name } } } } }",
                json!({"m": member, "f": start.to_rfc3339(), "t": end.to_rfc3339()}))
            .await;
        let count = |name: &str| {
            acts["activities"]["edges"]
                .as_array()
                .expect("acts")
                .iter()
                .filter(|e| e["node"]["activityType"]["name"] == name)
                .map(|e| e["node"]["quantity"].as_f64().unwrap_or(1.0))
                .sum::<f64>()
        };
        let (appointments, calls) = (count("Appointment set"), count("Call"));
        let rate = cell("call_to_appointment_rate");
        match rate["value"].as_f64() {
            Some(v) => assert!((v - appointments / calls * 100.0).abs() < 1e-6, "{v} vs {appointments}/{calls}"),
            None => assert_eq!(calls, 0.0, "no value only without calls"),
        }
        assert_eq!(rate["target"], 30.0);
    }
    let alerts = app.ok(manager, "{ alerts(status: OPEN) { kpiKey weeks { value target } } }", json!({})).await;
    let list = alerts["alerts"].as_array().expect("alerts");
    assert!(!list.is_empty(), "the demo alert is there");
    assert!(list.iter().all(|a| a["kpiKey"] == "new_leads"));
}
