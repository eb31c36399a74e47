//! Expiring a waitlist offer, asked for by the sweeper: `offered -= q`, the entry (and its
//! waitlisted booking) become `expired`. The command applies only to the offer that expires at the
//! time it names: an offer claimed or declined meanwhile is left alone. The waitlist consumer then
//! offers the seats to the next person.

use evently_schemas::{BookingStatus, ExpireOffer, WaitlistStatus};

use crate::reservations::engine::{State, locked};

pub fn decide(c: &ExpireOffer, state: &mut State) -> anyhow::Result<()> {
    let now = state.now;
    let Some(tracked) = state.entries.get(&c.entry_id) else {
        return Ok(());
    };
    let entry = &tracked.value;
    if entry.status != WaitlistStatus::Offered || entry.offer_expires_at != Some(c.offer_expires_at)
    {
        return Ok(());
    }
    let mut entry = entry.clone();
    let event = locked(&mut state.events, entry.event_id)?;
    event.give_back_offer(entry.quantity, entry.ticket_type_id);
    entry.status = WaitlistStatus::Expired;
    entry.updated_at = now;
    if let Some(tracked) = entry.booking_id.and_then(|b| state.bookings.get_mut(&b))
        && tracked.value.status == BookingStatus::Waitlisted
    {
        let booking = tracked.change();
        booking.status = BookingStatus::Expired;
        booking.updated_at = now;
        state
            .effects
            .booking(booking, Some(event.availability()), now);
    }
    state.entry_changed(entry);
    Ok(())
}
