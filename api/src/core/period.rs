//! Reporting periods in an organization's time zone: days, ISO weeks, months, fiscal quarters
//! and years, custom windows, and how much of one has passed.

use async_graphql::Enum;
use chrono::{DateTime, Datelike, LocalResult, Months, NaiveDate, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

/// The length of a reporting period, computed in the organization's time zone.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PeriodGrain {
    /// A calendar day, from local midnight to local midnight.
    Day,
    /// An ISO week, Monday to Monday.
    Week,
    /// A calendar month.
    Month,
    /// A fiscal quarter: three months counted from the fiscal year's start month.
    Quarter,
    /// A fiscal year, starting on the 1st of the organization's fiscal year start month.
    Year,
}

impl PeriodGrain {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodGrain::Day => "DAY",
            PeriodGrain::Week => "WEEK",
            PeriodGrain::Month => "MONTH",
            PeriodGrain::Quarter => "QUARTER",
            PeriodGrain::Year => "YEAR",
        }
    }

    /// Parses the stored form; unknown values are `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "DAY" => PeriodGrain::Day,
            "WEEK" => PeriodGrain::Week,
            "MONTH" => PeriodGrain::Month,
            "QUARTER" => PeriodGrain::Quarter,
            "YEAR" => PeriodGrain::Year,
            _ => return None,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Periods
// ---------------------------------------------------------------------------------------------

/// A period in the organization's time zone: `[start, end)` in UTC plus the local dates
/// `[start_date, end_date)` it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// The grain of a calendar period; `None` for a custom window (a campaign's).
    pub grain: Option<PeriodGrain>,
    /// First instant (inclusive).
    pub start: DateTime<Utc>,
    /// End instant (exclusive).
    pub end: DateTime<Utc>,
    /// First local date (inclusive).
    pub start_date: NaiveDate,
    /// End local date (exclusive).
    pub end_date: NaiveDate,
}

/// The local calendar date of an instant in `tz`.
pub fn local_date(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    local_time(at, tz).date()
}

/// The local wall-clock time of an instant in `tz`; saturates at the ends of chrono's range
/// (where `DateTime::naive_local` would panic).
fn local_time(at: DateTime<Utc>, tz: Tz) -> NaiveDateTime {
    let utc = at.naive_utc();
    let offset = tz.offset_from_utc_datetime(&utc).fix();
    utc.checked_add_offset(offset).unwrap_or(if offset.local_minus_utc() < 0 {
        NaiveDateTime::MIN
    } else {
        NaiveDateTime::MAX
    })
}

/// Local midnight of `date` in `tz`, as UTC. When midnight repeats (clocks turned back) the
/// first one; when it does not exist (clocks turned forward at midnight, e.g. America/Santiago
/// in September) the first instant after it, i.e. the moment of the transition.
pub fn start_of_day(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = date.and_time(chrono::NaiveTime::MIN);
    match tz.from_local_datetime(&midnight) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(earliest, _) => earliest.with_timezone(&Utc),
        LocalResult::None => first_instant_at_or_after(midnight, tz),
    }
}

/// The earliest instant whose local time in `tz` is at or after `local`, for a `local` in a
/// gap. Local time rises with UTC across a gap, so a binary search over whole seconds finds the
/// transition (zone offsets and transitions are whole seconds). Offsets lie within ±15 hours and
/// a gap lasts at most a day (Pacific/Apia skipped 2011-12-30), so ±48 hours brackets it.
fn first_instant_at_or_after(local: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    let reaches = |secs: i64| DateTime::<Utc>::from_timestamp(secs, 0).is_some_and(|t| local_time(t, tz) >= local);
    let guess = local.and_utc().timestamp();
    let (mut lo, mut hi) = (guess.saturating_sub(48 * 3600), guess.saturating_add(48 * 3600));
    // Invariant: !reaches(lo), reaches(hi).
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if reaches(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    DateTime::<Utc>::from_timestamp(hi, 0).unwrap_or_else(|| local.and_utc())
}

pub(crate) fn next_day(date: NaiveDate) -> NaiveDate {
    date.succ_opt().unwrap_or(NaiveDate::MAX)
}

pub(crate) fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(Months::new(months)).unwrap_or(NaiveDate::MAX)
}

