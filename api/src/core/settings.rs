//! What the rules need to know about an organization (time zone, fiscal year, open window),
//! and this instance's cache of it.

use chrono_tz::Tz;
use sea_orm::{ConnectionTrait, EntityTrait};

use super::error::{AppError, AppResult};
use super::ids::OrgId;

/// What the scoring rules need to know about an organization.
#[derive(Debug, Clone, Copy)]
pub struct OrgSettings {
    /// The tenant.
    pub org: OrgId,
    /// Its time zone.
    pub tz: Tz,
    /// First month of its fiscal year.
    pub fiscal_year_start_month: u32,
    /// How many days back activities may be logged.
    pub open_window_days: i64,
}

/// Loads the organization's settings.
pub async fn settings(org: OrgId, db: &impl ConnectionTrait) -> AppResult<OrgSettings> {
    let o = entity::organization::Entity::find_by_id(org.0).one(db).await?.ok_or(AppError::NotFound("organization"))?;
    Ok(OrgSettings {
        org,
        tz: o.time_zone.parse().unwrap_or(chrono_tz::Europe::Amsterdam),
        fiscal_year_start_month: u32::try_from(o.fiscal_year_start_month).unwrap_or(1),
        open_window_days: i64::from(o.activity_open_window_days),
    })
}

/// Organization settings remembered by this instance, like members in
/// [`crate::auth::cache::MemberCache`]: an entry is served while the bus's membership epoch
/// has not moved (every `OrganizationChanged` raises it, here before the mutation answers,
/// elsewhere when the event arrives) and for at most `MEMBER_CACHE_SECONDS`. Reads that ask
/// for the settings on every request (boards, scores) use it; writes read them in their
/// transaction.
#[derive(Debug)]
pub struct SettingsCache(crate::events::cache::EpochCache<OrgId, OrgSettings>);

impl SettingsCache {
    /// A cache that trusts entries for `ttl` (zero: never) while `events` reports no change.
    pub fn new(events: crate::events::EventBus, ttl: std::time::Duration) -> Self {
        SettingsCache(crate::events::cache::EpochCache::new(events, ttl, 10_000))
    }

    /// The organization's settings, from memory when still current.
    pub async fn get(&self, org: OrgId, db: &impl ConnectionTrait) -> AppResult<OrgSettings> {
        let now = std::time::Instant::now();
        if let Some(s) = self.0.get(&org, now) {
            return Ok(s);
        }
        let epoch = self.0.epoch();
        let s = settings(org, db).await?;
        self.0.put(org, s, epoch, now);
        Ok(s)
    }
}
