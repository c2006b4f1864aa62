//! Concurrency, on SQLite and PostgreSQL: 50 clients logging for one
//! member at once (single logs, batches, racing idempotency keys, racing progress reports of
//! one work item), two editors changing one quota, team, member, activity type or campaign
//! with the same read `version`, opposite tree moves at once, and payout runs racing deal
//! closes. Every call is a separate HTTP request from its own client; the assertions are exact
//! sums, exactly one winner per edit race, and no error reaching a client other than the
//! documented CONFLICT.
//!
//! Found by these tests and fixed: on PostgreSQL concurrent first reports of a work item were
//! each paid its steps, opposite moves stored a team cycle, and concurrent payout runs answered
//! INTERNAL; the edits of teams, members, activity types and campaigns had no `version`.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;
use scorebord::core::roles::{Role, SalesRole};
use scorebord::org::store::{self, NewMember};
use scorebord_tests::{Org, TestApp, backend_tests};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

backend_tests!(
    fifty_clients_log_for_one_member_at_once,
    two_managers_editing_one_quota_one_wins_the_other_gets_conflict,
    two_editors_of_teams_members_activity_types_and_campaigns_one_wins,
    stale_versions_of_stages_checklist_items_and_kpis_are_conflicts,
    opposite_tree_moves_at_once_never_make_a_cycle,
    payout_runs_racing_deal_closes_stay_exact,
);

const CREATE_TYPE: &str = "mutation($i: CreateActivityTypeInput!) { createActivityType(input: $i) { activityType { id version } userErrors { field code } } }";
const LOG: &str = "mutation($i: LogActivityInput!) { logActivity(input: $i) { replayed activity { id points } userErrors { field code message } } }";
const LOG_MANY: &str = "mutation($i: LogActivitiesInput!) { logActivities(input: $i) { replayedCount activities { id points } userErrors { field code message } } }";
const SCORE: &str =
    "query($m: ID, $t: ID, $p: PeriodInput!) { score(memberId: $m, teamId: $t, period: $p) { points activityCount } }";
const BOARD: &str =
    "query($i: LeaderboardInput!) { leaderboard(input: $i) { entries { points member { id } team { id } } } }";

/// One client of its own (its own connection pool), like a separate app on a separate phone.
async fn call(app: &TestApp, client: &reqwest::Client, token: &str, query: &str, variables: Value) -> Value {
    client
        .post(format!("{}/graphql", app.base_url))
        .bearer_auth(token)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON body")
}

/// The response carries no error and the mutation's payload no user error.
fn assert_clean(body: &Value, field: &str) {
    assert!(body.get("errors").is_none(), "an error reached the client: {body}");
    assert_eq!(body["data"][field]["userErrors"], json!([]), "{body}");
}

/// The `extensions.code` of the first error, or "" when none.
fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or("")
}

fn today() -> NaiveDate {
    Utc::now().with_timezone(&chrono_tz::Europe::Amsterdam).date_naive()
}

fn dec(v: &Value) -> Decimal {
    v.as_str().unwrap_or_else(|| panic!("not a decimal string: {v}")).parse().unwrap()
}

/// One row of a raw aggregate query (test-side check against the tables).
async fn sum(app: &TestApp, sql: &str) -> (i64, i64) {
    let backend = app.state.db.get_database_backend();
    let row =
        app.state.db.query_one_raw(sea_orm::Statement::from_string(backend, sql.to_owned())).await.unwrap().unwrap();
    let a: Option<i64> = row.try_get("", "a").unwrap();
    let b: Option<i64> = row.try_get("", "b").unwrap();
    (a.unwrap_or(0), b.unwrap_or(0))
}

/// Runs `n` futures built by `f` at once and returns their results in order.
async fn all_at_once<F, Fut>(n: usize, f: F) -> Vec<Value>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    futures_util::future::join_all((0..n).map(f)).await
}

// ---------------------------------------------------------------- 50 clients, one member

