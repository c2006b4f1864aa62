//! Disputes: a member questions a line of their own statement; a manager or admin answers, and
//! an accepted dispute's adjustment lands on the member's next open statement.

use sea_orm::DatabaseConnection;
use uuid::Uuid;

use entity::dispute;

use super::plans::begin_payouts;
use super::statements::load_statement;
use crate::core::error::{AppError, AppResult};
use crate::core::field::{Checked, FieldError};
use crate::core::principal::Principal;
use crate::events::EventBus;
use crate::incentive::model::DisputeStatus;
use crate::incentive::{policy, store};

/// A line of one's own statement to dispute.
#[derive(Debug, Clone)]
pub struct DisputeLine {
    /// The line.
    pub line_id: Uuid,
    /// What is wrong, as given.
    pub reason: String,
}

/// An answer to a dispute.
#[derive(Debug, Clone)]
pub struct ResolveDispute {
    /// The dispute.
    pub id: Uuid,
    /// Accepted (`true`) or rejected.
    pub accepted: bool,
    /// The answer to the member, as given.
    pub note: String,
    /// Accepted only: the correction, a decimal string (negative takes money back).
    pub adjustment: Option<String>,
}

fn dispute_json(d: &dispute::Model) -> serde_json::Value {
    serde_json::json!({
        "id": d.id, "lineId": d.line_id, "statementId": d.statement_id, "memberId": d.member_id,
        "reason": d.reason, "status": d.status, "resolution": d.resolution, "adjustmentCents": d.adjustment_cents,
    })
}

/// Disputes a line of one's own statement. One open dispute per line.
pub async fn dispute_line(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: DisputeLine,
) -> AppResult<Checked<dispute::Model>> {
    let unit = begin_payouts(db, bus, p).await?;
    let line = store::find_line(p.org, unit.db(), cmd.line_id).await?.ok_or(AppError::NotFound("statement line"))?;
    let s = load_statement(p, unit.db(), line.statement_id).await.map_err(|_| AppError::NotFound("statement line"))?;
    if s.member_id != p.member_id {
        return Err(AppError::forbidden("only the member a statement pays may dispute its lines"));
    }
    let refused = |e: FieldError| Ok(Err(vec![e]));
    let reason = cmd.reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > 2000 || reason.chars().any(|c| c.is_control() && c != '\n') {
        return refused(FieldError::new("reason", "INVALID", "give a reason of 1 to 2000 characters"));
    }
    let open = store::disputes(p.org, unit.db(), Some(&[p.member_id]), Some(DisputeStatus::Open), Some(s.id)).await?;
    if open.iter().any(|d| d.line_id == line.id) {
        return refused(FieldError::new("lineId", "ALREADY_DISPUTED", "this line already has an open dispute"));
    }
    let d = store::create_dispute(p.org, unit.db(), &line, p.member_id, reason).await?;
    unit.audit("dispute.open", "Dispute", Some(d.id), None, Some(dispute_json(&d))).await?;
    unit.commit().await?;
    Ok(Ok(d))
}

/// Resolves a dispute (the member's manager or an admin; nobody resolves their own). An accepted
/// dispute with an adjustment puts an ADJUSTMENT line on the member's next open statement.
pub async fn resolve_dispute(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: ResolveDispute,
) -> AppResult<Checked<dispute::Model>> {
    policy::may_resolve_disputes(p)?;
    let unit = begin_payouts(db, bus, p).await?;
    let d = store::find_dispute(p.org, unit.db(), cmd.id).await?.ok_or(AppError::NotFound("dispute"))?;
    if !policy::may_read_member(p, unit.db(), d.member_id).await? {
        return Err(AppError::NotFound("dispute"));
    }
    if d.member_id == p.member_id {
        return Err(AppError::forbidden("nobody resolves their own dispute"));
    }
    let refused = |e: FieldError| Ok(Err(vec![e]));
    if d.status != DisputeStatus::Open.as_str() {
        return refused(FieldError::new("id", "RESOLVED", "the dispute is already resolved"));
    }
    let note = cmd.note.trim().to_owned();
    if note.is_empty() || note.chars().count() > 2000 {
        return refused(FieldError::new("note", "INVALID", "give an answer of 1 to 2000 characters"));
    }
    let adjustment = match (&cmd.adjustment, cmd.accepted) {
        (Some(_), false) => {
            return refused(FieldError::new("adjustment", "INVALID", "a rejected dispute has no adjustment"));
        }
        (Some(raw), true) => {
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
    let status = if cmd.accepted { DisputeStatus::Accepted } else { DisputeStatus::Rejected };
    let resolved = store::resolve_dispute(p.org, unit.db(), &d, status, note, adjustment, p.member_id).await?;
    unit.audit("dispute.resolve", "Dispute", Some(d.id), Some(dispute_json(&d)), Some(dispute_json(&resolved))).await?;
    unit.commit().await?;
    Ok(Ok(resolved))
}
