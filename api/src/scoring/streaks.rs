//! Streaks: consecutive complete weeks on target, counted back from last week, from the
//! members' points per local day (`activity_day_totals`). One member's streak is one read of
//! their days; an organization's streaks are one read of everyone's.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use entity::member;

use super::model::{self, Period};
use super::targets::TargetBook;
use super::{cents_to_decimal, store};
use crate::core::error::AppResult;
use crate::core::roles::SalesRole;
use crate::core::settings::OrgSettings;
use crate::org::store::{self as org_store, MemberFilter};

/// Weekly points of a member for the complete weeks before `current`, newest first, only
/// weeks that started on or after the member's start date, at most `weeks`, from their points
/// per local day (days before `current` and at most `weeks` weeks back; any order).
pub(crate) fn past_weeks(
    s: &OrgSettings,
    m: &member::Model,
    current: &Period,
    weeks: i64,
    mut daily: Vec<(NaiveDate, i64)>,
) -> Vec<(Period, Decimal)> {
    let from = current.start_date - Duration::weeks(weeks);
    daily.sort_unstable_by_key(|(day, _)| std::cmp::Reverse(*day));
    let mut days = daily.iter().peekable();
    let mut out = Vec::new();
    let mut week = model::previous_period(current, s.tz, s.fiscal_year_start_month);
    while let Some(w) = week {
        if w.start_date < from || w.end_date <= m.start_date {
            break;
        }
        let mut cents = 0i64;
        while let Some((day, c)) = days.peek() {
            if *day < w.start_date {
                break;
            }
            if *day < w.end_date {
                cents += c;
            }
            days.next();
        }
        out.push((w, cents_to_decimal(cents)));
        week = model::previous_period(&w, s.tz, s.fiscal_year_start_month);
    }
    out
}

/// A member's streak before `this_week`: consecutive complete weeks on target, newest first,
/// looking back at most `weeks` weeks (one read of their day totals).
pub(crate) async fn streak_of(
    s: &OrgSettings,
    db: &impl ConnectionTrait,
    m: &member::Model,
    book: &TargetBook,
    this_week: &Period,
    weeks: i64,
) -> AppResult<u32> {
    let from = this_week.start_date - Duration::weeks(weeks);
    let daily = store::member_daily_points(s.org, db, m.id, from, this_week.start_date).await?;
    Ok(streak_from(s, m, book, this_week, weeks, daily))
}

/// The streaks before `this_week` of the organization's active members, from one read of
/// their day totals over the weeks looked at.
pub(crate) async fn streaks_of_all(
    s: &OrgSettings,
    db: &impl ConnectionTrait,
    book: &TargetBook,
    this_week: &Period,
    weeks: i64,
) -> AppResult<HashMap<Uuid, u32>> {
    let members = org_store::all_members(s.org, db, &MemberFilter { active: Some(true), ..Default::default() }).await?;
    let from = this_week.start_date - Duration::weeks(weeks);
    let rows = store::daily_points_of_all(s.org, db, from, this_week.start_date).await?;
    let mut daily: HashMap<Uuid, Vec<(NaiveDate, i64)>> = HashMap::with_capacity(members.len());
    for (member, day, cents) in rows {
        daily.entry(member).or_default().push((day, cents));
    }
    Ok(members
        .iter()
        .map(|m| (m.id, streak_from(s, m, book, this_week, weeks, daily.remove(&m.id).unwrap_or_default())))
        .collect())
}

