//! Input objects and payloads of the incentive mutations and queries, and turning plan
//! components as given into the service's drafts.

use async_graphql::{Enum, ID, InputObject, MaybeUndefined, SimpleObject};
use chrono::NaiveDate;

use super::{BonusStep, CommissionTier, Dispute, IncentivePlan, PlanAssignment, PlanComponentKind, Statement};
use crate::graphql::UserError;
use crate::graphql::relay::{NodeKind, decode_id};
use crate::incentive::model::{DrawKind, SpiffTarget, StatementStatus, TeamBonusCondition};
use crate::incentive::service;
use crate::quota::model::QuotaGrain;
use crate::quota::store as quota_store;
use crate::scoring::scores;

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

impl From<PlanComponentInput> for service::ComponentDraft {
    fn from(c: PlanComponentInput) -> Self {
        service::ComponentDraft {
            kind: match c.kind {
                PlanComponentKind::Commission => service::ComponentKind::Commission,
                PlanComponentKind::Bonus => service::ComponentKind::Bonus,
                PlanComponentKind::Spiff => service::ComponentKind::Spiff,
                PlanComponentKind::TeamBonus => service::ComponentKind::TeamBonus,
                PlanComponentKind::Draw => service::ComponentKind::Draw,
            },
            name: c.name,
            base_rate: c.base_rate,
            tiers: c.tiers.map(|list| {
                list.into_iter()
                    .map(|t| service::TierDraft { from_attainment: t.from_attainment, rate: t.rate, mode: t.mode })
                    .collect()
            }),
            cap: c.cap,
            thresholds: c.thresholds.map(|list| {
                list.into_iter()
                    .map(|t| service::ThresholdDraft { attainment: t.attainment, amount: t.amount })
                    .collect()
            }),
            target: c.target,
            activity_type_id: c.activity_type_id.as_ref().map(|id| decode_id(id, NodeKind::ActivityType)),
            min_deal_amount: c.min_deal_amount,
            amount: c.amount,
            starts_on: c.starts_on,
            ends_on: c.ends_on,
            team_id: c.team_id.as_ref().map(|id| decode_id(id, NodeKind::Team)),
            condition: c.condition,
            threshold: c.threshold,
            pool: c.pool,
            draw_kind: c.draw_kind,
        }
    }
}

/// A new plan.
#[derive(InputObject)]
pub struct CreateIncentivePlanInput {
    /// Name.
    pub(super) name: String,
    /// Description.
    pub(super) description: Option<String>,
    /// Components (1 to 20).
    pub(super) components: Vec<PlanComponentInput>,
}

/// Changes to a plan. New components go into the current version until an approved statement
/// used it; after that they create a new version.
#[derive(InputObject)]
pub struct UpdateIncentivePlanInput {
    /// The plan.
    pub(super) id: ID,
    /// The `version` you last read: a stale one is refused with CONFLICT.
    pub(super) version: Option<i32>,
    /// New name.
    pub(super) name: Option<String>,
    /// New description; `null` clears.
    pub(super) description: MaybeUndefined<String>,
    /// New components (replace all).
    pub(super) components: Option<Vec<PlanComponentInput>>,
}

/// Archives a plan.
#[derive(InputObject)]
pub struct ArchiveIncentivePlanInput {
    /// The plan.
    pub(super) id: ID,
}

/// Puts a member on a plan.
#[derive(InputObject)]
pub struct AssignIncentivePlanInput {
    /// The plan.
    pub(super) plan_id: ID,
    /// The member.
    pub(super) member_id: ID,
    /// First day.
    pub(super) starts_on: NaiveDate,
    /// Last day, inclusive (default: open-ended).
    pub(super) ends_on: Option<NaiveDate>,
}

/// Ends a plan assignment.
#[derive(InputObject)]
pub struct EndIncentivePlanAssignmentInput {
    /// The assignment.
    pub(super) id: ID,
    /// Last day, inclusive.
    pub(super) ends_on: NaiveDate,
}

