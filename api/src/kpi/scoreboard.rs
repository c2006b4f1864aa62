//! The weekly scoreboard of a team: every active member of the team (and its sub-teams) with
//! each KPI of their sales role — value, target, status and the six-week trend — and the team's
//! totals.
//!
//! Computing it reads the members' deals, stage histories, six weeks of activity totals and
//! self-reports, and the targets. The result depends on nothing but the organization's data, so
//! it is computed once per team and week and kept until an event that could move a cell
//! arrives (deals, members, stages, activity types, KPI definitions, targets and self-reports
//! of the organization; activities of the members of the team and its sub-teams) or a
//! time-to-live passes (changes made outside the API). Every selection of the screen reads the
//! same kept view.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use entity::member;

use super::model::{self, KpiStatus, TrendWindow};
use super::values::{self, Cell, KpiDef};
use crate::core::error::{AppError, AppResult};
use crate::core::period::{Period, previous_period};
use crate::core::roles::SalesRole;
use crate::core::settings::OrgSettings;
use crate::events::cache::DerivedViews;
use crate::org::store::{self as org_store, MemberFilter};

/// Scoreboards kept per organization, team and week (the week's Monday).
pub type Scoreboards = DerivedViews<(Uuid, NaiveDate), ScoreboardView>;

/// How many team-weeks are kept across organizations.
pub const KEPT_SCOREBOARDS: usize = 2048;

/// One computed scoreboard.
#[derive(Debug)]
pub struct ScoreboardView {
    /// Monday of the week.
    pub week_start: NaiveDate,
    /// The KPIs shown: active, applying to a sales role present in the team.
    pub kpis: Vec<KpiDef>,
    /// One row per active member of the team and its sub-teams.
    pub rows: Vec<ScoreboardRowView>,
    /// The team's totals, one per KPI shown.
    pub totals: Vec<ScoreboardCellView>,
}

/// A member's line: the KPIs of their sales role.
#[derive(Debug)]
pub struct ScoreboardRowView {
    /// The member.
    pub member: member::Model,
    /// One cell per KPI shown that applies to their sales role.
    pub cells: Vec<ScoreboardCellView>,
}

/// One KPI of a member (or the team) in the week.
#[derive(Debug)]
pub struct ScoreboardCellView {
    /// The KPI's key.
    pub kpi_key: String,
    /// The week's value.
    pub value: Option<Decimal>,
    /// The week's target.
    pub target: Option<Decimal>,
    /// On or off target, or no target.
    pub status: KpiStatus,
    /// The last six weeks, ending with this one, and their direction.
    pub trend: TrendWindow,
}

/// The scoreboard of `team` for `week` (the period of a week): the kept one while nothing it
/// shows changed, else computed now. `subtree` is the team and every team below it, whose
/// members' activities it counts. The caller checked that the team is the organization's and
/// that the viewer may read it.
pub async fn scoreboard(
    views: &Scoreboards,
    s: &OrgSettings,
    db: &impl ConnectionTrait,
    team: Uuid,
    subtree: &[Uuid],
    week: &Period,
) -> AppResult<Arc<ScoreboardView>> {
    views.get(s.org, (team, week.start_date), subtree, || compute(s, db, subtree, week)).await
}

/// Computes the scoreboard from the database: the active members of `subtree`, the teams whose
/// activities the kept view follows.
async fn compute(
    s: &OrgSettings,
    db: &impl ConnectionTrait,
    subtree: &[Uuid],
    week: &Period,
) -> AppResult<ScoreboardView> {
    let filter = MemberFilter { team_ids: Some(subtree.to_vec()), active: Some(true), ..Default::default() };
    let members = org_store::all_members(s.org, db, &filter).await?;
    let defs = values::definitions(s.org, db).await?;
    let roles: HashSet<SalesRole> = members.iter().filter_map(|m| SalesRole::parse(&m.sales_role)).collect();
    let shown: Vec<&KpiDef> = defs
        .iter()
        .filter(|d| d.active && d.builtin != Some(model::BuiltInKpi::ForecastAccuracy))
        .filter(|d| roles.iter().any(|r| model::applies_to(&d.roles, *r)))
        .collect();
    // Six weeks, oldest first, ending with the scoreboard's week.
    let mut weeks = vec![*week];
    while weeks.len() < model::SCOREBOARD_TREND_WEEKS {
        let Some(prev) = previous_period(&weeks[0], s.tz, s.fiscal_year_start_month) else { break };
        weeks.insert(0, prev);
    }
    let computed = values::compute_periods(s, db, &defs, &shown, &members, &weeks).await?;
    let Some((this_members, this_pooled)) = computed.last() else {
        return Err(AppError::Internal(anyhow::anyhow!("no weeks computed")));
    };
    let cell = |key: &str, current: Option<&Cell>, history: Vec<Option<Decimal>>| ScoreboardCellView {
        kpi_key: key.to_owned(),
        value: current.and_then(|c| c.value.value),
        target: current.and_then(|c| c.target),
        status: current.map_or(KpiStatus::NoTarget, |c| c.status),
        trend: model::trend(&history, model::SCOREBOARD_TREND_WEEKS),
    };
    let rows = members
        .iter()
        .map(|m| {
            let role = SalesRole::parse(&m.sales_role).unwrap_or(SalesRole::Inbound);
            let cells = shown
                .iter()
                .filter(|d| model::applies_to(&d.roles, role))
                .map(|d| {
                    let key = (m.id, d.key.clone());
                    let history = computed.iter().map(|(pm, _)| pm.get(&key).and_then(|c| c.value.value)).collect();
                    cell(&d.key, this_members.get(&key), history)
                })
                .collect();
            ScoreboardRowView { member: m.clone(), cells }
        })
        .collect();
    let totals = shown
        .iter()
        .map(|d| {
            let history = computed.iter().map(|(_, pooled)| pooled.get(&d.key).and_then(|c| c.value.value)).collect();
            cell(&d.key, this_pooled.get(&d.key), history)
        })
        .collect();
    Ok(ScoreboardView { week_start: week.start_date, kpis: shown.into_iter().cloned().collect(), rows, totals })
}
