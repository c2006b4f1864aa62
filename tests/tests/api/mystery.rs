use std::collections::{BTreeMap, HashMap, HashSet};

use base64::Engine as _;
use chrono::{DateTime, NaiveDate, Utc};
use scorebord::mystery::model as mystery;
use scorebord::pipeline::model::{ForecastCategory, StageKind};
use scorebord::pipeline::store as pipeline_store;
use scorebord_tests::{Org, TestApp, backend_tests, error_code};
use serde_json::{Value, json};
use uuid::Uuid;

backend_tests!(
    criteria_crud_and_validation,
    rounds_rotate_the_auditor_and_sample_reproducibly,
    round_start_refusals_and_permissions,
    only_the_auditor_scores_and_totals_add_up,
    rounds_are_readable_by_the_team_only_and_tenant_isolated,
    demo_has_a_scored_round,
);

const CREATE_CRITERION: &str = "mutation($i: CreateMysteryCriterionInput!) { createMysteryCriterion(input: $i) { criterion { id name points active } userErrors { field code message } } }";
const ARCHIVE_CRITERION: &str =
    "mutation($id: ID!) { archiveMysteryCriterion(input: {id: $id}) { criterion { id active } userErrors { code } } }";
const START: &str = "mutation($i: StartMysteryCheckRoundInput!) { startMysteryCheckRound(input: $i) { round { id month samplesPerRep auditor { id } team { id } checks { id status rep { id } deal { id name } totalPoints maxPoints } teamAverage } userErrors { field code message } } }";
const SCORE: &str = "mutation($i: ScoreMysteryCheckInput!) { scoreMysteryCheck(input: $i) { check { id status totalPoints maxPoints note scoredAt results { criterion { name } awarded maxPoints } } userErrors { field code message } } }";
const ROUNDS: &str = "query($team: ID!, $from: NaiveDate, $to: NaiveDate) { mysteryCheckRounds(teamId: $team, from: $from, to: $to) { id month auditor { id } checks { id status rep { id } deal { name } totalPoints maxPoints } repTotals { rep { id } checks total max percent } teamAverage teamAveragePercent } }";

