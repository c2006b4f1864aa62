//! Output objects of incentive compensation: plans, versions and assignments, statements and their
//! lines, simulated payouts, and disputes.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{dispute, incentive_plan, plan_assignment, plan_version, statement, statement_line};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::{dec, money, money_str};
use crate::graphql::ContextExt;

use crate::graphql::relay::{NodeKind, global_id};
use crate::incentive::model::{
    Component, DisputeStatus, DrawKind, LineKind, SpiffTarget, StatementStatus, TeamBonusCondition, TierMode,
};
use crate::incentive::store;
use crate::org::graphql::{Member, Team};
use crate::pipeline::graphql::{Deal, Money};
use crate::quota::model::QuotaGrain;

// ---------------------------------------------------------------- plans: output

/// What a plan component does.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum PlanComponentKind {
    /// A rate on credited revenue, with attainment tiers.
    Commission,
    /// Fixed amounts at attainment thresholds.
    Bonus,
    /// A fixed amount per qualifying deal or activity inside a window.
    Spiff,
    /// A pool paid when a team reaches its quota or mystery-check average, split equally.
    TeamBonus,
    /// A guaranteed minimum per period.
    Draw,
}

/// A tier of a commission: from this attainment upward until the next tier.
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(input_name = "CommissionTierInput")]
pub struct CommissionTier {
    /// Attainment percent where the tier starts (inclusive), e.g. "50".
    pub from_attainment: String,
    /// Commission rate in percent, e.g. "5" (below the base rate: a decelerator; above: an accelerator).
    pub rate: String,
    /// MARGINAL (the rate on the revenue inside the band) or RETROACTIVE (once reached, the rate on everything).
    pub mode: TierMode,
}

/// A bonus threshold.
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(input_name = "BonusThresholdInput")]
pub struct BonusStep {
    /// Attainment percent that triggers it.
    pub attainment: String,
    /// Amount paid once when reached (decimal string).
    pub amount: String,
}

/// One component of a plan. Fields that do not apply to its kind are `null`.
#[derive(SimpleObject)]
pub struct PlanComponent {
    /// What it does.
    kind: PlanComponentKind,
    /// Its name, shown on statement lines.
    name: String,
    /// COMMISSION: rate in percent below the first tier.
    base_rate: Option<String>,
    /// COMMISSION: tiers by attainment.
    tiers: Vec<CommissionTier>,
    /// COMMISSION: most commission per period.
    cap: Option<String>,
    /// BONUS: thresholds.
    thresholds: Vec<BonusStep>,
    /// SPIFF: per won DEAL or per ACTIVITY.
    target: Option<SpiffTarget>,
    /// SPIFF on activities: the activity type.
    activity_type_id: Option<ID>,
    /// SPIFF on deals: smallest qualifying deal amount.
    min_deal_amount: Option<String>,
    /// SPIFF: amount per item; DRAW: guaranteed amount per period.
    amount: Option<String>,
    /// SPIFF: first day of the window.
    starts_on: Option<NaiveDate>,
    /// SPIFF: last day of the window (inclusive).
    ends_on: Option<NaiveDate>,
    /// TEAM_BONUS: the team.
    team_id: Option<ID>,
    /// TEAM_BONUS: QUOTA (team attainment percent) or MYSTERY_AVERAGE (average mystery-check points).
    condition: Option<TeamBonusCondition>,
    /// TEAM_BONUS: the level to reach.
    threshold: Option<String>,
    /// TEAM_BONUS: the pool, split equally among the team's active members.
    pool: Option<String>,
    /// DRAW: RECOVERABLE (paid back from later earnings) or NON_RECOVERABLE.
    draw_kind: Option<DrawKind>,
}

