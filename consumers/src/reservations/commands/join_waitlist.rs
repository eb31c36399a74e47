//! Joining an event's waitlist, under the event's lock like a booking: refused (logged, nothing
//! changed) when the event is not on sale, the quantity does not fit, the ticket type is not one
//! of the event's (an event that sells types is waited for by type, one sold as one pool of seats
//! without), or the user already has an active entry for the event. A sold-out reserve can join
//! too (`reserve.rs`).

use evently_schemas::{JoinWaitlist, WaitlistEntrySnapshot, WaitlistStatus};

use crate::reservations::engine::{State, locked};

pub fn decide(c: &JoinWaitlist, state: &mut State) -> anyhow::Result<()> {
    let now = state.now;
    let event = locked(&mut state.events, c.event_id)?;
    let on_sale = event.rules.on_sale(now);
    let fits = (1..=event.rules.max_per_booking).contains(&c.quantity);
    let typed = match c.ticket_type_id {
        None => event.types.is_empty(),
        Some(t) => event.types.contains_key(&t),
    };
    if state.entries.contains_key(&c.entry_id) {
        return Ok(());
    }
    if !on_sale || !fits || !typed || state.active.contains(&(c.event_id, c.user_id)) {
        tracing::info!(entry_id = %c.entry_id, on_sale, fits, typed, "waitlist join refused");
        return Ok(());
    }
    event.inventory.waiting += 1;
    if let Some(t) = c.ticket_type_id.and_then(|t| event.types.get_mut(&t)) {
        t.waiting += 1;
    }
    state.entry_changed(WaitlistEntrySnapshot {
        id: c.entry_id,
        event_id: c.event_id,
        user_id: c.user_id,
        quantity: c.quantity,
        status: WaitlistStatus::Waiting,
        position: 0,
        offer_expires_at: None,
        booking_id: None,
        created_at: now,
        updated_at: now,
        ticket_type_id: c.ticket_type_id,
    });
    Ok(())
}
