use scorebord_tests::{Org, TestApp, backend_tests, error_code};
use serde_json::{Value, json};

backend_tests!(
    count_and_progress_points,
    campaigns_highest_multiplier_and_history_does_not_move,
    idempotency_under_twenty_concurrent_duplicates,
    voids_and_their_permissions,
    logging_permissions_and_validation,
    log_activities_is_all_or_nothing,
    weeks_across_dst_and_streaks,
    pacing_targets_and_suggestion,
    leaderboard_ties_and_target_percent,
    leaderboard_and_score_subscriptions,
    hot_board_matches_the_database_after_concurrent_logs,
    reps_read_only_what_is_theirs,
    rules_kept_in_memory_follow_their_changes,
    boards_answer_the_same_projected_or_executed,
);

const CREATE_TYPE: &str = "mutation($i: CreateActivityTypeInput!) { createActivityType(input: $i) { activityType { id points } userErrors { field code } } }";
const LOG: &str = "mutation($i: LogActivityInput!) { logActivity(input: $i) {
  replayed activity { id points basePoints multiplier campaign { name } } score { points activityCount } userErrors { field code message } } }";
const SCORE: &str = "query($m: ID, $t: ID, $p: PeriodInput!) { score(memberId: $m, teamId: $t, period: $p) {
  period { start end startDate endDate } points activityCount target attainmentPercent pacingPercent streakWeeks
  byActivityType { activityType { name } count points } } }";

async fn activity_type(app: &TestApp, org: &Org, name: &str, points: f64, progress_step: Option<i32>) -> String {
    let unit = if progress_step.is_some() { "PROGRESS" } else { "COUNT" };
    let d = app
        .ok(&org.admin_token, CREATE_TYPE, json!({"i": {"name": name, "category": "ACTION", "unit": unit, "points": points, "stepPercent": progress_step}}))
        .await;
    d["createActivityType"]["activityType"]["id"].as_str().unwrap_or_else(|| panic!("{d}")).to_owned()
}

async fn log(app: &TestApp, token: &str, input: Value) -> Value {
    app.ok(token, LOG, json!({"i": input})).await["logActivity"].clone()
}

/// Moves a member's start date back so history can be logged.
async fn started_long_ago(app: &TestApp, org: &Org, member: &str) {
    app.ok(
        &org.admin_token,
        "mutation($i: UpdateMemberInput!) { updateMember(input: $i) { member { startDate } } }",
        json!({"i": {"id": member, "startDate": "2025-01-01"}}),
    )
    .await;
}

async fn count_and_progress_points(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let quote = activity_type(app, &org, "Quote sent", 3.0, None).await;
    let news = activity_type(app, &org, "Newsletter", 1.5, Some(10)).await;
    let r = log(app, &org.rep_token, json!({"activityTypeId": quote, "quantity": 4})).await;
    assert_eq!(r["activity"]["points"], 12.0);
    assert_eq!(r["activity"]["multiplier"], 1.0);
    assert_eq!(r["score"]["points"], 12.0);
    let r = log(app, &org.rep_token, json!({"activityTypeId": quote})).await;
    assert_eq!(r["activity"]["points"], 3.0, "quantity defaults to 1");
    // PROGRESS 0 → 35 → 35 → 30 → 100 with 1.5 points per 10 %: 3, 0, 0 and 7 steps.
    let mut awarded = Vec::new();
    for pct in [35, 35, 30, 100] {
        let r =
            log(app, &org.rep_token, json!({"activityTypeId": news, "progressPercent": pct, "workItemKey": "nl-nov"}))
                .await;
        assert_eq!(r["userErrors"], json!([]), "{r}");
        awarded.push(r["activity"]["points"].as_f64().unwrap());
    }
    assert_eq!(awarded, vec![4.5, 0.0, 0.0, 10.5]);
    // Another work item starts from zero.
    let r =
        log(app, &org.rep_token, json!({"activityTypeId": news, "progressPercent": 20, "workItemKey": "nl-dec"})).await;
    assert_eq!(r["activity"]["points"], 3.0);
    let s = app.ok(&org.rep_token, SCORE, json!({"p": {"grain": "DAY"}})).await;
    assert_eq!(s["score"]["points"], 33.0);
    assert_eq!(s["score"]["activityCount"], 7);
    assert_eq!(
        s["score"]["byActivityType"][0],
        json!({"activityType": {"name": "Newsletter"}, "count": 5, "points": 18.0})
    );
    // Wrong shapes are user errors.
    let bad = log(app, &org.rep_token, json!({"activityTypeId": news, "quantity": 2})).await;
    let fields: Vec<&str> =
        bad["userErrors"].as_array().unwrap().iter().map(|e| e["field"][1].as_str().unwrap()).collect();
    assert_eq!(fields, vec!["quantity", "progressPercent", "workItemKey"]);
    let bad = log(app, &org.rep_token, json!({"activityTypeId": quote, "quantity": 0})).await;
    assert_eq!(bad["userErrors"][0]["field"], json!(["input", "quantity"]));
    let bad = log(app, &org.rep_token, json!({"activityTypeId": quote, "quantity": 10001})).await;
    assert_eq!(bad["userErrors"][0]["field"], json!(["input", "quantity"]));
}

