//! GraphQL surface of forecasting: `submitForecast`, `adjustForecast`, `forecast` (roll-up
//! through the team tree), `forecastSubmissions`, `forecastAccuracy` and `forecastChanged`.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject, Subscription};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use uuid::Uuid;

use entity::member;

use super::model::{self, Cutoff, ForecastGrain, PipelineSums, Submission};
use super::store;
use super::tree::{self, TreeFacts};
use super::{policy, service};
use crate::core::error::AppError;
use crate::core::field::Checked;
use crate::core::period::Period;
use crate::core::principal::Principal;
use crate::core::settings::OrgSettings;
use crate::events::Event;
use crate::graphql::relay::{NodeKind, decode_id, global_id};
use crate::graphql::{ContextExt, UserError};
use crate::org::graphql::{Member, Team};
use crate::org::store as org_store;
use crate::pipeline::graphql::Money;
use crate::pipeline::model::{DealOutcome, ForecastCategory};
use crate::scoring::scores;

/// A forecast period: the month or fiscal quarter containing a day.
#[derive(InputObject, Clone, Copy)]
pub struct ForecastPeriodInput {
    /// MONTH or QUARTER (default QUARTER; quarters follow the fiscal year).
    #[graphql(default_with = "ForecastGrain::Quarter")]
    grain: ForecastGrain,
    /// Any day in the period (default: today in the organization's time zone).
    date: Option<NaiveDate>,
}

fn resolve_period(s: &OrgSettings, input: Option<ForecastPeriodInput>) -> (ForecastGrain, Period) {
    service::resolve_period(s, input.map(period))
}

fn period(input: ForecastPeriodInput) -> service::ForecastPeriod {
    service::ForecastPeriod { grain: input.grain, date: input.date }
}

fn money(currency: &str, d: Decimal) -> Money {
    Money { amount: format!("{:.2}", d.round_dp(2)), currency: currency.to_owned() }
}

// ---------------------------------------------------------------- output

/// Commit and best-case numbers as submitted or adjusted.
#[derive(SimpleObject)]
pub struct ForecastNumbers {
    /// Commit: what will surely close.
    commit: Money,
    /// Best case: what could close.
    best_case: Money,
    /// The submitter's note, or the manager's reason for an adjustment.
    note: Option<String>,
    /// When.
    at: DateTime<Utc>,
    /// Who.
    by: Option<Member>,
}

/// A sum of commit and best-case numbers.
#[derive(SimpleObject)]
pub struct ForecastTotals {
    /// Commit.
    commit: Money,
    /// Best case.
    best_case: Money,
}

/// One member's or team's forecast for the period; a team's rows roll up its members and
/// sub-teams.
#[derive(SimpleObject)]
pub struct ForecastRow {
    /// MEMBER or TEAM.
    subject_kind: String,
    /// The member (member rows).
    member: Option<Member>,
    /// The team (team rows).
    team: Option<Team>,
    /// The latest submission by the owner (a rep for themself, a manager for the team).
    submitted: Option<ForecastNumbers>,
    /// The latest adjustment by a manager above, kept apart from the owner's numbers.
    adjusted: Option<ForecastNumbers>,
    /// Team rows: the members' and sub-teams' numbers added up (each the adjusted view when
    /// there is one, else the submission, else — for a sub-team — its own roll-up).
    rolled_up: Option<ForecastTotals>,
    /// The revenue quota for the period (ramp applied for members).
    quota: Option<Money>,
    /// Won deals closed in the period.
    closed_won: Money,
    /// Open deals expected in the period by category: PIPELINE.
    pipeline: Money,
    /// BEST_CASE.
    best_case: Money,
    /// COMMIT.
    commit: Money,
    /// CLOSED (won in the period).
    closed: Money,
    /// OMITTED.
    omitted: Money,
    /// COMMIT + CLOSED.
    commit_view: Money,
    /// BEST_CASE + COMMIT + CLOSED.
    best_case_view: Money,
    /// PIPELINE + BEST_CASE + COMMIT.
    open_pipeline: Money,
    /// Σ amount × probability of open deals expected in the period (OMITTED left out).
    weighted_pipeline: Money,
    /// Closed won + weighted pipeline.
    system_forecast: Money,
    /// Closed won ÷ elapsed share of the period.
    run_rate: Option<Money>,
    /// Open pipeline ÷ (quota − closed won); `null` without quota or once it is reached.
    coverage: Option<f64>,
    /// Every submission for this subject and period, oldest first.
    history: Vec<ForecastNumbers>,
    /// Team rows: the sub-teams.
    sub_teams: Vec<ForecastRow>,
    /// Team rows: the members of this team itself (not of sub-teams).
    members: Vec<ForecastRow>,
}

