use scorebord_tests::{Org, TestApp, backend_tests, error_code};
use serde_json::{Value, json};

backend_tests!(
    catalogue_and_custom_kpis,
    values_on_a_hand_computed_fixture,
    self_reported_values_and_week_locks,
    scoreboard_rows_totals_and_permissions,
    the_scoreboard_follows_every_write_that_moves_a_cell,
    alert_streaks_raised_once_acknowledged_and_pushed,
);

const VALUES: &str = "query($i: KpiValuesInput!) { kpiValues(input: $i) { kpi { key } points { value target status numerator denominator } } }";

async fn pipeline(app: &TestApp, org: &Org) -> (String, String) {
    let stage = "mutation($i: CreateStageInput!) { createStage(input: $i) { stage { id } } }";
    let lead = app.ok(&org.admin_token, stage, json!({"i": {"name": "Lead", "defaultProbability": 10}})).await;
    app.ok(&org.admin_token, stage, json!({"i": {"name": "Qualified", "defaultProbability": 30}})).await;
    app.ok(
        &org.admin_token,
        stage,
        json!({"i": {"name": "Proposal", "defaultProbability": 60, "defaultForecastCategory": "BEST_CASE"}}),
    )
    .await;
    app.ok(&org.admin_token, stage, json!({"i": {"name": "Won", "kind": "WON"}})).await;
    app.ok(&org.admin_token, stage, json!({"i": {"name": "Lost", "kind": "LOST"}})).await;
    (lead["createStage"]["stage"]["id"].as_str().unwrap().to_owned(), String::new())
}

/// Creates a deal for the token's member with the lead one hour ago and closes it.
async fn closed_deal(app: &TestApp, token: &str, amount: &str, outcome: Option<&str>) {
    let lead_at = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let d = app
        .ok(
            token,
            "mutation($i: DealInput!) { createDeal(input: $i) { deal { id } userErrors { message } } }",
            json!({"i": {"name": "D", "amount": amount, "leadCreatedAt": lead_at}}),
        )
        .await;
    let id = d["createDeal"]["deal"]["id"].clone();
    if let Some(o) = outcome {
        let c = app
            .ok(
                token,
                "mutation($i: CloseDealInput!) { closeDeal(input: $i) { userErrors { message } } }",
                json!({"i": {"id": id, "outcome": o}}),
            )
            .await;
        assert_eq!(c["closeDeal"]["userErrors"], json!([]), "{c}");
    }
}

fn point(series: &Value, key: &str) -> Value {
    series["kpiValues"].as_array().unwrap().iter().find(|s| s["kpi"]["key"] == key).unwrap()["points"][0].clone()
}

async fn catalogue_and_custom_kpis(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let kpis = app.ok(&org.rep_token, "{ kpis { key name formula kind unit direction appliesTo } }", json!({})).await;
    let list = kpis["kpis"].as_array().unwrap();
    assert!(list.len() >= 16, "the built-in catalogue");
    let close = list.iter().find(|k| k["key"] == "close_rate").unwrap();
    assert_eq!(close["unit"], "PERCENT");
    assert_eq!(list.iter().find(|k| k["key"] == "sales_cycle_length").unwrap()["direction"], "LOWER_IS_BETTER");
    let create =
        "mutation($i: CreateKpiInput!) { createKpi(input: $i) { kpi { key kind unit } userErrors { field code } } }";
    let ok = app
        .ok(
            &org.admin_token,
            create,
            json!({"i": {"key": "selling_time", "name": "Selling time %", "kind": "SELF_REPORTED", "unit": "PERCENT"}}),
        )
        .await;
    assert_eq!(ok["createKpi"]["kpi"], json!({"key": "selling_time", "kind": "SELF_REPORTED", "unit": "PERCENT"}));
    let taken = app
        .ok(
            &org.admin_token,
            create,
            json!({"i": {"key": "close_rate", "name": "Mine", "kind": "SELF_REPORTED", "unit": "COUNT"}}),
        )
        .await;
    assert!(!taken["createKpi"]["userErrors"].as_array().unwrap().is_empty(), "built-in keys are reserved");
    let bad_unit = app
        .ok(&org.admin_token, create, json!({"i": {"key": "my_ratio", "name": "R", "kind": "RATIO", "unit": "COUNT"}}))
        .await;
    assert_eq!(bad_unit["createKpi"]["userErrors"][0]["field"], json!(["input", "unit"]));
    assert_eq!(
        error_code(
            &app.gql(
                Some(&org.rep_token),
                create,
                json!({"i": {"key": "x_y", "name": "x", "kind": "SELF_REPORTED", "unit": "COUNT"}})
            )
            .await
        ),
        "FORBIDDEN"
    );
    let archived = app
        .ok(&org.admin_token, "mutation { archiveKpi(input: {key: \"selling_time\"}) { kpi { active } } }", json!({}))
        .await;
    assert_eq!(archived["archiveKpi"]["kpi"]["active"], false);
}

