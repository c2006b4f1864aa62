//! What the HTTP and WebSocket handlers share: the services, the schema, the shared
//! subscription runs and the per-principal subscription counts.

use crate::schema::AppSchema;
use crate::state::AppState;

/// Router state: the services and the schema.
#[derive(Clone)]
pub struct HttpState {
    /// Services.
    pub app: AppState,
    /// The executable schema.
    pub schema: AppSchema,
    /// Subscription runs shared by WebSocket subscribers that render the same (see `ws::shared`).
    pub shared: std::sync::Arc<crate::server::ws::shared::SharedRenders>,
    /// Live subscriptions per principal over all its WebSocket connections (for their cap).
    pub subscriptions: std::sync::Arc<crate::server::ws::counts::SubscriptionCounts>,
}
