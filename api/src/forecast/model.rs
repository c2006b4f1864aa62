//! Forecast rules: forecast periods, validation of submissions, pipeline sums per forecast
//! category and their cumulative views, the system forecast (closed won + weighted pipeline),
//! run rate and coverage, the submission that stood at a cut-off, and accuracy, bias and MAPE.
//! Pure functions, no I/O.
//!
//! Money is [`Decimal`], never a float. Money results are rounded to cents half-even; ratios
//! (coverage 2 decimals, accuracy and errors 4 decimals) likewise half-even.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use rust_decimal::{Decimal, RoundingStrategy};

use crate::core::field::FieldError;
use crate::core::period::{Period, PeriodGrain, period_containing, previous_period, start_of_day};
use crate::pipeline::model::{DealOutcome, ForecastCategory};

stored_enum!(
    /// The length of a forecast period.
    ForecastGrain {
        /// A calendar month.
        Month => "MONTH",
        /// A fiscal quarter: three months counted from the fiscal year's start month.
        Quarter => "QUARTER",
    }
);

impl ForecastGrain {
    /// The matching reporting grain, for `scoring::model::period_containing`.
    pub fn to_period_grain(self) -> PeriodGrain {
        match self {
            ForecastGrain::Month => PeriodGrain::Month,
            ForecastGrain::Quarter => PeriodGrain::Quarter,
        }
    }
}

stored_enum!(
    /// A deal's forecast category as the forecast sees it; mirrors
    /// `pipeline::model::ForecastCategory` (convert with `From`), which is the one to expose in
    /// the API.
    Category {
        /// Early pipeline.
        Pipeline => "PIPELINE",
        /// Could close this period.
        BestCase => "BEST_CASE",
        /// Expected to close this period.
        Commit => "COMMIT",
        /// Won (or as good as).
        Closed => "CLOSED",
        /// Left out of the forecast.
        Omitted => "OMITTED",
    }
);

impl From<ForecastCategory> for Category {
    fn from(category: ForecastCategory) -> Self {
        match category {
            ForecastCategory::Pipeline => Category::Pipeline,
            ForecastCategory::BestCase => Category::BestCase,
            ForecastCategory::Commit => Category::Commit,
            ForecastCategory::Closed => Category::Closed,
            ForecastCategory::Omitted => Category::Omitted,
        }
    }
}

stored_enum!(
    /// How a closed deal ended; mirrors `pipeline::model::DealOutcome` (convert with `From`).
    Outcome {
        /// Won.
        Won => "WON",
        /// Lost.
        Lost => "LOST",
    }
);

impl From<DealOutcome> for Outcome {
    fn from(outcome: DealOutcome) -> Self {
        match outcome {
            DealOutcome::Won => Outcome::Won,
            DealOutcome::Lost => Outcome::Lost,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/// Largest forecast amount: ten billion.
pub const MAX_FORECAST_AMOUNT: Decimal = Decimal::from_parts(0x540B_E400, 2, 0, false, 0);
/// Longest submission note, in characters.
pub const MAX_NOTE_LEN: usize = 2000;
/// Most closed periods [`closed_periods`] returns.
pub const MAX_CLOSED_PERIODS: usize = 12;

/// A forecast amount (commit or best case) given as a decimal string ("125000.50") for the
/// input field `field`: at least 0, at most [`MAX_FORECAST_AMOUNT`], at most 2 decimals.
/// Returned with 2 decimals ("12" → 12.00). Not a plain decimal (exponents, signs other than a
/// leading `-`, thousands separators) or too many decimals is INVALID; negative or too large
/// is OUT_OF_RANGE.
pub fn parse_forecast_amount(field: &str, raw: &str) -> Result<Decimal, FieldError> {
    let text = raw.trim();
    let invalid = || FieldError::new(field, "INVALID", "must be a decimal number like 125000.00");
    let plain = text.chars().any(|c| c.is_ascii_digit())
        && text.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '-')
        && text.chars().filter(|c| *c == '.').count() <= 1;
    if !plain {
        return Err(invalid());
    }
    let value: Decimal = text.parse().map_err(|_| invalid())?;
    if value.is_sign_negative() && !value.is_zero() {
        return Err(FieldError::new(field, "OUT_OF_RANGE", "must not be negative"));
    }
    if value > MAX_FORECAST_AMOUNT {
        return Err(FieldError::new(field, "OUT_OF_RANGE", "must be at most 10000000000"));
    }
    if value.normalize().scale() > 2 {
        return Err(FieldError::new(field, "INVALID", "at most 2 decimals"));
    }
    let mut value = value.abs();
    value.rescale(2);
    Ok(value)
}

/// A submission's (or adjustment's) two numbers together: the best case may not be below the
/// commit (INVALID on `bestCase`).
pub fn check_submission(commit: Decimal, best_case: Decimal) -> Result<(), FieldError> {
    if best_case < commit {
        return Err(FieldError::new(
            "bestCase",
            "INVALID",
            format!("the best case ({best_case}) must not be below the commit ({commit})"),
        ));
    }
    Ok(())
}

/// A submission's optional note: trimmed, absent or blank is `None`; Windows line ends
/// (`\r\n`) become `\n`; at most [`MAX_NOTE_LEN`] characters (TOO_LONG); line breaks are the
/// only control characters allowed (INVALID otherwise). Errors are on `note`.
pub fn check_note(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(note) = raw.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    let note = note.replace("\r\n", "\n");
    if note.chars().count() > MAX_NOTE_LEN {
        return Err(FieldError::new("note", "TOO_LONG", format!("must be at most {MAX_NOTE_LEN} characters")));
    }
    if note.chars().any(|c| c.is_control() && c != '\n') {
        return Err(FieldError::new("note", "INVALID", "must not contain control characters other than line breaks"));
    }
    Ok(Some(note))
}

// ---------------------------------------------------------------------------------------------
// Pipeline sums
// ---------------------------------------------------------------------------------------------

/// One deal's contribution, already known to be in the subject's scope and expected/closed in the period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DealFact {
    /// The deal's amount.
    pub amount: Decimal,
    /// Win probability in percent (0..=100; values outside are clamped).
    pub probability: i32,
    /// The deal's forecast category.
    pub category: Category,
    /// `None` while the deal is open.
    pub outcome: Option<Outcome>,
    /// Whether the deal was closed (won or lost) inside the period.
    pub closed_in_period: bool,
    /// Whether the deal's expected close date falls inside the period.
    pub expected_in_period: bool,
}

/// The pipeline of one subject (member or team) for one period, per forecast category and in
/// the cumulative views.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipelineSums {
    /// Open deals in PIPELINE.
    pub pipeline: Decimal,
    /// Open deals in BEST_CASE.
    pub best_case: Decimal,
    /// Open deals in COMMIT.
    pub commit: Decimal,
    /// Deals won in the period, plus open deals already put in CLOSED.
    pub closed: Decimal,
    /// Open deals in OMITTED.
    pub omitted: Decimal,
    /// COMMIT + CLOSED.
    pub commit_view: Decimal,
    /// BEST_CASE + COMMIT + CLOSED.
    pub best_case_view: Decimal,
    /// PIPELINE + BEST_CASE + COMMIT.
    pub open_pipeline: Decimal,
    /// Σ amount × probability ÷ 100 of open deals (OMITTED excepted), in cents.
    pub weighted_pipeline: Decimal,
    /// Deals won in the period.
    pub closed_won: Decimal,
}