/// The forecast of a team for a period.
#[derive(SimpleObject)]
pub struct Forecast {
    /// MONTH or QUARTER.
    grain: ForecastGrain,
    /// First day.
    period_start: NaiveDate,
    /// Day after the last.
    period_end: NaiveDate,
    /// Elapsed share of the period, 0 to 1.
    elapsed_share: f64,
    /// The team (or, for a rep asking without a team, their own member row).
    root: ForecastRow,
}

/// One closed period's accuracy.
#[derive(SimpleObject)]
pub struct AccuracyPoint {
    /// First day.
    period_start: NaiveDate,
    /// The forecast that stood at the cut-off (commit); `null` if none.
    forecast: Option<String>,
    /// Closed-won amount of the period.
    actual: String,
    /// 1 − |forecast − actual| ÷ actual; `null` when actual is 0 or there was no forecast.
    accuracy: Option<f64>,
    /// forecast − actual (positive: over-forecast).
    bias: Option<String>,
}

/// Accuracy of one subject's submitted forecasts, and of the system forecast beside them.
#[derive(SimpleObject)]
pub struct AccuracyRow {
    /// MEMBER or TEAM.
    subject_kind: String,
    /// The member.
    member: Option<Member>,
    /// The team.
    team: Option<Team>,
    /// Per closed period, oldest first.
    points: Vec<AccuracyPoint>,
    /// Mean absolute percentage error over the last 4 periods with an error.
    mape: Option<f64>,
    /// The system forecast (closed won + weighted pipeline at the cut-off) per period.
    system_points: Vec<AccuracyPoint>,
    /// MAPE of the system forecast.
    system_mape: Option<f64>,
}

/// How to pick the forecast that counts for accuracy.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum CutoffKind {
    /// The forecast standing `days` after the period started.
    PeriodStartPlusDays,
    /// The last forecast before the period ended.
    PeriodEnd,
}

/// The cut-off.
#[derive(InputObject, Clone, Copy)]
pub struct ForecastCutoffInput {
    /// PERIOD_START_PLUS_DAYS or PERIOD_END.
    kind: CutoffKind,
    /// For PERIOD_START_PLUS_DAYS: days after the start (0 to 92, default 14).
    #[graphql(default = 14)]
    days: i32,
}

/// Submits your numbers: a rep for themself; a manager (or admin) for a team with `teamId`.
#[derive(InputObject)]
pub struct SubmitForecastInput {
    /// The period (default: this quarter).
    period: Option<ForecastPeriodInput>,
    /// Commit, decimal string.
    commit: String,
    /// Best case, decimal string (at least the commit).
    best_case: String,
    /// A note (at most 2000 characters).
    note: Option<String>,
    /// Submit for this team (its manager or an admin) instead of for yourself.
    team_id: Option<ID>,
}

/// A manager's adjusted view of a member or team below them.
#[derive(InputObject)]
pub struct AdjustForecastInput {
    /// The member (or give `teamId`).
    member_id: Option<ID>,
    /// The team (or give `memberId`).
    team_id: Option<ID>,
    /// The period (default: this quarter).
    period: Option<ForecastPeriodInput>,
    /// Commit, decimal string.
    commit: String,
    /// Best case, decimal string.
    best_case: String,
    /// Why (1 to 2000 characters).
    reason: String,
}

