//! One `Config` from environment variables (or the matching flags), with defaults
//! that run out of the box. Every variable is documented in docs/configuration.md.

use std::net::SocketAddr;
use std::path::PathBuf;

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable, coloured when on a terminal.
    Pretty,
    /// One JSON object per line, for log shippers.
    Json,
}

/// One `JWT_PUBLIC_KEYS` entry: a public key file and the organizations its keys may sign for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKeyFile {
    /// Slugs or IDs (UUIDs) of the organizations; never empty.
    pub organizations: Vec<String>,
    /// The PEM or JWKS file.
    pub path: PathBuf,
}

impl std::str::FromStr for PublicKeyFile {
    type Err = String;

    /// `org-slug=/path/key.pem`, `org-a+org-b=/path/keys.jwks`, or an organization ID.
    fn from_str(entry: &str) -> Result<Self, Self::Err> {
        let entry = entry.trim();
        let Some((orgs, path)) = entry.split_once('=') else {
            return Err(format!(
                "'{entry}' names no organization: write 'org-slug={entry}' (several: 'org-a+org-b={entry}'); \
                 a key without organizations would sign in to every one"
            ));
        };
        let path = path.trim();
        if path.is_empty() {
            return Err(format!("'{entry}' names no key file after '='"));
        }
        let mut organizations = Vec::new();
        for org in orgs.split('+').map(str::trim) {
            let is_id = uuid::Uuid::parse_str(org).is_ok();
            let is_slug = !org.is_empty()
                && org.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !org.starts_with('-')
                && !org.ends_with('-');
            if !is_id && !is_slug {
                return Err(format!(
                    "'{org}' in '{entry}' is neither an organization slug (a-z, 0-9, '-') nor an organization ID"
                ));
            }
            organizations.push(org.to_owned());
        }
        Ok(PublicKeyFile { organizations, path: PathBuf::from(path) })
    }
}

/// Server configuration. Read once at start; cloned into the application state.
#[derive(Clone, Debug, clap::Args)]
pub struct Config {
    /// Database connection string: `sqlite://file.db?mode=rwc` or `postgres://user@host/db`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://scorebord.db?mode=rwc")]
    pub database_url: String,

    /// Address the HTTP server listens on.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Secret for HS256 access tokens (issued by `login` and `scorebord token`, and accepted).
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// Comma-separated `organizations=file` entries: a PEM file (RSA or EC public key) or a JWKS
    /// file whose keys verify RS256/ES256 tokens signed by an identity provider, and the
    /// organizations (slugs or IDs, several joined by `+`) it may sign in to, e.g.
    /// `acme=/keys/acme.pem,globex+initech=/keys/shared.jwks`. A token signed with a key names
    /// one of that key's organizations in its `org` claim, or it is refused. An entry without
    /// organizations is refused at startup: no key signs for every organization.
    #[arg(long, env = "JWT_PUBLIC_KEYS", value_delimiter = ',')]
    pub jwt_public_keys: Vec<PublicKeyFile>,

    /// Required `iss` claim; also put into the tokens this server issues.
    #[arg(long, env = "JWT_ISSUER")]
    pub jwt_issuer: Option<String>,

    /// Required `aud` claim; also put into the tokens this server issues.
    #[arg(long, env = "JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,

    /// Longest lifetime of an access token, in seconds (default 24 hours). Tokens this server
    /// issues (`login`, `scorebord token --ttl`, the demo) may not outlive it, and a token
    /// whose `exp` lies further than this after its `iat`, or after now, is refused: a leaked
    /// token must not stay good for years.
    #[arg(long, env = "MAX_TOKEN_LIFETIME_SECONDS", default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(60..=3_153_600_000))]
    pub max_token_lifetime_seconds: u64,