/// The pipeline sums over `deals`. Open deals (no outcome) expected in the period count in
/// their category's bucket (an open deal already in CLOSED counts as CLOSED, though not as
/// closed won); open deals expected in another period count nowhere. Won deals closed in the
/// period count in `closed` and `closed_won`, whatever their category; lost deals count nowhere.
/// The views follow from the buckets: commit view = COMMIT + CLOSED, best-case view =
/// BEST_CASE + COMMIT + CLOSED, open pipeline = PIPELINE + BEST_CASE + COMMIT. The weighted
/// pipeline is Σ amount × probability ÷ 100 over the open deals expected in the period except
/// OMITTED, rounded to cents (half-even) once, at the end.
pub fn pipeline_sums(deals: &[DealFact]) -> PipelineSums {
    let mut sums = PipelineSums::default();
    // Σ amount × probability, divided by 100 only at the end.
    let mut weighted_percent = Decimal::ZERO;
    for deal in deals {
        match deal.outcome {
            Some(Outcome::Won) if deal.closed_in_period => {
                sums.closed = sums.closed.saturating_add(deal.amount);
                sums.closed_won = sums.closed_won.saturating_add(deal.amount);
            }
            None if deal.expected_in_period => {
                let bucket = match deal.category {
                    Category::Pipeline => &mut sums.pipeline,
                    Category::BestCase => &mut sums.best_case,
                    Category::Commit => &mut sums.commit,
                    Category::Closed => &mut sums.closed,
                    Category::Omitted => &mut sums.omitted,
                };
                *bucket = bucket.saturating_add(deal.amount);
                if deal.category != Category::Omitted {
                    let percent = Decimal::from(deal.probability.clamp(0, 100));
                    weighted_percent = weighted_percent.saturating_add(deal.amount.saturating_mul(percent));
                }
            }
            _ => {}
        }
    }
    sums.weighted_pipeline = round_cents(weighted_percent / Decimal::ONE_HUNDRED);
    sums.with_views()
}

impl PipelineSums {
    /// Recomputes the cumulative views from the category buckets.
    fn with_views(mut self) -> Self {
        self.commit_view = self.commit.saturating_add(self.closed);
        self.best_case_view = self.best_case.saturating_add(self.commit_view);
        self.open_pipeline = self.pipeline.saturating_add(self.best_case).saturating_add(self.commit);
        self
    }
}

/// Field-wise sum: a team's sums are its members' and sub-teams' sums added up. The weighted
/// pipeline is the sum of the children's (rounded) values, so the rows a manager sees add up to
/// the team's row to the cent.
impl std::ops::Add for PipelineSums {
    type Output = PipelineSums;

    fn add(self, other: PipelineSums) -> PipelineSums {
        PipelineSums {
            pipeline: self.pipeline.saturating_add(other.pipeline),
            best_case: self.best_case.saturating_add(other.best_case),
            commit: self.commit.saturating_add(other.commit),
            closed: self.closed.saturating_add(other.closed),
            omitted: self.omitted.saturating_add(other.omitted),
            commit_view: self.commit_view.saturating_add(other.commit_view),
            best_case_view: self.best_case_view.saturating_add(other.best_case_view),
            open_pipeline: self.open_pipeline.saturating_add(other.open_pipeline),
            weighted_pipeline: self.weighted_pipeline.saturating_add(other.weighted_pipeline),
            closed_won: self.closed_won.saturating_add(other.closed_won),
        }
    }
}

/// The field-wise sum of many (zero for none).
impl std::iter::Sum for PipelineSums {
    fn sum<I: Iterator<Item = PipelineSums>>(iter: I) -> PipelineSums {
        iter.fold(PipelineSums::default(), |total, sums| total + sums)
    }
}

