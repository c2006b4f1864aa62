//! Incentive mutations: plans, assignments, payout runs, the statement lifecycle and disputes.

use async_graphql::{Context, MaybeUndefined, Object, Result};
use uuid::Uuid;

use super::{
    ArchiveIncentivePlanInput, AssignIncentivePlanInput, CreateIncentivePlanInput, Dispute, DisputePayload,
    DisputeResolution, DisputeStatementLineInput, EndIncentivePlanAssignmentInput, IncentivePlan, IncentivePlanPayload,
    PlanAssignment, PlanAssignmentPayload, ResolveDisputeInput, RunPayoutsInput, RunPayoutsPayload, Statement,
    StatementActionInput, StatementPayload, UpdateIncentivePlanInput, errors,
};
use crate::core::error::AppResult;
use crate::core::field::Checked;
use crate::graphql::ContextExt;
use crate::graphql::relay::{NodeKind, decode_id};
use crate::incentive::{policy, service};

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
        let state = ctx.state()?;
        let cmd = service::CreatePlan {
            name: input.name,
            description: input.description,
            components: input.components.into_iter().map(service::ComponentDraft::from).collect(),
        };
        Ok(plan_payload(service::create_plan(&state.db, &state.events, p, cmd).await?))
    }

    /// Changes a plan (admins). Components used by an approved statement are never changed:
    /// the change becomes a new version.
    async fn update_incentive_plan(
        &self,
        ctx: &Context<'_>,
        input: UpdateIncentivePlanInput,
    ) -> Result<IncentivePlanPayload> {
        let p = ctx.principal()?;
        // The role first, so a caller without it learns nothing from the IDs it sent.
        policy::may_manage(p)?;
        let state = ctx.state()?;
        let cmd = service::UpdatePlan {
            id: decode_id(&input.id, NodeKind::IncentivePlan)?,
            version: input.version,
            name: input.name,
            description: match input.description {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(d) => Some(Some(d)),
            },
            components: input.components.map(|list| list.into_iter().map(service::ComponentDraft::from).collect()),
        };
        Ok(plan_payload(service::update_plan(&state.db, &state.events, p, cmd).await?))
    }

    /// Archives a plan (admins): it takes no new assignments; statements keep it.
    async fn archive_incentive_plan(
        &self,
        ctx: &Context<'_>,
        input: ArchiveIncentivePlanInput,
    ) -> Result<IncentivePlanPayload> {
        let p = ctx.principal()?;
        // The role first, so a caller without it learns nothing from the IDs it sent.
        policy::may_manage(p)?;
        let state = ctx.state()?;
        let id = decode_id(&input.id, NodeKind::IncentivePlan)?;
        let plan = service::archive_plan(&state.db, &state.events, p, id).await?;
        Ok(plan_payload(Ok(plan)))
    }

    /// Puts a member on a plan (admins). One plan per member at a time: an overlapping
    /// assignment is refused (end the current one first).
    async fn assign_incentive_plan(
        &self,
        ctx: &Context<'_>,
        input: AssignIncentivePlanInput,
    ) -> Result<PlanAssignmentPayload> {
        let p = ctx.principal()?;
        // The role first, so a caller without it learns nothing from the IDs it sent.
        policy::may_manage(p)?;
        let state = ctx.state()?;
        let cmd = service::AssignPlan {
            plan_id: decode_id(&input.plan_id, NodeKind::IncentivePlan)?,
            member_id: decode_id(&input.member_id, NodeKind::Member),
            starts_on: input.starts_on,
            ends_on: input.ends_on,
        };
        Ok(assignment_payload(service::assign_plan(&state.db, &state.events, p, cmd).await?))
    }

    /// Ends a plan assignment on a day (admins).
    async fn end_incentive_plan_assignment(
        &self,
        ctx: &Context<'_>,
        input: EndIncentivePlanAssignmentInput,
    ) -> Result<PlanAssignmentPayload> {
        let p = ctx.principal()?;
        // The role first, so a caller without it learns nothing from the IDs it sent.
        policy::may_manage(p)?;
        let state = ctx.state()?;
        let id = decode_id(&input.id, NodeKind::PlanAssignment)?;
        let result = service::end_plan_assignment(&state.db, &state.events, p, id, input.ends_on).await?;
        Ok(assignment_payload(result))
    }

    /// Computes a DRAFT statement for every member on a plan in the period (admins). A member's
    /// earlier draft is replaced by a new version (kept in `versions`); APPROVED and PAID
    /// statements never change. Pending clawbacks and accepted dispute adjustments land here.
    async fn run_payouts(&self, ctx: &Context<'_>, input: RunPayoutsInput) -> Result<RunPayoutsPayload> {
        let p = ctx.principal()?;
        // The role first, so a caller without it learns nothing from the IDs it sent.
        policy::may_manage(p)?;
        let state = ctx.state()?;
        let member_ids: Option<Vec<Uuid>> = match &input.member_ids {
            Some(ids) => Some(ids.iter().map(|id| decode_id(id, NodeKind::Member)).collect::<AppResult<_>>()?),
            None => None,
        };
        let cmd = service::RunPayouts { grain: input.period.grain, date: input.period.date, member_ids };
        let run = service::run_payouts(&state.db, &state.events, p, cmd).await?;
        Ok(RunPayoutsPayload {
            statements: run.statements.into_iter().map(Statement).collect(),
            unchanged: run.unchanged.into_iter().map(Statement).collect(),
            user_errors: vec![],
        })
    }

    /// Approves a member's current DRAFT statement (admins). From now on it never changes, its
    /// plan version is locked, and the adjustments and clawbacks it carries count as settled.
    async fn approve_statement(&self, ctx: &Context<'_>, input: StatementActionInput) -> Result<StatementPayload> {
        let p = ctx.principal()?;
        // The role first, so a caller without it learns nothing from the IDs it sent.
        policy::may_manage(p)?;
        let state = ctx.state()?;
        let id = decode_id(&input.id, NodeKind::Statement)?;
        Ok(statement_payload(service::approve_statement(&state.db, &state.events, p, id).await?))
    }

    /// Marks an APPROVED statement as PAID (admins).
    async fn mark_statement_paid(&self, ctx: &Context<'_>, input: StatementActionInput) -> Result<StatementPayload> {
        let p = ctx.principal()?;
        // The role first, so a caller without it learns nothing from the IDs it sent.
        policy::may_manage(p)?;
        let state = ctx.state()?;
        let id = decode_id(&input.id, NodeKind::Statement)?;
        Ok(statement_payload(service::mark_statement_paid(&state.db, &state.events, p, id).await?))
    }

    /// Disputes a line of your own statement. One open dispute per line.
    async fn dispute_statement_line(
        &self,
        ctx: &Context<'_>,
        input: DisputeStatementLineInput,
    ) -> Result<DisputePayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let cmd =
            service::DisputeLine { line_id: decode_id(&input.line_id, NodeKind::StatementLine)?, reason: input.reason };
        Ok(dispute_payload(service::dispute_line(&state.db, &state.events, p, cmd).await?))
    }

    /// Resolves a dispute (the member's manager or an admin; nobody resolves their own). An
    /// accepted dispute with an adjustment puts an ADJUSTMENT line on the member's next open
    /// statement.
    async fn resolve_dispute(&self, ctx: &Context<'_>, input: ResolveDisputeInput) -> Result<DisputePayload> {
        let p = ctx.principal()?;
        // The role first, so a caller without it learns nothing from the IDs it sent.
        policy::may_resolve_disputes(p)?;
        let state = ctx.state()?;
        let cmd = service::ResolveDispute {
            id: decode_id(&input.id, NodeKind::Dispute)?,
            accepted: input.resolution == DisputeResolution::Accepted,
            note: input.note,
            adjustment: input.adjustment,
        };
        Ok(dispute_payload(service::resolve_dispute(&state.db, &state.events, p, cmd).await?))
    }
}

fn plan_payload(result: Checked<entity::incentive_plan::Model>) -> IncentivePlanPayload {
    match result {
        Ok(plan) => IncentivePlanPayload { plan: Some(IncentivePlan(plan)), user_errors: vec![] },
        Err(e) => IncentivePlanPayload { plan: None, user_errors: errors(e) },
    }
}

fn assignment_payload(result: Checked<entity::plan_assignment::Model>) -> PlanAssignmentPayload {
    match result {
        Ok(a) => PlanAssignmentPayload { assignment: Some(PlanAssignment(a)), user_errors: vec![] },
        Err(e) => PlanAssignmentPayload { assignment: None, user_errors: errors(e) },
    }
}

fn statement_payload(result: Checked<entity::statement::Model>) -> StatementPayload {
    match result {
        Ok(s) => StatementPayload { statement: Some(Statement(s)), user_errors: vec![] },
        Err(e) => StatementPayload { statement: None, user_errors: errors(e) },
    }
}

fn dispute_payload(result: Checked<entity::dispute::Model>) -> DisputePayload {
    match result {
        Ok(d) => DisputePayload { dispute: Some(Dispute(d)), user_errors: vec![] },
        Err(e) => DisputePayload { dispute: None, user_errors: errors(e) },
    }
}
