//! Prometheus metrics, served as text on `/metrics`.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
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
    /// The operation names `requests` and `latency` are labelled with.
    pub operations: OperationLabels,
    /// Open client connections (HTTP and WebSocket).
    pub connections: IntGauge,
    /// Connections closed at once by reason: `address` (its peer holds its share), `total`.
    pub connections_refused: IntCounterVec,
    /// Webhook deliveries waiting in the outbox (all organizations), read when scraped.
    pub webhook_pending: IntGauge,
    /// Webhook delivery attempts by outcome: `delivered` (2xx), `retry` (failed, tried again
    /// later), `failed` (failed for good: attempts used up, webhook disabled or deleted).
    pub webhook_deliveries: IntCounterVec,
    /// Seconds from an event's queueing to its successful delivery.
    pub webhook_latency: Histogram,
    /// Seconds one webhook request took (any outcome).
    pub webhook_request_duration: Histogram,
}

/// The operation names metrics label by: at most `cap`, the most recently seen kept (see
/// `graphql::observability` for who may admit one: persisted operations and operations an
/// authenticated caller ran past validation). Every label value is a series, so a name from a
/// request alone must not make one; a name pushed out by newer ones has its series removed.
#[derive(Debug)]
pub struct OperationLabels {
    cap: usize,
    names: std::sync::Mutex<LabelSet>,
}

#[derive(Debug, Default)]
struct LabelSet {
    /// Name → when it was last seen (a tick of `clock`).
    seen: std::collections::HashMap<String, u64>,
    clock: u64,
}

/// The label of operations without a name.
pub const ANONYMOUS_OPERATION: &str = "anonymous";
/// The label of named operations that are not (or no longer) admitted.
pub const OTHER_OPERATION: &str = "other";

impl OperationLabels {
    /// Room for `cap` names.
    pub fn new(cap: usize) -> Self {
        OperationLabels { cap, names: Default::default() }
    }

    fn set(&self) -> std::sync::MutexGuard<'_, LabelSet> {
        self.names.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Admits a (sanitized) name, pushing out the least recently seen one when full; returns
    /// the name pushed out (its series are to be removed).
    pub fn admit(&self, label: &str) -> Option<String> {
        if label == ANONYMOUS_OPERATION || label == OTHER_OPERATION || self.cap == 0 {
            return None;
        }
        let mut set = self.set();
        set.clock += 1;
        let now = set.clock;
        if let Some(seen) = set.seen.get_mut(label) {
            *seen = now;
            return None;
        }
        let evicted = if set.seen.len() >= self.cap {
            let oldest = set.seen.iter().min_by_key(|(_, seen)| **seen).map(|(name, _)| name.clone());
            if let Some(name) = &oldest {
                set.seen.remove(name);
            }
            oldest
        } else {
            None
        };
        set.seen.insert(label.to_owned(), now);
        evicted
    }

