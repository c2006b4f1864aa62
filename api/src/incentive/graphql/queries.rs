//! Incentive queries.

use std::collections::HashSet;

use async_graphql::{Context, ID, Object, Result};
use chrono::Utc;
use rust_decimal::prelude::ToPrimitive;
use uuid::Uuid;

use super::{
    Dispute, IncentivePlan, LineSourceKind, PayoutPeriodInput, SimulatePayoutInput, SimulatedLine, SimulatedPayout,
    Statement, StatementConnection, StatementFilterInput, load_plan, load_statement, may_read_member, money_str,
    period_of, readable_members,
};
use crate::core::error::AppError;
use crate::core::roles::Role;
use crate::graphql::ContextExt;
use crate::graphql::relay::{NodeKind, PageArgs, connection, decode_id, global_id};
use crate::incentive::model::DisputeStatus;
use crate::incentive::payouts::{self, Pretend};
use crate::incentive::store::{self, StatementFilter};
use crate::org::graphql::Member;
use crate::org::store as org_store;
use crate::quota::model::QuotaGrain;
use crate::quota::store as quota_store;
use crate::scoring::scores;

// ---------------------------------------------------------------- queries

/// Incentive queries.
#[derive(Default)]
pub struct IncentiveQuery;

#[Object]
impl IncentiveQuery {
    /// Incentive plans by name: all for admins, managers and viewers; a rep sees the plans they are on.
    async fn incentive_plans(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Include archived plans.")] include_archived: Option<bool>,
    ) -> Result<Vec<IncentivePlan>> {
        let p = ctx.principal()?;
        let db = &ctx.state()?.db;
        let plans = store::plans(p.org, db, include_archived.unwrap_or(false)).await?;
        let mine: Option<HashSet<Uuid>> = if p.role == Role::Rep {
            Some(store::assignments(p.org, db, Some(p.member_id), None).await?.into_iter().map(|a| a.plan_id).collect())
        } else {
            None
        };
        Ok(plans.into_iter().filter(|x| mine.as_ref().is_none_or(|m| m.contains(&x.id))).map(IncentivePlan).collect())
    }

    /// One plan.
    async fn incentive_plan(&self, ctx: &Context<'_>, #[graphql(desc = "Its ID.")] id: ID) -> Result<IncentivePlan> {
        let p = ctx.principal()?;
        Ok(IncentivePlan(load_plan(p, &ctx.state()?.db, &id).await?))
    }

    /// Payout statements: a rep's own, a manager's team members', everyone's for admins and
    /// viewers. Current versions only unless asked.
    #[graphql(complexity = "crate::graphql::relay::page_cost(__field, first, last, child_complexity)")]
    async fn statements(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to include.")] filter: Option<StatementFilterInput>,
        #[graphql(desc = "Page size from the start, 1 to 200 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end, 1 to 200.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
    ) -> Result<StatementConnection> {
        let p = ctx.principal()?;
        let db = &ctx.state()?.db;
        let page = PageArgs::asked(ctx, first, after, last, before);
        page.validate()?;
        let f = filter.unwrap_or_default();
        let mut filter = StatementFilter {
            status: f.status,
            include_superseded: f.include_superseded.unwrap_or(false),
            ..Default::default()
        };
        if let Some(period) = f.period {
            let s = scores::settings(p.org, db).await?;
            filter.grain = Some(period.grain.as_str().to_owned());
            filter.period_start = Some(period_of(&s, period).start_date);
        }
        let readable = readable_members(p, db).await?;
        filter.member_ids = match (&f.member_id, readable) {
            (Some(id), r) => {
                let m = org_store::find_member(p.org, db, decode_id(id, NodeKind::Member)?)
                    .await?
                    .ok_or(AppError::NotFound("member"))?
                    .id;
                Some(if r.is_none_or(|ids| ids.contains(&m)) { vec![m] } else { vec![] })
            }
            (None, Some(ids)) => Some(ids.into_iter().collect()),
            (None, None) => None,
        };
        let rows = store::page_statements(p.org, db, &filter, &page).await?;
        Ok(connection(ctx, rows, Statement).into())
    }

    /// One statement version.
    async fn statement(&self, ctx: &Context<'_>, #[graphql(desc = "Its ID.")] id: ID) -> Result<Statement> {
        let p = ctx.principal()?;
        Ok(Statement(load_statement(p, &ctx.state()?.db, decode_id(&id, NodeKind::Statement)?).await?))
    }

