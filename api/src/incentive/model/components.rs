//! Plan components (commission tiers, bonus thresholds, SPIFFs, team bonuses, draws), their
//! limits, and their validation.

use std::collections::HashSet;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{DrawKind, SpiffTarget, TeamBonusCondition, TierMode};
use crate::core::field::FieldError;

// ---------------------------------------------------------------------------------------------
// Plan components
// ---------------------------------------------------------------------------------------------

/// A tier of a commission: from this attainment (percent, inclusive) upward until the next tier.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Tier {
    /// Attainment in percent where the tier starts (inclusive).
    pub from_attainment: Decimal,
    /// Commission rate in percent.
    pub rate: Decimal,
    /// Marginal or retroactive.
    pub mode: TierMode,
}

/// A bonus step: `amount` is paid once when attainment reaches `attainment` (percent).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct BonusThreshold {
    /// Attainment in percent (inclusive).
    pub attainment: Decimal,
    /// Money paid when reached.
    pub amount: Decimal,
}

/// A plan component as stored (JSON array in the database).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Component {
    /// A rate on credited revenue, with attainment tiers and an optional cap.
    Commission {
        /// Unique within the plan.
        name: String,
        /// Rate in percent below the first tier, or everywhere without a quota or tiers.
        base_rate: Decimal,
        /// Ordered by `from_attainment`, strictly increasing.
        tiers: Vec<Tier>,
        /// Most commission paid in a period.
        cap: Option<Decimal>,
    },
    /// Fixed amounts at attainment thresholds.
    Bonus {
        /// Unique within the plan.
        name: String,
        /// Ordered by attainment, strictly increasing.
        thresholds: Vec<BonusThreshold>,
    },
    /// A fixed amount per qualifying deal or activity inside a window.
    Spiff {
        /// Unique within the plan.
        name: String,
        /// Deals or activities.
        target: SpiffTarget,
        /// ACTIVITY: the activity type that qualifies.
        activity_type_id: Option<Uuid>,
        /// DEAL: the smallest deal amount that qualifies.
        min_deal_amount: Option<Decimal>,
        /// Money per deal, or per unit of activity.
        amount: Decimal,
        /// First day of the window.
        starts_on: NaiveDate,
        /// Last day of the window (inclusive).
        ends_on: NaiveDate,
    },
    /// A pool paid when a team reaches its goal, split equally over its active members.
    TeamBonus {
        /// Unique within the plan.
        name: String,
        /// The team.
        team_id: Uuid,
        /// What the team must reach.
        condition: TeamBonusCondition,
        /// Quota attainment in percent, or the mystery-check average.
        threshold: Decimal,
        /// Money split over the team's active members.
        pool: Decimal,
    },
    /// A guaranteed minimum pay per period.
    Draw {
        /// Unique within the plan.
        name: String,
        /// Recoverable or not. Stored as `draw_kind`: `kind` is the component's tag.
        #[serde(rename = "draw_kind")]
        kind: DrawKind,
        /// The guaranteed amount per period.
        amount: Decimal,
    },
}

impl Component {
    /// The component's name.
    pub fn name(&self) -> &str {
        match self {
            Component::Commission { name, .. }
            | Component::Bonus { name, .. }
            | Component::Spiff { name, .. }
            | Component::TeamBonus { name, .. }
            | Component::Draw { name, .. } => name,
        }
    }

    /// The stored kind: `COMMISSION`, `BONUS`, `SPIFF`, `TEAM_BONUS` or `DRAW`.
    pub fn kind_str(&self) -> &'static str {
        match self {
            Component::Commission { .. } => "COMMISSION",
            Component::Bonus { .. } => "BONUS",
            Component::Spiff { .. } => "SPIFF",
            Component::TeamBonus { .. } => "TEAM_BONUS",
            Component::Draw { .. } => "DRAW",
        }
    }
}

/// Most components in one plan.
pub const MAX_COMPONENTS: usize = 20;
/// Most tiers in one commission.
pub const MAX_TIERS: usize = 10;
/// Most thresholds in one bonus.
pub const MAX_THRESHOLDS: usize = 10;
/// Longest component name.
pub const MAX_COMPONENT_NAME_LEN: usize = 100;
/// Largest money amount in a plan: ten billion in the currency's units.
pub const MAX_PLAN_AMOUNT: Decimal = Decimal::from_parts(1_410_065_408, 2, 0, false, 0);
/// Highest attainment a tier or bonus threshold may start at (100 times the quota).
pub const MAX_ATTAINMENT_PERCENT: Decimal = Decimal::from_parts(10_000, 0, 0, false, 0);
/// Highest team-bonus threshold (a mystery-check average is in points, not percent).
pub const MAX_TEAM_THRESHOLD: Decimal = Decimal::from_parts(1_000_000, 0, 0, false, 0);

