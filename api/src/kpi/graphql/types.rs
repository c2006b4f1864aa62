//! Output objects of KPIs and alerts: KPI definitions, values and series, the scoreboard, alert
//! rules and alerts.

use std::sync::Arc;

use async_graphql::parser::types::SelectionSet;
use async_graphql::resolver_utils::enum_value;
use async_graphql::{Context, ContextSelectionSet, ID, Object, Positioned, Result, ScalarType, SimpleObject, Value};
use chrono::{NaiveDate, Utc};

use super::f;
use crate::core::period::Period;
use crate::core::roles::SalesRole;
use crate::graphql::ContextExt;
use crate::graphql::projection::{Project, Projected, leaf, list_of, object};
use crate::graphql::relay::NodeKind;
use crate::kpi::model::{self, KpiDirection, KpiKind, KpiStatus, KpiUnit, Trend};
use crate::kpi::store;
use crate::kpi::values::{Cell, KpiDef};
use crate::org::directory::Directory;
use crate::org::graphql::{Member, MemberIn, Team};
use crate::org::store as org_store;

/// A KPI: built in (with its exact formula) or defined by the organization.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Kpi {
    /// Stable key, e.g. `close_rate`.
    key: String,
    #[graphql(skip)]
    name: String,
    #[graphql(skip)]
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

#[async_graphql::ComplexObject]
impl Kpi {
    /// Display name: a built-in's in the request's language (Dutch or English), in the
    /// organization's own words where it renamed it (`updateKpi`); a custom KPI's as its
    /// organization named it.
    async fn name(&self, ctx: &Context<'_>) -> Result<String> {
        let Some(b) = self.built_in() else { return Ok(self.name.clone()) };
        let (locale, own) = own_words(ctx, b).await?;
        Ok(own.map_or_else(|| b.name_in(locale).to_owned(), |o| o.label))
    }
    /// What it tells a sales manager: a built-in's in the request's language, in the
    /// organization's own words where it re-described it.
    async fn description(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        let Some(b) = self.built_in() else { return Ok(self.description.clone()) };
        let (locale, own) = own_words(ctx, b).await?;
        Ok(Some(own.and_then(|o| o.description).unwrap_or_else(|| b.description_in(locale).to_owned())))
    }
}

/// The request's language, and the organization's own wording of a built-in KPI in it.
async fn own_words(
    ctx: &Context<'_>,
    b: model::BuiltInKpi,
) -> Result<(crate::core::locale::Locale, Option<entity::label_override::Model>)> {
    let locale = crate::org::graphql::request_locale(ctx).await?;
    let dir = crate::org::graphql::directory(ctx).await?;
    Ok((locale, dir.label(crate::org::service::KPI_LABEL, b.key(), locale).cloned()))
}

impl Kpi {
    fn built_in(&self) -> Option<model::BuiltInKpi> {
        (self.kind == KpiKind::BuiltIn).then(|| model::BuiltInKpi::from_key(&self.key)).flatten()
    }
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
    pub(super) fn new(p: &Period, c: &Cell) -> Self {
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
    pub(super) kpi_key: String,
    /// Monday of the week.
    pub(super) week_start: NaiveDate,
    /// The value entered.
    pub(super) value: Option<f64>,
    /// Who entered it.
    pub(super) reported_by: Option<Member>,
    /// When.
    pub(super) reported_at: chrono::DateTime<Utc>,
}

/// One KPI's values over a range of periods.
#[derive(SimpleObject)]
pub struct KpiSeries {
    /// The KPI.
    pub(super) kpi: Kpi,
    /// One point per period, oldest first.
    pub(super) points: Vec<KpiPoint>,
}

/// Values over the last weeks and which way they moved.
#[derive(SimpleObject)]
pub struct KpiTrend {
    /// Weekly values, oldest first (null where undefined).
    pub(super) values: Vec<Option<f64>>,
    /// UP, DOWN or FLAT.
    pub(super) direction: Trend,
}

/// One KPI of one member (or the team) on the scoreboard.
#[derive(SimpleObject)]
pub struct ScoreboardCell {
    /// The KPI's key (see `Scoreboard.kpis`).
    pub(super) kpi_key: String,
    /// This week's value.
    pub(super) value: Option<f64>,
    /// This week's target.
    pub(super) target: Option<f64>,
    /// ON_TARGET, OFF_TARGET or NO_TARGET.
    pub(super) status: KpiStatus,
    /// The last 6 weeks, ending with this week.
    pub(super) trend: KpiTrend,
}

/// A member's line on the scoreboard: the KPIs of their sales role.
#[derive(SimpleObject)]
pub struct ScoreboardRow {
    /// The member.
    pub(super) member: Member,
    /// One cell per KPI that applies to their sales role.
    pub(super) cells: Vec<ScoreboardCell>,
    /// The organization's directory, for a projection of the member's team.
    #[graphql(skip)]
    pub(super) dir: Arc<Directory>,
}

impl Project for KpiTrend {
    const TYPE: &'static str = "KpiTrend";

    fn project(&self, name: &str, s: &Positioned<SelectionSet>, _: &ContextSelectionSet<'_>) -> Option<Value> {
        match name {
            "values" => leaf(
                s,
                Value::List(self.values.iter().map(|v| v.as_ref().map_or(Value::Null, ScalarType::to_value)).collect()),
            ),
            "direction" => leaf(s, enum_value(self.direction)),
            _ => None,
        }
    }
}

impl Project for ScoreboardCell {
    const TYPE: &'static str = "ScoreboardCell";

    fn project(&self, name: &str, s: &Positioned<SelectionSet>, ctx: &ContextSelectionSet<'_>) -> Option<Value> {
        match name {
            "kpiKey" => leaf(s, self.kpi_key.clone()),
            "value" => leaf(s, self.value.as_ref().map_or(Value::Null, ScalarType::to_value)),
            "target" => leaf(s, self.target.as_ref().map_or(Value::Null, ScalarType::to_value)),
            "status" => leaf(s, enum_value(self.status)),
            "trend" => object(&self.trend, s, ctx),
            _ => None,
        }
    }
}

impl Project for ScoreboardRow {
    const TYPE: &'static str = "ScoreboardRow";

    fn project(&self, name: &str, s: &Positioned<SelectionSet>, ctx: &ContextSelectionSet<'_>) -> Option<Value> {
        match name {
            "member" => object(&MemberIn { member: &self.member.0, dir: &self.dir }, s, ctx),
            "cells" => list_of(&self.cells, s, ctx),
            _ => None,
        }
    }
}

/// The weekly meeting view of a team.
#[derive(SimpleObject)]
pub struct Scoreboard {
    /// The team.
    pub(super) team: Team,
    /// Monday of the week.
    pub(super) week_start: NaiveDate,
    /// The KPIs shown.
    pub(super) kpis: Vec<Kpi>,
    /// One row per active member of the team and its sub-teams.
    pub(super) rows: Projected<ScoreboardRow>,
    /// Team totals: sums for counts and money, pooled numerator ÷ pooled denominator for ratios.
    pub(super) totals: Projected<ScoreboardCell>,
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
        Ok(crate::org::graphql::member_by_id(ctx, self.0.member_id).await?)
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
