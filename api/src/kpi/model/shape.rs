//! What a KPI is: its unit, direction, kind and status, and how its values combine into a team
//! value or a longer period (pooling, target scaling).

use async_graphql::Enum;

use crate::core::field::FieldError;

// ---------------------------------------------------------------------------------------------
// Enums
// ---------------------------------------------------------------------------------------------

/// What a KPI's number measures, which decides how it is shown.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum KpiUnit {
    /// A number of things: leads, deals, calls, points.
    Count,
    /// A percentage on the 0–100 scale: 62.5 means 62.5 %.
    Percent,
    /// An amount in the organization's currency.
    Money,
    /// A duration in (fractional) days.
    Days,
    /// A duration in (fractional) hours.
    Hours,
    /// A plain quotient, not scaled to percent: money per day for sales velocity, or for a
    /// custom ratio something like calls per appointment.
    Rate,
}

impl KpiUnit {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            KpiUnit::Count => "COUNT",
            KpiUnit::Percent => "PERCENT",
            KpiUnit::Money => "MONEY",
            KpiUnit::Days => "DAYS",
            KpiUnit::Hours => "HOURS",
            KpiUnit::Rate => "RATE",
        }
    }

    /// Parses the stored form; unknown values are `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "COUNT" => KpiUnit::Count,
            "PERCENT" => KpiUnit::Percent,
            "MONEY" => KpiUnit::Money,
            "DAYS" => KpiUnit::Days,
            "HOURS" => KpiUnit::Hours,
            "RATE" => KpiUnit::Rate,
            _ => return None,
        })
    }
}

/// Which way a KPI should move.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum KpiDirection {
    /// More is better: on target at or above the target (revenue, close rate).
    HigherIsBetter,
    /// Less is better: on target at or below the target (sales cycle length, lead follow-up time).
    LowerIsBetter,
}

impl KpiDirection {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            KpiDirection::HigherIsBetter => "HIGHER_IS_BETTER",
            KpiDirection::LowerIsBetter => "LOWER_IS_BETTER",
        }
    }

    /// Parses the stored form; unknown values are `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "HIGHER_IS_BETTER" => KpiDirection::HigherIsBetter,
            "LOWER_IS_BETTER" => KpiDirection::LowerIsBetter,
            _ => return None,
        })
    }
}

/// Where a KPI's value comes from.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum KpiKind {
    /// One of the built-in catalogue's formulas over deals and activities.
    BuiltIn,
    /// The number of units logged for the chosen activity types (the sum of their quantities:
    /// one activity of 5 calls counts 5).
    ActivityCount,
    /// The points awarded for the chosen activity types.
    ActivitySum,
    /// One KPI's value divided by another's; both must be counts or sums (additive), so the
    /// team value is the team's numerator ÷ the team's denominator.
    Ratio,
    /// A number the rep enters for each week.
    SelfReported,
}

impl KpiKind {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            KpiKind::BuiltIn => "BUILT_IN",
            KpiKind::ActivityCount => "ACTIVITY_COUNT",
            KpiKind::ActivitySum => "ACTIVITY_SUM",
            KpiKind::Ratio => "RATIO",
            KpiKind::SelfReported => "SELF_REPORTED",
        }
    }

    /// Parses the stored form; unknown values are `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "BUILT_IN" => KpiKind::BuiltIn,
            "ACTIVITY_COUNT" => KpiKind::ActivityCount,
            "ACTIVITY_SUM" => KpiKind::ActivitySum,
            "RATIO" => KpiKind::Ratio,
            "SELF_REPORTED" => KpiKind::SelfReported,
            _ => return None,
        })
    }
}

/// A KPI value compared with its target.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum KpiStatus {
    /// At or above the target (higher is better), or at or below it (lower is better).
    OnTarget,
    /// Short of the target.
    OffTarget,
    /// No target set, or no value to compare (e.g. a ratio with a zero denominator).
    NoTarget,
}

