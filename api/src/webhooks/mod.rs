//! Outgoing webhooks (issue 6 item 7): subscriptions per organization, a delivery queue in the
//! database filled in the transaction of each change, and a dispatcher that signs, sends and
//! retries.

pub mod dispatcher;
pub mod graphql;
pub mod model;
pub mod store;
