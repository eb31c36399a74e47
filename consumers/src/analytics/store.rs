//! The analytics tables: lock and load the booking states a batch needs, then write the batch's
//! roll-up with one statement per table (`INSERT ... SELECT FROM unnest ... ON CONFLICT DO UPDATE`
//! adding the increments). Rows are written in key order so concurrent batches cannot deadlock.

use std::collections::BTreeMap;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use evently_schemas::BookingEvent;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::rollup::{BookingState, Rollup};

type Tx<'a> = Transaction<'a, Postgres>;

#[derive(sqlx::FromRow)]
struct StateRow {
    booking_id: Uuid,
    event_id: Uuid,
    quantity: i32,
    amount_cents: i64,
    currency: String,
    confirmed_at: Option<DateTime<Utc>>,
    cancelled_at: Option<DateTime<Utc>>,
}

/// Creates the missing states of these bookings and locks and loads all of them, in one statement.
pub async fn lock_bookings(
    tx: &mut Tx<'_>,
    events: &[&BookingEvent],
) -> anyhow::Result<BTreeMap<Uuid, BookingState>> {
    let mut unique: BTreeMap<Uuid, &BookingEvent> = BTreeMap::new();
    for event in events {
        unique.entry(event.booking.id).or_insert(event);
    }
    if unique.is_empty() {
        return Ok(BTreeMap::new());
    }
    let snapshots: Vec<_> = unique.values().map(|e| &e.booking).collect();
    let rows: Vec<StateRow> = sqlx::query_as(
        "INSERT INTO analytics_bookings (booking_id, event_id, quantity, amount_cents, currency) \
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::bigint[], $5::text[]) \
         ON CONFLICT (booking_id) DO UPDATE SET booking_id = EXCLUDED.booking_id \
         RETURNING booking_id, event_id, quantity, amount_cents, currency, confirmed_at, cancelled_at",
    )
    .bind(snapshots.iter().map(|b| b.id).collect::<Vec<_>>())
    .bind(snapshots.iter().map(|b| b.event_id).collect::<Vec<_>>())
    .bind(snapshots.iter().map(|b| b.quantity).collect::<Vec<_>>())
    .bind(snapshots.iter().map(|b| b.amount_cents).collect::<Vec<_>>())
    .bind(
        snapshots
            .iter()
            .map(|b| b.currency.trim_end().to_owned())
            .collect::<Vec<_>>(),
    )
    .fetch_all(&mut **tx)
    .await
    .context("locking analytics booking states")?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let state = BookingState {
                event_id: r.event_id,
                quantity: r.quantity,
                amount_cents: r.amount_cents,
                currency: r.currency,
                confirmed_at: r.confirmed_at,
                cancelled_at: r.cancelled_at,
            };
            (r.booking_id, state)
        })
        .collect())
}

/// Writes a batch's roll-up: booking states, hourly and per-event increments.
pub async fn write(tx: &mut Tx<'_>, rollup: &Rollup) -> anyhow::Result<()> {
    write_bookings(tx, rollup).await?;
    write_hourly(tx, rollup).await?;
    write_totals(tx, rollup).await
}

