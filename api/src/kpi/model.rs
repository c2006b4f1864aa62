//! KPI rules: the built-in catalogue with exact formulas, computing values from plain facts,
//! custom KPIs, pooling member values into a team value, status against a target, weekly targets
//! over longer periods, trends, and the pattern alerts. Pure functions, no I/O.
//!
//! # Numbers
//!
//! Every KPI value, numerator, denominator and target is a [`Decimal`], never a float: money
//! sums stay exact, and a value that meets its target exactly (29 of 100 against a 29 % target)
//! is ON_TARGET, where `29.0 / 100.0 * 100.0` in binary floating point is `28.999999999999996`.
//! Quotients carry up to 28 significant digits; rounding for display is the API's business.
//! Percentages are on the 0–100 scale (`62.5` means 62.5 %).
//!
//! # What counts in a period
//!
//! Every built-in counts **events in the period** (the half-open window `[start, end)`): a deal
//! counts as a new lead in the period its lead was created, as qualified in the period it was
//! qualified, as won or lost in the period it closed. So a closed week's values never move
//! afterwards (which the alerts rely on: they are evaluated when a week closes), and all
//! built-ins, including those that mix deals with activities (quote-to-customer), follow one rule.
//! The price: a flow ratio such as the lead qualification rate can exceed 100 % in a week that
//! qualifies leads created in earlier weeks.
//!
//! # Team values
//!
//! A team's value is never an average of its members' ratios. [`pool`] adds counts and money,
//! and for ratios and means adds the members' numerators and denominators and divides once —
//! which equals computing the KPI over the team's combined facts (tested). Means (cycle length,
//! follow-up time, average deal size) carry their sum as numerator and their item count as
//! denominator, so the pooled mean is the mean over all underlying deals.

use async_graphql::Enum;
use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::org::model::{FieldError, SalesRole};
use crate::scoring::model::Period;

// ---------------------------------------------------------------------------------------------
// Enums
// ---------------------------------------------------------------------------------------------

/// What a KPI's number measures, which decides how it is shown.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum KpiUnit {
    /// A number of things: leads, deals, calls, points.
    Count,
    /// A percentage on the 0–100 scale: 62.5 means 62.5 %.
    Percent,
    /// An amount in the organization's currency.
    Money,
    /// A duration in (fractional) days.
    Days,
    /// A duration in (fractional) hours.
    Hours,
    /// A plain quotient, not scaled to percent: money per day for sales velocity, or for a
    /// custom ratio something like calls per appointment.
    Rate,
}

impl KpiUnit {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            KpiUnit::Count => "COUNT",
            KpiUnit::Percent => "PERCENT",
            KpiUnit::Money => "MONEY",
            KpiUnit::Days => "DAYS",
            KpiUnit::Hours => "HOURS",
            KpiUnit::Rate => "RATE",
        }
    }

    /// Parses the stored form; unknown values are `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "COUNT" => KpiUnit::Count,
            "PERCENT" => KpiUnit::Percent,
            "MONEY" => KpiUnit::Money,
            "DAYS" => KpiUnit::Days,
            "HOURS" => KpiUnit::Hours,
            "RATE" => KpiUnit::Rate,
            _ => return None,
        })
    }
}

/// Which way a KPI should move.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum KpiDirection {
    /// More is better: on target at or above the target (revenue, close rate).
    HigherIsBetter,
    /// Less is better: on target at or below the target (sales cycle length, lead follow-up time).
    LowerIsBetter,
}

impl KpiDirection {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            KpiDirection::HigherIsBetter => "HIGHER_IS_BETTER",
            KpiDirection::LowerIsBetter => "LOWER_IS_BETTER",
        }
    }

    /// Parses the stored form; unknown values are `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "HIGHER_IS_BETTER" => KpiDirection::HigherIsBetter,
            "LOWER_IS_BETTER" => KpiDirection::LowerIsBetter,
            _ => return None,
        })
    }
}

/// Where a KPI's value comes from.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum KpiKind {
    /// One of the built-in catalogue's formulas over deals and activities.
    BuiltIn,
    /// The number of units logged for the chosen activity types (the sum of their quantities:
    /// one activity of 5 calls counts 5).
    ActivityCount,
    /// The points awarded for the chosen activity types.
    ActivitySum,
    /// One KPI's value divided by another's; both must be counts or sums (additive), so the
    /// team value is the team's numerator ÷ the team's denominator.
    Ratio,
    /// A number the rep enters for each week.
    SelfReported,
}

impl KpiKind {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            KpiKind::BuiltIn => "BUILT_IN",
            KpiKind::ActivityCount => "ACTIVITY_COUNT",
            KpiKind::ActivitySum => "ACTIVITY_SUM",
            KpiKind::Ratio => "RATIO",
            KpiKind::SelfReported => "SELF_REPORTED",
        }
    }

    /// Parses the stored form; unknown values are `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "BUILT_IN" => KpiKind::BuiltIn,
            "ACTIVITY_COUNT" => KpiKind::ActivityCount,
            "ACTIVITY_SUM" => KpiKind::ActivitySum,
            "RATIO" => KpiKind::Ratio,
            "SELF_REPORTED" => KpiKind::SelfReported,
            _ => return None,
        })
    }
}

/// A KPI value compared with its target.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum KpiStatus {
    /// At or above the target (higher is better), or at or below it (lower is better).
    OnTarget,
    /// Short of the target.
    OffTarget,
    /// No target set, or no value to compare (e.g. a ratio with a zero denominator).
    NoTarget,
}

impl KpiStatus {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            KpiStatus::OnTarget => "ON_TARGET",
            KpiStatus::OffTarget => "OFF_TARGET",
            KpiStatus::NoTarget => "NO_TARGET",
        }
    }

    /// Parses the stored form; unknown values are `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ON_TARGET" => KpiStatus::OnTarget,
            "OFF_TARGET" => KpiStatus::OffTarget,
            "NO_TARGET" => KpiStatus::NoTarget,
            _ => return None,
        })
    }
}

/// Which way a KPI's values moved over recent weeks (the numbers, not whether that is good:
/// see [`Trend::is_improvement`]).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Trend {
    /// The values rose by more than the tolerance over the window.
    Up,
    /// The values fell by more than the tolerance over the window.
    Down,
    /// The values stayed within the tolerance, or there were fewer than two values.
    Flat,
}

impl Trend {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Trend::Up => "UP",
            Trend::Down => "DOWN",
            Trend::Flat => "FLAT",
        }
    }

    /// Parses the stored form; unknown values are `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "UP" => Trend::Up,
            "DOWN" => Trend::Down,
            "FLAT" => Trend::Flat,
            _ => return None,
        })
    }

    /// Whether the movement is good news for a KPI with `direction`; `None` when flat.
    pub fn is_improvement(self, direction: KpiDirection) -> Option<bool> {
        match self {
            Trend::Flat => None,
            Trend::Up => Some(direction == KpiDirection::HigherIsBetter),
            Trend::Down => Some(direction == KpiDirection::LowerIsBetter),
        }
    }
}

/// The bad pattern an alert rule watches for.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AlertKind {
    /// The KPI was off target in each of the last N weeks (e.g. three weeks of too few leads).
    BelowTargetStreak,
    /// A ratio fell in each of the last N week-to-week steps (e.g. quote-to-customer sliding).
    RatioDeclining,
}

impl AlertKind {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::BelowTargetStreak => "BELOW_TARGET_STREAK",
            AlertKind::RatioDeclining => "RATIO_DECLINING",
        }
    }

    /// Parses the stored form; unknown values are `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "BELOW_TARGET_STREAK" => AlertKind::BelowTargetStreak,
            "RATIO_DECLINING" => AlertKind::RatioDeclining,
            _ => return None,
        })
    }
}

/// Where a raised alert stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AlertStatus {
    /// Raised and not yet handled.
    Open,
    /// A manager has seen it and noted what is done about it.
    Acknowledged,
}

impl AlertStatus {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Open => "OPEN",
            AlertStatus::Acknowledged => "ACKNOWLEDGED",
        }
    }

    /// Parses the stored form; unknown values are `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "OPEN" => AlertStatus::Open,
            "ACKNOWLEDGED" => AlertStatus::Acknowledged,
            _ => return None,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The built-in catalogue
// ---------------------------------------------------------------------------------------------

/// A KPI of the built-in catalogue (DESIGN.md §5). Its stable identifier is its snake_case
/// [`key`](BuiltInKpi::key), which custom KPIs may not take.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum BuiltInKpi {
    /// Leads created in the period (the denominator of the lead qualification rate).
    NewLeads,
    /// Deals qualified in the period ÷ leads created in the period, in percent.
    LeadQualificationRate,
    /// Deals reaching the proposal stage in the period ÷ deals qualified in the period, in percent.
    ProposalRate,
    /// Deals won ÷ deals closed (won + lost) in the period, in percent.
    CloseRate,
    /// Win rate by count: deals won ÷ deals closed in the period, in percent (by the design's
    /// definitions the same number as the close rate, kept under its common name).
    WinRate,
    /// Win rate by value: amount won ÷ amount closed (won + lost) in the period, in percent.
    WinRateValue,
    /// Appointments ÷ calls logged in the period, in percent.
    CallToAppointmentRate,
    /// Won deals that had a quote ÷ quotes sent in the period, in percent.
    QuoteToCustomerRate,
    /// Amount of the deals won in the period.
    Revenue,
    /// Number of deals won in the period.
    DealsWon,
    /// Mean amount of the deals won in the period.
    AverageDealSize,
    /// Mean days from lead creation to close of the deals won in the period.
    SalesCycleLength,
    /// Mean hours from lead creation to first contact of the leads first contacted in the period.
    LeadFollowUpTime,
    /// Sales velocity (dealsnelheid): open deals × win rate × average deal size ÷ sales cycle
    /// length, in money per day.
    SalesVelocity,
    /// Revenue won in the period ÷ number of reps; meant to be read per quarter.
    AverageQuarterlyRevenuePerRep,
    /// Forecast accuracy, 1 − |forecast − actual| ÷ actual; computed by the forecast module.
    ForecastAccuracy,
}

impl BuiltInKpi {
    /// Every built-in KPI, in catalogue order.
    pub const ALL: [BuiltInKpi; 16] = [
        BuiltInKpi::NewLeads,
        BuiltInKpi::LeadQualificationRate,
        BuiltInKpi::ProposalRate,
        BuiltInKpi::CloseRate,
        BuiltInKpi::WinRate,
        BuiltInKpi::WinRateValue,
        BuiltInKpi::CallToAppointmentRate,
        BuiltInKpi::QuoteToCustomerRate,
        BuiltInKpi::Revenue,
        BuiltInKpi::DealsWon,
        BuiltInKpi::AverageDealSize,
        BuiltInKpi::SalesCycleLength,
        BuiltInKpi::LeadFollowUpTime,
        BuiltInKpi::SalesVelocity,
        BuiltInKpi::AverageQuarterlyRevenuePerRep,
        BuiltInKpi::ForecastAccuracy,
    ];

