//! Helpers the resolvers of this area share: parsing, permission checks and publishing.

use std::collections::HashSet;

use async_graphql::{Context, ID, Result};
use entity::{incentive_plan, statement};
use rust_decimal::Decimal;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::auth::Reach;
use crate::core::error::{AppError, AppResult};
use crate::core::field::FieldError;
use crate::core::principal::{Permission, Principal};
use crate::core::roles::Role;
use crate::graphql::loaders::CurrencyKey;
use crate::graphql::relay::{NodeKind, decode_id};
use crate::graphql::{ContextExt, UserError};
use crate::incentive::store;
use crate::org::store as org_store;
use crate::pipeline::graphql::Money;

pub(super) fn dec(s: &str) -> Option<Decimal> {
    s.parse().ok()
}

pub(super) fn money_str(d: Decimal) -> String {
    format!("{:.2}", d.round_dp(2))
}

pub(super) async fn money(ctx: &Context<'_>, cents: i64) -> Result<Money> {
    let currency = ctx.loader()?.load_one(CurrencyKey).await?.unwrap_or_else(|| "EUR".to_owned());
    Ok(Money { amount: money_str(Decimal::new(cents, 2)), currency })
}

pub(super) fn errors(list: Vec<FieldError>) -> Vec<UserError> {
    list.into_iter().map(UserError::from).collect()
}

// ---------------------------------------------------------------- permissions

pub(super) fn admin(p: &Principal) -> AppResult<()> {
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

pub(super) async fn may_read_member(p: &Principal, db: &impl ConnectionTrait, member: Uuid) -> AppResult<bool> {
    Ok(readable_members(p, db).await?.is_none_or(|ids| ids.contains(&member)))
}

pub(super) async fn load_statement(p: &Principal, db: &impl ConnectionTrait, id: Uuid) -> AppResult<statement::Model> {
    let s = store::find_statement(p.org, db, id).await?.ok_or(AppError::NotFound("statement"))?;
    if !may_read_member(p, db, s.member_id).await? {
        return Err(AppError::NotFound("statement"));
    }
    Ok(s)
}

pub(super) async fn load_plan(p: &Principal, db: &impl ConnectionTrait, id: &ID) -> AppResult<incentive_plan::Model> {
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
