//! Scores and leaderboards: reads the per-day totals through the store and applies the
//! rules of `model.rs` and `targets.rs`. Also the one place the API logs an activity, so the
//! points math is the same for `logActivity` and `logActivities` (the demo seed stores its
//! history rows directly).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DbBackend};
use uuid::Uuid;

use entity::{activity, activity_type, member};

use super::model::{self, ActivityUnit, Period, PeriodGrain};
use super::targets::{TargetBook, TargetEntry, scale_weekly};
use super::{cents_to_decimal, decimal_to_cents, store};
use crate::core::error::{AppError, AppResult};
use crate::core::field::FieldError;
use crate::core::ids::OrgId;
use crate::core::roles::SalesRole;
pub use crate::core::settings::{OrgSettings, SettingsCache, settings};
use crate::org::model::TeamTree;
use crate::org::store::{self as org_store, MemberFilter};

/// Which period a score or board covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeriodSpec {
    /// The period of this grain containing this local date (today when absent).
    Grain(PeriodGrain, Option<NaiveDate>),
    /// A campaign's window.
    Campaign(Uuid),
}

/// Resolves a period specification.
pub async fn resolve_period(
    s: &OrgSettings,
    db: &impl ConnectionTrait,
    spec: PeriodSpec,
    now: DateTime<Utc>,
) -> AppResult<Period> {
    match spec {
        PeriodSpec::Grain(grain, date) => {
            let date = date.unwrap_or_else(|| model::local_date(now, s.tz));
            Ok(model::period_containing(grain, date, s.tz, s.fiscal_year_start_month))
        }
        PeriodSpec::Campaign(id) => {
            let c = store::find_campaign(s.org, db, id).await?.ok_or(AppError::NotFound("campaign"))?;
            let rule = store::campaign_rule(&c);
            Ok(model::custom_period(rule.starts_at, rule.effective_end(), s.tz))
        }
    }
}

/// The target book of an organization.
pub async fn target_book(org: OrgId, db: &impl ConnectionTrait) -> AppResult<TargetBook> {
    let rows = store::all_targets(org, db).await?;
    Ok(TargetBook::new(
        rows.into_iter()
            .map(|t| TargetEntry {
                sales_role: t.sales_role.as_deref().and_then(SalesRole::parse),
                member_id: t.member_id,
                weekly_points: cents_to_decimal(t.weekly_points_cents),
                effective_from: t.effective_from,
            })
            .collect(),
    ))
}

fn period_days(p: &Period) -> i64 {
    (p.end_date - p.start_date).num_days().max(1)
}

/// A member's target for a period: the weekly target in effect at its start, scaled to its length.
pub fn member_target(book: &TargetBook, m: &member::Model, p: &Period) -> Option<Decimal> {
    let role = SalesRole::parse(&m.sales_role)?;
    book.weekly_target(m.id, role, p.start_date).map(|w| scale_weekly(w, period_days(p)))
}

/// Points and counts per member in a period (exact window for campaigns, day totals otherwise).
pub(crate) async fn totals(
    s: &OrgSettings,
    db: &impl ConnectionTrait,
    members: Option<&[Uuid]>,
    p: &Period,
) -> AppResult<HashMap<Uuid, (i64, i64)>> {
    match p.grain {
        Some(_) => store::member_totals(s.org, db, members, p.start_date, p.end_date).await,
        None => store::member_totals_in_window(s.org, db, members, p.start, p.end).await,
    }
}

/// A computed score.
#[derive(Debug, Clone)]
pub struct ScoreData {
    /// The period.
    pub period: Period,
    /// Points, hundredths.
    pub points_cents: i64,
    /// Counting activities.
    pub activity_count: i64,
    /// Target for the period.
    pub target: Option<Decimal>,
    /// Points ÷ target.
    pub attainment_percent: Option<f64>,
    /// Attainment ÷ elapsed share.
    pub pacing_percent: Option<f64>,
    /// Consecutive complete weeks on target (members only).
    pub streak_weeks: Option<u32>,
    /// Per activity type: (type, count, points in hundredths), most points first.
    pub by_type: Vec<(activity_type::Model, i64, i64)>,
}

pub(crate) async fn by_type(
    s: &OrgSettings,
    db: &impl ConnectionTrait,
    members: &[Uuid],
    p: &Period,
) -> AppResult<Vec<(activity_type::Model, i64, i64)>> {
    if members.is_empty() {
        return Ok(Vec::new());
    }
    let rows = match p.grain {
        Some(_) => store::type_totals(s.org, db, members, p.start_date, p.end_date).await?,
        None => store::type_totals_in_window(s.org, db, members, p.start, p.end).await?,
    };
    let ids: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
    let types: HashMap<Uuid, activity_type::Model> =
        store::activity_types_by_ids(s.org, db, &ids).await?.into_iter().map(|t| (t.id, t)).collect();
    Ok(by_type_of(rows, &types))
}

