//! Expiry of holds and waitlist offers, asked for by the sweeper. A command applies only to the
//! hold (or offer) that expires at the time it names: a booking paid meanwhile, or an offer
//! claimed meanwhile, is left alone. Expiry gives the seats back; the waitlist consumer then
//! offers them to the next person.

use std::collections::HashMap;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use evently_schemas::{
    BookingEvent, BookingSnapshot, BookingStatus, ExpireHold, ExpireOffer, WaitlistStatus,
};
use uuid::Uuid;

use super::{Changes, Locked};

/// Expires a hold whose time is up: `held -= q`, the booking becomes `expired`.
pub fn expire_hold(
    c: &ExpireHold,
    now: DateTime<Utc>,
    events: &mut HashMap<Uuid, Locked>,
    bookings: &mut HashMap<Uuid, (BookingSnapshot, bool)>,
    changes: &mut Changes,
) -> anyhow::Result<()> {
    let Some((booking, is_new)) = bookings.get_mut(&c.booking_id) else {
        return Ok(());
    };
    if booking.status != BookingStatus::Held || booking.hold_expires_at != Some(c.hold_expires_at) {
        return Ok(());
    }
    let locked = events
        .get_mut(&booking.event_id)
        .with_context(|| format!("event {} does not exist", booking.event_id))?;
    locked.inventory.held = (locked.inventory.held - booking.quantity).max(0);
    locked.touched = true;
    booking.status = BookingStatus::Expired;
    booking.hold_expires_at = None;
    booking.updated_at = now;
    changes.flow.booking_changed(booking.id, *is_new);
    changes.events.push(BookingEvent {
        booking: booking.clone(),
        availability: Some(locked.inventory.availability()),
        occurred_at: now,
    });
    Ok(())
}

/// Expires an offer whose time is up: `offered -= q`, the entry (and its waitlisted booking)
/// become `expired`.
pub fn expire_offer(
    c: &ExpireOffer,
    now: DateTime<Utc>,
    events: &mut HashMap<Uuid, Locked>,
    bookings: &mut HashMap<Uuid, (BookingSnapshot, bool)>,
    changes: &mut Changes,
) -> anyhow::Result<()> {
    let Some((entry, _)) = changes.flow.entries.get(&c.entry_id) else {
        return Ok(());
    };
    if entry.status != WaitlistStatus::Offered || entry.offer_expires_at != Some(c.offer_expires_at)
    {
        return Ok(());
    }
    let mut entry = entry.clone();
    let locked = events
        .get_mut(&entry.event_id)
        .with_context(|| format!("event {} does not exist", entry.event_id))?;
    locked.inventory.offered = (locked.inventory.offered - entry.quantity).max(0);
    locked.touched = true;
    entry.status = WaitlistStatus::Expired;
    entry.updated_at = now;
    if let Some((booking, is_new)) = entry.booking_id.and_then(|b| bookings.get_mut(&b))
        && booking.status == BookingStatus::Waitlisted
    {
        booking.status = BookingStatus::Expired;
        booking.updated_at = now;
        changes.flow.booking_changed(booking.id, *is_new);
        changes.events.push(BookingEvent {
            booking: booking.clone(),
            availability: Some(locked.inventory.availability()),
            occurred_at: now,
        });
    }
    changes.flow.entry_changed(entry, now);
    Ok(())
}
