//! Incentive mutations: plans, assignments, payout runs, the statement lifecycle and disputes.

use async_graphql::{Context, MaybeUndefined, Object, Result};
use entity::{dispute, statement};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::{
    ArchiveIncentivePlanInput, AssignIncentivePlanInput, CreateIncentivePlanInput, Dispute, DisputePayload,
    DisputeResolution, DisputeStatementLineInput, EndIncentivePlanAssignmentInput, IncentivePlan, IncentivePlanPayload,
    PlanAssignment, PlanAssignmentPayload, ResolveDisputeInput, RunPayoutsInput, RunPayoutsPayload, Statement,
    StatementActionInput, StatementPayload, UpdateIncentivePlanInput, admin, errors, load_plan, load_statement,
    may_read_member, money_str, parse_components, period_of,
};
use crate::audit::store as audit;
use crate::audit::store::snapshot;
use crate::core::error::{AppError, AppResult};
use crate::core::field::FieldError;
use crate::core::roles::Role;
use crate::graphql::ContextExt;
use crate::graphql::relay::{NodeKind, decode_id, global_id};
use crate::incentive::model::{DisputeStatus, StatementStatus};
use crate::incentive::{payouts, store};
use crate::org::{model as org_model, store as org_store};
use crate::scoring::scores;

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