/// The per-type breakdown of `Score.byActivityType` from `(type, points, count)` rows: types
/// with neither points nor activities left out, unknown types left out, most points first,
/// then by name.
pub(crate) fn by_type_of(
    rows: Vec<(Uuid, i64, i64)>,
    types: &HashMap<Uuid, activity_type::Model>,
) -> Vec<(activity_type::Model, i64, i64)> {
    let mut out: Vec<(activity_type::Model, i64, i64)> = rows
        .into_iter()
        .filter(|(_, points, count)| *points != 0 || *count != 0)
        .filter_map(|(id, points, count)| types.get(&id).map(|t| (t.clone(), count, points)))
        .collect();
    out.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.name.cmp(&b.0.name)));
    out
}

/// Which of a score's costlier parts to compute (a client that does not select them does not
/// pay for the 52-week streak history or the per-type breakdown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScoreParts {
    /// `target`, `attainmentPercent` or `pacingPercent` (`streakWeeks` reads targets too).
    pub target: bool,
    /// `streakWeeks`.
    pub streak: bool,
    /// `byActivityType`.
    pub by_type: bool,
}

impl ScoreParts {
    /// Everything.
    pub const ALL: ScoreParts = ScoreParts { target: true, streak: true, by_type: true };
}

/// A member's score in a period (`streak_weeks` is `None`, `by_type` empty and the target
/// with what derives from it `None` when not asked for).
pub async fn member_score(
    s: &OrgSettings,
    db: &impl ConnectionTrait,
    m: &member::Model,
    p: Period,
    now: DateTime<Utc>,
    parts: ScoreParts,
) -> AppResult<ScoreData> {
    let book = if parts.target || parts.streak { target_book(s.org, db).await? } else { TargetBook::default() };
    let t = totals(s, db, Some(&[m.id]), &p).await?;
    let totals = t.get(&m.id).copied().unwrap_or((0, 0));
    let streak = if parts.streak {
        let this_week =
            model::period_containing(PeriodGrain::Week, model::local_date(now, s.tz), s.tz, s.fiscal_year_start_month);
        Some(super::streaks::streak_of(s, db, m, &book, &this_week, 52).await?)
    } else {
        None
    };
    let by_type = if parts.by_type { by_type(s, db, &[m.id], &p).await? } else { Vec::new() };
    Ok(ScoreData::assemble(&book, m, p, now, totals, streak, by_type))
}

impl ScoreData {
    /// A member's score from its parts: `totals` is (points in hundredths, counting activities).
    pub fn assemble(
        book: &TargetBook,
        m: &member::Model,
        p: Period,
        now: DateTime<Utc>,
        (points_cents, activity_count): (i64, i64),
        streak_weeks: Option<u32>,
        by_type: Vec<(activity_type::Model, i64, i64)>,
    ) -> ScoreData {
        let target = member_target(book, m, &p);
        let attainment = model::attainment_percent(cents_to_decimal(points_cents), target);
        ScoreData {
            period: p,
            points_cents,
            activity_count,
            target,
            attainment_percent: attainment,
            pacing_percent: model::pacing_percent(attainment, model::elapsed_share(&p, now)),
            streak_weeks,
            by_type,
        }
    }
}

/// The active members of a team's subtree (or of the whole organization).
pub async fn active_members(
    org: OrgId,
    db: &impl ConnectionTrait,
    team: Option<Uuid>,
) -> AppResult<Vec<member::Model>> {
    let team_ids = match team {
        Some(t) => Some(org_store::team_tree(org, db).await?.subtree([t]).into_iter().collect()),
        None => None,
    };
    org_store::all_members(org, db, &MemberFilter { team_ids, active: Some(true), ..Default::default() }).await
}

/// A team's score: the sums over its subtree's active members.
pub async fn team_score(
    s: &OrgSettings,
    db: &impl ConnectionTrait,
    team: Uuid,
    p: Period,
    now: DateTime<Utc>,
) -> AppResult<ScoreData> {
    let members = active_members(s.org, db, Some(team)).await?;
    let ids: Vec<Uuid> = members.iter().map(|m| m.id).collect();
    let book = target_book(s.org, db).await?;
    let t = totals(s, db, Some(&ids), &p).await?;
    let (points_cents, activity_count) = t.values().fold((0, 0), |acc, (p, n)| (acc.0 + p, acc.1 + n));
    let targets: Vec<Decimal> = members.iter().filter_map(|m| member_target(&book, m, &p)).collect();
    let target = (!targets.is_empty()).then(|| targets.iter().copied().sum());
    let attainment = model::attainment_percent(cents_to_decimal(points_cents), target);
    Ok(ScoreData {
        period: p,
        points_cents,
        activity_count,
        target,
        attainment_percent: attainment,
        pacing_percent: model::pacing_percent(attainment, model::elapsed_share(&p, now)),
        streak_weeks: None,
        by_type: by_type(s, db, &ids, &p).await?,
    })
}

