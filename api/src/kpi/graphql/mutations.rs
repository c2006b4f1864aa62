//! KPI and alert mutations.

use async_graphql::{Context, Object, Result};
use chrono::{NaiveDate, Utc};

use super::{
    AcknowledgeAlertInput, Alert, AlertRule, AlertRulePayload, AlertsPayload, ArchiveKpiInput, CreateAlertRuleInput,
    CreateKpiInput, Kpi, KpiPayload, KpiTargetPayload, LockKpiWeekInput, LockKpiWeekPayload, SetKpiTargetInput,
    SubmitKpiValuesInput, SubmitKpiValuesPayload, UpdateKpiInput, alert_id, f,
};
use crate::core::error::AppError;
use crate::core::field::FieldError;
use crate::core::principal::Permission;
use crate::core::roles::Role;
use crate::graphql::relay::{NodeKind, decode_id};
use crate::graphql::{ContextExt, UserError};
use crate::kpi::model::{self, KpiKind, KpiShape};
use crate::kpi::{service, store, values};
use crate::org::{model as org_model, store as org_store};
use crate::scoring::{model as scoring_model, scores};

/// KPI mutations.
#[derive(Default)]
pub struct KpiMutation;

#[Object]
impl KpiMutation {
    /// Defines a custom KPI (admins).
    async fn create_kpi(&self, ctx: &Context<'_>, input: CreateKpiInput) -> Result<KpiPayload> {
        let p = ctx.principal()?;
        p.require(Permission::OrganizationUpdate)?;
        let db = &ctx.state()?.db;
        let mut e: Vec<FieldError> = Vec::new();
        let key = model::parse_kpi_key(&input.key).map_err(|x| e.push(x)).ok();
        let name = org_model::parse_name("name", &input.name).map_err(|x| e.push(x)).ok();
        let shape = KpiShape::custom(input.kind, input.unit, input.direction).map_err(|x| e.push(x)).ok();
        let defs = values::definitions(p.org, db).await?;
        if let Some(k) = &key
            && defs.iter().any(|d| &d.key == k)
        {
            e.push(FieldError::new("key", "TAKEN", "a KPI with this key exists"));
        }
        let mut types = Vec::new();
        for id in &input.activity_type_ids {
            let t = decode_id(id, NodeKind::ActivityType)?;
            crate::scoring::store::find_activity_type(p.org, db, t)
                .await?
                .ok_or(AppError::NotFound("activity type"))?;
            types.push(t);
        }
        match input.kind {
            KpiKind::ActivityCount | KpiKind::ActivitySum if types.is_empty() => {
                e.push(FieldError::new("activityTypeIds", "REQUIRED", "choose the activity types"));
            }
            KpiKind::Ratio => {
                let find = |k: &Option<String>| k.as_ref().and_then(|k| defs.iter().find(|d| &d.key == k));
                match (find(&input.numerator_key), find(&input.denominator_key)) {
                    (Some(n), Some(d)) => {
                        if let Err(x) = model::check_ratio_operands(&n.key, &n.shape, &d.key, &d.shape) {
                            e.push(x);
                        }
                    }
                    _ => e.push(FieldError::new(
                        "numeratorKey",
                        "REQUIRED",
                        "a ratio needs existing numerator and denominator KPIs",
                    )),
                }
            }
            _ => {}
        }
        let description = org_model::parse_free_text("description", input.description.as_deref(), 2000)
            .map_err(|x| e.push(x))
            .ok()
            .flatten();
        let (Some(key), Some(name), Some(_), true) = (key, name, shape, e.is_empty()) else {
            return Ok(KpiPayload { kpi: None, user_errors: e.into_iter().map(UserError::from).collect() });
        };
        let new = store::NewKpi {
            key: key.clone(),
            name,
            description,
            kind: input.kind,
            unit: input.unit,
            direction: input.direction,
            activity_type_ids: types,
            numerator_key: input.numerator_key.filter(|_| input.kind == KpiKind::Ratio),
            denominator_key: input.denominator_key.filter(|_| input.kind == KpiKind::Ratio),
        };
        store::create_kpi(p.org, db, new).await?;
        let defs = values::definitions(p.org, db).await?;
        Ok(KpiPayload { kpi: defs.iter().find(|d| d.key == key).map(Kpi::from), user_errors: vec![] })
    }

