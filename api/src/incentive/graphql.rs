//! GraphQL surface of incentive compensation: versioned plans and their assignments (admins),
//! payout runs and the statement lifecycle DRAFT → APPROVED → PAID (admins), disputes (the rep
//! on their own lines; managers and admins resolve), and the what-if `simulatePayout`.

use std::collections::HashSet;

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use entity::{dispute, incentive_plan, plan_assignment, plan_version, statement, statement_line};

use super::model::{
    self, BonusThreshold, Component, DisputeStatus, DrawKind, LineKind, SpiffTarget, StatementStatus,
    TeamBonusCondition, Tier, TierMode,
};
use super::payouts::{self, Pretend};
use super::store::{self, StatementFilter};
use crate::audit::store::{self as audit, snapshot};
use crate::auth::{Permission, Principal, Reach};
use crate::error::{AppError, AppResult};
use crate::graphql::loaders::{CurrencyKey, MemberKey, TeamKey};
use crate::graphql::relay::{NodeKind, PageArgs, connection, decode_id, global_id};
use crate::graphql::{ContextExt, UserError};
use crate::org::graphql::{Member, Team};
use crate::org::model::{self as org_model, FieldError, Role};
use crate::org::store as org_store;
use crate::pipeline::graphql::{Deal, Money};
use crate::quota::model::QuotaGrain;
use crate::quota::store as quota_store;
use crate::scoring::scores;

fn dec(s: &str) -> Option<Decimal> {
    s.parse().ok()
}

fn money_str(d: Decimal) -> String {
    format!("{:.2}", d.round_dp(2))
}

async fn money(ctx: &Context<'_>, cents: i64) -> Result<Money> {
    let currency = ctx.loader()?.load_one(CurrencyKey).await?.unwrap_or_else(|| "EUR".to_owned());
    Ok(Money { amount: money_str(Decimal::new(cents, 2)), currency })
}

fn errors(list: Vec<FieldError>) -> Vec<UserError> {
    list.into_iter().map(UserError::from).collect()
}

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
        Ok(ctx.loader()?.load_one(MemberKey(self.0.member_id)).await?.map(Member))
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
        Ok(ctx.loader()?.load_one(MemberKey(self.0.member_id)).await?.map(Member))
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
        Ok(ctx.loader()?.load_one(MemberKey(id)).await?.map(Member))
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
    fn parse(s: &str) -> Self {
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
        Ok(ctx.loader()?.load_one(TeamKey(id)).await?.map(Team))
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
    /// The math in one sentence.
    async fn explanation(&self) -> &str {
        &self.0.explanation
    }
}

/// A line of a simulated statement (nothing stored).
#[derive(SimpleObject)]
pub struct SimulatedLine {
    /// The line kind.
    kind: LineKind,
    /// The plan component.
    component: Option<String>,
    /// What it is about.
    source_kind: LineSourceKind,
    /// The source record's ID.
    source_id: Option<ID>,
    /// Whether it comes from one of the deals you asked to simulate.
    simulated: bool,
    /// The credited revenue behind the line, as on `StatementLine.creditedBase`: a commission's
    /// portion, the revenue that reached a bonus threshold, or a clawed-back line's value.
    credited_base: Option<String>,
    /// Attainment percent reached by the end of this line.
    attainment_percent: Option<f64>,
    /// The tier applied.
    tier: Option<String>,
    /// The rate applied, percent.
    rate_percent: Option<String>,
    /// The amount (decimal string, the organization's currency).
    amount: String,
    /// The math in one sentence.
    explanation: String,
}

/// What a period would pay if the given open deals closed won today.
#[derive(SimpleObject)]
pub struct SimulatedPayout {
    /// The member.
    member: Member,
    /// First day of the period.
    period_start: NaiveDate,
    /// Day after its last day.
    period_end: NaiveDate,
    /// The organization's currency.
    currency: String,
    /// Total now (without the simulated deals).
    baseline_total: String,
    /// Attainment percent now.
    baseline_attainment_percent: Option<f64>,
    /// Total with the simulated deals won.
    total: String,
    /// Attainment percent with them.
    attainment_percent: Option<f64>,
    /// Total − baseline total.
    difference: String,
    /// The simulated statement's lines.
    lines: Vec<SimulatedLine>,
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
        Ok(ctx.loader()?.load_one(MemberKey(self.0.member_id)).await?.map(Member))
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
        Ok(ctx.loader()?.load_one(MemberKey(id)).await?.map(Member))
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

// ---------------------------------------------------------------- inputs

/// One plan component. Give the fields its kind needs.
#[derive(InputObject)]
pub struct PlanComponentInput {
    /// What it does.
    kind: PlanComponentKind,
    /// Its name, shown on statement lines (unique in the plan).
    name: String,
    /// COMMISSION: rate in percent below the first tier (default "0").
    base_rate: Option<String>,
    /// COMMISSION: tiers by attainment (at most 10, increasing).
    tiers: Option<Vec<CommissionTier>>,
    /// COMMISSION: most commission per period.
    cap: Option<String>,
    /// BONUS: thresholds.
    thresholds: Option<Vec<BonusStep>>,
    /// SPIFF: DEAL or ACTIVITY.
    target: Option<SpiffTarget>,
    /// SPIFF on activities: the activity type.
    activity_type_id: Option<ID>,
    /// SPIFF on deals: smallest qualifying amount.
    min_deal_amount: Option<String>,
    /// SPIFF: amount per item; DRAW: guaranteed amount per period.
    amount: Option<String>,
    /// SPIFF: first day of the window.
    starts_on: Option<NaiveDate>,
    /// SPIFF: last day (inclusive).
    ends_on: Option<NaiveDate>,
    /// TEAM_BONUS: the team.
    team_id: Option<ID>,
    /// TEAM_BONUS: QUOTA or MYSTERY_AVERAGE.
    condition: Option<TeamBonusCondition>,
    /// TEAM_BONUS: level to reach (attainment percent, or average points).
    threshold: Option<String>,
    /// TEAM_BONUS: the pool.
    pool: Option<String>,
    /// DRAW: RECOVERABLE or NON_RECOVERABLE.
    draw_kind: Option<DrawKind>,
}

fn parse_decimal(field: &str, raw: &str, e: &mut Vec<FieldError>) -> Decimal {
    let text = raw.trim();
    let plain = !text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '-');
    match text.parse::<Decimal>() {
        Ok(d) if plain => d,
        _ => {
            e.push(FieldError::new(field, "INVALID", "must be a decimal number like 12.5"));
            Decimal::ZERO
        }
    }
}

