//! The `reservations` consumer: the only writer of seats. Each batch runs in one transaction that
//! records the commands in the inbox (all but reserve commands, whose booking id is their guard),
//! locks every touched inventory row once (in event-id order), allocates in stream order, writes
//! all bookings with one multi-row insert and commits. Then it publishes the domain events
//! (deterministic message ids) and only after their PubAcks lets the runner ack the commands. A
//! redelivered command finds its step done and re-publishes its event, which the stream's
//! duplicate window drops.

mod allocate;
mod capacity;
mod event_cancel;
mod expiry;
mod flows;
mod payment;
mod waitlist;

use std::collections::{BTreeSet, HashMap, HashSet};

use anyhow::Context as _;
use async_nats::jetstream;
use async_nats::jetstream::context::PublishAckFuture;
use chrono::{DateTime, Utc};
use evently_runtime::db::{BOOKING_COLUMNS, BookingRow};
use evently_schemas::{
    BookingCommand, BookingEvent, BookingSnapshot, BookingStatus, CancelEvent,
    EventCapacityChanged, Prefix,
};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

pub use allocate::{Inventory, Rules};

use crate::runner::{AfterCommit, Handler, Incoming, Outcome, Step};

pub const NAME: &str = "reservations";

pub struct Reservations {
    pool: PgPool,
    js: jetstream::Context,
    prefix: Prefix,
}

impl Reservations {
    pub fn new(pool: PgPool, js: jetstream::Context, prefix: Prefix) -> Self {
        Self { pool, js, prefix }
    }
}

