//! Mystery checks: monthly peer quality audits. Each month one member per team audits a seeded,
//! reproducible random sample of every other member's deals against the organization's criteria
//! (DESIGN.md §5 "Mystery check").
//!
//! `model` holds the pure rules; `store` the queries; `policy` who may change what; `service`
//! the writes, one unit of work each; `graphql` the thin resolvers.

pub mod graphql;
pub mod model;
pub mod policy;
pub mod service;
pub mod store;
