//! The `allowed_hosts` allow-list and the address rules behind it (SSRF defence). A request
//! passes twice: its URL host must match an entry, and every address that host resolves to
//! must be public, or be loopback/private/link-local only where an IP or CIDR entry lists that
//! address. A host *name* entry (exact or wildcard) never opens a special address: a name
//! is only as trustworthy as the DNS answer for it. Cloud metadata endpoints are never
//! reachable, whatever the list says.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One `allowed_hosts` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    /// `host` or `host:port`: that exact name.
    Name { name: String, port: Option<u16> },
    /// `*.domain` or `*.domain:port`: any name below `domain` (not `domain` itself). Stored
    /// with the leading dot: `.domain`.
    Wildcard { suffix: String, port: Option<u16> },
    /// `IP`, `IP:port`, `[IPv6]:port`.
    Ip { addr: IpAddr, port: Option<u16> },
    /// `IP/len`: every address in the network (any port).
    Cidr { network: IpAddr, len: u8 },
}

/// A URL's host: a name (lower case, no trailing dot) or an IP literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Host {
    Name(String),
    Ip(IpAddr),
}

impl std::fmt::Display for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Name(name) => f.write_str(name),
            Self::Ip(addr) => write!(f, "{addr}"),
        }
    }
}

impl Host {
    /// Parses a URL host (`[v6]` brackets allowed). Names that look numeric but are not a
    /// dotted-quad IPv4 (`0x7f.1`, `2130706433`) are refused: resolvers read them as IPs.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let bare = text
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .unwrap_or(text);
        if let Ok(addr) = bare.parse::<IpAddr>() {
            return Ok(Self::Ip(addr.to_canonical()));
        }
        let name = text.trim_end_matches('.').to_ascii_lowercase();
        check_name(&name)?;
        Ok(Self::Name(name))
    }
}

/// A parsed `allowed_hosts` value. Empty denies everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AllowList {
    entries: Vec<Entry>,
}

impl AllowList {
    /// Parses a comma-separated list; blank entries are skipped.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let entries = text
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                parse_entry(&entry.to_ascii_lowercase())
                    .map_err(|e| format!("allowed_hosts entry `{entry}`: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { entries })
    }

    /// Whether `host:port` matches an entry: a name matches name and wildcard entries, an IP
    /// literal matches IP and CIDR entries.
    pub(crate) fn match_host(&self, host: &Host, port: u16) -> bool {
        let port_ok = |p: &Option<u16>| p.is_none_or(|p| p == port);
        match host {
            Host::Name(host) => self.entries.iter().any(|entry| match entry {
                Entry::Name { name, port: p } => name == host && port_ok(p),
                Entry::Wildcard { suffix, port: p } => {
                    host.ends_with(suffix.as_str()) && host.len() > suffix.len() && port_ok(p)
                }
                Entry::Ip { .. } | Entry::Cidr { .. } => false,
            }),
            Host::Ip(addr) => self.lists_addr(*addr, port),
        }
    }

    /// Whether an IP or CIDR entry covers `addr` on `port`.
    pub(crate) fn lists_addr(&self, addr: IpAddr, port: u16) -> bool {
        let addr = addr.to_canonical();
        self.entries.iter().any(|entry| match entry {
            Entry::Ip { addr: a, port: p } => *a == addr && p.is_none_or(|p| p == port),
            Entry::Cidr { network, len } => in_network(addr, *network, *len),
            _ => false,
        })
    }

    /// `Err(class)` when `addr` may not be reached: a cloud metadata endpoint (always), or a
    /// special address (loopback, private, ...) that no IP or CIDR entry lists. How the host
    /// matched does not count: a name entry (`localhost`, `db.internal`) or a wildcard only
    /// ever opens public addresses, so a name resolving to loopback stays denied.
    pub(crate) fn check_addr(&self, addr: IpAddr, port: u16) -> Result<(), &'static str> {
        if is_cloud_metadata(addr) {
            return Err(CLOUD_METADATA);
        }
        match special_class(addr) {
            Some(class) if !self.lists_addr(addr, port) => Err(class),
            _ => Ok(()),
        }
    }
}

