//! GraphQL surface of KPIs: the catalogue and custom KPIs, weekly targets, self-reported
//! values with week locks, value series, and the weekly scoreboard.

use std::collections::HashSet;

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{NaiveDate, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use uuid::Uuid;

use super::model::{self, KpiDirection, KpiKind, KpiShape, KpiStatus, KpiUnit, Trend};
use super::store;
use super::values::{self, Cell, KpiDef};
use crate::auth::{Permission, Principal, Reach};
use crate::error::{AppError, AppResult};
use crate::graphql::relay::{NodeKind, decode_id};
use crate::graphql::{ContextExt, UserError};
use crate::org::graphql::{Member, Team};
use crate::org::model::{self as org_model, FieldError, Role, SalesRole};
use crate::org::store as org_store;
use crate::scoring::model::{self as scoring_model, Period, PeriodGrain};
use crate::scoring::scores;

fn f(d: Option<Decimal>) -> Option<f64> {
    d.and_then(|v| v.to_f64())
}

/// A KPI: built in (with its exact formula) or defined by the organization.
#[derive(SimpleObject, Clone)]
pub struct Kpi {
    /// Stable key, e.g. `close_rate`.
    key: String,
    /// Display name.
    name: String,
    /// What it tells a sales manager.
    description: Option<String>,
    /// The exact formula.
    formula: String,
    /// BUILT_IN, ACTIVITY_COUNT, ACTIVITY_SUM, RATIO or SELF_REPORTED.
    kind: KpiKind,
    /// Unit of its values.
    unit: KpiUnit,
    /// Which way is better.
    direction: KpiDirection,
    /// Sales roles it applies to on the scoreboard; empty means all.
    applies_to: Vec<SalesRole>,
    /// False once archived.
    active: bool,
    /// Custom KPIs: increases with every change (also archiving); pass it to `updateKpi` to
    /// refuse an edit when someone else changed the KPI since. Null for built-ins.
    version: Option<i32>,
}

impl From<&KpiDef> for Kpi {
    fn from(d: &KpiDef) -> Self {
        Kpi {
            key: d.key.clone(),
            name: d.name.clone(),
            description: d.description.clone(),
            formula: d.formula.clone(),
            kind: d.kind,
            unit: d.shape.unit,
            direction: d.shape.direction,
            applies_to: d.roles.clone(),
            active: d.active,
            version: d.version,
        }
    }
}

/// A KPI's value in one period.
#[derive(SimpleObject)]
pub struct KpiPoint {
    /// First day of the period.
    period_start: NaiveDate,
    /// Day after the period.
    period_end: NaiveDate,
    /// The value; null when undefined (e.g. a ratio with a zero denominator), never 0 or NaN.
    value: Option<f64>,
    /// The target for the period.
    target: Option<f64>,
    /// ON_TARGET, OFF_TARGET or NO_TARGET.
    status: KpiStatus,
    /// What a ratio or mean divides.
    numerator: Option<f64>,
    /// What it divides by.
    denominator: Option<f64>,
}

impl KpiPoint {
    fn new(p: &Period, c: &Cell) -> Self {
        KpiPoint {
            period_start: p.start_date,
            period_end: p.end_date,
            value: f(c.value.value),
            target: f(c.target),
            status: c.status,
            numerator: f(c.value.numerator),
            denominator: f(c.value.denominator),
        }
    }
}

/// One self-reported value as entered (every change is kept).
#[derive(SimpleObject)]
pub struct KpiReport {
    /// The KPI.
    kpi_key: String,
    /// Monday of the week.
    week_start: NaiveDate,
    /// The value entered.
    value: Option<f64>,
    /// Who entered it.
    reported_by: Option<Member>,
    /// When.
    reported_at: chrono::DateTime<Utc>,
}

/// One KPI's values over a range of periods.
#[derive(SimpleObject)]
pub struct KpiSeries {
    /// The KPI.
    kpi: Kpi,
    /// One point per period, oldest first.
    points: Vec<KpiPoint>,
}

/// Values over the last weeks and which way they moved.
#[derive(SimpleObject)]
pub struct KpiTrend {
    /// Weekly values, oldest first (null where undefined).
    values: Vec<Option<f64>>,
    /// UP, DOWN or FLAT.
    direction: Trend,
}

/// One KPI of one member (or the team) on the scoreboard.
#[derive(SimpleObject)]
pub struct ScoreboardCell {
    /// The KPI's key (see `Scoreboard.kpis`).
    kpi_key: String,
    /// This week's value.
    value: Option<f64>,
    /// This week's target.
    target: Option<f64>,
    /// ON_TARGET, OFF_TARGET or NO_TARGET.
    status: KpiStatus,
    /// The last 6 weeks, ending with this week.
    trend: KpiTrend,
}

/// A member's line on the scoreboard: the KPIs of their sales role.
#[derive(SimpleObject)]
pub struct ScoreboardRow {
    /// The member.
    member: Member,
    /// One cell per KPI that applies to their sales role.
    cells: Vec<ScoreboardCell>,
}

/// The weekly meeting view of a team.
#[derive(SimpleObject)]
pub struct Scoreboard {
    /// The team.
    team: Team,
    /// Monday of the week.
    week_start: NaiveDate,
    /// The KPIs shown.
    kpis: Vec<Kpi>,
    /// One row per active member of the team and its sub-teams.
    rows: Vec<ScoreboardRow>,
    /// Team totals: sums for counts and money, pooled numerator ÷ pooled denominator for ratios.
    totals: Vec<ScoreboardCell>,
}

/// A custom KPI (admins).
#[derive(InputObject)]
pub struct CreateKpiInput {
    /// snake_case key, unique; built-in keys are reserved.
    key: String,
    /// Name.
    name: String,
    /// Description.
    description: Option<String>,
    /// ACTIVITY_COUNT, ACTIVITY_SUM, RATIO or SELF_REPORTED.
    kind: KpiKind,
    /// Unit (must fit the kind).
    unit: KpiUnit,
    /// Which way is better (default HIGHER_IS_BETTER).
    #[graphql(default_with = "KpiDirection::HigherIsBetter")]
    direction: KpiDirection,
    /// ACTIVITY_COUNT/SUM: the activity types.
    #[graphql(default)]
    activity_type_ids: Vec<ID>,
    /// RATIO: the numerator KPI (a count or sum).
    numerator_key: Option<String>,
    /// RATIO: the denominator KPI (a count or sum).
    denominator_key: Option<String>,
}

/// Changes to a custom KPI (admins).
#[derive(InputObject)]
pub struct UpdateKpiInput {
    /// The KPI's key.
    key: String,
    /// The `version` you last read; when given and stale, the update is refused with CONFLICT
    /// instead of silently overwriting someone else's change.
    version: Option<i32>,
    /// New name.
    name: Option<String>,
    /// New description.
    description: Option<String>,
}

/// Archives a custom KPI (admins).
#[derive(InputObject)]
pub struct ArchiveKpiInput {
    /// The KPI's key.
    key: String,
}

/// Result of a KPI definition mutation.
#[derive(SimpleObject)]
pub struct KpiPayload {
    /// The KPI; `null` when refused.
    kpi: Option<Kpi>,
    /// What to fix; empty on success.
    user_errors: Vec<UserError>,
}

/// A weekly KPI target for a sales role (admins) or a member (admins; managers for their teams).
#[derive(InputObject)]
pub struct SetKpiTargetInput {
    /// The KPI.
    kpi_key: String,
    /// The sales role whose default this is; give this or `memberId`.
    sales_role: Option<SalesRole>,
    /// The member it overrides for.
    member_id: Option<ID>,
    /// Per week; longer periods scale totals by whole weeks, rates keep it.
    per_week: f64,
    /// From which date (default today).
    effective_from: Option<NaiveDate>,
    /// Why.
    reason: String,
}

/// Result of `setKpiTarget`.
#[derive(SimpleObject)]
pub struct KpiTargetPayload {
    /// The KPI.
    kpi: Option<Kpi>,
    /// The target recorded, per week.
    per_week: Option<f64>,
    /// What to fix; empty on success.
    user_errors: Vec<UserError>,
}

/// One self-reported value.
#[derive(InputObject)]
pub struct KpiValueInput {
    /// A SELF_REPORTED KPI.
    kpi_key: String,
    /// The value for the week.
    value: f64,
}

/// The viewer's self-reported values for a week.
#[derive(InputObject)]
pub struct SubmitKpiValuesInput {
    /// Any date in the week (its Monday is used).
    week: NaiveDate,
    /// The values.
    values: Vec<KpiValueInput>,
}

/// Result of `submitKpiValues`.
#[derive(SimpleObject)]
pub struct SubmitKpiValuesPayload {
    /// How many values were recorded.
    recorded: i32,
    /// What to fix; nothing is recorded when not empty.
    user_errors: Vec<UserError>,
}

/// Locks a team's week: self-reported values become final.
#[derive(InputObject)]
pub struct LockKpiWeekInput {
    /// The team (its sub-teams are locked with it).
    team_id: ID,
    /// Any date in the week.
    week: NaiveDate,
}

/// Result of `lockKpiWeek`.
#[derive(SimpleObject)]
pub struct LockKpiWeekPayload {
    /// Monday of the locked week.
    week_start: Option<NaiveDate>,
    /// What to fix; empty on success.
    user_errors: Vec<UserError>,
}

/// Which values to compute.
#[derive(InputObject)]
pub struct KpiValuesInput {
    /// The KPIs.
    kpi_keys: Vec<String>,
    /// A member…
    member_id: Option<ID>,
    /// …or a team (pooled over its subtree); the whole organization when neither is given.
    team_id: Option<ID>,
    /// WEEK, MONTH, QUARTER or YEAR.
    #[graphql(default_with = "PeriodGrain::Week")]
    grain: PeriodGrain,
    /// First period: the one containing this date.
    from: NaiveDate,
    /// Last period: the one containing this date (at most 104 periods).
    to: NaiveDate,
}

fn defs_by_keys<'a>(defs: &'a [KpiDef], keys: &[String]) -> AppResult<Vec<&'a KpiDef>> {
    keys.iter().map(|k| defs.iter().find(|d| &d.key == k).ok_or(AppError::NotFound("KPI"))).collect()
}

