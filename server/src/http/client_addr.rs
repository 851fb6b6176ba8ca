//! Who is asking, by network address, for the per-address limit on NINO and TRN attempts (DESIGN §5).
//!
//! Behind a load balancer every request arrives from the balancer, so the TCP peer would put every teacher in
//! one counter. The balancer says whom it is forwarding for in `X-Forwarded-For`, but anyone can send that header,
//! so it is believed only as far as the hops we trust (`TRUSTED_PROXIES`): starting from the peer and walking the
//! header from its right-hand end (the entry the nearest proxy wrote), the client is the first address that is
//! not one of our proxies. With no trusted proxies (the default) the header is ignored and the peer is the client.

use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use std::net::{IpAddr, SocketAddr};

/// An address or a range of addresses in CIDR form (`10.0.0.0/8`, `2001:db8::/32`, or one address).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

impl IpRange {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let network: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{s}` is not an IP address or CIDR range"))?;
        let network = network.to_canonical();
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{s}` has a prefix length outside 0 to {max}"))?,
        };
        Ok(Self { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                same_prefix(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                same_prefix(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

/// Whether the first `bits` bits of `a` and `b` agree.
fn same_prefix(a: &[u8], b: &[u8], bits: u8) -> bool {
    let bits = usize::from(bits);
    let (whole, rest) = (bits / 8, bits % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    rest == 0 || {
        let mask = 0xFFu8 << (8 - rest);
        a[whole] & mask == b[whole] & mask
    }
}

/// The proxies whose `X-Forwarded-For` entries we believe (`TRUSTED_PROXIES`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpRange>);

impl TrustedProxies {
    /// Reads a list of addresses and CIDR ranges separated by commas or spaces. Empty: trust none.
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split([',', ' ', '\t'])
            .filter(|s| !s.is_empty())
            .map(IpRange::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|range| range.contains(ip))
    }

    /// The client's address, given the TCP `peer` and the `X-Forwarded-For` header values in the order received.
    /// The header is read only when the peer is trusted; each trusted hop lets us believe the entry to its left.
    /// An entry that is not an address stops the walk at the trusted hop that wrote it.
    pub fn client_address<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl IntoIterator<Item = &'a str>,
    ) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.trusts(client) {
            return client;
        }
        let entries: Vec<&str> = forwarded_for
            .into_iter()
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect();
        for entry in entries.iter().rev() {
            let Some(hop) = parse_hop(entry) else {
                return client;
            };
            client = hop;
            if !self.trusts(client) {
                return client;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, perhaps with a port (`203.0.113.7:51234`, `[2001:db8::1]:443`) as
/// some load balancers write it.
fn parse_hop(entry: &str) -> Option<IpAddr> {
    let ip = entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            entry
                .strip_prefix('[')
                .and_then(|e| e.strip_suffix(']'))
                .and_then(|e| e.parse().ok())
        })?;
    Some(ip.to_canonical())
}

/// The key an address is counted under: the address itself for IPv4, its /64 network for IPv6 (one household or
/// phone is handed a whole /64, and could otherwise use a new address for every attempt).
pub fn rate_limit_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// The `X-Forwarded-For` header values of a request, in order.
pub fn forwarded_for(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
}

/// Extractor: the client's address as described above, or `None` when the request did not come through our
/// listener (nothing to count).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddress(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        Ok(Self(peer.map(|peer| {
            state
                .config
                .trusted_proxies
                .client_address(peer, forwarded_for(&parts.headers))
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn trusted_proxies_are_addresses_and_cidr_ranges() {
        let proxies =
            TrustedProxies::parse("10.0.0.0/8, 192.168.1.5 2001:db8::/32,172.16.0.0/12").unwrap();
        assert!(proxies.trusts(ip("10.200.3.4")));
        assert!(proxies.trusts(ip("192.168.1.5")));
        assert!(!proxies.trusts(ip("192.168.1.6")));
        assert!(proxies.trusts(ip("2001:db8:1::7")));
        assert!(!proxies.trusts(ip("2001:db9::7")));
        assert!(proxies.trusts(ip("172.31.255.255")));
        assert!(!proxies.trusts(ip("172.32.0.0")));
        // An IPv4 peer seen through a dual-stack socket is still that IPv4 address.
        assert!(proxies.trusts(ip("::ffff:10.1.2.3")));
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        assert!(TrustedProxies::parse(" , ").unwrap().is_empty());
        assert!(TrustedProxies::parse("0.0.0.0/0")
            .unwrap()
            .trusts(ip("203.0.113.9")));
    }

    #[test]
    fn bad_proxy_lists_are_refused_with_the_reason() {
        for bad in [
            "10.0.0.0/33",
            "2001:db8::/129",
            "localhost",
            "10.0.0/8",
            "10.0.0.0/x",
            "1.2.3.4:80",
        ] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            TrustedProxies::parse("10.0.0.0/8,nope").unwrap_err(),
            "`nope` is not an IP address or CIDR range"
        );
    }

    #[test]
    fn with_no_trusted_proxies_the_header_is_ignored() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_address(ip("198.51.100.1"), ["203.0.113.9"]),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn an_untrusted_peer_cannot_choose_its_address() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        assert_eq!(
            proxies.client_address(ip("198.51.100.1"), ["10.0.0.1, 203.0.113.9"]),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn the_client_is_the_first_untrusted_hop_from_the_right() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        // Balancer 10.0.0.2 forwarding for 203.0.113.9.
        assert_eq!(
            proxies.client_address(ip("10.0.0.2"), ["203.0.113.9"]),
            ip("203.0.113.9")
        );
        // A client that sends its own header cannot hide behind it: what it wrote is left of its real address.
        assert_eq!(
            proxies.client_address(ip("10.0.0.2"), ["1.1.1.1, 203.0.113.9"]),
            ip("203.0.113.9")
        );
        // Two of our proxies in a row, and the header split across two lines.
        assert_eq!(
            proxies.client_address(ip("10.0.0.2"), ["6.6.6.6, 203.0.113.9", "10.0.0.7"]),
            ip("203.0.113.9")
        );
        // Ports and brackets as some balancers write them.
        assert_eq!(
            proxies.client_address(ip("10.0.0.2"), ["203.0.113.9:51234"]),
            ip("203.0.113.9")
        );
        assert_eq!(
            proxies.client_address(ip("10.0.0.2"), ["[2001:db8::5]:443"]),
            ip("2001:db8::5")
        );
        assert_eq!(
            proxies.client_address(ip("10.0.0.2"), ["[2001:db8::5]"]),
            ip("2001:db8::5")
        );
    }

    #[test]
    fn a_header_that_runs_out_or_is_garbled_stops_at_the_last_trusted_hop() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        assert_eq!(proxies.client_address(ip("10.0.0.2"), []), ip("10.0.0.2"));
        assert_eq!(
            proxies.client_address(ip("10.0.0.2"), ["10.0.0.9"]),
            ip("10.0.0.9")
        );
        assert_eq!(
            proxies.client_address(ip("10.0.0.2"), ["203.0.113.9, unknown"]),
            ip("10.0.0.2")
        );
        assert_eq!(
            proxies.client_address(ip("10.0.0.2"), ["203.0.113.9, 10.0.0.3, <script>"]),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_bit_network() {
        assert_eq!(rate_limit_key(ip("203.0.113.9")), "203.0.113.9");
        assert_eq!(
            rate_limit_key(ip("2001:db8:1:2:aaaa::1")),
            rate_limit_key(ip("2001:db8:1:2:bbbb::9"))
        );
        assert_ne!(
            rate_limit_key(ip("2001:db8:1:2::1")),
            rate_limit_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(rate_limit_key(ip("::ffff:203.0.113.9")), "203.0.113.9");
    }
}
