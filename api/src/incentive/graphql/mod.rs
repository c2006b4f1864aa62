//! GraphQL surface of incentive compensation: versioned plans and their assignments (admins),
//! payout runs and the statement lifecycle DRAFT → APPROVED → PAID (admins), disputes (the rep
//! on their own lines; managers and admins resolve), and the what-if `simulatePayout`.

mod inputs;
mod mutations;
mod node;
mod queries;
mod support;
mod types;

pub use self::inputs::*;
pub use self::mutations::*;
pub use self::node::*;
pub use self::queries::*;
pub use self::support::*;
pub use self::types::*;
