//! Several API instances on one PostgreSQL database (DESIGN.md §2): a change made through one
//! instance reaches subscribers on every instance, each exactly once, and an instance that lost
//! its LISTEN connection reconnects and tells its subscribers to reload.

use std::time::{Duration, Instant};

use scorebord_tests::{Backend, Org, TestApp, Ws, WsEvent, postgres_configured};
use sea_orm::ConnectionTrait as _;
use serde_json::{Value, json};

const SUB: &str = "subscription { organizationChanged { name version } }";

/// How long a delivery across instances may take; NOTIFY itself takes milliseconds.
const DELIVERY_BUDGET: Duration = Duration::from_secs(3);

/// How long to wait to be reasonably sure that no duplicate follows.
const QUIET_PERIOD: Duration = Duration::from_secs(1);

/// A primary instance (owning a fresh database) and a second one on the same database.
async fn two_instances() -> Option<(TestApp, TestApp)> {
    if !postgres_configured() {
        eprintln!("TEST_POSTGRES_URL is not set: the multi-instance test did not run (it needs PostgreSQL)");
        return None;
    }
    let a = TestApp::spawn(Backend::Postgres).await;
    let b = a.second_instance().await;
    assert!(a.state.events.is_shared() && b.state.events.is_shared(), "on PostgreSQL events cross instances");
    Some((a, b))
}

async fn subscribe(app: &TestApp, token: &str) -> Ws {
    let mut ws = app.ws("graphql-transport-ws").await;
    ws.send(json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}})).await;
    assert_eq!(ws.next_json().await["type"], "connection_ack");
    ws.send(json!({"id": "1", "type": "subscribe", "payload": {"query": SUB}})).await;
    ws
}

/// Gives freshly sent subscriptions a moment to register (there is no acknowledgement).
async fn let_subscriptions_register() {
    tokio::time::sleep(Duration::from_millis(200)).await;
}

async fn rename(app: &TestApp, org: &Org, name: &str) {
    app.ok(
        &org.admin_token,
        "mutation($name: String!) { updateOrganization(input: {name: $name}) { organization { name } } }",
        json!({"name": name}),
    )
    .await;
}

/// The organization pushed next, which must arrive within the delivery budget.
async fn next_change(ws: &mut Ws) -> Value {
    let start = Instant::now();
    let msg = ws.next_json().await;
    assert!(start.elapsed() < DELIVERY_BUDGET, "took {:?}", start.elapsed());
    assert_eq!(msg["type"], "next", "{msg}");
    assert_eq!(msg["id"], "1", "{msg}");
    msg["payload"]["data"]["organizationChanged"].clone()
}

async fn assert_nothing_more(ws: &mut Ws) {
    if let Some(extra) = ws.next_within(QUIET_PERIOD).await {
        panic!("expected exactly one message, then got {extra:?}");
    }
}

