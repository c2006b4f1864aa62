//! Tenant-scoped reads and writes of the points engine. Logging an activity, its
//! per-day total and a work item's progress happen in the caller's transaction, so the
//! aggregates never disagree with the activities they sum.

mod activities;
mod activity_types;
mod campaigns;
mod points_targets;
mod totals;

pub use self::activities::*;
pub use self::activity_types::*;
pub use self::campaigns::*;
pub use self::points_targets::*;
pub use self::totals::*;
