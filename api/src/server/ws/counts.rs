//! Live subscriptions per principal on this instance, for the per-principal cap.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// Live subscriptions per principal on this instance, over all its connections: each open
/// socket registers the set of its operation IDs.
#[derive(Default)]
pub struct SubscriptionCounts(Mutex<HashMap<String, Vec<std::sync::Weak<OperationIds>>>>);

/// The IDs of the operations a socket runs.
type OperationIds = Mutex<HashSet<String>>;

impl SubscriptionCounts {
    /// Counts a socket's operations towards `who` for as long as the socket lives.
    pub(super) fn register(&self, who: &str, active: &Arc<Mutex<HashSet<String>>>) {
        if let Ok(mut all) = self.0.lock() {
            let sockets = all.entry(who.to_owned()).or_default();
            sockets.retain(|s| s.strong_count() > 0);
            sockets.push(Arc::downgrade(active));
        }
    }

    /// The operations `who` runs now over all its sockets; closed sockets are forgotten.
    pub(super) fn total(&self, who: &str) -> usize {
        let Ok(mut all) = self.0.lock() else { return usize::MAX };
        let Some(sockets) = all.get_mut(who) else { return 0 };
        sockets.retain(|s| s.strong_count() > 0);
        let total = sockets.iter().filter_map(std::sync::Weak::upgrade).map(|s| s.lock().map_or(0, |s| s.len())).sum();
        if sockets.is_empty() {
            all.remove(who);
        }
        total
    }
}
