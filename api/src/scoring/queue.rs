//! Group commit of `logActivity`: concurrent single logs share one write transaction.
//!
//! A busy sales floor sends many small, independent `logActivity` calls at once. Written one
//! transaction each, every call pays its own BEGIN, lookups, INSERT, day-total upsert, webhook
//! row and COMMIT (a disk flush). Here each call hands its already authorized request to the
//! queue; the writer holding the queue takes whatever has queued up while the previous batch
//! was written and logs it as a batch through the same [`scores::log_activity`] rules the
//! `logActivities` mutation uses (settings from the cache, one member and key lookup per
//! organization, one multi-row insert, one day-total upsert, one COMMIT), handing the queue
//! to the next writer as it sends COMMIT. A lone call is a batch of one, so nothing waits for
//! company.
//!
//! Each call still gets its own answer: a field problem or a permission failure in one request
//! touches nothing and does not affect the others. A database failure before the commit rolls
//! the whole batch back and every caller then runs its request in a transaction of its own
//! ([`Queued::Alone`]): the outcome is the same as if they had never been grouped, just slower.

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::scores::{self, LogMemo, LogOutcome, LogRequest, OrgSettings};
use crate::auth::{Principal, Reach};
use crate::error::AppError;
use crate::events::{Event, EventBus};
use crate::graphql::relay::{NodeKind, global_id};
use crate::org::model::{FieldError, OrgId};

/// Most requests one transaction takes (as many as one `logActivities` call).
const MOST_PER_BATCH: usize = 500;
/// Requests waiting for the writer before callers wait to queue.
const QUEUE_DEPTH: usize = 4096;
/// Writer tasks on PostgreSQL. One takes the queue at a time and runs its batch's statements;
/// it hands the queue on when it sends COMMIT, so the next batch is collected and written
/// while the previous one waits for its WAL flush and re-reads its members. SQLite admits
/// one writer at a time anyway.
const POSTGRES_WRITERS: usize = 3;

/// One authorized `logActivity` call.
pub struct LogJob {
    /// Who logs.
    pub principal: Principal,
    /// The teams the caller reaches (only consulted when logging for someone else).
    pub reach: Reach,
    /// What to log.
    pub request: LogRequest,
    /// When the call arrived (the activity's default time and its `createdAt`).
    pub now: DateTime<Utc>,
}

/// The answer to one queued call.
pub enum Queued {
    /// Logged (or replayed) and committed; subscribers have been told.
    Logged(Box<LogOutcome>, OrgSettings),
    /// Field problems: nothing was written for this call.
    Invalid(Vec<FieldError>),
    /// Refused (not found, forbidden, …) or the commit failed.
    Failed(AppError),
    /// The shared transaction was rolled back before it committed: run this call on its own.
    Alone,
}

type Envelope = (LogJob, oneshot::Sender<Queued>);

/// The handle resolvers queue their calls on.
#[derive(Clone, Debug)]
pub struct LogQueue {
    tx: mpsc::Sender<Envelope>,
}

/// What the writers share.
struct Writer {
    /// The queue; the writer holding it is the one collecting and writing a batch.
    queue: tokio::sync::Mutex<mpsc::Receiver<Envelope>>,
    db: DatabaseConnection,
    /// Organization settings (time zone, open window), kept until the organization changes.
    settings: std::sync::Arc<scores::SettingsCache>,
    hot: std::sync::Arc<super::hot::HotBoards>,
    events: EventBus,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
}

impl LogQueue {
    /// Starts the writer tasks (they end when the last handle is dropped).
    pub fn start(
        db: DatabaseConnection,
        settings: std::sync::Arc<scores::SettingsCache>,
        hot: std::sync::Arc<super::hot::HotBoards>,
        events: EventBus,
        metrics: std::sync::Arc<crate::metrics::Metrics>,
    ) -> LogQueue {
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let writers = if db.get_database_backend() == sea_orm::DbBackend::Sqlite { 1 } else { POSTGRES_WRITERS };
        let writer =
            std::sync::Arc::new(Writer { queue: tokio::sync::Mutex::new(rx), db, settings, hot, events, metrics });
        for _ in 0..writers {
            tokio::spawn(writer.clone().run());
        }
        LogQueue { tx }
    }

    /// Logs one call together with whatever else is queued.
    pub async fn log(&self, job: LogJob) -> Queued {
        let (reply, answer) = oneshot::channel();
        if self.tx.send((job, reply)).await.is_err() {
            return Queued::Alone;
        }
        // A writer that went away without answering left the call undone.
        answer.await.unwrap_or(Queued::Alone)
    }
}

impl Writer {
    async fn run(self: std::sync::Arc<Self>) {
        loop {
            let mut queue = self.queue.lock().await;
            let mut jobs = Vec::new();
            if queue.recv_many(&mut jobs, MOST_PER_BATCH).await == 0 {
                return;
            }
            self.write(jobs, queue).await;
        }
    }

