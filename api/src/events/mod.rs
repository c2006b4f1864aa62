//! The event bus: changes are published after their transaction commits and reach every
//! subscriber through a broadcast channel. Subscribers filter by tenant and permission
//! themselves; an event carries IDs, not data, so a subscriber loads what it may see.
//!
//! # One process or several
//!
//! [`EventBus::start`] picks the transport from the database:
//! - SQLite (or anything but PostgreSQL): in-process only, as [`EventBus::new`].
//! - PostgreSQL: [`EventBus::publish`] still reaches this process's subscribers at once, and
//!   also queues the event for other instances on the same database, which get it through
//!   LISTEN/NOTIFY on channel `scorebord_events` (see `postgres.rs`). Each instance skips its
//!   own notifications, so every subscriber receives an event once.
//!
//! `publish` never blocks and never fails; call it after the commit, never inside a
//! transaction. An event crosses instances as JSON (`#[serde(tag = "type")]`): a new variant
//! needs no transport code, only fields that serde can (de)serialize; keep them small (IDs),
//! as a NOTIFY payload is limited to 8000 bytes.
//!
//! # Resync
//!
//! Across instances delivery is best effort: an instance whose LISTEN connection dropped
//! misses what was sent meanwhile, and a publisher that could not send drops events. The
//! instance that may have missed something gets [`Event::Resync`]: every subscriber should
//! then reload its state, as it does on [`broadcast::error::RecvError::Lagged`]. `Resync`
//! belongs to no tenant, so handle it before looking at the tenant:
//!
//! ```text
//! match rx.recv().await {
//!     Ok(Event::Resync) | Err(RecvError::Lagged(_)) => reload().await,
//!     Ok(event) if event.org() == org => reload().await,
//!     Ok(_) => continue,
//!     Err(RecvError::Closed) => break,
//! }
//! ```
//!
//! [`Event::org`] keeps returning a plain `OrgId` for tenant events; for `Resync` it returns
//! the nil ID, which is no organization's, so a subscriber that forgets `Resync` misses a
//! reload but never sees another tenant. [`Event::concerns`] answers both at once.

pub mod cache;
mod event;
mod local;
mod postgres;

pub use event::Event;
pub(crate) use local::Local;
pub use local::{DataVersions, MembershipChange};

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sea_orm::{DatabaseConnection, DbBackend};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::core::ids::OrgId;

/// Capacity of the in-process channel; a subscriber further behind than this skips ahead.
const CHANNEL_CAPACITY: usize = 4096;

