//! Values loaded from the database and kept until the bus's membership epoch moves (see
//! [`EventBus::membership_epoch`]) or a time-to-live passes: the one mechanism behind the
//! member cache (`auth::cache`) and the organization-settings cache (`scores::SettingsCache`).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use super::EventBus;

/// See the module documentation.
#[derive(Debug)]
pub struct EpochCache<K, V> {
    events: EventBus,
    ttl: Duration,
    capacity: usize,
    entries: RwLock<HashMap<K, Entry<V>>>,
}

#[derive(Debug)]
struct Entry<V> {
    value: V,
    epoch: u64,
    loaded: Instant,
}

impl<K: Eq + Hash, V: Clone> EpochCache<K, V> {
    /// A cache of at most `capacity` entries, trusted for `ttl` (zero: never) while `events`
    /// reports no membership change.
    pub fn new(events: EventBus, ttl: Duration, capacity: usize) -> Self {
        EpochCache { events, ttl, capacity, entries: RwLock::new(HashMap::new()) }
    }

    /// The epoch to store with what is loaded next: read it before loading.
    pub fn epoch(&self) -> u64 {
        self.events.membership_epoch()
    }

    /// The value of `key`, if loaded under the current epoch less than the TTL ago.
    pub fn get(&self, key: &K, now: Instant) -> Option<V> {
        if self.ttl.is_zero() {
            return None;
        }
        let epoch = self.epoch();
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let e = entries.get(key)?;
        (e.epoch == epoch && now.saturating_duration_since(e.loaded) < self.ttl).then(|| e.value.clone())
    }

    /// Remembers `value`, loaded at `now` after reading `epoch`. At capacity the stale entries
    /// go first, and if that is not enough, all of them.
    pub fn put(&self, key: K, value: V, epoch: u64, now: Instant) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            let current = self.epoch();
            entries.retain(|_, e| e.epoch == current && now.saturating_duration_since(e.loaded) < self.ttl);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, Entry { value, epoch, loaded: now });
    }

    /// How many entries are kept (current or not).
    pub fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
