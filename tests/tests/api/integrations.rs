//! Forecasting, API keys and scopes, webhooks and the cost budget — over HTTP, on SQLite and
//! PostgreSQL.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use chrono::{Months, NaiveDate, Utc};
use hmac::{Hmac, Mac};
use scorebord::core::roles::{Role, SalesRole};
use scorebord::org::store::{self, NewMember};
use scorebord_tests::{Org, TestApp, backend_tests, error_code};
use serde_json::{Value, json};
use sha2::Sha256;
use uuid::Uuid;

backend_tests!(
    forecast_rolls_up_three_levels_with_owner_and_manager_views,
    forecast_accuracy_on_fixtures,
    forecast_permissions_and_validation,
    the_forecast_follows_every_write_that_moves_a_number,
    api_keys_are_scoped_shown_once_and_revocable,
    webhooks_are_signed_retried_and_survive_a_restart,
    webhooks_are_sent_once_with_two_instances_and_refuse_private_urls,
    cost_budget_and_extensions_cost,
);

const FORECAST: &str = "query($t: ID, $p: ForecastPeriodInput) { forecast(teamId: $t, period: $p) { periodStart root { ...R subTeams { ...R subTeams { ...R members { ...R } } members { ...R } } members { ...R } } } } fragment R on ForecastRow { subjectKind member { name } team { name } submitted { commit { amount } bestCase { amount } note } adjusted { commit { amount } note } rolledUp { commit { amount } bestCase { amount } } quota { amount } closedWon { amount } pipeline { amount } bestCase { amount } commit { amount } closed { amount } omitted { amount } commitView { amount } bestCaseView { amount } openPipeline { amount } weightedPipeline { amount } systemForecast { amount } coverage history { commit { amount } } }";
const SUBMIT: &str = "mutation($i: SubmitForecastInput!) { submitForecast(input: $i) { numbers { commit { amount } bestCase { amount } note } userErrors { field code message } } }";
const ADJUST: &str = "mutation($i: AdjustForecastInput!) { adjustForecast(input: $i) { numbers { commit { amount } note } userErrors { field code message } } }";
const CREATE_STAGE: &str = "mutation($i: CreateStageInput!) { createStage(input: $i) { stage { id } } }";
const CREATE_DEAL: &str =
    "mutation($i: DealInput!) { createDeal(input: $i) { deal { id } userErrors { code message } } }";
const CLOSE: &str = "mutation($i: CloseDealInput!) { closeDeal(input: $i) { deal { id } userErrors { code } } }";
const CREATE_KEY: &str = "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { apiKey { id prefix scopes } secret userErrors { field code } } }";
const CREATE_HOOK: &str = "mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { webhook { id events active } signingSecret userErrors { field code message } } }";
const DELIVERIES: &str = "{ webhookDeliveries { totalCount nodes { id eventType status attempts lastResponseCode } } }";

fn today() -> NaiveDate {
    Utc::now().with_timezone(&chrono_tz::Europe::Amsterdam).date_naive()
}

fn uuid_of(global_id: &str) -> Uuid {
    use base64::Engine as _;
    let text = String::from_utf8(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(global_id).unwrap()).unwrap();
    Uuid::parse_str(text.split_once(':').unwrap().1).unwrap()
}

fn gid(kind: &str, id: Uuid) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}:{id}"))
}

async fn stages(app: &TestApp, org: &Org) {
    for (name, kind) in [("Lead", "OPEN"), ("Won", "WON"), ("Lost", "LOST")] {
        app.ok(&org.admin_token, CREATE_STAGE, json!({"i": {"name": name, "kind": kind}})).await;
    }
}

async fn deal(app: &TestApp, token: &str, input: Value) -> String {
    let d = app.ok(token, CREATE_DEAL, json!({ "i": input })).await;
    assert_eq!(d["createDeal"]["userErrors"], json!([]), "{d}");
    d["createDeal"]["deal"]["id"].as_str().unwrap().to_owned()
}

fn amount(v: &Value) -> &str {
    v["amount"].as_str().unwrap_or_else(|| panic!("no amount in {v}"))
}

// ---------------------------------------------------------------- forecasts

