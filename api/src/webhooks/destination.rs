//! Where a webhook may connect. A URL names an allowed port (`WEBHOOK_ALLOWED_PORTS`), and every
//! address it reaches is outside the ranges [`model::refused_range`] refuses. The HTTP client
//! resolves names only through [`VettedResolver`], which drops refused addresses from the very
//! answer the connection uses: there is no second lookup a rebinding DNS server could answer
//! differently. IP-literal hosts never reach a resolver, so [`send`] vets them itself.
//! `WEBHOOKS_ALLOW_PRIVATE` turns all of this off, for local receivers on any port.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::net::lookup_host;

use super::model;
use crate::config::Config;

/// Why a destination is refused: a user-error code and a message for the admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// `INVALID`, `UNRESOLVABLE`, `PRIVATE_ADDRESS` or `PORT_NOT_ALLOWED`.
    pub code: &'static str,
    /// What was refused and why.
    pub message: String,
}

impl Refused {
    fn new(code: &'static str, message: String) -> Self {
        Refused { code, message }
    }
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Refused {}

fn refused_address(host: &str, ip: IpAddr, why: &str) -> Refused {
    Refused::new("PRIVATE_ADDRESS", format!("{host} resolves to {ip} ({why}), inside a private network"))
}

/// The addresses of `found` a webhook may connect to: every one when private addresses are
/// allowed, else those outside the refused ranges. None left is an error naming what was dropped.
pub fn vet_addresses(host: &str, found: Vec<SocketAddr>, allow_private: bool) -> Result<Vec<SocketAddr>, Refused> {
    if found.is_empty() {
        return Err(Refused::new("UNRESOLVABLE", format!("{host} does not resolve")));
    }
    if allow_private {
        return Ok(found);
    }
    let (vetted, refused): (Vec<SocketAddr>, Vec<SocketAddr>) =
        found.into_iter().partition(|a| model::refused_range(a.ip()).is_none());
    match refused.first() {
        Some(first) if vetted.is_empty() => {
            Err(refused_address(host, first.ip(), model::refused_range(first.ip()).unwrap_or("refused")))
        }
        _ => Ok(vetted),
    }
}

/// Resolves webhook hosts for the HTTP client and hands it only vetted addresses.
#[derive(Debug, Clone, Copy)]
pub struct VettedResolver {
    allow_private: bool,
}

impl Resolve for VettedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| Refused::new("UNRESOLVABLE", format!("cannot resolve {host}: {e}")))?
                .collect();
            let vetted = vet_addresses(&host, found, allow_private)?;
            Ok(Box::new(vetted.into_iter()) as Addrs)
        })
    }
}

/// The client every webhook is sent with.
pub fn client(config: &Config) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_millis(config.webhook_connect_timeout_ms))
        .timeout(Duration::from_millis(config.webhook_timeout_ms))
        // A redirect leads to a URL nobody vetted (its port, its scheme): a 3xx is a failed attempt.
        .redirect(reqwest::redirect::Policy::none())
        // A proxy from the environment would be connected to instead of the vetted address.
        .no_proxy()
        .dns_resolver(Arc::new(VettedResolver { allow_private: config.webhooks_allow_private }))
        .user_agent("Scorebord-Webhooks/1")
        .build()
}

/// What can be judged without a lookup: the port, and the address when the host is an IP literal.
fn check_without_lookup(url: &url::Url, config: &Config) -> Result<Option<String>, Refused> {
    if config.webhooks_allow_private {
        return Ok(None);
    }
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => return Ok(Some(name.to_owned())),
        None => return Err(Refused::new("INVALID", "the URL needs a host".to_owned())),
    };
    if let Some(ip) = ip
        && let Some(why) = model::refused_range(ip)
    {
        return Err(refused_address(&ip.to_string(), ip, why));
    }
    Ok(None)
}

fn check_port(url: &url::Url, config: &Config) -> Result<(), Refused> {
    let port = model::port_of(url);
    if config.webhooks_allow_private || config.webhook_allowed_ports.contains(&port) {
        return Ok(());
    }
    let allowed: Vec<String> = config.webhook_allowed_ports.iter().map(u16::to_string).collect();
    Err(Refused::new("PORT_NOT_ALLOWED", format!("port {port} is not allowed; use {}", allowed.join(" or "))))
}

/// Checks a webhook URL when it is created: its syntax, where its host resolves to now (every
/// address must be allowed) and its port.
pub async fn check_destination(url: &str, config: &Config) -> Result<(), Refused> {
    let parsed = model::parse_url(url).map_err(|e| Refused::new("INVALID", e.message))?;
    if let Some(name) = check_without_lookup(&parsed, config)? {
        let port = model::port_of(&parsed);
        let found: Vec<SocketAddr> = lookup_host((name.as_str(), port))
            .await
            .map_err(|e| Refused::new("UNRESOLVABLE", format!("cannot resolve {name}: {e}")))?
            .collect();
        if let Some(a) = found.iter().find(|a| model::refused_range(a.ip()).is_some()) {
            return Err(refused_address(&name, a.ip(), model::refused_range(a.ip()).unwrap_or("refused")));
        }
        vet_addresses(&name, found, false)?;
    }
    check_port(&parsed, config)
}

