//! Scorebord: a GraphQL API backend for sales-performance management.
//!
//! `main.rs` is a thin CLI; everything it starts is built here so the black-box tests and
//! helper binaries start exactly the same server ([`App::build`]).

#[macro_use]
mod macros;

pub mod archive;
pub mod audit;
pub mod auth;
pub mod config;
pub mod core;
pub mod cors;
pub mod db;
pub mod demo;
pub mod events;
pub mod firm;
pub mod forecast;
#[doc(hidden)]
pub mod fuzzing;
pub mod graphql;
pub mod import;
pub mod incentive;
pub mod kpi;
pub mod metrics;
pub mod mystery;
pub mod objects;
pub mod org;
pub mod pipeline;
pub mod quota;
pub mod request_id;
pub mod schema;
pub mod scoring;
pub mod server;
pub mod state;
pub mod telemetry;
pub mod template;
pub mod territory;
pub mod webhooks;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context as _;
use migration::MigratorTrait;
use tokio::net::TcpListener;

pub use config::Config;
use state::AppState;

/// A built application: migrated database, services and router, ready to serve.
pub struct App {
    /// The services, for tools that act on the database directly (demo seeding, tests).
    pub state: AppState,
    router: axum::Router,
    metrics_router: axum::Router,
}

impl App {
    /// Connects to the database, runs pending migrations and assembles the server.
    pub async fn build(config: Config) -> anyhow::Result<App> {
        config.validate().map_err(|e| anyhow::anyhow!(e))?;
        let db =
            db::connect(&config).await.with_context(|| format!("connecting to {}", redact(&config.database_url)))?;
        migration::Migrator::up(&db, None).await.context("running migrations")?;
        let jwt = auth::jwt::JwtKeys::from_config(&config)?;
        let events = events::EventBus::start(&config.database_url, &db)
            .await
            .with_context(|| format!("listening for events on {}", redact(&config.database_url)))?;
        let hot = scoring::hot::HotBoards::start(
            db.clone(),
            &events,
            std::time::Duration::from_secs(config.member_cache_seconds),
        );
        let config_limits = (config.rate_limit_points, config.rate_limit_restore_per_second);
        let login_throttle = Arc::new(auth::throttle::LoginThrottle::new(
            config.login_failures_per_account,
            config.login_failures_per_address,
            std::time::Duration::from_secs(config.login_throttle_window_seconds),
        ));
        let metrics = Arc::new(metrics::Metrics::new(config.metrics_operation_labels)?);
        let members = Arc::new(auth::cache::MemberCache::new(
            events.clone(),
            std::time::Duration::from_secs(config.member_cache_seconds),
        ));
        let settings = Arc::new(scoring::scores::SettingsCache::new(
            events.clone(),
            std::time::Duration::from_secs(config.member_cache_seconds),
        ));
        let logging = Arc::new(scoring::cache::LogCache::new(
            events.clone(),
            std::time::Duration::from_secs(config.member_cache_seconds),
        ));
        let directories = Arc::new(org::directory::Directories::new(
            events.clone(),
            std::time::Duration::from_secs(config.member_cache_seconds),
            org::directory::ORGANIZATIONS,
        ));
        let catalogs = Arc::new(pipeline::catalog::Catalogs::new(
            events.clone(),
            std::time::Duration::from_secs(config.member_cache_seconds),
            org::directory::ORGANIZATIONS,
        ));
        let scoreboards = Arc::new(kpi::scoreboard::Scoreboards::new(
            events.clone(),
            std::time::Duration::from_secs(config.member_cache_seconds),
            kpi::scoreboard::KEPT_SCOREBOARDS,
        ));
        let forecasts = Arc::new(forecast::tree::Forecasts::new(
            events.clone(),
            std::time::Duration::from_secs(config.member_cache_seconds),
            forecast::tree::KEPT_FORECASTS,
        ));
        let deal_pages = Arc::new(pipeline::kept::DealPages::new(
            events.clone(),
            std::time::Duration::from_secs(config.member_cache_seconds),
            pipeline::kept::KEPT_PAGES,
        ));
        let deal_completions = Arc::new(pipeline::kept::Completions::new(
            events.clone(),
            std::time::Duration::from_secs(config.member_cache_seconds),
            pipeline::kept::KEPT_PAGES,
        ));
        let logs = scoring::queue::LogQueue::start(
            db.clone(),
            settings.clone(),
            logging.clone(),
            hot.clone(),
            events.clone(),
            metrics.clone(),
        );
        let outbound = webhooks::destination::client(&config).context("building the outbound HTTP client")?;
        let hosts = Arc::new(org::hosts::Hosts::new(
            events.clone(),
            std::time::Duration::from_secs(config.member_cache_seconds),
        ));
        let providers = Arc::new(auth::oidc::ProviderKeys::new(
            outbound.clone(),
            std::time::Duration::from_secs(config.identity_provider_keys_seconds),
            std::time::Duration::from_secs(config.identity_provider_refetch_seconds),
        ));
        let state = AppState {
            logs,
            providers,
            hosts,
            outbound,
            hot,
            db,
            config: Arc::new(config),
            jwt: Arc::new(jwt),
            events,
            metrics,
            limiter: Arc::new(graphql::access::RateLimiter::new(config_limits.0, config_limits.1)),
            login_throttle,
            members,
            settings,
            logging,
            directories,
            catalogs,
            scoreboards,
            forecasts,
            deal_pages,
            deal_completions,
        };
        kpi::alerts::start_scheduler(state.clone());
        archive::service::start_erasure_sweep(state.db.clone(), state.events.clone());
        webhooks::dispatcher::start(state.clone());
        let schema = schema::build_schema(state.clone());
        let http_state = server::state::HttpState::new(server::state::Services {
            app: state.clone(),
            schema,
            shared: std::sync::Arc::new(server::ws::shared::SharedRenders::new(state.metrics.shared_runs.clone())),
            subscriptions: std::sync::Arc::default(),
        });
        let metrics_router = server::http::metrics_router(http_state.clone());
        let router = server::http::router(http_state);
        Ok(App { state, router, metrics_router })
    }

