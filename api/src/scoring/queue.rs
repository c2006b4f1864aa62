//! Group commit of `logActivity`: concurrent single logs share one write transaction.
//!
//! A busy sales floor sends many small, independent `logActivity` calls at once. Written one
//! transaction each, every call pays its own BEGIN, lookups, INSERT, day-total upsert, webhook
//! row and COMMIT (a disk flush). Here each call hands its already authorized request to the
//! queue; the writer holding the queue takes whatever has queued up while the previous batch
//! was written and logs it as a batch through the same [`scores::log_activity`] rules the
//! `logActivities` mutation uses (settings, members, activity types, campaigns and webhooks
//! from memory ([`super::cache`]), one idempotency-key lookup per organization, one multi-row
//! insert, one day-total upsert, one COMMIT), handing the queue
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

use std::collections::HashMap;

use super::model::{self, ActivityUnit};
use super::scores::{self, LogMemo, LogOutcome, LogRequest, OrgSettings};
use super::store;
use crate::auth::Reach;
use crate::core::error::AppError;
use crate::core::field::FieldError;
use crate::core::ids::OrgId;
use crate::core::principal::Principal;
use crate::events::{Event, EventBus};
use crate::graphql::relay::{NodeKind, global_id};

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
    /// Members, activity types, campaigns and webhooks, kept until they change.
    cache: std::sync::Arc<super::cache::LogCache>,
    hot: std::sync::Arc<super::hot::HotBoards>,
    events: EventBus,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
}

