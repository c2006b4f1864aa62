//! Webhook rules: event names, URL checks, the signature and the retry schedule. Pure.

use std::net::IpAddr;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::org::model::FieldError;

/// Events a webhook may subscribe to.
pub const EVENTS: [&str; 6] =
    ["activity.logged", "deal.won", "deal.lost", "forecast.submitted", "statement.approved", "alert.raised"];

/// The event `testWebhook` sends.
pub const PING: &str = "webhook.ping";

/// Most delivery attempts.
pub const MAX_ATTEMPTS: i32 = 8;

/// Validated events: at least one, each known, sorted without duplicates.
pub fn parse_events(list: &[String]) -> Result<Vec<String>, FieldError> {
    if list.is_empty() {
        return Err(FieldError::new("events", "REQUIRED", format!("give at least one of {}", EVENTS.join(", "))));
    }
    let mut out = Vec::new();
    for e in list {
        let e = e.trim();
        if !EVENTS.contains(&e) {
            return Err(FieldError::new(
                "events",
                "INVALID",
                format!("unknown event '{}'; use {}", e.chars().take(40).collect::<String>(), EVENTS.join(", ")),
            ));
        }
        out.push(e.to_owned());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// A syntactically acceptable webhook URL: http or https, a host, at most 2000 characters, no
/// credentials. (Where it points is checked against [`is_private`] when it is resolved.)
pub fn parse_url(raw: &str) -> Result<url::Url, FieldError> {
    let bad = |m: &str| FieldError::new("url", "INVALID", m.to_owned());
    let raw = raw.trim();
    if raw.len() > 2000 {
        return Err(FieldError::new("url", "TOO_LONG", "at most 2000 characters"));
    }
    let url = url::Url::parse(raw).map_err(|_| bad("not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("only http and https URLs"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("the URL needs a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("no credentials in the URL; verify the signature instead"));
    }
    Ok(url)
}

/// Loopback, private, link-local, unique-local, unspecified, broadcast, documentation,
/// multicast or reserved addresses, also when an IPv6 form (mapped, NAT64, 6to4) wraps one:
/// inside a network, not a receiver on the internet.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.octets()[0] == 0
                || (v4.octets()[0] == 100 && (64..128).contains(&v4.octets()[1])) // CGNAT
                || v4.is_multicast()
                || v4.octets()[0] >= 240 // reserved
                || (v4.octets()[0] == 198 && (18..20).contains(&v4.octets()[1])) // benchmarking
                || (v4.octets()[0] == 192 && v4.octets()[1] == 0 && v4.octets()[2] == 0) // IETF protocol assignments
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            let embedded =
                |hi: u16, lo: u16| IpAddr::V4(std::net::Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
            // IPv4 reached through IPv6: NAT64 (64:ff9b::/96), 6to4 (2002::/16) and the old
            // IPv4-compatible form (::a.b.c.d) lead to the IPv4 address inside.
            if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
                || (seg[..6] == [0; 6] && !v6.is_loopback() && !v6.is_unspecified())
            {
                return is_private(embedded(seg[6], seg[7]));
            }
            if seg[0] == 0x2002 {
                return is_private(embedded(seg[1], seg[2]));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
        }
    }
}

/// The `Scorebord-Signature` header value: `t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub fn signature(secret: &str, unix: i64, body: &str) -> String {
    format!("t={unix},v1={}", sign(secret, unix, body))
}

/// The hex HMAC-SHA256 of `"<t>.<body>"` under `secret`.
pub fn sign(secret: &str, unix: i64, body: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else { return String::new() };
    mac.update(format!("{unix}.{body}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Milliseconds to wait after failed attempt `attempt` (1-based): base, 2×base, 4×base, …
pub fn retry_delay_ms(attempt: i32, base_ms: u64) -> u64 {
    let exp = u32::try_from(attempt.clamp(1, 20) - 1).unwrap_or(0);
    base_ms.saturating_mul(1u64 << exp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_and_urls() {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(parse_events(&s(&["deal.won", "deal.won"])).ok(), Some(s(&["deal.won"])));
        assert_eq!(parse_events(&[]).map_err(|e| e.code), Err("REQUIRED"));
        assert_eq!(parse_events(&s(&["deal.*"])).map_err(|e| e.code), Err("INVALID"));
        assert!(parse_url("https://hooks.example.com/x?y=1").is_ok());
        for bad in ["ftp://x", "not a url", "https://user:pw@x.com", "file:///etc/passwd", "http://"] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_url(&format!("https://x.com/{}", "a".repeat(2000))).map_err(|e| e.code), Err("TOO_LONG"));
    }

    #[test]
    fn private_ranges() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "224.0.0.1",
            "240.0.0.1",
            "198.18.0.1",
            "ff02::1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "::10.0.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap_or_else(|_| panic!("{ip}"))), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "64:ff9b::808:808", "2002:808:808::"] {
            assert!(!is_private(ip.parse().unwrap_or_else(|_| panic!("{ip}"))), "{ip}");
        }
    }

    #[test]
    fn signature_matches_a_known_vector() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog") from RFC 4231-style vectors.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"key").unwrap_or_else(|_| unreachable!());
        mac.update(b"The quick brown fox jumps over the lazy dog");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
        assert_eq!(signature("s", 10, "{}"), format!("t=10,v1={}", sign("s", 10, "{}")));
        assert_ne!(sign("s", 10, "{}"), sign("s", 11, "{}"));
    }

    #[test]
    fn backoff_spans_about_four_hours() {
        let total: u64 = (1..MAX_ATTEMPTS).map(|a| retry_delay_ms(a, 120_000)).sum();
        assert_eq!(retry_delay_ms(1, 120_000), 120_000);
        assert_eq!(retry_delay_ms(2, 120_000), 240_000);
        assert!((3 * 3_600_000..5 * 3_600_000).contains(&total), "{total}");
    }
}
