//! The transactional outbox's rows (table `outbox`, `migrations/0011_outbox.sql`): a message the
//! pipeline must get because of something the gateway wrote itself, written in that write's
//! transaction; the gateway publishes it after the commit (`gateway/src/outbox.rs`) and the
//! sweeper publishes what is left (`consumers/src/sweeper.rs`), both as [`OutboxRow::message`].

use async_nats::jetstream::message::PublishMessage;

/// One message waiting to be published.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub subject: String,
    pub message_id: String,
    pub payload: Vec<u8>,
    pub traceparent: Option<String>,
}

impl OutboxRow {
    /// Writes a row in `tx` (the transaction of what caused the message).
    pub async fn insert(
        tx: &mut sqlx::PgConnection,
        subject: String,
        message_id: String,
        payload: Vec<u8>,
        traceparent: Option<String>,
    ) -> sqlx::Result<Self> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO outbox (subject, message_id, payload, traceparent) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(&subject)
        .bind(&message_id)
        .bind(&payload)
        .bind(&traceparent)
        .fetch_one(&mut *tx)
        .await?;
        Ok(Self {
            id,
            subject,
            message_id,
            payload,
            traceparent,
        })
    }

    /// The message to publish: its payload, its `Nats-Msg-Id` (so every copy but the first is
    /// dropped by the stream) and the `traceparent` of the request that caused it.
    pub fn message(&self) -> PublishMessage {
        let mut headers = async_nats::HeaderMap::new();
        crate::trace_context::insert_header(&mut headers, self.traceparent.as_deref());
        PublishMessage::build()
            .payload(self.payload.clone().into())
            .headers(headers)
            .message_id(self.message_id.as_str())
    }
}
