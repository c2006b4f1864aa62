//! Sends queued webhook deliveries: polls the queue, claims each delivery with a conditional
//! update (so with several instances exactly one sends it), posts the signed body, and records
//! the outcome: 2xx within 10 s is delivered; anything else is retried after 1, 2, 4, … times
//! `WEBHOOK_RETRY_BASE_MS`, up to 8 attempts, then FAILED. A crash while sending leaves the
//! claim to expire, so the delivery is sent again by whoever claims it next (at least once; the
//! event `id` lets receivers drop duplicates).

use std::time::Duration;

use chrono::Utc;
use tokio::net::lookup_host;

use super::model::{self, MAX_ATTEMPTS};
use super::store;
use crate::state::AppState;

/// How long a claim holds: longer than a send (10 s timeout) plus bookkeeping.
const LEASE_SECONDS: i64 = 60;

/// Starts the dispatcher for the life of the process.
pub fn start(state: AppState) {
    tokio::spawn(async move {
        let client = match reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("Scorebord-Webhooks/1")
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "webhook client could not start; no webhooks will be sent");
                return;
            }
        };
        loop {
            match run_once(&state, &client).await {
                Ok(0) => tokio::time::sleep(Duration::from_millis(250)).await,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = ?e, "webhook dispatch failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
}

/// Sends what is due; returns how many deliveries it attempted.
pub async fn run_once(state: &AppState, client: &reqwest::Client) -> crate::error::AppResult<usize> {
    let now = Utc::now();
    let due = store::due(&state.db, now, 20).await?;
    let mut sent = 0;
    for d in due {
        if !store::claim(&state.db, &d, now, chrono::Duration::seconds(LEASE_SECONDS)).await? {
            continue; // another instance has it
        }
        sent += 1;
        let Some(hook) = store::webhook_of(&state.db, &d).await? else {
            store::record_attempt(&state.db, &d, None, Some("webhook deleted".into()), false, None).await?;
            continue;
        };
        let (code, error) = if hook.active {
            send(state, client, &hook.url, &hook.secret, &d.payload).await
        } else {
            (None, Some("webhook disabled".to_owned()))
        };
        let delivered = code.is_some_and(|c| (200..300).contains(&c));
        let next = if delivered || d.attempts + 1 >= MAX_ATTEMPTS || !hook.active {
            None
        } else {
            let wait = model::retry_delay_ms(d.attempts + 1, state.config.webhook_retry_base_ms);
            Some(Utc::now() + chrono::Duration::milliseconds(i64::try_from(wait).unwrap_or(i64::MAX / 2)))
        };
        store::record_attempt(&state.db, &d, code, error, delivered, next).await?;
    }
    Ok(sent)
}

async fn send(
    state: &AppState,
    client: &reqwest::Client,
    url: &str,
    secret: &str,
    body: &str,
) -> (Option<i32>, Option<String>) {
    if let Err((_, e)) = check_destination(url, state.config.webhooks_allow_private).await {
        return (None, Some(e));
    }
    let t = Utc::now().timestamp();
    let result = client
        .post(url)
        .header("content-type", "application/json")
        .header("Scorebord-Signature", model::signature(secret, t, body))
        .body(body.to_owned())
        .send()
        .await;
    match result {
        Ok(resp) => {
            let code = i32::from(resp.status().as_u16());
            let error = (!resp.status().is_success()).then(|| format!("HTTP {code}"));
            (Some(code), error)
        }
        Err(e) => (None, Some(if e.is_timeout() { "timed out after 10 s".to_owned() } else { e.to_string() })),
    }
}

/// Refuses URLs whose host resolves to a private or loopback address (unless allowed), or does
/// not resolve at all: the reason's code (`PRIVATE_ADDRESS`, `UNRESOLVABLE`, `INVALID`) and message.
pub async fn check_destination(url: &str, allow_private: bool) -> Result<(), (&'static str, String)> {
    let parsed = model::parse_url(url).map_err(|e| ("INVALID", e.message))?;
    if allow_private {
        return Ok(());
    }
    let host = parsed.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_owned();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addrs: Vec<std::net::SocketAddr> = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => vec![std::net::SocketAddr::new(ip, port)],
        Err(_) => lookup_host((host.as_str(), port))
            .await
            .map_err(|e| ("UNRESOLVABLE", format!("cannot resolve {host}: {e}")))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(("UNRESOLVABLE", format!("{host} does not resolve")));
    }
    if let Some(a) = addrs.iter().find(|a| model::is_private(a.ip())) {
        return Err(("PRIVATE_ADDRESS", format!("{host} resolves to {}, inside a private network", a.ip())));
    }
    Ok(())
}
