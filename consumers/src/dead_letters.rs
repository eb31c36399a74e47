//! Dead letters: what the runner gave up on, kept in `EVENTLY_DLQ` with the error and the message's
//! origin in headers. `evently dlq list` shows them; `evently dlq replay` publishes one back to its
//! original subject (with a new message id, so that the duplicate window does not drop it) and
//! removes it from the dead-letter stream. A replayed command is applied normally: the consumer
//! did not record a refused command as done.

use anyhow::Context as _;
use async_nats::jetstream::{self, message::PublishMessage};
use evently_schemas::Prefix;

/// One dead letter.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub sequence: u64,
    pub consumer: String,
    pub subject: String,
    pub error: String,
    pub deliveries: String,
    pub message_id: Option<String>,
    pub payload: bytes::Bytes,
}

fn header(headers: &async_nats::HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .map(|v| v.as_str().to_owned())
        .unwrap_or_default()
}

impl DeadLetter {
    fn from_message(sequence: u64, message: jetstream::message::StreamMessage) -> Self {
        Self {
            sequence,
            consumer: header(&message.headers, "Evently-Consumer"),
            subject: header(&message.headers, "Evently-Subject"),
            error: header(&message.headers, "Evently-Error"),
            deliveries: header(&message.headers, "Evently-Deliveries"),
            message_id: message
                .headers
                .get("Evently-Message-Id")
                .map(|v| v.as_str().to_owned()),
            payload: message.payload,
        }
    }
}

/// Up to `limit` dead letters, oldest first.
pub async fn list(
    js: &jetstream::Context,
    prefix: &Prefix,
    limit: usize,
) -> anyhow::Result<Vec<DeadLetter>> {
    let mut stream = js
        .get_stream(prefix.dlq_stream())
        .await
        .context("opening the dead-letter stream")?;
    let state = stream
        .info()
        .await
        .context("reading the dead-letter stream")?
        .state
        .clone();
    let mut found = Vec::new();
    if state.messages == 0 {
        return Ok(found);
    }
    for sequence in state.first_sequence..=state.last_sequence {
        if found.len() >= limit {
            break;
        }
        // Deleted (replayed) sequences leave gaps.
        let Ok(message) = stream.get_raw_message(sequence).await else {
            continue;
        };
        found.push(DeadLetter::from_message(sequence, message));
    }
    Ok(found)
}

/// One dead letter by its sequence in the dead-letter stream.
pub async fn show(
    js: &jetstream::Context,
    prefix: &Prefix,
    sequence: u64,
) -> anyhow::Result<DeadLetter> {
    let stream = js
        .get_stream(prefix.dlq_stream())
        .await
        .context("opening the dead-letter stream")?;
    let message = stream
        .get_raw_message(sequence)
        .await
        .with_context(|| format!("no dead letter with sequence {sequence}"))?;
    Ok(DeadLetter::from_message(sequence, message))
}

/// Removes the given dead letters, or every one when `all`; returns how many went.
pub async fn purge(
    js: &jetstream::Context,
    prefix: &Prefix,
    sequences: &[u64],
    all: bool,
) -> anyhow::Result<u64> {
    let stream = js
        .get_stream(prefix.dlq_stream())
        .await
        .context("opening the dead-letter stream")?;
    if all {
        let purged = stream.purge().await.context("purging the dead letters")?;
        return Ok(purged.purged);
    }
    for sequence in sequences {
        stream
            .delete_message(*sequence)
            .await
            .with_context(|| format!("removing dead letter {sequence}"))?;
    }
    Ok(sequences.len() as u64)
}

/// Publishes dead letter `sequence` back to its subject and removes it from the dead letters.
pub async fn replay(
    js: &jetstream::Context,
    prefix: &Prefix,
    sequence: u64,
) -> anyhow::Result<DeadLetter> {
    let letter = show(js, prefix, sequence).await?;
    anyhow::ensure!(
        !letter.subject.is_empty(),
        "dead letter {sequence} does not say where it came from"
    );
    let id = format!(
        "{}.replay.{sequence}",
        letter
            .message_id
            .clone()
            .unwrap_or_else(|| letter.consumer.clone())
    );
    js.send_publish(
        letter.subject.clone(),
        PublishMessage::build()
            .payload(letter.payload.clone())
            .message_id(id),
    )
    .await
    .context("publishing the replayed message")?
    .await
    .context("awaiting the replayed message's PubAck")?;
    js.get_stream(prefix.dlq_stream())
        .await
        .context("opening the dead-letter stream")?
        .delete_message(sequence)
        .await
        .with_context(|| format!("removing dead letter {sequence}"))?;
    Ok(letter)
}
