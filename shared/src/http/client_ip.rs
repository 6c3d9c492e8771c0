//! The client's address, as the rate limits count it.
//!
//! Each proxy appends the address it was reached from to `X-Forwarded-For`, so only the
//! entries on the right were written by proxies we trust: everything left of them is
//! whatever the client sent. With `n` trusted hops the client is the `n`-th entry from
//! the right (the one our outermost proxy wrote); with none, the connection's peer.
//! See <https://developer.mozilla.org/en-US/docs/Web/HTTP/Reference/Headers/X-Forwarded-For#selecting_an_ip_address>.

use axum::http::HeaderMap;
use axum::http::HeaderValue;
use std::net::{IpAddr, SocketAddr};

const FORWARDED_FOR: &str = "x-forwarded-for";

/// The address a limit counts a client by: an IPv4 address as it is (an IPv4-mapped
/// IPv6 address as its IPv4), an IPv6 address by its /64 network. A single subscriber
/// gets a whole /64 (or more) and may use any address in it, so counting each address
/// alone would give one client billions of budgets.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let network = u128::from(v6) & (u128::MAX << 64);
                IpAddr::V6(std::net::Ipv6Addr::from(network))
            }
        },
    }
}

/// The client's address: the `trusted_hops`-th `X-Forwarded-For` entry from the right,
/// else (no hops, too few entries, or not an address there) the socket `peer`.
pub fn client_ip(headers: &HeaderMap, peer: Option<IpAddr>, trusted_hops: u8) -> Option<IpAddr> {
    if trusted_hops == 0 {
        return peer;
    }
    let entries = forwarded_entries(headers);
    let from_right = usize::from(trusted_hops);
    entries
        .len()
        .checked_sub(from_right)
        .and_then(|at| parse_entry(entries[at]))
        .or(peer)
}

/// Every `X-Forwarded-For` entry in order, over all the header's lines. A line that is
/// not text makes the whole header unusable: its entries cannot be counted.
fn forwarded_entries(headers: &HeaderMap) -> Vec<&str> {
    let mut entries = Vec::new();
    for value in headers.get_all(FORWARDED_FOR) {
        let Ok(text) = value.to_str() else {
            return Vec::new();
        };
        entries.extend(text.split(',').map(str::trim));
    }
    entries
}

/// An address, with or without a port (`203.0.113.7`, `203.0.113.7:4711`,
/// `[2001:db8::1]:443`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// Removes the entry a proxy that is itself our peer appended for the address it was
/// reached from (`peer`): behind API Gateway, whose request context gives us that
/// address as the peer, so that the hop count means the same as on the local server
/// (proxies in front of it, each having written one entry).
pub fn drop_peer_entry(headers: &mut HeaderMap, peer: IpAddr) {
    let entries = forwarded_entries(headers);
    let Some((last, rest)) = entries.split_last() else {
        return;
    };
    if parse_entry(last) != Some(peer) {
        return;
    }
    let kept = rest.join(", ");
    headers.remove(FORWARDED_FOR);
    if !kept.is_empty()
        && let Ok(value) = HeaderValue::from_str(&kept)
    {
        headers.insert(FORWARDED_FOR, value);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_ipv6_client_is_counted_by_its_64_network_and_an_ipv4_one_as_it_is() {
        let key = |s: &str| client_key(s.parse().unwrap());
        assert_eq!(
            key("2001:db8:1:2:aaaa::1"),
            key("2001:db8:1:2:ffff:ffff:ffff:ffff")
        );
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("2001:db8:1:2::9").to_string(), "2001:db8:1:2::");
        assert_eq!(key("::ffff:203.0.113.7").to_string(), "203.0.113.7");
        assert_eq!(key("203.0.113.7").to_string(), "203.0.113.7");
    }

    use super::*;

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(FORWARDED_FOR, line.parse().unwrap());
        }
        headers
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_client_is_the_entry_our_outermost_proxy_wrote() {
        let peer = Some(ip("10.0.0.2"));
        let spoofed = headers(&["1.1.1.1, 203.0.113.7"]);
        assert_eq!(client_ip(&spoofed, peer, 0), peer, "no hops: the peer");
        assert_eq!(client_ip(&spoofed, peer, 1), Some(ip("203.0.113.7")));
        assert_eq!(client_ip(&spoofed, peer, 2), Some(ip("1.1.1.1")));
        // More hops than entries: the header cannot say; the peer stands.
        assert_eq!(client_ip(&spoofed, peer, 3), peer);
        // Several header lines read as one list, in order.
        let split = headers(&["9.9.9.9", "198.51.100.4, 203.0.113.7"]);
        assert_eq!(client_ip(&split, peer, 2), Some(ip("198.51.100.4")));
    }

    #[test]
    fn a_missing_or_unreadable_entry_falls_back_to_the_peer() {
        let peer = Some(ip("10.0.0.2"));
        assert_eq!(client_ip(&HeaderMap::new(), peer, 1), peer);
        for bad in ["unknown", "", "1.1.1.1, not-an-address", "1.1.1.1, "] {
            assert_eq!(client_ip(&headers(&[bad]), peer, 1), peer, "{bad:?}");
        }
        let mut opaque = HeaderMap::new();
        opaque.insert(
            FORWARDED_FOR,
            HeaderValue::from_bytes(b"1.1.1.1, \xff").unwrap(),
        );
        assert_eq!(client_ip(&opaque, peer, 1), peer);
        assert_eq!(client_ip(&HeaderMap::new(), None, 1), None);
    }

    #[test]
    fn entries_with_ports_and_ipv6_are_addresses() {
        let peer = Some(ip("10.0.0.2"));
        for (entry, expected) in [
            ("203.0.113.7:4711", "203.0.113.7"),
            ("2001:db8::1", "2001:db8::1"),
            ("[2001:db8::1]:443", "2001:db8::1"),
        ] {
            let h = headers(&[&format!("1.1.1.1, {entry}")]);
            assert_eq!(client_ip(&h, peer, 1), Some(ip(expected)), "{entry}");
        }
    }

    #[test]
    fn the_peers_own_entry_is_dropped_and_nothing_else() {
        let peer = ip("203.0.113.7");
        let mut h = headers(&["1.1.1.1, 198.51.100.4, 203.0.113.7"]);
        drop_peer_entry(&mut h, peer);
        assert_eq!(h.get(FORWARDED_FOR).unwrap(), "1.1.1.1, 198.51.100.4");
        // The rightmost entry is someone else's: kept as it is.
        drop_peer_entry(&mut h, peer);
        assert_eq!(h.get(FORWARDED_FOR).unwrap(), "1.1.1.1, 198.51.100.4");
        let mut only = headers(&["203.0.113.7"]);
        drop_peer_entry(&mut only, peer);
        assert!(only.get(FORWARDED_FOR).is_none());
    }
}
