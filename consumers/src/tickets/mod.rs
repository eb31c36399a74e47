//! The `tickets` consumer: turns each confirmed booking into one signed ticket per seat and voids
//! the tickets of cancelled bookings. A batch is one transaction: the inbox rows, the bookings
//! read `FOR SHARE` (so a cancellation cannot commit between our read and our insert), one
//! multi-row insert of every ticket of the batch (`ON CONFLICT DO NOTHING`, with
//! `UNIQUE (booking_id, seat_index)` as the last guard) and the voids. After commit it publishes
//! `TicketsIssued` / `TicketsVoided` with deterministic message ids, and only then are the
//! messages acked. PDFs are not made here: they are rendered on demand.

mod publish;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use anyhow::Context as _;
use async_nats::jetstream;
use chrono::Utc;
use evently_runtime::tickets::{self as shared, TicketKeys, TicketSeat, number};
use evently_schemas::{BookingEvent, BookingStatus, Prefix};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::runner::{AfterCommit, Handler, Incoming, Outcome, Step};

pub const NAME: &str = "tickets";

pub struct Tickets {
    pool: PgPool,
    js: jetstream::Context,
    prefix: Prefix,
    keys: Arc<TicketKeys>,
}

impl Tickets {
    pub fn new(pool: PgPool, js: jetstream::Context, prefix: Prefix, keys: TicketKeys) -> Self {
        Self {
            pool,
            js,
            prefix,
            keys: Arc::new(keys),
        }
    }
}

/// What a message asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Issue,
    Void,
}

/// A decoded message of the batch.
struct Item {
    index: usize,
    inbox_id: String,
    kind: Kind,
    booking_id: Uuid,
}

#[derive(sqlx::FromRow)]
struct BookingRow {
    id: Uuid,
    event_id: Uuid,
    user_id: Uuid,
    quantity: i32,
    status: String,
    /// The booking's particular seats in ticket order (empty for an event without a seat map).
    #[sqlx(json)]
    seats: Vec<TicketSeat>,
}

/// What the batch asks to publish after commit: bookings whose tickets were (or had been) issued,
/// and bookings whose tickets were voided.
#[derive(Default)]
pub(crate) struct Publish {
    pub issued: Vec<Uuid>,
    pub voided: Vec<Uuid>,
    /// The trace context of each booking's message, carried on to its ticket events.
    pub traces: std::collections::HashMap<Uuid, String>,
}

impl Handler for Tickets {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn handle(&self, batch: &[Incoming]) -> Step {
        let mut outcomes: Vec<Option<Outcome>> = Vec::with_capacity(batch.len());
        let mut items = Vec::with_capacity(batch.len());
        for (index, message) in batch.iter().enumerate() {
            match decode(index, message) {
                Ok(Some(item)) => {
                    items.push(item);
                    outcomes.push(None);
                }
                Ok(None) => outcomes.push(Some(Outcome::Done)),
                Err(e) => outcomes.push(Some(Outcome::Reject(e))),
            }
        }
        let mut after_commit = None;
        match self.apply(&items).await {
            Ok((mut refused, mut publish)) => {
                publish.traces = items
                    .iter()
                    .filter_map(|item| {
                        let tp = batch.get(item.index)?.traceparent.clone()?;
                        Some((item.booking_id, tp))
                    })
                    .collect();
                for item in &items {
                    outcomes[item.index] = Some(match refused.remove(&item.index) {
                        Some(e) => Outcome::Reject(e),
                        None => Outcome::Done,
                    });
                }
                let publisher = publish::Publisher {
                    pool: self.pool.clone(),
                    js: self.js.clone(),
                    prefix: self.prefix.clone(),
                };
                after_commit = Some(Box::pin(publisher.publish(publish)) as AfterCommit);
            }
            Err(e) => {
                let text = format!("{e:#}");
                for item in &items {
                    outcomes[item.index] = Some(Outcome::Retry(anyhow::anyhow!("{text}")));
                }
            }
        }
        Step {
            outcomes: outcomes
                .into_iter()
                .map(|o| o.unwrap_or(Outcome::Done))
                .collect(),
            after_commit,
        }
    }
}

