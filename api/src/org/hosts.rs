//! Which organization a request's host names: the verified host names of every organization,
//! looked up across tenants (no organization is known yet) and kept until membership changes
//! (adding, verifying and removing a host name publish `MembersChanged`) or a few seconds.

use std::time::{Duration, Instant};

use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter};

use entity::organization_domain as d;

use crate::core::error::AppResult;
use crate::core::ids::OrgId;
use crate::db::tenant;
use crate::events::EventBus;
use crate::events::cache::EpochCache;

/// Hosts kept at most.
const KEPT_HOSTS: usize = 10_000;

/// Whether any organization holds the host name, verified or not (they are unique).
pub async fn host_taken(db: &impl ConnectionTrait, host: &str) -> AppResult<bool> {
    Ok(tenant::across_tenants::<d::Entity>().filter(d::Column::Host.eq(host)).one(db).await?.is_some())
}

/// The organization a verified host name belongs to.
async fn organization_of_host(db: &impl ConnectionTrait, host: &str) -> AppResult<Option<OrgId>> {
    let found = tenant::across_tenants::<d::Entity>()
        .filter(d::Column::Host.eq(host))
        .filter(d::Column::VerifiedAt.is_not_null())
        .one(db)
        .await?;
    Ok(found.map(|d| OrgId(d.organization_id)))
}

/// Hosts and the organizations they name (or none), as requests ask.
#[derive(Debug)]
pub struct Hosts(EpochCache<String, Option<OrgId>>);

impl Hosts {
    /// Kept for `ttl` while membership does not change.
    pub fn new(events: EventBus, ttl: Duration) -> Self {
        Hosts(EpochCache::new(events, ttl, KEPT_HOSTS))
    }

    /// The organization whose verified host name `host` is (lower-cased, a trailing dot
    /// dropped), if any.
    pub async fn organization(&self, db: &impl ConnectionTrait, host: &str) -> AppResult<Option<OrgId>> {
        let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
        if host.is_empty() || host.len() > 260 {
            return Ok(None);
        }
        let now = Instant::now();
        if let Some(found) = self.0.get(&host, now) {
            return Ok(found);
        }
        let epoch = self.0.epoch();
        let found = organization_of_host(db, &host).await?;
        self.0.put(host, found, epoch, now);
        Ok(found)
    }
}
