//! After a `tickets` batch committed: reads the tickets of the batch's bookings as stored (so a
//! redelivery publishes exactly what the first delivery did) and publishes `TicketsIssued` /
//! `TicketsVoided` with deterministic message ids, then awaits every PubAck.

use std::collections::BTreeMap;

use anyhow::Context as _;
use async_nats::jetstream;
use chrono::Utc;
use evently_schemas::{Prefix, TicketSummary, TicketsIssued, TicketsVoided};
use sqlx::PgPool;
use uuid::Uuid;

use super::Publish;

pub(crate) struct Publisher {
    pub pool: PgPool,
    pub js: jetstream::Context,
    pub prefix: Prefix,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    booking_id: Uuid,
    event_id: Uuid,
    user_id: Uuid,
    ticket_number: String,
    seat_index: i32,
}

impl Publisher {
    pub async fn publish(self, batch: Publish) -> anyhow::Result<()> {
        let now = Utc::now();
        let mut acks = Vec::new();
        for (_, rows) in self.load(&batch.issued, false).await? {
            let first = &rows[0];
            let event = TicketsIssued {
                booking_id: first.booking_id,
                event_id: first.event_id,
                user_id: first.user_id,
                tickets: rows
                    .iter()
                    .map(|r| TicketSummary {
                        id: r.id,
                        ticket_number: r.ticket_number.clone(),
                        seat_index: r.seat_index,
                    })
                    .collect(),
                occurred_at: now,
            };
            let subject = self.prefix.ticket_issued(event.event_id);
            let tp = batch.traces.get(&event.booking_id).map(String::as_str);
            acks.push(
                crate::publish::send(&self.js, subject, &event, event.message_id(), tp).await?,
            );
        }
        for (_, rows) in self.load(&batch.voided, true).await? {
            let first = &rows[0];
            let event = TicketsVoided {
                booking_id: first.booking_id,
                event_id: first.event_id,
                user_id: first.user_id,
                ticket_ids: rows.iter().map(|r| r.id).collect(),
                occurred_at: now,
            };
            let subject = self.prefix.ticket_voided(event.event_id);
            let tp = batch.traces.get(&event.booking_id).map(String::as_str);
            acks.push(
                crate::publish::send(&self.js, subject, &event, event.message_id(), tp).await?,
            );
        }
        for ack in
            futures::future::join_all(acks.into_iter().map(std::future::IntoFuture::into_future))
                .await
        {
            ack.context("awaiting a PubAck")?;
        }
        Ok(())
    }

    /// The stored tickets of `bookings` (only void ones when `void`), grouped by booking in seat
    /// order; bookings without tickets are left out.
    async fn load(
        &self,
        bookings: &[Uuid],
        void: bool,
    ) -> anyhow::Result<BTreeMap<Uuid, Vec<Row>>> {
        let mut out: BTreeMap<Uuid, Vec<Row>> = BTreeMap::new();
        if bookings.is_empty() {
            return Ok(out);
        }
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, booking_id, event_id, user_id, ticket_number, seat_index FROM tickets \
             WHERE booking_id = ANY($1) AND (NOT $2 OR status = 'void') \
             ORDER BY booking_id, seat_index",
        )
        .bind(bookings)
        .bind(void)
        .fetch_all(&self.pool)
        .await
        .context("loading the batch's tickets")?;
        for row in rows {
            out.entry(row.booking_id).or_default().push(row);
        }
        Ok(out)
    }
}
