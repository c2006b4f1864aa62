//! Recovery of live state, PostgreSQL only: leaderboard subscribers are
//! connected to instance B while activities are logged through instance A. Then every database
//! connection of both instances is killed (the LISTEN connections, the NOTIFY publishers and
//! every pooled connection, as a PostgreSQL restart would), and in a second test a private
//! PostgreSQL cluster really is stopped with `-m immediate` and started again. Activities are
//! logged while B cannot hear them; afterwards B must be listening again, have rebuilt its hot
//! rankings, answer `/readyz`, and every subscriber's last board must equal the board read over
//! HTTP, which must equal the sums of the activities in the database.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use scorebord::core::roles::{Role, SalesRole};
use scorebord::events::Event;
use scorebord::org::store::{self as org_store, NewMember};
use scorebord_tests::{Org, TestApp, Ws, WsEvent, postgres_configured};
use sea_orm::{ColumnTrait, ConnectionTrait as _, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

const FIELDS: &str = "totalEntries entries { rank points member { id } team { id } }";

/// How long a subscriber must stay quiet before its last board is taken as final.
const QUIET: Duration = Duration::from_millis(1200);
/// How long recovery may take in all (the listener's reconnect backoff included).
const RECOVERY_BUDGET: Duration = Duration::from_secs(25);

fn uuid_of(global_id: &str) -> Uuid {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(global_id).expect("global ID");
    let text = String::from_utf8(bytes).expect("UTF-8");
    Uuid::parse_str(text.split_once(':').expect("kind:uuid").1).expect("UUID")
}

/// One leaderboard subscription and the last board it received (`None` after an error).
struct Subscriber {
    ws: Ws,
    token: String,
    input: Value,
    last: Option<Value>,
    boards: usize,
    errors: usize,
}

struct Fixture {
    org: Org,
    /// Activity type ID.
    call: String,
    /// Tokens of reps who log for themselves.
    reps: Vec<String>,
}

async fn seed(app: &TestApp) -> Fixture {
    let org = app.seed_org("live").await;
    let created = app
        .ok(
            &org.admin_token,
            "mutation { createActivityType(input: {name: \"Call\", category: ACTION, unit: COUNT, points: 2}) { activityType { id } } }",
            json!({}),
        )
        .await;
    let call = created["createActivityType"]["activityType"]["id"].as_str().expect("type").to_owned();
    let mut reps = vec![org.rep_token.clone(), org.inbound_rep_token.clone()];
    for i in 0..6 {
        let team = if i % 2 == 0 { &org.inbound } else { &org.outbound };
        let m = org_store::create_member(
            org.id,
            &app.state.db,
            NewMember {
                name: format!("Live Rep {i}"),
                email: format!("live.rep.{i}@live.test"),
                role: Role::Rep,
                sales_role: SalesRole::Inbound,
                team_id: Some(uuid_of(team)),
                start_date: chrono::Utc::now().date_naive(),
                password_hash: None,
                avatar_url: None,
            },
        )
        .await
        .expect("member");
        reps.push(app.token_for(org.id, m.id));
    }
    Fixture { org, call, reps }
}

async fn subscribe(app: &TestApp, token: &str, input: Value) -> Subscriber {
    let mut ws = app.ws("graphql-transport-ws").await;
    ws.send(json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}})).await;
    assert_eq!(ws.next_json().await["type"], "connection_ack");
    let query = format!("subscription($i: LeaderboardInput!) {{ leaderboardChanged(input: $i) {{ {FIELDS} }} }}");
    ws.send(json!({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": {"i": input}}})).await;
    Subscriber { ws, token: token.to_owned(), input, last: None, boards: 0, errors: 0 }
}

/// The boards every test watches on instance B.
async fn subscribers(b: &TestApp, fx: &Fixture) -> Vec<Subscriber> {
    let org = &fx.org;
    vec![
        subscribe(b, &org.admin_token, json!({"period": {"grain": "WEEK"}, "first": 200})).await,
        subscribe(b, &org.viewer_token, json!({"period": {"grain": "MONTH"}, "first": 200})).await,
        subscribe(b, &org.rep_token, json!({"period": {"grain": "WEEK"}, "teamId": org.outbound})).await,
        subscribe(b, &org.admin_token, json!({"period": {"grain": "WEEK"}, "subject": "TEAMS"})).await,
        subscribe(b, &org.manager_token, json!({"period": {"grain": "WEEK"}, "metric": "TARGET_PERCENT"})).await,
    ]
}

async fn board(app: &TestApp, token: &str, input: &Value) -> Value {
    let query = format!("query($i: LeaderboardInput!) {{ leaderboard(input: $i) {{ {FIELDS} }} }}");
    app.ok(token, &query, json!({"i": input})).await["leaderboard"].clone()
}

/// Reads each subscriber until it is quiet and its last board equals the board `app` answers
/// over HTTP; panics when that does not happen within the budget. Returns the messages read.
async fn settle(subs: &mut [Subscriber], app: &TestApp, what: &str) -> usize {
    let deadline = Instant::now() + RECOVERY_BUDGET;
    let mut read = 0;
    for (n, sub) in subs.iter_mut().enumerate() {
        loop {
            match sub.ws.next_within(QUIET).await {
                Some(WsEvent::Json(msg)) => {
                    assert_eq!(msg["type"], "next", "subscriber {n} ({what}): {msg}");
                    read += 1;
                    if msg["payload"].get("errors").is_some() {
                        sub.errors += 1;
                        sub.last = None;
                    } else {
                        sub.boards += 1;
                        sub.last = Some(msg["payload"]["data"]["leaderboardChanged"].clone());
                    }
                }
                Some(WsEvent::Closed(code, reason)) => panic!("subscriber {n} ({what}) was closed: {code} {reason}"),
                None => {
                    let http = board(app, &sub.token, &sub.input).await;
                    if sub.last.as_ref() == Some(&http) {
                        break;
                    }
                    assert!(
                        Instant::now() < deadline,
                        "subscriber {n} ({what}, {}) is stuck at {:?} while HTTP answers {http}",
                        sub.input,
                        sub.last
                    );
                }
            }
        }
    }
    read
}

/// The organization-wide week board over HTTP must equal the sums of the activities.
async fn assert_board_is_the_truth(app: &TestApp, fx: &Fixture) {
    let q = "query { leaderboard(input: {period: {grain: WEEK}, first: 200}) { period { startDate endDate } entries { points member { id } } } }";
    let answer = app.ok(&fx.org.admin_token, q, json!({})).await["leaderboard"].clone();
    let date = |v: &Value| v.as_str().expect("date").parse::<chrono::NaiveDate>().expect("date");
    let (from, to) = (date(&answer["period"]["startDate"]), date(&answer["period"]["endDate"]));
    let rows = entity::activity::Entity::find()
        .filter(entity::activity::Column::OrganizationId.eq(fx.org.id.0))
        .all(&app.state.db)
        .await
        .expect("activities");
    let mut sums: HashMap<Uuid, i64> = HashMap::new();
    for r in rows.iter().filter(|r| r.voided_at.is_none() && r.local_date >= from && r.local_date < to) {
        *sums.entry(r.member_id).or_default() += r.points_cents;
    }
    for e in answer["entries"].as_array().expect("entries") {
        let member = uuid_of(e["member"]["id"].as_str().expect("member"));
        let points = (e["points"].as_f64().expect("points") * 100.0).round() as i64;
        assert_eq!(points, sums.get(&member).copied().unwrap_or(0), "member {member} on the hot board");
    }
}

/// Logs an activity for a rep, retrying while the database is still coming back; returns
/// how many attempts failed.
async fn log(app: &TestApp, fx: &Fixture, rep: usize, key: &str) -> usize {
    let mutation = "mutation($i: LogActivityInput!) { logActivity(input: $i) { activity { id } userErrors { code } } }";
    let input = json!({"i": {"activityTypeId": fx.call, "quantity": 1 + rep % 3, "idempotencyKey": key}});
    let deadline = Instant::now() + RECOVERY_BUDGET;
    let mut failed = 0;
    loop {
        let body = app.gql(Some(&fx.reps[rep % fx.reps.len()]), mutation, input.clone()).await;
        if body.get("errors").is_none() && body["data"]["logActivity"]["activity"]["id"].is_string() {
            return failed;
        }
        failed += 1;
        assert!(Instant::now() < deadline, "logging still fails after the database came back: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn log_many(app: &TestApp, fx: &Fixture, prefix: &str, n: usize) -> usize {
    let mut failed = 0;
    for i in 0..n {
        failed += log(app, fx, i, &format!("{prefix}-{i}")).await;
    }
    failed
}

async fn ready(app: &TestApp) -> bool {
    app.client.get(format!("{}/readyz", app.base_url)).send().await.is_ok_and(|r| r.status().is_success())
}

/// Kills every other connection to the app's database; returns how many.
async fn terminate_all_connections(app: &TestApp) -> usize {
    app.state
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        ))
        .await
        .expect("terminate")
        .len()
}

async fn listening_connections(app: &TestApp) -> usize {
    app.state
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'scorebord-listen'",
        ))
        .await
        .expect("pg_stat_activity")
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaderboards_recover_when_every_database_connection_is_killed() {
    if !postgres_configured() {
        eprintln!("TEST_POSTGRES_URL is not set: the live-state recovery test did not run (it needs PostgreSQL)");
        return;
    }
    let started = Instant::now();
    let a = TestApp::spawn(scorebord_tests::Backend::Postgres).await;
    let b = a.second_instance().await;
    let fx = seed(&a).await;
    let mut subs = subscribers(&b, &fx).await;
    log_many(&a, &fx, "before", 8).await;
    let mut messages = settle(&mut subs, &b, "before the kill").await;
    assert_board_is_the_truth(&b, &fx).await;

    let mut killed = 0;
    let rounds = 3;
    for round in 0..rounds {
        killed += terminate_all_connections(&a).await;
        // Logged through A at once: B's listener is still reconnecting and misses these.
        let failed = log_many(&a, &fx, &format!("during-{round}"), 6).await;
        assert_eq!(failed, 0, "a pool whose connections were killed must open new ones without failing a request");
        // And through B itself.
        log_many(&b, &fx, &format!("on-b-{round}"), 2).await;
        messages += settle(&mut subs, &b, &format!("after kill {round}")).await;
        assert_board_is_the_truth(&b, &fx).await;
        assert_board_is_the_truth(&a, &fx).await;
        assert!(ready(&b).await && ready(&a).await, "/readyz after the kill");
    }
    assert_eq!(listening_connections(&a).await, 2, "both instances listen again");
    // Changes through A reach B's subscribers again without a resync.
    log_many(&a, &fx, "after", 3).await;
    messages += settle(&mut subs, &b, "after reconnecting").await;
    let boards: usize = subs.iter().map(|s| s.boards).sum();
    eprintln!(
        "live-state recovery (connections killed): {rounds} rounds, {killed} connections terminated, {} subscribers, \
         {messages} messages ({boards} boards) checked against HTTP and the activities; {:.1} s",
        subs.len(),
        started.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------- a real restart

/// A throwaway PostgreSQL cluster of our own (never the machine's), stopped and deleted on drop.
struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres_user: bool,
}

impl Cluster {
    fn bindir() -> Option<PathBuf> {
        let from_pg_config = Command::new("pg_config")
            .arg("--bindir")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
        let mut candidates: Vec<PathBuf> = from_pg_config.into_iter().collect();
        if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
            let mut versions: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path().join("bin")).collect();
            versions.sort();
            candidates.extend(versions.into_iter().rev());
        }
        candidates.into_iter().find(|d| d.join("initdb").exists() && d.join("pg_ctl").exists())
    }

    fn command(&self, tool: &str) -> Command {
        let path = self.bin.join(tool);
        if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn run(&self, tool: &str, args: &[&str]) -> Result<(), String> {
        let ran = scorebord_tests::process::run(
            {
                let mut c = self.command(tool);
                c.args(args);
                c
            },
            Duration::from_secs(60),
        );
        if ran.status.success() { Ok(()) } else { Err(format!("{tool} {args:?}: {}{}", ran.stdout, ran.stderr)) }
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// `initdb` and start, or why not.
    fn create() -> Result<Cluster, String> {
        let bin = Self::bindir().ok_or("initdb not found (no pg_config, nothing in /usr/lib/postgresql)")?;
        let root =
            Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        let dir = tempfile::Builder::new().prefix("scorebord-pg-").tempdir().map_err(|e| e.to_string())?;
        if root {
            // PostgreSQL refuses to run as root: the cluster belongs to the postgres user.
            let ok =
                Command::new("chown").args(["postgres:postgres"]).arg(dir.path()).status().is_ok_and(|s| s.success());
            if !ok {
                return Err("cannot hand the cluster directory to the postgres user".into());
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .map_err(|e| e.to_string())?
            .local_addr()
            .map_err(|e| e.to_string())?
            .port();
        let cluster = Cluster { dir, bin, port, as_postgres_user: root };
        let data = cluster.data();
        cluster
            .run("initdb", &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"])?;
        cluster.start()?;
        Ok(cluster)
    }

    fn start(&self) -> Result<(), String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("postgres.log").display().to_string();
        self.run("pg_ctl", &["-D", &self.data(), "-l", &log, "-o", &options, "-w", "-t", "30", "start"])
    }

    /// Stops like a crash: no checkpoint, every connection cut.
    fn stop_immediately(&self) -> Result<(), String> {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "immediate", "-w", "stop"])
    }

    fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(Path::new(self.dir.path()).join("postgres.log")).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.stop_immediately();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaderboards_recover_from_a_real_postgres_restart() {
    let cluster = match Cluster::create() {
        Ok(c) => c,
        Err(why) => {
            eprintln!("no private PostgreSQL cluster ({why}): the real-restart test did not run");
            return;
        }
    };
    let started = Instant::now();
    // Requests give up on the database after a second instead of 30: the outage below is
    // short, and feeds must fail during it.
    let a = TestApp::spawn_on_postgres(&cluster.admin_url(), |c| c.database_acquire_timeout_ms = 1_000).await;
    let b = a.second_instance().await;
    let fx = seed(&a).await;
    let mut subs = subscribers(&b, &fx).await;
    log_many(&a, &fx, "before", 8).await;
    let mut messages = settle(&mut subs, &b, "before the restart").await;

    let restarts = 2;
    let mut refused_while_down = 0;
    let mut failed_after = 0;
    let mut errors_while_down = 0;
    for round in 0..restarts {
        cluster.stop_immediately().unwrap_or_else(|e| panic!("{e}\n{}", cluster.log()));
        // A change committed just before the crash reaches B's board feeds while the database
        // is down: their recomputation fails, and subscribers are told so.
        b.state.events.publish(Event::MembersChanged { org: fx.org.id.0 });
        // While the database is down: writes fail cleanly, B is not ready.
        let body = a
            .gql(
                Some(&fx.reps[0]),
                "mutation($i: LogActivityInput!) { logActivity(input: $i) { activity { id } } }",
                json!({"i": {"activityTypeId": fx.call, "idempotencyKey": format!("down-{round}")}}),
            )
            .await;
        assert!(body.get("errors").is_some(), "a write with the database down: {body}");
        refused_while_down += 1;
        assert!(!ready(&b).await, "/readyz with the database down");
        let errors_before: usize = subs.iter().map(|s| s.errors).sum();
        for sub in subs.iter_mut() {
            match sub.ws.next_within(Duration::from_secs(5)).await {
                Some(WsEvent::Json(msg)) if msg["payload"].get("errors").is_some() => {
                    sub.errors += 1;
                    sub.last = None;
                }
                other => panic!("expected an error while the database is down, got {other:?}"),
            }
        }
        errors_while_down += subs.iter().map(|s| s.errors).sum::<usize>() - errors_before;
        cluster.start().unwrap_or_else(|e| panic!("{e}\n{}", cluster.log()));
        // Even rounds: logged through A as soon as the database is back, while B's listener is
        // still waiting out its backoff. Odd rounds: nothing changes, and the subscribers that
        // saw the error must get the unchanged board again.
        if round % 2 == 0 {
            failed_after += log_many(&a, &fx, &format!("after-restart-{round}"), 6).await;
        }
        messages += settle(&mut subs, &b, &format!("after restart {round}")).await;
        assert_board_is_the_truth(&b, &fx).await;
        let deadline = Instant::now() + RECOVERY_BUDGET;
        while !ready(&b).await {
            assert!(Instant::now() < deadline, "/readyz did not recover");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // Both instances listen again: a change through A reaches B's subscribers.
    let deadline = Instant::now() + RECOVERY_BUDGET;
    while listening_connections(&a).await < 2 {
        assert!(Instant::now() < deadline, "an instance did not LISTEN again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    log_many(&a, &fx, "final", 3).await;
    messages += settle(&mut subs, &b, "after the restarts").await;
    assert_board_is_the_truth(&b, &fx).await;
    eprintln!(
        "live-state recovery (real restarts): {restarts} immediate stops and starts of a private cluster, \
         {refused_while_down} writes refused while down, {failed_after} attempts failed while reconnecting, \
         {} subscribers, {messages} messages ({} boards) checked against HTTP and the activities, \
         {errors_while_down} feed errors while down; {:.1} s",
        subs.len(),
        subs.iter().map(|s| s.boards).sum::<usize>(),
        started.elapsed().as_secs_f64()
    );
    drop(subs);
    drop(b);
    drop(a);
}