impl Handler for Reservations {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn handle(&self, batch: &[Incoming]) -> Step {
        let mut outcomes: Vec<Option<Outcome>> = Vec::with_capacity(batch.len());
        let mut commands = Vec::with_capacity(batch.len());
        for (index, message) in batch.iter().enumerate() {
            match serde_json::from_slice::<BookingCommand>(&message.payload) {
                Ok(command) => {
                    commands.push((index, command));
                    outcomes.push(None);
                }
                Err(e) => outcomes.push(Some(Outcome::Reject(
                    anyhow::Error::new(e).context("undecodable booking command"),
                ))),
            }
        }
        let mut after_commit = None;
        let traces = Traces::of(batch, &commands);
        match self.apply(&commands).await {
            Ok((mut refused, changes)) => {
                for (index, _) in &commands {
                    outcomes[*index] = Some(match refused.remove(index) {
                        Some(e) => Outcome::Reject(e),
                        None => Outcome::Done,
                    });
                }
                after_commit =
                    Some(Box::pin(self.publisher().publish(changes, traces)) as AfterCommit);
            }
            Err(e) => {
                let text = format!("{e:#}");
                for (index, _) in &commands {
                    outcomes[*index] = Some(Outcome::Retry(anyhow::anyhow!("{text}")));
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

/// One event as locked for the batch.
struct Locked {
    rules: Rules,
    inventory: Inventory,
    /// The event row's version (optimistic locking of edits).
    version: i32,
    touched: bool,
}

#[derive(sqlx::FromRow)]
struct LockedRow {
    event_id: Uuid,
    capacity: i32,
    sold: i32,
    held: i32,
    offered: i32,
    waiting: i64,
    hold_minutes: i32,
    status: String,
    sales_start: Option<DateTime<Utc>>,
    sales_end: Option<DateTime<Utc>>,
    ends_at: DateTime<Utc>,
    max_per_booking: i32,
    price_cents: i64,
    currency: String,
    version: i32,
}

/// What one batch changed, written before commit and published after.
#[derive(Default)]
struct Changes {
    cancelled: Vec<Uuid>,
    events: Vec<BookingEvent>,
    /// Commands already applied (redeliveries): their bookings' events are published again.
    replay: Vec<Uuid>,
    refused: HashMap<usize, anyhow::Error>,
    /// Capacity changes: their outcomes (published) and what to write.
    capacity: Vec<EventCapacityChanged>,
    accepted: Vec<capacity::Accepted>,
    /// Capacity commands already applied: their stored outcomes are published again.
    replay_commands: Vec<String>,
    /// Event cancellations: refunds to record, next rounds to publish, rounds replayed.
    refunds: Vec<(Uuid, i64, String)>,
    follow_ups: Vec<CancelEvent>,
    replay_rounds: Vec<CancelEvent>,
    /// Payments, expiry and the waitlist's commands.
    flow: flows::FlowChanges,
}

impl Reservations {
    /// Applies the decoded commands of a batch. `Err` means nothing was applied (retry the batch);
    /// `Ok` holds the commands refused for good, by index, and what changed.
    async fn apply(
        &self,
        commands: &[(usize, BookingCommand)],
    ) -> anyhow::Result<(HashMap<usize, anyhow::Error>, Changes)> {
        if commands.is_empty() {
            return Ok((HashMap::new(), Changes::default()));
        }
        let now = Utc::now();
        let mut tx = self.pool.begin().await.context("beginning a transaction")?;
        // A reserve command needs no inbox row: its booking id is the bookings table's key, so a
        // redelivered one finds its booking (loaded below) and replays it (`step`). Storage grows
        // with the bookings, not with one inbox row per request besides.
        let ids: Vec<String> = commands
            .iter()
            .filter(|(_, c)| !is_reserve(c))
            .map(|(_, c)| c.command_id())
            .collect();
        let mut fresh: HashSet<String> = sqlx::query_scalar(
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
        let fresh_commands: Vec<&BookingCommand> = commands
            .iter()
            .map(|(_, c)| c)
            .filter(|c| is_reserve(c) || fresh.contains(&c.command_id()))
            .collect();
        let mut events = lock_events(&mut tx, &fresh_commands).await?;
        let mut bookings = load_bookings(&mut tx, &fresh_commands).await?;
        let mut changes = Changes {
            flow: flows::load_for(&mut tx, &fresh_commands, &mut bookings).await?,
            ..Changes::default()
        };
        for (index, command) in commands {
            if !is_reserve(command) && !fresh.remove(&command.command_id()) {
                match command {
                    BookingCommand::CancelEvent(c) => changes.replay_rounds.push(c.clone()),
                    BookingCommand::ConfirmPayment(c) => {
                        changes.flow.replay_payments.push(c.payment_id);
                        changes.replay.push(c.booking_id);
                    }
                    _ if command.entry_id().is_some() => {
                        changes.flow.replay_entries.extend(command.entry_id());
                    }
                    _ => match command.booking_id() {
                        Some(id) => changes.replay.push(id),
                        None => changes.replay_commands.push(command.command_id()),
                    },
                }
                continue;
            }
            if let BookingCommand::CancelEvent(c) = command {
                let round = event_cancel::load_round(&mut tx, c.event_id).await?;
                let full = round.len() as i64 == event_cancel::ROUND_SIZE;
                let ids: Vec<Uuid> = round.iter().map(|r| r.id).collect();
                event_cancel::record_round(&mut tx, &c.command_id(), &ids).await?;
                for row in round {
                    bookings
                        .entry(row.id)
                        .or_insert_with(|| (row.snapshot(), false));
                }
                flows::close_entries(&mut tx, c.event_id, now, &mut events, &mut changes.flow)
                    .await?;
                if let Err(e) = cancel_round(&ids, now, &mut events, &mut bookings, &mut changes) {
                    changes.refused.insert(*index, e);
                } else if full {
                    changes.follow_ups.push(c.next_round());
                }
                continue;
            }
            if let Err(e) = step(command, now, &mut events, &mut bookings, &mut changes) {
                changes.refused.insert(*index, e);
            }
        }
        write(&mut tx, &events, &bookings, &mut changes, commands, now).await?;
        tx.commit().await.context("committing the batch")?;
        for event in &changes.events {
            metrics::counter!("evently_bookings_total", "outcome" => event.booking.status.as_str())
                .increment(1);
        }
        let refused = std::mem::take(&mut changes.refused);
        Ok((refused, changes))
    }

    fn publisher(&self) -> Publisher {
        Publisher {
            pool: self.pool.clone(),
            js: self.js.clone(),
            prefix: self.prefix.clone(),
        }
    }
}

fn is_reserve(command: &BookingCommand) -> bool {
    matches!(command, BookingCommand::Reserve(_))
}

/// The trace context of each command of a batch, to put on the events it causes: by booking id
/// for booking commands, by waitlist entry id for waitlist commands, by event id for an event's
/// cancellation rounds, and by command id for every command.
#[derive(Default)]
struct Traces(HashMap<String, String>);

impl Traces {
    fn of(batch: &[Incoming], commands: &[(usize, BookingCommand)]) -> Self {
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
struct Publisher {
    pool: PgPool,
    js: jetstream::Context,
    prefix: Prefix,
}

impl Publisher {
    /// Publishes the batch's events and the events of replayed commands, then waits for every
    /// PubAck.
    async fn publish(self, changes: Changes, traces: Traces) -> anyhow::Result<()> {
        let Changes {
            mut events,
            mut replay,
            mut capacity,
            replay_commands,
            mut follow_ups,
            replay_rounds,
            flow,
            ..
        } = changes;
        let (replayed_entries, replayed_payments) =
            flows::replayed(&self.pool, &flow.replay_entries, &flow.replay_payments).await?;
        for round in &replay_rounds {
            follow_ups.extend(event_cancel::next_if_remaining(&self.pool, round).await?);
        }
        replay.extend(event_cancel::round_bookings(&self.pool, &replay_rounds).await?);
        if !replay_commands.is_empty() {
            let stored: Vec<serde_json::Value> = sqlx::query_scalar(
                "SELECT outcome FROM processed_messages WHERE consumer = $1 AND message_id = ANY($2) AND outcome IS NOT NULL",
            )
            .bind(NAME)
            .bind(&replay_commands)
            .fetch_all(&self.pool)
            .await
            .context("loading replayed capacity outcomes")?;
            for value in stored {
                capacity.push(serde_json::from_value(value).context("decoding a stored outcome")?);
            }
        }
        if !replay.is_empty() {
            let rows: Vec<BookingRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {BOOKING_COLUMNS} FROM bookings b WHERE b.id = ANY($1)"
            )))
            .bind(replay)
            .fetch_all(&self.pool)
            .await
            .context("loading replayed bookings")?;
            let now = Utc::now();
            events.extend(rows.into_iter().map(|r| BookingEvent {
                booking: r.snapshot(),
                availability: None,
                occurred_at: now,
            }));
        }
        let mut acks = Vec::with_capacity(events.len() + follow_ups.len() + capacity.len());
        for event in &events {
            let subject = self
                .prefix
                .booking_event(event.booking.status, event.booking.event_id);
            let tp = traces.get(&event.booking.id.to_string());
            acks.push(self.send(subject, event, event.message_id(), tp).await?);
        }
        for event in flow.entry_events.iter().chain(&replayed_entries) {
            let subject = self
                .prefix
                .waitlist_event(event.entry.status.event_name(), event.entry.event_id);
            let tp = traces.get(&event.entry.id.to_string());
            acks.push(self.send(subject, event, event.message_id(), tp).await?);
        }
        for event in flow.payment_events.iter().chain(&replayed_payments) {
            let subject = self
                .prefix
                .payment_event(event.payment.status.as_str(), event.payment.event_id);
            let tp = traces.get(&event.payment.booking_id.to_string());
            acks.push(self.send(subject, event, event.message_id(), tp).await?);
        }
        for next in follow_ups {
            let command = BookingCommand::CancelEvent(next);
            let subject = self.prefix.cancel_event(command.event_id());
            let tp = traces.get(&command.event_id().to_string());
            acks.push(
                self.send(subject, &command, command.command_id(), tp)
                    .await?,
            );
        }
        for outcome in &capacity {
            let what = if outcome.outcome == "updated" {
                "updated"
            } else {
                "update_rejected"
            };
            let subject = self.prefix.event_event(what, outcome.event_id);
            let tp = traces.get(&outcome.command_id);
            acks.push(
                self.send(subject, outcome, outcome.message_id(), tp)
                    .await?,
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

    /// Publishes one message with its deterministic id; the PubAck is awaited by the caller.
    async fn send<T: serde::Serialize>(
        &self,
        subject: String,
        message: &T,
        id: String,
        traceparent: Option<&str>,
    ) -> anyhow::Result<PublishAckFuture> {
        crate::publish::send(&self.js, subject, message, id, traceparent).await
    }
}

/// Cancels one round of an event's bookings.
fn cancel_round(
    ids: &[Uuid],
    now: DateTime<Utc>,
    events: &mut HashMap<Uuid, Locked>,
    bookings: &mut HashMap<Uuid, (BookingSnapshot, bool)>,
    changes: &mut Changes,
) -> anyhow::Result<()> {
    for id in ids {
        let Some((booking, is_new)) = bookings.get_mut(id) else {
            continue;
        };
        let locked = events
            .get_mut(&booking.event_id)
            .with_context(|| format!("event {} does not exist", booking.event_id))?;
        let refund = event_cancel::refund_for(booking);
        if allocate::cancel(&mut locked.inventory, booking, now) {
            locked.touched = true;
            if !*is_new {
                changes.cancelled.push(booking.id);
            }
            changes.refunds.extend(refund);
            changes.events.push(BookingEvent {
                booking: booking.clone(),
                availability: Some(locked.inventory.availability()),
                occurred_at: now,
            });
        }
    }
    Ok(())
}

/// Applies one fresh command to the batch's state.
fn step(
    command: &BookingCommand,
    now: DateTime<Utc>,
    events: &mut HashMap<Uuid, Locked>,
    bookings: &mut HashMap<Uuid, (BookingSnapshot, bool)>,
    changes: &mut Changes,
) -> anyhow::Result<()> {
    match command {
        BookingCommand::Reserve(c) => {
            if bookings.contains_key(&c.booking_id) {
                changes.replay.push(c.booking_id);
                return Ok(());
            }
            let locked = events
                .get_mut(&c.event_id)
                .with_context(|| format!("event {} does not exist", c.event_id))?;
            let mut booking = allocate::reserve(&locked.rules, &mut locked.inventory, c, now);
            waitlist::after_reserve(&mut booking, locked, now, changes);
            locked.touched = true;
            changes.events.push(BookingEvent {
                booking: booking.clone(),
                availability: Some(locked.inventory.availability()),
                occurred_at: now,
            });
            bookings.insert(booking.id, (booking, true));
        }
        BookingCommand::ChangeCapacity(c) => {
            let locked = events
                .get_mut(&c.event_id)
                .with_context(|| format!("event {} does not exist", c.event_id))?;
            let (outcome, accepted) = capacity::decide(locked, c, now);
            changes.capacity.push(outcome);
            changes.accepted.extend(accepted);
        }
        // Handled in `apply`, which loads the round's bookings first.
        BookingCommand::CancelEvent(_) => {}
        BookingCommand::ConfirmPayment(c) => payment::confirm(c, now, events, bookings, changes)?,
        BookingCommand::ExpireHold(c) => expiry::expire_hold(c, now, events, bookings, changes)?,
        BookingCommand::ExpireOffer(c) => expiry::expire_offer(c, now, events, bookings, changes)?,
        BookingCommand::JoinWaitlist(c) => waitlist::join(c, now, events, changes)?,
        BookingCommand::LeaveWaitlist(c) => waitlist::leave(c, now, events, bookings, changes)?,
        BookingCommand::ClaimOffer(c) => waitlist::claim(c, now, events, bookings, changes)?,
        BookingCommand::Cancel(c) => {
            let (booking, is_new) = bookings
                .get_mut(&c.booking_id)
                .with_context(|| format!("booking {} does not exist", c.booking_id))?;
            let locked = events
                .get_mut(&booking.event_id)
                .with_context(|| format!("event {} does not exist", booking.event_id))?;
            let before = booking.status;
            if allocate::cancel(&mut locked.inventory, booking, now) {
                locked.touched = true;
                if !*is_new {
                    changes.cancelled.push(booking.id);
                }
                changes.events.push(BookingEvent {
                    booking: booking.clone(),
                    availability: Some(locked.inventory.availability()),
                    occurred_at: now,
                });
                let id = booking.id;
                match before {
                    BookingStatus::Waitlisted => waitlist::after_cancel(id, now, events, changes)?,
                    BookingStatus::Confirmed => {
                        changes.flow.refund_bookings.push((id, "booking_cancelled"))
                    }
                    _ => {}
                }
            } else {
                changes.replay.push(booking.id);
            }
        }
    }
    Ok(())
}

/// Locks the inventory rows of every event the commands touch, once, in event-id order (so two
/// batches can never deadlock).
async fn lock_events(
    tx: &mut Transaction<'_, Postgres>,
    commands: &[&BookingCommand],
) -> anyhow::Result<HashMap<Uuid, Locked>> {
    let ids: Vec<Uuid> = commands
        .iter()
        .map(|c| c.event_id())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<LockedRow> = sqlx::query_as(
        "SELECT i.event_id, i.capacity, i.sold, i.held, i.offered, e.hold_minutes, e.status, e.sales_start, \
         e.sales_end, e.ends_at, e.max_per_booking, e.price_cents, e.currency::text AS currency, e.version, \
         (SELECT count(*) FROM waitlist_entries w WHERE w.event_id = i.event_id AND w.status = 'waiting') AS waiting \
         FROM inventory i JOIN events e ON e.id = i.event_id \
         WHERE i.event_id = ANY($1) ORDER BY i.event_id FOR UPDATE OF i",
    )
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await
    .context("locking inventory")?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let locked = Locked {
                rules: Rules {
                    active: r.status == "active",
                    sales_start: r.sales_start,
                    sales_end: r.sales_end,
                    ends_at: r.ends_at,
                    max_per_booking: r.max_per_booking,
                    price_cents: r.price_cents,
                    currency: r.currency.trim_end().to_owned(),
                    hold_minutes: r.hold_minutes,
                },
                inventory: Inventory {
                    capacity: r.capacity,
                    sold: r.sold,
                    held: r.held,
                    offered: r.offered,
                    waiting: r.waiting,
                },
                version: r.version,
                touched: false,
            };
            (r.event_id, locked)
        })
        .collect())
}

/// Loads (and locks) the existing bookings the commands refer to: those to cancel, and reserves
/// whose booking already exists.
async fn load_bookings(
    tx: &mut Transaction<'_, Postgres>,
    commands: &[&BookingCommand],
) -> anyhow::Result<HashMap<Uuid, (BookingSnapshot, bool)>> {
    let ids: Vec<Uuid> = commands.iter().filter_map(|c| c.booking_id()).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<BookingRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {BOOKING_COLUMNS} FROM bookings b WHERE b.id = ANY($1) ORDER BY b.id FOR UPDATE"
    )))
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await
    .context("loading bookings")?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, (r.snapshot(), false)))
        .collect())
}

