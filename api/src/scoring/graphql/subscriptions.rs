//! Points engine subscriptions: score and leaderboard changes.

use std::collections::HashSet;
use std::time::Duration as StdDuration;

use async_graphql::{Context, ID, Result, Subscription};
use chrono::Utc;
use futures_util::Stream;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use uuid::Uuid;

use super::{Activity, Leaderboard, LeaderboardInput, ScoreChange, board_request, compute_board, current_week_score};
use crate::auth::ReadScope;
use crate::core::error::{AppError, AppResult};
use crate::core::ids::OrgId;
use crate::events::Event;
use crate::graphql::ContextExt;
use crate::graphql::relay::{NodeKind, decode_id};
use crate::org::graphql::Member;
use crate::org::store as org_store;
use crate::scoring::hot::BoardUpdate;
use crate::scoring::policy::ActivityAccess;
use crate::scoring::scores::{self, BoardData, BoardRequest, OrgSettings, ScoreParts};
use crate::scoring::{cents_to_f64, store};
use crate::state::AppState;

// ---------------------------------------------------------------- subscriptions

/// Least time between two leaderboard messages of one subscription.
const BOARD_COALESCE: StdDuration = StdDuration::from_millis(100);

/// Points engine subscriptions.
#[derive(Default)]
pub struct ScoringSubscription;

#[Subscription]
impl ScoringSubscription {
    /// A member's score moved (an activity logged or voided): for one member, for the members
    /// of a team's subtree, or (neither given) for everyone the viewer may read. Only changes whose
    /// activity the viewer may read (as in `activities`) are delivered.
    async fn score_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this member.")] member_id: Option<ID>,
        #[graphql(desc = "Only members of this team and its sub-teams.")] team_id: Option<ID>,
    ) -> Result<impl Stream<Item = Result<ScoreChange>> + use<>> {
        let p = ctx.principal()?.clone();
        let state = ctx.state()?.clone();
        let db = state.db.clone();
        let scope = p.read_scope(&db).await?;
        // Each change carries its activity: only changes whose activity the viewer may read.
        let access = ActivityAccess::of(&p, &db).await?;
        let member = match &member_id {
            Some(id) => {
                let m = org_store::find_member(p.org, &db, decode_id(id, NodeKind::Member)?)
                    .await?
                    .ok_or(AppError::NotFound("member"))?;
                scope.member(&p, &m)?;
                if !access.may_read(m.id, m.team_id) {
                    return Err(AppError::forbidden("you may not read this member's activities").into());
                }
                Some(m.id)
            }
            None => None,
        };
        let teams: Option<HashSet<Uuid>> = match &team_id {
            Some(id) => {
                let t = decode_id(id, NodeKind::Team)?;
                org_store::find_team(p.org, &db, t).await?.ok_or(AppError::NotFound("team"))?;
                scope.board(Some(t))?;
                let subtree = org_store::team_tree(p.org, &db).await?.subtree([t]);
                // Score changes carry activities: only members whose scores the viewer may read.
                Some(match &scope {
                    ReadScope::All => subtree,
                    ReadScope::Limited { member_teams, .. } => subtree.intersection(member_teams).copied().collect(),
                })
            }
            None => match &scope {
                ReadScope::All => None,
                ReadScope::Limited { member_teams, .. } => Some(member_teams.clone()),
            },
        };
        let self_id = p.member_id;
        let mut rx = state.events.subscribe();
        let org = p.org;
        Ok(async_stream::stream! {
            loop {
                let event = match rx.recv().await {
                    Ok(e) => e,
                    // Score changes are deltas: a lagging subscriber skips ahead; the next
                    // message carries the full current score again.
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => break,
                };
                let Event::ScoreChanged { org: event_org, member: who, team, activity, points_delta_cents, .. } = event else { continue };
                if OrgId(event_org) != org || member.is_some_and(|m| m != who) {
                    continue;
                }
                let visible = who == self_id || teams.as_ref().is_none_or(|set| team.is_some_and(|t| set.contains(&t)));
                if !visible || !access.may_read(who, team) {
                    continue;
                }
                // The member's current team decides, as in `activities`.
                let m = match org_store::find_member(org, &db, who).await {
                    Ok(Some(m)) if !access.may_read(m.id, m.team_id) => continue,
                    Ok(m) => m,
                    Err(e) => {
                        yield Err(async_graphql::Error::from(e));
                        continue;
                    }
                };
                let item = async {
                    let s = scores::settings(org, &db).await?;
                    let m = m.ok_or(AppError::NotFound("member"))?;
                    let a = store::find_activity(org, &db, activity).await?.ok_or(AppError::NotFound("activity"))?;
                    let score = current_week_score(&s, &db, who, Utc::now(), ScoreParts::ALL).await?.ok_or(AppError::NotFound("member"))?;
                    AppResult::Ok(ScoreChange { member: Member(m), activity: Activity(a), points_delta: cents_to_f64(points_delta_cents), score })
                }
                .await;
                yield item.map_err(async_graphql::Error::from);
            }
        })
    }

    /// A leaderboard, live: the current board at once, then the new board whenever an entry
    /// changes. Bursts are coalesced (at most one message per 100 ms, always the latest state);
    /// a slow client skips to the latest state.
    async fn leaderboard_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to rank.")] input: LeaderboardInput,
    ) -> Result<impl Stream<Item = Result<Leaderboard>> + use<>> {
        let p = ctx.principal()?.clone();
        let state = ctx.state()?.clone();
        let db = state.db.clone();
        let (s, request) = board_request(&p, &state, &input).await?;
        let org = p.org;
        // Subscribers of the same board share one feed; the first one starts it (and the
        // team's subtree is resolved once per feed, not per subscriber).
        let mut feed = match state.hot.existing_feed(org, request) {
            Some(rx) => rx,
            None => {
                let scope_teams: Option<HashSet<Uuid>> = match request.team {
                    Some(t) => Some(
                        crate::org::directory::directory(&state.directories, p.org, &db).await?.tree().subtree([t]),
                    ),
                    None => None,
                };
                let st = state.clone();
                state.hot.feed(org, request, move |tx| start_board_feed(st, s, request, scope_teams, tx))
            }
        };
        Ok(async_stream::stream! {
            loop {
                let current = feed.borrow_and_update().clone();
                match current {
                    Some(Ok(board)) => yield Ok(Leaderboard::from(BoardData::clone(&board))),
                    Some(Err(e)) => yield Err(async_graphql::Error::from(&*e)),
                    None => {}
                }
                if feed.changed().await.is_err() {
                    break;
                }
            }
        })
    }
}

