//! What a statement is computed from (deals, activities, team facts, reversals, resolved
//! disputes) and what it is made of (lines, totals), with the rounding and formatting of money.

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Component, LineKind, Tier};
use crate::core::locale::Locale;

// ---------------------------------------------------------------------------------------------
// Statement input and output
// ---------------------------------------------------------------------------------------------

/// How a member is credited for a deal.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq)]
pub enum CreditShare {
    /// The deal's owner (without revenue splits, 100 %).
    Owner,
    /// A revenue-split partner with this percent (revenue shares sum to 100).
    Revenue(i32),
    /// An overlay partner with this percent, on top of the revenue shares.
    Overlay(i32),
}

/// A won deal credited to the member, closed in the period.
#[derive(Debug, Clone, PartialEq)]
pub struct DealCredit {
    /// The deal.
    pub deal_id: Uuid,
    /// Its name, for explanations.
    pub deal_name: String,
    /// The day it closed (in the organization's time zone).
    pub closed_on: NaiveDate,
    /// The deal's full amount.
    pub deal_amount: Decimal,
    /// The member's credited revenue from it.
    pub credited: Decimal,
    /// Why the member is credited.
    pub share: CreditShare,
}

/// An activity the member logged in the period (not voided).
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityFact {
    /// The activity.
    pub activity_id: Uuid,
    /// Its type.
    pub activity_type_id: Uuid,
    /// The type's name, for explanations.
    pub type_name: String,
    /// The day it happened (in the organization's time zone).
    pub occurred_on: NaiveDate,
    /// Units logged.
    pub quantity: i32,
}

/// What a TEAM_BONUS component needs to know about its team for the period.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamFact {
    /// The team.
    pub team_id: Uuid,
    /// Its name, for explanations.
    pub team_name: String,
    /// The team's quota attainment in percent, when it has a quota.
    pub quota_attainment: Option<Decimal>,
    /// The team's mystery-check average, when checks were scored.
    pub mystery_average: Option<Decimal>,
    /// Active members sharing the pool.
    pub active_members: u32,
}

/// A line originally paid on a deal that has since been reversed.
#[derive(Debug, Clone, PartialEq)]
pub struct OriginalLine {
    /// What was paid.
    pub amount: Decimal,
    /// At which rate.
    pub rate: Option<Decimal>,
    /// On which credited revenue.
    pub credited_base: Option<Decimal>,
    /// In which tier.
    pub tier: Option<String>,
}

/// A won deal reversed after it was paid: its lines are clawed back.
#[derive(Debug, Clone, PartialEq)]
pub struct ClawbackFact {
    /// The deal.
    pub deal_id: Uuid,
    /// Its name, for explanations.
    pub deal_name: String,
    /// The lines paid on it earlier.
    pub original: Vec<OriginalLine>,
    /// Why it was reversed.
    pub reason: String,
}

/// A resolved dispute that changes the pay.
#[derive(Debug, Clone, PartialEq)]
pub struct AdjustmentFact {
    /// The dispute.
    pub dispute_id: Uuid,
    /// The correction (either sign).
    pub amount: Decimal,
    /// The manager's resolution, shown as the explanation.
    pub resolution: String,
}

/// Everything one member's statement for one period is computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct StatementInput<'a> {
    /// The plan's components.
    pub components: &'a [Component],
    /// First day of the period.
    pub period_start: NaiveDate,
    /// First day after the period (`[start, end)`).
    pub period_end: NaiveDate,
    /// ISO 4217 code shown in explanations.
    pub currency: &'a str,
    /// The member's revenue quota for the period, ramp already applied.
    pub quota: Option<Decimal>,
    /// Won deals credited to this member, closed in the period.
    pub credits: Vec<DealCredit>,
    /// The member's activities in the period (not voided).
    pub activities: Vec<ActivityFact>,
    /// Facts of teams named by TEAM_BONUS components.
    pub teams: Vec<TeamFact>,
    /// Recoverable draw still owed from earlier periods (0 or more).
    pub draw_balance: Decimal,
    /// Reversed deals whose pay comes back this period.
    pub clawbacks: Vec<ClawbackFact>,
    /// Resolved disputes that change the pay.
    pub adjustments: Vec<AdjustmentFact>,
}

