//! Answers to hot read queries (`leaderboard`, `score`), kept per caller and request body
//! until the organization's data changes.
//!
//! A screen polling the leaderboard asks the same question over and over; between two score
//! changes the answer is the same bytes. Executing it again costs the GraphQL machinery and
//! the serialization of every entry, far more than the ranking itself (which is in memory).
//! So the HTTP handler keeps the serialized `data` of such an answer, keyed by the caller
//! (organization, member, API key) and the exact request body, together with:
//!
//! - the organization's [data version](crate::events::DataVersions), read *before* the
//!   query ran: every event of the organization (a score, a member, a target, settings, from
//!   this instance or another) moves it, and the hot rankings move it again once they have
//!   caught up, so an answer computed from older data is never served after the change is
//!   known here;
//! - an expiry: the end of the period the answer covers (a new week starts empty) and at most
//!   `RESPONSE_CACHE_SECONDS` after it was computed, which bounds what no event announces
//!   (pacing moves with the clock; a change made with SQL outside the server).
//!
//! Only answers whose every part is known to follow those events are kept: the root fields
//! must be `leaderboard`/`score` whose resolvers [approve](approve) the request (a period by
//! grain, not a campaign, whose edits publish no event), and every nested field must be on the
//! [allowlist](allowed_field) (points, ranks, periods, a member's id and name). Anything else in
//! the document — another root field, a member's e-mail, an activity type's name — makes the
//! answer uncacheable, and it is executed every time. Answers with errors are never kept.
//!
//! A hit still authenticates the caller (before the lookup) and still spends the query's cost
//! from the caller's rate-limit budget, so the `extensions.cost` a client sees stays true.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo};
use async_graphql::{Context, ServerResult, Value};
use axum::body::Bytes;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::core::ids::OrgId;
use crate::events::DataVersions;

/// Whom an answer was computed for and what was asked (the exact request body).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    /// The organization.
    pub org: Uuid,
    /// The member (for an API key: the admin who created it).
    pub member: Uuid,
    /// The API key, when the caller is one.
    pub api_key: Option<Uuid>,
    /// The request body as sent.
    pub body: Bytes,
}

/// A kept answer.
#[derive(Clone, Debug)]
pub struct Hit {
    /// The serialized `data` of the response.
    pub data: Bytes,
    /// The query's complexity, spent again from the caller's budget on every hit.
    pub complexity: usize,
}

#[derive(Debug)]
struct Entry {
    hit: Hit,
    version: u64,
    expires: Instant,
}

/// Largest serialized answer kept.
const MAX_ENTRY_BYTES: usize = 1 << 20;

/// See the module documentation.
#[derive(Debug)]
pub struct ResponseCache {
    versions: DataVersions,
    ttl: Duration,
    max_bytes: usize,
    bytes: AtomicUsize,
    entries: RwLock<HashMap<Key, Entry>>,
}

impl ResponseCache {
    /// A cache keeping answers at most `ttl` (zero: off), up to `max_bytes` of bodies and
    /// answers, while the organization's entry in `versions` stands still.
    pub fn new(versions: DataVersions, ttl: Duration, max_bytes: usize) -> Self {
        ResponseCache { versions, ttl, max_bytes, bytes: AtomicUsize::new(0), entries: RwLock::new(HashMap::new()) }
    }

    /// The organization's data version: read it before the lookup and before executing, so an
    /// answer is only ever kept under a version no newer than the data it was computed from.
    pub fn version(&self, org: Uuid) -> u64 {
        self.versions.get(OrgId(org))
    }

    /// Whether answers are kept at all.
    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// The answer kept for `key`, if it was computed under `version` and has not expired.
    pub fn get(&self, key: &Key, version: u64, now: Instant) -> Option<Hit> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let e = entries.get(key)?;
        (e.version == version && now < e.expires).then(|| e.hit.clone())
    }

    /// Keeps `hit` for `key`, computed after reading `version` at `now`, until `valid_until`
    /// (or the TTL, whichever is sooner). At the byte bound the outdated entries go first, and
    /// if that is not enough, all of them.
    pub fn put(&self, key: Key, hit: Hit, version: u64, now: Instant, valid_until: Instant) {
        let expires = valid_until.min(now + self.ttl);
        if !self.enabled() || expires <= now || hit.data.len() > MAX_ENTRY_BYTES {
            return;
        }
        let size = key.body.len() + hit.data.len();
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if self.bytes.load(Ordering::Relaxed) + size > self.max_bytes {
            let weight = |k: &Key, e: &Entry| k.body.len() + e.hit.data.len();
            entries.retain(|k, e| e.version == self.version(k.org) && now < e.expires);
            if entries.iter().map(|(k, e)| weight(k, e)).sum::<usize>() + size > self.max_bytes {
                entries.clear();
            }
            self.bytes.store(entries.iter().map(|(k, e)| weight(k, e)).sum(), Ordering::Relaxed);
        }
        let body = key.body.len();
        if let Some(old) = entries.insert(key, Entry { hit, version, expires }) {
            self.bytes.fetch_sub(body + old.hit.data.len(), Ordering::Relaxed);
        }
        self.bytes.fetch_add(size, Ordering::Relaxed);
    }

    /// How many answers are kept (current or not).
    pub fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of bodies and answers kept.
    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }
}

