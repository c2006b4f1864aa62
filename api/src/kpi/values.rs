//! KPI values, targets and the weekly scoreboard: gathers the facts through the stores and
//! applies the rules of `model.rs`.

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use entity::{kpi_target, member};

use super::model::{
    self, ActivityTotal, BuiltInKpi, DealClose, DealFacts, KpiDirection, KpiKind, KpiShape, KpiStatus, KpiUnit,
    KpiValue, Pooling, SubjectFacts, Window,
};
use super::store;
use crate::core::error::AppResult;
use crate::core::ids::OrgId;
use crate::core::period::Period;
use crate::core::roles::SalesRole;
use crate::core::settings::OrgSettings;

/// A KPI as the values engine sees it: a built-in or a custom definition.
#[derive(Debug, Clone)]
pub struct KpiDef {
    /// Key.
    pub key: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Formula text.
    pub formula: String,
    /// Kind.
    pub kind: KpiKind,
    /// Unit, direction, pooling, target scaling.
    pub shape: KpiShape,
    /// The built-in it is.
    pub builtin: Option<BuiltInKpi>,
    /// ACTIVITY_COUNT/SUM types.
    pub activity_type_ids: Vec<Uuid>,
    /// RATIO numerator key.
    pub numerator: Option<String>,
    /// RATIO denominator key.
    pub denominator: Option<String>,
    /// Sales roles it applies to (empty: all).
    pub roles: Vec<SalesRole>,
    /// False once archived.
    pub active: bool,
    /// Custom KPIs: the optimistic-concurrency version (built-ins are not edited).
    pub version: Option<i32>,
}

/// The built-in catalogue and the organization's custom KPIs, by key.
pub async fn definitions(org: OrgId, db: &impl ConnectionTrait) -> AppResult<Vec<KpiDef>> {
    let mut defs: Vec<KpiDef> = model::catalogue()
        .into_iter()
        .map(|c| KpiDef {
            key: c.key.to_owned(),
            name: c.name.to_owned(),
            description: Some(c.description.to_owned()),
            formula: c.formula.to_owned(),
            kind: KpiKind::BuiltIn,
            shape: c.kpi.shape(),
            builtin: Some(c.kpi),
            activity_type_ids: Vec::new(),
            numerator: None,
            denominator: None,
            roles: c.kpi.default_sales_roles().to_vec(),
            active: true,
            version: None,
        })
        .collect();
    for k in store::custom_kpis(org, db).await? {
        let kind = KpiKind::parse(&k.kind).unwrap_or(KpiKind::SelfReported);
        let unit = KpiUnit::parse(&k.unit).unwrap_or(KpiUnit::Count);
        let direction = KpiDirection::parse(&k.direction).unwrap_or(KpiDirection::HigherIsBetter);
        let Ok(shape) = KpiShape::custom(kind, unit, direction) else { continue };
        let formula = match kind {
            KpiKind::ActivityCount => "number of units logged of the chosen activity types".to_owned(),
            KpiKind::ActivitySum => "points awarded for the chosen activity types".to_owned(),
            KpiKind::Ratio => format!(
                "{} ÷ {}",
                k.numerator_key.clone().unwrap_or_default(),
                k.denominator_key.clone().unwrap_or_default()
            ),
            _ => "entered by the rep each week".to_owned(),
        };
        defs.push(KpiDef {
            key: k.key,
            name: k.name,
            description: k.description,
            formula,
            kind,
            shape,
            builtin: None,
            activity_type_ids: serde_json::from_str(&k.activity_type_ids).unwrap_or_default(),
            numerator: k.numerator_key,
            denominator: k.denominator_key,
            roles: Vec::new(),
            active: k.active,
            version: Some(k.version),
        });
    }
    Ok(defs)
}

/// Everything needed to compute KPI values of some members over one window.
#[derive(Debug, Default)]
pub struct Facts {
    /// Per member.
    pub per_member: HashMap<Uuid, SubjectFacts>,
    /// Self-reported values per (member, KPI key): the latest value of each week in the window.
    pub reports: HashMap<(Uuid, String), Vec<Decimal>>,
}