// ---------------------------------------------------------------------------------------------
// System forecast, run rate, coverage
// ---------------------------------------------------------------------------------------------

fn round_cents(value: Decimal) -> Decimal {
    let mut rounded = value.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven);
    rounded.rescale(2);
    rounded
}

fn round4(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(4, RoundingStrategy::MidpointNearestEven)
}

/// A deal as accuracy needs it: what it is worth, and when it was created and closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DealHistory {
    /// Amount.
    pub amount: Decimal,
    /// Win probability today, 0 to 100.
    pub probability: i32,
    /// In the OMITTED category.
    pub omitted: bool,
    /// Closed won.
    pub won: bool,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Closed at, if closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// Expected close date.
    pub expected_close: Option<NaiveDate>,
}

/// The amount won and closed in `period`: the actual a forecast is measured against.
pub fn closed_won(deals: &[DealHistory], period: &Period) -> Decimal {
    deals
        .iter()
        .filter(|d| d.won && d.closed_at.is_some_and(|t| t >= period.start && t < period.end))
        .map(|d| d.amount)
        .sum()
}

/// The system forecast as it stood at `at`: won in the period by then, plus deals open at that
/// moment (created before it, not closed by then) expected in the period, weighted by their
/// probability today (no probability history is kept), OMITTED left out.
pub fn system_forecast_at(deals: &[DealHistory], period: &Period, at: DateTime<Utc>) -> Decimal {
    let won: Decimal = deals
        .iter()
        .filter(|d| d.won && d.closed_at.is_some_and(|t| t >= period.start && t < period.end && t <= at))
        .map(|d| d.amount)
        .sum();
    let weighted: Decimal = deals
        .iter()
        .filter(|d| d.created_at <= at && d.closed_at.is_none_or(|t| t > at) && !d.omitted)
        .filter(|d| d.expected_close.is_some_and(|e| e >= period.start_date && e < period.end_date))
        .map(|d| d.amount * Decimal::from(d.probability.clamp(0, 100)) / Decimal::ONE_HUNDRED)
        .sum();
    system_forecast(won, round_cents(weighted))
}

/// The system forecast: closed won so far + weighted pipeline (both already in cents).
pub fn system_forecast(closed_won: Decimal, weighted_pipeline: Decimal) -> Decimal {
    closed_won.saturating_add(weighted_pipeline)
}

/// The run-rate projection to the end of the period: closed won ÷ the elapsed share of the
/// period (clamped to at most 1), in cents half-even; `None` before the period starts (a share
/// of 0 or less).
pub fn run_rate(closed_won: Decimal, elapsed_share: Decimal) -> Option<Decimal> {
    let share = elapsed_share.min(Decimal::ONE);
    if share <= Decimal::ZERO {
        return None;
    }
    closed_won.checked_div(share).map(round_cents)
}

/// Pipeline coverage: open pipeline ÷ remaining quota (quota − closed won), a ratio rounded to
/// 2 decimals half-even (3.25 means 3.25×). `None` without a quota, and when nothing remains
/// (closed won at or above the quota).
pub fn coverage(open_pipeline: Decimal, quota: Option<Decimal>, closed_won: Decimal) -> Option<Decimal> {
    let remaining = quota?.saturating_sub(closed_won);
    if remaining <= Decimal::ZERO {
        return None;
    }
    open_pipeline.checked_div(remaining).map(|r| r.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven))
}

// ---------------------------------------------------------------------------------------------
// Submissions
// ---------------------------------------------------------------------------------------------

/// One submitted (or adjusted) forecast.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    /// When it was submitted.
    pub at: DateTime<Utc>,
    /// The commit amount.
    pub commit: Decimal,
    /// The best-case amount.
    pub best_case: Decimal,
}

/// The submission that stood at `cutoff`: the latest one made at or before it. `history` may
/// be in any order; of several made at the same instant, the later one in the slice wins.
/// `None` when nothing had been submitted by then.
pub fn standing_at(history: &[Submission], cutoff: DateTime<Utc>) -> Option<&Submission> {
    history.iter().filter(|s| s.at <= cutoff).max_by_key(|s| s.at)
}

/// The submission that counts now: the latest one (ties as in [`standing_at`]).
pub fn latest(history: &[Submission]) -> Option<&Submission> {
    history.iter().max_by_key(|s| s.at)
}

// ---------------------------------------------------------------------------------------------
// Accuracy
// ---------------------------------------------------------------------------------------------

/// How one forecast compared with what was closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccuracyPoint {
    /// The forecast that stood at the cut-off, if any.
    pub forecast: Option<Decimal>,
    /// The closed-won amount of the period.
    pub actual: Decimal,
    /// 1 − |forecast − actual| ÷ actual, 4 decimals; negative for a miss by more than the actual.
    pub accuracy: Option<Decimal>,
    /// forecast − actual: positive for an over-forecast, negative for an under-forecast.
    pub bias: Option<Decimal>,
    /// |forecast − actual| ÷ actual, 4 decimals.
    pub abs_pct_error: Option<Decimal>,
}

/// Accuracy of `forecast` against `actual`: accuracy = 1 − |f − a| ÷ a and the absolute
/// percentage error |f − a| ÷ a (both rounded to 4 decimals half-even from the exact ratio;
/// `None` without a forecast or when the actual is 0 — or negative, which closed won never
/// is); bias = f − a (signed, `None` without a forecast).
pub fn accuracy(forecast: Option<Decimal>, actual: Decimal) -> AccuracyPoint {
    let bias = forecast.map(|f| f.saturating_sub(actual));
    let error = bias.filter(|_| actual > Decimal::ZERO).and_then(|b| b.abs().checked_div(actual));
    AccuracyPoint {
        forecast,
        actual,
        accuracy: error.map(|e| round4(Decimal::ONE.saturating_sub(e))),
        bias,
        abs_pct_error: error.map(round4),
    }
}

