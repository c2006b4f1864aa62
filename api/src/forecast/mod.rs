//! Forecasting: commit and best-case submissions by reps and managers,
//! manager adjustments kept apart, roll-ups through the team tree with pipeline category views,
//! weighted pipeline and a system forecast, and accuracy against closed-won actuals.

pub mod graphql;
pub mod model;
pub mod policy;
pub mod service;
pub mod store;
pub mod tree;
pub mod webhook;