    /// Comma-separated origins allowed by CORS (e.g. `https://app.example.com`); `*` allows any.
    /// Empty: no cross-origin browser access.
    #[arg(long, env = "CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// Comma-separated request headers browsers may send cross-origin (the CORS preflight's
    /// allow list). The default covers credentials, JSON, Apollo Client's client-awareness and
    /// CSRF-prevention headers, W3C trace context and `x-request-id`; setting it replaces the list.
    #[arg(long, env = "CORS_ALLOWED_HEADERS", value_delimiter = ',', default_value = crate::cors::DEFAULT_ALLOWED_HEADERS)]
    pub cors_allowed_headers: Vec<String>,

    /// Address of a second listener that serves `/metrics` alone (e.g. `127.0.0.1:9464`); the
    /// API port then answers 404 for `/metrics`. Unset: `/metrics` is served on the API port to
    /// anyone who can reach it (operation names, traffic and error counts): keep that port
    /// behind a proxy that blocks `/metrics`, or set this.
    #[arg(long, env = "METRICS_BIND", value_parser = parse_metrics_bind)]
    pub metrics_bind: Option<SocketAddr>,

    /// Base URL of an OpenTelemetry collector (OTLP over HTTP, protobuf), e.g.
    /// `http://127.0.0.1:4318`: spans are exported to `<url>/v1/traces` as service `scorebord`.
    /// Unset: no trace export.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otel_exporter_otlp_endpoint: Option<String>,

    /// `pretty` or `json`.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "pretty")]
    pub log_format: LogFormat,

    /// Largest accepted request body in bytes.
    #[arg(long, env = "BODY_LIMIT_BYTES", default_value_t = 1024 * 1024)]
    pub body_limit_bytes: usize,

    /// Largest accepted multipart upload (CSV imports) in bytes; uploads go to a temporary file,
    /// not memory.
    #[arg(long, env = "UPLOAD_LIMIT_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub upload_limit_bytes: usize,

    /// Maximum number of database connections in the pool.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 16)]
    pub database_max_connections: u32,

