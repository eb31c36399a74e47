//! Cancelling a booking: its seats go back (to the waitlist first, by the waitlist consumer), a
//! waitlisted booking's entry leaves the queue, and a paid booking's payments are refunded. A
//! booking already ended is replayed, not changed.

use chrono::{DateTime, Utc};
use evently_schemas::{BookingSnapshot, BookingStatus, CancelBooking};

use super::leave_waitlist;
use crate::reservations::engine::{Replay, State, locked};
use crate::reservations::model::Locked;

pub fn decide(c: &CancelBooking, state: &mut State) -> anyhow::Result<()> {
    let now = state.now;
    let tracked = state
        .bookings
        .get_mut(&c.booking_id)
        .ok_or_else(|| anyhow::anyhow!("booking {} does not exist", c.booking_id))?;
    let event = locked(&mut state.events, tracked.value.event_id)?;
    let before = tracked.value.status;
    if !is_active(before) {
        state.effects.replays.push(Replay::Booking(c.booking_id));
        return Ok(());
    }
    let booking = tracked.change();
    release(event, booking, now);
    state
        .effects
        .booking(booking, Some(event.availability()), now);
    match before {
        BookingStatus::Waitlisted => {
            if let Some(entry) = state.entry_of_booking(c.booking_id) {
                leave_waitlist::left(entry, state)?;
            }
        }
        BookingStatus::Confirmed => state
            .effects
            .refunds
            .push((c.booking_id, "booking_cancelled")),
        _ => {}
    }
    Ok(())
}

/// Whether a booking in this status can still be cancelled.
pub fn is_active(status: BookingStatus) -> bool {
    matches!(
        status,
        BookingStatus::Confirmed | BookingStatus::Held | BookingStatus::Waitlisted
    )
}

/// Cancels a booking, giving its seats back (its ticket types' and particular seats too) and its
/// promo code's use. Returns whether anything changed.
pub fn release(event: &mut Locked, booking: &mut BookingSnapshot, now: DateTime<Utc>) -> bool {
    match booking.status {
        BookingStatus::Confirmed => {
            event.move_seats(booking.quantity, &booking.lines, 0, -1);
            event.give_back_code(booking.promo_code_id);
        }
        BookingStatus::Held => {
            event.move_seats(booking.quantity, &booking.lines, -1, 0);
            event.give_back_code(booking.promo_code_id);
        }
        BookingStatus::Waitlisted => event.touched = true,
        _ => return false,
    }
    event.free_seats(&booking.seats);
    booking.status = BookingStatus::Cancelled;
    booking.hold_expires_at = None;
    booking.updated_at = now;
    true
}
