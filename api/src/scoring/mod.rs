//! The points engine: activity types, activities, campaigns, points targets, scores,
//! leaderboards and their live updates.

pub mod cache;
pub mod graphql;
pub mod hot;
mod loaders;
pub mod model;
pub mod policy;
pub mod queue;
pub mod scores;
pub mod service;
pub mod store;
pub mod streaks;
pub mod targets;

pub use crate::core::money::{cents_to_decimal, cents_to_f64, decimal_to_cents};

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