    /// Renames or re-describes a custom KPI (admins).
    async fn update_kpi(&self, ctx: &Context<'_>, input: UpdateKpiInput) -> Result<KpiPayload> {
        let p = ctx.principal()?;
        p.require(Permission::OrganizationUpdate)?;
        let db = &ctx.state()?.db;
        if let Some(refused) = model::refuse_builtin_edit(&input.key, model::KpiEdit::Update) {
            return Ok(KpiPayload { kpi: None, user_errors: vec![refused.into()] });
        }
        store::find_kpi(p.org, db, &input.key).await?.ok_or(AppError::NotFound("KPI"))?;
        let name = match input.name {
            Some(n) => match org_model::parse_name("name", &n) {
                Ok(n) => Some(n),
                Err(x) => return Ok(KpiPayload { kpi: None, user_errors: vec![x.into()] }),
            },
            None => None,
        };
        let description =
            match input.description.as_deref().map(|d| org_model::parse_free_text("description", Some(d), 2000)) {
                None => None,
                Some(Ok(d)) => Some(d),
                Some(Err(x)) => return Ok(KpiPayload { kpi: None, user_errors: vec![x.into()] }),
            };
        store::update_kpi(p.org, db, &input.key, name, description, None, input.version).await?;
        let defs = values::definitions(p.org, db).await?;
        Ok(KpiPayload { kpi: defs.iter().find(|d| d.key == input.key).map(Kpi::from), user_errors: vec![] })
    }

    /// Archives a custom KPI (admins): it leaves the scoreboard; history stays.
    async fn archive_kpi(&self, ctx: &Context<'_>, input: ArchiveKpiInput) -> Result<KpiPayload> {
        let p = ctx.principal()?;
        p.require(Permission::OrganizationUpdate)?;
        let db = &ctx.state()?.db;
        if let Some(refused) = model::refuse_builtin_edit(&input.key, model::KpiEdit::Archive) {
            return Ok(KpiPayload { kpi: None, user_errors: vec![refused.into()] });
        }
        store::find_kpi(p.org, db, &input.key).await?.ok_or(AppError::NotFound("KPI"))?;
        store::update_kpi(p.org, db, &input.key, None, None, Some(false), None).await?;
        let defs = values::definitions(p.org, db).await?;
        Ok(KpiPayload { kpi: defs.iter().find(|d| d.key == input.key).map(Kpi::from), user_errors: vec![] })
    }

    /// Records a weekly KPI target; history is kept.
    async fn set_kpi_target(&self, ctx: &Context<'_>, input: SetKpiTargetInput) -> Result<KpiTargetPayload> {
        let p = ctx.principal()?;
        let db = &ctx.state()?.db;
        let defs = values::definitions(p.org, db).await?;
        let def = defs.iter().find(|d| d.key == input.kpi_key).ok_or(AppError::NotFound("KPI"))?;
        let mut e: Vec<FieldError> = Vec::new();
        let member = match (&input.member_id, input.sales_role) {
            (Some(_), Some(_)) | (None, None) => {
                e.push(FieldError::new("memberId", "INVALID", "give exactly one of memberId and salesRole"));
                None
            }
            (Some(id), None) => {
                let m = org_store::find_member(p.org, db, decode_id(id, NodeKind::Member)?)
                    .await?
                    .ok_or(AppError::NotFound("member"))?;
                p.require(Permission::MembersWrite)?;
                p.reach(db).await?.require(m.team_id, "this member")?;
                Some(m.id)
            }
            (None, Some(_)) => {
                p.require(Permission::OrganizationUpdate)?;
                None
            }
        };
        let per_week = model::parse_kpi_number("perWeek", input.per_week, def.shape.unit).map_err(|x| e.push(x)).ok();
        let reason = input.reason.trim().to_owned();
        if reason.is_empty() || reason.chars().count() > 2000 {
            e.push(FieldError::new("reason", "REQUIRED", "say why, in at most 2000 characters"));
        }
        let (Some(per_week), true) = (per_week, e.is_empty()) else {
            return Ok(KpiTargetPayload {
                kpi: None,
                per_week: None,
                user_errors: e.into_iter().map(UserError::from).collect(),
            });
        };
        let s = scores::settings(p.org, db).await?;
        let new = store::NewKpiTarget {
            kpi_key: def.key.clone(),
            sales_role: if member.is_none() { input.sales_role } else { None },
            member_id: member,
            per_week,
            effective_from: input.effective_from.unwrap_or_else(|| scoring_model::local_date(Utc::now(), s.tz)),
            reason,
            set_by: p.member_id,
        };
        store::insert_target(p.org, db, new).await?;
        Ok(KpiTargetPayload { kpi: Some(Kpi::from(def)), per_week: f(Some(per_week)), user_errors: vec![] })
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
        p.require(Permission::MembersWrite)?;
        let db = &ctx.state()?.db;
        let t = decode_id(&input.team_id, NodeKind::Team)?;
        org_store::find_team(p.org, db, t).await?.ok_or(AppError::NotFound("team"))?;
        p.reach(db).await?.require(Some(t), "this team")?;
        let week = model::week_start(input.week);
        store::lock_week(p.org, db, t, week, p.member_id).await?;
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
        p.require(Permission::MembersWrite)?;
        let db = &ctx.state()?.db;
        let defs = values::definitions(p.org, db).await?;
        let def = defs.iter().find(|d| d.key == input.kpi_key).ok_or(AppError::NotFound("KPI"))?;
        let team = match &input.team_id {
            Some(id) => {
                let t = decode_id(id, NodeKind::Team)?;
                org_store::find_team(p.org, db, t).await?.ok_or(AppError::NotFound("team"))?;
                Some(t)
            }
            None => None,
        };
        if p.role != Role::Admin {
            let Some(t) = team else {
                return Err(AppError::forbidden("managers create rules for a team of theirs").into());
            };
            p.reach(db).await?.require(Some(t), "this team")?;
        }
        let mut e: Vec<FieldError> = Vec::new();
        let periods = model::parse_periods(input.periods).map_err(|x| e.push(x)).ok();
        if let Err(x) = model::check_alert_rule(input.kind, &def.shape) {
            e.push(x);
        }
        let (Some(periods), true) = (periods, e.is_empty()) else {
            return Ok(AlertRulePayload { rule: None, user_errors: e.into_iter().map(UserError::from).collect() });
        };
        let new = store::NewAlertRule {
            kpi_key: def.key.clone(),
            kind: input.kind,
            periods: i32::try_from(periods).unwrap_or(2),
            team_id: team,
            sales_role: input.sales_role,
            created_by: p.member_id,
        };
        Ok(AlertRulePayload { rule: Some(AlertRule(store::create_rule(p.org, db, new).await?)), user_errors: vec![] })
    }

