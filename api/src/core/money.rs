//! Money and points are stored as integer hundredths (cents); these are the one conversion
//! to and from decimals and the floats the API shows.

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