async fn fifty_clients_log_for_one_member_at_once(app: &TestApp) {
    const CLIENTS: usize = 50;
    let org = app.seed_org("conc").await;
    let week_at_start = today().iso_week();
    let quote = app
        .ok(
            &org.admin_token,
            CREATE_TYPE,
            json!({"i": {"name": "Quote sent", "category": "ACTION", "unit": "COUNT", "points": 1.25}}),
        )
        .await["createActivityType"]["activityType"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let newsletter = app
        .ok(&org.admin_token, CREATE_TYPE, json!({"i": {"name": "Newsletter", "category": "ACTION", "unit": "PROGRESS", "points": 1.5, "stepPercent": 10}}))
        .await["createActivityType"]["activityType"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The rep, their manager and an admin all log for the rep, each call from its own client.
    let tokens = [org.rep_token.clone(), org.manager_token.clone(), org.admin_token.clone()];
    let clients: Vec<reqwest::Client> = (0..CLIENTS).map(|_| reqwest::Client::new()).collect();
    let mut expected_cents: i64 = 0;
    let mut expected_count: i64 = 0;
    let mut calls = 0;

    // Four rounds of 50 single logs at once, 1 to 4 quotes each.
    for round in 0..4 {
        let results = all_at_once(CLIENTS, |i| {
            let (client, token, quote, rep) = (&clients[i], &tokens[i % 3], &quote, &org.rep);
            async move {
                let input = json!({"activityTypeId": quote, "memberId": rep, "quantity": 1 + ((i + round) % 4)});
                call(app, client, token, LOG, json!({"i": input})).await
            }
        })
        .await;
        for (i, r) in results.iter().enumerate() {
            assert_clean(r, "logActivity");
            assert_eq!(r["data"]["logActivity"]["replayed"], false);
            expected_cents += 125 * (1 + ((i + round) % 4)) as i64;
            expected_count += 1;
        }
        calls += CLIENTS;
    }

    // 50 single logs at once, a fifth of them with a bad quantity and a fifth refused (a rep
    // of another team logging for this rep): concurrent calls share a write transaction, and
    // each must still get its own answer with only the good ones counted.
    let results = all_at_once(CLIENTS, |i| {
        let client = &clients[i];
        let (token, quantity) = match i % 5 {
            0 => (&tokens[i % 3], 0),
            1 => (&org.inbound_rep_token, 1),
            _ => (&tokens[i % 3], 2),
        };
        let (quote, rep) = (&quote, &org.rep);
        async move {
            let input = json!({"activityTypeId": quote, "memberId": rep, "quantity": quantity});
            call(app, client, token, LOG, json!({"i": input})).await
        }
    })
    .await;
    for (i, r) in results.iter().enumerate() {
        match i % 5 {
            0 => {
                assert!(r.get("errors").is_none(), "{r}");
                assert_eq!(r["data"]["logActivity"]["activity"], Value::Null, "{r}");
                let field = r["data"]["logActivity"]["userErrors"][0]["field"].as_array().cloned().unwrap_or_default();
                assert_eq!(field.last(), Some(&json!("quantity")), "{r}");
            }
            1 => assert_eq!(code(r), "FORBIDDEN", "{r}"),
            _ => {
                assert_clean(r, "logActivity");
                assert_eq!(r["data"]["logActivity"]["activity"]["points"], 2.5, "{r}");
                expected_cents += 250;
                expected_count += 1;
            }
        }
    }
    calls += CLIENTS;

    // 50 batches of 5 at once.
    let results = all_at_once(CLIENTS, |i| {
        let (client, token, quote, rep) = (&clients[i], &tokens[i % 3], &quote, &org.rep);
        async move {
            let items: Vec<Value> =
                (0..5).map(|k| json!({"activityTypeId": quote, "memberId": rep, "quantity": 1 + k})).collect();
            call(app, client, token, LOG_MANY, json!({"i": {"items": items}})).await
        }
    })
    .await;
    for r in &results {
        assert_clean(r, "logActivities");
        assert_eq!(r["data"]["logActivities"]["activities"].as_array().unwrap().len(), 5);
        expected_cents += 125 * 15;
        expected_count += 5;
    }
    calls += CLIENTS;

    // 25 idempotency keys, each sent by two clients at once: 25 activities, 25 replays.
    let results = all_at_once(CLIENTS, |i| {
        let (client, token, quote, rep) = (&clients[i], &tokens[i % 3], &quote, &org.rep);
        async move {
            let input = json!({"activityTypeId": quote, "memberId": rep, "idempotencyKey": format!("retry-{}", i / 2)});
            call(app, client, token, LOG, json!({"i": input})).await
        }
    })
    .await;
    let mut ids = HashSet::new();
    for r in &results {
        assert_clean(r, "logActivity");
        ids.insert(r["data"]["logActivity"]["activity"]["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 25, "each key counts once");
    let replays = results.iter().filter(|r| r["data"]["logActivity"]["replayed"] == true).count();
    assert_eq!(replays, 25);
    expected_cents += 125 * 25;
    expected_count += 25;
    calls += CLIENTS;

    // 50 clients report the same new work item done at once (25 say 100 %, 25 say 10 % to
    // 90 %): it reaches 100 % once, so exactly 10 steps of 1.5 points are awarded in all.
    let results = all_at_once(CLIENTS, |i| {
        let (client, token, newsletter, rep) = (&clients[i], &tokens[i % 3], &newsletter, &org.rep);
        let percent = if i % 2 == 0 { 100 } else { 10 * (1 + (i / 2) % 9) };
        async move {
            let input = json!({"activityTypeId": newsletter, "memberId": rep, "progressPercent": percent, "workItemKey": "nl-1"});
            call(app, client, token, LOG, json!({"i": input})).await
        }
    })
    .await;
    let mut progress_points = 0.0;
    for r in &results {
        assert_clean(r, "logActivity");
        progress_points += r["data"]["logActivity"]["activity"]["points"].as_f64().unwrap();
    }
    assert!((progress_points - 15.0).abs() < 1e-9, "a work item pays its steps once: {progress_points}");
    expected_cents += 1500;
    expected_count += CLIENTS as i64;
    calls += CLIENTS;

    // The stored rows, the day totals and every read agree to the cent.
    // (This test's database holds one organization, and only the rep has activities.)
    let rows = sum(app, "SELECT CAST(SUM(points_cents) AS BIGINT) AS a, COUNT(*) AS b FROM activities").await;
    assert_eq!(rows, (expected_cents, expected_count), "activity rows");
    let days = sum(
        app,
        "SELECT CAST(SUM(points_cents) AS BIGINT) AS a, CAST(SUM(activity_count) AS BIGINT) AS b FROM activity_day_totals",
    )
    .await;
    assert_eq!(days, (expected_cents, expected_count), "day totals");
    let per_day_mismatch = sum(
        app,
        "SELECT COUNT(*) AS a, CAST(0 AS BIGINT) AS b FROM activity_day_totals d WHERE d.points_cents <> \
         (SELECT COALESCE(SUM(a.points_cents), 0) FROM activities a WHERE a.member_id = d.member_id \
          AND a.activity_type_id = d.activity_type_id AND a.local_date = d.day AND a.voided_at IS NULL) \
         OR d.activity_count <> (SELECT COUNT(*) FROM activities a WHERE a.member_id = d.member_id \
          AND a.activity_type_id = d.activity_type_id AND a.local_date = d.day AND a.voided_at IS NULL)",
    )
    .await;
    assert_eq!(per_day_mismatch.0, 0, "every day total equals the sum of its activities");
    if today().iso_week() == week_at_start {
        let expected_points = expected_cents as f64 / 100.0;
        let s = app.ok(&org.admin_token, SCORE, json!({"m": org.rep, "p": {"grain": "WEEK"}})).await;
        assert!((s["score"]["points"].as_f64().unwrap() - expected_points).abs() < 1e-9, "{s}");
        assert_eq!(s["score"]["activityCount"], expected_count);
        let team = app.ok(&org.admin_token, SCORE, json!({"t": org.outbound, "p": {"grain": "WEEK"}})).await;
        assert!((team["score"]["points"].as_f64().unwrap() - expected_points).abs() < 1e-9, "{team}");
        let board = app.ok(&org.admin_token, BOARD, json!({"i": {"period": {"grain": "WEEK"}}})).await;
        let entry = board["leaderboard"]["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["member"]["id"] == org.rep.as_str())
            .cloned()
            .unwrap_or_else(|| panic!("the rep is on the board: {board}"));
        assert!((entry["points"].as_f64().unwrap() - expected_points).abs() < 1e-9, "{entry}");
        let teams = app
            .ok(
                &org.admin_token,
                BOARD,
                json!({"i": {"period": {"grain": "WEEK"}, "subject": "TEAMS", "teamId": org.sales}}),
            )
            .await;
        let outbound = teams["leaderboard"]["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["team"]["id"] == org.outbound.as_str())
            .cloned()
            .unwrap();
        assert!((outbound["points"].as_f64().unwrap() - expected_points).abs() < 1e-9, "{outbound}");
    } else {
        eprintln!("the week turned during the test: the week-level reads were skipped");
    }
    // Every single log went through the shared-transaction queue, counted once each.
    let metrics = app.client.get(format!("{}/metrics", app.base_url)).send().await.unwrap().text().await.unwrap();
    let counter = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {metrics}"))
    };
    let (batches, queued) = (counter("scorebord_log_batches_total"), counter("scorebord_log_batched_calls_total"));
    assert_eq!(queued, (CLIENTS * 7) as u64, "single logActivity calls queued");
    assert!((1..=queued).contains(&batches), "{batches} transactions for {queued} calls");
    eprintln!(
        "concurrency: {calls} concurrent logging calls, {expected_count} activities, all exact; \
         {queued} single logs in {batches} transactions"
    );
}

fn uuid_of(global_id: &str) -> uuid::Uuid {
    use base64::Engine as _;
    let text = String::from_utf8(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(global_id).unwrap()).unwrap();
    uuid::Uuid::parse_str(text.split_once(':').unwrap().1).unwrap()
}

// ---------------------------------------------------------------- edit races

const PAIRS: usize = 20;

/// Two editors send `edit(version, which)` at once, `PAIRS` pairs at the same time on
/// `PAIRS` objects. Per pair exactly one wins and the other gets CONFLICT naming the
/// version; `read` then shows the winner's value and the version one higher. Returns the
/// number of conflicts observed.
async fn race_pairs<E, EF, R, RF>(what: &str, versions: &[i64], edit: E, read: R) -> usize
where
    E: Fn(usize, i64, usize) -> EF,
    EF: std::future::Future<Output = Value>,
    R: Fn(usize) -> RF,
    RF: std::future::Future<Output = (Value, i64)>,
{
    let results =
        futures_util::future::join_all((0..versions.len() * 2).map(|k| edit(k / 2, versions[k / 2], k % 2))).await;
    let mut conflicts = 0;
    for pair in 0..versions.len() {
        let (a, b) = (&results[pair * 2], &results[pair * 2 + 1]);
        let won: Vec<usize> =
            [a, b].iter().enumerate().filter(|(_, r)| r.get("errors").is_none()).map(|(w, _)| w).collect();
        assert_eq!(won.len(), 1, "{what} pair {pair}: exactly one edit wins: {a} / {b}");
        let winner = won[0];
        let loser = &results[pair * 2 + 1 - winner];
        assert_eq!(code(loser), "CONFLICT", "{what} pair {pair}: {loser}");
        let message = loser["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("reload"), "{what}: a clear message: {message}");
        conflicts += 1;
        let (value, version) = read(pair).await;
        assert_eq!(value, json!(winner), "{what} pair {pair}: the winner's value stays");
        assert_eq!(version, versions[pair] + 1, "{what} pair {pair}: one edit, one version");
    }
    conflicts
}

async fn two_managers_editing_one_quota_one_wins_the_other_gets_conflict(app: &TestApp) {
    const SET_QUOTA: &str = "mutation($i: SetQuotaInput!) { setQuota(input: $i) { quota { id amount version } userErrors { field code message } } }";
    let org = app.seed_org("qrace").await;
    let admin = org.admin_token.as_str();
    let input = |label: usize, amount: &str, version: Option<i64>| {
        json!({"subjectId": org.rep, "metric": "REVENUE", "grain": "QUARTER", "period": today(),
               "label": format!("line {label}"), "amount": amount, "version": version})
    };
    let mut ids = Vec::new();
    let mut versions = Vec::new();
    for pair in 0..PAIRS {
        let d = app.ok(&org.admin_token, SET_QUOTA, json!({"i": input(pair, "1000", None)})).await;
        ids.push(d["setQuota"]["quota"]["id"].as_str().unwrap().to_owned());
        versions.push(d["setQuota"]["quota"]["version"].as_i64().unwrap());
    }
    // The admin and the rep's manager both change the amount they read at the same version.
    let tokens = [org.admin_token.clone(), org.manager_token.clone()];
    let conflicts = race_pairs(
        "quota",
        &versions,
        |pair, version, who| {
            let (token, body) =
                (&tokens[who], json!({"i": input(pair, if who == 0 { "2000" } else { "3000" }, Some(version))}));
            async move { call(app, &reqwest::Client::new(), token, SET_QUOTA, body).await }
        },
        |pair| {
            let id = ids[pair].clone();
            async move {
                let q = app.ok(admin, "query($id: ID!) { quota(id: $id) { amount version } }", json!({"id": id})).await;
                let winner = if dec(&q["quota"]["amount"]) == Decimal::from(2000) { 0 } else { 1 };
                (json!(winner), q["quota"]["version"].as_i64().unwrap())
            }
        },
    )
    .await;
    // Same race on one quota, 20 editors at once: one wins, 19 conflicts.
    let results = all_at_once(20, |i| {
        let body = json!({"i": input(0, &format!("{}", 5000 + i), Some(versions[0] + 1))});
        let token = tokens[i % 2].clone();
        async move { call(app, &reqwest::Client::new(), &token, SET_QUOTA, body).await }
    })
    .await;
    let winners: Vec<usize> = (0..20).filter(|i| results[*i].get("errors").is_none()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(results.iter().filter(|r| r.get("errors").is_some()).all(|r| code(r) == "CONFLICT"));
    let q = app.ok(admin, "query($id: ID!) { quota(id: $id) { amount version } }", json!({"id": ids[0]})).await;
    assert_eq!(dec(&q["quota"]["amount"]), Decimal::from(5000 + winners[0] as i64));
    assert_eq!(q["quota"]["version"], versions[0] + 2);
    // Without a version the last writer wins (the documented opt-out).
    let d = app.ok(&org.manager_token, SET_QUOTA, json!({"i": input(0, "7000", None)})).await;
    assert_eq!(d["setQuota"]["quota"]["version"], versions[0] + 3);
    eprintln!("concurrency: quota edit races: {} conflicts", conflicts + 19);
}

/// A second admin, so two admins can race on admin-only configuration.
async fn second_admin(app: &TestApp, org: &Org) -> String {
    let m = store::create_member(
        org.id,
        &app.state.db,
        NewMember {
            name: "Second Admin".into(),
            email: format!("admin2@{}.test", org.slug),
            role: Role::Admin,
            sales_role: SalesRole::Manager,
            team_id: None,
            start_date: today(),
            password_hash: None,
            avatar_url: None,
        },
    )
    .await
    .unwrap();
    app.token_for(org.id, m.id)
}

async fn two_editors_of_teams_members_activity_types_and_campaigns_one_wins(app: &TestApp) {
    let org = app.seed_org("erace").await;
    let admin = org.admin_token.as_str();
    let admin2 = second_admin(app, &org).await;
    let mut conflicts = 0;

    // Teams: the admin and the Outbound manager rename the same sub-team.
    const CREATE_TEAM: &str =
        "mutation($i: CreateTeamInput!) { createTeam(input: $i) { team { id version } userErrors { code } } }";
    const UPDATE_TEAM: &str = "mutation($i: UpdateTeamInput!) { updateTeam(input: $i) { team { id name version } userErrors { code message } } }";
    let mut teams = Vec::new();
    let mut versions = Vec::new();
    for pair in 0..PAIRS {
        let d = app
            .ok(
                &org.admin_token,
                CREATE_TEAM,
                json!({"i": {"name": format!("Cell {pair}"), "parentTeamId": org.outbound}}),
            )
            .await;
        teams.push(d["createTeam"]["team"]["id"].as_str().unwrap().to_owned());
        versions.push(d["createTeam"]["team"]["version"].as_i64().unwrap());
    }
    let tokens = [org.admin_token.clone(), org.manager_token.clone()];
    conflicts += race_pairs(
        "team",
        &versions,
        |pair, version, who| {
            let body = json!({"i": {"id": teams[pair], "name": format!("Cell {pair} by {who}"), "version": version}});
            let token = tokens[who].clone();
            async move { call(app, &reqwest::Client::new(), &token, UPDATE_TEAM, body).await }
        },
        |pair| {
            let id = teams[pair].clone();
            async move {
                let t = app.ok(admin, "query($id: ID!) { team(id: $id) { name version } }", json!({"id": id})).await;
                let winner = if t["team"]["name"].as_str().unwrap().ends_with("by 0") { 0 } else { 1 };
                (json!(winner), t["team"]["version"].as_i64().unwrap())
            }
        },
    )
    .await;

    // Members: the admin and the manager change the same rep's sales role.
    const UPDATE_MEMBER: &str = "mutation($i: UpdateMemberInput!) { updateMember(input: $i) { member { id salesRole version } userErrors { code message } } }";
    let mut members = Vec::new();
    let mut versions = Vec::new();
    for pair in 0..PAIRS {
        let m = store::create_member(
            org.id,
            &app.state.db,
            NewMember {
                name: format!("Rep {pair}"),
                email: format!("rep{pair}@{}.test", org.slug),
                role: Role::Rep,
                sales_role: SalesRole::Outbound,
                team_id: Some(uuid_of(&org.outbound)),
                start_date: today(),
                password_hash: None,
                avatar_url: None,
            },
        )
        .await
        .unwrap();
        let id = {
            use base64::Engine as _;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("Member:{}", m.id))
        };
        let v = app.ok(admin, "query($id: ID!) { member(id: $id) { version } }", json!({"id": id})).await;
        versions.push(v["member"]["version"].as_i64().unwrap());
        members.push(id);
    }
    conflicts += race_pairs(
        "member",
        &versions,
        |pair, version, who| {
            let role = if who == 0 { "CLOSER" } else { "INBOUND" };
            let body = json!({"i": {"id": members[pair], "salesRole": role, "version": version}});
            let token = tokens[who].clone();
            async move { call(app, &reqwest::Client::new(), &token, UPDATE_MEMBER, body).await }
        },
        |pair| {
            let id = members[pair].clone();
            async move {
                let m =
                    app.ok(admin, "query($id: ID!) { member(id: $id) { salesRole version } }", json!({"id": id})).await;
                let winner = if m["member"]["salesRole"] == "CLOSER" { 0 } else { 1 };
                (json!(winner), m["member"]["version"].as_i64().unwrap())
            }
        },
    )
    .await;

    // Activity types: two admins change the points of the same type.
    const UPDATE_TYPE: &str = "mutation($i: UpdateActivityTypeInput!) { updateActivityType(input: $i) { activityType { id points version } userErrors { code message } } }";
    let mut types = Vec::new();
    let mut versions = Vec::new();
    for pair in 0..PAIRS {
        let d = app
            .ok(
                &org.admin_token,
                CREATE_TYPE,
                json!({"i": {"name": format!("Call {pair}"), "category": "ACTION", "unit": "COUNT", "points": 1}}),
            )
            .await;
        types.push(d["createActivityType"]["activityType"]["id"].as_str().unwrap().to_owned());
        versions.push(d["createActivityType"]["activityType"]["version"].as_i64().unwrap());
    }
    let admins = [org.admin_token.clone(), admin2.clone()];
    conflicts += race_pairs(
        "activity type",
        &versions,
        |pair, version, who| {
            let body = json!({"i": {"id": types[pair], "points": 2 + who, "version": version}});
            let token = admins[who].clone();
            async move { call(app, &reqwest::Client::new(), &token, UPDATE_TYPE, body).await }
        },
        |pair| {
            let id = types[pair].clone();
            async move {
                let t = app
                    .ok(
                        admin,
                        "query($id: ID!) { node(id: $id) { ... on ActivityType { points version } } }",
                        json!({"id": id}),
                    )
                    .await;
                let winner = if t["node"]["points"] == 2.0 { 0 } else { 1 };
                (json!(winner), t["node"]["version"].as_i64().unwrap())
            }
        },
    )
    .await;

    // Campaigns: two admins replace the definition of the same campaign (one adds a type, the
    // other a team: without the version one of them would silently be lost).
    const CREATE_CAMPAIGN: &str = "mutation($i: CreateCampaignInput!) { createCampaign(input: $i) { campaign { id version } userErrors { field code message } } }";
    const UPDATE_CAMPAIGN: &str = "mutation($i: UpdateCampaignInput!) { updateCampaign(input: $i) { campaign { id name version } userErrors { field code message } } }";
    let starts = (Utc::now() + chrono::Duration::days(7)).to_rfc3339();
    let ends = (Utc::now() + chrono::Duration::days(14)).to_rfc3339();
    let definition = |name: String| json!({"name": name, "startsAt": starts, "endsAt": ends, "multiplier": 2.0, "activityTypeIds": [types[0]]});
    let mut campaigns = Vec::new();
    let mut versions = Vec::new();
    for pair in 0..PAIRS {
        let d = app.ok(&org.admin_token, CREATE_CAMPAIGN, json!({"i": definition(format!("Double {pair}"))})).await;
        assert_eq!(d["createCampaign"]["userErrors"], json!([]), "{d}");
        campaigns.push(d["createCampaign"]["campaign"]["id"].as_str().unwrap().to_owned());
        versions.push(d["createCampaign"]["campaign"]["version"].as_i64().unwrap());
    }
    conflicts += race_pairs(
        "campaign",
        &versions,
        |pair, version, who| {
            let body = json!({"i": {"id": campaigns[pair], "version": version, "campaign": definition(format!("Double {pair} by {who}"))}});
            let token = admins[who].clone();
            async move { call(app, &reqwest::Client::new(), &token, UPDATE_CAMPAIGN, body).await }
        },
        |pair| {
            let id = campaigns[pair].clone();
            async move {
                let c = app
                    .ok(admin, "query($id: ID!) { node(id: $id) { ... on Campaign { name version } } }", json!({"id": id}))
                    .await;
                let winner = if c["node"]["name"].as_str().unwrap().ends_with("by 0") { 0 } else { 1 };
                (json!(winner), c["node"]["version"].as_i64().unwrap())
            }
        },
    )
    .await;
    eprintln!("concurrency: team, member, activity type and campaign edit races: {conflicts} conflicts");
}

/// The remaining versioned configuration, one stale edit each: refused, nothing written.
async fn stale_versions_of_stages_checklist_items_and_kpis_are_conflicts(app: &TestApp) {
    let org = app.seed_org("stale").await;
    let admin = org.admin_token.as_str();
    let stage = app
        .ok(admin, "mutation { createStage(input: {name: \"Lead\", kind: OPEN}) { stage { id version } } }", json!({}))
        .await["createStage"]["stage"]
        .clone();
    assert_eq!(stage["version"], 1);
    let item = app
        .ok(admin, "mutation($s: ID!) { addChecklistItem(input: {stageId: $s, label: \"Call\", kind: PROCESS}) { item { id version } } }", json!({"s": stage["id"]}))
        .await["addChecklistItem"]["item"]
        .clone();
    assert_eq!(item["version"], 1);
    let kpi = app
        .ok(admin, "mutation { createKpi(input: {key: \"selling_time\", name: \"Selling time\", kind: SELF_REPORTED, unit: PERCENT}) { kpi { key version } } }", json!({}))
        .await["createKpi"]["kpi"]
        .clone();
    assert_eq!(kpi["version"], 1);
    let cases = [
        (
            "updateStage",
            "mutation($v: Int, $id: ID!, $n: String) { updateStage(input: {id: $id, version: $v, name: $n}) { stage { name version } } }",
            stage["id"].clone(),
            "stage",
        ),
        (
            "updateChecklistItem",
            "mutation($v: Int, $id: ID!, $n: String) { updateChecklistItem(input: {id: $id, version: $v, label: $n}) { item { name: label version } } }",
            item["id"].clone(),
            "checklist item",
        ),
        (
            "updateKpi",
            "mutation($v: Int, $id: String!, $n: String) { updateKpi(input: {key: $id, version: $v, name: $n}) { kpi { name version } } }",
            kpi["key"].clone(),
            "KPI",
        ),
    ];
    for (field, mutation, id, what) in cases {
        let first = app.ok(admin, mutation, json!({"id": id, "v": 1, "n": "First"})).await;
        let payload = first[field].as_object().unwrap().values().next().unwrap().clone();
        assert_eq!(payload, json!({"name": "First", "version": 2}), "{field}");
        let stale = app.gql(Some(admin), mutation, json!({"id": id, "v": 1, "n": "Second"})).await;
        assert_eq!(code(&stale), "CONFLICT", "{field}: {stale}");
        assert_eq!(
            stale["errors"][0]["message"],
            format!("the {what} is at version 2, not 1; reload and try again"),
            "{field}"
        );
        // Nothing was written: the current version still takes an edit.
        let next = app.ok(admin, mutation, json!({"id": id, "v": 2, "n": "Third"})).await;
        let payload = next[field].as_object().unwrap().values().next().unwrap().clone();
        assert_eq!(payload, json!({"name": "Third", "version": 3}), "{field}");
    }
}

// ---------------------------------------------------------------- tree moves

async fn opposite_tree_moves_at_once_never_make_a_cycle(app: &TestApp) {
    const CREATE_TEAM: &str =
        "mutation($i: CreateTeamInput!) { createTeam(input: $i) { team { id } userErrors { code } } }";
    const MOVE_TEAM: &str = "mutation($i: MoveTeamInput!) { moveTeam(input: $i) { team { id } userErrors { code } } }";
    const CREATE_TERRITORY: &str = "mutation($i: CreateTerritoryInput!) { createTerritory(input: $i) { territory { id version } userErrors { code } } }";
    const UPDATE_TERRITORY: &str =
        "mutation($i: UpdateTerritoryInput!) { updateTerritory(input: $i) { territory { id } userErrors { code } } }";
    let org = app.seed_org("tree").await;
    // Pairs of sibling teams X and Y: one client moves X under Y, the other Y under X.
    let mut pairs = Vec::new();
    for pair in 0..PAIRS {
        let mut ids = Vec::new();
        for side in ["X", "Y"] {
            let d = app
                .ok(
                    &org.admin_token,
                    CREATE_TEAM,
                    json!({"i": {"name": format!("{side}{pair}"), "parentTeamId": org.sales}}),
                )
                .await;
            ids.push(d["createTeam"]["team"]["id"].as_str().unwrap().to_owned());
        }
        pairs.push(ids);
    }
    let results = all_at_once(PAIRS * 2, |k| {
        let (me, other) = (pairs[k / 2][k % 2].clone(), pairs[k / 2][1 - k % 2].clone());
        let token = org.admin_token.clone();
        async move {
            call(app, &reqwest::Client::new(), &token, MOVE_TEAM, json!({"i": {"id": me, "parentTeamId": other}})).await
        }
    })
    .await;
    let mut refused = 0;
    for pair in 0..PAIRS {
        let outcomes: Vec<Value> = (0..2)
            .map(|side| {
                let r = &results[pair * 2 + side];
                assert!(r.get("errors").is_none(), "{r}");
                r["data"]["moveTeam"]["userErrors"].clone()
            })
            .collect();
        let cycles = outcomes.iter().filter(|e| e[0]["code"] == "CYCLE").count();
        assert_eq!(cycles, 1, "team pair {pair}: exactly one move is refused as a CYCLE: {outcomes:?}");
        refused += cycles;
    }
    let all =
        app.ok(&org.admin_token, "{ teams(first: 200) { edges { node { id parentTeam { id } } } } }", json!({})).await;
    let parent: HashMap<String, String> = all["teams"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| {
            Some((e["node"]["id"].as_str()?.to_owned(), e["node"]["parentTeam"]["id"].as_str()?.to_owned()))
        })
        .collect();
    assert_no_cycle(&parent, "teams");

    // Territories: the same, with each move carrying the version it read.
    let mut pairs = Vec::new();
    for pair in 0..PAIRS {
        let mut ids = Vec::new();
        for side in ["X", "Y"] {
            let d = app
                .ok(
                    &org.admin_token,
                    CREATE_TERRITORY,
                    json!({"i": {"name": format!("{side}{pair}"), "kind": "REGION"}}),
                )
                .await;
            ids.push((
                d["createTerritory"]["territory"]["id"].as_str().unwrap().to_owned(),
                d["createTerritory"]["territory"]["version"].as_i64().unwrap(),
            ));
        }
        pairs.push(ids);
    }
    let results = all_at_once(PAIRS * 2, |k| {
        let ((me, version), (other, _)) = (pairs[k / 2][k % 2].clone(), pairs[k / 2][1 - k % 2].clone());
        let token = org.admin_token.clone();
        async move {
            call(
                app,
                &reqwest::Client::new(),
                &token,
                UPDATE_TERRITORY,
                json!({"i": {"id": me, "parentId": other, "version": version}}),
            )
            .await
        }
    })
    .await;
    for pair in 0..PAIRS {
        let outcomes: Vec<&Value> = (0..2).map(|side| &results[pair * 2 + side]).collect();
        for r in &outcomes {
            assert!(r.get("errors").is_none(), "{r}");
        }
        let cycles =
            outcomes.iter().filter(|r| r["data"]["updateTerritory"]["userErrors"][0]["code"] == "CYCLE").count();
        assert_eq!(cycles, 1, "territory pair {pair}: exactly one move is refused as a CYCLE: {outcomes:?}");
        refused += cycles;
    }
    let all = app
        .ok(&org.admin_token, "{ territories(first: 200) { edges { node { id parent { id } } } } }", json!({}))
        .await;
    let parent: HashMap<String, String> = all["territories"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| Some((e["node"]["id"].as_str()?.to_owned(), e["node"]["parent"]["id"].as_str()?.to_owned())))
        .collect();
    assert_no_cycle(&parent, "territories");
    eprintln!("concurrency: {} opposite tree moves at once, {refused} refused as CYCLE, no cycle stored", PAIRS * 4);
}

fn assert_no_cycle(parent: &HashMap<String, String>, what: &str) {
    for start in parent.keys() {
        let mut seen = HashSet::new();
        let mut at = start;
        while let Some(up) = parent.get(at) {
            assert!(seen.insert(up.clone()), "{what}: a cycle through {start}");
            at = up;
        }
    }
}

// ---------------------------------------------------------------- payouts racing closes

/// 10 % of a deal, to the cent (the amounts below never fall on a half cent).
fn commission(amount: Decimal) -> Decimal {
    (amount / Decimal::TEN).round_dp(2)
}

async fn payout_runs_racing_deal_closes_stay_exact(app: &TestApp) {
    const DEALS: usize = 30;
    const RUNS: usize = 12;
    const CREATE_STAGE: &str =
        "mutation($i: CreateStageInput!) { createStage(input: $i) { stage { id } userErrors { code } } }";
    const CREATE_DEAL: &str =
        "mutation($i: DealInput!) { createDeal(input: $i) { deal { id } userErrors { field code message } } }";
    const CLOSE: &str =
        "mutation($i: CloseDealInput!) { closeDeal(input: $i) { deal { id outcome } userErrors { code message } } }";
    const RUN: &str = "mutation($i: RunPayoutsInput!) { runPayouts(input: $i) { statements { id version member { id } total { amount } lines { kind amount { amount } deal { id } } } userErrors { code message } } }";
    const STATEMENTS: &str = "query($m: ID!) { statements(filter: {memberId: $m, includeSuperseded: true}, first: 200) { edges { node { id version current total { amount } creditedRevenue { amount } lines { kind amount { amount } deal { id } } } } } }";
    let org = app.seed_org("race").await;
    for (name, kind) in [("Lead", "OPEN"), ("Won", "WON"), ("Lost", "LOST")] {
        app.ok(&org.admin_token, CREATE_STAGE, json!({"i": {"name": name, "kind": kind}})).await;
    }
    // 10 % commission on every euro and a 50.00 SPIFF per won deal: any deal counted twice,
    // or a deal lost between two runs, shows in the total.
    let plan = json!({"name": "Flat", "components": [
        {"kind": "COMMISSION", "name": "Commission", "baseRate": "10"},
        {"kind": "SPIFF", "name": "Per deal", "target": "DEAL", "amount": "50.00",
         "startsOn": NaiveDate::from_ymd_opt(today().year() - 1, 1, 1).unwrap(),
         "endsOn": NaiveDate::from_ymd_opt(today().year() + 1, 12, 31).unwrap()}
    ]});
    let p = app
        .ok(&org.admin_token, "mutation($i: CreateIncentivePlanInput!) { createIncentivePlan(input: $i) { plan { id } userErrors { field code message } } }", json!({"i": plan}))
        .await;
    assert_eq!(p["createIncentivePlan"]["userErrors"], json!([]), "{p}");
    let plan_id = p["createIncentivePlan"]["plan"]["id"].as_str().unwrap().to_owned();
    let since = NaiveDate::from_ymd_opt(today().year() - 1, 1, 1).unwrap();
    let reps = [org.rep.clone(), org.inbound_rep.clone()];
    for rep in &reps {
        let a = app
            .ok(&org.admin_token, "mutation($i: AssignIncentivePlanInput!) { assignIncentivePlan(input: $i) { userErrors { field code message } } }", json!({"i": {"planId": plan_id, "memberId": rep, "startsOn": since}}))
            .await;
        assert_eq!(a["assignIncentivePlan"]["userErrors"], json!([]), "{a}");
    }
    let mut deals = Vec::new();
    for i in 0..DEALS {
        let amount = Decimal::new(100_000 + 1_234 * i as i64, 2);
        let owner = &reps[i % 2];
        let d = app
            .ok(
                &org.admin_token,
                CREATE_DEAL,
                json!({"i": {"name": format!("Deal {i}"), "ownerId": owner, "amount": amount.to_string()}}),
            )
            .await;
        assert_eq!(d["createDeal"]["userErrors"], json!([]), "{d}");
        deals.push((d["createDeal"]["deal"]["id"].as_str().unwrap().to_owned(), owner.clone(), amount));
    }
    let period = json!({"grain": "QUARTER", "date": today()});
    let quarter_at_start = (today().year(), today().month0() / 3);

    // The closes and the runs at once, both spread over the same ~90 ms.
    let close_calls = deals.iter().enumerate().map(|(i, (id, _, _))| {
        let (token, body) = (org.admin_token.clone(), json!({"i": {"id": id, "outcome": "WON"}}));
        async move {
            tokio::time::sleep(std::time::Duration::from_millis(3 * i as u64)).await;
            call(app, &reqwest::Client::new(), &token, CLOSE, body).await
        }
    });
    let run_calls = (0..RUNS).map(|k| {
        let (token, body) = (org.admin_token.clone(), json!({"i": {"period": period}}));
        async move {
            tokio::time::sleep(std::time::Duration::from_millis(8 * k as u64)).await;
            call(app, &reqwest::Client::new(), &token, RUN, body).await
        }
    });
    let (closes, runs) =
        tokio::join!(futures_util::future::join_all(close_calls), futures_util::future::join_all(run_calls));
    for c in &closes {
        assert_clean(c, "closeDeal");
        assert_eq!(c["data"]["closeDeal"]["deal"]["outcome"], "WON");
    }
    let amounts: HashMap<String, Decimal> = deals.iter().map(|(id, _, a)| (id.clone(), *a)).collect();
    // Every statement a racing run wrote is a consistent snapshot: each deal once, the total
    // the sum of its lines and equal to 10 % plus 50.00 per deal it saw.
    let check_statement = |s: &Value| {
        let lines = s["lines"].as_array().unwrap();
        let mut seen = HashSet::new();
        let mut commissions = Decimal::ZERO;
        for l in lines.iter().filter(|l| l["kind"] == "COMMISSION") {
            let deal = l["deal"]["id"].as_str().unwrap().to_owned();
            assert!(seen.insert(deal.clone()), "a deal counted twice: {s}");
            commissions += commission(amounts[&deal]);
        }
        let spiffs = lines.iter().filter(|l| l["kind"] == "SPIFF").count();
        assert_eq!(spiffs, seen.len(), "one SPIFF per deal: {s}");
        let line_sum: Decimal = lines.iter().map(|l| dec(&l["amount"]["amount"])).sum();
        assert_eq!(line_sum, dec(&s["total"]["amount"]), "{s}");
        assert_eq!(line_sum, commissions + Decimal::from(50 * spiffs as i64), "{s}");
        seen.len()
    };
    let (mut drafts, mut mid_race) = (0, 0);
    for r in &runs {
        assert_clean(r, "runPayouts");
        for s in r["data"]["runPayouts"]["statements"].as_array().unwrap() {
            let deals_seen = check_statement(s);
            drafts += 1;
            // A draft written while its member's deals were still closing.
            if deals_seen > 0 && deals_seen < DEALS / 2 {
                mid_race += 1;
            }
        }
    }
    if (today().year(), today().month0() / 3) != quarter_at_start {
        eprintln!("the quarter turned during the test: the final check was skipped");
        return;
    }
    // A run after the race pays exactly the closed deals.
    let last = app.ok(&org.admin_token, RUN, json!({"i": {"period": period}})).await;
    assert_eq!(last["runPayouts"]["userErrors"], json!([]));
    for rep in &reps {
        let mine: Vec<Decimal> = deals.iter().filter(|d| &d.1 == rep).map(|d| d.2).collect();
        let expected = mine.iter().map(|a| commission(*a)).sum::<Decimal>() + Decimal::from(50 * mine.len() as i64);
        let all = app.ok(&org.admin_token, STATEMENTS, json!({"m": rep})).await;
        let versions: Vec<&Value> = all["statements"]["edges"].as_array().unwrap().iter().map(|e| &e["node"]).collect();
        let current: Vec<&&Value> = versions.iter().filter(|s| s["current"] == true).collect();
        assert_eq!(current.len(), 1, "one current statement per member and period: {all}");
        assert_eq!(dec(&current[0]["total"]["amount"]), expected, "{}", current[0]);
        assert_eq!(dec(&current[0]["creditedRevenue"]["amount"]), mine.iter().sum::<Decimal>());
        let mut numbers: Vec<i64> = versions.iter().map(|s| s["version"].as_i64().unwrap()).collect();
        numbers.sort_unstable();
        assert_eq!(numbers, (1..=numbers.len() as i64).collect::<Vec<_>>(), "versions 1..n, none doubled");
        for s in versions {
            check_statement(s);
        }
    }
    eprintln!(
        "concurrency: {DEALS} deal closes raced {RUNS} payout runs ({drafts} drafts, {mid_race} written mid-race), totals exact"
    );
}
