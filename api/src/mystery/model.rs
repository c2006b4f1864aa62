//! Mystery-check rules: choosing the month's auditor (round robin), drawing a reproducible random
//! sample of each rep's deals, validating an auditor's scores against the criteria, and the
//! per-rep totals and team average. Pure functions, no I/O.
//!
//! # Who audits whom
//!
//! Each month one member of the team is the auditor; the rotation walks the team in UUID order
//! and never hands the role to last month's auditor twice in a row. Nobody audits themself: the
//! auditor is not an audited rep in their own round ([`audited_reps`]). Because the role rotates,
//! every rep's deals are audited in the other months; a one-member team has nobody to audit it
//! and gets no round.
//!
//! # Reproducible samples
//!
//! A rep's sample is the `n` deals with the smallest SHA-256 of (seed, deal ID), where the seed
//! is a SHA-256 of (round ID, rep ID). Anyone can recompute it from the round and the deal list;
//! it does not depend on the order the deals are listed in, nor on a random-number library's
//! version, and a larger `n` extends a smaller sample rather than reshuffling it.

use std::collections::{BTreeMap, HashSet};

use async_graphql::Enum;
use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::core::field::FieldError;

/// Where one mystery check (one sampled deal) stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum MysteryCheckStatus {
    /// Drawn for the round, not yet scored by the auditor.
    Pending,
    /// Scored by the auditor.
    Scored,
}

impl MysteryCheckStatus {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            MysteryCheckStatus::Pending => "PENDING",
            MysteryCheckStatus::Scored => "SCORED",
        }
    }

    /// Parses the stored form; unknown values are `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "PENDING" => MysteryCheckStatus::Pending,
            "SCORED" => MysteryCheckStatus::Scored,
            _ => return None,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Input validation
// ---------------------------------------------------------------------------------------------

/// Fewest deals sampled per rep.
pub const MIN_SAMPLES_PER_REP: u32 = 1;
/// Most deals sampled per rep (an auditor's month has other work too).
pub const MAX_SAMPLES_PER_REP: u32 = 20;
/// Most points one criterion may be worth.
pub const MAX_CRITERION_POINTS: i32 = 1000;

/// Deals to sample per rep: `1..=20`.
pub fn parse_samples_per_rep(n: i32) -> Result<u32, FieldError> {
    match u32::try_from(n) {
        Ok(n) if (MIN_SAMPLES_PER_REP..=MAX_SAMPLES_PER_REP).contains(&n) => Ok(n),
        _ => Err(FieldError::new(
            "samplesPerRep",
            "OUT_OF_RANGE",
            format!("must be between {MIN_SAMPLES_PER_REP} and {MAX_SAMPLES_PER_REP}"),
        )),
    }
}

/// A criterion's points (the most an auditor can award for it): `1..=1000`, whole points
/// (complete CRM profile 50, complete call report 100).
pub fn parse_criterion_points(points: i32) -> Result<i32, FieldError> {
    if (1..=MAX_CRITERION_POINTS).contains(&points) {
        Ok(points)
    } else {
        Err(FieldError::new("points", "OUT_OF_RANGE", format!("must be between 1 and {MAX_CRITERION_POINTS}")))
    }
}

/// The first day of the month containing `date` (a round's month is stored as its first day).
pub fn month_start(date: NaiveDate) -> NaiveDate {
    date.with_day(1).unwrap_or(date)
}

/// The half-open date range `[first day, first day of next month)` of the month containing `date`.
pub fn month_range(date: NaiveDate) -> (NaiveDate, NaiveDate) {
    let start = month_start(date);
    (start, start.checked_add_months(Months::new(1)).unwrap_or(NaiveDate::MAX))
}

