//! Automatic Persisted Queries (the Apollo protocol) with the store in the database, so a
//! query registered through one instance is found by every other. A small in-process map
//! in front saves the database round trip for hot queries.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest};
use async_graphql::{Request, ServerError, ServerResult};
use chrono::Utc;
use sea_orm::{DatabaseConnection, EntityTrait, Set};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use entity::persisted_query;

/// Entries kept in memory before the map is emptied and refilled from the database.
const LOCAL_CAPACITY: usize = 10_000;
/// Longest query text that may be registered.
const MAX_QUERY_LEN: usize = 100_000;

/// The extension factory.
pub struct PersistedQueries {
    db: DatabaseConnection,
    local: Arc<Mutex<HashMap<String, String>>>,
}

impl PersistedQueries {
    /// Persisted queries stored in this database.
    pub fn new(db: DatabaseConnection) -> Self {
        PersistedQueries { db, local: Arc::default() }
    }
}

impl ExtensionFactory for PersistedQueries {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PersistedQueriesExtension { db: self.db.clone(), local: self.local.clone() })
    }
}

struct PersistedQueriesExtension {
    db: DatabaseConnection,
    local: Arc<Mutex<HashMap<String, String>>>,
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

impl PersistedQueriesExtension {
    fn remember(&self, hash: &str, query: &str) {
        if let Ok(mut map) = self.local.lock() {
            if map.len() >= LOCAL_CAPACITY {
                map.clear();
            }
            map.insert(hash.to_owned(), query.to_owned());
        }
    }

    async fn lookup(&self, hash: &str) -> Option<String> {
        if let Some(q) = self.local.lock().ok().and_then(|m| m.get(hash).cloned()) {
            return Some(q);
        }
        match persisted_query::Entity::find_by_id(hash.to_owned()).one(&self.db).await {
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

    async fn register(&self, hash: &str, query: &str) {
        let row = persisted_query::ActiveModel {
            sha256: Set(hash.to_owned()),
            query: Set(query.to_owned()),
            created_at: Set(Utc::now()),
        };
        let result = persisted_query::Entity::insert(row)
            .on_conflict_do_nothing_on([persisted_query::Column::Sha256])
            .exec(&self.db)
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "persisting query failed");
        }
        self.remember(hash, query);
    }
}

#[async_trait::async_trait]
impl Extension for PersistedQueriesExtension {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let Some(value) = request.extensions.remove("persistedQuery") else {
            return next.run(ctx, request).await;
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
            self.register(&hash, &request.query).await;
        }
        next.run(ctx, request).await
    }
}
