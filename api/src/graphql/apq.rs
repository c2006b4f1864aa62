//! Automatic Persisted Queries (the Apollo protocol) with the store in the database, so a
//! query registered through one instance is found by every other. A small in-process map
//! in front saves the database round trip for hot queries.
//!
//! Anyone may run a registered hash (knowing the hash means knowing the text, and the query
//! then meets the same permission checks as any other). Only members and API keys register,
//! and each organization's registrations are capped in count and bytes: past the cap its
//! oldest entries are dropped, so a tenant can only ever crowd out its own queries. An
//! anonymous request that sends the text with its hash is run without being stored.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::extensions::ExtensionContext;
use async_graphql::{Request, ServerError, ServerResult};
use chrono::Utc;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use entity::persisted_query;

use crate::core::ids::OrgId;
use crate::core::principal::Auth;
use crate::db::tenant;

/// Bytes of query text kept in memory before the map is emptied and refilled from the database.
const LOCAL_BYTES: usize = 16 << 20;
/// Longest query text that may be registered.
const MAX_QUERY_LEN: usize = 100_000;

/// Request data set when the query came from (or went into) the persisted store: its
/// operation names were vetted by a registration, so the metrics may label by them.
#[derive(Clone, Copy, Debug)]
pub struct FromPersistedStore;

/// How much each organization may keep registered.
#[derive(Clone, Copy, Debug)]
pub struct Quota {
    /// Entries.
    pub queries: u64,
    /// Bytes of query text.
    pub bytes: u64,
}

/// The store, shared by every request (see [`super::hooks`]).
#[derive(Clone)]
pub struct PersistedQueries {
    db: DatabaseConnection,
    quota: Quota,
    local: Arc<Mutex<LocalMap>>,
}

impl PersistedQueries {
    /// Persisted queries stored in this database, each organization within `quota`.
    pub fn new(db: DatabaseConnection, quota: Quota) -> Self {
        PersistedQueries { db, quota, local: Arc::default() }
    }
}

#[derive(Default)]
struct LocalMap {
    queries: HashMap<String, String>,
    bytes: usize,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PersistedQuery {
    version: i32,
    sha256_hash: String,
}

fn error(message: &str, code: &str) -> ServerError {
    let mut e = ServerError::new(message, None);
    let mut ext = async_graphql::ErrorExtensionValues::default();
    ext.set("code", code);
    e.extensions = Some(ext);
    e
}

/// One organization's registrations, newest first: (hash, bytes).
type Entries = [(String, i32)];

/// The hashes to drop so that the newest entries fit in `quota`: entries are kept newest first
/// while both the count and the byte total stay within it; everything after the first that
/// does not fit goes (so the oldest leave first, and a newer entry is never dropped for an
/// older one).
pub(crate) fn over_quota(newest_first: &Entries, quota: Quota) -> Vec<String> {
    let (mut count, mut bytes) = (0u64, 0u64);
    let mut keep = newest_first.len();
    for (i, (_, size)) in newest_first.iter().enumerate() {
        count += 1;
        bytes += u64::try_from(*size).unwrap_or(u64::MAX);
        if count > quota.queries || bytes > quota.bytes {
            keep = i;
            break;
        }
    }
    newest_first[keep..].iter().map(|(hash, _)| hash.clone()).collect()
}

impl PersistedQueries {
    fn remember(&self, hash: &str, query: &str) {
        if let Ok(mut map) = self.local.lock() {
            if map.bytes + query.len() > LOCAL_BYTES {
                map.queries.clear();
                map.bytes = 0;
            }
            if map.queries.insert(hash.to_owned(), query.to_owned()).is_none() {
                map.bytes += query.len();
            }
        }
    }

    fn forget(&self, hashes: &[String]) {
        if let Ok(mut map) = self.local.lock() {
            for hash in hashes {
                if let Some(q) = map.queries.remove(hash) {
                    map.bytes -= q.len();
                }
            }
        }
    }

    async fn lookup(&self, hash: &str) -> Option<String> {
        if let Some(q) = self.local.lock().ok().and_then(|m| m.queries.get(hash).cloned()) {
            return Some(q);
        }
        match tenant::across_tenants::<persisted_query::Entity>()
            .filter(persisted_query::Column::Sha256.eq(hash))
            .one(&self.db)
            .await
        {
            Ok(Some(row)) => {
                self.remember(hash, &row.query);
                Some(row.query)
            }
            Ok(None) => None,
            Err(e) => {
                tracing::error!(error = %e, "persisted query lookup failed");
                None
            }
        }
    }

    /// Stores the text for `org`, then drops that organization's oldest entries past its quota.
    async fn register(&self, org: Uuid, hash: &str, query: &str) -> Result<(), ServerError> {
        if self.lookup(hash).await.is_some() {
            return Ok(());
        }
        let bytes = query.len();
        if bytes as u64 > self.quota.bytes {
            return Err(error(
                &format!(
                    "this query is {bytes} bytes, more than the {} bytes of persisted queries an organization may keep",
                    self.quota.bytes
                ),
                "BAD_USER_INPUT",
            ));
        }
        let row = persisted_query::ActiveModel {
            sha256: Set(hash.to_owned()),
            query: Set(query.to_owned()),
            organization_id: Set(org),
            bytes: Set(i32::try_from(bytes).unwrap_or(i32::MAX)),
            created_at: Set(Utc::now()),
        };
        let inserted = persisted_query::Entity::insert(row)
            .on_conflict_do_nothing_on([persisted_query::Column::Sha256])
            .exec_without_returning(&self.db)
            .await;
        if let Err(e) = inserted {
            tracing::error!(error = %e, "persisting query failed");
            return Ok(());
        }
        self.remember(hash, query);
        if let Err(e) = self.trim(org).await {
            tracing::error!(error = %e, "trimming persisted queries failed");
        }
        Ok(())
    }

