//! GraphQL surface of the points engine: activity types, logging and voiding activities,
//! campaigns, points targets, scores, leaderboards and their live updates.

mod inputs;
mod mutations;
mod queries;
mod subscriptions;
mod support;
mod types;

pub use self::inputs::*;
pub use self::mutations::*;
pub use self::queries::*;
pub use self::subscriptions::*;
use self::support::*;
pub use self::types::*;
