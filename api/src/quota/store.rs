//! Tenant-scoped reads and writes of quotas, and what they have achieved.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use entity::{activity, deal, member, quota};

use super::model::{self, Credit, QuotaGrain, QuotaMetric, QuotaSubjectKind, SplitShare};
use crate::core::error::{AppError, AppResult};
use crate::core::ids::OrgId;
use crate::core::period::Period;
use crate::core::settings::OrgSettings;
use crate::db::tenant;
use crate::graphql::keyset::{KeyKind, KeyValue, Keyset, SortColumn};
use crate::pipeline::model::SplitKind;

fn quota_key(q: &quota::Model) -> Vec<KeyValue> {
    vec![
        KeyValue::Date(q.period_start),
        KeyValue::Text(q.subject_kind.clone()),
        KeyValue::Id(q.subject_id),
        KeyValue::Text(q.label.clone()),
        KeyValue::Id(q.id),
    ]
}

/// `quotas`: newest period first, then subject and label (sorted here, after the per-row
/// permission check).
pub const QUOTAS: Keyset<quota::Model> = Keyset {
    connection: "quotas",
    order: "PERIOD_DESC",
    columns: &[
        SortColumn::desc(KeyKind::Date),
        SortColumn::asc(KeyKind::Text),
        SortColumn::asc(KeyKind::Id),
        SortColumn::asc(KeyKind::Text),
        SortColumn::asc(KeyKind::Id),
    ],
    key: quota_key,
};

/// One quota.
pub async fn find(org: OrgId, db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<quota::Model>> {
    Ok(tenant::scoped_by_id::<quota::Entity>(org, id).one(db).await?)
}

/// Which quotas to list.
#[derive(Debug, Default, Clone)]
pub struct QuotaFilter {
    /// Only for these subjects.
    pub subject_ids: Option<Vec<Uuid>>,
    /// Only this metric.
    pub metric: Option<QuotaMetric>,
    /// Only this grain.
    pub grain: Option<QuotaGrain>,
    /// Only periods starting on this day.
    pub period_start: Option<NaiveDate>,
    /// Only with this label.
    pub label: Option<String>,
}

/// Quotas matching the filter, newest period first, then subject and label.
pub async fn list(org: OrgId, db: &impl ConnectionTrait, f: &QuotaFilter) -> AppResult<Vec<quota::Model>> {
    let mut q = tenant::scoped::<quota::Entity>(org);
    if let Some(ids) = &f.subject_ids {
        q = q.filter(quota::Column::SubjectId.is_in(ids.iter().copied()));
    }
    if let Some(m) = f.metric {
        q = q.filter(quota::Column::Metric.eq(m.as_str()));
    }
    if let Some(g) = f.grain {
        q = q.filter(quota::Column::Grain.eq(g.as_str()));
    }
    if let Some(d) = f.period_start {
        q = q.filter(quota::Column::PeriodStart.eq(d));
    }
    if let Some(l) = &f.label {
        q = q.filter(quota::Column::Label.eq(l.clone()));
    }
    Ok(q.order_by_desc(quota::Column::PeriodStart)
        .order_by_asc(quota::Column::SubjectKind)
        .order_by_asc(quota::Column::SubjectId)
        .order_by_asc(quota::Column::Label)
        .order_by_asc(quota::Column::Id)
        .all(db)
        .await?)
}

/// What identifies a quota: one per subject, metric (with its type or KPI), period and label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaKey {
    /// Member, team or territory.
    pub subject_kind: QuotaSubjectKind,
    /// Its ID.
    pub subject_id: Uuid,
    /// Metric.
    pub metric: QuotaMetric,
    /// For ACTIVITY_COUNT.
    pub activity_type_id: Option<Uuid>,
    /// For KPI.
    pub kpi_key: Option<String>,
    /// Grain.
    pub grain: QuotaGrain,
    /// First day of the period.
    pub period_start: NaiveDate,
    /// Label ("" when none).
    pub label: String,
}

