//! KPIs and their weekly rhythm: the built-in catalogue with exact formulas, custom KPIs
//! (activity counts and sums, ratios, self-reported numbers), targets, the scoreboard's status
//! and trend, team pooling, and the pattern alerts (DESIGN.md §5 "KPI", "Scoreboard",
//! "Alert rule").
//!
//! `model` holds the pure rules; `policy` who may change what; `store` the queries, `service`
//! the writes (one unit of work each), `scoreboard` the kept weekly view, and `graphql` the
//! resolvers build on it.

pub mod alerts;
pub mod graphql;
pub mod model;
pub mod policy;
pub mod scoreboard;
pub mod service;
pub mod store;
pub mod values;
