//! The incentive objects `node(id:)` answers with, loaded within the caller's read rules.

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::support::{load_plan, load_statement, may_read_member};
use super::types::{Dispute, IncentivePlan, PlanAssignment, Statement, StatementLine};
use crate::core::error::{AppError, AppResult};
use crate::core::principal::Principal;
use crate::graphql::relay::{NodeKind, global_id};
use crate::incentive::store;

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
