//! Quota rules: metrics, subjects and grains; validation of amounts, labels and ramps; the ramp
//! factor for a new rep; attainment, pacing, gap and run rate; top-down allocation of a team's
//! quota with largest-remainder rounding; deal credit for owners and split partners.
//! Pure functions, no I/O.

use chrono::{Datelike, NaiveDate};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use uuid::Uuid;

use crate::core::field::FieldError;
use crate::core::period::PeriodGrain;

stored_enum!(
    /// What a quota measures.
    QuotaMetric {
        /// Credited revenue of won deals, in the organization's currency.
        Revenue => "REVENUE",
        /// Credited won deals (split deals count in fractions).
        DealsWon => "DEALS_WON",
        /// Points from activities.
        Points => "POINTS",
        /// Units of one activity type.
        ActivityCount => "ACTIVITY_COUNT",
        /// The value of a KPI.
        Kpi => "KPI",
    }
);

impl QuotaMetric {
    /// Decimals an amount of this metric carries: 2 for money, points and KPIs, 0 for counts.
    pub fn decimals(self) -> u32 {
        match self {
            QuotaMetric::Revenue | QuotaMetric::Points | QuotaMetric::Kpi => 2,
            QuotaMetric::DealsWon | QuotaMetric::ActivityCount => 0,
        }
    }
}

stored_enum!(
    /// Who carries a quota.
    QuotaSubjectKind {
        /// One member.
        Member => "MEMBER",
        /// A team (rolls up through the team tree).
        Team => "TEAM",
        /// A territory (rolls up through the territory tree).
        Territory => "TERRITORY",
    }
);

stored_enum!(
    /// The length of a quota period.
    QuotaGrain {
        /// A calendar month.
        Month => "MONTH",
        /// A fiscal quarter.
        Quarter => "QUARTER",
        /// A fiscal year.
        Year => "YEAR",
    }
);

impl QuotaGrain {
    /// The matching reporting grain, for `scoring::model::period_containing`.
    pub fn to_period_grain(self) -> PeriodGrain {
        match self {
            QuotaGrain::Month => PeriodGrain::Month,
            QuotaGrain::Quarter => PeriodGrain::Quarter,
            QuotaGrain::Year => PeriodGrain::Year,
        }
    }
}

stored_enum!(
    /// How a team's quota is split over its members.
    AllocationMethod {
        /// Equal shares.
        Even => "EVEN",
        /// In proportion to each member's actuals in the prior period.
        PriorPeriodActuals => "PRIOR_PERIOD_ACTUALS",
        /// In proportion to weights given by the manager.
        Weights => "WEIGHTS",
    }
);

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/// Largest quota amount: ten billion.
pub const MAX_QUOTA_AMOUNT: Decimal = Decimal::from_parts(0x540B_E400, 2, 0, false, 0);
/// Longest quota label.
pub const MAX_LABEL_LEN: usize = 60;
/// Most months a ramp may cover.
pub const MAX_RAMP_MONTHS: usize = 24;

/// A quota amount given as a decimal string ("250000.00"): at least 0 and at most
/// [`MAX_QUOTA_AMOUNT`]; at most 2 decimals for REVENUE, POINTS and KPI, a whole number for
/// DEALS_WON and ACTIVITY_COUNT. Returned with the metric's number of decimals ("12" → 12.00).
pub fn parse_quota_amount(metric: QuotaMetric, raw: &str) -> Result<Decimal, FieldError> {
    let text = raw.trim();
    let invalid = || FieldError::new("amount", "INVALID", "must be a decimal number like 250000.00");
    let plain = text.chars().any(|c| c.is_ascii_digit())
        && text.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '-')
        && text.chars().filter(|c| *c == '.').count() <= 1;
    if !plain {
        return Err(invalid());
    }
    let value: Decimal = text.parse().map_err(|_| invalid())?;
    if value.is_sign_negative() && !value.is_zero() {
        return Err(FieldError::new("amount", "OUT_OF_RANGE", "must not be negative"));
    }
    if value > MAX_QUOTA_AMOUNT {
        return Err(FieldError::new("amount", "OUT_OF_RANGE", "must be at most 10000000000"));
    }
    let decimals = metric.decimals();
    if value.normalize().scale() > decimals {
        let message =
            if decimals == 0 { "must be a whole number".to_owned() } else { format!("at most {decimals} decimals") };
        return Err(FieldError::new("amount", "INVALID", message));
    }
    let mut value = value.abs();
    value.rescale(decimals);
    Ok(value)
}

/// A quota's label, telling several quotas of one subject and period apart (e.g. "new
/// business"): trimmed, at most [`MAX_LABEL_LEN`] characters, no control characters. Absent
/// or blank is the empty label.
pub fn check_label(raw: Option<&str>) -> Result<String, FieldError> {
    let label = raw.unwrap_or_default().trim();
    if label.chars().count() > MAX_LABEL_LEN {
        return Err(FieldError::new("label", "TOO_LONG", format!("must be at most {MAX_LABEL_LEN} characters")));
    }
    crate::core::field::check_name_characters("label", label)?;
    Ok(label.to_owned())
}

/// A ramp: the percentage of full quota for each of a new rep's first months (1 to
/// [`MAX_RAMP_MONTHS`] entries, each 0 to 100).
pub fn parse_ramp(percents: &[i32]) -> Result<Vec<i32>, FieldError> {
    if percents.is_empty() {
        return Err(FieldError::new("percents", "REQUIRED", "a ramp needs at least one month"));
    }
    if percents.len() > MAX_RAMP_MONTHS {
        return Err(FieldError::new("percents", "TOO_LONG", format!("at most {MAX_RAMP_MONTHS} months")));
    }
    if let Some((i, p)) = percents.iter().enumerate().find(|(_, p)| !(0..=100).contains(*p)) {
        return Err(FieldError::new(
            "percents",
            "OUT_OF_RANGE",
            format!("month {} is {p}; each percentage must be between 0 and 100", i + 1),
        ));
    }
    Ok(percents.to_vec())
}

// ---------------------------------------------------------------------------------------------
// Ramp
// ---------------------------------------------------------------------------------------------

fn month_index(date: NaiveDate) -> i64 {
    i64::from(date.year()) * 12 + i64::from(date.month0())
}

