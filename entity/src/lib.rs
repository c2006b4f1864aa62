//! sea-orm entities for Scorebord: one module per table, no logic.
//!
//! Every tenant table carries `organization_id`; queries over them live in the
//! `store.rs` of the owning domain in the `scorebord` crate, never here.

pub mod member;
pub mod organization;
pub mod persisted_query;
pub mod refresh_token;
pub mod team;
