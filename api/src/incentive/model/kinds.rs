//! The stored enums of plans, statements and disputes: tier modes, SPIFF targets, team bonus
//! conditions, draw kinds, statement status, line kinds and dispute status.

use serde::{Deserialize, Serialize};

serde_stored_enum!(
    /// How a commission tier's rate applies.
    TierMode {
        /// The tier's rate applies to the revenue inside its band only.
        Marginal => "MARGINAL",
        /// Once reached, the tier's rate applies to all credited revenue of the period.
        Retroactive => "RETROACTIVE",
    }
);

serde_stored_enum!(
    /// What a SPIFF pays for.
    SpiffTarget {
        /// A won deal.
        Deal => "DEAL",
        /// A logged activity of one type.
        Activity => "ACTIVITY",
    }
);

serde_stored_enum!(
    /// What a team must reach for its team bonus.
    TeamBonusCondition {
        /// The team's quota attainment, in percent.
        Quota => "QUOTA",
        /// The team's mystery-check average.
        MysteryAverage => "MYSTERY_AVERAGE",
    }
);

serde_stored_enum!(
    /// Whether a draw is paid back from later earnings.
    DrawKind {
        /// An advance: recovered from earnings above the draw in later periods.
        Recoverable => "RECOVERABLE",
        /// A guarantee: never paid back.
        NonRecoverable => "NON_RECOVERABLE",
    }
);

serde_stored_enum!(
    /// Where a payout statement stands.
    StatementStatus {
        /// Computed, may be recomputed.
        Draft => "DRAFT",
        /// Approved for payment; frozen.
        Approved => "APPROVED",
        /// Paid out.
        Paid => "PAID",
    }
);

impl StatementStatus {
    /// Whether a statement may move from `from` to `to`: DRAFT → APPROVED and APPROVED → PAID only.
    pub fn may_transition(from: StatementStatus, to: StatementStatus) -> bool {
        matches!(
            (from, to),
            (StatementStatus::Draft, StatementStatus::Approved) | (StatementStatus::Approved, StatementStatus::Paid)
        )
    }
}

serde_stored_enum!(
    /// What a statement line pays (or takes back).
    LineKind {
        /// Commission on credited revenue.
        Commission => "COMMISSION",
        /// A bonus for reaching an attainment threshold.
        Bonus => "BONUS",
        /// A SPIFF for a qualifying deal or activity.
        Spiff => "SPIFF",
        /// A share of a team bonus pool.
        TeamBonus => "TEAM_BONUS",
        /// A draw topping earnings up to the guaranteed amount.
        Draw => "DRAW",
        /// Recovery of an earlier recoverable draw (negative).
        DrawRecovery => "DRAW_RECOVERY",
        /// Commission above the cap, held back (negative).
        Cap => "CAP",
        /// Commission taken back for a reversed deal (negative).
        Clawback => "CLAWBACK",
        /// A correction from a resolved dispute (either sign).
        Adjustment => "ADJUSTMENT",
    }
);

serde_stored_enum!(
    /// Where a rep's dispute of a statement line stands.
    DisputeStatus {
        /// Waiting for a manager.
        Open => "OPEN",
        /// Accepted; may carry an adjustment.
        Accepted => "ACCEPTED",
        /// Rejected with a reason.
        Rejected => "REJECTED",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    use serde::Serialize;

    #[test]
    fn enums_round_trip() {
        fn check<T: Copy + PartialEq + std::fmt::Debug + Serialize>(
            all: &[T],
            as_str: fn(T) -> &'static str,
            parse: fn(&str) -> Option<T>,
        ) {
            for v in all {
                assert_eq!(parse(as_str(*v)), Some(*v));
                assert_eq!(serde_json::to_value(v).expect("json"), serde_json::Value::from(as_str(*v)));
            }
            assert_eq!(parse("nonsense"), None);
        }
        check(&[TierMode::Marginal, TierMode::Retroactive], TierMode::as_str, TierMode::parse);
        check(&[SpiffTarget::Deal, SpiffTarget::Activity], SpiffTarget::as_str, SpiffTarget::parse);
        check(
            &[TeamBonusCondition::Quota, TeamBonusCondition::MysteryAverage],
            TeamBonusCondition::as_str,
            TeamBonusCondition::parse,
        );
        check(&[DrawKind::Recoverable, DrawKind::NonRecoverable], DrawKind::as_str, DrawKind::parse);
        use StatementStatus::*;
        check(&[Draft, Approved, Paid], StatementStatus::as_str, StatementStatus::parse);
        use LineKind::*;
        check(
            &[Commission, Bonus, Spiff, TeamBonus, Draw, DrawRecovery, Cap, Clawback, Adjustment],
            LineKind::as_str,
            LineKind::parse,
        );
        check(
            &[DisputeStatus::Open, DisputeStatus::Accepted, DisputeStatus::Rejected],
            DisputeStatus::as_str,
            DisputeStatus::parse,
        );
        assert_eq!(DrawKind::parse("NON_RECOVERABLE"), Some(DrawKind::NonRecoverable));
        assert_eq!(LineKind::DrawRecovery.as_str(), "DRAW_RECOVERY");

        assert!(StatementStatus::may_transition(Draft, Approved));
        assert!(StatementStatus::may_transition(Approved, Paid));
        for (from, to) in [(Draft, Paid), (Approved, Draft), (Paid, Approved), (Paid, Draft), (Draft, Draft)] {
            assert!(!StatementStatus::may_transition(from, to), "{from:?} -> {to:?}");
        }
    }
}