/// The share of full quota a rep who started on `start_date` carries over the period
/// `[period_start, period_end)` (whole months; a partial month counts as a whole one). Each
/// month of the period gets a factor by the rep's tenure month `t` (1 for the month of
/// `start_date`): 0 before the rep started (`t < 1`), `ramp[t − 1] / 100` during the ramp, 1
/// after it. The result is the mean over the period's months, rounded to 6 decimals
/// (half-even) and always shown with 6 ("0.250000"). An empty period is 1. Ramp values outside 0..=100 are clamped.
pub fn ramp_factor(start_date: NaiveDate, period_start: NaiveDate, period_end: NaiveDate, ramp: &[i32]) -> Decimal {
    let Some(last_day) = period_end.pred_opt().filter(|last| *last >= period_start) else {
        return Decimal::new(1_000_000, 6);
    };
    let hired = month_index(start_date);
    // Tenure months of the period's first and last month.
    let (first_t, last_t) = (month_index(period_start) - hired + 1, month_index(last_day) - hired + 1);
    let months = last_t - first_t + 1;
    let ramp_len = i64::try_from(ramp.len()).unwrap_or(i64::MAX);
    // Counted in closed form, so a very long period costs no more than a short one.
    let ramped: i64 = (first_t.max(1)..=last_t.min(ramp_len))
        .filter_map(|t| usize::try_from(t - 1).ok().and_then(|i| ramp.get(i)))
        .map(|p| i64::from((*p).clamp(0, 100)))
        .sum();
    let full_months = (last_t - first_t.max(ramp_len + 1) + 1).max(0);
    let percent_sum = Decimal::from(ramped) + Decimal::from(full_months) * Decimal::ONE_HUNDRED;
    let mut factor = (percent_sum / (Decimal::from(months) * Decimal::ONE_HUNDRED))
        .round_dp_with_strategy(6, RoundingStrategy::MidpointNearestEven);
    factor.rescale(6);
    factor
}

/// A quota amount after its ramp factor: 2 decimals for REVENUE, POINTS and KPI, a whole number
/// for the counts (half-even in both cases).
pub fn ramped_amount(amount: Decimal, factor: Decimal, metric: QuotaMetric) -> Decimal {
    amount.saturating_mul(factor).round_dp_with_strategy(metric.decimals(), RoundingStrategy::MidpointNearestEven)
}

// ---------------------------------------------------------------------------------------------
// Progress
// ---------------------------------------------------------------------------------------------

/// Where a quota stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaProgress {
    /// Credited so far.
    pub achieved: Decimal,
    /// achieved ÷ amount × 100, uncapped; `None` for a zero quota.
    pub attainment_percent: Option<Decimal>,
    /// attainment ÷ elapsed share (100 = on track); `None` before the period starts or without attainment.
    pub pacing_percent: Option<Decimal>,
    /// What is still missing, never negative.
    pub gap: Decimal,
    /// Run rate to the end of the period: achieved ÷ elapsed share; `None` before the period starts.
    pub projected: Option<Decimal>,
}

fn round2(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven)
}

/// Progress on a quota of `amount` with `achieved` credited when `elapsed_share` (clamped to
/// 0..=1) of the period has passed. Percentages, gap and projection are rounded to 2 decimals
/// (half-even); pacing is computed from the unrounded attainment. A result too large for a
/// decimal is `None`.
pub fn progress(amount: Decimal, achieved: Decimal, elapsed_share: Decimal) -> QuotaProgress {
    let share = elapsed_share.clamp(Decimal::ZERO, Decimal::ONE);
    let attainment = if amount > Decimal::ZERO {
        achieved.checked_div(amount).and_then(|r| r.checked_mul(Decimal::ONE_HUNDRED))
    } else {
        None
    };
    let started = !share.is_zero();
    let pacing = attainment.filter(|_| started).and_then(|a| a.checked_div(share));
    let projected = if started { achieved.checked_div(share) } else { None };
    QuotaProgress {
        achieved,
        attainment_percent: attainment.map(round2),
        pacing_percent: pacing.map(round2),
        gap: round2(amount.saturating_sub(achieved).max(Decimal::ZERO)),
        projected: projected.map(round2),
    }
}

// ---------------------------------------------------------------------------------------------
// Allocation
// ---------------------------------------------------------------------------------------------

/// A team member as top-down allocation sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllocationMember {
    /// The member.
    pub member_id: Uuid,
    /// Prior-period actuals (PRIOR_PERIOD_ACTUALS) or the given weight (WEIGHTS); ignored for EVEN.
    pub weight: Decimal,
    /// An amount set by hand for this member, kept when `keep_overrides` is set.
    pub override_amount: Option<Decimal>,
}

/// Largest scale `allocate` works at.
pub const MAX_ALLOCATION_SCALE: u32 = 10;

