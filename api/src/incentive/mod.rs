//! Incentive compensation: versioned plans (commission tiers, bonuses, SPIFFs, team bonuses,
//! draws), payout runs that produce explainable statements, their lifecycle, disputes and
//! clawbacks. `model` holds the exact money math.

pub mod export;
pub mod graphql;
pub mod model;
pub mod payouts;
pub mod policy;
pub mod service;
pub mod store;
pub mod webhook;