/// Posts a signed body; the HTTP status, or why there is none.
pub async fn send(
    client: &reqwest::Client,
    config: &Config,
    url: &str,
    secret: &str,
    body: &str,
) -> (Option<i32>, Option<String>) {
    let parsed = match model::parse_url(url) {
        Ok(u) => u,
        Err(e) => return (None, Some(e.message)),
    };
    if let Err(r) = check_without_lookup(&parsed, config).and_then(|_| check_port(&parsed, config)) {
        return (None, Some(r.message));
    }
    let t = chrono::Utc::now().timestamp();
    let result = client
        .post(parsed)
        .header("content-type", "application/json")
        .header("Scorebord-Signature", model::signature(secret, t, body))
        .body(body.to_owned())
        .send()
        .await;
    match result {
        Ok(resp) => {
            let code = i32::from(resp.status().as_u16());
            let error = (!resp.status().is_success()).then(|| format!("HTTP {code}"));
            (Some(code), error)
        }
        Err(e) if e.is_timeout() => (None, Some(format!("no answer within {} ms", config.webhook_timeout_ms))),
        Err(e) => (None, Some(failure_message(&e))),
    }
}

/// The refusal from the resolver when there is one (reqwest's own message hides it), else the
/// innermost cause.
fn failure_message(e: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        if let Some(r) = next.downcast_ref::<Refused>() {
            return r.message.clone();
        }
        cause = next;
    }
    if std::ptr::addr_eq(cause, e as &dyn std::error::Error) { e.to_string() } else { format!("{e}: {cause}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap_or_else(|_| panic!("{s}"))
    }

    #[test]
    fn refused_addresses_are_dropped_and_none_left_is_an_error() {
        let mixed = vec![addr("127.0.0.1:80"), addr("93.184.216.34:80"), addr("[::1]:80")];
        assert_eq!(vet_addresses("h", mixed.clone(), false), Ok(vec![addr("93.184.216.34:80")]));
        assert_eq!(vet_addresses("h", mixed.clone(), true), Ok(mixed));
        let only_private = vec![addr("127.0.0.1:80"), addr("[::ffff:10.0.0.1]:80")];
        let err = vet_addresses("h", only_private, false).map_err(|e| e.code);
        assert_eq!(err, Err("PRIVATE_ADDRESS"));
        assert_eq!(vet_addresses("h", vec![], true).map_err(|e| e.code), Err("UNRESOLVABLE"));
    }

    fn config(allow_private: bool, ports: &[u16]) -> Config {
        let mut c = Config::for_database("sqlite::memory:", "s");
        c.webhooks_allow_private = allow_private;
        c.webhook_allowed_ports = ports.to_vec();
        c
    }

    #[test]
    fn ports_are_allowed_by_the_list_or_by_allowing_private_receivers() {
        let url = |u: &str| model::parse_url(u).unwrap_or_else(|e| panic!("{}", e.message));
        let strict = config(false, &[80, 443]);
        assert_eq!(check_port(&url("https://x.example/"), &strict), Ok(()));
        assert_eq!(check_port(&url("http://x.example/"), &strict), Ok(()));
        assert_eq!(check_port(&url("http://x.example:443/"), &strict), Ok(()));
        for bad in ["http://x.example:22/", "https://x.example:8443/", "http://x.example:6379/"] {
            assert_eq!(check_port(&url(bad), &strict).map_err(|e| e.code), Err("PORT_NOT_ALLOWED"), "{bad}");
        }
        assert_eq!(check_port(&url("https://x.example:8443/"), &config(false, &[8443])), Ok(()));
        assert_eq!(
            check_port(&url("https://x.example/"), &config(false, &[8443])).map_err(|e| e.code),
            Err("PORT_NOT_ALLOWED")
        );
        assert_eq!(check_port(&url("http://x.example:6379/"), &config(true, &[80, 443])), Ok(()));
    }

    #[test]
    fn literal_addresses_are_judged_without_a_lookup() {
        let url = |u: &str| model::parse_url(u).unwrap_or_else(|e| panic!("{}", e.message));
        let strict = config(false, &[80, 443]);
        for bad in ["http://127.0.0.1/", "http://[::ffff:7f00:1]/", "http://[64:ff9b:1::1]/", "http://2130706433/"] {
            assert_eq!(check_without_lookup(&url(bad), &strict).map_err(|e| e.code), Err("PRIVATE_ADDRESS"), "{bad}");
        }
        assert_eq!(check_without_lookup(&url("http://8.8.8.8/"), &strict), Ok(None));
        assert_eq!(check_without_lookup(&url("http://Hooks.example/"), &strict), Ok(Some("hooks.example".to_owned())));
        assert_eq!(check_without_lookup(&url("http://127.0.0.1/"), &config(true, &[])), Ok(None));
    }
}