fn periods(grain: PeriodGrain, from: NaiveDate, to: NaiveDate, s: &scores::OrgSettings) -> AppResult<Vec<Period>> {
    let mut out = Vec::new();
    let mut p = scoring_model::period_containing(grain, from, s.tz, s.fiscal_year_start_month);
    while p.start_date <= to {
        out.push(p);
        if out.len() > 104 {
            return Err(AppError::bad_input("at most 104 periods"));
        }
        p = scoring_model::period_containing(grain, p.end_date, s.tz, s.fiscal_year_start_month);
    }
    Ok(out)
}

/// KPI queries.
#[derive(Default)]
pub struct KpiQuery;

#[Object]
impl KpiQuery {
    /// The built-in catalogue and the organization's custom KPIs.
    async fn kpis(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Include archived custom KPIs.", default = false)] include_archived: bool,
    ) -> Result<Vec<Kpi>> {
        let p = ctx.principal()?;
        let defs = values::definitions(p.org, &ctx.state()?.db).await?;
        Ok(defs.iter().filter(|d| include_archived || d.active).map(Kpi::from).collect())
    }

    /// One series per KPI over a range of periods, for a member, a team (pooled) or the organization.
    async fn kpi_values(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to compute.")] input: KpiValuesInput,
    ) -> Result<Vec<KpiSeries>> {
        let p = ctx.principal()?;
        let db = &ctx.state()?.db;
        if input.kpi_keys.is_empty() || input.kpi_keys.len() > 20 {
            return Err(AppError::bad_input("give 1 to 20 KPI keys").into());
        }
        if input.grain == PeriodGrain::Day {
            return Err(AppError::bad_input("KPIs are weekly or longer: use WEEK, MONTH, QUARTER or YEAR").into());
        }
        if input.to < input.from {
            return Err(AppError::bad_input("'to' must not be before 'from'").into());
        }
        let s = scores::settings(p.org, db).await?;
        let defs = values::definitions(p.org, db).await?;
        let wanted = defs_by_keys(&defs, &input.kpi_keys)?;
        let scope = p.read_scope(db).await?;
        let members = match (&input.member_id, &input.team_id) {
            (Some(_), Some(_)) => return Err(AppError::bad_input("give memberId or teamId, not both").into()),
            (Some(id), None) => {
                let m = org_store::find_member(p.org, db, decode_id(id, NodeKind::Member)?)
                    .await?
                    .ok_or(AppError::NotFound("member"))?;
                scope.member(p, &m)?;
                vec![m]
            }
            (None, Some(id)) => {
                let t = decode_id(id, NodeKind::Team)?;
                org_store::find_team(p.org, db, t).await?.ok_or(AppError::NotFound("team"))?;
                scope.board(Some(t))?;
                scores::active_members(p.org, db, Some(t)).await?
            }
            (None, None) => scores::active_members(p.org, db, None).await?,
        };
        let mut series: Vec<KpiSeries> =
            wanted.iter().map(|d| KpiSeries { kpi: Kpi::from(*d), points: Vec::new() }).collect();
        let single = input.member_id.is_some();
        for period in periods(input.grain, input.from, input.to, &s)? {
            let (per_member, pooled) = values::compute(&s, db, &defs, &wanted, &members, &period).await?;
            for (i, d) in wanted.iter().enumerate() {
                let cell = if single {
                    members.first().and_then(|m| per_member.get(&(m.id, d.key.clone())))
                } else {
                    pooled.get(&d.key)
                };
                if let Some(c) = cell {
                    series[i].points.push(KpiPoint::new(&period, c));
                }
            }
        }
        Ok(series)
    }

