//! The plain facts KPIs are computed from: the time window, deals and activity totals of a subject.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::core::period::Period;

// ---------------------------------------------------------------------------------------------
// Facts
// ---------------------------------------------------------------------------------------------

/// Activity-type key: the activity counts as calls (call-to-appointment denominator).
pub const ACTIVITY_KEY_CALLS: &str = "calls";
/// Activity-type key: the activity counts as appointments (call-to-appointment numerator).
pub const ACTIVITY_KEY_APPOINTMENTS: &str = "appointments";
/// Activity-type key: the activity counts as quotes sent (quote-to-customer denominator).
pub const ACTIVITY_KEY_QUOTES_SENT: &str = "quotes_sent";
/// Every key an activity type may carry to feed the built-in KPIs.
pub const ACTIVITY_KPI_KEYS: [&str; 3] = [ACTIVITY_KEY_CALLS, ACTIVITY_KEY_APPOINTMENTS, ACTIVITY_KEY_QUOTES_SENT];

/// The half-open time window `[start, end)` a value is computed over.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    /// First instant (inclusive).
    pub start: DateTime<Utc>,
    /// End instant (exclusive).
    pub end: DateTime<Utc>,
}

impl Window {
    /// The window `[start, end)`.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Window { start, end }
    }

    /// Whether `at` lies in the window.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && at < self.end
    }

    /// Whether `at` is set and lies in the window.
    pub fn contains_opt(&self, at: Option<DateTime<Utc>>) -> bool {
        at.is_some_and(|t| self.contains(t))
    }
}

impl From<Period> for Window {
    fn from(p: Period) -> Self {
        Window { start: p.start, end: p.end }
    }
}

/// Whether and how a deal has closed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum DealClose {
    /// Still open (or reopened).
    Open,
    /// Won at this instant.
    Won(DateTime<Utc>),
    /// Lost at this instant.
    Lost(DateTime<Utc>),
}

/// What the KPIs need to know about one deal. The store passes the deals owned by the subject
/// (a superset is fine: every rule filters by its own timestamp).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DealFacts {
    /// The deal's amount in the organization's currency.
    pub amount: Decimal,
    /// When the deal record was created (stands in for a missing `lead_created_at`).
    pub created_at: DateTime<Utc>,
    /// When the lead came in.
    pub lead_created_at: Option<DateTime<Utc>>,
    /// When the rep first contacted the lead.
    pub first_contact_at: Option<DateTime<Utc>>,
    /// When the deal first reached the qualified stage or any stage after it (from the stage
    /// history; a deal that skipped the stage counts from the move that passed it).
    pub qualified_at: Option<DateTime<Utc>>,
    /// When the deal first reached the proposal stage or any stage after it.
    pub proposal_at: Option<DateTime<Utc>>,
    /// Whether a quote (*offerte*) was sent for the deal: a `quotes_sent` activity is linked to
    /// it, or it reached the proposal stage.
    pub quoted: bool,
    /// Whether and when it closed.
    pub close: DealClose,
}

impl DealFacts {
    /// When the lead came in: `lead_created_at`, else the record's creation.
    pub fn lead_at(&self) -> DateTime<Utc> {
        self.lead_created_at.unwrap_or(self.created_at)
    }

    /// When it was won, if it was.
    pub fn won_at(&self) -> Option<DateTime<Utc>> {
        match self.close {
            DealClose::Won(at) => Some(at),
            _ => None,
        }
    }

    /// When it was lost, if it was.
    pub fn lost_at(&self) -> Option<DateTime<Utc>> {
        match self.close {
            DealClose::Lost(at) => Some(at),
            _ => None,
        }
    }

    /// Whether it was open at instant `at`: its lead had come in before `at` and it had not
    /// closed before `at` (a deal closing exactly at `at` was still open until then).
    pub fn is_open_at(&self, at: DateTime<Utc>) -> bool {
        let closed_at = match self.close {
            DealClose::Open => None,
            DealClose::Won(t) | DealClose::Lost(t) => Some(t),
        };
        self.lead_at() < at && closed_at.is_none_or(|t| t >= at)
    }
}

/// The activities of one activity type logged by the subject in the window (voids excluded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivityTotal {
    /// The activity type.
    pub activity_type_id: Uuid,
    /// The type's KPI key, if it feeds a built-in (one of [`ACTIVITY_KPI_KEYS`]).
    pub kpi_key: Option<String>,
    /// Units logged: the sum of the activities' quantities (a PROGRESS activity counts 1).
    pub units: Decimal,
    /// Points awarded.
    pub points: Decimal,
}

/// The facts of one subject (a member, or several pooled) for computing KPIs over a window.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubjectFacts {
    /// The subject's deals (a superset is fine).
    pub deals: Vec<DealFacts>,
    /// Activity totals per type, for the window only.
    pub activities: Vec<ActivityTotal>,
    /// Number of reps the subject stands for: 1 for a member.
    pub rep_count: u32,
}

impl SubjectFacts {
    /// Units logged for activity types carrying `kpi_key`.
    pub fn activity_units(&self, kpi_key: &str) -> Decimal {
        sum_decimals(self.activities.iter().filter(|a| a.kpi_key.as_deref() == Some(kpi_key)).map(|a| a.units))
    }

    /// The facts of several subjects together (a team from its members): deals and activities
    /// concatenated, reps added up.
    pub fn merge<'a>(parts: impl IntoIterator<Item = &'a SubjectFacts>) -> SubjectFacts {
        let mut merged = SubjectFacts::default();
        for part in parts {
            merged.deals.extend(part.deals.iter().cloned());
            merged.activities.extend(part.activities.iter().cloned());
            merged.rep_count = merged.rep_count.saturating_add(part.rep_count);
        }
        merged
    }
}

pub(super) fn sum_decimals(values: impl IntoIterator<Item = Decimal>) -> Decimal {
    values.into_iter().fold(Decimal::ZERO, Decimal::saturating_add)
}

#[cfg(test)]
mod tests {
    use super::*;

    use chrono::NaiveDate;

    fn date(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    fn t(s: &str) -> DateTime<Utc> {
        let full = if s.len() == 10 { format!("{s}T00:00:00Z") } else { format!("{s}:00Z") };
        DateTime::parse_from_rfc3339(&full).expect("rfc3339").with_timezone(&Utc)
    }

    fn week_of_2026_03_02() -> Window {
        Window::new(t("2026-03-02"), t("2026-03-09"))
    }

    #[test]
    fn windows_are_half_open_and_come_from_periods() {
        let w = week_of_2026_03_02();
        assert!(w.contains(t("2026-03-02")));
        assert!(w.contains(t("2026-03-08T23:59")));
        assert!(!w.contains(t("2026-03-09")));
        assert!(!w.contains_opt(None));
        let period = crate::core::period::period_containing(
            crate::core::period::PeriodGrain::Week,
            date(2026, 3, 4),
            chrono_tz::Europe::Amsterdam,
            1,
        );
        let from_period = Window::from(period);
        // Amsterdam is UTC+1 in early March.
        assert_eq!(from_period, Window::new(t("2026-03-01T23:00"), t("2026-03-08T23:00")));
    }
}
