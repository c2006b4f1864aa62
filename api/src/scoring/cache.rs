//! What every logging batch reads and almost never changes, remembered by this instance.
//!
//! A `logActivity` batch used to read its members, the organization's activity types, the
//! campaigns at its activities' times and the organization's webhooks: four of its nine
//! statements, each a round trip made while the next batch waits for the queue. They are kept
//! here under the rules of [`crate::auth::cache`]: an entry is served while the bus's
//! membership epoch has not moved and for at most `MEMBER_CACHE_SECONDS`.
//!
//! - **Member rows** move the epoch through `MembersChanged` (every member mutation, teams
//!   moved, imports), the same event the authentication cache already relies on.
//! - **Rules** (activity types, campaigns, webhooks) move it through `RulesChanged`, which every
//!   mutation of those publishes after its commit and before it answers; the team tree kept
//!   with them (for campaigns limited to teams) through `MembersChanged`.
//!
//! - **Self-logged quantities** per (member, activity type, local day), which the self-logging
//!   ceilings check: read at most once per TTL and counted up as this instance accepts an
//!   activity, before its batch commits (see [`SelfLogged`]).
//!
//! What is not found here is read from the database as before: a member or activity type
//! created on another instance a moment ago, an activity older than the campaigns kept. With
//! `MEMBER_CACHE_SECONDS=0` nothing is kept and every batch reads everything itself.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use entity::{activity_type, member, webhook};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::model::CampaignRule;
use super::store;
use crate::core::error::AppResult;
use crate::core::ids::OrgId;
use crate::events::EventBus;
use crate::events::cache::EpochCache;
use crate::org::model::TeamTree;

/// Organizations whose rules are kept at most.
const ORGANIZATIONS: usize = 10_000;
/// Member rows kept at most.
const MEMBERS: usize = 100_000;
/// Self-logged day quantities kept at most (expired ones are dropped first when it is full).
const SELF_LOGGED: usize = 400_000;
/// Campaigns are kept from this many days before the open window: an activity's local date
/// lies within the window, and a local day starts at most 14 hours before its UTC date.
const CAMPAIGN_MARGIN_DAYS: i64 = 2;

/// An organization's rules as logging applies them.
#[derive(Debug)]
pub struct OrgRules {
    /// Every activity type, archived ones included, by ID.
    pub types: HashMap<Uuid, activity_type::Model>,
    /// Every campaign running at some instant at or after [`OrgRules::campaigns_from`].
    pub campaigns: Vec<CampaignRule>,
    /// The earliest instant `campaigns` is complete for.
    pub campaigns_from: DateTime<Utc>,
    /// The active webhooks.
    pub webhooks: Vec<webhook::Model>,
    /// The organization's teams (a campaign limited to teams reaches their subtrees): team
    /// changes publish `MembersChanged`, which moves the same epoch.
    pub tree: TeamTree,
}

/// See the module documentation.
#[derive(Debug)]
pub struct LogCache {
    rules: EpochCache<OrgId, Arc<OrgRules>>,
    members: EpochCache<Uuid, member::Model>,
    self_logged: Arc<SelfLogged>,
    ttl: Duration,
}

/// One member's self-logged quantity of one activity type on one local day.
pub type SelfKey = (Uuid, Uuid, NaiveDate);

/// What members logged for themselves per [`SelfKey`], as this instance knows it: the stored
/// sum read from the database, plus every quantity this instance accepted since. A quantity is
/// counted when logging accepts it, before its batch commits, so the next batch sees it even
/// while the first still writes; a batch that rolls back leaves the figure too high until the
/// entry expires (`MEMBER_CACHE_SECONDS`), which errs on the refusing side. Voids and other
/// instances' logging are seen when the entry is read again, at most a TTL later, so like the
/// cost budgets the ceiling is kept per instance.
#[derive(Debug)]
pub struct SelfLogged {
    entries: std::sync::Mutex<HashMap<(OrgId, SelfKey), (i64, Instant)>>,
    ttl: Duration,
}