/// Periods MAPE looks back over.
pub const MAPE_PERIODS: usize = 4;

/// Mean absolute percentage error over the last [`MAPE_PERIODS`] points that have an error
/// (`points` oldest first; points without one are skipped, so fewer may count), 4 decimals
/// half-even; `None` when no point has one.
pub fn mape(points: &[AccuracyPoint]) -> Option<Decimal> {
    let recent: Vec<Decimal> = points.iter().rev().filter_map(|p| p.abs_pct_error).take(MAPE_PERIODS).collect();
    if recent.is_empty() {
        return None;
    }
    let total: Decimal = recent.iter().sum();
    Some(round4(total / Decimal::from(recent.len())))
}

// ---------------------------------------------------------------------------------------------
// Periods and cut-offs
// ---------------------------------------------------------------------------------------------

/// When the forecast that counts for accuracy is taken.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Cutoff {
    /// A number of days after the period's start.
    PeriodStartPlusDays(u32),
    /// The period's end.
    PeriodEnd,
}

/// The cut-off instant in `period`: `PeriodStartPlusDays(n)` is the period's first instant plus
/// n × 24 hours (so across a DST change it lands an hour off local midnight; see
/// [`local_cutoff_instant`]), never after the period's end; `PeriodEnd` is the period's end.
pub fn cutoff_instant(period: &Period, cutoff: Cutoff) -> DateTime<Utc> {
    match cutoff {
        Cutoff::PeriodStartPlusDays(days) => period
            .start
            .checked_add_signed(TimeDelta::days(i64::from(days)))
            .map_or(period.end, |at| at.min(period.end)),
        Cutoff::PeriodEnd => period.end,
    }
}

/// Like [`cutoff_instant`], but `PeriodStartPlusDays(n)` is local midnight in `tz` of the n-th
/// day after the period's first local date (what a director means by "start + 14 days" when
/// a DST change falls in between), never after the period's end.
pub fn local_cutoff_instant(period: &Period, cutoff: Cutoff, tz: Tz) -> DateTime<Utc> {
    match cutoff {
        Cutoff::PeriodStartPlusDays(days) => period
            .start_date
            .checked_add_signed(TimeDelta::days(i64::from(days)))
            .filter(|date| *date < period.end_date)
            .map_or(period.end, |date| start_of_day(date, tz).min(period.end)),
        Cutoff::PeriodEnd => period.end,
    }
}

/// The `count` periods of `grain` just before the one containing `now_local` (the closed ones),
/// oldest first, in the organization's time zone and fiscal year. `count` is clamped to
/// [`MAX_CLOSED_PERIODS`].
pub fn closed_periods(
    grain: ForecastGrain,
    now_local: NaiveDate,
    count: usize,
    tz: Tz,
    fiscal_year_start_month: u32,
) -> Vec<Period> {
    let count = count.min(MAX_CLOSED_PERIODS);
    let mut periods = Vec::with_capacity(count);
    let mut current = period_containing(grain.to_period_grain(), now_local, tz, fiscal_year_start_month);
    while periods.len() < count
        && let Some(previous) = previous_period(&current, tz, fiscal_year_start_month)
    {
        periods.push(previous);
        current = previous;
    }
    periods.reverse();
    periods
}

#[cfg(test)]
mod tests {
    use super::*;

    const AMS: Tz = chrono_tz::Europe::Amsterdam;

    fn dec(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().expect("RFC 3339 instant")
    }

    fn open(amount: &str, probability: i32, category: Category) -> DealFact {
        DealFact {
            amount: dec(amount),
            probability,
            category,
            outcome: None,
            closed_in_period: false,
            expected_in_period: true,
        }
    }

    fn closed(amount: &str, outcome: Outcome, category: Category, in_period: bool) -> DealFact {
        DealFact {
            amount: dec(amount),
            probability: if outcome == Outcome::Won { 100 } else { 0 },
            category,
            outcome: Some(outcome),
            closed_in_period: in_period,
            expected_in_period: true,
        }
    }

    fn submission(at: &str, commit: &str) -> Submission {
        Submission { at: utc(at), commit: dec(commit), best_case: dec(commit) + Decimal::ONE_HUNDRED }
    }

    fn input(field: &str) -> Vec<String> {
        vec!["input".to_owned(), field.to_owned()]
    }

    #[test]
    fn enums_round_trip() {
        for g in [ForecastGrain::Month, ForecastGrain::Quarter] {
            assert_eq!(ForecastGrain::parse(g.as_str()), Some(g));
            assert_eq!(g.to_period_grain().as_str(), g.as_str());
        }
        assert_eq!(ForecastGrain::parse("YEAR"), None);
        let pipeline = [
            ForecastCategory::Pipeline,
            ForecastCategory::BestCase,
            ForecastCategory::Commit,
            ForecastCategory::Closed,
            ForecastCategory::Omitted,
        ];
        for c in pipeline {
            let ours = Category::from(c);
            assert_eq!(ours.as_str(), c.as_str(), "mirrors the pipeline's category");
            assert_eq!(Category::parse(ours.as_str()), Some(ours));
        }
        assert_eq!(Category::BestCase.as_str(), "BEST_CASE");
        for o in [DealOutcome::Won, DealOutcome::Lost] {
            assert_eq!(Outcome::from(o).as_str(), o.as_str());
            assert_eq!(Outcome::parse(o.as_str()), Some(Outcome::from(o)));
        }
        assert_eq!(Category::parse("commit"), None);
    }

