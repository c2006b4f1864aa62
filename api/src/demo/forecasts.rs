//! Demo forecasts: submissions for the current and earlier quarters, and the demo's forecast API key.

use chrono::{Duration, Utc};
use uuid::Uuid;

use super::COMPANIES;
use crate::core::error::AppResult;
use crate::core::ids::OrgId;
use crate::org::store;
use crate::pipeline::model::{DealOutcome, ForecastCategory};
use crate::pipeline::store as pipeline_store;
use crate::state::AppState;

/// A fresh `forecasts:read` API key for the demo organization (the secret is only known when
/// created, so every `--demo` start makes one).
pub async fn forecast_key(state: &AppState, org: OrgId) -> AppResult<String> {
    let admin = store::find_member_by_email(org, &state.db, "admin@demo.test")
        .await?
        .ok_or(crate::core::error::AppError::NotFound("admin@demo.test"))?;
    let tx = crate::db::begin_write(&state.db).await?;
    let (_, key) =
        crate::auth::api_keys::create(org, &tx, "Demo BI (forecasts)".into(), &["forecasts:read".to_owned()], admin.id)
            .await?;
    tx.commit().await?;
    Ok(key)
}

/// Four closed quarters and the current one of forecasts: each closer submits a commit and best
/// case a week into the quarter, the Sales manager submits for the Sales team, and the closers
/// have won deals in every past quarter, so `forecastAccuracy` has history — unless submissions
/// exist.
pub(super) async fn seed_forecasts(state: &AppState, org: OrgId) -> AppResult<()> {
    use rand::{Rng, SeedableRng};
    use sea_orm::PaginatorTrait;

    if crate::db::tenant::scoped::<entity::forecast_submission::Entity>(org).count(&state.db).await? > 0 {
        return Ok(());
    }
    let tx = crate::db::begin_write(&state.db).await?;
    let s = crate::core::settings::settings(org, &tx).await?;
    let members = store::all_members(org, &tx, &Default::default()).await?;
    let closers: Vec<&entity::member::Model> = members.iter().filter(|m| m.sales_role == "CLOSER").collect();
    let manager = members.iter().find(|m| m.email == "manager@demo.test");
    let sales = store::all_teams(org, &tx).await?.into_iter().find(|t| t.name == "Sales");
    let stages = pipeline_store::stages(org, &tx).await?;
    let Some(won) = stages.iter().find(|x| x.kind == "WON") else { return Ok(()) };
    let today = crate::core::period::local_date(Utc::now(), s.tz);
    let current = crate::core::period::period_containing(
        crate::core::period::PeriodGrain::Quarter,
        today,
        s.tz,
        s.fiscal_year_start_month,
    );
    let mut periods = vec![current];
    for _ in 0..4 {
        if let Some(p) = crate::core::period::previous_period(&periods[0], s.tz, s.fiscal_year_start_month) {
            periods.insert(0, p);
        }
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    // Older quarters get won deals of their own (the generated pipeline covers six months).
    for (i, period) in periods.iter().enumerate().take(2) {
        for (c, closer) in closers.iter().enumerate() {
            for n in 0..3 {
                let closed_at = period.start + Duration::days(rng.random_range(10..80));
                let fields = pipeline_store::DealFields {
                    name: Some(format!(
                        "{} — earlier deal {}",
                        COMPANIES[(i * 7 + c * 3 + n) % COMPANIES.len()],
                        i * 10 + n + 1
                    )),
                    company: Some(Some(COMPANIES[(i * 7 + c * 3 + n) % COMPANIES.len()].into())),
                    owner_id: Some(closer.id),
                    amount_cents: Some(rng.random_range(100..500) * 10_000),
                    expected_close_date: Some(Some(closed_at.date_naive())),
                    lead_created_at: Some(Some(closed_at - Duration::days(45))),
                    first_contact_at: Some(Some(closed_at - Duration::days(44))),
                    country: Some(Some("NL".into())),
                    ..Default::default()
                };
                let d =
                    pipeline_store::create_deal(org, &tx, fields, won, (100, false), (ForecastCategory::Closed, false))
                        .await?;
                pipeline_store::add_history_at(org, &tx, d.id, None, won.id, closer.id, closed_at).await?;
                let state_change = pipeline_store::DealState {
                    closed_at: Some(Some(closed_at)),
                    outcome: Some(Some(DealOutcome::Won)),
                    outcome_reason: Some(Some("Good fit".into())),
                    ..Default::default()
                };
                pipeline_store::update_deal(org, &tx, &d, pipeline_store::DealFields::default(), state_change).await?;
            }
        }
    }
    // What each closer actually won per quarter, to forecast around.
    let ids: Vec<Uuid> = closers.iter().map(|m| m.id).collect();
    let deals = crate::kpi::store::deals_of(org, &tx, &ids).await?;
    let won_in = |member: Uuid, p: &crate::core::period::Period| -> i64 {
        deals
            .iter()
            .filter(|d| d.owner_id == member && d.outcome.as_deref() == Some("WON"))
            .filter(|d| d.closed_at.is_some_and(|t| t >= p.start && t < p.end))
            .map(|d| d.amount_cents)
            .sum()
    };
    for period in &periods {
        let at = (period.start + Duration::days(7)).min(Utc::now());
        let mut team_commit = 0;
        for closer in &closers {
            let actual = won_in(closer.id, period).max(500_000);
            // Some reps forecast well, some optimistically, some cautiously.
            let factor = rng.random_range(70..135);
            let commit = actual * factor / 100;
            team_commit += commit;
            insert_submission(org, &tx, "MEMBER", closer.id, period, commit, commit * 13 / 10, closer.id, at).await?;
        }
        if let (Some(m), Some(t)) = (manager, &sales) {
            let commit = team_commit * rng.random_range(85..105) / 100;
            insert_submission(org, &tx, "TEAM", t.id, period, commit, commit * 12 / 10, m.id, at + Duration::hours(2))
                .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn insert_submission(
    org: OrgId,
    db: &impl sea_orm::ConnectionTrait,
    kind: &str,
    subject: Uuid,
    period: &crate::core::period::Period,
    commit_cents: i64,
    best_case_cents: i64,
    by: Uuid,
    at: chrono::DateTime<Utc>,
) -> AppResult<()> {
    use sea_orm::{ActiveModelTrait, Set};
    entity::forecast_submission::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        subject_kind: Set(kind.to_owned()),
        subject_id: Set(subject),
        grain: Set("QUARTER".into()),
        period_start: Set(period.start_date),
        commit_cents: Set(commit_cents),
        best_case_cents: Set(best_case_cents),
        note: Set(Some("Weekly call".into())),
        submitted_by: Set(by),
        submitted_at: Set(at),
    }
    .insert(db)
    .await?;
    Ok(())
}
