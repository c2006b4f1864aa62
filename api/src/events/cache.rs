//! Values loaded from the database and kept until the bus's membership epoch moves (see
//! [`EventBus::membership_epoch`]) or a time-to-live passes: the one mechanism behind the
//! member cache (`auth::cache`) and the organization-settings cache (`scores::SettingsCache`);
//! [`TenantSnapshots`], an organization's directory or rules kept whole; and [`DerivedViews`],
//! what is computed from an organization's data (a team's KPI scoreboard of a week), kept while
//! no event of that organization has arrived.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use uuid::Uuid;

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

    /// Whether anything is kept (a zero TTL keeps nothing).
    pub fn keeps(&self) -> bool {
        !self.ttl.is_zero()
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
pub struct TenantSnapshots<V>(Kept<(), V>);

impl<V> std::fmt::Debug for TenantSnapshots<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantSnapshots").field("ttl", &self.0.ttl).field("capacity", &self.0.capacity).finish()
    }
}

impl<V> TenantSnapshots<V> {
    /// Keeps at most `capacity` organizations, each for `ttl` (zero: every call loads).
    pub fn new(events: EventBus, ttl: Duration, capacity: usize) -> Self {
        TenantSnapshots(Kept::new(events, Version::Membership, ttl, capacity))
    }

    /// The organization's value: the kept one while it is current, else what `load` returns
    /// (kept for the next callers; an error is not kept).
    pub async fn get<F, Fut>(&self, org: OrgId, load: F) -> AppResult<Arc<V>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = AppResult<V>>,
    {
        self.0.get(org, (), &[], load).await
    }
}

/// Values computed from an organization's data, one per key (a team and a week, say), kept
/// while the organization's [view version](EventBus::view_version) has not moved (every event
/// of the organization moves it — a deal, a target, a self-report, a member — except a score
/// change of a member outside the view's teams) and for at most a time-to-live (changes made
/// outside the API). Concurrent requests that find nothing current share one computation.
pub struct DerivedViews<K, V>(Kept<K, V>);

impl<K, V> std::fmt::Debug for DerivedViews<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DerivedViews").field("ttl", &self.0.ttl).field("capacity", &self.0.capacity).finish()
    }
}

impl<K: Eq + Hash + Clone, V> DerivedViews<K, V> {
    /// Keeps at most `capacity` values, each for `ttl` (zero: every call computes).
    pub fn new(events: EventBus, ttl: Duration, capacity: usize) -> Self {
        DerivedViews(Kept::new(events, Version::View, ttl, capacity))
    }

    /// The value of `key` in `org`, whose activity totals are those of the members of `teams`
    /// (none: it reads no activity): the kept one while it is current, else what `load`
    /// returns (kept for the next callers; an error is not kept).
    pub async fn get<F, Fut>(&self, org: OrgId, key: K, teams: &[Uuid], load: F) -> AppResult<Arc<V>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = AppResult<V>>,
    {
        self.0.get(org, key, teams, load).await
    }

