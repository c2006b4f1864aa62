//! Territories: a tree of regions, segments and named-account sets with routing rules that send
//! new and changed deals to the most specific match, member assignments over time (one owner at
//! a time) and coverage gaps.

pub mod graphql;
pub mod model;
pub mod policy;
pub mod service;
pub mod store;
