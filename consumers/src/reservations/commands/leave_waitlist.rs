//! Leaving the waitlist, or declining an open offer (its seats are freed for the next person). A
//! waitlisted booking linked to the entry is cancelled.

use evently_schemas::{BookingStatus, LeaveWaitlist, WaitlistEntrySnapshot, WaitlistStatus};

use crate::reservations::engine::{State, locked};

pub fn decide(c: &LeaveWaitlist, state: &mut State) -> anyhow::Result<()> {
    let now = state.now;
    let Some(tracked) = state.entries.get(&c.entry_id) else {
        return Ok(());
    };
    let entry = tracked.value.clone();
    if let Some(tracked) = entry.booking_id.and_then(|b| state.bookings.get_mut(&b))
        && tracked.value.status == BookingStatus::Waitlisted
    {
        let booking = tracked.change();
        booking.status = BookingStatus::Cancelled;
        booking.updated_at = now;
        state.effects.booking(booking, None, now);
    }
    left(entry, state)
}

/// Marks an active entry `left`, freeing an open offer's seats.
pub fn left(mut entry: WaitlistEntrySnapshot, state: &mut State) -> anyhow::Result<()> {
    let event = locked(&mut state.events, entry.event_id)?;
    match entry.status {
        WaitlistStatus::Waiting => {
            event.inventory.waiting -= 1;
            if let Some(t) = entry.ticket_type_id.and_then(|t| event.types.get_mut(&t)) {
                t.waiting -= 1;
            }
        }
        WaitlistStatus::Offered => event.give_back_offer(entry.quantity, entry.ticket_type_id),
        _ => return Ok(()),
    }
    entry.status = WaitlistStatus::Left;
    entry.offer_expires_at = None;
    entry.updated_at = state.now;
    state.entry_changed(entry);
    Ok(())
}
