//! Scoring rules: activity types and activities (points, progress steps), campaigns and their
//! multipliers, periods in the organization's time zone, points targets (attainment, pacing,
//! suggested target, streaks) and leaderboard ranking. Pure functions, no I/O.

use std::cmp::Ordering;

use async_graphql::Enum;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use uuid::Uuid;

use crate::core::field::FieldError;
pub use crate::core::period::*;

/// Whether an activity is something a rep does or something a rep achieves.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ActivityCategory {
    /// Something a rep does, e.g. a call made or an inspiration session offered.
    Action,
    /// Something a rep achieves, e.g. a quote accepted or a deal won.
    Result,
}

impl ActivityCategory {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityCategory::Action => "ACTION",
            ActivityCategory::Result => "RESULT",
        }
    }

    /// Parses the stored form; unknown values are `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ACTION" => ActivityCategory::Action,
            "RESULT" => ActivityCategory::Result,
            _ => return None,
        })
    }
}

/// How an activity type is measured and scored.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ActivityUnit {
    /// Counted in units (a quantity); each unit earns the type's points per unit.
    Count,
    /// Long-running work reported as cumulative percent complete; each completed step of the
    /// type's step size earns the type's points per step.
    Progress,
}

impl ActivityUnit {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityUnit::Count => "COUNT",
            ActivityUnit::Progress => "PROGRESS",
        }
    }

    /// Parses the stored form; unknown values are `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "COUNT" => ActivityUnit::Count,
            "PROGRESS" => ActivityUnit::Progress,
            _ => return None,
        })
    }
}

/// Where a campaign stands relative to now.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum CampaignStatus {
    /// Not started yet.
    Upcoming,
    /// Running: activities logged now get its multiplier.
    Running,
    /// Over, either because its window passed or because it was ended early.
    Ended,
}

impl CampaignStatus {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Upcoming => "UPCOMING",
            CampaignStatus::Running => "RUNNING",
            CampaignStatus::Ended => "ENDED",
        }
    }

    /// Parses the stored form; unknown values are `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "UPCOMING" => CampaignStatus::Upcoming,
            "RUNNING" => CampaignStatus::Running,
            "ENDED" => CampaignStatus::Ended,
            _ => return None,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Input validation
// ---------------------------------------------------------------------------------------------

/// Highest points per unit or per step an activity type may award.
pub const MAX_POINTS: i64 = 100_000;
/// Lowest campaign multiplier (a campaign never lowers points).
pub const MIN_MULTIPLIER: i64 = 1;
/// Highest campaign multiplier.
pub const MAX_MULTIPLIER: i64 = 10;
/// Highest quantity of one COUNT activity.
pub const MAX_QUANTITY: i32 = 10_000;
/// Longest activity note, in characters.
pub const MAX_NOTE_LEN: usize = 2000;
/// Longest idempotency key or work item key, in characters.
pub const MAX_KEY_LEN: usize = 200;
/// How far after the server's clock an activity may be dated (clients' clocks drift).
pub const FUTURE_TOLERANCE_MINUTES: i64 = 5;

/// Tolerance for binary floating-point noise (`0.1 + 0.2`) when checking decimal places.
const FLOAT_NOISE: f64 = 1e-9;

/// A float from the API as a decimal with at most 2 fractional digits within `min..=max`.
/// Float noise such as `0.30000000000000004` is accepted as `0.3`; `1.005` is rejected.
fn parse_hundredths(field: &str, value: f64, min: i64, max: i64) -> Result<Decimal, FieldError> {
    if !value.is_finite() {
        return Err(FieldError::new(field, "INVALID", "must be a finite number"));
    }
    let hundredths = (value * 100.0).round();
    // Range first: a huge value's decimal places are meaningless in f64.
    if hundredths < (min * 100) as f64 || hundredths > (max * 100) as f64 {
        return Err(FieldError::new(field, "OUT_OF_RANGE", format!("must be between {min} and {max}")));
    }
    if (value - hundredths / 100.0).abs() >= FLOAT_NOISE {
        return Err(FieldError::new(field, "INVALID", "must have at most 2 decimal places"));
    }
    // In range, so the cast is exact.
    Ok(Decimal::new(hundredths as i64, 2).normalize())
}

/// Points per unit (COUNT) or per step (PROGRESS): finite, `0..=MAX_POINTS`, at most 2 decimal
/// places. Returned normalized (`3`, not `3.00`).
pub fn parse_points(field: &str, value: f64) -> Result<Decimal, FieldError> {
    parse_hundredths(field, value, 0, MAX_POINTS)
}

/// A campaign multiplier: finite, `1..=10`, at most 2 decimal places.
pub fn parse_multiplier(value: f64) -> Result<Decimal, FieldError> {
    parse_hundredths("multiplier", value, MIN_MULTIPLIER, MAX_MULTIPLIER)
}

/// A PROGRESS type's step size in percent, `1..=100`.
pub fn parse_step_percent(value: i32) -> Result<i32, FieldError> {
    if (1..=100).contains(&value) {
        Ok(value)
    } else {
        Err(FieldError::new("stepPercent", "OUT_OF_RANGE", "must be between 1 and 100"))
    }
}

/// A COUNT activity's quantity, `1..=MAX_QUANTITY`.
pub fn check_quantity(quantity: i32) -> Result<i32, FieldError> {
    if (1..=MAX_QUANTITY).contains(&quantity) {
        Ok(quantity)
    } else {
        Err(FieldError::new("quantity", "OUT_OF_RANGE", format!("must be between 1 and {MAX_QUANTITY}")))
    }
}

/// Ceiling on the quantity of one activity a member logs for themself, where the activity
/// type sets none: a rep logging 10,000 units in one call is a typo or an inflated score.
pub const DEFAULT_SELF_QUANTITY_PER_ACTIVITY: i32 = 100;
/// Ceiling on the quantity a member logs for themself per activity type and local day, where
/// the activity type sets none.
pub const DEFAULT_SELF_QUANTITY_PER_DAY: i32 = 500;
/// Highest per-day ceiling an activity type may set.
pub const MAX_SELF_QUANTITY_PER_DAY: i32 = 1_000_000;

/// A self-logging ceiling set on an activity type: `1..=max`.
pub fn parse_self_ceiling(field: &str, value: i32, max: i32) -> Result<i32, FieldError> {
    if (1..=max).contains(&value) {
        Ok(value)
    } else {
        Err(FieldError::new(field, "OUT_OF_RANGE", format!("must be between 1 and {max}")))
    }
}

/// Checks the quantity of an activity a member logs for themself against the activity type's
/// ceilings (`None`: the defaults): at most `per_activity` in one activity, and at most
/// `per_day` together with `logged_today` (what they already logged themself of this type on
/// the activity's local day, voided activities not counted). The error, on `quantity` with
/// code `LIMIT_EXCEEDED`, says how much is still allowed.
pub fn check_self_quantity(
    quantity: i32,
    logged_today: i64,
    per_activity: Option<i32>,
    per_day: Option<i32>,
) -> Result<(), FieldError> {
    let per_activity = per_activity.unwrap_or(DEFAULT_SELF_QUANTITY_PER_ACTIVITY);
    let per_day = per_day.unwrap_or(DEFAULT_SELF_QUANTITY_PER_DAY);
    if quantity > per_activity {
        return Err(FieldError::new(
            "quantity",
            "LIMIT_EXCEEDED",
            format!("at most {per_activity} in one activity when you log for yourself"),
        ));
    }
    let left = (i64::from(per_day) - logged_today.max(0)).max(0);
    if i64::from(quantity) > left {
        return Err(FieldError::new(
            "quantity",
            "LIMIT_EXCEEDED",
            format!(
                "at most {per_day} a day of this activity type when you log for yourself; {left} left for that day"
            ),
        ));
    }
    Ok(())
}

/// What a `logActivity` request asked for, as stored with the activity or as sent again under
/// the same idempotency key. Text is compared trimmed (as it is stored), an absent quantity is
/// 1 (as it is logged), and an absent `occurred_at` on a retry means "now", which matches any
/// stored time (the first call's "now" is what was stored).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoggedRequest<'a> {
    /// Activity type.
    pub activity_type_id: Uuid,
    /// COUNT quantity.
    pub quantity: Option<i32>,
    /// PROGRESS percent.
    pub progress_percent: Option<i32>,
    /// PROGRESS work item.
    pub work_item_key: Option<&'a str>,
    /// When it happened.
    pub occurred_at: Option<DateTime<Utc>>,
    /// Note.
    pub note: Option<&'a str>,
    /// Deal.
    pub deal_id: Option<Uuid>,
}

/// Whether `retry` asks for what `stored` recorded, so that answering it with the stored
/// activity is a true replay. A different request under a used key is a client bug or an
/// attempt to pass one activity off as another: it must not silently get the first one's
/// answer.
pub fn is_same_request(stored: &LoggedRequest<'_>, retry: &LoggedRequest<'_>) -> bool {
    fn text(t: Option<&str>) -> Option<&str> {
        t.map(str::trim).filter(|t| !t.is_empty())
    }
    // Storage keeps microseconds (PostgreSQL); the API may carry nanoseconds.
    let micros = |t: DateTime<Utc>| t.timestamp_micros();
    let quantity_matches =
        retry.quantity == stored.quantity || (retry.quantity.is_none() && stored.quantity == Some(1));
    let time_matches = match (retry.occurred_at, stored.occurred_at) {
        (None, _) => true,
        (Some(r), Some(s)) => micros(r) == micros(s),
        (Some(_), None) => false,
    };
    stored.activity_type_id == retry.activity_type_id
        && quantity_matches
        && retry.progress_percent == stored.progress_percent
        && text(retry.work_item_key) == text(stored.work_item_key)
        && text(retry.note) == text(stored.note)
        && retry.deal_id == stored.deal_id
        && time_matches
}

