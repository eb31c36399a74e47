//! The reservations consumer's inbox (`processed_messages`, consumer `reservations`): a row per
//! applied command, in the batch's transaction, so a redelivered command is recognised and
//! replayed instead of applied again. Capacity changes and event-cancellation rounds keep their
//! outcome on the row, to publish it again. A refused command's row is removed, so a replay from
//! the dead-letter stream is applied.

use std::collections::HashSet;

use anyhow::Context as _;
use sqlx::{PgPool, Postgres, Transaction};

use crate::reservations::NAME;

/// Records the command ids; returns those not seen before.
pub async fn record(
    tx: &mut Transaction<'_, Postgres>,
    ids: &[String],
) -> anyhow::Result<HashSet<String>> {
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let fresh: Vec<String> = sqlx::query_scalar(
        "INSERT INTO processed_messages (consumer, message_id) SELECT $1, unnest($2::text[]) \
         ON CONFLICT DO NOTHING RETURNING message_id",
    )
    .bind(NAME)
    .bind(ids)
    .fetch_all(&mut **tx)
    .await
    .context("recording the batch in the inbox")?;
    Ok(fresh.into_iter().collect())
}

/// Keeps the commands' outcomes with their rows, and forgets the refused commands.
pub async fn settle(
    tx: &mut Transaction<'_, Postgres>,
    outcomes: &[(String, serde_json::Value)],
    refused: &[String],
) -> anyhow::Result<()> {
    if !outcomes.is_empty() {
        sqlx::query(
            "UPDATE processed_messages p SET outcome = u.outcome FROM unnest($2::text[], $3::jsonb[]) AS u(id, outcome) \
             WHERE p.consumer = $1 AND p.message_id = u.id",
        )
        .bind(NAME)
        .bind(outcomes.iter().map(|o| o.0.as_str()).collect::<Vec<_>>())
        .bind(outcomes.iter().map(|o| o.1.clone()).collect::<Vec<_>>())
        .execute(&mut **tx)
        .await
        .context("recording outcomes in the inbox")?;
    }
    if !refused.is_empty() {
        sqlx::query("DELETE FROM processed_messages WHERE consumer = $1 AND message_id = ANY($2)")
            .bind(NAME)
            .bind(refused)
            .execute(&mut **tx)
            .await
            .context("clearing refused commands from the inbox")?;
    }
    Ok(())
}

/// The outcomes kept with these commands' rows.
pub async fn stored(pool: &PgPool, ids: &[String]) -> anyhow::Result<Vec<serde_json::Value>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_scalar(
        "SELECT outcome FROM processed_messages WHERE consumer = $1 AND message_id = ANY($2) AND outcome IS NOT NULL",
    )
    .bind(NAME)
    .bind(ids)
    .fetch_all(pool)
    .await
    .context("loading stored outcomes")
}