impl From<&Component> for PlanComponent {
    fn from(c: &Component) -> Self {
        let s = |d: &Decimal| d.normalize().to_string();
        let mut out = PlanComponent {
            kind: PlanComponentKind::Commission,
            name: c.name().to_owned(),
            base_rate: None,
            tiers: vec![],
            cap: None,
            thresholds: vec![],
            target: None,
            activity_type_id: None,
            min_deal_amount: None,
            amount: None,
            starts_on: None,
            ends_on: None,
            team_id: None,
            condition: None,
            threshold: None,
            pool: None,
            draw_kind: None,
        };
        match c {
            Component::Commission { base_rate, tiers, cap, .. } => {
                out.base_rate = Some(s(base_rate));
                out.tiers = tiers
                    .iter()
                    .map(|t| CommissionTier { from_attainment: s(&t.from_attainment), rate: s(&t.rate), mode: t.mode })
                    .collect();
                out.cap = cap.map(money_str);
            }
            Component::Bonus { thresholds, .. } => {
                out.kind = PlanComponentKind::Bonus;
                out.thresholds = thresholds
                    .iter()
                    .map(|t| BonusStep { attainment: s(&t.attainment), amount: money_str(t.amount) })
                    .collect();
            }
            Component::Spiff { target, activity_type_id, min_deal_amount, amount, starts_on, ends_on, .. } => {
                out.kind = PlanComponentKind::Spiff;
                out.target = Some(*target);
                out.activity_type_id = activity_type_id.map(|t| global_id(NodeKind::ActivityType, t));
                out.min_deal_amount = min_deal_amount.map(money_str);
                out.amount = Some(money_str(*amount));
                out.starts_on = Some(*starts_on);
                out.ends_on = Some(*ends_on);
            }
            Component::TeamBonus { team_id, condition, threshold, pool, .. } => {
                out.kind = PlanComponentKind::TeamBonus;
                out.team_id = Some(global_id(NodeKind::Team, *team_id));
                out.condition = Some(*condition);
                out.threshold = Some(s(threshold));
                out.pool = Some(money_str(*pool));
            }
            Component::Draw { kind, amount, .. } => {
                out.kind = PlanComponentKind::Draw;
                out.draw_kind = Some(*kind);
                out.amount = Some(money_str(*amount));
            }
        }
        out
    }
}

/// An incentive plan: components that turn results into pay. Versioned: once an approved
/// statement used a version, changing the plan creates a new version.
pub struct IncentivePlan(pub incentive_plan::Model);

/// An incentive plan: components that turn results into pay. Versioned: once an approved
/// statement used a version, changing the plan creates a new version.
#[Object]
impl IncentivePlan {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::IncentivePlan, self.0.id)
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Description.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The version in force.
    async fn version(&self) -> i32 {
        self.0.current_version
    }
    /// The components of the version in force.
    async fn components(&self, ctx: &Context<'_>) -> Result<Vec<PlanComponent>> {
        let p = ctx.principal()?;
        let v = store::current_version(p.org, &ctx.state()?.db, &self.0).await?;
        Ok(store::components_of(&v).iter().map(PlanComponent::from).collect())
    }
    /// Every version, oldest first.
    async fn versions(&self, ctx: &Context<'_>) -> Result<Vec<PlanVersion>> {
        let p = ctx.principal()?;
        Ok(store::versions(p.org, &ctx.state()?.db, self.0.id).await?.into_iter().map(PlanVersion).collect())
    }
    /// Who is on this plan, oldest assignment first.
    async fn assignments(&self, ctx: &Context<'_>) -> Result<Vec<PlanAssignment>> {
        let p = ctx.principal()?;
        let rows = store::assignments(p.org, &ctx.state()?.db, None, Some(self.0.id)).await?;
        Ok(rows.into_iter().map(PlanAssignment).collect())
    }
    /// Archived plans take no new assignments.
    async fn archived(&self) -> bool {
        self.0.archived
    }
    /// Created at.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Last changed at.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// One version of a plan.
pub struct PlanVersion(pub plan_version::Model);

/// One version of a plan.
#[Object]
impl PlanVersion {
    /// Version number, from 1.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// Its components.
    async fn components(&self) -> Vec<PlanComponent> {
        store::components_of(&self.0).iter().map(PlanComponent::from).collect()
    }
    /// An approved statement used it: it can no longer change.
    async fn locked(&self) -> bool {
        self.0.locked
    }
    /// Created at.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A member on a plan over a span of days.
pub struct PlanAssignment(pub plan_assignment::Model);

/// A member on a plan over a span of days.
#[Object]
impl PlanAssignment {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::PlanAssignment, self.0.id)
    }
    /// The plan.
    async fn plan(&self, ctx: &Context<'_>) -> Result<Option<IncentivePlan>> {
        let p = ctx.principal()?;
        Ok(store::find_plan(p.org, &ctx.state()?.db, self.0.plan_id).await?.map(IncentivePlan))
    }
    /// The member.
    async fn member(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        Ok(crate::org::graphql::member_by_id(ctx, self.0.member_id).await?)
    }
    /// First day.
    async fn starts_on(&self) -> NaiveDate {
        self.0.starts_on
    }
    /// Last day (inclusive); `null` while open-ended.
    async fn ends_on(&self) -> Option<NaiveDate> {
        self.0.ends_on
    }
}

// ---------------------------------------------------------------- statements: output

/// A member's payout statement for one period (one version of it). Its total is the exact sum
/// of its lines; each line names its source and math.
pub struct Statement(pub statement::Model);