impl SelfLogged {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(OrgId, SelfKey), (i64, Instant)>> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The kept quantities of `keys`, and the keys to read from the database.
    pub fn get(&self, org: OrgId, keys: &[SelfKey]) -> (Vec<(SelfKey, i64)>, Vec<SelfKey>) {
        let now = Instant::now();
        let entries = self.lock();
        let mut found = Vec::with_capacity(keys.len());
        let mut missing = Vec::new();
        for key in keys {
            match entries.get(&(org, *key)) {
                Some((quantity, read)) if now.duration_since(*read) < self.ttl => found.push((*key, *quantity)),
                _ => missing.push(*key),
            }
        }
        (found, missing)
    }

    /// Keeps a stored sum read from the database, unless a fresh figure is kept already (it
    /// holds this instance's accepted quantities the read may not see yet); returns the figure
    /// kept.
    pub fn put(&self, org: OrgId, key: SelfKey, stored: i64) -> i64 {
        let now = Instant::now();
        let mut entries = self.lock();
        if let Some((quantity, read)) = entries.get(&(org, key))
            && now.duration_since(*read) < self.ttl
        {
            return *quantity;
        }
        if entries.len() >= SELF_LOGGED {
            entries.retain(|_, (_, read)| now.duration_since(*read) < self.ttl);
            if entries.len() >= SELF_LOGGED {
                entries.clear();
            }
        }
        entries.insert((org, key), (stored, now));
        stored
    }

    /// Counts a quantity logging accepted (kept entries only).
    pub fn add(&self, org: OrgId, key: SelfKey, quantity: i64) {
        if let Some((kept, _)) = self.lock().get_mut(&(org, key)) {
            *kept += quantity;
        }
    }
}

impl LogCache {
    /// A cache that trusts entries for `ttl` (zero: never) while `events` reports no change.
    pub fn new(events: EventBus, ttl: Duration) -> Self {
        LogCache {
            rules: EpochCache::new(events.clone(), ttl, ORGANIZATIONS),
            members: EpochCache::new(events, ttl, MEMBERS),
            self_logged: Arc::new(SelfLogged { entries: std::sync::Mutex::new(HashMap::new()), ttl }),
            ttl,
        }
    }

    /// The organization's rules, read now if not kept; `None` when caching is off.
    pub async fn rules(
        &self,
        org: OrgId,
        open_window_days: i64,
        db: &impl ConnectionTrait,
    ) -> AppResult<Option<Arc<OrgRules>>> {
        if self.ttl.is_zero() {
            return Ok(None);
        }
        let now = Instant::now();
        if let Some(rules) = self.rules.get(&org, now) {
            return Ok(Some(rules));
        }
        let epoch = self.rules.epoch();
        let campaigns_from = Utc::now() - chrono::Duration::days(open_window_days.max(0) + CAMPAIGN_MARGIN_DAYS);
        let types = store::all_activity_types(org, db).await?.into_iter().map(|t| (t.id, t)).collect();
        let campaigns = store::campaigns_between(org, db, campaigns_from, far_future()).await?;
        let webhooks =
            crate::webhooks::store::list(org, db).await?.into_iter().filter(|w| w.active).collect::<Vec<_>>();
        let tree = crate::org::store::team_tree(org, db).await?;
        let rules = Arc::new(OrgRules { types, campaigns, campaigns_from, webhooks, tree });
        self.rules.put(org, rules.clone(), epoch, now);
        Ok(Some(rules))
    }

    /// The kept rows of `ids` that belong to `org`, and the IDs still to read.
    pub fn members(&self, org: OrgId, ids: &[Uuid]) -> (Vec<member::Model>, Vec<Uuid>) {
        let now = Instant::now();
        let mut found = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            match self.members.get(id, now).filter(|m| m.organization_id == org.0) {
                Some(m) => found.push(m),
                None => missing.push(*id),
            }
        }
        (found, missing)
    }

    /// The self-logged quantities this instance keeps; `None` when caching is off.
    pub fn self_logged(&self) -> Option<Arc<SelfLogged>> {
        (!self.ttl.is_zero()).then(|| self.self_logged.clone())
    }

    /// The epoch to store with member rows read next: read it before reading them.
    pub fn member_epoch(&self) -> u64 {
        self.members.epoch()
    }

    /// Remembers member rows read after `epoch`.
    pub fn put_members(&self, rows: &[member::Model], epoch: u64) {
        let now = Instant::now();
        for m in rows {
            self.members.put(m.id, m.clone(), epoch, now);
        }
    }
}