    /// Every self-reported value a member entered for a week, oldest first (the last counts).
    async fn kpi_report_history(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The member (default: the viewer).")] member_id: Option<ID>,
        #[graphql(desc = "Any date in the week.")] week: NaiveDate,
    ) -> Result<Vec<KpiReport>> {
        let p = ctx.principal()?;
        let db = &ctx.state()?.db;
        let m = match &member_id {
            Some(id) => org_store::find_member(p.org, db, decode_id(id, NodeKind::Member)?)
                .await?
                .ok_or(AppError::NotFound("member"))?,
            None => org_store::find_member(p.org, db, p.member_id).await?.ok_or(AppError::NotFound("member"))?,
        };
        p.read_scope(db).await?.member(p, &m)?;
        let monday = model::week_start(week);
        let rows = store::reports(p.org, db, &[m.id], monday, monday + chrono::Duration::days(7)).await?;
        let mut out = Vec::new();
        for r in rows {
            out.push(KpiReport {
                kpi_key: r.kpi_key,
                week_start: r.week,
                value: r.value.parse::<Decimal>().ok().and_then(|v| v.to_f64()),
                reported_by: org_store::find_member(p.org, db, r.reported_by).await?.map(Member),
                reported_at: r.reported_at,
            });
        }
        Ok(out)
    }