async fn campaigns_highest_multiplier_and_history_does_not_move(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let quote = activity_type(app, &org, "Quote sent", 3.0, None).await;
    let call = activity_type(app, &org, "Call", 1.0, None).await;
    let now = chrono::Utc::now();
    let create = "mutation($i: CreateCampaignInput!) { createCampaign(input: $i) { campaign { id name status multiplier } userErrors { field code } } }";
    let window = |mult: f64, name: &str, types: Vec<&str>, teams: Vec<&str>| {
        json!({"i": {"name": name, "startsAt": (now - chrono::Duration::hours(1)).to_rfc3339(), "endsAt": (now + chrono::Duration::days(3)).to_rfc3339(),
                     "multiplier": mult, "activityTypeIds": types, "teamIds": teams}})
    };
    let c1 = app.ok(&org.admin_token, create, window(1.5, "All things", vec![], vec![])).await;
    assert_eq!(c1["createCampaign"]["campaign"]["status"], "RUNNING");
    app.ok(&org.admin_token, create, window(2.0, "Double quotes", vec![&quote], vec![])).await;
    app.ok(&org.admin_token, create, window(3.0, "Inbound only", vec![], vec![&org.inbound])).await;
    // A page of campaigns answers the same projected as executed (`teams` is only executed).
    for selection in [
        "{ id name theme reward startsAt endsAt endedAt multiplier status version }",
        "{ __typename n: name ... on Campaign { multiplier } status @skip(if: true) }",
    ] {
        for shape in ["nodes SEL", "edges { cursor node SEL }"] {
            let query = |sel: &str| format!("{{ campaigns(first: 10) {{ {} }} }}", shape.replace("SEL", sel));
            let projected = app.ok(&org.rep_token, &query(selection), json!({})).await;
            let mut executed =
                app.ok(&org.rep_token, &query(&selection.replacen("{ ", "{ teams { id } ", 1)), json!({})).await;
            let items = executed["campaigns"][if shape.starts_with("nodes") { "nodes" } else { "edges" }]
                .as_array_mut()
                .unwrap();
            assert_eq!(items.len(), 3, "{executed}");
            for c in items {
                let c = if shape.starts_with("nodes") { c } else { &mut c["node"] };
                c.as_object_mut().unwrap().remove("teams");
            }
            assert_eq!(projected, executed, "{selection} as {shape}");
        }
    }
    // Bad definitions are user errors.
    let bad = app
        .ok(
            &org.admin_token,
            create,
            json!({"i": {"name": "x", "startsAt": now.to_rfc3339(), "endsAt": now.to_rfc3339(), "multiplier": 11.0}}),
        )
        .await;
    let fields: Vec<&str> = bad["createCampaign"]["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"][1].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["multiplier", "endsAt"]);

    let q = log(app, &org.rep_token, json!({"activityTypeId": quote})).await;
    assert_eq!((q["activity"]["multiplier"].as_f64(), q["activity"]["points"].as_f64()), (Some(2.0), Some(6.0)));
    assert_eq!(q["activity"]["campaign"]["name"], "Double quotes");
    let c = log(app, &org.rep_token, json!({"activityTypeId": call})).await;
    assert_eq!((c["activity"]["multiplier"].as_f64(), c["activity"]["points"].as_f64()), (Some(1.5), Some(1.5)));
    // The inbound rep gets the team campaign's 3×.
    let i = log(app, &org.inbound_rep_token, json!({"activityTypeId": quote})).await;
    assert_eq!((i["activity"]["multiplier"].as_f64(), i["activity"]["points"].as_f64()), (Some(3.0), Some(9.0)));
    // A batch reads the campaigns of its whole time span once; each item still gets the
    // campaigns running at its own time (none before they started). The rep started today;
    // two hours ago may be yesterday, before their start, so their start moves back a week.
    let week_ago = (now - chrono::Duration::days(7)).date_naive().to_string();
    app.ok(
        &org.admin_token,
        "mutation($id: ID!, $d: NaiveDate!) { updateMember(input: {id: $id, startDate: $d}) { member { startDate } } }",
        json!({"id": org.rep, "d": week_ago}),
    )
    .await;
    let many = "mutation($i: LogActivitiesInput!) { logActivities(input: $i) { activities { multiplier points campaign { name } } userErrors { field code } } }";
    let items = json!([
        {"activityTypeId": quote, "occurredAt": (now - chrono::Duration::hours(2)).to_rfc3339()},
        {"activityTypeId": quote},
        {"activityTypeId": call, "occurredAt": (now - chrono::Duration::minutes(30)).to_rfc3339()},
    ]);
    let batch = app.ok(&org.rep_token, many, json!({"i": {"items": items}})).await;
    let got: Vec<(Option<f64>, Option<f64>, Value)> = batch["logActivities"]["activities"]
        .as_array()
        .unwrap_or_else(|| panic!("{batch}"))
        .iter()
        .map(|a| (a["multiplier"].as_f64(), a["points"].as_f64(), a["campaign"]["name"].clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (Some(1.0), Some(3.0), Value::Null),
            (Some(2.0), Some(6.0), json!("Double quotes")),
            (Some(1.5), Some(1.5), json!("All things")),
        ],
        "{batch}"
    );

    // Changing the type's points affects later activities only.
    app.ok(
        &org.admin_token,
        "mutation($i: UpdateActivityTypeInput!) { updateActivityType(input: $i) { activityType { points } } }",
        json!({"i": {"id": quote, "points": 5.0}}),
    )
    .await;
    let later = log(app, &org.rep_token, json!({"activityTypeId": quote})).await;
    assert_eq!(later["activity"]["points"], 10.0);
    let first = app
        .ok(
            &org.rep_token,
            "query($id: ID!) { node(id: $id) { ... on Activity { points basePoints } } }",
            json!({"id": q["activity"]["id"]}),
        )
        .await;
    assert_eq!(first["node"], json!({"points": 6.0, "basePoints": 3.0}));
    // A team created under the campaign's team after logging kept the organization's rules
    // (and its team tree) in memory: its reps get the team campaign at once.
    let sub = app
        .ok(
            &org.admin_token,
            "mutation($p: ID!) { createTeam(input: {name: \"Inbound North\", parentTeamId: $p}) { team { id } } }",
            json!({"p": org.inbound}),
        )
        .await["createTeam"]["team"]["id"]
        .clone();
    app.ok(
        &org.admin_token,
        "mutation($id: ID!, $t: ID!) { updateMember(input: {id: $id, teamId: $t}) { member { id } } }",
        json!({"id": org.rep, "t": sub}),
    )
    .await;
    let moved = log(app, &org.rep_token, json!({"activityTypeId": quote})).await;
    assert_eq!(moved["activity"]["campaign"]["name"], "Inbound only", "{moved}");
    assert_eq!(
        (moved["activity"]["multiplier"].as_f64(), moved["activity"]["points"].as_f64()),
        (Some(3.0), Some(15.0))
    );
    // Archived types cannot be logged.
    app.ok(
        &org.admin_token,
        "mutation($i: ArchiveActivityTypeInput!) { archiveActivityType(input: $i) { activityType { active } } }",
        json!({"i": {"id": call}}),
    )
    .await;
    let archived = log(app, &org.rep_token, json!({"activityTypeId": call})).await;
    assert_eq!(archived["userErrors"][0]["code"], "ARCHIVED");
    let listed = app
        .ok(
            &org.rep_token,
            "{ activityTypes { totalCount } all: activityTypes(includeArchived: true) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        (listed["activityTypes"]["totalCount"].as_i64(), listed["all"]["totalCount"].as_i64()),
        (Some(1), Some(2))
    );
}