    /// Logs one batch in one transaction and answers every caller; `turn` (the queue) is
    /// handed on once the batch's statements are sent.
    async fn write(&self, jobs: Vec<Envelope>, turn: tokio::sync::MutexGuard<'_, mpsc::Receiver<Envelope>>) {
        let (jobs, replies): (Vec<LogJob>, Vec<oneshot::Sender<Queued>>) = jobs.into_iter().unzip();
        self.metrics.log_batches.inc();
        self.metrics.log_batched_calls.inc_by(jobs.len() as u64);
        let answers = match self.commit(&jobs, turn).await {
            Ok(answers) => answers,
            Err(Rolled::Back) => jobs.iter().map(|_| Queued::Alone).collect(),
            Err(Rolled::Unknown(e)) => {
                tracing::error!(error = %e, "commit of a logActivity batch failed");
                jobs.iter().map(|_| Queued::Failed(AppError::Internal(anyhow::anyhow!("commit failed")))).collect()
            }
        };
        for (reply, answer) in replies.into_iter().zip(answers) {
            // A caller that went away (client disconnected) needs no answer.
            let _ = reply.send(answer);
        }
    }

    async fn commit(
        &self,
        jobs: &[LogJob],
        turn: tokio::sync::MutexGuard<'_, mpsc::Receiver<Envelope>>,
    ) -> Result<Vec<Queued>, Rolled> {
        let mut by_org: Vec<(OrgId, Vec<usize>)> = Vec::new();
        for (i, job) in jobs.iter().enumerate() {
            match by_org.iter_mut().find(|(org, _)| *org == job.principal.org) {
                Some((_, members)) => members.push(i),
                None => by_org.push((job.principal.org, vec![i])),
            }
        }
        let mut answers: Vec<Option<Queued>> = jobs.iter().map(|_| None).collect();
        let mut logged: Vec<(usize, LogOutcome, OrgSettings)> = Vec::new();
        // Per organization, the members whose totals changed.
        let mut changed: Vec<(OrgId, Vec<Uuid>)> = Vec::new();
        let tx = crate::db::begin_write(&self.db).await.map_err(|_| Rolled::Back)?;
        for (org, indexes) in &by_org {
            let s = self.settings.get(*org, &tx).await.map_err(|_| Rolled::Back)?;
            let requests: Vec<LogRequest> = indexes.iter().map(|&i| jobs[i].request.clone()).collect();
            let mut memo = LogMemo::batch(*org, &tx, &requests).await.map_err(|_| Rolled::Back)?;
            let times = indexes.iter().map(|&i| jobs[i].request.occurred_at.unwrap_or(jobs[i].now));
            memo.read_campaigns(*org, &tx, times).await.map_err(|_| Rolled::Back)?;
            let mut events = Vec::new();
            let mut members = Vec::new();
            for (&i, request) in indexes.iter().zip(requests) {
                let job = &jobs[i];
                match scores::log_activity(&s, &tx, &job.principal, &job.reach, request, job.now, &mut memo).await {
                    Ok(outcome) => {
                        if !outcome.replayed {
                            events.push(activity_event(&outcome.activity));
                            members.push(outcome.activity.member_id);
                        }
                        logged.push((i, outcome, s));
                    }
                    Err(Ok(errors)) => answers[i] = Some(Queued::Invalid(errors)),
                    // A failing statement may have spoiled the transaction (PostgreSQL).
                    Err(Err(AppError::Database(_) | AppError::Internal(_))) => return Err(Rolled::Back),
                    // Refusals are decided before this request writes anything.
                    Err(Err(e)) => answers[i] = Some(Queued::Failed(e)),
                }
            }
            memo.flush(*org, &tx).await.map_err(|_| Rolled::Back)?;
            crate::webhooks::store::enqueue_all(*org, &tx, "activity.logged", events)
                .await
                .map_err(|_| Rolled::Back)?;
            members.sort_unstable();
            members.dedup();
            changed.push((*org, members));
        }
        // The next batch's statements may now run; a row this one changed makes them wait for
        // this commit, and day totals are upserted in one order, so no two batches deadlock.
        drop(turn);
        tx.commit().await.map_err(Rolled::Unknown)?;
        for (org, members) in &changed {
            // Read-your-writes: this instance's rankings hold the new totals before anyone hears.
            self.hot.refresh_members(*org, members).await;
        }
        for (i, outcome, s) in logged {
            if !outcome.replayed {
                announce(&self.events, s.org, &outcome, outcome.activity.points_cents);
            }
            answers[i] = Some(Queued::Logged(Box::new(outcome), s));
        }
        Ok(answers.into_iter().map(|a| a.unwrap_or(Queued::Alone)).collect())
    }
}

/// How a batch that did not commit ended.
enum Rolled {
    /// Rolled back before the commit: nothing of it is stored.
    Back,
    /// The commit itself failed: whether it is stored is unknown, so it is not retried.
    Unknown(DbErr),
}

/// Tells every instance a score changed (after this instance's ranking has the new total).
pub fn announce(events: &EventBus, org: OrgId, outcome: &LogOutcome, delta_cents: i64) {
    events.publish(Event::ScoreChanged {
        org: org.0,
        member: outcome.activity.member_id,
        team: outcome.team_id,
        activity: outcome.activity.id,
        points_delta_cents: delta_cents,
        day: Some(outcome.activity.local_date),
    });
}

/// The `activity.logged` webhook payload.
pub fn activity_event(a: &entity::activity::Model) -> serde_json::Value {
    serde_json::json!({
        "activityId": global_id(NodeKind::Activity, a.id),
        "memberId": global_id(NodeKind::Member, a.member_id),
        "activityTypeId": global_id(NodeKind::ActivityType, a.activity_type_id),
        "quantity": a.quantity,
        "progressPercent": a.progress_percent,
        "points": crate::scoring::cents_to_decimal(a.points_cents).to_string(),
        "occurredAt": a.occurred_at,
        "dealId": a.deal_id.map(|d| global_id(NodeKind::Deal, d)),
        "source": a.source,
    })
}
