//! Which way a KPI's weekly values moved over recent weeks.

use async_graphql::Enum;
use rust_decimal::Decimal;

use super::{KpiDirection, sum_decimals};

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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::kpi::model::KpiDirection;

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal")
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
}
