//! The sales pipeline: ordered stages with checklists, deals with splits and their stage
//! history.

pub mod catalog;
pub mod graphql;
mod loaders;
pub mod model;
pub mod policy;
pub mod service;
pub mod store;