/// A booking event as an item; `None` for a status this consumer does not act on.
fn decode(index: usize, message: &Incoming) -> anyhow::Result<Option<Item>> {
    let event: BookingEvent =
        serde_json::from_slice(&message.payload).context("undecodable booking event")?;
    let kind = match event.booking.status {
        BookingStatus::Confirmed => Kind::Issue,
        BookingStatus::Cancelled => Kind::Void,
        _ => return Ok(None),
    };
    let inbox_id = message
        .message_id
        .clone()
        .unwrap_or_else(|| format!("seq.{}", message.stream_sequence));
    Ok(Some(Item {
        index,
        inbox_id,
        kind,
        booking_id: event.booking.id,
    }))
}

/// The rows of one multi-row insert, column by column.
#[derive(Default)]
struct NewTickets {
    id: Vec<Uuid>,
    booking_id: Vec<Uuid>,
    event_id: Vec<Uuid>,
    user_id: Vec<Uuid>,
    seat_index: Vec<i32>,
    qr_payload: Vec<String>,
    key_id: String,
    issued_at: chrono::DateTime<Utc>,
}

impl Tickets {
    /// Applies the batch. `Err`: nothing was applied (retry). `Ok`: the messages refused for good
    /// (by index) and what to publish.
    async fn apply(
        &self,
        items: &[Item],
    ) -> anyhow::Result<(HashMap<usize, anyhow::Error>, Publish)> {
        let mut refused = HashMap::new();
        let mut publish = Publish::default();
        if items.is_empty() {
            return Ok((refused, publish));
        }
        let mut tx = self.pool.begin().await.context("beginning a transaction")?;
        let ids: Vec<String> = items.iter().map(|i| i.inbox_id.clone()).collect();
        let fresh: HashSet<String> = sqlx::query_scalar(
            "INSERT INTO processed_messages (consumer, message_id) SELECT $1, unnest($2::text[]) \
             ON CONFLICT DO NOTHING RETURNING message_id",
        )
        .bind(NAME)
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await
        .context("recording the batch in the inbox")?
        .into_iter()
        .collect();
        let fresh_issue: Vec<Uuid> = items
            .iter()
            .filter(|i| i.kind == Kind::Issue && fresh.contains(&i.inbox_id))
            .map(|i| i.booking_id)
            .collect();
        let bookings = lock_bookings(&mut tx, &fresh_issue).await?;
        let mut new = NewTickets::default();
        let issued_at = Utc::now();
        let mut seen = HashSet::new();
        for item in items {
            match item.kind {
                Kind::Issue => {
                    if !fresh.contains(&item.inbox_id) {
                        publish.issued.push(item.booking_id);
                        continue;
                    }
                    let Some(booking) = bookings.get(&item.booking_id) else {
                        refused.insert(
                            item.index,
                            anyhow::anyhow!("booking {} does not exist", item.booking_id),
                        );
                        continue;
                    };
                    // A booking cancelled since (or never confirmed) gets no tickets.
                    if booking.status == "confirmed" && seen.insert(booking.id) {
                        add_tickets(&mut new, booking, &self.keys, issued_at);
                    }
                }
                Kind::Void => publish.voided.push(item.booking_id),
            }
        }
        // A fresh message announces only the tickets it issued: one whose seats had their
        // tickets already (a copy republished after its inbox row was pruned) announces nothing,
        // so `TicketsIssued` is never counted twice downstream. A redelivery of a message
        // applied before (its inbox row is there) announces them again, above.
        let inserted = insert_tickets(&mut tx, new).await?;
        publish
            .issued
            .extend(seen.into_iter().filter(|b| inserted.contains(b)));
        let fresh_void: Vec<Uuid> = items
            .iter()
            .filter(|i| i.kind == Kind::Void && fresh.contains(&i.inbox_id))
            .map(|i| i.booking_id)
            .collect();
        if !fresh_void.is_empty() {
            sqlx::query(
                "UPDATE tickets SET status = 'void', voided_at = now() \
                 WHERE booking_id = ANY($1) AND status = 'valid'",
            )
            .bind(&fresh_void)
            .execute(&mut *tx)
            .await
            .context("voiding tickets")?;
        }
        if !refused.is_empty() {
            let ids: Vec<&str> = items
                .iter()
                .filter(|i| refused.contains_key(&i.index))
                .map(|i| i.inbox_id.as_str())
                .collect();
            sqlx::query(
                "DELETE FROM processed_messages WHERE consumer = $1 AND message_id = ANY($2)",
            )
            .bind(NAME)
            .bind(&ids)
            .execute(&mut *tx)
            .await
            .context("clearing refused messages from the inbox")?;
        }
        tx.commit().await.context("committing the batch")?;
        Ok((refused, publish))
    }
}

