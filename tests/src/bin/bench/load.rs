//! The server as a separate process, closed-loop HTTP load, pgbench, and the statistics.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::Serialize;
use serde_json::Value;
use tokio::process::{Child, Command};

/// A `scorebord serve` process.
pub struct Server {
    child: Child,
    /// `127.0.0.1:port`.
    pub addr: String,
    /// How long from spawn to the first ready `/readyz`.
    pub ready_after: Duration,
}

/// The server binary: `SCOREBORD_BIN`, or `scorebord` beside this binary.
pub fn server_binary() -> anyhow::Result<PathBuf> {
    if let Ok(p) = std::env::var("SCOREBORD_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe()?;
    let path = exe.with_file_name("scorebord");
    if !path.exists() {
        bail!(
            "{} not found: build it first (`cargo build --release -p scorebord -p scorebord-tests --bins`) or set SCOREBORD_BIN",
            path.display()
        );
    }
    Ok(path)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Server {
    /// Starts the server on `database_url` and waits until `/readyz` answers 200.
    pub async fn start(database_url: &str, secret: &str) -> anyhow::Result<Server> {
        let addr = format!("127.0.0.1:{}", free_port()?);
        let started = Instant::now();
        let mut child = Command::new(server_binary()?)
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("BIND", &addr)
            .env("JWT_SECRET", secret)
            .env("RUST_LOG", "warn")
            .env("RATE_LIMIT_POINTS", "1000000000")
            .env("RATE_LIMIT_RESTORE_PER_SECOND", "1000000000")
            .env("DATABASE_MAX_CONNECTIONS", "32")
            // Every request executes: the ratios measure the server's work on each request,
            // not the replay of an answer stored for the same caller and body.
            .env("RESPONSE_CACHE_SECONDS", "0")
            // Every simulated client connects from 127.0.0.1: lift the per-address cap (the
            // total cap still follows the open-file limit `raise_fd_limit` set).
            .env("MAX_CONNECTIONS_PER_ADDRESS", "1000000")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("starting the server")?;
        let client = reqwest::Client::new();
        let url = format!("http://{addr}/readyz");
        loop {
            if let Some(status) = child.try_wait()? {
                bail!("the server exited at start: {status}");
            }
            if client.get(&url).send().await.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            if started.elapsed() > Duration::from_secs(120) {
                bail!("the server did not get ready within 2 minutes");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(Server { ready_after: started.elapsed(), child, addr })
    }

    /// Resident memory now, in MiB.
    pub fn rss_mib(&self) -> f64 {
        self.child.id().map_or(0.0, rss_mib)
    }

    /// Stops the process.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Resident memory of a process, in MiB (Linux `/proc`).
pub fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Latency percentiles and throughput of one load run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    pub requests: u64,
    pub errors: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

/// The p-th percentile (0..=100) of sorted samples, in milliseconds.
pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// Stats from latencies collected over `elapsed`.
pub fn stats(mut samples: Vec<Duration>, errors: u64, elapsed: Duration, first_error: Option<String>) -> Stats {
    samples.sort_unstable();
    Stats {
        requests: samples.len() as u64,
        errors,
        per_second: samples.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile(&samples, 50.0),
        p99_ms: percentile(&samples, 99.0),
        max_ms: samples.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        first_error,
    }
}

/// One GraphQL request: the token and the JSON body.
pub type Request = (String, Value);

/// Runs `clients` closed loops for `duration`, each sending `next(client, i)`; a response
/// counts when it is HTTP 200 without `errors` and `check` accepts its `data`.
pub async fn closed_loop(
    addr: &str,
    clients: usize,
    duration: Duration,
    next: impl Fn(usize, u64) -> Request + Send + Sync + 'static,
    check: impl Fn(&Value) -> Result<(), String> + Send + Sync + 'static,
) -> Stats {
    let http = reqwest::Client::builder().pool_max_idle_per_host(clients).build().expect("HTTP client");
    let url = format!("http://{addr}/graphql");
    let next = Arc::new(next);
    let check = Arc::new(check);
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (http, url, next, check, stop) = (http.clone(), url.clone(), next.clone(), check.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut errors = 0u64;
            let mut first_error = None;
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let (token, body) = next(c, i);
                i += 1;
                let sent = Instant::now();
                let outcome = match http.post(&url).bearer_auth(token).json(&body).send().await {
                    Ok(r) if r.status().is_success() => match r.json::<Value>().await {
                        Ok(v) if v.get("errors").is_some() => Err(v["errors"].to_string()),
                        Ok(v) => check(&v["data"]),
                        Err(e) => Err(e.to_string()),
                    },
                    Ok(r) => Err(format!("HTTP {}", r.status())),
                    Err(e) => Err(e.to_string()),
                };
                match outcome {
                    Ok(()) => samples.push(sent.elapsed()),
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert(e);
                    }
                }
            }
            (samples, errors, first_error)
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for t in tasks {
        if let Ok((s, e, f)) = t.await {
            all.extend(s);
            errors += e;
            if first_error.is_none() {
                first_error = f;
            }
        }
    }
    stats(all, errors, started.elapsed(), first_error)
}

/// One GraphQL request outside a measurement (seeding, introspection): the `data` of an
/// answer without `errors`, else an error naming the first one.
pub async fn graphql(http: &reqwest::Client, addr: &str, token: &str, body: &Value) -> anyhow::Result<Value> {
    let response = http.post(format!("http://{addr}/graphql")).bearer_auth(token).json(body).send().await?;
    let status = response.status();
    let v: Value = response.json().await.with_context(|| format!("HTTP {status}: not JSON"))?;
    if let Some(e) = v.get("errors").and_then(|e| e.as_array()).and_then(|e| e.first()) {
        bail!("GraphQL error: {e}");
    }
    if !status.is_success() {
        bail!("HTTP {status}: {v}");
    }
    Ok(v["data"].clone())
}

/// The table pgbench inserts into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PgbenchTable {
    /// A copy of `activities` as the server writes it: the same columns, indexes and foreign
    /// keys, filled with a copy of its rows (so every index is as deep and as little cached),
    /// ids ordered by time like the server's UUIDv7 and the rows spread over the same members.
    /// The ceiling the write target is measured against.
    Comparable,
    /// An empty copy with the same columns and indexes, no foreign keys, random ids: the
    /// figure this harness compared against before (reported, no target).
    Empty,
}

/// pgbench at `clients` connections for `seconds`, one INSERT per transaction into a copy of
/// the `activities` table ([`PgbenchTable`]), each transaction for one of `members` in turn
/// at random; returns its TPS. Runs a CHECKPOINT once the table is ready, so pgbench starts
/// from the same state as the measurement it is compared with.
pub async fn pgbench(
    database_url: &str,
    org: uuid::Uuid,
    members: &[uuid::Uuid],
    kind: uuid::Uuid,
    clients: usize,
    seconds: u64,
    table: PgbenchTable,
) -> anyhow::Result<f64> {
    let url = url::Url::parse(database_url)?;
    let db = url.path().trim_start_matches('/').to_owned();
    let host = url.host_str().unwrap_or("127.0.0.1").to_owned();
    let port = url.port().unwrap_or(5432).to_string();
    let user = if url.username().is_empty() { "postgres".to_owned() } else { url.username().to_owned() };
    let psql = |sql: String| {
        let (host, port, user, db) = (host.clone(), port.clone(), user.clone(), db.clone());
        async move {
            let out = Command::new("psql")
                .args(["-h", &host, "-p", &port, "-U", &user, "-d", &db, "-v", "ON_ERROR_STOP=1", "-qc", &sql])
                .output()
                .await
                .context("running psql")?;
            if !out.status.success() {
                bail!("psql failed: {}", String::from_utf8_lossy(&out.stderr));
            }
            anyhow::Ok(())
        }
    };
    psql(
        "DROP TABLE IF EXISTS bench_pgbench_activities; \
         CREATE TABLE bench_pgbench_activities (LIKE activities INCLUDING ALL)"
            .into(),
    )
    .await?;
    let (member, id) = match table {
        PgbenchTable::Comparable => {
            // LIKE copies columns, defaults, checks and indexes but not foreign keys: those
            // are copied from the catalog, so each insert checks the same three references
            // (organization, member, activity type) that a logged activity does.
            psql(
                "INSERT INTO bench_pgbench_activities SELECT * FROM activities; \
                 DO $$ DECLARE r record; BEGIN \
                   FOR r IN SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint \
                            WHERE conrelid = 'activities'::regclass AND contype = 'f' LOOP \
                     EXECUTE 'ALTER TABLE bench_pgbench_activities ADD ' || r.def; \
                   END LOOP; END $$"
                    .into(),
            )
            .await?;
            psql("VACUUM ANALYZE bench_pgbench_activities".into()).await?;
            let list = members.iter().map(|m| format!("'{m}'")).collect::<Vec<_>>().join(",");
            (
                format!("(ARRAY[{list}]::uuid[])[:m]"),
                // 48 bits of milliseconds first, as in UUIDv7 (PostgreSQL 15 has no uuidv7()).
                "(lpad(to_hex(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') \
                 || '7' || substr(md5(random()::text), 1, 19))::uuid"
                    .to_owned(),
            )
        }
        PgbenchTable::Empty => (format!("'{}'::uuid", members[0]), "gen_random_uuid()".to_owned()),
    };
    psql("CHECKPOINT".into()).await?;
    let script = format!(
        "\\set m random(1, {n})\n\
         INSERT INTO bench_pgbench_activities (id, organization_id, member_id, activity_type_id, quantity, \
         base_points_cents, multiplier_cents, points_cents, occurred_at, local_date, source, logged_by, \
         idempotency_key, created_at) VALUES ({id}, '{org}', {member}, '{kind}', 1, 100, 100, 100, \
         now(), current_date, 'SELF', {member}, md5(random()::text), now());\n",
        n = members.len()
    );
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("insert.sql");
    std::fs::write(&file, script)?;
    let out = Command::new("pgbench")
        .args([
            "-n",
            "-h",
            &host,
            "-p",
            &port,
            "-U",
            &user,
            "-c",
            &clients.to_string(),
            "-j",
            "2",
            "-T",
            &seconds.to_string(),
            "-f",
        ])
        .arg(&file)
        .arg(&db)
        .output()
        .await
        .context("running pgbench (Debian package postgresql-client)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("pgbench failed: {}{}", text, String::from_utf8_lossy(&out.stderr));
    }
    psql("DROP TABLE bench_pgbench_activities".into()).await?;
    text.lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.split_whitespace().nth(2).and_then(|n| n.parse::<f64>().ok()))
        .with_context(|| format!("no tps in pgbench output: {text}"))
}

/// The value of a counter or gauge on the server's `/metrics` (0 when absent).
pub async fn metric(addr: &str, name: &str) -> f64 {
    let Ok(response) = reqwest::get(format!("http://{addr}/metrics")).await else { return 0.0 };
    let Ok(text) = response.text().await else { return 0.0 };
    text.lines()
        .filter(|l| l.split([' ', '{']).next() == Some(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
