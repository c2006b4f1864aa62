//! The server on top of the schema: HTTP (GraphQL over HTTP, GraphiQL, health, metrics),
//! WebSocket subscriptions, and the connection limits of the listener.

pub mod connections;
pub mod http;
pub mod state;
pub mod ws;