fn uuid_of(global_id: &str) -> Uuid {
    let text = String::from_utf8(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(global_id).unwrap()).unwrap();
    Uuid::parse_str(text.split_once(':').unwrap().1).unwrap()
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn codes(payload: &Value) -> Vec<String> {
    payload["userErrors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap().to_owned()).collect()
}

/// Two criteria: CRM profile 50, call report 100. Returns their IDs.
async fn criteria(app: &TestApp, org: &Org) -> (String, String) {
    let mut ids = Vec::new();
    for (name, points) in [("Complete CRM profile", 50), ("Complete call report", 100)] {
        let d = app.ok(&org.admin_token, CREATE_CRITERION, json!({"i": {"name": name, "points": points}})).await;
        ids.push(d["createMysteryCriterion"]["criterion"]["id"].as_str().unwrap_or_else(|| panic!("{d}")).to_owned());
    }
    (ids[0].clone(), ids[1].clone())
}

/// Deals seeded through the store, with lead and close dates set by hand.
struct Deals {
    stage: Uuid,
}

impl Deals {
    async fn new(app: &TestApp, org: &Org) -> Deals {
        let stage = pipeline_store::create_stage(
            org.id,
            &app.state.db,
            pipeline_store::NewStage {
                name: "Lead".into(),
                kind: StageKind::Open,
                default_probability: 10,
                default_forecast_category: ForecastCategory::Pipeline,
            },
        )
        .await
        .unwrap();
        Deals { stage: stage.id }
    }

    async fn add(&self, app: &TestApp, org: &Org, owner: &str, name: &str, lead: &str, closed: Option<&str>) -> Uuid {
        let db = &app.state.db;
        let fields = pipeline_store::DealFields {
            name: Some(name.to_owned()),
            owner_id: Some(uuid_of(owner)),
            lead_created_at: Some(Some(at(lead))),
            ..Default::default()
        };
        let stage = pipeline_store::find_stage(org.id, db, self.stage).await.unwrap().unwrap();
        let d =
            pipeline_store::create_deal(org.id, db, fields, &stage, (10, false), (ForecastCategory::Pipeline, false))
                .await
                .unwrap();
        if let Some(c) = closed {
            let state = pipeline_store::DealState { closed_at: Some(Some(at(c))), ..Default::default() };
            pipeline_store::update_deal(org.id, db, &d, pipeline_store::DealFields::default(), state).await.unwrap();
        }
        d.id
    }
}

/// For each owner: 4 deals active in March 2026 (one of them closed mid-March) and 2 that are
/// not (lead after March; closed before it). Returns the active deal IDs per owner.
async fn march_deals(app: &TestApp, org: &Org, owners: &[&str]) -> BTreeMap<Uuid, Vec<Uuid>> {
    let deals = Deals::new(app, org).await;
    let mut active = BTreeMap::new();
    for (o, owner) in owners.iter().enumerate() {
        let mut ids = Vec::new();
        for n in 0..3 {
            ids.push(deals.add(app, org, owner, &format!("active {o}-{n}"), "2026-02-10T09:00:00Z", None).await);
        }
        ids.push(
            deals
                .add(
                    app,
                    org,
                    owner,
                    &format!("active {o}-closed"),
                    "2026-01-05T09:00:00Z",
                    Some("2026-03-15T12:00:00Z"),
                )
                .await,
        );
        deals.add(app, org, owner, &format!("later {o}"), "2026-04-02T09:00:00Z", None).await;
        deals
            .add(app, org, owner, &format!("closed before {o}"), "2026-01-05T09:00:00Z", Some("2026-02-20T12:00:00Z"))
            .await;
        active.insert(uuid_of(owner), ids);
    }
    active
}

async fn start(app: &TestApp, token: &str, team: &str, month: &str, samples: i32) -> Value {
    let d = app.ok(token, START, json!({"i": {"teamId": team, "month": month, "samplesPerRep": samples}})).await;
    d["startMysteryCheckRound"].clone()
}

async fn criteria_crud_and_validation(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let other = app.seed_org("other").await;
    let (crm, _) = criteria(app, &org).await;
    let list = app.ok(&org.rep_token, "{ mysteryCriteria { name points active } }", json!({})).await;
    assert_eq!(
        list["mysteryCriteria"],
        json!([
            {"name": "Complete CRM profile", "points": 50, "active": true},
            {"name": "Complete call report", "points": 100, "active": true},
        ])
    );
    // Validation: every problem at once, nothing written.
    let before = app.count_rows("mystery_criteria").await;
    let bad = app.ok(&org.admin_token, CREATE_CRITERION, json!({"i": {"name": " ", "points": 0}})).await;
    assert_eq!(codes(&bad["createMysteryCriterion"]), vec!["REQUIRED", "OUT_OF_RANGE"]);
    assert_eq!(bad["createMysteryCriterion"]["userErrors"][1]["field"], json!(["input", "points"]));
    let bad = app.ok(&org.admin_token, CREATE_CRITERION, json!({"i": {"name": "Huge", "points": 1001}})).await;
    assert_eq!(codes(&bad["createMysteryCriterion"]), vec!["OUT_OF_RANGE"]);
    assert_eq!(app.count_rows("mystery_criteria").await, before);
    // Admins only.
    for token in [&org.manager_token, &org.rep_token, &org.viewer_token] {
        let body = app.gql(Some(token), CREATE_CRITERION, json!({"i": {"name": "Mine", "points": 10}})).await;
        assert_eq!(error_code(&body), "FORBIDDEN");
        assert_eq!(error_code(&app.gql(Some(token), ARCHIVE_CRITERION, json!({"id": crm})).await), "FORBIDDEN");
    }
    // Archive: gone from the list, kept with includeArchived; node(id) still answers.
    let archived = app.ok(&org.admin_token, ARCHIVE_CRITERION, json!({"id": crm})).await;
    assert_eq!(archived["archiveMysteryCriterion"]["criterion"]["active"], false);
    let list = app.ok(&org.admin_token, "{ mysteryCriteria { name } }", json!({})).await;
    assert_eq!(list["mysteryCriteria"], json!([{"name": "Complete call report"}]));
    let all = app.ok(&org.admin_token, "{ mysteryCriteria(includeArchived: true) { name active } }", json!({})).await;
    assert_eq!(all["mysteryCriteria"].as_array().unwrap().len(), 2);
    let node = app
        .ok(
            &org.rep_token,
            "query($id: ID!) { node(id: $id) { ... on MysteryCriterion { name points } } }",
            json!({"id": crm}),
        )
        .await;
    assert_eq!(node["node"], json!({"name": "Complete CRM profile", "points": 50}));
    // Another organization's criterion does not exist for this one.
    assert_eq!(
        error_code(&app.gql(Some(&other.admin_token), ARCHIVE_CRITERION, json!({"id": crm})).await),
        "NOT_FOUND"
    );
    let list = app.ok(&other.admin_token, "{ mysteryCriteria(includeArchived: true) { name } }", json!({})).await;
    assert_eq!(list["mysteryCriteria"], json!([]));
    // A malformed or wrong-kind ID is bad input.
    assert_eq!(
        error_code(&app.gql(Some(&org.admin_token), ARCHIVE_CRITERION, json!({"id": org.sales})).await),
        "BAD_USER_INPUT"
    );
}

async fn rounds_rotate_the_auditor_and_sample_reproducibly(app: &TestApp) {
    let org = app.seed_org("acme").await;
    criteria(app, &org).await;
    // Sales with its sub-teams: admin, manager, rep, inbound rep (the viewer takes no part).
    let members = [&org.admin, &org.manager, &org.rep, &org.inbound_rep].map(|m| m.as_str());
    let active = march_deals(app, &org, &members).await;
    let member_ids: Vec<Uuid> = members.iter().map(|m| uuid_of(m)).collect();
    let mut sorted = member_ids.clone();
    sorted.sort();

    let march = start(app, &org.admin_token, &org.sales, "2026-03-17", 2).await;
    assert_eq!(march["userErrors"], json!([]));
    let round = &march["round"];
    assert_eq!(round["month"], "2026-03-01", "stored as the month's first day");
    assert_eq!(round["samplesPerRep"], 2);
    assert_eq!(round["teamAverage"], Value::Null, "nothing scored yet");
    let auditor = uuid_of(round["auditor"]["id"].as_str().unwrap());
    assert!(member_ids.contains(&auditor), "the auditor is a member of the team");
    // The first auditor is placed by the (team, month) seed.
    let seed = mystery::auditor_seed(uuid_of(&org.sales), NaiveDate::from_ymd_opt(2026, 3, 1).unwrap());
    assert_eq!(Some(auditor), mystery::pick_auditor(&member_ids, None, seed));

    // Every other member gets 2 of their active deals; nobody audits themself; only deals
    // active in March are drawn.
    let round_id = uuid_of(round["id"].as_str().unwrap());
    let mut drawn: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for c in round["checks"].as_array().unwrap() {
        assert_eq!(c["status"], "PENDING");
        assert_eq!(c["totalPoints"], Value::Null);
        assert_eq!(c["maxPoints"], 150);
        assert!(c["deal"]["name"].as_str().unwrap().starts_with("active "), "{c}");
        let rep = uuid_of(c["rep"]["id"].as_str().unwrap());
        assert_ne!(rep, auditor, "nobody audits themself");
        drawn.entry(rep).or_default().push(uuid_of(c["deal"]["id"].as_str().unwrap()));
    }
    assert_eq!(drawn.len(), 3);
    assert!(drawn.values().all(|d| d.len() == 2));
    // Reproducible: anyone can recompute each sample from the round ID, the rep and the deals.
    for (rep, deals) in &drawn {
        let mut expected = mystery::sample_deals(&active[rep], 2, mystery::sample_seed(round_id, *rep));
        let mut got = deals.clone();
        expected.sort();
        got.sort();
        assert_eq!(got, expected, "sample of {rep}");
    }

    // April: the next member in UUID order audits, not March's auditor.
    let april = start(app, &org.admin_token, &org.sales, "2026-04-01", 3).await;
    assert_eq!(april["userErrors"], json!([]));
    let april_auditor = uuid_of(april["round"]["auditor"]["id"].as_str().unwrap());
    assert_ne!(april_auditor, auditor, "never last month's auditor");
    let expected = sorted.iter().copied().find(|m| *m > auditor).unwrap_or(sorted[0]);
    assert_eq!(april_auditor, expected, "round robin in UUID order");
    // March's auditor is audited in April: 3 of their 4 deals active in April (the 3 open ones
    // and the one that came in on April 2nd; both closed ones closed before April).
    let checks = april["round"]["checks"].as_array().unwrap();
    let of_march_auditor: Vec<&Value> =
        checks.iter().filter(|c| uuid_of(c["rep"]["id"].as_str().unwrap()) == auditor).collect();
    assert_eq!(of_march_auditor.len(), 3);
    for c in checks {
        let name = c["deal"]["name"].as_str().unwrap();
        assert!(!name.starts_with("closed before") && !name.ends_with("-closed"), "{name} was not active in April");
    }

    // Both rounds are listed, oldest first; `from`/`to` take any date in the month.
    let rounds = app.ok(&org.admin_token, ROUNDS, json!({"team": org.sales})).await;
    let months: Vec<&str> =
        rounds["mysteryCheckRounds"].as_array().unwrap().iter().map(|r| r["month"].as_str().unwrap()).collect();
    assert_eq!(months, vec!["2026-03-01", "2026-04-01"]);
    let only_april = app.ok(&org.admin_token, ROUNDS, json!({"team": org.sales, "from": "2026-04-30"})).await;
    assert_eq!(only_april["mysteryCheckRounds"].as_array().unwrap().len(), 1);
    let only_march = app.ok(&org.admin_token, ROUNDS, json!({"team": org.sales, "to": "2026-03-31"})).await;
    assert_eq!(only_march["mysteryCheckRounds"][0]["month"], "2026-03-01");
    // The stored seed is the rotation seed, bit for bit.
    let stored =
        app.count_rows(&format!("mystery_rounds WHERE seed = {}", i64::from_be_bytes(seed.to_be_bytes()))).await;
    assert_eq!(stored, 1);
}

async fn round_start_refusals_and_permissions(app: &TestApp) {
    let org = app.seed_org("acme").await;
    criteria(app, &org).await;
    march_deals(app, &org, &[&org.manager, &org.rep]).await;
    // A manager starts rounds for the teams they manage (Outbound), not for Sales above it.
    let ok = start(app, &org.manager_token, &org.outbound, "2026-03-01", 2).await;
    assert_eq!(ok["userErrors"], json!([]));
    assert_eq!(ok["round"]["checks"].as_array().unwrap().len(), 2, "two deals of the one audited member");
    let body = app
        .gql(
            Some(&org.manager_token),
            START,
            json!({"i": {"teamId": org.sales, "month": "2026-03-01", "samplesPerRep": 2}}),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    for token in [&org.rep_token, &org.viewer_token] {
        let body = app
            .gql(Some(token), START, json!({"i": {"teamId": org.outbound, "month": "2026-05-01", "samplesPerRep": 2}}))
            .await;
        assert_eq!(error_code(&body), "FORBIDDEN");
    }
    // One round per team and month.
    let rounds = app.count_rows("mystery_rounds").await;
    let checks = app.count_rows("mystery_checks").await;
    let again = start(app, &org.admin_token, &org.outbound, "2026-03-31", 1).await;
    assert_eq!(again["round"], Value::Null);
    assert_eq!(codes(&again), vec!["EXISTS"]);
    assert_eq!(again["userErrors"][0]["field"], json!(["input", "month"]));
    // A one-member team has nobody to audit it.
    let small = start(app, &org.admin_token, &org.inbound, "2026-03-01", 2).await;
    assert_eq!(codes(&small), vec!["TEAM_TOO_SMALL"]);
    assert_eq!(small["userErrors"][0]["field"], json!(["input", "teamId"]));
    // Samples per rep: 1 to 20.
    for n in [0, 21, -1] {
        let bad = start(app, &org.admin_token, &org.sales, "2026-03-01", n).await;
        assert_eq!(codes(&bad), vec!["OUT_OF_RANGE"]);
        assert_eq!(bad["userErrors"][0]["field"], json!(["input", "samplesPerRep"]));
    }
    assert_eq!((app.count_rows("mystery_rounds").await, app.count_rows("mystery_checks").await), (rounds, checks));
}

/// An Outbound round for March (manager and rep, 4 active deals each, 2 sampled): returns the
/// round, the auditor's token, the audited member's token and the audited member's ID.
async fn outbound_round(app: &TestApp, org: &Org) -> (Value, String, String, String) {
    march_deals(app, org, &[&org.manager, &org.rep]).await;
    let started = start(app, &org.admin_token, &org.outbound, "2026-03-01", 2).await;
    let round = started["round"].clone();
    let auditor = round["auditor"]["id"].as_str().unwrap().to_owned();
    if auditor == org.manager {
        (round, org.manager_token.clone(), org.rep_token.clone(), org.rep.clone())
    } else {
        assert_eq!(auditor, org.rep);
        (round, org.rep_token.clone(), org.manager_token.clone(), org.manager.clone())
    }
}

async fn only_the_auditor_scores_and_totals_add_up(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let other = app.seed_org("other").await;
    let (crm, call) = criteria(app, &org).await;
    let (foreign, _) = criteria(app, &other).await;
    let (round, auditor_token, audited_token, audited) = outbound_round(app, &org).await;
    let checks: Vec<String> =
        round["checks"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(checks.len(), 2);
    let score = |check: &str, crm_points: i32, call_points: i32| {
        json!({"i": {"checkId": check, "results": [
            {"criterionId": crm, "awarded": crm_points},
            {"criterionId": call, "awarded": call_points},
        ], "note": "Checked the CRM and the call report."}})
    };
    // Nobody but the auditor: not the audited member, not an admin, not the team's manager.
    for token in [&audited_token, &org.admin_token, &org.viewer_token, &org.inbound_rep_token] {
        assert_eq!(error_code(&app.gql(Some(token), SCORE, score(&checks[0], 50, 80)).await), "FORBIDDEN");
    }
    // Validation with paths, nothing written.
    let bad = app.ok(&auditor_token, SCORE, score(&checks[0], 51, 80)).await["scoreMysteryCheck"].clone();
    assert_eq!(bad["check"], Value::Null);
    assert_eq!(bad["userErrors"][0]["field"], json!(["input", "results", "0", "awarded"]));
    assert_eq!(bad["userErrors"][0]["code"], "OUT_OF_RANGE");
    let bad = app.ok(&auditor_token, SCORE, score(&checks[0], 10, -1)).await["scoreMysteryCheck"].clone();
    assert_eq!(bad["userErrors"][0]["field"], json!(["input", "results", "1", "awarded"]));
    let missing = json!({"i": {"checkId": checks[0], "results": [{"criterionId": crm, "awarded": 10}]}});
    let bad = app.ok(&auditor_token, SCORE, missing).await["scoreMysteryCheck"].clone();
    assert_eq!(codes(&bad), vec!["REQUIRED"]);
    assert_eq!(bad["userErrors"][0]["field"], json!(["input", "results"]));
    let unknown = json!({"i": {"checkId": checks[0], "results": [
        {"criterionId": crm, "awarded": 10}, {"criterionId": call, "awarded": 10}, {"criterionId": foreign, "awarded": 1},
    ]}});
    let bad = app.ok(&auditor_token, SCORE, unknown).await["scoreMysteryCheck"].clone();
    assert_eq!(codes(&bad), vec!["UNKNOWN"]);
    assert_eq!(bad["userErrors"][0]["field"], json!(["input", "results", "2", "criterionId"]));
    let duplicate = json!({"i": {"checkId": checks[0], "results": [
        {"criterionId": crm, "awarded": 10}, {"criterionId": crm, "awarded": 20}, {"criterionId": call, "awarded": 10},
    ]}});
    assert_eq!(codes(&app.ok(&auditor_token, SCORE, duplicate).await["scoreMysteryCheck"]), vec!["DUPLICATE"]);
    let long = json!({"i": {"checkId": checks[0], "results": [
        {"criterionId": crm, "awarded": 10}, {"criterionId": call, "awarded": 10},
    ], "note": "x".repeat(2001)}});
    assert_eq!(codes(&app.ok(&auditor_token, SCORE, long).await["scoreMysteryCheck"]), vec!["TOO_LONG"]);
    assert_eq!(app.count_rows("mystery_checks WHERE scored_at IS NOT NULL").await, 0);

    // Score both checks: 50 + 80 = 130 and 25 + 100 = 125, of 150 each.
    let first = app.ok(&auditor_token, SCORE, score(&checks[0], 50, 80)).await["scoreMysteryCheck"].clone();
    assert_eq!(first["userErrors"], json!([]));
    assert_eq!(first["check"]["status"], "SCORED");
    assert_eq!(first["check"]["totalPoints"], 130);
    assert_eq!(first["check"]["maxPoints"], 150);
    assert_eq!(first["check"]["note"], "Checked the CRM and the call report.");
    assert_eq!(
        first["check"]["results"],
        json!([
            {"criterion": {"name": "Complete CRM profile"}, "awarded": 50, "maxPoints": 50},
            {"criterion": {"name": "Complete call report"}, "awarded": 80, "maxPoints": 100},
        ])
    );
    app.ok(&auditor_token, SCORE, score(&checks[1], 25, 100)).await;
    let rounds = app.ok(&audited_token, ROUNDS, json!({"team": org.outbound})).await;
    let r = &rounds["mysteryCheckRounds"][0];
    assert_eq!(
        r["repTotals"],
        json!([{"rep": {"id": audited}, "checks": 2, "total": 255, "max": 300, "percent": 85.0}])
    );
    assert_eq!(r["teamAverage"], 255.0);
    assert_eq!(r["teamAveragePercent"], 85.0);
    // Re-scoring is allowed: the last score wins.
    app.ok(&auditor_token, SCORE, score(&checks[0], 50, 100)).await;
    let rounds = app.ok(&org.manager_token, ROUNDS, json!({"team": org.outbound})).await;
    let r = &rounds["mysteryCheckRounds"][0];
    assert_eq!(r["repTotals"][0]["total"], 275);
    assert_eq!(r["repTotals"][0]["percent"], 91.67);
    assert_eq!(r["teamAverage"], 275.0);
    // Another organization's check does not exist for it.
    assert_eq!(error_code(&app.gql(Some(&other.admin_token), SCORE, score(&checks[0], 1, 1)).await), "NOT_FOUND");
}

async fn rounds_are_readable_by_the_team_only_and_tenant_isolated(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let other = app.seed_org("other").await;
    criteria(app, &org).await;
    let (round, _, _, _) = outbound_round(app, &org).await;
    let round_id = round["id"].as_str().unwrap();
    // The team's members, its managers, admins and viewers read it.
    for token in [&org.rep_token, &org.manager_token, &org.admin_token, &org.viewer_token] {
        let d = app.ok(token, ROUNDS, json!({"team": org.outbound})).await;
        assert_eq!(d["mysteryCheckRounds"].as_array().unwrap().len(), 1);
    }
    // A rep of another team cannot.
    assert_eq!(
        error_code(&app.gql(Some(&org.inbound_rep_token), ROUNDS, json!({"team": org.outbound})).await),
        "FORBIDDEN"
    );
    let node = "query($id: ID!) { node(id: $id) { ... on MysteryRound { month checks { status } } } }";
    assert_eq!(app.ok(&org.inbound_rep_token, node, json!({"id": round_id})).await["node"], Value::Null);
    let d = app.ok(&org.rep_token, node, json!({"id": round_id})).await;
    assert_eq!(d["node"]["month"], "2026-03-01");
    let check_id = round["checks"][0]["id"].as_str().unwrap();
    let check_node = "query($id: ID!) { node(id: $id) { ... on MysteryCheck { status maxPoints } } }";
    assert_eq!(app.ok(&org.viewer_token, check_node, json!({"id": check_id})).await["node"]["status"], "PENDING");
    // Another organization: NOT_FOUND for the team, the round and the check.
    assert_eq!(
        error_code(&app.gql(Some(&other.admin_token), ROUNDS, json!({"team": org.outbound})).await),
        "NOT_FOUND"
    );
    assert_eq!(app.ok(&other.admin_token, node, json!({"id": round_id})).await["node"], Value::Null);
    assert_eq!(app.ok(&other.admin_token, check_node, json!({"id": check_id})).await["node"], Value::Null);
    let body = app
        .gql(
            Some(&other.admin_token),
            START,
            json!({"i": {"teamId": org.outbound, "month": "2026-04-01", "samplesPerRep": 1}}),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    assert_eq!(app.count_rows("mystery_rounds").await, 1);
}

async fn demo_has_a_scored_round(app: &TestApp) {
    let org = scorebord::demo::seed(&app.state).await.expect("seed");
    assert_eq!(app.count_rows("mystery_criteria").await, 3);
    assert_eq!(app.count_rows("mystery_rounds").await, 1);
    scorebord::demo::seed(&app.state).await.expect("seed twice");
    assert_eq!((app.count_rows("mystery_criteria").await, app.count_rows("mystery_rounds").await), (3, 1));
    let tokens = scorebord::demo::tokens(&app.state, org, chrono::Duration::hours(1)).await.expect("tokens");
    let manager = &tokens.iter().find(|(e, _)| e == "manager@demo.test").expect("manager").1;
    let sales = app.ok(manager, "{ teams(first: 10) { edges { node { id name } } } }", json!({})).await;
    let sales_id = sales["teams"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["node"]["name"] == "Sales")
        .map(|t| t["node"]["id"].as_str().unwrap().to_owned())
        .expect("Sales team");
    let rounds = app.ok(manager, ROUNDS, json!({"team": sales_id})).await;
    let r = &rounds["mysteryCheckRounds"][0];
    let checks = r["checks"].as_array().unwrap();
    assert!(!checks.is_empty());
    assert!(checks.iter().all(|c| c["status"] == "SCORED" && c["maxPoints"] == 200));
    let reps: HashSet<&str> = checks.iter().map(|c| c["rep"]["id"].as_str().unwrap()).collect();
    assert!(reps.len() >= 2, "several reps audited");
    assert!(r["teamAverage"].as_f64().unwrap() > 0.0);
}
