//! Gathers what a payout statement is computed from — the member's plan version, ramped revenue
//! quota, credited won deals, activities, team results, draw balance, pending clawbacks and
//! accepted dispute adjustments — and turns the pure result into rows. Shared by `runPayouts`
//! and `simulatePayout`, so a simulation is the real computation with extra deals.

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter};
use uuid::Uuid;

use entity::{activity, deal, member, plan_assignment, plan_version, quota};

use super::model::{
    self, ActivityFact, AdjustmentFact, ClawbackFact, Component, CreditShare, DealCredit, LineSource, OriginalLine,
    StatementInput, StatementResult, TeamBonusCondition, TeamFact,
};
use super::store::{self, NewLine, NewStatement};
use crate::core::error::AppResult;
use crate::core::locale::Locale;
use crate::core::period::{Period, local_date};
use crate::core::settings::OrgSettings;
use crate::db::tenant;
use crate::quota::model::{QuotaGrain, QuotaMetric, QuotaSubjectKind};
use crate::quota::store as quota_store;

/// The plan assignment that governs a member's period: the latest-starting one overlapping it.
pub fn governing_assignment<'a>(
    assignments: &'a [plan_assignment::Model],
    member: Uuid,
    period: &Period,
) -> Option<&'a plan_assignment::Model> {
    let last_day = period.end_date.pred_opt().unwrap_or(period.end_date);
    assignments
        .iter()
        .filter(|a| a.member_id == member)
        .filter(|a| store::spans_overlap((a.starts_on, a.ends_on), (period.start_date, Some(last_day))))
        .max_by_key(|a| (a.starts_on, a.id))
}

/// Everything a computation used besides the pure input, for storing it.
pub struct Computed {
    /// The pure result, explained in English.
    pub result: StatementResult,
    /// The explanations of its lines in Dutch, line by line (the same statement computed in
    /// Dutch: only the explanations differ).
    pub explanations_nl: Vec<String>,
    /// The quota used, ramp applied.
    pub quota: Option<Decimal>,
    /// The draw balance before.
    pub draw_balance: Decimal,
    /// Disputes whose adjustments it carries.
    pub disputes: Vec<Uuid>,
    /// Clawbacks it carries.
    pub clawbacks: Vec<Uuid>,
}

/// A won deal to pretend, for `simulatePayout`.
pub struct Pretend {
    /// The open deal.
    pub deal: deal::Model,
    /// The day it would close.
    pub closed_on: NaiveDate,
}

