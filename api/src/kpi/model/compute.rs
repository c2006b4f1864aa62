//! Computing KPI values from facts (built-ins, custom kinds, self-reported), pooling member values
//! into a team value, and status against a target.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::{
    ACTIVITY_KEY_APPOINTMENTS, ACTIVITY_KEY_CALLS, ACTIVITY_KEY_QUOTES_SENT, ActivityTotal, BuiltInKpi, DealFacts,
    KpiDirection, KpiStatus, KpiUnit, Pooling, SubjectFacts, Window, sum_decimals,
};

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
/// Operands are additive (see [`check_ratio_operands`](super::check_ratio_operands)), so pooling the ratio's parts across
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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::kpi::model::{
        ACTIVITY_KEY_APPOINTMENTS, ACTIVITY_KEY_CALLS, ACTIVITY_KEY_QUOTES_SENT, ActivityTotal, BuiltInKpi, DealClose,
        DealFacts, KpiDirection, KpiKind, KpiShape, KpiStatus, KpiUnit, Pooling, SubjectFacts, Window,
    };

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
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
}