/// Each instance remembers authenticated members; a deactivation made through another instance
/// reaches it over LISTEN/NOTIFY and takes effect long before the cache would expire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_deactivated_on_one_instance_is_refused_on_the_other_at_once() {
    if !postgres_configured() {
        eprintln!("TEST_POSTGRES_URL is not set: the multi-instance test did not run (it needs PostgreSQL)");
        return;
    }
    let a = TestApp::spawn_with(scorebord_tests::Backend::Postgres, |c| c.member_cache_seconds = 300).await;
    let b = a.second_instance().await;
    let org = a.seed_org("acme").await;
    let viewer = "{ viewer { member { name } } }";
    assert!(b.gql(Some(&org.rep_token), viewer, json!({})).await.get("errors").is_none());
    a.ok(
        &org.admin_token,
        "mutation($id: ID!) { deactivateMember(input: {id: $id}) { member { active } } }",
        json!({"id": org.rep}),
    )
    .await;
    let started = Instant::now();
    loop {
        let body = b.gql(Some(&org.rep_token), viewer, json!({})).await;
        if body.get("errors").is_some() {
            assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{body}");
            break;
        }
        assert!(started.elapsed() < DELIVERY_BUDGET, "instance B still serves the deactivated member");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Each instance keeps its rankings and directories in memory; a score logged and a team
/// renamed through another instance reach it over LISTEN/NOTIFY long before the directory's
/// time-to-live (60 s here) would, and its next answers have the new points and name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_on_one_instance_shows_in_the_others_in_memory_reads_at_once() {
    if !postgres_configured() {
        eprintln!("TEST_POSTGRES_URL is not set: the multi-instance test did not run (it needs PostgreSQL)");
        return;
    }
    let a = TestApp::spawn_with(Backend::Postgres, |c| c.member_cache_seconds = 60).await;
    let b = a.second_instance().await;
    let org = a.seed_org("acme").await;
    let board =
        "{ leaderboard(input: {period: {grain: WEEK}}) { entries { points member { name team { id name } } } } }";
    let rep_points = |body: &Value| {
        body["leaderboard"]["entries"].as_array().unwrap().iter().find(|e| e["member"]["name"] == "acme Rep").unwrap()
            ["points"]
            .as_f64()
            .unwrap()
    };
    let first = b.ok(&org.viewer_token, board, json!({})).await;
    assert_eq!(rep_points(&first), 0.0);
    let kind = a
        .ok(
            &org.admin_token,
            "mutation { createActivityType(input: {name: \"Call\", category: ACTION, unit: COUNT, points: 4}) { activityType { id } } }",
            json!({}),
        )
        .await["createActivityType"]["activityType"]["id"]
        .clone();
    a.ok(
        &org.rep_token,
        "mutation($i: LogActivityInput!) { logActivity(input: $i) { activity { id } } }",
        json!({"i": {"activityTypeId": kind}}),
    )
    .await;
    let started = Instant::now();
    loop {
        if rep_points(&b.ok(&org.viewer_token, board, json!({})).await) == 4.0 {
            break;
        }
        assert!(started.elapsed() < DELIVERY_BUDGET, "instance B still serves the board from before the log");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Once B has it, B keeps answering with it: nothing older was kept under the new version.
    for _ in 0..20 {
        assert_eq!(rep_points(&b.ok(&org.viewer_token, board, json!({})).await), 4.0);
    }

    // A team renamed on A: B's directory loads again when the event arrives.
    let team_of_rep = |body: &Value| {
        body["leaderboard"]["entries"].as_array().unwrap().iter().find(|e| e["member"]["name"] == "acme Rep").unwrap()
            ["member"]["team"]
            .clone()
    };
    let team = team_of_rep(&first);
    assert!(team["id"].is_string(), "the seeded rep has a team: {first}");
    let renamed = a
        .ok(
            &org.admin_token,
            "mutation($i: UpdateTeamInput!) { updateTeam(input: $i) { team { name } userErrors { code } } }",
            json!({"i": {"id": team["id"], "name": "Renamed on A"}}),
        )
        .await;
    assert_eq!(renamed["updateTeam"]["team"]["name"], "Renamed on A", "{renamed}");
    let started = Instant::now();
    loop {
        if team_of_rep(&b.ok(&org.viewer_token, board, json!({})).await)["name"] == "Renamed on A" {
            break;
        }
        assert!(started.elapsed() < DELIVERY_BUDGET, "instance B still shows the team's old name");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_reaches_subscribers_on_every_instance_exactly_once() {
    let Some((a, b)) = two_instances().await else { return };
    let org = a.seed_org("acme").await;
    let other = a.seed_org("other").await;
    let mut on_b = subscribe(&b, &org.rep_token).await;
    let mut on_a = subscribe(&a, &org.viewer_token).await;
    let_subscriptions_register().await;

    // Another tenant's change travels too, but no subscriber of acme sees it.
    rename(&a, &other, "Other Renamed").await;
    rename(&a, &org, "Acme Everywhere").await;

    let expected = json!({"name": "Acme Everywhere", "version": 2});
    assert_eq!(next_change(&mut on_b).await, expected, "through NOTIFY to instance B");
    assert_eq!(next_change(&mut on_a).await, expected, "locally on instance A");
    // A does not get its own notification back as a second copy, and B gets one copy.
    assert_nothing_more(&mut on_a).await;
    assert_nothing_more(&mut on_b).await;

    // And the other way round.
    rename(&b, &org, "Acme Again").await;
    let expected = json!({"name": "Acme Again", "version": 3});
    assert_eq!(next_change(&mut on_a).await, expected, "through NOTIFY to instance A");
    assert_eq!(next_change(&mut on_b).await, expected, "locally on instance B");
    assert_nothing_more(&mut on_a).await;
    assert_nothing_more(&mut on_b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_lost_its_listener_reconnects_and_subscribers_reload() {
    let Some((a, b)) = two_instances().await else { return };
    let org = a.seed_org("acme").await;
    let mut on_b = subscribe(&b, &org.rep_token).await;
    let_subscriptions_register().await;

    // Kill both instances' LISTEN connections (the bus names them `scorebord-listen`).
    let killed = a
        .state
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = 'scorebord-listen'",
        ))
        .await
        .unwrap();
    assert_eq!(killed.len(), 2, "one listening connection per instance");

    // B listens again and, as it may have missed changes, its subscriber reloads the current state.
    let msg = on_b.next_json().await;
    assert_eq!(msg["type"], "next", "{msg}");
    assert_eq!(msg["payload"]["data"]["organizationChanged"], json!({"name": "acme B.V.", "version": 1}));
    assert_nothing_more(&mut on_b).await;

    // Changes made on A reach B again.
    rename(&a, &org, "After Reconnect").await;
    assert_eq!(next_change(&mut on_b).await, json!({"name": "After Reconnect", "version": 2}));
    assert_nothing_more(&mut on_b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_events_stay_in_the_process() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    assert!(!app.state.events.is_shared());
}

/// The scoring path across instances: a leaderboard subscriber on B sees an activity logged
/// through A, and B's hot ranking agrees with the database; a retry of the same idempotency
/// key through B awards nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activity_logged_on_one_instance_moves_the_board_on_the_other() {
    let Some((a, b)) = two_instances().await else { return };
    let org = a.seed_org("acme").await;
    let created = a
        .ok(
            &org.admin_token,
            "mutation { createActivityType(input: {name: \"Quote sent\", category: ACTION, unit: COUNT, points: 3}) { activityType { id } } }",
            json!({}),
        )
        .await;
    let quote = created["createActivityType"]["activityType"]["id"].clone();
    let mut ws = b.ws("graphql-transport-ws").await;
    ws.send(json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {}", org.rep_token)}}))
        .await;
    assert_eq!(ws.next_json().await["type"], "connection_ack");
    let board =
        "subscription($i: LeaderboardInput!) { leaderboardChanged(input: $i) { entries { points member { name } } } }";
    ws.send(json!({"id": "b", "type": "subscribe", "payload": {"query": board, "variables": {"i": {"period": {"grain": "WEEK"}, "teamId": org.outbound}}}})).await;
    let first = ws.next_json().await;
    assert_eq!(first["payload"]["data"]["leaderboardChanged"]["entries"][0]["points"], 0.0);
    let log = "mutation($i: LogActivityInput!) { logActivity(input: $i) { replayed activity { points } } }";
    let input = json!({"i": {"activityTypeId": quote, "quantity": 2, "idempotencyKey": "cross-1"}});
    let started = Instant::now();
    let logged = a.ok(&org.rep_token, log, input.clone()).await;
    assert_eq!(logged["logActivity"]["replayed"], false);
    let update = match ws.next_within(DELIVERY_BUDGET).await {
        Some(WsEvent::Json(v)) => v,
        other => panic!("expected a board update on the other instance, got {other:?}"),
    };
    assert!(started.elapsed() < DELIVERY_BUDGET);
    assert_eq!(
        update["payload"]["data"]["leaderboardChanged"]["entries"][0],
        json!({"points": 6.0, "member": {"name": "acme Rep"}})
    );
    let replay = b.ok(&org.rep_token, log, input).await;
    assert_eq!(replay["logActivity"]["replayed"], true, "the key is shared through the database");
    let q = "{ leaderboard(input: {period: {grain: WEEK}}) { entries { points member { name } } } }";
    let on_b = b.ok(&org.admin_token, q, json!({})).await;
    assert_eq!(on_b["leaderboard"]["entries"][0], json!({"points": 6.0, "member": {"name": "acme Rep"}}));
    assert_nothing_more(&mut ws).await;
}
