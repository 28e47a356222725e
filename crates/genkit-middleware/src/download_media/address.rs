//! Which addresses `downloadRequestMedia` refuses to fetch from unless told otherwise: the
//! machine itself and the private networks around it. A media URL in a model request may come
//! from an end user; fetching `http://169.254.169.254/…` (a cloud metadata service) or
//! `http://127.0.0.1:…/admin` on their behalf and handing the body to a model is server-side
//! request forgery.
//!
//! Host names are checked where they are resolved (a [`reqwest::dns::Resolve`] that refuses
//! them), so a name that resolves to a public address at one moment and a private one the
//! next (DNS rebinding) is checked on the address actually connected to. Literal addresses
//! never reach a resolver, so URLs (the first and every redirect) are checked too.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;

/// How many redirects are followed, as reqwest's default policy does.
const MAX_REDIRECTS: usize = 10;

/// Whether `ip` is not a public unicast address: loopback, private (RFC 1918), link-local,
/// unique-local (`fc00::/7`), unspecified, "this network" (`0.0.0.0/8`), shared carrier-grade
/// NAT space (`100.64.0.0/10`), broadcast, multicast, IPv6 site-local, or an IPv4 address of
/// one of those kinds inside IPv6 (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`, NAT64
/// `64:ff9b::a.b.c.d`).
pub(crate) fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_private_v4(v4),
        IpAddr::V6(v6) => is_private_v6(v6),
    }
}

fn is_private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
}

fn is_private_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let embedded_v4 = || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] & 0xffc0) == 0xfec0
        || (s[..5] == [0; 5] && (s[5] == 0xffff || s[5] == 0) && is_private_v4(embedded_v4()))
        || (s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] && is_private_v4(embedded_v4()))
}

/// A fetch refused because of where it would connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refused {
    host: String,
    ip: IpAddr,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host == self.ip.to_string() {
            write!(f, "{} is a private, loopback or link-local address", self.ip)?;
        } else {
            write!(f, "{} resolves to {}, a private, loopback or link-local address", self.host, self.ip)?;
        }
        f.write_str(" (set allowPrivateAddresses to fetch from it)")
    }
}

impl std::error::Error for Refused {}

/// The refusal for a URL whose host is a literal private address; `None` for a public
/// literal and for host names (the resolver checks those).
pub(crate) fn check_url(url: &reqwest::Url) -> Option<Refused> {
    // The URL parser has already normalised literal addresses (`0x7f.1` is `127.0.0.1`, IPv6
    // is bracketed), so a host that does not parse as an address is a name.
    let host = url.host_str()?;
    let ip: IpAddr = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host).parse().ok()?;
    is_private(ip).then(|| Refused { host: ip.to_string(), ip })
}

/// The refusal hidden in a reqwest error's source chain, if that is why it failed.
pub(crate) fn refusal(err: &(dyn std::error::Error + 'static)) -> Option<Refused> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(r) = e.downcast_ref::<Refused>() {
            return Some(r.clone());
        }
        cur = e.source();
    }
    None
}

/// Resolves with the system resolver and refuses a name with any private address among its
/// answers (a name with both kinds is refused rather than trimmed: its owner pointed it at a
/// private network).
#[derive(Debug)]
pub(crate) struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let lookup = host.clone();
            // The port is replaced by the URL's; 0 only satisfies `ToSocketAddrs`.
            let addrs: Vec<SocketAddr> =
                tokio::task::spawn_blocking(move || (lookup.as_str(), 0).to_socket_addrs().map(Iterator::collect))
                    .await??;
            if let Some(bad) = addrs.iter().find(|a| is_private(a.ip())) {
                return Err(Box::new(Refused { host, ip: bad.ip() }) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The redirect policy: reqwest's limit of ten, and no redirect to a literal private address.
pub(crate) fn redirects() -> redirect::Policy {
    redirect::Policy::custom(|attempt| {
        if attempt.previous().len() >= MAX_REDIRECTS {
            return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
        }
        match check_url(attempt.url()) {
            Some(refused) => attempt.error(refused),
            None => attempt.follow(),
        }
    })
}

/// A client that refuses private addresses.
pub(crate) fn guarded_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().dns_resolver(Arc::new(PublicOnly)).redirect(redirects())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn private_loopback_and_link_local_addresses_are_private() {
        for s in [
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "100.64.0.1",
            "100.127.255.255",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(is_private(ip(s)), "{s}");
        }
    }

    #[test]
    fn public_addresses_are_not() {
        for s in [
            "8.8.8.8",
            "1.1.1.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.169.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "169.255.0.1",
            "2001:4860:4860::8888",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "fbff::1",
        ] {
            assert!(!is_private(ip(s)), "{s}");
        }
    }

    #[test]
    fn urls_with_literal_private_hosts_are_refused_with_a_clear_reason() {
        let url = |s: &str| reqwest::Url::parse(s).unwrap();
        let r = check_url(&url("http://127.0.0.1:8080/x.png")).unwrap();
        assert_eq!(
            r.to_string(),
            "127.0.0.1 is a private, loopback or link-local address (set allowPrivateAddresses to fetch from it)"
        );
        assert!(check_url(&url("http://[::ffff:169.254.169.254]/latest")).is_some());
        assert!(check_url(&url("http://[::1]/")).is_some());
        assert!(check_url(&url("http://0x7f.1/")).is_some(), "alternative IPv4 spellings are normalised first");
        assert!(check_url(&url("http://2130706433/")).is_some());
        assert!(check_url(&url("http://8.8.8.8/x")).is_none());
        assert!(check_url(&url("http://localhost/x")).is_none(), "names are checked by the resolver");
        let named = Refused { host: "evil.test".into(), ip: ip("10.0.0.1") };
        assert!(named.to_string().starts_with("evil.test resolves to 10.0.0.1, a private"));
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_of_private_addresses() {
        let err = PublicOnly.resolve("localhost".parse().unwrap()).await.err().unwrap();
        let refused = refusal(err.as_ref()).unwrap();
        assert_eq!(refused.host, "localhost");
        assert!(is_private(refused.ip));
    }
}