    #[test]
    fn forecast_amounts() {
        assert_eq!(MAX_FORECAST_AMOUNT, Decimal::from(10_000_000_000i64));
        let ok = |raw: &str| parse_forecast_amount("commit", raw).map(|d| d.to_string());
        assert_eq!(ok("125000.5").as_deref(), Ok("125000.50"));
        assert_eq!(ok(" 12 ").as_deref(), Ok("12.00"));
        assert_eq!(ok("1.230").as_deref(), Ok("1.23"), "trailing zeros are fine");
        assert_eq!(ok("0").as_deref(), Ok("0.00"));
        assert_eq!(ok("-0").as_deref(), Ok("0.00"));
        assert_eq!(ok("10000000000").as_deref(), Ok("10000000000.00"));
        let code = |field: &str, raw: &str| parse_forecast_amount(field, raw).map_err(|e| (e.field, e.code));
        for bad in ["", " ", "abc", "1e3", "NaN", "1,5", "1.2.3", ".", "-", "+5", "12 000", "1.005"] {
            assert_eq!(code("commit", bad), Err((input("commit"), "INVALID")), "{bad:?}");
        }
        assert_eq!(code("bestCase", "0.001"), Err((input("bestCase"), "INVALID")), "errors name the given field");
        assert_eq!(code("commit", "-1"), Err((input("commit"), "OUT_OF_RANGE")));
        assert_eq!(code("commit", "-0.01"), Err((input("commit"), "OUT_OF_RANGE")));
        assert_eq!(code("bestCase", "10000000000.01"), Err((input("bestCase"), "OUT_OF_RANGE")));
        assert!(parse_forecast_amount("commit", &"9".repeat(40)).is_err(), "beyond Decimal's range");
    }

    #[test]
    fn submissions_need_best_case_at_least_commit() {
        assert_eq!(check_submission(dec("100.00"), dec("100.00")), Ok(()));
        assert_eq!(check_submission(dec("0"), dec("250.00")), Ok(()));
        let e = check_submission(dec("100.00"), dec("99.99")).expect_err("best case below commit");
        assert_eq!((e.field, e.code), (input("bestCase"), "INVALID"));
        assert_eq!(e.message, "the best case (99.99) must not be below the commit (100.00)");
    }

    #[test]
    fn notes() {
        assert_eq!(check_note(None), Ok(None));
        assert_eq!(check_note(Some(" \n\t ")), Ok(None), "blank is no note");
        assert_eq!(check_note(Some("  Two deals slip\nto July ")), Ok(Some("Two deals slip\nto July".to_owned())));
        assert_eq!(check_note(Some("a\r\nb")), Ok(Some("a\nb".to_owned())), "Windows line ends");
        assert_eq!(check_note(Some(&"é".repeat(2000))).map(|n| n.map(|n| n.chars().count())), Ok(Some(2000)));
        let code = |raw: &str| check_note(Some(raw)).map_err(|e| (e.field, e.code));
        assert_eq!(code(&"é".repeat(2001)), Err((input("note"), "TOO_LONG")));
        assert_eq!(code(&format!("{}\r\n", "x".repeat(1999))), Ok(Some("x".repeat(1999))), "trimmed first");
        for bad in ["a\tb", "a\0b", "a\rb", "a\u{7}b", "a\u{85}b"] {
            assert_eq!(code(bad), Err((input("note"), "INVALID")), "{bad:?}");
        }
    }

    #[test]
    fn category_views_over_every_category_and_outcome() {
        let mut elsewhere = open("5000.00", 80, Category::Commit);
        elsewhere.expected_in_period = false;
        let deals = [
            open("1000.00", 10, Category::Pipeline),                  // weighted 100.00
            open("2000.00", 40, Category::BestCase),                  // weighted 800.00
            open("3000.00", 80, Category::Commit),                    // weighted 2400.00
            open("500.00", 50, Category::Omitted),                    // not weighted
            open("700.00", 90, Category::Closed),                     // open but CLOSED: weighted 630.00
            closed("4000.00", Outcome::Won, Category::Closed, true),  // closed won
            closed("250.00", Outcome::Won, Category::Commit, true),   // won: CLOSED whatever its category
            closed("6000.00", Outcome::Won, Category::Closed, false), // won in another period
            closed("900.00", Outcome::Lost, Category::Omitted, true), // lost: nowhere
            closed("800.00", Outcome::Lost, Category::Commit, true),  // lost: nowhere
            elsewhere,                                                // expected in another period
        ];
        let sums = pipeline_sums(&deals);
        assert_eq!(
            sums,
            PipelineSums {
                pipeline: dec("1000.00"),
                best_case: dec("2000.00"),
                commit: dec("3000.00"),
                closed: dec("4950.00"),
                omitted: dec("500.00"),
                commit_view: dec("7950.00"),
                best_case_view: dec("9950.00"),
                open_pipeline: dec("6000.00"),
                weighted_pipeline: dec("3930.00"),
                closed_won: dec("4250.00"),
            }
        );
        assert_eq!(sums.weighted_pipeline.to_string(), "3930.00");
        assert_eq!(system_forecast(sums.closed_won, sums.weighted_pipeline), dec("8180.00"));
        assert_eq!(pipeline_sums(&[]), PipelineSums::default());
        assert_eq!(pipeline_sums(&[]).weighted_pipeline.to_string(), "0.00");
    }

