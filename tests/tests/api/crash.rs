//! Crash safety, on SQLite and PostgreSQL: the real `scorebord` binary is
//! killed with SIGKILL in the middle of a stream of `logActivity`/`voidActivity` calls and in the
//! middle of a payout run, then started again on the same database. The client retries every
//! call it got no answer to (and some it did, to prove the idempotency keys). Afterwards every
//! acknowledged activity exists exactly once, the day totals, webhook outbox, scores and
//! leaderboards equal the sums of the activities, and every statement is whole: one current
//! version per member, lines summing to the total, one audit entry per committed run.
//!
//! The in-process [`TestApp`] only creates, seeds and inspects the database; the binary serves
//! every call that is checked.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use chrono::Utc;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use scorebord::core::roles::{Role, SalesRole};
use scorebord::org::store::{self as org_store, NewMember};
use scorebord_tests::{Backend, Org, ServerProcess, TestApp, backend_tests};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

backend_tests!(logged_activities_survive_kill_9, payout_runs_survive_kill_9);

/// How often the server is killed during the activity stream.
const ACTIVITY_CRASHES: usize = 4;
/// Concurrent clients logging during a cycle.
const CLIENTS: usize = 8;
/// Reps logging for themselves (besides the seeded two).
const EXTRA_REPS: usize = 20;
/// Acknowledged calls per cycle before the kill may come.
const ACKS_BEFORE_KILL: usize = 40;
/// Acknowledged calls sent again after each restart (they must replay).
const RESENT_PER_RESTART: usize = 10;

/// How often a payout run is killed.
const PAYOUT_CRASHES: usize = 3;
/// Members on a plan: enough that a run takes long enough to be killed in the middle.
const PAYOUT_MEMBERS: usize = 120;
/// Won deals per member.
const DEALS_PER_MEMBER: usize = 3;

const LOG: &str = "mutation($i: LogActivityInput!) { logActivity(input: $i) { replayed activity { id points idempotencyKey } userErrors { code message } } }";
const VOID: &str = "mutation($i: VoidActivityInput!) { voidActivity(input: $i) { activity { id voided } userErrors { code message } } }";
const BOARD: &str = "query($i: LeaderboardInput!) { leaderboard(input: $i) { period { startDate endDate } totalEntries entries { points member { id } team { id } } } }";
const SCORE: &str = "query($m: ID!) { score(memberId: $m, period: {grain: WEEK}) { period { startDate endDate } points activityCount } }";
const RUN: &str = "mutation($i: RunPayoutsInput!) { runPayouts(input: $i) { statements { id version } unchanged { id } userErrors { code message } } }";
const STATEMENT: &str =
    "query($id: ID!) { statement(id: $id) { version current total { amount } lines { amount { amount } } } }";

fn uuid_of(global_id: &str) -> Uuid {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(global_id).expect("global ID");
    let text = String::from_utf8(bytes).expect("UTF-8");
    Uuid::parse_str(text.split_once(':').expect("kind:uuid").1).expect("UUID")
}

fn gid(kind: &str, id: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}:{id}"))
}

fn cents(points: &Value) -> i64 {
    (points.as_f64().unwrap_or_else(|| panic!("not a number: {points}")) * 100.0).round() as i64
}

