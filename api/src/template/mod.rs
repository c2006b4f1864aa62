//! Starting an organization from a proven set-up instead of from nothing: the built-in
//! starter follows the source articles (the pipeline's stages with their content and process
//! checklists, the points of the points article, weekly points and KPI targets per sales role,
//! the "three weeks too few leads" alert and the mystery-check criteria). A template brings
//! set-up only, never people or data.
//!
//! `model` holds the starter's content (pure data and its checks), `policy` who may apply it,
//! `service` the write (one unit of work), `graphql` the mutation.

pub mod graphql;
pub mod model;
pub mod policy;
pub mod service;
