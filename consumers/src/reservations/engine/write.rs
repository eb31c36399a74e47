//! Writing a batch back before it commits, one statement per kind of row: new bookings in one
//! insert (each in its latest state) and their lines by ticket type and seats, changed bookings in one update, waitlist entries (new ones
//! in join order, which sets their positions), payments and refunds, the touched inventory rows
//! and ticket types, promo codes' uses,
//! and accepted event edits.

use std::collections::{HashMap, HashSet};

use anyhow::Context as _;
use evently_schemas::{
    BookingLine, BookingSeat, BookingSnapshot, PaymentSnapshot, PaymentStatus,
    WaitlistEntrySnapshot,
};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::State;
use crate::reservations::commands::change_capacity::Accepted;
use crate::reservations::model::{Locked, TicketType};
use crate::waitlist::entries;

pub async fn write(tx: &mut Transaction<'_, Postgres>, state: &mut State) -> anyhow::Result<()> {
    let new: Vec<&BookingSnapshot> = state
        .bookings
        .values()
        .filter(|b| b.is_new)
        .map(|b| &b.value)
        .collect();
    insert_bookings(tx, &new).await?;
    insert_lines(tx, &new).await?;
    let changed: Vec<&BookingSnapshot> = state
        .bookings
        .values()
        .filter(|b| b.changed)
        .map(|b| &b.value)
        .collect();
    update_bookings(tx, &changed).await?;
    write_seats(tx, &new, &changed).await?;
    write_entries(tx, state).await?;
    write_payments(tx, &state.effects.payments).await?;
    refund_payments_of(tx, &state.effects.refunds).await?;
    let touched: Vec<(&Uuid, &Locked)> = state.events.iter().filter(|(_, l)| l.touched).collect();
    update_inventory(tx, &touched).await?;
    update_ticket_types(tx, &touched).await?;
    update_code_uses(tx, &touched).await?;
    bump_seat_versions(tx, state).await?;
    for edit in &state.effects.edits {
        write_edit(tx, edit).await?;
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
         hold_expires_at, created_at, updated_at, promo_code_id, discount_cents) \
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int[], $5::text[], $6::text[], \
         $7::bigint[], $8::text[], $9::timestamptz[], $10::timestamptz[], $11::timestamptz[], \
         $12::uuid[], $13::bigint[])",
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
    .bind(new.iter().map(|b| b.promo_code_id).collect::<Vec<_>>())
    .bind(new.iter().map(|b| b.discount_cents).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await
    .context("inserting bookings")?;
    Ok(())
}

/// The lines of the batch's new bookings by ticket type, in one insert.
async fn insert_lines(
    tx: &mut Transaction<'_, Postgres>,
    new: &[&BookingSnapshot],
) -> anyhow::Result<()> {
    let lines: Vec<(Uuid, &BookingLine)> = new
        .iter()
        .flat_map(|b| b.lines.iter().map(|l| (b.id, l)))
        .collect();
    if lines.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO booking_lines (booking_id, ticket_type_id, quantity, unit_price_cents) \
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::bigint[])",
    )
    .bind(lines.iter().map(|l| l.0).collect::<Vec<_>>())
    .bind(lines.iter().map(|l| l.1.ticket_type_id).collect::<Vec<_>>())
    .bind(lines.iter().map(|l| l.1.quantity).collect::<Vec<_>>())
    .bind(
        lines
            .iter()
            .map(|l| l.1.unit_price_cents)
            .collect::<Vec<_>>(),
    )
    .execute(&mut **tx)
    .await
    .context("inserting booking lines")?;
    Ok(())
}

/// Moves the `seat_version` of every event whose seats the batch took or freed, and keeps the new
/// version with the batch's map (what the cache keeps it at).
async fn bump_seat_versions(
    tx: &mut Transaction<'_, Postgres>,
    state: &mut State,
) -> anyhow::Result<()> {
    let changed: Vec<Uuid> = state
        .events
        .iter()
        .filter(|(_, l)| l.seated && l.seats_changed)
        .map(|(id, _)| *id)
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    let versions: Vec<(Uuid, i64)> = sqlx::query_as(
        "UPDATE event_seating SET seat_version = seat_version + 1 WHERE event_id = ANY($1) \
         RETURNING event_id, seat_version",
    )
    .bind(&changed)
    .fetch_all(&mut **tx)
    .await
    .context("moving seat versions")?;
    for (event_id, version) in versions {
        if let Some(event) = state.events.get_mut(&event_id) {
            event.seat_version = version;
        }
    }
    Ok(())
}