    /// The stable snake_case key (stored, and used in the API's `kpiKey` arguments).
    pub fn key(self) -> &'static str {
        match self {
            BuiltInKpi::NewLeads => "new_leads",
            BuiltInKpi::LeadQualificationRate => "lead_qualification_rate",
            BuiltInKpi::ProposalRate => "proposal_rate",
            BuiltInKpi::CloseRate => "close_rate",
            BuiltInKpi::WinRate => "win_rate",
            BuiltInKpi::WinRateValue => "win_rate_value",
            BuiltInKpi::CallToAppointmentRate => "call_to_appointment_rate",
            BuiltInKpi::QuoteToCustomerRate => "quote_to_customer_rate",
            BuiltInKpi::Revenue => "revenue",
            BuiltInKpi::DealsWon => "deals_won",
            BuiltInKpi::AverageDealSize => "average_deal_size",
            BuiltInKpi::SalesCycleLength => "sales_cycle_length",
            BuiltInKpi::LeadFollowUpTime => "lead_follow_up_time",
            BuiltInKpi::SalesVelocity => "sales_velocity",
            BuiltInKpi::AverageQuarterlyRevenuePerRep => "average_quarterly_revenue_per_rep",
            BuiltInKpi::ForecastAccuracy => "forecast_accuracy",
        }
    }

    /// The built-in with this key; `None` for any other key (a custom KPI's).
    pub fn from_key(key: &str) -> Option<Self> {
        BuiltInKpi::ALL.into_iter().find(|k| k.key() == key)
    }

    /// The display name.
    pub fn name(self) -> &'static str {
        match self {
            BuiltInKpi::NewLeads => "New leads",
            BuiltInKpi::LeadQualificationRate => "Lead qualification rate",
            BuiltInKpi::ProposalRate => "Proposal rate",
            BuiltInKpi::CloseRate => "Close rate",
            BuiltInKpi::WinRate => "Win rate (count)",
            BuiltInKpi::WinRateValue => "Win rate (value)",
            BuiltInKpi::CallToAppointmentRate => "Call-to-appointment rate",
            BuiltInKpi::QuoteToCustomerRate => "Quote-to-customer rate",
            BuiltInKpi::Revenue => "Revenue",
            BuiltInKpi::DealsWon => "Deals won",
            BuiltInKpi::AverageDealSize => "Average deal size",
            BuiltInKpi::SalesCycleLength => "Sales cycle length",
            BuiltInKpi::LeadFollowUpTime => "Lead follow-up time",
            BuiltInKpi::SalesVelocity => "Sales velocity",
            BuiltInKpi::AverageQuarterlyRevenuePerRep => "Average quarterly revenue per rep",
            BuiltInKpi::ForecastAccuracy => "Forecast accuracy",
        }
    }

    /// What the KPI tells a sales manager.
    pub fn description(self) -> &'static str {
        match self {
            BuiltInKpi::NewLeads => "How many new leads entered the pipeline: the fuel of every other number.",
            BuiltInKpi::LeadQualificationRate => "The share of new leads that qualify as real prospects.",
            BuiltInKpi::ProposalRate => "The share of qualified deals that get a proposal (quote).",
            BuiltInKpi::CloseRate => "The share of decided deals that were won.",
            BuiltInKpi::WinRate => {
                "The share of decided deals that were won, by count (the close rate under its common name)."
            }
            BuiltInKpi::WinRateValue => "The share of the decided pipeline value that was won.",
            BuiltInKpi::CallToAppointmentRate => "How many calls it takes to set an appointment, as a percentage.",
            BuiltInKpi::QuoteToCustomerRate => "How well quotes turn into customers.",
            BuiltInKpi::Revenue => "The value of the deals won.",
            BuiltInKpi::DealsWon => "How many deals were won.",
            BuiltInKpi::AverageDealSize => "The typical value of a won deal.",
            BuiltInKpi::SalesCycleLength => {
                "How long it takes from a lead coming in to winning the deal; shorter is better."
            }
            BuiltInKpi::LeadFollowUpTime => "How quickly a new lead is contacted; faster is better.",
            BuiltInKpi::SalesVelocity => {
                "Dealsnelheid: how much money the open pipeline brings in per day at the current win rate, \
                 deal size and cycle length."
            }
            BuiltInKpi::AverageQuarterlyRevenuePerRep => "Revenue divided by the number of reps; read it per quarter.",
            BuiltInKpi::ForecastAccuracy => "How close the forecast came to the actual result.",
        }
    }

    /// The exact formula, as shown to users.
    pub fn formula(self) -> &'static str {
        match self {
            BuiltInKpi::NewLeads => "number of deals whose lead was created in the period",
            BuiltInKpi::LeadQualificationRate => {
                "deals qualified in the period ÷ deals whose lead was created in the period × 100"
            }
            BuiltInKpi::ProposalRate => {
                "deals reaching the proposal stage in the period ÷ deals qualified in the period × 100"
            }
            BuiltInKpi::CloseRate | BuiltInKpi::WinRate => {
                "deals won in the period ÷ (deals won + deals lost in the period) × 100"
            }
            BuiltInKpi::WinRateValue => "amount won in the period ÷ (amount won + amount lost in the period) × 100",
            BuiltInKpi::CallToAppointmentRate => "appointments in the period ÷ calls in the period × 100",
            BuiltInKpi::QuoteToCustomerRate => {
                "deals won in the period that had a quote ÷ quotes sent in the period × 100"
            }
            BuiltInKpi::Revenue => "sum of the amounts of the deals won in the period",
            BuiltInKpi::DealsWon => "number of deals won in the period",
            BuiltInKpi::AverageDealSize => "amount won in the period ÷ deals won in the period",
            BuiltInKpi::SalesCycleLength => {
                "mean of (closed at − lead created at) over the deals won in the period, in days"
            }
            BuiltInKpi::LeadFollowUpTime => {
                "mean of (first contact at − lead created at) over the deals first contacted in the period, in hours"
            }
            BuiltInKpi::SalesVelocity => {
                "deals open at the end of the period × close rate × average deal size ÷ sales cycle length, \
                 per day (all over the period)"
            }
            BuiltInKpi::AverageQuarterlyRevenuePerRep => "revenue won in the period ÷ number of reps",
            BuiltInKpi::ForecastAccuracy => "(1 − |forecast − actual| ÷ actual) × 100",
        }
    }

    /// The unit of its values.
    pub fn unit(self) -> KpiUnit {
        match self {
            BuiltInKpi::NewLeads | BuiltInKpi::DealsWon => KpiUnit::Count,
            BuiltInKpi::LeadQualificationRate
            | BuiltInKpi::ProposalRate
            | BuiltInKpi::CloseRate
            | BuiltInKpi::WinRate
            | BuiltInKpi::WinRateValue
            | BuiltInKpi::CallToAppointmentRate
            | BuiltInKpi::QuoteToCustomerRate
            | BuiltInKpi::ForecastAccuracy => KpiUnit::Percent,
            BuiltInKpi::Revenue | BuiltInKpi::AverageDealSize | BuiltInKpi::AverageQuarterlyRevenuePerRep => {
                KpiUnit::Money
            }
            BuiltInKpi::SalesCycleLength => KpiUnit::Days,
            BuiltInKpi::LeadFollowUpTime => KpiUnit::Hours,
            BuiltInKpi::SalesVelocity => KpiUnit::Rate,
        }
    }

    /// Which way it should move: the two durations are lower-is-better, everything else higher.
    pub fn direction(self) -> KpiDirection {
        match self {
            BuiltInKpi::SalesCycleLength | BuiltInKpi::LeadFollowUpTime => KpiDirection::LowerIsBetter,
            _ => KpiDirection::HigherIsBetter,
        }
    }

    /// How member values combine into a team value (see [`pool`]).
    pub fn pooling(self) -> Pooling {
        match self {
            // Sales velocity is a flow of money per day; flows add up. (Recomputing it from the
            // team's pooled averages would understate fast reps: the mean of cycle lengths is not
            // what the sum of the reps' flows divides by.)
            BuiltInKpi::NewLeads | BuiltInKpi::Revenue | BuiltInKpi::DealsWon | BuiltInKpi::SalesVelocity => {
                Pooling::Sum
            }
            BuiltInKpi::LeadQualificationRate
            | BuiltInKpi::ProposalRate
            | BuiltInKpi::CloseRate
            | BuiltInKpi::WinRate
            | BuiltInKpi::WinRateValue
            | BuiltInKpi::CallToAppointmentRate
            | BuiltInKpi::QuoteToCustomerRate => Pooling::Quotient { percent: true },
            BuiltInKpi::AverageDealSize
            | BuiltInKpi::SalesCycleLength
            | BuiltInKpi::LeadFollowUpTime
            | BuiltInKpi::AverageQuarterlyRevenuePerRep => Pooling::Quotient { percent: false },
            BuiltInKpi::ForecastAccuracy => Pooling::Elsewhere,
        }
    }

    /// How a weekly target becomes a target for a longer period: totals that add up over time
    /// scale by whole weeks; rates, means and velocity do not.
    pub fn target_scaling(self) -> TargetScaling {
        match self {
            BuiltInKpi::NewLeads
            | BuiltInKpi::Revenue
            | BuiltInKpi::DealsWon
            | BuiltInKpi::AverageQuarterlyRevenuePerRep => TargetScaling::ByWholeWeeks,
            _ => TargetScaling::Fixed,
        }
    }

    /// Whether [`compute_builtin`] computes it (the forecast accuracy comes from the forecast
    /// module, which has the submissions).
    pub fn is_computed_from_facts(self) -> bool {
        self != BuiltInKpi::ForecastAccuracy
    }

    /// The sales roles the KPI applies to until the organization chooses otherwise, after the
    /// three roles of the source articles: inbound reps follow up incoming leads, outbound reps
    /// approach cold leads and set appointments, closers run the sales conversations; managers
    /// see everything.
    pub fn default_sales_roles(self) -> &'static [SalesRole] {
        use SalesRole::{Closer, Inbound, Manager, Outbound};
        match self {
            BuiltInKpi::NewLeads | BuiltInKpi::LeadQualificationRate => &[Inbound, Outbound, Manager],
            BuiltInKpi::LeadFollowUpTime => &[Inbound, Manager],
            BuiltInKpi::CallToAppointmentRate => &[Outbound, Manager],
            BuiltInKpi::ProposalRate
            | BuiltInKpi::CloseRate
            | BuiltInKpi::WinRate
            | BuiltInKpi::WinRateValue
            | BuiltInKpi::QuoteToCustomerRate
            | BuiltInKpi::Revenue
            | BuiltInKpi::DealsWon
            | BuiltInKpi::AverageDealSize
            | BuiltInKpi::SalesCycleLength
            | BuiltInKpi::SalesVelocity => &[Closer, Manager],
            BuiltInKpi::AverageQuarterlyRevenuePerRep | BuiltInKpi::ForecastAccuracy => &[Manager],
        }
    }

    /// Its unit, direction, pooling and target scaling together.
    pub fn shape(self) -> KpiShape {
        KpiShape {
            unit: self.unit(),
            direction: self.direction(),
            pooling: self.pooling(),
            target_scaling: self.target_scaling(),
        }
    }
}

/// One entry of the built-in catalogue, as listed to users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogueEntry {
    /// The KPI.
    pub kpi: BuiltInKpi,
    /// Stable snake_case key.
    pub key: &'static str,
    /// Display name.
    pub name: &'static str,
    /// What it tells a sales manager.
    pub description: &'static str,
    /// The exact formula.
    pub formula: &'static str,
    /// Unit of its values.
    pub unit: KpiUnit,
    /// Which way it should move.
    pub direction: KpiDirection,
}

/// The built-in catalogue, in a stable order.
pub fn catalogue() -> Vec<CatalogueEntry> {
    BuiltInKpi::ALL
        .into_iter()
        .map(|kpi| CatalogueEntry {
            kpi,
            key: kpi.key(),
            name: kpi.name(),
            description: kpi.description(),
            formula: kpi.formula(),
            unit: kpi.unit(),
            direction: kpi.direction(),
        })
        .collect()
}

/// Whether a KPI applies to a member's sales role: `roles` empty means every role.
pub fn applies_to(roles: &[SalesRole], role: SalesRole) -> bool {
    roles.is_empty() || roles.contains(&role)
}

// ---------------------------------------------------------------------------------------------
// Shapes: how values combine
// ---------------------------------------------------------------------------------------------

/// How member values combine into a team value (and self-reported weeks into a longer period).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Pooling {
    /// Values add up: counts, money, sums, and velocity (a flow per day).
    Sum,
    /// Numerators add up and denominators add up; the value is their quotient (× 100 when
    /// `percent`). Used for ratios and for means (sum of items ÷ number of items).
    Quotient {
        /// Whether the quotient is shown as a percentage.
        percent: bool,
    },
    /// Computed by another module (forecast accuracy): [`pool`] gives no value.
    Elsewhere,
}

/// How a weekly target becomes the target of a longer period.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum TargetScaling {
    /// A total: the weekly target times the number of whole weeks in the period (see
    /// [`whole_week_count`]).
    ByWholeWeeks,
    /// A rate, mean or velocity: the weekly target is the target of every period.
    Fixed,
}

/// Everything the rules need to know about a KPI besides its formula.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct KpiShape {
    /// Unit of its values.
    pub unit: KpiUnit,
    /// Which way it should move.
    pub direction: KpiDirection,
    /// How member values combine into a team value.
    pub pooling: Pooling,
    /// How a weekly target scales to longer periods.
    pub target_scaling: TargetScaling,
}

impl KpiShape {
    /// The shape of a custom KPI, refusing units that do not fit its kind:
    /// - ACTIVITY_COUNT / ACTIVITY_SUM: COUNT, MONEY, HOURS or DAYS (totals that add up);
    /// - RATIO: PERCENT (× 100) or RATE (plain quotient);
    /// - SELF_REPORTED: any unit; COUNT and MONEY add up over members and weeks, the others
    ///   (a "selling time %", hours, a rate) are averaged over the reports;
    /// - BUILT_IN is not custom: refused.
    pub fn custom(kind: KpiKind, unit: KpiUnit, direction: KpiDirection) -> Result<KpiShape, FieldError> {
        let additive = matches!(unit, KpiUnit::Count | KpiUnit::Money | KpiUnit::Hours | KpiUnit::Days);
        let sum = KpiShape { unit, direction, pooling: Pooling::Sum, target_scaling: TargetScaling::ByWholeWeeks };
        match kind {
            KpiKind::BuiltIn => {
                Err(FieldError::new("kind", "INVALID", "built-in KPIs are not created; choose a custom kind"))
            }
            KpiKind::ActivityCount | KpiKind::ActivitySum if additive => Ok(sum),
            KpiKind::ActivityCount | KpiKind::ActivitySum => {
                Err(FieldError::new("unit", "INVALID", "an activity count or sum must be COUNT, MONEY, HOURS or DAYS"))
            }
            KpiKind::Ratio => match unit {
                KpiUnit::Percent | KpiUnit::Rate => Ok(KpiShape {
                    unit,
                    direction,
                    pooling: Pooling::Quotient { percent: unit == KpiUnit::Percent },
                    target_scaling: TargetScaling::Fixed,
                }),
                _ => Err(FieldError::new("unit", "INVALID", "a ratio must be PERCENT or RATE")),
            },
            KpiKind::SelfReported => Ok(match unit {
                KpiUnit::Count | KpiUnit::Money => sum,
                _ => KpiShape {
                    unit,
                    direction,
                    pooling: Pooling::Quotient { percent: false },
                    target_scaling: TargetScaling::Fixed,
                },
            }),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Facts
// ---------------------------------------------------------------------------------------------

/// Activity-type key: the activity counts as calls (call-to-appointment denominator).
pub const ACTIVITY_KEY_CALLS: &str = "calls";
/// Activity-type key: the activity counts as appointments (call-to-appointment numerator).
pub const ACTIVITY_KEY_APPOINTMENTS: &str = "appointments";
/// Activity-type key: the activity counts as quotes sent (quote-to-customer denominator).
pub const ACTIVITY_KEY_QUOTES_SENT: &str = "quotes_sent";
/// Every key an activity type may carry to feed the built-in KPIs.
pub const ACTIVITY_KPI_KEYS: [&str; 3] = [ACTIVITY_KEY_CALLS, ACTIVITY_KEY_APPOINTMENTS, ACTIVITY_KEY_QUOTES_SENT];

/// The half-open time window `[start, end)` a value is computed over.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    /// First instant (inclusive).
    pub start: DateTime<Utc>,
    /// End instant (exclusive).
    pub end: DateTime<Utc>,
}

impl Window {
    /// The window `[start, end)`.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Window { start, end }
    }

    /// Whether `at` lies in the window.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && at < self.end
    }

    /// Whether `at` is set and lies in the window.
    pub fn contains_opt(&self, at: Option<DateTime<Utc>>) -> bool {
        at.is_some_and(|t| self.contains(t))
    }
}

impl From<Period> for Window {
    fn from(p: Period) -> Self {
        Window { start: p.start, end: p.end }
    }
}

/// Whether and how a deal has closed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum DealClose {
    /// Still open (or reopened).
    Open,
    /// Won at this instant.
    Won(DateTime<Utc>),
    /// Lost at this instant.
    Lost(DateTime<Utc>),
}

/// What the KPIs need to know about one deal. The store passes the deals owned by the subject
/// (a superset is fine: every rule filters by its own timestamp).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DealFacts {
    /// The deal's amount in the organization's currency.
    pub amount: Decimal,
    /// When the deal record was created (stands in for a missing `lead_created_at`).
    pub created_at: DateTime<Utc>,
    /// When the lead came in.
    pub lead_created_at: Option<DateTime<Utc>>,
    /// When the rep first contacted the lead.
    pub first_contact_at: Option<DateTime<Utc>>,
    /// When the deal first reached the qualified stage or any stage after it (from the stage
    /// history; a deal that skipped the stage counts from the move that passed it).
    pub qualified_at: Option<DateTime<Utc>>,
    /// When the deal first reached the proposal stage or any stage after it.
    pub proposal_at: Option<DateTime<Utc>>,
    /// Whether a quote (*offerte*) was sent for the deal: a `quotes_sent` activity is linked to
    /// it, or it reached the proposal stage.
    pub quoted: bool,
    /// Whether and when it closed.
    pub close: DealClose,
}

impl DealFacts {
    /// When the lead came in: `lead_created_at`, else the record's creation.
    pub fn lead_at(&self) -> DateTime<Utc> {
        self.lead_created_at.unwrap_or(self.created_at)
    }

    /// When it was won, if it was.
    pub fn won_at(&self) -> Option<DateTime<Utc>> {
        match self.close {
            DealClose::Won(at) => Some(at),
            _ => None,
        }
    }

    /// When it was lost, if it was.
    pub fn lost_at(&self) -> Option<DateTime<Utc>> {
        match self.close {
            DealClose::Lost(at) => Some(at),
            _ => None,
        }
    }

    /// Whether it was open at instant `at`: its lead had come in before `at` and it had not
    /// closed before `at` (a deal closing exactly at `at` was still open until then).
    pub fn is_open_at(&self, at: DateTime<Utc>) -> bool {
        let closed_at = match self.close {
            DealClose::Open => None,
            DealClose::Won(t) | DealClose::Lost(t) => Some(t),
        };
        self.lead_at() < at && closed_at.is_none_or(|t| t >= at)
    }
}

/// The activities of one activity type logged by the subject in the window (voids excluded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivityTotal {
    /// The activity type.
    pub activity_type_id: Uuid,
    /// The type's KPI key, if it feeds a built-in (one of [`ACTIVITY_KPI_KEYS`]).
    pub kpi_key: Option<String>,
    /// Units logged: the sum of the activities' quantities (a PROGRESS activity counts 1).
    pub units: Decimal,
    /// Points awarded.
    pub points: Decimal,
}

/// The facts of one subject (a member, or several pooled) for computing KPIs over a window.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubjectFacts {
    /// The subject's deals (a superset is fine).
    pub deals: Vec<DealFacts>,
    /// Activity totals per type, for the window only.
    pub activities: Vec<ActivityTotal>,
    /// Number of reps the subject stands for: 1 for a member.
    pub rep_count: u32,
}

impl SubjectFacts {
    /// Units logged for activity types carrying `kpi_key`.
    pub fn activity_units(&self, kpi_key: &str) -> Decimal {
        sum_decimals(self.activities.iter().filter(|a| a.kpi_key.as_deref() == Some(kpi_key)).map(|a| a.units))
    }

