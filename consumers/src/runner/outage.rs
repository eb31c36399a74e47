//! What a runner does while a service its handler needs is unreachable (the database, or one the
//! handler names, such as the SMTP server): it stops pulling and holds the messages whose step
//! failed, keeping them from being redelivered (a progress ack before `ack_wait` runs out), until
//! a probe reaches everything again; then it applies them again. JetStream
//! counts a delivery each time it sends a message, so naking through an outage would spend a
//! message's `max_deliver` on the outage and dead-letter it; holding costs none. Only a step that
//! fails while everything it needs answers counts as a failed delivery.

use std::time::{Duration, Instant};

use async_nats::jetstream::Message;
use async_nats::jetstream::message::AckKind;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::{Applied, Handler, Outcome, Step};

/// How often a paused runner probes the database.
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// How long one probe may take before the database counts as unreachable.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Whether the database (when the runner has one) answers a trivial query now, and the
/// handler's other services answer too.
pub(super) async fn reachable<H: Handler>(handler: &H, database: Option<&PgPool>) -> bool {
    if let Some(pool) = database {
        let probe = tokio::time::timeout(PROBE_TIMEOUT, sqlx::query("SELECT 1").execute(pool));
        if !matches!(probe.await, Ok(Ok(_))) {
            return false;
        }
    }
    tokio::time::timeout(PROBE_TIMEOUT, handler.services_reachable())
        .await
        .unwrap_or(false)
}

/// Whether any message of the step is to be retried.
pub(super) fn has_retry(step: &Step) -> bool {
    step.outcomes.iter().any(|o| matches!(o, Outcome::Retry(_)))
}

/// Splits an applied batch into what can be settled now (done and rejected messages, with the
/// batch's after-commit work, which belongs to what was committed) and the messages to hold.
pub(super) fn split(applied: Applied) -> (Applied, Vec<Message>) {
    let Applied {
        messages,
        incoming,
        step,
        started,
    } = applied;
    let mut settle = Applied {
        messages: Vec::new(),
        incoming: Vec::new(),
        step: Step {
            outcomes: Vec::new(),
            after_commit: step.after_commit,
        },
        started,
    };
    let mut held = Vec::new();
    let mut outcomes = step.outcomes.into_iter();
    for (message, info) in messages.into_iter().zip(incoming) {
        match outcomes.next() {
            Some(Outcome::Retry(_)) | None => held.push(message),
            Some(outcome) => {
                settle.messages.push(message);
                settle.incoming.push(info);
                settle.step.outcomes.push(outcome);
            }
        }
    }
    (settle, held)
}

/// Waits until everything the handler needs is reachable, keeping `held` from being redelivered
/// meanwhile. `false` when `shutdown` fired first (the held messages are then redelivered to
/// whoever pulls next, once their `ack_wait` runs out).
pub(super) async fn wait_until_reachable<H: Handler>(
    handler: &H,
    database: Option<&PgPool>,
    held: &[Message],
    ack_wait: Duration,
    shutdown: &CancellationToken,
) -> bool {
    let name = handler.name();
    let since = Instant::now();
    tracing::warn!(
        consumer = name,
        held = held.len(),
        "a service this consumer needs is unreachable: pulling nothing and holding the failed messages until it is back"
    );
    metrics::gauge!("evently_consumer_paused", "consumer" => name).set(1.0);
    // A progress ack resets a message's `ack_wait`; send one well before it runs out.
    let refresh = (ack_wait / 3).max(Duration::from_secs(1));
    let mut refreshed = Instant::now();
    let back = loop {
        tokio::select! {
            _ = shutdown.cancelled() => break false,
            _ = tokio::time::sleep(PROBE_EVERY) => {}
        }
        if refreshed.elapsed() >= refresh {
            for message in held {
                if let Err(e) = message.ack_with(AckKind::Progress).await {
                    tracing::warn!(consumer = name, error = %e, "keeping a held message");
                }
            }
            refreshed = Instant::now();
        }
        if reachable(handler, database).await {
            break true;
        }
    };
    metrics::gauge!("evently_consumer_paused", "consumer" => name).set(0.0);
    if back {
        tracing::info!(
            consumer = name,
            paused_secs = since.elapsed().as_secs_f64(),
            "reachable again: applying the held messages, then pulling again"
        );
    }
    back
}