async fn forecast_rolls_up_three_levels_with_owner_and_manager_views(app: &TestApp) {
    let org = app.seed_org("fc").await;
    stages(app, &org).await;
    // A third level: Outbound → Outbound NL, with one rep.
    let nl =
        store::create_team(org.id, &app.state.db, "fc Outbound NL".into(), None, Some(uuid_of(&org.outbound)), None)
            .await
            .unwrap();
    let nl_rep = store::create_member(
        org.id,
        &app.state.db,
        NewMember {
            name: "fc NL Rep".into(),
            email: "nl.rep@fc.test".into(),
            role: Role::Rep,
            sales_role: SalesRole::Outbound,
            team_id: Some(nl.id),
            start_date: today(),
            password_hash: None,
            avatar_url: None,
        },
    )
    .await
    .unwrap();
    let nl_token = app.token_for(org.id, nl_rep.id);
    let close = today();
    // Rep: COMMIT 10,000 @ 80 %, BEST_CASE 5,000 @ 40 %, PIPELINE 2,000 @ 10 %, OMITTED 1,000 @ 50 %, won 3,000.
    for (amount, category, probability) in
        [("10000", "COMMIT", 80), ("5000", "BEST_CASE", 40), ("2000", "PIPELINE", 10), ("1000", "OMITTED", 50)]
    {
        deal(app, &org.rep_token, json!({"name": category, "amount": amount, "forecastCategory": category, "probability": probability, "expectedCloseDate": close})).await;
    }
    let won = deal(app, &org.rep_token, json!({"name": "Won", "amount": "3000", "expectedCloseDate": close})).await;
    app.ok(&org.rep_token, CLOSE, json!({"i": {"id": won, "outcome": "WON"}})).await;
    // Expected next year: outside the period.
    deal(app, &org.rep_token, json!({"name": "Later", "amount": "99999", "forecastCategory": "COMMIT", "expectedCloseDate": close.checked_add_months(Months::new(12)).unwrap()})).await;
    // NL rep: COMMIT 4,000 @ 50 %; Inbound rep: PIPELINE 1,000 @ 20 %.
    deal(app, &nl_token, json!({"name": "NL", "amount": "4000", "forecastCategory": "COMMIT", "probability": 50, "expectedCloseDate": close})).await;
    deal(
        app,
        &org.inbound_rep_token,
        json!({"name": "In", "amount": "1000", "probability": 20, "expectedCloseDate": close}),
    )
    .await;
    // A quota for the rep: coverage = open pipeline ÷ (quota − closed won).
    app.ok(&org.admin_token, "mutation($i: SetQuotaInput!) { setQuota(input: $i) { userErrors { code } } }", json!({"i": {"subjectId": org.rep, "metric": "REVENUE", "grain": "QUARTER", "period": close, "amount": "11000"}})).await;

    // Owner numbers, a manager's adjustment kept apart, and the manager's own team submission.
    let s = app
        .ok(&org.rep_token, SUBMIT, json!({"i": {"commit": "12000", "bestCase": "15000", "note": "Two big ones"}}))
        .await;
    assert_eq!(s["submitForecast"]["userErrors"], json!([]), "{s}");
    app.ok(&org.rep_token, SUBMIT, json!({"i": {"commit": "13000", "bestCase": "16000"}})).await;
    app.ok(&nl_token, SUBMIT, json!({"i": {"commit": "4000", "bestCase": "4000"}})).await;
    let a = app
        .ok(
            &org.manager_token,
            ADJUST,
            json!({"i": {"memberId": org.rep, "commit": "11000", "bestCase": "14000", "reason": "The big one slips"}}),
        )
        .await;
    assert_eq!(a["adjustForecast"]["userErrors"], json!([]), "{a}");
    app.ok(&org.admin_token, SUBMIT, json!({"i": {"teamId": org.sales, "commit": "20000", "bestCase": "25000"}})).await;

    let f = app.ok(&org.admin_token, FORECAST, json!({"t": org.sales})).await["forecast"].clone();
    let root = &f["root"];
    assert_eq!(root["team"]["name"], "fc Sales");
    assert_eq!(amount(&root["submitted"]["commit"]), "20000.00");
    // Σ over the tree: closed 3,000; commit 14,000; best case 5,000; pipeline 3,000; omitted 1,000.
    assert_eq!(amount(&root["closedWon"]), "3000.00");
    assert_eq!(amount(&root["commit"]), "14000.00");
    assert_eq!(amount(&root["bestCase"]), "5000.00");
    assert_eq!(amount(&root["pipeline"]), "3000.00");
    assert_eq!(amount(&root["omitted"]), "1000.00");
    assert_eq!(amount(&root["commitView"]), "17000.00", "COMMIT + CLOSED");
    assert_eq!(amount(&root["bestCaseView"]), "22000.00", "BEST_CASE + COMMIT + CLOSED");
    assert_eq!(amount(&root["openPipeline"]), "22000.00", "PIPELINE + BEST_CASE + COMMIT");
    // 8,000 + 2,000 + 200 (rep) + 2,000 (NL) + 200 (inbound); the omitted deal is left out.
    assert_eq!(amount(&root["weightedPipeline"]), "12400.00");
    assert_eq!(amount(&root["systemForecast"]), "15400.00");
    // The roll-up of owner numbers: rep adjusted 11,000 + Outbound NL 4,000 (Outbound: no own numbers).
    assert_eq!(amount(&root["rolledUp"]["commit"]), "15000.00");

    let outbound = root["subTeams"].as_array().unwrap().iter().find(|t| t["team"]["name"] == "fc Outbound").unwrap();
    assert_eq!(amount(&outbound["commit"]), "14000.00");
    let nl_row = &outbound["subTeams"][0];
    assert_eq!(nl_row["team"]["name"], "fc Outbound NL");
    assert_eq!(amount(&nl_row["members"][0]["submitted"]["commit"]), "4000.00");
    let rep = outbound["members"].as_array().unwrap().iter().find(|m| m["member"]["name"] == "fc Rep").unwrap();
    assert_eq!(amount(&rep["submitted"]["commit"]), "13000.00", "the latest submission counts");
    assert_eq!(rep["history"].as_array().unwrap().len(), 2, "every submission is kept");
    assert_eq!(amount(&rep["adjusted"]["commit"]), "11000.00");
    assert_eq!(rep["adjusted"]["note"], "The big one slips");
    assert_eq!(amount(&rep["quota"]), "11000.00");
    assert_eq!(rep["coverage"], 2.12, "17,000 open ÷ (11,000 − 3,000) = 2.125 → 2.12");

    // A manager sees what is below them, nothing else; a rep only their own row.
    let mgr = app.ok(&org.manager_token, FORECAST, json!({"t": org.outbound})).await;
    assert_eq!(mgr["forecast"]["root"]["team"]["name"], "fc Outbound");
    assert_eq!(error_code(&app.gql(Some(&org.manager_token), FORECAST, json!({"t": org.inbound})).await), "FORBIDDEN");
    assert_eq!(error_code(&app.gql(Some(&org.rep_token), FORECAST, json!({"t": org.outbound})).await), "FORBIDDEN");
    let own = app.ok(&org.rep_token, FORECAST, json!({})).await;
    assert_eq!(own["forecast"]["root"]["member"]["name"], "fc Rep");
}

