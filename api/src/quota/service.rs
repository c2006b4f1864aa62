//! The quota use-cases that write: setting a quota, a member's ramp, and splitting a team quota
//! over its members. Each runs in one [`Unit`] with its audit entries; a refused request returns
//! its field errors ([`Checked`]) and writes nothing.

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use uuid::Uuid;

use entity::{member, quota};

use super::model::{self, AllocationMember, AllocationMethod, QuotaGrain, QuotaMetric, QuotaSubjectKind};
use super::policy;
use super::store::{self, QuotaKey};
use crate::core::error::{AppError, AppResult};
use crate::core::field::{Checked, FieldError};
use crate::core::principal::Principal;
use crate::core::roles::Role;
use crate::db::unit::{Unit, snapshot};
use crate::events::{Event, EventBus};
use crate::org::store as org_store;
use crate::scoring::scores;

/// An ID as the resolver decoded it: the UUID, or the error to raise at the point where the
/// use-case reads it (an ID that is only looked at in some cases is only refused in those).
pub type DecodedId = AppResult<Uuid>;

/// A quota to set (create, or change the amount of the one with the same key).
#[derive(Debug)]
pub struct SetQuota {
    /// The kind of subject the subject ID names.
    pub subject_kind: QuotaSubjectKind,
    /// The member, team or territory.
    pub subject_id: Uuid,
    /// What is measured.
    pub metric: QuotaMetric,
    /// For ACTIVITY_COUNT: the activity type.
    pub activity_type_id: Option<DecodedId>,
    /// For KPI: the KPI's key.
    pub kpi_key: Option<String>,
    /// Month, quarter or year.
    pub grain: QuotaGrain,
    /// Any day in the period.
    pub period: NaiveDate,
    /// Tells several quotas of one subject and period apart.
    pub label: Option<String>,
    /// The full amount as given.
    pub amount: String,
    /// The version the change was made against (CONFLICT when it moved on).
    pub version: Option<i32>,
}

/// A member's ramp to set.
#[derive(Debug, Clone)]
pub struct SetRamp {
    /// The member.
    pub member_id: Uuid,
    /// Percent of full quota for tenure months 1..N; empty clears.
    pub percents: Vec<i32>,
}

/// A weight for an allocation by weights, as given.
#[derive(Debug)]
pub struct AllocationWeight {
    /// The member.
    pub member_id: DecodedId,
    /// Relative weight, as given.
    pub weight: String,
}

/// A team quota to split over the team's members.
#[derive(Debug)]
pub struct AllocateQuota {
    /// The team quota.
    pub team_quota_id: Uuid,
    /// Evenly, by prior-period actuals or by weights.
    pub method: AllocationMethod,
    /// For weights: one per member.
    pub weights: Option<Vec<AllocationWeight>>,
    /// Keep member quotas set by hand and share only the rest.
    pub keep_overrides: bool,
}

/// A ramp as set.
#[derive(Debug, Clone)]
pub struct RampSet {
    /// The member.
    pub member_id: Uuid,
    /// The ramp now in force.
    pub percents: Vec<i32>,
}

/// The result of an allocation.
#[derive(Debug, Clone)]
pub struct Allocation {
    /// The team quota.
    pub team_quota: quota::Model,
    /// The member quotas, kept overrides included.
    pub member_quotas: Vec<quota::Model>,
}

/// Checks that a subject of `kind` exists in the organization, or NOT_FOUND.
pub async fn find_subject(
    p: &Principal,
    db: &impl ConnectionTrait,
    kind: QuotaSubjectKind,
    id: Uuid,
) -> AppResult<(QuotaSubjectKind, Uuid)> {
    let found = match kind {
        QuotaSubjectKind::Member => org_store::find_member(p.org, db, id).await?.is_some(),
        QuotaSubjectKind::Team => org_store::find_team(p.org, db, id).await?.is_some(),
        QuotaSubjectKind::Territory => crate::territory::store::find(p.org, db, id).await?.is_some(),
    };
    if !found {
        return Err(AppError::NotFound("subject"));
    }
    Ok((kind, id))
}