/// The particular seats of new bookings, live while held or confirmed (the partial unique index
/// on live seats is the last guard against a seat sold twice), and the seats of bookings that
/// ended freed.
async fn write_seats(
    tx: &mut Transaction<'_, Postgres>,
    new: &[&BookingSnapshot],
    changed: &[&BookingSnapshot],
) -> anyhow::Result<()> {
    let seats: Vec<(&BookingSnapshot, &BookingSeat)> = new
        .iter()
        .flat_map(|b| b.seats.iter().map(move |s| (*b, s)))
        .collect();
    if !seats.is_empty() {
        sqlx::query(
            "INSERT INTO booking_seats (booking_id, event_id, seat_id, ticket_type_id, section, \
             row_label, number, live) \
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::text[], \
             $6::text[], $7::text[], $8::bool[])",
        )
        .bind(seats.iter().map(|(b, _)| b.id).collect::<Vec<_>>())
        .bind(seats.iter().map(|(b, _)| b.event_id).collect::<Vec<_>>())
        .bind(seats.iter().map(|(_, s)| s.id.as_str()).collect::<Vec<_>>())
        .bind(
            seats
                .iter()
                .map(|(_, s)| s.ticket_type_id)
                .collect::<Vec<_>>(),
        )
        .bind(
            seats
                .iter()
                .map(|(_, s)| s.section.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            seats
                .iter()
                .map(|(_, s)| s.row.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            seats
                .iter()
                .map(|(_, s)| s.number.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            seats
                .iter()
                .map(|(b, _)| b.status.holds_seats())
                .collect::<Vec<_>>(),
        )
        .execute(&mut **tx)
        .await
        .context("inserting booking seats")?;
    }
    let ended: Vec<Uuid> = changed
        .iter()
        .filter(|b| !b.seats.is_empty() && !b.status.holds_seats())
        .map(|b| b.id)
        .collect();
    if !ended.is_empty() {
        sqlx::query("UPDATE booking_seats SET live = false WHERE booking_id = ANY($1) AND live")
            .bind(&ended)
            .execute(&mut **tx)
            .await
            .context("freeing booking seats")?;
    }
    Ok(())
}

async fn update_bookings(
    tx: &mut Transaction<'_, Postgres>,
    changed: &[&BookingSnapshot],
) -> anyhow::Result<()> {
    if changed.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE bookings b SET status = u.status, hold_expires_at = u.hold_expires_at, \
         amount_cents = u.amount_cents, updated_at = u.updated_at \
         FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::bigint[], $5::timestamptz[]) \
         AS u(id, status, hold_expires_at, amount_cents, updated_at) WHERE b.id = u.id",
    )
    .bind(changed.iter().map(|b| b.id).collect::<Vec<_>>())
    .bind(
        changed
            .iter()
            .map(|b| b.status.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        changed
            .iter()
            .map(|b| b.hold_expires_at)
            .collect::<Vec<_>>(),
    )
    .bind(changed.iter().map(|b| b.amount_cents).collect::<Vec<_>>())
    .bind(changed.iter().map(|b| b.updated_at).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await
    .context("updating bookings")?;
    Ok(())
}

/// Inserts new entries in the order they were created (join order, which their positions follow)
/// and patches the positions into their events; updates the entries that changed.
async fn write_entries(
    tx: &mut Transaction<'_, Postgres>,
    state: &mut State,
) -> anyhow::Result<()> {
    let mut new: Vec<&WaitlistEntrySnapshot> = Vec::new();
    let mut seen = HashSet::new();
    for event in &state.effects.entries {
        if let Some(tracked) = state.entries.get(&event.entry.id)
            && tracked.is_new
            && seen.insert(tracked.value.id)
        {
            new.push(&tracked.value);
        }
    }
    let positions: HashMap<Uuid, i64> = entries::insert(tx, &new).await?.into_iter().collect();
    let changed: Vec<&WaitlistEntrySnapshot> = state
        .entries
        .values()
        .filter(|e| e.changed)
        .map(|e| &e.value)
        .collect();
    entries::update(tx, &changed, &[]).await?;
    for event in &mut state.effects.entries {
        if let Some(p) = positions.get(&event.entry.id) {
            event.entry.position = *p;
        }
    }
    Ok(())
}

/// Records payments, and a refund of each payment refused its booking.
async fn write_payments(
    tx: &mut Transaction<'_, Postgres>,
    payments: &[PaymentSnapshot],
) -> anyhow::Result<()> {
    if payments.is_empty() {
        return Ok(());
    }
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
    if refunded.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO refunds (booking_id, payment_id, amount_cents, currency, reason) \
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::text[], $5::text[]) \
         ON CONFLICT (payment_id) DO NOTHING",
    )
    .bind(refunded.iter().map(|p| p.booking_id).collect::<Vec<_>>())
    .bind(refunded.iter().map(|p| p.id).collect::<Vec<_>>())
    .bind(refunded.iter().map(|p| p.amount_cents).collect::<Vec<_>>())
    .bind(
        refunded
            .iter()
            .map(|p| p.currency.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        refunded
            .iter()
            .map(|p| p.refund_reason.as_deref().unwrap_or("refunded"))
            .collect::<Vec<_>>(),
    )
    .execute(&mut **tx)
    .await
    .context("recording refunds of late payments")?;
    Ok(())
}

/// Records a refund of every applied payment of the bookings (once per payment).
async fn refund_payments_of(
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

async fn update_inventory(
    tx: &mut Transaction<'_, Postgres>,
    touched: &[(&Uuid, &Locked)],
) -> anyhow::Result<()> {
    if touched.is_empty() {
        return Ok(());
    }
    let column = |f: fn(&Locked) -> i32| touched.iter().map(|(_, l)| f(l)).collect::<Vec<_>>();
    sqlx::query(
        "UPDATE inventory i SET sold = u.sold, held = u.held, capacity = u.capacity, offered = u.offered \
         FROM unnest($1::uuid[], $2::int[], $3::int[], $4::int[], $5::int[]) AS u(event_id, sold, held, capacity, offered) \
         WHERE i.event_id = u.event_id",
    )
    .bind(touched.iter().map(|(id, _)| **id).collect::<Vec<_>>())
    .bind(column(|l| l.inventory.sold))
    .bind(column(|l| l.inventory.held))
    .bind(column(|l| l.inventory.capacity))
    .bind(column(|l| l.inventory.offered))
    .execute(&mut **tx)
    .await
    .context("updating inventory")?;
    Ok(())
}

/// The seat counts of the touched events' ticket types that changed.
async fn update_ticket_types(
    tx: &mut Transaction<'_, Postgres>,
    touched: &[(&Uuid, &Locked)],
) -> anyhow::Result<()> {
    let types: Vec<&TicketType> = touched
        .iter()
        .flat_map(|(_, l)| l.types.values())
        .filter(|t| t.touched)
        .collect();
    if types.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE ticket_types t SET sold = u.sold, held = u.held, offered = u.offered, \
         updated_at = now() FROM unnest($1::uuid[], $2::int[], $3::int[], $4::int[]) \
         AS u(id, sold, held, offered) WHERE t.id = u.id",
    )
    .bind(types.iter().map(|t| t.id).collect::<Vec<_>>())
    .bind(types.iter().map(|t| t.sold).collect::<Vec<_>>())
    .bind(types.iter().map(|t| t.held).collect::<Vec<_>>())
    .bind(types.iter().map(|t| t.offered).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await
    .context("updating ticket types")?;
    Ok(())
}

/// The uses promo codes gained or gave back.
async fn update_code_uses(
    tx: &mut Transaction<'_, Postgres>,
    touched: &[(&Uuid, &Locked)],
) -> anyhow::Result<()> {
    let uses: Vec<(Uuid, i32)> = touched
        .iter()
        .flat_map(|(_, l)| l.code_uses.iter().map(|(id, n)| (*id, *n)))
        .filter(|(_, n)| *n != 0)
        .collect();
    if uses.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE promo_codes p SET uses = GREATEST(p.uses + u.delta, 0) \
         FROM unnest($1::uuid[], $2::int[]) AS u(id, delta) WHERE p.id = u.id",
    )
    .bind(uses.iter().map(|u| u.0).collect::<Vec<_>>())
    .bind(uses.iter().map(|u| u.1).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await
    .context("counting promo code uses")?;
    Ok(())
}

/// Writes an accepted capacity change (and the fields edited with it) to the event's row.
async fn write_edit(tx: &mut Transaction<'_, Postgres>, a: &Accepted) -> anyhow::Result<()> {
    let c = &a.changes;
    sqlx::query(
        "UPDATE events SET capacity = $2, version = $3, updated_at = now(), \
         name = COALESCE($4, name), description = COALESCE($5, description), category = COALESCE($6, category), \
         starts_at = COALESCE($7, starts_at), ends_at = COALESCE($8, ends_at), price_cents = COALESCE($9, price_cents), \
         sales_start = COALESCE($10, sales_start), sales_end = COALESCE($11, sales_end), \
         max_per_booking = COALESCE($12, max_per_booking), hold_minutes = COALESCE($13, hold_minutes) \
         WHERE id = $1",
    )
    .bind(a.event_id)
    .bind(a.capacity)
    .bind(a.version)
    .bind(&c.name)
    .bind(&c.description)
    .bind(&c.category)
    .bind(c.starts_at)
    .bind(c.ends_at)
    .bind(c.price_cents)
    .bind(c.sales_start)
    .bind(c.sales_end)
    .bind(c.max_per_booking)
    .bind(c.hold_minutes)
    .execute(&mut **tx)
    .await
    .context("updating the event")?;
    Ok(())
}
