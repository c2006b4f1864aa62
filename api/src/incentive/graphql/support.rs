//! Helpers the resolvers of this area share: parsing, permission checks and publishing.

use async_graphql::{Context, ID, Result};
use entity::incentive_plan;
use rust_decimal::Decimal;
use sea_orm::ConnectionTrait;

use crate::core::error::AppResult;
use crate::core::field::FieldError;
use crate::core::principal::Principal;
use crate::graphql::UserError;
use crate::graphql::relay::{NodeKind, decode_id};
use crate::incentive::service;
use crate::pipeline::graphql::Money;

pub(super) fn dec(s: &str) -> Option<Decimal> {
    s.parse().ok()
}

pub(super) fn money_str(d: Decimal) -> String {
    format!("{:.2}", d.round_dp(2))
}

pub(super) async fn money(ctx: &Context<'_>, cents: i64) -> Result<Money> {
    let currency = crate::org::graphql::currency(ctx).await?;
    Ok(Money { amount: money_str(Decimal::new(cents, 2)), currency })
}

pub(super) fn errors(list: Vec<FieldError>) -> Vec<UserError> {
    list.into_iter().map(UserError::from).collect()
}

// ---------------------------------------------------------------- permissions

pub(super) use crate::incentive::policy::may_read_member;
pub use crate::incentive::policy::readable_members;
pub(super) use crate::incentive::service::load_statement;

pub(super) async fn load_plan(p: &Principal, db: &impl ConnectionTrait, id: &ID) -> AppResult<incentive_plan::Model> {
    service::load_plan(p, db, decode_id(id, NodeKind::IncentivePlan)?).await
}