    #[test]
    fn weighted_pipeline_rounds_to_cents_once_at_the_end() {
        // 1234.56 × 37 % = 456.7872; 999.99 × 0 % = 0; 10.01 × 100 % = 10.01 → 466.7972.
        let deals = [
            open("1234.56", 37, Category::Pipeline),
            open("999.99", 0, Category::BestCase),
            open("10.01", 100, Category::Commit),
        ];
        let sums = pipeline_sums(&deals);
        assert_eq!(sums.weighted_pipeline.to_string(), "466.80");
        assert_eq!(sums.open_pipeline, dec("2244.56"));
        // 12.50 × 37 % = 4.625: half-even gives 4.62 (half-up would give 4.63).
        assert_eq!(pipeline_sums(&[open("12.50", 37, Category::Commit)]).weighted_pipeline.to_string(), "4.62");
        // Three times 0.0037: 0.00 each when rounded per deal, 0.0111 → 0.01 in total.
        let pennies = vec![open("0.01", 37, Category::Pipeline); 3];
        assert_eq!(pipeline_sums(&pennies).weighted_pipeline, dec("0.01"));
        // Probabilities outside 0..=100 are clamped.
        assert_eq!(pipeline_sums(&[open("100.00", 150, Category::Commit)]).weighted_pipeline, dec("100.00"));
        assert_eq!(pipeline_sums(&[open("100.00", -5, Category::Commit)]).weighted_pipeline, dec("0.00"));
    }

    #[test]
    fn roll_up_over_three_levels_equals_the_flat_sum() {
        // Sales (a1 + Region) ← Region (b1 + Squad) ← Squad (c1 + c2).
        let a1 = vec![open("1000.00", 50, Category::Commit), closed("300.00", Outcome::Won, Category::Closed, true)];
        let b1 = vec![open("2000.00", 20, Category::BestCase), open("400.00", 10, Category::Omitted)];
        let c1 = vec![open("1500.00", 30, Category::Pipeline), closed("1200.00", Outcome::Won, Category::Closed, true)];
        let c2 = vec![open("800.00", 75, Category::Commit), closed("999.00", Outcome::Lost, Category::Commit, true)];
        let squad = pipeline_sums(&c1) + pipeline_sums(&c2);
        let region = pipeline_sums(&b1) + squad.clone();
        let sales = pipeline_sums(&a1) + region.clone();
        let flat: Vec<DealFact> = [a1, b1, c1, c2].concat();
        assert_eq!(sales, pipeline_sums(&flat));
        assert_eq!(
            sales,
            PipelineSums {
                pipeline: dec("1500.00"),
                best_case: dec("2000.00"),
                commit: dec("1800.00"),
                closed: dec("1500.00"),
                omitted: dec("400.00"),
                commit_view: dec("3300.00"),
                best_case_view: dec("5300.00"),
                open_pipeline: dec("5300.00"),
                // 500 + 400 + 450 + 600
                weighted_pipeline: dec("1950.00"),
                closed_won: dec("1500.00"),
            }
        );
        assert_eq!(squad.weighted_pipeline, dec("1050.00"));
        assert_eq!(region.best_case_view, dec("4000.00"));
        assert_eq!(vec![pipeline_sums(&flat), squad.clone()].into_iter().sum::<PipelineSums>(), sales + squad);
        assert_eq!(std::iter::empty::<PipelineSums>().sum::<PipelineSums>(), PipelineSums::default());
    }

    #[test]
    fn coverage_of_the_remaining_quota() {
        assert_eq!(coverage(dec("26000.00"), None, dec("2000.00")), None, "no quota");
        assert_eq!(coverage(dec("26000.00"), Some(dec("10000.00")), dec("10000.00")), None, "quota reached");
        assert_eq!(coverage(dec("26000.00"), Some(dec("10000.00")), dec("12000.00")), None, "quota passed");
        assert_eq!(coverage(dec("26000.00"), Some(dec("0")), dec("0")), None, "zero quota");
        assert_eq!(coverage(dec("26000.00"), Some(dec("10000.00")), dec("2000.00")), Some(dec("3.25")));
        assert_eq!(coverage(dec("10000.00"), Some(dec("4000.00")), dec("1000.00")), Some(dec("3.33")));
        assert_eq!(coverage(dec("1000.00"), Some(dec("8000.00")), dec("0")), Some(dec("0.12")), "0.125 half-even");
        assert_eq!(coverage(dec("0"), Some(dec("8000.00")), dec("0")), Some(dec("0")));
    }

    #[test]
    fn run_rate_projection() {
        assert_eq!(run_rate(dec("1234.57"), dec("0")), None, "before the period starts");
        assert_eq!(run_rate(dec("1234.57"), dec("-0.1")), None);
        assert_eq!(run_rate(dec("1234.57"), dec("0.5")).map(|d| d.to_string()).as_deref(), Some("2469.14"));
        assert_eq!(run_rate(dec("100.00"), dec("0.3")), Some(dec("333.33")));
        assert_eq!(run_rate(dec("0.01"), dec("0.4")), Some(dec("0.02")), "0.025 half-even");
        assert_eq!(run_rate(dec("0.03"), dec("0.4")), Some(dec("0.08")), "0.075 half-even");
        assert_eq!(run_rate(dec("500.00"), dec("1.2")), Some(dec("500.00")), "share clamped to 1");
        assert_eq!(run_rate(dec("0"), dec("0.5")), Some(dec("0.00")));
    }