async fn parse_components(
    p: &Principal,
    db: &impl ConnectionTrait,
    input: Vec<PlanComponentInput>,
) -> AppResult<Result<Vec<Component>, Vec<FieldError>>> {
    let mut e = Vec::new();
    let mut out = Vec::new();
    for (i, c) in input.into_iter().enumerate() {
        let f = |name: &str| format!("components[{i}].{name}");
        let req = |name: &str, v: Option<String>, e: &mut Vec<FieldError>| -> Decimal {
            match v {
                Some(s) => parse_decimal(&f(name), &s, e),
                None => {
                    e.push(FieldError::new(&f(name), "REQUIRED", format!("a {:?} component needs {name}", c.kind)));
                    Decimal::ZERO
                }
            }
        };
        let name = c.name.trim().to_owned();
        let component = match c.kind {
            PlanComponentKind::Commission => Component::Commission {
                name,
                base_rate: c.base_rate.as_deref().map_or(Decimal::ZERO, |s| parse_decimal(&f("baseRate"), s, &mut e)),
                tiers: c
                    .tiers
                    .unwrap_or_default()
                    .into_iter()
                    .enumerate()
                    .map(|(j, t)| Tier {
                        from_attainment: parse_decimal(
                            &f(&format!("tiers[{j}].fromAttainment")),
                            &t.from_attainment,
                            &mut e,
                        ),
                        rate: parse_decimal(&f(&format!("tiers[{j}].rate")), &t.rate, &mut e),
                        mode: t.mode,
                    })
                    .collect(),
                cap: c.cap.as_deref().map(|s| parse_decimal(&f("cap"), s, &mut e)),
            },
            PlanComponentKind::Bonus => Component::Bonus {
                name,
                thresholds: c
                    .thresholds
                    .unwrap_or_default()
                    .into_iter()
                    .enumerate()
                    .map(|(j, t)| BonusThreshold {
                        attainment: parse_decimal(&f(&format!("thresholds[{j}].attainment")), &t.attainment, &mut e),
                        amount: parse_decimal(&f(&format!("thresholds[{j}].amount")), &t.amount, &mut e),
                    })
                    .collect(),
            },
            PlanComponentKind::Spiff => {
                let activity_type_id = match &c.activity_type_id {
                    Some(id) => Some(
                        crate::scoring::store::find_activity_type(p.org, db, decode_id(id, NodeKind::ActivityType)?)
                            .await?
                            .ok_or(AppError::NotFound("activity type"))?
                            .id,
                    ),
                    None => None,
                };
                let amount = req("amount", c.amount.clone(), &mut e);
                let (starts_on, ends_on) = match (c.starts_on, c.ends_on) {
                    (Some(a), Some(b)) => (a, b),
                    _ => {
                        e.push(FieldError::new(&f("startsOn"), "REQUIRED", "a SPIFF needs startsOn and endsOn"));
                        (NaiveDate::MIN, NaiveDate::MIN)
                    }
                };
                Component::Spiff {
                    name,
                    target: c.target.unwrap_or(SpiffTarget::Deal),
                    activity_type_id,
                    min_deal_amount: c
                        .min_deal_amount
                        .as_deref()
                        .map(|s| parse_decimal(&f("minDealAmount"), s, &mut e)),
                    amount,
                    starts_on,
                    ends_on,
                }
            }
            PlanComponentKind::TeamBonus => {
                let team_id = match &c.team_id {
                    Some(id) => Some(
                        org_store::find_team(p.org, db, decode_id(id, NodeKind::Team)?)
                            .await?
                            .ok_or(AppError::NotFound("team"))?
                            .id,
                    ),
                    None => {
                        e.push(FieldError::new(&f("teamId"), "REQUIRED", "a TEAM_BONUS names its team"));
                        None
                    }
                };
                Component::TeamBonus {
                    name,
                    team_id: team_id.unwrap_or(Uuid::nil()),
                    condition: c.condition.unwrap_or(TeamBonusCondition::Quota),
                    threshold: req("threshold", c.threshold.clone(), &mut e),
                    pool: req("pool", c.pool.clone(), &mut e),
                }
            }
            PlanComponentKind::Draw => Component::Draw {
                name,
                kind: c.draw_kind.unwrap_or(DrawKind::NonRecoverable),
                amount: req("amount", c.amount.clone(), &mut e),
            },
        };
        out.push(component);
    }
    if !e.is_empty() {
        return Ok(Err(e));
    }
    match model::validate_components(&out) {
        Ok(()) => Ok(Ok(out)),
        Err(x) => Ok(Err(vec![x])),
    }
}

