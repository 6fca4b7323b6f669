//! Which address a request comes from (IAM-10): the peer of the connection, unless the peer is
//! one of the configured trusted proxies, in which case the forwarding header it added is read
//! from the right, skipping trusted proxies, to the first address that is not one. Everything
//! that judges or records a client's address — IP allow-lists, audit entries, sessions, the
//! metrics' allow-list, sign-in throttling — takes it from [`client_address`], computed once per
//! request by [`remember`].

use crate::settings::{ForwardedHeader, ProxySettings};
use crate::state::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use std::net::{IpAddr, SocketAddr};

/// The address a request came from, as [`client_address`] decided it (a request extension).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

/// The client's address: `peer` itself unless it is a trusted proxy; then the forwarding header
/// named in the settings, read from the last (rightmost, added by the nearest proxy) address
/// back, skipping addresses of trusted proxies. An address that cannot be read stops the walk at
/// the last trusted hop, because nothing before it can be believed. Headers from peers that are
/// not trusted proxies are ignored: anyone can send them. IPv4-mapped IPv6 addresses become the
/// IPv4 address they carry.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, proxies: &ProxySettings) -> IpAddr {
    let trusted = |ip: &IpAddr| proxies.trusted.iter().any(|n| n.contains(ip));
    let mut client = peer.to_canonical();
    if !trusted(&client) {
        return client;
    }
    let hops: Vec<Option<IpAddr>> = match proxies.header {
        ForwardedHeader::XForwardedFor => headers
            .get_all("x-forwarded-for")
            .iter()
            .flat_map(|v| v.to_str().ok().unwrap_or("\u{0}").split(',').map(parse_xff).collect::<Vec<_>>())
            .collect(),
        ForwardedHeader::Forwarded => headers
            .get_all("forwarded")
            .iter()
            .flat_map(|v| v.to_str().ok().unwrap_or("\u{0}").split(',').map(parse_forwarded).collect::<Vec<_>>())
            .collect(),
    };
    for hop in hops.into_iter().rev() {
        let Some(ip) = hop.map(|ip| ip.to_canonical()) else {
            return client;
        };
        client = ip;
        if !trusted(&ip) {
            return ip;
        }
    }
    client
}

/// One element of `X-Forwarded-For`: an address, possibly bracketed or with a port.
fn parse_xff(item: &str) -> Option<IpAddr> {
    parse_node(item.trim())
}

/// The `for=` parameter of one element of `Forwarded` (RFC 7239).
fn parse_forwarded(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        name.trim().eq_ignore_ascii_case("for").then(|| parse_node(value.trim().trim_matches('"'))).flatten()
    })
}

/// `192.0.2.1`, `192.0.2.1:8080`, `2001:db8::1`, `[2001:db8::1]` or `[2001:db8::1]:8080`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok());
    }
    node.parse::<SocketAddr>().ok().map(|s| s.ip())
}

/// The layer that decides the client's address once, before anything else reads it.
pub async fn remember(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    if let Some(peer) = peer {
        let ip = client_address(peer, request.headers(), &state.settings.proxies);
        request.extensions_mut().insert(ClientAddress(ip));
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn settings(trusted: &[&str], header: ForwardedHeader) -> ProxySettings {
        ProxySettings { trusted: trusted.iter().map(|n| n.parse().unwrap()).collect(), header }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(*name, HeaderValue::from_str(value).unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn iam_10_headers_from_an_untrusted_peer_are_ignored() {
        let none = settings(&[], ForwardedHeader::XForwardedFor);
        let spoofed = headers(&[("x-forwarded-for", "10.1.2.3"), ("forwarded", "for=10.1.2.3")]);
        assert_eq!(client_address(ip("127.0.0.3"), &spoofed, &none), ip("127.0.0.3"));
        let other = settings(&["127.0.0.2/32"], ForwardedHeader::XForwardedFor);
        assert_eq!(client_address(ip("127.0.0.3"), &spoofed, &other), ip("127.0.0.3"));
    }

    #[test]
    fn iam_10_a_trusted_proxy_is_believed_walking_from_the_right() {
        let s = settings(&["127.0.0.2/32", "10.0.0.0/8"], ForwardedHeader::XForwardedFor);
        // The client put a forged address first; the proxies appended what they saw.
        let h = headers(&[("x-forwarded-for", "203.0.113.66, 198.51.100.7, 10.0.0.5")]);
        assert_eq!(client_address(ip("127.0.0.2"), &h, &s), ip("198.51.100.7"));
        // Several header lines read as one list, in order.
        let h = headers(&[("x-forwarded-for", "203.0.113.66"), ("x-forwarded-for", "198.51.100.7")]);
        assert_eq!(client_address(ip("127.0.0.2"), &h, &s), ip("198.51.100.7"));
        // Only trusted hops: the leftmost of them.
        let h = headers(&[("x-forwarded-for", "10.0.0.9, 10.0.0.5")]);
        assert_eq!(client_address(ip("127.0.0.2"), &h, &s), ip("10.0.0.9"));
        // No header: the proxy itself.
        assert_eq!(client_address(ip("127.0.0.2"), &HeaderMap::new(), &s), ip("127.0.0.2"));
        // Garbage stops the walk at the last trusted hop.
        let h = headers(&[("x-forwarded-for", "198.51.100.7, nonsense, 10.0.0.5")]);
        assert_eq!(client_address(ip("127.0.0.2"), &h, &s), ip("10.0.0.5"));
        // Ports, brackets and IPv6.
        let h = headers(&[("x-forwarded-for", "[2001:db8::7]:4711")]);
        assert_eq!(client_address(ip("127.0.0.2"), &h, &s), ip("2001:db8::7"));
        let h = headers(&[("x-forwarded-for", "198.51.100.7:4711")]);
        assert_eq!(client_address(ip("127.0.0.2"), &h, &s), ip("198.51.100.7"));
        // The header the settings do not name is not read.
        let h = headers(&[("forwarded", "for=198.51.100.7")]);
        assert_eq!(client_address(ip("127.0.0.2"), &h, &s), ip("127.0.0.2"));
    }

    #[test]
    fn iam_10_the_forwarded_header_is_read_when_configured() {
        let s = settings(&["127.0.0.2/32"], ForwardedHeader::Forwarded);
        let h = headers(&[("forwarded", "for=203.0.113.66;proto=https, for=\"[2001:db8::7]:4711\";by=127.0.0.2")]);
        assert_eq!(client_address(ip("127.0.0.2"), &h, &s), ip("2001:db8::7"));
        let h = headers(&[("forwarded", "For=198.51.100.7"), ("x-forwarded-for", "203.0.113.66")]);
        assert_eq!(client_address(ip("127.0.0.2"), &h, &s), ip("198.51.100.7"));
        // An obfuscated identifier (RFC 7239 `_hidden`, `unknown`) cannot be believed.
        let h = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(client_address(ip("127.0.0.2"), &h, &s), ip("127.0.0.2"));
    }

    #[test]
    fn iam_10_ipv4_mapped_addresses_are_normalised() {
        let s = settings(&["127.0.0.2/32"], ForwardedHeader::XForwardedFor);
        let h = headers(&[("x-forwarded-for", "::ffff:198.51.100.7")]);
        // The peer arrives mapped on a dual-stack listener and still counts as the proxy.
        assert_eq!(client_address(ip("::ffff:127.0.0.2"), &h, &s), ip("198.51.100.7"));
        assert_eq!(client_address(ip("::ffff:127.0.0.3"), &h, &s), ip("127.0.0.3"));
    }
}
