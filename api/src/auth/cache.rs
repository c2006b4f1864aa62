//! Authenticated members, remembered for a few seconds.
//!
//! Every request with a member's token used to load the organization and the member (two
//! queries) before it did anything else; on a busy instance that was most of the database work
//! of a `logActivity`. The cache keeps the [`Principal`] built from those rows, keyed by member,
//! and serves it while both hold:
//!
//! - **The membership epoch has not moved** ([`EventBus::membership_epoch`]): every change to
//!   what a principal is made of (role, team, active flag, the organization) publishes
//!   `MembersChanged` or `OrganizationChanged`, which raises the epoch *before* the mutation
//!   answers, so the next request loads the member again. Another instance on the same
//!   PostgreSQL database raises it when the event arrives over LISTEN/NOTIFY (milliseconds), and
//!   after a lost connection through `Resync`.
//! - **The entry is younger than the TTL** (`MEMBER_CACHE_SECONDS`, 5 s by default): the bound
//!   for changes that publish nothing, such as SQL run by hand or the CLI on SQLite.
//!
//! The epoch is read before the rows are loaded and stored with the entry, so a load that
//! overlaps a change is never served after it. Only active members are cached; a refused token
//! is checked against the database each time. API keys are not cached.

use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::core::principal::Principal;
use crate::events::EventBus;
use crate::events::cache::EpochCache;

/// Entries kept at most; past it the stale ones go, and if that is not enough, all of them.
const CAPACITY: usize = 100_000;

/// See the module documentation. Keyed by member; each entry keeps the organization claim of
/// the token it was loaded for (an ID or a slug).
#[derive(Debug)]
pub struct MemberCache(EpochCache<Uuid, (Box<str>, Principal)>);

impl MemberCache {
    /// A cache that trusts entries for `ttl` (zero: never) while `events` reports no change.
    pub fn new(events: EventBus, ttl: Duration) -> Self {
        MemberCache(EpochCache::new(events, ttl, CAPACITY))
    }

    /// Whether members are remembered at all (`MEMBER_CACHE_SECONDS` above zero).
    pub fn keeps(&self) -> bool {
        self.0.keeps()
    }

    /// The epoch to store with what is loaded next: read it before loading.
    pub fn epoch(&self) -> u64 {
        self.0.epoch()
    }

    /// The cached principal of `member` for a token naming `org_claim`, if still current.
    pub fn get(&self, org_claim: &str, member: Uuid, now: Instant) -> Option<Principal> {
        self.0.get(&member, now).filter(|(claim, _)| &**claim == org_claim).map(|(_, p)| p)
    }

    /// Remembers `principal`, loaded at `now` after reading `epoch` (API keys are not kept).
    pub fn put(&self, org_claim: &str, principal: &Principal, epoch: u64, now: Instant) {
        if principal.api_key.is_none() {
            self.0.put(principal.member_id, (org_claim.into(), principal.clone()), epoch, now);
        }
    }

    /// How many members are remembered (current or not).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ids::OrgId;
    use crate::core::roles::Role;
    use crate::events::Event;

    fn principal(member: u128) -> Principal {
        Principal {
            org: OrgId(Uuid::from_u128(7)),
            member_id: Uuid::from_u128(member),
            role: Role::Rep,
            team_id: None,
            api_key: None,
            firm_staff: None,
        }
    }

    fn cache(ttl: u64) -> (EventBus, MemberCache) {
        let bus = EventBus::new();
        (bus.clone(), MemberCache::new(bus, Duration::from_secs(ttl)))
    }

    #[test]
    fn serves_what_it_was_given_within_the_ttl() {
        let (_, c) = cache(5);
        let t = Instant::now();
        assert!(c.get("acme", Uuid::from_u128(1), t).is_none());
        c.put("acme", &principal(1), c.epoch(), t);
        let got = c.get("acme", Uuid::from_u128(1), t + Duration::from_millis(4_999)).unwrap();
        assert_eq!(got.member_id, Uuid::from_u128(1));
        assert!(c.get("acme", Uuid::from_u128(2), t).is_none(), "another member");
        assert!(c.get("acme", Uuid::from_u128(1), t + Duration::from_secs(5)).is_none(), "expired at the TTL");
    }

    #[test]
    fn a_token_naming_another_organization_is_not_served() {
        let (_, c) = cache(5);
        let t = Instant::now();
        c.put("acme", &principal(1), c.epoch(), t);
        assert!(c.get("other", Uuid::from_u128(1), t).is_none());
    }

    #[test]
    fn membership_events_make_every_entry_stale_at_once() {
        let (bus, c) = cache(60);
        let t = Instant::now();
        c.put("acme", &principal(1), c.epoch(), t);
        bus.publish(Event::ScoreChanged {
            org: Uuid::from_u128(7),
            member: Uuid::from_u128(1),
            team: None,
            activity: Uuid::nil(),
            points_delta_cents: 100,
            day: None,
            ranked: false,
        });
        assert!(c.get("acme", Uuid::from_u128(1), t).is_some(), "a score change changes no member");
        for event in [
            Event::MembersChanged { org: Uuid::from_u128(9) },
            Event::OrganizationChanged { org: Uuid::nil() },
            Event::Resync,
        ] {
            c.put("acme", &principal(1), c.epoch(), t);
            assert!(c.get("acme", Uuid::from_u128(1), t).is_some());
            bus.publish(event.clone());
            assert!(c.get("acme", Uuid::from_u128(1), t).is_none(), "{event:?} must invalidate");
        }
    }

    #[test]
    fn a_load_that_overlapped_a_change_is_never_served() {
        let (bus, c) = cache(60);
        let t = Instant::now();
        let before = c.epoch();
        // ... the rows are read here, then a member is changed and the change is published ...
        bus.publish(Event::MembersChanged { org: Uuid::from_u128(7) });
        c.put("acme", &principal(1), before, t);
        assert!(c.get("acme", Uuid::from_u128(1), t).is_none());
    }

    #[test]
    fn a_zero_ttl_and_api_keys_are_never_cached() {
        let (_, c) = cache(0);
        let t = Instant::now();
        c.put("acme", &principal(1), c.epoch(), t);
        assert!(c.get("acme", Uuid::from_u128(1), t).is_none());
        assert!(c.is_empty());
        let (_, c) = cache(5);
        let mut key = principal(2);
        key.api_key = Some(super::super::ApiKeyAccess { id: Uuid::nil(), scopes: vec![] });
        c.put("acme", &key, c.epoch(), t);
        assert!(c.is_empty());
    }

    #[test]
    fn it_stays_bounded() {
        let (bus, c) = cache(60);
        let t = Instant::now();
        for m in 0..CAPACITY as u128 {
            c.put("acme", &principal(m), c.epoch(), t);
        }
        assert_eq!(c.len(), CAPACITY);
        // All stale after a change: the next insert clears them out.
        bus.publish(Event::MembersChanged { org: Uuid::from_u128(7) });
        c.put("acme", &principal(u128::MAX), c.epoch(), t);
        assert_eq!(c.len(), 1);
        // All current: the next insert starts over rather than grow.
        let (_, c) = cache(60);
        for m in 0..CAPACITY as u128 {
            c.put("acme", &principal(m), c.epoch(), t);
        }
        c.put("acme", &principal(0), c.epoch(), t);
        assert_eq!(c.len(), CAPACITY, "replacing an entry keeps the others");
        c.put("acme", &principal(u128::MAX), c.epoch(), t);
        assert_eq!(c.len(), 1);
    }
}