    /// The facts of several subjects together (a team from its members): deals and activities
    /// concatenated, reps added up.
    pub fn merge<'a>(parts: impl IntoIterator<Item = &'a SubjectFacts>) -> SubjectFacts {
        let mut merged = SubjectFacts::default();
        for part in parts {
            merged.deals.extend(part.deals.iter().cloned());
            merged.activities.extend(part.activities.iter().cloned());
            merged.rep_count = merged.rep_count.saturating_add(part.rep_count);
        }
        merged
    }
}

fn sum_decimals(values: impl IntoIterator<Item = Decimal>) -> Decimal {
    values.into_iter().fold(Decimal::ZERO, Decimal::saturating_add)
}

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

/// A computed KPI value. Ratios and means expose what they divide: `numerator` (for a mean, the
/// sum of the items in the KPI's unit) and `denominator` (for a mean, the number of items).
/// Totals (counts, money, velocity) have neither. `value` is `None` when it is undefined — a zero
/// denominator, a mean of nothing, a self-reported week nobody filled in — never 0 or NaN.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct KpiValue {
    /// The value in the KPI's unit.
    pub value: Option<Decimal>,
    /// What a ratio or mean divides.
    pub numerator: Option<Decimal>,
    /// What a ratio or mean divides by.
    pub denominator: Option<Decimal>,
}

impl KpiValue {
    /// No value.
    pub const NONE: KpiValue = KpiValue { value: None, numerator: None, denominator: None };

    /// A total (count, money, velocity).
    pub fn total(value: Decimal) -> KpiValue {
        KpiValue { value: Some(value), numerator: None, denominator: None }
    }

    /// `numerator ÷ denominator` (× 100 when `percent`); no value when the denominator is zero.
    pub fn quotient(numerator: Decimal, denominator: Decimal, percent: bool) -> KpiValue {
        KpiValue {
            value: divide(numerator, denominator, percent),
            numerator: Some(numerator),
            denominator: Some(denominator),
        }
    }
}

/// `numerator ÷ denominator` (× 100 when `percent`); `None` for a zero denominator or overflow.
fn divide(numerator: Decimal, denominator: Decimal, percent: bool) -> Option<Decimal> {
    if denominator.is_zero() {
        return None;
    }
    if !percent {
        return numerator.checked_div(denominator);
    }
    // Multiplying first keeps 29 × 100 ÷ 100 exact; dividing first is the fallback for huge numerators.
    numerator
        .checked_mul(Decimal::ONE_HUNDRED)
        .and_then(|n| n.checked_div(denominator))
        .or_else(|| numerator.checked_div(denominator)?.checked_mul(Decimal::ONE_HUNDRED))
}

const SECONDS_PER_HOUR: i64 = 3600;
const SECONDS_PER_DAY: i64 = 86_400;

/// The mean of `to − from` over `pairs`, in units of `unit_seconds`. Pairs with `to` before
/// `from` (inconsistent dates) are left out rather than clamped, so they neither shorten nor
/// lengthen the mean.
fn mean_duration(pairs: impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)>, unit_seconds: i64) -> KpiValue {
    let (mut seconds, mut count) = (0i128, 0i64);
    for (from, to) in pairs {
        let secs = (to - from).num_seconds();
        if secs >= 0 {
            seconds += i128::from(secs);
            count += 1;
        }
    }
    let total = Decimal::try_from_i128_with_scale(seconds, 0).unwrap_or(Decimal::MAX);
    let Some(numerator) = total.checked_div(Decimal::from(unit_seconds)) else {
        return KpiValue::NONE;
    };
    let denominator = Decimal::from(count);
    // Divide the whole seconds once so whole days and hours stay exact.
    let value = total.checked_div(Decimal::from(unit_seconds).saturating_mul(denominator)).filter(|_| count > 0);
    KpiValue { value, numerator: Some(numerator), denominator: Some(denominator) }
}

/// Computes a built-in KPI over `window` from the subject's facts (see the module docs: events
/// in the window count). Zero denominators and empty means give `value: None`.
/// [`BuiltInKpi::ForecastAccuracy`] is computed by the forecast module: here always no value.
///
/// Sales velocity is `open × close rate × average deal size ÷ sales cycle length` with every
/// factor over the window: open = deals open at the window's end, the close rate by count, the
/// average size and cycle length of the deals won in it. It has no value when any factor is
/// undefined (no deal closed, none won, or a zero cycle length).
pub fn compute_builtin(kpi: BuiltInKpi, facts: &SubjectFacts, window: Window) -> KpiValue {
    let deals = &facts.deals;
    let count = |pred: &dyn Fn(&DealFacts) -> bool| Decimal::from(deals.iter().filter(|d| pred(d)).count());
    let amount = |pred: &dyn Fn(&DealFacts) -> bool| sum_decimals(deals.iter().filter(|d| pred(d)).map(|d| d.amount));
    let is_won = |d: &DealFacts| window.contains_opt(d.won_at());
    let is_lost = |d: &DealFacts| window.contains_opt(d.lost_at());
    let is_closed = |d: &DealFacts| is_won(d) || is_lost(d);
    let new_leads = || count(&|d| window.contains(d.lead_at()));
    let qualified = || count(&|d| window.contains_opt(d.qualified_at));
    let cycle = || {
        mean_duration(
            deals.iter().filter_map(|d| Some((d.lead_at(), d.won_at()?))).filter(|(_, won)| window.contains(*won)),
            SECONDS_PER_DAY,
        )
    };
    match kpi {
        BuiltInKpi::NewLeads => KpiValue::total(new_leads()),
        BuiltInKpi::LeadQualificationRate => KpiValue::quotient(qualified(), new_leads(), true),
        BuiltInKpi::ProposalRate => {
            KpiValue::quotient(count(&|d| window.contains_opt(d.proposal_at)), qualified(), true)
        }
        BuiltInKpi::CloseRate | BuiltInKpi::WinRate => KpiValue::quotient(count(&is_won), count(&is_closed), true),
        BuiltInKpi::WinRateValue => KpiValue::quotient(amount(&is_won), amount(&is_closed), true),
        BuiltInKpi::CallToAppointmentRate => KpiValue::quotient(
            facts.activity_units(ACTIVITY_KEY_APPOINTMENTS),
            facts.activity_units(ACTIVITY_KEY_CALLS),
            true,
        ),
        BuiltInKpi::QuoteToCustomerRate => {
            KpiValue::quotient(count(&|d| d.quoted && is_won(d)), facts.activity_units(ACTIVITY_KEY_QUOTES_SENT), true)
        }
        BuiltInKpi::Revenue => KpiValue::total(amount(&is_won)),
        BuiltInKpi::DealsWon => KpiValue::total(count(&is_won)),
        BuiltInKpi::AverageDealSize => KpiValue::quotient(amount(&is_won), count(&is_won), false),
        BuiltInKpi::SalesCycleLength => cycle(),
        BuiltInKpi::LeadFollowUpTime => mean_duration(
            deals.iter().filter_map(|d| Some((d.lead_at(), d.first_contact_at?))).filter(|(_, c)| window.contains(*c)),
            SECONDS_PER_HOUR,
        ),
        BuiltInKpi::SalesVelocity => {
            let open = count(&|d| d.is_open_at(window.end));
            let value = sales_velocity(open, amount(&is_won), count(&is_won), count(&is_closed), cycle().value);
            KpiValue { value, numerator: None, denominator: None }
        }
        BuiltInKpi::AverageQuarterlyRevenuePerRep => {
            KpiValue::quotient(amount(&is_won), Decimal::from(facts.rep_count), false)
        }
        BuiltInKpi::ForecastAccuracy => KpiValue::NONE,
    }
}

/// `open × (won ÷ closed) × (won amount ÷ won) ÷ cycle days`; `None` when a factor is undefined.
fn sales_velocity(
    open: Decimal,
    won_amount: Decimal,
    won: Decimal,
    closed: Decimal,
    cycle_days: Option<Decimal>,
) -> Option<Decimal> {
    let cycle_days = cycle_days.filter(|c| !c.is_zero())?;
    if won.is_zero() || closed.is_zero() {
        return None;
    }
    // win rate × average deal size = won amount ÷ closed.
    open.checked_mul(won_amount)?.checked_div(closed)?.checked_div(cycle_days)
}

/// An ACTIVITY_COUNT KPI: units logged for the chosen activity types.
pub fn activity_count(activities: &[ActivityTotal], activity_type_ids: &[Uuid]) -> KpiValue {
    KpiValue::total(sum_decimals(
        activities.iter().filter(|a| activity_type_ids.contains(&a.activity_type_id)).map(|a| a.units),
    ))
}

/// An ACTIVITY_SUM KPI: points awarded for the chosen activity types.
pub fn activity_sum(activities: &[ActivityTotal], activity_type_ids: &[Uuid]) -> KpiValue {
    KpiValue::total(sum_decimals(
        activities.iter().filter(|a| activity_type_ids.contains(&a.activity_type_id)).map(|a| a.points),
    ))
}

/// A RATIO KPI: the numerator KPI's value ÷ the denominator KPI's value (× 100 for PERCENT).
/// Operands are additive (see [`check_ratio_operands`]), so pooling the ratio's parts across
/// members gives the team's numerator KPI ÷ the team's denominator KPI. A missing operand value
/// (a self-reported week not filled in) leaves the ratio without a value.
pub fn ratio_of(numerator: &KpiValue, denominator: &KpiValue, unit: KpiUnit) -> KpiValue {
    match (numerator.value, denominator.value) {
        (Some(n), Some(d)) => KpiValue::quotient(n, d, unit == KpiUnit::Percent),
        (n, d) => KpiValue { value: None, numerator: n, denominator: d },
    }
}

/// A SELF_REPORTED KPI over a period from the weekly entries in it: COUNT and MONEY add up;
/// other units are the mean of the entries (numerator = their sum, denominator = how many), so a
/// single week's value is its entry. No entries, no value.
pub fn self_reported(unit: KpiUnit, weekly_entries: &[Decimal]) -> KpiValue {
    let pooling = match unit {
        KpiUnit::Count | KpiUnit::Money => Pooling::Sum,
        _ => Pooling::Quotient { percent: false },
    };
    let entries: Vec<KpiValue> = weekly_entries
        .iter()
        .map(|&v| match pooling {
            Pooling::Sum => KpiValue::total(v),
            _ => KpiValue::quotient(v, Decimal::ONE, false),
        })
        .collect();
    pool(pooling, &entries)
}

// ---------------------------------------------------------------------------------------------
// Team pooling
// ---------------------------------------------------------------------------------------------

/// Combines member values into the team value (or self-reported weeks into a longer period):
/// - [`Pooling::Sum`]: the sum of the values present; no value when none is present.
/// - [`Pooling::Quotient`]: Σ numerators ÷ Σ denominators over the members that have both (a
///   member with 0 of 0 adds nothing but keeps the team's parts visible), never an average of
///   the members' ratios; no value when the pooled denominator is zero.
/// - [`Pooling::Elsewhere`]: no value.
pub fn pool(pooling: Pooling, values: &[KpiValue]) -> KpiValue {
    match pooling {
        Pooling::Sum => {
            let present: Vec<Decimal> = values.iter().filter_map(|v| v.value).collect();
            if present.is_empty() { KpiValue::NONE } else { KpiValue::total(sum_decimals(present)) }
        }
        Pooling::Quotient { percent } => {
            let parts: Vec<(Decimal, Decimal)> =
                values.iter().filter_map(|v| Some((v.numerator?, v.denominator?))).collect();
            if parts.is_empty() {
                return KpiValue::NONE;
            }
            let numerator = sum_decimals(parts.iter().map(|p| p.0));
            let denominator = sum_decimals(parts.iter().map(|p| p.1));
            KpiValue::quotient(numerator, denominator, percent)
        }
        Pooling::Elsewhere => KpiValue::NONE,
    }
}

// ---------------------------------------------------------------------------------------------
// Status
// ---------------------------------------------------------------------------------------------

/// ON_TARGET when the value is at or above the target (higher is better) or at or below it
/// (lower is better); OFF_TARGET otherwise; NO_TARGET without a value or without a target.
pub fn status(value: Option<Decimal>, target: Option<Decimal>, direction: KpiDirection) -> KpiStatus {
    let (Some(value), Some(target)) = (value, target) else {
        return KpiStatus::NoTarget;
    };
    let on_target = match direction {
        KpiDirection::HigherIsBetter => value >= target,
        KpiDirection::LowerIsBetter => value <= target,
    };
    if on_target { KpiStatus::OnTarget } else { KpiStatus::OffTarget }
}

// ---------------------------------------------------------------------------------------------
// Weeks and targets
// ---------------------------------------------------------------------------------------------

/// The Monday starting the ISO week of `date`.
pub fn week_start(date: NaiveDate) -> NaiveDate {
    date.checked_sub_signed(TimeDelta::days(i64::from(date.weekday().num_days_from_monday()))).unwrap_or(NaiveDate::MIN)
}

/// The Monday of the last complete week on `today` (the week that closed at the most recent
/// Monday 00:00): the Monday before this week's.
pub fn last_closed_week(today: NaiveDate) -> NaiveDate {
    week_start(today).checked_sub_signed(TimeDelta::days(7)).unwrap_or(NaiveDate::MIN)
}

/// The first Monday on or after `date`.
fn first_monday_from(date: NaiveDate) -> Option<NaiveDate> {
    let ahead = (7 - date.weekday().num_days_from_monday()) % 7;
    date.checked_add_signed(TimeDelta::days(i64::from(ahead)))
}

/// The number of whole weeks in the local-date period `[start, end)`: the Monday-started weeks
/// whose Monday falls inside it. A week is 1; a month has 4 or 5 (January 2026, starting on a
/// Thursday, has the weeks of the 5th, 12th, 19th and 26th: 4; June 2026, starting on a Monday,
/// has 5); a quarter 12 to 14; a year 52 or 53. An empty or reversed period has 0.
pub fn whole_week_count(start: NaiveDate, end: NaiveDate) -> u32 {
    let Some(first) = first_monday_from(start).filter(|m| *m < end) else {
        return 0;
    };
    let days = (end - first).num_days();
    u32::try_from((days - 1) / 7 + 1).unwrap_or(u32::MAX)
}

/// The Mondays of the whole weeks in `[start, end)` (see [`whole_week_count`]).
pub fn whole_weeks(start: NaiveDate, end: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    let first = first_monday_from(start).filter(|m| *m < end);
    std::iter::successors(first, move |m| m.checked_add_signed(TimeDelta::days(7)).filter(|next| *next < end))
}

/// The target of the period `[start, end)` for a constant weekly target: the weekly target ×
/// [`whole_week_count`] for totals ([`TargetScaling::ByWholeWeeks`]; no target for a period
/// without a whole week), the weekly target itself for rates and means.
pub fn target_for_period(
    per_week: Decimal,
    scaling: TargetScaling,
    start: NaiveDate,
    end: NaiveDate,
) -> Option<Decimal> {
    match scaling {
        TargetScaling::Fixed => Some(per_week),
        TargetScaling::ByWholeWeeks => match whole_week_count(start, end) {
            0 => None,
            weeks => Some(per_week.saturating_mul(Decimal::from(weeks))),
        },
    }
}

