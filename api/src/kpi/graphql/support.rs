//! Helpers the resolvers of this area share: parsing, permission checks and publishing.

use async_graphql::ID;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use uuid::Uuid;

use crate::core::error::{AppError, AppResult};
use crate::core::period::{Period, PeriodGrain};
use crate::graphql::relay::{NodeKind, decode_id};
use crate::kpi::values::KpiDef;
use crate::scoring::{model as scoring_model, scores};

pub(super) fn f(d: Option<Decimal>) -> Option<f64> {
    d.and_then(|v| v.to_f64())
}

pub(super) fn defs_by_keys<'a>(defs: &'a [KpiDef], keys: &[String]) -> AppResult<Vec<&'a KpiDef>> {
    keys.iter().map(|k| defs.iter().find(|d| &d.key == k).ok_or(AppError::NotFound("KPI"))).collect()
}

pub(super) fn periods(
    grain: PeriodGrain,
    from: NaiveDate,
    to: NaiveDate,
    s: &scores::OrgSettings,
) -> AppResult<Vec<Period>> {
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
pub(super) fn alert_id(id: &ID) -> AppResult<Uuid> {
    decode_id(id, NodeKind::Alert)
}
