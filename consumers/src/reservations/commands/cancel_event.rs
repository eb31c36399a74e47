//! Cancelling an event's bookings in rounds: each `CancelEvent` command cancels up to
//! [`ROUND_SIZE`] active bookings (seats given back, payments of confirmed bookings refunded),
//! ends the event's active waitlist entries (`expired`, announced) and, while bookings remain,
//! asks for the next round after commit. The round's bookings are kept with its inbox row: a
//! crash between rounds redelivers the last command, which publishes their events and the next
//! round again (the duplicate window drops a second copy).

use anyhow::Context as _;
use evently_schemas::{BookingStatus, CancelEvent, WaitlistStatus};

use super::cancel::{is_active, release};
use crate::reservations::engine::State;

/// Bookings cancelled per round: small enough not to hold the event's row for long.
pub const ROUND_SIZE: i64 = 100;

pub fn decide(c: &CancelEvent, state: &mut State) -> anyhow::Result<()> {
    let now = state.now;
    let round = state
        .rounds
        .get(&c.command_id())
        .cloned()
        .unwrap_or_default();
    let stored = serde_json::to_value(&round).context("encoding a round")?;
    state.effects.outcomes.push((c.command_id(), stored));
    if round.len() as i64 == ROUND_SIZE {
        state.effects.follow_ups.push(c.next_round());
    }
    // An event that does not exist has nothing to cancel.
    let Some(event) = state.events.get_mut(&c.event_id) else {
        return Ok(());
    };
    let closing: Vec<_> = state
        .entries
        .values()
        .filter(|e| e.value.event_id == c.event_id && e.value.status.is_active())
        .map(|e| e.value.clone())
        .collect();
    if !closing.is_empty() {
        event.inventory.offered = 0;
        event.inventory.waiting = 0;
        for t in event.types.values_mut() {
            t.offered = 0;
            t.waiting = 0;
            t.touched = true;
        }
        event.touched = true;
    }
    for id in &round {
        let Some(tracked) = state.bookings.get_mut(id) else {
            continue;
        };
        if !is_active(tracked.value.status) {
            continue;
        }
        let paid =
            tracked.value.status == BookingStatus::Confirmed && tracked.value.amount_cents > 0;
        let booking = tracked.change();
        release(event, booking, now);
        if paid {
            state.effects.refunds.push((*id, "event_cancelled"));
        }
        state
            .effects
            .booking(booking, Some(event.availability()), now);
    }
    for mut entry in closing {
        entry.status = WaitlistStatus::Expired;
        entry.updated_at = now;
        state.entry_changed(entry);
    }
    Ok(())
}