impl LogQueue {
    /// Starts the writer tasks (they end when the last handle is dropped).
    pub fn start(
        db: DatabaseConnection,
        settings: std::sync::Arc<scores::SettingsCache>,
        cache: std::sync::Arc<super::cache::LogCache>,
        hot: std::sync::Arc<super::hot::HotBoards>,
        events: EventBus,
        metrics: std::sync::Arc<crate::metrics::Metrics>,
    ) -> LogQueue {
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let writers = if db.get_database_backend() == sea_orm::DbBackend::Sqlite { 1 } else { POSTGRES_WRITERS };
        let writer = std::sync::Arc::new(Writer {
            queue: tokio::sync::Mutex::new(rx),
            db,
            settings,
            cache,
            hot,
            events,
            metrics,
        });
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

    /// Logs one batch and answers every caller; `turn` (the queue) is handed on as the
    /// shared transaction sends COMMIT, or once the single statements have returned.
    async fn write(&self, jobs: Vec<Envelope>, turn: tokio::sync::MutexGuard<'_, mpsc::Receiver<Envelope>>) {
        let (jobs, replies): (Vec<LogJob>, Vec<oneshot::Sender<Queued>>) = jobs.into_iter().unzip();
        self.metrics.log_batches.inc();
        self.metrics.log_batched_calls.inc_by(jobs.len() as u64);
        let answers = self.answer(&jobs, turn).await;
        for (reply, answer) in replies.into_iter().zip(answers) {
            // A caller that went away (client disconnected) needs no answer.
            let _ = reply.send(answer);
        }
    }

    /// Each organization's requests go into one statement of their own when they can
    /// ([`Writer::prepare_at_once`]); the others share one transaction.
    async fn answer(
        &self,
        jobs: &[LogJob],
        turn: tokio::sync::MutexGuard<'_, mpsc::Receiver<Envelope>>,
    ) -> Vec<Queued> {
        let mut by_org: Vec<(OrgId, Vec<usize>)> = Vec::new();
        for (i, job) in jobs.iter().enumerate() {
            match by_org.iter_mut().find(|(org, _)| *org == job.principal.org) {
                Some((_, members)) => members.push(i),
                None => by_org.push((job.principal.org, vec![i])),
            }
        }
        let mut answers: Vec<Option<Queued>> = jobs.iter().map(|_| None).collect();
        let mut at_once = Vec::new();
        let mut together = Vec::new();
        for (org, indexes) in by_org {
            match self.prepare_at_once(org, &indexes, jobs).await {
                Some(prepared) => at_once.push(prepared),
                None => together.push((org, indexes)),
            }
        }
        let mut logged: Vec<(usize, LogOutcome, OrgSettings)> = Vec::new();
        // A batch written by one statement keeps the queue until that statement returns: the
        // next batch then collects everything that arrived meanwhile (16 calls per statement
        // at 32 clients, against 5 when it was handed on first), and fewer, larger statements
        // cost PostgreSQL less CPU.
        let mut turn = Some(turn);
        if !together.is_empty()
            && let Some(turn) = turn.take()
        {
            match self.commit(jobs, &together, turn).await {
                Ok(done) => {
                    for (i, answer) in done {
                        match answer {
                            Ok((outcome, s)) => logged.push((i, outcome, s)),
                            Err(answer) => answers[i] = Some(answer),
                        }
                    }
                }
                Err(rolled) => {
                    rolled.log();
                    for i in together.iter().flat_map(|(_, indexes)| indexes) {
                        answers[*i] = Some(rolled.answer());
                    }
                }
            }
        }
        let mut changed = Vec::new();
        for prepared in at_once {
            let org = prepared.s.org;
            let (answered, members) = self.write_at_once(prepared, jobs).await;
            changed.push((org, members));
            for (i, answer) in answered {
                match answer {
                    Ok((outcome, s)) => logged.push((i, outcome, s)),
                    Err(answer) => answers[i] = Some(answer),
                }
            }
        }
        drop(turn);
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
        answers.into_iter().map(|a| a.unwrap_or(Queued::Alone)).collect()
    }

    /// Runs an organization's requests of this batch through the rules without a transaction,
    /// when all they need is known in memory and their activities can be written by one
    /// statement ([`store::insert_activities_at_once`]): on PostgreSQL, with the organization's
    /// rules kept, only COUNT activity types and no webhook for `activity.logged` (a PROGRESS
    /// type locks its work item; a webhook delivery is written with the activity). `None`
    /// leaves them to the shared transaction; nothing has been written either way.
    async fn prepare_at_once(&self, org: OrgId, indexes: &[usize], jobs: &[LogJob]) -> Option<AtOnce> {
        if self.db.get_database_backend() != sea_orm::DbBackend::Postgres || indexes.len() > store::AT_ONCE_MOST {
            return None;
        }
        let s = self.settings.get(org, &self.db).await.ok()?;
        let rules = self.cache.rules(org, s.open_window_days, &self.db).await.ok()??;
        let hooked = rules.webhooks.iter().any(|w| crate::webhooks::store::subscribed(w, scores::ACTIVITY_LOGGED));
        let counted = indexes.iter().all(|&i| {
            rules.types.get(&jobs[i].request.activity_type_id).is_some_and(|t| t.unit == ActivityUnit::Count.as_str())
        });
        if hooked || !counted {
            return None;
        }
        let requests: Vec<LogRequest> = indexes.iter().map(|&i| jobs[i].request.clone()).collect();
        let Ok(mut memo) = LogMemo::batch_unread_keys(&s, &self.db, &requests, &self.cache).await else {
            return Some(AtOnce::unread(s, indexes));
        };
        let times = indexes.iter().map(|&i| jobs[i].request.occurred_at.unwrap_or(jobs[i].now));
        if memo.read_campaigns(org, &self.db, times).await.is_err()
            || memo.read_self_quantities(&s, &self.db, self_logged(jobs, indexes)).await.is_err()
        {
            return Some(AtOnce::unread(s, indexes));
        }
        let mut results = Vec::with_capacity(indexes.len());
        for (&index, request) in indexes.iter().zip(requests) {
            let job = &jobs[index];
            let key = request.idempotency_key.as_deref().and_then(|k| model::parse_idempotency_key(k).ok());
            let pair = key.map(|k| (request.member_id, k));
            let result =
                scores::log_activity(&s, &self.db, &job.principal, &job.reach, request, job.now, &mut memo).await;
            let result = match result {
                Ok(outcome) => Ok(outcome),
                Err(Ok(errors)) => Err(Queued::Invalid(errors)),
                // Nothing is written yet: the caller runs on its own.
                Err(Err(AppError::Database(_) | AppError::Internal(_))) => Err(Queued::Alone),
                Err(Err(e)) => Err(Queued::Failed(e)),
            };
            results.push(Prepared { index, pair, result });
        }
        Some(AtOnce { s, rows: memo.take_pending(), results })
    }

    /// Writes one organization's prepared requests with one statement, then answers them: an
    /// activity the statement skipped because its key was stored meanwhile replays the stored
    /// one, and so does a rejected request whose key was stored before (a retry is answered
    /// with its original even when it would no longer pass, as in the shared transaction).
    /// Also returns the members whose totals changed.
    async fn write_at_once(&self, prepared: AtOnce, jobs: &[LogJob]) -> (Answered, Vec<Uuid>) {
        let AtOnce { s, rows, results } = prepared;
        let org = s.org;
        let stored = match store::insert_activities_at_once(org, &self.db, &rows).await {
            Ok(stored) => {
                if let Some(kept) = self.cache.self_logged() {
                    for row in rows.iter().filter(|r| r.source == "SELF" && stored.contains(&r.id)) {
                        let quantity = i64::from(row.quantity.unwrap_or(0));
                        kept.add(org, (row.member_id, row.activity_type_id, row.local_date), quantity);
                    }
                }
                stored
            }
            Err(e) => {
                let rolled = Rolled::of(e);
                rolled.log();
                return (results.into_iter().map(|p| (p.index, Err(rolled.answer()))).collect(), Vec::new());
            }
        };
        let looked_up = |p: &Prepared| match &p.result {
            Ok(o) => !stored.contains(&o.activity.id),
            Err(Queued::Invalid(_)) => true,
            Err(_) => false,
        };
        let mut pairs: Vec<(Uuid, String)> =
            results.iter().filter(|p| looked_up(p)).filter_map(|p| p.pair.clone()).collect();
        pairs.sort_unstable();
        pairs.dedup();
        let originals: Option<HashMap<(Uuid, String), entity::activity::Model>> = if pairs.is_empty() {
            Some(HashMap::new())
        } else {
            store::find_by_idempotency_keys(org, &self.db, &pairs).await.ok().map(|found| {
                found.into_iter().filter_map(|a| Some(((a.member_id, a.idempotency_key.clone()?), a))).collect()
            })
        };
        let mut members: Vec<Uuid> = Vec::new();
        let mut answers = Vec::with_capacity(results.len());
        for p in results {
            let lookup = looked_up(&p);
            let original = |team_id| {
                let found = originals.as_ref()?.get(p.pair.as_ref()?)?;
                Some(LogOutcome { activity: found.clone(), replayed: true, team_id })
            };
            let request = &jobs[p.index].request;
            let reused = || Queued::Invalid(vec![model::idempotency_key_reused()]);
            let answer = match p.result {
                Ok(o) if !lookup => {
                    if !o.replayed {
                        members.push(o.activity.member_id);
                    }
                    Ok((o, s))
                }
                // Skipped by the statement: its key was stored by someone else first.
                Ok(o) => match original(o.team_id) {
                    Some(o) if scores::replays(&o.activity, request) => Ok((o, s)),
                    Some(_) => Err(reused()),
                    None => Err(Queued::Alone),
                },
                Err(Queued::Invalid(errors)) => match original(None) {
                    Some(o) if scores::replays(&o.activity, request) => Ok((o, s)),
                    Some(_) => Err(reused()),
                    None if originals.is_some() => Err(Queued::Invalid(errors)),
                    None => Err(Queued::Alone),
                },
                Err(other) => Err(other),
            };
            answers.push((p.index, answer));
        }
        members.sort_unstable();
        members.dedup();
        (answers, members)
    }

    /// Logs the requests of `groups` in one transaction, handing `turn` on as it sends COMMIT.
    async fn commit(
        &self,
        jobs: &[LogJob],
        groups: &[(OrgId, Vec<usize>)],
        turn: tokio::sync::MutexGuard<'_, mpsc::Receiver<Envelope>>,
    ) -> Result<Answered, Rolled> {
        let mut answers = Vec::new();
        // Per organization, the members whose totals changed.
        let mut changed: Vec<(OrgId, Vec<Uuid>)> = Vec::new();
        let tx = crate::db::begin_write(&self.db).await.map_err(|_| Rolled::Back)?;
        for (org, indexes) in groups {
            let s = self.settings.get(*org, &tx).await.map_err(|_| Rolled::Back)?;
            let requests: Vec<LogRequest> = indexes.iter().map(|&i| jobs[i].request.clone()).collect();
            let mut memo = LogMemo::batch(&s, &tx, &requests, Some(&self.cache)).await.map_err(|_| Rolled::Back)?;
            let times = indexes.iter().map(|&i| jobs[i].request.occurred_at.unwrap_or(jobs[i].now));
            memo.read_campaigns(*org, &tx, times).await.map_err(|_| Rolled::Back)?;
            memo.read_self_quantities(&s, &tx, self_logged(jobs, indexes)).await.map_err(|_| Rolled::Back)?;
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
                        answers.push((i, Ok((outcome, s))));
                    }
                    Err(Ok(errors)) => answers.push((i, Err(Queued::Invalid(errors)))),
                    // A failing statement may have spoiled the transaction (PostgreSQL).
                    Err(Err(AppError::Database(_) | AppError::Internal(_))) => return Err(Rolled::Back),
                    // Refusals are decided before this request writes anything.
                    Err(Err(e)) => answers.push((i, Err(Queued::Failed(e)))),
                }
            }
            memo.flush(*org, &tx).await.map_err(|_| Rolled::Back)?;
            memo.queue_webhooks(*org, &tx, events).await.map_err(|_| Rolled::Back)?;
            members.sort_unstable();
            members.dedup();
            changed.push((*org, members));
            // Before the next batch may run: it must see these quantities against the ceilings
            // (should the commit fail, the figures stay too high for a TTL: refusing, not lax).
            memo.count_self_logged(*org);
        }
        // The next batch's statements may now run; a row this one changed makes them wait for
        // this commit, and day totals are upserted in one order, so no two batches deadlock.
        drop(turn);
        tx.commit().await.map_err(Rolled::Unknown)?;
        for (org, members) in &changed {
            // Read-your-writes: this instance's rankings hold the new totals before anyone hears.
            self.hot.refresh_members(*org, members).await;
        }
        Ok(answers)
    }
}

