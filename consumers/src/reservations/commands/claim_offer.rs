//! Claiming a waitlist offer: the offered seats become a booking, confirmed for a free event and
//! held for a paid one. The booking is the entry's waitlisted booking, or a new one with an id
//! derived from the entry (so a claim sent twice books once). Refused (logged, nothing changed)
//! when the offer is not open, has expired, or is not the claimant's.

use evently_schemas::waitlist::claim_booking_id;
use evently_schemas::{BookingLine, BookingSnapshot, BookingStatus, ClaimOffer, WaitlistStatus};

use crate::reservations::engine::{State, locked};
use crate::reservations::model::Tracked;

pub fn decide(c: &ClaimOffer, state: &mut State) -> anyhow::Result<()> {
    let now = state.now;
    let Some(tracked) = state.entries.get(&c.entry_id) else {
        return Ok(());
    };
    let mut entry = tracked.value.clone();
    let event = locked(&mut state.events, entry.event_id)?;
    let open = entry.status == WaitlistStatus::Offered
        && entry.offer_expires_at.is_some_and(|t| t > now)
        && entry.user_id == c.requested_by
        && event.rules.active;
    if !open {
        tracing::info!(entry_id = %entry.id, status = entry.status.as_str(), "claim refused");
        return Ok(());
    }
    let q = entry.quantity;
    event.give_back_offer(q, entry.ticket_type_id);
    // An entry of a ticket type books that type at its price.
    let lines: Vec<BookingLine> = entry
        .ticket_type_id
        .and_then(|t| event.types.get(&t))
        .map(|t| BookingLine {
            ticket_type_id: t.id,
            quantity: q,
            unit_price_cents: t.price_cents,
        })
        .into_iter()
        .collect();
    let price = lines
        .first()
        .map_or(event.rules.price_cents, |l| l.unit_price_cents);
    let (status, hold_expires_at) = if price > 0 {
        event.move_seats(q, &lines, 1, 0);
        (BookingStatus::Held, Some(now + event.rules.hold()))
    } else {
        event.move_seats(q, &lines, 0, 1);
        (BookingStatus::Confirmed, None)
    };
    let booking_id = entry
        .booking_id
        .unwrap_or_else(|| claim_booking_id(entry.id));
    let tracked = state.bookings.entry(booking_id).or_insert_with(|| {
        Tracked::created(BookingSnapshot {
            id: booking_id,
            event_id: entry.event_id,
            user_id: entry.user_id,
            quantity: q,
            status,
            reason: None,
            amount_cents: 0,
            currency: event.rules.currency.clone(),
            hold_expires_at: None,
            created_at: now,
            updated_at: now,
            lines: lines.clone(),
            promo_code_id: None,
            discount_cents: 0,
            seats: Vec::new(),
        })
    });
    let booking = tracked.change();
    booking.status = status;
    booking.reason = None;
    booking.hold_expires_at = hold_expires_at;
    booking.amount_cents = price * i64::from(q);
    booking.lines = lines;
    booking.updated_at = now;
    state
        .effects
        .booking(booking, Some(event.availability()), now);
    entry.status = WaitlistStatus::Claimed;
    entry.booking_id = Some(booking_id);
    entry.updated_at = now;
    state.entry_changed(entry);
    Ok(())
}
