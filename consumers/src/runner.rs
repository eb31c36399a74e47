//! The runner every durable consumer shares: pulls messages in batches, hands a batch to the
//! consumer's handler, and decides each message's fate from the handler's outcome: ack after the
//! step committed, `nak` with exponential backoff on a transient failure, and after `max_deliver`
//! attempts (or at once on a permanent failure) a copy to the dead-letter stream with the error
//! before `term`. On shutdown it finishes the batch in hand, then stops pulling.
//!
//! Two stages run concurrently: applying batch N+1 (the database work) overlaps with batch N's
//! after-commit work (publishing its events and awaiting their PubAcks) and its acks. The second
//! stage takes batches in order, so events and acks keep the stream's order, and a message is
//! still acked only after its batch's events were acknowledged.
//!
//! While the database or another service the handler needs is unreachable the runner pulls
//! nothing and holds what failed (`outage.rs`), so an outage of any length dead-letters nothing.

mod outage;

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_nats::HeaderMap;
use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::consumer::pull::MessagesErrorKind;
use async_nats::jetstream::message::{AckKind, PublishMessage};
use async_nats::jetstream::{self, Message};
use bytes::Bytes;
use evently_schemas::Prefix;
use futures::StreamExt;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// One delivered message, as a handler sees it.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub subject: String,
    pub payload: Bytes,
    /// `Nats-Msg-Id` of the message, when it has one.
    pub message_id: Option<String>,
    /// How many times this message has been delivered, this time included.
    pub deliveries: i64,
    pub stream_sequence: u64,
    /// W3C `traceparent` of this message's step: a span per message, child of the context the
    /// message carried. Handlers put it on the events the message causes.
    pub traceparent: Option<String>,
}

/// What happened to one message of a batch.
#[derive(Debug)]
pub enum Outcome {
    /// The step is committed (or was already): ack.
    Done,
    /// Worth retrying later (database or NATS unavailable): `nak` with backoff.
    Retry(anyhow::Error),
    /// Will never succeed (undecodable, refers to nothing): dead-letter and `term`.
    Reject(anyhow::Error),
}

/// Work that must finish after a batch committed and before its messages are acked (publishing
/// the domain events and awaiting their PubAcks). When it fails, the batch's done messages are
/// retried instead of acked.
pub type AfterCommit = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'static>>;

/// What a handler made of a batch.
pub struct Step {
    /// One outcome per message, in order.
    pub outcomes: Vec<Outcome>,
    pub after_commit: Option<AfterCommit>,
}

impl Step {
    pub fn new(outcomes: Vec<Outcome>) -> Self {
        Self {
            outcomes,
            after_commit: None,
        }
    }
}

/// A durable consumer: its name (the durable's name in `nats/consumers`) and its batch step.
pub trait Handler: Send + Sync + 'static {
    fn name(&self) -> &'static str;

    /// Applies a batch (commits its effects) and says what to do with each message.
    fn handle(&self, batch: &[Incoming]) -> impl Future<Output = Step> + Send;

    /// Whether the services this handler needs besides the database (which the runner probes
    /// itself) answer now. While one does not, failed messages are held rather than retried.
    fn services_reachable(&self) -> impl Future<Output = bool> + Send {
        async { true }
    }
}

/// A batch that was applied, on its way to being settled.
struct Applied {
    messages: Vec<Message>,
    incoming: Vec<Incoming>,
    step: Step,
    started: Instant,
}

/// How a runner pulls and retries.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    pub prefix: Prefix,
    pub batch_size: usize,
    pub retry_base: Duration,
    /// The database the handler writes to. When a step fails and a probe cannot reach it, the
    /// runner pauses instead of naking (`outage.rs`); `None` naks every failure.
    pub database: Option<PgPool>,
}

