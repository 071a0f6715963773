//! The SSRF policy: which URLs and addresses a chart may be read from, and the allowlist that opens
//! specific hosts.
use crate::address::{AddressKind, refused_kind};
use std::net::IpAddr;
use thiserror::Error;
use url::{Host, Url};

/// The environment variable holding the allowlist: comma-separated hosts, IP addresses or `host:port`.
pub const ALLOW_HOSTS_ENV: &str = "HERALD_CHART_ALLOW_HOSTS";

/// Why a chart URL was refused by the SSRF guard. Its text is the chart's access-error reason.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refusal {
    #[error("refused: {scheme} URLs are not read, only http and https (SSRF guard)")]
    Scheme { scheme: String },
    #[error("refused: the URL has no host (SSRF guard)")]
    NoHost,
    #[error(
        "refused: {ip} is {kind} (SSRF guard); allow the host in {ALLOW_HOSTS_ENV} if this is intended"
    )]
    Address { ip: IpAddr, kind: AddressKind },
    #[error(
        "refused: {host} resolves to {ip}, {kind} (SSRF guard); allow the host in {ALLOW_HOSTS_ENV} if this is intended"
    )]
    Resolved {
        host: String,
        ip: IpAddr,
        kind: AddressKind,
    },
    #[error("refused: {host} is allowed only on port {ports} in {ALLOW_HOSTS_ENV} (SSRF guard)")]
    Port { host: String, ports: String },
}

/// Which hosts the SSRF guard lets through even though they are (or resolve to) internal addresses.
///
/// Entries are host names, IP addresses (IPv6 with or without brackets) or `host:port`. A host
/// listed only with ports is refused on any other port, so the resolver, which never sees the
/// port, can trust every listed host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SsrfPolicy {
    pub allow_hosts: Vec<String>,
}

/// What the synchronous URL check decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlVerdict {
    /// The host is on the allowlist.
    Allowed,
    /// The host is a public IP address.
    PublicAddress,
    /// The host is a name: its addresses are checked by the resolver when connecting.
    CheckOnResolve,
}

impl SsrfPolicy {
    /// A policy allowing the given hosts.
    pub fn allowing<S: Into<String>>(hosts: impl IntoIterator<Item = S>) -> Self {
        Self {
            allow_hosts: hosts.into_iter().map(Into::into).collect(),
        }
    }

    /// Reads `HERALD_CHART_ALLOW_HOSTS` (comma-separated; unset or empty allows nothing extra).
    pub fn from_env() -> Self {
        Self::from_list(&std::env::var(ALLOW_HOSTS_ENV).unwrap_or_default())
    }

    /// Parses a comma-separated allowlist.
    pub fn from_list(list: &str) -> Self {
        Self::allowing(list.split(',').map(str::trim).filter(|s| !s.is_empty()))
    }

    /// Checks a URL before any connection: the scheme, an IP-literal host, and allowlisted ports.
    /// Host names pass as [`UrlVerdict::CheckOnResolve`]: the resolver checks what they resolve to.
    pub fn check_url(&self, url: &Url) -> Result<UrlVerdict, Refusal> {
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(Refusal::Scheme {
                scheme: url.scheme().to_owned(),
            });
        }
        let host = url.host().ok_or(Refusal::NoHost)?;
        let port = url.port_or_known_default();
        let key = host_key(&host);
        let listed_ports: Vec<Option<u16>> = self
            .entries()
            .filter(|(h, _)| *h == key)
            .map(|(_, p)| p)
            .collect();
        if listed_ports.iter().any(|p| p.is_none() || *p == port) {
            return Ok(UrlVerdict::Allowed);
        }
        if !listed_ports.is_empty() {
            let ports = listed_ports
                .iter()
                .flatten()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(" or ");
            return Err(Refusal::Port { host: key, ports });
        }
        let ip = match host {
            Host::Ipv4(v4) => IpAddr::V4(v4),
            Host::Ipv6(v6) => IpAddr::V6(v6),
            Host::Domain(_) => return Ok(UrlVerdict::CheckOnResolve),
        };
        match refused_kind(ip) {
            Some(kind) => Err(Refusal::Address { ip, kind }),
            None => Ok(UrlVerdict::PublicAddress),
        }
    }

    /// Checks what a host name resolved to: refused if any address is internal, unless the host is
    /// listed (with or without a port; [`Self::check_url`] has already checked the port).
    pub fn check_resolved(&self, host: &str, addrs: &[IpAddr]) -> Result<(), Refusal> {
        let key = normalize_host(host);
        if self.entries().any(|(h, _)| h == key) {
            return Ok(());
        }
        match addrs
            .iter()
            .find_map(|ip| refused_kind(*ip).map(|kind| (*ip, kind)))
        {
            Some((ip, kind)) => Err(Refusal::Resolved {
                host: key,
                ip,
                kind,
            }),
            None => Ok(()),
        }
    }

    /// The allowlist as (normalized host, optional port).
    fn entries(&self) -> impl Iterator<Item = (String, Option<u16>)> + '_ {
        self.allow_hosts.iter().map(|entry| parse_entry(entry))
    }
}

