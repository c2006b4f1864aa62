//! GraphQL surface of incentive compensation: versioned plans and their assignments (admins),
//! payout runs and the statement lifecycle DRAFT → APPROVED → PAID (admins), disputes (the rep
//! on their own lines; managers and admins resolve), and the what-if `simulatePayout`.

mod inputs;
mod mutations;
mod queries;
mod types;

pub use self::inputs::*;
pub use self::mutations::*;
pub use self::queries::*;
pub use self::types::*;

use std::collections::HashSet;

use async_graphql::{Context, ID, Result};
use entity::{incentive_plan, statement};
use rust_decimal::Decimal;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::store;
use crate::auth::{Permission, Principal, Reach};
use crate::error::{AppError, AppResult};
use crate::graphql::loaders::CurrencyKey;
use crate::graphql::relay::{NodeKind, decode_id, global_id};
use crate::graphql::{ContextExt, UserError};
use crate::org::model::{FieldError, Role};
use crate::org::store as org_store;
use crate::pipeline::graphql::Money;
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
