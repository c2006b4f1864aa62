//! The target book: which weekly points target applies to a member on a date. Pure rules
//! over the stored history, so a target change never rewrites the past.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::core::roles::SalesRole;

/// One recorded target.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetEntry {
    /// Default for this sales role…
    pub sales_role: Option<SalesRole>,
    /// …or override for this member.
    pub member_id: Option<Uuid>,
    /// Weekly points.
    pub weekly_points: Decimal,
    /// Applies from this date on.
    pub effective_from: NaiveDate,
}

/// All targets of an organization, in recording order.
#[derive(Debug, Clone, Default)]
pub struct TargetBook {
    entries: Vec<TargetEntry>,
}

impl TargetBook {
    /// A book from entries in recording order (later entries win on equal dates).
    pub fn new(entries: Vec<TargetEntry>) -> Self {
        TargetBook { entries }
    }

    /// The weekly target of a member on a date: their latest override in effect, else the
    /// latest default for their sales role in effect, else none.
    pub fn weekly_target(&self, member: Uuid, sales_role: SalesRole, on: NaiveDate) -> Option<Decimal> {
        let latest = |matches: &dyn Fn(&TargetEntry) -> bool| {
            self.entries
                .iter()
                .enumerate()
                .filter(|(_, e)| e.effective_from <= on && matches(e))
                .max_by_key(|(i, e)| (e.effective_from, *i))
                .map(|(_, e)| e.weekly_points)
        };
        latest(&|e| e.member_id == Some(member))
            .or_else(|| latest(&|e| e.member_id.is_none() && e.sales_role == Some(sales_role)))
    }
}

/// A weekly target scaled to a period of `days` days (a day is a seventh of a week).
pub fn scale_weekly(weekly: Decimal, days: i64) -> Decimal {
    (weekly * Decimal::from(days) / Decimal::from(7)).round_dp(2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros_free::dec;

    mod rust_decimal_macros_free {
        /// `dec("1.5")` without the macro crate.
        pub fn dec(s: &str) -> rust_decimal::Decimal {
            s.parse().expect("decimal")
        }
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    #[test]
    fn member_override_beats_role_default_and_history_is_kept() {
        let rep = Uuid::from_u128(1);
        let other = Uuid::from_u128(2);
        let book = TargetBook::new(vec![
            TargetEntry {
                sales_role: Some(SalesRole::Outbound),
                member_id: None,
                weekly_points: dec("20"),
                effective_from: d(2026, 1, 1),
            },
            TargetEntry {
                sales_role: Some(SalesRole::Outbound),
                member_id: None,
                weekly_points: dec("25"),
                effective_from: d(2026, 6, 1),
            },
            TargetEntry {
                sales_role: None,
                member_id: Some(rep),
                weekly_points: dec("12.5"),
                effective_from: d(2026, 3, 2),
            },
            TargetEntry {
                sales_role: None,
                member_id: Some(rep),
                weekly_points: dec("15"),
                effective_from: d(2026, 3, 2),
            },
        ]);
        assert_eq!(book.weekly_target(rep, SalesRole::Outbound, d(2025, 12, 31)), None);
        assert_eq!(book.weekly_target(rep, SalesRole::Outbound, d(2026, 2, 1)), Some(dec("20")));
        // Two entries on one date: the later recording wins.
        assert_eq!(book.weekly_target(rep, SalesRole::Outbound, d(2026, 3, 2)), Some(dec("15")));
        assert_eq!(book.weekly_target(rep, SalesRole::Outbound, d(2026, 7, 1)), Some(dec("15")));
        assert_eq!(book.weekly_target(other, SalesRole::Outbound, d(2026, 7, 1)), Some(dec("25")));
        assert_eq!(book.weekly_target(other, SalesRole::Closer, d(2026, 7, 1)), None);
    }

    #[test]
    fn scaling() {
        assert_eq!(scale_weekly(dec("21"), 7), dec("21"));
        assert_eq!(scale_weekly(dec("21"), 1), dec("3"));
        assert_eq!(scale_weekly(dec("20"), 30), dec("85.71"));
        assert_eq!(scale_weekly(dec("0"), 30), dec("0"));
    }
}
