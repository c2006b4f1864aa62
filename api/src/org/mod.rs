//! Organizations (tenants), teams and members.

pub mod graphql;
pub mod model;
pub mod store;