    /// The weekly meeting view: every active member of the team (and sub-teams) with each KPI
    /// of their sales role — value, target, status and the 6-week trend — and team totals.
    #[graphql(complexity = "crate::graphql::access::EXPENSIVE_FIELD_COST + child_complexity")]
    async fn scoreboard(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The team.")] team_id: ID,
        #[graphql(desc = "Any date in the week (default: this week).")] week: Option<NaiveDate>,
    ) -> Result<Scoreboard> {
        let p = ctx.principal()?;
        let db = &ctx.state()?.db;
        let t = decode_id(&team_id, NodeKind::Team)?;
        let team = org_store::find_team(p.org, db, t).await?.ok_or(AppError::NotFound("team"))?;
        p.read_scope(db).await?.board(Some(t))?;
        let s = scores::settings(p.org, db).await?;
        let day = week.unwrap_or_else(|| scoring_model::local_date(Utc::now(), s.tz));
        crate::org::model::check_business_date("week", day)
            .map_err(|e| AppError::bad_input(format!("'week' {}", e.message)))?;
        let this_week = scoring_model::period_containing(PeriodGrain::Week, day, s.tz, s.fiscal_year_start_month);
        let members = scores::active_members(p.org, db, Some(t)).await?;
        let defs = values::definitions(p.org, db).await?;
        let roles: HashSet<SalesRole> = members.iter().filter_map(|m| SalesRole::parse(&m.sales_role)).collect();
        let shown: Vec<&KpiDef> = defs
            .iter()
            .filter(|d| d.active && d.builtin != Some(model::BuiltInKpi::ForecastAccuracy))
            .filter(|d| roles.iter().any(|r| model::applies_to(&d.roles, *r)))
            .collect();
        // Six weeks, oldest first, ending with the scoreboard's week.
        let mut weeks = vec![this_week];
        while weeks.len() < model::SCOREBOARD_TREND_WEEKS {
            let Some(prev) = scoring_model::previous_period(&weeks[0], s.tz, s.fiscal_year_start_month) else { break };
            weeks.insert(0, prev);
        }
        let mut computed = Vec::new();
        for w in &weeks {
            computed.push(values::compute(&s, db, &defs, &shown, &members, w).await?);
        }
        let Some((this_members, this_pooled)) = computed.last() else {
            return Err(AppError::Internal(anyhow::anyhow!("no weeks computed")).into());
        };
        let cell = |key: &str, current: Option<&Cell>, history: Vec<Option<Decimal>>| {
            let trend = model::trend(&history, model::SCOREBOARD_TREND_WEEKS);
            ScoreboardCell {
                kpi_key: key.to_owned(),
                value: current.and_then(|c| f(c.value.value)),
                target: current.and_then(|c| f(c.target)),
                status: current.map_or(KpiStatus::NoTarget, |c| c.status),
                trend: KpiTrend { values: trend.values.iter().map(|v| f(*v)).collect(), direction: trend.direction },
            }
        };
        let rows = members
            .iter()
            .map(|m| {
                let role = SalesRole::parse(&m.sales_role).unwrap_or(SalesRole::Inbound);
                let cells = shown
                    .iter()
                    .filter(|d| model::applies_to(&d.roles, role))
                    .map(|d| {
                        let key = (m.id, d.key.clone());
                        let history = computed.iter().map(|(pm, _)| pm.get(&key).and_then(|c| c.value.value)).collect();
                        cell(&d.key, this_members.get(&key), history)
                    })
                    .collect();
                ScoreboardRow { member: Member(m.clone()), cells }
            })
            .collect();
        let totals = shown
            .iter()
            .map(|d| {
                let history =
                    computed.iter().map(|(_, pooled)| pooled.get(&d.key).and_then(|c| c.value.value)).collect();
                cell(&d.key, this_pooled.get(&d.key), history)
            })
            .collect();
        Ok(Scoreboard {
            team: Team(team),
            week_start: this_week.start_date,
            kpis: shown.iter().map(|d| Kpi::from(*d)).collect(),
            rows,
            totals,
        })
    }
}

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
        if p.role == Role::Viewer {
            return Err(AppError::forbidden("viewers cannot report values").into());
        }
        let state = ctx.state()?;
        let week = model::week_start(input.week);
        let s = scores::settings(p.org, &state.db).await?;
        let today = scoring_model::local_date(Utc::now(), s.tz);
        let mut e: Vec<FieldError> = Vec::new();
        if week > model::week_start(today) {
            e.push(FieldError::new("week", "OUT_OF_RANGE", "a week that has not started cannot be reported"));
        }
        if input.values.is_empty() || input.values.len() > 50 {
            e.push(FieldError::new("values", "INVALID", "give 1 to 50 values"));
        }
        let defs = values::definitions(p.org, &state.db).await?;
        let mut parsed = Vec::new();
        for (i, v) in input.values.iter().enumerate() {
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
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        let teams = match p.team_id {
            Some(t) => org_store::team_tree(p.org, &tx).await?.ancestors(t),
            None => Vec::new(),
        };
        if store::week_locked(p.org, &tx, &teams, week).await? {
            e.push(FieldError::new("week", "LOCKED", "your manager has locked this week"));
        }
        if !e.is_empty() {
            return Ok(SubmitKpiValuesPayload {
                recorded: 0,
                user_errors: e.into_iter().map(UserError::from).collect(),
            });
        }
        for (key, value) in &parsed {
            store::insert_report(p.org, &tx, key, p.member_id, week, *value, p.member_id).await?;
        }
        tx.commit().await.map_err(AppError::from)?;
        Ok(SubmitKpiValuesPayload { recorded: i32::try_from(parsed.len()).unwrap_or(i32::MAX), user_errors: vec![] })
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

// ---------------------------------------------------------------- alerts

/// A pattern alert rule.
pub struct AlertRule(pub entity::alert_rule::Model);

/// A pattern alert rule.
#[Object]
impl AlertRule {
    /// Opaque global ID; pass it to `node(id:)`.
    pub async fn id(&self) -> ID {
        crate::graphql::relay::global_id(NodeKind::AlertRule, self.0.id)
    }
    /// The KPI watched.
    async fn kpi_key(&self) -> &str {
        &self.0.kpi_key
    }
    /// BELOW_TARGET_STREAK or RATIO_DECLINING.
    async fn kind(&self) -> model::AlertKind {
        model::AlertKind::parse(&self.0.kind).unwrap_or(model::AlertKind::BelowTargetStreak)
    }
    /// How many weeks in a row.
    async fn periods(&self) -> i32 {
        self.0.periods
    }
    /// Only members of this team (and sub-teams).
    async fn team(&self, ctx: &Context<'_>) -> Result<Option<Team>> {
        let Some(t) = self.0.team_id else { return Ok(None) };
        let p = ctx.principal()?;
        Ok(org_store::find_team(p.org, &ctx.state()?.db, t).await?.map(Team))
    }
    /// Only members with this sales role.
    async fn sales_role(&self) -> Option<SalesRole> {
        self.0.sales_role.as_deref().and_then(SalesRole::parse)
    }
}

/// A raised alert: a member's KPI showed the rule's pattern.
pub struct Alert(pub entity::alert::Model);

/// One week behind an alert.
#[derive(SimpleObject, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertWeek {
    /// Monday of the week.
    week_start: NaiveDate,
    /// The KPI's value that week (decimal string; null when undefined).
    value: Option<String>,
    /// The target that week (decimal string).
    target: Option<String>,
}

