//! The KPI use-cases that write in one transaction: a member's self-reported values for a week.

use chrono::{NaiveDate, Utc};
use sea_orm::DatabaseConnection;

use super::model::{self, KpiKind};
use super::{store, values};
use crate::core::error::{AppError, AppResult};
use crate::core::field::{Checked, FieldError};
use crate::core::principal::Principal;
use crate::core::roles::Role;
use crate::db::unit::Unit;
use crate::events::EventBus;
use crate::org::store as org_store;
use crate::scoring::{model as scoring_model, scores};

/// One value as reported.
#[derive(Debug, Clone)]
pub struct ReportedValue {
    /// A self-reported KPI.
    pub kpi_key: String,
    /// The value for the week.
    pub value: f64,
}

/// The caller's own values for a week.
#[derive(Debug, Clone)]
pub struct SubmitValues {
    /// A day of the week (the week it falls in is meant).
    pub week: NaiveDate,
    /// 1 to 50 values.
    pub values: Vec<ReportedValue>,
}

/// Reporting one's own values: every role but viewers.
pub fn may_report(p: &Principal) -> AppResult<()> {
    if p.role == Role::Viewer {
        return Err(AppError::forbidden("viewers cannot report values"));
    }
    Ok(())
}

/// Records the caller's values for a week (each change kept with who and when), unless the
/// week has not started or a manager of one of the caller's teams locked it. Returns how many
/// values were recorded.
pub async fn submit_values(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: SubmitValues,
) -> AppResult<Checked<usize>> {
    may_report(p)?;
    let week = model::week_start(cmd.week);
    let s = scores::settings(p.org, db).await?;
    let today = scoring_model::local_date(Utc::now(), s.tz);
    let mut e: Vec<FieldError> = Vec::new();
    if week > model::week_start(today) {
        e.push(FieldError::new("week", "OUT_OF_RANGE", "a week that has not started cannot be reported"));
    }
    if cmd.values.is_empty() || cmd.values.len() > 50 {
        e.push(FieldError::new("values", "INVALID", "give 1 to 50 values"));
    }
    let defs = values::definitions(p.org, db).await?;
    let mut parsed = Vec::new();
    for (i, v) in cmd.values.iter().enumerate() {
        match defs.iter().find(|d| d.key == v.kpi_key && d.kind == KpiKind::SelfReported && d.active) {
            None => e.push(FieldError {
                field: vec!["input".into(), "values".into(), i.to_string(), "kpiKey".into()],
                message: "not an active self-reported KPI".into(),
                code: "INVALID",
            }),
            Some(d) => match model::parse_kpi_number("value", v.value, d.shape.unit) {
                Ok(x) => parsed.push((d.key.clone(), x)),
                Err(mut x) => {
                    x.field = vec!["input".into(), "values".into(), i.to_string(), "value".into()];
                    e.push(x);
                }
            },
        }
    }
    let unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let teams = match p.team_id {
        Some(t) => org_store::team_tree(p.org, unit.db()).await?.ancestors(t),
        None => Vec::new(),
    };
    if store::week_locked(p.org, unit.db(), &teams, week).await? {
        e.push(FieldError::new("week", "LOCKED", "your manager has locked this week"));
    }
    if !e.is_empty() {
        return Ok(Err(e));
    }
    for (key, value) in &parsed {
        store::insert_report(p.org, unit.db(), key, p.member_id, week, *value, p.member_id).await?;
    }
    unit.commit().await?;
    Ok(Ok(parsed.len()))
}