    /// How many values are kept (current or not).
    pub fn len(&self) -> usize {
        self.0.slots.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Which of an organization's counters a kept value follows.
#[derive(Clone, Copy, Debug)]
enum Version {
    /// Moved by events that change membership and rules.
    Membership,
    /// Moved by every event but score changes outside the view's teams.
    View,
}

/// The mechanism of [`TenantSnapshots`] and [`DerivedViews`]: per organization and key, the
/// version read before loading and the load, shared by concurrent callers.
struct Kept<K, V> {
    events: EventBus,
    version: Version,
    ttl: Duration,
    capacity: usize,
    slots: RwLock<Slots<K, V>>,
}

/// The kept slots, per organization and key.
type Slots<K, V> = HashMap<(OrgId, K), Arc<Slot<V>>>;

/// What is kept of one key: the version read before loading, the teams it follows, and the
/// load.
struct Slot<V> {
    version: (u64, u64),
    teams: Vec<Uuid>,
    created: Instant,
    value: tokio::sync::OnceCell<Arc<V>>,
}

impl<K: Eq + Hash + Clone, V> Kept<K, V> {
    fn new(events: EventBus, version: Version, ttl: Duration, capacity: usize) -> Self {
        Kept { events, version, ttl, capacity, slots: RwLock::new(HashMap::new()) }
    }

    fn version_of(&self, org: OrgId, teams: &[Uuid]) -> (u64, u64) {
        match self.version {
            Version::Membership => (self.events.membership_version(org), 0),
            Version::View => self.events.view_version(org, teams),
        }
    }

    async fn get<F, Fut>(&self, org: OrgId, key: K, teams: &[Uuid], load: F) -> AppResult<Arc<V>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = AppResult<V>>,
    {
        if self.ttl.is_zero() {
            return load().await.map(Arc::new);
        }
        let slot = self.slot((org, key), teams, Instant::now());
        slot.value.get_or_try_init(|| async { load().await.map(Arc::new) }).await.cloned()
    }

    /// The current slot of `key`, made empty when there is none.
    fn slot(&self, key: (OrgId, K), teams: &[Uuid], now: Instant) -> Arc<Slot<V>> {
        // The version is read before anything is loaded under it: a change that lands while a
        // load runs moves the version, and the next call loads again.
        let version = self.version_of(key.0, teams);
        let current = |s: &Slot<V>| {
            s.version == version && s.teams == teams && now.saturating_duration_since(s.created) < self.ttl
        };
        if let Some(s) = self.slots.read().unwrap_or_else(|e| e.into_inner()).get(&key)
            && current(s)
        {
            return s.clone();
        }
        let mut slots = self.slots.write().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = slots.get(&key)
            && current(s)
        {
            return s.clone();
        }
        if slots.len() >= self.capacity && !slots.contains_key(&key) {
            let ttl = self.ttl;
            slots.retain(|(o, _), s| {
                s.version == self.version_of(*o, &s.teams) && now.saturating_duration_since(s.created) < ttl
            });
            if slots.len() >= self.capacity {
                slots.clear();
            }
        }
        let slot = Arc::new(Slot { version, teams: teams.to_vec(), created: now, value: tokio::sync::OnceCell::new() });
        slots.insert(key, slot.clone());
        slot
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::core::error::AppError;
    use crate::events::Event;

    fn org(n: u128) -> OrgId {
        OrgId(Uuid::from_u128(n))
    }

    /// Computes `key` through `views`, counting the computations in `loads`.
    async fn view(views: &DerivedViews<u32, u32>, o: OrgId, key: u32, loads: &AtomicUsize) -> u32 {
        *views
            .get(o, key, &[Uuid::from_u128(100)], || async {
                loads.fetch_add(1, Ordering::SeqCst);
                Ok(key * 10)
            })
            .await
            .unwrap()
    }

    /// A score change of a member of `team` (none: in no team) in organization `o`.
    fn score(o: u128, team: Option<u128>) -> Event {
        Event::ScoreChanged {
            org: Uuid::from_u128(o),
            member: Uuid::nil(),
            team: team.map(Uuid::from_u128),
            activity: Uuid::nil(),
            points_delta_cents: 100,
            day: None,
            ranked: false,
        }
    }

    #[tokio::test]
    async fn a_view_is_kept_until_an_event_of_its_organization_or_its_teams() {
        let bus = EventBus::new();
        let views = DerivedViews::new(bus.clone(), Duration::from_secs(60), 16);
        let loads = AtomicUsize::new(0);
        assert_eq!(view(&views, org(1), 7, &loads).await, 70);
        assert_eq!(view(&views, org(1), 7, &loads).await, 70);
        assert_eq!(loads.load(Ordering::SeqCst), 1, "kept");
        assert_eq!(view(&views, org(1), 8, &loads).await, 80);
        assert_eq!(loads.load(Ordering::SeqCst), 2, "another key is its own view");
        // Another organization's event leaves it alone; one of its own (any kind) drops it.
        bus.publish(Event::DataChanged { org: Uuid::from_u128(2) });
        view(&views, org(1), 7, &loads).await;
        assert_eq!(loads.load(Ordering::SeqCst), 2);
        // A score change in another team, or a raised alert, leaves it alone.
        for event in
            [score(1, Some(101)), Event::AlertRaised { org: Uuid::from_u128(1), alert: Uuid::nil(), team: None }]
        {
            bus.publish(event);
            view(&views, org(1), 7, &loads).await;
            assert_eq!(loads.load(Ordering::SeqCst), 2);
        }
        for event in [
            score(1, Some(100)),
            score(1, None),
            Event::DataChanged { org: Uuid::from_u128(1) },
            Event::DealChanged { org: Uuid::from_u128(1), deal: Uuid::nil(), team: None },
            Event::ForecastChanged { org: Uuid::from_u128(1), team: None, subject: Uuid::nil() },
            Event::Resync,
        ] {
            let before = loads.load(Ordering::SeqCst);
            bus.publish(event.clone());
            view(&views, org(1), 7, &loads).await;
            view(&views, org(1), 7, &loads).await;
            assert_eq!(loads.load(Ordering::SeqCst), before + 1, "{event:?} drops the view once");
        }
    }

    #[tokio::test]
    async fn a_view_expires_and_a_zero_ttl_keeps_nothing() {
        let bus = EventBus::new();
        let loads = AtomicUsize::new(0);
        let none = DerivedViews::new(bus.clone(), Duration::ZERO, 16);
        view(&none, org(1), 1, &loads).await;
        view(&none, org(1), 1, &loads).await;
        assert_eq!(loads.load(Ordering::SeqCst), 2);
        assert!(none.is_empty());
        let short = DerivedViews::new(bus, Duration::from_millis(30), 16);
        view(&short, org(1), 1, &loads).await;
        tokio::time::sleep(Duration::from_millis(60)).await;
        view(&short, org(1), 1, &loads).await;
        assert_eq!(loads.load(Ordering::SeqCst), 4, "computed again after the time-to-live");
    }

    #[tokio::test]
    async fn concurrent_readers_share_one_computation_and_errors_are_not_kept() {
        let bus = EventBus::new();
        let views: Arc<DerivedViews<u32, u32>> = Arc::new(DerivedViews::new(bus, Duration::from_secs(60), 16));
        let loads = Arc::new(AtomicUsize::new(0));
        let readers: Vec<_> = (0..8)
            .map(|_| {
                let (views, loads) = (views.clone(), loads.clone());
                tokio::spawn(async move {
                    *views
                        .get(org(1), 1, &[], || async move {
                            loads.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            Ok(5)
                        })
                        .await
                        .unwrap()
                })
            })
            .collect();
        for r in readers {
            assert_eq!(r.await.unwrap(), 5);
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        let failed = views.get(org(1), 2, &[], || async { Err(AppError::bad_input("no")) }).await;
        assert!(failed.is_err());
        let again = views.get(org(1), 2, &[], || async { Ok(6) }).await.unwrap();
        assert_eq!(*again, 6, "the error was not kept");
    }

    #[tokio::test]
    async fn at_capacity_stale_views_go_first_then_all() {
        let bus = EventBus::new();
        let views = DerivedViews::new(bus.clone(), Duration::from_secs(60), 2);
        let loads = AtomicUsize::new(0);
        view(&views, org(1), 1, &loads).await;
        view(&views, org(2), 1, &loads).await;
        bus.publish(Event::DataChanged { org: Uuid::from_u128(1) });
        view(&views, org(3), 1, &loads).await;
        assert_eq!(views.len(), 2, "the stale view of organization 1 made room");
        view(&views, org(4), 1, &loads).await;
        assert_eq!(views.len(), 1, "nothing stale: everything went");
    }
}