#[derive(serde::Deserialize)]
struct AlertDetails {
    weeks: Vec<AlertWeek>,
}

/// A raised alert: a member's KPI showed the rule's pattern.
#[Object]
impl Alert {
    /// Opaque global ID; pass it to `node(id:)`.
    pub async fn id(&self) -> ID {
        crate::graphql::relay::global_id(NodeKind::Alert, self.0.id)
    }
    /// The member whose KPI it is.
    async fn member(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        Ok(ctx.loader()?.load_one(crate::graphql::loaders::MemberKey(self.0.member_id)).await?.map(Member))
    }
    /// The KPI.
    async fn kpi_key(&self) -> &str {
        &self.0.kpi_key
    }
    /// The rule that fired.
    async fn rule(&self, ctx: &Context<'_>) -> Result<Option<AlertRule>> {
        let p = ctx.principal()?;
        let rules = store::rules(p.org, &ctx.state()?.db).await?;
        Ok(rules.into_iter().find(|r| r.id == self.0.rule_id).map(AlertRule))
    }
    /// Monday of the week whose closing raised it.
    async fn week_start(&self) -> NaiveDate {
        self.0.week
    }
    /// The weeks and values that triggered it, oldest first.
    async fn weeks(&self) -> Vec<AlertWeek> {
        serde_json::from_str::<AlertDetails>(&self.0.details).map(|d| d.weeks).unwrap_or_default()
    }
    /// OPEN or ACKNOWLEDGED.
    async fn status(&self) -> model::AlertStatus {
        model::AlertStatus::parse(&self.0.status).unwrap_or(model::AlertStatus::Open)
    }
    /// The manager's note when acknowledging.
    async fn acknowledge_note(&self) -> Option<&str> {
        self.0.acknowledge_note.as_deref()
    }
    /// When acknowledged.
    async fn acknowledged_at(&self) -> Option<chrono::DateTime<Utc>> {
        self.0.acknowledged_at
    }
    /// When raised.
    async fn created_at(&self) -> chrono::DateTime<Utc> {
        self.0.created_at
    }
}