/// A bound past every campaign's start. Not `DateTime::MAX_UTC`: SQLite compares times as
/// text, and a year beyond 9999 is written with a sign (`+262143-…`) that sorts first.
fn far_future() -> DateTime<Utc> {
    chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(DateTime::<Utc>::MAX_UTC, |t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Event;

    fn member(org: Uuid, id: u128) -> member::Model {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        member::Model {
            id: Uuid::from_u128(id),
            organization_id: org,
            name: "Rep".into(),
            email: format!("rep{id}@example.com"),
            role: "REP".into(),
            sales_role: "HUNTER".into(),
            team_id: None,
            start_date: at.date_naive(),
            active: true,
            password_hash: None,
            deactivated_at: None,
            ramp_percents: None,
            avatar_url: None,
            external_subject: None,
            locale: None,
            version: 1,
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn members_of_another_organization_or_after_a_change_are_read_again() {
        let bus = EventBus::new();
        let cache = LogCache::new(bus.clone(), Duration::from_secs(60));
        let org = OrgId(Uuid::from_u128(1));
        let other = OrgId(Uuid::from_u128(2));
        let epoch = cache.member_epoch();
        cache.put_members(&[member(org.0, 10), member(org.0, 11)], epoch);

        let (found, missing) = cache.members(org, &[Uuid::from_u128(10), Uuid::from_u128(12)]);
        assert_eq!(found.iter().map(|m| m.id).collect::<Vec<_>>(), vec![Uuid::from_u128(10)]);
        assert_eq!(missing, vec![Uuid::from_u128(12)]);
        let (found, missing) = cache.members(other, &[Uuid::from_u128(10)]);
        assert!(found.is_empty());
        assert_eq!(missing, vec![Uuid::from_u128(10)]);

        bus.publish(Event::MembersChanged { org: org.0 });
        let (found, missing) = cache.members(org, &[Uuid::from_u128(10), Uuid::from_u128(11)]);
        assert!(found.is_empty());
        assert_eq!(missing.len(), 2);
    }

    #[test]
    fn a_row_read_before_a_change_is_not_kept_after_it() {
        let bus = EventBus::new();
        let cache = LogCache::new(bus.clone(), Duration::from_secs(60));
        let org = OrgId(Uuid::from_u128(1));
        let epoch = cache.member_epoch();
        bus.publish(Event::RulesChanged { org: org.0 });
        cache.put_members(&[member(org.0, 10)], epoch);
        assert_eq!(cache.members(org, &[Uuid::from_u128(10)]).1.len(), 1);
    }

    #[test]
    fn self_logged_quantities_count_up_and_expire() {
        let cache = LogCache::new(EventBus::new(), Duration::from_millis(200));
        let kept = cache.self_logged().expect("kept with a TTL");
        let org = OrgId(Uuid::from_u128(1));
        let other = OrgId(Uuid::from_u128(2));
        let day = NaiveDate::from_ymd_opt(2026, 12, 7).expect("date");
        let key = (Uuid::from_u128(10), Uuid::from_u128(20), day);
        assert_eq!(kept.get(org, &[key]), (vec![], vec![key]));
        kept.add(org, key, 5);
        assert_eq!(kept.get(org, &[key]).1, vec![key], "nothing is counted before a read");
        assert_eq!(kept.put(org, key, 7), 7);
        kept.add(org, key, 3);
        assert_eq!(kept.get(org, &[key]), (vec![(key, 10)], vec![]));
        assert_eq!(kept.put(org, key, 7), 10, "a later read that may miss accepted quantities does not lower it");
        assert_eq!(kept.get(other, &[key]).1, vec![key], "another organization's figure is its own");
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(kept.get(org, &[key]).1, vec![key], "expired");
        assert_eq!(kept.put(org, key, 4), 4, "an expired figure is replaced by the read");
        assert!(LogCache::new(EventBus::new(), Duration::ZERO).self_logged().is_none());
    }

    #[test]
    fn nothing_is_kept_with_a_zero_ttl() {
        let cache = LogCache::new(EventBus::new(), Duration::ZERO);
        let org = OrgId(Uuid::from_u128(1));
        cache.put_members(&[member(org.0, 10)], cache.member_epoch());
        assert_eq!(cache.members(org, &[Uuid::from_u128(10)]).1.len(), 1);
    }
}