/// A new plan.
#[derive(InputObject)]
pub struct CreateIncentivePlanInput {
    /// Name.
    name: String,
    /// Description.
    description: Option<String>,
    /// Components (1 to 20).
    components: Vec<PlanComponentInput>,
}

/// Changes to a plan. New components go into the current version until an approved statement
/// used it; after that they create a new version.
#[derive(InputObject)]
pub struct UpdateIncentivePlanInput {
    /// The plan.
    id: ID,
    /// The `version` you last read: a stale one is refused with CONFLICT.
    version: Option<i32>,
    /// New name.
    name: Option<String>,
    /// New description; `null` clears.
    description: MaybeUndefined<String>,
    /// New components (replace all).
    components: Option<Vec<PlanComponentInput>>,
}

/// Archives a plan.
#[derive(InputObject)]
pub struct ArchiveIncentivePlanInput {
    /// The plan.
    id: ID,
}

/// Puts a member on a plan.
#[derive(InputObject)]
pub struct AssignIncentivePlanInput {
    /// The plan.
    plan_id: ID,
    /// The member.
    member_id: ID,
    /// First day.
    starts_on: NaiveDate,
    /// Last day, inclusive (default: open-ended).
    ends_on: Option<NaiveDate>,
}

/// Ends a plan assignment.
#[derive(InputObject)]
pub struct EndIncentivePlanAssignmentInput {
    /// The assignment.
    id: ID,
    /// Last day, inclusive.
    ends_on: NaiveDate,
}

/// A pay period.
#[derive(InputObject, Clone, Copy)]
pub struct PayoutPeriodInput {
    /// MONTH, QUARTER or YEAR (quarters and years follow the fiscal year).
    grain: QuotaGrain,
    /// Any day in the period.
    date: NaiveDate,
}

/// Runs payouts for a period.
#[derive(InputObject)]
pub struct RunPayoutsInput {
    /// The period.
    period: PayoutPeriodInput,
    /// Only these members (default: everyone on a plan in the period).
    member_ids: Option<Vec<ID>>,
}

/// A statement to act on.
#[derive(InputObject)]
pub struct StatementActionInput {
    /// The statement (its current version).
    id: ID,
}

/// Disputes a line of your own statement.
#[derive(InputObject)]
pub struct DisputeStatementLineInput {
    /// The line.
    line_id: ID,
    /// What is wrong (1 to 2000 characters).
    reason: String,
}

/// How a dispute ends.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum DisputeResolution {
    /// The rep is right: an adjustment (if any) goes on their next open statement.
    Accepted,
    /// The line stands.
    Rejected,
}

/// Resolves a dispute.
#[derive(InputObject)]
pub struct ResolveDisputeInput {
    /// The dispute.
    id: ID,
    /// ACCEPTED or REJECTED.
    resolution: DisputeResolution,
    /// The answer to the rep (1 to 2000 characters).
    note: String,
    /// ACCEPTED only: the correction, a decimal string (negative takes money back); it becomes an
    /// ADJUSTMENT line on the member's next open statement.
    adjustment: Option<String>,
}

/// What-if: a period's statement as if the given open deals closed won today.
#[derive(InputObject)]
pub struct SimulatePayoutInput {
    /// The member (default: the viewer).
    member_id: Option<ID>,
    /// The period (default: this quarter).
    period: Option<PayoutPeriodInput>,
    /// Open deals the member is credited on (at most 50).
    deal_ids: Vec<ID>,
}

/// Filter for `statements`.
#[derive(InputObject, Default)]
pub struct StatementFilterInput {
    /// Only this member's.
    member_id: Option<ID>,
    /// Only this status.
    status: Option<StatementStatus>,
    /// Only this period.
    period: Option<PayoutPeriodInput>,
    /// Include versions replaced by later runs (default false).
    include_superseded: Option<bool>,
}

/// Result of a plan mutation.
#[derive(SimpleObject)]
pub struct IncentivePlanPayload {
    /// The plan after the change; `null` when refused.
    plan: Option<IncentivePlan>,
    /// What to fix.
    user_errors: Vec<UserError>,
}

/// Result of a plan assignment mutation.
#[derive(SimpleObject)]
pub struct PlanAssignmentPayload {
    /// The assignment; `null` when refused.
    assignment: Option<PlanAssignment>,
    /// What to fix.
    user_errors: Vec<UserError>,
}

/// Result of `runPayouts`.
#[derive(SimpleObject)]
pub struct RunPayoutsPayload {
    /// New draft versions, one per member on a plan.
    statements: Vec<Statement>,
    /// Statements left alone because they are APPROVED or PAID.
    unchanged: Vec<Statement>,
    /// What to fix.
    user_errors: Vec<UserError>,
}

/// Result of a statement status change.
#[derive(SimpleObject)]
pub struct StatementPayload {
    /// The statement after the change; `null` when refused.
    statement: Option<Statement>,
    /// What to fix.
    user_errors: Vec<UserError>,
}

