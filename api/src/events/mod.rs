//! The event bus: changes are published after their transaction commits and reach every
//! subscriber of this process through a broadcast channel. Subscribers filter by tenant
//! and permission themselves; an event carries IDs, not data, so a subscriber loads what
//! it may see.

use tokio::sync::broadcast;
use uuid::Uuid;

use crate::org::model::OrgId;

/// Something that changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// An organization's settings or branding changed.
    OrganizationChanged {
        /// The tenant.
        org: Uuid,
    },
}

impl Event {
    /// The tenant the event belongs to.
    pub fn org(&self) -> OrgId {
        match self {
            Event::OrganizationChanged { org } => OrgId(*org),
        }
    }
}

/// Capacity of the in-process channel; a subscriber further behind than this skips ahead.
const CHANNEL_CAPACITY: usize = 4096;

/// Cloneable handle to the bus.
#[derive(Clone, Debug)]
pub struct EventBus {
    sender: broadcast::Sender<Event>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    /// A new, empty bus.
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(CHANNEL_CAPACITY);
        EventBus { sender }
    }

    /// Publishes an event. Call only after the transaction that caused it has committed.
    pub fn publish(&self, event: Event) {
        // No subscribers is not an error.
        let _ = self.sender.send(event);
    }

    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.sender.subscribe()
    }
}