/// A pay period.
#[derive(InputObject, Clone, Copy)]
pub struct PayoutPeriodInput {
    /// MONTH, QUARTER or YEAR (quarters and years follow the fiscal year).
    pub(super) grain: QuotaGrain,
    /// Any day in the period.
    pub(super) date: NaiveDate,
}

/// Runs payouts for a period.
#[derive(InputObject)]
pub struct RunPayoutsInput {
    /// The period.
    pub(super) period: PayoutPeriodInput,
    /// Only these members (default: everyone on a plan in the period).
    pub(super) member_ids: Option<Vec<ID>>,
}

/// A statement to act on.
#[derive(InputObject)]
pub struct StatementActionInput {
    /// The statement (its current version).
    pub(super) id: ID,
}

/// Disputes a line of your own statement.
#[derive(InputObject)]
pub struct DisputeStatementLineInput {
    /// The line.
    pub(super) line_id: ID,
    /// What is wrong (1 to 2000 characters).
    pub(super) reason: String,
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
    pub(super) id: ID,
    /// ACCEPTED or REJECTED.
    pub(super) resolution: DisputeResolution,
    /// The answer to the rep (1 to 2000 characters).
    pub(super) note: String,
    /// ACCEPTED only: the correction, a decimal string (negative takes money back); it becomes an
    /// ADJUSTMENT line on the member's next open statement.
    pub(super) adjustment: Option<String>,
}

/// What-if: a period's statement as if the given open deals closed won today.
#[derive(InputObject)]
pub struct SimulatePayoutInput {
    /// The member (default: the viewer).
    pub(super) member_id: Option<ID>,
    /// The period (default: this quarter).
    pub(super) period: Option<PayoutPeriodInput>,
    /// Open deals the member is credited on (at most 50).
    pub(super) deal_ids: Vec<ID>,
}

/// Filter for `statements`.
#[derive(InputObject, Default)]
pub struct StatementFilterInput {
    /// Only this member's.
    pub(super) member_id: Option<ID>,
    /// Only this status.
    pub(super) status: Option<StatementStatus>,
    /// Only this period.
    pub(super) period: Option<PayoutPeriodInput>,
    /// Include versions replaced by later runs (default false).
    pub(super) include_superseded: Option<bool>,
}

/// Result of a plan mutation.
#[derive(SimpleObject)]
pub struct IncentivePlanPayload {
    /// The plan after the change; `null` when refused.
    pub(super) plan: Option<IncentivePlan>,
    /// What to fix.
    pub(super) user_errors: Vec<UserError>,
}

/// Result of a plan assignment mutation.
#[derive(SimpleObject)]
pub struct PlanAssignmentPayload {
    /// The assignment; `null` when refused.
    pub(super) assignment: Option<PlanAssignment>,
    /// What to fix.
    pub(super) user_errors: Vec<UserError>,
}

/// Result of `runPayouts`.
#[derive(SimpleObject)]
pub struct RunPayoutsPayload {
    /// New draft versions, one per member on a plan.
    pub(super) statements: Vec<Statement>,
    /// Statements left alone because they are APPROVED or PAID.
    pub(super) unchanged: Vec<Statement>,
    /// What to fix.
    pub(super) user_errors: Vec<UserError>,
}

/// Result of a statement status change.
#[derive(SimpleObject)]
pub struct StatementPayload {
    /// The statement after the change; `null` when refused.
    pub(super) statement: Option<Statement>,
    /// What to fix.
    pub(super) user_errors: Vec<UserError>,
}

/// Result of a dispute mutation.
#[derive(SimpleObject)]
pub struct DisputePayload {
    /// The dispute; `null` when refused.
    pub(super) dispute: Option<Dispute>,
    /// What to fix.
    pub(super) user_errors: Vec<UserError>,
}

pub(super) fn period_of(s: &scores::OrgSettings, p: PayoutPeriodInput) -> crate::core::period::Period {
    quota_store::period_of(s, p.grain, p.date)
}
