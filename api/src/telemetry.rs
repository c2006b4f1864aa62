//! Logs and traces. Logs go to stderr (`LOG_FORMAT`, `RUST_LOG`). When
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, spans are exported too, over OTLP/HTTP with protobuf
//! bodies (to `<endpoint>/v1/traces`), as service `scorebord`; a request's W3C `traceparent`
//! makes its `request` span a child of the caller's trace.

use std::sync::OnceLock;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_sdk::trace::SdkTracerProvider;

/// The service name spans are exported under.
pub const SERVICE_NAME: &str = "scorebord";

static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Sends OTLP requests with the server's HTTP client on the server's Tokio runtime: the SDK's
/// batch exporter runs on a thread of its own, outside any runtime.
#[derive(Debug)]
struct RuntimeClient {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl HttpClient for RuntimeClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.clone();
        let sent = self.runtime.spawn(async move {
            let (parts, body) = request.into_parts();
            let response =
                client.request(parts.method, parts.uri.to_string()).headers(parts.headers).body(body).send().await?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.bytes().await?;
            let mut out = Response::builder().status(status).body(body)?;
            *out.headers_mut() = headers;
            Ok::<_, HttpError>(out)
        });
        sent.await?
    }
}

/// The OTLP traces URL for an `OTEL_EXPORTER_OTLP_ENDPOINT` (the base URL of a collector).
pub fn traces_url(endpoint: &str) -> String {
    format!("{}/v1/traces", endpoint.trim_end_matches('/'))
}

fn tracer_provider(endpoint: &str) -> anyhow::Result<SdkTracerProvider> {
    use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build()?;
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| anyhow::anyhow!("trace export needs the server's runtime"))?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(traces_url(endpoint))
        .with_http_client(RuntimeClient { client, runtime })
        .build()?;
    let resource = opentelemetry_sdk::Resource::builder().with_service_name(SERVICE_NAME).build();
    Ok(SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build())
}

/// Sets up `tracing`: `RUST_LOG` filters (default `info`), `log_format` picks the format; logs
/// go to stderr. With `otlp_endpoint`, spans are exported as well. Call it inside the Tokio
/// runtime; a second call does nothing.
pub fn init(log_format: crate::config::LogFormat, otlp_endpoint: Option<&str>) -> anyhow::Result<()> {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    use tracing_subscriber::{EnvFilter, fmt};
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let (json, pretty) = match log_format {
        crate::config::LogFormat::Json => (Some(fmt::layer().json().with_writer(std::io::stderr)), None),
        crate::config::LogFormat::Pretty => (None, Some(fmt::layer().with_writer(std::io::stderr))),
    };
    let otel = match otlp_endpoint.filter(|e| !e.trim().is_empty()) {
        Some(endpoint) => {
            let provider = tracer_provider(endpoint.trim())?;
            let tracer = provider.tracer(SERVICE_NAME);
            opentelemetry::global::set_text_map_propagator(
                opentelemetry_sdk::propagation::TraceContextPropagator::new(),
            );
            let _ = PROVIDER.set(provider);
            Some(tracing_opentelemetry::layer().with_tracer(tracer))
        }
        None => None,
    };
    let _ = tracing_subscriber::registry().with(filter).with(json).with(pretty).with(otel).try_init();
    Ok(())
}

/// Sends the spans still buffered (call before the process exits).
pub fn shutdown() {
    if let Some(provider) = PROVIDER.get()
        && let Err(e) = provider.shutdown()
    {
        eprintln!("trace export: {e}");
    }
}

/// Makes the caller's trace (a W3C `traceparent` in `headers`) the parent of `span`, when
/// spans are exported.
pub fn set_parent(span: &tracing::Span, headers: &axum::http::HeaderMap) {
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    if PROVIDER.get().is_none() || !headers.contains_key("traceparent") {
        return;
    }
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&opentelemetry_http::HeaderExtractor(headers))
    });
    let _ = span.set_parent(parent);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(traces_url("http://127.0.0.1:4318"), "http://127.0.0.1:4318/v1/traces");
        assert_eq!(traces_url("http://collector:4318/"), "http://collector:4318/v1/traces");
        assert!(crate::config::check_otlp_endpoint("http://127.0.0.1:4318").is_ok());
        assert!(crate::config::check_otlp_endpoint("https://otel.example.com").is_ok());
        assert!(crate::config::check_otlp_endpoint("127.0.0.1:4318").is_err());
        assert!(crate::config::check_otlp_endpoint("grpc://x:4317").is_err());
        assert!(crate::config::check_otlp_endpoint("").is_err());
    }
}