/// A member's suggested weekly target: the 80th percentile of their last 12 complete weeks.
pub async fn suggested_target(
    s: &OrgSettings,
    db: &impl ConnectionTrait,
    m: &member::Model,
    now: DateTime<Utc>,
) -> AppResult<Option<Decimal>> {
    let this_week =
        model::period_containing(PeriodGrain::Week, model::local_date(now, s.tz), s.tz, s.fiscal_year_start_month);
    let from = this_week.start_date - Duration::weeks(12);
    let daily = store::member_daily_points(s.org, db, m.id, from, this_week.start_date).await?;
    let weeks = super::streaks::past_weeks(s, m, &this_week, 12, daily);
    let points: Vec<Decimal> = weeks.into_iter().map(|(_, p)| p).collect();
    Ok(model::suggested_target(&points))
}

/// A validated leaderboard request, before the period is resolved (subscriptions resolve it
/// again at every update, so "this week" rolls over). Equal requests of one organization
/// share one live feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BoardRequest {
    /// The period.
    pub spec: PeriodSpec,
    /// The team whose subtree is ranked (all when `None`).
    pub team: Option<Uuid>,
    /// Members or teams.
    pub subject: BoardSubject,
    /// Points or attainment.
    pub metric: BoardMetric,
    /// How many entries.
    pub first: usize,
}

/// Who is ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BoardSubject {
    /// Members.
    Members,
    /// Teams.
    Teams,
}

/// What they are ranked by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BoardMetric {
    /// Raw points.
    Points,
    /// Percent of their own target.
    TargetPercent,
}

/// A leaderboard request.
#[derive(Debug, Clone, Copy)]
pub struct BoardSpec {
    /// The period.
    pub period: Period,
    /// Scope: a team's subtree, or the whole organization.
    pub team: Option<Uuid>,
    /// Members or teams.
    pub subject: BoardSubject,
    /// Points or target percent.
    pub metric: BoardMetric,
    /// Entries to return.
    pub first: usize,
}

/// One ranked entry.
#[derive(Debug, Clone, PartialEq)]
pub struct BoardEntry {
    /// 1, 2, 2, 4…
    pub rank: u32,
    /// The ranked value (points or attainment).
    pub value: Option<f64>,
    /// Points, hundredths.
    pub points_cents: i64,
    /// Attainment of its own target for the period (a team's: the sum of its members' targets).
    pub attainment: model::Attainment,
    /// The member (MEMBERS boards), shared with the ranking it came from: a board and every
    /// subscriber's copy of it point at one record instead of copying its strings.
    pub member: Option<Arc<member::Model>>,
    /// The team (TEAMS boards).
    pub team: Option<entity::team::Model>,
}

/// A computed leaderboard.
#[derive(Debug, Clone)]
pub struct BoardData {
    /// The period.
    pub period: Period,
    /// The top entries.
    pub entries: Vec<BoardEntry>,
    /// Entries before truncation.
    pub total_entries: usize,
    /// When computed.
    pub computed_at: DateTime<Utc>,
}

/// (member, team, rank, points in hundredths, attainment in hundredths of a percent) per entry.
pub type Fingerprint = Vec<(Option<Uuid>, Option<Uuid>, u32, i64, Option<i64>)>;

impl BoardData {
    /// What subscribers compare to decide whether the board changed.
    pub fn fingerprint(&self) -> Fingerprint {
        self.entries
            .iter()
            .map(|e| {
                (
                    e.member.as_ref().map(|m| m.id),
                    e.team.as_ref().map(|t| t.id),
                    e.rank,
                    e.points_cents,
                    e.attainment.percent().map(|a| (a * 100.0).round() as i64),
                )
            })
            .collect()
    }
}