/// What one execution found out about its own cacheability; the HTTP handler puts it into
/// the request's data, the [`Probing`] extension and the resolvers fill it in.
#[derive(Debug, Default)]
pub struct Probe {
    /// A field outside the allowlist was resolved.
    refused: AtomicBool,
    /// Root fields resolved.
    roots: AtomicU32,
    /// Root fields whose resolvers approved.
    approved: AtomicU32,
    /// The earliest end of validity an approving resolver named.
    until: Mutex<Option<DateTime<Utc>>>,
    /// The query's complexity (set by the rate limiter).
    complexity: AtomicUsize,
}

impl Probe {
    /// Records the query's complexity.
    pub fn set_complexity(&self, complexity: usize) {
        self.complexity.store(complexity, Ordering::Relaxed);
    }

    /// The query's complexity.
    pub fn complexity(&self) -> usize {
        self.complexity.load(Ordering::Relaxed)
    }

    /// When the answer stops being valid, if it may be kept at all: every root field approved
    /// and nothing outside the allowlist was resolved.
    pub fn valid_until(&self) -> Option<DateTime<Utc>> {
        let roots = self.roots.load(Ordering::SeqCst);
        if self.refused.load(Ordering::SeqCst) || roots == 0 || self.approved.load(Ordering::SeqCst) != roots {
            return None;
        }
        *self.until.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn approve(&self, until: DateTime<Utc>) {
        let mut current = self.until.lock().unwrap_or_else(|e| e.into_inner());
        *current = Some(current.map_or(until, |c| c.min(until)));
        self.approved.fetch_add(1, Ordering::SeqCst);
    }
}

/// Called by a cacheable root resolver once it knows its answer follows the organization's
/// events alone and holds until `until` (the end of the period it covers). Without a probe
/// (WebSocket, tests) it does nothing.
pub fn approve(ctx: &Context<'_>, until: DateTime<Utc>) {
    if let Some(probe) = ctx.data_opt::<Arc<Probe>>() {
        probe.approve(until);
    }
}

/// Root query fields that may be kept, if their resolver approves.
const ROOTS: &[&str] = &["leaderboard", "score"];

/// Whether `field` of `parent` reads only what the organization's events announce. An item
/// of a list (`parent` a list type such as `[LeaderboardEntry!]`) passes: the list's own
/// field was checked on its parent and the item's fields are checked on the item's type.
pub fn allowed_field(parent: &str, field: &str) -> bool {
    match parent {
        list if list.starts_with('[') => true,
        "Leaderboard" | "LeaderboardEntry" | "PeriodInfo" | "Score" | "ScoreByType" => true,
        "Member" => matches!(field, "id" | "name"),
        "Team" | "ActivityType" => field == "id",
        _ => false,
    }
}

/// The extension that watches which fields an execution resolves (see [`Probe`]).
pub struct Probing;

impl ExtensionFactory for Probing {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Probing)
    }
}

#[async_trait::async_trait]
impl Extension for Probing {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if let Some(probe) = ctx.data_opt::<Arc<Probe>>() {
            if info.path_node.parent.is_none() {
                if info.parent_type == "Query" && ROOTS.contains(&info.name) {
                    probe.roots.fetch_add(1, Ordering::SeqCst);
                } else {
                    probe.refused.store(true, Ordering::SeqCst);
                }
            } else if !allowed_field(info.parent_type, info.name) {
                probe.refused.store(true, Ordering::SeqCst);
            }
        }
        next.run(ctx, info).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(body: &str) -> Key {
        Key { org: Uuid::from_u128(1), member: Uuid::from_u128(2), api_key: None, body: Bytes::from(body.to_owned()) }
    }

    fn hit(data: &str) -> Hit {
        Hit { data: Bytes::from(data.to_owned()), complexity: 7 }
    }

    #[test]
    fn an_answer_is_served_under_its_version_until_it_expires() {
        let cache = ResponseCache::new(DataVersions::default(), Duration::from_secs(2), 1 << 20);
        let t = Instant::now();
        cache.put(key("q"), hit("{}"), 5, t, t + Duration::from_secs(60));
        assert_eq!(cache.get(&key("q"), 5, t).map(|h| h.complexity), Some(7));
        assert!(cache.get(&key("q"), 6, t).is_none(), "another version");
        assert!(cache.get(&key("other"), 5, t).is_none(), "another body");
        let mut other_member = key("q");
        other_member.member = Uuid::from_u128(3);
        assert!(cache.get(&other_member, 5, t).is_none(), "another caller");
        let mut via_key = key("q");
        via_key.api_key = Some(Uuid::from_u128(4));
        assert!(cache.get(&via_key, 5, t).is_none(), "an API key of the same admin");
        assert!(cache.get(&key("q"), 5, t + Duration::from_millis(1999)).is_some());
        assert!(cache.get(&key("q"), 5, t + Duration::from_secs(2)).is_none(), "the TTL");
    }