/// The stage positions that count as "qualified" and "proposal": stages named so (or
/// "offerte"), else the second open stage and the first best-case stage.
fn milestones(stages: &[entity::pipeline_stage::Model]) -> (Option<i32>, Option<i32>) {
    let named = |words: &[&str]| {
        stages.iter().find(|s| words.iter().any(|w| s.name.to_lowercase().contains(w))).map(|s| s.position)
    };
    let open: Vec<&entity::pipeline_stage::Model> = stages.iter().filter(|s| s.kind == "OPEN").collect();
    let qualified = named(&["qualif"]).or_else(|| open.get(1).map(|s| s.position));
    let proposal = named(&["propos", "offerte", "quote"])
        .or_else(|| stages.iter().find(|s| s.default_forecast_category == "BEST_CASE").map(|s| s.position));
    (qualified, proposal)
}

/// Gathers deals (with stage-history milestones), activity totals and self-reports.
pub async fn gather(
    s: &OrgSettings,
    db: &impl ConnectionTrait,
    members: &[member::Model],
    period: &Period,
) -> AppResult<Facts> {
    let base = gather_base(s, db, members).await?;
    gather_window(s, db, &base, period).await
}

/// What the facts of any window share: the members' deals with their milestones, their rep
/// counts, and the activity types' KPI keys (read once for several windows).
#[derive(Debug, Default)]
pub struct BaseFacts {
    ids: Vec<Uuid>,
    per_member: HashMap<Uuid, SubjectFacts>,
    types: HashMap<Uuid, Option<String>>,
}

/// Reads the [`BaseFacts`] of some members.
pub async fn gather_base(
    s: &OrgSettings,
    db: &impl ConnectionTrait,
    members: &[member::Model],
) -> AppResult<BaseFacts> {
    let ids: Vec<Uuid> = members.iter().map(|m| m.id).collect();
    let mut facts = BaseFacts::default();
    if ids.is_empty() {
        return Ok(facts);
    }
    let stages = crate::pipeline::store::stages(s.org, db).await?;
    // A move into a LOST stage reaches no milestone (it comes after every open stage).
    let positions: HashMap<Uuid, i32> =
        stages.iter().filter(|s| s.kind != "LOST").map(|s| (s.id, s.position)).collect();
    let (qualified, proposal) = milestones(&stages);
    let deals = store::deals_of(s.org, db, &ids).await?;
    let deal_ids: Vec<Uuid> = deals.iter().map(|d| d.id).collect();
    let quoted = store::quoted_deals(s.org, db, &deal_ids).await?;
    let mut history: HashMap<Uuid, Vec<(chrono::DateTime<chrono::Utc>, i32)>> = HashMap::new();
    for h in store::histories(s.org, db, &deal_ids).await? {
        if let Some(pos) = positions.get(&h.to_stage_id) {
            history.entry(h.deal_id).or_default().push((h.changed_at, *pos));
        }
    }
    let reached = |deal: Uuid, milestone: Option<i32>| {
        let m = milestone?;
        history.get(&deal)?.iter().filter(|(_, pos)| *pos >= m).map(|(at, _)| *at).min()
    };
    for m in members {
        // Only reps count as reps (average revenue per rep); admins, managers and viewers do not.
        let rep_count = u32::from(m.role == "REP");
        facts.per_member.insert(m.id, SubjectFacts { deals: Vec::new(), activities: Vec::new(), rep_count });
    }
    for d in &deals {
        let proposal_at = reached(d.id, proposal);
        let close = match (d.outcome.as_deref(), d.closed_at) {
            (Some("WON"), Some(at)) => DealClose::Won(at),
            (Some("LOST"), Some(at)) => DealClose::Lost(at),
            _ => DealClose::Open,
        };
        let f = DealFacts {
            amount: Decimal::new(d.amount_cents, 2),
            created_at: d.created_at,
            lead_created_at: d.lead_created_at,
            first_contact_at: d.first_contact_at,
            qualified_at: reached(d.id, qualified),
            proposal_at,
            // A quote was sent: a `quotes_sent` activity names the deal, or it reached proposal.
            quoted: proposal_at.is_some() || quoted.contains(&d.id),
            close,
        };
        if let Some(sf) = facts.per_member.get_mut(&d.owner_id) {
            sf.deals.push(f);
        }
    }
    facts.types =
        crate::scoring::store::all_activity_types(s.org, db).await?.into_iter().map(|t| (t.id, t.kpi_key)).collect();
    facts.ids = ids;
    Ok(facts)
}

