//! Expiring a hold, asked for by the sweeper: `held -= q` (and its promo code's use back), the
//! booking becomes `expired`. The command applies only to the hold that expires at the time it
//! names: a booking paid or cancelled meanwhile is left alone. The waitlist consumer then offers
//! the seats to the next person.

use evently_schemas::{BookingStatus, ExpireHold};

use crate::reservations::engine::{State, locked};

pub fn decide(c: &ExpireHold, state: &mut State) -> anyhow::Result<()> {
    let now = state.now;
    let Some(tracked) = state.bookings.get_mut(&c.booking_id) else {
        return Ok(());
    };
    if tracked.value.status != BookingStatus::Held
        || tracked.value.hold_expires_at != Some(c.hold_expires_at)
    {
        return Ok(());
    }
    let event = locked(&mut state.events, tracked.value.event_id)?;
    let booking = tracked.change();
    event.move_seats(booking.quantity, &booking.lines, -1, 0);
    event.give_back_code(booking.promo_code_id);
    event.free_seats(&booking.seats);
    booking.status = BookingStatus::Expired;
    booking.hold_expires_at = None;
    booking.updated_at = now;
    state
        .effects
        .booking(booking, Some(event.availability()), now);
    Ok(())
}