/// The user error for an idempotency key sent again with a different request.
pub fn idempotency_key_reused() -> FieldError {
    FieldError::new(
        "idempotencyKey",
        "CONFLICT",
        "this idempotency key was already used for a different activity: retry with the same request, or use a new key",
    )
}

/// A PROGRESS activity's cumulative percent complete, `0..=100`.
pub fn check_progress_percent(percent: i32) -> Result<i32, FieldError> {
    if (0..=100).contains(&percent) {
        Ok(percent)
    } else {
        Err(FieldError::new("progressPercent", "OUT_OF_RANGE", "must be between 0 and 100"))
    }
}

/// An optional note: trimmed, empty becomes `None`, at most `MAX_NOTE_LEN` characters.
/// Line breaks and tabs are allowed; other control characters (NUL, which PostgreSQL refuses
/// in text, among them) are not.
pub fn parse_note(note: Option<&str>) -> Result<Option<String>, FieldError> {
    crate::core::field::parse_free_text("note", note, MAX_NOTE_LEN)
}

/// A trimmed key of `1..=MAX_KEY_LEN` characters without control characters.
fn parse_key(field: &str, key: &str) -> Result<String, FieldError> {
    let key = key.trim();
    if key.is_empty() {
        return Err(FieldError::new(field, "REQUIRED", "must not be empty"));
    }
    if key.chars().count() > MAX_KEY_LEN {
        return Err(FieldError::new(field, "TOO_LONG", format!("must be at most {MAX_KEY_LEN} characters")));
    }
    if key.chars().any(char::is_control) {
        return Err(FieldError::new(field, "INVALID", "must not contain control characters"));
    }
    Ok(key.to_owned())
}

/// The client's idempotency key: trimmed, `1..=MAX_KEY_LEN` characters, no control characters.
pub fn parse_idempotency_key(key: &str) -> Result<String, FieldError> {
    parse_key("idempotencyKey", key)
}

/// The work item a PROGRESS activity reports on (e.g. a newsletter's ID): trimmed,
/// `1..=MAX_KEY_LEN` characters, no control characters.
pub fn parse_work_item_key(key: &str) -> Result<String, FieldError> {
    parse_key("workItemKey", key)
}

/// When an activity may have happened: at most `FUTURE_TOLERANCE_MINUTES` after `now`, not
/// before the member's first day (local midnight of `member_start` in `tz`), and not more than
/// `open_window_days` days before `now` (older periods are closed; a negative window counts as 0).
pub fn check_occurred_at(
    occurred_at: DateTime<Utc>,
    now: DateTime<Utc>,
    member_start: NaiveDate,
    tz: Tz,
    open_window_days: i64,
) -> Result<(), FieldError> {
    let out_of_range = |message: String| Err(FieldError::new("occurredAt", "OUT_OF_RANGE", message));
    let latest =
        now.checked_add_signed(TimeDelta::minutes(FUTURE_TOLERANCE_MINUTES)).unwrap_or(DateTime::<Utc>::MAX_UTC);
    if occurred_at > latest {
        return out_of_range("must not be in the future".to_owned());
    }
    if occurred_at < start_of_day(member_start, tz) {
        return out_of_range(format!("must not be before the member's start date ({member_start})"));
    }
    let earliest = TimeDelta::try_days(open_window_days.max(0))
        .and_then(|window| now.checked_sub_signed(window))
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    if occurred_at < earliest {
        return out_of_range(format!("must be at most {} days ago", open_window_days.max(0)));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Points
// ---------------------------------------------------------------------------------------------

/// Base points of a COUNT activity: points per unit × quantity.
pub fn count_points(points_per_unit: Decimal, quantity: i32) -> Decimal {
    points_per_unit.saturating_mul(Decimal::from(quantity))
}

/// Steps newly completed when a PROGRESS work item moves from `previous_percent` to
/// `new_percent` (cumulative): `floor(new / step) - floor(previous / step)`. Progress never goes
/// backwards, so a lower or equal percent completes nothing; the caller keeps the highest
/// percent reached as the next `previous_percent`. A non-positive step completes nothing.
pub fn progress_steps(previous_percent: i32, new_percent: i32, step_percent: i32) -> i32 {
    if step_percent <= 0 || new_percent <= previous_percent {
        return 0;
    }
    (new_percent.div_euclid(step_percent) - previous_percent.div_euclid(step_percent)).max(0)
}

/// Points awarded: base × multiplier, rounded to 2 decimals (midpoint away from zero).
pub fn award(base: Decimal, multiplier: Decimal) -> Decimal {
    base.saturating_mul(multiplier).round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

// ---------------------------------------------------------------------------------------------
// Campaigns
// ---------------------------------------------------------------------------------------------

/// A campaign as the rule engine sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignRule {
    /// The campaign's ID (last tie-break between equal campaigns).
    pub id: Uuid,
    /// First instant of the window (inclusive).
    pub starts_at: DateTime<Utc>,
    /// Planned end of the window (exclusive).
    pub ends_at: DateTime<Utc>,
    /// When the campaign was ended early, if it was; cuts the window short (exclusive).
    pub ended_at: Option<DateTime<Utc>>,
    /// Factor on the base points of the activities it covers.
    pub multiplier: Decimal,
    /// Activity types it covers; empty = all.
    pub activity_type_ids: Vec<Uuid>,
    /// Teams it covers, including their sub-teams; empty = all.
    pub team_ids: Vec<Uuid>,
}

impl CampaignRule {
    /// The exclusive end of the window: the planned end or the early end, whichever is first.
    pub fn effective_end(&self) -> DateTime<Utc> {
        match self.ended_at {
            Some(ended) => ended.min(self.ends_at),
            None => self.ends_at,
        }
    }

    /// Whether `at` lies in the window `[starts_at, min(ends_at, ended_at))`.
    pub fn is_active_at(&self, at: DateTime<Utc>) -> bool {
        self.starts_at <= at && at < self.effective_end()
    }

    /// Whether the campaign covers an activity of `activity_type` at `at` by a member whose team
    /// and its ancestors are `member_teams`.
    pub fn applies(&self, at: DateTime<Utc>, activity_type: Uuid, member_teams: &[Uuid]) -> bool {
        self.is_active_at(at)
            && (self.activity_type_ids.is_empty() || self.activity_type_ids.contains(&activity_type))
            && (self.team_ids.is_empty() || self.team_ids.iter().any(|t| member_teams.contains(t)))
    }

    /// Upcoming before the window, running inside it, ended from its (possibly early) end on.
    /// A campaign ended before it started is ended.
    pub fn status(&self, now: DateTime<Utc>) -> CampaignStatus {
        if now >= self.effective_end() {
            CampaignStatus::Ended
        } else if now < self.starts_at {
            CampaignStatus::Upcoming
        } else {
            CampaignStatus::Running
        }
    }
}

/// The applicable campaign with the highest multiplier (ties: earlier `starts_at`, then smaller
/// ID); `None` if none applies.
pub fn best_campaign<'a>(
    campaigns: &'a [CampaignRule],
    at: DateTime<Utc>,
    activity_type: Uuid,
    member_teams: &[Uuid],
) -> Option<&'a CampaignRule> {
    campaigns.iter().filter(|c| c.applies(at, activity_type, member_teams)).min_by(|a, b| {
        b.multiplier.cmp(&a.multiplier).then_with(|| a.starts_at.cmp(&b.starts_at)).then_with(|| a.id.cmp(&b.id))
    })
}

// ---------------------------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------------------------

fn positive(target: Option<Decimal>) -> Option<Decimal> {
    target.filter(|t| t.is_sign_positive() && !t.is_zero())
}

/// A board entry's attainment of its target, computed once, when first asked: a rep's phone
/// shows the top 50 without it, while a live board computes it once for every subscriber of
/// the board (clones of an answered one carry the answer).
#[derive(Debug, Clone)]
pub struct Attainment {
    points_cents: i64,
    target: Option<Decimal>,
    percent: std::sync::OnceLock<Option<f64>>,
}

/// Equal when the points and target are (the percent follows from them).
impl PartialEq for Attainment {
    fn eq(&self, other: &Self) -> bool {
        (self.points_cents, self.target) == (other.points_cents, other.target)
    }
}

impl Attainment {
    /// Points (hundredths) against a target.
    pub fn new(points_cents: i64, target: Option<Decimal>) -> Self {
        Attainment { points_cents, target, percent: std::sync::OnceLock::new() }
    }

    /// [`attainment_percent`] of the points and target.
    pub fn percent(&self) -> Option<f64> {
        *self
            .percent
            .get_or_init(|| attainment_percent(crate::core::money::cents_to_decimal(self.points_cents), self.target))
    }
}

/// Attainment: points ÷ target × 100 (uncapped). `None` without a positive target.
pub fn attainment_percent(points: Decimal, target: Option<Decimal>) -> Option<f64> {
    let target = positive(target)?;
    match points.checked_div(target).and_then(|r| r.checked_mul(Decimal::ONE_HUNDRED)) {
        Some(percent) => percent.to_f64(),
        None => Some(points.to_f64()? / target.to_f64()? * 100.0),
    }
}

/// Pacing: attainment ÷ elapsed share of the period (100 = on track to hit the target).
/// `None` without attainment or before the period has started.
pub fn pacing_percent(attainment: Option<f64>, elapsed_share: f64) -> Option<f64> {
    let attainment = attainment?;
    if elapsed_share.is_nan() || elapsed_share <= 0.0 {
        return None;
    }
    Some(attainment / elapsed_share)
}

/// Fewest weeks of history for a suggested target.
pub const MIN_WEEKS_FOR_SUGGESTION: usize = 4;

