//! KPI and alert queries.

use async_graphql::{Context, ID, Object, Result};
use chrono::{NaiveDate, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::{
    Alert, AlertRule, Kpi, KpiPoint, KpiReport, KpiSeries, KpiTrend, KpiValuesInput, Scoreboard, ScoreboardCell,
    ScoreboardRow, defs_by_keys, f, periods,
};
use crate::core::error::AppError;
use crate::core::period::PeriodGrain;
use crate::graphql::ContextExt;
use crate::graphql::projection::Projected;
use crate::graphql::relay::{NodeKind, decode_id};
use crate::kpi::model;
use crate::kpi::scoreboard::ScoreboardCellView;
use crate::kpi::store;
use crate::kpi::values;
use crate::org::graphql::{Member, Team};
use crate::org::store as org_store;
use crate::scoring::{model as scoring_model, scores};

#[derive(Default)]
pub struct KpiQuery;

#[Object]
impl KpiQuery {
    /// The built-in catalogue and the organization's custom KPIs.
    async fn kpis(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Include archived custom KPIs.", default = false)] include_archived: bool,
    ) -> Result<Vec<Kpi>> {
        let p = ctx.principal()?;
        let defs = values::definitions(p.org, &ctx.state()?.db).await?;
        Ok(defs.iter().filter(|d| include_archived || d.active).map(Kpi::from).collect())
    }

    /// One series per KPI over a range of periods, for a member, a team (pooled) or the organization.
    async fn kpi_values(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to compute.")] input: KpiValuesInput,
    ) -> Result<Vec<KpiSeries>> {
        let p = ctx.principal()?;
        let db = &ctx.state()?.db;
        if input.kpi_keys.is_empty() || input.kpi_keys.len() > 20 {
            return Err(AppError::bad_input("give 1 to 20 KPI keys").into());
        }
        if input.grain == PeriodGrain::Day {
            return Err(AppError::bad_input("KPIs are weekly or longer: use WEEK, MONTH, QUARTER or YEAR").into());
        }
        if input.to < input.from {
            return Err(AppError::bad_input("'to' must not be before 'from'").into());
        }
        let s = scores::settings(p.org, db).await?;
        let defs = values::definitions(p.org, db).await?;
        let wanted = defs_by_keys(&defs, &input.kpi_keys)?;
        let scope = p.read_scope_in(&*crate::org::graphql::directory(ctx).await?);
        let members = match (&input.member_id, &input.team_id) {
            (Some(_), Some(_)) => return Err(AppError::bad_input("give memberId or teamId, not both").into()),
            (Some(id), None) => {
                let m = org_store::find_member(p.org, db, decode_id(id, NodeKind::Member)?)
                    .await?
                    .ok_or(AppError::NotFound("member"))?;
                scope.member(p, &m)?;
                vec![m]
            }
            (None, Some(id)) => {
                let t = decode_id(id, NodeKind::Team)?;
                org_store::find_team(p.org, db, t).await?.ok_or(AppError::NotFound("team"))?;
                scope.board(Some(t))?;
                scores::active_members(p.org, db, Some(t)).await?
            }
            (None, None) => scores::active_members(p.org, db, None).await?,
        };
        let mut series: Vec<KpiSeries> =
            wanted.iter().map(|d| KpiSeries { kpi: Kpi::from(*d), points: Vec::new() }).collect();
        let single = input.member_id.is_some();
        for period in periods(input.grain, input.from, input.to, &s)? {
            let (per_member, pooled) = values::compute(&s, db, &defs, &wanted, &members, &period).await?;
            for (i, d) in wanted.iter().enumerate() {
                let cell = if single {
                    members.first().and_then(|m| per_member.get(&(m.id, d.key.clone())))
                } else {
                    pooled.get(&d.key)
                };
                if let Some(c) = cell {
                    series[i].points.push(KpiPoint::new(&period, c));
                }
            }
        }
        Ok(series)
    }

    /// Every self-reported value a member entered for a week, oldest first (the last counts).
    async fn kpi_report_history(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The member (default: the viewer).")] member_id: Option<ID>,
        #[graphql(desc = "Any date in the week.")] week: NaiveDate,
    ) -> Result<Vec<KpiReport>> {
        let p = ctx.principal()?;
        let db = &ctx.state()?.db;
        let m = match &member_id {
            Some(id) => org_store::find_member(p.org, db, decode_id(id, NodeKind::Member)?)
                .await?
                .ok_or(AppError::NotFound("member"))?,
            None => org_store::find_member(p.org, db, p.member_id).await?.ok_or(AppError::NotFound("member"))?,
        };
        p.read_scope_in(&*crate::org::graphql::directory(ctx).await?).member(p, &m)?;
        let monday = model::week_start(week);
        let rows = store::reports(p.org, db, &[m.id], monday, monday + chrono::Duration::days(7)).await?;
        let mut out = Vec::new();
        for r in rows {
            out.push(KpiReport {
                kpi_key: r.kpi_key,
                week_start: r.week,
                value: r.value.parse::<Decimal>().ok().and_then(|v| v.to_f64()),
                reported_by: org_store::find_member(p.org, db, r.reported_by).await?.map(Member),
                reported_at: r.reported_at,
            });
        }
        Ok(out)
    }

    /// The weekly meeting view: every active member of the team (and sub-teams) with each KPI
    /// of their sales role — value, target, status and the 6-week trend — and team totals.
    #[graphql(complexity = "crate::graphql::access::EXPENSIVE_FIELD_COST + child_complexity")]
    async fn scoreboard(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The team.")] team_id: ID,
        #[graphql(desc = "Any date in the week (default: this week).")] week: Option<NaiveDate>,
    ) -> Result<Scoreboard> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let db = &state.db;
        let t = decode_id(&team_id, NodeKind::Team)?;
        let team = crate::org::graphql::team_by_id(ctx, t).await?.ok_or(AppError::NotFound("team"))?.0;
        let dir = crate::org::graphql::directory(ctx).await?;
        p.read_scope_in(&dir).board(Some(t))?;
        let mut subtree: Vec<uuid::Uuid> = dir.tree().subtree([t]).into_iter().collect();
        subtree.sort_unstable();
        let s = state.settings.get(p.org, db).await?;
        let day = week.unwrap_or_else(|| scoring_model::local_date(Utc::now(), s.tz));
        crate::org::model::check_business_date("week", day)
            .map_err(|e| AppError::bad_input(format!("'week' {}", e.message)))?;
        let this_week = scoring_model::period_containing(PeriodGrain::Week, day, s.tz, s.fiscal_year_start_month);
        let view = crate::kpi::scoreboard::scoreboard(&state.scoreboards, &s, db, t, &subtree, &this_week).await?;
        let cell = |c: &ScoreboardCellView| ScoreboardCell {
            kpi_key: c.kpi_key.clone(),
            value: f(c.value),
            target: f(c.target),
            status: c.status,
            trend: KpiTrend { values: c.trend.values.iter().map(|v| f(*v)).collect(), direction: c.trend.direction },
        };
        Ok(Scoreboard {
            team: Team(team),
            week_start: view.week_start,
            kpis: view.kpis.iter().map(Kpi::from).collect(),
            rows: Projected(
                view.rows
                    .iter()
                    .map(|r| ScoreboardRow {
                        member: Member(r.member.clone()),
                        cells: r.cells.iter().map(cell).collect(),
                        dir: dir.clone(),
                    })
                    .collect(),
            ),
            totals: Projected(view.totals.iter().map(cell).collect()),
        })
    }
}

/// Alert queries.
#[derive(Default)]
pub struct AlertQuery;

#[Object]
impl AlertQuery {
    /// The active alert rules.
    async fn alert_rules(&self, ctx: &Context<'_>) -> Result<Vec<AlertRule>> {
        let p = ctx.principal()?;
        Ok(store::rules(p.org, &ctx.state()?.db).await?.into_iter().map(AlertRule).collect())
    }

    /// Raised alerts the viewer may see (reps: their own; managers: their teams'), newest first.
    async fn alerts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only OPEN or only ACKNOWLEDGED.")] status: Option<model::AlertStatus>,
    ) -> Result<Vec<Alert>> {
        let p = ctx.principal()?;
        let db = &ctx.state()?.db;
        let members = p.visible_members_in(&*crate::org::graphql::directory(ctx).await?);
        Ok(store::alerts(p.org, db, members.as_deref(), status.map(|s| s.as_str()))
            .await?
            .into_iter()
            .map(Alert)
            .collect())
    }
}
