//! Consulting firms: a firm owns client organizations; its staff (firm admins and consultants)
//! sign in once and act in the firm's clients with the role the firm grants them there.

pub mod graphql;
pub mod model;
pub mod policy;
pub mod service;
pub mod store;
