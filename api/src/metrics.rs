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
    /// The operation names `requests` and `latency` are labelled with.
    pub operations: OperationLabels,
    /// Open client connections (HTTP and WebSocket).
    pub connections: IntGauge,
    /// Connections closed at once by reason: `address` (its peer holds its share), `total`.
    pub connections_refused: IntCounterVec,
}

/// The operation names metrics label by: at most `cap`, admitted first come first served
/// (see `graphql::observability` for who may admit one). Every label value is a series kept
/// for the life of the process, so a name from a request alone must not make one.
#[derive(Debug)]
pub struct OperationLabels {
    cap: usize,
    names: std::sync::RwLock<std::collections::HashSet<String>>,
}

/// The label of operations without a name.
pub const ANONYMOUS_OPERATION: &str = "anonymous";
/// The label of named operations that are not (yet) admitted.
pub const OTHER_OPERATION: &str = "other";

impl OperationLabels {
    /// Room for `cap` names.
    pub fn new(cap: usize) -> Self {
        OperationLabels { cap, names: Default::default() }
    }

    /// Admits a (sanitized) name while there is room.
    pub fn admit(&self, label: &str) {
        if label == ANONYMOUS_OPERATION || label == OTHER_OPERATION {
            return;
        }
        if self.names.read().is_ok_and(|n| n.contains(label) || n.len() >= self.cap) {
            return;
        }
        if let Ok(mut names) = self.names.write()
            && names.len() < self.cap
        {
            names.insert(label.to_owned());
        }
    }

    /// The label to record under: the name if admitted, else `other`.
    pub fn label(&self, label: String) -> String {
        if label == ANONYMOUS_OPERATION || self.names.read().is_ok_and(|n| n.contains(&label)) {
            label
        } else {
            OTHER_OPERATION.to_owned()
        }
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// Registers every metric in a fresh registry; at most `operation_labels` operation names
    /// label the request metrics.
    pub fn new(operation_labels: usize) -> anyhow::Result<Self> {
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
        let connections = IntGauge::new("scorebord_connections", "Open client connections (HTTP and WebSocket)")?;
        let connections_refused = IntCounterVec::new(
            Opts::new("scorebord_connections_refused_total", "Connections closed at once by the connection caps"),
            &["reason"],
        )?;
        registry.register(Box::new(connections.clone()))?;
        registry.register(Box::new(connections_refused.clone()))?;
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
            operations: OperationLabels::new(operation_labels),
            connections,
            connections_refused,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_labels_are_capped() {
        let labels = OperationLabels::new(2);
        assert_eq!(labels.label("Viewer".into()), OTHER_OPERATION);
        assert_eq!(labels.label(ANONYMOUS_OPERATION.into()), ANONYMOUS_OPERATION);
        labels.admit("Viewer");
        labels.admit("Viewer");
        labels.admit(OTHER_OPERATION);
        labels.admit(ANONYMOUS_OPERATION);
        labels.admit("Board");
        labels.admit("Third");
        assert_eq!(labels.label("Viewer".into()), "Viewer");
        assert_eq!(labels.label("Board".into()), "Board");
        assert_eq!(labels.label("Third".into()), OTHER_OPERATION);
        let none = OperationLabels::new(0);
        none.admit("Viewer");
        assert_eq!(none.label("Viewer".into()), OTHER_OPERATION);
    }
}
