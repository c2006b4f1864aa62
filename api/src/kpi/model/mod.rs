//! KPI rules: the built-in catalogue with exact formulas, computing values from plain facts,
//! custom KPIs, pooling member values into a team value, status against a target, weekly targets
//! over longer periods, trends, and the pattern alerts. Pure functions, no I/O.
//!
//! # Numbers
//!
//! Every KPI value, numerator, denominator and target is a [`Decimal`](rust_decimal::Decimal), never a float: money
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

mod alert_rules;
mod catalogue;
mod compute;
mod facts;
mod shape;
mod targets;
mod trend;
mod validation;

pub use self::alert_rules::*;
pub use self::catalogue::*;
pub use self::compute::*;
pub use self::facts::*;
pub use self::shape::*;
pub use self::targets::*;
pub use self::trend::*;
pub use self::validation::*;