/// Computes a member's statement for a period under a plan version. `won` are the period's won
/// deals with their credits ([`quota_store::won_deals`]), loaded once by the caller for all
/// members of a run.
#[allow(clippy::too_many_arguments)]
pub async fn compute(
    s: &OrgSettings,
    db: &impl ConnectionTrait,
    member: &member::Model,
    grain: QuotaGrain,
    period: &Period,
    version: &plan_version::Model,
    won: &[quota_store::CreditedDeal],
    pretend: &[Pretend],
) -> AppResult<Computed> {
    let org = s.org;
    let components = store::components_of(version);
    let currency = crate::org::store::currency(org, db).await?;

    // Revenue quota: every REVENUE quota of the member for this period (all labels), ramped.
    let quotas: Vec<quota::Model> = quota_store::list(
        org,
        db,
        &quota_store::QuotaFilter {
            subject_ids: Some(vec![member.id]),
            metric: Some(QuotaMetric::Revenue),
            grain: Some(grain),
            period_start: Some(period.start_date),
            label: None,
        },
    )
    .await?;
    let quota = if quotas.is_empty() {
        None
    } else {
        Some(quotas.iter().map(|q| quota_store::effective_amount(q, Some(member), period)).sum::<Decimal>())
    };

    // Credited won deals closed in the period, plus pretend ones.
    let mut deals = won.to_vec();
    let mut closed_on: HashMap<Uuid, NaiveDate> = deals
        .iter()
        .map(|d| (d.deal.id, d.deal.closed_at.map_or(period.start_date, |t| local_date(t, s.tz))))
        .collect();
    if !pretend.is_empty() {
        let extra = quota_store::credit(org, db, pretend.iter().map(|p| p.deal.clone()).collect()).await?;
        for p in pretend {
            closed_on.insert(p.deal.id, p.closed_on);
        }
        deals.extend(extra);
    }
    let mut credits = Vec::new();
    for cd in &deals {
        for c in cd.credits.iter().filter(|c| c.member_id == member.id) {
            let share = if c.overlay {
                CreditShare::Overlay(c.percent)
            } else if c.member_id == cd.deal.owner_id && c.percent == 100 {
                CreditShare::Owner
            } else {
                CreditShare::Revenue(c.percent)
            };
            credits.push(DealCredit {
                deal_id: cd.deal.id,
                deal_name: cd.deal.name.clone(),
                closed_on: closed_on.get(&cd.deal.id).copied().unwrap_or(period.start_date),
                deal_amount: Decimal::new(cd.deal.amount_cents, 2),
                credited: Decimal::new(c.amount_cents, 2),
                share,
            });
        }
    }

    // Activities for activity SPIFFs.
    let spiff_types: Vec<Uuid> = components
        .iter()
        .filter_map(|c| match c {
            Component::Spiff { activity_type_id: Some(t), .. } => Some(*t),
            _ => None,
        })
        .collect();
    let mut activities = Vec::new();
    if !spiff_types.is_empty() {
        let rows = tenant::scoped::<activity::Entity>(org)
            .filter(activity::Column::MemberId.eq(member.id))
            .filter(activity::Column::ActivityTypeId.is_in(spiff_types.clone()))
            .filter(activity::Column::VoidedAt.is_null())
            .filter(activity::Column::OccurredAt.gte(period.start))
            .filter(activity::Column::OccurredAt.lt(period.end))
            .all(db)
            .await?;
        let types = crate::scoring::store::activity_types_by_ids(org, db, &spiff_types).await?;
        for a in rows {
            activities.push(ActivityFact {
                activity_id: a.id,
                activity_type_id: a.activity_type_id,
                type_name: types
                    .iter()
                    .find(|t| t.id == a.activity_type_id)
                    .map_or_else(String::new, |t| t.name.clone()),
                occurred_on: a.local_date,
                quantity: a.quantity.unwrap_or(1),
            });
        }
    }

    // Team facts for team bonuses.
    let mut teams = Vec::new();
    for c in &components {
        if let Component::TeamBonus { team_id, condition, .. } = c {
            teams.push(team_fact(s, db, *team_id, *condition, grain, period).await?);
        }
    }

    let draw_balance = Decimal::new(store::draw_balance_before(org, db, member.id, period.start_date).await?, 2);

    let pending = store::pending_clawbacks(org, db, member.id).await?;
    let mut by_deal: Vec<(Uuid, Vec<&entity::clawback::Model>)> = Vec::new();
    for c in &pending {
        match by_deal.iter_mut().find(|(d, _)| *d == c.deal_id) {
            Some((_, list)) => list.push(c),
            None => by_deal.push((c.deal_id, vec![c])),
        }
    }
    let clawed_deals =
        crate::pipeline::store::deals_by_ids(org, db, &by_deal.iter().map(|(d, _)| *d).collect::<Vec<_>>()).await?;
    let clawbacks = by_deal
        .iter()
        .map(|(deal_id, list)| ClawbackFact {
            deal_id: *deal_id,
            deal_name: clawed_deals.iter().find(|d| d.id == *deal_id).map_or_else(String::new, |d| d.name.clone()),
            original: list
                .iter()
                .map(|c| OriginalLine {
                    amount: Decimal::new(c.amount_cents, 2),
                    rate: c.rate.as_deref().and_then(|r| r.parse().ok()),
                    credited_base: c.credited_base_cents.map(|b| Decimal::new(b, 2)),
                    tier: c.tier.clone(),
                })
                .collect(),
            reason: list.first().map_or_else(String::new, |c| c.reason.clone()),
        })
        .collect();

    let adjustments_rows = store::pending_adjustments(org, db, member.id).await?;
    let adjustments = adjustments_rows
        .iter()
        .map(|d| AdjustmentFact {
            dispute_id: d.id,
            amount: Decimal::new(d.adjustment_cents.unwrap_or(0), 2),
            resolution: d.resolution.clone().unwrap_or_default(),
        })
        .collect();

    let input = StatementInput {
        components: &components,
        period_start: period.start_date,
        period_end: period.end_date,
        currency: &currency,
        quota,
        credits,
        activities,
        teams,
        draw_balance,
        clawbacks,
        adjustments,
    };
    let result = model::compute_statement_in(&input, Locale::En);
    let dutch = model::compute_statement_in(&input, Locale::Nl);
    debug_assert_eq!(dutch.lines.len(), result.lines.len(), "the same lines in every language");
    Ok(Computed {
        result,
        explanations_nl: dutch.lines.into_iter().map(|l| l.explanation).collect(),
        quota,
        draw_balance,
        disputes: adjustments_rows.iter().map(|d| d.id).collect(),
        clawbacks: pending.iter().map(|c| c.id).collect(),
    })
}