fn seed() -> u64 {
    let seed = std::env::var("CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    eprintln!("crash test seed: {seed} (set CRASH_SEED to repeat)");
    seed
}

/// POSTs an operation; `Err` when no well-formed answer came back (the server died).
async fn post(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> Result<Value, String> {
    let response = client
        .post(format!("{base}/graphql"))
        .bearer_auth(token)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .map_err(|e| format!("no answer: {e}"))?;
    let status = response.status();
    let body: Value = response.json().await.map_err(|e| format!("no whole answer ({status}): {e}"))?;
    Ok(body)
}

/// `data` of an answer that must have no errors.
fn data(body: Value) -> Value {
    assert!(body.get("errors").is_none(), "unexpected errors: {body}");
    body["data"].clone()
}

fn new_member(org: &Org, name: String, team: &str) -> NewMember {
    NewMember {
        email: format!("{}@{}.test", name.to_lowercase().replace(' ', "."), org.slug),
        name,
        role: Role::Rep,
        sales_role: SalesRole::Outbound,
        team_id: Some(uuid_of(team)),
        start_date: Utc::now().date_naive(),
        password_hash: None,
        avatar_url: None,
    }
}

// ---------------------------------------------------------------- activities

/// A rep who logs for themself.
struct Logger {
    id: Uuid,
    token: String,
}

#[derive(Clone, Debug)]
enum Call {
    Log { key: String, logger: usize, activity_type: usize, quantity: i32 },
    Void { key: String, activity: String, logger: usize },
}

/// What the client knows: what was acknowledged, and what is still owed an answer.
#[derive(Default)]
struct Ledger {
    /// Idempotency key → (activity ID, points in cents, logger, the call).
    acked: BTreeMap<String, (String, i64, usize, Call)>,
    /// Keys of activities whose void was acknowledged.
    voided: HashSet<String>,
    /// Calls without an answer, to retry after the restart.
    pending: Vec<Call>,
    /// Answers that were GraphQL errors (must stay empty).
    errors: Vec<String>,
    /// Calls sent during the streams.
    sent: usize,
    /// Unanswered calls that had committed before the kill (the retry replayed them).
    committed_unanswered: usize,
    /// Unanswered calls that had not committed (the retry wrote them).
    lost_unanswered: usize,
    /// Acknowledged calls sent again, each answered with the original.
    resent: usize,
}

struct Fixture {
    org: Org,
    loggers: Vec<Logger>,
    /// Activity type IDs and their points in cents.
    types: Vec<(String, i64)>,
}

/// Sends one call; `Ok(replayed)` when it was answered, `Err` when the server gave no answer.
async fn execute(
    client: &reqwest::Client,
    base: &str,
    fx: &Fixture,
    ledger: &Mutex<Ledger>,
    call: &Call,
) -> Result<bool, String> {
    match call {
        Call::Log { key, logger, activity_type, quantity } => {
            let input = json!({"i": {"activityTypeId": fx.types[*activity_type].0, "quantity": quantity, "idempotencyKey": key}});
            let body = post(client, base, &fx.loggers[*logger].token, LOG, input).await?;
            let payload = &body["data"]["logActivity"];
            if body.get("errors").is_some() || payload["userErrors"] != json!([]) {
                ledger.lock().unwrap().errors.push(format!("{key}: {body}"));
                return Err(format!("refused: {body}"));
            }
            let activity = &payload["activity"];
            assert_eq!(activity["idempotencyKey"], key.as_str());
            let id = activity["id"].as_str().expect("activity ID").to_owned();
            let points = cents(&activity["points"]);
            assert_eq!(points, fx.types[*activity_type].1 * i64::from(*quantity), "{body}");
            let replayed = payload["replayed"].as_bool().expect("replayed");
            let mut l = ledger.lock().unwrap();
            match l.acked.get(key) {
                Some((first, _, _, _)) => {
                    assert!(replayed, "{key} was acknowledged before, so a retry must replay: {body}");
                    assert_eq!(first, &id, "a retry of {key} answered another activity");
                }
                None => {
                    l.acked.insert(key.clone(), (id, points, *logger, call.clone()));
                }
            }
            Ok(replayed)
        }
        Call::Void { key, activity, logger } => {
            let input = json!({"i": {"id": activity, "reason": "crash test"}});
            let body = post(client, base, &fx.loggers[*logger].token, VOID, input).await?;
            let payload = &body["data"]["voidActivity"];
            let codes: Vec<&str> = payload["userErrors"]
                .as_array()
                .map(|e| e.iter().filter_map(|e| e["code"].as_str()).collect())
                .unwrap_or_default();
            if body.get("errors").is_some() || !(codes.is_empty() || codes == ["ALREADY_VOIDED"]) {
                ledger.lock().unwrap().errors.push(format!("void {key}: {body}"));
                return Err(format!("refused: {body}"));
            }
            assert_eq!(payload["activity"]["voided"], true, "{body}");
            ledger.lock().unwrap().voided.insert(key.clone());
            Ok(codes == ["ALREADY_VOIDED"])
        }
    }
}

/// One client's stream: logs with fresh keys, now and then voids one of its own activities;
/// stops at the first call that gets no answer, which it leaves to be retried.
async fn stream(base: String, fx: Arc<Fixture>, ledger: Arc<Mutex<Ledger>>, cycle: usize, client_no: usize, seed: u64) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");
    let mut rng = StdRng::seed_from_u64(seed ^ ((cycle as u64) << 32) ^ client_no as u64);
    let mut mine: Vec<(String, String, usize)> = Vec::new();
    for i in 0.. {
        let call = if i % 7 == 6 && !mine.is_empty() {
            let (key, activity, logger) = mine.swap_remove(rng.random_range(0..mine.len()));
            Call::Void { key, activity, logger }
        } else {
            Call::Log {
                key: format!("crash-{cycle}-{client_no}-{i}"),
                logger: rng.random_range(0..fx.loggers.len()),
                activity_type: rng.random_range(0..fx.types.len()),
                quantity: rng.random_range(1..=5),
            }
        };
        ledger.lock().unwrap().sent += 1;
        match execute(&client, &base, &fx, &ledger, &call).await {
            Ok(_) => {
                if let Call::Log { key, logger, .. } = &call {
                    let id = ledger.lock().unwrap().acked[key].0.clone();
                    mine.push((key.clone(), id, *logger));
                }
            }
            Err(_) => {
                ledger.lock().unwrap().pending.push(call);
                return;
            }
        }
    }
}

/// After a restart: every unanswered call again (each must now be answered), and a few
/// answered ones (each must replay the original).
async fn retry(server: &ServerProcess, fx: &Fixture, ledger: &Mutex<Ledger>, rng: &mut StdRng) {
    let client = reqwest::Client::new();
    let pending = std::mem::take(&mut ledger.lock().unwrap().pending);
    for call in pending {
        let replayed = execute(&client, &server.base_url, fx, ledger, &call)
            .await
            .unwrap_or_else(|e| panic!("a retry after the restart failed: {e}\n{}", server.logs()));
        let mut l = ledger.lock().unwrap();
        if replayed {
            l.committed_unanswered += 1;
        } else {
            l.lost_unanswered += 1;
        }
    }
    let acked: Vec<Call> = ledger.lock().unwrap().acked.values().map(|a| a.3.clone()).collect();
    for _ in 0..RESENT_PER_RESTART.min(acked.len()) {
        let original = &acked[rng.random_range(0..acked.len())];
        let replayed = execute(&client, &server.base_url, fx, ledger, original)
            .await
            .unwrap_or_else(|e| panic!("resending {original:?} failed: {e}"));
        assert!(replayed, "{original:?} was acknowledged, so resending it must replay");
        ledger.lock().unwrap().resent += 1;
    }
}

async fn seed_activities(app: &TestApp) -> Fixture {
    let org = app.seed_org("crash").await;
    let mut loggers = vec![
        Logger { id: uuid_of(&org.rep), token: org.rep_token.clone() },
        Logger { id: uuid_of(&org.inbound_rep), token: org.inbound_rep_token.clone() },
    ];
    for i in 0..EXTRA_REPS {
        let team = if i % 2 == 0 { &org.inbound } else { &org.outbound };
        let m = org_store::create_member(org.id, &app.state.db, new_member(&org, format!("Rep {i:02}"), team))
            .await
            .expect("member");
        loggers.push(Logger { id: m.id, token: app.token_for(org.id, m.id) });
    }
    let mut types = Vec::new();
    for (name, points) in [("Call", 1.0), ("Quote sent", 7.0), ("Demo", 25.5)] {
        let created = app
            .ok(
                &org.admin_token,
                "mutation($i: CreateActivityTypeInput!) { createActivityType(input: $i) { activityType { id } } }",
                json!({"i": {"name": name, "category": "ACTION", "unit": "COUNT", "points": points}}),
            )
            .await;
        let id = created["createActivityType"]["activityType"]["id"].as_str().expect("type").to_owned();
        types.push((id, (points * 100.0) as i64));
    }
    // Every activity queues one webhook delivery in its transaction: a half-written log would
    // show as an activity without its delivery (or the other way round). Nothing listens on
    // port 9, and retries are an hour apart.
    let hook = app
        .ok(
            &org.admin_token,
            "mutation { createWebhook(input: {url: \"http://127.0.0.1:9/hook\", events: [\"activity.logged\"]}) { userErrors { message } } }",
            json!({}),
        )
        .await;
    assert_eq!(hook["createWebhook"]["userErrors"], json!([]), "{hook}");
    Fixture { org, loggers, types }
}

const SERVER_ENV: &[(&str, &str)] = &[("WEBHOOK_RETRY_BASE_MS", "3600000")];

async fn logged_activities_survive_kill_9(app: &TestApp) {
    let started = Instant::now();
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let fx = Arc::new(seed_activities(app).await);
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let logs = tempfile::tempdir().expect("log dir");
    let url = app.state.config.database_url.clone();
    let mut kill_delays = Vec::new();
    for cycle in 0..ACTIVITY_CRASHES {
        let server = ServerProcess::start(&url, &logs.path().join(format!("server-{cycle}.log")), SERVER_ENV).await;
        retry(&server, &fx, &ledger, &mut rng).await;
        // The board is built now, so the stream moves the hot ranking incrementally.
        let _ = post(
            &reqwest::Client::new(),
            &server.base_url,
            &fx.org.admin_token,
            BOARD,
            json!({"i": {"period": {"grain": "WEEK"}}}),
        )
        .await;
        let acked_before = ledger.lock().unwrap().acked.len();
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| tokio::spawn(stream(server.base_url.clone(), fx.clone(), ledger.clone(), cycle, c, seed)))
            .collect();
        let deadline = Instant::now() + Duration::from_secs(30);
        while ledger.lock().unwrap().acked.len() < acked_before + ACKS_BEFORE_KILL {
            assert!(Instant::now() < deadline, "the stream is too slow:\n{}", server.logs());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let delay = Duration::from_millis(rng.random_range(0..300));
        tokio::time::sleep(delay).await;
        kill_delays.push(delay);
        server.kill9().await;
        for c in clients {
            c.await.expect("client task");
        }
        let l = ledger.lock().unwrap();
        assert!(l.errors.is_empty(), "calls were refused: {:?}", l.errors);
        assert!(!l.pending.is_empty(), "the kill left no call unanswered");
    }
    let server = ServerProcess::start(&url, &logs.path().join("server-final.log"), SERVER_ENV).await;
    let _ = post(
        &reqwest::Client::new(),
        &server.base_url,
        &fx.org.admin_token,
        BOARD,
        json!({"i": {"period": {"grain": "WEEK"}}}),
    )
    .await;
    retry(&server, &fx, &ledger, &mut rng).await;
    let checked = check_activities(app, &server, &fx, &ledger).await;
    server.kill9().await;
    let l = ledger.lock().unwrap();
    assert!(l.errors.is_empty(), "calls were refused: {:?}", l.errors);
    eprintln!(
        "crash safety ({:?}): {ACTIVITY_CRASHES} kill -9 during {CLIENTS} concurrent clients (after {kill_delays:?}); \
         {} calls sent, {} activities acknowledged exactly once, {} voided; {} unanswered calls retried \
         ({} had committed and replayed, {} had not); {} acknowledged calls resent and replayed; \
         {checked} values compared; {:.1} s",
        app.backend,
        l.sent,
        l.acked.len(),
        l.voided.len(),
        l.committed_unanswered + l.lost_unanswered,
        l.committed_unanswered,
        l.lost_unanswered,
        l.resent,
        started.elapsed().as_secs_f64()
    );
}

/// Compares the rows with what was acknowledged, the aggregates with the rows, and what the
/// API answers with the rows. Returns how many values were compared.
async fn check_activities(app: &TestApp, server: &ServerProcess, fx: &Fixture, ledger: &Mutex<Ledger>) -> usize {
    use entity::{activity, activity_day_total, webhook_delivery};
    let db = &app.state.db;
    let org = fx.org.id;
    let mut checked = 0;
    let rows = activity::Entity::find().filter(activity::Column::OrganizationId.eq(org.0)).all(db).await.expect("rows");
    let (acked, voided) = {
        let l = ledger.lock().unwrap();
        assert!(l.pending.is_empty());
        (l.acked.clone(), l.voided.clone())
    };

    // Every acknowledged activity exactly once, as acknowledged; nothing else.
    let mut by_key: HashMap<&str, Vec<&activity::Model>> = HashMap::new();
    for r in &rows {
        by_key.entry(r.idempotency_key.as_deref().expect("every activity has a key")).or_default().push(r);
    }
    assert_eq!(rows.len(), acked.len(), "activities stored vs acknowledged");
    for (key, (id, points, logger, _)) in &acked {
        let found = by_key.get(key.as_str()).unwrap_or_else(|| panic!("acknowledged {key} is missing"));
        assert_eq!(found.len(), 1, "{key} is stored {} times", found.len());
        let row = found[0];
        assert_eq!(row.id, uuid_of(id), "{key}");
        assert_eq!(row.points_cents, *points, "{key}");
        assert_eq!(row.member_id, fx.loggers[*logger].id, "{key}");
        assert_eq!(row.voided_at.is_some(), voided.contains(key), "{key}: voided as acknowledged");
        let per_unit = fx.types.iter().find(|(t, _)| uuid_of(t) == row.activity_type_id).expect("type").1;
        assert_eq!(row.points_cents, per_unit * i64::from(row.quantity.expect("COUNT")), "{key}");
        checked += 5;
    }

    // Day totals: exactly the sums of the counting activities.
    let mut expected: HashMap<(Uuid, Uuid, chrono::NaiveDate), (i64, i64)> = HashMap::new();
    for r in rows.iter().filter(|r| r.voided_at.is_none()) {
        let e = expected.entry((r.member_id, r.activity_type_id, r.local_date)).or_default();
        e.0 += r.points_cents;
        e.1 += 1;
    }
    let totals = activity_day_total::Entity::find()
        .filter(activity_day_total::Column::OrganizationId.eq(org.0))
        .all(db)
        .await
        .expect("day totals");
    let stored: HashMap<_, _> = totals
        .iter()
        .filter(|t| (t.points_cents, t.activity_count) != (0, 0))
        .map(|t| ((t.member_id, t.activity_type_id, t.day), (t.points_cents, t.activity_count)))
        .collect();
    assert_eq!(stored, expected, "day totals vs the sums of the activities");
    checked += 2 * expected.len();

    // The webhook outbox: one activity.logged delivery per activity, none without one.
    let deliveries = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::OrganizationId.eq(org.0))
        .filter(webhook_delivery::Column::EventType.eq("activity.logged"))
        .all(db)
        .await
        .expect("deliveries");
    let mut per_activity: HashMap<String, usize> = HashMap::new();
    for d in &deliveries {
        let body: Value = serde_json::from_str(&d.payload).expect("payload JSON");
        *per_activity.entry(body["data"]["activityId"].as_str().expect("activityId").to_owned()).or_default() += 1;
    }
    let stored_ids: HashMap<String, usize> = rows.iter().map(|r| (gid("Activity", r.id), 1)).collect();
    assert_eq!(per_activity, stored_ids, "one queued webhook per activity");
    checked += rows.len();

    // The API: each member's score and every board equal the sums of the activities.
    let client = reqwest::Client::new();
    let base = &server.base_url;
    let admin = &fx.org.admin_token;
    let sum = |members: &dyn Fn(Uuid) -> bool, from: chrono::NaiveDate, to: chrono::NaiveDate| -> (i64, i64) {
        rows.iter()
            .filter(|r| r.voided_at.is_none() && members(r.member_id) && r.local_date >= from && r.local_date < to)
            .fold((0, 0), |(p, n), r| (p + r.points_cents, n + 1))
    };
    let date = |v: &Value| v.as_str().expect("date").parse::<chrono::NaiveDate>().expect("date");
    for logger in &fx.loggers {
        let body = post(&client, base, admin, SCORE, json!({"m": gid("Member", logger.id)})).await.expect("score");
        let score = data(body)["score"].clone();
        let (points, count) =
            sum(&|m| m == logger.id, date(&score["period"]["startDate"]), date(&score["period"]["endDate"]));
        assert_eq!((cents(&score["points"]), score["activityCount"].as_i64().expect("count")), (points, count));
        checked += 2;
    }
    for grain in ["WEEK", "MONTH"] {
        let body = post(&client, base, admin, BOARD, json!({"i": {"period": {"grain": grain}, "first": 200}}))
            .await
            .expect("board");
        let board = data(body)["leaderboard"].clone();
        let (from, to) = (date(&board["period"]["startDate"]), date(&board["period"]["endDate"]));
        let entries = board["entries"].as_array().expect("entries");
        assert_eq!(entries.len() as i64, board["totalEntries"].as_i64().expect("total"), "all on one page");
        let mut ranked = HashSet::new();
        for e in entries {
            let member = uuid_of(e["member"]["id"].as_str().expect("member"));
            assert_eq!(cents(&e["points"]), sum(&|m| m == member, from, to).0, "{grain} board, member {member}");
            ranked.insert(member);
            checked += 1;
        }
        assert!(fx.loggers.iter().all(|l| ranked.contains(&l.id)), "every logger is on the {grain} board");
    }
    let tree = org_store::team_tree(org, db).await.expect("teams");
    let members = entity::member::Entity::find()
        .filter(entity::member::Column::OrganizationId.eq(org.0))
        .filter(entity::member::Column::Active.eq(true))
        .all(db)
        .await
        .expect("members");
    let body = post(
        &client,
        base,
        admin,
        BOARD,
        json!({"i": {"period": {"grain": "WEEK"}, "subject": "TEAMS", "first": 200}}),
    )
    .await
    .expect("team board");
    let board = data(body)["leaderboard"].clone();
    let (from, to) = (date(&board["period"]["startDate"]), date(&board["period"]["endDate"]));
    for e in board["entries"].as_array().expect("entries") {
        let team = uuid_of(e["team"]["id"].as_str().expect("team"));
        let subtree = tree.subtree([team]);
        let in_team: HashSet<Uuid> =
            members.iter().filter(|m| m.team_id.is_some_and(|t| subtree.contains(&t))).map(|m| m.id).collect();
        assert_eq!(cents(&e["points"]), sum(&|m| in_team.contains(&m), from, to).0, "team board, team {team}");
        checked += 1;
    }
    // And the acknowledged points add up to the organization's total.
    let acked_total: i64 = acked.iter().filter(|(k, _)| !voided.contains(*k)).map(|(_, (_, p, _, _))| p).sum();
    assert_eq!(acked_total, sum(&|_| true, chrono::NaiveDate::MIN, chrono::NaiveDate::MAX).0);
    checked + 1
}

