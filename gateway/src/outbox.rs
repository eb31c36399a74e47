//! The gateway's transactional outbox: a message the pipeline must get because of something the
//! gateway wrote itself (a check-in, an account deletion's cancellations) is written to `outbox`
//! in the same transaction as the write, published after the commit, and its row deleted on the
//! PubAck. A row left behind (NATS away, the gateway killed) is published by the sweeper
//! (`consumers/src/sweeper.rs`), with the same `Nats-Msg-Id`, so the stream keeps one copy.

use evently_runtime::outbox::OutboxRow;

use crate::error::ApiError;
use crate::state::SharedState;

/// Writes `message` (as JSON) for `subject` with id `message_id` to the outbox, in `tx`.
pub async fn enqueue<T: serde::Serialize>(
    tx: &mut sqlx::PgConnection,
    subject: String,
    message_id: String,
    message: &T,
) -> Result<OutboxRow, ApiError> {
    let payload = serde_json::to_vec(message)
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("encoding a message")))?;
    let traceparent = evently_runtime::trace_context::current_traceparent();
    Ok(OutboxRow::insert(tx, subject, message_id, payload, traceparent).await?)
}

/// Publishes committed rows in the background (the caller does not wait on the broker): each is
/// deleted once JetStream acknowledged it; a failure is logged and left to the sweeper.
pub fn publish_after_commit(state: &SharedState, rows: Vec<OutboxRow>) {
    if rows.is_empty() {
        return;
    }
    tokio::spawn(publish(state.clone(), rows));
}

async fn publish(state: SharedState, rows: Vec<OutboxRow>) {
    for row in rows {
        let acked = match state
            .js
            .send_publish(row.subject.clone(), row.message())
            .await
        {
            Ok(ack) => ack.await.map(|_| ()).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(error) = acked {
            tracing::warn!(
                message_id = row.message_id,
                error,
                "outbox row not published yet; the sweeper will"
            );
            continue;
        }
        if let Err(e) = sqlx::query("DELETE FROM outbox WHERE id = $1")
            .bind(row.id)
            .execute(&state.pool)
            .await
        {
            tracing::warn!(error = %e, "deleting a published outbox row; the sweeper publishes it again (a copy the stream drops)");
        }
    }
}