async fn idempotency_under_twenty_concurrent_duplicates(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let quote = activity_type(app, &org, "Quote sent", 3.0, None).await;
    let before = app.count_rows("activities").await;
    let token = org.rep_token.as_str();
    let requests = (0..20).map(|_| {
        let input = json!({"activityTypeId": quote, "quantity": 2, "idempotencyKey": "car-park-7f3a"});
        async move { log(app, token, input).await }
    });
    let results = futures_util::future::join_all(requests).await;
    let ids: std::collections::HashSet<String> =
        results.iter().map(|r| r["activity"]["id"].as_str().unwrap_or_else(|| panic!("{r}")).to_owned()).collect();
    assert_eq!(ids.len(), 1, "every retry answers with the same activity");
    assert_eq!(results.iter().filter(|r| r["replayed"] == false).count(), 1, "exactly one was new");
    assert_eq!(app.count_rows("activities").await, before + 1);
    let s = app.ok(&org.rep_token, SCORE, json!({"p": {"grain": "WEEK"}})).await;
    assert_eq!(s["score"]["points"], 6.0, "points counted once");
    // The same key for another member is a different activity.
    let other =
        log(app, &org.inbound_rep_token, json!({"activityTypeId": quote, "idempotencyKey": "car-park-7f3a"})).await;
    assert_eq!(other["replayed"], false);
}