/// A realistic weekly target from a member's own history (the caller passes the last 12
/// weeks): the 80th percentile of `weekly_points` with linear interpolation between the closest
/// ranks (numpy's default: rank `0.8 × (n − 1)` in the ascending list), rounded to 2 decimals.
/// `None` with fewer than `MIN_WEEKS_FOR_SUGGESTION` weeks.
pub fn suggested_target(weekly_points: &[Decimal]) -> Option<Decimal> {
    let n = weekly_points.len();
    if n < MIN_WEEKS_FOR_SUGGESTION {
        return None;
    }
    let mut sorted = weekly_points.to_vec();
    sorted.sort();
    // rank = 0.8 × (n − 1) = 4 (n − 1) / 5, split into whole and fifths to stay exact.
    let scaled = 4 * (n - 1);
    let (lower_index, fifths) = (scaled / 5, scaled % 5);
    let lower = sorted[lower_index];
    let value = match sorted.get(lower_index + 1) {
        Some(&upper) if fifths > 0 => {
            let fraction = Decimal::new(fifths as i64 * 2, 1);
            lower.saturating_add(upper.saturating_sub(lower).saturating_mul(fraction))
        }
        _ => lower,
    };
    Some(value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
}

/// Consecutive weeks on target (points ≥ target), counting back from the newest complete week.
/// Input newest first as `(points, target)`; a week without a positive target ends the streak.
pub fn streak_weeks(weeks_newest_first: &[(Decimal, Option<Decimal>)]) -> u32 {
    let on_target = weeks_newest_first
        .iter()
        .take_while(|(points, target)| positive(*target).is_some_and(|t| *points >= t))
        .count();
    u32::try_from(on_target).unwrap_or(u32::MAX)
}

// ---------------------------------------------------------------------------------------------
// Leaderboards
// ---------------------------------------------------------------------------------------------

/// Standard competition ranking ("1224"): by value descending, then name ascending
/// (case-insensitive; exact name, then input order, settle the rest). Equal values share a
/// rank and the next distinct value skips past them. Items without a value (`None` or NaN) come
/// last and share one rank.
pub fn rank<T>(items: Vec<T>, value: impl Fn(&T) -> Option<f64>, name: impl Fn(&T) -> String) -> Vec<(u32, T)> {
    let mut keyed: Vec<(Option<f64>, String, String, T)> = items
        .into_iter()
        .map(|item| {
            let v = value(&item).filter(|v| !v.is_nan());
            let n = name(&item);
            (v, n.to_lowercase(), n, item)
        })
        .collect();
    keyed.sort_by(|a, b| compare_values(a.0, b.0).then_with(|| a.1.cmp(&b.1)).then_with(|| a.2.cmp(&b.2)));
    let mut ranked = Vec::with_capacity(keyed.len());
    let mut previous: Option<(Option<f64>, u32)> = None;
    for (position, (v, _, _, item)) in keyed.into_iter().enumerate() {
        let place = u32::try_from(position + 1).unwrap_or(u32::MAX);
        let r = match previous {
            Some((pv, pr)) if compare_values(pv, v) == Ordering::Equal => pr,
            _ => place,
        };
        previous = Some((v, r));
        ranked.push((r, item));
    }
    ranked
}

/// Descending with `None` last (NaN was filtered out before).
fn compare_values(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => b.partial_cmp(&a).unwrap_or(Ordering::Equal),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

#[cfg(test)]
mod request_tests {
    use super::*;

    fn stored() -> LoggedRequest<'static> {
        LoggedRequest {
            activity_type_id: Uuid::from_u128(1),
            quantity: Some(3),
            progress_percent: None,
            work_item_key: None,
            occurred_at: Some(DateTime::from_timestamp(1_700_000_000, 123_456_000).expect("time")),
            note: Some("called Acme"),
            deal_id: Some(Uuid::from_u128(9)),
        }
    }

    #[test]
    fn the_same_request_replays() {
        let s = stored();
        assert!(is_same_request(&s, &s));
        assert!(is_same_request(&s, &LoggedRequest { occurred_at: None, ..s }), "no time: now, as the first");
        assert!(is_same_request(&s, &LoggedRequest { note: Some("  called Acme \n"), ..s }), "trimmed as stored");
        let nanos = DateTime::from_timestamp(1_700_000_000, 123_456_789).expect("time");
        assert!(is_same_request(&s, &LoggedRequest { occurred_at: Some(nanos), ..s }), "storage keeps microseconds");
        let one = LoggedRequest { quantity: Some(1), ..s };
        assert!(is_same_request(&one, &LoggedRequest { quantity: None, ..s }), "absent quantity is 1");
        let blank = LoggedRequest { note: None, ..s };
        assert!(is_same_request(&blank, &LoggedRequest { note: Some("   "), ..s }), "a blank note is no note");
        let progress = LoggedRequest { quantity: None, progress_percent: Some(40), work_item_key: Some("nl-7"), ..s };
        assert!(is_same_request(&progress, &LoggedRequest { work_item_key: Some(" nl-7 "), ..progress }));
    }

    #[test]
    fn every_changed_field_conflicts() {
        let s = stored();
        let later = DateTime::from_timestamp(1_700_000_001, 123_456_000).expect("time");
        let changed = [
            LoggedRequest { activity_type_id: Uuid::from_u128(2), ..s },
            LoggedRequest { quantity: Some(4), ..s },
            LoggedRequest { quantity: None, ..s },
            LoggedRequest { progress_percent: Some(50), ..s },
            LoggedRequest { work_item_key: Some("other"), ..s },
            LoggedRequest { occurred_at: Some(later), ..s },
            LoggedRequest { note: Some("called Globex"), ..s },
            LoggedRequest { note: None, ..s },
            LoggedRequest { deal_id: None, ..s },
            LoggedRequest { deal_id: Some(Uuid::from_u128(10)), ..s },
        ];
        for retry in changed {
            assert!(!is_same_request(&s, &retry), "{retry:?}");
        }
        let progress = LoggedRequest { quantity: None, progress_percent: Some(40), ..s };
        assert!(
            !is_same_request(&progress, &LoggedRequest { quantity: Some(1), ..progress }),
            "a quantity on PROGRESS"
        );
        assert!(!is_same_request(&LoggedRequest { occurred_at: None, ..s }, &s), "a time against none stored");
        assert_eq!(idempotency_key_reused().code, "CONFLICT");
    }

    #[test]
    fn self_quantity_ceilings() {
        assert_eq!(check_self_quantity(100, 0, None, None), Ok(()));
        assert_eq!(check_self_quantity(101, 0, None, None).map_err(|e| e.code), Err("LIMIT_EXCEEDED"));
        assert_eq!(check_self_quantity(100, 400, None, None), Ok(()), "exactly the default day");
        let e = check_self_quantity(2, 499, None, None).expect_err("over the day");
        assert_eq!((e.code, e.field[1].as_str()), ("LIMIT_EXCEEDED", "quantity"));
        assert!(e.message.contains("500") && e.message.contains("1 left"), "{}", e.message);
        assert!(check_self_quantity(1, 10_000, None, None).expect_err("spent").message.contains("0 left"));
        assert_eq!(check_self_quantity(1, -5, Some(1), Some(1)), Ok(()), "a negative total counts as 0");
        assert_eq!(check_self_quantity(5_000, 0, Some(10_000), Some(5_000)), Ok(()));
        assert!(check_self_quantity(5_001, 0, Some(10_000), Some(5_000)).is_err());
        assert!(
            check_self_quantity(3, 0, Some(2), Some(1_000))
                .expect_err("per activity")
                .message
                .contains("at most 2 in one")
        );
        for quantity in 1..=12 {
            for logged in 0..=12 {
                let ok = quantity <= 5 && i64::from(quantity) + logged <= 10;
                assert_eq!(
                    check_self_quantity(quantity, logged, Some(5), Some(10)).is_ok(),
                    ok,
                    "{quantity} after {logged}"
                );
            }
        }
    }

    #[test]
    fn self_ceilings_parse() {
        assert_eq!(parse_self_ceiling("c", 1, 10), Ok(1));
        assert_eq!(parse_self_ceiling("c", 10, 10), Ok(10));
        for bad in [0, -1, 11, i32::MIN, i32::MAX] {
            assert_eq!(parse_self_ceiling("c", bad, 10).map_err(|e| e.code), Err("OUT_OF_RANGE"), "{bad}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::period::{add_months, next_day};
    use chrono::{Datelike, LocalResult, TimeZone};

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn date(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("rfc3339").with_timezone(&Utc)
    }

    const AMS: Tz = chrono_tz::Europe::Amsterdam;

    fn approx(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    // ----- enums -----

    #[test]
    fn enums_round_trip_and_reject_unknown() {
        for c in [ActivityCategory::Action, ActivityCategory::Result] {
            assert_eq!(ActivityCategory::parse(c.as_str()), Some(c));
        }
        for u in [ActivityUnit::Count, ActivityUnit::Progress] {
            assert_eq!(ActivityUnit::parse(u.as_str()), Some(u));
        }
        for g in [PeriodGrain::Day, PeriodGrain::Week, PeriodGrain::Month, PeriodGrain::Quarter, PeriodGrain::Year] {
            assert_eq!(PeriodGrain::parse(g.as_str()), Some(g));
        }
        for s in [CampaignStatus::Upcoming, CampaignStatus::Running, CampaignStatus::Ended] {
            assert_eq!(CampaignStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(ActivityCategory::Result.as_str(), "RESULT");
        assert_eq!(ActivityUnit::Progress.as_str(), "PROGRESS");
        assert_eq!(PeriodGrain::Quarter.as_str(), "QUARTER");
        assert_eq!(CampaignStatus::Upcoming.as_str(), "UPCOMING");
        assert_eq!(ActivityCategory::parse("action"), None);
        assert_eq!(ActivityUnit::parse(""), None);
        assert_eq!(PeriodGrain::parse("FORTNIGHT"), None);
        assert_eq!(CampaignStatus::parse("Running"), None);
    }

    // ----- validation -----

    #[test]
    fn points_accept_two_decimals_in_range() {
        assert_eq!(parse_points("pointsPerUnit", 0.0), Ok(Decimal::ZERO));
        assert_eq!(parse_points("pointsPerUnit", -0.0), Ok(Decimal::ZERO));
        assert_eq!(parse_points("pointsPerUnit", 1.0), Ok(d("1")));
        assert_eq!(parse_points("pointsPerUnit", 3.0).map(|p| p.to_string()), Ok("3".to_owned()));
        assert_eq!(parse_points("pointsPerUnit", 2.5), Ok(d("2.5")));
        assert_eq!(parse_points("pointsPerUnit", 0.01), Ok(d("0.01")));
        assert_eq!(parse_points("pointsPerUnit", 1.23), Ok(d("1.23")));
        assert_eq!(parse_points("pointsPerUnit", 100_000.0), Ok(d("100000")));
        assert_eq!(parse_points("pointsPerUnit", 99_999.99), Ok(d("99999.99")));
        // Float noise is accepted and cleaned up.
        assert_eq!(parse_points("pointsPerUnit", 0.1 + 0.2), Ok(d("0.3")));
        assert_eq!(parse_points("pointsPerUnit", 1.1 * 3.0), Ok(d("3.3")));
    }

    #[test]
    fn points_reject_non_finite_out_of_range_and_extra_decimals() {
        let err = |v: f64| parse_points("pointsPerStep", v).expect_err("rejected");
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let e = err(v);
            assert_eq!(e.code, "INVALID");
            assert_eq!(e.field, vec!["input".to_owned(), "pointsPerStep".to_owned()]);
        }
        for v in [-1.0, -0.01, 100_000.01, 100_001.0, 1e300, -1e300, f64::MAX, f64::MIN] {
            assert_eq!(err(v).code, "OUT_OF_RANGE", "{v}");
        }
        for v in [1.005, 0.001, 2.345, 99_999.999, -0.001, 1e-5] {
            assert_eq!(err(v).code, "INVALID", "{v}");
        }
        assert!(err(1.005).message.contains("2 decimal"));
    }

    #[test]
    fn multipliers() {
        assert_eq!(parse_multiplier(1.0), Ok(Decimal::ONE));
        assert_eq!(parse_multiplier(1.5), Ok(d("1.5")));
        assert_eq!(parse_multiplier(2.25), Ok(d("2.25")));
        assert_eq!(parse_multiplier(10.0), Ok(d("10")));
        assert_eq!(parse_multiplier(0.7 + 0.6), Ok(d("1.3")));
        for v in [0.0, 0.99, -2.0, 10.01, 11.0, 1e20] {
            let e = parse_multiplier(v).expect_err("rejected");
            assert_eq!(e.code, "OUT_OF_RANGE", "{v}");
            assert_eq!(e.field, vec!["input".to_owned(), "multiplier".to_owned()]);
        }
        for v in [f64::NAN, f64::INFINITY, 1.234, 1.005] {
            assert_eq!(parse_multiplier(v).expect_err("rejected").code, "INVALID", "{v}");
        }
    }

    #[test]
    fn integer_bounds() {
        assert_eq!(parse_step_percent(1), Ok(1));
        assert_eq!(parse_step_percent(10), Ok(10));
        assert_eq!(parse_step_percent(100), Ok(100));
        for v in [0, -10, 101, i32::MIN, i32::MAX] {
            let e = parse_step_percent(v).expect_err("rejected");
            assert_eq!((e.code, e.field[1].as_str()), ("OUT_OF_RANGE", "stepPercent"));
        }
        assert_eq!(check_quantity(1), Ok(1));
        assert_eq!(check_quantity(10_000), Ok(10_000));
        for v in [0, -1, 10_001, i32::MIN, i32::MAX] {
            let e = check_quantity(v).expect_err("rejected");
            assert_eq!((e.code, e.field[1].as_str()), ("OUT_OF_RANGE", "quantity"));
        }
        assert_eq!(check_progress_percent(0), Ok(0));
        assert_eq!(check_progress_percent(100), Ok(100));
        for v in [-1, 101, i32::MIN, i32::MAX] {
            let e = check_progress_percent(v).expect_err("rejected");
            assert_eq!((e.code, e.field[1].as_str()), ("OUT_OF_RANGE", "progressPercent"));
        }
    }

    #[test]
    fn notes() {
        assert_eq!(parse_note(None), Ok(None));
        assert_eq!(parse_note(Some("")), Ok(None));
        assert_eq!(parse_note(Some("  \n\t ")), Ok(None));
        assert_eq!(parse_note(Some("  called back  ")), Ok(Some("called back".to_owned())));
        assert_eq!(parse_note(Some("line 1\nline 2\ttab")), Ok(Some("line 1\nline 2\ttab".to_owned())));
        let max = "é".repeat(MAX_NOTE_LEN);
        assert_eq!(parse_note(Some(&format!("  {max}  "))), Ok(Some(max.clone())));
        let e = parse_note(Some(&format!("{max}x"))).expect_err("too long");
        assert_eq!((e.code, e.field[1].as_str()), ("TOO_LONG", "note"));
        assert_eq!(parse_note(Some("nul\0byte")).expect_err("control").code, "INVALID");
    }

    #[test]
    fn keys() {
        assert_eq!(parse_idempotency_key("  abc-123 "), Ok("abc-123".to_owned()));
        let e = parse_idempotency_key("   ").expect_err("empty");
        assert_eq!((e.code, e.field[1].as_str()), ("REQUIRED", "idempotencyKey"));
        assert_eq!(parse_idempotency_key("").expect_err("empty").code, "REQUIRED");
        let max = "k".repeat(MAX_KEY_LEN);
        assert_eq!(parse_idempotency_key(&max), Ok(max.clone()));
        assert_eq!(parse_idempotency_key(&format!("{max}k")).expect_err("long").code, "TOO_LONG");
        assert_eq!(parse_idempotency_key("a\u{7}b").expect_err("control").code, "INVALID");
        assert_eq!(parse_idempotency_key("a\nb").expect_err("control").code, "INVALID");

        assert_eq!(parse_work_item_key(" newsletter-2026-10 "), Ok("newsletter-2026-10".to_owned()));
        let e = parse_work_item_key("").expect_err("empty");
        assert_eq!((e.code, e.field[1].as_str()), ("REQUIRED", "workItemKey"));
        assert_eq!(parse_work_item_key(&format!("{max}k")).expect_err("long").code, "TOO_LONG");
        assert_eq!(parse_work_item_key(&max), Ok(max));
    }

    #[test]
    fn occurred_at_rules() {
        let now = utc("2026-10-14T12:00:00Z");
        let start = date(2026, 9, 1);
        let check = |at: &str| check_occurred_at(utc(at), now, start, AMS, 30);
        assert_eq!(check("2026-10-14T12:00:00Z"), Ok(()));
        assert_eq!(check("2026-10-14T12:05:00Z"), Ok(()));
        let e = check("2026-10-14T12:05:01Z").expect_err("future");
        assert_eq!((e.code, e.field[1].as_str()), ("OUT_OF_RANGE", "occurredAt"));
        // Open window: exactly 30 days back is fine, a second more is not.
        assert_eq!(check("2026-09-14T12:00:00Z"), Ok(()));
        assert_eq!(check("2026-09-14T11:59:59Z").expect_err("too old").code, "OUT_OF_RANGE");

        // Member start: 00:00 Amsterdam (CEST, +2) on the start date = 22:00 UTC the day before.
        let wide = |at: &str| check_occurred_at(utc(at), now, start, AMS, 365);
        assert_eq!(wide("2026-08-31T22:00:00Z"), Ok(()));
        let e = wide("2026-08-31T21:59:59Z").expect_err("before start");
        assert_eq!(e.code, "OUT_OF_RANGE");
        assert!(e.message.contains("2026-09-01"));

        // A zero window still accepts now and the tolerance; a negative one counts as zero;
        // an absurd one does not overflow.
        assert_eq!(check_occurred_at(now, now, start, AMS, 0), Ok(()));
        assert!(check_occurred_at(now - TimeDelta::seconds(1), now, start, AMS, 0).is_err());
        assert_eq!(check_occurred_at(now, now, start, AMS, -5), Ok(()));
        assert_eq!(check_occurred_at(utc("2026-09-01T00:00:00Z"), now, start, AMS, i64::MAX), Ok(()));
        assert!(check_occurred_at(DateTime::<Utc>::MAX_UTC, DateTime::<Utc>::MAX_UTC, start, AMS, 1).is_ok());
    }

    // ----- points -----

    #[test]
    fn count_math() {
        assert_eq!(count_points(d("3"), 1), d("3"));
        assert_eq!(count_points(d("3"), 4), d("12"));
        assert_eq!(count_points(d("0.25"), 3), d("0.75"));
        assert_eq!(count_points(d("0"), 10_000), Decimal::ZERO);
        assert_eq!(count_points(d("100000"), 10_000), d("1000000000"));
        assert_eq!(count_points(Decimal::MAX, i32::MAX), Decimal::MAX);
    }

    #[test]
    fn progress_across_updates_and_backwards_attempts() {
        // The caller keeps the highest percent reached as the next "previous".
        let mut highest = 0;
        let mut awarded = Vec::new();
        for reported in [35, 35, 30, 100] {
            awarded.push(progress_steps(highest, reported, 10));
            highest = highest.max(reported);
        }
        assert_eq!(awarded, vec![3, 0, 0, 7]);
        // Also 7 if a caller passed the lowered value as previous: floor(30/10) = floor(35/10).
        assert_eq!(progress_steps(30, 100, 10), 7);

        assert_eq!(progress_steps(0, 100, 10), 10);
        assert_eq!(progress_steps(0, 9, 10), 0);
        assert_eq!(progress_steps(9, 10, 10), 1);
        assert_eq!(progress_steps(10, 19, 10), 0);
        assert_eq!(progress_steps(100, 0, 10), 0);
        assert_eq!(progress_steps(0, 100, 1), 100);
        assert_eq!(progress_steps(0, 100, 100), 1);
        assert_eq!(progress_steps(0, 99, 100), 0);
        // A step that does not divide 100: 30, 60, 90.
        assert_eq!(progress_steps(0, 100, 30), 3);
        assert_eq!(progress_steps(50, 61, 30), 1);
        assert_eq!(progress_steps(0, 50, 0), 0);
        assert_eq!(progress_steps(0, 50, -10), 0);
        // Total over a monotone series equals one jump.
        let series = [0, 5, 12, 12, 27, 49, 50, 88, 100];
        let total: i32 = series.windows(2).map(|w| progress_steps(w[0], w[1], 5)).sum();
        assert_eq!(total, progress_steps(0, 100, 5));
    }

    #[test]
    fn award_rounding_and_multipliers() {
        assert_eq!(award(d("3"), Decimal::ONE), d("3"));
        assert_eq!(award(d("3"), d("2")), d("6"));
        assert_eq!(award(d("3"), d("1.5")), d("4.5"));
        assert_eq!(award(d("0.25"), d("1.5")), d("0.38")); // 0.375 rounds away from zero
        assert_eq!(award(d("0.01"), d("1.5")), d("0.02")); // 0.015
        assert_eq!(award(d("0.33"), d("1.33")), d("0.44")); // 0.4389
        assert_eq!(award(d("1.11"), d("1.11")), d("1.23")); // 1.2321
        assert_eq!(award(d("-0.25"), d("1.5")), d("-0.38"));
        assert_eq!(award(d("12"), d("10")), d("120"));
        assert_eq!(award(Decimal::ZERO, d("10")), Decimal::ZERO);
        assert_eq!(award(Decimal::MAX, d("10")), Decimal::MAX);
        assert_eq!(award(d("0.375"), Decimal::ONE).scale(), 2);
    }

    // ----- campaigns -----

    fn campaign(n: u128, starts: &str, ends: &str, multiplier: &str) -> CampaignRule {
        CampaignRule {
            id: id(n),
            starts_at: utc(starts),
            ends_at: utc(ends),
            ended_at: None,
            multiplier: d(multiplier),
            activity_type_ids: vec![],
            team_ids: vec![],
        }
    }

    #[test]
    fn campaign_window_is_end_exclusive_and_cut_by_early_end() {
        let mut c = campaign(1, "2026-09-01T00:00:00Z", "2026-10-01T00:00:00Z", "2");
        assert!(!c.is_active_at(utc("2026-08-31T23:59:59Z")));
        assert!(c.is_active_at(utc("2026-09-01T00:00:00Z")));
        assert!(c.is_active_at(utc("2026-09-30T23:59:59Z")));
        assert!(!c.is_active_at(utc("2026-10-01T00:00:00Z")));
        assert_eq!(c.status(utc("2026-08-31T23:59:59Z")), CampaignStatus::Upcoming);
        assert_eq!(c.status(utc("2026-09-01T00:00:00Z")), CampaignStatus::Running);
        assert_eq!(c.status(utc("2026-09-30T23:59:59Z")), CampaignStatus::Running);
        assert_eq!(c.status(utc("2026-10-01T00:00:00Z")), CampaignStatus::Ended);

        c.ended_at = Some(utc("2026-09-15T12:00:00Z"));
        assert_eq!(c.effective_end(), utc("2026-09-15T12:00:00Z"));
        assert!(c.is_active_at(utc("2026-09-15T11:59:59Z")));
        assert!(!c.is_active_at(utc("2026-09-15T12:00:00Z")));
        assert!(!c.is_active_at(utc("2026-09-20T00:00:00Z")));
        assert_eq!(c.status(utc("2026-09-15T11:59:59Z")), CampaignStatus::Running);
        assert_eq!(c.status(utc("2026-09-15T12:00:00Z")), CampaignStatus::Ended);

        // Ending after the planned end changes nothing.
        c.ended_at = Some(utc("2026-12-01T00:00:00Z"));
        assert!(!c.is_active_at(utc("2026-10-01T00:00:00Z")));
        assert_eq!(c.status(utc("2026-10-15T00:00:00Z")), CampaignStatus::Ended);

        // Cancelled before it started: never active, ended.
        c.ended_at = Some(utc("2026-08-15T00:00:00Z"));
        assert!(!c.is_active_at(utc("2026-09-10T00:00:00Z")));
        assert_eq!(c.status(utc("2026-08-20T00:00:00Z")), CampaignStatus::Ended);
    }

    #[test]
    fn campaign_type_and_team_filters() {
        let at = utc("2026-09-10T10:00:00Z");
        let (call, quote) = (id(100), id(101));
        let (root, sales, north) = (id(200), id(201), id(202));
        let mut c = campaign(1, "2026-09-01T00:00:00Z", "2026-10-01T00:00:00Z", "2");
        // Empty lists cover everything.
        assert!(c.applies(at, call, &[]));
        assert!(c.applies(at, quote, &[north, sales, root]));

        c.activity_type_ids = vec![quote];
        assert!(c.applies(at, quote, &[north]));
        assert!(!c.applies(at, call, &[north]));

        // Team filter: the member's team or any ancestor matches.
        c.team_ids = vec![sales];
        let north_member = [north, sales, root];
        assert!(c.applies(at, quote, &north_member));
        assert!(c.applies(at, quote, &[sales, root]));
        assert!(!c.applies(at, quote, &[root]));
        assert!(!c.applies(at, quote, &[]));
        assert!(!c.applies(at, call, &north_member));
        c.team_ids = vec![id(999), north];
        assert!(c.applies(at, quote, &north_member));
        // Outside the window nothing applies.
        assert!(!c.applies(utc("2026-10-01T00:00:00Z"), quote, &north_member));
    }

    #[test]
    fn best_campaign_picks_highest_multiplier_then_earliest_then_smallest_id() {
        let at = utc("2026-09-10T10:00:00Z");
        let (call, team) = (id(100), id(200));
        let mut double = campaign(5, "2026-09-01T00:00:00Z", "2026-10-01T00:00:00Z", "2");
        let triple_other_type = CampaignRule {
            activity_type_ids: vec![id(101)],
            ..campaign(6, "2026-09-01T00:00:00Z", "2026-10-01T00:00:00Z", "3")
        };
        let one_and_half = campaign(7, "2026-09-05T00:00:00Z", "2026-09-20T00:00:00Z", "1.5");
        let triple_over = campaign(8, "2026-08-01T00:00:00Z", "2026-09-10T10:00:00Z", "3");
        let all = vec![one_and_half.clone(), double.clone(), triple_other_type.clone(), triple_over.clone()];
        assert_eq!(best_campaign(&all, at, call, &[team]).map(|c| c.id), Some(id(5)));
        assert_eq!(best_campaign(&all, at, id(101), &[team]).map(|c| c.id), Some(id(6)));
        // Just before the triple one ended it still wins.
        assert_eq!(best_campaign(&all, utc("2026-09-10T09:59:59Z"), call, &[team]).map(|c| c.id), Some(id(8)));
        // Outside all windows: none.
        assert_eq!(best_campaign(&all, utc("2026-11-01T00:00:00Z"), call, &[team]), None);
        assert_eq!(best_campaign(&[], at, call, &[team]), None);

        // Ties on multiplier: the earlier start wins, then the smaller id, regardless of order.
        let tie_later = campaign(1, "2026-09-02T00:00:00Z", "2026-10-01T00:00:00Z", "2.0");
        let tie_same_start_bigger_id = campaign(9, "2026-09-01T00:00:00Z", "2026-10-01T00:00:00Z", "2.00");
        let ties = vec![tie_later.clone(), tie_same_start_bigger_id.clone(), double.clone()];
        assert_eq!(best_campaign(&ties, at, call, &[team]).map(|c| c.id), Some(id(5)));
        let reversed: Vec<_> = ties.iter().rev().cloned().collect();
        assert_eq!(best_campaign(&reversed, at, call, &[team]).map(|c| c.id), Some(id(5)));
        assert_eq!(
            best_campaign(&[tie_later.clone(), tie_same_start_bigger_id], at, call, &[team]).map(|c| c.id),
            Some(id(9))
        );

        // A team-filtered campaign only counts for members in that subtree.
        double.team_ids = vec![id(300)];
        let filtered = vec![double, one_and_half];
        assert_eq!(best_campaign(&filtered, at, call, &[team]).map(|c| c.id), Some(id(7)));
        assert_eq!(best_campaign(&filtered, at, call, &[team, id(300)]).map(|c| c.id), Some(id(5)));
    }

    // ----- periods -----

    fn hours(p: &Period) -> i64 {
        (p.end - p.start).num_hours()
    }

    #[test]
    fn local_dates_around_midnight() {
        // Winter (+1): 23:30 UTC is already tomorrow in Amsterdam.
        assert_eq!(local_date(utc("2026-01-15T22:59:59Z"), AMS), date(2026, 1, 15));
        assert_eq!(local_date(utc("2026-01-15T23:00:00Z"), AMS), date(2026, 1, 16));
        assert_eq!(local_date(utc("2026-01-15T23:30:00Z"), AMS), date(2026, 1, 16));
        assert_eq!(local_date(utc("2026-01-15T23:30:00Z"), chrono_tz::UTC), date(2026, 1, 15));
        // Summer (+2).
        assert_eq!(local_date(utc("2026-07-15T21:59:59Z"), AMS), date(2026, 7, 15));
        assert_eq!(local_date(utc("2026-07-15T22:00:00Z"), AMS), date(2026, 7, 16));
        // West of UTC the local date lags.
        assert_eq!(local_date(utc("2026-07-16T02:00:00Z"), chrono_tz::America::New_York), date(2026, 7, 15));
        // New Year's Eve in Amsterdam is already next year.
        assert_eq!(local_date(utc("2026-12-31T23:00:00Z"), AMS), date(2027, 1, 1));
    }

    #[test]
    fn start_of_day_normal_and_dst_days() {
        assert_eq!(start_of_day(date(2026, 1, 15), AMS), utc("2026-01-14T23:00:00Z"));
        assert_eq!(start_of_day(date(2026, 7, 15), AMS), utc("2026-07-14T22:00:00Z"));
        // Amsterdam's transitions happen at night, not at midnight.
        assert_eq!(start_of_day(date(2026, 3, 29), AMS), utc("2026-03-28T23:00:00Z"));
        assert_eq!(start_of_day(date(2026, 3, 30), AMS), utc("2026-03-29T22:00:00Z"));
        assert_eq!(start_of_day(date(2026, 10, 25), AMS), utc("2026-10-24T22:00:00Z"));
        assert_eq!(start_of_day(date(2026, 10, 26), AMS), utc("2026-10-25T23:00:00Z"));
        assert_eq!(start_of_day(date(2026, 1, 15), chrono_tz::UTC), utc("2026-01-15T00:00:00Z"));
    }

    #[test]
    fn start_of_day_in_a_midnight_gap() {
        use chrono_tz::America::Santiago;
        use chrono_tz::Asia::Beirut;
        // Chile springs forward at 00:00 (-04 -> -03) on the first Sunday of September from the
        // 2nd: 2026-09-06 has no 00:00; the day starts at 01:00 -03 = 04:00 UTC.
        let midnight = date(2026, 9, 6).and_time(chrono::NaiveTime::MIN);
        assert!(matches!(Santiago.from_local_datetime(&midnight), LocalResult::None));
        let start = start_of_day(date(2026, 9, 6), Santiago);
        assert_eq!(start, utc("2026-09-06T04:00:00Z"));
        assert_eq!(start.with_timezone(&Santiago).to_rfc3339(), "2026-09-06T01:00:00-03:00");
        assert_eq!(local_date(start - TimeDelta::seconds(1), Santiago), date(2026, 9, 5));
        // The day before and after are ordinary.
        assert_eq!(start_of_day(date(2026, 9, 5), Santiago), utc("2026-09-05T04:00:00Z"));
        assert_eq!(start_of_day(date(2026, 9, 7), Santiago), utc("2026-09-07T03:00:00Z"));
        let day = period_containing(PeriodGrain::Day, date(2026, 9, 6), Santiago, 1);
        assert_eq!(hours(&day), 23);

        // Lebanon springs forward at 00:00 (+02 -> +03) on the last Sunday of March.
        assert_eq!(start_of_day(date(2026, 3, 29), Beirut), utc("2026-03-28T22:00:00Z"));
        assert_eq!(
            start_of_day(date(2026, 3, 29), Beirut).with_timezone(&Beirut).to_rfc3339(),
            "2026-03-29T01:00:00+03:00"
        );

        // Samoa skipped 2011-12-30 entirely: the "day" starts when 2011-12-31 does.
        use chrono_tz::Pacific::Apia;
        assert_eq!(start_of_day(date(2011, 12, 30), Apia), utc("2011-12-30T10:00:00Z"));
        assert_eq!(start_of_day(date(2011, 12, 31), Apia), utc("2011-12-30T10:00:00Z"));
    }

    #[test]
    fn start_of_day_with_a_repeated_midnight_takes_the_first() {
        use chrono_tz::America::Santiago;
        // Chile falls back at 00:00 -03 on 2026-04-05 to 23:00 -04 on the 4th; every local
        // instant found must be a real midnight-or-later of that date.
        for day in [date(2026, 4, 4), date(2026, 4, 5)] {
            let s = start_of_day(day, Santiago);
            assert_eq!(local_date(s, Santiago), day);
            assert_eq!(local_date(s - TimeDelta::seconds(1), Santiago), day.pred_opt().expect("date"));
        }
    }

    #[test]
    fn weeks_run_monday_to_monday() {
        let sunday = period_containing(PeriodGrain::Week, date(2026, 3, 29), AMS, 1);
        assert_eq!(sunday.grain, Some(PeriodGrain::Week));
        assert_eq!((sunday.start_date, sunday.end_date), (date(2026, 3, 23), date(2026, 3, 30)));
        let monday = period_containing(PeriodGrain::Week, date(2026, 3, 30), AMS, 1);
        assert_eq!((monday.start_date, monday.end_date), (date(2026, 3, 30), date(2026, 4, 6)));
        let wednesday = period_containing(PeriodGrain::Week, date(2026, 4, 1), AMS, 1);
        assert_eq!(wednesday, monday);
        // Across the new year.
        let new_year = period_containing(PeriodGrain::Week, date(2026, 1, 1), AMS, 1);
        assert_eq!((new_year.start_date, new_year.end_date), (date(2025, 12, 29), date(2026, 1, 5)));
        assert_eq!(new_year.start, utc("2025-12-28T23:00:00Z"));
        assert_eq!(new_year.end, utc("2026-01-04T23:00:00Z"));
    }

    #[test]
    fn dst_weeks_have_167_and_169_hours() {
        let spring = period_containing(PeriodGrain::Week, date(2026, 3, 25), AMS, 1);
        assert_eq!((spring.start_date, spring.end_date), (date(2026, 3, 23), date(2026, 3, 30)));
        assert_eq!(spring.start, utc("2026-03-22T23:00:00Z"));
        assert_eq!(spring.end, utc("2026-03-29T22:00:00Z"));
        assert_eq!(hours(&spring), 167);
        let autumn = period_containing(PeriodGrain::Week, date(2026, 10, 25), AMS, 1);
        assert_eq!((autumn.start_date, autumn.end_date), (date(2026, 10, 19), date(2026, 10, 26)));
        assert_eq!(autumn.start, utc("2026-10-18T22:00:00Z"));
        assert_eq!(autumn.end, utc("2026-10-25T23:00:00Z"));
        assert_eq!(hours(&autumn), 169);
        let ordinary = period_containing(PeriodGrain::Week, date(2026, 6, 10), AMS, 1);
        assert_eq!(hours(&ordinary), 168);
        let spring_day = period_containing(PeriodGrain::Day, date(2026, 3, 29), AMS, 1);
        assert_eq!((hours(&spring_day), spring_day.end_date), (23, date(2026, 3, 30)));
        assert_eq!(hours(&period_containing(PeriodGrain::Day, date(2026, 10, 25), AMS, 1)), 25);
        // Half of the 169-hour week is 84.5 hours in.
        assert!(approx(elapsed_share(&autumn, autumn.start + TimeDelta::minutes(84 * 60 + 30)), 0.5));
    }

    fn dates(grain: PeriodGrain, day: NaiveDate, fiscal: u32) -> (NaiveDate, NaiveDate) {
        let p = period_containing(grain, day, AMS, fiscal);
        assert_eq!(p.grain, Some(grain));
        assert_eq!(p.start, start_of_day(p.start_date, AMS));
        assert_eq!(p.end, start_of_day(p.end_date, AMS));
        assert!(p.start_date <= day && day < p.end_date);
        (p.start_date, p.end_date)
    }

    #[test]
    fn days_and_months() {
        assert_eq!(dates(PeriodGrain::Day, date(2026, 12, 31), 1), (date(2026, 12, 31), date(2027, 1, 1)));
        assert_eq!(dates(PeriodGrain::Month, date(2026, 2, 14), 4), (date(2026, 2, 1), date(2026, 3, 1)));
        assert_eq!(dates(PeriodGrain::Month, date(2028, 2, 29), 1), (date(2028, 2, 1), date(2028, 3, 1)));
        assert_eq!(dates(PeriodGrain::Month, date(2026, 12, 31), 10), (date(2026, 12, 1), date(2027, 1, 1)));
        assert_eq!(dates(PeriodGrain::Month, date(2026, 1, 1), 1), (date(2026, 1, 1), date(2026, 2, 1)));
        let march = period_containing(PeriodGrain::Month, date(2026, 3, 10), AMS, 1);
        assert_eq!(hours(&march), 31 * 24 - 1);
    }

    #[test]
    fn quarters_follow_the_fiscal_year() {
        let q = |y, m, day, fiscal| dates(PeriodGrain::Quarter, date(y, m, day), fiscal);
        // Calendar fiscal year.
        assert_eq!(q(2026, 1, 1, 1), (date(2026, 1, 1), date(2026, 4, 1)));
        assert_eq!(q(2026, 3, 31, 1), (date(2026, 1, 1), date(2026, 4, 1)));
        assert_eq!(q(2026, 4, 1, 1), (date(2026, 4, 1), date(2026, 7, 1)));
        assert_eq!(q(2026, 12, 31, 1), (date(2026, 10, 1), date(2027, 1, 1)));
        // Fiscal year from April: Apr-Jun, Jul-Sep, Oct-Dec, Jan-Mar.
        assert_eq!(q(2026, 4, 1, 4), (date(2026, 4, 1), date(2026, 7, 1)));
        assert_eq!(q(2026, 6, 30, 4), (date(2026, 4, 1), date(2026, 7, 1)));
        assert_eq!(q(2026, 8, 15, 4), (date(2026, 7, 1), date(2026, 10, 1)));
        assert_eq!(q(2026, 12, 31, 4), (date(2026, 10, 1), date(2027, 1, 1)));
        assert_eq!(q(2027, 1, 1, 4), (date(2027, 1, 1), date(2027, 4, 1)));
        assert_eq!(q(2027, 3, 31, 4), (date(2027, 1, 1), date(2027, 4, 1)));
        // Fiscal year from October: Oct-Dec, Jan-Mar, Apr-Jun, Jul-Sep.
        assert_eq!(q(2026, 10, 1, 10), (date(2026, 10, 1), date(2027, 1, 1)));
        assert_eq!(q(2026, 9, 30, 10), (date(2026, 7, 1), date(2026, 10, 1)));
        assert_eq!(q(2027, 2, 2, 10), (date(2027, 1, 1), date(2027, 4, 1)));
        // Fiscal years whose quarters straddle the calendar year (start month 2 or 11).
        assert_eq!(q(2027, 1, 15, 2), (date(2026, 11, 1), date(2027, 2, 1)));
        assert_eq!(q(2026, 12, 1, 11), (date(2026, 11, 1), date(2027, 2, 1)));
        assert_eq!(q(2027, 1, 31, 11), (date(2026, 11, 1), date(2027, 2, 1)));
        assert_eq!(q(2027, 2, 1, 11), (date(2027, 2, 1), date(2027, 5, 1)));
        // Every quarter is three months and every date of a year falls in exactly one.
        for fiscal in 1..=12 {
            let mut day = date(2026, 1, 1);
            while day < date(2027, 1, 1) {
                let (start, end) = q(day.year(), day.month(), day.day(), fiscal);
                assert_eq!(add_months(start, 3), end);
                assert_eq!((start.month0() + 12 - (fiscal - 1)) % 3, 0, "fiscal {fiscal}, {day}");
                day = next_day(day);
            }
        }
    }

    #[test]
    fn years_follow_the_fiscal_year() {
        let y = |yy, m, day, fiscal| dates(PeriodGrain::Year, date(yy, m, day), fiscal);
        assert_eq!(y(2026, 1, 1, 1), (date(2026, 1, 1), date(2027, 1, 1)));
        assert_eq!(y(2026, 12, 31, 1), (date(2026, 1, 1), date(2027, 1, 1)));
        assert_eq!(y(2026, 3, 31, 4), (date(2025, 4, 1), date(2026, 4, 1)));
        assert_eq!(y(2026, 4, 1, 4), (date(2026, 4, 1), date(2027, 4, 1)));
        assert_eq!(y(2026, 12, 31, 4), (date(2026, 4, 1), date(2027, 4, 1)));
        assert_eq!(y(2026, 9, 30, 10), (date(2025, 10, 1), date(2026, 10, 1)));
        assert_eq!(y(2026, 10, 1, 10), (date(2026, 10, 1), date(2027, 10, 1)));
        assert_eq!(y(2027, 1, 1, 10), (date(2026, 10, 1), date(2027, 10, 1)));
        assert_eq!(y(2026, 11, 30, 12), (date(2025, 12, 1), date(2026, 12, 1)));
        // Out-of-range fiscal months are clamped rather than panicking.
        assert_eq!(y(2026, 5, 5, 0), (date(2026, 1, 1), date(2027, 1, 1)));
        assert_eq!(y(2026, 5, 5, 13), (date(2025, 12, 1), date(2026, 12, 1)));
    }

    #[test]
    fn previous_periods() {
        let prev = |g, day, fiscal| {
            let p = period_containing(g, day, AMS, fiscal);
            let before = previous_period(&p, AMS, fiscal).expect("previous");
            assert_eq!(before.grain, Some(g));
            assert_eq!(before.end_date, p.start_date);
            assert_eq!(before.end, p.start);
            (before.start_date, before.end_date)
        };
        assert_eq!(prev(PeriodGrain::Day, date(2026, 1, 1), 1), (date(2025, 12, 31), date(2026, 1, 1)));
        assert_eq!(prev(PeriodGrain::Week, date(2026, 3, 30), 1), (date(2026, 3, 23), date(2026, 3, 30)));
        assert_eq!(prev(PeriodGrain::Week, date(2026, 1, 1), 1), (date(2025, 12, 22), date(2025, 12, 29)));
        assert_eq!(prev(PeriodGrain::Month, date(2026, 3, 31), 1), (date(2026, 2, 1), date(2026, 3, 1)));
        assert_eq!(prev(PeriodGrain::Month, date(2026, 1, 31), 1), (date(2025, 12, 1), date(2026, 1, 1)));
        assert_eq!(prev(PeriodGrain::Quarter, date(2026, 2, 1), 1), (date(2025, 10, 1), date(2026, 1, 1)));
        assert_eq!(prev(PeriodGrain::Quarter, date(2026, 4, 10), 4), (date(2026, 1, 1), date(2026, 4, 1)));
        assert_eq!(prev(PeriodGrain::Quarter, date(2026, 10, 10), 10), (date(2026, 7, 1), date(2026, 10, 1)));
        assert_eq!(prev(PeriodGrain::Year, date(2026, 5, 1), 4), (date(2025, 4, 1), date(2026, 4, 1)));
        assert_eq!(prev(PeriodGrain::Year, date(2026, 5, 1), 10), (date(2024, 10, 1), date(2025, 10, 1)));
        let custom = custom_period(utc("2026-09-01T00:00:00Z"), utc("2026-10-01T00:00:00Z"), AMS);
        assert_eq!(previous_period(&custom, AMS, 1), None);
    }

    #[test]
    fn extreme_dates_do_not_panic() {
        for day in [NaiveDate::MIN, NaiveDate::MAX, date(-1, 1, 1), date(1, 1, 1)] {
            for grain in
                [PeriodGrain::Day, PeriodGrain::Week, PeriodGrain::Month, PeriodGrain::Quarter, PeriodGrain::Year]
            {
                for fiscal in [1, 4, 10] {
                    let p = period_containing(grain, day, AMS, fiscal);
                    let _ = previous_period(&p, AMS, fiscal);
                    let _ = elapsed_share(&p, Utc::now());
                }
            }
            let _ = start_of_day(day, chrono_tz::America::Santiago);
            let _ = check_occurred_at(Utc::now(), Utc::now(), day, AMS, 30);
        }
        let _ = custom_period(DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC, AMS);
        let _ = local_date(DateTime::<Utc>::MAX_UTC, AMS);
    }

    #[test]
    fn custom_periods() {
        // A campaign from local midnight to local midnight.
        let p = custom_period(utc("2026-08-31T22:00:00Z"), utc("2026-09-30T22:00:00Z"), AMS);
        assert_eq!(p.grain, None);
        assert_eq!((p.start_date, p.end_date), (date(2026, 9, 1), date(2026, 10, 1)));
        assert_eq!((p.start, p.end), (utc("2026-08-31T22:00:00Z"), utc("2026-09-30T22:00:00Z")));
        // Ending mid-day covers that day too.
        let p = custom_period(utc("2026-09-10T08:00:00Z"), utc("2026-09-12T15:00:00Z"), AMS);
        assert_eq!((p.start_date, p.end_date), (date(2026, 9, 10), date(2026, 9, 13)));
        // Within one day.
        let p = custom_period(utc("2026-09-10T08:00:00Z"), utc("2026-09-10T09:00:00Z"), AMS);
        assert_eq!((p.start_date, p.end_date), (date(2026, 9, 10), date(2026, 9, 11)));
        // Empty and reversed windows are empty.
        let p = custom_period(utc("2026-09-10T08:00:00Z"), utc("2026-09-10T08:00:00Z"), AMS);
        assert_eq!((p.start_date, p.end_date), (date(2026, 9, 10), date(2026, 9, 10)));
        let p = custom_period(utc("2026-09-10T08:00:00Z"), utc("2026-09-01T08:00:00Z"), AMS);
        assert_eq!(p.end, p.start);
        assert_eq!(elapsed_share(&p, utc("2026-09-10T07:00:00Z")), 0.0);
        assert_eq!(elapsed_share(&p, utc("2026-09-10T08:00:00Z")), 1.0);
    }

    #[test]
    fn elapsed_shares() {
        let week = period_containing(PeriodGrain::Week, date(2026, 6, 10), AMS, 1);
        assert_eq!(elapsed_share(&week, week.start), 0.0);
        assert_eq!(elapsed_share(&week, week.start - TimeDelta::days(3)), 0.0);
        assert!(approx(elapsed_share(&week, week.start + TimeDelta::hours(84)), 0.5));
        assert!(approx(elapsed_share(&week, week.start + TimeDelta::hours(42)), 0.25));
        assert_eq!(elapsed_share(&week, week.end), 1.0);
        assert_eq!(elapsed_share(&week, week.end + TimeDelta::days(30)), 1.0);
        // The 167-hour week: after 83.5 hours it is half over.
        let spring = period_containing(PeriodGrain::Week, date(2026, 3, 23), AMS, 1);
        assert!(approx(elapsed_share(&spring, spring.start + TimeDelta::minutes(83 * 60 + 30)), 0.5));
    }

    #[test]
    fn a_day_the_zone_skipped_is_an_empty_period() {
        // Kanton went from UTC−11 to UTC+13 after 1994-12-30; Samoa skipped 2011-12-30.
        for (tz, day) in
            [(chrono_tz::Pacific::Kanton, date(1994, 12, 31)), (chrono_tz::Pacific::Apia, date(2011, 12, 30))]
        {
            let p = period_containing(PeriodGrain::Day, day, tz, 1);
            assert_eq!(p.start, p.end, "{tz} {day}: {p:?}");
            assert_eq!((p.start_date, p.end_date), (day, day.succ_opt().expect("date")));
            assert_ne!(local_date(p.start, tz), day, "no instant of {day} exists in {tz}");
            // Its neighbours are whole and touch it, and its week still lasts 6 days of instants.
            let before = period_containing(PeriodGrain::Day, day.pred_opt().expect("date"), tz, 1);
            let after = period_containing(PeriodGrain::Day, day.succ_opt().expect("date"), tz, 1);
            assert_eq!((before.end, after.start), (p.start, p.end));
            assert_eq!((after.end - after.start).num_hours(), 24);
            let week = period_containing(PeriodGrain::Week, day, tz, 1);
            assert_eq!((week.end - week.start).num_hours(), 6 * 24);
            // Pacing over it does not divide by zero: nothing before it, all of it after.
            assert_eq!(elapsed_share(&p, p.start - TimeDelta::hours(1)), 0.0);
            assert_eq!(elapsed_share(&p, p.end), 1.0);
        }
    }

    // ----- targets -----

    #[test]
    fn a_lazy_attainment_is_the_attainment_computed_once() {
        for (cents, target) in
            [(5_000, Some(d("40"))), (0, Some(d("40"))), (5_000, None), (-250, Some(d("3"))), (1, Some(d("0.00")))]
        {
            let lazy = Attainment::new(cents, target);
            let copy = lazy.clone();
            assert_eq!(lazy.percent(), attainment_percent(Decimal::new(cents, 2), target), "{cents} of {target:?}");
            assert_eq!(lazy.percent(), copy.percent(), "a copy made before answers the same");
            let answered = lazy.clone();
            assert_eq!(answered.percent.get(), Some(&lazy.percent()), "a copy of an answered one carries the answer");
            assert_eq!(lazy, copy);
        }
        assert_ne!(Attainment::new(1, None), Attainment::new(2, None));
        assert_ne!(Attainment::new(1, Some(d("1"))), Attainment::new(1, None));
        assert!(Attainment::new(1, None).percent.get().is_none(), "nothing computed until asked");
    }

    #[test]
    fn attainment_and_pacing() {
        assert_eq!(attainment_percent(d("50"), None), None);
        assert_eq!(attainment_percent(d("50"), Some(Decimal::ZERO)), None);
        assert_eq!(attainment_percent(d("50"), Some(d("0.00"))), None);
        assert_eq!(attainment_percent(d("50"), Some(d("-10"))), None);
        assert_eq!(attainment_percent(d("50"), Some(d("40"))), Some(125.0));
        assert_eq!(attainment_percent(d("20"), Some(d("40"))), Some(50.0));
        assert_eq!(attainment_percent(Decimal::ZERO, Some(d("40"))), Some(0.0));
        assert_eq!(attainment_percent(d("120"), Some(d("40"))), Some(300.0)); // uncapped
        assert!(approx(attainment_percent(d("1"), Some(d("3"))).expect("some"), 100.0 / 3.0));
        assert!(attainment_percent(Decimal::MAX, Some(d("0.0001"))).expect("some").is_finite());

        assert_eq!(pacing_percent(None, 0.5), None);
        assert_eq!(pacing_percent(Some(50.0), 0.0), None);
        assert_eq!(pacing_percent(Some(50.0), f64::NAN), None);
        assert_eq!(pacing_percent(Some(50.0), 0.5), Some(100.0));
        assert_eq!(pacing_percent(Some(25.0), 0.5), Some(50.0));
        assert_eq!(pacing_percent(Some(0.0), 0.5), Some(0.0));
        assert_eq!(pacing_percent(Some(80.0), 1.0), Some(80.0));
        // Chained with a real period: 30 of 40 points a quarter into the week paces at 300 %.
        let week = period_containing(PeriodGrain::Week, date(2026, 6, 10), AMS, 1);
        let share = elapsed_share(&week, week.start + TimeDelta::hours(42));
        let pacing = pacing_percent(attainment_percent(d("30"), Some(d("40"))), share).expect("pacing");
        assert!(approx(pacing, 300.0));
    }

    #[test]
    fn suggested_targets() {
        let weeks = |v: &[i64]| v.iter().map(|&x| Decimal::from(x)).collect::<Vec<_>>();
        assert_eq!(suggested_target(&[]), None);
        assert_eq!(suggested_target(&weeks(&[10, 20, 30])), None);
        // n = 4: rank 2.4 over [10, 20, 30, 40] -> 30 + 0.4 × 10 = 34 (numpy: 34.0).
        assert_eq!(suggested_target(&weeks(&[40, 10, 30, 20])), Some(d("34")));
        // n = 12: rank 8.8 over 1..=12 -> 9 + 0.8 = 9.8 (numpy: 9.8).
        assert_eq!(suggested_target(&weeks(&[12, 1, 11, 2, 10, 3, 9, 4, 8, 5, 7, 6])), Some(d("9.8")));
        // n = 12 realistic: sorted [0,5,8,10,12,12,14,15,18,20,25,40], rank 8.8 -> 18 + 0.8 × 2 = 19.6.
        assert_eq!(suggested_target(&weeks(&[12, 18, 0, 25, 10, 14, 40, 5, 20, 8, 15, 12])), Some(d("19.6")));
        // n = 6: rank 4.0 exactly -> the 5th smallest.
        assert_eq!(suggested_target(&weeks(&[6, 5, 4, 3, 2, 1])), Some(d("5")));
        // Constant history suggests that constant.
        assert_eq!(suggested_target(&weeks(&[15; 12])), Some(d("15")));
        assert_eq!(suggested_target(&weeks(&[0; 4])), Some(Decimal::ZERO));
        // Rounded to 2 decimals: n = 5, rank 3.2 over [0, 0, 0, 1.11, 2.22] -> 1.11 + 0.2 × 1.11 = 1.332.
        let frac = [d("0"), d("2.22"), d("0"), d("1.11"), d("0")];
        assert_eq!(suggested_target(&frac), Some(d("1.33")));
        // n = 9: rank 6.4 over [1.1, 1.2, ..., 1.9] -> 1.7 + 0.4 × 0.1 = 1.74.
        let nine: Vec<Decimal> = (11..=19).map(|x| Decimal::new(x, 1)).collect();
        assert_eq!(suggested_target(&nine), Some(d("1.74")));
    }

    #[test]
    fn streaks() {
        let w = |p: &str, t: Option<&str>| (d(p), t.map(d));
        assert_eq!(streak_weeks(&[]), 0);
        assert_eq!(
            streak_weeks(&[w("50", Some("40")), w("40", Some("40")), w("39", Some("40")), w("90", Some("40"))]),
            2
        );
        assert_eq!(streak_weeks(&[w("10", Some("40")), w("50", Some("40"))]), 0);
        assert_eq!(streak_weeks(&[w("50", Some("40")); 5]), 5);
        // A week without a target ends the streak.
        assert_eq!(streak_weeks(&[w("50", Some("40")), w("50", None), w("50", Some("40"))]), 1);
        assert_eq!(streak_weeks(&[w("50", Some("0")), w("50", Some("40"))]), 0);
        assert_eq!(streak_weeks(&[w("0", Some("0"))]), 0);
        // Targets can change from week to week.
        assert_eq!(streak_weeks(&[w("30", Some("30")), w("45", Some("40")), w("45", Some("50"))]), 2);
    }

    // ----- ranking -----

    #[test]
    fn competition_ranking() {
        let items = vec![("Dana", Some(30.0)), ("bob", Some(50.0)), ("Alice", Some(50.0)), ("Carl", Some(70.0))];
        let ranked = rank(items, |i| i.1, |i| i.0.to_owned());
        let got: Vec<(u32, &str)> = ranked.iter().map(|(r, i)| (*r, i.0)).collect();
        assert_eq!(got, vec![(1, "Carl"), (2, "Alice"), (2, "bob"), (4, "Dana")]);
    }

    #[test]
    fn ranking_orders_names_case_insensitively_and_puts_missing_values_last() {
        let items = vec![
            ("zed", None),
            ("Eve", Some(10.0)),
            ("adam", Some(10.0)),
            ("Bea", Some(f64::NAN)),
            ("Carl", Some(-5.0)),
            ("Abe", None),
            ("Zoe", Some(100.0)),
            ("ADAM", Some(10.0)),
        ];
        let ranked = rank(items, |i| i.1, |i| i.0.to_owned());
        let got: Vec<(u32, &str)> = ranked.iter().map(|(r, i)| (*r, i.0)).collect();
        assert_eq!(
            got,
            vec![(1, "Zoe"), (2, "ADAM"), (2, "adam"), (2, "Eve"), (5, "Carl"), (6, "Abe"), (6, "Bea"), (6, "zed")]
        );
    }

    #[test]
    fn ranking_edge_cases() {
        let none: Vec<(u32, &str)> = rank(Vec::<&str>::new(), |_| Some(1.0), |s| (*s).to_owned());
        assert!(none.is_empty());
        let all_equal = rank(vec!["c", "a", "b"], |_| Some(0.0), |s| (*s).to_owned());
        assert_eq!(all_equal, vec![(1, "a"), (1, "b"), (1, "c")]);
        let all_missing = rank(vec!["b", "a"], |_| None, |s| (*s).to_owned());
        assert_eq!(all_missing, vec![(1, "a"), (1, "b")]);
        // -0.0 equals 0.0; infinities sort at the ends of the valued items.
        let items =
            vec![("a", Some(0.0)), ("b", Some(-0.0)), ("c", Some(f64::INFINITY)), ("d", Some(f64::NEG_INFINITY))];
        let ranked = rank(items, |i| i.1, |i| i.0.to_owned());
        let got: Vec<(u32, &str)> = ranked.iter().map(|(r, i)| (*r, i.0)).collect();
        assert_eq!(got, vec![(1, "c"), (2, "a"), (2, "b"), (4, "d")]);
        // Percent-of-target leaderboards: a fractional value ties only when exactly equal.
        let items = vec![("x", Some(100.0 / 3.0)), ("y", Some(100.0 / 3.0)), ("z", Some(33.33))];
        let ranked = rank(items, |i| i.1, |i| i.0.to_owned());
        assert_eq!(ranked.iter().map(|(r, _)| *r).collect::<Vec<_>>(), vec![1, 1, 3]);
    }
}
