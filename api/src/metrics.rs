//! Prometheus metrics, served as text on `/metrics`.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// The process's metrics. One per `App`; tests running several apps in one process keep theirs apart.
pub struct Metrics {
    registry: Registry,
    /// GraphQL requests by operation name and outcome (`ok`/`error`).
    pub requests: IntCounterVec,
    /// GraphQL request latency by operation name.
    pub latency: HistogramVec,
    /// Errors returned to clients by `extensions.code`.
    pub errors: IntCounterVec,
    /// Open GraphQL WebSocket connections.
    pub websockets: IntGauge,
    /// Database pool connections by state (`open`, `idle`).
    pub db_pool: IntGaugeVec,
    /// Shared subscription runs: one per distinct (organization, board query, variables),
    /// however many WebSocket subscribers follow it.
    pub shared_runs: IntGauge,
    /// Write transactions the `logActivity` queue committed or tried.
    pub log_batches: IntCounter,
    /// `logActivity` calls those transactions carried (divided by `log_batches`: calls per commit).
    pub log_batched_calls: IntCounter,
    /// GraphQL requests answered from the response cache (also counted in `requests`).
    pub cached_responses: IntCounter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// Registers every metric in a fresh registry.
    pub fn new() -> anyhow::Result<Self> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("scorebord_graphql_requests_total", "GraphQL requests by operation and outcome"),
            &["operation", "outcome"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new("scorebord_graphql_request_duration_seconds", "GraphQL request latency")
                .buckets(vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
            &["operation"],
        )?;
        let errors = IntCounterVec::new(
            Opts::new("scorebord_graphql_errors_total", "Errors returned to clients by code"),
            &["code"],
        )?;
        let websockets = IntGauge::new("scorebord_websocket_connections", "Open GraphQL WebSocket connections")?;
        let db_pool =
            IntGaugeVec::new(Opts::new("scorebord_db_pool_connections", "Database pool connections"), &["state"])?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(errors.clone()))?;
        registry.register(Box::new(websockets.clone()))?;
        let shared_runs = IntGauge::new(
            "scorebord_shared_subscription_runs",
            "Subscription runs shared by WebSocket subscribers of the same board, query and variables",
        )?;
        registry.register(Box::new(db_pool.clone()))?;
        registry.register(Box::new(shared_runs.clone()))?;
        let log_batches = IntCounter::new(
            "scorebord_log_batches_total",
            "Write transactions of queued logActivity calls (concurrent calls share one)",
        )?;
        let log_batched_calls =
            IntCounter::new("scorebord_log_batched_calls_total", "logActivity calls carried by those transactions")?;
        registry.register(Box::new(log_batches.clone()))?;
        registry.register(Box::new(log_batched_calls.clone()))?;
        let cached_responses = IntCounter::new(
            "scorebord_graphql_cached_responses_total",
            "GraphQL requests answered from the response cache (leaderboard and score queries)",
        )?;
        registry.register(Box::new(cached_responses.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            errors,
            websockets,
            db_pool,
            shared_runs,
            log_batches,
            log_batched_calls,
            cached_responses,
        })
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let families = self.registry.gather();
        if let Err(e) = TextEncoder::new().encode(&families, &mut buf) {
            tracing::error!(error = %e, "encoding metrics");
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}
