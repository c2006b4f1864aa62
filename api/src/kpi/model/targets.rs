//! Weeks and targets: ISO week starts, whole weeks in a period, and a weekly target scaled to a
//! longer period.

use chrono::{Datelike, NaiveDate, TimeDelta};
use rust_decimal::Decimal;

use super::{TargetScaling, sum_decimals};

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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::kpi::model::{BuiltInKpi, TargetScaling};

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    fn date(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
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
}
