//! Tenant-scoped forecast submissions and adjustments.

use chrono::{NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use entity::{forecast_adjustment, forecast_submission};

use crate::core::error::AppResult;
use crate::core::ids::OrgId;
use crate::db::tenant;

/// A new submission or adjustment (cents).
#[derive(Debug, Clone)]
pub struct NewNumbers {
    /// `MEMBER` or `TEAM`.
    pub subject_kind: &'static str,
    /// Whose numbers.
    pub subject_id: Uuid,
    /// `MONTH` or `QUARTER`.
    pub grain: String,
    /// First day of the period.
    pub period_start: NaiveDate,
    /// Commit, cents.
    pub commit_cents: i64,
    /// Best case, cents.
    pub best_case_cents: i64,
    /// Note or reason.
    pub text: Option<String>,
    /// Who.
    pub by: Uuid,
}

/// Stores a submission.
pub async fn submit(org: OrgId, db: &impl ConnectionTrait, n: NewNumbers) -> AppResult<forecast_submission::Model> {
    Ok(forecast_submission::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        subject_kind: Set(n.subject_kind.to_owned()),
        subject_id: Set(n.subject_id),
        grain: Set(n.grain),
        period_start: Set(n.period_start),
        commit_cents: Set(n.commit_cents),
        best_case_cents: Set(n.best_case_cents),
        note: Set(n.text),
        submitted_by: Set(n.by),
        submitted_at: Set(Utc::now()),
    }
    .insert(db)
    .await?)
}

/// Stores an adjustment.
pub async fn adjust(org: OrgId, db: &impl ConnectionTrait, n: NewNumbers) -> AppResult<forecast_adjustment::Model> {
    Ok(forecast_adjustment::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        subject_kind: Set(n.subject_kind.to_owned()),
        subject_id: Set(n.subject_id),
        grain: Set(n.grain),
        period_start: Set(n.period_start),
        commit_cents: Set(n.commit_cents),
        best_case_cents: Set(n.best_case_cents),
        reason: Set(n.text.unwrap_or_default()),
        adjusted_by: Set(n.by),
        adjusted_at: Set(Utc::now()),
    }
    .insert(db)
    .await?)
}

/// Submissions of a period (all subjects), oldest first.
pub async fn submissions(
    org: OrgId,
    db: &impl ConnectionTrait,
    grain: &str,
    period_start: NaiveDate,
) -> AppResult<Vec<forecast_submission::Model>> {
    Ok(tenant::scoped::<forecast_submission::Entity>(org)
        .filter(forecast_submission::Column::Grain.eq(grain))
        .filter(forecast_submission::Column::PeriodStart.eq(period_start))
        .order_by_asc(forecast_submission::Column::SubmittedAt)
        .order_by_asc(forecast_submission::Column::Id)
        .all(db)
        .await?)
}

/// Adjustments of a period (all subjects), oldest first.
pub async fn adjustments(
    org: OrgId,
    db: &impl ConnectionTrait,
    grain: &str,
    period_start: NaiveDate,
) -> AppResult<Vec<forecast_adjustment::Model>> {
    Ok(tenant::scoped::<forecast_adjustment::Entity>(org)
        .filter(forecast_adjustment::Column::Grain.eq(grain))
        .filter(forecast_adjustment::Column::PeriodStart.eq(period_start))
        .order_by_asc(forecast_adjustment::Column::AdjustedAt)
        .order_by_asc(forecast_adjustment::Column::Id)
        .all(db)
        .await?)
}
