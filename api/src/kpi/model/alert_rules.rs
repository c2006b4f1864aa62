//! The pattern alerts: below-target streaks and declining ratios over a member's closed weeks, and
//! the rule inputs they accept.

use async_graphql::Enum;
use chrono::{NaiveDate, TimeDelta};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::{KpiDirection, KpiShape, KpiStatus, KpiUnit, status};
use crate::core::field::FieldError;

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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::kpi::model::{BuiltInKpi, KpiDirection, KpiKind, KpiShape, KpiUnit};

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn date(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
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
}
