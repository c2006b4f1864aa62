//! The pipeline use-cases that write: setting up stages, checklists and custom fields (admins)
//! and changing deals. Each checks the policy, runs its reads, checks and writes in one unit of
//! work and returns the field errors of a refused request ([`crate::core::field::Checked`]).

mod deals;
mod fields;
mod setup;

pub use self::deals::*;
pub use self::fields::DealChanges;
pub use self::setup::*;
