//! Hot leaderboards: the current period's ranking per organization and grain, kept in
//! memory and updated per score change, so a logged activity costs one indexed read of that
//! member's total and an O(log n) re-insert — never a re-aggregation per subscriber.
//!
//! One updater task applies the bus's events in order and then announces a [`BoardUpdate`];
//! board subscribers listen to those announcements (not to the raw bus), so they never read
//! a ranking the updater has not caught up with. Applying a change re-reads the member's
//! absolute total from the day totals instead of adding the event's delta: replays, reorders
//! and a build that raced a commit cannot double-count.
//!
//! Anything that changes who is ranked or their targets (members, teams, targets, the
//! organization's time zone) invalidates the organization's rankings; a `Resync` or a lagging
//! updater invalidates everything. Past periods, campaigns, team boards and TARGET_PERCENT
//! boards are computed from the day totals instead (see `scores::leaderboard`).

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::DatabaseConnection;
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use entity::{activity_type, campaign, member};

use super::model::{self, CampaignStatus, Period, PeriodGrain};
use super::scores::{self, BoardData, BoardEntry, BoardRequest, OrgSettings};
use super::store;
use super::targets::TargetBook;
use crate::core::error::{AppError, AppResult};
use crate::core::ids::OrgId;
use crate::events::cache::TenantSnapshots;
use crate::events::{DataVersions, Event, EventBus};

/// What board subscribers hear after the hot state has caught up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BoardUpdate {
    /// A member's score in this organization changed (their team given for scoped boards).
    Scores {
        /// The tenant.
        org: OrgId,
        /// The member's team.
        team: Option<Uuid>,
    },
    /// Rankings of this organization (or of every organization, `None`) were rebuilt.
    Reload {
        /// The tenant, or all.
        org: Option<OrgId>,
    },
}

struct Ranked {
    member: Arc<member::Model>,
    target: Option<Decimal>,
}

/// One organization's ranking in one current period.
pub struct HotPeriod {
    period: Period,
    state: RwLock<Ranking>,
}

#[derive(Default)]
struct Ranking {
    points: HashMap<Uuid, i64>,
    /// Counting activities per member, read with the points.
    counts: HashMap<Uuid, i64>,
    order: BTreeSet<(Reverse<i64>, String, Uuid)>,
    members: HashMap<Uuid, Ranked>,
    /// Per member, points and counting activities per activity type, read with the totals.
    types: HashMap<Uuid, TypeTotals>,
    /// Per member, the ticket of the re-read whose total the ranking holds (see
    /// [`HotBoards::refresh_members`]).
    tickets: HashMap<Uuid, u64>,
}

/// One member's `(activity type, points in hundredths, counting activities)`.
pub type TypeTotals = Vec<(Uuid, i64, i64)>;

/// A ranked member's standing in the current period.
#[derive(Debug, Clone)]
pub struct Standing {
    /// Points, hundredths.
    pub points: i64,
    /// Counting activities.
    pub count: i64,
    /// The target for the period.
    pub target: Option<Decimal>,
    /// Points and counts per activity type.
    pub by_type: TypeTotals,
}

fn sums(by_type: &[(Uuid, i64, i64)]) -> (i64, i64) {
    by_type.iter().fold((0, 0), |(p, n), (_, points, count)| (p + points, n + count))
}

impl Ranking {
    fn key(&self, member: Uuid, points: i64) -> Option<(Reverse<i64>, String, Uuid)> {
        self.members.get(&member).map(|r| (Reverse(points), r.member.name.to_lowercase(), member))
    }

    fn set(&mut self, member: Uuid, points: i64) {
        let Some(old) = self.points.get(&member).copied() else { return };
        if let Some(k) = self.key(member, old) {
            self.order.remove(&k);
        }
        if let Some(k) = self.key(member, points) {
            self.order.insert(k);
        }
        self.points.insert(member, points);
    }

    /// Sets a member's total read under `ticket`, unless a re-read that started later has
    /// already been applied (it saw at least every commit this one saw).
    fn set_read(&mut self, member: Uuid, by_type: TypeTotals, ticket: u64) {
        if self.tickets.get(&member).is_some_and(|&seen| seen > ticket) {
            return;
        }
        self.tickets.insert(member, ticket);
        let (points, count) = sums(&by_type);
        self.set(member, points);
        if self.points.contains_key(&member) {
            self.counts.insert(member, count);
            self.types.insert(member, by_type);
        }
    }
}

impl HotPeriod {
    /// The period this ranking covers.
    pub fn period(&self) -> Period {
        self.period
    }

    /// A ranked (active) member's points, counting activities and target for the period.
    pub fn member(&self, member: Uuid) -> Option<Standing> {
        let state = self.state.read().ok()?;
        let points = *state.points.get(&member)?;
        let count = state.counts.get(&member).copied().unwrap_or(0);
        let by_type = state.types.get(&member).cloned().unwrap_or_default();
        Some(Standing { points, count, target: state.members.get(&member)?.target, by_type })
    }