async fn team_fact(
    s: &OrgSettings,
    db: &impl ConnectionTrait,
    team_id: Uuid,
    condition: TeamBonusCondition,
    grain: QuotaGrain,
    period: &Period,
) -> AppResult<TeamFact> {
    let org = s.org;
    let team_name = crate::org::store::find_team(org, db, team_id).await?.map_or_else(|| "team".to_owned(), |t| t.name);
    let members = quota_store::subject_members(org, db, QuotaSubjectKind::Team, team_id).await?;
    let active_members =
        members.iter().filter(|m| m.active && m.role != "VIEWER" && m.sales_role != "MANAGER").count() as u32;
    let mut fact = TeamFact { team_id, team_name, quota_attainment: None, mystery_average: None, active_members };
    match condition {
        TeamBonusCondition::Quota => {
            let quotas = quota_store::list(
                org,
                db,
                &quota_store::QuotaFilter {
                    subject_ids: Some(vec![team_id]),
                    metric: Some(QuotaMetric::Revenue),
                    grain: Some(grain),
                    period_start: Some(period.start_date),
                    label: None,
                },
            )
            .await?;
            let mut amount = Decimal::ZERO;
            let mut achieved = Decimal::ZERO;
            for q in &quotas {
                amount += quota_store::from_hundredths(q.amount_hundredths);
                achieved += quota_store::achieved(s, db, q, period).await?;
            }
            if !quotas.is_empty() {
                fact.quota_attainment = model::attainment_percent(achieved, Some(amount));
            }
        }
        TeamBonusCondition::MysteryAverage => {
            let last_month = period.end_date.pred_opt().unwrap_or(period.end_date);
            let rounds =
                crate::mystery::store::rounds(org, db, team_id, Some(period.start_date), Some(last_month)).await?;
            let ids: Vec<Uuid> = rounds.iter().map(|r| r.id).collect();
            let checks = crate::mystery::store::checks_of_rounds(org, db, &ids).await?;
            let scored: Vec<crate::mystery::model::ScoredCheck> = checks
                .iter()
                .filter(|c| c.scored_at.is_some())
                .map(|c| crate::mystery::model::ScoredCheck {
                    rep: c.rep_id,
                    score: crate::mystery::store::stored_score(c),
                })
                .collect();
            fact.mystery_average = crate::mystery::model::team_average(&crate::mystery::model::rep_totals(&scored));
        }
    }
    Ok(fact)
}

/// Cents of a line amount (already rounded to cents by the model).
pub fn cents(d: Decimal) -> i64 {
    d.checked_mul(Decimal::ONE_HUNDRED).and_then(|v| v.round().to_i64()).unwrap_or(0)
}