/// A team's forecast facts are read once per period and kept: every kind of write that moves a
/// number shows on the very next read, and a rep's own row shares them without seeing more.
async fn the_forecast_follows_every_write_that_moves_a_number(app: &TestApp) {
    let org = app.seed_org("fk").await;
    stages(app, &org).await;
    let read = |f: &Value| f["forecast"]["root"].clone();
    let rep_row = |root: &Value| {
        root["members"].as_array().unwrap().iter().find(|m| m["member"]["name"] == "fk Rep").cloned().unwrap()
    };
    let root = read(&app.ok(&org.manager_token, FORECAST, json!({"t": org.outbound})).await);
    assert_eq!(amount(&root["commit"]), "0.00", "{root}");
    // A committed deal, then a change of its amount.
    let close = today();
    let d = deal(app, &org.rep_token, json!({"name": "C", "amount": "1000", "forecastCategory": "COMMIT", "probability": 80, "expectedCloseDate": close})).await;
    let root = read(&app.ok(&org.manager_token, FORECAST, json!({"t": org.outbound})).await);
    assert_eq!(amount(&root["commit"]), "1000.00", "{root}");
    let u = app
        .ok(&org.rep_token, "mutation($i: UpdateDealInput!) { updateDeal(input: $i) { userErrors { code message } } }",
            json!({"i": {"id": d, "deal": {"name": "C", "amount": "1500", "forecastCategory": "COMMIT", "probability": 80, "expectedCloseDate": close}}}))
        .await;
    assert_eq!(u["updateDeal"]["userErrors"], json!([]), "{u}");
    let root = read(&app.ok(&org.manager_token, FORECAST, json!({"t": org.outbound})).await);
    assert_eq!(amount(&root["commit"]), "1500.00", "{root}");
    // Won.
    app.ok(&org.rep_token, CLOSE, json!({"i": {"id": d, "outcome": "WON"}})).await;
    let root = read(&app.ok(&org.manager_token, FORECAST, json!({"t": org.outbound})).await);
    assert_eq!((amount(&root["closedWon"]), amount(&root["commit"])), ("1500.00", "0.00"), "{root}");
    // The rep's own numbers, the manager's adjustment and a quota.
    app.ok(&org.rep_token, SUBMIT, json!({"i": {"commit": "3000", "bestCase": "4000"}})).await;
    let rep = rep_row(&read(&app.ok(&org.manager_token, FORECAST, json!({"t": org.outbound})).await));
    assert_eq!(amount(&rep["submitted"]["commit"]), "3000.00", "{rep}");
    app.ok(
        &org.manager_token,
        ADJUST,
        json!({"i": {"memberId": org.rep, "commit": "2500", "bestCase": "3500", "reason": "careful"}}),
    )
    .await;
    let rep = rep_row(&read(&app.ok(&org.manager_token, FORECAST, json!({"t": org.outbound})).await));
    assert_eq!(amount(&rep["adjusted"]["commit"]), "2500.00", "{rep}");
    let q = app.ok(&org.admin_token, "mutation($i: SetQuotaInput!) { setQuota(input: $i) { userErrors { code } } }",
        json!({"i": {"subjectId": org.rep, "metric": "REVENUE", "grain": "QUARTER", "period": close, "amount": "9000"}})).await;
    assert_eq!(q["setQuota"]["userErrors"], json!([]), "{q}");
    let rep = rep_row(&read(&app.ok(&org.manager_token, FORECAST, json!({"t": org.outbound})).await));
    assert_eq!(amount(&rep["quota"]), "9000.00", "{rep}");
    // The rep's own row reads the same kept facts; the team itself stays refused to them.
    let own = read(&app.ok(&org.rep_token, FORECAST, json!({})).await);
    assert_eq!((own["member"]["name"].as_str(), amount(&own["quota"])), (Some("fk Rep"), "9000.00"), "{own}");
    assert!(own["members"].as_array().is_none_or(Vec::is_empty), "a rep's row has no one below: {own}");
    assert_eq!(error_code(&app.gql(Some(&org.rep_token), FORECAST, json!({"t": org.outbound})).await), "FORBIDDEN");
    // Another organization's manager cannot read it, kept or not.
    let other = app.seed_org("fk2").await;
    assert_eq!(error_code(&app.gql(Some(&other.admin_token), FORECAST, json!({"t": org.outbound})).await), "NOT_FOUND");
}