    #[test]
    fn the_end_of_validity_shortens_the_ttl_and_a_past_one_keeps_nothing() {
        let cache = ResponseCache::new(DataVersions::default(), Duration::from_secs(2), 1 << 20);
        let t = Instant::now();
        cache.put(key("q"), hit("{}"), 1, t, t + Duration::from_millis(500));
        assert!(cache.get(&key("q"), 1, t + Duration::from_millis(499)).is_some());
        assert!(cache.get(&key("q"), 1, t + Duration::from_millis(500)).is_none(), "the period ended");
        cache.put(key("p"), hit("{}"), 1, t, t);
        assert!(cache.get(&key("p"), 1, t).is_none());
        assert_eq!(cache.len(), 1, "only the first answer is kept");
    }

    #[test]
    fn off_keeps_nothing_and_oversized_answers_are_not_kept() {
        let off = ResponseCache::new(DataVersions::default(), Duration::ZERO, 1 << 20);
        let t = Instant::now();
        off.put(key("q"), hit("{}"), 1, t, t + Duration::from_secs(9));
        assert!(!off.enabled());
        assert!(off.is_empty());
        let cache = ResponseCache::new(DataVersions::default(), Duration::from_secs(2), 1 << 30);
        cache.put(key("q"), hit(&"x".repeat(MAX_ENTRY_BYTES + 1)), 1, t, t + Duration::from_secs(9));
        assert!(cache.is_empty());
    }

    #[test]
    fn the_byte_bound_drops_outdated_entries_first_then_everything() {
        let versions = DataVersions::default();
        let cache = ResponseCache::new(versions.clone(), Duration::from_secs(60), 100);
        // The organization is at version 2.
        versions.bump(OrgId(key("").org));
        versions.bump(OrgId(key("").org));
        let t = Instant::now();
        let until = t + Duration::from_secs(60);
        cache.put(key("a"), hit(&"1".repeat(39)), 1, t, until); // 40 bytes
        cache.put(key("b"), hit(&"2".repeat(39)), 2, t, until); // 80
        assert_eq!(cache.bytes(), 80);
        // "a" is outdated (its organization is at version 2 now): it goes, "b" stays.
        cache.put(key("c"), hit(&"3".repeat(39)), 2, t, until);
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&key("a"), 1, t).is_none());
        assert!(cache.get(&key("b"), 2, t).is_some());
        assert_eq!(cache.bytes(), 80);
        // Everything is current: all of it goes.
        cache.put(key("d"), hit(&"4".repeat(39)), 2, t, until);
        assert_eq!(cache.len(), 1);
        assert!(cache.get(&key("d"), 2, t).is_some());
        assert_eq!(cache.bytes(), 40);
        // Replacing an entry counts its bytes once.
        cache.put(key("d"), hit(&"5".repeat(9)), 3, t, until);
        assert_eq!(cache.bytes(), 10);
        assert_eq!(cache.get(&key("d"), 3, t).map(|h| h.data.len()), Some(9));
    }

    #[test]
    fn a_probe_approves_only_when_every_root_approved_and_nothing_was_refused() {
        let end = DateTime::<Utc>::from_timestamp(1_000, 0).unwrap_or_default();
        let p = Probe::default();
        assert_eq!(p.valid_until(), None, "no root field");
        p.roots.fetch_add(2, Ordering::SeqCst);
        p.approve(end + chrono::Duration::seconds(5));
        assert_eq!(p.valid_until(), None, "one root did not approve");
        p.approve(end);
        assert_eq!(p.valid_until(), Some(end), "the earliest end");
        p.refused.store(true, Ordering::SeqCst);
        assert_eq!(p.valid_until(), None, "a field outside the allowlist");
    }

    #[test]
    fn the_allowlist_covers_ranks_and_names_but_not_what_no_event_announces() {
        assert!(allowed_field("LeaderboardEntry", "points"));
        assert!(allowed_field("Leaderboard", "entries"));
        assert!(allowed_field("Score", "pacingPercent"));
        assert!(allowed_field("Member", "name"));
        assert!(allowed_field("Member", "id"));
        assert!(!allowed_field("Member", "email"), "no allowlist beyond the name");
        assert!(!allowed_field("Member", "team"));
        assert!(!allowed_field("Team", "name"), "renaming a team publishes no event");
        assert!(!allowed_field("ActivityType", "name"), "editing a type publishes no event");
        assert!(allowed_field("ActivityType", "id"));
        assert!(!allowed_field("Deal", "id"));
        assert!(!allowed_field("Query", "leaderboard"), "roots are checked apart");
        assert!(allowed_field("[LeaderboardEntry!]", "entries"), "list items");
        assert!(!allowed_field("Deal", "items"));
    }
}
