//! The shared kernel: what every layer uses and that names no domain. Errors, identifiers,
//! roles and the caller, field errors and the free-text rules, money, periods and the
//! organization settings.

pub mod error;
pub mod field;
pub mod ids;
pub mod locale;
pub mod messages;
pub mod money;
pub mod period;
pub mod principal;
pub mod roles;
pub mod settings;
