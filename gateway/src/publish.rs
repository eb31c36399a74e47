//! Publishing commands to JetStream: the command id becomes `Nats-Msg-Id`, and the caller learns
//! only after the stream's PubAck. NATS unreachable is a 503, never a 500.

use async_nats::connection::State;
use async_nats::jetstream::context::PublishAckFuture;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::publish::PublishAck;
use evently_schemas::BookingCommand;

use crate::error::ApiError;
use crate::state::AppState;

const BROKER: &str = "the message broker";

/// Publishes a booking command on its subject and waits for the PubAck.
pub async fn publish_booking_command(
    state: &AppState,
    command: &BookingCommand,
) -> Result<PublishAck, ApiError> {
    let subject = state.prefix.command(command);
    let payload = serde_json::to_vec(command)
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("encoding a command")))?;
    if state.nats.connection_state() != State::Connected {
        return Err(ApiError::Unavailable { service: BROKER });
    }
    let started = std::time::Instant::now();
    let ack: PublishAckFuture = state
        .js
        .send_publish(
            subject,
            traced(
                PublishMessage::build()
                    .payload(payload.into())
                    .message_id(command.command_id()),
            ),
        )
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "publishing a command failed");
            ApiError::Unavailable { service: BROKER }
        })?;
    let ack = ack.await.map_err(|e| {
        tracing::warn!(error = %e, "no PubAck for a command");
        ApiError::Unavailable { service: BROKER }
    })?;
    metrics::histogram!("evently_publish_duration_seconds").record(started.elapsed().as_secs_f64());
    Ok(ack)
}

/// Adds the current span's `traceparent` to a message, so the trace continues in the consumer.
pub fn traced(message: PublishMessage) -> PublishMessage {
    match evently_runtime::trace_context::current_traceparent() {
        Some(tp) => message.header(evently_runtime::trace_context::TRACEPARENT, tp.as_str()),
        None => message,
    }
}