/// A new alert rule (admins; managers for a team of theirs).
#[derive(InputObject)]
pub struct CreateAlertRuleInput {
    /// The KPI to watch.
    kpi_key: String,
    /// BELOW_TARGET_STREAK (under target N weeks in a row) or RATIO_DECLINING (falling N weeks in a row).
    kind: model::AlertKind,
    /// N, 2 to 12.
    periods: i32,
    /// Only members of this team (and sub-teams)…
    team_id: Option<ID>,
    /// …or with this sales role.
    sales_role: Option<SalesRole>,
}

/// Result of `createAlertRule`.
#[derive(SimpleObject)]
pub struct AlertRulePayload {
    /// The rule; `null` when refused.
    rule: Option<AlertRule>,
    /// What to fix; empty on success.
    user_errors: Vec<UserError>,
}

/// Acknowledges an alert.
#[derive(InputObject)]
pub struct AcknowledgeAlertInput {
    /// The alert.
    id: ID,
    /// What was done about it.
    note: Option<String>,
}

/// Result of `acknowledgeAlert` and `evaluateAlerts`.
#[derive(SimpleObject)]
pub struct AlertsPayload {
    /// The alerts concerned.
    alerts: Vec<Alert>,
    /// What to fix; empty on success.
    user_errors: Vec<UserError>,
}

fn alert_id(id: &ID) -> AppResult<Uuid> {
    decode_id(id, NodeKind::Alert)
}