/// Result of `submitForecast` and `adjustForecast`.
#[derive(SimpleObject)]
pub struct ForecastPayload {
    /// The numbers stored; `null` when refused.
    numbers: Option<ForecastNumbers>,
    /// What to fix.
    user_errors: Vec<UserError>,
}

/// A forecast changed below a team.
#[derive(SimpleObject)]
pub struct ForecastChange {
    /// The team the numbers belong to.
    team: Option<Team>,
    /// Whose numbers (a Member or Team ID).
    subject_id: ID,
}

// ---------------------------------------------------------------- computing

/// Rows built from a tree's kept facts, at the clock of this read.
struct Rows<'a> {
    f: &'a TreeFacts,
    /// The share of the period elapsed.
    elapsed: Decimal,
}

impl Rows<'_> {
    fn numbers_sub(&self, s: &entity::forecast_submission::Model) -> ForecastNumbers {
        ForecastNumbers {
            commit: money(&self.f.currency, Decimal::new(s.commit_cents, 2)),
            best_case: money(&self.f.currency, Decimal::new(s.best_case_cents, 2)),
            note: s.note.clone(),
            at: s.submitted_at,
            by: self.f.members.iter().find(|m| m.id == s.submitted_by).cloned().map(Member),
        }
    }

    fn numbers_adj(&self, a: &entity::forecast_adjustment::Model) -> ForecastNumbers {
        ForecastNumbers {
            commit: money(&self.f.currency, Decimal::new(a.commit_cents, 2)),
            best_case: money(&self.f.currency, Decimal::new(a.best_case_cents, 2)),
            note: Some(a.reason.clone()),
            at: a.adjusted_at,
            by: self.f.members.iter().find(|m| m.id == a.adjusted_by).cloned().map(Member),
        }
    }

    /// The row and the (commit, best case) it contributes to its parent's roll-up.
    fn row(
        &self,
        kind: &str,
        id: Uuid,
        sums: PipelineSums,
        children: (Vec<ForecastRow>, Vec<ForecastRow>),
        child_totals: Option<(Decimal, Decimal)>,
    ) -> (ForecastRow, Option<(Decimal, Decimal)>) {
        let history: Vec<&entity::forecast_submission::Model> =
            self.f.submissions.iter().filter(|s| s.subject_id == id && s.subject_kind == kind).collect();
        let submitted = history.last().copied();
        let adjusted = self.f.adjustments.iter().rfind(|a| a.subject_id == id && a.subject_kind == kind);
        let quota = self.f.quotas.get(&id).copied();
        let own = adjusted
            .map(|a| (Decimal::new(a.commit_cents, 2), Decimal::new(a.best_case_cents, 2)))
            .or_else(|| submitted.map(|s| (Decimal::new(s.commit_cents, 2), Decimal::new(s.best_case_cents, 2))));
        let contribution = own.or(child_totals);
        let c = &self.f.currency;
        let row = ForecastRow {
            subject_kind: kind.to_owned(),
            member: (kind == "MEMBER")
                .then(|| self.f.members.iter().find(|m| m.id == id).cloned().map(Member))
                .flatten(),
            team: (kind == "TEAM").then(|| self.f.teams.get(&id).cloned().map(Team)).flatten(),
            submitted: submitted.map(|s| self.numbers_sub(s)),
            adjusted: adjusted.map(|a| self.numbers_adj(a)),
            rolled_up: child_totals
                .map(|(commit, best)| ForecastTotals { commit: money(c, commit), best_case: money(c, best) }),
            quota: quota.map(|q| money(c, q)),
            closed_won: money(c, sums.closed_won),
            pipeline: money(c, sums.pipeline),
            best_case: money(c, sums.best_case),
            commit: money(c, sums.commit),
            closed: money(c, sums.closed),
            omitted: money(c, sums.omitted),
            commit_view: money(c, sums.commit_view),
            best_case_view: money(c, sums.best_case_view),
            open_pipeline: money(c, sums.open_pipeline),
            weighted_pipeline: money(c, sums.weighted_pipeline),
            system_forecast: money(c, model::system_forecast(sums.closed_won, sums.weighted_pipeline)),
            run_rate: model::run_rate(sums.closed_won, self.elapsed).map(|r| money(c, r)),
            coverage: model::coverage(sums.open_pipeline, quota, sums.closed_won).and_then(|v| v.to_f64()),
            history: history.iter().map(|s| self.numbers_sub(s)).collect(),
            sub_teams: children.0,
            members: children.1,
        };
        (row, contribution)
    }

    fn member_row(&self, m: &member::Model) -> (ForecastRow, Option<(Decimal, Decimal)>, PipelineSums) {
        let sums = self.f.sums.get(&m.id).cloned().unwrap_or_default();
        let (row, contribution) = self.row("MEMBER", m.id, sums.clone(), (vec![], vec![]), None);
        (row, contribution, sums)
    }

    fn team_row(&self, team: Uuid, depth: usize) -> (ForecastRow, Option<(Decimal, Decimal)>, PipelineSums) {
        let mut sums = PipelineSums::default();
        let mut totals: Option<(Decimal, Decimal)> = None;
        let mut add = |t: Option<(Decimal, Decimal)>| {
            if let Some((c, b)) = t {
                let cur = totals.get_or_insert((Decimal::ZERO, Decimal::ZERO));
                cur.0 += c;
                cur.1 += b;
            }
        };
        let mut member_rows = Vec::new();
        let mut members: Vec<&member::Model> = self
            .f
            .members
            .iter()
            .filter(|m| m.team_id == Some(team) && (m.active || self.f.sums.contains_key(&m.id)))
            .filter(|m| m.role != "VIEWER")
            .collect();
        members.sort_by(|a, b| a.name.cmp(&b.name));
        for m in members {
            let (row, contribution, s) = self.member_row(m);
            sums = sums + s;
            add(contribution);
            member_rows.push(row);
        }
        let mut team_rows = Vec::new();
        if depth < 32 {
            let mut children: Vec<&entity::team::Model> =
                self.f.teams.values().filter(|t| t.parent_team_id == Some(team)).collect();
            children.sort_by(|a, b| a.name.cmp(&b.name));
            for child in children {
                let (row, contribution, s) = self.team_row(child.id, depth + 1);
                sums = sums + s;
                add(contribution);
                team_rows.push(row);
            }
        }
        let (row, contribution) = self.row("TEAM", team, sums.clone(), (team_rows, member_rows), totals);
        (row, contribution, sums)
    }
}