crate::connection_type!(StatementConnection, StatementEdge, Statement, "payout statements");

/// A member's payout statement for one period (one version of it). Its total is the exact sum
/// of its lines; each line names its source and math.
#[Object]
impl Statement {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Statement, self.0.id)
    }
    /// Whose pay it is.
    async fn member(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        Ok(crate::org::graphql::member_by_id(ctx, self.0.member_id).await?)
    }
    /// MONTH, QUARTER or YEAR.
    async fn grain(&self) -> QuotaGrain {
        QuotaGrain::parse(&self.0.grain).unwrap_or(QuotaGrain::Quarter)
    }
    /// First day of the period.
    async fn period_start(&self) -> NaiveDate {
        self.0.period_start
    }
    /// Day after the period's last day.
    async fn period_end(&self) -> NaiveDate {
        self.0.period_end
    }
    /// Version: every payout run over a draft makes a new one.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// DRAFT, APPROVED or PAID. Only drafts are recomputed.
    async fn status(&self) -> StatementStatus {
        StatementStatus::parse(&self.0.status).unwrap_or(StatementStatus::Draft)
    }
    /// Whether this is the latest version for its member and period.
    async fn current(&self) -> bool {
        self.0.current
    }
    /// The plan.
    async fn plan(&self, ctx: &Context<'_>) -> Result<Option<IncentivePlan>> {
        let p = ctx.principal()?;
        Ok(store::find_plan(p.org, &ctx.state()?.db, self.0.plan_id).await?.map(IncentivePlan))
    }
    /// The plan version used.
    async fn plan_version(&self, ctx: &Context<'_>) -> Result<Option<i32>> {
        let p = ctx.principal()?;
        Ok(store::find_version(p.org, &ctx.state()?.db, self.0.plan_version_id).await?.map(|v| v.version))
    }
    /// The revenue quota used (ramp applied); `null` without one.
    async fn quota(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        match self.0.quota_cents {
            Some(c) => Ok(Some(money(ctx, c).await?)),
            None => Ok(None),
        }
    }
    /// Revenue credited to the member in the period.
    async fn credited_revenue(&self, ctx: &Context<'_>) -> Result<Money> {
        money(ctx, self.0.credited_cents).await
    }
    /// Credited revenue ÷ quota × 100.
    async fn attainment_percent(&self) -> Option<f64> {
        self.0.attainment.as_deref().and_then(dec).and_then(|d| d.to_f64())
    }
    /// The sum of the lines.
    async fn total(&self, ctx: &Context<'_>) -> Result<Money> {
        money(ctx, self.0.total_cents).await
    }
    /// Recoverable draw owed before this period.
    async fn draw_balance_before(&self, ctx: &Context<'_>) -> Result<Money> {
        money(ctx, self.0.draw_balance_before_cents).await
    }
    /// Recoverable draw owed after it (carried to the next period once approved).
    async fn draw_balance_after(&self, ctx: &Context<'_>) -> Result<Money> {
        money(ctx, self.0.draw_balance_after_cents).await
    }
    /// The lines, in order.
    async fn lines(&self, ctx: &Context<'_>) -> Result<Vec<StatementLine>> {
        let p = ctx.principal()?;
        let rows = store::lines_of(p.org, &ctx.state()?.db, &[self.0.id]).await?;
        Ok(rows.into_iter().map(StatementLine).collect())
    }
    /// Every version for this member and period, newest first.
    async fn versions(&self, ctx: &Context<'_>) -> Result<Vec<Statement>> {
        let p = ctx.principal()?;
        let rows =
            store::statement_versions(p.org, &ctx.state()?.db, self.0.member_id, &self.0.grain, self.0.period_start)
                .await?;
        Ok(rows.into_iter().map(Statement).collect())
    }
    /// Disputes of its lines.
    async fn disputes(&self, ctx: &Context<'_>) -> Result<Vec<Dispute>> {
        let p = ctx.principal()?;
        let rows = store::disputes(p.org, &ctx.state()?.db, None, None, Some(self.0.id)).await?;
        Ok(rows.into_iter().map(Dispute).collect())
    }
    /// Computed at.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Approved at.
    async fn approved_at(&self) -> Option<DateTime<Utc>> {
        self.0.approved_at
    }
    /// Approved by.
    async fn approved_by(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        let Some(id) = self.0.approved_by else { return Ok(None) };
        Ok(crate::org::graphql::member_by_id(ctx, id).await?)
    }
    /// Marked paid at.
    async fn paid_at(&self) -> Option<DateTime<Utc>> {
        self.0.paid_at
    }
}

