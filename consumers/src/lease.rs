//! One active instance of a consumer among any number started: a lease held in a NATS key-value
//! bucket. The `reservations` consumer decides bookings in stream order only while one instance
//! pulls (two instances' batches for one event could reach the row lock in either order), so every
//! instance races to create the lease key; the winner pulls and renews the key, the others wait
//! and take over when the key is deleted (a graceful stop) or expires (a crash: the bucket's
//! `max_age` is the lease's time to live). An instance that cannot renew stops pulling after the
//! batch in hand.

use std::future::Future;
use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::{self, kv};
use evently_schemas::Prefix;
use tokio_util::sync::CancellationToken;

/// The bucket of `prefix`'s leases, created (or brought to `ttl`) when missing.
pub async fn bucket(
    js: &jetstream::Context,
    prefix: &Prefix,
    replicas: usize,
    ttl: Duration,
) -> anyhow::Result<kv::Store> {
    let name = format!("{}_LEASES", prefix.stream_prefix());
    js.create_or_update_key_value(kv::Config {
        bucket: name.clone(),
        description: "Evently: which instance runs a single-instance consumer".into(),
        history: 1,
        max_age: ttl,
        num_replicas: replicas,
        ..Default::default()
    })
    .await
    .with_context(|| format!("creating the key-value bucket {name}"))
}

/// Runs `work` (given a token that is cancelled when the lease is lost or `shutdown` fires) each
/// time this instance holds the lease `key`, until `shutdown`. `holder` names this instance in the
/// key's value (what an operator sees with `nats kv get`).
pub async fn run_as_holder<F, Fut>(
    store: kv::Store,
    key: &str,
    holder: String,
    ttl: Duration,
    shutdown: CancellationToken,
    mut work: F,
) -> anyhow::Result<()>
where
    F: FnMut(CancellationToken) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let renew_every = ttl / 3;
    let mut announced_waiting = false;
    while !shutdown.is_cancelled() {
        let mut revision = match store.create(key, holder.clone().into()).await {
            Ok(revision) => revision,
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {
                if !announced_waiting {
                    tracing::info!(key, holder, "another instance holds the lease; standing by");
                    announced_waiting = true;
                }
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(renew_every) => continue,
                }
            }
            Err(e) => {
                tracing::warn!(key, error = %e, "acquiring the lease");
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        announced_waiting = false;
        tracing::info!(key, holder, "lease acquired; this instance is active");
        metrics::gauge!("evently_lease_held", "key" => key.to_owned()).set(1.0);
        let term = shutdown.child_token();
        let renew = async {
            // A failed renewal is retried (NATS may be electing a leader) until two thirds of the
            // time to live have passed since the last good one: then this instance stops, before
            // the key can expire and another instance can take it.
            let mut renewed = tokio::time::Instant::now();
            loop {
                let wait = if renewed.elapsed() < renew_every {
                    renew_every - renewed.elapsed()
                } else {
                    Duration::from_millis(250)
                };
                tokio::time::sleep(wait).await;
                match store.update(key, holder.clone().into(), revision).await {
                    Ok(next) => {
                        revision = next;
                        renewed = tokio::time::Instant::now();
                    }
                    Err(e) if renewed.elapsed() >= renew_every * 2 => {
                        tracing::warn!(key, error = %e, "lease lost; stopping after the batch in hand");
                        return;
                    }
                    Err(e) => tracing::debug!(key, error = %e, "renewing the lease; retrying"),
                }
            }
        };
        let worked = {
            let work = work(term.clone());
            tokio::pin!(work);
            tokio::select! {
                result = &mut work => result,
                _ = renew => {
                    term.cancel();
                    work.await
                }
            }
        };
        metrics::gauge!("evently_lease_held", "key" => key.to_owned()).set(0.0);
        if shutdown.is_cancelled() || worked.is_err() {
            // Hand over at once rather than after the time to live (only if still ours).
            if let Err(e) = store.delete_expect_revision(key, Some(revision)).await {
                tracing::debug!(key, error = %e, "releasing the lease");
            }
        }
        if let Err(e) = worked {
            // Starting to pull can fail while NATS fails over: try again (as holder or standby).
            tracing::warn!(
                key,
                error = format!("{e:#}"),
                "the leased work failed; retrying"
            );
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
    Ok(())
}