// ---------------------------------------------------------------- payout runs

/// Whether a write transaction is open on the database right now (the payout run's).
async fn writer_active(app: &TestApp) -> bool {
    match app.backend {
        Backend::Postgres => {
            let row = app
                .state
                .db
                .query_one_raw(sea_orm::Statement::from_string(
                    sea_orm::DbBackend::Postgres,
                    "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() \
                     AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()",
                ))
                .await
                .expect("pg_stat_activity")
                .expect("row");
            row.try_get::<i64>("", "n").expect("n") > 0
        }
        Backend::Sqlite => {
            // The run begins IMMEDIATE: it holds the write lock from its first statement. A
            // probe that cannot take the lock at once finds it held.
            use sea_orm::sqlx::{ConnectOptions as _, Connection as _, Executor as _};
            let url = &app.state.config.database_url;
            let options: sea_orm::sqlx::sqlite::SqliteConnectOptions = url.parse().expect("SQLite URL");
            let mut conn = options.busy_timeout(Duration::ZERO).connect().await.expect("probe connection");
            let held = match conn.execute("BEGIN IMMEDIATE").await {
                Ok(_) => {
                    conn.execute("ROLLBACK").await.expect("rollback");
                    false
                }
                Err(_) => true,
            };
            let _ = conn.close().await;
            held
        }
    }
}