/// The facts of one window: the base's deals, with the window's activity totals and reports.
pub async fn gather_window(
    s: &OrgSettings,
    db: &impl ConnectionTrait,
    base: &BaseFacts,
    period: &Period,
) -> AppResult<Facts> {
    let ids = &base.ids;
    let mut facts = Facts { per_member: base.per_member.clone(), reports: HashMap::new() };
    if ids.is_empty() {
        return Ok(facts);
    }
    for ((member, activity_type), (units, points)) in
        store::activity_units(s.org, db, ids, period.start, period.end).await?
    {
        if let Some(sf) = facts.per_member.get_mut(&member) {
            sf.activities.push(ActivityTotal {
                activity_type_id: activity_type,
                kpi_key: base.types.get(&activity_type).cloned().flatten(),
                units: Decimal::from(units),
                points: Decimal::new(points, 2),
            });
        }
    }
    // The latest report per member, KPI and week.
    let mut latest: HashMap<(Uuid, String, NaiveDate), Decimal> = HashMap::new();
    for r in store::reports(s.org, db, ids, period.start_date, period.end_date).await? {
        if let Ok(v) = r.value.parse::<Decimal>() {
            latest.insert((r.member_id, r.kpi_key, r.week), v);
        }
    }
    for ((member, key, _), v) in latest {
        facts.reports.entry((member, key)).or_default().push(v);
    }
    Ok(facts)
}

/// A member's value of a KPI in the window the facts were gathered for.
pub fn member_value(def: &KpiDef, defs: &[KpiDef], facts: &Facts, member: Uuid, window: Window) -> KpiValue {
    let empty = SubjectFacts { deals: Vec::new(), activities: Vec::new(), rep_count: 1 };
    let sf = facts.per_member.get(&member).unwrap_or(&empty);
    match def.kind {
        KpiKind::BuiltIn => def.builtin.map_or(KpiValue::NONE, |b| model::compute_builtin(b, sf, window)),
        KpiKind::ActivityCount => model::activity_count(&sf.activities, &def.activity_type_ids),
        KpiKind::ActivitySum => model::activity_sum(&sf.activities, &def.activity_type_ids),
        KpiKind::SelfReported => {
            let entries = facts.reports.get(&(member, def.key.clone())).cloned().unwrap_or_default();
            model::self_reported(def.shape.unit, &entries)
        }
        KpiKind::Ratio => {
            let find = |key: &Option<String>| key.as_ref().and_then(|k| defs.iter().find(|d| &d.key == k));
            match (find(&def.numerator), find(&def.denominator)) {
                // Operands are counts or sums (checked at creation), so one level is enough.
                (Some(n), Some(d)) if n.kind != KpiKind::Ratio && d.kind != KpiKind::Ratio => model::ratio_of(
                    &member_value(n, defs, facts, member, window),
                    &member_value(d, defs, facts, member, window),
                    def.shape.unit,
                ),
                _ => KpiValue::NONE,
            }
        }
    }
}

/// The weekly target of a member in effect for the week starting `monday`: their override,
/// else their sales role's default.
pub fn weekly_target(
    targets: &[kpi_target::Model],
    key: &str,
    m: &member::Model,
    monday: NaiveDate,
) -> Option<Decimal> {
    let latest = |pred: &dyn Fn(&kpi_target::Model) -> bool| {
        targets
            .iter()
            .enumerate()
            .filter(|(_, t)| t.kpi_key == key && t.effective_from <= monday && pred(t))
            .max_by_key(|(i, t)| (t.effective_from, *i))
            .and_then(|(_, t)| t.per_week.parse::<Decimal>().ok())
    };
    latest(&|t| t.member_id == Some(m.id))
        .or_else(|| latest(&|t| t.member_id.is_none() && t.sales_role.as_deref() == Some(m.sales_role.as_str())))
}

