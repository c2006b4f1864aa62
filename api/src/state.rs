//! The application state shared by every handler and resolver.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::jwt::JwtKeys;
use crate::config::Config;
use crate::events::EventBus;
use crate::metrics::Metrics;

/// Cloned into handlers and put into the GraphQL schema data. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The connection pool.
    pub db: DatabaseConnection,
    /// The configuration the process started with.
    pub config: Arc<Config>,
    /// Keys that sign and verify access tokens.
    pub jwt: Arc<JwtKeys>,
    /// Which organization a request's host names, kept until membership changes.
    pub hosts: Arc<crate::org::hosts::Hosts>,
    /// The HTTP client for outbound checks (identity providers' keys, host verification): it
    /// connects only where webhooks may.
    pub outbound: reqwest::Client,
    /// Organizations' identity providers' keys, kept per provider.
    pub providers: Arc<crate::auth::oidc::ProviderKeys>,
    /// Where committed changes are announced to subscribers.
    pub events: EventBus,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Current-period leaderboards kept in memory.
    pub hot: Arc<crate::scoring::hot::HotBoards>,
    /// Where single `logActivity` calls queue to share a write transaction.
    pub logs: crate::scoring::queue::LogQueue,
    /// Cost budgets per principal.
    pub limiter: Arc<crate::graphql::access::RateLimiter>,
    /// Members loaded by authentication, kept until membership changes (or a few seconds).
    pub members: Arc<crate::auth::cache::MemberCache>,
    /// Organization settings for reads, kept until the organization changes (or a few seconds).
    pub settings: Arc<crate::core::settings::SettingsCache>,
    /// Members, activity types, campaigns and webhooks as logging reads them, kept until they
    /// change (or a few seconds).
    pub logging: Arc<crate::scoring::cache::LogCache>,
    /// Each organization's directory (organization, teams, members) in memory, kept current by
    /// membership events (or a few seconds).
    pub directories: Arc<crate::org::directory::Directories>,
    /// Each organization's pipeline stages and checklist items in memory, kept until they change
    /// (or a few seconds).
    pub catalogs: Arc<crate::pipeline::catalog::Catalogs>,
    /// Teams' weekly KPI scoreboards, kept until an event of their organization (see
    /// [`crate::kpi::scoreboard`]).
    pub scoreboards: Arc<crate::kpi::scoreboard::Scoreboards>,
    /// Teams' forecast facts per period, kept until an event of their organization (see
    /// [`crate::forecast::tree`]).
    pub forecasts: Arc<crate::forecast::tree::Forecasts>,
    /// Pages of deals, kept until an event of their organization (see
    /// [`crate::pipeline::kept`]).
    pub deal_pages: Arc<crate::pipeline::kept::DealPages>,
    /// Checklist completions of pages' deals, kept likewise.
    pub deal_completions: Arc<crate::pipeline::kept::Completions>,
    /// Failed sign-ins per account and per client address.
    pub login_throttle: Arc<crate::auth::throttle::LoginThrottle>,
}

impl AppState {
    /// What authentication reads and writes.
    pub fn verifiers(&self) -> crate::auth::Verifiers<'_> {
        crate::auth::Verifiers {
            db: &self.db,
            keys: &self.jwt,
            members: &self.members,
            directories: &self.directories,
            providers: &self.providers,
            bus: &self.events,
        }
    }
}