fn first_of_month(year: i32, month: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(if year < 0 { NaiveDate::MIN } else { NaiveDate::MAX })
}

fn dates_period(grain: Option<PeriodGrain>, start_date: NaiveDate, end_date: NaiveDate, tz: Tz) -> Period {
    Period { grain, start: start_of_day(start_date, tz), end: start_of_day(end_date, tz), start_date, end_date }
}

/// The period of `grain` containing `date`: DAY; WEEK Monday to Monday (ISO); MONTH a calendar
/// month; QUARTER and YEAR aligned to the fiscal year, which starts on the 1st of
/// `fiscal_year_start_month` (1..=12, out-of-range values are clamped); quarters are three-month
/// blocks from that month (start month 4: Apr-Jun, Jul-Sep, Oct-Dec, Jan-Mar).
pub fn period_containing(grain: PeriodGrain, date: NaiveDate, tz: Tz, fiscal_year_start_month: u32) -> Period {
    let fiscal_month0 = fiscal_year_start_month.clamp(1, 12) - 1;
    let (start_date, end_date) = match grain {
        PeriodGrain::Day => (date, next_day(date)),
        PeriodGrain::Week => {
            let monday = date
                .checked_sub_signed(TimeDelta::days(i64::from(date.weekday().num_days_from_monday())))
                .unwrap_or(NaiveDate::MIN);
            (monday, monday.checked_add_signed(TimeDelta::days(7)).unwrap_or(NaiveDate::MAX))
        }
        PeriodGrain::Month => {
            let start = first_of_month(date.year(), date.month());
            (start, add_months(start, 1))
        }
        PeriodGrain::Quarter | PeriodGrain::Year => {
            let months_into_year = (date.month0() + 12 - fiscal_month0) % 12;
            let (months_back, length) = match grain {
                PeriodGrain::Quarter => (months_into_year % 3, 3),
                _ => (months_into_year, 12),
            };
            // Step back whole months to the block's first month, possibly into the previous year.
            let start_month0 = (date.month0() + 12 - months_back) % 12;
            let year = if start_month0 > date.month0() { date.year() - 1 } else { date.year() };
            let start = first_of_month(year, start_month0 + 1);
            (start, add_months(start, length))
        }
    };
    dates_period(Some(grain), start_date, end_date, tz)
}

/// A window with explicit instants (a campaign's): `grain` is `None`. The local dates cover
/// every day the window touches: `end_date` is the day after the window's last instant (the end
/// date itself when the window ends at local midnight). An `end` before `start` is taken as `start`.
pub fn custom_period(start: DateTime<Utc>, end: DateTime<Utc>, tz: Tz) -> Period {
    let end = end.max(start);
    let start_date = local_date(start, tz);
    let end_day = local_date(end, tz);
    let end_date =
        if end == start_of_day(end_day, tz) || end == start { end_day.max(start_date) } else { next_day(end_day) };
    Period { grain: None, start, end, start_date, end_date }
}

/// The period of the same grain just before `p`; `None` for a custom window.
pub fn previous_period(p: &Period, tz: Tz, fiscal_year_start_month: u32) -> Option<Period> {
    let grain = p.grain?;
    let day_before = p.start_date.pred_opt()?;
    Some(period_containing(grain, day_before, tz, fiscal_year_start_month))
}

/// The share of `p` elapsed at `now`, by real duration (a week with a DST change lasts 167 or
/// 169 hours), clamped to `0..=1`.
pub fn elapsed_share(p: &Period, now: DateTime<Utc>) -> f64 {
    let total = (p.end - p.start).num_milliseconds();
    if total <= 0 {
        return if now >= p.end { 1.0 } else { 0.0 };
    }
    let elapsed = (now - p.start).num_milliseconds();
    (elapsed as f64 / total as f64).clamp(0.0, 1.0)
}