/// Computes a leaderboard.
pub async fn leaderboard(
    s: &OrgSettings,
    db: &impl ConnectionTrait,
    spec: BoardSpec,
    now: DateTime<Utc>,
) -> AppResult<BoardData> {
    let book = target_book(s.org, db).await?;
    let p = spec.period;
    let members = active_members(s.org, db, spec.team).await?;
    let ids: Vec<Uuid> = members.iter().map(|m| m.id).collect();
    let t = totals(s, db, Some(&ids), &p).await?;
    // The ranked value; ranking by attainment answers the entry's attainment once for both.
    let value = |points_cents: i64, attainment: &model::Attainment| match spec.metric {
        BoardMetric::Points => Some(points_cents as f64 / 100.0),
        BoardMetric::TargetPercent => attainment.percent(),
    };
    let entries: Vec<BoardEntry> = match spec.subject {
        BoardSubject::Members => members
            .into_iter()
            .map(|m| {
                let points_cents = t.get(&m.id).map_or(0, |x| x.0);
                let attainment = model::Attainment::new(points_cents, member_target(&book, &m, &p));
                BoardEntry {
                    rank: 0,
                    value: value(points_cents, &attainment),
                    points_cents,
                    attainment,
                    member: Some(Arc::new(m)),
                    team: None,
                }
            })
            .collect(),
        BoardSubject::Teams => {
            let teams = org_store::all_teams(s.org, db).await?;
            let tree = TeamTree::new(teams.iter().map(|t| (t.id, t.parent_team_id)));
            let ranked: Vec<&entity::team::Model> = teams.iter().filter(|t| t.parent_team_id == spec.team).collect();
            ranked
                .into_iter()
                .map(|team| {
                    let subtree: HashSet<Uuid> = tree.subtree([team.id]);
                    let in_team: Vec<&member::Model> =
                        members.iter().filter(|m| m.team_id.is_some_and(|t| subtree.contains(&t))).collect();
                    let points_cents: i64 = in_team.iter().map(|m| t.get(&m.id).map_or(0, |x| x.0)).sum();
                    let targets: Vec<Decimal> = in_team.iter().filter_map(|m| member_target(&book, m, &p)).collect();
                    let target = (!targets.is_empty()).then(|| targets.iter().copied().sum());
                    let attainment = model::Attainment::new(points_cents, target);
                    BoardEntry {
                        rank: 0,
                        value: value(points_cents, &attainment),
                        points_cents,
                        attainment,
                        member: None,
                        team: Some(team.clone()),
                    }
                })
                .collect()
        }
    };
    let total_entries = entries.len();
    let ranked = model::rank(
        entries,
        |e| e.value,
        |e| {
            e.member
                .as_ref()
                .map(|m| m.name.clone())
                .or_else(|| e.team.as_ref().map(|t| t.name.clone()))
                .unwrap_or_default()
        },
    );
    let entries = ranked.into_iter().take(spec.first).map(|(rank, e)| BoardEntry { rank, ..e }).collect();
    Ok(BoardData { period: p, entries, total_entries, computed_at: now })
}

// ---------------------------------------------------------------- logging

/// One activity to log, as parsed from the API.
#[derive(Debug, Clone)]
pub struct LogRequest {
    /// Type.
    pub activity_type_id: Uuid,
    /// For whom.
    pub member_id: Uuid,
    /// COUNT quantity (default 1).
    pub quantity: Option<i32>,
    /// PROGRESS cumulative percent.
    pub progress_percent: Option<i32>,
    /// PROGRESS work item.
    pub work_item_key: Option<String>,
    /// When (default now).
    pub occurred_at: Option<DateTime<Utc>>,
    /// Note.
    pub note: Option<String>,
    /// Retry key.
    pub idempotency_key: Option<String>,
    /// The deal it belongs to.
    pub deal_id: Option<Uuid>,
}

/// The webhook event of a logged activity.
pub const ACTIVITY_LOGGED: &str = "activity.logged";

/// What logging did.
#[derive(Debug, Clone)]
pub struct LogOutcome {
    /// The stored (or original, when replayed) activity.
    pub activity: activity::Model,
    /// True when the idempotency key was seen before and nothing was awarded.
    pub replayed: bool,
    /// The member's team, for event routing.
    pub team_id: Option<Uuid>,
}

