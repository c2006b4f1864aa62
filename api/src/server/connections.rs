//! Accepting connections: how many one peer address and the server as a whole may hold, how
//! long a client may take to send a request's headers and its body, and graceful shutdown.
//!
//! axum's own `serve` has no knobs for any of these, so connections are served here with
//! hyper's HTTP/1 connection builder: TCP_NODELAY, the peer address as axum's `ConnectInfo`,
//! and WebSocket upgrades (`with_upgrades`) work as before.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::metrics::Metrics;

/// Descriptors kept free below the open-file limit when the total cap is derived from it: the
/// database pool, upload spool files, logs, the listener.
const RESERVED_DESCRIPTORS: u64 = 512;

/// What a client may hold and how long it may take.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// From when the server waits for a request (after accepting, or after the previous
    /// response) until its headers are complete.
    pub header_read: Duration,
    /// From the end of a request's headers until its body is complete.
    pub body_read: Duration,
    /// Open connections per peer address (IPv6: per /64).
    pub per_address: usize,
    /// Open connections in all.
    pub total: usize,
}

impl Limits {
    /// The limits the configuration sets; a total of 0 is derived from the open-file limit.
    pub fn from_config(config: &crate::config::Config) -> Limits {
        // Past the open-file limit accepting fails anyway, and takes the database pool's and
        // the upload spool's descriptors with it: a configured total never goes above it.
        let ceiling = open_file_limit().saturating_sub(RESERVED_DESCRIPTORS).max(1);
        let total = match config.max_connections {
            0 => ceiling,
            n => n.min(ceiling),
        };
        Limits {
            header_read: Duration::from_millis(config.header_read_timeout_ms),
            body_read: Duration::from_millis(config.body_read_timeout_ms),
            per_address: usize::try_from(config.max_connections_per_address).unwrap_or(usize::MAX),
            total: usize::try_from(total).unwrap_or(usize::MAX),
        }
    }
}

#[cfg(unix)]
fn open_file_limit() -> u64 {
    nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).map_or(1024, |(soft, _)| soft)
}

#[cfg(not(unix))]
fn open_file_limit() -> u64 {
    8192
}

/// The address a connection is counted under: an IPv4 address (also when mapped into IPv6),
/// or an IPv6 address's /64, since one host commonly owns a whole /64.
pub fn peer_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Why a connection was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Its peer address holds its share already.
    Address,
    /// The server holds as many as it may.
    Total,
}

#[derive(Default)]
struct Counts {
    total: usize,
    by_peer: HashMap<IpAddr, usize>,
    /// Mirrors `total` for `/metrics`.
    gauge: Option<prometheus::IntGauge>,
}

impl Counts {
    fn publish(&self) {
        if let Some(g) = &self.gauge {
            g.set(i64::try_from(self.total).unwrap_or(i64::MAX));
        }
    }
}

/// Counts open connections against [`Limits`].
pub struct Admission {
    counts: Arc<Mutex<Counts>>,
    per_address: usize,
    total: usize,
}

/// One admitted connection; dropping it (when the socket closes, also after a WebSocket
/// upgrade, since the socket carries it) frees its place.
pub struct Permit {
    counts: Arc<Mutex<Counts>>,
    peer: IpAddr,
}

impl Admission {
    /// Room for `per_address` connections per peer and `total` in all; `gauge` follows the
    /// number open.
    pub fn new(per_address: usize, total: usize, gauge: Option<prometheus::IntGauge>) -> Self {
        let counts = Counts { gauge, ..Counts::default() };
        Admission { counts: Arc::new(Mutex::new(counts)), per_address, total }
    }

    /// A place for a connection from `ip`, or why there is none.
    pub fn admit(&self, ip: IpAddr) -> Result<Permit, Refusal> {
        let peer = peer_key(ip);
        let mut counts = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if counts.total >= self.total {
            return Err(Refusal::Total);
        }
        let held = counts.by_peer.entry(peer).or_insert(0);
        if *held >= self.per_address {
            return Err(Refusal::Address);
        }
        *held += 1;
        counts.total += 1;
        counts.publish();
        Ok(Permit { counts: self.counts.clone(), peer })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).total
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        counts.total = counts.total.saturating_sub(1);
        if let Some(held) = counts.by_peer.get_mut(&self.peer) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                counts.by_peer.remove(&self.peer);
            }
        }
        counts.publish();
    }
}

/// A socket that holds its connection's place for as long as it is open.
struct Counted {
    tcp: TcpStream,
    _permit: Permit,
}

impl AsyncRead for Counted {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }
}

/// The error a request body fails with when it is not complete in time.
#[derive(Debug)]
pub struct BodyTimeout(pub Duration);

impl std::fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the request body was not complete within {} ms", self.0.as_millis())
    }
}

impl std::error::Error for BodyTimeout {}

