//! Applying a template to an organization that has no set-up yet, in one unit of work.

use chrono::Utc;
use rust_decimal::Decimal;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::{model, policy};
use crate::core::error::AppResult;
use crate::core::field::{Checked, FieldError};
use crate::core::principal::Principal;
use crate::db::unit::Unit;
use crate::events::{Event, EventBus};
use crate::pipeline::model::ChecklistKind;

/// What a template created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    /// Pipeline stages.
    pub stages: usize,
    /// Checklist items over those stages.
    pub checklist_items: usize,
    /// Activity types.
    pub activity_types: usize,
    /// Weekly points targets (one per sales role).
    pub points_targets: usize,
    /// Weekly KPI targets (per sales role).
    pub kpi_targets: usize,
    /// Alert rules.
    pub alert_rules: usize,
    /// Mystery-check criteria.
    pub mystery_criteria: usize,
}

/// Sets the organization up from the built-in starter (admins). Refused with `ALREADY_SET_UP`,
/// writing nothing, when the organization has any stage, activity type, points or KPI target,
/// alert rule or mystery-check criterion: a template never mixes with a set-up in use.
pub async fn apply_starter(db: &DatabaseConnection, bus: &EventBus, p: &Principal) -> AppResult<Checked<Applied>> {
    policy::may_apply(p)?;
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let applied = starter_into(&mut unit, p.member_id).await?;
    if applied.is_ok() {
        unit.commit().await?;
    }
    Ok(applied)
}

/// Writes the built-in starter into the unit's organization (targets recorded as set by
/// `set_by`, a member of it), audits and queues the events; the caller commits. The same
/// refusal as [`apply_starter`] when anything is set up already.
pub(crate) async fn starter_into(unit: &mut Unit, set_by: Uuid) -> AppResult<Checked<Applied>> {
    use crate::{kpi::store as kpi, mystery::store as mystery, pipeline::store as pipeline, scoring::store as scoring};

    let org = unit.org();
    let in_use = [
        ("pipeline stages", pipeline::count_stages(org, unit.db()).await? > 0),
        ("activity types", !scoring::all_activity_types(org, unit.db()).await?.is_empty()),
        ("points targets", !scoring::all_targets(org, unit.db()).await?.is_empty()),
        ("KPI targets", !kpi::all_targets(org, unit.db()).await?.is_empty()),
        ("alert rules", !kpi::rules(org, unit.db()).await?.is_empty()),
        ("mystery-check criteria", !mystery::criteria(org, unit.db(), true).await?.is_empty()),
    ];
    let present: Vec<&str> = in_use.iter().filter(|(_, used)| *used).map(|(what, _)| *what).collect();
    if !present.is_empty() {
        let message = format!("the organization is set up already (it has {})", present.join(", "));
        return Ok(Err(vec![FieldError::new("template", "ALREADY_SET_UP", message)]));
    }
    let settings = crate::core::settings::settings(org, unit.db()).await?;
    let today = crate::core::period::local_date(Utc::now(), settings.tz);
    // The starter's targets count from the start of this week: a week's target is the one in
    // effect on its first day, so targets dated today would leave a new organization without
    // one until next Monday.
    let this_week = crate::core::period::period_containing(
        crate::core::period::PeriodGrain::Week,
        today,
        settings.tz,
        settings.fiscal_year_start_month,
    )
    .start_date;
    let reason = "Starter template".to_owned();
    let mut applied = Applied::default();
    for (name, kind, probability, category, checklist) in model::STAGES {
        let new = pipeline::NewStage {
            name: name.into(),
            kind,
            default_probability: probability,
            default_forecast_category: category,
        };
        let stage = pipeline::create_stage(org, unit.db(), new).await?;
        applied.stages += 1;
        for (label, field) in checklist {
            let item = pipeline::NewItem {
                stage_id: stage.id,
                label: (*label).into(),
                kind: if field.is_some() { ChecklistKind::Content } else { ChecklistKind::Process },
                field_name: field.map(str::to_owned),
                required: true,
            };
            pipeline::create_item(org, unit.db(), item).await?;
            applied.checklist_items += 1;
        }
    }
    for (name, category, unit_kind, points_cents, step_percent, kpi_key) in model::ACTIVITY_TYPES {
        let new = scoring::NewActivityType {
            name: name.into(),
            description: None,
            category,
            unit: unit_kind,
            points_cents,
            step_percent,
            kpi_key: kpi_key.map(str::to_owned),
            self_max_quantity_per_activity: None,
            self_max_quantity_per_day: None,
        };
        scoring::create_activity_type(org, unit.db(), new).await?;
        applied.activity_types += 1;
    }
    for (role, weekly) in model::POINTS_TARGETS {
        let target = scoring::NewTarget {
            sales_role: Some(role),
            member_id: None,
            weekly_points_cents: weekly * 100,
            effective_from: this_week,
            reason: reason.clone(),
            set_by,
        };
        scoring::insert_target(org, unit.db(), target).await?;
        applied.points_targets += 1;
    }
    for (key, role, per_week) in model::KPI_TARGETS {
        let target = kpi::NewKpiTarget {
            kpi_key: key.into(),
            sales_role: Some(role),
            member_id: None,
            per_week: Decimal::from(per_week),
            effective_from: this_week,
            reason: reason.clone(),
            set_by,
        };
        kpi::insert_target(org, unit.db(), target).await?;
        applied.kpi_targets += 1;
    }
    let (kpi_key, role, periods) = model::ALERT;
    let rule = kpi::NewAlertRule {
        kpi_key: kpi_key.into(),
        kind: crate::kpi::model::AlertKind::BelowTargetStreak,
        periods,
        team_id: None,
        sales_role: Some(role),
        created_by: set_by,
    };
    kpi::create_rule(org, unit.db(), rule).await?;
    applied.alert_rules += 1;
    for (name, points) in model::MYSTERY_CRITERIA {
        mystery::create_criterion(org, unit.db(), name.into(), points).await?;
        applied.mystery_criteria += 1;
    }
    let after = serde_json::json!({
        "template": "STARTER",
        "stages": applied.stages,
        "activityTypes": applied.activity_types,
        "kpiTargets": applied.kpi_targets,
    });
    unit.audit("template.apply", "Organization", Some(org.0), None, Some(after)).await?;
    // Stages and activity types are rules; points targets move the rankings' targets; KPI
    // targets move the scoreboards.
    unit.publish(Event::RulesChanged { org: org.0 });
    unit.publish(Event::MembersChanged { org: org.0 });
    unit.publish(Event::DataChanged { org: org.0 });
    Ok(Ok(applied))
}
