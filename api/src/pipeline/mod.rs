//! The sales pipeline: ordered stages with checklists, deals with splits and their stage
//! history.

pub mod catalog;
pub mod graphql;
pub mod kept;
mod loaders;
pub mod model;
pub mod policy;
pub mod service;
pub mod store;