/// The `(member, activity type, time)` of the requests at `indexes` that members log for
/// themselves: the ones the self-logging ceilings apply to.
fn self_logged<'a>(jobs: &'a [LogJob], indexes: &'a [usize]) -> impl Iterator<Item = (Uuid, Uuid, DateTime<Utc>)> + 'a {
    indexes
        .iter()
        .map(|&i| &jobs[i])
        .filter(|j| j.request.member_id == j.principal.member_id)
        .map(|j| (j.request.member_id, j.request.activity_type_id, j.request.occurred_at.unwrap_or(j.now)))
}

/// Answers by place in the batch: logged (or replayed), or what to tell the caller instead.
type Answered = Vec<(usize, Result<(LogOutcome, OrgSettings), Queued>)>;

/// An organization's requests of a batch, run through the rules and waiting to be written by
/// one statement.
struct AtOnce {
    s: OrgSettings,
    /// The new activities.
    rows: Vec<entity::activity::Model>,
    results: Vec<Prepared>,
}

impl AtOnce {
    /// Requests that could not be prepared (a read failed): each runs on its own.
    fn unread(s: OrgSettings, indexes: &[usize]) -> AtOnce {
        let results = indexes.iter().map(|&index| Prepared { index, pair: None, result: Err(Queued::Alone) }).collect();
        AtOnce { s, rows: Vec::new(), results }
    }
}

