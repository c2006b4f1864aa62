//! KPI and alert mutations: each parses its input into a command and calls one use-case of
//! `kpi::service`.

use async_graphql::{Context, Object, Result};
use chrono::NaiveDate;

use super::{
    AcknowledgeAlertInput, Alert, AlertRule, AlertRulePayload, AlertsPayload, ArchiveKpiInput, CreateAlertRuleInput,
    CreateKpiInput, Kpi, KpiPayload, KpiTargetPayload, LockKpiWeekInput, LockKpiWeekPayload, ResetKpiNameInput,
    SetKpiTargetInput, SubmitKpiValuesInput, SubmitKpiValuesPayload, UpdateKpiInput, alert_id, f,
};
use crate::core::field::Checked;
use crate::graphql::relay::{NodeKind, decode_id};
use crate::graphql::{ContextExt, UserError};
use crate::kpi::values::KpiDef;
use crate::kpi::{policy, service};

/// KPI mutations.
#[derive(Default)]
pub struct KpiMutation;

#[Object]
impl KpiMutation {
    /// Defines a custom KPI (admins).
    async fn create_kpi(&self, ctx: &Context<'_>, input: CreateKpiInput) -> Result<KpiPayload> {
        let p = ctx.principal()?;
        policy::may_define(p)?;
        let state = ctx.state()?;
        let cmd = service::CreateKpi {
            key: input.key,
            name: input.name,
            description: input.description,
            kind: input.kind,
            unit: input.unit,
            direction: input.direction,
            activity_type_ids: input.activity_type_ids.iter().map(|id| decode_id(id, NodeKind::ActivityType)).collect(),
            numerator_key: input.numerator_key,
            denominator_key: input.denominator_key,
        };
        Ok(kpi_payload(service::create_kpi(&state.db, &state.events, p, cmd).await?))
    }

    /// Renames or re-describes a KPI (admins): a custom KPI for every language; a built-in one
    /// in your organization's words, per language (its key and formula stay; `resetKpiName`
    /// puts the built-in wording back).
    async fn update_kpi(&self, ctx: &Context<'_>, input: UpdateKpiInput) -> Result<KpiPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let locale = match input.locale {
            Some(l) => l,
            None => crate::org::graphql::request_locale(ctx).await?,
        };
        let cmd = service::UpdateKpi {
            key: input.key,
            version: input.version,
            name: input.name,
            description: input.description,
            locale,
        };
        Ok(kpi_payload(service::update_kpi(&state.db, &state.events, p, cmd).await?))
    }

    /// Puts a built-in KPI's name and description back to the built-in ones in a language
    /// (admins).
    async fn reset_kpi_name(&self, ctx: &Context<'_>, input: ResetKpiNameInput) -> Result<KpiPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let locale = match input.locale {
            Some(l) => l,
            None => crate::org::graphql::request_locale(ctx).await?,
        };
        let cmd = service::ResetKpiName { key: input.key, locale };
        Ok(kpi_payload(service::reset_kpi_name(&state.db, &state.events, p, cmd).await?))
    }

    /// Archives a custom KPI (admins): it leaves the scoreboard; history stays.
    async fn archive_kpi(&self, ctx: &Context<'_>, input: ArchiveKpiInput) -> Result<KpiPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        Ok(kpi_payload(service::archive_kpi(&state.db, &state.events, p, input.key).await?))
    }

    /// Records a weekly KPI target; history is kept.
    async fn set_kpi_target(&self, ctx: &Context<'_>, input: SetKpiTargetInput) -> Result<KpiTargetPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let cmd = service::SetTarget {
            kpi_key: input.kpi_key,
            sales_role: input.sales_role,
            member_id: input.member_id.as_ref().map(|id| decode_id(id, NodeKind::Member)),
            per_week: input.per_week,
            effective_from: input.effective_from,
            reason: input.reason,
        };
        Ok(match service::set_target(&state.db, &state.events, p, cmd).await? {
            Ok(set) => KpiTargetPayload {
                kpi: Some(Kpi::from(&set.kpi)),
                per_week: f(Some(set.per_week)),
                user_errors: vec![],
            },
            Err(e) => KpiTargetPayload {
                kpi: None,
                per_week: None,
                user_errors: e.into_iter().map(UserError::from).collect(),
            },
        })
    }

    /// The viewer's self-reported values for a week; changeable until a manager locks the week.
    /// Every change is kept with who and when.
    async fn submit_kpi_values(
        &self,
        ctx: &Context<'_>,
        input: SubmitKpiValuesInput,
    ) -> Result<SubmitKpiValuesPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let cmd = service::SubmitValues {
            week: input.week,
            values: input
                .values
                .into_iter()
                .map(|v| service::ReportedValue { kpi_key: v.kpi_key, value: v.value })
                .collect(),
        };
        Ok(match service::submit_values(&state.db, &state.events, p, cmd).await? {
            Ok(recorded) => {
                SubmitKpiValuesPayload { recorded: i32::try_from(recorded).unwrap_or(i32::MAX), user_errors: vec![] }
            }
            Err(e) => SubmitKpiValuesPayload { recorded: 0, user_errors: e.into_iter().map(UserError::from).collect() },
        })
    }

    /// Locks a team's week (managers of the team, admins): self-reported values become final.
    async fn lock_kpi_week(&self, ctx: &Context<'_>, input: LockKpiWeekInput) -> Result<LockKpiWeekPayload> {
        let p = ctx.principal()?;
        policy::may_lock_week(p)?;
        let state = ctx.state()?;
        let cmd = service::LockWeek { team_id: decode_id(&input.team_id, NodeKind::Team)?, week: input.week };
        let week = service::lock_week(&state.db, &state.events, p, cmd).await?;
        Ok(LockKpiWeekPayload { week_start: Some(week), user_errors: vec![] })
    }
}

