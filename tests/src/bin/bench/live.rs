//! Live fan-out: many graphql-transport-ws subscribers to their team's `leaderboardChanged`,
//! an open-loop stream of `logActivity` calls, and the delivery latency of every write to
//! every subscriber of its team, from the mutation's response to the first board that shows it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, watch};
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest};
use uuid::Uuid;

use crate::load::{Server, percentile};

/// The sales-room board's selection (names, team names, attainment), live for one team;
/// the delivery and staleness checks read `points` and `member.id` of it.
const SUBSCRIPTION: &str = "subscription($t: ID!) { leaderboardChanged(input: {period: {grain: WEEK}, teamId: $t, first: 50}) { entries { rank points attainmentPercent member { id name team { name } } } } }";
/// The same board read over HTTP after the writes, the truth each subscriber's last board
/// must match.
const BOARD: &str = "query($t: ID!) { leaderboard(input: {period: {grain: WEEK}, teamId: $t, first: 50}) { entries { rank points attainmentPercent member { id name team { name } } } } }";
const LOG: &str =
    "mutation($i: LogActivityInput!) { logActivity(input: $i) { score { points } userErrors { code message } } }";

/// A board as (member global id, points in hundredths), sorted.
type Board = Vec<(String, i64)>;

/// What one subscriber saw: for each member, the moments their points went up, and the last
/// board (kept as the message text, parsed only at the end).
#[derive(Default)]
struct Seen {
    rises: HashMap<String, Vec<(i64, Instant)>>,
    last: Option<tungstenite::Utf8Bytes>,
    messages: u64,
}

impl Seen {
    fn last_board(&self) -> Option<Board> {
        let text = self.last.as_ref()?;
        let msg: Incoming = serde_json::from_str(text).ok()?;
        Some(sorted(&msg.payload?.data?.board?))
    }
}

/// The parts of a server message the load generator reads, borrowed from the text: the
/// generator shares the two cores with the server, so it parses as little as it can.
#[derive(serde::Deserialize)]
struct Incoming<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    payload: Option<IncomingPayload<'a>>,
}

#[derive(serde::Deserialize)]
struct IncomingPayload<'a> {
    #[serde(borrow)]
    data: Option<IncomingData<'a>>,
}

#[derive(serde::Deserialize)]
struct IncomingData<'a> {
    #[serde(rename = "leaderboardChanged", alias = "leaderboard", borrow)]
    board: Option<IncomingBoard<'a>>,
}

#[derive(serde::Deserialize)]
struct IncomingBoard<'a> {
    #[serde(borrow)]
    entries: Vec<IncomingEntry<'a>>,
}

#[derive(serde::Deserialize)]
struct IncomingEntry<'a> {
    points: f64,
    #[serde(borrow)]
    member: Option<IncomingMember<'a>>,
}

#[derive(serde::Deserialize)]
struct IncomingMember<'a> {
    #[serde(borrow)]
    id: std::borrow::Cow<'a, str>,
}

fn cents(points: f64) -> i64 {
    (points * 100.0).round() as i64
}

fn sorted(board: &IncomingBoard<'_>) -> Board {
    let mut b: Board =
        board.entries.iter().filter_map(|e| Some((e.member.as_ref()?.id.to_string(), cents(e.points)))).collect();
    b.sort();
    b
}

/// Notes a board received at `at`: the moments members' points went up, and the last board.
fn record(seen: &Mutex<Seen>, board: &IncomingBoard<'_>, text: &tungstenite::Utf8Bytes, at: Instant) {
    let Ok(mut s) = seen.lock() else { return };
    s.messages += 1;
    for e in &board.entries {
        let Some(member) = &e.member else { continue };
        let points = cents(e.points);
        match s.rises.get_mut(member.id.as_ref()) {
            Some(rises) => {
                if rises.last().is_none_or(|(p, _)| *p < points) {
                    rises.push((points, at));
                }
            }
            None => {
                s.rises.insert(member.id.to_string(), vec![(points, at)]);
            }
        }
    }
    s.last = Some(text.clone());
}

