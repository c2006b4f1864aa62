//! What the HTTP and WebSocket handlers share: the services, the schema, the shared
//! subscription runs and the per-principal subscription counts.

use crate::schema::AppSchema;
use crate::state::AppState;

/// Router state: the services and the schema, behind one `Arc`. The router clones its state for
/// every request; cloning each service handle instead cost some thirty atomic counter updates
/// (and as many on drop) per request, shared between the cores.
#[derive(Clone)]
pub struct HttpState(std::sync::Arc<Services>);

impl HttpState {
    /// The router state over `services`.
    pub fn new(services: Services) -> HttpState {
        HttpState(std::sync::Arc::new(services))
    }
}

impl std::ops::Deref for HttpState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// What [`HttpState`] holds.
pub struct Services {
    /// Services.
    pub app: AppState,
    /// The executable schema.
    pub schema: AppSchema,
    /// Subscription runs shared by WebSocket subscribers that render the same (see `ws::shared`).
    pub shared: std::sync::Arc<crate::server::ws::shared::SharedRenders>,
    /// Live subscriptions per principal over all its WebSocket connections (for their cap).
    pub subscriptions: std::sync::Arc<crate::server::ws::counts::SubscriptionCounts>,
}
