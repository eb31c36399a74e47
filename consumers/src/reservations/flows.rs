//! What the timed and multi-step flows (payments, hold expiry, the waitlist's commands) change in
//! a reservations batch, how it is written before commit and what is published after.

use std::collections::{HashMap, HashSet};

use anyhow::Context as _;
use evently_runtime::db::{BOOKING_COLUMNS, BookingRow};
use evently_schemas::{
    BookingCommand, BookingSnapshot, PaymentEvent, PaymentSnapshot, PaymentStatus,
    WaitlistEntrySnapshot, WaitlistEvent,
};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::waitlist::entries::{self, ENTRY_COLUMNS, EntryRow};

/// The batch's waitlist entries and the flows' changes.
#[derive(Default)]
pub struct FlowChanges {
    /// Entries the batch read or created: `(latest state, is new)`.
    pub entries: HashMap<Uuid, (WaitlistEntrySnapshot, bool)>,
    /// Active entries `(event, user)`: one per user and event.
    pub active: HashSet<(Uuid, Uuid)>,
    /// Existing entries that changed, in order of first change.
    pub changed_entries: Vec<Uuid>,
    /// Existing bookings that changed other than by a plain cancellation.
    pub changed_bookings: Vec<Uuid>,
    pub entry_events: Vec<WaitlistEvent>,
    pub payments: Vec<PaymentSnapshot>,
    pub payment_events: Vec<PaymentEvent>,
    /// Bookings whose applied payments are refunded, with the reason.
    pub refund_bookings: Vec<(Uuid, &'static str)>,
    /// Replayed commands: their entries' and payments' events are published again.
    pub replay_entries: Vec<Uuid>,
    pub replay_payments: Vec<Uuid>,
}

impl FlowChanges {
    /// Records an entry's new state and its domain event.
    pub fn entry_changed(
        &mut self,
        entry: WaitlistEntrySnapshot,
        now: chrono::DateTime<chrono::Utc>,
    ) {
        let is_new = self.entries.get(&entry.id).is_some_and(|(_, n)| *n)
            || !self.entries.contains_key(&entry.id);
        if !is_new && !self.changed_entries.contains(&entry.id) {
            self.changed_entries.push(entry.id);
        }
        if entry.status.is_active() {
            self.active.insert((entry.event_id, entry.user_id));
        } else {
            self.active.remove(&(entry.event_id, entry.user_id));
        }
        self.entry_events.push(WaitlistEvent {
            entry: entry.clone(),
            occurred_at: now,
        });
        self.entries.insert(entry.id, (entry, is_new));
    }

    pub fn booking_changed(&mut self, id: Uuid, is_new: bool) {
        if !is_new && !self.changed_bookings.contains(&id) {
            self.changed_bookings.push(id);
        }
    }
}

/// The event was cancelled: its active waitlist entries end (`expired`, announced) and the seats
/// held for open offers go back.
pub async fn close_entries(
    tx: &mut Transaction<'_, Postgres>,
    event_id: Uuid,
    now: chrono::DateTime<chrono::Utc>,
    events: &mut HashMap<Uuid, super::Locked>,
    flow: &mut FlowChanges,
) -> anyhow::Result<()> {
    let closed: Vec<EntryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE waitlist_entries w SET status = 'expired', updated_at = $2 \
         WHERE w.event_id = $1 AND w.status IN ('waiting', 'offered') RETURNING {ENTRY_COLUMNS}"
    )))
    .bind(event_id)
    .bind(now)
    .fetch_all(&mut **tx)
    .await
    .context("closing a cancelled event's waitlist")?;
    if closed.is_empty() {
        return Ok(());
    }
    if let Some(locked) = events.get_mut(&event_id) {
        locked.inventory.offered = 0;
        locked.inventory.waiting = 0;
        locked.touched = true;
    }
    for row in closed {
        let entry = row.snapshot();
        flow.active.remove(&(entry.event_id, entry.user_id));
        flow.entry_events.push(WaitlistEvent {
            entry,
            occurred_at: now,
        });
    }
    Ok(())
}

/// Loads the waitlist entries and active entries the fresh commands need.
pub async fn load_for(
    tx: &mut Transaction<'_, Postgres>,
    commands: &[&BookingCommand],
    bookings: &mut HashMap<Uuid, (BookingSnapshot, bool)>,
) -> anyhow::Result<FlowChanges> {
    let entry_ids: Vec<Uuid> = commands.iter().filter_map(|c| c.entry_id()).collect();
    let mut cancelled = Vec::new();
    let mut joiners = Vec::new();
    for command in commands {
        match command {
            BookingCommand::Cancel(c) => cancelled.push(c.booking_id),
            BookingCommand::JoinWaitlist(c) => joiners.push((c.event_id, c.user_id)),
            BookingCommand::Reserve(c) if c.waitlist_if_sold_out => {
                joiners.push((c.event_id, c.user_id))
            }
            _ => {}
        }
    }
    load(tx, &entry_ids, &cancelled, &joiners, bookings).await
}