/// One prepared request.
struct Prepared {
    /// Its place in the batch.
    index: usize,
    /// Its member and idempotency key, if it has one.
    pair: Option<(Uuid, String)>,
    /// What the rules decided; an activity is not stored yet.
    result: Result<LogOutcome, Queued>,
}

/// How a batch that did not commit ended.
enum Rolled {
    /// Rolled back before the commit: nothing of it is stored.
    Back,
    /// The commit itself failed: whether it is stored is unknown, so it is not retried.
    Unknown(DbErr),
}

impl Rolled {
    /// How a failed single-statement write ended: the database refusing the statement stored
    /// nothing; anything else (a lost connection) leaves it unknown.
    fn of(e: AppError) -> Rolled {
        match e {
            AppError::Database(
                DbErr::Query(sea_orm::RuntimeErr::SqlxError(ref cause))
                | DbErr::Exec(sea_orm::RuntimeErr::SqlxError(ref cause)),
            ) if cause.as_database_error().is_some() => Rolled::Back,
            AppError::Database(e) => Rolled::Unknown(e),
            other => Rolled::Unknown(DbErr::Custom(format!("{other:?}"))),
        }
    }

    /// Reports a failure whose outcome is unknown (once per batch).
    fn log(&self) {
        if let Rolled::Unknown(e) = self {
            tracing::error!(error = %e, "commit of a logActivity batch failed");
        }
    }

    /// The answer for each request of the batch.
    fn answer(&self) -> Queued {
        match self {
            Rolled::Back => Queued::Alone,
            Rolled::Unknown(_) => Queued::Failed(AppError::Internal(anyhow::anyhow!("commit failed"))),
        }
    }
}

/// Tells every instance a score changed. Call it after this instance's rankings have the new
/// total ([`super::hot::HotBoards::refresh_members`]): the event says so.
pub fn announce(events: &EventBus, org: OrgId, outcome: &LogOutcome, delta_cents: i64) {
    events.publish(Event::ScoreChanged {
        org: org.0,
        member: outcome.activity.member_id,
        team: outcome.team_id,
        activity: outcome.activity.id,
        points_delta_cents: delta_cents,
        day: Some(outcome.activity.local_date),
        ranked: true,
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