struct PayoutFixture {
    org: Org,
    members: Vec<Uuid>,
}

async fn seed_payouts(app: &TestApp) -> PayoutFixture {
    let org = app.seed_org("paycrash").await;
    let admin = &org.admin_token;
    for (name, kind) in [("Lead", "OPEN"), ("Won", "WON"), ("Lost", "LOST")] {
        app.ok(
            admin,
            "mutation($i: CreateStageInput!) { createStage(input: $i) { stage { id } } }",
            json!({"i": {"name": name, "kind": kind}}),
        )
        .await;
    }
    let plan = app
        .ok(
            admin,
            "mutation($i: CreateIncentivePlanInput!) { createIncentivePlan(input: $i) { plan { id } userErrors { message } } }",
            json!({"i": {"name": "Crash plan", "components": [
                {"kind": "COMMISSION", "name": "Commission", "baseRate": "2", "tiers": [
                    {"fromAttainment": "0", "rate": "2", "mode": "MARGINAL"},
                    {"fromAttainment": "50", "rate": "5", "mode": "MARGINAL"},
                    {"fromAttainment": "100", "rate": "8", "mode": "MARGINAL"}
                ]}
            ]}}),
        )
        .await;
    let plan = uuid_of(plan["createIncentivePlan"]["plan"]["id"].as_str().expect("plan"));
    let db = &app.state.db;
    let won = scorebord::pipeline::store::stages(org.id, db)
        .await
        .expect("stages")
        .into_iter()
        .find(|s| s.kind == "WON")
        .expect("won stage");
    let today = Utc::now().with_timezone(&chrono_tz::Europe::Amsterdam).date_naive();
    let since = today - chrono::Duration::days(400);
    let mut rng = StdRng::seed_from_u64(7);
    let mut members = Vec::new();
    for i in 0..PAYOUT_MEMBERS {
        let m = org_store::create_member(org.id, db, new_member(&org, format!("Closer {i:03}"), &org.outbound))
            .await
            .expect("member");
        scorebord::incentive::store::create_assignment(org.id, db, plan, m.id, since, None).await.expect("assignment");
        app.ok(
            admin,
            "mutation($i: SetQuotaInput!) { setQuota(input: $i) { userErrors { message } } }",
            json!({"i": {"subjectId": gid("Member", m.id), "metric": "REVENUE", "grain": "QUARTER", "period": today, "amount": "100000"}}),
        )
        .await;
        for d in 0..DEALS_PER_MEMBER {
            let fields = scorebord::pipeline::store::DealFields {
                name: Some(format!("Deal {i}-{d}")),
                owner_id: Some(m.id),
                amount_cents: Some(rng.random_range(500_000..6_000_000)),
                ..Default::default()
            };
            scorebord::pipeline::store::create_deal(
                org.id,
                db,
                fields,
                &won,
                (100, false),
                (scorebord::pipeline::model::ForecastCategory::Closed, false),
            )
            .await
            .expect("deal");
        }
        members.push(m.id);
    }
    entity::deal::Entity::update_many()
        .col_expr(entity::deal::Column::Outcome, sea_orm::sea_query::Expr::value("WON"))
        .col_expr(entity::deal::Column::ClosedAt, sea_orm::sea_query::Expr::value(Utc::now()))
        .filter(entity::deal::Column::OrganizationId.eq(org.id.0))
        .exec(db)
        .await
        .expect("win the deals");
    PayoutFixture { org, members }
}