// ---------------------------------------------------------------- queries

/// Forecast queries.
#[derive(Default)]
pub struct ForecastQuery;

#[Object]
impl ForecastQuery {
    /// A team's forecast for a period, rolled up through its sub-teams and members. Managers see
    /// the teams below them; admins, viewers and `forecasts:read` keys every team; a rep asking
    /// without `teamId` gets their own row.
    #[graphql(complexity = "crate::graphql::access::EXPENSIVE_FIELD_COST + child_complexity")]
    async fn forecast(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The period (default: this quarter).")] period: Option<ForecastPeriodInput>,
        #[graphql(desc = "The team (required except for a rep's own row).")] team_id: Option<ID>,
    ) -> Result<Forecast> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let db = &state.db;
        let s = state.settings.get(p.org, db).await?;
        let dir = crate::org::graphql::directory(ctx).await?;
        let (grain, period) = resolve_period(&s, period);
        let elapsed_share = crate::core::period::elapsed_share(&period, Utc::now());
        let elapsed = Decimal::from_f64_retain(elapsed_share).unwrap_or(Decimal::ONE);
        let root = match &team_id {
            Some(id) => {
                let team = decode_id(id, NodeKind::Team)?;
                policy::require_team_in(p, &dir, team)?;
                let facts = tree::facts(&state.forecasts, &s, db, &dir, grain, &period, team).await?;
                Rows { f: &facts, elapsed }.team_row(team, 0).0
            }
            None => {
                if p.api_key.is_some() {
                    return Err(AppError::bad_input("an API key names the team: teamId").into());
                }
                let me =
                    crate::org::graphql::member_by_id(ctx, p.member_id).await?.ok_or(AppError::NotFound("member"))?.0;
                let team = me.team_id.ok_or_else(|| AppError::bad_input("you are in no team"))?;
                let facts = tree::facts(&state.forecasts, &s, db, &dir, grain, &period, team).await?;
                Rows { f: &facts, elapsed }.member_row(&me).0
            }
        };
        Ok(Forecast { grain, period_start: period.start_date, period_end: period.end_date, elapsed_share, root })
    }

    /// Accuracy of closed periods: for a member, or for a team, its sub-teams and its members,
    /// each beside the system forecast.
    #[graphql(complexity = "crate::graphql::access::EXPENSIVE_FIELD_COST + child_complexity")]
    async fn forecast_accuracy(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A member (or give teamId).")] member_id: Option<ID>,
        #[graphql(desc = "A team (or give memberId).")] team_id: Option<ID>,
        #[graphql(desc = "MONTH or QUARTER (default QUARTER).")] grain: Option<ForecastGrain>,
        #[graphql(desc = "How many closed periods, 1 to 12 (default 4).")] periods: Option<i32>,
        #[graphql(desc = "Which forecast counts (default: 14 days after the period starts).")] cutoff: Option<
            ForecastCutoffInput,
        >,
    ) -> Result<Vec<AccuracyRow>> {
        let p = ctx.principal()?;
        let db = &ctx.state()?.db;
        let count = periods.unwrap_or(4);
        if !(1..=12).contains(&count) {
            return Err(AppError::bad_input("'periods' must be between 1 and 12").into());
        }
        let cutoff = match cutoff {
            None => Cutoff::PeriodStartPlusDays(14),
            Some(c) if c.kind == CutoffKind::PeriodEnd => Cutoff::PeriodEnd,
            Some(c) if (0..=92).contains(&c.days) => Cutoff::PeriodStartPlusDays(c.days as u32),
            Some(_) => return Err(AppError::bad_input("'cutoff.days' must be between 0 and 92").into()),
        };
        let grain = grain.unwrap_or(ForecastGrain::Quarter);
        let s = scores::settings(p.org, db).await?;
        let (team, member) = match (&member_id, &team_id) {
            (Some(m), None) => {
                let m = org_store::find_member(p.org, db, decode_id(m, NodeKind::Member)?)
                    .await?
                    .ok_or(AppError::NotFound("member"))?;
                if m.id != p.member_id || p.api_key.is_some() {
                    policy::require_team(p, db, m.team_id.ok_or(AppError::NotFound("member"))?).await?;
                }
                (None, Some(m))
            }
            (None, Some(t)) => {
                let t = decode_id(t, NodeKind::Team)?;
                policy::require_team(p, db, t).await?;
                (Some(t), None)
            }
            _ => return Err(AppError::bad_input("give exactly one of memberId and teamId").into()),
        };
        let today = crate::core::period::local_date(Utc::now(), s.tz);
        let closed = model::closed_periods(grain, today, count as usize, s.tz, s.fiscal_year_start_month);
        let tree = org_store::team_tree(p.org, db).await?;
        let subjects: Vec<(String, Uuid, Vec<Uuid>)> = match (team, &member) {
            (_, Some(m)) => vec![("MEMBER".into(), m.id, vec![m.id])],
            (Some(t), None) => {
                let mut out = Vec::new();
                let tree = &tree;
                let members_of = |root: Uuid| async move {
                    let teams: Vec<Uuid> = tree.subtree([root]).into_iter().collect();
                    org_store::members_by_teams(p.org, db, &teams)
                        .await
                        .map(|v| v.into_iter().map(|m| m.id).collect::<Vec<_>>())
                };
                out.push(("TEAM".into(), t, members_of(t).await?));
                let direct: Vec<member::Model> = org_store::members_by_teams(p.org, db, &[t]).await?;
                for m in direct.iter().filter(|m| m.role != "VIEWER") {
                    out.push(("MEMBER".into(), m.id, vec![m.id]));
                }
                let mut subs: Vec<Uuid> = org_store::all_teams(p.org, db)
                    .await?
                    .into_iter()
                    .filter(|x| x.parent_team_id == Some(t))
                    .map(|x| x.id)
                    .collect();
                subs.sort();
                for sub in subs {
                    out.push(("TEAM".into(), sub, members_of(sub).await?));
                }
                out
            }
            _ => vec![],
        };
        let all_members: Vec<Uuid> = subjects.iter().flat_map(|x| x.2.clone()).collect();
        let deals = crate::kpi::store::deals_of(p.org, db, &all_members).await?;
        let mut per_period_subs = Vec::new();
        for period in &closed {
            per_period_subs.push(store::submissions(p.org, db, grain.as_str(), period.start_date).await?);
        }
        let mut rows = Vec::new();
        for (kind, id, members) in &subjects {
            let mut points = Vec::new();
            let mut system = Vec::new();
            for (period, subs) in closed.iter().zip(&per_period_subs) {
                let at = model::local_cutoff_instant(period, cutoff, s.tz);
                let mine: Vec<model::DealHistory> = deals
                    .iter()
                    .filter(|d| members.contains(&d.owner_id))
                    .map(|d| model::DealHistory {
                        amount: Decimal::new(d.amount_cents, 2),
                        probability: d.probability,
                        omitted: d.forecast_category == ForecastCategory::Omitted.as_str(),
                        won: d.outcome.as_deref() == Some(DealOutcome::Won.as_str()),
                        created_at: d.created_at,
                        closed_at: d.closed_at,
                        expected_close: d.expected_close_date,
                    })
                    .collect();
                let actual = model::closed_won(&mine, period);
                let history = |subject: Uuid, k: &str| -> Vec<Submission> {
                    subs.iter()
                        .filter(|x| x.subject_id == subject && x.subject_kind == k)
                        .map(|x| Submission {
                            at: x.submitted_at,
                            commit: Decimal::new(x.commit_cents, 2),
                            best_case: Decimal::new(x.best_case_cents, 2),
                        })
                        .collect()
                };
                let own = history(*id, kind);
                let forecast = match model::standing_at(&own, at) {
                    Some(x) => Some(x.commit),
                    None if kind == "TEAM" => {
                        let parts: Vec<Decimal> = members
                            .iter()
                            .filter_map(|m| model::standing_at(&history(*m, "MEMBER"), at).map(|x| x.commit))
                            .collect();
                        (!parts.is_empty()).then(|| parts.iter().copied().sum())
                    }
                    None => None,
                };
                let point = model::accuracy(forecast, actual);
                points.push((period.start_date, point));
                let sys = model::system_forecast_at(&mine, period, at);
                system.push((period.start_date, model::accuracy(Some(sys), actual)));
            }
            let to_out = |list: &[(NaiveDate, model::AccuracyPoint)]| -> Vec<AccuracyPoint> {
                list.iter()
                    .map(|(start, pt)| AccuracyPoint {
                        period_start: *start,
                        forecast: pt.forecast.map(|f| format!("{:.2}", f)),
                        actual: format!("{:.2}", pt.actual),
                        accuracy: pt.accuracy.and_then(|a| a.to_f64()),
                        bias: pt.bias.map(|b| format!("{:.2}", b)),
                    })
                    .collect()
            };
            let mape = model::mape(&points.iter().map(|x| x.1.clone()).collect::<Vec<_>>()).and_then(|m| m.to_f64());
            let system_mape =
                model::mape(&system.iter().map(|x| x.1.clone()).collect::<Vec<_>>()).and_then(|m| m.to_f64());
            rows.push(AccuracyRow {
                subject_kind: kind.clone(),
                member: if kind == "MEMBER" { crate::org::graphql::member_by_id(ctx, *id).await? } else { None },
                team: if kind == "TEAM" { crate::org::graphql::team_by_id(ctx, *id).await? } else { None },
                points: to_out(&points),
                mape,
                system_points: to_out(&system),
                system_mape,
            });
        }
        Ok(rows)
    }
}

