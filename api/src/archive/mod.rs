//! An organization's data as an archive (export, and read back into a new organization) and its
//! erasure.

pub mod model;
pub mod policy;
pub mod service;
pub mod store;