/// Runs `handler` on its durable consumer until `shutdown` fires.
pub async fn run<H: Handler>(
    js: jetstream::Context,
    config: RunnerConfig,
    handler: H,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let name = handler.name();
    let (stream_name, _) = evently_runtime::nats::consumer_config(&config.prefix, name, None)?;
    let stream = js
        .get_stream(&stream_name)
        .await
        .with_context(|| format!("looking up stream {stream_name}"))?;
    let consumer: PullConsumer = stream.get_consumer(name).await.map_err(|e| {
        anyhow::anyhow!(
            "looking up consumer {name} on {stream_name} (run `evently nats apply`): {e}"
        )
    })?;
    let max_deliver = consumer.cached_info().config.max_deliver;
    let ack_wait = consumer.cached_info().config.ack_wait;
    let mut messages = Some(pull(&consumer, name, config.batch_size).await?);
    tracing::info!(consumer = name, stream = %stream_name, "consumer running");
    // At most two applied batches wait for their after-commit work: enough to overlap the stages.
    let (applied_tx, mut applied_rx) = tokio::sync::mpsc::channel::<Applied>(2);
    let batch_size = config.batch_size;
    let database = config.database.clone();
    let apply = async move {
        loop {
            let Some(stream) = messages.as_mut() else {
                match pull(&consumer, name, batch_size).await {
                    Ok(fresh) => messages = Some(fresh),
                    Err(e) => {
                        tracing::warn!(consumer = name, error = format!("{e:#}"), "pulling again");
                        tokio::select! {
                            _ = shutdown.cancelled() => break,
                            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        }
                    }
                }
                continue;
            };
            let chunk = tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                chunk = stream.next() => match chunk {
                    Some(chunk) => chunk,
                    None => break,
                },
            };
            let mut batch = Vec::with_capacity(chunk.len());
            let mut stalled = false;
            for item in chunk {
                match item {
                    Ok(message) => batch.push(message),
                    Err(e) => {
                        stalled |= e.kind() == MessagesErrorKind::MissingHeartbeat;
                        tracing::warn!(consumer = name, error = %e, "pull error; continuing");
                    }
                }
            }
            if stalled {
                // The server sent nothing, not even a heartbeat, for two heartbeat intervals: the
                // pull request is lost while the client still counts on it (it would wait for the
                // request to expire, 30 s). Start a fresh pull. Seen once under a long soak.
                metrics::counter!("evently_consumer_pull_restarts_total", "consumer" => name)
                    .increment(1);
                messages = None;
            }
            if batch.is_empty() {
                continue;
            }
            let mut applied = apply_batch(&handler, batch).await;
            while outage::has_retry(&applied.step)
                && !outage::reachable(&handler, database.as_ref()).await
            {
                // Stop pulling (what the dropped pull request had already sent comes back after
                // `ack_wait`), settle what was decided, hold what failed.
                messages = None;
                let (decided, held) = outage::split(applied);
                if applied_tx.send(decided).await.is_err()
                    || !outage::wait_until_reachable(
                        &handler,
                        database.as_ref(),
                        &held,
                        ack_wait,
                        &shutdown,
                    )
                    .await
                {
                    return;
                }
                applied = apply_batch(&handler, held).await;
            }
            if applied_tx.send(applied).await.is_err() {
                break;
            }
        }
    };
    let settle = async {
        while let Some(applied) = applied_rx.recv().await {
            settle_batch(&js, &config, name, max_deliver, applied).await;
        }
    };
    // Both stages in this task: stopping (or aborting) it stops both.
    tokio::join!(apply, settle);
    tracing::info!(consumer = name, "consumer stopped");
    Ok(())
}

