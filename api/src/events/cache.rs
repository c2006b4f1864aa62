//! Values loaded from the database and kept until the bus's membership epoch moves (see
//! [`EventBus::membership_epoch`]) or a time-to-live passes: the one mechanism behind the
//! member cache (`auth::cache`) and the organization-settings cache (`scores::SettingsCache`);
//! and [`TenantSnapshots`], an organization's directory or rules kept whole.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::EventBus;
use crate::core::error::AppResult;
use crate::core::ids::OrgId;

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

/// One value per organization, loaded whole (every member, every team, …) and kept while the
/// organization's [membership version](EventBus::membership_version) has not moved and for at
/// most a time-to-live: the in-memory state that reads of an organization's directory and rules
/// are served from. Concurrent requests that find nothing current share one load; another
/// tenant's change leaves the value alone.
pub struct TenantSnapshots<V> {
    events: EventBus,
    ttl: Duration,
    capacity: usize,
    slots: RwLock<HashMap<OrgId, Arc<Slot<V>>>>,
}

impl<V> std::fmt::Debug for TenantSnapshots<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantSnapshots").field("ttl", &self.ttl).field("capacity", &self.capacity).finish()
    }
}

/// What is kept of one organization: the version read before loading, and the load.
struct Slot<V> {
    version: u64,
    created: Instant,
    value: tokio::sync::OnceCell<Arc<V>>,
}

impl<V> TenantSnapshots<V> {
    /// Keeps at most `capacity` organizations, each for `ttl` (zero: every call loads).
    pub fn new(events: EventBus, ttl: Duration, capacity: usize) -> Self {
        TenantSnapshots { events, ttl, capacity, slots: RwLock::new(HashMap::new()) }
    }

    /// The organization's value: the kept one while it is current, else what `load` returns
    /// (kept for the next callers; an error is not kept).
    pub async fn get<F, Fut>(&self, org: OrgId, load: F) -> AppResult<Arc<V>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = AppResult<V>>,
    {
        if self.ttl.is_zero() {
            return load().await.map(Arc::new);
        }
        let slot = self.slot(org, Instant::now());
        slot.value.get_or_try_init(|| async { load().await.map(Arc::new) }).await.cloned()
    }

    /// The current slot of `org`, made empty when there is none.
    fn slot(&self, org: OrgId, now: Instant) -> Arc<Slot<V>> {
        // The version is read before anything is loaded under it: a change that lands while a
        // load runs moves the version, and the next call loads again.
        let version = self.events.membership_version(org);
        let current = |s: &Slot<V>| s.version == version && now.saturating_duration_since(s.created) < self.ttl;
        if let Some(s) = self.slots.read().unwrap_or_else(|e| e.into_inner()).get(&org)
            && current(s)
        {
            return s.clone();
        }
        let mut slots = self.slots.write().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = slots.get(&org)
            && current(s)
        {
            return s.clone();
        }
        if slots.len() >= self.capacity && !slots.contains_key(&org) {
            let ttl = self.ttl;
            slots.retain(|o, s| {
                s.version == self.events.membership_version(*o) && now.saturating_duration_since(s.created) < ttl
            });
            if slots.len() >= self.capacity {
                slots.clear();
            }
        }
        let slot = Arc::new(Slot { version, created: now, value: tokio::sync::OnceCell::new() });
        slots.insert(org, slot.clone());
        slot
    }
}
