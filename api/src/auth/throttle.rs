//! Login throttling: failed sign-ins are counted per account and per client address, so
//! password guessing slows to a crawl while a member who mistypes once is not bothered.
//!
//! Each key has a bucket of `allowed` failures that refills evenly over `window` (with the
//! defaults 5 failures per account and 30 per address, refilled over 15 minutes: after a burst,
//! one more guess per account every 3 minutes). A sign-in is refused before the password is
//! checked when either bucket is empty, so a throttled attempt costs no hashing and tells
//! nothing about the password; only failures take from the buckets, and a successful sign-in
//! refills its account's bucket. Unknown accounts are counted like known ones, so the answers
//! do not reveal which e-mail addresses exist.
//!
//! The buckets live in each instance's memory (like the cost budgets): with N instances behind
//! a balancer an attacker gets up to N times the allowance.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most buckets kept before full ones (which hold nothing a fresh bucket would not) are dropped.
const MAX_BUCKETS: usize = 100_000;

/// Failure buckets per account and per client address.
pub struct LoginThrottle {
    per_account: Buckets,
    per_address: Buckets,
}

/// The client address of a request or WebSocket connection, in the GraphQL context (`None`
/// when the server was not given one, e.g. served without connection info).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub Option<IpAddr>);

impl ClientAddress {
    /// The peer's address, or with `trust_forwarded_for` the last `X-Forwarded-For` entry (what
    /// the reverse proxy saw) when there is a readable one.
    pub fn from_request(
        headers: &axum::http::HeaderMap,
        extensions: &axum::http::Extensions,
        trust_forwarded_for: bool,
    ) -> Self {
        let peer = extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        if trust_forwarded_for {
            let forwarded = headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|part| part.trim().parse::<IpAddr>().ok())
                .next_back();
            if forwarded.is_some() {
                return ClientAddress(forwarded);
            }
        }
        ClientAddress(peer)
    }
}

/// Why a sign-in attempt is refused before its password is checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttled {
    /// Seconds until one more attempt is allowed.
    pub retry_after_seconds: f64,
}

impl LoginThrottle {
    /// Allows `per_account` failures per account and `per_address` per client address, each
    /// budget refilling completely over `window`.
    pub fn new(per_account: u32, per_address: u32, window: Duration) -> Self {
        LoginThrottle { per_account: Buckets::new(per_account, window), per_address: Buckets::new(per_address, window) }
    }

    /// Whether an attempt for `account` from `address` may go ahead at `now`.
    pub fn check(&self, account: &str, address: Option<IpAddr>, now: Instant) -> Result<(), Throttled> {
        let wait = self.per_account.wait(account, now).max(match address {
            Some(a) => self.per_address.wait(&address_key(a), now),
            None => 0.0,
        });
        if wait > 0.0 { Err(Throttled { retry_after_seconds: wait }) } else { Ok(()) }
    }

    /// Counts a failed attempt against both buckets.
    pub fn failed(&self, account: &str, address: Option<IpAddr>, now: Instant) {
        self.per_account.take(account, now);
        if let Some(a) = address {
            self.per_address.take(&address_key(a), now);
        }
    }

    /// A successful sign-in: the account's bucket is full again (the address's is not, so one
    /// valid account cannot be used to reset an address that guesses at others).
    pub fn succeeded(&self, account: &str) {
        self.per_account.forget(account);
    }
}

impl std::fmt::Debug for LoginThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The keys are e-mail addresses and client addresses: not for logs.
        f.debug_struct("LoginThrottle").finish_non_exhaustive()
    }
}

/// The key of an account: organization slug and e-mail, as the login resolves them.
pub fn account_key(organization_slug: &str, email: &str) -> String {
    format!("{}\n{}", organization_slug.trim().to_lowercase(), email.trim().to_lowercase())
}