async fn write_bookings(tx: &mut Tx<'_>, rollup: &Rollup) -> anyhow::Result<()> {
    if rollup.bookings.is_empty() {
        return Ok(());
    }
    let states = &rollup.bookings;
    sqlx::query(
        "UPDATE analytics_bookings a SET confirmed_at = u.confirmed_at, cancelled_at = u.cancelled_at \
         FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[]) AS u(id, confirmed_at, cancelled_at) \
         WHERE a.booking_id = u.id",
    )
    .bind(states.keys().copied().collect::<Vec<_>>())
    .bind(states.values().map(|s| s.confirmed_at).collect::<Vec<_>>())
    .bind(states.values().map(|s| s.cancelled_at).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await
    .context("updating analytics booking states")?;
    Ok(())
}

async fn write_hourly(tx: &mut Tx<'_>, rollup: &Rollup) -> anyhow::Result<()> {
    if rollup.hourly.is_empty() {
        return Ok(());
    }
    let rows = &rollup.hourly;
    let col =
        |f: fn(&super::rollup::Counts) -> i64| rows.values().map(|(_, c)| f(c)).collect::<Vec<_>>();
    sqlx::query(
        "INSERT INTO analytics_event_hourly AS h (event_id, hour, currency, bookings_confirmed, seats_sold, \
         revenue_cents, cancellations, seats_freed, refunds_cents, rejections) \
         SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::bigint[], $5::bigint[], \
         $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[]) \
         ON CONFLICT (event_id, hour) DO UPDATE SET \
         currency = EXCLUDED.currency, \
         bookings_confirmed = h.bookings_confirmed + EXCLUDED.bookings_confirmed, \
         seats_sold = h.seats_sold + EXCLUDED.seats_sold, \
         revenue_cents = h.revenue_cents + EXCLUDED.revenue_cents, \
         cancellations = h.cancellations + EXCLUDED.cancellations, \
         seats_freed = h.seats_freed + EXCLUDED.seats_freed, \
         refunds_cents = h.refunds_cents + EXCLUDED.refunds_cents, \
         rejections = h.rejections + EXCLUDED.rejections",
    )
    .bind(rows.keys().map(|(e, _)| *e).collect::<Vec<_>>())
    .bind(rows.keys().map(|(_, h)| *h).collect::<Vec<_>>())
    .bind(rows.values().map(|(c, _)| c.clone()).collect::<Vec<_>>())
    .bind(col(|c| c.bookings_confirmed))
    .bind(col(|c| c.seats_sold))
    .bind(col(|c| c.revenue_cents))
    .bind(col(|c| c.cancellations))
    .bind(col(|c| c.seats_freed))
    .bind(col(|c| c.refunds_cents))
    .bind(col(|c| c.rejections))
    .execute(&mut **tx)
    .await
    .context("upserting hourly analytics")?;
    Ok(())
}

async fn write_totals(tx: &mut Tx<'_>, rollup: &Rollup) -> anyhow::Result<()> {
    if rollup.totals.is_empty() {
        return Ok(());
    }
    let rows = &rollup.totals;
    let count = |f: fn(&super::rollup::Counts) -> i64| {
        rows.values().map(|t| f(&t.counts)).collect::<Vec<_>>()
    };
    let waitlist = |i: usize| rows.values().map(|t| t.waitlist[i]).collect::<Vec<_>>();
    sqlx::query(
        "INSERT INTO analytics_event_totals AS t (event_id, currency, capacity, capacity_at, \
         bookings_confirmed, seats_sold, revenue_cents, cancellations, seats_freed, refunds_cents, rejections, \
         waitlist_joined, waitlist_offered, waitlist_claimed, waitlist_expired, waitlist_left, \
         tickets_issued, tickets_checked_in, event_cancelled_at) \
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::timestamptz[], $5::bigint[], $6::bigint[], \
         $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], \
         $14::bigint[], $15::bigint[], $16::bigint[], $17::bigint[], $18::bigint[], $19::timestamptz[]) \
         ON CONFLICT (event_id) DO UPDATE SET \
         currency = CASE WHEN EXCLUDED.currency <> '' THEN EXCLUDED.currency ELSE t.currency END, \
         capacity = CASE WHEN EXCLUDED.capacity_at IS NOT NULL AND (t.capacity_at IS NULL OR EXCLUDED.capacity_at >= t.capacity_at) \
                    THEN EXCLUDED.capacity ELSE t.capacity END, \
         capacity_at = GREATEST(t.capacity_at, EXCLUDED.capacity_at), \
         bookings_confirmed = t.bookings_confirmed + EXCLUDED.bookings_confirmed, \
         seats_sold = t.seats_sold + EXCLUDED.seats_sold, \
         revenue_cents = t.revenue_cents + EXCLUDED.revenue_cents, \
         cancellations = t.cancellations + EXCLUDED.cancellations, \
         seats_freed = t.seats_freed + EXCLUDED.seats_freed, \
         refunds_cents = t.refunds_cents + EXCLUDED.refunds_cents, \
         rejections = t.rejections + EXCLUDED.rejections, \
         waitlist_joined = t.waitlist_joined + EXCLUDED.waitlist_joined, \
         waitlist_offered = t.waitlist_offered + EXCLUDED.waitlist_offered, \
         waitlist_claimed = t.waitlist_claimed + EXCLUDED.waitlist_claimed, \
         waitlist_expired = t.waitlist_expired + EXCLUDED.waitlist_expired, \
         waitlist_left = t.waitlist_left + EXCLUDED.waitlist_left, \
         tickets_issued = t.tickets_issued + EXCLUDED.tickets_issued, \
         tickets_checked_in = t.tickets_checked_in + EXCLUDED.tickets_checked_in, \
         event_cancelled_at = LEAST(t.event_cancelled_at, EXCLUDED.event_cancelled_at)",
    )
    .bind(rows.keys().copied().collect::<Vec<_>>())
    .bind(rows.values().map(|t| t.currency.clone()).collect::<Vec<_>>())
    .bind(rows.values().map(|t| t.capacity.map(|c| c.0)).collect::<Vec<_>>())
    .bind(rows.values().map(|t| t.capacity.map(|c| c.1)).collect::<Vec<_>>())
    .bind(count(|c| c.bookings_confirmed))
    .bind(count(|c| c.seats_sold))
    .bind(count(|c| c.revenue_cents))
    .bind(count(|c| c.cancellations))
    .bind(count(|c| c.seats_freed))
    .bind(count(|c| c.refunds_cents))
    .bind(count(|c| c.rejections))
    .bind(waitlist(0))
    .bind(waitlist(1))
    .bind(waitlist(2))
    .bind(waitlist(3))
    .bind(waitlist(4))
    .bind(rows.values().map(|t| t.tickets_issued).collect::<Vec<_>>())
    .bind(rows.values().map(|t| t.checked_in).collect::<Vec<_>>())
    .bind(rows.values().map(|t| t.cancelled_at).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await
    .context("upserting analytics totals")?;
    Ok(())
}

/// Empties every roll-up and the analytics inbox, in one transaction (a batch committing
/// concurrently lands wholly before or wholly after, with its inbox rows).
pub async fn truncate(pool: &sqlx::PgPool, consumer: &str) -> anyhow::Result<()> {
    let mut tx = pool.begin().await.context("beginning a transaction")?;
    sqlx::query("TRUNCATE analytics_event_hourly, analytics_event_totals, analytics_bookings")
        .execute(&mut *tx)
        .await
        .context("truncating the roll-ups")?;
    sqlx::query("DELETE FROM processed_messages WHERE consumer = $1")
        .bind(consumer)
        .execute(&mut *tx)
        .await
        .context("clearing the analytics inbox")?;
    tx.commit().await.context("committing the truncation")?;
    Ok(())
}
