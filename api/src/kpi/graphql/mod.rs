//! GraphQL surface of KPIs: the catalogue and custom KPIs, weekly targets, self-reported
//! values with week locks, value series, and the weekly scoreboard.

mod inputs;
mod mutations;
mod node;
mod queries;
mod subscriptions;
mod support;
mod types;

pub use self::inputs::*;
pub use self::mutations::*;
pub use self::node::*;
pub use self::queries::*;
pub use self::subscriptions::*;
use self::support::*;
pub use self::types::*;