async fn values_on_a_hand_computed_fixture(app: &TestApp) {
    let org = app.seed_org("acme").await;
    pipeline(app, &org).await;
    // Rep: 3 won (100, 200, 300) and 1 lost. Manager (same team): 1 won (400), 1 lost.
    for (amount, outcome) in [("100", "WON"), ("200", "WON"), ("300", "WON"), ("50", "LOST")] {
        closed_deal(app, &org.rep_token, amount, Some(outcome)).await;
    }
    closed_deal(app, &org.manager_token, "400", Some("WON")).await;
    closed_deal(app, &org.manager_token, "10", Some("LOST")).await;
    let today = scorebord_tests::org_today().to_string();
    let keys = json!(["close_rate", "deals_won", "revenue", "average_deal_size"]);
    let rep = app
        .ok(
            &org.rep_token,
            VALUES,
            json!({"i": {"kpiKeys": keys, "memberId": org.rep, "grain": "WEEK", "from": today, "to": today}}),
        )
        .await;
    assert_eq!(point(&rep, "close_rate")["value"], 75.0);
    assert_eq!(
        (point(&rep, "close_rate")["numerator"].as_f64(), point(&rep, "close_rate")["denominator"].as_f64()),
        (Some(3.0), Some(4.0))
    );
    assert_eq!(point(&rep, "deals_won")["value"], 3.0);
    assert_eq!(point(&rep, "revenue")["value"], 600.0);
    assert_eq!(point(&rep, "average_deal_size")["value"], 200.0);
    // No deals: a ratio with a zero denominator is null, never 0.
    let none = app.ok(&org.admin_token, VALUES, json!({"i": {"kpiKeys": ["close_rate"], "memberId": org.inbound_rep, "grain": "WEEK", "from": today, "to": today}})).await;
    assert!(point(&none, "close_rate")["value"].is_null());
    // The team pools numerators and denominators: 4 won of 6 closed = 66.67 %, not the 62.5 % average of 75 % and 50 %.
    let team = app.ok(&org.manager_token, VALUES, json!({"i": {"kpiKeys": ["close_rate", "revenue"], "teamId": org.outbound, "grain": "WEEK", "from": today, "to": today}})).await;
    let pooled = point(&team, "close_rate")["value"].as_f64().unwrap();
    assert!((pooled - 66.6667).abs() < 0.01, "{pooled}");
    assert_eq!(point(&team, "revenue")["value"], 1000.0);
    // Targets and status, including lower-is-better.
    let set = "mutation($i: SetKpiTargetInput!) { setKpiTarget(input: $i) { perWeek userErrors { field code } } }";
    app.ok(&org.admin_token, set, json!({"i": {"kpiKey": "revenue", "memberId": org.rep, "perWeek": 500, "effectiveFrom": "2025-01-01", "reason": "start"}})).await;
    app.ok(&org.admin_token, set, json!({"i": {"kpiKey": "sales_cycle_length", "salesRole": "OUTBOUND", "perWeek": 1, "effectiveFrom": "2025-01-01", "reason": "fast"}})).await;
    let with_targets = app.ok(&org.rep_token, VALUES, json!({"i": {"kpiKeys": ["revenue", "sales_cycle_length"], "memberId": org.rep, "grain": "WEEK", "from": today, "to": today}})).await;
    assert_eq!(point(&with_targets, "revenue")["status"], "ON_TARGET");
    assert_eq!(point(&with_targets, "revenue")["target"], 500.0);
    let cycle = point(&with_targets, "sales_cycle_length");
    assert_eq!(cycle["status"], "ON_TARGET", "an hour-long cycle is below a one-day target: lower is better: {cycle}");
    // A month's total target is the weekly one times the whole weeks in it.
    let month = app.ok(&org.rep_token, VALUES, json!({"i": {"kpiKeys": ["revenue"], "memberId": org.rep, "grain": "MONTH", "from": "2026-02-10", "to": "2026-02-10"}})).await;
    assert_eq!(point(&month, "revenue")["target"], 2000.0, "February 2026 has 4 Mondays");
    // Permissions: a rep cannot read another member's KPIs; another org's member is NOT_FOUND.
    let body = app
        .gql(
            Some(&org.rep_token),
            VALUES,
            json!({"i": {"kpiKeys": ["revenue"], "memberId": org.inbound_rep, "from": today, "to": today}}),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let other = app.seed_org("other").await;
    let body = app
        .gql(
            Some(&org.admin_token),
            VALUES,
            json!({"i": {"kpiKeys": ["revenue"], "memberId": other.rep, "from": today, "to": today}}),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND");
}

async fn self_reported_values_and_week_locks(app: &TestApp) {
    let org = app.seed_org("acme").await;
    app.ok(&org.admin_token, "mutation { createKpi(input: {key: \"selling_time\", name: \"Selling time %\", kind: SELF_REPORTED, unit: PERCENT}) { userErrors { code } } }", json!({})).await;
    let submit =
        "mutation($i: SubmitKpiValuesInput!) { submitKpiValues(input: $i) { recorded userErrors { field code } } }";
    let today = scorebord_tests::org_today().to_string();
    let first = app
        .ok(&org.rep_token, submit, json!({"i": {"week": today, "values": [{"kpiKey": "selling_time", "value": 40}]}}))
        .await;
    assert_eq!(first["submitKpiValues"]["recorded"], 1);
    let second = app
        .ok(&org.rep_token, submit, json!({"i": {"week": today, "values": [{"kpiKey": "selling_time", "value": 55}]}}))
        .await;
    assert_eq!(second["submitKpiValues"]["recorded"], 1);
    let v = app
        .ok(
            &org.rep_token,
            VALUES,
            json!({"i": {"kpiKeys": ["selling_time"], "memberId": org.rep, "from": today, "to": today}}),
        )
        .await;
    assert_eq!(point(&v, "selling_time")["value"], 55.0, "the latest value counts");
    let bad = app.ok(&org.rep_token, submit, json!({"i": {"week": today, "values": [{"kpiKey": "revenue", "value": 1}, {"kpiKey": "selling_time", "value": 101}]}})).await;
    let fields: Vec<Value> =
        bad["submitKpiValues"]["userErrors"].as_array().unwrap().iter().map(|e| e["field"].clone()).collect();
    assert_eq!(fields, vec![json!(["input", "values", "0", "kpiKey"]), json!(["input", "values", "1", "value"])]);
    // The manager locks the week: further changes are refused. A rep cannot lock.
    assert_eq!(
        error_code(
            &app.gql(
                Some(&org.rep_token),
                "mutation($t: ID!, $w: NaiveDate!) { lockKpiWeek(input: {teamId: $t, week: $w}) { weekStart } }",
                json!({"t": org.outbound, "w": today})
            )
            .await
        ),
        "FORBIDDEN"
    );
    app.ok(
        &org.manager_token,
        "mutation($t: ID!, $w: NaiveDate!) { lockKpiWeek(input: {teamId: $t, week: $w}) { weekStart } }",
        json!({"t": org.outbound, "w": today}),
    )
    .await;
    let locked = app
        .ok(&org.rep_token, submit, json!({"i": {"week": today, "values": [{"kpiKey": "selling_time", "value": 70}]}}))
        .await;
    assert_eq!(locked["submitKpiValues"]["userErrors"][0]["code"], "LOCKED");
    assert_eq!(app.count_rows("kpi_reports").await, 2, "every change kept, nothing after the lock");
    let history = app.ok(&org.manager_token, "query($m: ID, $w: NaiveDate!) { kpiReportHistory(memberId: $m, week: $w) { kpiKey value reportedBy { name } } }", json!({"m": org.rep, "w": today})).await;
    assert_eq!(
        history["kpiReportHistory"],
        json!([{"kpiKey": "selling_time", "value": 40.0, "reportedBy": {"name": "acme Rep"}}, {"kpiKey": "selling_time", "value": 55.0, "reportedBy": {"name": "acme Rep"}}])
    );
}

async fn scoreboard_rows_totals_and_permissions(app: &TestApp) {
    let org = app.seed_org("acme").await;
    pipeline(app, &org).await;
    closed_deal(app, &org.rep_token, "100", Some("WON")).await;
    closed_deal(app, &org.manager_token, "300", Some("WON")).await;
    let q = "query($t: ID!) { scoreboard(teamId: $t) { weekStart kpis { key } rows { member { name } cells { kpiKey value status trend { values direction } } } totals { kpiKey value } } }";
    let b = app.ok(&org.manager_token, q, json!({"t": org.outbound})).await["scoreboard"].clone();
    let rows = b["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "the manager and the rep of Outbound");
    let rep = rows.iter().find(|r| r["member"]["name"] == "acme Rep").unwrap();
    let rep_keys: Vec<&str> = rep["cells"].as_array().unwrap().iter().map(|c| c["kpiKey"].as_str().unwrap()).collect();
    assert!(rep_keys.contains(&"call_to_appointment_rate"), "outbound reps get their KPIs: {rep_keys:?}");
    assert!(!rep_keys.contains(&"revenue"), "revenue is a closer's KPI");
    let trend = &rep["cells"][0]["trend"]["values"];
    assert_eq!(trend.as_array().unwrap().len(), 6, "six weeks of trend");
    let revenue_total = b["totals"].as_array().unwrap().iter().find(|c| c["kpiKey"] == "revenue").unwrap();
    assert_eq!(revenue_total["value"], 400.0, "team totals pool every member");
    // A rep reads their own team's scoreboard, not another team's.
    assert!(app.gql(Some(&org.rep_token), q, json!({"t": org.outbound})).await.get("errors").is_none());
    assert_eq!(error_code(&app.gql(Some(&org.rep_token), q, json!({"t": org.inbound})).await), "FORBIDDEN");
    let other = app.seed_org("other").await;
    assert_eq!(error_code(&app.gql(Some(&org.admin_token), q, json!({"t": other.sales})).await), "NOT_FOUND");

    // Rows and totals are answered by projection when every field asked is at hand, by full
    // execution otherwise (`email` here); both answer the same.
    for selection in [
        "rows { member { id name team { name } } cells { kpiKey value target status trend { values direction } } } totals { kpiKey value target status }",
        "rows { __typename m: member { ...M } cells { ... on ScoreboardCell { k: kpiKey trend { direction } } } } totals { __typename }",
    ] {
        let projected =
            format!("query($t: ID!) {{ scoreboard(teamId: $t) {{ {selection} }} }} fragment M on Member {{ name }}");
        let projected = projected.replace(
            " fragment M on Member { name }",
            if selection.contains("...M") { " fragment M on Member { name }" } else { "" },
        );
        let executed = projected.replacen("member { ", "member { email ", 1);
        let a = app.ok(&org.manager_token, &projected, json!({"t": org.outbound})).await;
        let mut b = app.ok(&org.manager_token, &executed, json!({"t": org.outbound})).await;
        for row in b["scoreboard"]["rows"].as_array_mut().unwrap() {
            for key in ["member", "m"] {
                if let Some(m) = row.get_mut(key).and_then(Value::as_object_mut) {
                    m.remove("email");
                }
            }
        }
        assert_eq!(a, b, "{selection}");
        assert_eq!(a["scoreboard"]["rows"].as_array().unwrap().len(), 2, "{a}");
    }
}

async fn scoreboard_of(app: &TestApp, q: &str, token: &str, team: &str) -> Value {
    app.ok(token, q, json!({"t": team})).await["scoreboard"].clone()
}

/// One member's cell of a KPI on a scoreboard (null when the KPI is not on their row).
fn cell(board: &Value, member: &str, key: &str) -> Value {
    let row = board["rows"].as_array().unwrap().iter().find(|r| r["member"]["id"] == member);
    row.and_then(|r| r["cells"].as_array().unwrap().iter().find(|c| c["kpiKey"] == key)).cloned().unwrap_or(Value::Null)
}

/// The scoreboard is computed once per team and week and kept: every kind of write that moves
/// one of its cells shows on the very next read, whoever reads it.
async fn the_scoreboard_follows_every_write_that_moves_a_cell(app: &TestApp) {
    let org = app.seed_org("acme").await;
    pipeline(app, &org).await;
    let q = "query($t: ID!) { scoreboard(teamId: $t) { kpis { key } rows { member { id name } cells { kpiKey value target status } } totals { kpiKey value } } }";
    let first = scoreboard_of(app, q, &org.manager_token, &org.outbound).await;
    assert_eq!(first["rows"].as_array().map(Vec::len), Some(2), "{first}");
    assert_eq!(cell(&first, &org.manager, "deals_won")["value"].as_f64().unwrap_or(0.0), 0.0, "{first}");
    let leads = cell(&first, &org.rep, "new_leads")["value"].as_f64().unwrap_or(0.0);
    // A won deal, read by the same manager and by the rep of the team.
    closed_deal(app, &org.manager_token, "400", Some("WON")).await;
    let b = scoreboard_of(app, q, &org.manager_token, &org.outbound).await;
    assert_eq!(cell(&b, &org.manager, "deals_won")["value"], 1.0, "{b}");
    assert_eq!(
        cell(&scoreboard_of(app, q, &org.rep_token, &org.outbound).await, &org.manager, "deals_won")["value"],
        1.0
    );
    let total = |b: &Value, key: &str| b["totals"].as_array().unwrap().iter().find(|c| c["kpiKey"] == key).cloned();
    assert_eq!(total(&b, "revenue").unwrap()["value"], 400.0, "{b}");
    // A rep's new lead.
    closed_deal(app, &org.rep_token, "100", None).await;
    assert_eq!(
        cell(&scoreboard_of(app, q, &org.manager_token, &org.outbound).await, &org.rep, "new_leads")["value"].as_f64(),
        Some(leads + 1.0)
    );
    // A target.
    let set = "mutation($i: SetKpiTargetInput!) { setKpiTarget(input: $i) { userErrors { field code } } }";
    let r = app
        .ok(&org.admin_token, set, json!({"i": {"kpiKey": "deals_won", "memberId": org.manager, "perWeek": 3, "effectiveFrom": "2025-01-01", "reason": "stretch"}}))
        .await;
    assert_eq!(r["setKpiTarget"]["userErrors"], json!([]), "{r}");
    let c = cell(&scoreboard_of(app, q, &org.manager_token, &org.outbound).await, &org.manager, "deals_won");
    assert_eq!((c["target"].as_f64(), c["status"].as_str()), (Some(3.0), Some("OFF_TARGET")), "{c}");
    // Activities that feed a built-in KPI: 4 calls and 1 appointment.
    let create = "mutation($i: CreateActivityTypeInput!) { createActivityType(input: $i) { activityType { id } userErrors { message } } }";
    let log = "mutation($i: LogActivityInput!) { logActivity(input: $i) { userErrors { code message } } }";
    for (name, key, quantity) in [("Call", "calls", 4), ("Appointment", "appointments", 1)] {
        let t = app
            .ok(
                &org.admin_token,
                create,
                json!({"i": {"name": name, "category": "ACTION", "unit": "COUNT", "points": 1.0, "kpiKey": key}}),
            )
            .await["createActivityType"]["activityType"]["id"]
            .clone();
        let r = app.ok(&org.rep_token, log, json!({"i": {"activityTypeId": t, "quantity": quantity}})).await;
        assert_eq!(r["logActivity"]["userErrors"], json!([]), "{r}");
    }
    let c = cell(&scoreboard_of(app, q, &org.manager_token, &org.outbound).await, &org.rep, "call_to_appointment_rate");
    assert_eq!(c["value"], 25.0, "{c}");
    // A custom self-reported KPI joins every row; a self-report fills the rep's cell; archived, it leaves.
    let kpi_keys = |b: &Value| {
        b["kpis"].as_array().unwrap().iter().map(|k| k["key"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    app.ok(&org.admin_token, "mutation { createKpi(input: {key: \"selling_time\", name: \"Selling time %\", kind: SELF_REPORTED, unit: PERCENT}) { userErrors { code } } }", json!({})).await;
    assert!(
        kpi_keys(&scoreboard_of(app, q, &org.manager_token, &org.outbound).await).contains(&"selling_time".to_owned())
    );
    let submit =
        "mutation($i: SubmitKpiValuesInput!) { submitKpiValues(input: $i) { recorded userErrors { field code } } }";
    let today = scorebord_tests::org_today().to_string();
    app.ok(&org.rep_token, submit, json!({"i": {"week": today, "values": [{"kpiKey": "selling_time", "value": 40}]}}))
        .await;
    assert_eq!(
        cell(&scoreboard_of(app, q, &org.manager_token, &org.outbound).await, &org.rep, "selling_time")["value"],
        40.0
    );
    app.ok(&org.admin_token, "mutation { archiveKpi(input: {key: \"selling_time\"}) { kpi { active } } }", json!({}))
        .await;
    assert!(
        !kpi_keys(&scoreboard_of(app, q, &org.manager_token, &org.outbound).await).contains(&"selling_time".to_owned())
    );
    // A member who leaves the team leaves the scoreboard.
    let r = app
        .ok(
            &org.admin_token,
            "mutation($i: MemberIdInput!) { deactivateMember(input: $i) { userErrors { message } } }",
            json!({"i": {"id": org.rep}}),
        )
        .await;
    assert_eq!(r["deactivateMember"]["userErrors"], json!([]), "{r}");
    let b = scoreboard_of(app, q, &org.manager_token, &org.outbound).await;
    assert_eq!(b["rows"].as_array().map(Vec::len), Some(1), "{b}");
    // Another organization's admin still cannot read the kept scoreboard.
    let other = app.seed_org("other").await;
    assert_eq!(error_code(&app.gql(Some(&other.admin_token), q, json!({"t": org.outbound})).await), "NOT_FOUND");
}

/// Three weeks in a row without the targeted won deals: one alert, raised once however often
/// the week is evaluated, pushed to the member's manager, acknowledged with a note.
async fn alert_streaks_raised_once_acknowledged_and_pushed(app: &TestApp) {
    let org = app.seed_org("acme").await;
    app.ok(&org.admin_token, "mutation($i: SetKpiTargetInput!) { setKpiTarget(input: $i) { userErrors { code } } }",
        json!({"i": {"kpiKey": "deals_won", "memberId": org.rep, "perWeek": 5, "effectiveFrom": "2025-01-01", "reason": "stretch"}})).await;
    let rule = "mutation($i: CreateAlertRuleInput!) { createAlertRule(input: $i) { rule { kpiKey kind periods } userErrors { field code } } }";
    let bad = app
        .ok(&org.admin_token, rule, json!({"i": {"kpiKey": "deals_won", "kind": "BELOW_TARGET_STREAK", "periods": 13}}))
        .await;
    assert_eq!(bad["createAlertRule"]["userErrors"][0]["field"], json!(["input", "periods"]));
    assert_eq!(
        error_code(
            &app.gql(
                Some(&org.rep_token),
                rule,
                json!({"i": {"kpiKey": "deals_won", "kind": "BELOW_TARGET_STREAK", "periods": 3}})
            )
            .await
        ),
        "FORBIDDEN"
    );
    app.ok(
        &org.manager_token,
        rule,
        json!({"i": {"kpiKey": "deals_won", "kind": "BELOW_TARGET_STREAK", "periods": 3, "teamId": org.outbound}}),
    )
    .await;

    let mut ws = app.ws("graphql-transport-ws").await;
    ws.send(json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {}", org.manager_token)}}))
        .await;
    assert_eq!(ws.next_json().await["type"], "connection_ack");
    ws.send(json!({"id": "a", "type": "subscribe", "payload": {"query": "subscription { alertRaised { kpiKey member { name } } }"}})).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let evaluate = "mutation { evaluateAlerts { alerts { kpiKey member { name } weeks { weekStart value target } status } userErrors { code } } }";
    let first = app.ok(&org.manager_token, evaluate, json!({})).await;
    let raised = first["evaluateAlerts"]["alerts"].as_array().unwrap();
    assert_eq!(raised.len(), 1, "only the rep has a target: {first}");
    assert_eq!(raised[0]["member"]["name"], "acme Rep");
    assert_eq!(raised[0]["weeks"].as_array().unwrap().len(), 3);
    assert_eq!(raised[0]["weeks"][0]["target"], "5");
    let pushed = ws.next_json().await;
    assert_eq!(pushed["payload"]["data"]["alertRaised"]["member"]["name"], "acme Rep");
    // Evaluating the same week again raises nothing new.
    let again = app.ok(&org.manager_token, evaluate, json!({})).await;
    assert_eq!(again["evaluateAlerts"]["alerts"], json!([]));
    assert_eq!(app.count_rows("alerts").await, 1);
    // The rep sees their alert; another rep does not; the manager acknowledges it.
    let list = "{ alerts(status: OPEN) { id kpiKey } }";
    let mine = app.ok(&org.rep_token, list, json!({})).await;
    assert_eq!(mine["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(app.ok(&org.inbound_rep_token, list, json!({})).await["alerts"], json!([]));
    let id = mine["alerts"][0]["id"].clone();
    let ack = app.ok(&org.manager_token, "mutation($i: AcknowledgeAlertInput!) { acknowledgeAlert(input: $i) { alerts { status acknowledgeNote } } }", json!({"i": {"id": id, "note": "talked it through"}})).await;
    assert_eq!(
        ack["acknowledgeAlert"]["alerts"][0],
        json!({"status": "ACKNOWLEDGED", "acknowledgeNote": "talked it through"})
    );
    assert_eq!(app.ok(&org.manager_token, list, json!({})).await["alerts"], json!([]));
    // Two instances evaluating at once on one database still raise it once (PostgreSQL).
    if app.backend == scorebord_tests::Backend::Postgres {
        let second = app.second_instance().await;
        let org2 = app.seed_org("second").await;
        app.ok(&org2.admin_token, "mutation($i: SetKpiTargetInput!) { setKpiTarget(input: $i) { userErrors { code } } }",
            json!({"i": {"kpiKey": "deals_won", "salesRole": "OUTBOUND", "perWeek": 5, "effectiveFrom": "2025-01-01", "reason": "x"}})).await;
        app.ok(
            &org2.admin_token,
            rule,
            json!({"i": {"kpiKey": "deals_won", "kind": "BELOW_TARGET_STREAK", "periods": 2}}),
        )
        .await;
        let (a, b) = tokio::join!(
            app.ok(&org2.admin_token, evaluate, json!({})),
            second.ok(&org2.admin_token, evaluate, json!({}))
        );
        let total = a["evaluateAlerts"]["alerts"].as_array().unwrap().len()
            + b["evaluateAlerts"]["alerts"].as_array().unwrap().len();
        assert_eq!(total, 1, "raised once across instances");
    }
}