/// What a statement line is about.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum LineSourceKind {
    /// A deal (commission, SPIFF, clawback).
    Deal,
    /// An activity (SPIFF).
    Activity,
    /// A team (team bonus).
    Team,
    /// The draw.
    Draw,
    /// A resolved dispute (adjustment).
    Dispute,
    /// The plan itself (bonus thresholds, cap).
    Plan,
}

impl LineSourceKind {
    pub(super) fn parse(s: &str) -> Self {
        match s {
            "DEAL" => LineSourceKind::Deal,
            "ACTIVITY" => LineSourceKind::Activity,
            "TEAM" => LineSourceKind::Team,
            "DRAW" => LineSourceKind::Draw,
            "DISPUTE" => LineSourceKind::Dispute,
            _ => LineSourceKind::Plan,
        }
    }
}

/// One explained line of a statement.
pub struct StatementLine(pub statement_line::Model);

/// One explained line of a statement.
#[Object]
impl StatementLine {
    /// Opaque global ID (dispute a line with it).
    pub async fn id(&self) -> ID {
        global_id(NodeKind::StatementLine, self.0.id)
    }
    /// Position on the statement, from 1.
    async fn position(&self) -> i32 {
        self.0.position
    }
    /// COMMISSION, BONUS, SPIFF, TEAM_BONUS, DRAW, DRAW_RECOVERY, CAP, CLAWBACK or ADJUSTMENT.
    async fn kind(&self) -> LineKind {
        LineKind::parse(&self.0.kind).unwrap_or(LineKind::Adjustment)
    }
    /// The plan component it comes from.
    async fn component(&self) -> Option<&str> {
        self.0.component.as_deref()
    }
    /// What it is about.
    async fn source_kind(&self) -> LineSourceKind {
        LineSourceKind::parse(&self.0.source_kind)
    }
    /// The deal it is about (DEAL lines), if the viewer may read it.
    async fn deal(&self, ctx: &Context<'_>) -> Result<Option<Deal>> {
        if self.0.source_kind != "DEAL" {
            return Ok(None);
        }
        let Some(id) = self.0.source_id else { return Ok(None) };
        let p = ctx.principal()?;
        let db = &ctx.state()?.db;
        // A statement's reader may see the deals that pay them, even a split partner's.
        Ok(crate::pipeline::store::find_deal(p.org, db, id).await?.map(Deal))
    }
    /// The team it is about (TEAM lines).
    async fn team(&self, ctx: &Context<'_>) -> Result<Option<Team>> {
        if self.0.source_kind != "TEAM" {
            return Ok(None);
        }
        let Some(id) = self.0.source_id else { return Ok(None) };
        Ok(crate::org::graphql::team_by_id(ctx, id).await?)
    }
    /// The ID of the source record (deal, activity, team or dispute), when there is one.
    async fn source_id(&self) -> Option<ID> {
        let id = self.0.source_id?;
        let kind = match self.0.source_kind.as_str() {
            "DEAL" => NodeKind::Deal,
            "ACTIVITY" => NodeKind::Activity,
            "TEAM" => NodeKind::Team,
            "DISPUTE" => NodeKind::Dispute,
            _ => return None,
        };
        Some(global_id(kind, id))
    }
    /// The credited revenue behind the line: on a commission line the portion its rate applies
    /// to; on a bonus line the period's credited revenue that reached the bonus threshold; on a
    /// clawback line the value of the line it claws back (null when that line had none, as a
    /// spiff). Null on caps, spiffs, team bonuses, draws and adjustments.
    async fn credited_base(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        match self.0.credited_base_cents {
            Some(c) => Ok(Some(money(ctx, c).await?)),
            None => Ok(None),
        }
    }
    /// Attainment percent reached by the end of this line's revenue.
    async fn attainment_percent(&self) -> Option<f64> {
        self.0.attainment.as_deref().and_then(dec).and_then(|d| d.to_f64())
    }
    /// The tier applied, e.g. "tier 2 (from 50 %)", or "base".
    async fn tier(&self) -> Option<&str> {
        self.0.tier.as_deref()
    }
    /// The rate applied, percent as a decimal string.
    async fn rate_percent(&self) -> Option<&str> {
        self.0.rate.as_deref()
    }
    /// The amount, rounded to cents (half-even) on this line only.
    async fn amount(&self, ctx: &Context<'_>) -> Result<Money> {
        money(ctx, self.0.amount_cents).await
    }
    /// The math in one sentence, in the request's language: the signed-in member's own, else
    /// their organization's. Deal, plan component, team and activity type names are shown as
    /// they are. Lines computed before Dutch explanations were kept are in English.
    async fn explanation(&self, ctx: &Context<'_>) -> Result<&str> {
        let locale = crate::org::graphql::request_locale(ctx).await?;
        Ok(match (locale, self.0.explanation_nl.as_deref()) {
            (crate::core::locale::Locale::Nl, Some(dutch)) => dutch,
            _ => &self.0.explanation,
        })
    }
}