/// Splits a team quota of `total` over `members`. With `keep_overrides`, members with an
/// override keep it and the others share `total − Σ overrides` (OVERRIDES_EXCEED on
/// `keepOverrides` if the overrides exceed the total); without it everyone shares `total`.
/// EVEN gives equal shares; PRIOR_PERIOD_ACTUALS shares in proportion to the weights (negative
/// actuals count as 0; all zero falls back to even); WEIGHTS shares in proportion to the weights
/// (a negative weight is OUT_OF_RANGE and all-zero weights of the sharing members INVALID, both
/// on `weights`). The shared amount is rounded to `scale` decimals (half-even; `scale` is at
/// most [`MAX_ALLOCATION_SCALE`]) and split by largest remainder, so the shares sum to it
/// exactly; equal remainders favour the earlier member. No members is INVALID on `teamQuotaId`.
/// The result follows the input order, overrides included.
pub fn allocate(
    total: Decimal,
    method: AllocationMethod,
    members: &[AllocationMember],
    keep_overrides: bool,
    scale: u32,
) -> Result<Vec<(Uuid, Decimal)>, FieldError> {
    if members.is_empty() {
        return Err(FieldError::new("teamQuotaId", "INVALID", "the team has no active members"));
    }
    if total.is_sign_negative() && !total.is_zero() {
        return Err(FieldError::new("amount", "OUT_OF_RANGE", "must not be negative"));
    }
    let scale = scale.min(MAX_ALLOCATION_SCALE);
    let kept = |m: &AllocationMember| if keep_overrides { m.override_amount } else { None };
    let overrides =
        members.iter().filter_map(kept).try_fold(Decimal::ZERO, |sum, o| sum.checked_add(o)).unwrap_or(Decimal::MAX);
    let remaining = total.checked_sub(overrides).unwrap_or(Decimal::MIN);
    if remaining.is_sign_negative() && !remaining.is_zero() {
        return Err(FieldError::new(
            "keepOverrides",
            "OVERRIDES_EXCEED",
            format!("the overrides ({overrides}) exceed the team quota ({total})"),
        ));
    }
    let sharers: Vec<usize> = (0..members.len()).filter(|&i| kept(&members[i]).is_none()).collect();
    if method == AllocationMethod::Weights && members.iter().any(|m| m.weight.is_sign_negative() && !m.weight.is_zero())
    {
        return Err(FieldError::new("weights", "OUT_OF_RANGE", "weights must not be negative"));
    }
    let weights: Vec<Decimal> = match method {
        AllocationMethod::Even => vec![Decimal::ONE; sharers.len()],
        AllocationMethod::PriorPeriodActuals => {
            let actuals: Vec<Decimal> = sharers.iter().map(|&i| members[i].weight.max(Decimal::ZERO)).collect();
            if actuals.iter().all(Decimal::is_zero) { vec![Decimal::ONE; sharers.len()] } else { actuals }
        }
        AllocationMethod::Weights => {
            let given: Vec<Decimal> = sharers.iter().map(|&i| members[i].weight).collect();
            if !given.is_empty() && given.iter().all(Decimal::is_zero) {
                return Err(FieldError::new("weights", "INVALID", "at least one weight must be above zero"));
            }
            given
        }
    };
    let shared = remaining.round_dp_with_strategy(scale, RoundingStrategy::MidpointNearestEven);
    let mut shares = largest_remainder(shared, &weights, scale).into_iter();
    Ok(members
        .iter()
        .map(|m| match kept(m) {
            Some(amount) => (m.member_id, amount),
            None => (m.member_id, shares.next().unwrap_or(Decimal::ZERO)),
        })
        .collect())
}

/// `shared × wᵢ ÷ Σw` for each weight, unrounded. Weights are not negative and not all zero.
fn exact_shares(shared: Decimal, weights: &[Decimal]) -> Vec<Decimal> {
    let direct = || -> Option<Vec<Decimal>> {
        let sum = weights.iter().try_fold(Decimal::ZERO, |acc, w| acc.checked_add(*w))?;
        weights.iter().map(|w| shared.checked_mul(*w)?.checked_div(sum)).collect()
    };
    direct().unwrap_or_else(|| {
        // Astronomically large weights: scale them to at most 1 first.
        let max = weights.iter().copied().max().filter(|m| !m.is_zero()).unwrap_or(Decimal::ONE);
        let scaled: Vec<Decimal> = weights.iter().map(|w| *w / max).collect();
        let sum: Decimal = scaled.iter().sum();
        scaled.iter().map(|w| shared.saturating_mul(*w / sum)).collect()
    })
}

/// Splits `shared` (a multiple of 10^−scale) in proportion to `weights`: each share rounded down
/// to `scale` decimals, then the units left over go one each to the largest remainders (equal
/// remainders: the earlier weight), so the shares sum to `shared` exactly.
fn largest_remainder(shared: Decimal, weights: &[Decimal], scale: u32) -> Vec<Decimal> {
    if weights.is_empty() {
        return Vec::new();
    }
    let exact = exact_shares(shared, weights);
    let mut shares: Vec<Decimal> =
        exact.iter().map(|q| q.round_dp_with_strategy(scale, RoundingStrategy::ToNegativeInfinity)).collect();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|&a, &b| (exact[b] - shares[b]).cmp(&(exact[a] - shares[a])).then(a.cmp(&b)));
    let unit = Decimal::new(1, scale);
    let left = shared - shares.iter().sum::<Decimal>();
    let units = (left / unit).round().to_i64().unwrap_or(0);
    let n = order.len();
    if units >= 0 {
        for k in 0..usize::try_from(units).unwrap_or(0) {
            shares[order[k % n]] += unit;
        }
    } else {
        // Only reachable through rounding in the large-weight fallback: take from the smallest remainders.
        for k in 0..usize::try_from(-units).unwrap_or(0) {
            shares[order[n - 1 - k % n]] -= unit;
        }
    }
    for s in &mut shares {
        s.rescale(scale);
    }
    shares
}

// ---------------------------------------------------------------------------------------------
// Deal credit
// ---------------------------------------------------------------------------------------------

/// A split partner's share of a deal (the percent is 1..=100, see `pipeline::model::check_splits`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SplitShare {
    /// A share of the revenue; the revenue shares of a deal sum to 100.
    Revenue(i32),
    /// Credit on top of the revenue shares.
    Overlay(i32),
}

/// Revenue credited to one member for one deal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credit {
    /// The member credited.
    pub member_id: Uuid,
    /// The credited amount in cents.
    pub amount_cents: i64,
    /// Whether this is overlay credit (on top of the deal's 100 %).
    pub overlay: bool,
    /// The percent of the deal it stands for.
    pub percent: i32,
}

/// `n ÷ d` rounded half-even, for `n ≥ 0`, `d > 0`.
fn div_half_even(n: i128, d: i128) -> i128 {
    let (q, r) = (n / d, n % d);
    match (2 * r).cmp(&d) {
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal if q % 2 == 1 => q + 1,
        _ => q,
    }
}

fn to_cents(sign: i128, magnitude: i128) -> i64 {
    i64::try_from(sign * magnitude).unwrap_or(if sign < 0 { i64::MIN } else { i64::MAX })
}

