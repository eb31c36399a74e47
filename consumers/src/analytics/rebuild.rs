//! `evently analytics rebuild`: empties the roll-ups and the analytics inbox in one transaction,
//! then replays `EVENTLY_EVT` from its first message through the same handler the live consumer
//! uses, with an ordered ephemeral consumer, up to the stream's last message at the time of the
//! truncation.
//!
//! The live `analytics` durable may keep running: every event is applied at most once because
//! the inbox row and the roll-up increments commit together. An event the live consumer applied
//! before the truncation is wiped with it and replayed here; one it applies afterwards leaves an
//! inbox row, so the replay skips it (and vice versa). The roll-up rules do not depend on the
//! order events arrive in, so the two readers interleaving gives the same numbers.

use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::{self, consumer::DeliverPolicy, consumer::pull::OrderedConfig};
use evently_schemas::Prefix;
use futures::StreamExt;
use sqlx::PgPool;

use super::{Analytics, NAME, store};
use crate::runner::{Handler, Outcome};

/// What a rebuild did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Rebuilt {
    /// Messages read from the stream.
    pub messages: u64,
    /// Messages that could not be decoded (skipped; the live consumer dead-letters them).
    pub skipped: u64,
    /// The stream sequence the replay stopped at.
    pub last_sequence: u64,
}

/// Truncates the roll-ups and replays the event stream into them, `batch_size` events per
/// transaction.
pub async fn rebuild(
    js: &jetstream::Context,
    pool: &PgPool,
    prefix: &Prefix,
    batch_size: usize,
) -> anyhow::Result<Rebuilt> {
    store::truncate(pool, NAME).await?;
    let stream_name = prefix.evt_stream();
    let mut stream = js
        .get_stream(&stream_name)
        .await
        .with_context(|| format!("looking up stream {stream_name}"))?;
    let info = stream
        .info()
        .await
        .with_context(|| format!("reading stream {stream_name}"))?;
    let last = info.state.last_sequence;
    let mut rebuilt = Rebuilt {
        last_sequence: last,
        ..Rebuilt::default()
    };
    if info.state.messages == 0 {
        return Ok(rebuilt);
    }
    let mut messages = stream
        .create_consumer(OrderedConfig {
            // Every subject: the stream holds domain events only (`notification.sent` is in
            // `EVENTLY_NTF`).
            deliver_policy: DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .context("creating the replay consumer")?
        .messages()
        .await
        .context("reading the event stream")?
        .ready_chunks(batch_size.max(1));
    let handler = Analytics::new(pool.clone(), prefix.clone(), None);
    let mut done = false;
    while !done {
        let chunk = tokio::time::timeout(Duration::from_secs(30), messages.next())
            .await
            .context("the event stream stopped delivering during the replay")?
            .context("the replay consumer ended early")?;
        let mut batch = Vec::with_capacity(chunk.len());
        for item in chunk {
            let message = item.context("reading the event stream")?;
            let Ok(info) = message.info() else { continue };
            let sequence = info.stream_sequence;
            if sequence > last {
                done = true;
                break;
            }
            done = sequence >= last;
            batch.push(crate::runner::incoming(&message));
        }
        rebuilt.messages += batch.len() as u64;
        for outcome in handler.handle(&batch).await.outcomes {
            match outcome {
                Outcome::Done => {}
                Outcome::Reject(e) => {
                    rebuilt.skipped += 1;
                    tracing::warn!(error = format!("{e:#}"), "skipping an undecodable event");
                }
                Outcome::Retry(e) => return Err(e.context("applying a replayed batch")),
            }
        }
    }
    tracing::info!(
        messages = rebuilt.messages,
        skipped = rebuilt.skipped,
        "analytics rebuilt"
    );
    Ok(rebuilt)
}
