//! Publishing what a step caused, after its commit: a JSON message with its deterministic
//! `Nats-Msg-Id` (so a re-publish after a redelivery is dropped by the stream's duplicate window)
//! and the `traceparent` of the message that caused it (so the trace continues downstream). Every
//! consumer publishes through here; the caller awaits the PubAck before acking its input.

use anyhow::Context as _;
use async_nats::jetstream::{self, context::PublishAckFuture, message::PublishMessage};

/// Publishes `message` as JSON on `subject` with id `id`; returns the PubAck future.
pub async fn send<T: serde::Serialize>(
    js: &jetstream::Context,
    subject: String,
    message: &T,
    id: String,
    traceparent: Option<&str>,
) -> anyhow::Result<PublishAckFuture> {
    let payload = serde_json::to_vec(message).context("encoding a message")?;
    let mut build = PublishMessage::build()
        .payload(payload.into())
        .message_id(id);
    if let Some(tp) = traceparent {
        build = build.header(evently_runtime::trace_context::TRACEPARENT, tp);
    }
    js.send_publish(subject.clone(), build)
        .await
        .with_context(|| format!("publishing on {subject}"))
}
