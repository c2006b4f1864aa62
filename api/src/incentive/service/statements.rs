//! Payout runs and the statement lifecycle DRAFT → APPROVED → PAID.

use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use uuid::Uuid;

use entity::statement;

use super::plans::begin_payouts;
use crate::core::error::{AppError, AppResult};
use crate::core::field::{Checked, FieldError};
use crate::core::principal::Principal;
use crate::events::EventBus;
use crate::incentive::model::StatementStatus;
use crate::incentive::{payouts, policy, store, webhook};
use crate::org::store as org_store;
use crate::quota::model::QuotaGrain;
use crate::scoring::scores;

/// A payout run for a period.
#[derive(Debug, Clone)]
pub struct RunPayouts {
    /// Month, quarter or year (quarters and years follow the fiscal year).
    pub grain: QuotaGrain,
    /// Any day in the period.
    pub date: NaiveDate,
    /// Only these members (default: everyone on a plan in the period).
    pub member_ids: Option<Vec<Uuid>>,
}

/// What a payout run did.
#[derive(Debug, Clone)]
pub struct PayoutRun {
    /// New draft versions, one per member on a plan.
    pub statements: Vec<statement::Model>,
    /// Statements left alone because they are approved or paid.
    pub unchanged: Vec<statement::Model>,
}

/// A statement the principal may read, or NOT_FOUND.
pub async fn load_statement(p: &Principal, db: &impl ConnectionTrait, id: Uuid) -> AppResult<statement::Model> {
    let s = store::find_statement(p.org, db, id).await?.ok_or(AppError::NotFound("statement"))?;
    if !policy::may_read_member(p, db, s.member_id).await? {
        return Err(AppError::NotFound("statement"));
    }
    Ok(s)
}

fn snapshot_status(s: &statement::Model) -> Option<serde_json::Value> {
    Some(serde_json::json!({
        "id": s.id, "memberId": s.member_id, "periodStart": s.period_start, "version": s.version,
        "status": s.status, "totalCents": s.total_cents,
    }))
}

/// Computes a DRAFT statement for every member on a plan in the period (admins). A member's
/// earlier draft is replaced by a new version; approved and paid statements never change.
/// Pending clawbacks and accepted dispute adjustments land here.
pub async fn run_payouts(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: RunPayouts,
) -> AppResult<PayoutRun> {
    policy::may_manage(p)?;
    let unit = begin_payouts(db, bus, p).await?;
    let s = scores::settings(p.org, unit.db()).await?;
    let period = crate::quota::store::period_of(&s, cmd.grain, cmd.date);
    let only: Option<Vec<Uuid>> = match cmd.member_ids {
        Some(mut only) => {
            only.sort();
            only.dedup();
            if org_store::members_by_ids(p.org, unit.db(), &only).await?.len() != only.len() {
                return Err(AppError::NotFound("member"));
            }
            Some(only)
        }
        None => None,
    };
    let assignments = store::assignments(p.org, unit.db(), None, None).await?;
    let mut member_ids: Vec<Uuid> = assignments.iter().map(|a| a.member_id).collect();
    member_ids.sort();
    member_ids.dedup();
    if let Some(only) = &only {
        member_ids.retain(|m| only.contains(m));
    }
    let members = org_store::members_by_ids(p.org, unit.db(), &member_ids).await?;
    let (out, unchanged) = payouts::run(p.org, unit.db(), &s, cmd.grain, &period, &assignments, &members).await?;
    unit.audit(
        "payouts.run",
        "PayoutRun",
        None,
        None,
        Some(serde_json::json!({
            "grain": cmd.grain.as_str(),
            "periodStart": period.start_date,
            "drafts": out.iter().map(|s| serde_json::json!({"id": s.id, "memberId": s.member_id, "version": s.version, "totalCents": s.total_cents})).collect::<Vec<_>>(),
            "unchanged": unchanged.len(),
        })),
    )
    .await?;
    unit.commit().await?;
    Ok(PayoutRun { statements: out, unchanged })
}

/// Approves a member's current DRAFT statement (admins). From then on it never changes, its plan
/// version is locked, and the adjustments and clawbacks it carries count as settled.
pub async fn approve_statement(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    id: Uuid,
) -> AppResult<Checked<statement::Model>> {
    policy::may_manage(p)?;
    let unit = begin_payouts(db, bus, p).await?;
    let s = load_statement(p, unit.db(), id).await?;
    let refused = |e: FieldError| Ok(Err(vec![e]));
    if !s.current {
        return refused(FieldError::new("id", "SUPERSEDED", "a later version replaced this statement"));
    }
    if s.status != StatementStatus::Draft.as_str() {
        return refused(FieldError::new("id", "NOT_DRAFT", format!("the statement is {}", s.status)));
    }
    let approved =
        store::set_status(p.org, unit.db(), &s, StatementStatus::Draft, StatementStatus::Approved, p.member_id).await?;
    store::lock_version(p.org, unit.db(), s.plan_version_id).await?;
    let lines = store::lines_of(p.org, unit.db(), &[s.id]).await?;
    let disputes: Vec<Uuid> = lines.iter().filter(|l| l.kind == "ADJUSTMENT").filter_map(|l| l.source_id).collect();
    let clawed_deals: Vec<Uuid> = lines.iter().filter(|l| l.kind == "CLAWBACK").filter_map(|l| l.source_id).collect();
    let clawbacks: Vec<Uuid> = store::pending_clawbacks(p.org, unit.db(), s.member_id)
        .await?
        .into_iter()
        .filter(|c| clawed_deals.contains(&c.deal_id))
        .map(|c| c.id)
        .collect();
    store::mark_applied(p.org, unit.db(), s.id, &disputes, &clawbacks).await?;
    crate::webhooks::store::enqueue(p.org, unit.db(), "statement.approved", webhook::statement_approved(&s)).await?;
    unit.audit("statement.approve", "Statement", Some(s.id), snapshot_status(&s), snapshot_status(&approved)).await?;
    unit.commit().await?;
    Ok(Ok(approved))
}

/// Marks an APPROVED statement as PAID (admins).
pub async fn mark_statement_paid(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    id: Uuid,
) -> AppResult<Checked<statement::Model>> {
    policy::may_manage(p)?;
    let unit = begin_payouts(db, bus, p).await?;
    let s = load_statement(p, unit.db(), id).await?;
    if s.status != StatementStatus::Approved.as_str() || !s.current {
        let e = FieldError::new(
            "id",
            "NOT_APPROVED",
            format!("only an approved statement can be paid; it is {}", s.status),
        );
        return Ok(Err(vec![e]));
    }
    let paid =
        store::set_status(p.org, unit.db(), &s, StatementStatus::Approved, StatementStatus::Paid, p.member_id).await?;
    unit.audit("statement.pay", "Statement", Some(s.id), snapshot_status(&s), snapshot_status(&paid)).await?;
    unit.commit().await?;
    Ok(Ok(paid))
}