/// A member's target for a period, from the weekly targets.
pub fn member_target(def: &KpiDef, targets: &[kpi_target::Model], m: &member::Model, p: &Period) -> Option<Decimal> {
    model::target_for_period_by_week(
        |monday| weekly_target(targets, &def.key, m, monday),
        def.shape.target_scaling,
        p.start_date,
        p.end_date,
    )
}

/// A team's target: the sum of its members' for totals; for rates and means the members'
/// common target, none when they differ.
pub fn team_target(def: &KpiDef, member_targets: &[Option<Decimal>]) -> Option<Decimal> {
    let present: Vec<Decimal> = member_targets.iter().flatten().copied().collect();
    if present.is_empty() {
        return None;
    }
    match def.shape.pooling {
        Pooling::Sum => Some(present.iter().copied().sum()),
        _ if present.iter().all(|t| *t == present[0]) => Some(present[0]),
        _ => None,
    }
}

/// One computed cell: value, target, status.
#[derive(Debug, Clone)]
pub struct Cell {
    /// The value.
    pub value: KpiValue,
    /// The target.
    pub target: Option<Decimal>,
    /// On or off target.
    pub status: KpiStatus,
}

/// Per member and KPI, and per KPI pooled: the cells of one period.
pub type Cells = (HashMap<(Uuid, String), Cell>, HashMap<String, Cell>);

/// Values of several KPIs for each member and pooled, over one period.
pub async fn compute(
    s: &OrgSettings,
    db: &impl ConnectionTrait,
    defs: &[KpiDef],
    wanted: &[&KpiDef],
    members: &[member::Model],
    period: &Period,
) -> AppResult<Cells> {
    let mut all = compute_periods(s, db, defs, wanted, members, std::slice::from_ref(period)).await?;
    all.pop().ok_or_else(|| crate::core::error::AppError::Internal(anyhow::anyhow!("no period computed")))
}

/// [`compute`] for several periods, in their order: deals, targets and activity types are read
/// once, each period's activity totals and reports on their own.
pub async fn compute_periods(
    s: &OrgSettings,
    db: &impl ConnectionTrait,
    defs: &[KpiDef],
    wanted: &[&KpiDef],
    members: &[member::Model],
    periods: &[Period],
) -> AppResult<Vec<Cells>> {
    let base = gather_base(s, db, members).await?;
    let targets = store::all_targets(s.org, db).await?;
    let mut out = Vec::with_capacity(periods.len());
    for period in periods {
        let facts = gather_window(s, db, &base, period).await?;
        out.push(cells(defs, wanted, members, &facts, &targets, period));
    }
    Ok(out)
}

fn cells(
    defs: &[KpiDef],
    wanted: &[&KpiDef],
    members: &[member::Model],
    facts: &Facts,
    targets: &[kpi_target::Model],
    period: &Period,
) -> Cells {
    let window = Window::new(period.start, period.end);
    let mut per_member = HashMap::new();
    let mut pooled = HashMap::new();
    for def in wanted {
        let mut values = Vec::new();
        let mut member_targets = Vec::new();
        for m in members {
            let value = member_value(def, defs, facts, m.id, window);
            let target = member_target(def, targets, m, period);
            let status = model::status(value.value, target, def.shape.direction);
            values.push(value);
            member_targets.push(target);
            per_member.insert((m.id, def.key.clone()), Cell { value, target, status });
        }
        let value = model::pool(def.shape.pooling, &values);
        let target = team_target(def, &member_targets);
        let status = model::status(value.value, target, def.shape.direction);
        pooled.insert(def.key.clone(), Cell { value, target, status });
    }
    (per_member, pooled)
}