/// Writes the batch: new bookings in one insert, cancellations, inventory counts, and removes the
/// inbox rows of refused commands (so a replay from the dead-letter stream is applied).
async fn write(
    tx: &mut Transaction<'_, Postgres>,
    events: &HashMap<Uuid, Locked>,
    bookings: &HashMap<Uuid, (BookingSnapshot, bool)>,
    changes: &mut Changes,
    commands: &[(usize, BookingCommand)],
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let new: Vec<&BookingSnapshot> = bookings
        .values()
        .filter(|(_, is_new)| *is_new)
        .map(|(b, _)| b)
        .collect();
    insert_bookings(tx, &new).await?;
    if !changes.cancelled.is_empty() {
        sqlx::query("UPDATE bookings SET status = 'cancelled', hold_expires_at = NULL, updated_at = $2 WHERE id = ANY($1)")
            .bind(&changes.cancelled)
            .bind(now)
            .execute(&mut **tx)
            .await
            .context("cancelling bookings")?;
    }
    flows::write(tx, bookings, &mut changes.flow).await?;
    let touched: Vec<(&Uuid, &Locked)> = events.iter().filter(|(_, l)| l.touched).collect();
    if !touched.is_empty() {
        let ids: Vec<Uuid> = touched.iter().map(|(id, _)| **id).collect();
        let sold: Vec<i32> = touched.iter().map(|(_, l)| l.inventory.sold).collect();
        let held: Vec<i32> = touched.iter().map(|(_, l)| l.inventory.held).collect();
        let capacity: Vec<i32> = touched.iter().map(|(_, l)| l.inventory.capacity).collect();
        let offered: Vec<i32> = touched.iter().map(|(_, l)| l.inventory.offered).collect();
        sqlx::query(
            "UPDATE inventory i SET sold = u.sold, held = u.held, capacity = u.capacity, offered = u.offered \
             FROM unnest($1::uuid[], $2::int[], $3::int[], $4::int[], $5::int[]) AS u(event_id, sold, held, capacity, offered) \
             WHERE i.event_id = u.event_id",
        )
        .bind(&ids)
        .bind(&sold)
        .bind(&held)
        .bind(&capacity)
        .bind(&offered)
        .execute(&mut **tx)
        .await
        .context("updating inventory")?;
    }
    for accepted in &changes.accepted {
        capacity::write(tx, accepted).await?;
    }
    event_cancel::write_refunds(tx, &changes.refunds).await?;
    if !changes.capacity.is_empty() {
        let ids: Vec<String> = changes
            .capacity
            .iter()
            .map(|c| c.command_id.clone())
            .collect();
        let outcomes: Vec<serde_json::Value> = changes
            .capacity
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<_, _>>()
            .context("encoding capacity outcomes")?;
        sqlx::query(
            "UPDATE processed_messages p SET outcome = u.outcome FROM unnest($2::text[], $3::jsonb[]) AS u(id, outcome) \
             WHERE p.consumer = $1 AND p.message_id = u.id",
        )
        .bind(NAME)
        .bind(&ids)
        .bind(&outcomes)
        .execute(&mut **tx)
        .await
        .context("recording capacity outcomes")?;
    }
    if !changes.refused.is_empty() {
        let refused: Vec<String> = commands
            .iter()
            .filter(|(i, _)| changes.refused.contains_key(i))
            .map(|(_, c)| c.command_id())
            .collect();
        sqlx::query("DELETE FROM processed_messages WHERE consumer = $1 AND message_id = ANY($2)")
            .bind(NAME)
            .bind(&refused)
            .execute(&mut **tx)
            .await
            .context("clearing refused commands from the inbox")?;
    }
    Ok(())
}

