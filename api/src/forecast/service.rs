//! The forecast use-cases that write: submitting one's own (or a team's) numbers and a
//! manager's adjustment. The checks and field errors come first, then one [`Unit`] writes the
//! numbers and tells subscribers after the commit.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::model::{self, ForecastGrain};
use super::store::{self, NewNumbers};
use super::{policy, webhook};
use crate::core::error::{AppError, AppResult};
use crate::core::field::{Checked, FieldError};
use crate::core::period::Period;
use crate::core::principal::Principal;
use crate::core::settings::OrgSettings;
use crate::db::unit::{Unit, snapshot};
use crate::events::{Event, EventBus};
use crate::org::store as org_store;
use crate::scoring::scores;

/// A forecast period as asked for.
#[derive(Debug, Clone, Copy)]
pub struct ForecastPeriod {
    /// Month or quarter.
    pub grain: ForecastGrain,
    /// Any day in the period (default: today in the organization's time zone).
    pub date: Option<NaiveDate>,
}

/// Numbers to submit: for oneself, or for a team.
#[derive(Debug, Clone)]
pub struct SubmitForecast {
    /// The period (default: this quarter).
    pub period: Option<ForecastPeriod>,
    /// Commit, as given.
    pub commit: String,
    /// Best case, as given.
    pub best_case: String,
    /// A note.
    pub note: Option<String>,
    /// Submit for this team instead of for oneself.
    pub team_id: Option<Uuid>,
}

/// A manager's adjusted view of a member or a team (exactly one of the two).
#[derive(Debug, Clone)]
pub struct AdjustForecast {
    /// The member.
    pub member_id: Option<Uuid>,
    /// The team.
    pub team_id: Option<Uuid>,
    /// The period (default: this quarter).
    pub period: Option<ForecastPeriod>,
    /// Commit, as given.
    pub commit: String,
    /// Best case, as given.
    pub best_case: String,
    /// Why.
    pub reason: String,
}