/// The quota with this key, if any.
pub async fn find_by_key(org: OrgId, db: &impl ConnectionTrait, k: &QuotaKey) -> AppResult<Option<quota::Model>> {
    let rows = list(
        org,
        db,
        &QuotaFilter {
            subject_ids: Some(vec![k.subject_id]),
            metric: Some(k.metric),
            grain: Some(k.grain),
            period_start: Some(k.period_start),
            label: Some(k.label.clone()),
        },
    )
    .await?;
    Ok(rows.into_iter().find(|q| q.activity_type_id == k.activity_type_id && q.kpi_key == k.kpi_key))
}

/// Creates the quota with this key or changes its amount. `expected_version`, when given, must
/// match the stored one (CONFLICT otherwise).
pub async fn upsert(
    org: OrgId,
    db: &impl ConnectionTrait,
    k: &QuotaKey,
    amount: Decimal,
    manual: bool,
    allocated_from: Option<Uuid>,
    expected_version: Option<i32>,
) -> AppResult<(Option<quota::Model>, quota::Model)> {
    let hundredths = to_hundredths(amount)?;
    let now = Utc::now();
    match find_by_key(org, db, k).await? {
        Some(current) => {
            if let Some(v) = expected_version
                && v != current.version
            {
                return Err(AppError::Conflict(format!(
                    "the quota is at version {}, not {v}; reload and try again",
                    current.version
                )));
            }
            let r = tenant::versioned_update::<quota::Entity>(org, Some(current.version))
                .set(quota::ActiveModel {
                    amount_hundredths: Set(hundredths),
                    manual: Set(manual),
                    allocated_from: Set(allocated_from),
                    updated_at: Set(now),
                    ..Default::default()
                })
                .filter(quota::Column::Id.eq(current.id))
                .exec(db)
                .await?;
            if r.rows_affected == 0 {
                return Err(AppError::Conflict("the quota was changed by someone else; reload and try again".into()));
            }
            let after = find(org, db, current.id).await?.ok_or(AppError::NotFound("quota"))?;
            Ok((Some(current), after))
        }
        None => {
            if expected_version.is_some_and(|v| v != 0) {
                return Err(AppError::Conflict("the quota does not exist (yet); send no version to create it".into()));
            }
            let row = quota::ActiveModel {
                id: Set(Uuid::now_v7()),
                organization_id: Set(org.0),
                subject_kind: Set(k.subject_kind.as_str().to_owned()),
                subject_id: Set(k.subject_id),
                metric: Set(k.metric.as_str().to_owned()),
                activity_type_id: Set(k.activity_type_id),
                kpi_key: Set(k.kpi_key.clone()),
                grain: Set(k.grain.as_str().to_owned()),
                period_start: Set(k.period_start),
                label: Set(k.label.clone()),
                amount_hundredths: Set(hundredths),
                manual: Set(manual),
                allocated_from: Set(allocated_from),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(db)
            .await?;
            Ok((None, row))
        }
    }
}

/// An amount in hundredths.
pub fn to_hundredths(amount: Decimal) -> AppResult<i64> {
    use rust_decimal::prelude::ToPrimitive;
    amount
        .checked_mul(Decimal::ONE_HUNDRED)
        .and_then(|v| v.round().to_i64())
        .ok_or_else(|| AppError::bad_input("amount too large"))
}

/// Hundredths as a decimal.
pub fn from_hundredths(h: i64) -> Decimal {
    Decimal::new(h, 2)
}

/// The key of a stored quota.
pub fn key_of(q: &quota::Model) -> QuotaKey {
    QuotaKey {
        subject_kind: QuotaSubjectKind::parse(&q.subject_kind).unwrap_or(QuotaSubjectKind::Member),
        subject_id: q.subject_id,
        metric: QuotaMetric::parse(&q.metric).unwrap_or(QuotaMetric::Revenue),
        activity_type_id: q.activity_type_id,
        kpi_key: q.kpi_key.clone(),
        grain: QuotaGrain::parse(&q.grain).unwrap_or(QuotaGrain::Quarter),
        period_start: q.period_start,
        label: q.label.clone(),
    }
}

/// The period of a quota in the organization's calendar.
pub fn period_of(s: &OrgSettings, grain: QuotaGrain, day: NaiveDate) -> Period {
    crate::core::period::period_containing(grain.to_period_grain(), day, s.tz, s.fiscal_year_start_month)
}

// ---------------------------------------------------------------- ramps

/// A member's ramp (percent of full quota for tenure months 1..N), if set.
pub fn ramp_of(m: &member::Model) -> Vec<i32> {
    m.ramp_percents.as_deref().and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default()
}

/// Sets (or with an empty list clears) a member's ramp.
pub async fn set_ramp(org: OrgId, db: &impl ConnectionTrait, member_id: Uuid, percents: &[i32]) -> AppResult<()> {
    let value = if percents.is_empty() { None } else { Some(serde_json::to_string(percents).unwrap_or_default()) };
    tenant::scoped_update::<member::Entity>(org)
        .set(member::ActiveModel { ramp_percents: Set(value), ..Default::default() })
        .filter(member::Column::Id.eq(member_id))
        .exec(db)
        .await?;
    Ok(())
}

/// The amount a quota asks of its subject in its period: a member's ramp applied.
pub fn effective_amount(q: &quota::Model, m: Option<&member::Model>, period: &Period) -> Decimal {
    let amount = from_hundredths(q.amount_hundredths);
    let metric = QuotaMetric::parse(&q.metric).unwrap_or(QuotaMetric::Revenue);
    match m {
        Some(m) if q.subject_kind == QuotaSubjectKind::Member.as_str() => {
            // Without a ramp the full amount applies from day one; with one, the months before
            // the start month ask nothing and the first months ask their percentage.
            let ramp = ramp_of(m);
            if ramp.is_empty() {
                return amount;
            }
            let factor = model::ramp_factor(m.start_date, period.start_date, period.end_date, &ramp);
            model::ramped_amount(amount, factor, metric)
        }
        _ => amount,
    }
}

// ---------------------------------------------------------------- crediting

/// A won deal and who it credits.
#[derive(Debug, Clone)]
pub struct CreditedDeal {
    /// The deal.
    pub deal: deal::Model,
    /// Its credits (owner or revenue partners, and overlay on top).
    pub credits: Vec<Credit>,
}

/// Deals won in `[from, to)` with their credits.
pub async fn won_deals(
    org: OrgId,
    db: &impl ConnectionTrait,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Vec<CreditedDeal>> {
    let deals = tenant::scoped::<deal::Entity>(org)
        .filter(deal::Column::Outcome.eq("WON"))
        .filter(deal::Column::ClosedAt.gte(from))
        .filter(deal::Column::ClosedAt.lt(to))
        .order_by_asc(deal::Column::ClosedAt)
        .order_by_asc(deal::Column::Id)
        .all(db)
        .await?;
    credit(org, db, deals).await
}

/// Credits of the given deals.
pub async fn credit(org: OrgId, db: &impl ConnectionTrait, deals: Vec<deal::Model>) -> AppResult<Vec<CreditedDeal>> {
    let ids: Vec<Uuid> = deals.iter().map(|d| d.id).collect();
    let mut splits: HashMap<Uuid, Vec<(Uuid, SplitShare)>> = HashMap::new();
    for s in crate::pipeline::store::splits_of(org, db, &ids).await? {
        let share = match SplitKind::parse(&s.kind) {
            Some(SplitKind::Overlay) => SplitShare::Overlay(s.percent),
            _ => SplitShare::Revenue(s.percent),
        };
        splits.entry(s.deal_id).or_default().push((s.member_id, share));
    }
    Ok(deals
        .into_iter()
        .map(|d| {
            let credits = model::deal_credits(d.owner_id, d.amount_cents, splits.get(&d.id).map_or(&[][..], |v| v));
            CreditedDeal { deal: d, credits }
        })
        .collect())
}

/// The members a quota's subject covers: a member; a team's whole subtree (deactivated members
/// included: their past results still count); nobody for a territory (deals count there).
pub async fn subject_members(
    org: OrgId,
    db: &impl ConnectionTrait,
    kind: QuotaSubjectKind,
    subject: Uuid,
) -> AppResult<Vec<member::Model>> {
    Ok(match kind {
        QuotaSubjectKind::Member => crate::org::store::members_by_ids(org, db, &[subject]).await?,
        QuotaSubjectKind::Team => {
            let teams: Vec<Uuid> =
                crate::org::store::team_tree(org, db).await?.subtree([subject]).into_iter().collect();
            crate::org::store::members_by_teams(org, db, &teams).await?
        }
        QuotaSubjectKind::Territory => vec![],
    })
}

/// What a quota's subject achieved in `period` (up to now for a running one).
pub async fn achieved(
    s: &OrgSettings,
    db: &impl ConnectionTrait,
    q: &quota::Model,
    period: &Period,
) -> AppResult<Decimal> {
    let org = s.org;
    let k = key_of(q);
    let members = subject_members(org, db, k.subject_kind, k.subject_id).await?;
    let ids: HashSet<Uuid> = members.iter().map(|m| m.id).collect();
    let territories: HashSet<Uuid> = match k.subject_kind {
        QuotaSubjectKind::Territory => {
            crate::territory::store::tree(org, db).await?.subtree([k.subject_id]).into_iter().collect()
        }
        _ => HashSet::new(),
    };
    // A member's quota counts overlay credit; a team's only revenue credit, so an overlay
    // partner inside the same team does not count one deal twice.
    let overlay_counts = k.subject_kind == QuotaSubjectKind::Member;
    match k.metric {
        QuotaMetric::Revenue | QuotaMetric::DealsWon => {
            let deals = won_deals(org, db, period.start, period.end).await?;
            let mut total = Decimal::ZERO;
            for cd in deals {
                if k.subject_kind == QuotaSubjectKind::Territory {
                    if cd.deal.territory_id.is_some_and(|t| territories.contains(&t)) {
                        total += match k.metric {
                            QuotaMetric::Revenue => Decimal::new(cd.deal.amount_cents, 2),
                            _ => Decimal::ONE,
                        };
                    }
                    continue;
                }
                for c in cd.credits.iter().filter(|c| ids.contains(&c.member_id) && (overlay_counts || !c.overlay)) {
                    total += match k.metric {
                        QuotaMetric::Revenue => Decimal::new(c.amount_cents, 2),
                        _ => Decimal::from(c.percent) / Decimal::ONE_HUNDRED,
                    };
                }
            }
            Ok(total)
        }
        QuotaMetric::Points | QuotaMetric::ActivityCount => {
            if ids.is_empty() {
                return Ok(Decimal::ZERO);
            }
            let mut q = tenant::scoped::<activity::Entity>(org)
                .filter(activity::Column::MemberId.is_in(ids.iter().copied()))
                .filter(activity::Column::VoidedAt.is_null())
                .filter(activity::Column::OccurredAt.gte(period.start))
                .filter(activity::Column::OccurredAt.lt(period.end));
            if k.metric == QuotaMetric::ActivityCount
                && let Some(t) = k.activity_type_id
            {
                q = q.filter(activity::Column::ActivityTypeId.eq(t));
            }
            let rows = q.all(db).await?;
            Ok(match k.metric {
                QuotaMetric::Points => Decimal::new(rows.iter().map(|a| a.points_cents).sum::<i64>(), 2),
                _ => Decimal::from(rows.iter().map(|a| i64::from(a.quantity.unwrap_or(1))).sum::<i64>()),
            })
        }
        QuotaMetric::Kpi => {
            let Some(key) = &k.kpi_key else { return Ok(Decimal::ZERO) };
            let defs = crate::kpi::values::definitions(org, db).await?;
            let Some(def) = defs.iter().find(|d| &d.key == key) else { return Ok(Decimal::ZERO) };
            let (per_member, pooled) = crate::kpi::values::compute(s, db, &defs, &[def], &members, period).await?;
            let value = if k.subject_kind == QuotaSubjectKind::Member {
                per_member.get(&(k.subject_id, key.clone())).and_then(|c| c.value.value)
            } else {
                pooled.get(key).and_then(|c| c.value.value)
            };
            Ok(value.unwrap_or(Decimal::ZERO))
        }
    }
}