/// Splits `amount_cents` by `percents` (of 100) in whole cents: each share rounded down, the
/// cents left over to the largest remainders (equal remainders: the earlier share). When the
/// percents sum to 100 the shares sum to the amount exactly. Negative amounts (reversals) split
/// symmetrically; negative percents count as 0.
fn split_cents(amount_cents: i64, percents: &[i32]) -> Vec<i64> {
    let sign: i128 = if amount_cents < 0 { -1 } else { 1 };
    let magnitude = i128::from(amount_cents).abs();
    let numerators: Vec<i128> = percents.iter().map(|p| magnitude * i128::from((*p).max(0))).collect();
    let target = div_half_even(numerators.iter().sum(), 100);
    let mut shares: Vec<i128> = numerators.iter().map(|n| n / 100).collect();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|&a, &b| (numerators[b] % 100).cmp(&(numerators[a] % 100)).then(a.cmp(&b)));
    let left = usize::try_from(target - shares.iter().sum::<i128>()).unwrap_or(0);
    if !order.is_empty() {
        for k in 0..left {
            shares[order[k % order.len()]] += 1;
        }
    }
    shares.into_iter().map(|s| to_cents(sign, s)).collect()
}

/// `amount_cents × percent ÷ 100`, half-even in cents (symmetric for negative amounts).
fn percent_of(amount_cents: i64, percent: i32) -> i64 {
    let sign: i128 = if amount_cents < 0 { -1 } else { 1 };
    to_cents(sign, div_half_even(i128::from(amount_cents).abs() * i128::from(percent.max(0)), 100))
}

/// Who is credited how much of a deal worth `amount_cents` owned by `owner`. Without revenue
/// splits the owner gets 100 %. With revenue splits (which sum to 100 and may or may not list
/// the owner) each partner gets their share, split by largest remainder in cents so the revenue
/// credits sum to the amount exactly; an owner who is not listed gets nothing. Overlay partners
/// get `amount × percent ÷ 100` (half-even cents) on top. Revenue credits come first, then
/// overlay credits, each in the order given.
pub fn deal_credits(owner: Uuid, amount_cents: i64, splits: &[(Uuid, SplitShare)]) -> Vec<Credit> {
    let revenue: Vec<(Uuid, i32)> = splits
        .iter()
        .filter_map(|(m, s)| match s {
            SplitShare::Revenue(p) => Some((*m, *p)),
            SplitShare::Overlay(_) => None,
        })
        .collect();
    let mut credits: Vec<Credit> = if revenue.is_empty() {
        vec![Credit { member_id: owner, amount_cents, overlay: false, percent: 100 }]
    } else {
        let percents: Vec<i32> = revenue.iter().map(|(_, p)| *p).collect();
        revenue
            .iter()
            .zip(split_cents(amount_cents, &percents))
            .map(|(&(member_id, percent), amount_cents)| Credit { member_id, amount_cents, overlay: false, percent })
            .collect()
    };
    credits.extend(splits.iter().filter_map(|(m, s)| match s {
        SplitShare::Overlay(p) => {
            Some(Credit { member_id: *m, amount_cents: percent_of(amount_cents, *p), overlay: true, percent: *p })
        }
        SplitShare::Revenue(_) => None,
    }));
    credits
}

/// The cents credited to `member` (revenue and overlay together).
pub fn credited_quantity(credits: &[Credit], member: Uuid) -> i64 {
    credits.iter().filter(|c| c.member_id == member).fold(0i64, |sum, c| sum.saturating_add(c.amount_cents))
}