/// Alert mutations.
#[derive(Default)]
pub struct AlertMutation;

#[Object]
impl AlertMutation {
    /// Creates an alert rule, evaluated each time a week closes (admins; managers for their teams).
    async fn create_alert_rule(&self, ctx: &Context<'_>, input: CreateAlertRuleInput) -> Result<AlertRulePayload> {
        let p = ctx.principal()?;
        policy::may_manage_alerts(p)?;
        let state = ctx.state()?;
        let cmd = service::CreateAlertRule {
            kpi_key: input.kpi_key,
            kind: input.kind,
            periods: input.periods,
            team_id: input.team_id.as_ref().map(|id| decode_id(id, NodeKind::Team)),
            sales_role: input.sales_role,
        };
        Ok(match service::create_alert_rule(&state.db, &state.events, p, cmd).await? {
            Ok(rule) => AlertRulePayload { rule: Some(AlertRule(rule)), user_errors: vec![] },
            Err(e) => AlertRulePayload { rule: None, user_errors: e.into_iter().map(UserError::from).collect() },
        })
    }

    /// Evaluates the rules for a closed week now (admins and managers). Idempotent: an alert
    /// already raised is not raised again. Returns the alerts raised by this call.
    async fn evaluate_alerts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Any date in the week (default: the last closed week).")] week: Option<NaiveDate>,
    ) -> Result<AlertsPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        Ok(match service::evaluate_alerts(&state.db, &state.events, p, week).await? {
            Ok(raised) => AlertsPayload { alerts: raised.into_iter().map(Alert).collect(), user_errors: vec![] },
            Err(e) => AlertsPayload { alerts: vec![], user_errors: e.into_iter().map(UserError::from).collect() },
        })
    }

    /// Acknowledges an alert (the member's managers and admins).
    async fn acknowledge_alert(&self, ctx: &Context<'_>, input: AcknowledgeAlertInput) -> Result<AlertsPayload> {
        let p = ctx.principal()?;
        policy::may_manage_alerts(p)?;
        let state = ctx.state()?;
        let cmd = service::AcknowledgeAlert { id: alert_id(&input.id)?, note: input.note };
        let updated = service::acknowledge_alert(&state.db, &state.events, p, cmd).await?;
        Ok(AlertsPayload { alerts: vec![Alert(updated)], user_errors: vec![] })
    }
}

/// A KPI mutation's payload: the KPI as read back, or what to fix.
fn kpi_payload(result: Checked<Option<KpiDef>>) -> KpiPayload {
    match result {
        Ok(def) => KpiPayload { kpi: def.as_ref().map(Kpi::from), user_errors: vec![] },
        Err(e) => KpiPayload { kpi: None, user_errors: e.into_iter().map(UserError::from).collect() },
    }
}
