//! Input objects and payloads of the KPI and alert mutations and queries.

use async_graphql::{ID, InputObject, SimpleObject};
use chrono::NaiveDate;

use super::{Alert, AlertRule, Kpi};
use crate::core::period::PeriodGrain;
use crate::core::roles::SalesRole;
use crate::graphql::UserError;
use crate::kpi::model::{self, KpiDirection, KpiKind, KpiUnit};

/// A custom KPI (admins).
#[derive(InputObject)]
pub struct CreateKpiInput {
    /// snake_case key, unique; built-in keys are reserved.
    pub(super) key: String,
    /// Name.
    pub(super) name: String,
    /// Description.
    pub(super) description: Option<String>,
    /// ACTIVITY_COUNT, ACTIVITY_SUM, RATIO or SELF_REPORTED.
    pub(super) kind: KpiKind,
    /// Unit (must fit the kind).
    pub(super) unit: KpiUnit,
    /// Which way is better (default HIGHER_IS_BETTER).
    #[graphql(default_with = "KpiDirection::HigherIsBetter")]
    pub(super) direction: KpiDirection,
    /// ACTIVITY_COUNT/SUM: the activity types.
    #[graphql(default)]
    pub(super) activity_type_ids: Vec<ID>,
    /// RATIO: the numerator KPI (a count or sum).
    pub(super) numerator_key: Option<String>,
    /// RATIO: the denominator KPI (a count or sum).
    pub(super) denominator_key: Option<String>,
}

/// Changes to a custom KPI (admins).
#[derive(InputObject)]
pub struct UpdateKpiInput {
    /// The KPI's key.
    pub(super) key: String,
    /// The `version` you last read; when given and stale, the update is refused with CONFLICT
    /// instead of silently overwriting someone else's change.
    pub(super) version: Option<i32>,
    /// New name.
    pub(super) name: Option<String>,
    /// New description.
    pub(super) description: Option<String>,
    /// A built-in KPI's: the language the new name and description are in (the organization's
    /// own wording is kept per language); the request's language when not given. Ignored for
    /// custom KPIs, whose name is one for every language.
    pub(super) locale: Option<crate::core::locale::Locale>,
}

/// Puts a built-in KPI's name and description back to the built-in ones in a language.
#[derive(InputObject)]
pub struct ResetKpiNameInput {
    /// The built-in KPI's key.
    pub(super) key: String,
    /// The language; the request's language when not given.
    pub(super) locale: Option<crate::core::locale::Locale>,
}

/// Archives a custom KPI (admins).
#[derive(InputObject)]
pub struct ArchiveKpiInput {
    /// The KPI's key.
    pub(super) key: String,
}

/// Result of a KPI definition mutation.
#[derive(SimpleObject)]
pub struct KpiPayload {
    /// The KPI; `null` when refused.
    pub(super) kpi: Option<Kpi>,
    /// What to fix; empty on success.
    pub(super) user_errors: Vec<UserError>,
}

/// A weekly KPI target for a sales role (admins) or a member (admins; managers for their teams).
#[derive(InputObject)]
pub struct SetKpiTargetInput {
    /// The KPI.
    pub(super) kpi_key: String,
    /// The sales role whose default this is; give this or `memberId`.
    pub(super) sales_role: Option<SalesRole>,
    /// The member it overrides for.
    pub(super) member_id: Option<ID>,
    /// Per week; longer periods scale totals by whole weeks, rates keep it.
    pub(super) per_week: f64,
    /// From which date (default today).
    pub(super) effective_from: Option<NaiveDate>,
    /// Why.
    pub(super) reason: String,
}

/// Result of `setKpiTarget`.
#[derive(SimpleObject)]
pub struct KpiTargetPayload {
    /// The KPI.
    pub(super) kpi: Option<Kpi>,
    /// The target recorded, per week.
    pub(super) per_week: Option<f64>,
    /// What to fix; empty on success.
    pub(super) user_errors: Vec<UserError>,
}

/// One self-reported value.
#[derive(InputObject)]
pub struct KpiValueInput {
    /// A SELF_REPORTED KPI.
    pub(super) kpi_key: String,
    /// The value for the week.
    pub(super) value: f64,
}

/// The viewer's self-reported values for a week.
#[derive(InputObject)]
pub struct SubmitKpiValuesInput {
    /// Any date in the week (its Monday is used).
    pub(super) week: NaiveDate,
    /// The values.
    pub(super) values: Vec<KpiValueInput>,
}

/// Result of `submitKpiValues`.
#[derive(SimpleObject)]
pub struct SubmitKpiValuesPayload {
    /// How many values were recorded.
    pub(super) recorded: i32,
    /// What to fix; nothing is recorded when not empty.
    pub(super) user_errors: Vec<UserError>,
}

/// Locks a team's week: self-reported values become final.
#[derive(InputObject)]
pub struct LockKpiWeekInput {
    /// The team (its sub-teams are locked with it).
    pub(super) team_id: ID,
    /// Any date in the week.
    pub(super) week: NaiveDate,
}

/// Result of `lockKpiWeek`.
#[derive(SimpleObject)]
pub struct LockKpiWeekPayload {
    /// Monday of the locked week.
    pub(super) week_start: Option<NaiveDate>,
    /// What to fix; empty on success.
    pub(super) user_errors: Vec<UserError>,
}

/// Which values to compute.
#[derive(InputObject)]
pub struct KpiValuesInput {
    /// The KPIs.
    pub(super) kpi_keys: Vec<String>,
    /// A member…
    pub(super) member_id: Option<ID>,
    /// …or a team (pooled over its subtree); the whole organization when neither is given.
    pub(super) team_id: Option<ID>,
    /// WEEK, MONTH, QUARTER or YEAR.
    #[graphql(default_with = "PeriodGrain::Week")]
    pub(super) grain: PeriodGrain,
    /// First period: the one containing this date.
    pub(super) from: NaiveDate,
    /// Last period: the one containing this date (at most 104 periods).
    pub(super) to: NaiveDate,
}

/// A new alert rule (admins; managers for a team of theirs).
#[derive(InputObject)]
pub struct CreateAlertRuleInput {
    /// The KPI to watch.
    pub(super) kpi_key: String,
    /// BELOW_TARGET_STREAK (under target N weeks in a row) or RATIO_DECLINING (falling N weeks in a row).
    pub(super) kind: model::AlertKind,
    /// N, 2 to 12.
    pub(super) periods: i32,
    /// Only members of this team (and sub-teams)…
    pub(super) team_id: Option<ID>,
    /// …or with this sales role.
    pub(super) sales_role: Option<SalesRole>,
}

/// Result of `createAlertRule`.
#[derive(SimpleObject)]
pub struct AlertRulePayload {
    /// The rule; `null` when refused.
    pub(super) rule: Option<AlertRule>,
    /// What to fix; empty on success.
    pub(super) user_errors: Vec<UserError>,
}

/// Acknowledges an alert.
#[derive(InputObject)]
pub struct AcknowledgeAlertInput {
    /// The alert.
    pub(super) id: ID,
    /// What was done about it.
    pub(super) note: Option<String>,
}

/// Result of `acknowledgeAlert` and `evaluateAlerts`.
#[derive(SimpleObject)]
pub struct AlertsPayload {
    /// The alerts concerned.
    pub(super) alerts: Vec<Alert>,
    /// What to fix; empty on success.
    pub(super) user_errors: Vec<UserError>,
}
