//! Webhook rules: event names, URL checks, the signature and the retry schedule. Pure.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::core::field::FieldError;

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
/// credentials. (Where it points is checked against [`refused_range`] when it is resolved.)
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

/// Why a webhook may not connect to `ip`, or `None` for a public unicast address on the
/// internet. IPv4 is refused by the special-purpose ranges of RFC 6890 and its successors;
/// IPv6 is allowed only inside global unicast (2000::/3) outside its special ranges, so an
/// unknown or future special range is refused rather than reached. IPv6 forms that carry an
/// IPv4 address to an IPv4 host (IPv4-mapped, IPv4-compatible, NAT64, 6to4) are judged by the
/// IPv4 address inside; Teredo and local-use NAT64 are refused outright because the address
/// they reach cannot be read from the IPv6 address alone.
pub fn refused_range(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => refused_v6(v6),
    }
}

/// Whether [`refused_range`] refuses `ip`.
pub fn is_private(ip: IpAddr) -> bool {
    refused_range(ip).is_some()
}

/// IPv4 special-purpose ranges (network, prefix length, name), checked in order.
const V4_REFUSED: [(u32, u8, &str); 16] = [
    (0xffff_ffff, 32, "broadcast"),
    (0x0000_0000, 8, "this network (0.0.0.0/8)"),
    (0x0a00_0000, 8, "private (10.0.0.0/8)"),
    (0x6440_0000, 10, "shared address space (100.64.0.0/10)"),
    (0x7f00_0000, 8, "loopback"),
    (0xa9fe_0000, 16, "link-local"),
    (0xac10_0000, 12, "private (172.16.0.0/12)"),
    (0xc000_0000, 24, "IETF protocol assignments (192.0.0.0/24)"),
    (0xc000_0200, 24, "documentation (192.0.2.0/24)"),
    (0xc058_6300, 24, "6to4 relay anycast (192.88.99.0/24)"),
    (0xc0a8_0000, 16, "private (192.168.0.0/16)"),
    (0xc612_0000, 15, "benchmarking (198.18.0.0/15)"),
    (0xc633_6400, 24, "documentation (198.51.100.0/24)"),
    (0xcb00_7100, 24, "documentation (203.0.113.0/24)"),
    (0xe000_0000, 4, "multicast"),
    (0xf000_0000, 4, "reserved (240.0.0.0/4)"),
];

fn refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let bits = u32::from(ip);
    V4_REFUSED.iter().find(|(net, len, _)| prefix_matches_v4(bits, *net, *len)).map(|(_, _, why)| *why)
}

fn prefix_matches_v4(bits: u32, net: u32, len: u8) -> bool {
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len)) };
    bits & mask == net & mask
}

fn prefix_matches_v6(bits: u128, net: u128, len: u8) -> bool {
    let mask = if len == 0 { 0 } else { u128::MAX << (128 - u32::from(len)) };
    bits & mask == net & mask
}

/// IPv6 ranges refused outright (network, prefix length, name), checked before the IPv4 forms.
const V6_REFUSED: [(u128, u8, &str); 9] = [
    (0, 128, "unspecified"),
    (1, 128, "loopback"),
    (0x0064_ff9b_0001_0000_0000_0000_0000_0000, 48, "local-use NAT64 (64:ff9b:1::/48)"),
    (0x2001_0000_0000_0000_0000_0000_0000_0000, 32, "Teredo (2001::/32)"),
    (0x2001_0db8_0000_0000_0000_0000_0000_0000, 32, "documentation (2001:db8::/32)"),
    // IETF protocol assignments: benchmarking, ORCHID, AMT, AS112 and what comes next.
    (0x2001_0000_0000_0000_0000_0000_0000_0000, 23, "IETF protocol assignments (2001::/23)"),
    (0x3fff_0000_0000_0000_0000_0000_0000_0000, 20, "documentation (3fff::/20)"),
    (0xfec0_0000_0000_0000_0000_0000_0000_0000, 10, "site-local (fec0::/10)"),
    (0xfe80_0000_0000_0000_0000_0000_0000_0000, 10, "link-local"),
];

fn refused_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let bits = u128::from(ip);
    if let Some((_, _, why)) = V6_REFUSED.iter().find(|(net, len, _)| prefix_matches_v6(bits, *net, *len)) {
        return Some(why);
    }
    // The low 32 bits are an IPv4 address for IPv4-mapped (::ffff:0:0/96), IPv4-compatible
    // (::/96) and NAT64 (64:ff9b::/96); 6to4 (2002::/16) carries it in bits 16 to 48.
    let low32 = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    if prefix_matches_v6(bits, 0xffff_0000_0000, 96)
        || prefix_matches_v6(bits, 0, 96)
        || prefix_matches_v6(bits, 0x0064_ff9b_0000_0000_0000_0000_0000_0000, 96)
    {
        return refused_v4(low32);
    }
    if prefix_matches_v6(bits, 0x2002_0000_0000_0000_0000_0000_0000_0000, 16) {
        return refused_v4(Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32));
    }
    if prefix_matches_v6(bits, 0xff00_0000_0000_0000_0000_0000_0000_0000, 8) {
        return Some("multicast");
    }
    if prefix_matches_v6(bits, 0xfc00_0000_0000_0000_0000_0000_0000_0000, 7) {
        return Some("unique-local (fc00::/7)");
    }
    if !prefix_matches_v6(bits, 0x2000_0000_0000_0000_0000_0000_0000_0000, 3) {
        return Some("not global unicast (outside 2000::/3)");
    }
    None
}

/// The port a URL connects to (its own or the scheme's).
pub fn port_of(url: &url::Url) -> u16 {
    url.port_or_known_default().unwrap_or(443)
}

