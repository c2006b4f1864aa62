//! GraphQL primitives every domain builds on: the context extension, user errors, Relay
//! connections and keyset cursors, cost, access checks, loaders and the request-level
//! extensions. Nothing here names a domain; the schema is assembled in `crate::schema`.

pub mod access;
pub mod apq;
pub mod context;
pub mod cost;
pub mod documents;
pub mod error;
pub mod exchange;
pub mod hooks;
pub mod keyset;
pub mod loaders;
pub mod observability;
pub mod page;
pub mod projection;
pub mod relay;
pub mod scoped;

pub use context::{ContextExt, LocaleOf, RequestHost, RequestLocale, request_data, request_locale, with_request_data};
pub use error::UserError;