/// Logs one activity inside the caller's write transaction. Field problems come back as
/// `Err(Ok(errors))`; permission and lookup failures as `Err(Err(AppError))`.
/// What a run of [`log_activity`] calls in one transaction reads once instead of per call:
/// members, activity types, the team tree and the campaigns at a moment. None of them is
/// changed by logging, so a batch of 500 looks each up once.
#[derive(Default)]
pub struct LogMemo {
    members: HashMap<Uuid, member::Model>,
    types: HashMap<Uuid, activity_type::Model>,
    tree: Option<TeamTree>,
    campaigns: HashMap<DateTime<Utc>, Vec<model::CampaignRule>>,
    /// A batch: new activities wait here for [`LogMemo::flush`] instead of one INSERT each.
    pending: Option<Vec<activity::Model>>,
    /// In a batch, the activities under each (member, idempotency key): stored ones read up
    /// front in one query, and the batch's own.
    keys: HashMap<(Uuid, String), activity::Model>,
    /// Campaigns read once for every activity of a batch whose time falls in `[from, to]`.
    window: Option<(DateTime<Utc>, DateTime<Utc>, Vec<model::CampaignRule>)>,
    /// The organization's rules kept by this instance, if the batch was given the cache.
    rules: Option<std::sync::Arc<super::cache::OrgRules>>,
    /// Quantity members logged for themselves per (member, type, local day): stored ones read
    /// for the whole batch by [`LogMemo::read_self_quantities`], plus the batch's own.
    self_quantities: HashMap<(Uuid, Uuid, NaiveDate), i64>,
    /// The keys of `self_quantities` read from the database (absent there: none logged yet).
    self_read: HashSet<(Uuid, Uuid, NaiveDate)>,
    /// This instance's self-logged quantities, if the batch was given the cache.
    self_logged: Option<std::sync::Arc<super::cache::SelfLogged>>,
    /// The batch's own self-logged quantities, counted into `self_logged` by
    /// [`LogMemo::count_self_logged`] once the batch is written.
    self_added: HashMap<(Uuid, Uuid, NaiveDate), i64>,
}

impl LogMemo {
    /// A memo for a batch of `requests` in one transaction: their members and the activities
    /// already stored under their idempotency keys are read with one query each, and the new
    /// activities are written together by [`LogMemo::flush`]. With a `cache`, members, activity
    /// types, campaigns and webhooks it keeps are not read again (see [`super::cache`]).
    pub async fn batch(
        s: &OrgSettings,
        db: &impl ConnectionTrait,
        requests: &[LogRequest],
        cache: Option<&super::cache::LogCache>,
    ) -> AppResult<LogMemo> {
        Self::prepare(s, db, requests, cache, true).await
    }

    /// Like [`LogMemo::batch`] without reading the stored idempotency keys: for a batch written
    /// by [`store::insert_activities_at_once`], which skips the activities whose key is taken
    /// and tells which were stored. Only keys repeated within the batch replay here.
    pub async fn batch_unread_keys(
        s: &OrgSettings,
        db: &impl ConnectionTrait,
        requests: &[LogRequest],
        cache: &super::cache::LogCache,
    ) -> AppResult<LogMemo> {
        Self::prepare(s, db, requests, Some(cache), false).await
    }

    async fn prepare(
        s: &OrgSettings,
        db: &impl ConnectionTrait,
        requests: &[LogRequest],
        cache: Option<&super::cache::LogCache>,
        read_keys: bool,
    ) -> AppResult<LogMemo> {
        let org = s.org;
        let mut member_ids: Vec<Uuid> = requests.iter().map(|r| r.member_id).collect();
        member_ids.sort_unstable();
        member_ids.dedup();
        let (mut members, missing) = match cache {
            Some(cache) => cache.members(org, &member_ids),
            None => (Vec::new(), member_ids),
        };
        if !missing.is_empty() {
            let epoch = cache.map(super::cache::LogCache::member_epoch);
            let read = org_store::members_by_ids(org, db, &missing).await?;
            if let (Some(cache), Some(epoch)) = (cache, epoch) {
                cache.put_members(&read, epoch);
            }
            members.extend(read);
        }
        let members = members.into_iter().map(|m| (m.id, m)).collect();
        let mut pairs: Vec<(Uuid, String)> = requests
            .iter()
            .filter_map(|r| {
                let key = r.idempotency_key.as_deref().and_then(|k| model::parse_idempotency_key(k).ok())?;
                Some((r.member_id, key))
            })
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        let stored = if pairs.is_empty() || !read_keys {
            Vec::new()
        } else {
            store::find_by_idempotency_keys(org, db, &pairs).await?
        };
        let keys = stored.into_iter().filter_map(|a| Some(((a.member_id, a.idempotency_key.clone()?), a))).collect();
        let rules = match cache {
            Some(cache) => cache.rules(org, s.open_window_days, db).await?,
            None => None,
        };
        let self_logged = cache.and_then(super::cache::LogCache::self_logged);
        Ok(LogMemo { members, keys, rules, self_logged, pending: Some(Vec::new()), ..LogMemo::default() })
    }

    /// Reads the campaigns running at any of `times` (the batch's activity times) in one query
    /// (none when the kept rules cover them): activities of the batch need no campaign query
    /// of their own.
    pub async fn read_campaigns(
        &mut self,
        org: OrgId,
        db: &impl ConnectionTrait,
        times: impl Iterator<Item = DateTime<Utc>> + Clone,
    ) -> AppResult<()> {
        if let (Some(from), Some(to)) = (times.clone().min(), times.max()) {
            self.window = Some(match &self.rules {
                Some(rules) if from >= rules.campaigns_from => {
                    (rules.campaigns_from, DateTime::<Utc>::MAX_UTC, rules.campaigns.clone())
                }
                _ => (from, to, store::campaigns_between(org, db, from, to).await?),
            });
        }
        Ok(())
    }