/// The target of the period `[start, end)` when the weekly target changes over time
/// (`weekly(monday)` = the target in effect for the week starting that Monday, from the target
/// history). Totals add the targets of the whole weeks (weeks without a target add nothing; no
/// target when none has one); rates and means take the target of the period's last week (the
/// week containing the day before `end`).
pub fn target_for_period_by_week(
    weekly: impl Fn(NaiveDate) -> Option<Decimal>,
    scaling: TargetScaling,
    start: NaiveDate,
    end: NaiveDate,
) -> Option<Decimal> {
    match scaling {
        TargetScaling::Fixed => {
            let last_day = end.pred_opt().filter(|d| *d >= start)?;
            weekly(week_start(last_day))
        }
        TargetScaling::ByWholeWeeks => {
            let targets: Vec<Decimal> = whole_weeks(start, end).filter_map(weekly).collect();
            if targets.is_empty() { None } else { Some(sum_decimals(targets)) }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Trend
// ---------------------------------------------------------------------------------------------

/// Weeks of history the scoreboard shows a trend over.
pub const SCOREBOARD_TREND_WEEKS: usize = 6;

/// The tolerance of [`trend`] in percent of the window's mean absolute value.
pub const TREND_FLAT_PERCENT: i64 = 5;

/// The last weeks of a series and which way they moved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrendWindow {
    /// The last N weekly values, oldest first (fewer when the series is shorter).
    pub values: Vec<Option<Decimal>>,
    /// Which way they moved.
    pub direction: Trend,
}

/// The last `last_n` values of a weekly series (oldest first) and their direction: the
/// least-squares line through the values present (x = week position in the window, so a missing
/// week leaves a gap rather than closing it) changes over the window by `slope × (x_last −
/// x_first)`; UP when that change exceeds [`TREND_FLAT_PERCENT`] % of the mean absolute value,
/// DOWN when it is below minus that, FLAT otherwise and with fewer than two values.
pub fn trend(series: &[Option<Decimal>], last_n: usize) -> TrendWindow {
    let values = series[series.len().saturating_sub(last_n)..].to_vec();
    let direction = trend_direction(&values).unwrap_or(Trend::Flat);
    TrendWindow { values, direction }
}

fn trend_direction(values: &[Option<Decimal>]) -> Option<Trend> {
    let points: Vec<(Decimal, Decimal)> =
        values.iter().enumerate().filter_map(|(i, v)| Some((Decimal::from(i), (*v)?))).collect();
    if points.len() < 2 {
        return Some(Trend::Flat);
    }
    let n = Decimal::from(points.len());
    let mean_x = sum_decimals(points.iter().map(|p| p.0)).checked_div(n)?;
    let mean_y = points.iter().try_fold(Decimal::ZERO, |acc, p| acc.checked_add(p.1))?.checked_div(n)?;
    let (mut sxy, mut sxx, mut abs_sum) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for (x, y) in &points {
        let dx = x - mean_x;
        sxy = sxy.checked_add(dx.checked_mul(y.checked_sub(mean_y)?)?)?;
        sxx = sxx.checked_add(dx.checked_mul(dx)?)?;
        abs_sum = abs_sum.checked_add(y.abs())?;
    }
    let span = points.last()?.0 - points.first()?.0;
    let change = sxy.checked_mul(span)?.checked_div(sxx)?;
    let tolerance = abs_sum.checked_div(n)?.checked_mul(Decimal::new(TREND_FLAT_PERCENT, 2))?;
    Some(if change > tolerance {
        Trend::Up
    } else if change < -tolerance {
        Trend::Down
    } else {
        Trend::Flat
    })
}

// ---------------------------------------------------------------------------------------------
// Alerts
// ---------------------------------------------------------------------------------------------

/// Fewest periods an alert rule may watch.
pub const MIN_ALERT_PERIODS: u32 = 2;
/// Most periods an alert rule may watch.
pub const MAX_ALERT_PERIODS: u32 = 12;

/// One closed week of a member's KPI.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct WeekPoint {
    /// The week's Monday.
    pub week_start: NaiveDate,
    /// The KPI's value that week.
    pub value: Option<Decimal>,
    /// The target that week.
    pub target: Option<Decimal>,
}

/// Why an alert fires: the weeks (oldest first) whose values triggered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertTrigger {
    /// The pattern found.
    pub kind: AlertKind,
    /// The weeks that show it, oldest first: N off-target weeks for a streak, N + 1 weeks (N
    /// falling steps) for a decline.
    pub weeks: Vec<WeekPoint>,
    /// The last of those weeks: the week whose closing raised the alert.
    pub closed_week: NaiveDate,
}

/// Alert rule periods: `2..=12`.
pub fn parse_periods(periods: i32) -> Result<u32, FieldError> {
    match u32::try_from(periods) {
        Ok(p) if (MIN_ALERT_PERIODS..=MAX_ALERT_PERIODS).contains(&p) => Ok(p),
        _ => Err(FieldError::new(
            "periods",
            "OUT_OF_RANGE",
            format!("must be between {MIN_ALERT_PERIODS} and {MAX_ALERT_PERIODS}"),
        )),
    }
}

/// Whether an alert rule of `kind` fits the KPI: RATIO_DECLINING watches ratios (PERCENT or
/// RATE) where higher is better — a falling cycle length is good news, not an alert.
pub fn check_alert_rule(kind: AlertKind, shape: &KpiShape) -> Result<(), FieldError> {
    match kind {
        AlertKind::BelowTargetStreak => Ok(()),
        AlertKind::RatioDeclining
            if matches!(shape.unit, KpiUnit::Percent | KpiUnit::Rate)
                && shape.direction == KpiDirection::HigherIsBetter =>
        {
            Ok(())
        }
        AlertKind::RatioDeclining => Err(FieldError::new(
            "kind",
            "INVALID",
            "RATIO_DECLINING needs a ratio KPI (PERCENT or RATE) where higher is better",
        )),
    }
}

/// The last `count` points of `series` when they are consecutive weeks (7 days apart).
fn last_consecutive_weeks(series: &[WeekPoint], count: usize) -> Option<&[WeekPoint]> {
    let start = series.len().checked_sub(count)?;
    let tail = &series[start..];
    let consecutive =
        tail.windows(2).all(|w| w[0].week_start.checked_add_signed(TimeDelta::days(7)) == Some(w[1].week_start));
    (count > 0 && consecutive).then_some(tail)
}

fn trigger(kind: AlertKind, weeks: &[WeekPoint]) -> Option<AlertTrigger> {
    let closed_week = weeks.last()?.week_start;
    Some(AlertTrigger { kind, weeks: weeks.to_vec(), closed_week })
}

/// BELOW_TARGET_STREAK over a member's closed weeks (oldest first, ending with the week that
/// just closed): fires when each of the last `periods` weeks is OFF_TARGET. A week with no
/// target or no value (NO_TARGET) breaks the streak, and so does a missing week in the series.
pub fn below_target_streak(series: &[WeekPoint], direction: KpiDirection, periods: u32) -> Option<AlertTrigger> {
    let weeks = last_consecutive_weeks(series, usize::try_from(periods).ok()?)?;
    if weeks.iter().all(|w| status(w.value, w.target, direction) == KpiStatus::OffTarget) {
        trigger(AlertKind::BelowTargetStreak, weeks)
    } else {
        None
    }
}

/// RATIO_DECLINING over a member's closed weeks (oldest first): fires when the value fell
/// strictly in each of the last `periods` week-to-week steps (so `periods + 1` weeks). An equal
/// value is not a fall; a week without a value, or a missing week, breaks the decline.
pub fn ratio_declining(series: &[WeekPoint], periods: u32) -> Option<AlertTrigger> {
    let weeks = last_consecutive_weeks(series, usize::try_from(periods).ok()?.checked_add(1)?)?;
    let falling = |w: &[WeekPoint]| matches!((w[0].value, w[1].value), (Some(before), Some(after)) if after < before);
    if weeks.windows(2).all(falling) { trigger(AlertKind::RatioDeclining, weeks) } else { None }
}

/// Evaluates a rule of `kind` over a member's closed weeks.
pub fn evaluate_alert(
    kind: AlertKind,
    series: &[WeekPoint],
    direction: KpiDirection,
    periods: u32,
) -> Option<AlertTrigger> {
    match kind {
        AlertKind::BelowTargetStreak => below_target_streak(series, direction, periods),
        AlertKind::RatioDeclining => ratio_declining(series, periods),
    }
}

/// The key under which an alert is stored once: one alert per rule, member and closing week
/// (a unique index on it makes a second instance's or a re-evaluation's insert a no-op). A streak
/// that continues raises again the next week, for the next closing week.
pub fn alert_dedupe_key(rule_id: Uuid, member_id: Uuid, closed_week: NaiveDate) -> String {
    format!("{rule_id}:{member_id}:{}", closed_week.format("%Y-%m-%d"))
}

// ---------------------------------------------------------------------------------------------
// Input validation
// ---------------------------------------------------------------------------------------------

/// Longest KPI key.
pub const MAX_KPI_KEY_LEN: usize = 64;
/// Largest KPI number (target or self-reported value): ten billion.
pub const MAX_KPI_NUMBER: i64 = 10_000_000_000;

/// A custom KPI's key: trimmed, 2..=64 of `a-z`, `0-9`, `_`, starting with a letter, and not a
/// built-in's key.
pub fn parse_kpi_key(raw: &str) -> Result<String, FieldError> {
    let key = raw.trim();
    let well_formed = (2..=MAX_KPI_KEY_LEN).contains(&key.len())
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !well_formed {
        return Err(FieldError::new(
            "key",
            "INVALID",
            format!("must be 2 to {MAX_KPI_KEY_LEN} characters of a-z, 0-9 and '_', starting with a letter"),
        ));
    }
    if BuiltInKpi::from_key(key).is_some() {
        return Err(FieldError::new("key", "RESERVED", format!("'{key}' is a built-in KPI")));
    }
    Ok(key.to_owned())
}

/// What `updateKpi` or `archiveKpi` would do to a KPI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KpiEdit {
    /// Rename or re-describe.
    Update,
    /// Take off the scoreboard.
    Archive,
}

/// Refuses an edit of a built-in KPI (whose definition is fixed, and which has no row to
/// change) with a message naming what can be changed instead; `None` for any other key.
pub fn refuse_builtin_edit(key: &str, edit: KpiEdit) -> Option<FieldError> {
    let builtin = BuiltInKpi::from_key(key)?;
    let (mutation, what) = match edit {
        KpiEdit::Update => ("updateKpi", "renamed or re-described"),
        KpiEdit::Archive => ("archiveKpi", "archived"),
    };
    Some(FieldError::new(
        "key",
        "BUILT_IN",
        format!(
            "'{}' is the built-in KPI \"{}\": built-in KPIs cannot be {what}. {mutation} changes custom KPIs \
             (made with createKpi); for a built-in you can set weekly targets (setKpiTarget) and alert rules \
             (createAlertRule)",
            builtin.key(),
            builtin.name()
        ),
    ))
}

/// An activity type's KPI key: empty is none; otherwise one of [`ACTIVITY_KPI_KEYS`].
pub fn parse_activity_kpi_key(raw: Option<&str>) -> Result<Option<&'static str>, FieldError> {
    let Some(key) = raw.map(str::trim).filter(|k| !k.is_empty()) else {
        return Ok(None);
    };
    ACTIVITY_KPI_KEYS
        .into_iter()
        .find(|k| *k == key)
        .map(Some)
        .ok_or_else(|| FieldError::new("kpiKey", "INVALID", format!("must be one of {}", ACTIVITY_KPI_KEYS.join(", "))))
}

/// A RATIO's operands: two different KPIs whose values add up across members and weeks
/// ([`Pooling::Sum`]), so the ratio pools as team numerator ÷ team denominator. A ratio of
/// ratios or means (or of a ratio, which rules out cycles) is refused.
pub fn check_ratio_operands(
    numerator_key: &str,
    numerator: &KpiShape,
    denominator_key: &str,
    denominator: &KpiShape,
) -> Result<(), FieldError> {
    if numerator_key == denominator_key {
        return Err(FieldError::new("denominatorKey", "INVALID", "must differ from the numerator"));
    }
    for (field, shape) in [("numeratorKey", numerator), ("denominatorKey", denominator)] {
        if shape.pooling != Pooling::Sum {
            return Err(FieldError::new(field, "NOT_ADDITIVE", "must be a count or sum, not a ratio or mean"));
        }
    }
    Ok(())
}