fn err(field: &str, code: &'static str, message: impl Into<String>) -> FieldError {
    FieldError::new(field, code, message)
}

fn scale_of(d: Decimal) -> u32 {
    d.normalize().scale()
}

/// A rate: 0 to 100 percent, at most 4 decimals.
fn check_rate(field: &str, rate: Decimal) -> Result<(), FieldError> {
    if rate < Decimal::ZERO || rate > Decimal::ONE_HUNDRED {
        return Err(err(field, "OUT_OF_RANGE", "must be between 0 and 100 (percent)"));
    }
    if scale_of(rate) > 4 {
        return Err(err(field, "INVALID", "at most 4 decimals"));
    }
    Ok(())
}

/// A percent level (tier start, threshold): 0 to `max`, at most 4 decimals.
fn check_level(field: &str, level: Decimal, max: Decimal) -> Result<(), FieldError> {
    if level < Decimal::ZERO || level > max {
        return Err(err(field, "OUT_OF_RANGE", format!("must be between 0 and {max}")));
    }
    if scale_of(level) > 4 {
        return Err(err(field, "INVALID", "at most 4 decimals"));
    }
    Ok(())
}

/// A money amount: 0 to ten billion, at most 2 decimals.
fn check_money(field: &str, amount: Decimal) -> Result<(), FieldError> {
    if amount < Decimal::ZERO {
        return Err(err(field, "OUT_OF_RANGE", "must not be negative"));
    }
    if amount > MAX_PLAN_AMOUNT {
        return Err(err(field, "OUT_OF_RANGE", "must be at most 10000000000"));
    }
    if scale_of(amount) > 2 {
        return Err(err(field, "INVALID", "at most 2 decimals"));
    }
    Ok(())
}