/// Numbers as stored.
#[derive(Debug, Clone)]
pub struct StoredNumbers {
    /// Commit.
    pub commit: Decimal,
    /// Best case.
    pub best_case: Decimal,
    /// The note of a submission, the reason of an adjustment.
    pub note: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// The grain and the period a request means (default: the quarter of today).
pub fn resolve_period(s: &OrgSettings, asked: Option<ForecastPeriod>) -> (ForecastGrain, Period) {
    let grain = asked.map_or(ForecastGrain::Quarter, |p| p.grain);
    let day = asked.and_then(|p| p.date).unwrap_or_else(|| crate::core::period::local_date(Utc::now(), s.tz));
    (grain, crate::core::period::period_containing(grain.to_period_grain(), day, s.tz, s.fiscal_year_start_month))
}

fn cents(d: Decimal) -> i64 {
    d.checked_mul(Decimal::ONE_HUNDRED).and_then(|v| v.round().to_i64()).unwrap_or(0)
}

fn parse_numbers(commit: &str, best_case: &str, e: &mut Vec<FieldError>) -> Option<(Decimal, Decimal)> {
    let c = model::parse_forecast_amount("commit", commit).map_err(|x| e.push(x)).ok();
    let b = model::parse_forecast_amount("bestCase", best_case).map_err(|x| e.push(x)).ok();
    let (c, b) = (c?, b?);
    model::check_submission(c, b).map_err(|x| e.push(x)).ok()?;
    Some((c, b))
}

fn check_period(period: Option<ForecastPeriod>, e: &mut Vec<FieldError>) {
    if let Some(Err(x)) = period.and_then(|p| p.date).map(|d| crate::org::model::check_business_date("period", d)) {
        e.push(x);
    }
}

/// Submits commit and best-case numbers for a period: a rep for themself, a manager (or admin)
/// for a team. Every submission is kept; the latest counts.
pub async fn submit(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: SubmitForecast,
) -> AppResult<Checked<StoredNumbers>> {
    let mut e = Vec::new();
    let numbers = parse_numbers(&cmd.commit, &cmd.best_case, &mut e);
    let note = model::check_note(cmd.note.as_deref()).map_err(|x| e.push(x)).ok().flatten();
    let (kind, subject, team) = match cmd.team_id {
        Some(t) => {
            policy::may_submit_for_team(p)?;
            policy::require_team(p, db, t).await?;
            ("TEAM", t, Some(t))
        }
        None => {
            policy::may_submit_own(p)?;
            ("MEMBER", p.member_id, p.team_id)
        }
    };
    check_period(cmd.period, &mut e);
    let Some((commit, best)) = numbers.filter(|_| e.is_empty()) else {
        return Ok(Err(e));
    };
    let s = scores::settings(p.org, db).await?;
    let (grain, period) = resolve_period(&s, cmd.period);
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let row = store::submit(
        p.org,
        unit.db(),
        NewNumbers {
            subject_kind: kind,
            subject_id: subject,
            grain: grain.as_str().to_owned(),
            period_start: period.start_date,
            commit_cents: cents(commit),
            best_case_cents: cents(best),
            text: note,
            by: p.member_id,
        },
    )
    .await?;
    let event = webhook::submitted(kind, subject, grain, period.start_date, commit, best, p.member_id);
    crate::webhooks::store::enqueue(p.org, unit.db(), "forecast.submitted", event).await?;
    unit.publish(Event::ForecastChanged { org: p.org.0, team, subject });
    unit.commit().await?;
    Ok(Ok(StoredNumbers { commit, best_case: best, note: row.note, at: row.submitted_at }))
}

/// A manager's adjusted view of a member or team below them (admins: anyone), kept apart from
/// the owner's own numbers.
pub async fn adjust(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: AdjustForecast,
) -> AppResult<Checked<StoredNumbers>> {
    policy::may_adjust(p)?;
    let (kind, subject, team) = match (cmd.member_id, cmd.team_id) {
        (Some(m), None) => {
            let m = org_store::find_member(p.org, db, m).await?.ok_or(AppError::NotFound("member"))?;
            if m.id == p.member_id {
                return Err(AppError::forbidden("adjust others' numbers; submit your own"));
            }
            policy::require_team(p, db, m.team_id.ok_or(AppError::NotFound("member"))?).await?;
            ("MEMBER", m.id, m.team_id)
        }
        (None, Some(t)) => {
            policy::require_team(p, db, t).await?;
            ("TEAM", t, Some(t))
        }
        _ => return Err(AppError::bad_input("give exactly one of memberId and teamId")),
    };
    let mut e = Vec::new();
    let numbers = parse_numbers(&cmd.commit, &cmd.best_case, &mut e);
    let reason = cmd.reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > 2000 {
        e.push(FieldError::new("reason", "INVALID", "give a reason of 1 to 2000 characters"));
    }
    check_period(cmd.period, &mut e);
    let Some((commit, best)) = numbers.filter(|_| e.is_empty()) else {
        return Ok(Err(e));
    };
    let s = scores::settings(p.org, db).await?;
    let (grain, period) = resolve_period(&s, cmd.period);
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let row = store::adjust(
        p.org,
        unit.db(),
        NewNumbers {
            subject_kind: kind,
            subject_id: subject,
            grain: grain.as_str().to_owned(),
            period_start: period.start_date,
            commit_cents: cents(commit),
            best_case_cents: cents(best),
            text: Some(reason),
            by: p.member_id,
        },
    )
    .await?;
    let entity_type = if kind == "TEAM" { "Team" } else { "Member" };
    unit.audit("forecast.adjust", entity_type, Some(subject), None, snapshot(&row)).await?;
    unit.publish(Event::ForecastChanged { org: p.org.0, team, subject });
    unit.commit().await?;
    Ok(Ok(StoredNumbers { commit, best_case: best, note: Some(row.reason), at: row.adjusted_at }))
}