    /// The top `first` members by points among `scope` (all when `None`), with standard
    /// competition ranks, and how many are ranked in all.
    pub fn board(&self, scope: Option<&HashSet<Uuid>>, first: usize, now: DateTime<Utc>) -> BoardData {
        let Ok(state) = self.state.read() else {
            return BoardData { period: self.period, entries: Vec::new(), total_entries: 0, computed_at: now };
        };
        let mut entries = Vec::new();
        let mut total = 0usize;
        let mut previous: Option<(i64, u32)> = None;
        for (Reverse(points), _, id) in &state.order {
            let Some(r) = state.members.get(id) else { continue };
            if scope.is_some_and(|s| !r.member.team_id.is_some_and(|t| s.contains(&t))) {
                continue;
            }
            total += 1;
            let place = u32::try_from(total).unwrap_or(u32::MAX);
            let rank = match previous {
                Some((p, r)) if p == *points => r,
                _ => place,
            };
            previous = Some((*points, rank));
            if entries.len() == first && scope.is_none() {
                // Unscoped, every ranked member counts: the rest need not be walked.
                total = state.order.len();
                break;
            }
            if entries.len() < first {
                entries.push(BoardEntry {
                    rank,
                    value: Some(*points as f64 / 100.0),
                    points_cents: *points,
                    attainment: model::Attainment::new(*points, r.target),
                    member: Some(Arc::clone(&r.member)),
                    team: None,
                });
            }
        }
        BoardData { period: self.period, entries, total_entries: total, computed_at: now }
    }
}

/// Computed boards of periods that have ended, per organization: they change only when an
/// activity is logged or voided on one of their days (or members, teams or targets change),
/// so they are served from memory instead of re-aggregating the day totals each time.
#[derive(Default)]
struct PastBoards {
    boards: HashMap<(OrgId, BoardRequest, NaiveDate), (Period, Arc<BoardData>)>,
    /// Per organization: a sequence number and the recently changed days (`None`: all), so a
    /// board computed while one of its days changed is not kept.
    changes: HashMap<OrgId, Changes>,
    /// Bumped when every organization's boards are dropped at once.
    generation: u64,
}

/// Where an organization's changes stood: (generation, sequence).
pub type PastMark = (u64, u64);

impl PastBoards {
    fn get(&self, org: OrgId, request: BoardRequest, period: &Period) -> Option<Arc<BoardData>> {
        self.boards.get(&(org, request, period.start_date)).filter(|(p, _)| p == period).map(|(_, b)| b.clone())
    }

    fn sequence(&self, org: OrgId) -> PastMark {
        (self.generation, self.changes.get(&org).map_or(0, |c| c.0))
    }

    /// Keeps a board computed from `sequence` on, unless one of its days changed since then
    /// (or too much changed to tell).
    fn keep(&mut self, org: OrgId, request: BoardRequest, mark: PastMark, board: &BoardData) {
        let period = board.period;
        if !self.untouched(org, mark, period.start_date, period.end_date) {
            return;
        }
        if self.boards.len() >= PAST_BOARDS {
            self.boards.clear();
        }
        self.boards.insert((org, request, period.start_date), (period, Arc::new(board.clone())));
    }

    /// Whether no day in `[from, to)` of the organization changed since `mark` (false when too
    /// much changed to tell).
    fn untouched(&self, org: OrgId, (generation, sequence): PastMark, from: NaiveDate, to: NaiveDate) -> bool {
        if generation != self.generation {
            return false;
        }
        let Some((now, recent)) = self.changes.get(&org) else { return true };
        if *now == sequence {
            return true;
        }
        let oldest = recent.front().map_or(*now, |(s, _)| *s);
        sequence + 1 >= oldest
            && !recent
                .iter()
                .rev()
                .take_while(|(s, _)| *s > sequence)
                .any(|(_, day)| day.is_none_or(|d| d >= from && d < to))
    }

    /// Drops boards containing `day` (all of the organization's when `None`; of every
    /// organization when `org` is `None`) and records the change.
    fn forget(&mut self, org: Option<OrgId>, day: Option<NaiveDate>) {
        self.boards.retain(|(o, _, _), (p, _)| {
            org.is_some_and(|x| x != *o) || day.is_some_and(|d| d < p.start_date || d >= p.end_date)
        });
        let Some(o) = org else {
            self.generation += 1;
            return;
        };
        let (seq, recent) = self.changes.entry(o).or_default();
        *seq += 1;
        recent.push_back((*seq, day));
        if recent.len() > RECENT_CHANGES {
            recent.pop_front();
        }
    }
}

/// An organization's change sequence and its recent changes: (sequence, day or all).
type Changes = (u64, VecDeque<(u64, Option<NaiveDate>)>);

/// The live feeds by board.
type Feeds = HashMap<(OrgId, BoardRequest), Arc<watch::Sender<FeedValue>>>;

/// Most remembered changes per organization (about 20 s of a busy floor).
const RECENT_CHANGES: usize = 4096;
/// Most cached past boards in all.
const PAST_BOARDS: usize = 10_000;

/// The latest board of a live feed (`None` until its first computation).
pub type FeedValue = Option<Result<Arc<BoardData>, Arc<AppError>>>;

#[derive(Default)]
struct Cache {
    periods: HashMap<(OrgId, PeriodGrain), Arc<HotPeriod>>,
    epochs: HashMap<OrgId, u64>,
}

