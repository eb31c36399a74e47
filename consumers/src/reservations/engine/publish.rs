//! Publishing what a committed batch caused: the domain events of bookings, waitlist entries and
//! payments, capacity changes' outcomes and the next rounds of event cancellations, each with a
//! deterministic message id and the trace context of the command that caused it. Commands
//! already applied publish again what they caused, loaded as it stands now (the stream's
//! duplicate window drops copies published before). The runner acks the batch only after every
//! PubAck.

use std::collections::HashMap;

use anyhow::Context as _;
use async_nats::jetstream;
use chrono::Utc;
use evently_runtime::db::{BOOKING_COLUMNS, BookingRow};
use evently_schemas::{
    BookingCommand, BookingEvent, EventCapacityChanged, PaymentEvent, PaymentSnapshot,
    PaymentStatus, Prefix, WaitlistEvent,
};
use sqlx::PgPool;
use uuid::Uuid;

use super::{Effects, Replay, inbox};
use crate::runner::Incoming;
use crate::waitlist::entries::{ENTRY_COLUMNS, EntryRow};

/// The trace context of each command of a batch, to put on the events it causes: by booking id
/// for booking commands, by waitlist entry id for waitlist commands, by event id for an event's
/// cancellation rounds, and by command id for every command.
#[derive(Default)]
pub struct Traces(HashMap<String, String>);

impl Traces {
    pub fn of(batch: &[Incoming], commands: &[(usize, BookingCommand)]) -> Self {
        let mut map = HashMap::new();
        for (index, command) in commands {
            let Some(tp) = batch.get(*index).and_then(|m| m.traceparent.clone()) else {
                continue;
            };
            if let Some(id) = command.booking_id() {
                map.insert(id.to_string(), tp.clone());
            }
            let other_key = match command {
                BookingCommand::CancelEvent(c) => Some(c.event_id),
                BookingCommand::JoinWaitlist(c) => Some(c.entry_id),
                BookingCommand::LeaveWaitlist(c) => Some(c.entry_id),
                BookingCommand::ClaimOffer(c) => Some(c.entry_id),
                BookingCommand::ExpireOffer(c) => Some(c.entry_id),
                _ => None,
            };
            if let Some(key) = other_key {
                map.insert(key.to_string(), tp.clone());
            }
            map.insert(command.command_id(), tp);
        }
        Self(map)
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
}

/// Publishes a batch's events after it committed.
pub struct Publisher {
    pub pool: PgPool,
    pub js: jetstream::Context,
    pub prefix: Prefix,
}

/// What replayed commands publish again, loaded after commit.
#[derive(Default)]
struct Replayed {
    bookings: Vec<BookingEvent>,
    entries: Vec<WaitlistEvent>,
    payments: Vec<PaymentEvent>,
    capacity: Vec<EventCapacityChanged>,
    follow_ups: Vec<evently_schemas::CancelEvent>,
}

impl Publisher {
    /// Publishes the batch's events and those of replayed commands, then waits for every PubAck.
    pub async fn publish(self, effects: Effects, traces: Traces) -> anyhow::Result<()> {
        let replayed = self.replayed(&effects.replays).await?;
        let now = Utc::now();
        let mut acks = Vec::new();
        for event in effects.bookings.iter().chain(&replayed.bookings) {
            let subject = self
                .prefix
                .booking_event(event.booking.status, event.booking.event_id);
            let tp = traces.get(&event.booking.id.to_string());
            acks.push(
                crate::publish::send(&self.js, subject, event, event.message_id(), tp).await?,
            );
        }
        for event in effects.entries.iter().chain(&replayed.entries) {
            let subject = self
                .prefix
                .waitlist_event(event.entry.status.event_name(), event.entry.event_id);
            let tp = traces.get(&event.entry.id.to_string());
            acks.push(
                crate::publish::send(&self.js, subject, event, event.message_id(), tp).await?,
            );
        }
        let payments = effects.payments.into_iter().map(|payment| PaymentEvent {
            payment,
            occurred_at: now,
        });
        for event in payments.chain(replayed.payments) {
            let subject = self
                .prefix
                .payment_event(event.payment.status.as_str(), event.payment.event_id);
            let tp = traces.get(&event.payment.booking_id.to_string());
            acks.push(
                crate::publish::send(&self.js, subject, &event, event.message_id(), tp).await?,
            );
        }
        for next in effects.follow_ups.into_iter().chain(replayed.follow_ups) {
            let command = BookingCommand::CancelEvent(next);
            let subject = self.prefix.cancel_event(command.event_id());
            let tp = traces.get(&command.event_id().to_string());
            acks.push(
                crate::publish::send(&self.js, subject, &command, command.command_id(), tp).await?,
            );
        }
        for outcome in effects.capacity.iter().chain(&replayed.capacity) {
            let what = if outcome.outcome == "updated" {
                "updated"
            } else {
                "update_rejected"
            };
            let subject = self.prefix.event_event(what, outcome.event_id);
            let tp = traces.get(&outcome.command_id);
            acks.push(
                crate::publish::send(&self.js, subject, outcome, outcome.message_id(), tp).await?,
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

    /// Loads what replayed commands caused, as it stands now.
    async fn replayed(&self, replays: &[Replay]) -> anyhow::Result<Replayed> {
        let mut out = Replayed::default();
        if replays.is_empty() {
            return Ok(out);
        }
        let mut bookings = Vec::new();
        let mut entries = Vec::new();
        let mut payments = Vec::new();
        let mut capacity = Vec::new();
        let mut rounds = Vec::new();
        for replay in replays {
            match replay {
                Replay::Booking(id) => bookings.push(*id),
                Replay::Entry(id) => entries.push(*id),
                Replay::Payment(id) => payments.push(*id),
                Replay::Capacity(id) => capacity.push(id.clone()),
                Replay::Round(round) => rounds.push(round.clone()),
            }
        }
        for value in inbox::stored(&self.pool, &capacity).await? {
            out.capacity
                .push(serde_json::from_value(value).context("decoding a stored outcome")?);
        }
        let round_ids: Vec<String> = rounds.iter().map(|r| r.command_id()).collect();
        for value in inbox::stored(&self.pool, &round_ids).await? {
            bookings
                .extend(serde_json::from_value::<Vec<Uuid>>(value).context("decoding a round")?);
        }
        for round in &rounds {
            let remaining: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM bookings WHERE event_id = $1 AND status IN ('confirmed', 'held', 'waitlisted'))",
            )
            .bind(round.event_id)
            .fetch_one(&self.pool)
            .await
            .context("checking for bookings left to cancel")?;
            if remaining {
                out.follow_ups.push(round.next_round());
            }
        }
        let now = Utc::now();
        if !bookings.is_empty() {
            let rows: Vec<BookingRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {BOOKING_COLUMNS} FROM bookings b WHERE b.id = ANY($1)"
            )))
            .bind(&bookings)
            .fetch_all(&self.pool)
            .await
            .context("loading replayed bookings")?;
            out.bookings = rows
                .into_iter()
                .map(|r| BookingEvent {
                    booking: r.snapshot(),
                    availability: None,
                    occurred_at: now,
                })
                .collect();
        }
        if !entries.is_empty() {
            let rows: Vec<EntryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {ENTRY_COLUMNS} FROM waitlist_entries w WHERE w.id = ANY($1)"
            )))
            .bind(&entries)
            .fetch_all(&self.pool)
            .await
            .context("loading replayed entries")?;
            out.entries = rows
                .iter()
                .map(|r| WaitlistEvent {
                    entry: r.snapshot(),
                    occurred_at: now,
                })
                .collect();
        }
        out.payments = load_payment_events(&self.pool, &payments).await?;
        Ok(out)
    }
}

