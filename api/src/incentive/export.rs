//! The payroll export: a period's approved and paid statements as CSV, one row per statement.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sea_orm::ConnectionTrait;

use super::store;
use crate::error::{AppError, AppResult};
use crate::org::model::OrgId;
use crate::quota::model::QuotaGrain;

/// The file name and CSV body for the period of `grain` containing `date`.
pub async fn payouts_csv(
    org: OrgId,
    db: &impl ConnectionTrait,
    grain: QuotaGrain,
    date: NaiveDate,
) -> AppResult<(String, String)> {
    let s = crate::scoring::scores::settings(org, db).await?;
    let period = crate::quota::store::period_of(&s, grain, date);
    let currency = crate::org::store::currency(org, db).await?;
    let statements = store::approved_in_period(org, db, grain.as_str(), period.start_date).await?;
    let ids: Vec<uuid::Uuid> = statements.iter().map(|s| s.member_id).collect();
    let members = crate::org::store::members_by_ids(org, db, &ids).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let bad = |e: csv::Error| AppError::Internal(e.into());
    w.write_record([
        "member_id",
        "member_name",
        "email",
        "period_start",
        "period_end",
        "statement_id",
        "version",
        "status",
        "total",
        "currency",
        "approved_at",
        "paid_at",
    ])
    .map_err(bad)?;
    for st in &statements {
        let m = members.iter().find(|m| m.id == st.member_id);
        w.write_record([
            st.member_id.to_string(),
            m.map_or_else(String::new, |m| m.name.clone()),
            m.map_or_else(String::new, |m| m.email.clone()),
            st.period_start.to_string(),
            st.period_end.pred_opt().unwrap_or(st.period_end).to_string(),
            st.id.to_string(),
            st.version.to_string(),
            st.status.clone(),
            format!("{:.2}", Decimal::new(st.total_cents, 2)),
            currency.clone(),
            st.approved_at.map_or_else(String::new, |t| t.to_rfc3339()),
            st.paid_at.map_or_else(String::new, |t| t.to_rfc3339()),
        ])
        .map_err(bad)?;
    }
    let body = String::from_utf8(w.into_inner().map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?)
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok((format!("payouts-{}-{}.csv", grain.as_str().to_lowercase(), period.start_date), body))
}