impl KpiStatus {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            KpiStatus::OnTarget => "ON_TARGET",
            KpiStatus::OffTarget => "OFF_TARGET",
            KpiStatus::NoTarget => "NO_TARGET",
        }
    }

    /// Parses the stored form; unknown values are `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ON_TARGET" => KpiStatus::OnTarget,
            "OFF_TARGET" => KpiStatus::OffTarget,
            "NO_TARGET" => KpiStatus::NoTarget,
            _ => return None,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Shapes: how values combine
// ---------------------------------------------------------------------------------------------

/// How member values combine into a team value (and self-reported weeks into a longer period).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Pooling {
    /// Values add up: counts, money, sums, and velocity (a flow per day).
    Sum,
    /// Numerators add up and denominators add up; the value is their quotient (× 100 when
    /// `percent`). Used for ratios and for means (sum of items ÷ number of items).
    Quotient {
        /// Whether the quotient is shown as a percentage.
        percent: bool,
    },
    /// Computed by another module (forecast accuracy): [`pool`](super::pool) gives no value.
    Elsewhere,
}

/// How a weekly target becomes the target of a longer period.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum TargetScaling {
    /// A total: the weekly target times the number of whole weeks in the period (see
    /// [`whole_week_count`](super::whole_week_count)).
    ByWholeWeeks,
    /// A rate, mean or velocity: the weekly target is the target of every period.
    Fixed,
}

/// Everything the rules need to know about a KPI besides its formula.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct KpiShape {
    /// Unit of its values.
    pub unit: KpiUnit,
    /// Which way it should move.
    pub direction: KpiDirection,
    /// How member values combine into a team value.
    pub pooling: Pooling,
    /// How a weekly target scales to longer periods.
    pub target_scaling: TargetScaling,
}