#[derive(sqlx::FromRow)]
struct PaymentRow {
    id: Uuid,
    booking_id: Uuid,
    event_id: Uuid,
    user_id: Uuid,
    provider: String,
    provider_payment_id: String,
    amount_cents: i64,
    currency: String,
    status: String,
    reason: Option<String>,
}

async fn load_payment_events(pool: &PgPool, ids: &[Uuid]) -> anyhow::Result<Vec<PaymentEvent>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<PaymentRow> = sqlx::query_as(
        "SELECT p.id, p.booking_id, b.event_id, b.user_id, p.provider, p.provider_payment_id, p.amount_cents, \
         p.currency::text AS currency, p.status, r.reason FROM payments p JOIN bookings b ON b.id = p.booking_id \
         LEFT JOIN refunds r ON r.payment_id = p.id AND p.status = 'refunded' WHERE p.id = ANY($1)",
    )
    .bind(ids)
    .fetch_all(pool)
    .await
    .context("loading replayed payments")?;
    let now = chrono::Utc::now();
    Ok(rows
        .into_iter()
        .map(|r| PaymentEvent {
            payment: PaymentSnapshot {
                id: r.id,
                booking_id: r.booking_id,
                event_id: r.event_id,
                user_id: r.user_id,
                provider: r.provider,
                provider_payment_id: r.provider_payment_id,
                amount_cents: r.amount_cents,
                currency: r.currency.trim_end().to_owned(),
                status: PaymentStatus::parse(&r.status).unwrap_or(PaymentStatus::Applied),
                refund_reason: r.reason,
            },
            occurred_at: now,
        })
        .collect())
}
