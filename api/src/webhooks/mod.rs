//! Outgoing webhooks: subscriptions per organization, a delivery queue in the database filled
//! in the transaction of each change, and a dispatcher that signs, sends and retries, connecting
//! only to vetted destinations.

pub mod destination;
pub mod dispatcher;
pub mod graphql;
pub mod limits;
pub mod model;
pub mod policy;
pub mod service;
pub mod store;