// ---------------------------------------------------------------- mutations

/// Forecast mutations.
#[derive(Default)]
pub struct ForecastMutation;

#[Object]
impl ForecastMutation {
    /// Submits commit and best-case numbers for a period: a rep for themself, a manager (or
    /// admin) for a team with `teamId`. Every submission is kept; the latest counts.
    async fn submit_forecast(&self, ctx: &Context<'_>, input: SubmitForecastInput) -> Result<ForecastPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let cmd = service::SubmitForecast {
            period: input.period.map(period),
            commit: input.commit,
            best_case: input.best_case,
            note: input.note,
            team_id: input.team_id.as_ref().map(|id| decode_id(id, NodeKind::Team)).transpose()?,
        };
        let result = service::submit(&state.db, &state.events, p, cmd).await?;
        payload(ctx, p, result).await
    }

    /// A manager's adjusted view of a member or team below them (admins: anyone), kept apart
    /// from the owner's own numbers.
    async fn adjust_forecast(&self, ctx: &Context<'_>, input: AdjustForecastInput) -> Result<ForecastPayload> {
        let p = ctx.principal()?;
        // The role first, so a caller without it learns nothing from the IDs it sent.
        policy::may_adjust(p)?;
        let state = ctx.state()?;
        let cmd = service::AdjustForecast {
            member_id: input.member_id.as_ref().map(|id| decode_id(id, NodeKind::Member)).transpose()?,
            team_id: input.team_id.as_ref().map(|id| decode_id(id, NodeKind::Team)).transpose()?,
            period: input.period.map(period),
            commit: input.commit,
            best_case: input.best_case,
            reason: input.reason,
        };
        let result = service::adjust(&state.db, &state.events, p, cmd).await?;
        payload(ctx, p, result).await
    }
}