/// The rows to store for a computed statement.
pub fn to_new_statement(
    member: Uuid,
    grain: QuotaGrain,
    period: &Period,
    plan_id: Uuid,
    version: &plan_version::Model,
    c: &Computed,
) -> NewStatement {
    NewStatement {
        member_id: member,
        grain: grain.as_str().to_owned(),
        period_start: period.start_date,
        period_end: period.end_date,
        plan_id,
        plan_version_id: version.id,
        quota_cents: c.quota.map(cents),
        credited_cents: cents(c.result.credited_revenue),
        attainment: c.result.attainment.map(|a| a.to_string()),
        total_cents: cents(c.result.total),
        draw_balance_before_cents: cents(c.draw_balance),
        draw_balance_after_cents: cents(c.result.draw_balance_after),
        lines: c
            .result
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| new_line(l, c.explanations_nl.get(i).map(String::as_str)))
            .collect(),
    }
}

impl Computed {
    /// The explanation of line `index` of the result in `locale` (English when there is none
    /// in it).
    pub fn explanation_in(&self, index: usize, locale: Locale) -> &str {
        let english = self.result.lines.get(index).map_or("", |l| l.explanation.as_str());
        match locale {
            Locale::En => english,
            Locale::Nl => self.explanations_nl.get(index).map_or(english, String::as_str),
        }
    }
}

/// A model line as a row, with its explanation in Dutch.
pub fn new_line(l: &model::Line, explanation_nl: Option<&str>) -> NewLine {
    let (source_kind, source_id) = source(&l.source);
    NewLine {
        kind: l.kind.as_str().to_owned(),
        component: l.component.clone(),
        source_kind: source_kind.to_owned(),
        source_id,
        credited_base_cents: l.credited_base.map(cents),
        attainment: l.attainment.map(|a| a.to_string()),
        tier: l.tier.clone(),
        rate: l.rate.map(|r| r.normalize().to_string()),
        amount_cents: cents(l.amount),
        explanation: l.explanation.clone(),
        explanation_nl: explanation_nl.map(str::to_owned),
    }
}

/// A line source as stored: kind and record.
pub fn source(s: &LineSource) -> (&'static str, Option<Uuid>) {
    match s {
        LineSource::Deal(id) => ("DEAL", Some(*id)),
        LineSource::Activity(id) => ("ACTIVITY", Some(*id)),
        LineSource::Team(id) => ("TEAM", Some(*id)),
        LineSource::Draw => ("DRAW", None),
        LineSource::Dispute(id) => ("DISPUTE", Some(*id)),
        LineSource::Plan => ("PLAN", None),
    }
}

/// Computes and stores drafts for the members of a payout run; returns (new drafts, statements
/// left alone because they are APPROVED or PAID).
pub async fn run(
    org: crate::core::ids::OrgId,
    db: &impl ConnectionTrait,
    s: &OrgSettings,
    grain: QuotaGrain,
    period: &Period,
    assignments: &[plan_assignment::Model],
    members: &[member::Model],
) -> AppResult<(Vec<entity::statement::Model>, Vec<entity::statement::Model>)> {
    use super::model::StatementStatus;
    let won = quota_store::won_deals(org, db, period.start, period.end).await?;
    let mut out = Vec::new();
    let mut unchanged = Vec::new();
    for m in members {
        let Some(a) = governing_assignment(assignments, m.id, period) else { continue };
        let current =
            store::statement_versions(org, db, m.id, grain.as_str(), period.start_date).await?.into_iter().next();
        if let Some(c) = current
            && c.status != StatementStatus::Draft.as_str()
        {
            unchanged.push(c);
            continue;
        }
        let plan = store::find_plan(org, db, a.plan_id).await?.ok_or(crate::core::error::AppError::NotFound("plan"))?;
        let version = store::current_version(org, db, &plan).await?;
        let computed = compute(s, db, m, grain, period, &version, &won, &[]).await?;
        out.push(
            store::insert_statement(org, db, to_new_statement(m.id, grain, period, plan.id, &version, &computed))
                .await?,
        );
    }
    Ok((out, unchanged))
}