/// Result of a dispute mutation.
#[derive(SimpleObject)]
pub struct DisputePayload {
    /// The dispute; `null` when refused.
    dispute: Option<Dispute>,
    /// What to fix.
    user_errors: Vec<UserError>,
}

// ---------------------------------------------------------------- permissions

fn admin(p: &Principal) -> AppResult<()> {
    p.require(Permission::OrganizationUpdate)
}

/// The members whose pay the principal may read: `None` = everyone (admins, viewers).
pub async fn readable_members(p: &Principal, db: &impl ConnectionTrait) -> AppResult<Option<HashSet<Uuid>>> {
    match p.role {
        Role::Admin | Role::Viewer => Ok(None),
        Role::Manager => match p.reach(db).await? {
            Reach::All => Ok(None),
            Reach::Teams(teams) => {
                let teams: Vec<Uuid> = teams.into_iter().collect();
                let mut ids: HashSet<Uuid> =
                    org_store::members_by_teams(p.org, db, &teams).await?.into_iter().map(|m| m.id).collect();
                ids.insert(p.member_id);
                Ok(Some(ids))
            }
        },
        Role::Rep => Ok(Some(HashSet::from([p.member_id]))),
    }
}

async fn may_read_member(p: &Principal, db: &impl ConnectionTrait, member: Uuid) -> AppResult<bool> {
    Ok(readable_members(p, db).await?.is_none_or(|ids| ids.contains(&member)))
}

async fn load_statement(p: &Principal, db: &impl ConnectionTrait, id: Uuid) -> AppResult<statement::Model> {
    let s = store::find_statement(p.org, db, id).await?.ok_or(AppError::NotFound("statement"))?;
    if !may_read_member(p, db, s.member_id).await? {
        return Err(AppError::NotFound("statement"));
    }
    Ok(s)
}

async fn load_plan(p: &Principal, db: &impl ConnectionTrait, id: &ID) -> AppResult<incentive_plan::Model> {
    let plan = store::find_plan(p.org, db, decode_id(id, NodeKind::IncentivePlan)?)
        .await?
        .ok_or(AppError::NotFound("plan"))?;
    if p.role == Role::Rep {
        let mine = store::assignments(p.org, db, Some(p.member_id), Some(plan.id)).await?;
        if mine.is_empty() {
            return Err(AppError::NotFound("plan"));
        }
    }
    Ok(plan)
}

/// An object of this domain that `node(id:)` can answer with.
pub enum IncentiveNode {
    /// An incentive plan.
    IncentivePlan(IncentivePlan),
    /// A member's assignment to a plan.
    PlanAssignment(PlanAssignment),
    /// A payout statement.
    Statement(Statement),
    /// A line of a statement.
    StatementLine(StatementLine),
    /// A dispute of a line.
    Dispute(Dispute),
}

