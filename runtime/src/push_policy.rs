//! Where Web Push may send. Subscription endpoints come from users, so Evently posts only to the
//! push services' hosts (`EVENTLY_NOTIFICATIONS__PUSH_HOSTS`, the major browsers' services by
//! default), over https on port 443 unless an entry names another port, never to an IP literal,
//! and only to public addresses. The gateway checks an endpoint when a subscription is made; the
//! notifications consumer checks it again before every send and checks each address its host
//! resolves to, then connects to exactly those (`consumers/src/notifications/push_http.rs`).
//!
//! `push_allow_loopback` (tests and local benchmarks only) also lets endpoints and addresses on
//! this machine through (http or https, any port): the tests' push receiver listens on
//! `http://127.0.0.1:<port>`. Private, link-local and the other ranges stay refused.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use anyhow::bail;
use url::{Host, Url};

/// The major browsers' push services: Chrome, Edge on Android, Opera, Samsung Internet and Brave
/// (Firebase Cloud Messaging), Firefox (Mozilla's autopush), Safari (Apple Push Notification
/// service, `web.push.apple.com`), Edge on Windows (WNS, `wns2-<region>.notify.windows.com`).
pub const DEFAULT_PUSH_HOSTS: [&str; 5] = [
    "fcm.googleapis.com",
    "updates.push.services.mozilla.com",
    "*.push.services.mozilla.com",
    "*.push.apple.com",
    "*.notify.windows.com",
];

/// Longest endpoint accepted.
pub const MAX_ENDPOINT_LEN: usize = 2048;

/// Why an endpoint or an address is refused. The messages complete "endpoint ...".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("must be a URL of at most 2048 characters without spaces or control characters")]
    Malformed,
    #[error("must be an https URL")]
    NotHttps,
    #[error("must not carry a user name or password")]
    UserInfo,
    #[error("must name its push service by host name, not by IP address")]
    IpLiteral,
    #[error("is not on a known push service ({0} is not in EVENTLY_NOTIFICATIONS__PUSH_HOSTS)")]
    UnknownHost(String),
    #[error("must use port 443 (port {0} is not allowed for this host)")]
    Port(u16),
    #[error("resolves to {addr} ({host}), a {kind} address")]
    Address {
        host: String,
        addr: IpAddr,
        kind: &'static str,
    },
    #[error("resolves to no address ({0})")]
    NoAddress(String),
}

/// One allowlist entry: `name` or `*.name` (any name below it, not `name` itself), on `port`.
#[derive(Debug, Clone)]
struct HostRule {
    name: String,
    wildcard: bool,
    port: u16,
}

impl HostRule {
    fn parse(entry: &str) -> anyhow::Result<Self> {
        let entry = entry.trim().to_ascii_lowercase();
        let (host, port) = match entry.rsplit_once(':') {
            Some((host, port)) => match port.parse::<u16>() {
                Ok(port) if port > 0 => (host.to_owned(), port),
                _ => bail!("{entry:?}: the port must be 1-65535"),
            },
            None => (entry.clone(), 443),
        };
        let (name, wildcard) = match host.strip_prefix("*.") {
            Some(rest) => (rest.to_owned(), true),
            None => (host, false),
        };
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
            bail!(
                "{entry:?} is not a host name, `*.` and a host name, either with an optional `:port`"
            );
        }
        if !matches!(Host::parse(&name), Ok(Host::Domain(_))) {
            bail!("{entry:?}: name push services by host name, not by IP address");
        }
        Ok(Self {
            name,
            wildcard,
            port,
        })
    }

    fn matches_name(&self, host: &str) -> bool {
        if self.wildcard {
            host.len() > self.name.len() + 1
                && host.ends_with(&self.name)
                && host.as_bytes()[host.len() - self.name.len() - 1] == b'.'
        } else {
            host == self.name
        }
    }
}

/// The allowlist and the loopback allowance, ready to check endpoints and addresses.
#[derive(Debug, Clone)]
pub struct PushPolicy {
    rules: Vec<HostRule>,
    allow_loopback: bool,
}

