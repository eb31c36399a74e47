//! Cancelling an event's bookings in rounds: each `CancelEvent` command cancels up to
//! [`ROUND_SIZE`] active bookings in the batch's transaction (seats given back, refunds recorded
//! for paid confirmed bookings) and, while bookings remain, the next round is published after
//! commit. A crash between rounds redelivers the last command, which finds itself applied and
//! publishes the next round again (the duplicate window drops a second copy).

use anyhow::Context as _;
use evently_runtime::db::{BOOKING_COLUMNS, BookingRow};
use evently_schemas::{BookingSnapshot, BookingStatus, CancelEvent};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

/// Bookings cancelled per round: small enough not to hold the event's row for long.
pub const ROUND_SIZE: i64 = 100;

/// The next active bookings of an event, locked.
pub async fn load_round(
    tx: &mut Transaction<'_, Postgres>,
    event_id: Uuid,
) -> anyhow::Result<Vec<BookingRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {BOOKING_COLUMNS} FROM bookings b WHERE b.event_id = $1 \
         AND b.status IN ('confirmed', 'held', 'waitlisted') ORDER BY b.id LIMIT $2 FOR UPDATE"
    )))
    .bind(event_id)
    .bind(ROUND_SIZE)
    .fetch_all(&mut **tx)
    .await
    .context("loading an event's bookings to cancel")
}

/// A refund owed for a booking cancelled with its event: what a confirmed booking paid.
pub fn refund_for(booking: &BookingSnapshot) -> Option<(Uuid, i64, String)> {
    (booking.status == BookingStatus::Confirmed && booking.amount_cents > 0)
        .then(|| (booking.id, booking.amount_cents, booking.currency.clone()))
}

pub async fn write_refunds(
    tx: &mut Transaction<'_, Postgres>,
    refunds: &[(Uuid, i64, String)],
) -> anyhow::Result<()> {
    // One refund per applied payment of each booking (the amounts are the payments').
    let bookings: Vec<(Uuid, &'static str)> =
        refunds.iter().map(|r| (r.0, "event_cancelled")).collect();
    super::flows::refund_payments_of(tx, &bookings).await
}

/// Records which bookings a round cancels, with its inbox row, so that a redelivered round
/// publishes their events again (a crash between commit and publish loses none).
pub async fn record_round(
    tx: &mut Transaction<'_, Postgres>,
    command_id: &str,
    ids: &[Uuid],
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE processed_messages SET outcome = $3 WHERE consumer = $1 AND message_id = $2",
    )
    .bind(super::NAME)
    .bind(command_id)
    .bind(serde_json::to_value(ids).context("encoding a round")?)
    .execute(&mut **tx)
    .await
    .context("recording a round's bookings")?;
    Ok(())
}

/// The bookings replayed rounds cancelled.
pub async fn round_bookings(pool: &PgPool, rounds: &[CancelEvent]) -> anyhow::Result<Vec<Uuid>> {
    if rounds.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = rounds.iter().map(CancelEvent::command_id).collect();
    let stored: Vec<serde_json::Value> = sqlx::query_scalar(
        "SELECT outcome FROM processed_messages WHERE consumer = $1 AND message_id = ANY($2) AND outcome IS NOT NULL",
    )
    .bind(super::NAME)
    .bind(&ids)
    .fetch_all(pool)
    .await
    .context("loading replayed rounds")?;
    let mut bookings = Vec::new();
    for value in stored {
        bookings.extend(serde_json::from_value::<Vec<Uuid>>(value).context("decoding a round")?);
    }
    Ok(bookings)
}

/// For a replayed round: the next round, if bookings remain.
pub async fn next_if_remaining(
    pool: &PgPool,
    command: &CancelEvent,
) -> anyhow::Result<Option<CancelEvent>> {
    let remaining: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM bookings WHERE event_id = $1 AND status IN ('confirmed', 'held', 'waitlisted'))",
    )
    .bind(command.event_id)
    .fetch_one(pool)
    .await
    .context("checking for bookings left to cancel")?;
    Ok(remaining.then(|| command.next_round()))
}