    /// Milliseconds (1 to 3600000) a request waits for a database connection. While the
    /// database is unreachable, requests and live feeds fail after this long.
    #[arg(
        long,
        env = "DATABASE_ACQUIRE_TIMEOUT_MS",
        default_value_t = 30_000,
        value_parser = clap::value_parser!(u64).range(1..=3_600_000)
    )]
    pub database_acquire_timeout_ms: u64,

    /// Milliseconds (1 to 3600000) a WebSocket client has to send `connection_init` before the
    /// socket is closed with 4408 (graphql-transport-ws). Lower it only to test the timeout.
    #[arg(
        long,
        env = "WS_INIT_TIMEOUT_MS",
        default_value_t = 10_000,
        value_parser = clap::value_parser!(u64).range(1..=3_600_000)
    )]
    pub ws_init_timeout_ms: u64,

    /// Cost budget of each principal (member or API key), in complexity points: the most one
    /// operation may cost, and the size of the leaky bucket.
    #[arg(long, env = "RATE_LIMIT_POINTS", default_value_t = 1_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_points: u32,

    /// Points restored to each budget per second.
    #[arg(long, env = "RATE_LIMIT_RESTORE_PER_SECOND", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_restore_per_second: u32,

    /// Largest answer an operation may produce, in bytes of JSON `data`; a larger one is
    /// replaced by a QUERY_TOO_COMPLEX error (aliases of small fields over large lists could
    /// otherwise turn a small request into tens of megabytes).
    #[arg(long, env = "MAX_RESPONSE_BYTES", default_value_t = 8 << 20, value_parser = clap::value_parser!(u64).range(1024..))]
    pub max_response_bytes: u64,

    /// Subscriptions one WebSocket connection may run at once; a `subscribe` past it is answered
    /// with a RATE_LIMITED error for that operation.
    #[arg(long, env = "WS_SUBSCRIPTIONS_PER_SOCKET", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    pub ws_subscriptions_per_socket: u32,

    /// Subscriptions one principal (member or API key) may run at once over all its
    /// connections to this instance.
    #[arg(long, env = "WS_SUBSCRIPTIONS_PER_PRINCIPAL", default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..))]
    pub ws_subscriptions_per_principal: u32,

    /// Failed sign-ins allowed per account (organization and e-mail) before further attempts
    /// wait; the allowance refills evenly over `LOGIN_THROTTLE_WINDOW_SECONDS`.
    #[arg(long, env = "LOGIN_FAILURES_PER_ACCOUNT", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub login_failures_per_account: u32,

    /// Failed sign-ins allowed per client address (IPv6: per /64), over any accounts.
    #[arg(long, env = "LOGIN_FAILURES_PER_ADDRESS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    pub login_failures_per_address: u32,

    /// Seconds over which the sign-in allowances refill completely.
    #[arg(long, env = "LOGIN_THROTTLE_WINDOW_SECONDS", default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..))]
    pub login_throttle_window_seconds: u64,

    /// Seconds an authenticated member (role, team, active) is remembered between requests.
    /// Changes made through this API or another instance on the same PostgreSQL database take
    /// effect at once (they publish MembersChanged); this bounds how long a change made outside
    /// the server (SQL, the CLI on SQLite) can go unseen. 0 loads the member on every request.
    #[arg(long, env = "MEMBER_CACHE_SECONDS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(0..=300))]
    pub member_cache_seconds: u64,

    /// Seconds an organization's identity provider's keys (fetched from its JWKS URL) are kept
    /// before they are fetched again.
    #[arg(long, env = "IDENTITY_PROVIDER_KEYS_SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub identity_provider_keys_seconds: u64,

    /// A token signed with a key the kept keys lack fetches the provider's keys again (it may
    /// have rotated them), at most once per this many seconds per provider.
    #[arg(long, env = "IDENTITY_PROVIDER_REFETCH_SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=3_600))]
    pub identity_provider_refetch_seconds: u64,

    /// Hours between a client's deletion request (`deleteClientOrganization`) and the erasure
    /// of every row of it; until then the deletion can be cancelled. 0 erases at once.
    #[arg(long, env = "ORGANIZATION_DELETION_GRACE_HOURS", default_value_t = 720, value_parser = clap::value_parser!(u64).range(0..=8_760))]
    pub organization_deletion_grace_hours: u64,

    /// Take the client address from the last `X-Forwarded-For` entry (the address the reverse
    /// proxy in front of this server saw). Set it only behind such a proxy: otherwise clients
    /// could name any address they like.
    #[arg(long, env = "TRUST_FORWARDED_FOR", default_value_t = false)]
    pub trust_forwarded_for: bool,

    /// Persisted queries (Automatic Persisted Queries) each organization may keep registered;
    /// past it, its oldest are dropped to make room (a client re-registers a dropped hash on
    /// its next miss). Only members and API keys register; anyone may run a registered hash.
    #[arg(long, env = "APQ_MAX_QUERIES_PER_ORGANIZATION", default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub apq_max_queries_per_organization: u64,

    /// Bytes of persisted query text each organization may keep registered (oldest dropped first).
    #[arg(long, env = "APQ_MAX_BYTES_PER_ORGANIZATION", default_value_t = 4 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub apq_max_bytes_per_organization: u64,

    /// Distinct operation names the metrics label by name: names of persisted queries and of
    /// operations an authenticated caller ran past validation, the most recently seen kept (a
    /// name pushed out loses its series). Every other name is counted as `other`, so random
    /// names cannot add series without end.
    #[arg(long, env = "METRICS_OPERATION_LABELS", default_value_t = 200)]
    pub metrics_operation_labels: usize,

    /// Milliseconds (1 to 3600000) a client has to send a request's headers, counted from when
    /// the server starts waiting for them: after connecting, and after the previous response on
    /// a keep-alive connection (so it is also the idle keep-alive timeout). Past it the
    /// connection is closed.
    #[arg(
        long,
        env = "HEADER_READ_TIMEOUT_MS",
        default_value_t = 10_000,
        value_parser = clap::value_parser!(u64).range(1..=3_600_000)
    )]
    pub header_read_timeout_ms: u64,

    /// Milliseconds (1 to 3600000) a client has to send a request's whole body, counted from
    /// the end of its headers; past it the request fails with 408.
    #[arg(
        long,
        env = "BODY_READ_TIMEOUT_MS",
        default_value_t = 60_000,
        value_parser = clap::value_parser!(u64).range(1..=3_600_000)
    )]
    pub body_read_timeout_ms: u64,

    /// Open connections (HTTP and WebSocket) one peer address may hold; an IPv6 peer is counted
    /// per /64. Always the TCP peer, also with `TRUST_FORWARDED_FOR` (behind a proxy, raise it).
    /// Connections past it are closed at once.
    #[arg(long, env = "MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections_per_address: u64,

    /// Open connections the server holds in all; past it new connections are closed at once.
    /// 0 (and anything higher): the process's open-file limit less 512 (kept for the database
    /// pool, upload files and logs).
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 0)]
    pub max_connections: u64,

    /// Deliver webhooks to loopback, private and other special addresses too, on any port (for
    /// local receivers and tests): turns off the destination checks and `WEBHOOK_ALLOWED_PORTS`.
    #[arg(long, env = "WEBHOOKS_ALLOW_PRIVATE", default_value_t = false)]
    pub webhooks_allow_private: bool,

    /// Milliseconds before the first webhook retry; each later retry waits twice as long
    /// (default 2 minutes: 8 attempts span about 4 hours).
    #[arg(long, env = "WEBHOOK_RETRY_BASE_MS", default_value_t = 120_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub webhook_retry_base_ms: u64,

    /// Comma-separated ports webhook URLs may name (default 80 and 443), so a webhook cannot
    /// probe other services of a host. `WEBHOOKS_ALLOW_PRIVATE` lifts this limit as well: local
    /// receivers listen on any port.
    #[arg(long, env = "WEBHOOK_ALLOWED_PORTS", value_delimiter = ',', default_value = "80,443")]
    pub webhook_allowed_ports: Vec<u16>,

    /// Webhook requests in flight at once on this instance, over all organizations.
    #[arg(long, env = "WEBHOOK_CONCURRENCY", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub webhook_concurrency: u32,

    /// Webhook requests one organization may have in flight at once on this instance, so one
    /// organization's slow receivers cannot hold every sender.
    #[arg(long, env = "WEBHOOK_CONCURRENCY_PER_ORGANIZATION", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub webhook_concurrency_per_organization: u32,

    /// Webhook requests in flight at once to one host and port on this instance, over all
    /// organizations.
    #[arg(long, env = "WEBHOOK_CONCURRENCY_PER_HOST", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub webhook_concurrency_per_host: u32,

    /// Milliseconds a webhook receiver has to accept the connection.
    #[arg(long, env = "WEBHOOK_CONNECT_TIMEOUT_MS", default_value_t = 3_000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub webhook_connect_timeout_ms: u64,

    /// Milliseconds a webhook request may take in all (resolving, connecting, sending, the
    /// response status); a slower receiver counts as a failed attempt.
    #[arg(long, env = "WEBHOOK_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=300_000))]
    pub webhook_timeout_ms: u64,

    /// Consecutive failed attempts after which a webhook is paused (its deliveries wait, none
    /// is dropped) for `WEBHOOK_CIRCUIT_COOLOFF_MS`, doubling with each pause in a row up to an hour.
    #[arg(long, env = "WEBHOOK_CIRCUIT_FAILURES", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub webhook_circuit_failures: u32,

    /// Milliseconds of the first pause of a failing webhook (see `WEBHOOK_CIRCUIT_FAILURES`).
    #[arg(long, env = "WEBHOOK_CIRCUIT_COOLOFF_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub webhook_circuit_cooloff_ms: u64,
}