/// A quota the principal may read, or NOT_FOUND.
pub async fn load(p: &Principal, db: &impl ConnectionTrait, id: Uuid) -> AppResult<quota::Model> {
    let q = store::find(p.org, db, id).await?.ok_or(AppError::NotFound("quota"))?;
    let kind = QuotaSubjectKind::parse(&q.subject_kind).unwrap_or(QuotaSubjectKind::Member);
    if !policy::may_read(p, db, kind, q.subject_id).await? {
        return Err(AppError::NotFound("quota"));
    }
    Ok(q)
}

/// Sets a quota (admins; managers for members and teams they manage). A quota set here is
/// manual: allocations that keep overrides leave it alone.
pub async fn set(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: SetQuota,
) -> AppResult<Checked<quota::Model>> {
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let (kind, subject_id) = find_subject(p, unit.db(), cmd.subject_kind, cmd.subject_id).await?;
    policy::may_write(p, unit.db(), kind, subject_id).await?;
    let mut e = Vec::new();
    let amount = model::parse_quota_amount(cmd.metric, &cmd.amount).map_err(|x| e.push(x)).ok();
    let label = model::check_label(cmd.label.as_deref()).map_err(|x| e.push(x)).ok();
    if let Err(x) = crate::org::model::check_business_date("period", cmd.period) {
        e.push(x);
    }
    let activity_type_id = match (cmd.activity_type_id, cmd.metric) {
        (Some(id), QuotaMetric::ActivityCount) => {
            let t = crate::scoring::store::find_activity_type(p.org, unit.db(), id?)
                .await?
                .ok_or(AppError::NotFound("activity type"))?;
            Some(t.id)
        }
        (None, QuotaMetric::ActivityCount) => {
            e.push(FieldError::new("activityTypeId", "REQUIRED", "an ACTIVITY_COUNT quota names its activity type"));
            None
        }
        (Some(_), _) => {
            e.push(FieldError::new("activityTypeId", "INVALID", "only ACTIVITY_COUNT quotas take an activity type"));
            None
        }
        (None, _) => None,
    };
    let kpi_key = match (&cmd.kpi_key, cmd.metric) {
        (Some(key), QuotaMetric::Kpi) => {
            let defs = crate::kpi::values::definitions(p.org, unit.db()).await?;
            if defs.iter().any(|d| &d.key == key) {
                Some(key.clone())
            } else {
                e.push(FieldError::new("kpiKey", "UNKNOWN", "no KPI has this key"));
                None
            }
        }
        (None, QuotaMetric::Kpi) => {
            e.push(FieldError::new("kpiKey", "REQUIRED", "a KPI quota names its KPI"));
            None
        }
        (Some(_), _) => {
            e.push(FieldError::new("kpiKey", "INVALID", "only KPI quotas take a KPI key"));
            None
        }
        (None, _) => None,
    };
    let (Some(amount), Some(label), true) = (amount, label, e.is_empty()) else {
        return Ok(Err(e));
    };
    let s = scores::settings(p.org, unit.db()).await?;
    let key = QuotaKey {
        subject_kind: kind,
        subject_id,
        metric: cmd.metric,
        activity_type_id,
        kpi_key,
        grain: cmd.grain,
        period_start: store::period_of(&s, cmd.grain, cmd.period).start_date,
        label,
    };
    let (before, after) = store::upsert(p.org, unit.db(), &key, amount, true, None, cmd.version).await?;
    unit.audit("quota.set", "Quota", Some(after.id), before.as_ref().and_then(snapshot), snapshot(&after)).await?;
    unit.publish(Event::DataChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(Ok(after))
}

/// Sets a member's ramp: their quotas ask a percentage of the full amount during their first
/// months (the month of their start date is month 1).
pub async fn set_ramp(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: SetRamp,
) -> AppResult<Checked<RampSet>> {
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let m = org_store::find_member(p.org, unit.db(), cmd.member_id).await?.ok_or(AppError::NotFound("member"))?;
    policy::may_write(p, unit.db(), QuotaSubjectKind::Member, m.id).await?;
    let percents = if cmd.percents.is_empty() {
        vec![]
    } else {
        match model::parse_ramp(&cmd.percents) {
            Ok(r) => r,
            Err(e) => return Ok(Err(vec![e])),
        }
    };
    let before = store::ramp_of(&m);
    store::set_ramp(p.org, unit.db(), m.id, &percents).await?;
    unit.audit(
        "member.ramp",
        "Member",
        Some(m.id),
        Some(serde_json::json!({ "percents": before })),
        Some(serde_json::json!({ "percents": percents })),
    )
    .await?;
    unit.publish(Event::DataChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(Ok(RampSet { member_id: m.id, percents }))
}

/// Splits a team quota over the team's active members (its whole subtree, viewers and sales
/// managers left out): evenly, by each member's result in the previous period, or by weights.
/// Creates or updates one member quota each; the shares sum exactly to the team amount (less
/// kept overrides).
pub async fn allocate(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: AllocateQuota,
) -> AppResult<Checked<Allocation>> {
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let team_quota = load(p, unit.db(), cmd.team_quota_id).await?;
    let refused = |e: FieldError| Ok(Err(vec![e]));
    if team_quota.subject_kind != QuotaSubjectKind::Team.as_str() {
        return refused(FieldError::new("teamQuotaId", "INVALID", "allocate a TEAM quota"));
    }
    policy::may_write(p, unit.db(), QuotaSubjectKind::Team, team_quota.subject_id).await?;
    let s = scores::settings(p.org, unit.db()).await?;
    let team_key = store::key_of(&team_quota);
    let members: Vec<member::Model> =
        store::subject_members(p.org, unit.db(), QuotaSubjectKind::Team, team_quota.subject_id)
            .await?
            .into_iter()
            .filter(|m| m.active && m.role != Role::Viewer.as_str() && m.sales_role != "MANAGER")
            .collect();
    let mut weights = HashMap::new();
    if cmd.method == AllocationMethod::Weights {
        for w in cmd.weights.unwrap_or_default() {
            let id = w.member_id?;
            let weight: Decimal = match w.weight.trim().parse() {
                Ok(x) => x,
                Err(_) => return refused(FieldError::new("weights", "INVALID", "weights are decimal numbers")),
            };
            weights.insert(id, weight);
        }
    }
    let period = store::period_of(&s, team_key.grain, team_key.period_start);
    let previous = crate::core::period::previous_period(&period, s.tz, s.fiscal_year_start_month);
    let mut shares = Vec::new();
    let mut existing = Vec::new();
    for m in &members {
        let key = QuotaKey { subject_kind: QuotaSubjectKind::Member, subject_id: m.id, ..team_key.clone() };
        let current = store::find_by_key(p.org, unit.db(), &key).await?;
        let weight = match cmd.method {
            AllocationMethod::Even => Decimal::ONE,
            AllocationMethod::Weights => weights.get(&m.id).copied().unwrap_or(Decimal::ZERO),
            AllocationMethod::PriorPeriodActuals => match &previous {
                Some(prev) => {
                    let probe = quota::Model {
                        subject_kind: QuotaSubjectKind::Member.as_str().to_owned(),
                        subject_id: m.id,
                        ..team_quota.clone()
                    };
                    store::achieved(&s, unit.db(), &probe, prev).await?
                }
                None => Decimal::ZERO,
            },
        };
        let override_amount =
            current.as_ref().filter(|c| c.manual).map(|c| store::from_hundredths(c.amount_hundredths));
        shares.push(AllocationMember { member_id: m.id, weight, override_amount });
        existing.push((key, current));
    }
    let scale = match team_key.metric {
        QuotaMetric::DealsWon | QuotaMetric::ActivityCount => 0,
        _ => 2,
    };
    let total = store::from_hundredths(team_quota.amount_hundredths);
    let allocation = match model::allocate(total, cmd.method, &shares, cmd.keep_overrides, scale) {
        Ok(a) => a,
        Err(e) => return refused(e),
    };
    let mut out = Vec::new();
    for ((member_id, amount), (key, current)) in allocation.into_iter().zip(existing) {
        debug_assert_eq!(member_id, key.subject_id);
        let kept = cmd.keep_overrides && current.as_ref().is_some_and(|c| c.manual);
        if kept {
            if let Some(c) = current {
                out.push(c);
            }
            continue;
        }
        let (before, after) = store::upsert(p.org, unit.db(), &key, amount, false, Some(team_quota.id), None).await?;
        unit.audit("quota.allocate", "Quota", Some(after.id), before.as_ref().and_then(snapshot), snapshot(&after))
            .await?;
        out.push(after);
    }
    unit.publish(Event::DataChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(Ok(Allocation { team_quota, member_quotas: out }))
}