/// A line of a simulated statement (nothing stored).
#[derive(SimpleObject)]
pub struct SimulatedLine {
    /// The line kind.
    pub(super) kind: LineKind,
    /// The plan component.
    pub(super) component: Option<String>,
    /// What it is about.
    pub(super) source_kind: LineSourceKind,
    /// The source record's ID.
    pub(super) source_id: Option<ID>,
    /// Whether it comes from one of the deals you asked to simulate.
    pub(super) simulated: bool,
    /// The credited revenue behind the line, as on `StatementLine.creditedBase`: a commission's
    /// portion, the revenue that reached a bonus threshold, or a clawed-back line's value.
    pub(super) credited_base: Option<String>,
    /// Attainment percent reached by the end of this line.
    pub(super) attainment_percent: Option<f64>,
    /// The tier applied.
    pub(super) tier: Option<String>,
    /// The rate applied, percent.
    pub(super) rate_percent: Option<String>,
    /// The amount (decimal string, the organization's currency).
    pub(super) amount: String,
    /// The math in one sentence, in the request's language (as `StatementLine.explanation`).
    pub(super) explanation: String,
}

/// What a period would pay if the given open deals closed won today.
#[derive(SimpleObject)]
pub struct SimulatedPayout {
    /// The member.
    pub(super) member: Member,
    /// First day of the period.
    pub(super) period_start: NaiveDate,
    /// Day after its last day.
    pub(super) period_end: NaiveDate,
    /// The organization's currency.
    pub(super) currency: String,
    /// Total now (without the simulated deals).
    pub(super) baseline_total: String,
    /// Attainment percent now.
    pub(super) baseline_attainment_percent: Option<f64>,
    /// Total with the simulated deals won.
    pub(super) total: String,
    /// Attainment percent with them.
    pub(super) attainment_percent: Option<f64>,
    /// Total − baseline total.
    pub(super) difference: String,
    /// The simulated statement's lines.
    pub(super) lines: Vec<SimulatedLine>,
}

/// A rep's objection to a statement line, and its resolution.
pub struct Dispute(pub dispute::Model);

/// A rep's objection to a statement line, and its resolution.
#[Object]
impl Dispute {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Dispute, self.0.id)
    }
    /// The disputed line.
    async fn line(&self, ctx: &Context<'_>) -> Result<Option<StatementLine>> {
        let p = ctx.principal()?;
        Ok(store::find_line(p.org, &ctx.state()?.db, self.0.line_id).await?.map(StatementLine))
    }
    /// The statement of the line.
    async fn statement(&self, ctx: &Context<'_>) -> Result<Option<Statement>> {
        let p = ctx.principal()?;
        Ok(store::find_statement(p.org, &ctx.state()?.db, self.0.statement_id).await?.map(Statement))
    }
    /// Who disputes it.
    async fn member(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        Ok(crate::org::graphql::member_by_id(ctx, self.0.member_id).await?)
    }
    /// Why.
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    /// OPEN, ACCEPTED or REJECTED.
    async fn status(&self) -> DisputeStatus {
        DisputeStatus::parse(&self.0.status).unwrap_or(DisputeStatus::Open)
    }
    /// The resolver's answer.
    async fn resolution(&self) -> Option<&str> {
        self.0.resolution.as_deref()
    }
    /// The correction paid (or taken) on the member's next open statement.
    async fn adjustment(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        match self.0.adjustment_cents {
            Some(c) => Ok(Some(money(ctx, c).await?)),
            None => Ok(None),
        }
    }
    /// Who resolved it.
    async fn resolved_by(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        let Some(id) = self.0.resolved_by else { return Ok(None) };
        Ok(crate::org::graphql::member_by_id(ctx, id).await?)
    }
    /// Resolved at.
    async fn resolved_at(&self) -> Option<DateTime<Utc>> {
        self.0.resolved_at
    }
    /// The approved statement that carried the adjustment.
    async fn applied_statement(&self, ctx: &Context<'_>) -> Result<Option<Statement>> {
        let Some(id) = self.0.applied_statement_id else { return Ok(None) };
        let p = ctx.principal()?;
        Ok(store::find_statement(p.org, &ctx.state()?.db, id).await?.map(Statement))
    }
    /// Opened at.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
