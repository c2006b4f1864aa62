//! Demo KPIs: targets per sales role, a self-reported KPI with values, and an alert rule.

use chrono::{Duration, Utc};

use crate::core::error::AppResult;
use crate::core::ids::OrgId;
use crate::core::roles::Role;
use crate::org::store;
use crate::state::AppState;
use crate::template::model::{ALERT, KPI_TARGETS};

/// KPI targets per sales role, a self-reported "selling time %" with four weeks of reports,
/// and an alert rule (outbound reps under their new-leads target three weeks running) evaluated for
/// the last closed week, so `alerts` has something to show — unless KPI targets exist.
pub(super) async fn seed_kpis(state: &AppState, org: OrgId) -> AppResult<()> {
    use rand::{Rng, SeedableRng};

    if !crate::kpi::store::all_targets(org, &state.db).await?.is_empty() {
        return Ok(());
    }
    let settings = crate::core::settings::settings(org, &state.db).await?;
    let admin = store::find_member_by_email(org, &state.db, "admin@demo.test").await?.map(|m| m.id).unwrap_or_default();
    let today = crate::core::period::local_date(Utc::now(), settings.tz);
    let since = today - Duration::days(365);
    let tx = crate::db::begin_write(&state.db).await?;
    for (key, role, per_week) in KPI_TARGETS {
        let target = crate::kpi::store::NewKpiTarget {
            kpi_key: key.into(),
            sales_role: Some(role),
            member_id: None,
            per_week: rust_decimal::Decimal::from(per_week),
            effective_from: since,
            reason: "Demo target for the sales role".into(),
            set_by: admin,
        };
        crate::kpi::store::insert_target(org, &tx, target).await?;
    }
    let selling_time = crate::kpi::store::NewKpi {
        key: "selling_time".into(),
        name: "Selling time %".into(),
        description: Some("Share of the week spent selling, entered by the rep".into()),
        kind: crate::kpi::model::KpiKind::SelfReported,
        unit: crate::kpi::model::KpiUnit::Percent,
        direction: crate::kpi::model::KpiDirection::HigherIsBetter,
        activity_type_ids: Vec::new(),
        numerator_key: None,
        denominator_key: None,
    };
    crate::kpi::store::create_kpi(org, &tx, selling_time).await?;
    let reps =
        store::all_members(org, &tx, &store::MemberFilter { role: Some(Role::Rep), ..Default::default() }).await?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    for weeks_back in 1..=4 {
        let week = crate::kpi::model::week_start(today) - Duration::weeks(weeks_back);
        for m in &reps {
            let value = rust_decimal::Decimal::from(rng.random_range(35..75));
            crate::kpi::store::insert_report(org, &tx, "selling_time", m.id, week, value, m.id).await?;
        }
    }
    // "Three weeks in a row too few leads" (the source articles' example).
    let (alert_kpi, alert_role, alert_periods) = ALERT;
    let rule = crate::kpi::store::NewAlertRule {
        kpi_key: alert_kpi.into(),
        kind: crate::kpi::model::AlertKind::BelowTargetStreak,
        periods: alert_periods,
        team_id: None,
        sales_role: Some(alert_role),
        created_by: admin,
    };
    crate::kpi::store::create_rule(org, &tx, rule).await?;
    tx.commit().await?;
    crate::kpi::alerts::evaluate(state, org, crate::kpi::model::last_closed_week(today)).await?;
    Ok(())
}
