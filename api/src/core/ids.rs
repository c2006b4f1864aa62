//! Identifiers every layer shares.

use uuid::Uuid;

/// The tenant an operation is scoped to. Every store function takes it first.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct OrgId(pub Uuid);
