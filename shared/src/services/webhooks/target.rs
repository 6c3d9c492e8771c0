//! Where a webhook may be sent. HTTPS only (plain HTTP to this machine when Switchboard
//! runs locally), and never to a private, link-local or otherwise internal address,
//! unless an admin named the host as allowed: a subscription must not turn Switchboard
//! into a way into the network it runs in (SSRF). The URL is checked when it is saved,
//! and every address a name resolves to is checked again when a delivery connects, so
//! a name that later points inside is refused too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use url::{Host, Url};

/// Longest URL a subscription may have.
pub const MAX_URL_LEN: usize = 2_048;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetPolicy {
    /// Switchboard runs on one machine: plain HTTP to loopback is allowed.
    pub local: bool,
    /// Hosts an admin allowed even though they are, or resolve to, internal addresses.
    pub allowed_hosts: Vec<String>,
}

impl TargetPolicy {
    /// The URL, when a webhook may be sent there; else why not.
    pub fn check_url(&self, text: &str) -> Result<Url, String> {
        if text.len() > MAX_URL_LEN {
            return Err(format!("the URL is longer than {MAX_URL_LEN} characters"));
        }
        let url = Url::parse(text).map_err(|e| format!("not a URL: {e}"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err("the URL may not hold a user name or password".into());
        }
        let host = url.host().ok_or("the URL has no host")?;
        let allowed = self.host_allowed(&host);
        let loopback = is_loopback_host(&host);
        match url.scheme() {
            "https" => {}
            "http" if self.local && loopback => {}
            "http" if self.local => {
                return Err("use https (plain http only to this machine's loopback)".into());
            }
            "http" => return Err("use https".into()),
            other => return Err(format!("`{other}` URLs are not allowed: use https")),
        }
        let ip = match host {
            Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            Host::Domain(name) if name.eq_ignore_ascii_case("localhost") => {
                Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
            }
            Host::Domain(_) => None,
        };
        if let Some(ip) = ip
            && !allowed
            && !self.address_allowed(ip)
        {
            return Err(format!(
                "{ip} is a private or internal address; an admin may allow the host with SWITCHBOARD_WEBHOOK_ALLOW_HOSTS"
            ));
        }
        Ok(url)
    }

    fn host_allowed(&self, host: &Host<&str>) -> bool {
        let name = host.to_string();
        self.allows_host(name.trim_start_matches('[').trim_end_matches(']'))
    }

    /// Whether an admin named this host as allowed, whatever it resolves to.
    fn allows_host(&self, name: &str) -> bool {
        self.allowed_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
    }

    /// Whether a delivery may connect to `ip` (for a host not explicitly allowed).
    pub fn address_allowed(&self, ip: IpAddr) -> bool {
        is_public(ip) || (self.local && ip.is_loopback())
    }

    /// A resolver that keeps, of what a name resolves to, only the addresses a delivery
    /// may connect to.
    pub fn resolver(self: &Arc<Self>) -> Arc<GuardedResolver> {
        Arc::new(GuardedResolver(self.clone()))
    }
}

fn is_loopback_host(host: &Host<&str>) -> bool {
    match host {
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
        Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
    }
}

/// Reachable on the public internet: not private, loopback, link-local, shared (CGNAT),
/// documentation, benchmarking, multicast, broadcast or unspecified.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(ip),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

/// IPv6 unicast that is global, and none of the ways IPv6 carries an IPv4 address
/// (IPv4-compatible, NAT64, 6to4, Teredo), which could lead inside.
fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let ipv4_compatible = s[..6].iter().all(|x| *x == 0);
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_unique_local()
        || ip.is_unicast_link_local()
        || ipv4_compatible
        // Site-local (deprecated), discard-only, documentation.
        || (s[0] & 0xffc0) == 0xfec0
        || (s[0] == 0x0100 && s[1..4].iter().all(|x| *x == 0))
        || (s[0] == 0x2001 && s[1] == 0x0db8)
        // NAT64 (64:ff9b::/96 and the local-use 64:ff9b:1::/48), Teredo, 6to4.
        || s[0] == 0x0064
        || (s[0] == 0x2001 && s[1] == 0x0000)
        || s[0] == 0x2002)
}

/// The resolver every delivery connects through (see [`TargetPolicy::resolver`]).
pub struct GuardedResolver(Arc<TargetPolicy>);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed = policy.allows_host(&host);
            let usable: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| allowed || policy.address_allowed(a.ip()))
                .collect();
            if usable.is_empty() {
                // One answer for both, so that it tells nothing of internal names.
                return Err(format!("{host} has no address webhooks may reach").into());
            }
            Ok(Box::new(usable.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cloud() -> TargetPolicy {
        TargetPolicy::default()
    }

    fn local() -> TargetPolicy {
        TargetPolicy {
            local: true,
            allowed_hosts: vec![],
        }
    }

    #[test]
    fn a_public_https_url_is_allowed() {
        assert!(
            cloud()
                .check_url("https://hooks.example.com/in?x=1")
                .is_ok()
        );
        assert!(cloud().check_url("https://93.184.216.34/hook").is_ok());
    }

    #[test]
    fn plain_http_only_to_loopback_and_only_locally() {
        assert!(cloud().check_url("http://hooks.example.com/").is_err());
        assert!(cloud().check_url("http://127.0.0.1:9000/").is_err());
        assert!(local().check_url("http://127.0.0.1:9000/").is_ok());
        assert!(local().check_url("http://localhost:9000/").is_ok());
        assert!(local().check_url("http://[::1]:9000/").is_ok());
        assert!(local().check_url("http://hooks.example.com/").is_err());
        assert!(local().check_url("ftp://127.0.0.1/").is_err());
    }

    #[test]
    fn internal_addresses_are_refused_unless_the_host_is_allowed() {
        for url in [
            "https://10.0.0.5/",
            "https://192.168.1.1/",
            "https://172.16.0.1/",
            "https://169.254.169.254/latest/meta-data/",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://127.0.0.1/",
            "https://localhost/",
            "https://[::7f00:1]/",
            "https://[::a9fe:a9fe]/",
            "https://[2002:a9fe:a9fe::]/",
            "https://[2001::1]/",
            "https://[fec0::1]/",
            "https://[100::1]/",
            "https://[64:ff9b::a9fe:a9fe]/",
            "https://192.0.0.8/",
            "https://0x7f.1/",
            "https://2130706433/",
        ] {
            assert!(cloud().check_url(url).is_err(), "{url}");
        }
        assert!(local().check_url("https://10.0.0.5/").is_err());
        let allowed = TargetPolicy {
            local: false,
            allowed_hosts: vec!["10.0.0.5".into(), "fd00::1".into()],
        };
        assert!(allowed.check_url("https://10.0.0.5/").is_ok());
        assert!(allowed.check_url("https://[fd00::1]/").is_ok());
        assert!(allowed.check_url("https://10.0.0.6/").is_err());
    }

    #[test]
    fn credentials_in_the_url_are_refused() {
        assert!(cloud().check_url("https://u:p@hooks.example.com/").is_err());
        assert!(cloud().check_url("not a url").is_err());
    }

    #[tokio::test]
    async fn the_resolver_drops_internal_addresses() {
        use reqwest::dns::Resolve;
        let policy = Arc::new(cloud());
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        let refused = policy.resolver().resolve(name).await;
        assert!(refused.is_err());
        let policy = Arc::new(local());
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        let addrs: Vec<_> = policy.resolver().resolve(name).await.unwrap().collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()));
    }
}