    #[test]
    fn the_submission_standing_at_a_cutoff() {
        let history = [
            submission("2026-04-01T10:00:00Z", "100"),
            submission("2026-04-01T12:00:00Z", "300"),
            submission("2026-04-01T11:00:00Z", "200"),
        ];
        let commit = |cutoff: &str| standing_at(&history, utc(cutoff)).map(|s| s.commit);
        assert_eq!(commit("2026-04-01T09:59:59Z"), None, "before the first submission");
        assert_eq!(commit("2026-04-01T10:00:00Z"), Some(dec("100")), "at the exact instant");
        assert_eq!(commit("2026-04-01T11:00:00Z"), Some(dec("200")), "at the exact instant, unordered history");
        assert_eq!(commit("2026-04-01T11:59:59Z"), Some(dec("200")));
        assert_eq!(commit("2026-06-30T00:00:00Z"), Some(dec("300")));
        assert_eq!(standing_at(&[], utc("2026-04-01T11:00:00Z")), None);
        assert_eq!(latest(&history).map(|s| s.commit), Some(dec("300")));
        assert_eq!(latest(&[]), None);
        let tied = [submission("2026-04-01T11:00:00Z", "1"), submission("2026-04-01T11:00:00Z", "2")];
        assert_eq!(standing_at(&tied, utc("2026-04-01T11:00:00Z")).map(|s| s.commit), Some(dec("2")));
        assert_eq!(latest(&tied).map(|s| s.commit), Some(dec("2")), "ties: the later in the slice");
    }

    #[test]
    fn accuracy_bias_and_error() {
        let under = accuracy(Some(dec("90")), dec("100"));
        assert_eq!(
            under,
            AccuracyPoint {
                forecast: Some(dec("90")),
                actual: dec("100"),
                accuracy: Some(dec("0.9")),
                bias: Some(dec("-10")),
                abs_pct_error: Some(dec("0.1")),
            }
        );
        let over = accuracy(Some(dec("120.00")), dec("100.00"));
        assert_eq!(
            (over.accuracy, over.bias, over.abs_pct_error),
            (Some(dec("0.8")), Some(dec("20")), Some(dec("0.2")))
        );
        assert!(over.bias.is_some_and(|b| b.is_sign_positive()), "over-forecast is positive bias");
        assert!(under.bias.is_some_and(|b| b.is_sign_negative()), "under-forecast is negative bias");
        let wild = accuracy(Some(dec("350.00")), dec("100.00"));
        assert_eq!((wild.accuracy, wild.abs_pct_error), (Some(dec("-1.5")), Some(dec("2.5"))));
        let zero = accuracy(Some(dec("50.00")), dec("0"));
        assert_eq!((zero.accuracy, zero.bias, zero.abs_pct_error), (None, Some(dec("50.00")), None), "actual 0");
        let none = accuracy(None, dec("100.00"));
        assert_eq!((none.accuracy, none.bias, none.abs_pct_error), (None, None, None), "no forecast");
        assert_eq!(none.actual, dec("100.00"));
        // 200 ÷ 300 = 0.6666…
        let third = accuracy(Some(dec("100.00")), dec("300.00"));
        assert_eq!((third.accuracy, third.abs_pct_error), (Some(dec("0.3333")), Some(dec("0.6667"))));
        // 0.01 ÷ 200 = 0.00005 → 0.0000 and 0.03 ÷ 200 = 0.00015 → 0.0002 (half-even).
        assert_eq!(accuracy(Some(dec("200.01")), dec("200.00")).abs_pct_error, Some(dec("0.0000")));
        assert_eq!(accuracy(Some(dec("199.97")), dec("200.00")).abs_pct_error, Some(dec("0.0002")));
        assert_eq!(accuracy(Some(dec("199.97")), dec("200.00")).accuracy, Some(dec("0.9998")));
        assert_eq!(accuracy(Some(dec("100")), dec("100")).accuracy, Some(dec("1")));
    }

    #[test]
    fn mape_over_the_last_four_points_with_an_error() {
        let actual = dec("100.00");
        let points: Vec<AccuracyPoint> = [Some("150"), Some("60"), None, Some("110"), Some("80"), Some("130")]
            .into_iter()
            .map(|f| accuracy(f.map(dec), actual))
            .collect();
        // Errors oldest first: 0.5, 0.4, none, 0.1, 0.2, 0.3 → the last four: 0.4, 0.1, 0.2, 0.3.
        assert_eq!(mape(&points), Some(dec("0.25")));
        let mut with_zero = points.clone();
        with_zero.push(accuracy(Some(dec("10")), dec("0")));
        assert_eq!(mape(&with_zero), Some(dec("0.25")), "an actual of 0 has no error and is skipped");
        // Fewer than four: the mean of those there are; 1.0000 ÷ 3 → 0.3333.
        let thirds = [accuracy(Some(dec("100.00")), dec("300.00")), accuracy(Some(dec("100.00")), dec("300.00"))];
        assert_eq!(mape(&thirds), Some(dec("0.6667")));
        let uneven = [
            AccuracyPoint { abs_pct_error: Some(dec("0.3333")), ..accuracy(None, actual) },
            AccuracyPoint { abs_pct_error: Some(dec("0.3333")), ..accuracy(None, actual) },
            AccuracyPoint { abs_pct_error: Some(dec("0.3334")), ..accuracy(None, actual) },
        ];
        assert_eq!(mape(&uneven), Some(dec("0.3333")));
        assert_eq!(mape(&[]), None);
        assert_eq!(mape(&[accuracy(None, actual), accuracy(Some(actual), dec("0"))]), None);
    }

