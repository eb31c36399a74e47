//! The waitlist's commands, applied under the event's inventory lock like bookings: joining (also
//! a sold-out reserve with `waitlist_if_sold_out`), leaving, and claiming an offer. Promotion
//! (offering free seats) belongs to the `waitlist` consumer.

use std::collections::HashMap;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use evently_schemas::waitlist::{claim_booking_id, entry_id_for_booking};
use evently_schemas::{
    BookingEvent, BookingSnapshot, BookingStatus, ClaimOffer, JoinWaitlist, LeaveWaitlist,
    RejectReason, WaitlistEntrySnapshot, WaitlistStatus,
};
use uuid::Uuid;

use super::{Changes, Locked};

fn new_entry(
    id: Uuid,
    event_id: Uuid,
    user_id: Uuid,
    quantity: i32,
    booking_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> WaitlistEntrySnapshot {
    WaitlistEntrySnapshot {
        id,
        event_id,
        user_id,
        quantity,
        status: WaitlistStatus::Waiting,
        position: 0,
        offer_expires_at: None,
        booking_id,
        created_at: now,
        updated_at: now,
    }
}

/// After a reserve was decided `waitlisted`: the booking's entry joins the queue, unless the user
/// already waits for this event (then the booking is rejected `sold_out`).
pub fn after_reserve(
    booking: &mut BookingSnapshot,
    locked: &mut Locked,
    now: DateTime<Utc>,
    changes: &mut Changes,
) {
    if booking.status != BookingStatus::Waitlisted {
        return;
    }
    if changes
        .flow
        .active
        .contains(&(booking.event_id, booking.user_id))
    {
        booking.status = BookingStatus::Rejected;
        booking.reason = Some(RejectReason::SoldOut);
        return;
    }
    let entry = new_entry(
        entry_id_for_booking(booking.id),
        booking.event_id,
        booking.user_id,
        booking.quantity,
        Some(booking.id),
        now,
    );
    locked.inventory.waiting += 1;
    changes.flow.entry_changed(entry, now);
}

/// Joins the queue, if the event is on sale and the user has no active entry for it.
pub fn join(
    c: &JoinWaitlist,
    now: DateTime<Utc>,
    events: &mut HashMap<Uuid, Locked>,
    changes: &mut Changes,
) -> anyhow::Result<()> {
    let locked = events
        .get_mut(&c.event_id)
        .with_context(|| format!("event {} does not exist", c.event_id))?;
    let rules = &locked.rules;
    let on_sale = rules.active && now < rules.ends_at && rules.sales_end.is_none_or(|e| now < e);
    let fits = (1..=rules.max_per_booking).contains(&c.quantity);
    if changes.flow.entries.contains_key(&c.entry_id) {
        return Ok(());
    }
    if !on_sale || !fits || changes.flow.active.contains(&(c.event_id, c.user_id)) {
        tracing::info!(entry_id = %c.entry_id, on_sale, fits, "waitlist join refused");
        return Ok(());
    }
    locked.inventory.waiting += 1;
    let entry = new_entry(c.entry_id, c.event_id, c.user_id, c.quantity, None, now);
    changes.flow.entry_changed(entry, now);
    Ok(())
}

/// Leaves the queue, or declines an open offer (its seats are freed for the next person). A
/// waitlisted booking linked to the entry is cancelled.
pub fn leave(
    c: &LeaveWaitlist,
    now: DateTime<Utc>,
    events: &mut HashMap<Uuid, Locked>,
    bookings: &mut HashMap<Uuid, (BookingSnapshot, bool)>,
    changes: &mut Changes,
) -> anyhow::Result<()> {
    let Some((entry, _)) = changes.flow.entries.get(&c.entry_id) else {
        return Ok(());
    };
    let entry = entry.clone();
    if let Some((booking, is_new)) = entry.booking_id.and_then(|b| bookings.get_mut(&b))
        && booking.status == BookingStatus::Waitlisted
    {
        booking.status = BookingStatus::Cancelled;
        booking.updated_at = now;
        changes.flow.booking_changed(booking.id, *is_new);
        changes.events.push(BookingEvent {
            booking: booking.clone(),
            availability: None,
            occurred_at: now,
        });
    }
    left(entry, now, events, changes)
}

/// Marks an active entry `left`, freeing an open offer's seats.
pub fn left(
    mut entry: WaitlistEntrySnapshot,
    now: DateTime<Utc>,
    events: &mut HashMap<Uuid, Locked>,
    changes: &mut Changes,
) -> anyhow::Result<()> {
    let locked = events
        .get_mut(&entry.event_id)
        .with_context(|| format!("event {} does not exist", entry.event_id))?;
    match entry.status {
        WaitlistStatus::Waiting => locked.inventory.waiting -= 1,
        WaitlistStatus::Offered => {
            locked.inventory.offered = (locked.inventory.offered - entry.quantity).max(0);
            locked.touched = true;
        }
        _ => return Ok(()),
    }
    entry.status = WaitlistStatus::Left;
    entry.offer_expires_at = None;
    entry.updated_at = now;
    changes.flow.entry_changed(entry, now);
    Ok(())
}

/// After a waitlisted booking was cancelled: its entry leaves the waitlist.
pub fn after_cancel(
    booking_id: Uuid,
    now: DateTime<Utc>,
    events: &mut HashMap<Uuid, Locked>,
    changes: &mut Changes,
) -> anyhow::Result<()> {
    let entry = changes
        .flow
        .entries
        .values()
        .find(|(e, _)| e.booking_id == Some(booking_id))
        .map(|(e, _)| e.clone());
    match entry {
        Some(entry) => left(entry, now, events, changes),
        None => Ok(()),
    }
}

/// Turns an open offer into a booking: confirmed for a free event, held for a paid one. The
/// booking is the entry's waitlisted booking, or a new one with an id derived from the entry.
pub fn claim(
    c: &ClaimOffer,
    now: DateTime<Utc>,
    events: &mut HashMap<Uuid, Locked>,
    bookings: &mut HashMap<Uuid, (BookingSnapshot, bool)>,
    changes: &mut Changes,
) -> anyhow::Result<()> {
    let Some((entry, _)) = changes.flow.entries.get(&c.entry_id) else {
        return Ok(());
    };
    let mut entry = entry.clone();
    let locked = events
        .get_mut(&entry.event_id)
        .with_context(|| format!("event {} does not exist", entry.event_id))?;
    let open = entry.status == WaitlistStatus::Offered
        && entry.offer_expires_at.is_some_and(|t| t > now)
        && entry.user_id == c.requested_by
        && locked.rules.active;
    if !open {
        tracing::info!(entry_id = %entry.id, status = entry.status.as_str(), "claim refused");
        return Ok(());
    }
    let q = entry.quantity;
    locked.inventory.offered = (locked.inventory.offered - q).max(0);
    let paid = locked.rules.price_cents > 0;
    let (status, hold_expires_at) = if paid {
        locked.inventory.held += q;
        let hold = chrono::Duration::minutes(i64::from(locked.rules.hold_minutes));
        (BookingStatus::Held, Some(now + hold))
    } else {
        locked.inventory.sold += q;
        (BookingStatus::Confirmed, None)
    };
    locked.touched = true;
    let booking_id = entry
        .booking_id
        .unwrap_or_else(|| claim_booking_id(entry.id));
    let (booking, is_new) = bookings.entry(booking_id).or_insert_with(|| {
        (
            BookingSnapshot {
                id: booking_id,
                event_id: entry.event_id,
                user_id: entry.user_id,
                quantity: q,
                status,
                reason: None,
                amount_cents: 0,
                currency: locked.rules.currency.clone(),
                hold_expires_at: None,
                created_at: now,
                updated_at: now,
            },
            true,
        )
    });
    booking.status = status;
    booking.reason = None;
    booking.hold_expires_at = hold_expires_at;
    booking.amount_cents = locked.rules.price_cents * i64::from(q);
    booking.updated_at = now;
    changes.flow.booking_changed(booking.id, *is_new);
    changes.events.push(BookingEvent {
        booking: booking.clone(),
        availability: Some(locked.inventory.availability()),
        occurred_at: now,
    });
    entry.status = WaitlistStatus::Claimed;
    entry.booking_id = Some(booking_id);
    entry.updated_at = now;
    changes.flow.entry_changed(entry, now);
    Ok(())
}