/// Whether a deal was active during `[start, end)`: its lead had come in before `end` and it was
/// not closed before `start`. These are the deals a round samples from.
pub fn deal_active_during(
    lead_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> bool {
    lead_at < end && closed_at.is_none_or(|c| c >= start)
}

// ---------------------------------------------------------------------------------------------
// Auditor and samples
// ---------------------------------------------------------------------------------------------

/// The first 8 bytes of the SHA-256 of `parts` (each length-prefixed, so parts cannot run
/// into each other), big-endian.
fn hash_u64(parts: &[&[u8]]) -> u64 {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// The seed that places a team's very first auditor: SHA-256 of (team, month), so the first
/// round does not always burden the member with the smallest ID.
pub fn auditor_seed(team_id: Uuid, month: NaiveDate) -> u64 {
    let month = month_start(month).format("%Y-%m").to_string();
    hash_u64(&[b"scorebord.mystery.auditor.v1", team_id.as_bytes(), month.as_bytes()])
}

/// The seed of one rep's sample in one round: SHA-256 of (round, rep).
pub fn sample_seed(round_id: Uuid, rep_id: Uuid) -> u64 {
    hash_u64(&[b"scorebord.mystery.sample.v1", round_id.as_bytes(), rep_id.as_bytes()])
}

/// The auditor of the next round: round robin over the team in UUID order (the input is sorted
/// and deduplicated here, so any order works). The next member after `last_auditor` (the
/// previous round's auditor), wrapping around; when that auditor has left the team, the first
/// member after their ID, so the rotation carries on where it was. Without a previous round,
/// the member at `round_seed mod team size` ([`auditor_seed`]).
///
/// Never last round's auditor. A team of fewer than two members gets no auditor (`None`): the
/// only member would have to audit themself.
pub fn pick_auditor(team_members_sorted: &[Uuid], last_auditor: Option<Uuid>, round_seed: u64) -> Option<Uuid> {
    let mut team = team_members_sorted.to_vec();
    team.sort_unstable();
    team.dedup();
    if team.len() < 2 {
        return None;
    }
    let Some(last) = last_auditor else {
        let index = usize::try_from(round_seed % team.len() as u64).ok()?;
        return team.get(index).copied();
    };
    Some(team.iter().copied().find(|m| *m > last).unwrap_or(team[0]))
}

/// The reps audited in a round: the team without the auditor (in UUID order, deduplicated).
pub fn audited_reps(team_members: &[Uuid], auditor: Uuid) -> Vec<Uuid> {
    let mut reps: Vec<Uuid> = team_members.iter().copied().filter(|m| *m != auditor).collect();
    reps.sort_unstable();
    reps.dedup();
    reps
}

/// A reproducible random sample of `n` of a rep's deals, without replacement: the `n` deals
/// with the smallest SHA-256 of (`seed`, deal ID), in that order. Duplicates are dropped first,
/// so the input order and repeats do not matter; with `n` or fewer deals, all of them.
pub fn sample_deals(deals_of_rep: &[Uuid], n: usize, seed: u64) -> Vec<Uuid> {
    let seed = seed.to_be_bytes();
    let mut ranked: Vec<(u64, Uuid)> = deals_of_rep
        .iter()
        .copied()
        .collect::<HashSet<Uuid>>()
        .into_iter()
        .map(|deal| (hash_u64(&[b"scorebord.mystery.rank.v1", &seed, deal.as_bytes()]), deal))
        .collect();
    ranked.sort_unstable();
    ranked.into_iter().take(n).map(|(_, deal)| deal).collect()
}

/// What a new round checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoundPlan {
    /// The month's auditor.
    pub auditor: Uuid,
    /// Per audited rep (UUID order), the sampled deals; a rep without active deals has an empty
    /// sample.
    pub samples: Vec<(Uuid, Vec<Uuid>)>,
}

/// Plans a round: the auditor ([`pick_auditor`]) and, for every other member, a sample of
/// `samples_per_rep` of their active deals seeded by (round, rep). `None` when the team has no
/// auditor (fewer than two members).
pub fn plan_round(
    round_id: Uuid,
    team_members: &[Uuid],
    last_auditor: Option<Uuid>,
    round_seed: u64,
    active_deals_by_rep: &BTreeMap<Uuid, Vec<Uuid>>,
    samples_per_rep: u32,
) -> Option<RoundPlan> {
    let auditor = pick_auditor(team_members, last_auditor, round_seed)?;
    let n = usize::try_from(samples_per_rep).ok()?;
    let samples = audited_reps(team_members, auditor)
        .into_iter()
        .map(|rep| {
            let deals = active_deals_by_rep.get(&rep).map(Vec::as_slice).unwrap_or_default();
            (rep, sample_deals(deals, n, sample_seed(round_id, rep)))
        })
        .collect();
    Some(RoundPlan { auditor, samples })
}

// ---------------------------------------------------------------------------------------------
// Scoring
// ---------------------------------------------------------------------------------------------

/// A criterion as the round knows it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Criterion {
    /// The criterion's ID.
    pub id: Uuid,
    /// The most points an auditor can award for it.
    pub max_points: i32,
}