/// Keeps one board's feed current: the board at once, then a recomputation whenever an entry
/// may have changed, at most one per [`BOARD_COALESCE`], published only when it differs. Every
/// subscriber of the board reads the same computed board; a slow subscriber skips to the
/// latest. Ends when the last subscriber has gone.
fn start_board_feed(
    state: AppState,
    settings: OrgSettings,
    request: BoardRequest,
    scope_teams: Option<HashSet<Uuid>>,
    tx: std::sync::Arc<tokio::sync::watch::Sender<crate::scoring::hot::FeedValue>>,
) {
    let mut rx = state.hot.subscribe();
    tokio::spawn(async move {
        let org = settings.org;
        let mut settings = settings;
        let mut last = None;
        let publish = |result: AppResult<BoardData>, last: &mut Option<scores::Fingerprint>| match result {
            Ok(board) => {
                let fingerprint = board.fingerprint();
                if last.as_ref() != Some(&fingerprint) {
                    *last = Some(fingerprint);
                    tx.send_replace(Some(Ok(std::sync::Arc::new(board))));
                }
            }
            Err(e) => {
                e.log();
                // Subscribers now hold the error: the next board must reach them even when it
                // equals the one before (a database outage that changed nothing).
                *last = None;
                tx.send_replace(Some(Err(std::sync::Arc::new(e))));
            }
        };
        publish(compute_board(&state, &settings, request, scope_teams.as_ref(), Utc::now()).await, &mut last);
        let mut last_sent = tokio::time::Instant::now();
        let mut idle = tokio::time::interval(StdDuration::from_secs(5));
        loop {
            let (relevant, reload) = tokio::select! {
                update = rx.recv() => match update {
                    Ok(BoardUpdate::Reload { org: o }) => (o.is_none_or(|o| o == org), true),
                    Ok(BoardUpdate::Scores { org: o, team }) => {
                        (o == org && scope_teams.as_ref().is_none_or(|set| team.is_some_and(|t| set.contains(&t))), false)
                    }
                    // Skipped updates are covered by recomputing the latest state.
                    Err(RecvError::Lagged(_)) => (true, true),
                    Err(RecvError::Closed) => {
                        state.hot.retire_feed(org, request, &tx, true);
                        return;
                    }
                },
                _ = idle.tick() => (false, false),
            };
            if state.hot.retire_feed(org, request, &tx, false) {
                return;
            }
            if !relevant {
                continue;
            }
            let wait = (last_sent + BOARD_COALESCE).saturating_duration_since(tokio::time::Instant::now());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            // Everything that arrived meanwhile is covered by the recomputation below.
            let mut reload = reload;
            loop {
                match rx.try_recv() {
                    Ok(BoardUpdate::Reload { .. }) | Err(TryRecvError::Lagged(_)) => reload = true,
                    Ok(BoardUpdate::Scores { .. }) => {}
                    Err(TryRecvError::Empty) | Err(TryRecvError::Closed) => break,
                }
            }
            if reload && let Ok(fresh) = scores::settings(org, &state.db).await {
                settings = fresh;
            }
            last_sent = tokio::time::Instant::now();
            publish(compute_board(&state, &settings, request, scope_teams.as_ref(), Utc::now()).await, &mut last);
        }
    });
}