/// A won deal's credit for DEALS_WON quotas: each revenue partner their percent ÷ 100 of one
/// deal (the owner 1 without revenue splits), overlay partners percent ÷ 100 on top. Same order
/// as [`deal_credits`]; a member listed both ways appears twice.
pub fn deals_won_credit(owner: Uuid, splits: &[(Uuid, SplitShare)]) -> Vec<(Uuid, Decimal)> {
    let fraction = |p: i32| Decimal::new(i64::from(p.max(0)), 2);
    let mut credit: Vec<(Uuid, Decimal)> = splits
        .iter()
        .filter_map(|(m, s)| match s {
            SplitShare::Revenue(p) => Some((*m, fraction(*p))),
            SplitShare::Overlay(_) => None,
        })
        .collect();
    if credit.is_empty() {
        credit.push((owner, Decimal::ONE));
    }
    credit.extend(splits.iter().filter_map(|(m, s)| match s {
        SplitShare::Overlay(p) => Some((*m, fraction(*p))),
        SplitShare::Revenue(_) => None,
    }));
    credit
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn dec(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    #[test]
    fn enums_round_trip() {
        use QuotaMetric::*;
        for m in [Revenue, DealsWon, Points, ActivityCount, Kpi] {
            assert_eq!(QuotaMetric::parse(m.as_str()), Some(m));
        }
        assert_eq!(DealsWon.as_str(), "DEALS_WON");
        assert_eq!(ActivityCount.as_str(), "ACTIVITY_COUNT");
        for k in [QuotaSubjectKind::Member, QuotaSubjectKind::Team, QuotaSubjectKind::Territory] {
            assert_eq!(QuotaSubjectKind::parse(k.as_str()), Some(k));
        }
        for g in [QuotaGrain::Month, QuotaGrain::Quarter, QuotaGrain::Year] {
            assert_eq!(QuotaGrain::parse(g.as_str()), Some(g));
            assert_eq!(g.to_period_grain().as_str(), g.as_str());
        }
        for a in [AllocationMethod::Even, AllocationMethod::PriorPeriodActuals, AllocationMethod::Weights] {
            assert_eq!(AllocationMethod::parse(a.as_str()), Some(a));
        }
        assert_eq!(AllocationMethod::PriorPeriodActuals.as_str(), "PRIOR_PERIOD_ACTUALS");
        assert_eq!(QuotaMetric::parse("revenue"), None);
        assert_eq!(QuotaGrain::parse("WEEK"), None);
    }

    #[test]
    fn quota_amounts() {
        use QuotaMetric::*;
        assert_eq!(MAX_QUOTA_AMOUNT, Decimal::from(10_000_000_000i64));
        let ok = |m: QuotaMetric, raw: &str| parse_quota_amount(m, raw).map(|d| d.to_string());
        assert_eq!(ok(Revenue, "250000.5").as_deref(), Ok("250000.50"));
        assert_eq!(ok(Revenue, " 12 ").as_deref(), Ok("12.00"));
        assert_eq!(ok(Revenue, "1.230").as_deref(), Ok("1.23"), "trailing zeros are fine");
        assert_eq!(ok(Revenue, "0").as_deref(), Ok("0.00"));
        assert_eq!(ok(Revenue, "-0").as_deref(), Ok("0.00"));
        assert_eq!(ok(Revenue, "10000000000").as_deref(), Ok("10000000000.00"));
        assert_eq!(ok(Points, "37.25").as_deref(), Ok("37.25"));
        assert_eq!(ok(Kpi, "0.35").as_deref(), Ok("0.35"));
        assert_eq!(ok(DealsWon, "12").as_deref(), Ok("12"));
        assert_eq!(ok(DealsWon, "12.00").as_deref(), Ok("12"));
        assert_eq!(ok(ActivityCount, "400").as_deref(), Ok("400"));
        let code = |m: QuotaMetric, raw: &str| parse_quota_amount(m, raw).map_err(|e| (e.field, e.code));
        let amount = vec!["input".to_owned(), "amount".to_owned()];
        for bad in ["", " ", "abc", "1e3", "NaN", "1,5", "1.2.3", ".", "-", "+5", "12 000"] {
            assert_eq!(code(Revenue, bad), Err((amount.clone(), "INVALID")), "{bad:?}");
        }
        assert_eq!(code(Revenue, "1.005"), Err((amount.clone(), "INVALID")));
        assert_eq!(code(Points, "0.001"), Err((amount.clone(), "INVALID")));
        assert_eq!(code(Kpi, "1.234"), Err((amount.clone(), "INVALID")));
        assert_eq!(code(DealsWon, "1.5"), Err((amount.clone(), "INVALID")));
        assert_eq!(code(ActivityCount, "0.1"), Err((amount.clone(), "INVALID")));
        assert_eq!(code(Revenue, "-1"), Err((amount.clone(), "OUT_OF_RANGE")));
        assert_eq!(code(DealsWon, "-0.5"), Err((amount.clone(), "OUT_OF_RANGE")));
        assert_eq!(code(Revenue, "10000000000.01"), Err((amount.clone(), "OUT_OF_RANGE")));
        assert_eq!(code(DealsWon, "10000000001"), Err((amount.clone(), "OUT_OF_RANGE")));
        assert!(parse_quota_amount(Revenue, &"9".repeat(40)).is_err(), "beyond Decimal's range");
        let e = parse_quota_amount(DealsWon, "2.5").expect_err("fraction");
        assert_eq!(e.message, "must be a whole number");
    }

    #[test]
    fn labels() {
        assert_eq!(check_label(None).as_deref(), Ok(""));
        assert_eq!(check_label(Some("   ")).as_deref(), Ok(""));
        assert_eq!(check_label(Some("  New business ")).as_deref(), Ok("New business"));
        assert_eq!(check_label(Some(&"é".repeat(60))).map(|l| l.chars().count()), Ok(60));
        let e = check_label(Some(&"x".repeat(61))).expect_err("too long");
        assert_eq!((e.field, e.code), (vec!["input".to_owned(), "label".to_owned()], "TOO_LONG"));
        assert_eq!(check_label(Some("new\nbusiness")).map_err(|e| e.code), Err("INVALID"));
    }

    #[test]
    fn ramps() {
        assert_eq!(parse_ramp(&[25, 50, 75]), Ok(vec![25, 50, 75]));
        assert_eq!(parse_ramp(&[0]), Ok(vec![0]));
        assert_eq!(parse_ramp(&[100; 24]).map(|r| r.len()), Ok(24));
        let e = parse_ramp(&[]).expect_err("empty");
        assert_eq!((e.field, e.code), (vec!["input".to_owned(), "percents".to_owned()], "REQUIRED"));
        assert_eq!(parse_ramp(&[50; 25]).map_err(|e| e.code), Err("TOO_LONG"));
        assert_eq!(parse_ramp(&[50, 101]).map_err(|e| e.code), Err("OUT_OF_RANGE"));
        assert_eq!(parse_ramp(&[-1, 50]).map_err(|e| e.code), Err("OUT_OF_RANGE"));
        assert!(parse_ramp(&[50, 101]).expect_err("range").message.contains("month 2"));
    }

    #[test]
    fn ramp_factors() {
        let ramp = [25, 50, 75];
        let q1 = (date(2026, 1, 1), date(2026, 4, 1));
        let q2 = (date(2026, 4, 1), date(2026, 7, 1));
        let factor = |start: NaiveDate, (from, to): (NaiveDate, NaiveDate), ramp: &[i32]| {
            ramp_factor(start, from, to, ramp).to_string()
        };
        // Start mid-quarter (15 Feb): Jan 0, Feb 25 %, Mar 50 % → 25 %.
        assert_eq!(factor(date(2026, 2, 15), q1, &ramp), "0.250000");
        // The next quarter crosses the ramp's end: Apr 75 %, May and Jun 100 % → 91.67 %.
        assert_eq!(factor(date(2026, 2, 15), q2, &ramp), "0.916667");
        // Started on the quarter's first day: 25, 50, 75 → 50 %.
        assert_eq!(factor(date(2026, 1, 1), q1, &ramp), "0.500000");
        // Started on the quarter's last day: 0, 0, 25 → 8.33 %.
        assert_eq!(factor(date(2026, 3, 31), q1, &ramp), "0.083333");
        // Starts after the period: 0.
        assert_eq!(factor(date(2026, 4, 1), q1, &ramp), "0.000000");
        assert_eq!(factor(date(2030, 1, 1), q1, &[]), "0.000000");
        // Long tenure: 1.
        assert_eq!(factor(date(2020, 6, 1), q1, &ramp), "1.000000");
        assert_eq!(factor(date(2025, 12, 31), q1, &ramp), "0.750000", "Dec is month 1: 50, 75, 100");
        // No ramp: full quota from the start month.
        assert_eq!(factor(date(2026, 2, 15), q1, &[]), "0.666667");
        // A month: the tenure month's factor.
        assert_eq!(factor(date(2026, 2, 15), (date(2026, 3, 1), date(2026, 4, 1)), &ramp), "0.500000");
        // A year with a hire in November: 10 × 0 + 25 + 50 over 12 months.
        assert_eq!(factor(date(2025, 11, 3), (date(2025, 1, 1), date(2026, 1, 1)), &ramp), "0.062500");
        // The ramp's year boundary: Dec 2025 hire, Q1 2026 is months 2..4.
        assert_eq!(factor(date(2025, 12, 1), q1, &[10, 20, 30, 40, 100]), "0.300000");
        // Empty period: 1. Very long period: mean without looping over every month.
        assert_eq!(factor(date(2026, 2, 15), (q1.0, q1.0), &ramp), "1.000000");
        let long = ramp_factor(date(2000, 1, 1), NaiveDate::MIN, NaiveDate::MAX, &ramp);
        assert!(long > Decimal::ZERO && long < Decimal::ONE);
        // Out-of-range ramp values are clamped.
        assert_eq!(factor(date(2026, 1, 1), q1, &[200, -5, 50]), "0.500000");
    }

    #[test]
    fn ramped_amounts() {
        use QuotaMetric::*;
        assert_eq!(ramped_amount(dec("100000.00"), dec("0.916667"), Revenue).to_string(), "91666.70");
        assert_eq!(ramped_amount(dec("0.05"), dec("0.5"), Revenue).to_string(), "0.02", "half-even");
        assert_eq!(ramped_amount(dec("0.07"), dec("0.5"), Points).to_string(), "0.04", "half-even");
        assert_eq!(ramped_amount(dec("5"), dec("0.5"), DealsWon).to_string(), "2", "2.5 → 2");
        assert_eq!(ramped_amount(dec("7"), dec("0.5"), ActivityCount).to_string(), "4", "3.5 → 4");
        assert_eq!(ramped_amount(dec("400"), dec("0.083333"), ActivityCount).to_string(), "33");
        assert_eq!(ramped_amount(dec("12.34"), Decimal::ONE, Kpi), dec("12.34"));
        assert_eq!(ramped_amount(dec("12.34"), Decimal::ZERO, Kpi), Decimal::ZERO);
    }

    #[test]
    fn progress_on_a_quota() {
        let p = progress(dec("100000"), dec("45000"), dec("0.5"));
        assert_eq!(p.achieved, dec("45000"));
        assert_eq!(p.attainment_percent, Some(dec("45")));
        assert_eq!(p.pacing_percent, Some(dec("90")));
        assert_eq!(p.gap, dec("55000"));
        assert_eq!(p.projected, Some(dec("90000")));

        // Over 100 %: uncapped, no gap.
        let over = progress(dec("1000"), dec("1500"), dec("0.75"));
        assert_eq!(over.attainment_percent, Some(dec("150")));
        assert_eq!(over.pacing_percent, Some(dec("200")));
        assert_eq!(over.gap, Decimal::ZERO);
        assert_eq!(over.projected, Some(dec("2000")));

        // Zero quota: no attainment, no pacing, but a run rate.
        let zero = progress(Decimal::ZERO, dec("10"), dec("0.5"));
        assert_eq!((zero.attainment_percent, zero.pacing_percent), (None, None));
        assert_eq!((zero.gap, zero.projected), (Decimal::ZERO, Some(dec("20"))));

        // Before the period: no pacing, no projection; elapsed below 0 clamps to 0.
        for elapsed in ["0", "-0.3"] {
            let before = progress(dec("300"), Decimal::ZERO, dec(elapsed));
            assert_eq!(before.attainment_percent, Some(Decimal::ZERO));
            assert_eq!((before.pacing_percent, before.projected), (None, None));
            assert_eq!(before.gap, dec("300"));
        }
        // Elapsed above 1 clamps to 1: pacing equals attainment.
        let after = progress(dec("300"), dec("100"), dec("1.7"));
        assert_eq!(after.attainment_percent, Some(dec("33.33")));
        assert_eq!(after.pacing_percent, Some(dec("33.33")));
        assert_eq!(after.projected, Some(dec("100")));

        // Rounding: 2 decimals half-even; pacing from the unrounded attainment.
        let r = progress(dec("3"), dec("1"), dec("0.3"));
        assert_eq!(r.attainment_percent, Some(dec("33.33")));
        assert_eq!(r.pacing_percent, Some(dec("111.11")));
        assert_eq!(r.projected, Some(dec("3.33")));
        assert_eq!(progress(dec("800"), dec("1"), Decimal::ONE).attainment_percent, Some(dec("0.12")), "0.125 → 0.12");

        // A sliver of elapsed time does not overflow.
        let sliver = progress(dec("1"), dec("10000000000"), Decimal::new(1, 28));
        assert_eq!(sliver.projected, None);
        assert_eq!(sliver.attainment_percent, Some(dec("1000000000000")));
    }

    fn member(n: u128, weight: &str, override_amount: Option<&str>) -> AllocationMember {
        AllocationMember { member_id: id(n), weight: dec(weight), override_amount: override_amount.map(dec) }
    }

    fn amounts(result: Result<Vec<(Uuid, Decimal)>, FieldError>) -> Vec<String> {
        result.expect("allocated").into_iter().map(|(_, a)| a.to_string()).collect()
    }

    #[test]
    fn even_allocation_sums_exactly() {
        let three = [member(1, "0", None), member(2, "0", None), member(3, "0", None)];
        let result = allocate(dec("100.00"), AllocationMethod::Even, &three, false, 2).expect("allocated");
        assert_eq!(result.iter().map(|(m, _)| *m).collect::<Vec<_>>(), vec![id(1), id(2), id(3)]);
        assert_eq!(
            result.iter().map(|(_, a)| a.to_string()).collect::<Vec<_>>(),
            vec!["33.34", "33.33", "33.33"],
            "the earlier member gets the extra cent"
        );
        assert_eq!(result.iter().map(|(_, a)| *a).sum::<Decimal>(), dec("100.00"));
        assert_eq!(
            amounts(allocate(dec("200"), AllocationMethod::Even, &three, false, 2)),
            ["66.67", "66.67", "66.66"]
        );
        assert_eq!(amounts(allocate(dec("90"), AllocationMethod::Even, &three, false, 2)), ["30.00", "30.00", "30.00"]);
        assert_eq!(
            amounts(allocate(Decimal::ZERO, AllocationMethod::Even, &three, false, 2)),
            ["0.00", "0.00", "0.00"]
        );
        // Counts at scale 0.
        assert_eq!(amounts(allocate(dec("10"), AllocationMethod::Even, &three, false, 0)), ["4", "3", "3"]);
        assert_eq!(amounts(allocate(dec("2"), AllocationMethod::Even, &three, false, 0)), ["1", "1", "0"]);
        // A total with more decimals than the scale is rounded first (half-even).
        assert_eq!(amounts(allocate(dec("10.5"), AllocationMethod::Even, &three, false, 0)), ["4", "3", "3"]);
        assert_eq!(
            amounts(allocate(dec("100.005"), AllocationMethod::Even, &three, false, 2)),
            ["33.34", "33.33", "33.33"]
        );
        // Seven ways: the sum is exact.
        let seven: Vec<AllocationMember> = (1..=7).map(|n| member(n, "0", None)).collect();
        let split = allocate(dec("1000000.00"), AllocationMethod::Even, &seven, false, 2).expect("allocated");
        assert_eq!(split.iter().map(|(_, a)| *a).sum::<Decimal>(), dec("1000000.00"));
        assert_eq!(split[0].1.to_string(), "142857.15");
        assert_eq!(split[6].1.to_string(), "142857.14");
    }

    #[test]
    fn proportional_allocation() {
        let team = [member(1, "3", None), member(2, "1", None), member(3, "0", None)];
        assert_eq!(
            amounts(allocate(dec("1000"), AllocationMethod::Weights, &team, false, 2)),
            ["750.00", "250.00", "0.00"]
        );
        let thirds = [member(1, "1", None), member(2, "1", None), member(3, "1", None)];
        assert_eq!(
            amounts(allocate(dec("100"), AllocationMethod::Weights, &thirds, false, 2)),
            ["33.34", "33.33", "33.33"]
        );
        // Largest remainder: 2/3 of 1 = 0.67 and 1/3 = 0.33 at scale 2; at scale 0, 0.67 → 1.
        let uneven = [member(1, "1", None), member(2, "2", None)];
        assert_eq!(amounts(allocate(dec("1"), AllocationMethod::Weights, &uneven, false, 2)), ["0.33", "0.67"]);
        assert_eq!(amounts(allocate(dec("1"), AllocationMethod::Weights, &uneven, false, 0)), ["0", "1"]);
        let actuals = [member(1, "120000.50", None), member(2, "79999.50", None)];
        let by_actuals = allocate(dec("300000"), AllocationMethod::PriorPeriodActuals, &actuals, false, 2);
        assert_eq!(amounts(by_actuals), ["180000.75", "119999.25"]);
        // Prior actuals all zero: even. Negative actuals (clawbacks) count as zero.
        let new_team = [member(1, "0", None), member(2, "0", None), member(3, "0", None)];
        let even = allocate(dec("100"), AllocationMethod::PriorPeriodActuals, &new_team, false, 2);
        assert_eq!(amounts(even), ["33.34", "33.33", "33.33"]);
        let refunds = [member(1, "-50", None), member(2, "100", None)];
        assert_eq!(
            amounts(allocate(dec("10"), AllocationMethod::PriorPeriodActuals, &refunds, false, 2)),
            ["0.00", "10.00"]
        );
        let all_negative = [member(1, "-50", None), member(2, "-1", None)];
        let even = allocate(dec("10"), AllocationMethod::PriorPeriodActuals, &all_negative, false, 2);
        assert_eq!(amounts(even), ["5.00", "5.00"]);
        // Huge weights still split exactly.
        let huge = [member(1, "30000000000000000000000000000", None), member(2, "10000000000000000000000000000", None)];
        let split = allocate(dec("10000000000"), AllocationMethod::Weights, &huge, false, 2).expect("allocated");
        assert_eq!(split.iter().map(|(_, a)| *a).sum::<Decimal>(), dec("10000000000"));
        assert_eq!(split[0].1, dec("7500000000"));
    }

    #[test]
    fn weights_are_checked() {
        let negative = [member(1, "2", None), member(2, "-1", None)];
        let e = allocate(dec("100"), AllocationMethod::Weights, &negative, false, 2).expect_err("negative");
        assert_eq!((e.field, e.code), (vec!["input".to_owned(), "weights".to_owned()], "OUT_OF_RANGE"));
        let zeros = [member(1, "0", None), member(2, "0.00", None)];
        let e = allocate(dec("100"), AllocationMethod::Weights, &zeros, false, 2).expect_err("all zero");
        assert_eq!((e.field.last().map(String::as_str), e.code), (Some("weights"), "INVALID"));
        // EVEN ignores weights entirely.
        assert_eq!(amounts(allocate(dec("100"), AllocationMethod::Even, &negative, false, 2)), ["50.00", "50.00"]);
        let e = allocate(dec("100"), AllocationMethod::Even, &[], false, 2).expect_err("no members");
        assert_eq!((e.field.last().map(String::as_str), e.code), (Some("teamQuotaId"), "INVALID"));
        assert_eq!(e.message, "the team has no active members");
        let e = allocate(dec("-1"), AllocationMethod::Even, &zeros, false, 2).expect_err("negative total");
        assert_eq!(e.code, "OUT_OF_RANGE");
    }

    #[test]
    fn overrides() {
        let team = [member(1, "1", None), member(2, "1", Some("50000.00")), member(3, "1", None)];
        let kept = allocate(dec("100000.01"), AllocationMethod::Even, &team, true, 2).expect("allocated");
        assert_eq!(kept.iter().map(|(m, _)| *m).collect::<Vec<_>>(), vec![id(1), id(2), id(3)], "input order");
        assert_eq!(kept.iter().map(|(_, a)| a.to_string()).collect::<Vec<_>>(), ["25000.01", "50000.00", "25000.00"]);
        assert_eq!(kept.iter().map(|(_, a)| *a).sum::<Decimal>(), dec("100000.01"));
        // Not kept: everyone shares the total.
        let ignored = allocate(dec("90000"), AllocationMethod::Even, &team, false, 2);
        assert_eq!(amounts(ignored), ["30000.00", "30000.00", "30000.00"]);
        // Overrides using up the total exactly leave nothing to share.
        let exact = allocate(dec("50000"), AllocationMethod::Weights, &team, true, 2);
        assert_eq!(amounts(exact), ["0.00", "50000.00", "0.00"]);
        // Overrides above the total.
        let e = allocate(dec("49999.99"), AllocationMethod::Even, &team, true, 2).expect_err("exceeds");
        assert_eq!((e.field.last().map(String::as_str), e.code), (Some("keepOverrides"), "OVERRIDES_EXCEED"));
        assert!(e.message.contains("50000.00"), "{}", e.message);
        // Everyone overridden: the overrides, whatever the method.
        let all = [member(1, "0", Some("10")), member(2, "0", Some("20"))];
        assert_eq!(amounts(allocate(dec("100"), AllocationMethod::Weights, &all, true, 2)), ["10", "20"]);
        // The all-zero check only looks at members who share.
        let rest_zero = [member(1, "5", Some("10")), member(2, "0", None)];
        let e = allocate(dec("100"), AllocationMethod::Weights, &rest_zero, true, 2).expect_err("zero");
        assert_eq!(e.code, "INVALID");
        // Counts with an override at scale 0.
        let counts = [member(1, "0", Some("5")), member(2, "0", None), member(3, "0", None)];
        assert_eq!(amounts(allocate(dec("12"), AllocationMethod::Even, &counts, true, 0)), ["5", "4", "3"]);
    }

    #[test]
    fn revenue_splits_and_overlays() {
        let (owner, a, b, c) = (id(1), id(2), id(3), id(4));
        let credit = |member_id: Uuid, amount_cents: i64, overlay: bool, percent: i32| Credit {
            member_id,
            amount_cents,
            overlay,
            percent,
        };
        // No splits: the owner gets everything.
        assert_eq!(deal_credits(owner, 125_050, &[]), vec![credit(owner, 125_050, false, 100)]);
        // 60/40 with the owner listed.
        let split = deal_credits(owner, 100_001, &[(owner, SplitShare::Revenue(60)), (a, SplitShare::Revenue(40))]);
        assert_eq!(split, vec![credit(owner, 60_001, false, 60), credit(a, 40_000, false, 40)]);
        // 33/33/34 on odd cents: the largest remainder takes the extra cent; the owner (not listed) nothing.
        let thirds = [(a, SplitShare::Revenue(33)), (b, SplitShare::Revenue(33)), (c, SplitShare::Revenue(34))];
        let credits = deal_credits(owner, 10_001, &thirds);
        assert_eq!(credits, vec![credit(a, 3300, false, 33), credit(b, 3300, false, 33), credit(c, 3401, false, 34)]);
        assert_eq!(credits.iter().map(|c| c.amount_cents).sum::<i64>(), 10_001);
        assert_eq!(credited_quantity(&credits, owner), 0);
        let tiny = deal_credits(owner, 10, &thirds);
        assert_eq!(tiny.iter().map(|c| c.amount_cents).collect::<Vec<_>>(), vec![3, 3, 4]);
        let one_cent = deal_credits(owner, 1, &thirds);
        assert_eq!(one_cent.iter().map(|c| c.amount_cents).collect::<Vec<_>>(), vec![0, 0, 1]);
        // Equal remainders: the earlier partner.
        let halves = deal_credits(owner, 101, &[(a, SplitShare::Revenue(50)), (b, SplitShare::Revenue(50))]);
        assert_eq!(halves.iter().map(|c| c.amount_cents).collect::<Vec<_>>(), vec![51, 50]);

        // Overlay on top, half-even cents; revenue credits first.
        let with_overlay = deal_credits(owner, 1_050, &[(b, SplitShare::Overlay(10)), (a, SplitShare::Revenue(100))]);
        assert_eq!(with_overlay, vec![credit(a, 1_050, false, 100), credit(b, 105, true, 10)]);
        let overlay_only = deal_credits(owner, 25, &[(b, SplitShare::Overlay(50)), (c, SplitShare::Overlay(30))]);
        assert_eq!(
            overlay_only,
            vec![credit(owner, 25, false, 100), credit(b, 12, true, 50), credit(c, 8, true, 30)],
            "12.5 → 12 and 7.5 → 8 (half-even)"
        );
        // A member who is both a revenue and an overlay partner sums both.
        let both = deal_credits(owner, 1_000, &[(a, SplitShare::Revenue(100)), (a, SplitShare::Overlay(25))]);
        assert_eq!(credited_quantity(&both, a), 1_250);
        assert_eq!(credited_quantity(&both, c), 0);
        // A reversal splits symmetrically.
        let reversal = deal_credits(owner, -10_001, &thirds);
        assert_eq!(reversal.iter().map(|c| c.amount_cents).collect::<Vec<_>>(), vec![-3300, -3300, -3401]);
        // Zero and very large amounts.
        assert!(deal_credits(owner, 0, &thirds).iter().all(|c| c.amount_cents == 0));
        let big = deal_credits(owner, i64::MAX, &thirds);
        assert_eq!(big.iter().map(|c| i128::from(c.amount_cents)).sum::<i128>(), i128::from(i64::MAX));
    }

    #[test]
    fn deals_won_credit_counts_fractions() {
        let (owner, a, b) = (id(1), id(2), id(3));
        assert_eq!(deals_won_credit(owner, &[]), vec![(owner, Decimal::ONE)]);
        assert_eq!(
            deals_won_credit(owner, &[(a, SplitShare::Overlay(50))]),
            vec![(owner, Decimal::ONE), (a, dec("0.5"))]
        );
        let split = deals_won_credit(
            owner,
            &[(b, SplitShare::Overlay(20)), (owner, SplitShare::Revenue(60)), (a, SplitShare::Revenue(40))],
        );
        assert_eq!(split, vec![(owner, dec("0.6")), (a, dec("0.4")), (b, dec("0.2"))]);
        let revenue: Decimal = split.iter().take(2).map(|(_, d)| *d).sum();
        assert_eq!(revenue, Decimal::ONE);
        let not_listed = deals_won_credit(owner, &[(a, SplitShare::Revenue(100))]);
        assert_eq!(not_listed, vec![(a, Decimal::ONE)]);
    }
}