/// Splits an allowlist entry into host and port: `host`, `host:port`, `1.2.3.4:80`, `::1`, `[::1]`, `[::1]:80`.
fn parse_entry(entry: &str) -> (String, Option<u16>) {
    let entry = entry.trim();
    if entry.parse::<IpAddr>().is_ok() {
        return (normalize_host(entry), None);
    }
    if let Some((host, port)) = entry.rsplit_once(':')
        && let Ok(port) = port.parse::<u16>()
    {
        return (normalize_host(host), Some(port));
    }
    (normalize_host(entry), None)
}

/// Lowercase, no brackets around IPv6, no trailing dot; IP addresses in canonical form.
fn normalize_host(host: &str) -> String {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    let host = host.strip_suffix('.').unwrap_or(host);
    match host.parse::<IpAddr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => host.to_ascii_lowercase(),
    }
}

fn host_key(host: &Host<&str>) -> String {
    match host {
        Host::Domain(d) => normalize_host(d),
        Host::Ipv4(v4) => v4.to_string(),
        Host::Ipv6(v6) => v6.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(policy: &SsrfPolicy, url: &str) -> Result<UrlVerdict, Refusal> {
        policy.check_url(&Url::parse(url).unwrap())
    }

    #[test]
    fn non_http_schemes_are_refused() {
        let err = check(&SsrfPolicy::default(), "ftp://x/").unwrap_err();
        assert_eq!(
            err.to_string(),
            "refused: ftp URLs are not read, only http and https (SSRF guard)"
        );
        assert!(check(&SsrfPolicy::default(), "file:///etc/passwd").is_err());
    }

    #[test]
    fn metadata_address_is_refused_with_the_documented_reason() {
        let err = check(
            &SsrfPolicy::default(),
            "http://169.254.169.254/latest/meta-data",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "refused: 169.254.169.254 is a link-local address (SSRF guard); allow the host in HERALD_CHART_ALLOW_HOSTS if this is intended"
        );
    }

    #[test]
    fn ip_literals_in_every_spelling_are_checked() {
        let policy = SsrfPolicy::default();
        for url in [
            "http://10.0.0.1/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://[fe80::1]/",
        ] {
            assert!(
                matches!(check(&policy, url), Err(Refusal::Address { .. })),
                "{url}"
            );
        }
        assert_eq!(
            check(&policy, "https://8.8.8.8/"),
            Ok(UrlVerdict::PublicAddress)
        );
        assert_eq!(
            check(&policy, "https://bi.example.com/"),
            Ok(UrlVerdict::CheckOnResolve)
        );
    }

    #[test]
    fn allowlist_matches_hosts_ports_and_ipv6_forms() {
        let policy = SsrfPolicy::from_list(" 127.0.0.1 , bi.internal:8080,[::1], ");
        assert_eq!(policy.allow_hosts.len(), 3);
        assert_eq!(
            check(&policy, "http://127.0.0.1:9/"),
            Ok(UrlVerdict::Allowed)
        );
        assert_eq!(check(&policy, "http://[::1]:9/"), Ok(UrlVerdict::Allowed));
        assert_eq!(
            check(&policy, "http://BI.internal:8080/x"),
            Ok(UrlVerdict::Allowed)
        );
        let err = check(&policy, "http://bi.internal/x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "refused: bi.internal is allowed only on port 8080 in HERALD_CHART_ALLOW_HOSTS (SSRF guard)"
        );
        assert!(check(&policy, "http://127.0.0.2/").is_err());
    }

    #[test]
    fn resolved_addresses_are_refused_if_any_is_internal() {
        let policy = SsrfPolicy::allowing(["bi.internal:8080"]);
        let public: IpAddr = "8.8.8.8".parse().unwrap();
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(policy.check_resolved("example.com", &[public]).is_ok());
        let err = policy
            .check_resolved("localhost", &[public, loopback])
            .unwrap_err();
        assert!(err.to_string().starts_with(
            "refused: localhost resolves to 127.0.0.1, a loopback address (SSRF guard)"
        ));
        assert!(policy.check_resolved("bi.internal", &[loopback]).is_ok());
    }
}