/// An alert rule through `node`: any member reads the rules (as `alertRules` shows them).
pub async fn node_alert_rule(
    p: &Principal,
    db: &impl sea_orm::ConnectionTrait,
    id: Uuid,
) -> AppResult<Option<AlertRule>> {
    Ok(store::rules(p.org, db).await?.into_iter().find(|r| r.id == id).map(AlertRule))
}

/// An alert through `node`: only one `alerts` would show the viewer.
pub async fn node_alert(p: &Principal, db: &impl sea_orm::ConnectionTrait, id: Uuid) -> AppResult<Option<Alert>> {
    let Some(alert) = store::find_alert(p.org, db, id).await? else { return Ok(None) };
    let visible = alert_members(p, db).await?.is_none_or(|m| m.contains(&alert.member_id));
    Ok(visible.then_some(Alert(alert)))
}

/// The members whose alerts a principal sees: all (admins, viewers), their teams' (managers), their own (reps).
async fn alert_members(p: &Principal, db: &impl sea_orm::ConnectionTrait) -> AppResult<Option<Vec<Uuid>>> {
    match (p.role, p.reach(db).await?) {
        (Role::Admin | Role::Viewer, _) | (_, Reach::All) => Ok(None),
        (Role::Manager, Reach::Teams(teams)) => Ok(Some(
            org_store::all_members(
                p.org,
                db,
                &org_store::MemberFilter { team_ids: Some(teams.into_iter().collect()), ..Default::default() },
            )
            .await?
            .into_iter()
            .map(|m| m.id)
            .chain(std::iter::once(p.member_id))
            .collect(),
        )),
        _ => Ok(Some(vec![p.member_id])),
    }
}

/// Alert queries.
#[derive(Default)]
pub struct AlertQuery;

#[Object]
impl AlertQuery {
    /// The active alert rules.
    async fn alert_rules(&self, ctx: &Context<'_>) -> Result<Vec<AlertRule>> {
        let p = ctx.principal()?;
        Ok(store::rules(p.org, &ctx.state()?.db).await?.into_iter().map(AlertRule).collect())
    }

    /// Raised alerts the viewer may see (reps: their own; managers: their teams'), newest first.
    async fn alerts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only OPEN or only ACKNOWLEDGED.")] status: Option<model::AlertStatus>,
    ) -> Result<Vec<Alert>> {
        let p = ctx.principal()?;
        let db = &ctx.state()?.db;
        let members = alert_members(p, db).await?;
        Ok(store::alerts(p.org, db, members.as_deref(), status.map(|s| s.as_str()))
            .await?
            .into_iter()
            .map(Alert)
            .collect())
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
        let raised = super::alerts::evaluate(state, p.org, week).await?;
        // Evaluation covers the whole organization; the answer shows only what the caller may see.
        let visible = alert_members(p, &state.db).await?;
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

/// Alert subscriptions.
#[derive(Default)]
pub struct AlertSubscription;

#[async_graphql::Subscription]
impl AlertSubscription {
    /// Alerts raised for members the viewer manages (optionally only in one team's subtree).
    async fn alert_raised(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only members of this team and its sub-teams.")] team_id: Option<ID>,
    ) -> Result<impl futures_util::Stream<Item = Result<Alert>> + use<>> {
        let p = ctx.principal()?.clone();
        let state = ctx.state()?.clone();
        let db = state.db.clone();
        let reach = p.reach(&db).await?;
        let scope: Option<HashSet<Uuid>> = match &team_id {
            Some(id) => {
                let t = decode_id(id, NodeKind::Team)?;
                org_store::find_team(p.org, &db, t).await?.ok_or(AppError::NotFound("team"))?;
                reach.require(Some(t), "this team")?;
                Some(org_store::team_tree(p.org, &db).await?.subtree([t]))
            }
            None => None,
        };
        let mut rx = state.events.subscribe();
        let org = p.org;
        Ok(async_stream::stream! {
            loop {
                let (alert, team) = match rx.recv().await {
                    Ok(crate::events::Event::AlertRaised { org: o, alert, team }) if o == org.0 => (alert, team),
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                };
                if !reach.covers(team) || scope.as_ref().is_some_and(|s| !team.is_some_and(|t| s.contains(&t))) {
                    continue;
                }
                match store::find_alert(org, &db, alert).await {
                    Ok(Some(a)) => yield Ok(Alert(a)),
                    Ok(None) => {}
                    Err(e) => yield Err(e.into()),
                }
            }
        })
    }
}