    async fn trim(&self, org: Uuid) -> Result<(), sea_orm::DbErr> {
        let entries: Vec<(String, i32)> = tenant::scoped::<persisted_query::Entity>(OrgId(org))
            .select_only()
            .column(persisted_query::Column::Sha256)
            .column(persisted_query::Column::Bytes)
            .order_by_desc(persisted_query::Column::CreatedAt)
            .order_by_desc(persisted_query::Column::Sha256)
            .into_tuple()
            .all(&self.db)
            .await?;
        let drop = over_quota(&entries, self.quota);
        if drop.is_empty() {
            return Ok(());
        }
        for chunk in drop.chunks(500) {
            tenant::scoped_delete::<persisted_query::Entity>(OrgId(org))
                .filter(persisted_query::Column::Sha256.is_in(chunk.iter().cloned()))
                .exec(&self.db)
                .await?;
        }
        self.forget(&drop);
        Ok(())
    }
}

/// The caller: HTTP requests carry it in the request data, WebSocket operations in the
/// connection's data.
fn caller<'a>(ctx: &ExtensionContext<'a>, request: &'a Request) -> Option<&'a Auth> {
    request
        .data
        .get(&std::any::TypeId::of::<Auth>())
        .and_then(|d| d.downcast_ref::<Auth>())
        .or_else(|| ctx.data_opt::<Auth>())
}

impl PersistedQueries {
    /// The request with its query text: looked up by hash, or registered with it (see the
    /// module documentation).
    pub async fn prepare(&self, ctx: &ExtensionContext<'_>, mut request: Request) -> ServerResult<Request> {
        let Some(value) = request.extensions.remove("persistedQuery") else {
            return Ok(request);
        };
        let json = value.into_json().map_err(|_| error("invalid persistedQuery extension", "BAD_USER_INPUT"))?;
        let pq: PersistedQuery =
            serde_json::from_value(json).map_err(|_| error("invalid persistedQuery extension", "BAD_USER_INPUT"))?;
        if pq.version != 1 {
            return Err(error("only persistedQuery version 1 is supported", "BAD_USER_INPUT"));
        }
        let hash = pq.sha256_hash.to_ascii_lowercase();
        if request.query.is_empty() {
            match self.lookup(&hash).await {
                Some(query) => request.query = query,
                None => return Err(error("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")),
            }
        } else {
            if request.query.len() > MAX_QUERY_LEN {
                return Err(error("query too long to persist", "BAD_USER_INPUT"));
            }
            let actual = hex::encode(Sha256::digest(request.query.as_bytes()));
            if actual != hash {
                return Err(error("provided sha256Hash does not match the query", "BAD_USER_INPUT"));
            }
            match caller(ctx, &request) {
                Some(Auth::Member(p)) => {
                    let org = p.org.0;
                    self.register(org, &hash, &request.query).await?;
                }
                // Run, but store nothing: the next request with this hash alone misses again.
                _ => return Ok(request),
            }
        }
        Ok(request.data(FromPersistedStore))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(sizes: &[i32]) -> Vec<(String, i32)> {
        sizes.iter().enumerate().map(|(i, s)| (format!("h{i}"), *s)).collect()
    }

    #[test]
    fn keeps_the_newest_within_count_and_bytes() {
        let q = |queries, bytes| Quota { queries, bytes };
        assert!(over_quota(&[], q(1, 1)).is_empty());
        assert!(over_quota(&entries(&[10, 10, 10]), q(3, 30)).is_empty());
        assert_eq!(over_quota(&entries(&[10, 10, 10]), q(2, 1_000)), ["h2"]);
        assert_eq!(over_quota(&entries(&[10, 10, 10]), q(10, 25)), ["h2"]);
        assert_eq!(over_quota(&entries(&[10, 10, 10]), q(1, 1_000)), ["h1", "h2"]);
        // An older small entry does not survive a newer one that did not fit.
        assert_eq!(over_quota(&entries(&[10, 50, 1]), q(10, 40)), ["h1", "h2"]);
        assert_eq!(over_quota(&entries(&[50]), q(10, 40)), ["h0"]);
    }

    #[test]
    fn exhaustive_small_cases_respect_both_limits() {
        for n in 0..6usize {
            for queries in 1..7u64 {
                for bytes in [1u64, 5, 9, 15, 100] {
                    let sizes: Vec<i32> = (0..n).map(|i| (i as i32 % 3) * 3 + 1).collect();
                    let all = entries(&sizes);
                    let dropped = over_quota(&all, Quota { queries, bytes });
                    let kept = &all[..all.len() - dropped.len()];
                    // What is dropped is a suffix (the oldest).
                    assert!(all.ends_with(&all[kept.len()..]));
                    assert!(kept.len() as u64 <= queries);
                    assert!(kept.iter().map(|(_, s)| *s as u64).sum::<u64>() <= bytes);
                    // Keeping one more would break a limit.
                    if let Some((_, next)) = all.get(kept.len()) {
                        let more = kept.iter().map(|(_, s)| *s as u64).sum::<u64>() + *next as u64;
                        assert!(kept.len() as u64 + 1 > queries || more > bytes);
                    }
                }
            }
        }
    }
}