/// The hot rankings of this process.
pub struct HotBoards {
    db: DatabaseConnection,
    cache: Mutex<Cache>,
    updates: broadcast::Sender<BoardUpdate>,
    /// One feed per distinct board: subscribers of the same board share its computation.
    feeds: Mutex<Feeds>,
    past: Mutex<PastBoards>,
    /// Moved again once an event is applied: answers cached between the event's arrival and
    /// this point may have read the rankings before they caught up.
    versions: DataVersions,
    /// Tickets of member re-reads, taken before each read is sent: concurrent writers re-read
    /// after their own commits and may finish out of order, and a read that started later
    /// never loses to one that started earlier.
    reads: std::sync::atomic::AtomicU64,
    /// Each organization's target book, kept until membership (targets) changes.
    books: TenantSnapshots<TargetBook>,
    /// Each organization's activity types, kept until its rules change.
    types: TenantSnapshots<HashMap<Uuid, activity_type::Model>>,
    /// Each organization's campaigns that had not ended when read, kept until its rules change.
    campaigns: TenantSnapshots<Vec<campaign::Model>>,
    /// Each organization's streaks of the current week (see [`HotBoards::streak`]).
    streaks: Mutex<HashMap<OrgId, OrgStreaks>>,
    /// Turns for computing an organization's streaks, so concurrent first asks make one read.
    streak_turns: Box<[tokio::sync::Mutex<()>]>,
    events: EventBus,
}

/// An organization's streaks as computed for one week: all active members' in one read, then
/// kept until a day before the week changes for one of them (that member is computed again
/// alone) or the week, the targets or the members do (all are computed again).
struct OrgStreaks {
    /// The first day of the week they were computed in.
    week: NaiveDate,
    /// The organization's membership version (targets, start dates) they were computed from.
    version: u64,
    /// Members' streaks.
    weeks: HashMap<Uuid, u32>,
    /// Per member, how many changes to their days before `week` came since these streaks
    /// started being computed: a computation keeps a member's streak only if this did not move
    /// while it read.
    changed: HashMap<Uuid, u64>,
}

/// Most streaks kept in all (beyond it every organization's are dropped).
const STREAKS: usize = 200_000;
/// How many organizations' streak computations can run at once.
const STREAK_TURNS: usize = 16;
/// How many complete weeks a streak looks back at most.
const STREAK_WEEKS: i64 = 52;

impl std::fmt::Debug for HotBoards {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HotBoards")
    }
}

/// What [`HotBoards::kept_streak`] found.
enum Kept {
    /// The member's streak.
    Streak(u32),
    /// The organization's streaks are current but not this member's (their change count).
    Member(u64),
    /// The organization's streaks are missing or outdated.
    None,
}

/// Most bus events the updater takes in one run.
const DRAIN: usize = 64;

/// How often a build is retried when score changes keep landing while it reads.
const BUILD_ATTEMPTS: usize = 5;

impl HotBoards {
    /// Starts the updater on the bus. Target books are kept for at most `ttl` (zero: read each
    /// time), like the other membership caches.
    pub fn start(db: DatabaseConnection, events: &EventBus, ttl: std::time::Duration) -> Arc<HotBoards> {
        let (updates, _) = broadcast::channel(4096);
        let hot = Arc::new(HotBoards {
            db,
            cache: Mutex::default(),
            updates,
            feeds: Mutex::default(),
            past: Mutex::default(),
            versions: events.data_versions().clone(),
            reads: std::sync::atomic::AtomicU64::new(0),
            books: TenantSnapshots::new(events.clone(), ttl, crate::org::directory::ORGANIZATIONS),
            types: TenantSnapshots::new(events.clone(), ttl, crate::org::directory::ORGANIZATIONS),
            campaigns: TenantSnapshots::new(events.clone(), ttl, crate::org::directory::ORGANIZATIONS),
            streaks: Mutex::default(),
            streak_turns: (0..STREAK_TURNS).map(|_| tokio::sync::Mutex::new(())).collect(),
            events: events.clone(),
        });
        let rx = events.subscribe();
        tokio::spawn(Self::run(Arc::downgrade(&hot), rx));
        hot
    }

    /// Announcements that the hot state changed.
    pub fn subscribe(&self) -> broadcast::Receiver<BoardUpdate> {
        self.updates.subscribe()
    }

    /// The organization's activity types (archived ones too) by ID, kept until its rules change.
    pub async fn activity_types(&self, org: OrgId) -> AppResult<Arc<HashMap<Uuid, activity_type::Model>>> {
        self.types
            .get(org, || async {
                Ok(store::all_activity_types(org, &self.db).await?.into_iter().map(|t| (t.id, t)).collect())
            })
            .await
    }

    /// The organization's campaigns with `status` at `now` (running or upcoming), newest start
    /// first, from the campaigns that had not ended when they were last read: kept until its
    /// rules change (every campaign write announces itself), so a campaign that ends or
    /// starts meanwhile moves by the clock alone. `None` for another status.
    pub async fn campaigns(
        &self,
        org: OrgId,
        status: CampaignStatus,
        now: DateTime<Utc>,
    ) -> AppResult<Option<Vec<campaign::Model>>> {
        if status == CampaignStatus::Ended {
            return Ok(None);
        }
        let live = self.campaigns.get(org, || store::campaigns_not_ended(org, &self.db, Utc::now())).await?;
        Ok(Some(live.iter().filter(|c| store::campaign_rule(c).status(now) == status).cloned().collect()))
    }