/// A request body that fails with [`BodyTimeout`] once its deadline passes. The timer is only
/// set when the body is read (most requests are read at once or not at all).
struct Deadline {
    inner: Incoming,
    deadline: tokio::time::Instant,
    timeout: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl http_body::Body for Deadline {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|r| r.map_err(Into::into)));
        }
        let deadline = this.deadline;
        let sleep = this.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if sleep.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(BodyTimeout(this.timeout)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Whether an error (or one of its causes) is a [`BodyTimeout`].
pub fn is_body_timeout(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(e) = cause {
        if e.is::<BodyTimeout>() {
            return true;
        }
        cause = e.source();
    }
    false
}

/// The answer a refused connection gets before it is closed (written only if the socket
/// takes it at once: a refusal never waits on the client).
const REFUSED: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 20\r\nretry-after: 1\r\n\r\ntoo many connections";

/// Serves `router` on `listener` within `limits` until `shutdown` resolves, then stops
/// accepting, lets open requests finish and returns.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: Limits,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tracing::info!(
        per_address = limits.per_address,
        total = limits.total,
        header_read_ms = limits.header_read.as_millis() as u64,
        body_read_ms = limits.body_read.as_millis() as u64,
        "connection limits"
    );
    let admission = Admission::new(limits.per_address, limits.total, Some(metrics.connections.clone()));
    // Closed (by dropping the sender) to ask open connections to finish; each connection holds
    // a clone of `done_rx`, so `done_tx.closed()` resolves when the last one has ended.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(());
    let (done_tx, done_rx) = tokio::sync::watch::channel(());
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    accept_failed(&e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let permit = match admission.admit(peer.ip()) {
            Ok(p) => p,
            Err(refusal) => {
                let reason = match refusal {
                    Refusal::Address => "address",
                    Refusal::Total => "total",
                };
                metrics.connections_refused.with_label_values(&[reason]).inc();
                tracing::debug!(%peer, reason, "connection refused: over the connection cap");
                let _ = tcp.try_write(REFUSED);
                continue;
            }
        };
        // Small frames (a board, a GraphQL response) go out at once instead of waiting for the
        // previous segment's acknowledgement (Nagle's algorithm).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        let io = TokioIo::new(Counted { tcp, _permit: permit });
        let router = router.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let deadline = tokio::time::Instant::now() + limits.body_read;
            let mut request =
                request.map(|inner| Body::new(Deadline { inner, deadline, timeout: limits.body_read, sleep: None }));
            request.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            tower::ServiceExt::oneshot(router.clone(), request)
        });
        let mut stop_rx = stop_rx.clone();
        let done_rx = done_rx.clone();
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(limits.header_read);
            let connection = builder.serve_connection(io, service).with_upgrades();
            tokio::pin!(connection);
            let mut stopping = false;
            loop {
                tokio::select! {
                    result = connection.as_mut() => {
                        if let Err(e) = result {
                            tracing::trace!(error = %e, "connection ended with an error");
                        }
                        break;
                    }
                    _ = stop_rx.changed(), if !stopping => {
                        stopping = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(done_rx);
        });
    }
    drop(listener);
    drop(stop_tx);
    drop(done_rx);
    done_tx.closed().await;
    Ok(())
}

/// After a failed accept: errors of one connection (reset before it was taken) are skipped;
/// others, such as running out of file descriptors, are retried after a pause instead of
/// spinning.
async fn accept_failed(e: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(e.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn peers_are_counted_per_ipv4_address_and_ipv6_slash_64() {
        assert_eq!(peer_key(ip("10.0.0.7")), ip("10.0.0.7"));
        assert_eq!(peer_key(ip("::ffff:10.0.0.7")), ip("10.0.0.7"));
        assert_eq!(peer_key(ip("2001:db8:1:2:3:4:5:6")), ip("2001:db8:1:2::"));
        assert_eq!(peer_key(ip("2001:db8:1:2:ffff::1")), peer_key(ip("2001:db8:1:2::9")));
        assert_ne!(peer_key(ip("2001:db8:1:2::1")), peer_key(ip("2001:db8:1:3::1")));
    }

    #[test]
    fn admission_caps_each_peer_and_the_total() {
        let admission = Admission::new(2, 3, None);
        let a1 = admission.admit(ip("10.0.0.1")).expect("first");
        let a2 = admission.admit(ip("10.0.0.1")).expect("second");
        assert_eq!(admission.admit(ip("10.0.0.1")).err(), Some(Refusal::Address));
        let b1 = admission.admit(ip("10.0.0.2")).expect("other peer");
        assert_eq!(admission.admit(ip("10.0.0.3")).err(), Some(Refusal::Total));
        assert_eq!(admission.open(), 3);
        drop(a1);
        assert_eq!(admission.open(), 2);
        let a3 = admission.admit(ip("10.0.0.1")).expect("a place came free");
        drop((a2, a3, b1));
        assert_eq!(admission.open(), 0);
        assert!(admission.counts.lock().expect("lock").by_peer.is_empty(), "no entry outlives its connections");
    }

    #[test]
    fn finds_a_body_timeout_among_causes() {
        #[derive(Debug)]
        struct Wrap(BodyTimeout);
        impl std::fmt::Display for Wrap {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("wrapped")
            }
        }
        impl std::error::Error for Wrap {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        assert!(is_body_timeout(&Wrap(BodyTimeout(Duration::from_secs(1)))));
        assert!(!is_body_timeout(&std::io::Error::other("other")));
    }
}
