//! Organizations (tenants), teams and members.

pub mod directory;
pub mod graphql;
mod loaders;
pub mod members;
pub mod model;
pub mod policy;
pub mod service;
pub mod store;