impl Config {
    /// A configuration for tests and tools: the given database, an ephemeral port, a secret.
    pub fn for_database(database_url: impl Into<String>, jwt_secret: impl Into<String>) -> Self {
        Config {
            database_url: database_url.into(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            jwt_secret: Some(jwt_secret.into()),
            jwt_public_keys: Vec::new(),
            jwt_issuer: None,
            jwt_audience: None,
            max_token_lifetime_seconds: 86_400,
            cors_origins: Vec::new(),
            cors_allowed_headers: crate::cors::DEFAULT_ALLOWED_HEADERS.split(',').map(str::to_owned).collect(),
            metrics_bind: None,
            otel_exporter_otlp_endpoint: None,
            log_format: LogFormat::Pretty,
            body_limit_bytes: 1024 * 1024,
            upload_limit_bytes: 64 * 1024 * 1024,
            database_max_connections: 16,
            database_acquire_timeout_ms: 30_000,
            ws_init_timeout_ms: 10_000,
            rate_limit_points: 1_000,
            rate_limit_restore_per_second: 50,
            max_response_bytes: 8 << 20,
            ws_subscriptions_per_socket: 50,
            ws_subscriptions_per_principal: 200,
            webhooks_allow_private: false,
            webhook_retry_base_ms: 120_000,
            webhook_allowed_ports: vec![80, 443],
            webhook_concurrency: 32,
            webhook_concurrency_per_organization: 4,
            webhook_concurrency_per_host: 2,
            webhook_connect_timeout_ms: 3_000,
            webhook_timeout_ms: 10_000,
            webhook_circuit_failures: 5,
            webhook_circuit_cooloff_ms: 30_000,
            login_failures_per_account: 5,
            login_failures_per_address: 30,
            login_throttle_window_seconds: 900,
            member_cache_seconds: 5,
            identity_provider_keys_seconds: 300,
            identity_provider_refetch_seconds: 10,
            organization_deletion_grace_hours: 720,
            trust_forwarded_for: false,
            apq_max_queries_per_organization: 1_000,
            apq_max_bytes_per_organization: 4 * 1024 * 1024,
            metrics_operation_labels: 200,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 60_000,
            max_connections_per_address: 256,
            max_connections: 0,
        }
    }

    /// Checks settings whose mistakes clap cannot see: CORS origins and header names, the
    /// metrics address against the API's, the trace collector's URL. The message names the
    /// variable and what to write instead.
    pub fn validate(&self) -> Result<(), String> {
        crate::cors::parse_origins(&self.cors_origins).map_err(|e| format!("CORS_ORIGINS: {e}"))?;
        crate::cors::parse_headers(&self.cors_allowed_headers)?;
        if let Some(metrics) = self.metrics_bind
            && metrics.port() != 0
            && metrics == self.bind
        {
            return Err(format!(
                "METRICS_BIND {metrics} is the API's own address (BIND): give /metrics a port of its own"
            ));
        }
        if let Some(endpoint) = self.otel_exporter_otlp_endpoint.as_deref().filter(|e| !e.trim().is_empty()) {
            check_otlp_endpoint(endpoint.trim())?;
        }
        Ok(())
    }

    /// True when tokens can be verified at all (a secret or public keys).
    pub fn has_signing_configuration(&self) -> bool {
        self.jwt_secret.as_deref().is_some_and(|s| !s.is_empty()) || !self.jwt_public_keys.is_empty()
    }
}

/// Parses `METRICS_BIND`: `host:port` with an IP address.
fn parse_metrics_bind(value: &str) -> Result<SocketAddr, String> {
    value.trim().parse().map_err(|_| {
        format!("METRICS_BIND '{value}' is not an address to listen on: write ip:port, e.g. 127.0.0.1:9464")
    })
}

/// Checks an `OTEL_EXPORTER_OTLP_ENDPOINT` value.
pub fn check_otlp_endpoint(endpoint: &str) -> Result<(), String> {
    match url::Url::parse(endpoint) {
        Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host().is_some() => Ok(()),
        _ => Err(format!("OTEL_EXPORTER_OTLP_ENDPOINT '{endpoint}' is not an http(s) URL, e.g. http://127.0.0.1:4318")),
    }
}

#[cfg(test)]
mod tests {
    use super::PublicKeyFile;

