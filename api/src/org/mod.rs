//! Organizations (tenants), teams and members.

pub mod directory;
pub mod domains_graphql;
pub mod graphql;
pub mod hosts;
pub mod labels_graphql;
mod loaders;
pub mod members;
pub mod model;
pub mod policy;
pub mod service;
pub mod store;