/// Cloneable handle to the bus.
#[derive(Clone, Debug)]
pub struct EventBus {
    local: Local,
    /// On PostgreSQL: the queue to the task that notifies the other instances.
    remote: Option<postgres::Outbox>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    /// A new, empty bus that reaches this process only.
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(CHANNEL_CAPACITY);
        EventBus {
            local: Local {
                sender,
                epoch: Arc::new(AtomicU64::new(0)),
                changes: Arc::new(tokio::sync::watch::Sender::new(MembershipChange::default())),
                versions: DataVersions::default(),
                membership_versions: DataVersions::default(),
                view_versions: Default::default(),
            },
            remote: None,
        }
    }

    /// The bus for an application on `db`. On PostgreSQL it also connects to the other instances
    /// on the database (`database_url`, the one `db` was opened with): it listens before it
    /// returns and spawns a publisher and a listener task, which stop when the last clone of the
    /// bus is dropped (or with the runtime). Elsewhere it is [`EventBus::new`].
    pub async fn start(database_url: &str, db: &DatabaseConnection) -> Result<EventBus, sea_orm::sqlx::Error> {
        let mut bus = EventBus::new();
        if db.get_database_backend() == DbBackend::Postgres {
            bus.remote = Some(postgres::start(database_url, bus.local.clone()).await?);
        }
        Ok(bus)
    }

    /// Whether events also reach other instances (PostgreSQL).
    pub fn is_shared(&self) -> bool {
        self.remote.is_some()
    }

    /// Publishes an event: to this process's subscribers at once, and on PostgreSQL queued for
    /// the other instances. Call only after the transaction that caused it has committed.
    pub fn publish(&self, event: Event) {
        if let Some(remote) = &self.remote {
            remote.enqueue(event.clone());
        }
        self.local.send(event);
    }

    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.local.sender.subscribe()
    }

    /// The membership epoch: it moves whenever an event that [changes
    /// membership](Event::changes_membership) reaches this process, before subscribers see it.
    /// Read it before loading a member; a cached copy is current while the epoch has not moved.
    pub fn membership_epoch(&self) -> u64 {
        self.local.epoch.load(Ordering::SeqCst)
    }

    /// A receiver of the latest membership change (see [`MembershipChange`]): it wakes only for
    /// events that change membership, not for scores and deals.
    pub fn membership_changes(&self) -> tokio::sync::watch::Receiver<MembershipChange> {
        self.local.changes.subscribe()
    }

    /// The organizations' membership versions: like [`EventBus::membership_epoch`], but per
    /// organization (an organization's counter moves with its own membership events and with a
    /// resync, not with another tenant's), so what is kept per organization survives the other
    /// tenants' edits. Read it before loading.
    pub fn membership_version(&self, org: OrgId) -> u64 {
        self.local.membership_versions.get(org)
    }

    /// The version of a view computed from `org`'s data whose activity totals are those of the
    /// members of `teams` (none: the view reads no activity): it moves with every event of the
    /// organization but a score change outside those teams and a raised alert. Read it before
    /// computing the view; the view is current while it has not moved.
    pub fn view_version(&self, org: OrgId, teams: &[Uuid]) -> (u64, u64) {
        self.local.view_versions.get(org, teams)
    }

    /// The organizations' data versions, moved by every event (see [`DataVersions`]).
    pub fn data_versions(&self) -> &DataVersions {
        &self.local.versions
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn membership_versions_move_per_organization() {
        let bus = EventBus::new();
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let (va, vb) = (bus.membership_version(OrgId(a)), bus.membership_version(OrgId(b)));
        bus.publish(Event::ScoreChanged {
            org: a,
            member: Uuid::nil(),
            team: None,
            activity: Uuid::nil(),
            points_delta_cents: 100,
            day: None,
            ranked: false,
        });
        assert_eq!(bus.membership_version(OrgId(a)), va, "a score is not a membership change");
        for event in [
            Event::MembersChanged { org: a },
            Event::RulesChanged { org: a },
            Event::OrganizationChanged { org: a },
            Event::AccessChanged { org: a },
        ] {
            let before = bus.membership_version(OrgId(a));
            bus.publish(event.clone());
            assert!(bus.membership_version(OrgId(a)) > before, "{event:?} moves its organization's version");
        }
        assert_eq!(bus.membership_version(OrgId(b)), vb, "another organization's changes leave b alone");
        bus.publish(Event::Resync);
        assert!(bus.membership_version(OrgId(b)) > vb, "a resync moves every organization");
    }

    #[test]
    fn membership_changes_wake_watchers_of_their_organization_only() {
        let bus = EventBus::new();
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let mut rx = bus.membership_changes();
        let seen = rx.borrow_and_update().epoch;
        bus.publish(Event::DealChanged { org: a, deal: Uuid::nil(), team: None });
        assert!(!rx.has_changed().unwrap(), "a deal does not change membership");
        bus.publish(Event::MembersChanged { org: b });
        let change = *rx.borrow_and_update();
        assert!(!change.concerns(OrgId(a), seen), "another organization's change");
        assert!(change.concerns(OrgId(b), seen));
        bus.publish(Event::AccessChanged { org: b });
        bus.publish(Event::MembersChanged { org: b });
        let later = *rx.borrow_and_update();
        assert!(later.concerns(OrgId(a), change.epoch), "a skipped change may have been anyone's");
        bus.publish(Event::Resync);
        let resync = *rx.borrow_and_update();
        assert!(resync.concerns(OrgId(a), later.epoch) && resync.org.is_none());
    }

    #[test]
    fn events_serialize_tagged_by_type() {
        let org = Uuid::from_u128(42);
        let changed = Event::OrganizationChanged { org };
        let json = serde_json::to_value(&changed).unwrap();
        assert_eq!(json, serde_json::json!({"type": "OrganizationChanged", "org": org.to_string()}));
        assert_eq!(serde_json::from_value::<Event>(json).unwrap(), changed);
        let json = serde_json::to_value(Event::Resync).unwrap();
        assert_eq!(json, serde_json::json!({"type": "Resync"}));
        assert_eq!(serde_json::from_value::<Event>(json).unwrap(), Event::Resync);
    }

    #[test]
    fn ranked_stays_on_the_instance_that_set_it() {
        let local = Event::ScoreChanged {
            org: Uuid::from_u128(1),
            member: Uuid::from_u128(2),
            team: None,
            activity: Uuid::from_u128(3),
            points_delta_cents: 250,
            day: None,
            ranked: true,
        };
        let json = serde_json::to_value(&local).unwrap();
        assert!(json.get("ranked").is_none(), "{json}");
        let Event::ScoreChanged { ranked, points_delta_cents, .. } = serde_json::from_value::<Event>(json).unwrap()
        else {
            panic!("not a score change");
        };
        assert_eq!((ranked, points_delta_cents), (false, 250), "another instance re-reads");
    }

    #[test]
    fn resync_concerns_every_tenant_and_belongs_to_none() {
        let org = OrgId(Uuid::from_u128(1));
        assert!(Event::Resync.concerns(org));
        assert_ne!(Event::Resync.org(), org);
        assert!(Event::OrganizationChanged { org: org.0 }.concerns(org));
        assert!(!Event::OrganizationChanged { org: Uuid::from_u128(2) }.concerns(org));
    }

    #[test]
    fn every_event_moves_its_organizations_data_version_and_resync_all() {
        let bus = EventBus::new();
        let (a, b) = (OrgId(Uuid::from_u128(1)), OrgId(Uuid::from_u128(2)));
        let versions = bus.data_versions().clone();
        let (va, vb) = (versions.get(a), versions.get(b));
        bus.publish(Event::DealChanged { org: a.0, deal: Uuid::from_u128(3), team: None });
        assert_eq!((versions.get(a), versions.get(b)), (va + 1, vb));
        bus.publish(Event::ScoreChanged {
            org: b.0,
            member: Uuid::from_u128(4),
            team: None,
            activity: Uuid::from_u128(5),
            points_delta_cents: 100,
            day: None,
            ranked: false,
        });
        assert_eq!((versions.get(a), versions.get(b)), (va + 1, vb + 1));
        bus.publish(Event::Resync);
        assert_eq!((versions.get(a), versions.get(b)), (va + 2, vb + 2));
        versions.bump(a);
        assert_eq!(versions.get(a), va + 3);
    }

    #[tokio::test]
    async fn in_process_bus_delivers_once() {
        let bus = EventBus::new();
        assert!(!bus.is_shared());
        let mut rx = bus.subscribe();
        bus.publish(Event::Resync);
        assert_eq!(rx.recv().await.unwrap(), Event::Resync);
        assert!(rx.try_recv().is_err());
    }
}
