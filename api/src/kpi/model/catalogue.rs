//! The built-in KPI catalogue: each KPI's key, name, description, formula and shape, and which
//! sales roles it applies to.

use async_graphql::Enum;

use super::{KpiDirection, KpiShape, KpiUnit, Pooling, TargetScaling};
use crate::core::roles::SalesRole;

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

    /// The name in a language.
    pub fn name_in(self, locale: crate::core::locale::Locale) -> &'static str {
        use crate::core::locale::Locale;
        if locale == Locale::En {
            return self.name();
        }
        match self {
            BuiltInKpi::NewLeads => "Nieuwe leads",
            BuiltInKpi::LeadQualificationRate => "Leadkwalificatieratio",
            BuiltInKpi::ProposalRate => "Offerteratio",
            BuiltInKpi::CloseRate => "Closing ratio",
            BuiltInKpi::WinRate => "Winratio (aantal)",
            BuiltInKpi::WinRateValue => "Winratio (waarde)",
            BuiltInKpi::CallToAppointmentRate => "Belafspraakratio",
            BuiltInKpi::QuoteToCustomerRate => "Offerte-naar-klantratio",
            BuiltInKpi::Revenue => "Omzet",
            BuiltInKpi::DealsWon => "Gewonnen deals",
            BuiltInKpi::AverageDealSize => "Gemiddelde dealgrootte",
            BuiltInKpi::SalesCycleLength => "Lengte van de salescyclus",
            BuiltInKpi::LeadFollowUpTime => "Opvolgtijd van leads",
            BuiltInKpi::SalesVelocity => "Dealsnelheid",
            BuiltInKpi::AverageQuarterlyRevenuePerRep => "Gemiddelde kwartaalomzet per verkoper",
            BuiltInKpi::ForecastAccuracy => "Forecastnauwkeurigheid",
        }
    }

    /// What the KPI tells a sales manager, in a language.
    pub fn description_in(self, locale: crate::core::locale::Locale) -> &'static str {
        use crate::core::locale::Locale;
        if locale == Locale::En {
            return self.description();
        }
        match self {
            BuiltInKpi::NewLeads => "Hoeveel nieuwe leads de pijplijn in kwamen: de brandstof van elk ander getal.",
            BuiltInKpi::LeadQualificationRate => "Het deel van de nieuwe leads dat een echte prospect blijkt.",
            BuiltInKpi::ProposalRate => "Het deel van de gekwalificeerde deals dat een offerte krijgt.",
            BuiltInKpi::CloseRate => "Het deel van de besliste deals dat gewonnen is.",
            BuiltInKpi::WinRate => "Het deel van de besliste deals dat gewonnen is, in aantal.",
            BuiltInKpi::WinRateValue => "Het deel van de waarde van de besliste pijplijn dat gewonnen is.",
            BuiltInKpi::CallToAppointmentRate => "Hoeveel belletjes een afspraak kost, als percentage.",
            BuiltInKpi::QuoteToCustomerRate => "Hoe goed offertes klanten worden.",
            BuiltInKpi::Revenue => "De waarde van de gewonnen deals.",
            BuiltInKpi::DealsWon => "Hoeveel deals er gewonnen zijn.",
            BuiltInKpi::AverageDealSize => "De gebruikelijke waarde van een gewonnen deal.",
            BuiltInKpi::SalesCycleLength => {
                "Hoe lang het duurt van binnenkomende lead tot gewonnen deal; korter is beter."
            }
            BuiltInKpi::LeadFollowUpTime => "Hoe snel een nieuwe lead benaderd wordt; sneller is beter.",
            BuiltInKpi::SalesVelocity => {
                "Hoeveel geld de open pijplijn per dag oplevert bij de huidige winratio, dealgrootte en cycluslengte."
            }
            BuiltInKpi::AverageQuarterlyRevenuePerRep => {
                "Omzet gedeeld door het aantal verkopers; lees het per kwartaal."
            }
            BuiltInKpi::ForecastAccuracy => "Hoe dicht de forecast bij het werkelijke resultaat kwam.",
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

    /// How member values combine into a team value (see [`pool`](super::pool)).
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

    /// Whether [`compute_builtin`](super::compute_builtin) computes it (the forecast accuracy comes from the forecast
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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::kpi::model::{KpiDirection, KpiUnit, Pooling, TargetScaling, parse_kpi_key};

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

    #[test]
    fn every_built_in_has_a_dutch_name_and_description_of_its_own() {
        use crate::core::locale::Locale;
        let mut names = std::collections::HashSet::new();
        for k in BuiltInKpi::ALL {
            assert_eq!(k.name_in(Locale::En), k.name());
            assert!(!k.name_in(Locale::Nl).is_empty() && !k.description_in(Locale::Nl).is_empty());
            assert!(names.insert(k.name_in(Locale::Nl)), "{:?}: a Dutch name used twice", k);
        }
        assert_eq!(BuiltInKpi::NewLeads.name_in(Locale::Nl), "Nieuwe leads");
    }
}