/// Node loaders: `None` when missing or not readable.
pub async fn node(
    p: &Principal,
    db: &impl ConnectionTrait,
    kind: NodeKind,
    id: Uuid,
) -> AppResult<Option<IncentiveNode>> {
    use IncentiveNode as Node;
    let found = match kind {
        NodeKind::IncentivePlan => {
            load_plan(p, db, &global_id(kind, id)).await.map(|x| Node::IncentivePlan(IncentivePlan(x)))
        }
        NodeKind::Statement => load_statement(p, db, id).await.map(|x| Node::Statement(Statement(x))),
        NodeKind::Dispute => match store::find_dispute(p.org, db, id).await? {
            Some(d) if may_read_member(p, db, d.member_id).await? => Ok(Node::Dispute(Dispute(d))),
            _ => Err(AppError::NotFound("dispute")),
        },
        NodeKind::StatementLine => match store::find_line(p.org, db, id).await? {
            Some(l) => load_statement(p, db, l.statement_id).await.map(|_| Node::StatementLine(StatementLine(l))),
            None => Err(AppError::NotFound("line")),
        },
        NodeKind::PlanAssignment => match store::find_assignment(p.org, db, id).await? {
            Some(a) if may_read_member(p, db, a.member_id).await? => Ok(Node::PlanAssignment(PlanAssignment(a))),
            _ => Err(AppError::NotFound("plan assignment")),
        },
        _ => return Ok(None),
    };
    match found {
        Ok(n) => Ok(Some(n)),
        Err(AppError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

fn period_of(s: &scores::OrgSettings, p: PayoutPeriodInput) -> crate::scoring::model::Period {
    quota_store::period_of(s, p.grain, p.date)
}

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
        let page = PageArgs { first, after, last, before };
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
        let today = crate::scoring::model::local_date(Utc::now(), s.tz);
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
        let lines = sim
            .result
            .lines
            .iter()
            .map(|l| {
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
                    explanation: l.explanation.clone(),
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

// ---------------------------------------------------------------- mutations

/// Incentive mutations.
#[derive(Default)]
pub struct IncentiveMutation;

#[Object]
impl IncentiveMutation {
    /// Creates a plan (admins).
    async fn create_incentive_plan(
        &self,
        ctx: &Context<'_>,
        input: CreateIncentivePlanInput,
    ) -> Result<IncentivePlanPayload> {
        let p = ctx.principal()?;
        admin(p)?;
        let state = ctx.state()?;
        let mut e = Vec::new();
        let name = org_model::parse_name("name", &input.name).map_err(|x| e.push(x)).ok();
        let description = org_model::parse_free_text("description", input.description.as_deref(), 2000)
            .map_err(|x| e.push(x))
            .ok()
            .flatten();
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        let components = match parse_components(p, &tx, input.components).await? {
            Ok(c) => Some(c),
            Err(list) => {
                e.extend(list);
                None
            }
        };
        let (Some(name), Some(components), true) = (name, components, e.is_empty()) else {
            return Ok(IncentivePlanPayload { plan: None, user_errors: errors(e) });
        };
        let plan = store::create_plan(p.org, &tx, name, description, &components, Some(p.member_id)).await?;
        let after = serde_json::json!({ "plan": snapshot(&plan), "components": components });
        audit::record(p.org, &tx, p.into(), "incentivePlan.create", "IncentivePlan", Some(plan.id), None, Some(after))
            .await?;
        tx.commit().await.map_err(AppError::from)?;
        Ok(IncentivePlanPayload { plan: Some(IncentivePlan(plan)), user_errors: vec![] })
    }

    /// Changes a plan (admins). Components used by an approved statement are never changed:
    /// the change becomes a new version.
    async fn update_incentive_plan(
        &self,
        ctx: &Context<'_>,
        input: UpdateIncentivePlanInput,
    ) -> Result<IncentivePlanPayload> {
        let p = ctx.principal()?;
        admin(p)?;
        let state = ctx.state()?;
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        // Statement numbering, approval and the plan versions they lock read other rows than
        // they write: one such writer per tenant at a time.
        crate::db::serialize(&tx, p.org, crate::db::Section::Payouts).await.map_err(AppError::from)?;
        let plan = load_plan(p, &tx, &input.id).await?;
        if let Some(v) = input.version
            && v != plan.current_version
        {
            return Err(AppError::Conflict(format!(
                "the plan is at version {}, not {v}; reload and try again",
                plan.current_version
            ))
            .into());
        }
        let mut e = Vec::new();
        let name = input.name.as_deref().and_then(|n| org_model::parse_name("name", n).map_err(|x| e.push(x)).ok());
        let description = match input.description {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(d) => {
                org_model::parse_free_text("description", Some(&d), 2000).map_err(|x| e.push(x)).ok()
            }
        };
        let components = match input.components {
            Some(list) => match parse_components(p, &tx, list).await? {
                Ok(c) => Some(c),
                Err(list) => {
                    e.extend(list);
                    None
                }
            },
            None => None,
        };
        if !e.is_empty() {
            return Ok(IncentivePlanPayload { plan: None, user_errors: errors(e) });
        }
        let before_components = store::components_of(&store::current_version(p.org, &tx, &plan).await?);
        let updated =
            store::update_plan(p.org, &tx, &plan, name, description, components.as_deref(), Some(p.member_id)).await?;
        let after_components = store::components_of(&store::current_version(p.org, &tx, &updated).await?);
        audit::record(
            p.org,
            &tx,
            p.into(),
            "incentivePlan.update",
            "IncentivePlan",
            Some(plan.id),
            Some(serde_json::json!({ "plan": snapshot(&plan), "components": before_components })),
            Some(serde_json::json!({ "plan": snapshot(&updated), "components": after_components })),
        )
        .await?;
        tx.commit().await.map_err(AppError::from)?;
        Ok(IncentivePlanPayload { plan: Some(IncentivePlan(updated)), user_errors: vec![] })
    }

    /// Archives a plan (admins): it takes no new assignments; statements keep it.
    async fn archive_incentive_plan(
        &self,
        ctx: &Context<'_>,
        input: ArchiveIncentivePlanInput,
    ) -> Result<IncentivePlanPayload> {
        let p = ctx.principal()?;
        admin(p)?;
        let state = ctx.state()?;
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        // Statement numbering, approval and the plan versions they lock read other rows than
        // they write: one such writer per tenant at a time.
        crate::db::serialize(&tx, p.org, crate::db::Section::Payouts).await.map_err(AppError::from)?;
        let plan = load_plan(p, &tx, &input.id).await?;
        store::archive_plan(p.org, &tx, plan.id).await?;
        let after = store::find_plan(p.org, &tx, plan.id).await?.ok_or(AppError::NotFound("plan"))?;
        audit::record(
            p.org,
            &tx,
            p.into(),
            "incentivePlan.archive",
            "IncentivePlan",
            Some(plan.id),
            snapshot(&plan),
            snapshot(&after),
        )
        .await?;
        tx.commit().await.map_err(AppError::from)?;
        Ok(IncentivePlanPayload { plan: Some(IncentivePlan(after)), user_errors: vec![] })
    }

    /// Puts a member on a plan (admins). One plan per member at a time: an overlapping
    /// assignment is refused (end the current one first).
    async fn assign_incentive_plan(
        &self,
        ctx: &Context<'_>,
        input: AssignIncentivePlanInput,
    ) -> Result<PlanAssignmentPayload> {
        let p = ctx.principal()?;
        admin(p)?;
        let state = ctx.state()?;
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        // Statement numbering, approval and the plan versions they lock read other rows than
        // they write: one such writer per tenant at a time.
        crate::db::serialize(&tx, p.org, crate::db::Section::Payouts).await.map_err(AppError::from)?;
        let plan = load_plan(p, &tx, &input.plan_id).await?;
        let member = org_store::find_member(p.org, &tx, decode_id(&input.member_id, NodeKind::Member)?)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        let refused = |e: FieldError| Ok(PlanAssignmentPayload { assignment: None, user_errors: errors(vec![e]) });
        if plan.archived {
            return refused(FieldError::new("planId", "ARCHIVED", "the plan is archived"));
        }
        if !member.active {
            return refused(FieldError::new("memberId", "INACTIVE", "that member is deactivated"));
        }
        if input.ends_on.is_some_and(|end| end < input.starts_on) {
            return refused(FieldError::new("endsOn", "INVALID", "must not be before startsOn"));
        }
        let existing = store::assignments(p.org, &tx, Some(member.id), None).await?;
        if let Some(clash) =
            existing.iter().find(|a| store::spans_overlap((a.starts_on, a.ends_on), (input.starts_on, input.ends_on)))
        {
            return refused(FieldError::new(
                "startsOn",
                "OVERLAP",
                format!(
                    "the member is already on a plan from {}{}; end that assignment first",
                    clash.starts_on,
                    clash.ends_on.map_or_else(String::new, |d| format!(" to {d}"))
                ),
            ));
        }
        let a = store::create_assignment(p.org, &tx, plan.id, member.id, input.starts_on, input.ends_on).await?;
        audit::record(p.org, &tx, p.into(), "planAssignment.create", "PlanAssignment", Some(a.id), None, snapshot(&a))
            .await?;
        tx.commit().await.map_err(AppError::from)?;
        Ok(PlanAssignmentPayload { assignment: Some(PlanAssignment(a)), user_errors: vec![] })
    }

    /// Ends a plan assignment on a day (admins).
    async fn end_incentive_plan_assignment(
        &self,
        ctx: &Context<'_>,
        input: EndIncentivePlanAssignmentInput,
    ) -> Result<PlanAssignmentPayload> {
        let p = ctx.principal()?;
        admin(p)?;
        let state = ctx.state()?;
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        // Statement numbering, approval and the plan versions they lock read other rows than
        // they write: one such writer per tenant at a time.
        crate::db::serialize(&tx, p.org, crate::db::Section::Payouts).await.map_err(AppError::from)?;
        let a = store::find_assignment(p.org, &tx, decode_id(&input.id, NodeKind::PlanAssignment)?)
            .await?
            .ok_or(AppError::NotFound("plan assignment"))?;
        if input.ends_on < a.starts_on {
            let e = FieldError::new("endsOn", "INVALID", "must not be before the assignment starts");
            return Ok(PlanAssignmentPayload { assignment: None, user_errors: errors(vec![e]) });
        }
        let others = store::assignments(p.org, &tx, Some(a.member_id), None).await?;
        if others
            .iter()
            .any(|x| x.id != a.id && store::spans_overlap((x.starts_on, x.ends_on), (a.starts_on, Some(input.ends_on))))
        {
            let e = FieldError::new("endsOn", "OVERLAP", "the member would be on two plans at once");
            return Ok(PlanAssignmentPayload { assignment: None, user_errors: errors(vec![e]) });
        }
        let ended = store::end_assignment(p.org, &tx, a.id, input.ends_on).await?;
        audit::record(
            p.org,
            &tx,
            p.into(),
            "planAssignment.end",
            "PlanAssignment",
            Some(a.id),
            snapshot(&a),
            snapshot(&ended),
        )
        .await?;
        tx.commit().await.map_err(AppError::from)?;
        Ok(PlanAssignmentPayload { assignment: Some(PlanAssignment(ended)), user_errors: vec![] })
    }

    /// Computes a DRAFT statement for every member on a plan in the period (admins). A member's
    /// earlier draft is replaced by a new version (kept in `versions`); APPROVED and PAID
    /// statements never change. Pending clawbacks and accepted dispute adjustments land here.
    async fn run_payouts(&self, ctx: &Context<'_>, input: RunPayoutsInput) -> Result<RunPayoutsPayload> {
        let p = ctx.principal()?;
        admin(p)?;
        let state = ctx.state()?;
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        // Statement numbering, approval and the plan versions they lock read other rows than
        // they write: one such writer per tenant at a time.
        crate::db::serialize(&tx, p.org, crate::db::Section::Payouts).await.map_err(AppError::from)?;
        let s = scores::settings(p.org, &tx).await?;
        let period = period_of(&s, input.period);
        let only: Option<Vec<Uuid>> = match &input.member_ids {
            Some(ids) => {
                let mut only: Vec<Uuid> =
                    ids.iter().map(|id| decode_id(id, NodeKind::Member)).collect::<AppResult<_>>()?;
                only.sort();
                only.dedup();
                if org_store::members_by_ids(p.org, &tx, &only).await?.len() != only.len() {
                    return Err(AppError::NotFound("member").into());
                }
                Some(only)
            }
            None => None,
        };
        let assignments = store::assignments(p.org, &tx, None, None).await?;
        let mut member_ids: Vec<Uuid> = assignments.iter().map(|a| a.member_id).collect();
        member_ids.sort();
        member_ids.dedup();
        if let Some(only) = &only {
            member_ids.retain(|m| only.contains(m));
        }
        let members = org_store::members_by_ids(p.org, &tx, &member_ids).await?;
        let (out, unchanged) =
            payouts::run(p.org, &tx, &s, input.period.grain, &period, &assignments, &members).await?;
        audit::record(
            p.org,
            &tx,
            p.into(),
            "payouts.run",
            "PayoutRun",
            None,
            None,
            Some(serde_json::json!({
                "grain": input.period.grain.as_str(),
                "periodStart": period.start_date,
                "drafts": out.iter().map(|s| serde_json::json!({"id": s.id, "memberId": s.member_id, "version": s.version, "totalCents": s.total_cents})).collect::<Vec<_>>(),
                "unchanged": unchanged.len(),
            })),
        )
        .await?;
        tx.commit().await.map_err(AppError::from)?;
        Ok(RunPayoutsPayload {
            statements: out.into_iter().map(Statement).collect(),
            unchanged: unchanged.into_iter().map(Statement).collect(),
            user_errors: vec![],
        })
    }

    /// Approves a member's current DRAFT statement (admins). From now on it never changes, its
    /// plan version is locked, and the adjustments and clawbacks it carries count as settled.
    async fn approve_statement(&self, ctx: &Context<'_>, input: StatementActionInput) -> Result<StatementPayload> {
        let p = ctx.principal()?;
        admin(p)?;
        let state = ctx.state()?;
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        // Statement numbering, approval and the plan versions they lock read other rows than
        // they write: one such writer per tenant at a time.
        crate::db::serialize(&tx, p.org, crate::db::Section::Payouts).await.map_err(AppError::from)?;
        let s = load_statement(p, &tx, decode_id(&input.id, NodeKind::Statement)?).await?;
        let refused = |e: FieldError| Ok(StatementPayload { statement: None, user_errors: errors(vec![e]) });
        if !s.current {
            return refused(FieldError::new("id", "SUPERSEDED", "a later version replaced this statement"));
        }
        if s.status != StatementStatus::Draft.as_str() {
            return refused(FieldError::new("id", "NOT_DRAFT", format!("the statement is {}", s.status)));
        }
        let approved =
            store::set_status(p.org, &tx, &s, StatementStatus::Draft, StatementStatus::Approved, p.member_id).await?;
        store::lock_version(p.org, &tx, s.plan_version_id).await?;
        let lines = store::lines_of(p.org, &tx, &[s.id]).await?;
        let disputes: Vec<Uuid> = lines.iter().filter(|l| l.kind == "ADJUSTMENT").filter_map(|l| l.source_id).collect();
        let clawed_deals: Vec<Uuid> =
            lines.iter().filter(|l| l.kind == "CLAWBACK").filter_map(|l| l.source_id).collect();
        let clawbacks: Vec<Uuid> = store::pending_clawbacks(p.org, &tx, s.member_id)
            .await?
            .into_iter()
            .filter(|c| clawed_deals.contains(&c.deal_id))
            .map(|c| c.id)
            .collect();
        store::mark_applied(p.org, &tx, s.id, &disputes, &clawbacks).await?;
        let event = serde_json::json!({
            "statementId": global_id(NodeKind::Statement, s.id),
            "memberId": global_id(NodeKind::Member, s.member_id),
            "grain": s.grain,
            "periodStart": s.period_start,
            "periodEnd": s.period_end,
            "version": s.version,
            "total": money_str(Decimal::new(s.total_cents, 2)),
        });
        crate::webhooks::store::enqueue(p.org, &tx, "statement.approved", event).await?;
        audit::record(
            p.org,
            &tx,
            p.into(),
            "statement.approve",
            "Statement",
            Some(s.id),
            snapshot_status(&s),
            snapshot_status(&approved),
        )
        .await?;
        tx.commit().await.map_err(AppError::from)?;
        Ok(StatementPayload { statement: Some(Statement(approved)), user_errors: vec![] })
    }

    /// Marks an APPROVED statement as PAID (admins).
    async fn mark_statement_paid(&self, ctx: &Context<'_>, input: StatementActionInput) -> Result<StatementPayload> {
        let p = ctx.principal()?;
        admin(p)?;
        let state = ctx.state()?;
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        // Statement numbering, approval and the plan versions they lock read other rows than
        // they write: one such writer per tenant at a time.
        crate::db::serialize(&tx, p.org, crate::db::Section::Payouts).await.map_err(AppError::from)?;
        let s = load_statement(p, &tx, decode_id(&input.id, NodeKind::Statement)?).await?;
        if s.status != StatementStatus::Approved.as_str() || !s.current {
            let e = FieldError::new(
                "id",
                "NOT_APPROVED",
                format!("only an approved statement can be paid; it is {}", s.status),
            );
            return Ok(StatementPayload { statement: None, user_errors: errors(vec![e]) });
        }
        let paid =
            store::set_status(p.org, &tx, &s, StatementStatus::Approved, StatementStatus::Paid, p.member_id).await?;
        audit::record(
            p.org,
            &tx,
            p.into(),
            "statement.pay",
            "Statement",
            Some(s.id),
            snapshot_status(&s),
            snapshot_status(&paid),
        )
        .await?;
        tx.commit().await.map_err(AppError::from)?;
        Ok(StatementPayload { statement: Some(Statement(paid)), user_errors: vec![] })
    }

    /// Disputes a line of your own statement. One open dispute per line.
    async fn dispute_statement_line(
        &self,
        ctx: &Context<'_>,
        input: DisputeStatementLineInput,
    ) -> Result<DisputePayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        // Statement numbering, approval and the plan versions they lock read other rows than
        // they write: one such writer per tenant at a time.
        crate::db::serialize(&tx, p.org, crate::db::Section::Payouts).await.map_err(AppError::from)?;
        let line = store::find_line(p.org, &tx, decode_id(&input.line_id, NodeKind::StatementLine)?)
            .await?
            .ok_or(AppError::NotFound("statement line"))?;
        let s = load_statement(p, &tx, line.statement_id).await.map_err(|_| AppError::NotFound("statement line"))?;
        if s.member_id != p.member_id {
            return Err(AppError::forbidden("only the member a statement pays may dispute its lines").into());
        }
        let refused = |e: FieldError| Ok(DisputePayload { dispute: None, user_errors: errors(vec![e]) });
        let reason = input.reason.trim().to_owned();
        if reason.is_empty() || reason.chars().count() > 2000 || reason.chars().any(|c| c.is_control() && c != '\n') {
            return refused(FieldError::new("reason", "INVALID", "give a reason of 1 to 2000 characters"));
        }
        let open = store::disputes(p.org, &tx, Some(&[p.member_id]), Some(DisputeStatus::Open), Some(s.id)).await?;
        if open.iter().any(|d| d.line_id == line.id) {
            return refused(FieldError::new("lineId", "ALREADY_DISPUTED", "this line already has an open dispute"));
        }
        let d = store::create_dispute(p.org, &tx, &line, p.member_id, reason).await?;
        audit::record(p.org, &tx, p.into(), "dispute.open", "Dispute", Some(d.id), None, Some(dispute_json(&d)))
            .await?;
        tx.commit().await.map_err(AppError::from)?;
        Ok(DisputePayload { dispute: Some(Dispute(d)), user_errors: vec![] })
    }

    /// Resolves a dispute (the member's manager or an admin; nobody resolves their own). An
    /// accepted dispute with an adjustment puts an ADJUSTMENT line on the member's next open
    /// statement.
    async fn resolve_dispute(&self, ctx: &Context<'_>, input: ResolveDisputeInput) -> Result<DisputePayload> {
        let p = ctx.principal()?;
        if !matches!(p.role, Role::Admin | Role::Manager) {
            return Err(AppError::forbidden("only managers and admins resolve disputes").into());
        }
        let state = ctx.state()?;
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        // Statement numbering, approval and the plan versions they lock read other rows than
        // they write: one such writer per tenant at a time.
        crate::db::serialize(&tx, p.org, crate::db::Section::Payouts).await.map_err(AppError::from)?;
        let d = store::find_dispute(p.org, &tx, decode_id(&input.id, NodeKind::Dispute)?)
            .await?
            .ok_or(AppError::NotFound("dispute"))?;
        if !may_read_member(p, &tx, d.member_id).await? {
            return Err(AppError::NotFound("dispute").into());
        }
        if d.member_id == p.member_id {
            return Err(AppError::forbidden("nobody resolves their own dispute").into());
        }
        let refused = |e: FieldError| Ok(DisputePayload { dispute: None, user_errors: errors(vec![e]) });
        if d.status != DisputeStatus::Open.as_str() {
            return refused(FieldError::new("id", "RESOLVED", "the dispute is already resolved"));
        }
        let note = input.note.trim().to_owned();
        if note.is_empty() || note.chars().count() > 2000 {
            return refused(FieldError::new("note", "INVALID", "give an answer of 1 to 2000 characters"));
        }
        let adjustment = match (&input.adjustment, input.resolution) {
            (Some(_), DisputeResolution::Rejected) => {
                return refused(FieldError::new("adjustment", "INVALID", "a rejected dispute has no adjustment"));
            }
            (Some(raw), DisputeResolution::Accepted) => {
                let text = raw.trim();
                let negative = text.starts_with('-');
                match crate::pipeline::model::parse_amount("adjustment", text.trim_start_matches('-')) {
                    Ok(c) if c > 0 => Some(if negative { -c } else { c }),
                    Ok(_) => None,
                    Err(e) => return refused(e),
                }
            }
            (None, _) => None,
        };
        let status = match input.resolution {
            DisputeResolution::Accepted => DisputeStatus::Accepted,
            DisputeResolution::Rejected => DisputeStatus::Rejected,
        };
        let resolved = store::resolve_dispute(p.org, &tx, &d, status, note, adjustment, p.member_id).await?;
        audit::record(
            p.org,
            &tx,
            p.into(),
            "dispute.resolve",
            "Dispute",
            Some(d.id),
            Some(dispute_json(&d)),
            Some(dispute_json(&resolved)),
        )
        .await?;
        tx.commit().await.map_err(AppError::from)?;
        Ok(DisputePayload { dispute: Some(Dispute(resolved)), user_errors: vec![] })
    }
}

fn snapshot_status(s: &statement::Model) -> Option<serde_json::Value> {
    Some(serde_json::json!({
        "id": s.id, "memberId": s.member_id, "periodStart": s.period_start, "version": s.version,
        "status": s.status, "totalCents": s.total_cents,
    }))
}

fn dispute_json(d: &dispute::Model) -> serde_json::Value {
    serde_json::json!({
        "id": d.id, "lineId": d.line_id, "statementId": d.statement_id, "memberId": d.member_id,
        "reason": d.reason, "status": d.status, "resolution": d.resolution, "adjustmentCents": d.adjustment_cents,
    })
}