async fn payload(ctx: &Context<'_>, p: &Principal, result: Checked<service::StoredNumbers>) -> Result<ForecastPayload> {
    let n = match result {
        Ok(n) => n,
        Err(e) => {
            return Ok(ForecastPayload { numbers: None, user_errors: e.into_iter().map(UserError::from).collect() });
        }
    };
    let db = &ctx.state()?.db;
    let currency = org_store::currency(p.org, db).await?;
    let by = org_store::find_member(p.org, db, p.member_id).await?.map(Member);
    Ok(ForecastPayload {
        numbers: Some(ForecastNumbers {
            commit: money(&currency, n.commit),
            best_case: money(&currency, n.best_case),
            note: n.note,
            at: n.at,
            by,
        }),
        user_errors: vec![],
    })
}

// ---------------------------------------------------------------- subscription

/// Forecast subscriptions.
#[derive(Default)]
pub struct ForecastSubscription;

#[Subscription]
impl ForecastSubscription {
    /// A submission or adjustment in a team or below it (for its managers, admins and viewers).
    async fn forecast_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The team to watch (with its sub-teams).")] team_id: ID,
    ) -> Result<impl futures_util::Stream<Item = Result<ForecastChange>> + use<>> {
        let p = ctx.principal()?.clone();
        let state = ctx.state()?.clone();
        let db = state.db.clone();
        let team = decode_id(&team_id, NodeKind::Team)?;
        policy::require_team(&p, &db, team).await?;
        let scope = org_store::team_tree(p.org, &db).await?.subtree([team]);
        let mut rx = state.events.subscribe();
        let org = p.org;
        Ok(async_stream::stream! {
            loop {
                let (t, subject) = match rx.recv().await {
                    Ok(Event::ForecastChanged { org: o, team, subject }) if o == org.0 => (team, subject),
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                };
                let Some(t) = t.filter(|t| scope.contains(t)) else { continue };
                let team = org_store::find_team(org, &db, t).await.ok().flatten().map(Team);
                let kind = if subject == t { NodeKind::Team } else { NodeKind::Member };
                yield Ok(ForecastChange { team, subject_id: global_id(kind, subject) });
            }
        })
    }
}
