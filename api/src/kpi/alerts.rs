//! Pattern alerts: evaluating the rules for a closed week, raising each alert once (a unique
//! dedupe key, so several instances or repeated runs raise it once), and the scheduler that
//! evaluates every organization when its week closes (Monday 00:00 in its time zone).

use std::collections::HashMap;
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::model::{self, AlertKind, WeekPoint};
use super::store;
use super::values;
use crate::core::error::AppResult;
use crate::core::ids::OrgId;
use crate::core::period::PeriodGrain;
use crate::core::roles::SalesRole;
use crate::events::Event;
use crate::org::store as org_store;
use crate::scoring::model as scoring_model;
use crate::scoring::scores;
use crate::state::AppState;

/// Evaluates every active rule of an organization for the week starting `week` (its Monday);
/// returns the alerts raised now (those raised before are not raised again). Each raised alert's
/// event is published as it is raised.
pub async fn evaluate(state: &AppState, org: OrgId, week: NaiveDate) -> AppResult<Vec<entity::alert::Model>> {
    evaluate_on(&state.db, org, week, |e| state.events.publish(e)).await
}

/// [`evaluate`] on a connection or a transaction: each raised alert's event goes to `raised_event`
/// (a use-case queues it on its unit, to leave after the commit).
pub async fn evaluate_on(
    db: &impl ConnectionTrait,
    org: OrgId,
    week: NaiveDate,
    mut raised_event: impl FnMut(Event),
) -> AppResult<Vec<entity::alert::Model>> {
    let s = scores::settings(org, db).await?;
    let defs = values::definitions(org, db).await?;
    let mut raised = Vec::new();
    for rule in store::rules(org, db).await? {
        let Some(def) = defs.iter().find(|d| d.key == rule.kpi_key) else { continue };
        let kind = AlertKind::parse(&rule.kind).unwrap_or(AlertKind::BelowTargetStreak);
        let periods = u32::try_from(rule.periods).unwrap_or(2);
        let mut members = scores::active_members(org, db, rule.team_id).await?;
        if let Some(role) = rule.sales_role.as_deref().and_then(SalesRole::parse) {
            members.retain(|m| m.sales_role == role.as_str());
        }
        // The watched weeks, oldest first, ending with the closed week (one more for a decline).
        let mut weeks =
            vec![scoring_model::period_containing(PeriodGrain::Week, week, s.tz, s.fiscal_year_start_month)];
        while weeks.len() < periods as usize + 1 {
            let Some(prev) = scoring_model::previous_period(&weeks[0], s.tz, s.fiscal_year_start_month) else { break };
            weeks.insert(0, prev);
        }
        let mut series: HashMap<Uuid, Vec<WeekPoint>> = HashMap::new();
        for w in &weeks {
            let (cells, _) = values::compute(&s, db, &defs, &[def], &members, w).await?;
            for m in &members {
                let c = cells.get(&(m.id, def.key.clone()));
                series.entry(m.id).or_default().push(WeekPoint {
                    week_start: w.start_date,
                    value: c.and_then(|c| c.value.value),
                    target: c.and_then(|c| c.target),
                });
            }
        }
        for m in &members {
            let points = series.remove(&m.id).unwrap_or_default();
            let Some(trigger) = model::evaluate_alert(kind, &points, def.shape.direction, periods) else { continue };
            let details = serde_json::json!({
                "kind": kind.as_str(),
                "weeks": trigger.weeks.iter().map(|w| serde_json::json!({
                    "weekStart": w.week_start,
                    "value": w.value.map(|v| v.to_string()),
                    "target": w.target.map(|t| t.to_string()),
                })).collect::<Vec<_>>(),
            })
            .to_string();
            let key = model::alert_dedupe_key(rule.id, m.id, trigger.closed_week);
            if let Some(a) = store::raise_alert(org, db, &rule, m.id, trigger.closed_week, key, details).await? {
                let event = serde_json::json!({
                    "alertId": a.id,
                    "memberId": crate::graphql::relay::global_id(crate::graphql::relay::NodeKind::Member, m.id),
                    "kpiKey": rule.kpi_key,
                    "kind": kind.as_str(),
                    "week": trigger.closed_week,
                });
                crate::webhooks::store::enqueue(org, db, "alert.raised", event).await?;
                raised_event(Event::AlertRaised { org: org.0, alert: a.id, team: m.team_id });
                raised.push(a);
            }
        }
    }
    Ok(raised)
}

/// How often the scheduler looks whether an organization's week has closed.
const SCHEDULER_TICK: Duration = Duration::from_secs(60);

/// Evaluates each organization's alerts once after its week closes. Runs in every instance;
/// the dedupe key makes the result the same as one run.
pub fn start_scheduler(state: AppState) {
    tokio::spawn(async move {
        let mut done: HashMap<OrgId, NaiveDate> = HashMap::new();
        let mut tick = tokio::time::interval(SCHEDULER_TICK);
        loop {
            tick.tick().await;
            if let Err(e) = run_due(&state, &mut done).await {
                tracing::warn!(error = ?e, "alert scheduler run failed; retrying next tick");
            }
        }
    });
}

async fn run_due(state: &AppState, done: &mut HashMap<OrgId, NaiveDate>) -> AppResult<()> {
    for org in org_store::all_org_ids(&state.db).await? {
        let s = scores::settings(org, &state.db).await?;
        let closed = model::last_closed_week(scoring_model::local_date(Utc::now(), s.tz));
        if done.get(&org) == Some(&closed) {
            continue;
        }
        let raised = evaluate(state, org, closed).await?;
        if !raised.is_empty() {
            tracing::info!(org = %org.0, alerts = raised.len(), week = %closed, "alerts raised");
        }
        done.insert(org, closed);
    }
    Ok(())
}