    /// The organization's target book, kept until its targets or members change.
    pub async fn target_book(&self, org: OrgId) -> AppResult<Arc<TargetBook>> {
        self.books.get(org, || scores::target_book(org, &self.db)).await
    }

    /// A member's score in a period, from memory where it can be: the current period's points,
    /// count, per-type breakdown and target from the ranking, the streak from the kept
    /// streaks, the target book and activity types kept. A past period and a member who is
    /// not ranked (deactivated) are read from the database.
    pub async fn member_score(
        &self,
        s: &OrgSettings,
        m: &member::Model,
        p: Period,
        now: DateTime<Utc>,
        parts: scores::ScoreParts,
    ) -> AppResult<scores::ScoreData> {
        let book = if parts.target || parts.streak { self.target_book(s.org).await? } else { Arc::default() };
        let ranked = match p.grain {
            Some(grain) => {
                let hot = self.current(s, grain, now).await?;
                if hot.period == p { hot.member(m.id) } else { None }
            }
            None => None,
        };
        let (points_cents, activity_count, ranked_types) = match ranked {
            Some(r) => (r.points, r.count, Some(r.by_type)),
            None => {
                let (points, count) =
                    scores::totals(s, &self.db, Some(&[m.id]), &p).await?.get(&m.id).copied().unwrap_or((0, 0));
                (points, count, None)
            }
        };
        let streak = if parts.streak { Some(self.streak(s, m, &book, now).await?) } else { None };
        let by_type = match (parts.by_type, ranked_types) {
            (false, _) => Vec::new(),
            (true, Some(rows)) => scores::by_type_of(rows, &*self.activity_types(s.org).await?),
            (true, None) => scores::by_type(s, &self.db, &[m.id], &p).await?,
        };
        Ok(scores::ScoreData::assemble(&book, m, p, now, (points_cents, activity_count), streak, by_type))
    }

    /// A member's streak now (see [`HotBoards::streak`]), with the organization's kept targets.
    pub async fn member_streak(&self, s: &OrgSettings, m: &member::Model, now: DateTime<Utc>) -> AppResult<u32> {
        let book = self.target_book(s.org).await?;
        self.streak(s, m, &book, now).await
    }

    /// Several members' streaks now, in their order: the kept ones looked up together, the
    /// others computed as [`HotBoards::streak`] does.
    pub async fn member_streaks(
        &self,
        s: &OrgSettings,
        members: &[&member::Model],
        now: DateTime<Utc>,
    ) -> AppResult<Vec<u32>> {
        let week =
            model::period_containing(PeriodGrain::Week, model::local_date(now, s.tz), s.tz, s.fiscal_year_start_month);
        let version = self.events.membership_version(s.org);
        let kept: Vec<Option<u32>> = match self.streaks.lock() {
            Ok(kept) => match kept.get(&s.org) {
                Some(k) if k.week == week.start_date && k.version == version => {
                    members.iter().map(|m| k.weeks.get(&m.id).copied()).collect()
                }
                _ => vec![None; members.len()],
            },
            Err(_) => vec![None; members.len()],
        };
        // The targets are read only when a streak has to be computed.
        let book = if kept.iter().any(Option::is_none) { self.target_book(s.org).await? } else { Arc::default() };
        let mut out = Vec::with_capacity(members.len());
        for (m, weeks) in members.iter().zip(kept) {
            out.push(match weeks {
                Some(w) => w,
                None => self.streak(s, m, &book, now).await?,
            });
        }
        Ok(out)
    }

    /// A member's streak: consecutive complete weeks on target, counting back from last week.
    /// The first ask of a week computes the streaks of all the organization's active members
    /// in one read of their day totals (concurrent asks wait for it); they are kept for the
    /// week until one of the looked-at days of a member changes (an activity logged back in
    /// time or voided: that member alone is read again) or the targets or members change.
    async fn streak(
        &self,
        s: &OrgSettings,
        m: &member::Model,
        book: &TargetBook,
        now: DateTime<Utc>,
    ) -> AppResult<u32> {
        let week =
            model::period_containing(PeriodGrain::Week, model::local_date(now, s.tz), s.tz, s.fiscal_year_start_month);
        let version = self.events.membership_version(s.org);
        let current = |k: &OrgStreaks| k.week == week.start_date && k.version == version;
        match self.kept_streak(s.org, m.id, current) {
            Kept::Streak(weeks) => return Ok(weeks),
            Kept::Member(changed) => return self.member_streak_again(s, m, book, &week, version, changed).await,
            Kept::None => {}
        }
        let turn = &self.streak_turns[usize::from(s.org.0.as_bytes()[15]) % STREAK_TURNS];
        let _turn = turn.lock().await;
        match self.kept_streak(s.org, m.id, current) {
            Kept::Streak(weeks) => return Ok(weeks),
            Kept::Member(changed) => return self.member_streak_again(s, m, book, &week, version, changed).await,
            Kept::None => {}
        }
        if let Ok(mut kept) = self.streaks.lock() {
            if kept.values().map(|k| k.weeks.len()).sum::<usize>() >= STREAKS {
                kept.clear();
            }
            kept.insert(
                s.org,
                OrgStreaks { week: week.start_date, version, weeks: HashMap::new(), changed: HashMap::new() },
            );
        }
        let all = super::streaks::streaks_of_all(s, &self.db, book, &week, STREAK_WEEKS).await?;
        let mine = all.get(&m.id).copied();
        if let Ok(mut kept) = self.streaks.lock()
            && let Some(k) = kept.get_mut(&s.org)
            && current(k)
        {
            let changed = &k.changed;
            k.weeks.extend(all.into_iter().filter(|(member, _)| !changed.contains_key(member)));
        }
        match mine {
            Some(weeks) => Ok(weeks),
            // Not active when read (or added since): computed alone.
            None => self.member_streak_again(s, m, book, &week, version, 0).await,
        }
    }

