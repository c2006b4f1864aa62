//! GraphQL surface of the pipeline: stages and checklists (admins), deals with the
//! checklist gate, probabilities, splits, stage history and `dealChanged`.

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