    /// The label to record under: the name if admitted (it counts as seen now), else `other`.
    pub fn label(&self, label: String) -> String {
        if label == ANONYMOUS_OPERATION {
            return label;
        }
        let mut set = self.set();
        set.clock += 1;
        let now = set.clock;
        match set.seen.get_mut(&label) {
            Some(seen) => {
                *seen = now;
                label
            }
            None => OTHER_OPERATION.to_owned(),
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
        let connections = IntGauge::new("scorebord_connections", "Open client connections (HTTP and WebSocket)")?;
        let connections_refused = IntCounterVec::new(
            Opts::new("scorebord_connections_refused_total", "Connections closed at once by the connection caps"),
            &["reason"],
        )?;
        registry.register(Box::new(connections.clone()))?;
        registry.register(Box::new(connections_refused.clone()))?;
        let webhook_pending =
            IntGauge::new("scorebord_webhook_deliveries_pending", "Webhook deliveries waiting in the outbox")?;
        let webhook_deliveries = IntCounterVec::new(
            Opts::new(
                "scorebord_webhook_deliveries_total",
                "Webhook delivery attempts by outcome (delivered, retry, failed for good)",
            ),
            &["outcome"],
        )?;
        let webhook_latency = Histogram::with_opts(
            HistogramOpts::new(
                "scorebord_webhook_delivery_latency_seconds",
                "Seconds from an event's queueing to its successful webhook delivery",
            )
            .buckets(vec![0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 14_400.0]),
        )?;
        let webhook_request_duration = Histogram::with_opts(
            HistogramOpts::new("scorebord_webhook_request_duration_seconds", "Seconds one webhook request took")
                .buckets(vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
        )?;
        registry.register(Box::new(webhook_pending.clone()))?;
        registry.register(Box::new(webhook_deliveries.clone()))?;
        registry.register(Box::new(webhook_latency.clone()))?;
        registry.register(Box::new(webhook_request_duration.clone()))?;
        let build_info = IntGaugeVec::new(
            Opts::new("scorebord_build_info", "The running build: always 1, its facts in the labels"),
            &["version", "profile", "rustc_edition"],
        )?;
        build_info
            .with_label_values(&[
                env!("CARGO_PKG_VERSION"),
                if cfg!(debug_assertions) { "debug" } else { "release" },
                "2024",
            ])
            .set(1);
        registry.register(Box::new(build_info))?;
        // CPU seconds, resident and virtual memory, open and maximum file descriptors, start
        // time and threads of this process (Linux; elsewhere the collector reports nothing).
        #[cfg(target_os = "linux")]
        registry.register(Box::new(prometheus::process_collector::ProcessCollector::for_self()))?;
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
            operations: OperationLabels::new(operation_labels),
            connections,
            connections_refused,
            webhook_pending,
            webhook_deliveries,
            webhook_latency,
            webhook_request_duration,
        })
    }

    /// Admits an operation name as a label (see [`OperationLabels`]); the series of a name it
    /// pushes out are removed.
    pub fn admit_operation(&self, label: &str) {
        if let Some(evicted) = self.operations.admit(label) {
            for outcome in ["ok", "error"] {
                let _ = self.requests.remove_label_values(&[evicted.as_str(), outcome]);
            }
            let _ = self.latency.remove_label_values(&[evicted.as_str()]);
        }
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

/// Operation names become metric labels: keep them short and printable.
pub fn operation_label(name: Option<&str>) -> String {
    match name {
        Some(n) if !n.is_empty() => {
            let label: String = n.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(64).collect();
            if label.is_empty() { OTHER_OPERATION.to_owned() } else { label }
        }
        _ => ANONYMOUS_OPERATION.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_labels_are_capped_keeping_the_recent() {
        let labels = OperationLabels::new(2);
        assert_eq!(labels.label("Viewer".into()), OTHER_OPERATION);
        assert_eq!(labels.label(ANONYMOUS_OPERATION.into()), ANONYMOUS_OPERATION);
        assert_eq!(labels.admit("Viewer"), None);
        assert_eq!(labels.admit("Viewer"), None);
        assert_eq!(labels.admit(OTHER_OPERATION), None);
        assert_eq!(labels.admit(ANONYMOUS_OPERATION), None);
        assert_eq!(labels.admit("Board"), None);
        assert_eq!(labels.label("Viewer".into()), "Viewer");
        assert_eq!(labels.label("Board".into()), "Board");
        // Viewer was seen before Board: the third name pushes it out.
        assert_eq!(labels.label("Viewer".into()), "Viewer");
        assert_eq!(labels.admit("Third"), Some("Board".to_owned()));
        assert_eq!(labels.label("Board".into()), OTHER_OPERATION);
        assert_eq!(labels.label("Third".into()), "Third");
        assert_eq!(labels.label("Viewer".into()), "Viewer");
        let none = OperationLabels::new(0);
        assert_eq!(none.admit("Viewer"), None);
        assert_eq!(none.label("Viewer".into()), OTHER_OPERATION);
    }

    #[test]
    fn pushed_out_names_lose_their_series() {
        let metrics = Metrics::new(1).unwrap();
        metrics.admit_operation("First");
        let first = metrics.operations.label("First".into());
        metrics.requests.with_label_values(&[first.as_str(), "ok"]).inc();
        metrics.latency.with_label_values(&[first.as_str()]).observe(0.1);
        assert!(metrics.render().contains("operation=\"First\""));
        metrics.admit_operation("Second");
        assert!(!metrics.render().contains("operation=\"First\""), "{}", metrics.render());
    }
}