    /// Reads, in one query, what the members of the batch's self-logged requests — `(member,
    /// activity type, time)` — already logged for themselves on those local days, so the
    /// per-day ceiling needs no query per activity. Figures this instance keeps are not read
    /// again (see [`super::cache::SelfLogged`]).
    pub async fn read_self_quantities(
        &mut self,
        s: &OrgSettings,
        db: &impl ConnectionTrait,
        requests: impl Iterator<Item = (Uuid, Uuid, DateTime<Utc>)>,
    ) -> AppResult<()> {
        let mut keys: Vec<(Uuid, Uuid, NaiveDate)> = requests
            .map(|(member, activity_type, at)| (member, activity_type, model::local_date(at, s.tz)))
            .filter(|k| !self.self_read.contains(k))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        if keys.is_empty() {
            return Ok(());
        }
        let (found, missing) = match &self.self_logged {
            Some(kept) => kept.get(s.org, &keys),
            None => (Vec::new(), keys),
        };
        let mut figures = found;
        if !missing.is_empty() {
            let stored = store::self_logged_quantities(s.org, db, &missing).await?;
            for key in missing {
                let stored = stored.get(&key).copied().unwrap_or(0);
                let figure = match &self.self_logged {
                    Some(kept) => kept.put(s.org, key, stored),
                    None => stored,
                };
                figures.push((key, figure));
            }
        }
        for (key, figure) in figures {
            *self.self_quantities.entry(key).or_default() += figure;
            self.self_read.insert(key);
        }
        Ok(())
    }

    /// Counts the batch's self-logged quantities into this instance's figures: call it once
    /// the batch's activities are written (or about to commit), so the next batch sees them.
    pub fn count_self_logged(&mut self, org: OrgId) {
        let added = std::mem::take(&mut self.self_added);
        if let Some(kept) = &self.self_logged {
            for (key, quantity) in added {
                kept.add(org, key, quantity);
            }
        }
    }

    /// Queues the `activity.logged` webhook deliveries of the batch's new activities, with
    /// the webhooks kept in memory when the batch's rules came from the cache.
    pub async fn queue_webhooks(
        &self,
        org: OrgId,
        db: &impl ConnectionTrait,
        events: Vec<serde_json::Value>,
    ) -> AppResult<()> {
        match &self.rules {
            Some(r) => crate::webhooks::store::enqueue_to(org, db, &r.webhooks, ACTIVITY_LOGGED, events).await,
            None => crate::webhooks::store::enqueue_all(org, db, ACTIVITY_LOGGED, events).await,
        }
    }

