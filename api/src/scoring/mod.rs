//! The points engine: activity types, activities, campaigns, points targets, scores,
//! leaderboards and their live updates.

pub mod cache;
pub mod graphql;
pub mod hot;
pub mod model;
pub mod policy;
pub mod queue;
pub mod scores;
pub mod store;
pub mod targets;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// Points are stored as integer hundredths; this is their decimal value.
pub fn cents_to_decimal(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

/// A decimal with at most 2 fractional digits as hundredths (rounded half away from zero).
pub fn decimal_to_cents(value: Decimal) -> i64 {
    (value * Decimal::from(100))
        .round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        .to_i64()
        .unwrap_or(i64::MAX)
}

/// Hundredths as the `Float` the API shows.
pub fn cents_to_f64(cents: i64) -> f64 {
    cents as f64 / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cents_round_trip() {
        for c in [0i64, 1, 99, 100, 12345, -250, 10_000_000] {
            assert_eq!(decimal_to_cents(cents_to_decimal(c)), c);
        }
        assert_eq!(decimal_to_cents("1.005".parse().expect("dec")), 101);
        assert_eq!(cents_to_f64(250), 2.5);
    }
}