    /// The router (for serving on a listener of your own).
    pub fn router(&self) -> axum::Router {
        self.router.clone()
    }

    /// Serves on the listener until `shutdown` resolves, then finishes open requests. With
    /// `METRICS_BIND`, `/metrics` is served on that address (bound here; a failure to bind is
    /// the error).
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let metrics = match self.state.config.metrics_bind {
            Some(addr) => Some(TcpListener::bind(addr).await.map_err(|e| {
                std::io::Error::new(e.kind(), format!("binding METRICS_BIND {addr} for /metrics: {e}"))
            })?),
            None => None,
        };
        self.serve_on(listener, metrics, shutdown).await
    }

    /// Like [`App::serve`], with the `/metrics` listener bound by the caller (tests bind port 0).
    /// The metrics listener serves `/metrics` alone, without the API's limits or headers.
    pub async fn serve_on(
        self,
        listener: TcpListener,
        metrics: Option<TcpListener>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let limits = server::connections::Limits::from_config(&self.state.config);
        let metrics_task = metrics.map(|m| {
            if let Ok(addr) = m.local_addr() {
                tracing::info!(%addr, "serving /metrics");
            }
            let router = self.metrics_router.clone();
            tokio::spawn(async move { axum::serve(m, router).await })
        });
        let served =
            server::connections::serve(listener, self.router, limits, self.state.metrics.clone(), shutdown).await;
        if let Some(task) = metrics_task {
            task.abort();
        }
        served
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(super::redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(super::redact("sqlite://scorebord.db?mode=rwc"), "sqlite://scorebord.db?mode=rwc");
    }
}