/// One multi-row insert of the batch's new bookings, each in its latest state.
async fn insert_bookings(
    tx: &mut Transaction<'_, Postgres>,
    new: &[&BookingSnapshot],
) -> anyhow::Result<()> {
    if new.is_empty() {
        return Ok(());
    }
    let column = |f: fn(&BookingSnapshot) -> Uuid| new.iter().map(|b| f(b)).collect::<Vec<_>>();
    sqlx::query(
        "INSERT INTO bookings (id, event_id, user_id, quantity, status, reason, amount_cents, currency, \
         hold_expires_at, created_at, updated_at) \
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int[], $5::text[], $6::text[], \
         $7::bigint[], $8::text[], $9::timestamptz[], $10::timestamptz[], $11::timestamptz[])",
    )
    .bind(column(|b| b.id))
    .bind(column(|b| b.event_id))
    .bind(column(|b| b.user_id))
    .bind(new.iter().map(|b| b.quantity).collect::<Vec<_>>())
    .bind(new.iter().map(|b| b.status.as_str()).collect::<Vec<_>>())
    .bind(new.iter().map(|b| b.reason.map(|r| r.as_str())).collect::<Vec<_>>())
    .bind(new.iter().map(|b| b.amount_cents).collect::<Vec<_>>())
    .bind(new.iter().map(|b| b.currency.as_str()).collect::<Vec<_>>())
    .bind(new.iter().map(|b| b.hold_expires_at).collect::<Vec<_>>())
    .bind(new.iter().map(|b| b.created_at).collect::<Vec<_>>())
    .bind(new.iter().map(|b| b.updated_at).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await
    .context("inserting bookings")?;
    Ok(())
}