/// The points an auditor awards for one criterion.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Award {
    /// The criterion.
    pub criterion_id: Uuid,
    /// Points awarded, `0..=` the criterion's points.
    pub awarded: i32,
}

/// The score of one check (one sampled deal).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CheckScore {
    /// Points awarded.
    pub total: i64,
    /// Points available: the sum of the criteria's points.
    pub max_total: i64,
}

fn result_error(index: usize, field: &str, code: &'static str, message: impl Into<String>) -> FieldError {
    let mut path = vec!["input".to_owned(), "results".to_owned(), index.to_string()];
    path.push(field.to_owned());
    FieldError { field: path, message: message.into(), code }
}

/// Scores a check: every criterion must be scored exactly once, with a whole number of points
/// from 0 to its maximum. Returns every problem at once (unknown or duplicate criterion, value
/// out of range, criterion missing), each naming the offending `input.results.<i>` field.
pub fn score_check(criteria: &[Criterion], results: &[Award]) -> Result<CheckScore, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    let mut total = 0i64;
    for (i, award) in results.iter().enumerate() {
        let Some(criterion) = criteria.iter().find(|c| c.id == award.criterion_id) else {
            errors.push(result_error(i, "criterionId", "UNKNOWN", "is not a criterion of this round"));
            continue;
        };
        if !seen.insert(criterion.id) {
            errors.push(result_error(i, "criterionId", "DUPLICATE", "is scored more than once"));
            continue;
        }
        if !(0..=criterion.max_points).contains(&award.awarded) {
            errors.push(result_error(
                i,
                "awarded",
                "OUT_OF_RANGE",
                format!("must be between 0 and {}", criterion.max_points),
            ));
            continue;
        }
        total += i64::from(award.awarded);
    }
    let missing: Vec<String> = criteria.iter().filter(|c| !seen.contains(&c.id)).map(|c| c.id.to_string()).collect();
    if !missing.is_empty() {
        errors.push(FieldError::new("results", "REQUIRED", format!("criteria not scored: {}", missing.join(", "))));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(CheckScore { total, max_total: criteria.iter().map(|c| i64::from(c.max_points)).sum() })
}

/// A scored check of a rep.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ScoredCheck {
    /// The audited rep.
    pub rep: Uuid,
    /// Its score.
    pub score: CheckScore,
}

/// A rep's result in a round.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RepTotal {
    /// The rep.
    pub rep: Uuid,
    /// Checks scored.
    pub checks: u32,
    /// Points awarded over those checks.
    pub total: i64,
    /// Points available over those checks.
    pub max_total: i64,
}

impl RepTotal {
    /// Points awarded as a percentage of points available; `None` when nothing was available.
    /// Compares reps with different numbers of checks fairly.
    pub fn percent(&self) -> Option<Decimal> {
        if self.max_total == 0 {
            return None;
        }
        Decimal::from(self.total).checked_mul(Decimal::ONE_HUNDRED)?.checked_div(Decimal::from(self.max_total))
    }
}

/// Per-rep totals of a round's scored checks (pending checks are simply not passed), one per rep
/// with at least one scored check, in UUID order.
pub fn rep_totals(checks: &[ScoredCheck]) -> Vec<RepTotal> {
    let mut by_rep: BTreeMap<Uuid, RepTotal> = BTreeMap::new();
    for check in checks {
        let entry = by_rep.entry(check.rep).or_insert(RepTotal { rep: check.rep, checks: 0, total: 0, max_total: 0 });
        entry.checks += 1;
        entry.total += check.score.total;
        entry.max_total += check.score.max_total;
    }
    by_rep.into_values().collect()
}

/// The team average: the mean of the per-rep totals (reps without a scored check are not in
/// `reps`, so they do not pull it down); `None` when no check was scored.
pub fn team_average(reps: &[RepTotal]) -> Option<Decimal> {
    if reps.is_empty() {
        return None;
    }
    let sum: i64 = reps.iter().map(|r| r.total).sum();
    Decimal::from(sum).checked_div(Decimal::from(reps.len()))
}