/// Checks a plan's components: 1 to 20 components; names trimmed, non-empty, at most 100
/// characters, without control characters and unique (ignoring case); at most one COMMISSION
/// and one DRAW; rates 0 to 100 with at most 4 decimals; at most 10 tiers, starting at 0 % or
/// more and strictly increasing; a cap above 0; money amounts 0 to ten billion with at most
/// 2 decimals; 1 to 10 bonus thresholds, strictly increasing; a SPIFF window that does not end
/// before it starts, an activity type for (and only for) ACTIVITY SPIFFs; a team-bonus
/// threshold of 0 or more. Attainment levels are at most 10000 % and team thresholds at most
/// 1000000, both with at most 4 decimals.
///
/// The first problem is reported, on a path like `components[2].tiers[1].rate` (camelCase,
/// as in the GraphQL input) with code `INVALID`, `OUT_OF_RANGE`, `REQUIRED`, `DUPLICATE` or
/// `TOO_LONG`.
pub fn validate_components(components: &[Component]) -> Result<(), FieldError> {
    if components.is_empty() {
        return Err(err("components", "REQUIRED", "a plan needs at least one component"));
    }
    if components.len() > MAX_COMPONENTS {
        return Err(err("components", "TOO_LONG", format!("at most {MAX_COMPONENTS} components")));
    }
    let mut names = HashSet::new();
    let (mut commissions, mut draws) = (0, 0);
    for (i, component) in components.iter().enumerate() {
        let at = |field: &str| format!("components[{i}].{field}");
        let name = component.name().trim();
        if name.is_empty() {
            return Err(err(&at("name"), "REQUIRED", "must not be empty"));
        }
        if name.chars().count() > MAX_COMPONENT_NAME_LEN {
            return Err(err(&at("name"), "TOO_LONG", format!("at most {MAX_COMPONENT_NAME_LEN} characters")));
        }
        if let Err(e) = crate::core::field::check_name_characters(&at("name"), name) {
            return Err(err(&at("name"), e.code, e.message));
        }
        if !names.insert(name.to_lowercase()) {
            return Err(err(&at("name"), "DUPLICATE", format!("another component is already called '{name}'")));
        }
        match component {
            Component::Commission { base_rate, tiers, cap, .. } => {
                commissions += 1;
                if commissions > 1 {
                    return Err(err(&at("kind"), "DUPLICATE", "a plan has at most one COMMISSION component"));
                }
                check_rate(&at("baseRate"), *base_rate)?;
                if tiers.len() > MAX_TIERS {
                    return Err(err(&at("tiers"), "TOO_LONG", format!("at most {MAX_TIERS} tiers")));
                }
                for (j, tier) in tiers.iter().enumerate() {
                    let from = at(&format!("tiers[{j}].fromAttainment"));
                    check_level(&from, tier.from_attainment, MAX_ATTAINMENT_PERCENT)?;
                    if j > 0 && tier.from_attainment <= tiers[j - 1].from_attainment {
                        return Err(err(&from, "INVALID", "tiers must start at strictly increasing attainments"));
                    }
                    check_rate(&at(&format!("tiers[{j}].rate")), tier.rate)?;
                }
                if let Some(cap) = cap {
                    check_money(&at("cap"), *cap)?;
                    if cap.is_zero() {
                        return Err(err(&at("cap"), "OUT_OF_RANGE", "must be above 0 (leave it out for no cap)"));
                    }
                }
            }
            Component::Bonus { thresholds, .. } => {
                if thresholds.is_empty() {
                    return Err(err(&at("thresholds"), "REQUIRED", "a bonus needs at least one threshold"));
                }
                if thresholds.len() > MAX_THRESHOLDS {
                    return Err(err(&at("thresholds"), "TOO_LONG", format!("at most {MAX_THRESHOLDS} thresholds")));
                }
                for (j, threshold) in thresholds.iter().enumerate() {
                    let level = at(&format!("thresholds[{j}].attainment"));
                    check_level(&level, threshold.attainment, MAX_ATTAINMENT_PERCENT)?;
                    if j > 0 && threshold.attainment <= thresholds[j - 1].attainment {
                        return Err(err(&level, "INVALID", "thresholds must be strictly increasing"));
                    }
                    check_money(&at(&format!("thresholds[{j}].amount")), threshold.amount)?;
                }
            }
            Component::Spiff { target, activity_type_id, min_deal_amount, amount, starts_on, ends_on, .. } => {
                check_money(&at("amount"), *amount)?;
                if let Some(min) = min_deal_amount {
                    check_money(&at("minDealAmount"), *min)?;
                }
                if ends_on < starts_on {
                    return Err(err(&at("endsOn"), "INVALID", "must not be before startsOn"));
                }
                match (target, activity_type_id) {
                    (SpiffTarget::Activity, None) => {
                        return Err(err(&at("activityTypeId"), "REQUIRED", "an ACTIVITY SPIFF needs an activity type"));
                    }
                    (SpiffTarget::Deal, Some(_)) => {
                        return Err(err(&at("activityTypeId"), "INVALID", "a DEAL SPIFF has no activity type"));
                    }
                    _ => {}
                }
            }
            Component::TeamBonus { threshold, pool, .. } => {
                check_level(&at("threshold"), *threshold, MAX_TEAM_THRESHOLD)?;
                check_money(&at("pool"), *pool)?;
            }
            Component::Draw { amount, .. } => {
                draws += 1;
                if draws > 1 {
                    return Err(err(&at("kind"), "DUPLICATE", "a plan has at most one DRAW component"));
                }
                check_money(&at("amount"), *amount)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    fn day(month: u32, dd: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, month, dd).expect("date")
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    /// Tiers 0 % at 2, 50 % at 5, 100 % at 8 (base rate 2), all in one mode.
    fn commission(mode: TierMode) -> Component {
        commission_with("2", &[("0", "2"), ("50", "5"), ("100", "8")].map(|(from, rate)| (from, rate, mode)), None)
    }

    fn commission_with(base_rate: &str, tiers: &[(&str, &str, TierMode)], cap: Option<&str>) -> Component {
        Component::Commission {
            name: "Commission".into(),
            base_rate: d(base_rate),
            tiers: tiers
                .iter()
                .map(|(from, rate, mode)| Tier { from_attainment: d(from), rate: d(rate), mode: *mode })
                .collect(),
            cap: cap.map(d),
        }
    }

    #[test]
    fn components_as_stored_json() {
        let plan = vec![
            commission(TierMode::Marginal),
            Component::TeamBonus {
                name: "Team".into(),
                team_id: id(7),
                condition: TeamBonusCondition::MysteryAverage,
                threshold: d("80"),
                pool: d("500.00"),
            },
            Component::Draw { name: "Draw".into(), kind: DrawKind::NonRecoverable, amount: d("1000.00") },
        ];
        let json = serde_json::to_value(&plan).expect("json");
        assert_eq!(json[0]["kind"], "COMMISSION");
        assert_eq!(json[0]["tiers"][1]["mode"], "MARGINAL");
        assert_eq!(json[1]["kind"], "TEAM_BONUS");
        assert_eq!(json[1]["condition"], "MYSTERY_AVERAGE");
        assert_eq!(json[2]["kind"], "DRAW");
        assert_eq!(json[2]["draw_kind"], "NON_RECOVERABLE", "`kind` is taken by the tag");
        assert_eq!(json[2]["amount"], "1000.00", "money is stored as a string, never a float");
        let back: Vec<Component> = serde_json::from_value(json).expect("parse");
        assert_eq!(back, plan);
        assert_eq!(plan[1].name(), "Team");
        assert_eq!(plan.iter().map(Component::kind_str).collect::<Vec<_>>(), vec!["COMMISSION", "TEAM_BONUS", "DRAW"]);
        assert_eq!(MAX_PLAN_AMOUNT, d("10000000000"));
        assert_eq!(MAX_ATTAINMENT_PERCENT, d("10000"));
        assert_eq!(MAX_TEAM_THRESHOLD, d("1000000"));
    }

    fn spiff(target: SpiffTarget, activity_type_id: Option<Uuid>) -> Component {
        Component::Spiff {
            name: "Spiff".into(),
            target,
            activity_type_id,
            min_deal_amount: None,
            amount: d("50.00"),
            starts_on: day(10, 1),
            ends_on: day(10, 31),
        }
    }

    #[track_caller]
    fn rejects(components: Vec<Component>, field: &str, code: &str) {
        let e = validate_components(&components).expect_err("invalid");
        assert_eq!((e.field[1].as_str(), e.code), (field, code), "{}", e.message);
    }

    #[test]
    fn validation() {
        let good = vec![
            commission(TierMode::Marginal),
            Component::Bonus {
                name: "Bonus".into(),
                thresholds: vec![BonusThreshold { attainment: d("100"), amount: d("500.00") }],
            },
            spiff(SpiffTarget::Deal, None),
            Component::TeamBonus {
                name: "Team".into(),
                team_id: id(7),
                condition: TeamBonusCondition::Quota,
                threshold: d("100"),
                pool: d("1000.00"),
            },
            Component::Draw { name: "Draw".into(), kind: DrawKind::Recoverable, amount: d("3000.00") },
        ];
        assert_eq!(validate_components(&good), Ok(()));
        let with = |i: usize, c: Component| {
            let mut v = good.clone();
            v[i] = c;
            v
        };
        let m = TierMode::Marginal;

        // REQUIRED
        rejects(vec![], "components", "REQUIRED");
        rejects(
            with(4, Component::Draw { name: "  ".into(), kind: DrawKind::Recoverable, amount: d("1") }),
            "components[4].name",
            "REQUIRED",
        );
        rejects(with(2, spiff(SpiffTarget::Activity, None)), "components[2].activityTypeId", "REQUIRED");
        rejects(
            with(1, Component::Bonus { name: "Bonus".into(), thresholds: vec![] }),
            "components[1].thresholds",
            "REQUIRED",
        );
        // TOO_LONG
        rejects(vec![spiff(SpiffTarget::Deal, None); 21], "components", "TOO_LONG");
        let long_name = Component::Draw { name: "x".repeat(101), kind: DrawKind::Recoverable, amount: d("1") };
        rejects(with(4, long_name), "components[4].name", "TOO_LONG");
        let eleven: Vec<(String, &str, TierMode)> = (0..11).map(|n| ((n * 10).to_string(), "5", m)).collect();
        let eleven: Vec<(&str, &str, TierMode)> = eleven.iter().map(|(f, r, m)| (f.as_str(), *r, *m)).collect();
        rejects(with(0, commission_with("2", &eleven, None)), "components[0].tiers", "TOO_LONG");
        // DUPLICATE
        let mut twice = good.clone();
        twice.push(spiff(SpiffTarget::Deal, None));
        rejects(twice, "components[5].name", "DUPLICATE");
        let mut two_commissions = good.clone();
        two_commissions.push(Component::Commission {
            name: "Second".into(),
            base_rate: d("1"),
            tiers: vec![],
            cap: None,
        });
        rejects(two_commissions, "components[5].kind", "DUPLICATE");
        let mut two_draws = good.clone();
        two_draws.push(Component::Draw { name: "Second draw".into(), kind: DrawKind::NonRecoverable, amount: d("1") });
        rejects(two_draws, "components[5].kind", "DUPLICATE");
        let mut same_name_other_case = good.clone();
        same_name_other_case.push(Component::Draw {
            name: " bonus ".into(),
            kind: DrawKind::NonRecoverable,
            amount: d("1"),
        });
        rejects(same_name_other_case, "components[5].name", "DUPLICATE");
        // OUT_OF_RANGE
        rejects(with(0, commission_with("100.01", &[], None)), "components[0].baseRate", "OUT_OF_RANGE");
        rejects(
            with(0, commission_with("2", &[("0", "5", m), ("50", "-1", m)], None)),
            "components[0].tiers[1].rate",
            "OUT_OF_RANGE",
        );
        rejects(
            with(0, commission_with("2", &[("-1", "5", m)], None)),
            "components[0].tiers[0].fromAttainment",
            "OUT_OF_RANGE",
        );
        rejects(with(0, commission_with("2", &[], Some("0"))), "components[0].cap", "OUT_OF_RANGE");
        rejects(
            with(4, Component::Draw { name: "Draw".into(), kind: DrawKind::Recoverable, amount: d("-1") }),
            "components[4].amount",
            "OUT_OF_RANGE",
        );
        rejects(
            with(4, Component::Draw { name: "Draw".into(), kind: DrawKind::Recoverable, amount: d("10000000000.01") }),
            "components[4].amount",
            "OUT_OF_RANGE",
        );
        rejects(
            with(
                3,
                Component::TeamBonus {
                    name: "Team".into(),
                    team_id: id(7),
                    condition: TeamBonusCondition::Quota,
                    threshold: d("-1"),
                    pool: d("1000.00"),
                },
            ),
            "components[3].threshold",
            "OUT_OF_RANGE",
        );
        // INVALID
        rejects(with(0, commission_with("2.00001", &[], None)), "components[0].baseRate", "INVALID");
        rejects(
            with(0, commission_with("2", &[("0", "5", m), ("50", "6", m), ("50", "7", m)], None)),
            "components[0].tiers[2].fromAttainment",
            "INVALID",
        );
        rejects(with(0, commission_with("2", &[("0", "5", m)], Some("100.001"))), "components[0].cap", "INVALID");
        rejects(with(2, spiff(SpiffTarget::Deal, Some(id(1)))), "components[2].activityTypeId", "INVALID");
        let window = |min_deal_amount: Option<&str>, starts_on: NaiveDate, ends_on: NaiveDate| Component::Spiff {
            name: "Spiff".into(),
            target: SpiffTarget::Deal,
            activity_type_id: None,
            min_deal_amount: min_deal_amount.map(d),
            amount: d("50.00"),
            starts_on,
            ends_on,
        };
        rejects(with(2, window(Some("100.005"), day(10, 1), day(10, 31))), "components[2].minDealAmount", "INVALID");
        rejects(with(2, window(None, day(10, 31), day(10, 1))), "components[2].endsOn", "INVALID");
        let unordered = Component::Bonus {
            name: "Bonus".into(),
            thresholds: vec![
                BonusThreshold { attainment: d("100"), amount: d("500.00") },
                BonusThreshold { attainment: d("90"), amount: d("500.00") },
            ],
        };
        rejects(with(1, unordered), "components[1].thresholds[1].attainment", "INVALID");
        // A one-day window and a 0 % first tier are fine.
        let one_day = Component::Spiff {
            name: "Spiff".into(),
            target: SpiffTarget::Activity,
            activity_type_id: Some(id(3)),
            min_deal_amount: None,
            amount: d("0"),
            starts_on: day(10, 5),
            ends_on: day(10, 5),
        };
        assert_eq!(validate_components(&with(2, one_day)), Ok(()));
    }
}