/// Loads the entries the commands name, the entries of bookings being cancelled, the bookings
/// those entries link to (into `bookings`), and the active entries of users who may join.
pub async fn load(
    tx: &mut Transaction<'_, Postgres>,
    entry_ids: &[Uuid],
    cancelled_bookings: &[Uuid],
    joiners: &[(Uuid, Uuid)],
    bookings: &mut HashMap<Uuid, (BookingSnapshot, bool)>,
) -> anyhow::Result<FlowChanges> {
    let mut flow = FlowChanges::default();
    let mut rows = entries::load(tx, entry_ids).await?;
    if !cancelled_bookings.is_empty() {
        let linked: Vec<EntryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {ENTRY_COLUMNS} FROM waitlist_entries w WHERE w.booking_id = ANY($1) ORDER BY w.id FOR UPDATE"
        )))
        .bind(cancelled_bookings)
        .fetch_all(&mut **tx)
        .await
        .context("loading the entries of cancelled bookings")?;
        rows.extend(linked);
    }
    let missing: Vec<Uuid> = rows
        .iter()
        .filter_map(|r| r.booking_id)
        .filter(|b| !bookings.contains_key(b))
        .collect();
    if !missing.is_empty() {
        let linked: Vec<BookingRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {BOOKING_COLUMNS} FROM bookings b WHERE b.id = ANY($1) ORDER BY b.id FOR UPDATE"
        )))
        .bind(&missing)
        .fetch_all(&mut **tx)
        .await
        .context("loading the bookings of entries")?;
        for r in linked {
            bookings.insert(r.id, (r.snapshot(), false));
        }
    }
    for row in rows {
        let snapshot = row.snapshot();
        if snapshot.status.is_active() {
            flow.active.insert((snapshot.event_id, snapshot.user_id));
        }
        flow.entries.insert(snapshot.id, (snapshot, false));
    }
    if !joiners.is_empty() {
        let (events, users): (Vec<Uuid>, Vec<Uuid>) = joiners.iter().copied().unzip();
        let active: Vec<(Uuid, Uuid)> = sqlx::query_as(
            "SELECT w.event_id, w.user_id FROM waitlist_entries w \
             JOIN unnest($1::uuid[], $2::uuid[]) AS u(event_id, user_id) ON u.event_id = w.event_id AND u.user_id = w.user_id \
             WHERE w.status IN ('waiting', 'offered')",
        )
        .bind(&events)
        .bind(&users)
        .fetch_all(&mut **tx)
        .await
        .context("loading active waitlist entries")?;
        flow.active.extend(active);
    }
    Ok(flow)
}

/// Writes the flows' changes: changed bookings, entries, payments and refunds. Patches the
/// positions of new entries into their events.
pub async fn write(
    tx: &mut Transaction<'_, Postgres>,
    bookings: &HashMap<Uuid, (BookingSnapshot, bool)>,
    flow: &mut FlowChanges,
) -> anyhow::Result<()> {
    let changed: Vec<&BookingSnapshot> = flow
        .changed_bookings
        .iter()
        .filter_map(|id| bookings.get(id))
        .map(|(b, _)| b)
        .collect();
    if !changed.is_empty() {
        sqlx::query(
            "UPDATE bookings b SET status = u.status, hold_expires_at = u.hold_expires_at, \
             amount_cents = u.amount_cents, updated_at = u.updated_at \
             FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::bigint[], $5::timestamptz[]) \
             AS u(id, status, hold_expires_at, amount_cents, updated_at) WHERE b.id = u.id",
        )
        .bind(changed.iter().map(|b| b.id).collect::<Vec<_>>())
        .bind(changed.iter().map(|b| b.status.as_str()).collect::<Vec<_>>())
        .bind(changed.iter().map(|b| b.hold_expires_at).collect::<Vec<_>>())
        .bind(changed.iter().map(|b| b.amount_cents).collect::<Vec<_>>())
        .bind(changed.iter().map(|b| b.updated_at).collect::<Vec<_>>())
        .execute(&mut **tx)
        .await
        .context("updating bookings")?;
    }
    // New entries in the order they were created (join order).
    let mut new: Vec<&WaitlistEntrySnapshot> = Vec::new();
    let mut seen = HashSet::new();
    for event in &flow.entry_events {
        if let Some((entry, true)) = flow.entries.get(&event.entry.id)
            && seen.insert(entry.id)
        {
            new.push(entry);
        }
    }
    let positions: HashMap<Uuid, i64> = entries::insert(tx, &new).await?.into_iter().collect();
    let changed: Vec<&WaitlistEntrySnapshot> = flow
        .changed_entries
        .iter()
        .filter_map(|id| flow.entries.get(id))
        .map(|(e, _)| e)
        .collect();
    entries::update(tx, &changed, &[]).await?;
    for event in &mut flow.entry_events {
        if let Some(p) = positions.get(&event.entry.id) {
            event.entry.position = *p;
        }
    }
    write_payments(tx, &flow.payments, &flow.refund_bookings).await
}