/// IPv4 addresses count one by one; IPv6 addresses by their /64 network, since one host
/// usually holds a whole /64 and could otherwise rotate through it.
fn address_key(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// Leaky buckets of failures: `(failures available, as of)` per key.
struct Buckets {
    capacity: f64,
    per_second: f64,
    map: Mutex<HashMap<String, (f64, Instant)>>,
}

impl Buckets {
    fn new(capacity: u32, window: Duration) -> Self {
        let capacity = f64::from(capacity.max(1));
        let per_second = capacity / window.as_secs_f64().max(0.001);
        Buckets { capacity, per_second, map: Mutex::new(HashMap::new()) }
    }

    fn refilled(&self, (available, at): (f64, Instant), now: Instant) -> f64 {
        (available + now.saturating_duration_since(at).as_secs_f64() * self.per_second).min(self.capacity)
    }

    /// Seconds until the key has one failure to spend (0 when it has one now).
    fn wait(&self, key: &str, now: Instant) -> f64 {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(key) {
            Some(&bucket) => {
                let available = self.refilled(bucket, now);
                if available >= 1.0 { 0.0 } else { (1.0 - available) / self.per_second }
            }
            None => 0.0,
        }
    }

    fn take(&self, key: &str, now: Instant) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_BUCKETS && !map.contains_key(key) {
            let (capacity, per_second) = (self.capacity, self.per_second);
            map.retain(|_, (available, at)| {
                *available + now.saturating_duration_since(*at).as_secs_f64() * per_second < capacity
            });
        }
        let available = map.get(key).map_or(self.capacity, |&b| self.refilled(b, now));
        map.insert(key.to_owned(), ((available - 1.0).max(0.0), now));
    }

    fn forget(&self, key: &str) {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(900);

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn the_allowed_failures_pass_then_the_account_waits_for_one_refill() {
        let t = LoginThrottle::new(5, 30, WINDOW);
        let now = Instant::now();
        for _ in 0..5 {
            assert_eq!(t.check("acme\na@x", ip("10.0.0.1"), now), Ok(()));
            t.failed("acme\na@x", ip("10.0.0.1"), now);
        }
        let refused = t.check("acme\na@x", ip("10.0.0.1"), now).unwrap_err();
        // 5 per 900 s: one failure comes back every 180 s.
        assert!((refused.retry_after_seconds - 180.0).abs() < 1e-6, "{refused:?}");
        assert!(t.check("acme\na@x", ip("10.0.0.1"), now + Duration::from_secs(179)).is_err());
        assert_eq!(t.check("acme\na@x", ip("10.0.0.1"), now + Duration::from_secs(180)), Ok(()));
    }

    #[test]
    fn another_account_from_another_address_is_not_affected() {
        let t = LoginThrottle::new(2, 30, WINDOW);
        let now = Instant::now();
        t.failed("acme\na@x", ip("10.0.0.1"), now);
        t.failed("acme\na@x", ip("10.0.0.1"), now);
        assert!(t.check("acme\na@x", ip("10.0.0.2"), now).is_err(), "the account is throttled from anywhere");
        assert_eq!(t.check("acme\nb@x", ip("10.0.0.2"), now), Ok(()));
        assert_eq!(t.check("acme\nb@x", ip("10.0.0.1"), now), Ok(()), "the address still has budget");
    }

    #[test]
    fn an_address_guessing_across_accounts_is_throttled() {
        let t = LoginThrottle::new(5, 3, WINDOW);
        let now = Instant::now();
        for i in 0..3 {
            let account = format!("acme\nuser{i}@x");
            assert_eq!(t.check(&account, ip("203.0.113.9"), now), Ok(()));
            t.failed(&account, ip("203.0.113.9"), now);
        }
        let refused = t.check("acme\nfresh@x", ip("203.0.113.9"), now).unwrap_err();
        assert!((refused.retry_after_seconds - 300.0).abs() < 1e-6, "{refused:?}");
        assert_eq!(t.check("acme\nfresh@x", ip("203.0.113.10"), now), Ok(()));
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let t = LoginThrottle::new(5, 1, WINDOW);
        let now = Instant::now();
        t.failed("a", ip("2001:db8:1:2::1"), now);
        assert!(t.check("b", ip("2001:db8:1:2:ffff::9"), now).is_err(), "same /64");
        assert_eq!(t.check("b", ip("2001:db8:1:3::1"), now), Ok(()), "another /64");
        t.failed("a", ip("::ffff:192.0.2.1"), now);
        assert!(t.check("b", ip("192.0.2.1"), now).is_err());
    }

    #[test]
    fn success_refills_the_account_but_not_the_address() {
        let t = LoginThrottle::new(1, 1, WINDOW);
        let now = Instant::now();
        t.failed("acme\na@x", ip("10.0.0.1"), now);
        assert!(t.check("acme\na@x", None, now).is_err());
        t.succeeded("acme\na@x");
        assert_eq!(t.check("acme\na@x", None, now), Ok(()));
        assert!(t.check("acme\na@x", ip("10.0.0.1"), now).is_err(), "the address still waits");
    }

    #[test]
    fn no_address_means_only_the_account_counts() {
        let t = LoginThrottle::new(3, 1, WINDOW);
        let now = Instant::now();
        t.failed("a", None, now);
        t.failed("a", None, now);
        assert_eq!(t.check("a", None, now), Ok(()));
        t.failed("a", None, now);
        assert!(t.check("a", None, now).is_err());
    }

    #[test]
    fn the_client_address_is_the_peer_unless_a_proxy_is_trusted() {
        use axum::http::{Extensions, HeaderMap, HeaderValue};
        let mut ext = Extensions::new();
        ext.insert(axum::extract::ConnectInfo(std::net::SocketAddr::from(([10, 1, 2, 3], 5555))));
        let mut headers = HeaderMap::new();
        headers.append("x-forwarded-for", HeaderValue::from_static("1.1.1.1, 198.51.100.7"));
        headers.append("x-forwarded-for", HeaderValue::from_static("203.0.113.5, garbage"));
        assert_eq!(ClientAddress::from_request(&headers, &ext, false), ClientAddress(ip("10.1.2.3")));
        assert_eq!(ClientAddress::from_request(&headers, &ext, true), ClientAddress(ip("203.0.113.5")));
        let unreadable = HeaderMap::from_iter([(
            axum::http::header::HeaderName::from_static("x-forwarded-for"),
            HeaderValue::from_static("nonsense"),
        )]);
        assert_eq!(ClientAddress::from_request(&unreadable, &ext, true), ClientAddress(ip("10.1.2.3")));
        assert_eq!(ClientAddress::from_request(&HeaderMap::new(), &Extensions::new(), true), ClientAddress(None));
    }

    #[test]
    fn account_keys_ignore_case_and_surrounding_space() {
        assert_eq!(account_key(" Acme ", " A@X.nl "), account_key("acme", "a@x.nl"));
        assert_ne!(account_key("acme", "a@x.nl"), account_key("acm", "ea@x.nl"));
    }

    #[test]
    fn a_full_table_drops_refilled_buckets_only() {
        let b = Buckets::new(2, Duration::from_secs(10));
        let start = Instant::now();
        for i in 0..MAX_BUCKETS {
            b.take(&i.to_string(), start);
        }
        b.take("fresh", start + Duration::from_secs(1));
        // Nothing had refilled after 1 s (one failure takes 5 s to come back): all kept.
        assert_eq!(b.map.lock().unwrap().len(), MAX_BUCKETS + 1);
        // At 5.5 s the first ones are full again (1 + 5.5 × 0.2 ≥ 2), "fresh" is not (1.9).
        b.take("later", start + Duration::from_millis(5_500));
        assert_eq!(b.map.lock().unwrap().len(), 2, "only \"fresh\" and the new bucket stay");
    }
}