/// Every member on the plan has versions 1..=`runs` of the period's statement, exactly one of
/// them current (the last), each with lines that sum to its total, all versions with the same
/// total (nothing changed between runs); and one audit entry per committed run. Returns the
/// number of values compared.
async fn check_statements(app: &TestApp, fx: &PayoutFixture, runs: usize) -> usize {
    use entity::{audit_entry, statement, statement_line};
    let db = &app.state.db;
    let org = fx.org.id.0;
    let statements =
        statement::Entity::find().filter(statement::Column::OrganizationId.eq(org)).all(db).await.expect("statements");
    let lines = statement_line::Entity::find()
        .filter(statement_line::Column::OrganizationId.eq(org))
        .all(db)
        .await
        .expect("lines");
    let mut lines_of: HashMap<Uuid, Vec<&statement_line::Model>> = HashMap::new();
    for l in &lines {
        lines_of.entry(l.statement_id).or_default().push(l);
    }
    assert_eq!(statements.len(), fx.members.len() * runs, "statements after {runs} committed runs");
    let mut checked = 0;
    let mut per_member: HashMap<Uuid, Vec<&statement::Model>> = HashMap::new();
    for s in &statements {
        per_member.entry(s.member_id).or_default().push(s);
        let mine = lines_of.remove(&s.id).unwrap_or_default();
        assert!(!mine.is_empty(), "statement {} has no lines", s.id);
        let mut positions: Vec<i32> = mine.iter().map(|l| l.position).collect();
        positions.sort_unstable();
        assert_eq!(positions, (1..=mine.len() as i32).collect::<Vec<_>>(), "statement {} lines", s.id);
        assert_eq!(mine.iter().map(|l| l.amount_cents).sum::<i64>(), s.total_cents, "statement {} lines sum", s.id);
        checked += 2 + mine.len();
    }
    assert!(lines_of.is_empty(), "lines without a statement: {}", lines_of.len());
    for m in &fx.members {
        let mut versions = per_member.remove(m).unwrap_or_default();
        versions.sort_by_key(|s| s.version);
        let numbers: Vec<i32> = versions.iter().map(|s| s.version).collect();
        assert_eq!(numbers, (1..=runs as i32).collect::<Vec<_>>(), "member {m}: one statement per run");
        let current: Vec<i32> = versions.iter().filter(|s| s.current).map(|s| s.version).collect();
        assert_eq!(current, vec![runs as i32], "member {m}: exactly the last version is current");
        assert!(versions.windows(2).all(|w| w[0].total_cents == w[1].total_cents), "member {m}: totals moved");
        assert!(versions.iter().all(|s| s.status == "DRAFT"));
        checked += 3;
    }
    assert!(per_member.is_empty(), "statements of members not on the plan");
    let audited = audit_entry::Entity::find()
        .filter(audit_entry::Column::OrganizationId.eq(org))
        .filter(audit_entry::Column::Action.eq("payouts.run"))
        .all(db)
        .await
        .expect("audit");
    assert_eq!(audited.len(), runs, "one audit entry per committed run");
    checked + 1
}

