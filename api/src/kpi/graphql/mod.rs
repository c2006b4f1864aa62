//! GraphQL surface of KPIs: the catalogue and custom KPIs, weekly targets, self-reported
//! values with week locks, value series, and the weekly scoreboard.

mod inputs;
mod mutations;
mod queries;
mod subscriptions;
mod types;

pub use self::inputs::*;
pub use self::mutations::*;
pub use self::queries::*;
pub use self::subscriptions::*;
pub use self::types::*;

use async_graphql::ID;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use uuid::Uuid;

use super::store;
use super::values::KpiDef;
use crate::auth::{Principal, Reach};
use crate::error::{AppError, AppResult};
use crate::graphql::relay::{NodeKind, decode_id};
use crate::org::model::Role;
use crate::org::store as org_store;
use crate::scoring::model::{Period, PeriodGrain};
use crate::scoring::{model as scoring_model, scores};

fn f(d: Option<Decimal>) -> Option<f64> {
    d.and_then(|v| v.to_f64())
}

fn defs_by_keys<'a>(defs: &'a [KpiDef], keys: &[String]) -> AppResult<Vec<&'a KpiDef>> {
    keys.iter().map(|k| defs.iter().find(|d| &d.key == k).ok_or(AppError::NotFound("KPI"))).collect()
}

fn periods(grain: PeriodGrain, from: NaiveDate, to: NaiveDate, s: &scores::OrgSettings) -> AppResult<Vec<Period>> {
    let mut out = Vec::new();
    let mut p = scoring_model::period_containing(grain, from, s.tz, s.fiscal_year_start_month);
    while p.start_date <= to {
        out.push(p);
        if out.len() > 104 {
            return Err(AppError::bad_input("at most 104 periods"));
        }
        p = scoring_model::period_containing(grain, p.end_date, s.tz, s.fiscal_year_start_month);
    }
    Ok(out)
}

/// KPI queries.
fn alert_id(id: &ID) -> AppResult<Uuid> {
    decode_id(id, NodeKind::Alert)
}

/// An alert rule through `node`: any member reads the rules (as `alertRules` shows them).
pub async fn node_alert_rule(
    p: &Principal,
    db: &impl sea_orm::ConnectionTrait,
    id: Uuid,
) -> AppResult<Option<AlertRule>> {
    Ok(store::rules(p.org, db).await?.into_iter().find(|r| r.id == id).map(AlertRule))
}

/// An alert through `node`: only one `alerts` would show the viewer.
pub async fn node_alert(p: &Principal, db: &impl sea_orm::ConnectionTrait, id: Uuid) -> AppResult<Option<Alert>> {
    let Some(alert) = store::find_alert(p.org, db, id).await? else { return Ok(None) };
    let visible = alert_members(p, db).await?.is_none_or(|m| m.contains(&alert.member_id));
    Ok(visible.then_some(Alert(alert)))
}

/// The members whose alerts a principal sees: all (admins, viewers), their teams' (managers), their own (reps).
async fn alert_members(p: &Principal, db: &impl sea_orm::ConnectionTrait) -> AppResult<Option<Vec<Uuid>>> {
    match (p.role, p.reach(db).await?) {
        (Role::Admin | Role::Viewer, _) | (_, Reach::All) => Ok(None),
        (Role::Manager, Reach::Teams(teams)) => Ok(Some(
            org_store::all_members(
                p.org,
                db,
                &org_store::MemberFilter { team_ids: Some(teams.into_iter().collect()), ..Default::default() },
            )
            .await?
            .into_iter()
            .map(|m| m.id)
            .chain(std::iter::once(p.member_id))
            .collect(),
        )),
        _ => Ok(Some(vec![p.member_id])),
    }
}