/// Before a newly active instance of a single-instance consumer pulls: when the previous holder
/// left messages delivered but unacknowledged (it crashed), waits one `ack_wait` so that the
/// server redelivers them first (redeliveries go before new messages), keeping stream order.
pub async fn await_previous_holder(
    js: &jetstream::Context,
    prefix: &Prefix,
    name: &str,
    stop: &CancellationToken,
) -> anyhow::Result<()> {
    let (stream_name, _) = evently_runtime::nats::consumer_config(prefix, name, None)?;
    let mut consumer: PullConsumer = js
        .get_stream(&stream_name)
        .await
        .with_context(|| format!("looking up stream {stream_name}"))?
        .get_consumer(name)
        .await
        .map_err(|e| anyhow::anyhow!("looking up consumer {name}: {e}"))?;
    let info = consumer
        .info()
        .await
        .map_err(|e| anyhow::anyhow!("reading consumer {name}: {e}"))?;
    if info.num_ack_pending > 0 {
        let wait = info.config.ack_wait;
        tracing::info!(
            consumer = name,
            unacknowledged = info.num_ack_pending,
            wait_secs = wait.as_secs_f64(),
            "the previous instance left messages unacknowledged; waiting for their redelivery"
        );
        tokio::select! {
            _ = stop.cancelled() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
    Ok(())
}

/// The consumer's messages, `batch_size` at a time at most, from pull requests of twice that, each
/// alive for 30 s with a heartbeat every 5 s.
async fn pull(
    consumer: &PullConsumer,
    name: &str,
    batch_size: usize,
) -> anyhow::Result<futures::stream::ReadyChunks<jetstream::consumer::pull::Stream>> {
    Ok(consumer
        .stream()
        .max_messages_per_batch(batch_size * 2)
        .heartbeat(Duration::from_secs(5))
        .expires(Duration::from_secs(30))
        .messages()
        .await
        .with_context(|| format!("pulling from consumer {name}"))?
        .ready_chunks(batch_size))
}

/// Hands one batch to the handler.
async fn apply_batch<H: Handler>(handler: &H, messages: Vec<Message>) -> Applied {
    let name = handler.name();
    let started = Instant::now();
    let incoming: Vec<Incoming> = messages.iter().map(incoming).collect();
    metrics::histogram!("evently_consumer_batch_size", "consumer" => name)
        .record(incoming.len() as f64);
    let redelivered = incoming.iter().filter(|i| i.deliveries > 1).count();
    if redelivered > 0 {
        metrics::counter!("evently_consumer_redeliveries_total", "consumer" => name)
            .increment(redelivered as u64);
    }
    let span = tracing::info_span!(
        "batch",
        consumer = name,
        size = incoming.len(),
        first_seq = incoming.first().map(|i| i.stream_sequence)
    );
    let mut incoming = incoming;
    let message_spans = message_spans(&span, name, &mut incoming);
    let step = tracing::Instrument::instrument(handler.handle(&incoming), span).await;
    drop(message_spans);
    Applied {
        messages,
        incoming,
        step,
        started,
    }
}

/// One span per message that carries a trace context, under the batch's span, so that the trace
/// of the request that sent it continues here; each message then carries its span's context.
/// Without an exporter nobody sees those spans (a span per message was about a tenth of the
/// process's CPU in a flash sale): each message gets a child context instead, the request's trace
/// id with a span id of its own, and no span is made.
fn message_spans(
    batch: &tracing::Span,
    name: &str,
    incoming: &mut [Incoming],
) -> Vec<tracing::Span> {
    if !evently_runtime::telemetry::exporting() {
        for message in incoming.iter_mut() {
            if let Some(child) = message
                .traceparent
                .as_deref()
                .and_then(evently_runtime::trace_context::child_of)
            {
                message.traceparent = Some(child);
            }
        }
        return Vec::new();
    }
    incoming
        .iter_mut()
        .filter_map(|message| {
            let parent = message.traceparent.take()?;
            let span = tracing::info_span!(
                parent: batch,
                "message",
                consumer = name,
                seq = message.stream_sequence,
                message_id = message.message_id.as_deref(),
                trace_id = evently_runtime::trace_context::trace_id_of(&parent),
            );
            evently_runtime::trace_context::set_parent(&span, &parent);
            message.traceparent =
                evently_runtime::trace_context::traceparent_of(&span).or(Some(parent));
            Some(span)
        })
        .collect()
}

/// Runs a batch's after-commit work, then settles every message.
async fn settle_batch(
    js: &jetstream::Context,
    config: &RunnerConfig,
    name: &'static str,
    max_deliver: i64,
    applied: Applied,
) {
    let Applied {
        messages,
        incoming,
        step,
        started,
    } = applied;
    let after = match step.after_commit {
        Some(work) => work.await.map_err(|e| format!("{e:#}")),
        None => Ok(()),
    };
    let mut outcomes = step.outcomes.into_iter();
    for (message, info) in messages.iter().zip(&incoming) {
        let outcome = match (outcomes.next(), &after) {
            (Some(Outcome::Done), Err(e)) => Outcome::Retry(anyhow::anyhow!("after commit: {e}")),
            (Some(outcome), _) => outcome,
            (None, _) => Outcome::Retry(anyhow::anyhow!(
                "the handler gave no outcome for this message"
            )),
        };
        settle(js, config, name, max_deliver, message, info, outcome).await;
    }
    metrics::histogram!("evently_consumer_batch_duration_seconds", "consumer" => name)
        .record(started.elapsed().as_secs_f64());
}

/// What a handler sees of a delivered message (also used to replay a stream through a handler).
pub fn incoming(message: &Message) -> Incoming {
    let (deliveries, stream_sequence) = message
        .info()
        .map(|i| (i.delivered, i.stream_sequence))
        .unwrap_or((1, 0));
    Incoming {
        subject: message.subject.to_string(),
        payload: message.payload.clone(),
        message_id: message
            .headers
            .as_ref()
            .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
            .map(|v| v.as_str().to_owned()),
        deliveries,
        stream_sequence,
        traceparent: evently_runtime::trace_context::from_headers(message.headers.as_ref()),
    }
}

/// The delay before redelivering a message that failed `deliveries` times: doubling from
/// `base`, at most a minute.
pub fn backoff(base: Duration, deliveries: i64) -> Duration {
    let exponent = u32::try_from(deliveries.saturating_sub(1).clamp(0, 16)).unwrap_or(16);
    base.saturating_mul(2u32.saturating_pow(exponent))
        .min(Duration::from_secs(60))
}

async fn settle(
    js: &jetstream::Context,
    config: &RunnerConfig,
    name: &'static str,
    max_deliver: i64,
    message: &Message,
    info: &Incoming,
    outcome: Outcome,
) {
    let (result, label) = match outcome {
        Outcome::Done => (message.ack().await, "done"),
        Outcome::Retry(error) if max_deliver <= 0 || info.deliveries < max_deliver => {
            let delay = backoff(config.retry_base, info.deliveries);
            tracing::warn!(
                consumer = name,
                seq = info.stream_sequence,
                deliveries = info.deliveries,
                error = format!("{error:#}"),
                "transient failure; retrying"
            );
            (message.ack_with(AckKind::Nak(Some(delay))).await, "retried")
        }
        Outcome::Retry(error) | Outcome::Reject(error) => {
            match dead_letter(js, &config.prefix, name, message, info, &error).await {
                Ok(()) => {
                    tracing::error!(
                        consumer = name,
                        seq = info.stream_sequence,
                        error = format!("{error:#}"),
                        "dead-lettered"
                    );
                    (message.ack_with(AckKind::Term).await, "dead_lettered")
                }
                Err(dlq_error) => {
                    tracing::error!(
                        consumer = name,
                        error = format!("{dlq_error:#}"),
                        "could not dead-letter; retrying"
                    );
                    let delay = backoff(config.retry_base, info.deliveries);
                    (message.ack_with(AckKind::Nak(Some(delay))).await, "retried")
                }
            }
        }
    };
    metrics::counter!("evently_consumer_messages_total", "consumer" => name, "outcome" => label)
        .increment(1);
    if let Err(e) = result {
        tracing::warn!(consumer = name, seq = info.stream_sequence, error = %e, "settling a message failed; it will be redelivered");
    }
}

/// Copies a message to `<prefix>.dlq.<consumer>` with the error and its origin in headers, and
/// waits for the PubAck.
async fn dead_letter(
    js: &jetstream::Context,
    prefix: &Prefix,
    consumer: &str,
    message: &Message,
    info: &Incoming,
    error: &anyhow::Error,
) -> anyhow::Result<()> {
    let mut headers = HeaderMap::new();
    let error_text: String = format!("{error:#}")
        .chars()
        .filter(|c| !c.is_control())
        .take(1000)
        .collect();
    headers.insert("Evently-Error", error_text.as_str());
    headers.insert("Evently-Consumer", consumer);
    headers.insert("Evently-Subject", info.subject.as_str());
    headers.insert(
        "Evently-Stream-Sequence",
        info.stream_sequence.to_string().as_str(),
    );
    headers.insert("Evently-Deliveries", info.deliveries.to_string().as_str());
    if let Some(id) = &info.message_id {
        headers.insert("Evently-Message-Id", id.as_str());
    }
    evently_runtime::trace_context::insert_header(&mut headers, info.traceparent.as_deref());
    js.send_publish(
        prefix.dlq(consumer),
        PublishMessage::build()
            .payload(message.payload.clone())
            .headers(headers)
            .message_id(format!("{consumer}.{}", info.stream_sequence)),
    )
    .await
    .context("publishing a dead letter")?
    .await
    .context("awaiting the dead letter's PubAck")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = Duration::from_millis(500);
        assert_eq!(backoff(base, 1), Duration::from_millis(500));
        assert_eq!(backoff(base, 2), Duration::from_secs(1));
        assert_eq!(backoff(base, 4), Duration::from_secs(4));
        assert_eq!(backoff(base, 40), Duration::from_secs(60));
    }
}
