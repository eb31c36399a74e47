//! The HTTP client Web Push goes out through, safe against endpoints that point into Evently's own
//! network: it resolves each push service's host itself and refuses the connection when any
//! address is not public (`evently_runtime::push_policy`), handing the connector exactly the
//! addresses it checked (no second lookup an attacker's DNS could answer differently); it follows
//! no redirects, uses no proxy from the environment, caps the whole exchange at
//! `push_timeout_secs` and reads at most [`MAX_RESPONSE_BYTES`] of an answer. IP literals never
//! reach the resolver: [`evently_runtime::push_policy::PushPolicy::check_endpoint`] refuses them
//! before a request is made.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use evently_runtime::push_policy::{PushPolicy, Refusal};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::push::PushOutcome;

/// Most bytes of a push service's answer read (the status is what counts; the rest is dropped
/// with its connection).
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Resolves a push service's host and lets only addresses the policy allows through.
struct CheckedResolver {
    policy: Arc<PushPolicy>,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let addrs = checked(&policy, &host, found)?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// `addrs` when every one of them is allowed; the first refusal otherwise.
pub fn checked(
    policy: &PushPolicy,
    host: &str,
    addrs: Vec<SocketAddr>,
) -> Result<Vec<SocketAddr>, Refusal> {
    if addrs.is_empty() {
        return Err(Refusal::NoAddress(host.to_owned()));
    }
    for addr in &addrs {
        policy.check_address(host, addr.ip())?;
    }
    Ok(addrs)
}

/// The client pushes go out through.
pub fn client(policy: Arc<PushPolicy>, timeout: Duration) -> anyhow::Result<reqwest::Client> {
    evently_runtime::vapid::install_crypto_provider();
    reqwest::Client::builder()
        .dns_resolver(Arc::new(CheckedResolver {
            policy: policy.clone(),
        }))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .https_only(!policy.allows_loopback())
        .timeout(timeout)
        .connect_timeout(timeout)
        .pool_max_idle_per_host(32)
        .build()
        .context("building the Web Push HTTP client")
}

/// The policy's refusal somewhere in `error`'s causes: the resolver refused the host's addresses.
fn refusal(error: &reqwest::Error) -> Option<&Refusal> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if let Some(refusal) = e.downcast_ref::<Refusal>() {
            return Some(refusal);
        }
        cause = e.source();
    }
    None
}

/// Sends `request` and says how it went: 2xx sent, 404/410 gone, 408/425/429/5xx and network
/// trouble worth a retry, a refused address or any other answer (redirects included) never.
pub async fn post(client: &reqwest::Client, request: reqwest::Request) -> PushOutcome {
    let mut res = match client.execute(request).await {
        Ok(res) => res,
        Err(e) => {
            return match refusal(&e) {
                Some(refused) => PushOutcome::Permanent(format!("endpoint refused: {refused}")),
                None => PushOutcome::Transient(format!("push request failed: {e}")),
            };
        }
    };
    let status = res.status().as_u16();
    // Read a little of the answer, so that a short one leaves the connection reusable; a long
    // one is cut off (its connection closes) rather than read to the end.
    let mut read = 0;
    while read <= MAX_RESPONSE_BYTES {
        match res.chunk().await {
            Ok(Some(chunk)) => read += chunk.len(),
            Ok(None) | Err(_) => break,
        }
    }
    match status {
        200..=299 => PushOutcome::Sent,
        404 | 410 => PushOutcome::Gone(status),
        408 | 425 | 429 | 500..=599 => {
            PushOutcome::Transient(format!("push service answered {status}"))
        }
        300..=399 => PushOutcome::Permanent(format!(
            "push service answered {status} (redirects are not followed)"
        )),
        _ => PushOutcome::Permanent(format!("push service answered {status}")),
    }
}

#[cfg(test)]
mod tests;