async fn run_payouts(client: &reqwest::Client, base: &str, token: &str) -> Result<Value, String> {
    let today = Utc::now().with_timezone(&chrono_tz::Europe::Amsterdam).date_naive();
    let body = post(client, base, token, RUN, json!({"i": {"period": {"grain": "QUARTER", "date": today}}})).await?;
    Ok(data(body)["runPayouts"].clone())
}

async fn payout_runs_survive_kill_9(app: &TestApp) {
    let started = Instant::now();
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let fx = seed_payouts(app).await;
    let seeded = started.elapsed();
    let logs = tempfile::tempdir().expect("log dir");
    let url = app.state.config.database_url.clone();
    let token = fx.org.admin_token.clone();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(120)).build().expect("client");

    // A whole run first, to know how long one takes.
    let server = ServerProcess::start(&url, &logs.path().join("server-0.log"), &[]).await;
    let t0 = Instant::now();
    let first = run_payouts(&client, &server.base_url, &token).await.expect("first run");
    let run_time = t0.elapsed();
    assert_eq!(first["statements"].as_array().expect("statements").len(), fx.members.len());
    let mut committed = 1;
    let mut checked = check_statements(app, &fx, committed).await;
    let mut server = Some(server);
    let mut killed_mid_write = 0;
    let mut committed_unanswered = 0;
    for crash in 0..PAYOUT_CRASHES {
        let running = server.take().expect("server");
        let base = running.base_url.clone();
        let (c, t) = (client.clone(), token.clone());
        let run = tokio::spawn(async move { run_payouts(&c, &base, &t).await });
        // Wait until the run is writing, then a random part of its expected length.
        let deadline = Instant::now() + run_time * 3 + Duration::from_secs(5);
        while !writer_active(app).await {
            assert!(Instant::now() < deadline, "the payout run never started writing");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(run_time.mul_f64(rng.random_range(0.05..0.5))).await;
        let mid_write = writer_active(app).await;
        running.kill9().await;
        let answer = run.await.expect("run task");
        let restarted = ServerProcess::start(&url, &logs.path().join(format!("server-{}.log", crash + 1)), &[]).await;
        // All or nothing: either every member got the new version or none did.
        let statements = entity::statement::Entity::find()
            .filter(entity::statement::Column::OrganizationId.eq(fx.org.id.0))
            .all(&app.state.db)
            .await
            .expect("statements")
            .len();
        match statements / fx.members.len() {
            n if n == committed => killed_mid_write += usize::from(mid_write),
            n if n == committed + 1 => {
                committed += 1;
                if answer.is_err() {
                    committed_unanswered += 1;
                }
            }
            _ => panic!(
                "{statements} statements for {} members after {committed} runs: a run was half-written",
                fx.members.len()
            ),
        }
        checked += check_statements(app, &fx, committed).await;
        // The client retries the run it got no answer to.
        if answer.is_err() {
            let again = run_payouts(&client, &restarted.base_url, &token).await.expect("retried run");
            assert_eq!(again["statements"].as_array().expect("statements").len(), fx.members.len());
            committed += 1;
            checked += check_statements(app, &fx, committed).await;
        }
        server = Some(restarted);
    }
    let server = server.expect("server");
    // The API agrees with the rows for a sample of members.
    for m in fx.members.iter().take(5) {
        let rows = entity::statement::Entity::find()
            .filter(entity::statement::Column::OrganizationId.eq(fx.org.id.0))
            .filter(entity::statement::Column::MemberId.eq(*m))
            .filter(entity::statement::Column::Current.eq(true))
            .all(&app.state.db)
            .await
            .expect("statement");
        assert_eq!(rows.len(), 1);
        let body = post(&client, &server.base_url, &token, STATEMENT, json!({"id": gid("Statement", rows[0].id)}))
            .await
            .expect("statement");
        let s = data(body)["statement"].clone();
        let total: rust_decimal::Decimal = s["total"]["amount"].as_str().expect("total").parse().expect("decimal");
        let lines: rust_decimal::Decimal = s["lines"]
            .as_array()
            .expect("lines")
            .iter()
            .map(|l| l["amount"]["amount"].as_str().expect("amount").parse::<rust_decimal::Decimal>().expect("decimal"))
            .sum();
        assert_eq!((s["version"].as_i64(), s["current"].as_bool(), total), (Some(committed as i64), Some(true), lines));
        assert_eq!(total, rust_decimal::Decimal::new(rows[0].total_cents, 2));
        checked += 3;
    }
    eprintln!(
        "payout crash safety ({:?}): {} members × {DEALS_PER_MEMBER} won deals, a run takes {run_time:?}; \
         {PAYOUT_CRASHES} kill -9 during a run ({killed_mid_write} with its transaction open and rolled back, \
         {committed_unanswered} committed before the kill landed); {committed} runs committed, each whole; \
         {checked} values compared; seeding {seeded:?}, {:.1} s in all",
        app.backend,
        fx.members.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(killed_mid_write >= 1, "no kill landed inside a run's transaction: seed more members");
    server.kill9().await;
}