    /// What is kept of a member's streak in the organization's current streaks.
    fn kept_streak(&self, org: OrgId, member: Uuid, current: impl Fn(&OrgStreaks) -> bool) -> Kept {
        let Ok(kept) = self.streaks.lock() else { return Kept::None };
        match kept.get(&org) {
            Some(k) if current(k) => match k.weeks.get(&member) {
                Some(weeks) => Kept::Streak(*weeks),
                None => Kept::Member(k.changed.get(&member).copied().unwrap_or(0)),
            },
            _ => Kept::None,
        }
    }

    /// Computes one member's streak alone and keeps it unless their days changed meanwhile
    /// (`changed`: their change count when the computation started).
    async fn member_streak_again(
        &self,
        s: &OrgSettings,
        m: &member::Model,
        book: &TargetBook,
        week: &Period,
        version: u64,
        changed: u64,
    ) -> AppResult<u32> {
        let weeks = super::streaks::streak_of(s, &self.db, m, book, week, STREAK_WEEKS).await?;
        if let Ok(mut kept) = self.streaks.lock()
            && let Some(k) = kept.get_mut(&s.org)
            && k.week == week.start_date
            && k.version == version
            && k.changed.get(&m.id).copied().unwrap_or(0) == changed
        {
            k.weeks.insert(m.id, weeks);
        }
        Ok(weeks)
    }

    /// Records that a member's day changed: their kept streak goes if the day is before the
    /// week it was computed for (every member's when the day is unknown).
    fn forget_streak(&self, org: OrgId, member: Uuid, day: Option<NaiveDate>) {
        let Ok(mut kept) = self.streaks.lock() else { return };
        let Some(k) = kept.get_mut(&org) else { return };
        match day {
            Some(d) if d >= k.week => {}
            Some(_) => {
                k.weeks.remove(&member);
                *k.changed.entry(member).or_default() += 1;
            }
            None => {
                kept.remove(&org);
            }
        }
    }

    /// Drops kept streaks: the organization's, or every organization's when `None`.
    fn forget_streaks(&self, org: Option<OrgId>) {
        if let Ok(mut kept) = self.streaks.lock() {
            match org {
                Some(o) => {
                    kept.remove(&o);
                }
                None => kept.clear(),
            }
        }
    }

    /// A cached board of an ended period, if there is one.
    pub fn past_board(&self, org: OrgId, request: BoardRequest, period: &Period) -> Option<Arc<BoardData>> {
        self.past.lock().ok()?.get(org, request, period)
    }

    /// Where the organization's change sequence stands (read before computing a past board).
    pub fn past_sequence(&self, org: OrgId) -> PastMark {
        self.past.lock().ok().map_or((u64::MAX, 0), |p| p.sequence(org))
    }

    /// Keeps a computed past board unless one of its days changed since `sequence`.
    pub fn keep_past_board(&self, org: OrgId, request: BoardRequest, sequence: PastMark, board: &BoardData) {
        if let Ok(mut past) = self.past.lock() {
            past.keep(org, request, sequence, board);
        }
    }

    fn forget_past(&self, org: Option<OrgId>, day: Option<NaiveDate>) {
        if let Ok(mut past) = self.past.lock() {
            past.forget(org, day);
        }
    }

    /// A receiver of the board's running live feed, if there is one.
    pub fn existing_feed(&self, org: OrgId, request: BoardRequest) -> Option<watch::Receiver<FeedValue>> {
        self.feeds.lock().ok()?.get(&(org, request)).map(|tx| tx.subscribe())
    }

    /// A receiver of the board's live feed; when none runs, registers one and calls `start`
    /// with its sender (which must keep it fed and call [`HotBoards::retire_feed`]).
    pub fn feed(
        &self,
        org: OrgId,
        request: BoardRequest,
        start: impl FnOnce(Arc<watch::Sender<FeedValue>>),
    ) -> watch::Receiver<FeedValue> {
        let Ok(mut feeds) = self.feeds.lock() else {
            // A poisoned registry: an unshared feed still works.
            let (tx, rx) = watch::channel(None);
            start(Arc::new(tx));
            return rx;
        };
        if let Some(tx) = feeds.get(&(org, request)) {
            return tx.subscribe();
        }
        let (tx, rx) = watch::channel(None);
        let tx = Arc::new(tx);
        feeds.insert((org, request), tx.clone());
        start(tx);
        rx
    }