fn parse_entry(entry: &str) -> Result<Entry, String> {
    if entry == "*" {
        return Err("a bare `*` is not supported; list each host, `*.domain` or a CIDR".into());
    }
    if let Some((addr, len)) = entry.split_once('/') {
        let network: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{addr}` before `/` is not an IP address"))?;
        let network = network.to_canonical();
        let max = if network.is_ipv4() { 32 } else { 128 };
        let len = len
            .parse::<u8>()
            .ok()
            .filter(|len| *len <= max)
            .ok_or_else(|| format!("prefix length `{len}` must be 0-{max}"))?;
        return Ok(Entry::Cidr { network, len });
    }
    if let Ok(addr) = entry.parse::<IpAddr>() {
        return Ok(Entry::Ip {
            addr: addr.to_canonical(),
            port: None,
        });
    }
    if let Some(rest) = entry.strip_prefix('[') {
        let (addr, tail) = rest
            .split_once(']')
            .ok_or("`[` without a closing `]`; write [IPv6]:port")?;
        let addr: Ipv6Addr = addr
            .parse()
            .map_err(|_| format!("`{addr}` is not an IPv6 address"))?;
        let port = match tail {
            "" => None,
            tail => Some(parse_port(tail.strip_prefix(':').unwrap_or(tail))?),
        };
        return Ok(Entry::Ip {
            addr: IpAddr::V6(addr).to_canonical(),
            port,
        });
    }
    if entry.matches(':').count() > 1 {
        return Err(
            "not an IPv6 address; an IPv6 address with a port needs brackets: [IPv6]:port".into(),
        );
    }
    let (host, port) = match entry.rsplit_once(':') {
        Some((host, port)) => (host, Some(parse_port(port)?)),
        None => (entry, None),
    };
    if let Ok(addr) = host.parse::<Ipv4Addr>() {
        return Ok(Entry::Ip {
            addr: IpAddr::V4(addr),
            port,
        });
    }
    let host = host.trim_end_matches('.');
    match host.strip_prefix("*.") {
        Some(domain) => {
            check_name(domain)?;
            Ok(Entry::Wildcard {
                suffix: format!(".{domain}"),
                port,
            })
        }
        None => {
            check_name(host)?;
            Ok(Entry::Name {
                name: host.to_owned(),
                port,
            })
        }
    }
}

fn parse_port(text: &str) -> Result<u16, String> {
    text.parse::<u16>()
        .ok()
        .filter(|port| *port != 0)
        .ok_or_else(|| format!("`{text}` is not a port (1-65535)"))
}

/// A DNS name: labels of letters, digits, `-` and `_`, 1-63 bytes each, 253 in all, and a
/// last label that is not numeric (that would be an IPv4 address in disguise).
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 253 {
        return Err(format!("`{name}` is not a host name"));
    }
    for label in name.split('.') {
        let valid = !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(format!(
                "`{name}` is not a host name (letters, digits, `-`, `_` and dots; a wildcard \
                 is written `*.domain`)"
            ));
        }
    }
    let last = name.rsplit('.').next().unwrap_or(name);
    if last.bytes().all(|b| b.is_ascii_digit()) || last.starts_with("0x") {
        return Err(format!(
            "`{name}` looks like an IP address but is not a dotted-quad one; write the address \
             as a.b.c.d"
        ));
    }
    Ok(())
}

fn in_network(addr: IpAddr, network: IpAddr, len: u8) -> bool {
    match (addr, network) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// The IPv4 address an IPv6 address carries (IPv4-mapped `::ffff:a.b.c.d` or NAT64
/// `64:ff9b::a.b.c.d`), or the address itself.
fn carried_v4(addr: IpAddr) -> IpAddr {
    match addr.to_canonical() {
        IpAddr::V6(v6) if u128::from(v6) >> 32 == 0x0064_ff9b_0000_0000_0000_0000 => IpAddr::V4(
            Ipv4Addr::from(u32::try_from(u128::from(v6) & 0xffff_ffff).unwrap_or(0)),
        ),
        other => other,
    }
}

/// The class [`AllowList::check_addr`] names for [`is_cloud_metadata`] addresses.
pub(crate) const CLOUD_METADATA: &str = "cloud metadata";

/// Cloud metadata and credential endpoints, never reachable by an actor (not even through an
/// IP or CIDR entry): they hand out the host's own cloud credentials.
/// 169.254.169.254 (AWS, GCP, Azure, Oracle, DigitalOcean, ...), 169.254.170.2 (AWS ECS task
/// credentials), 100.100.100.200 (Alibaba Cloud) and fd00:ec2::254 (AWS over IPv6), in every
/// IPv4-mapped and NAT64 form.
pub(crate) fn is_cloud_metadata(addr: IpAddr) -> bool {
    match carried_v4(addr) {
        IpAddr::V4(v4) => [
            Ipv4Addr::new(169, 254, 169, 254),
            Ipv4Addr::new(169, 254, 170, 2),
            Ipv4Addr::new(100, 100, 100, 200),
        ]
        .contains(&v4),
        IpAddr::V6(v6) => v6 == Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254),
    }
}

/// The kind of a non-public address, or `None` for a public one. IPv4-mapped and NAT64
/// (64:ff9b::/96) IPv6 addresses are judged by the IPv4 address they carry.
pub(crate) fn special_class(addr: IpAddr) -> Option<&'static str> {
    match carried_v4(addr) {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let segments = v6.segments();
            if v6.is_unspecified() {
                Some("unspecified")
            } else if v6.is_loopback() {
                Some("loopback")
            } else if bits >> 32 == 0 {
                Some("reserved (IPv4-compatible)")
            } else if segments.first().is_some_and(|s| s & 0xfe00 == 0xfc00) {
                Some("private (unique local)")
            } else if segments.first().is_some_and(|s| s & 0xffc0 == 0xfe80) {
                Some("link-local")
            } else if segments.first().is_some_and(|s| s & 0xffc0 == 0xfec0) {
                Some("private (site-local)")
            } else if v6.is_multicast() {
                Some("multicast")
            } else {
                None
            }
        }
    }
}

fn special_v4(v4: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = v4.octets();
    if a == 0 {
        Some("unspecified")
    } else if v4.is_loopback() {
        Some("loopback")
    } else if v4.is_private() {
        Some("private")
    } else if v4 == Ipv4Addr::new(169, 254, 169, 254) {
        Some("link-local (cloud metadata)")
    } else if v4.is_link_local() {
        Some("link-local")
    } else if a == 100 && (b & 0xc0) == 64 {
        Some("shared (carrier-grade NAT)")
    } else if a == 192 && b == 0 && c == 0 {
        Some("reserved (IETF protocol assignments)")
    } else if v4.is_multicast() {
        Some("multicast")
    } else if a >= 240 {
        Some("reserved (or broadcast)")
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