    #[test]
    fn cutoff_instants() {
        let q1 = period_containing(PeriodGrain::Quarter, date(2026, 2, 10), AMS, 1);
        assert_eq!(q1.start, utc("2025-12-31T23:00:00Z"));
        assert_eq!(cutoff_instant(&q1, Cutoff::PeriodStartPlusDays(14)), utc("2026-01-14T23:00:00Z"));
        assert_eq!(cutoff_instant(&q1, Cutoff::PeriodStartPlusDays(0)), q1.start);
        assert_eq!(cutoff_instant(&q1, Cutoff::PeriodEnd), utc("2026-03-31T22:00:00Z"));
        assert_eq!(cutoff_instant(&q1, Cutoff::PeriodStartPlusDays(100)), q1.end, "clamped to the end");
        assert_eq!(cutoff_instant(&q1, Cutoff::PeriodStartPlusDays(u32::MAX)), q1.end);
        // March 2026 in Amsterdam: clocks go forward on the 29th.
        let march = period_containing(PeriodGrain::Month, date(2026, 3, 10), AMS, 1);
        assert_eq!(cutoff_instant(&march, Cutoff::PeriodStartPlusDays(30)), utc("2026-03-30T23:00:00Z"));
        assert_eq!(local_cutoff_instant(&march, Cutoff::PeriodStartPlusDays(30), AMS), utc("2026-03-30T22:00:00Z"));
        assert_eq!(local_cutoff_instant(&q1, Cutoff::PeriodStartPlusDays(14), AMS), utc("2026-01-14T23:00:00Z"));
        assert_eq!(local_cutoff_instant(&march, Cutoff::PeriodStartPlusDays(31), AMS), march.end);
        assert_eq!(local_cutoff_instant(&march, Cutoff::PeriodStartPlusDays(u32::MAX), AMS), march.end);
        assert_eq!(local_cutoff_instant(&march, Cutoff::PeriodEnd, AMS), march.end);
    }

    #[test]
    fn closed_quarters_with_an_april_fiscal_year() {
        // Fiscal year from April: 2026-05-10 lies in Apr-Jun 2026.
        let quarters = closed_periods(ForecastGrain::Quarter, date(2026, 5, 10), 4, AMS, 4);
        let spans: Vec<(NaiveDate, NaiveDate)> = quarters.iter().map(|p| (p.start_date, p.end_date)).collect();
        assert_eq!(
            spans,
            [
                (date(2025, 4, 1), date(2025, 7, 1)),
                (date(2025, 7, 1), date(2025, 10, 1)),
                (date(2025, 10, 1), date(2026, 1, 1)),
                (date(2026, 1, 1), date(2026, 4, 1)),
            ]
        );
        assert_eq!(quarters[0].start, utc("2025-03-31T22:00:00Z"), "local midnight, summer time");
        assert_eq!(quarters[3].start, utc("2025-12-31T23:00:00Z"), "local midnight, winter time");
        assert_eq!(quarters[3].end, utc("2026-03-31T22:00:00Z"));
        assert!(quarters.iter().all(|p| p.grain == Some(PeriodGrain::Quarter)));
        // In Jan-Mar 2026 (the fiscal year's last quarter) the two before it, back across the year boundary.
        let two = closed_periods(ForecastGrain::Quarter, date(2026, 1, 15), 2, AMS, 4);
        let starts: Vec<NaiveDate> = two.iter().map(|p| p.start_date).collect();
        assert_eq!(starts, [date(2025, 7, 1), date(2025, 10, 1)]);
        assert!(closed_periods(ForecastGrain::Quarter, date(2026, 1, 15), 0, AMS, 4).is_empty());
        let many = closed_periods(ForecastGrain::Quarter, date(2026, 1, 15), 50, AMS, 4);
        assert_eq!(many.len(), MAX_CLOSED_PERIODS);
        assert_eq!(many[0].start_date, date(2023, 1, 1));
        assert_eq!(many[11].end_date, date(2026, 1, 1));
        let months = closed_periods(ForecastGrain::Month, date(2026, 2, 3), 3, AMS, 4);
        let starts: Vec<NaiveDate> = months.iter().map(|p| p.start_date).collect();
        assert_eq!(starts, [date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1)]);
    }

    #[test]
    fn actuals_and_the_system_forecast_at_a_cutoff() {
        let q = period_containing(PeriodGrain::Quarter, date(2026, 2, 10), AMS, 1);
        let at = q.start + chrono::Duration::days(14);
        let deal =
            |amount: i64, probability: i32, won: bool, created: i64, closed: Option<i64>, omitted: bool| DealHistory {
                amount: Decimal::from(amount),
                probability,
                omitted,
                won,
                created_at: q.start + chrono::Duration::days(created),
                closed_at: closed.map(|d| q.start + chrono::Duration::days(d)),
                expected_close: Some(date(2026, 3, 1)),
            };
        let deals = vec![
            deal(1000, 100, true, -30, Some(5), false),  // won before the cut-off
            deal(2000, 100, true, -30, Some(40), false), // won after it: open then, 100 % today
            deal(4000, 25, false, -10, None, false),     // open: 25 %
            deal(8000, 50, false, 20, None, false),      // created after the cut-off
            deal(16000, 50, false, -10, None, true),     // omitted
            deal(500, 0, false, -10, Some(3), false),    // lost before the cut-off
        ];
        assert_eq!(closed_won(&deals, &q), Decimal::from(3000));
        // 1000 won + 2000 × 100 % + 4000 × 25 %.
        assert_eq!(system_forecast_at(&deals, &q, at), Decimal::new(400000, 2));
    }
}
