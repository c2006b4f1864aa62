//! The KPI use-cases that write: custom KPI definitions, weekly targets, a member's
//! self-reported values, week locks, alert rules, alert evaluation and acknowledgement. Each
//! checks the policy, runs in one [`Unit`] and returns what the caller shows; a refused request
//! returns its field errors ([`Checked`]) and writes nothing.

use chrono::{NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::model::{self, AlertKind, KpiDirection, KpiKind, KpiShape, KpiUnit};
use super::values::KpiDef;
use super::{alerts, policy, store, values};
use crate::core::error::{AppError, AppResult};
use crate::core::field::{Checked, FieldError};
use crate::core::principal::Principal;
use crate::core::roles::SalesRole;
use crate::db::unit::Unit;
use crate::events::{Event, EventBus};
use crate::org::{model as org_model, service as org_service, store as org_store};
use crate::scoring::{model as scoring_model, scores};

/// A custom KPI to define.
#[derive(Debug)]
pub struct CreateKpi {
    /// snake_case key, as given.
    pub key: String,
    /// Name, as given.
    pub name: String,
    /// Description, as given.
    pub description: Option<String>,
    /// Kind.
    pub kind: KpiKind,
    /// Unit.
    pub unit: KpiUnit,
    /// Direction.
    pub direction: KpiDirection,
    /// ACTIVITY_COUNT/SUM: the activity types, each the decoded ID or its decoding error (raised
    /// in order, after the key was checked against the existing KPIs).
    pub activity_type_ids: Vec<AppResult<Uuid>>,
    /// RATIO: the numerator KPI's key.
    pub numerator_key: Option<String>,
    /// RATIO: the denominator KPI's key.
    pub denominator_key: Option<String>,
}

/// Changes to a custom KPI; `None` leaves a field as it is.
#[derive(Debug, Clone)]
pub struct UpdateKpi {
    /// The KPI's key.
    pub key: String,
    /// The version the change was made against (CONFLICT when it moved on).
    pub version: Option<i32>,
    /// A new name.
    pub name: Option<String>,
    /// A new description (blank clears it).
    pub description: Option<String>,
    /// A built-in's: the language the name and description are in (the organization's own
    /// wording, kept per language).
    pub locale: crate::core::locale::Locale,
}

/// Puts a built-in KPI's name back to the built-in one in a language.
#[derive(Debug)]
pub struct ResetKpiName {
    /// The built-in KPI's key.
    pub key: String,
    /// The language.
    pub locale: crate::core::locale::Locale,
}

/// A weekly KPI target to record: for exactly one of a member and a sales role.
#[derive(Debug)]
pub struct SetTarget {
    /// The KPI's key.
    pub kpi_key: String,
    /// The sales role it is the default for…
    pub sales_role: Option<SalesRole>,
    /// …or the member it overrides for: the decoded ID or its decoding error (raised only once
    /// the KPI was found and exactly one of member and role was given).
    pub member_id: Option<AppResult<Uuid>>,
    /// Per week, as given.
    pub per_week: f64,
    /// From which date (default: today in the organization's time zone).
    pub effective_from: Option<NaiveDate>,
    /// Why, as given.
    pub reason: String,
}

/// A recorded target.
#[derive(Debug, Clone)]
pub struct TargetSet {
    /// The KPI it is for.
    pub kpi: KpiDef,
    /// Per week.
    pub per_week: Decimal,
}

/// A team's week to lock.
#[derive(Debug, Clone)]
pub struct LockWeek {
    /// The team.
    pub team_id: Uuid,
    /// A day of the week (the week it falls in is meant).
    pub week: NaiveDate,
}

/// An alert rule to create.
#[derive(Debug)]
pub struct CreateAlertRule {
    /// The KPI watched.
    pub kpi_key: String,
    /// BELOW_TARGET_STREAK or RATIO_DECLINING.
    pub kind: AlertKind,
    /// How many weeks, as given.
    pub periods: i32,
    /// Only members of this team's subtree: the decoded ID or its decoding error (raised only
    /// once the KPI was found).
    pub team_id: Option<AppResult<Uuid>>,
    /// Only members of this sales role.
    pub sales_role: Option<SalesRole>,
}

/// An alert to acknowledge.
#[derive(Debug, Clone)]
pub struct AcknowledgeAlert {
    /// The alert.
    pub id: Uuid,
    /// A note, as given.
    pub note: Option<String>,
}

/// Defines a custom KPI. Returns its definition as the values engine reads it back.
pub async fn create_kpi(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: CreateKpi,
) -> AppResult<Checked<Option<KpiDef>>> {
    policy::may_define(p)?;
    let mut e: Vec<FieldError> = Vec::new();
    let key = model::parse_kpi_key(&cmd.key).map_err(|x| e.push(x)).ok();
    let name = org_model::parse_name("name", &cmd.name).map_err(|x| e.push(x)).ok();
    let shape = KpiShape::custom(cmd.kind, cmd.unit, cmd.direction).map_err(|x| e.push(x)).ok();
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let defs = values::definitions(p.org, unit.db()).await?;
    if let Some(k) = &key
        && defs.iter().any(|d| &d.key == k)
    {
        e.push(FieldError::new("key", "TAKEN", "a KPI with this key exists"));
    }
    let mut types = Vec::new();
    for id in cmd.activity_type_ids {
        let t = id?;
        crate::scoring::store::find_activity_type(p.org, unit.db(), t)
            .await?
            .ok_or(AppError::NotFound("activity type"))?;
        types.push(t);
    }
    match cmd.kind {
        KpiKind::ActivityCount | KpiKind::ActivitySum if types.is_empty() => {
            e.push(FieldError::new("activityTypeIds", "REQUIRED", "choose the activity types"));
        }
        KpiKind::Ratio => {
            let find = |k: &Option<String>| k.as_ref().and_then(|k| defs.iter().find(|d| &d.key == k));
            match (find(&cmd.numerator_key), find(&cmd.denominator_key)) {
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
    let description = org_model::parse_free_text("description", cmd.description.as_deref(), 2000)
        .map_err(|x| e.push(x))
        .ok()
        .flatten();
    let (Some(key), Some(name), Some(_), true) = (key, name, shape, e.is_empty()) else {
        return Ok(Err(e));
    };
    let new = store::NewKpi {
        key: key.clone(),
        name,
        description,
        kind: cmd.kind,
        unit: cmd.unit,
        direction: cmd.direction,
        activity_type_ids: types,
        numerator_key: cmd.numerator_key.filter(|_| cmd.kind == KpiKind::Ratio),
        denominator_key: cmd.denominator_key.filter(|_| cmd.kind == KpiKind::Ratio),
    };
    store::create_kpi(p.org, unit.db(), new).await?;
    let defs = values::definitions(p.org, unit.db()).await?;
    unit.publish(Event::DataChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(Ok(defs.into_iter().find(|d| d.key == key)))
}

/// Renames or re-describes a KPI: a custom KPI's row, or a built-in's name and description in
/// the organization's words in one language (its formula stays). Returns its definition as the
/// values engine reads it back.
pub async fn update_kpi(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: UpdateKpi,
) -> AppResult<Checked<Option<KpiDef>>> {
    policy::may_define(p)?;
    if let Some(built_in) = model::BuiltInKpi::from_key(&cmd.key) {
        return rename_built_in(db, bus, p, built_in, cmd).await;
    }
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    store::find_kpi(p.org, unit.db(), &cmd.key).await?.ok_or(AppError::NotFound("KPI"))?;
    let name = match cmd.name {
        Some(n) => match org_model::parse_name("name", &n) {
            Ok(n) => Some(n),
            Err(x) => return Ok(Err(vec![x])),
        },
        None => None,
    };
    let description = match cmd.description.as_deref().map(|d| org_model::parse_free_text("description", Some(d), 2000))
    {
        None => None,
        Some(Ok(d)) => Some(d),
        Some(Err(x)) => return Ok(Err(vec![x])),
    };
    store::update_kpi(p.org, unit.db(), &cmd.key, name, description, None, cmd.version).await?;
    let defs = values::definitions(p.org, unit.db()).await?;
    unit.publish(Event::DataChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(Ok(defs.into_iter().find(|d| d.key == cmd.key)))
}

/// A built-in KPI's name and description in the organization's words, in one language: what
/// is not given stays as the organization last worded it, else as built in.
async fn rename_built_in(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    built_in: model::BuiltInKpi,
    cmd: UpdateKpi,
) -> AppResult<Checked<Option<KpiDef>>> {
    let mut e: Vec<FieldError> = Vec::new();
    let name = match cmd.name.as_deref().map(|n| org_model::parse_name("name", n)) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(x)) => {
            e.push(x);
            None
        }
    };
    let description = match cmd.description.as_deref().map(|d| org_model::parse_free_text("description", Some(d), 2000))
    {
        None => None,
        Some(Ok(d)) => Some(d),
        Some(Err(x)) => {
            e.push(x);
            None
        }
    };
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let current =
        org_store::find_label_override(p.org, unit.db(), org_service::KPI_LABEL, built_in.key(), cmd.locale).await?;
    let label = name
        .or_else(|| current.as_ref().map(|c| c.label.clone()))
        .unwrap_or_else(|| built_in.name_in(cmd.locale).to_owned());
    let description = match description {
        Some(d) => d,
        None => current.and_then(|c| c.description),
    };
    org_service::set_kpi_label(&mut unit, p, built_in.key(), cmd.locale, Some((label, description))).await?;
    let defs = values::definitions(p.org, unit.db()).await?;
    unit.commit().await?;
    Ok(Ok(defs.into_iter().find(|d| d.key == cmd.key)))
}

/// Puts a built-in KPI's name and description back to the built-in ones in a language.
pub async fn reset_kpi_name(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: ResetKpiName,
) -> AppResult<Checked<Option<KpiDef>>> {
    policy::may_define(p)?;
    let Some(built_in) = model::BuiltInKpi::from_key(&cmd.key) else {
        return Ok(Err(vec![FieldError::new(
            "key",
            "NOT_BUILT_IN",
            format!("'{}' is not a built-in KPI: rename a custom KPI with updateKpi", cmd.key),
        )]));
    };
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    org_service::set_kpi_label(&mut unit, p, built_in.key(), cmd.locale, None).await?;
    let defs = values::definitions(p.org, unit.db()).await?;
    unit.commit().await?;
    Ok(Ok(defs.into_iter().find(|d| d.key == cmd.key)))
}

/// Archives a custom KPI (built-ins are refused): it leaves the scoreboard; history stays.
/// Returns its definition as the values engine reads it back.
pub async fn archive_kpi(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    key: String,
) -> AppResult<Checked<Option<KpiDef>>> {
    policy::may_define(p)?;
    if let Some(refused) = model::refuse_builtin_archive(&key) {
        return Ok(Err(vec![refused]));
    }
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    store::find_kpi(p.org, unit.db(), &key).await?.ok_or(AppError::NotFound("KPI"))?;
    store::update_kpi(p.org, unit.db(), &key, None, None, Some(false), None).await?;
    let defs = values::definitions(p.org, unit.db()).await?;
    unit.publish(Event::DataChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(Ok(defs.into_iter().find(|d| d.key == key)))
}

/// Records a weekly KPI target for a member (managers who reach them, admins) or the default
/// of a sales role (admins); history is kept.
pub async fn set_target(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: SetTarget,
) -> AppResult<Checked<TargetSet>> {
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let defs = values::definitions(p.org, unit.db()).await?;
    let def = defs.into_iter().find(|d| d.key == cmd.kpi_key).ok_or(AppError::NotFound("KPI"))?;
    let mut e: Vec<FieldError> = Vec::new();
    let member = match (cmd.member_id, cmd.sales_role) {
        (Some(_), Some(_)) | (None, None) => {
            e.push(FieldError::new("memberId", "INVALID", "give exactly one of memberId and salesRole"));
            None
        }
        (Some(id), None) => {
            let m = org_store::find_member(p.org, unit.db(), id?).await?.ok_or(AppError::NotFound("member"))?;
            policy::may_set_member_target(p)?;
            p.reach(unit.db()).await?.require(m.team_id, "this member")?;
            Some(m.id)
        }
        (None, Some(_)) => {
            policy::may_set_role_target(p)?;
            None
        }
    };
    let per_week = model::parse_kpi_number("perWeek", cmd.per_week, def.shape.unit).map_err(|x| e.push(x)).ok();
    let reason = cmd.reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > 2000 {
        e.push(FieldError::new("reason", "REQUIRED", "say why, in at most 2000 characters"));
    }
    let (Some(per_week), true) = (per_week, e.is_empty()) else {
        return Ok(Err(e));
    };
    let s = scores::settings(p.org, unit.db()).await?;
    let new = store::NewKpiTarget {
        kpi_key: def.key.clone(),
        sales_role: if member.is_none() { cmd.sales_role } else { None },
        member_id: member,
        per_week,
        effective_from: cmd.effective_from.unwrap_or_else(|| scoring_model::local_date(Utc::now(), s.tz)),
        reason,
        set_by: p.member_id,
    };
    store::insert_target(p.org, unit.db(), new).await?;
    unit.publish(Event::DataChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(Ok(TargetSet { kpi: def, per_week }))
}

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

/// Records the caller's values for a week (each change kept with who and when), unless the
/// week has not started or a manager of one of the caller's teams locked it. Returns how many
/// values were recorded.
pub async fn submit_values(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: SubmitValues,
) -> AppResult<Checked<usize>> {
    policy::may_report(p)?;
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
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
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
    unit.publish(Event::DataChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(Ok(parsed.len()))
}

/// Locks a team's week (managers who reach the team, admins): self-reported values become
/// final. Again is a no-op. Returns the week's Monday.
pub async fn lock_week(db: &DatabaseConnection, bus: &EventBus, p: &Principal, cmd: LockWeek) -> AppResult<NaiveDate> {
    policy::may_lock_week(p)?;
    let unit = Unit::begin(db, bus, p.org, p.into()).await?;
    org_store::find_team(p.org, unit.db(), cmd.team_id).await?.ok_or(AppError::NotFound("team"))?;
    p.reach(unit.db()).await?.require(Some(cmd.team_id), "this team")?;
    let week = model::week_start(cmd.week);
    store::lock_week(p.org, unit.db(), cmd.team_id, week, p.member_id).await?;
    unit.commit().await?;
    Ok(week)
}

/// Creates an alert rule, evaluated each time a week closes (admins; managers for a team they
/// reach).
pub async fn create_alert_rule(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: CreateAlertRule,
) -> AppResult<Checked<entity::alert_rule::Model>> {
    policy::may_manage_alerts(p)?;
    let unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let defs = values::definitions(p.org, unit.db()).await?;
    let def = defs.iter().find(|d| d.key == cmd.kpi_key).ok_or(AppError::NotFound("KPI"))?;
    let team = match cmd.team_id {
        Some(id) => {
            let t = id?;
            org_store::find_team(p.org, unit.db(), t).await?.ok_or(AppError::NotFound("team"))?;
            Some(t)
        }
        None => None,
    };
    if let Some(t) = policy::rule_team_to_reach(p, team)? {
        p.reach(unit.db()).await?.require(Some(t), "this team")?;
    }
    let mut e: Vec<FieldError> = Vec::new();
    let periods = model::parse_periods(cmd.periods).map_err(|x| e.push(x)).ok();
    if let Err(x) = model::check_alert_rule(cmd.kind, &def.shape) {
        e.push(x);
    }
    let (Some(periods), true) = (periods, e.is_empty()) else {
        return Ok(Err(e));
    };
    let new = store::NewAlertRule {
        kpi_key: def.key.clone(),
        kind: cmd.kind,
        periods: i32::try_from(periods).unwrap_or(2),
        team_id: team,
        sales_role: cmd.sales_role,
        created_by: p.member_id,
    };
    let rule = store::create_rule(p.org, unit.db(), new).await?;
    unit.commit().await?;
    Ok(Ok(rule))
}

/// Evaluates the organization's alert rules for a closed week now (admins and managers; default:
/// the last closed week). Idempotent: an alert already raised is not raised again. Returns the
/// alerts raised by this call that the caller may see (the evaluation covers the whole
/// organization).
pub async fn evaluate_alerts(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    week: Option<NaiveDate>,
) -> AppResult<Checked<Vec<entity::alert::Model>>> {
    policy::may_manage_alerts(p)?;
    let s = scores::settings(p.org, db).await?;
    let today = scoring_model::local_date(Utc::now(), s.tz);
    let week = week.map(model::week_start).unwrap_or_else(|| model::last_closed_week(today));
    if week > model::last_closed_week(today) {
        return Ok(Err(vec![FieldError::new("week", "OUT_OF_RANGE", "only closed weeks are evaluated")]));
    }
    if let Err(e) = org_model::check_business_date("week", week) {
        return Ok(Err(vec![e]));
    }
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let mut events: Vec<Event> = Vec::new();
    let raised = alerts::evaluate_on(unit.db(), p.org, week, |e| events.push(e)).await?;
    for event in events {
        unit.publish(event);
    }
    let visible = p.visible_members(unit.db()).await?;
    unit.commit().await?;
    Ok(Ok(raised.into_iter().filter(|a| visible.as_ref().is_none_or(|v| v.contains(&a.member_id))).collect()))
}

/// Acknowledges an alert (the member's managers and admins), with an optional note (trimmed,
/// at most 2000 characters kept).
pub async fn acknowledge_alert(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: AcknowledgeAlert,
) -> AppResult<entity::alert::Model> {
    policy::may_manage_alerts(p)?;
    let unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let a = store::find_alert(p.org, unit.db(), cmd.id).await?.ok_or(AppError::NotFound("alert"))?;
    let m = org_store::find_member(p.org, unit.db(), a.member_id).await?.ok_or(AppError::NotFound("member"))?;
    p.reach(unit.db()).await?.require(m.team_id, "this member")?;
    let note = cmd.note.map(|n| n.trim().chars().take(2000).collect::<String>()).filter(|n| !n.is_empty());
    let updated = store::acknowledge(p.org, unit.db(), a.id, p.member_id, note).await?;
    unit.commit().await?;
    Ok(updated)
}