    #[test]
    fn metrics_bind_is_an_address() {
        assert_eq!(super::parse_metrics_bind("127.0.0.1:9464"), Ok(([127, 0, 0, 1], 9464).into()));
        for bad in ["", "9464", "localhost:9464", "127.0.0.1", "127.0.0.1:99999", "http://127.0.0.1:9464"] {
            let err = super::parse_metrics_bind(bad).unwrap_err();
            assert!(err.contains("METRICS_BIND"), "{err}");
        }
    }

    #[test]
    fn validation_names_the_setting() {
        let mut config = super::Config::for_database("sqlite::memory:", "s");
        assert_eq!(config.validate(), Ok(()));
        config.cors_origins = vec!["https://*.*.client.example".into()];
        assert!(config.validate().unwrap_err().starts_with("CORS_ORIGINS"));
        config.cors_origins = vec!["https://*.client.example".into()];
        assert_eq!(config.validate(), Ok(()));
        config.cors_allowed_headers = vec!["bad header".into()];
        assert!(config.validate().unwrap_err().contains("CORS_ALLOWED_HEADERS"));
        config.cors_allowed_headers = vec!["authorization".into()];
        config.bind = ([127, 0, 0, 1], 8080).into();
        config.metrics_bind = Some(([127, 0, 0, 1], 8080).into());
        assert!(config.validate().unwrap_err().contains("METRICS_BIND"));
        config.metrics_bind = Some(([127, 0, 0, 1], 9464).into());
        assert_eq!(config.validate(), Ok(()));
        config.otel_exporter_otlp_endpoint = Some("collector:4318".into());
        assert!(config.validate().unwrap_err().contains("OTEL_EXPORTER_OTLP_ENDPOINT"));
    }