    /// Evaluates the rules for a closed week now (admins and managers). Idempotent: an alert
    /// already raised is not raised again. Returns the alerts raised by this call.
    async fn evaluate_alerts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Any date in the week (default: the last closed week).")] week: Option<NaiveDate>,
    ) -> Result<AlertsPayload> {
        let p = ctx.principal()?;
        p.require(Permission::MembersWrite)?;
        let state = ctx.state()?;
        let s = scores::settings(p.org, &state.db).await?;
        let today = scoring_model::local_date(Utc::now(), s.tz);
        let week = week.map(model::week_start).unwrap_or_else(|| model::last_closed_week(today));
        if week > model::last_closed_week(today) {
            let e = FieldError::new("week", "OUT_OF_RANGE", "only closed weeks are evaluated");
            return Ok(AlertsPayload { alerts: vec![], user_errors: vec![e.into()] });
        }
        if let Err(e) = crate::org::model::check_business_date("week", week) {
            return Ok(AlertsPayload { alerts: vec![], user_errors: vec![e.into()] });
        }
        let raised = crate::kpi::alerts::evaluate(state, p.org, week).await?;
        // Evaluation covers the whole organization; the answer shows only what the caller may see.
        let visible = p.visible_members(&state.db).await?;
        Ok(AlertsPayload {
            alerts: raised
                .into_iter()
                .filter(|a| visible.as_ref().is_none_or(|v| v.contains(&a.member_id)))
                .map(Alert)
                .collect(),
            user_errors: vec![],
        })
    }

    /// Acknowledges an alert (the member's managers and admins).
    async fn acknowledge_alert(&self, ctx: &Context<'_>, input: AcknowledgeAlertInput) -> Result<AlertsPayload> {
        let p = ctx.principal()?;
        p.require(Permission::MembersWrite)?;
        let db = &ctx.state()?.db;
        let a = store::find_alert(p.org, db, alert_id(&input.id)?).await?.ok_or(AppError::NotFound("alert"))?;
        let m = org_store::find_member(p.org, db, a.member_id).await?.ok_or(AppError::NotFound("member"))?;
        p.reach(db).await?.require(m.team_id, "this member")?;
        let note = input.note.map(|n| n.trim().chars().take(2000).collect::<String>()).filter(|n| !n.is_empty());
        let updated = store::acknowledge(p.org, db, a.id, p.member_id, note).await?;
        Ok(AlertsPayload { alerts: vec![Alert(updated)], user_errors: vec![] })
    }
}