impl PushPolicy {
    /// The policy of these settings; an entry that is not a host pattern is an error naming it.
    pub fn new(hosts: &[String], allow_loopback: bool) -> anyhow::Result<Self> {
        let rules = hosts
            .iter()
            .map(|h| HostRule::parse(h))
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            rules,
            allow_loopback,
        })
    }

    /// Whether loopback endpoints and addresses are let through (tests only).
    pub fn allows_loopback(&self) -> bool {
        self.allow_loopback
    }

    /// Parses `endpoint` (WHATWG rules, so `https://2130706433/` and `https://0x7f.1/` are the IP
    /// address they mean) and checks it: https, no user info, a host name on the allowlist with
    /// its port. The URL to send to is the one returned.
    pub fn check_endpoint(&self, endpoint: &str) -> Result<Url, Refusal> {
        if endpoint.len() > MAX_ENDPOINT_LEN
            || endpoint
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(Refusal::Malformed);
        }
        let url = Url::parse(endpoint).map_err(|_| Refusal::Malformed)?;
        let local = self.allow_loopback && is_loopback_host(&url);
        match url.scheme() {
            "https" => {}
            "http" if local => {}
            _ => return Err(Refusal::NotHttps),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refusal::UserInfo);
        }
        if local {
            return Ok(url);
        }
        let host = match url.host() {
            Some(Host::Domain(host)) => host.to_owned(),
            Some(Host::Ipv4(_) | Host::Ipv6(_)) => return Err(Refusal::IpLiteral),
            None => return Err(Refusal::Malformed),
        };
        let port = url.port_or_known_default().unwrap_or(443);
        let named: Vec<&HostRule> = self
            .rules
            .iter()
            .filter(|r| r.matches_name(&host))
            .collect();
        if named.is_empty() {
            return Err(Refusal::UnknownHost(host));
        }
        if !named.iter().any(|r| r.port == port) {
            return Err(Refusal::Port(port));
        }
        Ok(url)
    }

    /// Whether Evently may connect to `addr` (one of the addresses `host` resolved to).
    pub fn check_address(&self, host: &str, addr: IpAddr) -> Result<(), Refusal> {
        if self.allow_loopback && canonical(addr).is_loopback() {
            return Ok(());
        }
        match address_kind(addr) {
            None => Ok(()),
            Some(kind) => Err(Refusal::Address {
                host: host.to_owned(),
                addr,
                kind,
            }),
        }
    }
}

/// `127.0.0.0/8`, `::1` or `localhost`.
fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// What kind of non-public address `addr` is; `None` for a public (global unicast) one.
pub fn address_kind(addr: IpAddr) -> Option<&'static str> {
    match addr {
        IpAddr::V4(v4) => v4_kind(v4),
        IpAddr::V6(v6) => v6_kind(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], bits: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn v4_kind(ip: Ipv4Addr) -> Option<&'static str> {
    const RANGES: [([u8; 4], u32, &str); 17] = [
        ([169, 254, 169, 254], 32, "cloud metadata"),
        ([0, 0, 0, 0], 8, "unspecified"),
        ([10, 0, 0, 0], 8, "private"),
        ([100, 64, 0, 0], 10, "shared (CGNAT)"),
        ([127, 0, 0, 0], 8, "loopback"),
        ([169, 254, 0, 0], 16, "link-local"),
        ([172, 16, 0, 0], 12, "private"),
        ([192, 0, 0, 0], 24, "reserved (IETF protocol)"),
        ([192, 0, 2, 0], 24, "documentation"),
        ([192, 88, 99, 0], 24, "reserved (6to4 relay)"),
        ([192, 168, 0, 0], 16, "private"),
        ([198, 18, 0, 0], 15, "reserved (benchmarking)"),
        ([198, 51, 100, 0], 24, "documentation"),
        ([203, 0, 113, 0], 24, "documentation"),
        ([224, 0, 0, 0], 4, "multicast"),
        ([255, 255, 255, 255], 32, "broadcast"),
        ([240, 0, 0, 0], 4, "reserved"),
    ];
    RANGES
        .iter()
        .find(|(net, bits, _)| in_v4(ip, *net, *bits))
        .map(|(_, _, kind)| *kind)
}

fn in_v6(ip: Ipv6Addr, net: Ipv6Addr, bits: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
    u128::from(ip) & mask == u128::from(net) & mask
}

fn v6_kind(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_kind(v4);
    }
    let seg = ip.segments();
    // NAT64 (RFC 6052): the IPv4 address it translates to decides.
    if in_v6(ip, Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96) {
        return v4_kind(Ipv4Addr::from(
            (u32::from(seg[6]) << 16) | u32::from(seg[7]),
        ));
    }
    const RANGES: [(Ipv6Addr, u32, &str); 12] = [
        (Ipv6Addr::UNSPECIFIED, 128, "unspecified"),
        (Ipv6Addr::LOCALHOST, 128, "loopback"),
        (
            Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254),
            128,
            "cloud metadata",
        ),
        (
            Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0),
            7,
            "unique-local",
        ),
        (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10, "link-local"),
        (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10, "site-local"),
        (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8, "multicast"),
        (
            Ipv6Addr::new(0x2001, 0x0db8, 0, 0, 0, 0, 0, 0),
            32,
            "documentation",
        ),
        (
            Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0),
            20,
            "documentation",
        ),
        (
            Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0),
            23,
            "reserved (IETF protocol)",
        ),
        (
            Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0),
            16,
            "reserved (6to4)",
        ),
        // Everything outside global unicast (IPv4-compatible, discard-only, local NAT64, ...).
        (Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3, ""),
    ];
    for (net, bits, kind) in RANGES {
        if in_v6(ip, net, bits) {
            return (!kind.is_empty()).then_some(kind);
        }
    }
    Some("reserved")
}

#[cfg(test)]
mod tests;