/// Reads the bookings to issue for, `FOR SHARE` in id order: a cancellation (which takes the
/// row `FOR UPDATE`) waits for this batch, so its void always sees our tickets.
async fn lock_bookings(
    tx: &mut Transaction<'_, Postgres>,
    ids: &[Uuid],
) -> anyhow::Result<HashMap<Uuid, BookingRow>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<BookingRow> = sqlx::query_as(
        "SELECT b.id, b.event_id, b.user_id, b.quantity, b.status, \
         COALESCE((SELECT jsonb_agg(jsonb_build_object('section', s.section, 'row', s.row_label, \
         'number', s.number) ORDER BY s.seat_id) \
         FROM booking_seats s WHERE s.booking_id = b.id), '[]') AS seats \
         FROM bookings b WHERE b.id = ANY($1) ORDER BY b.id FOR SHARE OF b",
    )
    .bind(ids)
    .fetch_all(&mut **tx)
    .await
    .context("reading bookings")?;
    Ok(rows.into_iter().map(|r| (r.id, r)).collect())
}

/// One ticket per seat, each with its signed payload (signing is microseconds). The `n`th ticket
/// of a seated booking admits to its `n`th seat in seat id order, as `TICKET_SEAT` reads it.
fn add_tickets(
    new: &mut NewTickets,
    booking: &BookingRow,
    keys: &TicketKeys,
    issued_at: chrono::DateTime<Utc>,
) {
    for seat in 0..booking.quantity.max(0) {
        let id = shared::ticket_id(booking.id, seat);
        let seat16 = u16::try_from(seat).unwrap_or(u16::MAX);
        new.id.push(id);
        new.booking_id.push(booking.id);
        new.event_id.push(booking.event_id);
        new.user_id.push(booking.user_id);
        new.seat_index.push(seat);
        new.qr_payload.push(
            keys.sign(
                id,
                booking.event_id,
                seat16,
                usize::try_from(seat)
                    .ok()
                    .and_then(|i| booking.seats.get(i)),
                issued_at,
            ),
        );
    }
    keys.key_id().clone_into(&mut new.key_id);
    new.issued_at = issued_at;
}

/// One multi-row insert of the batch's tickets, numbered from the sequence. Existing seats are
/// left as they are. Returns the bookings that got a ticket.
async fn insert_tickets(
    tx: &mut Transaction<'_, Postgres>,
    new: NewTickets,
) -> anyhow::Result<HashSet<Uuid>> {
    if new.id.is_empty() {
        return Ok(HashSet::new());
    }
    let sequence: Vec<i64> =
        sqlx::query_scalar("SELECT nextval('ticket_number_seq') FROM generate_series(1, $1)")
            .bind(i32::try_from(new.id.len()).context("batch too large")?)
            .fetch_all(&mut **tx)
            .await
            .context("drawing ticket numbers")?;
    let numbers: Vec<String> = sequence
        .into_iter()
        .map(|n| number::from_sequence(u64::try_from(n).unwrap_or_default()))
        .collect();
    let inserted: Vec<Uuid> = sqlx::query_scalar(
        "INSERT INTO tickets (id, booking_id, event_id, user_id, seat_index, ticket_number, \
         qr_payload, key_id, issued_at) \
         SELECT u.id, u.booking_id, u.event_id, u.user_id, u.seat_index, u.ticket_number, \
         u.qr_payload, $8, $9 \
         FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::int[], $6::text[], $7::text[]) \
         AS u(id, booking_id, event_id, user_id, seat_index, ticket_number, qr_payload) \
         ORDER BY u.booking_id, u.seat_index \
         ON CONFLICT DO NOTHING RETURNING booking_id",
    )
    .bind(&new.id)
    .bind(&new.booking_id)
    .bind(&new.event_id)
    .bind(&new.user_id)
    .bind(&new.seat_index)
    .bind(&numbers)
    .bind(&new.qr_payload)
    .bind(&new.key_id)
    .bind(new.issued_at)
    .fetch_all(&mut **tx)
    .await
    .context("inserting tickets")?;
    metrics::counter!("evently_tickets_issued_total").increment(inserted.len() as u64);
    Ok(inserted.into_iter().collect())
}
