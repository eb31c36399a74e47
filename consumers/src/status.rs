//! What JetStream says about Evently's streams and durable consumers: messages per stream, and per
//! consumer the backlog (`pending`), the messages delivered but not yet acknowledged
//! (`ack_pending`) and the redeliveries. One reading serves `evently nats status` and the
//! Prometheus gauges that a background task refreshes (consumer lag, dead-letter count), so an
//! operator sees the same figures in both places.

use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream;
use evently_schemas::Prefix;
use futures::TryStreamExt;
use tokio_util::sync::CancellationToken;

/// One stream's state.
#[derive(Debug, Clone)]
pub struct StreamStatus {
    pub name: String,
    pub subjects: Vec<String>,
    pub messages: u64,
    pub bytes: u64,
    pub replicas: usize,
    pub consumers: Vec<ConsumerStatus>,
}

/// One durable consumer's state.
#[derive(Debug, Clone)]
pub struct ConsumerStatus {
    pub name: String,
    /// Messages in the stream that match the filter and were not delivered yet: the lag.
    pub pending: u64,
    /// Delivered, not yet acknowledged (being processed, or lost with a crashed instance until
    /// `ack_wait` passes).
    pub ack_pending: usize,
    /// Messages delivered more than once.
    pub redelivered: usize,
    /// Pull requests waiting: how many instances ask for work.
    pub waiting: usize,
}

/// Reads every stream of `prefix` (`<PREFIX>_CMD`, `_EVT`, `_NTF`, `_DLQ`) and its consumers.
pub async fn read(js: &jetstream::Context, prefix: &Prefix) -> anyhow::Result<Vec<StreamStatus>> {
    let mut out = Vec::new();
    for name in [
        prefix.cmd_stream(),
        prefix.evt_stream(),
        prefix.ntf_stream(),
        prefix.dlq_stream(),
    ] {
        let mut stream = js
            .get_stream(&name)
            .await
            .with_context(|| format!("looking up stream {name} (run `evently nats apply`)"))?;
        let info = stream
            .info()
            .await
            .with_context(|| format!("reading stream {name}"))?
            .clone();
        let consumers: Vec<_> = stream
            .consumers()
            .try_collect()
            .await
            .with_context(|| format!("listing the consumers of {name}"))?;
        let mut consumers: Vec<ConsumerStatus> = consumers
            .into_iter()
            .filter_map(|c| {
                // Ephemeral consumers (a `nats sub`, a test's counter) have no durable name.
                Some(ConsumerStatus {
                    name: c.config.durable_name.clone()?,
                    pending: c.num_pending,
                    ack_pending: c.num_ack_pending,
                    redelivered: c.num_redelivered,
                    waiting: c.num_waiting,
                })
            })
            .collect();
        consumers.sort_by(|a, b| a.name.cmp(&b.name));
        out.push(StreamStatus {
            name,
            subjects: info.config.subjects.clone(),
            messages: info.state.messages,
            bytes: info.state.bytes,
            replicas: info.config.num_replicas,
            consumers,
        });
    }
    Ok(out)
}

/// The status as a table for a terminal.
pub fn render(streams: &[StreamStatus]) -> String {
    let mut text = String::new();
    text.push_str(&format!(
        "{:<24} {:>12} {:>14} {:>8}  subjects\n",
        "stream", "messages", "bytes", "replicas"
    ));
    for s in streams {
        text.push_str(&format!(
            "{:<24} {:>12} {:>14} {:>8}  {}\n",
            s.name,
            s.messages,
            s.bytes,
            s.replicas,
            s.subjects.join(" ")
        ));
    }
    text.push_str(&format!(
        "\n{:<24} {:<16} {:>10} {:>12} {:>12} {:>8}\n",
        "stream", "consumer", "pending", "ack_pending", "redelivered", "waiting"
    ));
    for s in streams {
        for c in &s.consumers {
            text.push_str(&format!(
                "{:<24} {:<16} {:>10} {:>12} {:>12} {:>8}\n",
                s.name, c.name, c.pending, c.ack_pending, c.redelivered, c.waiting
            ));
        }
    }
    text
}

/// Sets the gauges from one reading.
fn record(streams: &[StreamStatus], prefix: &Prefix) {
    for s in streams {
        metrics::gauge!("evently_stream_messages", "stream" => s.name.clone())
            .set(s.messages as f64);
        if s.name == prefix.dlq_stream() {
            metrics::gauge!("evently_dlq_messages").set(s.messages as f64);
        }
        for c in &s.consumers {
            let labels = [("consumer", c.name.clone())];
            metrics::gauge!("evently_consumer_pending", &labels).set(c.pending as f64);
            metrics::gauge!("evently_consumer_ack_pending", &labels).set(c.ack_pending as f64);
            metrics::gauge!("evently_consumer_redelivered", &labels).set(c.redelivered as f64);
        }
    }
}

/// Refreshes the JetStream gauges every `every` until `shutdown`.
pub async fn watch(
    js: jetstream::Context,
    prefix: Prefix,
    every: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tick.tick() => {}
        }
        match read(&js, &prefix).await {
            Ok(streams) => record(&streams, &prefix),
            Err(e) => tracing::debug!(error = format!("{e:#}"), "reading JetStream status"),
        }
    }
}

/// Sets the database pool gauges (connections in use and idle) every `every` until `shutdown`.
pub async fn watch_pool(
    pool: sqlx::PgPool,
    every: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tick.tick() => {}
        }
        let size = pool.size() as f64;
        let idle = pool.num_idle() as f64;
        metrics::gauge!("evently_db_pool_connections", "state" => "idle").set(idle);
        metrics::gauge!("evently_db_pool_connections", "state" => "in_use").set(size - idle);
        metrics::gauge!("evently_db_pool_max_connections")
            .set(f64::from(pool.options().get_max_connections()));
    }
}