/// One connected subscriber.
pub struct Subscriber {
    team: usize,
    seen: Arc<Mutex<Seen>>,
}

/// Subscribers kept open across steps.
pub struct Pool {
    pub subscribers: Vec<Subscriber>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

fn board_of(data: &Value) -> Option<Board> {
    let entries = data.as_object()?.values().next()?.get("entries")?.as_array()?;
    let mut b: Board = entries
        .iter()
        .filter_map(|e| {
            let id = e["member"]["id"].as_str()?.to_owned();
            Some((id, cents(e["points"].as_f64()?)))
        })
        .collect();
    b.sort();
    Some(b)
}

impl Pool {
    pub fn new() -> Pool {
        Pool { subscribers: Vec::new(), stop: watch::channel(false).0, tasks: Vec::new() }
    }

    /// Connects subscribers until there are `total`, spread evenly over the teams; each
    /// counts once its first board has arrived.
    pub async fn grow(
        &mut self,
        addr: &str,
        total: usize,
        teams: &[(String, Vec<String>)],
    ) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let gate = Arc::new(Semaphore::new(200));
        let mut pending = Vec::new();
        for n in self.subscribers.len()..total {
            let team = n % teams.len();
            let (team_id, tokens) = &teams[team];
            let token = tokens[(n / teams.len()) % tokens.len()].clone();
            let (team_id, addr, gate) = (team_id.clone(), addr.to_owned(), gate.clone());
            let seen = Arc::new(Mutex::new(Seen::default()));
            let (seen2, mut stop) = (seen.clone(), self.stop.subscribe());
            let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Result<(), String>>();
            self.tasks.push(tokio::spawn(async move {
                let permit = gate.acquire_owned().await;
                let mut ready = Some(ready_tx);
                let fail = |ready: &mut Option<tokio::sync::oneshot::Sender<Result<(), String>>>, e: String| {
                    if let Some(r) = ready.take() {
                        let _ = r.send(Err(e));
                    }
                };
                let mut request = match format!("ws://{addr}/graphql").into_client_request() {
                    Ok(r) => r,
                    Err(e) => return fail(&mut ready, e.to_string()),
                };
                request.headers_mut().insert("Sec-WebSocket-Protocol", http_value("graphql-transport-ws"));
                let config = tungstenite::protocol::WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
                let (mut ws, _) = match tokio_tungstenite::connect_async_with_config(request, Some(config), true).await {
                    Ok(x) => x,
                    Err(e) => return fail(&mut ready, format!("connect: {e}")),
                };
                let init = json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}});
                let sub = json!({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION, "variables": {"t": team_id}}});
                for m in [init, sub] {
                    if let Err(e) = ws.send(tungstenite::Message::Text(m.to_string().into())).await {
                        return fail(&mut ready, format!("send: {e}"));
                    }
                }
                loop {
                    let msg = tokio::select! {
                        m = ws.next() => m,
                        _ = stop.changed() => break,
                    };
                    let at = Instant::now();
                    let text = match msg {
                        Some(Ok(tungstenite::Message::Text(t))) => t,
                        Some(Ok(tungstenite::Message::Ping(_) | tungstenite::Message::Pong(_))) => continue,
                        Some(Ok(other)) => return fail(&mut ready, format!("unexpected frame {other:?}")),
                        Some(Err(e)) => return fail(&mut ready, format!("socket: {e}")),
                        None => return fail(&mut ready, "closed".into()),
                    };
                    let Ok(msg) = serde_json::from_str::<Incoming>(&text) else {
                        return fail(&mut ready, format!("unexpected message {}", text.as_str()));
                    };
                    match msg.kind.as_ref() {
                        "next" => {
                            let Some(board) = msg.payload.and_then(|p| p.data).and_then(|d| d.board) else {
                                return fail(&mut ready, format!("bad board: {}", text.as_str()));
                            };
                            record(&seen2, &board, &text, at);
                            if let Some(r) = ready.take() {
                                let _ = r.send(Ok(()));
                            }
                        }
                        "ping" => {
                            let _ = ws.send(tungstenite::Message::Text(json!({"type": "pong"}).to_string().into())).await;
                        }
                        "connection_ack" | "pong" => {}
                        _ => return fail(&mut ready, format!("unexpected message {}", text.as_str())),
                    }
                    // Release the connect gate once subscribed.
                    if ready.is_none() {
                        drop(permit);
                        break;
                    }
                }
                // Steady state: read until stopped.
                loop {
                    let msg = tokio::select! {
                        m = ws.next() => m,
                        _ = stop.changed() => break,
                    };
                    let at = Instant::now();
                    let Some(Ok(tungstenite::Message::Text(text))) = msg else {
                        match msg {
                            Some(Ok(_)) => continue,
                            _ => break,
                        }
                    };
                    let Ok(msg) = serde_json::from_str::<Incoming>(&text) else { continue };
                    match msg.kind.as_ref() {
                        "next" => {
                            if let Some(board) = msg.payload.and_then(|p| p.data).and_then(|d| d.board) {
                                record(&seen2, &board, &text, at);
                            }
                        }
                        "ping" => {
                            let _ = ws.send(tungstenite::Message::Text(json!({"type": "pong"}).to_string().into())).await;
                        }
                        _ => {}
                    }
                }
                let _ = ws.close(None).await;
            }));
            self.subscribers.push(Subscriber { team, seen });
            pending.push(ready_rx);
        }
        for (i, r) in pending.into_iter().enumerate() {
            match r.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => bail!("subscriber {i} failed: {e}"),
                Err(_) => bail!("subscriber {i} ended before its first board"),
            }
        }
        Ok(started.elapsed())
    }

    /// Closes every subscriber.
    pub async fn close(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

fn http_value(s: &'static str) -> tungstenite::http::HeaderValue {
    tungstenite::http::HeaderValue::from_static(s)
}

/// One acknowledged write.
struct Write {
    team: usize,
    member: String,
    sent: Instant,
    acked: Instant,
    points: i64,
}

/// The figures of one live step.
#[derive(Debug, Default, Serialize)]
pub struct LiveResult {
    pub subscribers: usize,
    pub connect_seconds: f64,
    pub writes: u64,
    pub write_errors: u64,
    pub writes_per_second: f64,
    /// From the mutation's response to the first board showing it, over every (write, subscriber of its team).
    pub deliveries: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// From the mutation's request instead.
    pub p99_from_request_ms: f64,
    /// Writes a subscriber of its team never saw.
    pub missed: u64,
    /// Subscribers whose last board differs from the database's board.
    pub stale_final_boards: u64,
    pub messages: u64,
    pub server_rss_mib: f64,
}

/// Drives `rate` `logActivity` calls per second for `duration` against `writer` (round robin
/// over the teams), then checks what every subscriber of `pool` saw.
#[allow(clippy::too_many_arguments)]
pub async fn step(
    writer: &str,
    watched: &Server,
    pool: &Pool,
    teams: &[(String, Vec<String>)],
    admin_token: &str,
    activity_type: &str,
    rate: u32,
    duration: Duration,
    connect_seconds: f64,
) -> anyhow::Result<LiveResult> {
    let http = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;
    let url = format!("http://{writer}/graphql");
    let messages_before: u64 = pool.subscribers.iter().map(|s| s.seen.lock().map_or(0, |x| x.messages)).sum();
    let writes = Arc::new(Mutex::new(Vec::<Write>::new()));
    let errors = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let first_error = Arc::new(Mutex::new(None::<String>));
    let total = (f64::from(rate) * duration.as_secs_f64()) as u64;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut rss_max = watched.rss_mib();
    let mut inflight = Vec::new();
    for i in 0..total {
        ticker.tick().await;
        if i % u64::from(rate / 4).max(1) == 0 {
            rss_max = rss_max.max(watched.rss_mib());
        }
        let team = (i as usize) % teams.len();
        let (_, tokens) = &teams[team];
        let m = (i as usize / teams.len()) % tokens.len();
        let token = tokens[m].clone();
        let body = json!({"query": LOG, "variables": {"i": {"activityTypeId": activity_type, "idempotencyKey": Uuid::new_v4().to_string()}}});
        let (http, url, writes, errors, first_error) =
            (http.clone(), url.clone(), writes.clone(), errors.clone(), first_error.clone());
        inflight.push(tokio::spawn(async move {
            let sent = Instant::now();
            let r = async {
                let v: Value = http.post(&url).bearer_auth(&token).json(&body).send().await?.json().await?;
                anyhow::Ok(v)
            }
            .await;
            let acked = Instant::now();
            let outcome = match r {
                Ok(v) => match v["data"]["logActivity"]["score"]["points"].as_f64() {
                    Some(p) if v.get("errors").is_none() => Ok((p * 100.0).round() as i64),
                    _ => Err(v.to_string()),
                },
                Err(e) => Err(e.to_string()),
            };
            match outcome {
                Ok(points) => {
                    if let Ok(mut w) = writes.lock() {
                        w.push(Write { team, member: String::new(), sent, acked, points });
                        let last = w.len() - 1;
                        w[last].member = token_member(&token);
                    }
                }
                Err(e) => {
                    errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if let Ok(mut f) = first_error.lock() {
                        f.get_or_insert(e);
                    }
                }
            }
        }));
    }
    for t in inflight {
        let _ = t.await;
    }
    let elapsed = started.elapsed();
    rss_max = rss_max.max(watched.rss_mib());
    // Let the last coalesced boards arrive.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // The database's boards, read over HTTP.
    let mut truth = Vec::new();
    for (team_id, _) in teams {
        let v: Value = http
            .post(&url)
            .bearer_auth(admin_token)
            .json(&json!({"query": BOARD, "variables": {"t": team_id}}))
            .send()
            .await?
            .json()
            .await?;
        truth.push(board_of(&v["data"]).with_context(|| format!("reading a board: {v}"))?);
    }
    let writes = std::mem::take(&mut *writes.lock().map_err(|_| anyhow::anyhow!("poisoned"))?);
    let mut from_ack = Vec::new();
    let mut from_request = Vec::new();
    let mut missed = 0u64;
    let mut stale = 0u64;
    let mut messages = 0u64;
    for s in &pool.subscribers {
        let seen = s.seen.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        messages += seen.messages;
        if seen.last_board().as_ref() != Some(&truth[s.team]) {
            stale += 1;
        }
        for w in writes.iter().filter(|w| w.team == s.team) {
            let first = seen.rises.get(&w.member).and_then(|r| r.iter().find(|(p, _)| *p >= w.points));
            match first {
                Some((_, at)) => {
                    from_ack.push(at.saturating_duration_since(w.acked));
                    from_request.push(at.saturating_duration_since(w.sent));
                }
                None => missed += 1,
            }
        }
    }
    from_ack.sort_unstable();
    from_request.sort_unstable();
    let error_count = errors.load(std::sync::atomic::Ordering::Relaxed);
    if let Some(e) = first_error.lock().ok().and_then(|f| f.clone()) {
        eprintln!("  first write error: {}", e.chars().take(300).collect::<String>());
    }
    Ok(LiveResult {
        subscribers: pool.subscribers.len(),
        connect_seconds,
        writes: writes.len() as u64,
        write_errors: error_count,
        writes_per_second: writes.len() as f64 / elapsed.as_secs_f64(),
        deliveries: from_ack.len() as u64,
        p50_ms: percentile(&from_ack, 50.0),
        p99_ms: percentile(&from_ack, 99.0),
        max_ms: from_ack.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        p99_from_request_ms: percentile(&from_request, 99.0),
        missed,
        stale_final_boards: stale,
        messages: messages - messages_before,
        server_rss_mib: rss_max,
    })
}

/// The member global id a bench token belongs to (the bench mints tokens whose subject it knows).
fn token_member(token: &str) -> String {
    crate::TOKEN_MEMBERS.get().and_then(|m| m.get(token).cloned()).unwrap_or_default()
}