/// What a statement line is about.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum LineSource {
    /// A deal.
    Deal(Uuid),
    /// An activity.
    Activity(Uuid),
    /// A team.
    Team(Uuid),
    /// The draw balance.
    Draw,
    /// A dispute.
    Dispute(Uuid),
    /// The plan itself (a cap, a bonus threshold).
    Plan,
}

/// One line of a statement: what it pays, from what, and how.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Line {
    /// What it pays.
    pub kind: LineKind,
    /// The plan component's name, when a component pays it.
    pub component: Option<String>,
    /// What it is about.
    pub source: LineSource,
    /// The credited revenue the rate applies to.
    pub credited_base: Option<Decimal>,
    /// Attainment in percent at the end of this line's revenue (or the period's, for a bonus).
    pub attainment: Option<Decimal>,
    /// The tier's label (`base`, `tier 2 (from 50 %)`, `threshold 100 %`).
    pub tier: Option<String>,
    /// The rate in percent.
    pub rate: Option<Decimal>,
    /// Money, rounded to cents.
    pub amount: Decimal,
    /// One sentence with the numbers.
    pub explanation: String,
}

/// A computed statement.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct StatementResult {
    /// The lines, in statement order.
    pub lines: Vec<Line>,
    /// The exact sum of the lines.
    pub total: Decimal,
    /// Sum of the member's credits in the period.
    pub credited_revenue: Decimal,
    /// Credited revenue against quota in percent (2 decimals), without a quota `None`.
    pub attainment: Option<Decimal>,
    /// Recoverable draw still owed after this statement.
    pub draw_balance_after: Decimal,
}

// ---------------------------------------------------------------------------------------------
// Rounding and formatting
// ---------------------------------------------------------------------------------------------

/// Rounds to cents, half to even (0.125 → 0.12, 0.135 → 0.14), always with 2 decimals.
pub fn round_cents(d: Decimal) -> Decimal {
    let mut rounded = d.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven);
    rounded.rescale(2);
    rounded
}

/// `achieved` against `quota` in percent, rounded half-even to 2 decimals; `None` without a
/// quota (none, zero or negative).
pub fn attainment_percent(achieved: Decimal, quota: Option<Decimal>) -> Option<Decimal> {
    let quota = quota.filter(|q| *q > Decimal::ZERO)?;
    let mut percent =
        (achieved * Decimal::ONE_HUNDRED / quota).round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven);
    percent.rescale(2);
    Some(percent)
}

/// The money edge of an attainment level: quota × percent ÷ 100, in cents.
pub(super) fn edge(quota: Decimal, percent: Decimal) -> Decimal {
    round_cents(quota * percent / Decimal::ONE_HUNDRED)
}

/// Money with 2 decimals and the currency code: `1250.50 EUR`.
pub(super) fn money(d: Decimal, currency: &str) -> String {
    format!("{} {currency}", round_cents(d))
}

/// A percent without trailing zeros: `5`, `2.5`, `104.5`.
pub(super) fn percent(d: Decimal) -> String {
    d.normalize().to_string()
}

/// The stored label of tier `index` (0-based): `tier 2 (from 50 %)`. Labels are stored and shown
/// in English; explanations use [`tier_label_in`].
pub(super) fn tier_label(index: usize, tier: &Tier) -> String {
    tier_label_in(index, tier, Locale::En)
}

/// The label of tier `index` (0-based) in a language: `tier 2 (from 50 %)`, `staffel 2 (vanaf 50 %)`.
pub(super) fn tier_label_in(index: usize, tier: &Tier, locale: Locale) -> String {
    let (number, from) = (index + 1, percent(tier.from_attainment));
    match locale {
        Locale::En => format!("tier {number} (from {from} %)"),
        Locale::Nl => format!("staffel {number} (vanaf {from} %)"),
    }
}

/// A stored tier label (`base`, `tier 2 (from 50 %)`, `threshold 100 %`) as an explanation names
/// it in a language; a label of another shape is shown as it is.
pub(super) fn stored_tier_in(label: &str, locale: Locale) -> String {
    if locale == Locale::En {
        return label.to_owned();
    }
    if label == "base" {
        return "de basisschijf".to_owned();
    }
    if let Some(rest) = label.strip_prefix("tier ")
        && let Some((number, from)) = rest.split_once(" (from ")
        && let Some(from) = from.strip_suffix(" %)")
    {
        return format!("staffel {number} (vanaf {from} %)");
    }
    if let Some(at) = label.strip_prefix("threshold ") {
        return format!("drempel {at}");
    }
    label.to_owned()
}