/// The team average of the per-rep percentages (see [`RepTotal::percent`]); `None` when no rep
/// has one. Fairer than [`team_average`] when reps had different numbers of checks, e.g. for a
/// team bonus threshold.
pub fn team_average_percent(reps: &[RepTotal]) -> Option<Decimal> {
    let percents: Vec<Decimal> = reps.iter().filter_map(RepTotal::percent).collect();
    if percents.is_empty() {
        return None;
    }
    percents.iter().try_fold(Decimal::ZERO, |acc, p| acc.checked_add(*p))?.checked_div(Decimal::from(percents.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn ids(ns: &[u128]) -> Vec<Uuid> {
        ns.iter().map(|&n| id(n)).collect()
    }

    fn date(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("{s}T00:00:00Z")).expect("rfc3339").with_timezone(&Utc)
    }

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    // ----- inputs -----

    #[test]
    fn statuses_round_trip() {
        for s in [MysteryCheckStatus::Pending, MysteryCheckStatus::Scored] {
            assert_eq!(MysteryCheckStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(MysteryCheckStatus::parse("pending"), None);
    }

    #[test]
    fn inputs() {
        assert_eq!(parse_samples_per_rep(1), Ok(1));
        assert_eq!(parse_samples_per_rep(20), Ok(20));
        assert_eq!(parse_samples_per_rep(0).map_err(|e| e.code), Err("OUT_OF_RANGE"));
        assert!(parse_samples_per_rep(21).is_err());
        assert!(parse_samples_per_rep(-2).is_err());
        assert_eq!(parse_criterion_points(50), Ok(50));
        assert_eq!(parse_criterion_points(1000), Ok(1000));
        assert!(parse_criterion_points(0).is_err());
        assert!(parse_criterion_points(1001).is_err());
        assert_eq!(parse_criterion_points(-5).map_err(|e| e.field), Err(vec!["input".to_owned(), "points".to_owned()]));
    }

    #[test]
    fn months_and_active_deals() {
        assert_eq!(month_start(date(2026, 3, 17)), date(2026, 3, 1));
        assert_eq!(month_range(date(2026, 12, 31)), (date(2026, 12, 1), date(2027, 1, 1)));
        assert_eq!(month_range(date(2028, 2, 10)), (date(2028, 2, 1), date(2028, 3, 1)));
        let (start, end) = (t("2026-03-01"), t("2026-04-01"));
        assert!(deal_active_during(t("2026-03-10"), None, start, end)); // new in the month
        assert!(deal_active_during(t("2026-01-10"), None, start, end)); // open throughout
        assert!(deal_active_during(t("2026-01-10"), Some(t("2026-03-01")), start, end)); // closed on the 1st
        assert!(!deal_active_during(t("2026-01-10"), Some(t("2026-02-28")), start, end)); // closed before
        assert!(!deal_active_during(t("2026-04-01"), None, start, end)); // came in after
    }

    // ----- auditor -----

    #[test]
    fn first_auditor_comes_from_the_seed() {
        let team = ids(&[1, 2, 3, 4]);
        assert_eq!(pick_auditor(&team, None, 0), Some(id(1)));
        assert_eq!(pick_auditor(&team, None, 5), Some(id(2)));
        assert_eq!(pick_auditor(&team, None, u64::MAX), Some(id(4))); // 2^64 - 1 ≡ 3 (mod 4)
        // The seed of a team and month is stable and ignores the day.
        let seed = auditor_seed(id(9), date(2026, 3, 1));
        assert_eq!(seed, auditor_seed(id(9), date(2026, 3, 31)));
        assert_ne!(seed, auditor_seed(id(9), date(2026, 4, 1)));
        assert_ne!(seed, auditor_seed(id(8), date(2026, 3, 1)));
    }

    #[test]
    fn auditor_rotates_round_robin_over_the_months() {
        let team = ids(&[1, 2, 3, 4]);
        let mut last = None;
        let mut auditors = Vec::new();
        for _month in 0..9 {
            let auditor = pick_auditor(&team, last, 2).expect("auditor");
            assert_ne!(Some(auditor), last, "never last month's auditor");
            auditors.push(auditor);
            last = Some(auditor);
        }
        assert_eq!(auditors, ids(&[3, 4, 1, 2, 3, 4, 1, 2, 3]));
        // The seed only places the first auditor.
        assert_eq!(pick_auditor(&team, Some(id(2)), 0), Some(id(3)));
        assert_eq!(pick_auditor(&team, Some(id(2)), 1), Some(id(3)));
    }

    #[test]
    fn auditor_order_does_not_depend_on_the_input_order() {
        let sorted = ids(&[1, 2, 3, 4]);
        let shuffled = ids(&[3, 1, 4, 2, 3]);
        for last in [None, Some(id(1)), Some(id(4)), Some(id(3))] {
            for seed in [0, 1, 7] {
                assert_eq!(pick_auditor(&shuffled, last, seed), pick_auditor(&sorted, last, seed));
            }
        }
    }

    #[test]
    fn auditor_rotation_survives_team_changes() {
        // Last month's auditor (4) has left: the next one after them in order.
        assert_eq!(pick_auditor(&ids(&[1, 3, 5]), Some(id(4)), 0), Some(id(5)));
        assert_eq!(pick_auditor(&ids(&[1, 3, 5]), Some(id(6)), 0), Some(id(1)));
        assert_eq!(pick_auditor(&ids(&[1, 3, 5]), Some(id(0)), 0), Some(id(1)));
        // A newcomer (4) takes their turn in order instead of restarting the rotation.
        assert_eq!(pick_auditor(&ids(&[1, 2, 3]), Some(id(3)), 0), Some(id(1)));
        assert_eq!(pick_auditor(&ids(&[1, 2, 3, 4]), Some(id(3)), 0), Some(id(4)));
    }

    #[test]
    fn small_teams() {
        // One member: nobody to audit them (and they may not audit themself).
        assert_eq!(pick_auditor(&ids(&[1]), None, 0), None);
        assert_eq!(pick_auditor(&ids(&[1]), Some(id(1)), 0), None);
        assert_eq!(pick_auditor(&ids(&[1, 1]), None, 0), None);
        assert_eq!(pick_auditor(&[], None, 0), None);
        // Two members take turns, each auditing the other.
        let team = ids(&[7, 3]);
        assert_eq!(pick_auditor(&team, None, 1), Some(id(7)));
        assert_eq!(pick_auditor(&team, Some(id(7)), 1), Some(id(3)));
        assert_eq!(pick_auditor(&team, Some(id(3)), 1), Some(id(7)));
        assert_eq!(audited_reps(&team, id(7)), ids(&[3]));
        assert_eq!(audited_reps(&team, id(3)), ids(&[7]));
    }

    #[test]
    fn never_last_months_auditor_and_never_an_outsider() {
        for size in 2..=7u128 {
            let team: Vec<Uuid> = (1..=size).map(|n| id(n * 10)).collect();
            for last in team.iter().copied().map(Some).chain([None, Some(id(5)), Some(id(999))]) {
                for seed in 0..10 {
                    let auditor = pick_auditor(&team, last, seed).expect("auditor");
                    assert!(team.contains(&auditor));
                    assert_ne!(Some(auditor), last);
                }
            }
        }
    }

    #[test]
    fn nobody_audits_themself() {
        let team = ids(&[4, 2, 3, 2]);
        assert_eq!(audited_reps(&team, id(3)), ids(&[2, 4]));
        assert_eq!(audited_reps(&team, id(9)), ids(&[2, 3, 4]));
    }

    // ----- samples -----

    #[test]
    fn samples_are_reproducible_and_order_independent() {
        let deals: Vec<Uuid> = (1..=10).map(id).collect();
        let seed = sample_seed(id(100), id(7));
        let sample = sample_deals(&deals, 3, seed);
        assert_eq!(sample.len(), 3);
        assert_eq!(sample, sample_deals(&deals, 3, seed));
        let mut reversed = deals.clone();
        reversed.reverse();
        assert_eq!(sample_deals(&reversed, 3, seed), sample);
        let mut with_duplicates = deals.clone();
        with_duplicates.extend(deals.iter().take(4));
        assert_eq!(sample_deals(&with_duplicates, 3, seed), sample);
        // Without replacement.
        let set: HashSet<Uuid> = sample.iter().copied().collect();
        assert_eq!(set.len(), 3);
        assert!(sample.iter().all(|s| deals.contains(s)));
        // A larger sample extends a smaller one.
        let five = sample_deals(&deals, 5, seed);
        assert_eq!(five[..3], sample[..]);
    }

    #[test]
    fn samples_are_pinned_across_releases() {
        // SHA-256 based: these values must never change, or past rounds could not be re-derived.
        let deals: Vec<Uuid> = (1..=10).map(id).collect();
        let seed = sample_seed(id(100), id(7));
        assert_eq!(seed, PINNED_SEED);
        assert_eq!(sample_deals(&deals, 3, seed), ids(&PINNED_SAMPLE));
    }

    // Recomputed independently (Python hashlib) from the documented encoding: each part
    // length-prefixed as a big-endian u64, the first 8 digest bytes big-endian.
    const PINNED_SEED: u64 = 13_640_415_783_002_213_864;
    const PINNED_SAMPLE: [u128; 3] = [8, 7, 1];

    #[test]
    fn small_and_empty_samples() {
        let deals = ids(&[5, 3, 9]);
        let all = sample_deals(&deals, 10, 42);
        assert_eq!(all.len(), 3);
        let mut sorted = all.clone();
        sorted.sort();
        assert_eq!(sorted, ids(&[3, 5, 9]));
        assert_eq!(sample_deals(&deals, 3, 42), all);
        assert!(sample_deals(&deals, 0, 42).is_empty());
        assert!(sample_deals(&[], 3, 42).is_empty());
    }

    #[test]
    fn seeds_differ_by_round_and_rep() {
        let deals: Vec<Uuid> = (1..=30).map(id).collect();
        let a = sample_seed(id(1), id(2));
        assert_ne!(a, sample_seed(id(1), id(3)));
        assert_ne!(a, sample_seed(id(4), id(2)));
        assert_ne!(a, sample_seed(id(2), id(1)), "round and rep do not commute");
        // Different rounds draw different samples (from 30 deals, 3 at a time).
        let samples: HashSet<Vec<Uuid>> = (0..20).map(|r| sample_deals(&deals, 3, sample_seed(id(r), id(2)))).collect();
        assert!(samples.len() > 15);
    }

    #[test]
    fn samples_are_spread_evenly() {
        // Over 2,000 seeds, each of 10 deals should land in a sample of 3 about 600 times.
        let deals: Vec<Uuid> = (1..=10).map(id).collect();
        let mut hits: BTreeMap<Uuid, u32> = BTreeMap::new();
        for seed in 0..2000u64 {
            for deal in sample_deals(&deals, 3, seed) {
                *hits.entry(deal).or_default() += 1;
            }
        }
        assert_eq!(hits.len(), 10);
        for (deal, count) in hits {
            assert!((480..=720).contains(&count), "{deal}: {count}");
        }
    }

    #[test]
    fn round_plans() {
        let team = ids(&[1, 2, 3]);
        let round = id(500);
        let deals_by_rep = BTreeMap::from([
            (id(1), ids(&[11, 12, 13])),
            (id(2), ids(&[21, 22, 23, 24, 25])),
            // Rep 3 has no active deals.
        ]);
        let plan = plan_round(round, &team, None, 0, &deals_by_rep, 2).expect("plan");
        assert_eq!(plan.auditor, id(1));
        // The auditor's own deals are not sampled; everyone else's are.
        let reps: Vec<Uuid> = plan.samples.iter().map(|(rep, _)| *rep).collect();
        assert_eq!(reps, ids(&[2, 3]));
        assert_eq!(plan.samples[0].1, sample_deals(&deals_by_rep[&id(2)], 2, sample_seed(round, id(2))));
        assert_eq!(plan.samples[0].1.len(), 2);
        assert!(plan.samples[1].1.is_empty());
        // Reproducible.
        assert_eq!(plan_round(round, &team, None, 0, &deals_by_rep, 2), Some(plan.clone()));
        // Next month: the next auditor, and the previous auditor's deals are now sampled.
        let next = plan_round(id(501), &team, Some(plan.auditor), 0, &deals_by_rep, 2).expect("plan");
        assert_eq!(next.auditor, id(2));
        assert_eq!(next.samples.iter().map(|(rep, _)| *rep).collect::<Vec<_>>(), ids(&[1, 3]));
        assert_eq!(next.samples[0].1.len(), 2);
        // A one-member team has no round.
        assert_eq!(plan_round(round, &ids(&[1]), None, 0, &deals_by_rep, 2), None);
    }

    // ----- scoring -----

    fn criteria() -> Vec<Criterion> {
        vec![Criterion { id: id(1), max_points: 50 }, Criterion { id: id(2), max_points: 100 }]
    }

    fn award(criterion: u128, awarded: i32) -> Award {
        Award { criterion_id: id(criterion), awarded }
    }

    #[test]
    fn scoring_a_check() {
        // Complete CRM profile 50 of 50, call report 80 of 100.
        assert_eq!(
            score_check(&criteria(), &[award(1, 50), award(2, 80)]),
            Ok(CheckScore { total: 130, max_total: 150 })
        );
        assert_eq!(score_check(&criteria(), &[award(2, 0), award(1, 0)]), Ok(CheckScore { total: 0, max_total: 150 }));
        assert_eq!(score_check(&[], &[]), Ok(CheckScore { total: 0, max_total: 0 }));
    }

    #[test]
    fn scoring_refuses_out_of_range_unknown_duplicate_and_missing() {
        let errors = score_check(&criteria(), &[award(1, 50), award(2, 101)]).expect_err("refused");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].code, "OUT_OF_RANGE");
        assert_eq!(errors[0].field, vec!["input", "results", "1", "awarded"]);
        assert_eq!(errors[0].message, "must be between 0 and 100");
        let errors = score_check(&criteria(), &[award(1, -1), award(2, 10)]).expect_err("refused");
        assert_eq!(errors[0].field, vec!["input", "results", "0", "awarded"]);
        let errors = score_check(&criteria(), &[award(1, 10), award(2, 10), award(3, 10)]).expect_err("refused");
        assert_eq!((errors[0].code, errors[0].field[3].as_str()), ("UNKNOWN", "criterionId"));
        assert_eq!(errors[0].field[2], "2");
        let errors = score_check(&criteria(), &[award(1, 10), award(1, 20), award(2, 10)]).expect_err("refused");
        assert_eq!((errors[0].code, errors[0].field[2].as_str()), ("DUPLICATE", "1"));
        let errors = score_check(&criteria(), &[award(1, 10)]).expect_err("refused");
        assert_eq!(errors[0].code, "REQUIRED");
        assert_eq!(errors[0].field, vec!["input", "results"]);
        assert!(errors[0].message.contains(&id(2).to_string()));
        // Every problem at once.
        let errors = score_check(&criteria(), &[award(1, 51), award(9, 1)]).expect_err("refused");
        let codes: Vec<&str> = errors.iter().map(|e| e.code).collect();
        assert_eq!(codes, vec!["OUT_OF_RANGE", "UNKNOWN", "REQUIRED"]);
    }

    #[test]
    fn rep_totals_and_team_average() {
        let check = |rep: u128, total: i64, max_total: i64| ScoredCheck {
            rep: id(rep),
            score: CheckScore { total, max_total },
        };
        let checks = [check(2, 130, 150), check(1, 150, 150), check(2, 100, 150)];
        let reps = rep_totals(&checks);
        assert_eq!(
            reps,
            vec![
                RepTotal { rep: id(1), checks: 1, total: 150, max_total: 150 },
                RepTotal { rep: id(2), checks: 2, total: 230, max_total: 300 },
            ]
        );
        assert_eq!(reps[0].percent(), Some(d("100")));
        assert_eq!(reps[1].percent().map(|p| p.round_dp(4)), Some(d("76.6667")));
        // Mean of per-rep totals: (150 + 230) / 2.
        assert_eq!(team_average(&reps), Some(d("190")));
        assert_eq!(team_average_percent(&reps).map(|p| p.round_dp(4)), Some(d("88.3333")));
        // Nothing scored: no average (not 0).
        assert_eq!(rep_totals(&[]), vec![]);
        assert_eq!(team_average(&[]), None);
        assert_eq!(team_average_percent(&[]), None);
        let nothing_available = [RepTotal { rep: id(1), checks: 1, total: 0, max_total: 0 }];
        assert_eq!(nothing_available[0].percent(), None);
        assert_eq!(team_average(&nothing_available), Some(d("0")));
        assert_eq!(team_average_percent(&nothing_available), None);
        // A non-terminating mean.
        let reps = rep_totals(&[check(1, 100, 150), check(2, 50, 150), check(3, 50, 150)]);
        assert_eq!(team_average(&reps).map(|a| a.round_dp(4)), Some(d("66.6667")));
    }
}
