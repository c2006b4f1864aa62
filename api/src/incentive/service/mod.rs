//! The incentive use-cases that write: plans and their assignments, payout runs and the
//! statement lifecycle, and disputes. Each checks the policy, runs in one [`Unit`] and records
//! what changed in the audit trail; a refused request returns its field errors
//! ([`Checked`](crate::core::field::Checked)) and writes nothing.
//!
//! [`Unit`]: crate::db::unit::Unit

mod components;
mod disputes;
mod plans;
mod statements;

pub use self::components::*;
pub use self::disputes::*;
pub use self::plans::*;
pub use self::statements::*;