impl KpiShape {
    /// The shape of a custom KPI, refusing units that do not fit its kind:
    /// - ACTIVITY_COUNT / ACTIVITY_SUM: COUNT, MONEY, HOURS or DAYS (totals that add up);
    /// - RATIO: PERCENT (× 100) or RATE (plain quotient);
    /// - SELF_REPORTED: any unit; COUNT and MONEY add up over members and weeks, the others
    ///   (a "selling time %", hours, a rate) are averaged over the reports;
    /// - BUILT_IN is not custom: refused.
    pub fn custom(kind: KpiKind, unit: KpiUnit, direction: KpiDirection) -> Result<KpiShape, FieldError> {
        let additive = matches!(unit, KpiUnit::Count | KpiUnit::Money | KpiUnit::Hours | KpiUnit::Days);
        let sum = KpiShape { unit, direction, pooling: Pooling::Sum, target_scaling: TargetScaling::ByWholeWeeks };
        match kind {
            KpiKind::BuiltIn => {
                Err(FieldError::new("kind", "INVALID", "built-in KPIs are not created; choose a custom kind"))
            }
            KpiKind::ActivityCount | KpiKind::ActivitySum if additive => Ok(sum),
            KpiKind::ActivityCount | KpiKind::ActivitySum => {
                Err(FieldError::new("unit", "INVALID", "an activity count or sum must be COUNT, MONEY, HOURS or DAYS"))
            }
            KpiKind::Ratio => match unit {
                KpiUnit::Percent | KpiUnit::Rate => Ok(KpiShape {
                    unit,
                    direction,
                    pooling: Pooling::Quotient { percent: unit == KpiUnit::Percent },
                    target_scaling: TargetScaling::Fixed,
                }),
                _ => Err(FieldError::new("unit", "INVALID", "a ratio must be PERCENT or RATE")),
            },
            KpiKind::SelfReported => Ok(match unit {
                KpiUnit::Count | KpiUnit::Money => sum,
                _ => KpiShape {
                    unit,
                    direction,
                    pooling: Pooling::Quotient { percent: false },
                    target_scaling: TargetScaling::Fixed,
                },
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::kpi::model::{AlertKind, AlertStatus, Trend};

    // ----- enums and catalogue -----

    #[test]
    fn enums_round_trip_and_reject_unknown() {
        for u in [KpiUnit::Count, KpiUnit::Percent, KpiUnit::Money, KpiUnit::Days, KpiUnit::Hours, KpiUnit::Rate] {
            assert_eq!(KpiUnit::parse(u.as_str()), Some(u));
        }
        for x in [KpiDirection::HigherIsBetter, KpiDirection::LowerIsBetter] {
            assert_eq!(KpiDirection::parse(x.as_str()), Some(x));
        }
        for k in [KpiKind::BuiltIn, KpiKind::ActivityCount, KpiKind::ActivitySum, KpiKind::Ratio, KpiKind::SelfReported]
        {
            assert_eq!(KpiKind::parse(k.as_str()), Some(k));
        }
        for s in [KpiStatus::OnTarget, KpiStatus::OffTarget, KpiStatus::NoTarget] {
            assert_eq!(KpiStatus::parse(s.as_str()), Some(s));
        }
        for x in [Trend::Up, Trend::Down, Trend::Flat] {
            assert_eq!(Trend::parse(x.as_str()), Some(x));
        }
        for k in [AlertKind::BelowTargetStreak, AlertKind::RatioDeclining] {
            assert_eq!(AlertKind::parse(k.as_str()), Some(k));
        }
        for s in [AlertStatus::Open, AlertStatus::Acknowledged] {
            assert_eq!(AlertStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(KpiKind::parse("ACTIVITY_COUNT"), Some(KpiKind::ActivityCount));
        assert_eq!(KpiDirection::parse("LOWER_IS_BETTER"), Some(KpiDirection::LowerIsBetter));
        assert_eq!(KpiUnit::parse("percent"), None);
        assert_eq!(KpiStatus::parse(""), None);
        assert_eq!(AlertKind::parse("RATIO"), None);
    }

    #[test]
    fn custom_shapes() {
        let up = KpiDirection::HigherIsBetter;
        let count = KpiShape::custom(KpiKind::ActivityCount, KpiUnit::Count, up).expect("shape");
        assert_eq!((count.pooling, count.target_scaling), (Pooling::Sum, TargetScaling::ByWholeWeeks));
        assert!(KpiShape::custom(KpiKind::ActivitySum, KpiUnit::Hours, up).is_ok());
        assert!(KpiShape::custom(KpiKind::ActivityCount, KpiUnit::Percent, up).is_err());
        assert!(KpiShape::custom(KpiKind::ActivitySum, KpiUnit::Rate, up).is_err());
        let pct = KpiShape::custom(KpiKind::Ratio, KpiUnit::Percent, up).expect("shape");
        assert_eq!((pct.pooling, pct.target_scaling), (Pooling::Quotient { percent: true }, TargetScaling::Fixed));
        let rate = KpiShape::custom(KpiKind::Ratio, KpiUnit::Rate, up).expect("shape");
        assert_eq!(rate.pooling, Pooling::Quotient { percent: false });
        assert_eq!(
            KpiShape::custom(KpiKind::Ratio, KpiUnit::Count, up).map_err(|e| e.field),
            Err(vec!["input".to_owned(), "unit".to_owned()])
        );
        let reported = KpiShape::custom(KpiKind::SelfReported, KpiUnit::Percent, up).expect("shape");
        assert_eq!(
            (reported.pooling, reported.target_scaling),
            (Pooling::Quotient { percent: false }, TargetScaling::Fixed)
        );
        let reported = KpiShape::custom(KpiKind::SelfReported, KpiUnit::Money, up).expect("shape");
        assert_eq!((reported.pooling, reported.target_scaling), (Pooling::Sum, TargetScaling::ByWholeWeeks));
        assert!(KpiShape::custom(KpiKind::BuiltIn, KpiUnit::Count, up).is_err());
    }
}