async fn write_payments(
    tx: &mut Transaction<'_, Postgres>,
    payments: &[PaymentSnapshot],
    refund_bookings: &[(Uuid, &'static str)],
) -> anyhow::Result<()> {
    if !payments.is_empty() {
        sqlx::query(
            "INSERT INTO payments (id, booking_id, provider, provider_payment_id, amount_cents, currency, status) \
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[]) \
             ON CONFLICT DO NOTHING",
        )
        .bind(payments.iter().map(|p| p.id).collect::<Vec<_>>())
        .bind(payments.iter().map(|p| p.booking_id).collect::<Vec<_>>())
        .bind(payments.iter().map(|p| p.provider.as_str()).collect::<Vec<_>>())
        .bind(payments.iter().map(|p| p.provider_payment_id.as_str()).collect::<Vec<_>>())
        .bind(payments.iter().map(|p| p.amount_cents).collect::<Vec<_>>())
        .bind(payments.iter().map(|p| p.currency.as_str()).collect::<Vec<_>>())
        .bind(payments.iter().map(|p| p.status.as_str()).collect::<Vec<_>>())
        .execute(&mut **tx)
        .await
        .context("recording payments")?;
        let refunded: Vec<&PaymentSnapshot> = payments
            .iter()
            .filter(|p| p.status == PaymentStatus::Refunded)
            .collect();
        if !refunded.is_empty() {
            sqlx::query(
                "INSERT INTO refunds (booking_id, payment_id, amount_cents, currency, reason) \
                 SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::text[], $5::text[]) \
                 ON CONFLICT (payment_id) DO NOTHING",
            )
            .bind(refunded.iter().map(|p| p.booking_id).collect::<Vec<_>>())
            .bind(refunded.iter().map(|p| p.id).collect::<Vec<_>>())
            .bind(refunded.iter().map(|p| p.amount_cents).collect::<Vec<_>>())
            .bind(refunded.iter().map(|p| p.currency.as_str()).collect::<Vec<_>>())
            .bind(
                refunded
                    .iter()
                    .map(|p| p.refund_reason.as_deref().unwrap_or("refunded"))
                    .collect::<Vec<_>>(),
            )
            .execute(&mut **tx)
            .await
            .context("recording refunds of late payments")?;
        }
    }
    refund_payments_of(tx, refund_bookings).await
}

/// Records a refund of every applied payment of the bookings (once per payment).
pub async fn refund_payments_of(
    tx: &mut Transaction<'_, Postgres>,
    bookings: &[(Uuid, &'static str)],
) -> anyhow::Result<()> {
    if bookings.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO refunds (booking_id, payment_id, amount_cents, currency, reason) \
         SELECT p.booking_id, p.id, p.amount_cents, p.currency, u.reason \
         FROM payments p JOIN unnest($1::uuid[], $2::text[]) AS u(booking_id, reason) ON u.booking_id = p.booking_id \
         WHERE p.status = 'applied' ON CONFLICT (payment_id) DO NOTHING",
    )
    .bind(bookings.iter().map(|b| b.0).collect::<Vec<_>>())
    .bind(bookings.iter().map(|b| b.1).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await
    .context("recording refunds of cancelled bookings")?;
    Ok(())
}

/// The events of replayed commands' entries and payments, as they stand now.
pub async fn replayed(
    pool: &PgPool,
    entry_ids: &[Uuid],
    payment_ids: &[Uuid],
) -> anyhow::Result<(Vec<WaitlistEvent>, Vec<PaymentEvent>)> {
    let now = chrono::Utc::now();
    let mut entry_events = Vec::new();
    if !entry_ids.is_empty() {
        let rows: Vec<EntryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {ENTRY_COLUMNS} FROM waitlist_entries w WHERE w.id = ANY($1)"
        )))
        .bind(entry_ids)
        .fetch_all(pool)
        .await
        .context("loading replayed entries")?;
        entry_events.extend(rows.iter().map(|r| WaitlistEvent {
            entry: r.snapshot(),
            occurred_at: now,
        }));
    }
    let payment_events = load_payment_events(pool, payment_ids).await?;
    Ok((entry_events, payment_events))
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