/// A KPI number from the API (a target or a self-reported value): finite, `0..=MAX_KPI_NUMBER`
/// (PERCENT: `0..=100`), at most 2 decimal places for MONEY and 4 otherwise. Float noise such as
/// `0.30000000000000004` is accepted as `0.3`.
pub fn parse_kpi_number(field: &str, value: f64, unit: KpiUnit) -> Result<Decimal, FieldError> {
    if !value.is_finite() {
        return Err(FieldError::new(field, "INVALID", "must be a finite number"));
    }
    let max = if unit == KpiUnit::Percent { 100 } else { MAX_KPI_NUMBER };
    if value < 0.0 || value > max as f64 {
        return Err(FieldError::new(field, "OUT_OF_RANGE", format!("must be between 0 and {max}")));
    }
    let places: u32 = if unit == KpiUnit::Money { 2 } else { 4 };
    let factor = 10f64.powi(places as i32);
    let scaled = (value * factor).round();
    // At most 1e10 × 1e4 = 1e14 < 2^53: the scaled value is an exact integer.
    let noise = (value * 4.0 * f64::EPSILON).max(1e-9);
    if (value - scaled / factor).abs() > noise {
        return Err(FieldError::new(field, "INVALID", format!("must have at most {places} decimal places")));
    }
    Ok(Decimal::new(scaled as i64, places).normalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn date(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    fn t(s: &str) -> DateTime<Utc> {
        let full = if s.len() == 10 { format!("{s}T00:00:00Z") } else { format!("{s}:00Z") };
        DateTime::parse_from_rfc3339(&full).expect("rfc3339").with_timezone(&Utc)
    }

    /// Rounds for comparing quotients that do not terminate.
    fn r(v: Option<Decimal>) -> Option<Decimal> {
        v.map(|x| x.round_dp(10).normalize())
    }

    fn week_of_2026_03_02() -> Window {
        Window::new(t("2026-03-02"), t("2026-03-09"))
    }

    struct Deal {
        amount: &'static str,
        lead: Option<&'static str>,
        created: &'static str,
        first_contact: Option<&'static str>,
        qualified: Option<&'static str>,
        proposal: Option<&'static str>,
        quoted: bool,
        close: Option<(bool, &'static str)>,
    }

    const OPEN_DEAL: Deal = Deal {
        amount: "0",
        lead: None,
        created: "2026-01-01",
        first_contact: None,
        qualified: None,
        proposal: None,
        quoted: false,
        close: None,
    };

    fn deal(spec: Deal) -> DealFacts {
        DealFacts {
            amount: d(spec.amount),
            created_at: t(spec.created),
            lead_created_at: spec.lead.map(t),
            first_contact_at: spec.first_contact.map(t),
            qualified_at: spec.qualified.map(t),
            proposal_at: spec.proposal.map(t),
            quoted: spec.quoted,
            close: match spec.close {
                None => DealClose::Open,
                Some((true, at)) => DealClose::Won(t(at)),
                Some((false, at)) => DealClose::Lost(t(at)),
            },
        }
    }

    fn activity(type_id: u128, key: Option<&str>, units: &str, points: &str) -> ActivityTotal {
        ActivityTotal {
            activity_type_id: id(type_id),
            kpi_key: key.map(str::to_owned),
            units: d(units),
            points: d(points),
        }
    }

    /// Rep A in the week of Monday 2 March 2026 (hand-computed values in `every_builtin_on_rep_a`).
    fn rep_a() -> SubjectFacts {
        let deals = vec![
            // D1: qualified before, proposal and won in the week; cycle Feb 20 -> Mar 4 = 12 days.
            deal(Deal {
                amount: "1000",
                lead: Some("2026-02-20"),
                first_contact: Some("2026-02-21"),
                qualified: Some("2026-02-25"),
                proposal: Some("2026-03-03"),
                quoted: true,
                close: Some((true, "2026-03-04")),
                ..OPEN_DEAL
            }),
            // D2: new lead, contacted after 4 h, qualified, proposal, won after exactly 4 days.
            deal(Deal {
                amount: "3000",
                lead: Some("2026-03-02T09:00"),
                first_contact: Some("2026-03-02T13:00"),
                qualified: Some("2026-03-03T10:00"),
                proposal: Some("2026-03-05T10:00"),
                quoted: true,
                close: Some((true, "2026-03-06T09:00")),
                ..OPEN_DEAL
            }),
            // D3: old deal lost in the week.
            deal(Deal {
                amount: "2000",
                lead: Some("2026-02-01"),
                first_contact: Some("2026-02-02"),
                qualified: Some("2026-02-10"),
                proposal: Some("2026-02-20"),
                quoted: true,
                close: Some((false, "2026-03-05T12:00")),
                ..OPEN_DEAL
            }),
            // D4: new lead, contacted after 24 h, qualified, open.
            deal(Deal {
                amount: "500",
                lead: Some("2026-03-03T08:00"),
                first_contact: Some("2026-03-04T08:00"),
                qualified: Some("2026-03-06T08:00"),
                ..OPEN_DEAL
            }),
            // D5: new lead, not contacted yet.
            deal(Deal { amount: "800", lead: Some("2026-03-04T10:00"), ..OPEN_DEAL }),
            // D6: new lead, contacted after 2 h, lost without qualifying.
            deal(Deal {
                amount: "1500",
                lead: Some("2026-03-05T10:00"),
                first_contact: Some("2026-03-05T12:00"),
                close: Some((false, "2026-03-06T15:00")),
                ..OPEN_DEAL
            }),
            // D7: old open deal in negotiation.
            deal(Deal {
                amount: "4000",
                lead: Some("2026-01-10"),
                first_contact: Some("2026-01-11"),
                qualified: Some("2026-01-20"),
                proposal: Some("2026-02-15"),
                quoted: true,
                ..OPEN_DEAL
            }),
            // D8: older lead first contacted in the week after 5 days 10 h = 130 h; qualified
            // exactly at the week's end (next week).
            deal(Deal {
                amount: "700",
                lead: Some("2026-02-25"),
                first_contact: Some("2026-03-02T10:00"),
                qualified: Some("2026-03-09"),
                ..OPEN_DEAL
            }),
            // D9: won the week before.
            deal(Deal {
                amount: "9999",
                lead: Some("2026-01-05"),
                first_contact: Some("2026-01-06"),
                qualified: Some("2026-01-07"),
                quoted: true,
                close: Some((true, "2026-02-27")),
                ..OPEN_DEAL
            }),
            // D10: lead on the Sunday before, won exactly at the week's end (next week; open at the end).
            deal(Deal {
                amount: "100",
                lead: Some("2026-03-01T12:00"),
                first_contact: Some("2026-03-01T13:00"),
                quoted: true,
                close: Some((true, "2026-03-09")),
                ..OPEN_DEAL
            }),
            // D11: older lead qualified in the week.
            deal(Deal {
                amount: "600",
                lead: Some("2026-02-26"),
                first_contact: Some("2026-02-26T06:00"),
                qualified: Some("2026-03-04T12:00"),
                ..OPEN_DEAL
            }),
            // D12: no lead date: the record's creation in the week stands in.
            deal(Deal { amount: "250", created: "2026-03-07T10:00", ..OPEN_DEAL }),
        ];
        let activities = vec![
            activity(1, Some(ACTIVITY_KEY_CALLS), "25", "25"),
            activity(2, Some(ACTIVITY_KEY_CALLS), "15", "30"),
            activity(3, Some(ACTIVITY_KEY_APPOINTMENTS), "6", "12"),
            activity(4, Some(ACTIVITY_KEY_QUOTES_SENT), "5", "15"),
            activity(5, None, "30", "3"),
        ];
        SubjectFacts { deals, activities, rep_count: 1 }
    }

    /// Rep B in the same week.
    fn rep_b() -> SubjectFacts {
        let deals = vec![
            // Won after 6 days, contacted after 1 h.
            deal(Deal {
                amount: "1000",
                lead: Some("2026-03-02"),
                first_contact: Some("2026-03-02T01:00"),
                qualified: Some("2026-03-03"),
                proposal: Some("2026-03-04"),
                quoted: true,
                close: Some((true, "2026-03-08")),
                ..OPEN_DEAL
            }),
            deal(Deal {
                amount: "500",
                lead: Some("2026-02-10"),
                first_contact: Some("2026-02-11"),
                qualified: Some("2026-02-12"),
                close: Some((false, "2026-03-03")),
                ..OPEN_DEAL
            }),
            deal(Deal { amount: "2500", lead: Some("2026-03-03"), ..OPEN_DEAL }),
        ];
        let activities = vec![
            activity(1, Some(ACTIVITY_KEY_CALLS), "10", "10"),
            activity(3, Some(ACTIVITY_KEY_APPOINTMENTS), "4", "8"),
            activity(4, Some(ACTIVITY_KEY_QUOTES_SENT), "1", "3"),
        ];
        SubjectFacts { deals, activities, rep_count: 1 }
    }

    fn ratio(value: &str, numerator: &str, denominator: &str) -> KpiValue {
        KpiValue { value: Some(d(value)), numerator: Some(d(numerator)), denominator: Some(d(denominator)) }
    }

    fn compute(kpi: BuiltInKpi, facts: &SubjectFacts) -> KpiValue {
        compute_builtin(kpi, facts, week_of_2026_03_02())
    }

    // ----- enums and catalogue -----

    #[test]
    fn enums_round_trip_and_reject_unknown() {
        for u in [KpiUnit::Count, KpiUnit::Percent, KpiUnit::Money, KpiUnit::Days, KpiUnit::Hours, KpiUnit::Rate] {
            assert_eq!(KpiUnit::parse(u.as_str()), Some(u));
        }
        for x in [KpiDirection::HigherIsBetter, KpiDirection::LowerIsBetter] {
            assert_eq!(KpiDirection::parse(x.as_str()), Some(x));
        }
        for k in [KpiKind::BuiltIn, KpiKind::ActivityCount, KpiKind::ActivitySum, KpiKind::Ratio, KpiKind::SelfReported]
        {
            assert_eq!(KpiKind::parse(k.as_str()), Some(k));
        }
        for s in [KpiStatus::OnTarget, KpiStatus::OffTarget, KpiStatus::NoTarget] {
            assert_eq!(KpiStatus::parse(s.as_str()), Some(s));
        }
        for x in [Trend::Up, Trend::Down, Trend::Flat] {
            assert_eq!(Trend::parse(x.as_str()), Some(x));
        }
        for k in [AlertKind::BelowTargetStreak, AlertKind::RatioDeclining] {
            assert_eq!(AlertKind::parse(k.as_str()), Some(k));
        }
        for s in [AlertStatus::Open, AlertStatus::Acknowledged] {
            assert_eq!(AlertStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(KpiKind::parse("ACTIVITY_COUNT"), Some(KpiKind::ActivityCount));
        assert_eq!(KpiDirection::parse("LOWER_IS_BETTER"), Some(KpiDirection::LowerIsBetter));
        assert_eq!(KpiUnit::parse("percent"), None);
        assert_eq!(KpiStatus::parse(""), None);
        assert_eq!(AlertKind::parse("RATIO"), None);
    }

    #[test]
    fn catalogue_lists_every_builtin_with_a_stable_unique_key() {
        let entries = catalogue();
        assert_eq!(entries.len(), BuiltInKpi::ALL.len());
        let keys: std::collections::HashSet<&str> = entries.iter().map(|e| e.key).collect();
        assert_eq!(keys.len(), entries.len(), "keys are unique");
        for e in &entries {
            assert_eq!(BuiltInKpi::from_key(e.key), Some(e.kpi));
            assert!(e.key.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{} is snake_case", e.key);
            assert!(!e.name.is_empty() && !e.description.is_empty() && !e.formula.is_empty());
            assert!(parse_kpi_key(e.key).is_err(), "{} is reserved", e.key);
            assert_eq!(e.unit, e.kpi.unit());
            assert_eq!(e.direction, e.kpi.direction());
            assert!(!e.kpi.default_sales_roles().is_empty());
            assert!(e.kpi.default_sales_roles().contains(&SalesRole::Manager));
        }
        assert_eq!(BuiltInKpi::CloseRate.key(), "close_rate");
        assert_eq!(BuiltInKpi::SalesVelocity.key(), "sales_velocity");
        assert_eq!(BuiltInKpi::from_key("selling_time"), None);
        // Exactly the two durations are lower-is-better.
        let lower: Vec<BuiltInKpi> =
            entries.iter().filter(|e| e.direction == KpiDirection::LowerIsBetter).map(|e| e.kpi).collect();
        assert_eq!(lower, vec![BuiltInKpi::SalesCycleLength, BuiltInKpi::LeadFollowUpTime]);
        assert_eq!(BuiltInKpi::SalesCycleLength.unit(), KpiUnit::Days);
        assert_eq!(BuiltInKpi::LeadFollowUpTime.unit(), KpiUnit::Hours);
        assert_eq!(BuiltInKpi::SalesVelocity.unit(), KpiUnit::Rate);
        assert_eq!(BuiltInKpi::Revenue.unit(), KpiUnit::Money);
        assert!(!BuiltInKpi::ForecastAccuracy.is_computed_from_facts());
        assert_eq!(BuiltInKpi::ForecastAccuracy.pooling(), Pooling::Elsewhere);
        assert_eq!(BuiltInKpi::Revenue.shape().target_scaling, TargetScaling::ByWholeWeeks);
        assert_eq!(BuiltInKpi::CloseRate.shape().target_scaling, TargetScaling::Fixed);
        assert_eq!(BuiltInKpi::SalesVelocity.shape().target_scaling, TargetScaling::Fixed);
        assert_eq!(BuiltInKpi::SalesVelocity.pooling(), Pooling::Sum);
    }

    #[test]
    fn sales_roles() {
        assert!(applies_to(&[], SalesRole::Inbound));
        assert!(applies_to(&[SalesRole::Closer, SalesRole::Inbound], SalesRole::Inbound));
        assert!(!applies_to(&[SalesRole::Closer], SalesRole::Outbound));
        assert!(BuiltInKpi::CallToAppointmentRate.default_sales_roles().contains(&SalesRole::Outbound));
        assert!(BuiltInKpi::LeadFollowUpTime.default_sales_roles().contains(&SalesRole::Inbound));
        assert!(BuiltInKpi::CloseRate.default_sales_roles().contains(&SalesRole::Closer));
    }

    // ----- built-ins on a hand-computed fixture -----

    #[test]
    fn every_builtin_on_rep_a() {
        let a = rep_a();
        // New leads: D2, D4, D5, D6 and D12 (creation stands in); D10's lead came the Sunday before.
        assert_eq!(compute(BuiltInKpi::NewLeads, &a), KpiValue::total(d("5")));
        // Qualified in the week: D2, D4, D11 (D8 at the week's end is next week's) = 3 of 5 new leads.
        assert_eq!(compute(BuiltInKpi::LeadQualificationRate, &a), ratio("60", "3", "5"));
        // Proposals: D1, D2 = 2 of 3 qualified.
        let proposal = compute(BuiltInKpi::ProposalRate, &a);
        assert_eq!((proposal.numerator, proposal.denominator), (Some(d("2")), Some(d("3"))));
        assert_eq!(r(proposal.value), Some(d("66.6666666667")));
        // Won D1, D2 (1000 + 3000); lost D3, D6 (2000 + 1500). D9 and D10 are outside the week.
        assert_eq!(compute(BuiltInKpi::CloseRate, &a), ratio("50", "2", "4"));
        assert_eq!(compute(BuiltInKpi::WinRate, &a), ratio("50", "2", "4"));
        let by_value = compute(BuiltInKpi::WinRateValue, &a);
        assert_eq!((by_value.numerator, by_value.denominator), (Some(d("4000")), Some(d("7500"))));
        assert_eq!(r(by_value.value), Some(d("53.3333333333")));
        // 6 appointments of 25 + 15 calls; the unkeyed type does not count.
        assert_eq!(compute(BuiltInKpi::CallToAppointmentRate, &a), ratio("15", "6", "40"));
        // Won with a quote: D1, D2, of 5 quotes sent.
        assert_eq!(compute(BuiltInKpi::QuoteToCustomerRate, &a), ratio("40", "2", "5"));
        assert_eq!(compute(BuiltInKpi::Revenue, &a), KpiValue::total(d("4000")));
        assert_eq!(compute(BuiltInKpi::DealsWon, &a), KpiValue::total(d("2")));
        assert_eq!(compute(BuiltInKpi::AverageDealSize, &a), ratio("2000", "4000", "2"));
        // (12 + 4) days over 2 won deals.
        assert_eq!(compute(BuiltInKpi::SalesCycleLength, &a), ratio("8", "16", "2"));
        // First contacts in the week: D2 4 h, D4 24 h, D6 2 h, D8 130 h.
        assert_eq!(compute(BuiltInKpi::LeadFollowUpTime, &a), ratio("40", "160", "4"));
        // Open at the end: D4, D5, D7, D8, D10 (closed exactly at the end), D11, D12 = 7;
        // 7 × 50 % × 2000 ÷ 8 days = 875 per day.
        assert_eq!(compute(BuiltInKpi::SalesVelocity, &a), KpiValue::total(d("875")));
        assert_eq!(compute(BuiltInKpi::AverageQuarterlyRevenuePerRep, &a), ratio("4000", "4000", "1"));
        assert_eq!(compute(BuiltInKpi::ForecastAccuracy, &a), KpiValue::NONE);
    }

    #[test]
    fn every_builtin_on_rep_b() {
        let b = rep_b();
        assert_eq!(compute(BuiltInKpi::NewLeads, &b), KpiValue::total(d("2")));
        assert_eq!(compute(BuiltInKpi::LeadQualificationRate, &b), ratio("50", "1", "2"));
        assert_eq!(compute(BuiltInKpi::ProposalRate, &b), ratio("100", "1", "1"));
        assert_eq!(compute(BuiltInKpi::CloseRate, &b), ratio("50", "1", "2"));
        let by_value = compute(BuiltInKpi::WinRateValue, &b);
        assert_eq!(r(by_value.value), Some(d("66.6666666667")));
        assert_eq!(compute(BuiltInKpi::CallToAppointmentRate, &b), ratio("40", "4", "10"));
        assert_eq!(compute(BuiltInKpi::QuoteToCustomerRate, &b), ratio("100", "1", "1"));
        assert_eq!(compute(BuiltInKpi::Revenue, &b), KpiValue::total(d("1000")));
        assert_eq!(compute(BuiltInKpi::SalesCycleLength, &b), ratio("6", "6", "1"));
        assert_eq!(compute(BuiltInKpi::LeadFollowUpTime, &b), ratio("1", "1", "1"));
        // 1 open × 50 % × 1000 ÷ 6 days.
        assert_eq!(r(compute(BuiltInKpi::SalesVelocity, &b).value), Some(d("83.3333333333")));
    }

    #[test]
    fn zero_denominators_and_empty_means_have_no_value() {
        let empty = SubjectFacts { rep_count: 1, ..SubjectFacts::default() };
        for kpi in BuiltInKpi::ALL {
            let v = compute(kpi, &empty);
            match kpi.pooling() {
                Pooling::Quotient { .. } if kpi != BuiltInKpi::AverageQuarterlyRevenuePerRep => {
                    assert_eq!(v, ratio_none("0", "0"), "{kpi:?}");
                }
                Pooling::Sum if kpi != BuiltInKpi::SalesVelocity => assert_eq!(v, KpiValue::total(d("0")), "{kpi:?}"),
                _ => {}
            }
        }
        assert_eq!(compute(BuiltInKpi::SalesVelocity, &empty), KpiValue::NONE);
        // A member with revenue 0 has revenue per rep 0; nobody at all has none.
        assert_eq!(compute(BuiltInKpi::AverageQuarterlyRevenuePerRep, &empty), ratio("0", "0", "1"));
        let nobody = SubjectFacts::default();
        assert_eq!(compute(BuiltInKpi::AverageQuarterlyRevenuePerRep, &nobody), ratio_none("0", "0"));

        // Qualifications without new leads: a numerator but no value (never 0 or NaN).
        let a = rep_a();
        let next_week = Window::new(t("2026-03-09"), t("2026-03-16"));
        let lqr = compute_builtin(BuiltInKpi::LeadQualificationRate, &a, next_week);
        assert_eq!(lqr, ratio_none("1", "0"));
        // Calls without appointments is 0 %, appointments without calls is no value.
        let only_calls =
            SubjectFacts { activities: vec![activity(1, Some("calls"), "12", "0")], ..SubjectFacts::default() };
        assert_eq!(compute(BuiltInKpi::CallToAppointmentRate, &only_calls), ratio("0", "0", "12"));
        let only_appts =
            SubjectFacts { activities: vec![activity(3, Some("appointments"), "2", "0")], ..SubjectFacts::default() };
        assert_eq!(compute(BuiltInKpi::CallToAppointmentRate, &only_appts), ratio_none("2", "0"));
        // Won quoted deals but no quote activities logged.
        let no_quotes = SubjectFacts { deals: a.deals.clone(), activities: vec![], rep_count: 1 };
        assert_eq!(compute(BuiltInKpi::QuoteToCustomerRate, &no_quotes), ratio_none("2", "0"));
    }

    fn ratio_none(numerator: &str, denominator: &str) -> KpiValue {
        KpiValue { value: None, numerator: Some(d(numerator)), denominator: Some(d(denominator)) }
    }

    #[test]
    fn only_lost_deals() {
        let lost = SubjectFacts {
            deals: vec![
                deal(Deal { amount: "700", lead: Some("2026-02-01"), close: Some((false, "2026-03-03")), ..OPEN_DEAL }),
                deal(Deal { amount: "300", lead: Some("2026-02-01"), ..OPEN_DEAL }),
            ],
            activities: vec![],
            rep_count: 1,
        };
        assert_eq!(compute(BuiltInKpi::CloseRate, &lost), ratio("0", "0", "1"));
        assert_eq!(compute(BuiltInKpi::WinRateValue, &lost), ratio("0", "0", "700"));
        assert_eq!(compute(BuiltInKpi::Revenue, &lost), KpiValue::total(d("0")));
        assert_eq!(compute(BuiltInKpi::AverageDealSize, &lost), ratio_none("0", "0"));
        assert_eq!(compute(BuiltInKpi::SalesCycleLength, &lost), ratio_none("0", "0"));
        // No won deal: no average size, no cycle length, so no velocity (not 0).
        assert_eq!(compute(BuiltInKpi::SalesVelocity, &lost), KpiValue::NONE);
    }

    #[test]
    fn velocity_needs_a_positive_cycle_and_counts_open_deals_at_the_end() {
        // Won at the instant the lead came in: cycle 0 days, velocity undefined.
        let instant = SubjectFacts {
            deals: vec![
                deal(Deal { amount: "100", lead: Some("2026-03-03"), close: Some((true, "2026-03-03")), ..OPEN_DEAL }),
                deal(Deal { amount: "100", lead: Some("2026-03-03"), ..OPEN_DEAL }),
            ],
            activities: vec![],
            rep_count: 1,
        };
        assert_eq!(compute(BuiltInKpi::SalesCycleLength, &instant), ratio("0", "0", "1"));
        assert_eq!(compute(BuiltInKpi::SalesVelocity, &instant), KpiValue::NONE);
        // No open deals at the end: velocity 0.
        let all_closed = SubjectFacts {
            deals: vec![deal(Deal {
                amount: "100",
                lead: Some("2026-03-01"),
                close: Some((true, "2026-03-03")),
                ..OPEN_DEAL
            })],
            activities: vec![],
            rep_count: 1,
        };
        assert_eq!(compute(BuiltInKpi::SalesVelocity, &all_closed), KpiValue::total(d("0")));
        // Open-at rules: a lead arriving exactly at the end is not yet open; closing at the end still was.
        let at_end = deal(Deal { lead: Some("2026-03-09"), ..OPEN_DEAL });
        assert!(!at_end.is_open_at(t("2026-03-09")));
        let closing_at_end = deal(Deal { lead: Some("2026-03-01"), close: Some((false, "2026-03-09")), ..OPEN_DEAL });
        assert!(closing_at_end.is_open_at(t("2026-03-09")));
        assert!(!closing_at_end.is_open_at(t("2026-03-10")));
    }

    #[test]
    fn inconsistent_dates_are_left_out_of_means() {
        // Won "before" its lead came in: revenue counts, the cycle mean ignores it.
        let facts = SubjectFacts {
            deals: vec![
                deal(Deal { amount: "100", lead: Some("2026-03-05"), close: Some((true, "2026-03-04")), ..OPEN_DEAL }),
                deal(Deal { amount: "300", lead: Some("2026-03-01"), close: Some((true, "2026-03-04")), ..OPEN_DEAL }),
                deal(Deal { lead: Some("2026-03-05"), first_contact: Some("2026-03-04"), ..OPEN_DEAL }),
            ],
            activities: vec![],
            rep_count: 1,
        };
        assert_eq!(compute(BuiltInKpi::Revenue, &facts), KpiValue::total(d("400")));
        assert_eq!(compute(BuiltInKpi::SalesCycleLength, &facts), ratio("3", "3", "1"));
        assert_eq!(compute(BuiltInKpi::LeadFollowUpTime, &facts), ratio_none("0", "0"));
        // Fractional durations: 36 h is 1.5 days; 90 minutes is 1.5 hours.
        let fractional = SubjectFacts {
            deals: vec![deal(Deal {
                lead: Some("2026-03-02T00:00"),
                first_contact: Some("2026-03-02T01:30"),
                close: Some((true, "2026-03-03T12:00")),
                ..OPEN_DEAL
            })],
            activities: vec![],
            rep_count: 1,
        };
        assert_eq!(compute(BuiltInKpi::SalesCycleLength, &fractional).value, Some(d("1.5")));
        assert_eq!(compute(BuiltInKpi::LeadFollowUpTime, &fractional).value, Some(d("1.5")));
    }

    #[test]
    fn windows_are_half_open_and_come_from_periods() {
        let w = week_of_2026_03_02();
        assert!(w.contains(t("2026-03-02")));
        assert!(w.contains(t("2026-03-08T23:59")));
        assert!(!w.contains(t("2026-03-09")));
        assert!(!w.contains_opt(None));
        let period = crate::scoring::model::period_containing(
            crate::scoring::model::PeriodGrain::Week,
            date(2026, 3, 4),
            chrono_tz::Europe::Amsterdam,
            1,
        );
        let from_period = Window::from(period);
        // Amsterdam is UTC+1 in early March.
        assert_eq!(from_period, Window::new(t("2026-03-01T23:00"), t("2026-03-08T23:00")));
    }

    // ----- custom kinds -----

    #[test]
    fn activity_counts_and_sums() {
        let a = rep_a();
        assert_eq!(activity_count(&a.activities, &[id(1), id(2)]), KpiValue::total(d("40")));
        assert_eq!(activity_sum(&a.activities, &[id(1), id(2)]), KpiValue::total(d("55")));
        assert_eq!(activity_count(&a.activities, &[id(5)]), KpiValue::total(d("30")));
        assert_eq!(activity_count(&a.activities, &[id(99)]), KpiValue::total(d("0")));
        assert_eq!(activity_sum(&a.activities, &[]), KpiValue::total(d("0")));
        assert_eq!(a.activity_units("quotes_sent"), d("5"));
        assert_eq!(a.activity_units("nothing"), d("0"));
    }

    #[test]
    fn custom_ratios() {
        let calls = KpiValue::total(d("40"));
        let appointments = KpiValue::total(d("6"));
        // Calls per appointment as a plain RATE.
        assert_eq!(r(ratio_of(&calls, &appointments, KpiUnit::Rate).value), Some(d("6.6666666667")));
        assert_eq!(ratio_of(&appointments, &calls, KpiUnit::Percent), ratio("15", "6", "40"));
        assert_eq!(ratio_of(&appointments, &KpiValue::total(d("0")), KpiUnit::Percent), ratio_none("6", "0"));
        assert_eq!(
            ratio_of(&appointments, &KpiValue::NONE, KpiUnit::Percent),
            KpiValue { value: None, numerator: Some(d("6")), denominator: None }
        );
        // The team value of a ratio of counts is the team's numerator ÷ the team's denominator.
        let a = ratio_of(&KpiValue::total(d("6")), &KpiValue::total(d("40")), KpiUnit::Percent);
        let b = ratio_of(&KpiValue::total(d("4")), &KpiValue::total(d("10")), KpiUnit::Percent);
        assert_eq!(pool(Pooling::Quotient { percent: true }, &[a, b]), ratio("20", "10", "50"));
    }

    #[test]
    fn self_reported_values() {
        // One week: its entry.
        assert_eq!(self_reported(KpiUnit::Percent, &[d("62.5")]).value, Some(d("62.5")));
        // A month of a percentage: the mean of the weeks entered.
        assert_eq!(self_reported(KpiUnit::Percent, &[d("60"), d("70")]), ratio("65", "130", "2"));
        // Counts and money add up.
        assert_eq!(self_reported(KpiUnit::Count, &[d("3"), d("4")]), KpiValue::total(d("7")));
        assert_eq!(self_reported(KpiUnit::Money, &[d("10.50"), d("4.25")]), KpiValue::total(d("14.75")));
        assert_eq!(self_reported(KpiUnit::Hours, &[d("30"), d("20"), d("25")]).value, Some(d("25")));
        // Nothing entered: no value.
        assert_eq!(self_reported(KpiUnit::Percent, &[]), KpiValue::NONE);
        assert_eq!(self_reported(KpiUnit::Count, &[]), KpiValue::NONE);
        // Team value of "selling time %": the mean over the reps who reported.
        let shape =
            KpiShape::custom(KpiKind::SelfReported, KpiUnit::Percent, KpiDirection::HigherIsBetter).expect("shape");
        let team = pool(
            shape.pooling,
            &[self_reported(KpiUnit::Percent, &[d("60")]), self_reported(KpiUnit::Percent, &[d("80")]), KpiValue::NONE],
        );
        assert_eq!(team.value, Some(d("70")));
    }

    // ----- team pooling -----

    #[test]
    fn pooled_team_ratios_differ_from_an_average_of_ratios() {
        let (a, b) = (rep_a(), rep_b());
        let pooled = |kpi: BuiltInKpi| pool(kpi.pooling(), &[compute(kpi, &a), compute(kpi, &b)]);
        // Call-to-appointment: A 6/40 = 15 %, B 4/10 = 40 %; average of ratios 27.5 %, pooled 10/50 = 20 %.
        assert_eq!(pooled(BuiltInKpi::CallToAppointmentRate), ratio("20", "10", "50"));
        // Close rate by count happens to agree (2/4 and 1/2) ...
        assert_eq!(pooled(BuiltInKpi::CloseRate), ratio("50", "3", "6"));
        // ... but sizes do not: A 2000 (2 deals), B 1000 (1 deal); average 1500, pooled 5000/3.
        assert_eq!(r(pooled(BuiltInKpi::AverageDealSize).value), Some(d("1666.6666666667")));
        // Cycle: A 8 days (2 deals), B 6 (1 deal); average of means 7, pooled 22/3.
        let cycle = pooled(BuiltInKpi::SalesCycleLength);
        assert_eq!((cycle.numerator, cycle.denominator), (Some(d("22")), Some(d("3"))));
        assert_eq!(r(cycle.value), Some(d("7.3333333333")));
        // Follow-up: (160 + 1) h over 5 contacts.
        assert_eq!(pooled(BuiltInKpi::LeadFollowUpTime), ratio("32.2", "161", "5"));
        // Sums.
        assert_eq!(pooled(BuiltInKpi::Revenue), KpiValue::total(d("5000")));
        assert_eq!(pooled(BuiltInKpi::NewLeads), KpiValue::total(d("7")));
        // Revenue per rep: 5000 over 2 reps.
        assert_eq!(pooled(BuiltInKpi::AverageQuarterlyRevenuePerRep), ratio("2500", "5000", "2"));
        // Velocity is a flow per day: the members' flows add up (875 + 83.33…).
        assert_eq!(r(pooled(BuiltInKpi::SalesVelocity).value), Some(d("958.3333333333")));
        assert_eq!(pooled(BuiltInKpi::ForecastAccuracy), KpiValue::NONE);

        // The classic case: 1 of 1 (100 %) and 1 of 4 (25 %): average 62.5 %, pooled 2 of 5 = 40 %.
        let team = pool(Pooling::Quotient { percent: true }, &[ratio("100", "1", "1"), ratio("25", "1", "4")]);
        assert_eq!(team, ratio("40", "2", "5"));
        assert_ne!(team.value, Some(d("62.5")));
    }

    #[test]
    fn pooling_equals_computing_over_the_teams_combined_facts() {
        let (a, b) = (rep_a(), rep_b());
        let team = SubjectFacts::merge([&a, &b]);
        assert_eq!(team.rep_count, 2);
        for kpi in BuiltInKpi::ALL {
            if kpi == BuiltInKpi::SalesVelocity {
                continue; // a sum of flows by design, see `BuiltInKpi::pooling`
            }
            let pooled = pool(kpi.pooling(), &[compute(kpi, &a), compute(kpi, &b)]);
            let combined = compute(kpi, &team);
            assert_eq!(r(pooled.value), r(combined.value), "{kpi:?}");
            assert_eq!(r(pooled.numerator), r(combined.numerator), "{kpi:?}");
            assert_eq!(r(pooled.denominator), r(combined.denominator), "{kpi:?}");
        }
    }

    #[test]
    fn pooling_edge_cases() {
        let sum = Pooling::Sum;
        let quotient = Pooling::Quotient { percent: true };
        assert_eq!(pool(sum, &[]), KpiValue::NONE);
        assert_eq!(pool(sum, &[KpiValue::NONE, KpiValue::NONE]), KpiValue::NONE);
        assert_eq!(pool(sum, &[KpiValue::NONE, KpiValue::total(d("3"))]), KpiValue::total(d("3")));
        assert_eq!(pool(quotient, &[]), KpiValue::NONE);
        // Members with 0 of 0 keep the pooled parts visible but the value undefined.
        assert_eq!(pool(quotient, &[ratio_none("0", "0"), ratio_none("0", "0")]), ratio_none("0", "0"));
        // A member without a value but with parts still counts in the pool.
        assert_eq!(pool(quotient, &[ratio_none("2", "0"), ratio("50", "1", "2")]), ratio("150", "3", "2"));
        assert_eq!(
            pool(Pooling::Quotient { percent: false }, &[ratio("2", "4", "2"), ratio("5", "5", "1")]).value,
            Some(d("3"))
        );
        assert_eq!(pool(Pooling::Elsewhere, &[KpiValue::total(d("1"))]), KpiValue::NONE);
    }

    // ----- status -----

    #[test]
    fn status_against_target() {
        let higher = KpiDirection::HigherIsBetter;
        let lower = KpiDirection::LowerIsBetter;
        assert_eq!(status(Some(d("50")), Some(d("40")), higher), KpiStatus::OnTarget);
        assert_eq!(status(Some(d("40")), Some(d("40")), higher), KpiStatus::OnTarget);
        assert_eq!(status(Some(d("39.99")), Some(d("40")), higher), KpiStatus::OffTarget);
        // Lower is better: at or below the target is on target.
        assert_eq!(status(Some(d("8")), Some(d("10")), lower), KpiStatus::OnTarget);
        assert_eq!(status(Some(d("8")), Some(d("8")), lower), KpiStatus::OnTarget);
        assert_eq!(status(Some(d("8")), Some(d("7")), lower), KpiStatus::OffTarget);
        assert_eq!(status(Some(d("0")), Some(d("0")), lower), KpiStatus::OnTarget);
        // No target or no value.
        assert_eq!(status(Some(d("8")), None, lower), KpiStatus::NoTarget);
        assert_eq!(status(None, Some(d("8")), higher), KpiStatus::NoTarget);
        assert_eq!(status(None, None, higher), KpiStatus::NoTarget);
        // Exact decimals: 29 of 100 meets a 29 % target.
        let v = KpiValue::quotient(d("29"), d("100"), true);
        assert_eq!(status(v.value, Some(d("29")), higher), KpiStatus::OnTarget);
        let v = KpiValue::quotient(d("7"), d("3"), false);
        assert_eq!(status(v.value, Some(d("2.33")), higher), KpiStatus::OnTarget);
        // The fixture's cycle length (8 days) against targets.
        let cycle = compute(BuiltInKpi::SalesCycleLength, &rep_a()).value;
        assert_eq!(status(cycle, Some(d("10")), BuiltInKpi::SalesCycleLength.direction()), KpiStatus::OnTarget);
        assert_eq!(status(cycle, Some(d("7")), BuiltInKpi::SalesCycleLength.direction()), KpiStatus::OffTarget);
    }

    // ----- weeks and targets -----

    #[test]
    fn week_starts() {
        assert_eq!(week_start(date(2026, 3, 2)), date(2026, 3, 2));
        assert_eq!(week_start(date(2026, 3, 8)), date(2026, 3, 2));
        assert_eq!(week_start(date(2026, 1, 1)), date(2025, 12, 29));
        assert_eq!(last_closed_week(date(2026, 3, 9)), date(2026, 3, 2));
        assert_eq!(last_closed_week(date(2026, 3, 15)), date(2026, 3, 2));
        assert_eq!(week_start(NaiveDate::MIN), NaiveDate::MIN);
    }

    #[test]
    fn whole_weeks_in_months_starting_on_every_weekday() {
        let month = |y: i32, m: u32| {
            let start = date(y, m, 1);
            whole_week_count(start, start.checked_add_months(chrono::Months::new(1)).expect("month"))
        };
        // (month, its first weekday, Mondays inside it)
        let cases = [
            ((2026, 6), "Mon", 5),  // 1, 8, 15, 22, 29
            ((2027, 2), "Mon", 4),  // 1, 8, 15, 22: 28 days, exactly four weeks
            ((2026, 9), "Tue", 4),  // 7, 14, 21, 28
            ((2026, 12), "Tue", 4), // 7, 14, 21, 28
            ((2026, 4), "Wed", 4),  // 6, 13, 20, 27
            ((2026, 7), "Wed", 4),  // 6, 13, 20, 27
            ((2026, 1), "Thu", 4),  // 5, 12, 19, 26
            ((2026, 10), "Thu", 4), // 5, 12, 19, 26
            ((2026, 5), "Fri", 4),  // 4, 11, 18, 25
            ((2026, 8), "Sat", 5),  // 3, 10, 17, 24, 31
            ((2026, 2), "Sun", 4),  // 2, 9, 16, 23
            ((2026, 3), "Sun", 5),  // 2, 9, 16, 23, 30
            ((2026, 11), "Sun", 5), // 2, 9, 16, 23, 30
        ];
        for ((y, m), weekday, weeks) in cases {
            assert_eq!(date(y, m, 1).format("%a").to_string(), weekday);
            assert_eq!(month(y, m), weeks, "{y}-{m}");
        }
        let mondays: Vec<NaiveDate> = whole_weeks(date(2026, 8, 1), date(2026, 9, 1)).collect();
        assert_eq!(
            mondays,
            vec![date(2026, 8, 3), date(2026, 8, 10), date(2026, 8, 17), date(2026, 8, 24), date(2026, 8, 31)]
        );
        // Every month of 2026 agrees with the iterator and adds up to the year's 52.
        let total: u32 = (1..=12).map(|m| month(2026, m)).sum();
        assert_eq!(total, 52);
        for m in 1..=12 {
            let start = date(2026, m, 1);
            let end = start.checked_add_months(chrono::Months::new(1)).expect("month");
            assert_eq!(whole_weeks(start, end).count() as u32, whole_week_count(start, end));
        }
    }

    #[test]
    fn whole_weeks_in_weeks_quarters_and_years() {
        assert_eq!(whole_week_count(date(2026, 3, 2), date(2026, 3, 9)), 1); // an ISO week
        assert_eq!(whole_week_count(date(2026, 3, 3), date(2026, 3, 10)), 1); // Tue to Tue holds Monday the 9th
        assert_eq!(whole_week_count(date(2026, 3, 3), date(2026, 3, 9)), 0); // Tue to Sun: no Monday
        assert_eq!(whole_week_count(date(2026, 3, 2), date(2026, 3, 3)), 1); // a Monday alone
        assert_eq!(whole_week_count(date(2026, 3, 2), date(2026, 3, 2)), 0); // empty
        assert_eq!(whole_week_count(date(2026, 3, 9), date(2026, 3, 2)), 0); // reversed
        assert_eq!(whole_week_count(date(2026, 1, 1), date(2026, 4, 1)), 13); // Q1 2026
        assert_eq!(whole_week_count(date(2026, 1, 1), date(2027, 1, 1)), 52);
        assert_eq!(whole_week_count(date(2024, 1, 1), date(2025, 1, 1)), 53); // starts on a Monday, leap year
        assert!(whole_week_count(NaiveDate::MIN, NaiveDate::MAX) > 13_000_000);
        assert_eq!(whole_weeks(date(2026, 3, 3), date(2026, 3, 9)).count(), 0);
        assert_eq!(whole_weeks(NaiveDate::MAX, NaiveDate::MAX).count(), 0);
    }

    #[test]
    fn targets_for_periods() {
        let june = (date(2026, 6, 1), date(2026, 7, 1));
        let july = (date(2026, 7, 1), date(2026, 8, 1));
        // Totals scale by whole weeks: 10 leads a week is 50 in June (5 Mondays), 40 in July (4).
        assert_eq!(target_for_period(d("10"), TargetScaling::ByWholeWeeks, june.0, june.1), Some(d("50")));
        assert_eq!(target_for_period(d("10"), TargetScaling::ByWholeWeeks, july.0, july.1), Some(d("40")));
        assert_eq!(
            target_for_period(d("2500.50"), TargetScaling::ByWholeWeeks, date(2026, 1, 1), date(2026, 4, 1)),
            Some(d("32506.50"))
        );
        // A rate target stays the rate.
        assert_eq!(target_for_period(d("25"), TargetScaling::Fixed, june.0, june.1), Some(d("25")));
        // A window without a whole week has no total target, but a rate target applies.
        let tue_to_sun = (date(2026, 3, 3), date(2026, 3, 9));
        assert_eq!(target_for_period(d("10"), TargetScaling::ByWholeWeeks, tue_to_sun.0, tue_to_sun.1), None);
        assert_eq!(target_for_period(d("25"), TargetScaling::Fixed, tue_to_sun.0, tue_to_sun.1), Some(d("25")));
        // Built-ins pick their scaling.
        let scaled = |kpi: BuiltInKpi| target_for_period(d("10"), kpi.target_scaling(), june.0, june.1);
        assert_eq!(scaled(BuiltInKpi::Revenue), Some(d("50")));
        assert_eq!(scaled(BuiltInKpi::NewLeads), Some(d("50")));
        assert_eq!(scaled(BuiltInKpi::CloseRate), Some(d("10")));
        assert_eq!(scaled(BuiltInKpi::AverageDealSize), Some(d("10")));
        assert_eq!(scaled(BuiltInKpi::SalesCycleLength), Some(d("10")));
        assert_eq!(scaled(BuiltInKpi::SalesVelocity), Some(d("10")));
    }

    #[test]
    fn targets_that_change_during_a_period() {
        let june = (date(2026, 6, 1), date(2026, 7, 1));
        // 10 a week, raised to 12 from Monday 15 June.
        let history = |monday: NaiveDate| Some(if monday < date(2026, 6, 15) { d("10") } else { d("12") });
        assert_eq!(target_for_period_by_week(history, TargetScaling::ByWholeWeeks, june.0, june.1), Some(d("56")));
        // A rate takes the target of the period's last week (that of Monday 29 June).
        assert_eq!(target_for_period_by_week(history, TargetScaling::Fixed, june.0, june.1), Some(d("12")));
        // First set on 10 June: the weeks of the 15th, 22nd and 29th count.
        let late = |monday: NaiveDate| (monday >= date(2026, 6, 8) + TimeDelta::days(2)).then(|| d("12"));
        assert_eq!(target_for_period_by_week(late, TargetScaling::ByWholeWeeks, june.0, june.1), Some(d("36")));
        let never = |_: NaiveDate| None;
        assert_eq!(target_for_period_by_week(never, TargetScaling::ByWholeWeeks, june.0, june.1), None);
        assert_eq!(target_for_period_by_week(never, TargetScaling::Fixed, june.0, june.1), None);
        // A rate over July: its last day (Friday 31st) lies in the week of Monday 27 July.
        let asked = std::cell::Cell::new(None);
        let record = |monday: NaiveDate| {
            asked.set(Some(monday));
            Some(d("30"))
        };
        assert_eq!(
            target_for_period_by_week(record, TargetScaling::Fixed, date(2026, 7, 1), date(2026, 8, 1)),
            Some(d("30"))
        );
        assert_eq!(asked.get(), Some(date(2026, 7, 27)));
        // An empty period has no target.
        assert_eq!(target_for_period_by_week(history, TargetScaling::Fixed, june.0, june.0), None);
    }

    // ----- trend -----

    fn series(values: &[Option<&str>]) -> Vec<Option<Decimal>> {
        values.iter().map(|v| v.map(d)).collect()
    }

    #[test]
    fn trend_directions() {
        let dir = |values: &[Option<&str>]| trend(&series(values), 6).direction;
        assert_eq!(dir(&[Some("10"), Some("10"), Some("10")]), Trend::Flat);
        assert_eq!(dir(&[Some("1"), Some("2"), Some("3"), Some("4"), Some("5"), Some("6")]), Trend::Up);
        assert_eq!(dir(&[Some("6"), Some("5"), Some("4"), Some("3"), Some("2"), Some("1")]), Trend::Down);
        // Fewer than two values: flat.
        assert_eq!(dir(&[]), Trend::Flat);
        assert_eq!(dir(&[Some("5")]), Trend::Flat);
        assert_eq!(dir(&[None, Some("5"), None]), Trend::Flat);
        // All zero: flat.
        assert_eq!(dir(&[Some("0"), Some("0"), Some("0")]), Trend::Flat);
        // Tolerance: 100, 100, 104 changes 4 over the window (slope 2 × span 2), under 5 % of 101.33.
        assert_eq!(dir(&[Some("100"), Some("100"), Some("104")]), Trend::Flat);
        // 100, 100, 112: slope 6, change 12 > 5.2.
        assert_eq!(dir(&[Some("100"), Some("100"), Some("112")]), Trend::Up);
        // Exactly at the tolerance (change 2 = 5 % of 40) is still flat; just past it is not.
        assert_eq!(dir(&[Some("39"), Some("41")]), Trend::Flat);
        assert_eq!(dir(&[Some("41"), Some("39")]), Trend::Flat);
        assert_eq!(dir(&[Some("39"), Some("41.2")]), Trend::Up);
        assert_eq!(dir(&[Some("41.2"), Some("39")]), Trend::Down);
        // A rise then a deeper fall: the least-squares line goes down.
        assert_eq!(dir(&[Some("10"), Some("20"), Some("12"), Some("5")]), Trend::Down);
        // Gaps keep their positions: 10 in week 1, 20 in week 4.
        assert_eq!(dir(&[Some("10"), None, None, Some("20")]), Trend::Up);
        // One spike among flat weeks, in the middle, does not make a trend.
        assert_eq!(dir(&[Some("10"), Some("10"), Some("30"), Some("10"), Some("10")]), Trend::Flat);
        // From zero to something is up.
        assert_eq!(dir(&[Some("0"), Some("0"), Some("0"), Some("0"), Some("0"), Some("1")]), Trend::Up);
    }

    #[test]
    fn trend_windows() {
        let values = series(&[Some("9"), Some("1"), Some("2"), Some("3"), Some("4"), Some("5"), Some("6"), Some("7")]);
        let window = trend(&values, SCOREBOARD_TREND_WEEKS);
        assert_eq!(window.values, series(&[Some("2"), Some("3"), Some("4"), Some("5"), Some("6"), Some("7")]));
        assert_eq!(window.direction, Trend::Up);
        // Shorter series: all of it.
        assert_eq!(trend(&values[..3], 6).values, series(&[Some("9"), Some("1"), Some("2")]));
        assert_eq!(trend(&values[..3], 6).direction, Trend::Down);
        assert_eq!(trend(&values, 0), TrendWindow { values: vec![], direction: Trend::Flat });
        assert_eq!(trend(&[], 6), TrendWindow { values: vec![], direction: Trend::Flat });
        // Huge values do not panic.
        let huge = vec![Some(Decimal::MAX), Some(Decimal::MIN), Some(Decimal::MAX)];
        let _ = trend(&huge, 6);
    }

    #[test]
    fn trend_meaning_depends_on_direction() {
        assert_eq!(Trend::Up.is_improvement(KpiDirection::HigherIsBetter), Some(true));
        assert_eq!(Trend::Up.is_improvement(KpiDirection::LowerIsBetter), Some(false));
        assert_eq!(Trend::Down.is_improvement(KpiDirection::LowerIsBetter), Some(true));
        assert_eq!(Trend::Down.is_improvement(KpiDirection::HigherIsBetter), Some(false));
        assert_eq!(Trend::Flat.is_improvement(KpiDirection::HigherIsBetter), None);
    }

    // ----- alerts -----

    /// Consecutive weeks from Monday 5 January 2026, with `(value, target)` each.
    fn weeks(points: &[(Option<&str>, Option<&str>)]) -> Vec<WeekPoint> {
        points
            .iter()
            .enumerate()
            .map(|(i, (value, target))| WeekPoint {
                week_start: date(2026, 1, 5) + TimeDelta::weeks(i as i64),
                value: value.map(d),
                target: target.map(d),
            })
            .collect()
    }

    fn values(points: &[Option<&str>]) -> Vec<WeekPoint> {
        weeks(&points.iter().map(|v| (*v, None)).collect::<Vec<_>>())
    }

    const HIGHER: KpiDirection = KpiDirection::HigherIsBetter;

    #[test]
    fn below_target_streaks() {
        let ten = Some("10");
        // Exactly N weeks off target.
        let s = weeks(&[(Some("5"), ten), (Some("6"), ten), (Some("9.99"), ten)]);
        let fired = below_target_streak(&s, HIGHER, 3).expect("fires");
        assert_eq!(fired.kind, AlertKind::BelowTargetStreak);
        assert_eq!(fired.weeks, s);
        assert_eq!(fired.closed_week, date(2026, 1, 19));
        // N - 1 weeks: not yet.
        let s = weeks(&[(Some("12"), ten), (Some("5"), ten), (Some("5"), ten)]);
        assert_eq!(below_target_streak(&s, HIGHER, 3), None);
        assert_eq!(below_target_streak(&s, HIGHER, 2).map(|f| f.weeks.len()), Some(2));
        // Only the last N weeks count: an earlier good week does not matter.
        let s = weeks(&[(Some("12"), ten), (Some("5"), ten), (Some("5"), ten), (Some("5"), ten)]);
        let fired = below_target_streak(&s, HIGHER, 3).expect("fires");
        assert_eq!(fired.weeks, s[1..].to_vec());
        assert_eq!(fired.closed_week, date(2026, 1, 26));
        // The last week on target (equal counts) ends the streak.
        let s = weeks(&[(Some("5"), ten), (Some("5"), ten), (Some("10"), ten)]);
        assert_eq!(below_target_streak(&s, HIGHER, 3), None);
        assert_eq!(below_target_streak(&s, HIGHER, 2), None);
        // NO_TARGET in the middle breaks it: no target, or no value.
        let s = weeks(&[(Some("5"), ten), (Some("5"), None), (Some("5"), ten)]);
        assert_eq!(below_target_streak(&s, HIGHER, 3), None);
        let s = weeks(&[(Some("5"), ten), (None, ten), (Some("5"), ten)]);
        assert_eq!(below_target_streak(&s, HIGHER, 3), None);
        // Too short a series.
        let s = weeks(&[(Some("5"), ten), (Some("5"), ten)]);
        assert_eq!(below_target_streak(&s, HIGHER, 3), None);
        assert_eq!(below_target_streak(&[], HIGHER, 2), None);
        assert_eq!(below_target_streak(&s, HIGHER, 0), None);
        // Targets may change from week to week.
        let s = weeks(&[(Some("8"), Some("9")), (Some("9"), Some("10")), (Some("10"), Some("11"))]);
        assert!(below_target_streak(&s, HIGHER, 3).is_some());
    }

    #[test]
    fn below_target_streaks_for_lower_is_better() {
        let lower = KpiDirection::LowerIsBetter;
        let ten = Some("10");
        // Cycle length above its target three weeks running.
        let s = weeks(&[(Some("12"), ten), (Some("15"), ten), (Some("11"), ten)]);
        assert!(below_target_streak(&s, lower, 3).is_some());
        // At the target is on target.
        let s = weeks(&[(Some("12"), ten), (Some("10"), ten), (Some("11"), ten)]);
        assert_eq!(below_target_streak(&s, lower, 3), None);
    }

    #[test]
    fn streaks_need_consecutive_weeks() {
        let ten = Some("10");
        let mut s = weeks(&[(Some("5"), ten), (Some("5"), ten), (Some("5"), ten)]);
        s[0].week_start = date(2025, 12, 29) - TimeDelta::weeks(1); // a week is missing
        assert_eq!(below_target_streak(&s, HIGHER, 3), None);
        assert!(below_target_streak(&s, HIGHER, 2).is_some());
        let mut v = values(&[Some("40"), Some("35"), Some("30")]);
        v[2].week_start += TimeDelta::days(1);
        assert_eq!(ratio_declining(&v, 2), None);
    }

    #[test]
    fn declining_ratios() {
        // Three falls in a row: four weeks.
        let s = values(&[Some("40"), Some("35"), Some("30"), Some("25")]);
        let fired = ratio_declining(&s, 3).expect("fires");
        assert_eq!(fired.kind, AlertKind::RatioDeclining);
        assert_eq!(fired.weeks, s);
        assert_eq!(fired.closed_week, date(2026, 1, 26));
        // Three weeks are only two steps.
        assert_eq!(ratio_declining(&s[..3], 3), None);
        assert!(ratio_declining(&s[..3], 2).is_some());
        // An equal value is not a fall.
        let s = values(&[Some("40"), Some("35"), Some("35"), Some("30")]);
        assert_eq!(ratio_declining(&s, 3), None);
        assert_eq!(ratio_declining(&s, 2), None);
        assert!(ratio_declining(&s[2..], 1).is_some());
        // A missing value breaks the decline.
        let s = values(&[Some("40"), None, Some("30"), Some("25")]);
        assert_eq!(ratio_declining(&s, 3), None);
        assert_eq!(ratio_declining(&s, 2), None);
        assert!(ratio_declining(&s, 1).is_some());
        let s = values(&[Some("40"), Some("35"), Some("30"), None]);
        assert_eq!(ratio_declining(&s, 2), None);
        // Only the last steps count: a rise before them does not matter.
        let s = values(&[Some("20"), Some("40"), Some("35"), Some("30")]);
        assert_eq!(ratio_declining(&s, 2).map(|f| f.weeks.len()), Some(3));
        assert_eq!(ratio_declining(&s, 3), None);
        // Targets play no part.
        let s = weeks(&[(Some("40"), Some("1")), (Some("39.5"), Some("1")), (Some("39.4"), Some("1"))]);
        assert!(ratio_declining(&s, 2).is_some());
        assert_eq!(ratio_declining(&[], 2), None);
    }

    #[test]
    fn evaluate_dispatches_on_kind() {
        let s = weeks(&[(Some("40"), Some("50")), (Some("35"), Some("50")), (Some("30"), Some("50"))]);
        assert_eq!(
            evaluate_alert(AlertKind::BelowTargetStreak, &s, HIGHER, 3).map(|f| f.kind),
            Some(AlertKind::BelowTargetStreak)
        );
        assert_eq!(
            evaluate_alert(AlertKind::RatioDeclining, &s, HIGHER, 2).map(|f| f.kind),
            Some(AlertKind::RatioDeclining)
        );
        assert_eq!(evaluate_alert(AlertKind::RatioDeclining, &s, HIGHER, 3), None);
    }

    #[test]
    fn alert_dedupe_keys() {
        let key = alert_dedupe_key(id(1), id(2), date(2026, 3, 2));
        assert_eq!(key, format!("{}:{}:2026-03-02", id(1), id(2)));
        assert_eq!(key, alert_dedupe_key(id(1), id(2), date(2026, 3, 2)));
        assert_ne!(key, alert_dedupe_key(id(1), id(2), date(2026, 3, 9)));
        assert_ne!(key, alert_dedupe_key(id(1), id(3), date(2026, 3, 2)));
        assert_ne!(key, alert_dedupe_key(id(4), id(2), date(2026, 3, 2)));
        // The trigger's closing week is what goes into the key.
        let s = weeks(&[(Some("1"), Some("2")), (Some("1"), Some("2"))]);
        let fired = below_target_streak(&s, HIGHER, 2).expect("fires");
        assert!(alert_dedupe_key(id(1), id(2), fired.closed_week).ends_with("2026-01-12"));
    }

    #[test]
    fn alert_rule_inputs() {
        assert!(parse_periods(1).is_err());
        assert_eq!(parse_periods(2), Ok(2));
        assert_eq!(parse_periods(12), Ok(12));
        assert_eq!(parse_periods(13).map_err(|e| e.code), Err("OUT_OF_RANGE"));
        assert_eq!(parse_periods(-3).map_err(|e| e.field), Err(vec!["input".to_owned(), "periods".to_owned()]));
        let rule = |kind, kpi: BuiltInKpi| check_alert_rule(kind, &kpi.shape()).is_ok();
        assert!(rule(AlertKind::RatioDeclining, BuiltInKpi::QuoteToCustomerRate));
        assert!(rule(AlertKind::RatioDeclining, BuiltInKpi::CloseRate));
        assert!(rule(AlertKind::RatioDeclining, BuiltInKpi::SalesVelocity));
        assert!(!rule(AlertKind::RatioDeclining, BuiltInKpi::SalesCycleLength));
        assert!(!rule(AlertKind::RatioDeclining, BuiltInKpi::Revenue));
        assert!(!rule(AlertKind::RatioDeclining, BuiltInKpi::NewLeads));
        for kpi in BuiltInKpi::ALL {
            assert!(rule(AlertKind::BelowTargetStreak, kpi));
        }
        let lower_ratio =
            KpiShape::custom(KpiKind::Ratio, KpiUnit::Percent, KpiDirection::LowerIsBetter).expect("shape");
        assert!(check_alert_rule(AlertKind::RatioDeclining, &lower_ratio).is_err());
    }

    // ----- validation -----

    #[test]
    fn kpi_keys() {
        assert_eq!(parse_kpi_key("  selling_time ").as_deref(), Ok("selling_time"));
        assert_eq!(parse_kpi_key("q2_demos").as_deref(), Ok("q2_demos"));
        for bad in ["", "x", "Selling", "2calls", "_calls", "selling-time", "selling time", "ë", &"a".repeat(65)] {
            assert_eq!(parse_kpi_key(bad).map_err(|e| e.code), Err("INVALID"), "{bad}");
        }
        assert_eq!(parse_kpi_key(&"a".repeat(64)).map(|k| k.len()), Ok(64));
        assert_eq!(parse_kpi_key("close_rate").map_err(|e| e.code), Err("RESERVED"));
        let refused = refuse_builtin_edit("new_leads", KpiEdit::Update).expect("a built-in is refused");
        assert_eq!((refused.code, refused.field.join(".")), ("BUILT_IN", "input.key".to_owned()));
        assert!(
            refused.message.contains("setKpiTarget") && refused.message.contains("createKpi"),
            "{}",
            refused.message
        );
        assert!(refuse_builtin_edit("forecast_accuracy", KpiEdit::Archive).is_some());
        assert!(refuse_builtin_edit("selling_time", KpiEdit::Update).is_none());
    }

    #[test]
    fn activity_kpi_keys() {
        assert_eq!(parse_activity_kpi_key(None), Ok(None));
        assert_eq!(parse_activity_kpi_key(Some("  ")), Ok(None));
        assert_eq!(parse_activity_kpi_key(Some(" calls ")), Ok(Some("calls")));
        assert_eq!(parse_activity_kpi_key(Some("quotes_sent")), Ok(Some("quotes_sent")));
        assert_eq!(parse_activity_kpi_key(Some("appointments")), Ok(Some("appointments")));
        assert_eq!(parse_activity_kpi_key(Some("emails")).map_err(|e| e.code), Err("INVALID"));
    }

    #[test]
    fn custom_shapes() {
        let up = KpiDirection::HigherIsBetter;
        let count = KpiShape::custom(KpiKind::ActivityCount, KpiUnit::Count, up).expect("shape");
        assert_eq!((count.pooling, count.target_scaling), (Pooling::Sum, TargetScaling::ByWholeWeeks));
        assert!(KpiShape::custom(KpiKind::ActivitySum, KpiUnit::Hours, up).is_ok());
        assert!(KpiShape::custom(KpiKind::ActivityCount, KpiUnit::Percent, up).is_err());
        assert!(KpiShape::custom(KpiKind::ActivitySum, KpiUnit::Rate, up).is_err());
        let pct = KpiShape::custom(KpiKind::Ratio, KpiUnit::Percent, up).expect("shape");
        assert_eq!((pct.pooling, pct.target_scaling), (Pooling::Quotient { percent: true }, TargetScaling::Fixed));
        let rate = KpiShape::custom(KpiKind::Ratio, KpiUnit::Rate, up).expect("shape");
        assert_eq!(rate.pooling, Pooling::Quotient { percent: false });
        assert_eq!(
            KpiShape::custom(KpiKind::Ratio, KpiUnit::Count, up).map_err(|e| e.field),
            Err(vec!["input".to_owned(), "unit".to_owned()])
        );
        let reported = KpiShape::custom(KpiKind::SelfReported, KpiUnit::Percent, up).expect("shape");
        assert_eq!(
            (reported.pooling, reported.target_scaling),
            (Pooling::Quotient { percent: false }, TargetScaling::Fixed)
        );
        let reported = KpiShape::custom(KpiKind::SelfReported, KpiUnit::Money, up).expect("shape");
        assert_eq!((reported.pooling, reported.target_scaling), (Pooling::Sum, TargetScaling::ByWholeWeeks));
        assert!(KpiShape::custom(KpiKind::BuiltIn, KpiUnit::Count, up).is_err());
    }

    #[test]
    fn ratio_operands_must_add_up() {
        let up = KpiDirection::HigherIsBetter;
        let calls = KpiShape::custom(KpiKind::ActivityCount, KpiUnit::Count, up).expect("shape");
        let appointments = calls;
        assert!(check_ratio_operands("appointments_set", &appointments, "calls_made", &calls).is_ok());
        assert!(check_ratio_operands("revenue", &BuiltInKpi::Revenue.shape(), "calls_made", &calls).is_ok());
        let same = check_ratio_operands("calls_made", &calls, "calls_made", &calls);
        assert_eq!(same.map_err(|e| e.field), Err(vec!["input".to_owned(), "denominatorKey".to_owned()]));
        let of_rate = check_ratio_operands("close_rate", &BuiltInKpi::CloseRate.shape(), "calls_made", &calls);
        assert_eq!(of_rate.map_err(|e| (e.code, e.field[1].clone())), Err(("NOT_ADDITIVE", "numeratorKey".to_owned())));
        let by_mean = check_ratio_operands(
            "revenue",
            &BuiltInKpi::Revenue.shape(),
            "cycle",
            &BuiltInKpi::SalesCycleLength.shape(),
        );
        assert_eq!(by_mean.map_err(|e| e.field[1].clone()), Err("denominatorKey".to_owned()));
        let ratio = KpiShape::custom(KpiKind::Ratio, KpiUnit::Rate, up).expect("shape");
        assert!(check_ratio_operands("a_ratio", &ratio, "calls_made", &calls).is_err());
        let forecast = BuiltInKpi::ForecastAccuracy.shape();
        assert!(check_ratio_operands("forecast_accuracy", &forecast, "calls_made", &calls).is_err());
    }

    #[test]
    fn kpi_numbers() {
        assert_eq!(parse_kpi_number("perWeek", 25.0, KpiUnit::Percent), Ok(d("25")));
        assert_eq!(parse_kpi_number("perWeek", 0.1 + 0.2, KpiUnit::Percent), Ok(d("0.3")));
        assert_eq!(parse_kpi_number("perWeek", 12.3456, KpiUnit::Hours), Ok(d("12.3456")));
        assert_eq!(parse_kpi_number("perWeek", 2500.5, KpiUnit::Money), Ok(d("2500.5")));
        assert_eq!(parse_kpi_number("perWeek", 0.0, KpiUnit::Count), Ok(d("0")));
        assert_eq!(parse_kpi_number("perWeek", 1e10, KpiUnit::Money), Ok(d("10000000000")));
        assert_eq!(parse_kpi_number("perWeek", 100.0, KpiUnit::Percent), Ok(d("100")));
        let code = |v: f64, unit| parse_kpi_number("value", v, unit).map_err(|e| e.code);
        assert_eq!(code(100.01, KpiUnit::Percent), Err("OUT_OF_RANGE"));
        assert_eq!(code(-1.0, KpiUnit::Count), Err("OUT_OF_RANGE"));
        assert_eq!(code(1e10 + 1.0, KpiUnit::Count), Err("OUT_OF_RANGE"));
        assert_eq!(code(f64::NAN, KpiUnit::Count), Err("INVALID"));
        assert_eq!(code(f64::INFINITY, KpiUnit::Count), Err("INVALID"));
        assert_eq!(code(1.005, KpiUnit::Money), Err("INVALID"));
        assert_eq!(code(1.00005, KpiUnit::Rate), Err("INVALID"));
        assert_eq!(parse_kpi_number("value", 1.0, KpiUnit::Count).map(|v| v.to_string()), Ok("1".to_owned()));
        assert_eq!(parse_kpi_number("value", -0.0, KpiUnit::Count), Ok(d("0")));
    }
}