    /// The batch's new activities, handed over to be written by the caller.
    pub fn take_pending(&mut self) -> Vec<activity::Model> {
        self.pending.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Writes the batch's new activities and their day totals (a few statements in all).
    pub async fn flush(&mut self, org: OrgId, db: &impl ConnectionTrait) -> AppResult<()> {
        if let Some(pending) = self.pending.as_mut().filter(|p| !p.is_empty()) {
            store::insert_activities(org, db, pending).await?;
            pending.clear();
        }
        Ok(())
    }
}

pub async fn log_activity(
    s: &OrgSettings,
    db: &impl ConnectionTrait,
    logged_by: &crate::core::principal::Principal,
    reach: &crate::auth::Reach,
    req: LogRequest,
    now: DateTime<Utc>,
    memo: &mut LogMemo,
) -> Result<LogOutcome, Result<Vec<FieldError>, AppError>> {
    let m = match memo.members.get(&req.member_id) {
        Some(m) => m.clone(),
        None => {
            let m = org_store::find_member(s.org, db, req.member_id)
                .await
                .map_err(Err)?
                .ok_or(Err(AppError::NotFound("member")))?;
            memo.members.insert(m.id, m.clone());
            m
        }
    };
    if m.id != logged_by.member_id {
        reach.require(m.team_id, "this member").map_err(Err)?;
    } else if logged_by.role == crate::core::roles::Role::Viewer {
        return Err(Err(AppError::forbidden("viewers cannot log activities")));
    }
    let key = match &req.idempotency_key {
        Some(k) => Some(model::parse_idempotency_key(k).map_err(|e| Ok(vec![e]))?),
        None => None,
    };
    if let Some(k) = &key {
        let original = match memo.pending {
            Some(_) => memo.keys.get(&(m.id, k.clone())).cloned(),
            None => store::find_by_idempotency_key(s.org, db, m.id, k).await.map_err(Err)?,
        };
        if let Some(original) = original {
            if !replays(&original, &req) {
                return Err(Ok(vec![model::idempotency_key_reused()]));
            }
            return Ok(LogOutcome { activity: original, replayed: true, team_id: m.team_id });
        }
    }
    if !m.active {
        return Err(Ok(vec![FieldError::new("memberId", "INACTIVE", "that member is deactivated")]));
    }
    let kept = memo.rules.as_ref().and_then(|r| r.types.get(&req.activity_type_id));
    let t = match memo.types.get(&req.activity_type_id).or(kept) {
        Some(t) => t.clone(),
        None => {
            let t = store::find_activity_type(s.org, db, req.activity_type_id)
                .await
                .map_err(Err)?
                .ok_or(Err(AppError::NotFound("activity type")))?;
            memo.types.insert(t.id, t.clone());
            t
        }
    };
    let mut errors = Vec::new();
    if !t.active {
        errors.push(FieldError::new("activityTypeId", "ARCHIVED", "this activity type is archived"));
    }
    let occurred_at = req.occurred_at.unwrap_or(now);
    if let Err(e) = model::check_occurred_at(occurred_at, now, m.start_date, s.tz, s.open_window_days) {
        errors.push(e);
    }
    let note = model::parse_note(req.note.as_deref()).map_err(|e| errors.push(e)).ok().flatten();
    if let Some(deal) = req.deal_id {
        crate::pipeline::store::find_deal(s.org, db, deal)
            .await
            .map_err(Err)?
            .ok_or(Err(AppError::NotFound("deal")))?;
    }
    let unit = ActivityUnit::parse(&t.unit).unwrap_or(ActivityUnit::Count);
    let per = cents_to_decimal(t.points_cents);
    let (quantity, progress, work_key) = match unit {
        ActivityUnit::Count => {
            if req.progress_percent.is_some() || req.work_item_key.is_some() {
                errors.push(FieldError::new(
                    "progressPercent",
                    "INVALID",
                    "only PROGRESS types take progressPercent and workItemKey",
                ));
            }
            let q = model::check_quantity(req.quantity.unwrap_or(1)).map_err(|e| errors.push(e)).ok();
            // Ceilings bind what members log for themselves; a manager logging for a member of
            // their team (or an admin's import) is accountable as `loggedBy` instead.
            let q = match q {
                Some(q) if m.id == logged_by.member_id => {
                    let day = (m.id, t.id, model::local_date(occurred_at, s.tz));
                    if !memo.self_read.contains(&day) {
                        memo.read_self_quantities(s, db, std::iter::once((m.id, t.id, occurred_at)))
                            .await
                            .map_err(Err)?;
                    }
                    let today = memo.self_quantities.get(&day).copied().unwrap_or(0);
                    model::check_self_quantity(q, today, t.self_max_quantity_per_activity, t.self_max_quantity_per_day)
                        .map(|()| q)
                        .map_err(|e| errors.push(e))
                        .ok()
                }
                q => q,
            };
            (q, None, None)
        }
        ActivityUnit::Progress => {
            if req.quantity.is_some() {
                errors.push(FieldError::new(
                    "quantity",
                    "INVALID",
                    "PROGRESS types take progressPercent, not quantity",
                ));
            }
            let p = match req.progress_percent {
                Some(p) => model::check_progress_percent(p).map_err(|e| errors.push(e)).ok(),
                None => {
                    errors.push(FieldError::new("progressPercent", "REQUIRED", "PROGRESS types need progressPercent"));
                    None
                }
            };
            let k = match req.work_item_key.as_deref() {
                Some(k) => model::parse_work_item_key(k).map_err(|e| errors.push(e)).ok(),
                None => {
                    errors.push(FieldError::new("workItemKey", "REQUIRED", "PROGRESS types need workItemKey"));
                    None
                }
            };
            (None, p, k)
        }
    };
    if !errors.is_empty() {
        return Err(Ok(errors));
    }
    let base = match (unit, quantity, progress, &work_key) {
        (ActivityUnit::Count, Some(q), _, _) => model::count_points(per, q),
        (ActivityUnit::Progress, _, Some(p), Some(k)) => {
            let previous = locked_work_item_percent(s.org, db, m.id, t.id, k).await.map_err(Err)?;
            let steps = model::progress_steps(previous, p, t.step_percent.unwrap_or(100));
            if p > previous {
                store::set_work_item_percent(s.org, db, m.id, t.id, k, p).await.map_err(Err)?;
            }
            per * Decimal::from(steps)
        }
        _ => Decimal::ZERO,
    };
    let in_window = memo.window.as_ref().is_some_and(|(from, to, _)| (*from..=*to).contains(&occurred_at));
    if !in_window && let std::collections::hash_map::Entry::Vacant(e) = memo.campaigns.entry(occurred_at) {
        e.insert(store::campaigns_at(s.org, db, occurred_at).await.map_err(Err)?);
    }
    let campaigns = match &memo.window {
        Some((_, _, campaigns)) if in_window => campaigns.as_slice(),
        _ => memo.campaigns.get(&occurred_at).map(Vec::as_slice).unwrap_or_default(),
    };
    // The team tree matters only to campaigns limited to teams: without a running campaign
    // (the usual case) it is not needed, and with the organization's rules kept it is in memory.
    let member_teams = match m.team_id {
        Some(team) if !campaigns.is_empty() => {
            let kept = memo.rules.as_ref().map(|r| &r.tree);
            if kept.is_none() && memo.tree.is_none() {
                memo.tree = Some(org_store::team_tree(s.org, db).await.map_err(Err)?);
            }
            kept.or(memo.tree.as_ref()).map(|tree| tree.ancestors(team)).unwrap_or_default()
        }
        _ => Vec::new(),
    };
    let best = model::best_campaign(campaigns, occurred_at, t.id, &member_teams);
    let multiplier = best.map_or(Decimal::ONE, |c| c.multiplier);
    let points = model::award(base, multiplier);
    let row = store::ActivityRow {
        member_id: m.id,
        activity_type_id: t.id,
        quantity,
        progress_percent: progress,
        work_item_key: work_key,
        base_points_cents: decimal_to_cents(base),
        multiplier_cents: decimal_to_cents(multiplier),
        points_cents: decimal_to_cents(points),
        campaign_id: best.map(|c| c.id),
        occurred_at,
        local_date: model::local_date(occurred_at, s.tz),
        deal_id: req.deal_id,
        note,
        source: if m.id == logged_by.member_id { "SELF" } else { "MANAGER" },
        logged_by: logged_by.member_id,
        idempotency_key: key,
    };
    if let (Some(q), "SELF") = (quantity, row.source) {
        let key = (row.member_id, row.activity_type_id, row.local_date);
        *memo.self_quantities.entry(key).or_default() += i64::from(q);
        *memo.self_added.entry(key).or_default() += i64::from(q);
    }
    let activity = match memo.pending.as_mut() {
        Some(pending) => {
            let a = store::new_activity(s.org, row, now);
            if let Some(k) = &a.idempotency_key {
                memo.keys.insert((a.member_id, k.clone()), a.clone());
            }
            pending.push(a.clone());
            a
        }
        None => store::insert_activity(s.org, db, row).await.map_err(Err)?,
    };
    Ok(LogOutcome { activity, replayed: false, team_id: m.team_id })
}

/// Whether `req`, sent under the idempotency key `original` was stored with, asks for the same
/// activity (then it is answered with the original), rather than a different one.
pub fn replays(original: &activity::Model, req: &LogRequest) -> bool {
    let stored = model::LoggedRequest {
        activity_type_id: original.activity_type_id,
        quantity: original.quantity,
        progress_percent: original.progress_percent,
        work_item_key: original.work_item_key.as_deref(),
        occurred_at: Some(original.occurred_at),
        note: original.note.as_deref(),
        deal_id: original.deal_id,
    };
    let retry = model::LoggedRequest {
        activity_type_id: req.activity_type_id,
        quantity: req.quantity,
        progress_percent: req.progress_percent,
        work_item_key: req.work_item_key.as_deref(),
        occurred_at: req.occurred_at,
        note: req.note.as_deref(),
        deal_id: req.deal_id,
    };
    model::is_same_request(&stored, &retry)
}

/// The work item's percent, with its row locked on PostgreSQL so two concurrent updates
/// cannot both award the same step (SQLite writers are already serialized by IMMEDIATE).
/// `FOR UPDATE` locks nothing while the row does not exist, so a new item's row is created
/// first (at 0 %): concurrent first reports then queue on it instead of all starting from 0.
async fn locked_work_item_percent(
    org: OrgId,
    db: &impl ConnectionTrait,
    member: Uuid,
    activity_type: Uuid,
    key: &str,
) -> AppResult<i32> {
    if db.get_database_backend() == DbBackend::Postgres {
        store::ensure_work_item(org, db, member, activity_type, key).await?;
        let stmt = sea_orm::Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT percent FROM work_item_progress WHERE organization_id = $1 AND member_id = $2 \
             AND activity_type_id = $3 AND work_item_key = $4 FOR UPDATE",
            [org.0.into(), member.into(), activity_type.into(), key.into()],
        );
        if let Some(row) = db.query_one_raw(stmt).await? {
            return Ok(row.try_get::<i32>("", "percent")?);
        }
    }
    store::work_item_percent(org, db, member, activity_type, key).await
}