    #[test]
    fn public_key_entries_name_their_organizations() {
        let one: PublicKeyFile = "acme=/keys/acme.pem".parse().expect("one");
        assert_eq!(one.organizations, ["acme"]);
        assert_eq!(one.path, std::path::PathBuf::from("/keys/acme.pem"));
        let several: PublicKeyFile = " globex + initech-2 =/keys/shared.jwks ".parse().expect("several");
        assert_eq!(several.organizations, ["globex", "initech-2"]);
        assert_eq!(several.path, std::path::PathBuf::from("/keys/shared.jwks"));
        let id = "0190b6a4-5f7e-7c3a-9d2e-1a2b3c4d5e6f";
        let by_id: PublicKeyFile = format!("{id}=/k.pem").parse().expect("id");
        assert_eq!(by_id.organizations, [id]);
        // A path with '=' in it keeps everything after the first one.
        let eq: PublicKeyFile = "acme=/keys/a=b.pem".parse().expect("path with =");
        assert_eq!(eq.path, std::path::PathBuf::from("/keys/a=b.pem"));
    }

    #[test]
    fn unbound_or_malformed_entries_are_refused() {
        for bad in [
            "/keys/acme.pem",
            "keys.jwks",
            "=/keys/acme.pem",
            "acme=",
            "acme= ",
            "acme+=/k.pem",
            "+acme=/k.pem",
            "Acme=/k.pem",
            "acme corp=/k.pem",
            "-acme=/k.pem",
            "acme-=/k.pem",
            "*=/k.pem",
            "acme,bravo=/k.pem",
        ] {
            assert!(bad.parse::<PublicKeyFile>().is_err(), "{bad:?} must be refused");
        }
        let err = "/keys/acme.pem".parse::<PublicKeyFile>().unwrap_err();
        assert!(err.contains("names no organization"), "{err}");
    }
}