/// A member's streak before `this_week` from their points per local day.
fn streak_from(
    s: &OrgSettings,
    m: &member::Model,
    book: &TargetBook,
    this_week: &Period,
    weeks: i64,
    daily: Vec<(NaiveDate, i64)>,
) -> u32 {
    let role = SalesRole::parse(&m.sales_role);
    let weeks: Vec<(Decimal, Option<Decimal>)> = past_weeks(s, m, this_week, weeks, daily)
        .iter()
        .map(|(w, points)| (*points, role.and_then(|r| book.weekly_target(m.id, r, w.start_date))))
        .collect();
    model::streak_weeks(&weeks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ids::OrgId;
    use crate::scoring::model::PeriodGrain;
    use crate::scoring::targets::TargetEntry;
    use chrono::Utc;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a date")
    }

    fn settings() -> OrgSettings {
        OrgSettings {
            org: OrgId(Uuid::from_u128(1)),
            tz: chrono_tz::Europe::Amsterdam,
            fiscal_year_start_month: 1,
            open_window_days: 30,
        }
    }

    fn rep(start: NaiveDate) -> member::Model {
        let now = Utc::now();
        member::Model {
            id: Uuid::from_u128(7),
            organization_id: Uuid::from_u128(1),
            team_id: None,
            name: "Rep".into(),
            email: "rep@example.test".into(),
            password_hash: None,
            role: "REP".into(),
            sales_role: "INBOUND".into(),
            start_date: start,
            active: true,
            deactivated_at: None,
            ramp_percents: None,
            avatar_url: None,
            external_subject: None,
            locale: None,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    /// The week of Wednesday 2026-03-18: Monday 16 March to Monday 23 March.
    fn this_week() -> Period {
        let s = settings();
        model::period_containing(PeriodGrain::Week, day(2026, 3, 18), s.tz, s.fiscal_year_start_month)
    }

    fn book(points: i64) -> TargetBook {
        TargetBook::new(vec![TargetEntry {
            sales_role: Some(SalesRole::Inbound),
            member_id: None,
            weekly_points: Decimal::from(points),
            effective_from: day(2025, 1, 1),
        }])
    }

    #[test]
    fn days_fall_into_their_week_newest_first_in_any_order() {
        let s = settings();
        let weeks = past_weeks(
            &s,
            &rep(day(2025, 1, 1)),
            &this_week(),
            3,
            // Cents per day, out of order: Monday 9 March opens last week and Sunday 15 March
            // closes it, Tuesday 3 March is the week before, Sunday 1 March three weeks back.
            vec![(day(2026, 3, 9), 100), (day(2026, 3, 15), 250), (day(2026, 3, 1), 700), (day(2026, 3, 3), 50)],
        );
        let got: Vec<(NaiveDate, Decimal)> = weeks.iter().map(|(w, p)| (w.start_date, *p)).collect();
        assert_eq!(
            got,
            vec![
                (day(2026, 3, 9), Decimal::new(350, 2)),
                (day(2026, 3, 2), Decimal::new(50, 2)),
                (day(2026, 2, 23), Decimal::new(700, 2)),
            ]
        );
    }

    #[test]
    fn weeks_stop_at_the_start_date_and_the_look_back() {
        let s = settings();
        // Started on Wednesday 4 March: the week of 2 March counts (it ends after the start),
        // the week of 23 February does not.
        let weeks = past_weeks(&s, &rep(day(2026, 3, 4)), &this_week(), 52, Vec::new());
        assert_eq!(weeks.iter().map(|(w, _)| w.start_date).collect::<Vec<_>>(), vec![day(2026, 3, 9), day(2026, 3, 2)]);
        // Started on the Monday this week begins: no complete week yet.
        assert!(past_weeks(&s, &rep(day(2026, 3, 16)), &this_week(), 52, Vec::new()).is_empty());
        // At most as many weeks as asked, and none when none are.
        assert_eq!(past_weeks(&s, &rep(day(2020, 1, 1)), &this_week(), 5, Vec::new()).len(), 5);
        assert!(past_weeks(&s, &rep(day(2020, 1, 1)), &this_week(), 0, Vec::new()).is_empty());
    }

    #[test]
    fn a_streak_counts_weeks_on_target_back_from_last_week() {
        let s = settings();
        let m = rep(day(2025, 1, 1));
        // 5 points in each of the last two weeks, 3 in the one before.
        let daily =
            || vec![(day(2026, 3, 12), 500), (day(2026, 3, 3), 300), (day(2026, 3, 4), 200), (day(2026, 2, 24), 300)];
        assert_eq!(streak_from(&s, &m, &book(5), &this_week(), 52, daily()), 2);
        assert_eq!(streak_from(&s, &m, &book(3), &this_week(), 52, daily()), 3);
        assert_eq!(streak_from(&s, &m, &book(6), &this_week(), 52, daily()), 0);
        // Looking back one week only.
        assert_eq!(streak_from(&s, &m, &book(3), &this_week(), 1, daily()), 1);
        // Without a target there is no streak; an unknown sales role has none either.
        assert_eq!(streak_from(&s, &m, &TargetBook::default(), &this_week(), 52, daily()), 0);
        let odd = member::Model { sales_role: "UNKNOWN".into(), ..m.clone() };
        assert_eq!(streak_from(&s, &odd, &book(3), &this_week(), 52, daily()), 0);
        // Activities this week do not count toward the streak.
        assert_eq!(streak_from(&s, &m, &book(1), &this_week(), 52, vec![(day(2026, 3, 16), 900)]), 0);
    }
}