async fn voids_and_their_permissions(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let quote = activity_type(app, &org, "Quote sent", 3.0, None).await;
    let void = "mutation($i: VoidActivityInput!) { voidActivity(input: $i) { activity { voided voidReason voidedBy { name } points } score { points } userErrors { field code } } }";
    let a = log(app, &org.rep_token, json!({"activityTypeId": quote, "quantity": 2})).await;
    let b = log(app, &org.inbound_rep_token, json!({"activityTypeId": quote})).await;
    let (a_id, b_id) = (a["activity"]["id"].clone(), b["activity"]["id"].clone());
    // A rep cannot void another rep's activity; a manager outside the team cannot either.
    assert_eq!(
        error_code(&app.gql(Some(&org.rep_token), void, json!({"i": {"id": b_id, "reason": "x"}})).await),
        "FORBIDDEN"
    );
    assert_eq!(
        error_code(&app.gql(Some(&org.manager_token), void, json!({"i": {"id": b_id, "reason": "x"}})).await),
        "FORBIDDEN"
    );
    let empty = app.ok(&org.rep_token, void, json!({"i": {"id": a_id, "reason": "  "}})).await;
    assert_eq!(empty["voidActivity"]["userErrors"][0]["code"], "REQUIRED");
    // The rep voids their own: the score drops, the row stays.
    let v = app.ok(&org.rep_token, void, json!({"i": {"id": a_id, "reason": "logged twice"}})).await;
    assert_eq!(v["voidActivity"]["activity"]["voided"], true);
    assert_eq!(v["voidActivity"]["activity"]["voidReason"], "logged twice");
    assert_eq!(v["voidActivity"]["activity"]["voidedBy"]["name"], "acme Rep");
    assert_eq!(v["voidActivity"]["score"]["points"], 0.0);
    let again = app.ok(&org.rep_token, void, json!({"i": {"id": a_id, "reason": "again"}})).await;
    assert_eq!(again["voidActivity"]["userErrors"][0]["code"], "ALREADY_VOIDED");
    let listed = app
        .ok(
            &org.rep_token,
            "{ activities(filter: {voided: true}) { totalCount edges { node { voided } } } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["activities"]["totalCount"], 1);
    // The admin voids anyone's.
    let v = app.ok(&org.admin_token, void, json!({"i": {"id": b_id, "reason": "wrong member"}})).await;
    assert_eq!(v["voidActivity"]["activity"]["voided"], true);
    let week = app.ok(&org.admin_token, SCORE, json!({"t": org.sales, "p": {"grain": "WEEK"}})).await;
    assert_eq!(week["score"]["points"], 0.0);
}

async fn logging_permissions_and_validation(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let other = app.seed_org("other").await;
    let quote = activity_type(app, &org, "Quote sent", 3.0, None).await;
    // A rep cannot log for another rep; a viewer cannot log at all.
    let body =
        app.gql(Some(&org.rep_token), LOG, json!({"i": {"activityTypeId": quote, "memberId": org.inbound_rep}})).await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    assert_eq!(
        error_code(&app.gql(Some(&org.viewer_token), LOG, json!({"i": {"activityTypeId": quote}})).await),
        "FORBIDDEN"
    );
    // A manager logs for a rep of their team, not outside it.
    let by_manager = log(app, &org.manager_token, json!({"activityTypeId": quote, "memberId": org.rep})).await;
    assert_eq!(by_manager["activity"]["points"], 3.0);
    let body = app
        .gql(Some(&org.manager_token), LOG, json!({"i": {"activityTypeId": quote, "memberId": org.inbound_rep}}))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let sources = app
        .ok(
            &org.admin_token,
            "{ activities { edges { node { source loggedBy { name } member { name } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        sources["activities"]["edges"][0]["node"],
        json!({"source": "MANAGER", "loggedBy": {"name": "acme Manager"}, "member": {"name": "acme Rep"}})
    );
    // Another tenant's type or member: NOT_FOUND.
    let foreign_type = activity_type(app, &other, "Theirs", 1.0, None).await;
    assert_eq!(
        error_code(&app.gql(Some(&org.rep_token), LOG, json!({"i": {"activityTypeId": foreign_type}})).await),
        "NOT_FOUND"
    );
    assert_eq!(
        error_code(
            &app.gql(Some(&org.admin_token), LOG, json!({"i": {"activityTypeId": quote, "memberId": other.rep}})).await
        ),
        "NOT_FOUND"
    );
    // occurredAt: not in the future, not before the member started, not before the open window.
    let before = app.count_rows("activities").await;
    let now = chrono::Utc::now();
    for at in [now + chrono::Duration::minutes(10), now - chrono::Duration::days(2)] {
        let r = log(app, &org.rep_token, json!({"activityTypeId": quote, "occurredAt": at.to_rfc3339()})).await;
        assert_eq!(r["userErrors"][0]["field"], json!(["input", "occurredAt"]), "{at}: {r}");
    }
    started_long_ago(app, &org, &org.rep).await;
    let old = log(
        app,
        &org.rep_token,
        json!({"activityTypeId": quote, "occurredAt": (now - chrono::Duration::days(36)).to_rfc3339()}),
    )
    .await;
    assert_eq!(old["userErrors"][0]["code"], "OUT_OF_RANGE");
    let ok = log(
        app,
        &org.rep_token,
        json!({"activityTypeId": quote, "occurredAt": (now - chrono::Duration::days(34)).to_rfc3339()}),
    )
    .await;
    assert_eq!(ok["userErrors"], json!([]));
    let long_note = log(app, &org.rep_token, json!({"activityTypeId": quote, "note": "x".repeat(2001)})).await;
    assert_eq!(long_note["userErrors"][0]["field"], json!(["input", "note"]));
    assert_eq!(app.count_rows("activities").await, before + 1, "only the valid one was written");
}

async fn log_activities_is_all_or_nothing(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let quote = activity_type(app, &org, "Quote sent", 3.0, None).await;
    // This rep logs 607 units today, past the default self-logging ceiling of 500 a day.
    let ceiling = "mutation($i: UpdateActivityTypeInput!) { updateActivityType(input: $i) { userErrors { code } } }";
    let r = app.ok(&org.admin_token, ceiling, json!({"i": {"id": quote, "selfMaxQuantityPerDay": 1000}})).await;
    assert_eq!(r["updateActivityType"]["userErrors"], json!([]), "{r}");
    let q = "mutation($i: LogActivitiesInput!) { logActivities(input: $i) { activities { points } replayedCount userErrors { field code } } }";
    let mut items: Vec<Value> =
        (0..5).map(|i| json!({"activityTypeId": quote, "idempotencyKey": format!("batch-{i}")})).collect();
    items[3]["quantity"] = json!(0);
    let before = app.count_rows("activities").await;
    let bad = app.ok(&org.rep_token, q, json!({"i": {"items": items}})).await;
    assert_eq!(bad["logActivities"]["userErrors"][0]["field"], json!(["input", "items", "3", "quantity"]));
    assert_eq!(bad["logActivities"]["activities"], json!([]));
    assert_eq!(app.count_rows("activities").await, before, "nothing written");
    items[3]["quantity"] = json!(2);
    let ok = app.ok(&org.rep_token, q, json!({"i": {"items": items}})).await;
    assert_eq!(ok["logActivities"]["activities"].as_array().unwrap().len(), 5);
    assert_eq!(ok["logActivities"]["activities"][3]["points"], 6.0);
    let again = app.ok(&org.rep_token, q, json!({"i": {"items": items}})).await;
    assert_eq!(again["logActivities"]["replayedCount"], 5);
    assert_eq!(app.count_rows("activities").await, before + 5);
    // In one batch a repeated key (with the same request) replays the item before it, and
    // stored and new keys mix. A repeated key with another request is a CONFLICT (see
    // input_attacks.rs).
    let q_ids = "mutation($i: LogActivitiesInput!) { logActivities(input: $i) { activities { id points } replayedCount userErrors { field code } } }";
    let mixed = json!([
        {"activityTypeId": quote, "idempotencyKey": "batch-0"},
        {"activityTypeId": quote, "idempotencyKey": "fresh"},
        {"activityTypeId": quote, "idempotencyKey": "fresh", "quantity": 1},
    ]);
    let r = app.ok(&org.rep_token, q_ids, json!({"i": {"items": mixed}})).await;
    let logged = &r["logActivities"];
    assert_eq!(logged["replayedCount"], 2, "{r}");
    assert_eq!(logged["activities"][1]["id"], logged["activities"][2]["id"], "{r}");
    assert_eq!(logged["activities"][2]["points"], 3.0, "the original, awarded once");
    assert_eq!(app.count_rows("activities").await, before + 6);
    // More items than one multi-row statement holds; the day totals take them all.
    let many: Vec<Value> = (0..400).map(|i| json!({"activityTypeId": quote, "quantity": 1 + i % 2})).collect();
    let r = app.ok(&org.rep_token, q, json!({"i": {"items": many}})).await;
    assert_eq!(r["logActivities"]["activities"].as_array().map(Vec::len), Some(400), "{r}");
    assert_eq!(app.count_rows("activities").await, before + 406);
    let score = app.ok(&org.rep_token, SCORE, json!({"m": org.rep, "p": {"grain": "WEEK"}})).await;
    // Units: 6 in the first batch, 1 new in the mixed one, 600 in the last; 3 points each.
    assert_eq!(score["score"]["points"], (6.0 + 1.0 + 600.0) * 3.0, "{score}");
    let too_many: Vec<Value> = (0..501).map(|_| json!({"activityTypeId": quote})).collect();
    assert_eq!(
        error_code(&app.gql(Some(&org.rep_token), q, json!({"i": {"items": too_many}})).await),
        "BAD_USER_INPUT"
    );
}

async fn weeks_across_dst_and_streaks(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let quote = activity_type(app, &org, "Quote sent", 10.0, None).await;
    started_long_ago(app, &org, &org.rep).await;
    let now = chrono::Utc::now();
    let tz: chrono_tz::Tz = "Europe/Amsterdam".parse().unwrap();
    let today = now.with_timezone(&tz).date_naive();
    let this_monday =
        today - chrono::Duration::days(i64::from(chrono::Datelike::weekday(&today).num_days_from_monday()));
    // A weekly target of 20 from long ago; 2 quotes (20 points) in each of the last two complete weeks.
    app.ok(&org.admin_token, "mutation($i: SetPointsTargetInput!) { setPointsTarget(input: $i) { target { weeklyPoints } userErrors { code } } }",
        json!({"i": {"salesRole": "OUTBOUND", "weeklyPoints": 20.0, "effectiveFrom": "2025-01-01", "reason": "start"}})).await;
    for weeks_back in [1, 2] {
        let day = this_monday - chrono::Duration::weeks(weeks_back) + chrono::Duration::days(2);
        let at = day.and_hms_opt(10, 0, 0).unwrap().and_local_timezone(tz).unwrap().with_timezone(&chrono::Utc);
        let r =
            log(app, &org.rep_token, json!({"activityTypeId": quote, "quantity": 2, "occurredAt": at.to_rfc3339()}))
                .await;
        assert_eq!(r["userErrors"], json!([]), "{r}");
    }
    let s = app.ok(&org.rep_token, SCORE, json!({"p": {"grain": "WEEK"}})).await;
    assert_eq!(s["score"]["streakWeeks"], 2, "{s}");
    assert_eq!(s["score"]["target"], 20.0);

    // Around the DST change of 2026-10-25 (CEST → CET): Sunday 23:30 local belongs to the
    // week of 19 October, Monday 00:30 local to the week of 26 October.
    // Open the window wide enough to log around both DST changes of 2026.
    app.ok(
        &org.admin_token,
        "mutation { updateOrganization(input: {activityOpenWindowDays: 3660}) { userErrors { code } } }",
        json!({}),
    )
    .await;
    {
        log(app, &org.rep_token, json!({"activityTypeId": quote, "occurredAt": "2026-10-25T22:30:00Z"})).await;
        log(app, &org.rep_token, json!({"activityTypeId": quote, "quantity": 3, "occurredAt": "2026-10-25T23:30:00Z"}))
            .await;
        let w1 = app.ok(&org.rep_token, SCORE, json!({"p": {"grain": "WEEK", "date": "2026-10-25"}})).await;
        assert_eq!(w1["score"]["points"], 10.0);
        assert_eq!(w1["score"]["period"]["start"], "2026-10-18T22:00:00+00:00", "Monday 00:00 CEST");
        assert_eq!(w1["score"]["period"]["end"], "2026-10-25T23:00:00+00:00", "Monday 00:00 CET: a 169-hour week");
        let w2 = app.ok(&org.rep_token, SCORE, json!({"p": {"grain": "WEEK", "date": "2026-10-26"}})).await;
        assert_eq!(w2["score"]["points"], 30.0);
        let day = app.ok(&org.rep_token, SCORE, json!({"p": {"grain": "DAY", "date": "2026-10-25"}})).await;
        assert_eq!(day["score"]["points"], 10.0);
        // Spring forward (2026-03-29): that week is 167 hours, Monday 00:00 CET to Monday 00:00 CEST.
        log(app, &org.rep_token, json!({"activityTypeId": quote, "occurredAt": "2026-03-29T21:59:00Z"})).await;
        let spring = app.ok(&org.rep_token, SCORE, json!({"p": {"grain": "WEEK", "date": "2026-03-29"}})).await;
        assert_eq!(spring["score"]["period"]["start"], "2026-03-22T23:00:00+00:00");
        assert_eq!(spring["score"]["period"]["end"], "2026-03-29T22:00:00+00:00");
        assert_eq!(spring["score"]["points"], 10.0);
        let next = app.ok(&org.rep_token, SCORE, json!({"p": {"grain": "WEEK", "date": "2026-03-30"}})).await;
        assert_eq!(next["score"]["points"], 0.0);
    }
    let year = app.ok(&org.rep_token, SCORE, json!({"p": {"grain": "YEAR", "date": "2026-06-01"}})).await;
    assert!(year["score"]["points"].as_f64().unwrap() >= 50.0);
}

async fn pacing_targets_and_suggestion(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let quote = activity_type(app, &org, "Quote sent", 7.0, None).await;
    let set = "mutation($i: SetPointsTargetInput!) { setPointsTarget(input: $i) { target { weeklyPoints reason member { name } salesRole } userErrors { field code } } }";
    app.ok(&org.admin_token, set, json!({"i": {"salesRole": "OUTBOUND", "weeklyPoints": 28.0, "effectiveFrom": "2025-01-01", "reason": "default"}})).await;
    // A manager overrides for a rep of their team, not outside it; a rep cannot.
    let o = app.ok(&org.manager_token, set, json!({"i": {"memberId": org.rep, "weeklyPoints": 14.0, "effectiveFrom": "2025-06-01", "reason": "new in the role"}})).await;
    assert_eq!(o["setPointsTarget"]["target"]["member"]["name"], "acme Rep");
    assert_eq!(
        error_code(
            &app.gql(
                Some(&org.manager_token),
                set,
                json!({"i": {"memberId": org.inbound_rep, "weeklyPoints": 1.0, "reason": "x"}})
            )
            .await
        ),
        "FORBIDDEN"
    );
    assert_eq!(
        error_code(
            &app.gql(
                Some(&org.rep_token),
                set,
                json!({"i": {"memberId": org.rep, "weeklyPoints": 1.0, "reason": "x"}})
            )
            .await
        ),
        "FORBIDDEN"
    );
    let bad =
        app.ok(&org.admin_token, set, json!({"i": {"salesRole": "CLOSER", "weeklyPoints": -1.0, "reason": ""}})).await;
    assert_eq!(bad["setPointsTarget"]["userErrors"].as_array().unwrap().len(), 2);
    let history = app
        .ok(
            &org.rep_token,
            "query($m: ID) { pointsTargetHistory(memberId: $m) { weeklyPoints reason } }",
            json!({"m": org.rep}),
        )
        .await;
    assert_eq!(history["pointsTargetHistory"], json!([{"weeklyPoints": 14.0, "reason": "new in the role"}]));

    log(app, &org.rep_token, json!({"activityTypeId": quote})).await;
    let s = app.ok(&org.rep_token, SCORE, json!({"p": {"grain": "WEEK"}})).await["score"].clone();
    assert_eq!(s["target"], 14.0, "the member override wins");
    assert_eq!(s["attainmentPercent"], 50.0);
    let start = chrono::DateTime::parse_from_rfc3339(s["period"]["start"].as_str().unwrap()).unwrap();
    let end = chrono::DateTime::parse_from_rfc3339(s["period"]["end"].as_str().unwrap()).unwrap();
    let elapsed =
        (chrono::Utc::now().fixed_offset() - start).num_milliseconds() as f64 / (end - start).num_milliseconds() as f64;
    let expected = 50.0 / elapsed;
    let pacing = s["pacingPercent"].as_f64().unwrap();
    assert!((pacing - expected).abs() / expected < 0.01, "pacing {pacing} vs {expected}");
    // A month's target is the weekly target scaled to its days.
    let m = app.ok(&org.rep_token, SCORE, json!({"p": {"grain": "MONTH", "date": "2026-02-10"}})).await;
    assert_eq!(m["score"]["target"], 56.0, "28 days = 4 weeks of 14");
    // Without 4 weeks of history there is no suggestion.
    let sug = app.ok(&org.rep_token, "{ suggestedPointsTarget }", json!({})).await;
    assert!(sug["suggestedPointsTarget"].is_null());
    // Team score: the sum over the subtree's active members.
    log(app, &org.inbound_rep_token, json!({"activityTypeId": quote, "quantity": 2})).await;
    let team = app.ok(&org.admin_token, SCORE, json!({"t": org.sales, "p": {"grain": "WEEK"}})).await;
    assert_eq!(team["score"]["points"], 21.0);
    assert!(team["score"]["streakWeeks"].is_null());
}

async fn leaderboard_ties_and_target_percent(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let quote = activity_type(app, &org, "Quote sent", 5.0, None).await;
    log(app, &org.rep_token, json!({"activityTypeId": quote, "quantity": 2})).await;
    log(app, &org.inbound_rep_token, json!({"activityTypeId": quote, "quantity": 2})).await;
    log(app, &org.manager_token, json!({"activityTypeId": quote, "quantity": 3})).await;
    let q = "query($i: LeaderboardInput!) { leaderboard(input: $i) { totalEntries entries { rank value points member { name } team { name } } } }";
    let b = app.ok(&org.viewer_token, q, json!({"i": {"period": {"grain": "WEEK"}}})).await["leaderboard"].clone();
    let ranks: Vec<(u64, String)> = b["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["rank"].as_u64().unwrap(), e["member"]["name"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        ranks[..3],
        [(1, "acme Manager".to_owned()), (2, "acme Inbound Rep".to_owned()), (2, "acme Rep".to_owned())]
    );
    assert_eq!(ranks[3].0, 4, "standard competition ranking: 1, 2, 2, 4");
    assert_eq!(b["totalEntries"], 5);
    let top2 = app.ok(&org.viewer_token, q, json!({"i": {"period": {"grain": "WEEK"}, "first": 2}})).await;
    assert_eq!(top2["leaderboard"]["entries"].as_array().unwrap().len(), 2);
    // Scoped to Outbound: the manager and the rep.
    let scoped = app.ok(&org.rep_token, q, json!({"i": {"period": {"grain": "WEEK"}, "teamId": org.outbound}})).await;
    assert_eq!(scoped["leaderboard"]["totalEntries"], 2);
    // TARGET_PERCENT: a smaller target beats more points.
    let set = "mutation($i: SetPointsTargetInput!) { setPointsTarget(input: $i) { userErrors { code } } }";
    app.ok(
        &org.admin_token,
        set,
        json!({"i": {"memberId": org.rep, "weeklyPoints": 5.0, "effectiveFrom": "2025-01-01", "reason": "junior"}}),
    )
    .await;
    app.ok(&org.admin_token, set, json!({"i": {"memberId": org.manager, "weeklyPoints": 60.0, "effectiveFrom": "2025-01-01", "reason": "senior"}})).await;
    let pct =
        app.ok(&org.viewer_token, q, json!({"i": {"period": {"grain": "WEEK"}, "metric": "TARGET_PERCENT"}})).await;
    assert_eq!(pct["leaderboard"]["entries"][0]["member"]["name"], "acme Rep");
    assert_eq!(pct["leaderboard"]["entries"][0]["value"], 200.0);
    assert_eq!(pct["leaderboard"]["entries"][1]["value"], 25.0);
    // Teams: Sales's sub-teams, by the sum of their members.
    let teams = app
        .ok(&org.viewer_token, q, json!({"i": {"period": {"grain": "WEEK"}, "subject": "TEAMS", "teamId": org.sales}}))
        .await;
    assert_eq!(teams["leaderboard"]["entries"][0]["team"]["name"], "acme Outbound");
    assert_eq!(teams["leaderboard"]["entries"][0]["points"], 25.0);
    // Bounds and permissions: a rep cannot read the Inbound board; another org's team is NOT_FOUND.
    assert_eq!(
        error_code(&app.gql(Some(&org.rep_token), q, json!({"i": {"period": {"grain": "WEEK"}, "first": 0}})).await),
        "BAD_USER_INPUT"
    );
    assert_eq!(
        error_code(
            &app.gql(Some(&org.rep_token), q, json!({"i": {"period": {"grain": "WEEK"}, "teamId": org.inbound}})).await
        ),
        "FORBIDDEN"
    );
    let other = app.seed_org("other").await;
    assert_eq!(
        error_code(
            &app.gql(Some(&org.rep_token), q, json!({"i": {"period": {"grain": "WEEK"}, "teamId": other.sales}})).await
        ),
        "NOT_FOUND"
    );
    // Deactivated members drop off.
    app.ok(
        &org.admin_token,
        "mutation($id: ID!) { deactivateMember(input: {id: $id}) { member { active } } }",
        json!({"id": org.manager}),
    )
    .await;
    let after = app.ok(&org.viewer_token, q, json!({"i": {"period": {"grain": "WEEK"}}})).await;
    assert_eq!(after["leaderboard"]["totalEntries"], 4);
}

async fn leaderboard_and_score_subscriptions(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let other = app.seed_org("other").await;
    let quote = activity_type(app, &org, "Quote sent", 3.0, None).await;
    let their_quote = activity_type(app, &other, "Quote sent", 3.0, None).await;
    let mut ws = app.ws("graphql-transport-ws").await;
    ws.send(json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {}", org.rep_token)}}))
        .await;
    assert_eq!(ws.next_json().await["type"], "connection_ack");
    let board = "subscription($i: LeaderboardInput!) { leaderboardChanged(input: $i) { entries { rank points member { name } } } }";
    ws.send(json!({"id": "b", "type": "subscribe", "payload": {"query": board, "variables": {"i": {"period": {"grain": "WEEK"}, "teamId": org.outbound}}}})).await;
    let first = ws.next_json().await;
    assert_eq!(first["id"], "b");
    assert_eq!(
        first["payload"]["data"]["leaderboardChanged"]["entries"][0]["points"], 0.0,
        "the current board at once"
    );
    ws.send(json!({"id": "s", "type": "subscribe", "payload": {"query": "subscription { scoreChanged { member { name } pointsDelta score { points } activity { points } } }"}})).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // Another tenant's activity must not reach this subscriber; an Inbound one does not change the Outbound board.
    log(app, &other.rep_token, json!({"activityTypeId": their_quote})).await;
    // The manager logs for the Outbound rep.
    let started = std::time::Instant::now();
    log(app, &org.manager_token, json!({"activityTypeId": quote, "memberId": org.rep, "quantity": 2})).await;
    let mut got_board = None;
    let mut got_score = None;
    while got_board.is_none() || got_score.is_none() {
        let m = ws.next_json().await;
        match m["id"].as_str() {
            Some("b") => got_board = Some(m),
            Some("s") => got_score = Some(m),
            _ => panic!("unexpected {m}"),
        }
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(1), "delivered within a second");
    let entries = &got_board.unwrap()["payload"]["data"]["leaderboardChanged"]["entries"];
    assert_eq!(entries[0], json!({"rank": 1, "points": 6.0, "member": {"name": "acme Rep"}}));
    let change = &got_score.unwrap()["payload"]["data"]["scoreChanged"];
    assert_eq!(change["pointsDelta"], 6.0);
    assert_eq!(change["score"]["points"], 6.0);
    assert_eq!(change["member"]["name"], "acme Rep");
    // A burst of 10 logs arrives coalesced, ending in the latest state.
    for _ in 0..10 {
        log(app, &org.rep_token, json!({"activityTypeId": quote})).await;
    }
    let mut last_board = None;
    let mut score_messages = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while std::time::Instant::now() < deadline {
        let m = match tokio::time::timeout(std::time::Duration::from_millis(500), ws.next_json()).await {
            Ok(m) => m,
            Err(_) => break,
        };
        if m["id"] == "b" {
            last_board = Some(m);
        } else {
            score_messages += 1;
        }
    }
    assert_eq!(score_messages, 10, "one score change per activity");
    assert_eq!(
        last_board.expect("board updates")["payload"]["data"]["leaderboardChanged"]["entries"][0]["points"],
        36.0
    );
    // Subscribing to another tenant's team: NOT_FOUND.
    ws.send(json!({"id": "x", "type": "subscribe", "payload": {"query": board, "variables": {"i": {"period": {"grain": "WEEK"}, "teamId": other.sales}}}})).await;
    let err = loop {
        let m = ws.next_json().await;
        if m["id"] == "x" {
            break m;
        }
    };
    // A resolver error arrives as a result with errors (validation errors would be `error`).
    let errors = if err["type"] == "error" { err["payload"].clone() } else { err["payload"]["errors"].clone() };
    assert_eq!(errors[0]["extensions"]["code"], "NOT_FOUND", "{err}");
}

/// The in-memory board of the current week is built, then 45 activities of three members
/// arrive concurrently (and one is voided): afterwards it equals what the day totals say.
async fn hot_board_matches_the_database_after_concurrent_logs(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let quote = activity_type(app, &org, "Quote sent", 1.25, None).await;
    let q = "query($i: LeaderboardInput!) { leaderboard(input: $i) { entries { points member { id } } } }";
    let hot_board = json!({"i": {"period": {"grain": "WEEK"}, "first": 200}});
    app.ok(&org.admin_token, q, hot_board.clone()).await;
    let tokens = [org.rep_token.as_str(), org.inbound_rep_token.as_str(), org.manager_token.as_str()];
    let logs = (0..45).map(|i| {
        let token = tokens[i % 3];
        let input = json!({"activityTypeId": quote, "quantity": 1 + (i % 4) as i64});
        async move { log(app, token, input).await }
    });
    let results = futures_util::future::join_all(logs).await;
    let to_void = results[0]["activity"]["id"].clone();
    app.ok(
        &org.admin_token,
        "mutation($i: VoidActivityInput!) { voidActivity(input: $i) { userErrors { code } } }",
        json!({"i": {"id": to_void, "reason": "test"}}),
    )
    .await;
    let hot = app.ok(&org.admin_token, q, hot_board).await;
    for entry in hot["leaderboard"]["entries"].as_array().unwrap() {
        let member = entry["member"]["id"].clone();
        let s = app.ok(&org.admin_token, SCORE, json!({"m": member, "p": {"grain": "WEEK"}})).await;
        assert_eq!(entry["points"], s["score"]["points"], "hot board and day totals agree for {member}");
    }
    let total: f64 =
        hot["leaderboard"]["entries"].as_array().unwrap().iter().map(|e| e["points"].as_f64().unwrap()).sum();
    // 45 logs of 1..4 quotes at 1.25, minus the voided first one (1 quote).
    let expected: f64 = (0..45).map(|i| (1 + i % 4) as f64 * 1.25).sum::<f64>() - 1.25;
    assert!((total - expected).abs() < 1e-9, "{total} vs {expected}");
}

/// Found in review: a rep could read other members' target overrides through
/// `pointsTargetHistory` and their activities through `scoreChanged(teamId:)` of a parent
/// team, and `organizationChanged` fired for unrelated events.
async fn reps_read_only_what_is_theirs(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let quote = activity_type(app, &org, "Quote sent", 3.0, None).await;
    let set = "mutation($i: SetPointsTargetInput!) { setPointsTarget(input: $i) { userErrors { code } } }";
    app.ok(
        &org.admin_token,
        set,
        json!({"i": {"memberId": org.inbound_rep, "weeklyPoints": 9.0, "reason": "private"}}),
    )
    .await;
    app.ok(&org.admin_token, set, json!({"i": {"memberId": org.rep, "weeklyPoints": 12.0, "reason": "mine"}})).await;
    app.ok(&org.admin_token, set, json!({"i": {"salesRole": "INBOUND", "weeklyPoints": 20.0, "reason": "default"}}))
        .await;
    let history = app.ok(&org.rep_token, "{ pointsTargetHistory { reason } }", json!({})).await;
    let reasons: Vec<&str> =
        history["pointsTargetHistory"].as_array().unwrap().iter().map(|t| t["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons, vec!["mine", "default"], "another member's override stays private");
    let all = app.ok(&org.admin_token, "{ pointsTargetHistory { reason } }", json!({})).await;
    assert_eq!(all["pointsTargetHistory"].as_array().unwrap().len(), 3);

    let mut ws = app.ws("graphql-transport-ws").await;
    ws.send(json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {}", org.rep_token)}}))
        .await;
    assert_eq!(ws.next_json().await["type"], "connection_ack");
    // Subscribing to the parent team's score changes: only the rep's own team is delivered.
    ws.send(json!({"id": "s", "type": "subscribe", "payload": {"query": "subscription($t: ID) { scoreChanged(teamId: $t) { member { name } } }", "variables": {"t": org.sales}}})).await;
    ws.send(
        json!({"id": "o", "type": "subscribe", "payload": {"query": "subscription { organizationChanged { name } }"}}),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    log(app, &org.inbound_rep_token, json!({"activityTypeId": quote})).await;
    log(app, &org.rep_token, json!({"activityTypeId": quote})).await;
    let first = ws.next_json().await;
    assert_eq!(first["id"], "s");
    assert_eq!(
        first["payload"]["data"]["scoreChanged"]["member"]["name"], "acme Rep",
        "the Inbound rep's activity is not delivered"
    );
    assert!(
        ws.next_within(std::time::Duration::from_millis(500)).await.is_none(),
        "organizationChanged stays silent for activities"
    );
}

/// Logging keeps an organization's activity types, campaigns and webhooks in memory (and on
/// PostgreSQL writes a batch with one statement); every change to them is seen by the next
/// log, and a retry is answered with its original even when it would no longer pass.
async fn rules_kept_in_memory_follow_their_changes(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let quote = activity_type(app, &org, "Quote sent", 3.0, None).await;
    let first = log(app, &org.rep_token, json!({"activityTypeId": quote, "idempotencyKey": "k-1"})).await;
    assert_eq!((first["replayed"].as_bool(), first["activity"]["points"].as_f64()), (Some(false), Some(3.0)));

    // A webhook created after the rules were read gets the next activity; once disabled, none.
    let hook = app
        .ok(
            &org.admin_token,
            "mutation { createWebhook(input: {url: \"http://127.0.0.1:9/hook\", events: [\"activity.logged\"]}) { webhook { id } userErrors { message } } }",
            json!({}),
        )
        .await;
    let hook_id = hook["createWebhook"]["webhook"]["id"].as_str().unwrap_or_else(|| panic!("{hook}")).to_owned();
    assert_eq!(app.count_rows("webhook_deliveries").await, 0);
    log(app, &org.rep_token, json!({"activityTypeId": quote})).await;
    assert_eq!(app.count_rows("webhook_deliveries").await, 1, "the new webhook is queued a delivery");
    app.ok(
        &org.admin_token,
        "mutation($id: ID!) { disableWebhook(input: {id: $id}) { webhook { active } } }",
        json!({"id": hook_id}),
    )
    .await;
    log(app, &org.rep_token, json!({"activityTypeId": quote})).await;
    assert_eq!(app.count_rows("webhook_deliveries").await, 1, "a disabled webhook is queued nothing");

    // A campaign created after the rules were read applies to the next activity.
    let now = chrono::Utc::now();
    app.ok(
        &org.admin_token,
        "mutation($i: CreateCampaignInput!) { createCampaign(input: $i) { campaign { id } } }",
        json!({"i": {"name": "Double", "startsAt": (now - chrono::Duration::hours(1)).to_rfc3339(),
                     "endsAt": (now + chrono::Duration::days(1)).to_rfc3339(), "multiplier": 2.0}}),
    )
    .await;
    let doubled = log(app, &org.rep_token, json!({"activityTypeId": quote})).await;
    assert_eq!(doubled["activity"]["points"].as_f64(), Some(6.0), "{doubled}");

    // A changed type's points apply at once.
    app.ok(
        &org.admin_token,
        "mutation($i: UpdateActivityTypeInput!) { updateActivityType(input: $i) { activityType { points } } }",
        json!({"i": {"id": quote, "points": 5.0}}),
    )
    .await;
    let repriced = log(app, &org.rep_token, json!({"activityTypeId": quote})).await;
    assert_eq!(repriced["activity"]["points"].as_f64(), Some(10.0), "{repriced}");

    // Archived: a new log is refused at once, a retry of the first is still its replay.
    app.ok(
        &org.admin_token,
        "mutation($i: ArchiveActivityTypeInput!) { archiveActivityType(input: $i) { activityType { active } } }",
        json!({"i": {"id": quote}}),
    )
    .await;
    let refused = log(app, &org.rep_token, json!({"activityTypeId": quote, "idempotencyKey": "k-2"})).await;
    assert_eq!(refused["userErrors"][0]["code"], "ARCHIVED", "{refused}");
    let retry = log(app, &org.rep_token, json!({"activityTypeId": quote, "idempotencyKey": "k-1"})).await;
    assert_eq!(retry["replayed"], true, "{retry}");
    assert_eq!(retry["activity"]["id"], first["activity"]["id"]);
    assert_eq!(retry["userErrors"], json!([]));
    assert_eq!(app.count_rows("activities").await, 5);
}

/// The board's entries are answered by projection when every field asked is at hand, and by
/// full execution otherwise (here: `email`, which the projection leaves to it); both give the
/// same answer for every way of asking: aliases, fragments, `__typename`, directives, TEAMS
/// boards and nulls.
async fn boards_answer_the_same_projected_or_executed(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let quote = activity_type(app, &org, "Quote sent", 5.0, None).await;
    log(app, &org.rep_token, json!({"activityTypeId": quote, "quantity": 2})).await;
    log(app, &org.inbound_rep_token, json!({"activityTypeId": quote, "quantity": 3})).await;
    app.ok(
        &org.admin_token,
        "mutation($i: UpdateMemberInput!) { updateMember(input: $i) { member { id } } }",
        json!({"i": {"id": org.rep, "avatarUrl": "https://cdn.example.com/rep.png"}}),
    )
    .await;
    let selections = [
        "{ rank value points attainmentPercent streakWeeks member { id name avatarUrl team { name } } team { name } }",
        "{ __typename r: rank member { __typename who: name role salesRole active team { id name description } } }",
        "{ ...E member { ...M } }",
        "{ rank ... on LeaderboardEntry { points } member @include(if: true) { name } team @skip(if: true) { name } }",
    ];
    let fragments = "fragment E on LeaderboardEntry { rank points } fragment M on Member { id name }";
    for grain_and_kind in
        [json!({"period": {"grain": "WEEK"}}), json!({"period": {"grain": "WEEK"}, "subject": "TEAMS"})]
    {
        for selection in selections {
            let query = |entries: &str| {
                format!("query($i: LeaderboardInput!) {{ leaderboard(input: $i) {{ entries {entries} }} }} {fragments}")
            };
            let used =
                if selection.contains("...E") { query(selection) } else { query(selection).replace(fragments, "") };
            let projected = app.ok(&org.viewer_token, &used, json!({"i": grain_and_kind})).await;
            // The same plus a field only full execution answers, which is then taken out again.
            let executed_selection = selection.replacen("member {", "member { email ", 1);
            let executed_query = if selection.contains("...E") {
                query(&executed_selection)
            } else {
                query(&executed_selection).replace(fragments, "")
            };
            let mut executed = app.ok(&org.viewer_token, &executed_query, json!({"i": grain_and_kind})).await;
            for e in executed["leaderboard"]["entries"].as_array_mut().unwrap() {
                if let Some(m) = e.get_mut("member").and_then(Value::as_object_mut) {
                    m.remove("email");
                }
            }
            assert_eq!(projected, executed, "{selection} on {grain_and_kind}");
            assert!(!projected["leaderboard"]["entries"].as_array().unwrap().is_empty(), "{projected}");
        }
    }
    let board = app
        .ok(
            &org.viewer_token,
            "query($i: LeaderboardInput!) { leaderboard(input: $i) { entries { points member { name avatarUrl team { name } } } } }",
            json!({"i": {"period": {"grain": "WEEK"}}}),
        )
        .await;
    let entries = board["leaderboard"]["entries"].as_array().unwrap();
    assert_eq!(entries[0]["member"]["name"], "acme Inbound Rep");
    assert_eq!(entries[0]["member"]["team"]["name"], "acme Inbound");
    assert_eq!(entries[1]["member"]["avatarUrl"], "https://cdn.example.com/rep.png");
}