    /// Removes a feed nobody listens to; true when removed (its task should end). Checked
    /// under the registry's lock, so a subscriber arriving at the same time is never left on
    /// a dead feed. `force` removes it regardless.
    pub fn retire_feed(&self, org: OrgId, request: BoardRequest, tx: &watch::Sender<FeedValue>, force: bool) -> bool {
        let Ok(mut feeds) = self.feeds.lock() else { return tx.receiver_count() == 0 };
        if !force && tx.receiver_count() > 0 {
            return false;
        }
        if feeds.get(&(org, request)).is_some_and(|t| std::ptr::eq(t.as_ref(), tx)) {
            feeds.remove(&(org, request));
        }
        true
    }

    async fn run(hot: std::sync::Weak<HotBoards>, mut rx: broadcast::Receiver<Event>) {
        loop {
            let first = rx.recv().await;
            let Some(hot) = hot.upgrade() else { return };
            // Take what else is already queued (up to a bound): a member with several changes
            // in the run is re-read once, and the announcements go out together.
            let mut events = vec![first];
            while events.len() < DRAIN {
                match rx.try_recv() {
                    Ok(e) => events.push(Ok(e)),
                    Err(broadcast::error::TryRecvError::Lagged(n)) => {
                        events.push(Err(broadcast::error::RecvError::Lagged(n)));
                    }
                    Err(_) => break,
                }
            }
            // The members whose totals to re-read, per organization, each once.
            let mut refresh: HashMap<OrgId, HashSet<Uuid>> = HashMap::new();
            let mut updates: Vec<BoardUpdate> = Vec::new();
            for event in events {
                let update = match event {
                    Ok(Event::ScoreChanged { org, member, team, day, ranked, .. }) => {
                        let org = OrgId(org);
                        hot.forget_past(Some(org), day);
                        hot.forget_streak(org, member, day);
                        // This instance's own writes were re-read before they were announced.
                        if !ranked {
                            refresh.entry(org).or_default().insert(member);
                        }
                        BoardUpdate::Scores { org, team }
                    }
                    Ok(Event::OrganizationChanged { org }) | Ok(Event::MembersChanged { org }) => {
                        // The rankings are rebuilt from the database: no re-read needed.
                        hot.invalidate(Some(OrgId(org)));
                        hot.forget_past(Some(OrgId(org)), None);
                        hot.forget_streaks(Some(OrgId(org)));
                        refresh.remove(&OrgId(org));
                        BoardUpdate::Reload { org: Some(OrgId(org)) }
                    }
                    Ok(Event::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        hot.invalidate(None);
                        hot.forget_past(None, None);
                        hot.forget_streaks(None);
                        refresh.clear();
                        BoardUpdate::Reload { org: None }
                    }
                    // Rules change how future activities score, not the totals ranked here.
                    Ok(
                        Event::DealChanged { .. }
                        | Event::AlertRaised { .. }
                        | Event::ForecastChanged { .. }
                        | Event::RulesChanged { .. }
                        | Event::AccessChanged { .. }
                        | Event::DataChanged { .. },
                    ) => {
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                if !updates.contains(&update) {
                    updates.push(update);
                }
            }
            for (org, members) in refresh {
                hot.refresh_members(org, &members.into_iter().collect::<Vec<_>>()).await;
            }
            for update in updates {
                match &update {
                    BoardUpdate::Scores { org, .. } | BoardUpdate::Reload { org: Some(org) } => hot.versions.bump(*org),
                    BoardUpdate::Reload { org: None } => hot.versions.bump_all(),
                }
                let _ = hot.updates.send(update);
            }
        }
    }

    fn invalidate(&self, org: Option<OrgId>) {
        if let Ok(mut cache) = self.cache.lock() {
            match org {
                Some(o) => {
                    cache.periods.retain(|(k, _), _| *k != o);
                    *cache.epochs.entry(o).or_default() += 1;
                }
                None => {
                    cache.periods.clear();
                    for e in cache.epochs.values_mut() {
                        *e += 1;
                    }
                }
            }
        }
    }

    /// Re-reads a member's totals into the cached rankings of their organization. The updater
    /// does this for every score change; the instance that made the change also calls it
    /// before answering, so a client reads its own write at once.
    pub async fn refresh_member(&self, org: OrgId, member: Uuid) {
        self.refresh_members(org, &[member]).await;
    }

    /// [`HotBoards::refresh_member`] for several members of one organization, with one query
    /// per cached period.
    pub async fn refresh_members(&self, org: OrgId, members: &[Uuid]) {
        if members.is_empty() {
            return;
        }
        let hot: Vec<Arc<HotPeriod>> = match self.cache.lock() {
            Ok(mut cache) => {
                *cache.epochs.entry(org).or_default() += 1;
                cache.periods.iter().filter(|((o, _), _)| *o == org).map(|(_, p)| p.clone()).collect()
            }
            Err(_) => return,
        };
        for p in hot {
            let ticket = self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            let totals =
                store::member_type_totals(org, &self.db, Some(members), p.period.start_date, p.period.end_date).await;
            match totals {
                Ok(mut t) => {
                    if let Ok(mut state) = p.state.write() {
                        for member in members {
                            state.set_read(*member, t.remove(member).unwrap_or_default(), ticket);
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(error = ?e, "refreshing a hot ranking failed; dropping it");
                    self.invalidate(Some(org));
                    return;
                }
            }
        }
    }

    /// The ranking of the organization's current period of `grain`, built on first use.
    pub async fn current(&self, s: &OrgSettings, grain: PeriodGrain, now: DateTime<Utc>) -> AppResult<Arc<HotPeriod>> {
        let today = model::local_date(now, s.tz);
        let key = (s.org, grain);
        let mut built = None;
        for _ in 0..BUILD_ATTEMPTS {
            let epoch = match self.cache.lock() {
                Ok(cache) => {
                    if let Some(p) = cache.periods.get(&key)
                        && p.period.start_date <= today
                        && today < p.period.end_date
                    {
                        return Ok(p.clone());
                    }
                    cache.epochs.get(&s.org).copied().unwrap_or(0)
                }
                Err(_) => 0,
            };
            let period = model::period_containing(grain, today, s.tz, s.fiscal_year_start_month);
            let fresh = Arc::new(self.build(s, period).await?);
            if let Ok(mut cache) = self.cache.lock()
                && cache.epochs.get(&s.org).copied().unwrap_or(0) == epoch
            {
                cache.periods.insert(key, fresh.clone());
                return Ok(fresh);
            }
            // A score changed while we read: what we built may miss it. Build again.
            built = Some(fresh);
        }
        // Under a steady stream of writes, serve the last build uncached rather than wait.
        match built {
            Some(b) => Ok(b),
            None => Ok(Arc::new(
                self.build(s, model::period_containing(grain, today, s.tz, s.fiscal_year_start_month)).await?,
            )),
        }
    }

    async fn build(&self, s: &OrgSettings, period: Period) -> AppResult<HotPeriod> {
        let members = scores::active_members(s.org, &self.db, None).await?;
        let mut totals = store::member_type_totals(s.org, &self.db, None, period.start_date, period.end_date).await?;
        let book = scores::target_book(s.org, &self.db).await?;
        let mut ranking = Ranking::default();
        for m in members {
            let by_type = totals.remove(&m.id).unwrap_or_default();
            let (points, count) = sums(&by_type);
            ranking.types.insert(m.id, by_type);
            let target = scores::member_target(&book, &m, &period);
            ranking.order.insert((Reverse(points), m.name.to_lowercase(), m.id));
            ranking.points.insert(m.id, points);
            ranking.counts.insert(m.id, count);
            ranking.members.insert(m.id, Ranked { member: Arc::new(m), target });
        }
        Ok(HotPeriod { period, state: RwLock::new(ranking) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(n: u128, name: &str, team: Option<Uuid>) -> member::Model {
        let now = Utc::now();
        member::Model {
            id: Uuid::from_u128(n),
            organization_id: Uuid::nil(),
            name: name.into(),
            email: format!("{n}@x.test"),
            role: "REP".into(),
            sales_role: "INBOUND".into(),
            team_id: team,
            start_date: now.date_naive(),
            active: true,
            password_hash: None,
            deactivated_at: None,
            ramp_percents: None,
            avatar_url: None,
            external_subject: None,
            locale: None,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    fn hot(members: Vec<(member::Model, i64)>) -> HotPeriod {
        let tz = chrono_tz::Europe::Amsterdam;
        let period = model::period_containing(PeriodGrain::Week, Utc::now().date_naive(), tz, 1);
        let mut r = Ranking::default();
        for (m, p) in members {
            r.order.insert((Reverse(p), m.name.to_lowercase(), m.id));
            r.points.insert(m.id, p);
            r.members.insert(m.id, Ranked { member: Arc::new(m), target: Some(Decimal::from(10)) });
        }
        HotPeriod { period, state: RwLock::new(r) }
    }

    fn ranks(b: &BoardData) -> Vec<(u32, String, i64)> {
        b.entries
            .iter()
            .map(|e| (e.rank, e.member.as_ref().map(|m| m.name.clone()).unwrap_or_default(), e.points_cents))
            .collect()
    }

    fn past(start: NaiveDate, days: i64) -> BoardData {
        let period = Period {
            start_date: start,
            end_date: start + chrono::Duration::days(days),
            ..model::period_containing(PeriodGrain::Week, start, chrono_tz::UTC, 1)
        };
        BoardData { period, entries: Vec::new(), total_entries: 0, computed_at: Utc::now() }
    }

    #[test]
    fn past_boards_are_kept_until_one_of_their_days_changes() {
        use super::super::scores::{BoardMetric, BoardSubject, PeriodSpec};
        let org = OrgId(Uuid::from_u128(1));
        let other = OrgId(Uuid::from_u128(2));
        let req = BoardRequest {
            spec: PeriodSpec::Grain(PeriodGrain::Quarter, None),
            team: None,
            subject: BoardSubject::Members,
            metric: BoardMetric::Points,
            first: 50,
        };
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).expect("date");
        let q3 = past(d(7, 1), 92);
        let mut p = PastBoards::default();
        // Nothing changed since the computation began: kept, and served for the same period only.
        let seq = p.sequence(org);
        p.keep(org, req, seq, &q3);
        assert!(p.get(org, req, &q3.period).is_some());
        assert!(p.get(other, req, &q3.period).is_none());
        assert!(p.get(org, req, &past(d(7, 1), 30).period).is_none());
        // A change on a day outside the period keeps it; inside drops it.
        p.forget(Some(org), Some(d(10, 5)));
        assert!(p.get(org, req, &q3.period).is_some());
        p.forget(Some(other), Some(d(8, 5)));
        assert!(p.get(org, req, &q3.period).is_some());
        p.forget(Some(org), Some(d(8, 5)));
        assert!(p.get(org, req, &q3.period).is_none());
        // A computation that raced a change inside the period is not kept; outside it is.
        let seq = p.sequence(org);
        p.forget(Some(org), Some(d(9, 30)));
        p.keep(org, req, seq, &q3);
        assert!(p.get(org, req, &q3.period).is_none());
        let seq = p.sequence(org);
        p.forget(Some(org), Some(d(10, 1)));
        p.keep(org, req, seq, &q3);
        assert!(p.get(org, req, &q3.period).is_some());
        // "Everything changed" drops every board, and a race with it is not kept.
        let seq = p.sequence(org);
        p.forget(None, None);
        assert!(p.get(org, req, &q3.period).is_none());
        p.keep(org, req, seq, &q3);
        assert!(p.get(org, req, &q3.period).is_none());
        // Too many changes to tell: not kept.
        let seq = p.sequence(org);
        for _ in 0..=RECENT_CHANGES {
            p.forget(Some(org), Some(d(12, 1)));
        }
        p.keep(org, req, seq, &q3);
        assert!(p.get(org, req, &q3.period).is_none());
    }

    #[test]
    fn competition_ranks_names_and_updates() {
        let team_a = Uuid::from_u128(100);
        let h = hot(vec![
            (member(1, "bob", Some(team_a)), 500),
            (member(2, "Alice", Some(team_a)), 500),
            (member(3, "carol", None), 900),
            (member(4, "dave", Some(team_a)), 100),
        ]);
        let now = Utc::now();
        let b = h.board(None, 10, now);
        assert_eq!(
            ranks(&b),
            vec![(1, "carol".into(), 900), (2, "Alice".into(), 500), (2, "bob".into(), 500), (4, "dave".into(), 100)]
        );
        assert_eq!(b.total_entries, 4);
        assert_eq!(b.entries[0].attainment.percent(), Some(90.0));
        // Scoped to team A, top 2: ranks are within the scope.
        let scope = HashSet::from([team_a]);
        let b = h.board(Some(&scope), 2, now);
        assert_eq!(ranks(&b), vec![(1, "Alice".into(), 500), (1, "bob".into(), 500)]);
        assert_eq!(b.total_entries, 3);
        // An update moves one member in O(log n).
        h.state.write().expect("lock").set(Uuid::from_u128(4), 1000);
        let b = h.board(None, 1, now);
        assert_eq!(ranks(&b), vec![(1, "dave".into(), 1000)]);
        assert_eq!(b.total_entries, 4, "the unscoped walk stops early but counts everyone");
        let b = h.board(None, 3, now);
        assert_eq!(ranks(&b), vec![(1, "dave".into(), 1000), (2, "carol".into(), 900), (3, "Alice".into(), 500)]);
        assert_eq!(b.total_entries, 4);
        // Unknown members (not active at build) are ignored.
        h.state.write().expect("lock").set(Uuid::from_u128(99), 5);
        assert_eq!(h.board(None, 10, now).total_entries, 4);
    }

    #[test]
    fn a_reread_that_started_earlier_never_overwrites_a_later_one() {
        let h = hot(vec![(member(1, "ann", None), 100), (member(2, "ben", None), 200)]);
        let (ann, ben) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let now = Utc::now();
        let mut state = h.state.write().expect("lock");
        // Ticket 2 (read after a later commit) lands first; ticket 1 arrives late and is stale.
        let ty = Uuid::from_u128(7);
        state.set_read(ann, vec![(ty, 300, 3)], 2);
        state.set_read(ann, vec![(ty, 250, 2)], 1);
        // The same ticket applies (one read, several periods); a newer one always does, even
        // when the total went down (a voided activity).
        state.set_read(ann, vec![(ty, 280, 2)], 2);
        state.set_read(ann, vec![(ty, 100, 0), (Uuid::from_u128(8), 20, 1)], 3);
        // Tickets are per member: ben's first read applies whatever its number.
        state.set_read(ben, vec![(ty, 50, 1)], 1);
        drop(state);
        assert_eq!(ranks(&h.board(None, 10, now)), vec![(1, "ann".into(), 120), (2, "ben".into(), 50)]);
        let standing = h.member(ann).expect("ranked");
        assert_eq!((standing.points, standing.count, standing.by_type.len()), (120, 1, 2), "sums of the types read");
    }
}
