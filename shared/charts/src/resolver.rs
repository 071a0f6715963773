//! A DNS resolver that applies the SSRF policy to what it resolves, so the addresses checked are the
//! addresses connected to (no window for DNS rebinding between a check and the connection).
use crate::policy::SsrfPolicy;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Resolves with the system resolver (`tokio::net::lookup_host`) and refuses a host if any of its
/// addresses is internal, unless the policy lists the host.
pub(crate) struct GuardedResolver {
    policy: Arc<SsrfPolicy>,
}

impl GuardedResolver {
    pub(crate) fn new(policy: Arc<SsrfPolicy>) -> Self {
        Self { policy }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = Arc::clone(&self.policy);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // Port 0: reqwest puts the URL's port (or the scheme's default) in its place.
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let ips: Vec<IpAddr> = addrs.iter().map(SocketAddr::ip).collect();
            if let Err(refusal) = policy.check_resolved(&host, &ips) {
                tracing::warn!(host = %host, reason = %refusal, "chart host refused after resolving");
                return Err(refusal.into());
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}