    /// Disputes the viewer may see (a rep their own; a manager their team members'), newest first.
    async fn disputes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this status (default: all).")] status: Option<DisputeStatus>,
    ) -> Result<Vec<Dispute>> {
        let p = ctx.principal()?;
        let db = &ctx.state()?.db;
        let readable = readable_members(p, db).await?;
        let ids: Option<Vec<Uuid>> = readable.map(|s| s.into_iter().collect());
        Ok(store::disputes(p.org, db, ids.as_deref(), status, None).await?.into_iter().map(Dispute).collect())
    }

    /// What a period would pay if the given open deals closed won today. Nothing is stored.
    #[graphql(complexity = "crate::graphql::access::EXPENSIVE_FIELD_COST + child_complexity")]
    async fn simulate_payout(&self, ctx: &Context<'_>, input: SimulatePayoutInput) -> Result<SimulatedPayout> {
        let p = ctx.principal()?;
        let db = &ctx.state()?.db;
        let member_id = match &input.member_id {
            Some(id) => decode_id(id, NodeKind::Member)?,
            None => p.member_id,
        };
        if !may_read_member(p, db, member_id).await? {
            return Err(AppError::NotFound("member").into());
        }
        let member = org_store::find_member(p.org, db, member_id).await?.ok_or(AppError::NotFound("member"))?;
        if input.deal_ids.len() > 50 {
            return Err(AppError::bad_input("at most 50 deals").into());
        }
        let s = scores::settings(p.org, db).await?;
        let today = crate::core::period::local_date(Utc::now(), s.tz);
        let period_input = input.period.unwrap_or(PayoutPeriodInput { grain: QuotaGrain::Quarter, date: today });
        let period = period_of(&s, period_input);
        let closed_on = today.clamp(period.start_date, period.end_date.pred_opt().unwrap_or(period.start_date));
        let mut pretend = Vec::new();
        for id in &input.deal_ids {
            let d = crate::pipeline::store::find_deal(p.org, db, decode_id(id, NodeKind::Deal)?)
                .await?
                .ok_or(AppError::NotFound("deal"))?;
            if d.outcome.is_some() {
                return Err(AppError::bad_input(format!("deal '{}' is already closed", d.name)).into());
            }
            let credited = quota_store::credit(p.org, db, vec![d.clone()]).await?;
            if !credited.iter().any(|c| c.credits.iter().any(|c| c.member_id == member.id)) {
                return Err(AppError::bad_input(format!("deal '{}' does not credit this member", d.name)).into());
            }
            pretend.push(Pretend { deal: d, closed_on });
        }
        let assignments = store::assignments(p.org, db, Some(member.id), None).await?;
        let assignment = payouts::governing_assignment(&assignments, member.id, &period)
            .ok_or_else(|| AppError::bad_input("the member is on no incentive plan in that period"))?;
        let plan = store::find_plan(p.org, db, assignment.plan_id).await?.ok_or(AppError::NotFound("plan"))?;
        let version = store::current_version(p.org, db, &plan).await?;
        let won = quota_store::won_deals(p.org, db, period.start, period.end).await?;
        let base = payouts::compute(&s, db, &member, period_input.grain, &period, &version, &won, &[]).await?;
        let sim = payouts::compute(&s, db, &member, period_input.grain, &period, &version, &won, &pretend).await?;
        let simulated: HashSet<Uuid> = pretend.iter().map(|x| x.deal.id).collect();
        let currency = crate::org::store::currency(p.org, db).await?;
        let locale = crate::org::graphql::request_locale(ctx).await?;
        let lines = sim
            .result
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let (kind, id) = payouts::source(&l.source);
                SimulatedLine {
                    kind: l.kind,
                    component: l.component.clone(),
                    source_kind: LineSourceKind::parse(kind),
                    source_id: id.map(|id| {
                        global_id(
                            match kind {
                                "DEAL" => NodeKind::Deal,
                                "ACTIVITY" => NodeKind::Activity,
                                "TEAM" => NodeKind::Team,
                                _ => NodeKind::Dispute,
                            },
                            id,
                        )
                    }),
                    simulated: id.is_some_and(|id| simulated.contains(&id)),
                    credited_base: l.credited_base.map(money_str),
                    attainment_percent: l.attainment.and_then(|a| a.to_f64()),
                    tier: l.tier.clone(),
                    rate_percent: l.rate.map(|r| r.normalize().to_string()),
                    amount: money_str(l.amount),
                    explanation: sim.explanation_in(i, locale).to_owned(),
                }
            })
            .collect();
        Ok(SimulatedPayout {
            member: Member(member),
            period_start: period.start_date,
            period_end: period.end_date,
            currency,
            baseline_total: money_str(base.result.total),
            baseline_attainment_percent: base.result.attainment.and_then(|a| a.to_f64()),
            total: money_str(sim.result.total),
            attainment_percent: sim.result.attainment.and_then(|a| a.to_f64()),
            difference: money_str(sim.result.total - base.result.total),
            lines,
        })
    }
}