async fn forecast_accuracy_on_fixtures(app: &TestApp) {
    use sea_orm::{ActiveModelTrait, Set};
    let org = app.seed_org("acc").await;
    stages(app, &org).await;
    let tz = chrono_tz::Europe::Amsterdam;
    let now = today();
    let this_q = scorebord::core::period::period_containing(scorebord::core::period::PeriodGrain::Quarter, now, tz, 1);
    let last_q = scorebord::core::period::previous_period(&this_q, tz, 1).unwrap();
    let before = scorebord::core::period::previous_period(&last_q, tz, 1).unwrap();
    let db = &app.state.db;
    let stages = scorebord::pipeline::store::stages(org.id, db).await.unwrap();
    let won = stages.iter().find(|s| s.kind == "WON").unwrap();
    // Last quarter the rep won 100,000; the quarter before nothing.
    let d = scorebord::pipeline::store::create_deal(
        org.id,
        db,
        scorebord::pipeline::store::DealFields {
            name: Some("Won last quarter".into()),
            owner_id: Some(uuid_of(&org.rep)),
            amount_cents: Some(10_000_000),
            ..Default::default()
        },
        won,
        (100, false),
        (scorebord::pipeline::model::ForecastCategory::Closed, false),
    )
    .await
    .unwrap();
    let closed_at = last_q.start + chrono::Duration::days(30);
    scorebord::pipeline::store::update_deal(
        org.id,
        db,
        &d,
        Default::default(),
        scorebord::pipeline::store::DealState {
            closed_at: Some(Some(closed_at)),
            outcome: Some(Some(scorebord::pipeline::model::DealOutcome::Won)),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let submit =
        |period: &scorebord::core::period::Period, days: i64, commit: i64| entity::forecast_submission::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(org.id.0),
            subject_kind: Set("MEMBER".into()),
            subject_id: Set(uuid_of(&org.rep)),
            grain: Set("QUARTER".into()),
            period_start: Set(period.start_date),
            commit_cents: Set(commit),
            best_case_cents: Set(commit),
            note: Set(None),
            submitted_by: Set(uuid_of(&org.rep)),
            submitted_at: Set(period.start + chrono::Duration::days(days)),
        };
    // Last quarter: 90,000 at day 5 (stands at the 14-day cut-off), then 120,000 at day 20.
    submit(&last_q, 5, 9_000_000).insert(db).await.unwrap();
    submit(&last_q, 20, 12_000_000).insert(db).await.unwrap();
    submit(&before, 3, 5_000_000).insert(db).await.unwrap();

    let q = "query($m: ID!, $c: ForecastCutoffInput) { forecastAccuracy(memberId: $m, periods: 2, cutoff: $c) { subjectKind member { name } points { periodStart forecast actual accuracy bias } mape systemPoints { forecast actual } systemMape } }";
    let r = app.ok(&org.manager_token, q, json!({"m": org.rep})).await;
    let row = &r["forecastAccuracy"][0];
    let points = row["points"].as_array().unwrap();
    assert_eq!(points.len(), 2);
    assert_eq!(points[0]["periodStart"], before.start_date.to_string());
    assert_eq!(points[0]["actual"], "0.00");
    assert_eq!(points[0]["accuracy"], Value::Null, "actual 0: no accuracy, never NaN");
    assert_eq!(points[0]["bias"], "50000.00");
    assert_eq!(points[1]["forecast"], "90000.00");
    assert_eq!(points[1]["actual"], "100000.00");
    assert_eq!(points[1]["accuracy"], 0.9);
    assert_eq!(points[1]["bias"], "-10000.00", "under-forecast: negative bias");
    assert_eq!(row["mape"], 0.1);
    assert_eq!(row["systemPoints"][1]["actual"], "100000.00");
    // At the period end the later, over-forecast submission stands.
    let r = app.ok(&org.manager_token, q, json!({"m": org.rep, "c": {"kind": "PERIOD_END"}})).await;
    let p = &r["forecastAccuracy"][0]["points"][1];
    assert_eq!(
        (p["forecast"].as_str(), p["accuracy"].as_f64(), p["bias"].as_str()),
        (Some("120000.00"), Some(0.8), Some("20000.00"))
    );
    // A team: the team row (members' standing commits summed), each member and sub-team.
    let t = app.ok(&org.admin_token, "query($t: ID!) { forecastAccuracy(teamId: $t, periods: 1) { subjectKind team { name } member { name } points { forecast actual } } }", json!({"t": org.outbound})).await;
    let rows = t["forecastAccuracy"].as_array().unwrap();
    assert_eq!(rows[0]["subjectKind"], "TEAM");
    assert_eq!(rows[0]["points"][0]["forecast"], "90000.00");
    assert!(rows.iter().any(|r| r["member"]["name"] == "acc Rep"));
    let bad = app
        .gql(
            Some(&org.admin_token),
            "query($t: ID!) { forecastAccuracy(teamId: $t, periods: 13) { subjectKind } }",
            json!({"t": org.outbound}),
        )
        .await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT");
    assert_eq!(error_code(&app.gql(Some(&org.inbound_rep_token), q, json!({"m": org.rep})).await), "FORBIDDEN");
}

async fn forecast_permissions_and_validation(app: &TestApp) {
    let org = app.seed_org("fp").await;
    let before = app.count_rows("forecast_submissions").await;
    for (input, code) in [
        (json!({"commit": "-1", "bestCase": "5"}), "OUT_OF_RANGE"),
        (json!({"commit": "abc", "bestCase": "5"}), "INVALID"),
        (json!({"commit": "10", "bestCase": "5"}), "INVALID"),
        (json!({"commit": "1.001", "bestCase": "5"}), "INVALID"),
        (json!({"commit": "1", "bestCase": "5", "note": "x".repeat(2001)}), "TOO_LONG"),
    ] {
        let d = app.ok(&org.rep_token, SUBMIT, json!({"i": input})).await;
        assert_eq!(d["submitForecast"]["numbers"], Value::Null, "{d}");
        assert!(d["submitForecast"]["userErrors"].as_array().unwrap().iter().any(|e| e["code"] == code), "{d}");
    }
    assert_eq!(app.count_rows("forecast_submissions").await, before);
    // Reps submit for themselves only; managers adjust below them, not themselves or others' teams.
    assert_eq!(
        error_code(
            &app.gql(
                Some(&org.rep_token),
                SUBMIT,
                json!({"i": {"teamId": org.outbound, "commit": "1", "bestCase": "1"}})
            )
            .await
        ),
        "FORBIDDEN"
    );
    assert_eq!(
        error_code(
            &app.gql(
                Some(&org.rep_token),
                ADJUST,
                json!({"i": {"memberId": org.inbound_rep, "commit": "1", "bestCase": "1", "reason": "x"}})
            )
            .await
        ),
        "FORBIDDEN"
    );
    assert_eq!(
        error_code(
            &app.gql(
                Some(&org.manager_token),
                ADJUST,
                json!({"i": {"memberId": org.inbound_rep, "commit": "1", "bestCase": "1", "reason": "x"}})
            )
            .await
        ),
        "FORBIDDEN"
    );
    assert_eq!(
        error_code(
            &app.gql(
                Some(&org.manager_token),
                ADJUST,
                json!({"i": {"memberId": org.manager, "commit": "1", "bestCase": "1", "reason": "x"}})
            )
            .await
        ),
        "FORBIDDEN"
    );
    let no_reason = app
        .ok(
            &org.manager_token,
            ADJUST,
            json!({"i": {"memberId": org.rep, "commit": "1", "bestCase": "1", "reason": " "}}),
        )
        .await;
    assert_eq!(no_reason["adjustForecast"]["userErrors"][0]["code"], "INVALID");
    assert_eq!(
        error_code(&app.gql(Some(&org.viewer_token), SUBMIT, json!({"i": {"commit": "1", "bestCase": "1"}})).await),
        "FORBIDDEN"
    );
    // forecastChanged reaches the manager's subscription.
    let mut ws = app.ws("graphql-transport-ws").await;
    ws.send(json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {}", org.manager_token)}}))
        .await;
    assert_eq!(ws.next_json().await["type"], "connection_ack");
    ws.send(json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription($t: ID!) { forecastChanged(teamId: $t) { team { name } subjectId } }", "variables": {"t": org.outbound}}})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.ok(&org.inbound_rep_token, SUBMIT, json!({"i": {"commit": "1", "bestCase": "2"}})).await;
    app.ok(&org.rep_token, SUBMIT, json!({"i": {"commit": "5", "bestCase": "6"}})).await;
    let msg = ws.next_json().await;
    assert_eq!(
        msg["payload"]["data"]["forecastChanged"]["subjectId"],
        org.rep.as_str(),
        "not the Inbound rep's: {msg}"
    );
    assert_eq!(msg["payload"]["data"]["forecastChanged"]["team"]["name"], "fp Outbound");
}

// ---------------------------------------------------------------- API keys

async fn api_keys_are_scoped_shown_once_and_revocable(app: &TestApp) {
    let org = app.seed_org("key").await;
    let other = app.seed_org("key2").await;
    let k = app.ok(&org.admin_token, CREATE_KEY, json!({"i": {"name": "BI", "scopes": ["forecasts:read"]}})).await;
    let secret = k["createApiKey"]["secret"].as_str().unwrap().to_owned();
    let id = k["createApiKey"]["apiKey"]["id"].as_str().unwrap().to_owned();
    assert!(secret.starts_with(k["createApiKey"]["apiKey"]["prefix"].as_str().unwrap()));
    // Only a hash is stored: the secret appears nowhere in the table.
    let listed =
        app.ok(&org.admin_token, "{ apiKeys { id name prefix scopes lastUsedAt revokedAt } }", json!({})).await;
    assert!(!listed.to_string().contains(&secret));
    assert_eq!(listed["apiKeys"][0]["scopes"], json!(["forecasts:read"]));
    // Bad input, and only admin members manage keys.
    let bad = app.ok(&org.admin_token, CREATE_KEY, json!({"i": {"name": "X", "scopes": ["root"]}})).await;
    assert_eq!(bad["createApiKey"]["userErrors"][0]["code"], "INVALID");
    for token in [&org.manager_token, &org.rep_token] {
        assert_eq!(
            error_code(&app.gql(Some(token), CREATE_KEY, json!({"i": {"name": "X", "scopes": ["org:read"]}})).await),
            "FORBIDDEN"
        );
    }
    // The key reads forecasts (Bearer or X-Api-Key) ...
    let f = "query($t: ID!) { forecast(teamId: $t) { root { team { name } closedWon { amount } } } }";
    let d = app.ok(&secret, f, json!({"t": org.sales})).await;
    assert_eq!(d["forecast"]["root"]["team"]["name"], "key Sales");
    let resp = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .header("x-api-key", &secret)
        .json(&json!({"query": f, "variables": {"t": org.sales}}))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"]["forecast"]["root"]["team"]["name"], "key Sales", "{body}");
    // ... and nothing else: other queries, every mutation, subscriptions, key management.
    for q in [
        "{ members { totalCount } }",
        "{ organization { name } }",
        "{ statements { totalCount } }",
        "{ auditLog { totalCount } }",
        "{ apiKeys { id } }",
        "mutation { submitForecast(input: {commit: \"1\", bestCase: \"1\"}) { userErrors { code } } }",
        "mutation { logout(input: {refreshToken: \"x\"}) { ok } }",
        "mutation { createApiKey(input: {name: \"x\", scopes: [\"org:read\"]}) { secret } }",
    ] {
        let r = app.gql(Some(&secret), q, json!({})).await;
        assert_eq!(error_code(&r), "FORBIDDEN", "{q}: {r}");
    }
    // Another tenant's team is not there for it.
    let r = app.gql(Some(&secret), f, json!({"t": other.sales})).await;
    assert_eq!(error_code(&r), "NOT_FOUND");
    // `node` opens only the kinds a key's scopes open: an org:read key reads a team, not the audit log.
    let o = app.ok(&org.admin_token, CREATE_KEY, json!({"i": {"name": "Org", "scopes": ["org:read"]}})).await;
    let org_key = o["createApiKey"]["secret"].as_str().unwrap().to_owned();
    let t = app.ok(&org_key, "query($id: ID!) { node(id: $id) { id } }", json!({"id": org.sales})).await;
    assert_eq!(t["node"]["id"], org.sales.as_str());
    let log = app.ok(&org.admin_token, "{ auditLog(first: 1) { edges { node { id } } } }", json!({})).await;
    let entry = log["auditLog"]["edges"][0]["node"]["id"].as_str().unwrap().to_owned();
    let r = app.ok(&org_key, "query($id: ID!) { node(id: $id) { id } }", json!({"id": entry})).await;
    assert_eq!(r["node"], Value::Null, "out of the key's scopes: null");
    let r = app.gql(Some(&secret), "query($id: ID!) { node(id: $id) { id } }", json!({"id": org.sales})).await;
    assert_eq!(error_code(&r), "FORBIDDEN", "forecasts:read does not open node at all: {r}");
    // Revoked: refused from the next request on.
    let rv = app
        .ok(
            &org.admin_token,
            "mutation($id: ID!) { revokeApiKey(input: {id: $id}) { apiKey { revokedAt } userErrors { code } } }",
            json!({"id": id}),
        )
        .await;
    assert!(rv["revokeApiKey"]["apiKey"]["revokedAt"].is_string());
    let r = app.gql(Some(&secret), f, json!({"t": org.sales})).await;
    assert_eq!(error_code(&r), "UNAUTHENTICATED");
    let again = app
        .ok(
            &org.admin_token,
            "mutation($id: ID!) { revokeApiKey(input: {id: $id}) { userErrors { code } } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(again["revokeApiKey"]["userErrors"][0]["code"], "REVOKED");
    // A writing key logs activities within its scope only.
    let w = app
        .ok(&org.admin_token, CREATE_KEY, json!({"i": {"name": "CRM", "scopes": ["activities:write", "deals:write"]}}))
        .await;
    let writer = w["createApiKey"]["secret"].as_str().unwrap().to_owned();
    app.ok(&org.admin_token, CREATE_STAGE, json!({"i": {"name": "Lead", "kind": "OPEN"}})).await;
    let created = app.ok(&writer, "mutation($i: DealInput!) { upsertDealByExternalId(input: {externalId: \"crm-1\", deal: $i}) { deal { id owner { id } } userErrors { code } } }", json!({"i": {"name": "From CRM", "ownerId": org.rep}})).await;
    assert_eq!(created["upsertDealByExternalId"]["deal"]["owner"]["id"], org.rep.as_str());
    assert_eq!(
        error_code(
            &app.gql(Some(&writer), "{ deals { totalCount } forecast(teamId: \"x\") { grain } }", json!({})).await
        ),
        "FORBIDDEN"
    );
    assert_eq!(
        error_code(&app.gql(Some("sbk_000000000000_nope"), "{ viewer { role } }", json!({})).await),
        "UNAUTHENTICATED"
    );
}

// ---------------------------------------------------------------- webhooks

#[derive(Clone, Default)]
struct Receiver {
    /// (signature header, body)
    hits: Arc<Mutex<Vec<(String, String)>>>,
    /// Status to answer with.
    status: Arc<Mutex<u16>>,
}

impl Receiver {
    async fn start() -> (Receiver, String) {
        let r = Receiver { hits: Default::default(), status: Arc::new(Mutex::new(200)) };
        let state = r.clone();
        let router = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let state = state.clone();
                async move {
                    let sig =
                        headers.get("scorebord-signature").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                    state.hits.lock().unwrap().push((sig, body));
                    StatusCode::from_u16(*state.status.lock().unwrap()).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        (r, url)
    }

    fn bodies(&self) -> Vec<Value> {
        self.hits.lock().unwrap().iter().map(|(_, b)| serde_json::from_str(b).unwrap()).collect()
    }

    async fn wait_for(&self, n: usize) {
        for _ in 0..200 {
            if self.hits.lock().unwrap().len() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {n} deliveries, got {}", self.hits.lock().unwrap().len());
    }
}

fn verify(secret: &str, header: &str, body: &str) -> bool {
    let Some((t, v1)) = header.split_once(',') else { return false };
    let (Some(t), Some(v1)) = (t.strip_prefix("t="), v1.strip_prefix("v1=")) else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    hex::encode(mac.finalize().into_bytes()) == v1
}

async fn webhooks_are_signed_retried_and_survive_a_restart(app: &TestApp) {
    let app = &TestApp::spawn_with(app.backend, |c| c.webhook_retry_base_ms = 200).await;
    let org = app.seed_org("hook").await;
    stages(app, &org).await;
    let (rx, url) = Receiver::start().await;
    let h = app
        .ok(
            &org.admin_token,
            CREATE_HOOK,
            json!({"i": {"url": url, "events": ["deal.won", "deal.lost"], "description": "CRM"}}),
        )
        .await;
    assert_eq!(h["createWebhook"]["userErrors"], json!([]), "{h}");
    let secret = h["createWebhook"]["signingSecret"].as_str().unwrap().to_owned();
    // A deal closed won arrives, signed; a refused close sends nothing.
    let id = deal(app, &org.rep_token, json!({"name": "Acme", "amount": "1234.50", "externalId": "crm-9"})).await;
    app.ok(&org.rep_token, CLOSE, json!({"i": {"id": id, "outcome": "WON"}})).await;
    rx.wait_for(1).await;
    let (sig, body) = rx.hits.lock().unwrap()[0].clone();
    assert!(verify(&secret, &sig, &body), "signature {sig} over {body}");
    assert!(!verify("wrong", &sig, &body));
    let event: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(event["type"], "deal.won");
    assert_eq!(event["data"]["dealId"], id.as_str());
    assert_eq!(event["data"]["amount"], json!({"amount": "1234.50", "currency": "EUR"}));
    assert_eq!(event["data"]["externalId"], "crm-9");
    assert!(event["id"].is_string() && event["created"].is_string());

    // The receiver fails: the delivery is retried with backoff until it answers 2xx.
    *rx.status.lock().unwrap() = 500;
    let id2 = deal(app, &org.rep_token, json!({"name": "Beta", "amount": "10"})).await;
    app.ok(&org.rep_token, CLOSE, json!({"i": {"id": id2, "outcome": "LOST"}})).await;
    rx.wait_for(3).await;
    *rx.status.lock().unwrap() = 204;
    rx.wait_for(4).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let lost: Vec<Value> = rx.bodies().into_iter().filter(|b| b["type"] == "deal.lost").collect();
    assert!(lost.len() >= 3, "failed twice or more, then delivered: {}", lost.len());
    assert!(lost.iter().all(|b| b["id"] == lost[0]["id"]), "retries carry the same event id");
    let d = app.ok(&org.admin_token, DELIVERIES, json!({})).await;
    let nodes = d["webhookDeliveries"]["nodes"].as_array().unwrap();
    assert!(nodes.iter().all(|n| n["status"] == "DELIVERED"), "{d}");
    assert_eq!(nodes[0]["lastResponseCode"], 204);
    // The outbox metrics saw it: deliveries, retries and their latency; nothing left pending.
    let text = app.client.get(format!("{}/metrics", app.base_url)).send().await.unwrap().text().await.unwrap();
    let value = |name: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {text}"))
    };
    assert!(value(r#"scorebord_webhook_deliveries_total{outcome="delivered"}"#) >= 2.0, "{text}");
    assert!(value(r#"scorebord_webhook_deliveries_total{outcome="retry"}"#) >= 2.0, "{text}");
    assert!(value("scorebord_webhook_delivery_latency_seconds_count") >= 2.0, "{text}");
    assert!(value("scorebord_webhook_request_duration_seconds_count") >= 4.0, "{text}");
    assert_eq!(value("scorebord_webhook_deliveries_pending "), 0.0, "{text}");

    // Queued while the receiver is down, delivered by a server started later on the same database.
    *rx.status.lock().unwrap() = 503;
    let id3 = deal(app, &org.rep_token, json!({"name": "Gamma", "amount": "10"})).await;
    app.ok(&org.rep_token, CLOSE, json!({"i": {"id": id3, "outcome": "WON"}})).await;
    let seen = rx.hits.lock().unwrap().len();
    rx.wait_for(seen + 1).await;
    let restarted = app.second_instance().await;
    *rx.status.lock().unwrap() = 200;
    for _ in 0..100 {
        let d = restarted
            .ok(&org.admin_token, "{ webhookDeliveries(status: \"PENDING\") { totalCount } }", json!({}))
            .await;
        if d["webhookDeliveries"]["totalCount"] == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let gammas: Vec<Value> = rx.bodies().into_iter().filter(|b| b["data"]["name"] == "Gamma").collect();
    assert!(!gammas.is_empty());
    // A ping, redelivery and disabling.
    let hook_id = h["createWebhook"]["webhook"]["id"].as_str().unwrap().to_owned();
    let before = rx.hits.lock().unwrap().len();
    app.ok(
        &org.admin_token,
        "mutation($id: ID!) { testWebhook(input: {id: $id}) { delivery { eventType } } }",
        json!({"id": hook_id}),
    )
    .await;
    rx.wait_for(before + 1).await;
    assert_eq!(rx.bodies().last().unwrap()["type"], "webhook.ping");
    app.ok(
        &org.admin_token,
        "mutation($id: ID!) { disableWebhook(input: {id: $id}) { webhook { active } } }",
        json!({"id": hook_id}),
    )
    .await;
    let id4 = deal(app, &org.rep_token, json!({"name": "Delta", "amount": "10"})).await;
    app.ok(&org.rep_token, CLOSE, json!({"i": {"id": id4, "outcome": "WON"}})).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(rx.bodies().iter().all(|b| b["data"]["name"] != "Delta"), "a disabled webhook gets nothing");
}

async fn webhooks_are_sent_once_with_two_instances_and_refuse_private_urls(app: &TestApp) {
    let org = app.seed_org("once").await;
    let (rx, url) = Receiver::start().await;
    let h = app.ok(&org.admin_token, CREATE_HOOK, json!({"i": {"url": url, "events": ["activity.logged"]}})).await;
    assert_eq!(h["createWebhook"]["userErrors"], json!([]));
    let b = app.second_instance().await;
    let t = app.ok(&org.admin_token, "mutation { createActivityType(input: {name: \"Call\", category: ACTION, unit: COUNT, points: 1}) { activityType { id } } }", json!({})).await;
    let type_id = t["createActivityType"]["activityType"]["id"].as_str().unwrap().to_owned();
    let items: Vec<Value> = (0..30).map(|i| json!({"memberId": org.rep, "activityTypeId": type_id, "quantity": 1, "idempotencyKey": format!("k{i}")})).collect();
    let r = app.ok(&org.admin_token, "mutation($i: LogActivitiesInput!) { logActivities(input: $i) { activities { id } userErrors { code message } } }", json!({"i": {"items": items}})).await;
    assert_eq!(r["logActivities"]["activities"].as_array().unwrap().len(), 30, "{r}");
    rx.wait_for(30).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let ids: Vec<String> = rx.bodies().iter().map(|b| b["id"].as_str().unwrap().to_owned()).collect();
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!((ids.len(), unique.len()), (30, 30), "each event exactly once with two instances");
    drop(b);

    // URLs inside the network are refused when not allowed; bad URLs and events always.
    let strict = TestApp::spawn_with(app.backend, |c| c.webhooks_allow_private = false).await;
    let org2 = strict.seed_org("strict").await;
    for (u, code) in [
        ("http://127.0.0.1:9/x", "PRIVATE_ADDRESS"),
        ("http://10.0.0.8/x", "PRIVATE_ADDRESS"),
        ("http://[::1]/x", "PRIVATE_ADDRESS"),
        ("http://169.254.169.254/latest", "PRIVATE_ADDRESS"),
        ("ftp://example.com/x", "INVALID"),
    ] {
        let d = strict.ok(&org2.admin_token, CREATE_HOOK, json!({"i": {"url": u, "events": ["deal.won"]}})).await;
        assert_eq!(d["createWebhook"]["webhook"], Value::Null);
        assert_eq!(d["createWebhook"]["userErrors"][0]["code"], code, "{u}: {d}");
    }
    let d = strict
        .ok(&org2.admin_token, CREATE_HOOK, json!({"i": {"url": "https://example.com/x", "events": ["deal.*"]}}))
        .await;
    let codes: Vec<(&Value, &Value)> =
        d["createWebhook"]["userErrors"].as_array().unwrap().iter().map(|e| (&e["field"][1], &e["code"])).collect();
    assert!(codes.contains(&(&json!("events"), &json!("INVALID"))), "{d}");
    assert_eq!(
        error_code(
            &strict
                .gql(
                    Some(&org2.rep_token),
                    CREATE_HOOK,
                    json!({"i": {"url": "https://example.com", "events": ["deal.won"]}})
                )
                .await
        ),
        "FORBIDDEN"
    );
    assert_eq!(strict.count_rows("webhooks").await, 0);
    let _ = gid("Webhook", Uuid::nil());
}

// ---------------------------------------------------------------- cost budget

async fn cost_budget_and_extensions_cost(app: &TestApp) {
    let app = &TestApp::spawn_with(app.backend, |c| {
        c.rate_limit_points = 100;
        c.rate_limit_restore_per_second = 1;
    })
    .await;
    let org = app.seed_org("cost").await;
    // members(first: 20) { edges { node { id name } } } costs 20 × (edges + node + id + name) + 1 = 81.
    let q = "{ members(first: 20) { edges { node { id name } } } }";
    let first = app.gql(Some(&org.admin_token), q, json!({})).await;
    assert!(first.get("errors").is_none(), "{first}");
    let cost = &first["extensions"]["cost"];
    let requested = cost["requestedQueryCost"].as_u64().unwrap();
    assert_eq!(requested, 81, "{cost}");
    assert_eq!(cost["throttleStatus"]["maximumAvailable"], 100);
    assert_eq!(cost["throttleStatus"]["restoreRate"], 1);
    // Five members came back: 1 + 5 × 4 was spent, the rest of the page's price given back.
    let actual = cost["actualQueryCost"].as_u64().unwrap();
    assert_eq!(actual, 1 + 5 * 4, "{cost}");
    assert_eq!(cost["throttleStatus"]["currentlyAvailable"].as_u64().unwrap(), 100 - actual);
    let second = app.gql(Some(&org.admin_token), q, json!({})).await;
    assert_eq!(error_code(&second), "RATE_LIMITED", "{second}");
    assert!(second["errors"][0]["extensions"]["retryAfterSeconds"].as_f64().unwrap() > 0.0);
    assert!(second["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"].is_number());
    // Budgets are per principal: another member still has theirs.
    let other = app.gql(Some(&org.rep_token), q, json!({})).await;
    assert!(other.get("errors").is_none(), "{other}");
    // An operation dearer than the whole budget is refused outright.
    let huge = app
        .gql(Some(&org.viewer_token), "{ members(first: 200) { edges { node { id name email } } } }", json!({}))
        .await;
    assert_eq!(error_code(&huge), "RATE_LIMITED");
    assert!(huge["errors"][0]["message"].as_str().unwrap().contains("whole budget"), "{huge}");
}