/// Where a URL connects, as `host:port`: the unit of the per-host sending limit.
pub fn host_key(url: &url::Url) -> String {
    format!("{}:{}", url.host_str().unwrap_or_default().to_ascii_lowercase(), port_of(url))
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

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|_| panic!("{s} is an address"))
    }

    #[test]
    fn every_special_ipv4_range_is_refused_at_both_ends_and_its_neighbours_are_not() {
        // (first, last, the public address just before, just after)
        let ranges = [
            ("0.0.0.0", "0.255.255.255", None, Some("1.0.0.0")),
            ("10.0.0.0", "10.255.255.255", Some("9.255.255.255"), Some("11.0.0.0")),
            ("100.64.0.0", "100.127.255.255", Some("100.63.255.255"), Some("100.128.0.0")),
            ("127.0.0.0", "127.255.255.255", Some("126.255.255.255"), Some("128.0.0.0")),
            ("169.254.0.0", "169.254.255.255", Some("169.253.255.255"), Some("169.255.0.0")),
            ("172.16.0.0", "172.31.255.255", Some("172.15.255.255"), Some("172.32.0.0")),
            ("192.0.0.0", "192.0.0.255", Some("191.255.255.255"), Some("192.0.1.0")),
            ("192.0.2.0", "192.0.2.255", Some("192.0.1.255"), Some("192.0.3.0")),
            ("192.88.99.0", "192.88.99.255", Some("192.88.98.255"), Some("192.88.100.0")),
            ("192.168.0.0", "192.168.255.255", Some("192.167.255.255"), Some("192.169.0.0")),
            ("198.18.0.0", "198.19.255.255", Some("198.17.255.255"), Some("198.20.0.0")),
            ("198.51.100.0", "198.51.100.255", Some("198.51.99.255"), Some("198.51.101.0")),
            ("203.0.113.0", "203.0.113.255", Some("203.0.112.255"), Some("203.0.114.0")),
            ("224.0.0.0", "239.255.255.255", Some("223.255.255.255"), None),
            ("240.0.0.0", "255.255.255.254", None, None),
        ];
        for (first, last, before, after) in ranges {
            assert!(is_private(ip(first)), "{first}");
            assert!(is_private(ip(last)), "{last}");
            for public in [before, after].into_iter().flatten() {
                assert_eq!(refused_range(ip(public)), None, "{public}");
            }
        }
        assert_eq!(refused_range(ip("255.255.255.255")), Some("broadcast"));
        assert_eq!(refused_range(ip("127.0.0.1")), Some("loopback"));
        assert_eq!(refused_range(ip("169.254.169.254")), Some("link-local"));
        for public in ["8.8.8.8", "93.184.216.34", "1.1.1.1", "223.255.255.255", "100.63.0.1"] {
            assert_eq!(refused_range(ip(public)), None, "{public}");
        }
    }

    #[test]
    fn every_special_ipv6_range_is_refused() {
        for refused in [
            "::",
            "::1",
            "fe80::1",
            "febf:ffff::1",
            "fec0::1",
            "feff:ffff::1",
            "fc00::1",
            "fd12:3456::1",
            "ff02::1",
            "ff0e::1",
            "2001:db8::1",
            "2001:db8:ffff:ffff::1",
            "3fff::1",
            "3fff:0fff:ffff::1",
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:2::1",
            "2001:10::1",
            "2001:1ff::1",
            "64:ff9b:1::1",
            "64:ff9b:1:ffff::8.8.8.8",
            "100::1",
            "5f00::1",
            "4000::1",
            "1000::1",
            "e000::1",
        ] {
            assert!(is_private(ip(refused)), "{refused}");
        }
        for public in ["2606:4700::1111", "2a00:1450:4001::1", "2001:4860:4860::8888", "2001:200::1", "3ffe::1"] {
            assert_eq!(refused_range(ip(public)), None, "{public}");
        }
    }

    #[test]
    fn ipv6_forms_of_an_ipv4_address_are_judged_by_the_ipv4_address() {
        for inner in ["127.0.0.1", "10.0.0.1", "169.254.169.254", "100.64.0.1", "0.1.2.3", "192.0.2.1", "240.0.0.1"] {
            let v4: Ipv4Addr = inner.parse().unwrap_or_else(|_| panic!("{inner}"));
            let [a, b, c, d] = v4.octets();
            let forms = [
                format!("::ffff:{inner}"),
                format!("::{inner}"),
                format!("64:ff9b::{inner}"),
                format!("2002:{:02x}{:02x}:{:02x}{:02x}::1", a, b, c, d),
            ];
            let want = refused_range(IpAddr::V4(v4));
            assert!(want.is_some(), "{inner}");
            for form in forms {
                assert_eq!(refused_range(ip(&form)), want, "{form}");
            }
        }
        for form in ["::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::", "::8.8.8.8"] {
            assert_eq!(refused_range(ip(form)), None, "{form}");
        }
        assert_eq!(refused_range(ip("::ffff:127.0.0.1")), Some("loopback"));
    }

    #[test]
    fn host_keys_name_host_and_port() {
        let key = |u: &str| host_key(&parse_url(u).unwrap_or_else(|e| panic!("{u}: {}", e.message)));
        assert_eq!(key("https://Hooks.Example.com/x"), "hooks.example.com:443");
        assert_eq!(key("http://hooks.example.com/x"), "hooks.example.com:80");
        assert_eq!(key("http://127.0.0.1:9000/x"), "127.0.0.1:9000");
        assert_eq!(key("http://[::1]:81/x"), "[::1]:81");
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
