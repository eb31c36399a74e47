//! Reserving seats: the allocation rules. Commands are decided in stream order, so the first
//! accepted is the first served; nobody waiting may be passed by a newcomer. A reserve whose
//! booking exists already was applied before and is replayed. A sold-out reserve that asked for
//! it joins the waitlist, unless its user already waits for the event.

use chrono::{DateTime, Utc};
use evently_schemas::waitlist::entry_id_for_booking;
use evently_schemas::{
    BookingSnapshot, BookingStatus, RejectReason, ReserveSeats, WaitlistEntrySnapshot,
    WaitlistStatus,
};

use crate::reservations::engine::{Replay, State, locked};
use crate::reservations::model::{Inventory, Rules, Tracked};

pub fn decide(c: &ReserveSeats, state: &mut State) -> anyhow::Result<()> {
    if state.bookings.contains_key(&c.booking_id) {
        state.effects.replays.push(Replay::Booking(c.booking_id));
        return Ok(());
    }
    let now = state.now;
    let event = locked(&mut state.events, c.event_id)?;
    let mut booking = allocate(&event.rules, &mut event.inventory, c, now);
    event.touched = true;
    if booking.status == BookingStatus::Waitlisted {
        if state.active.contains(&(booking.event_id, booking.user_id)) {
            booking.status = BookingStatus::Rejected;
            booking.reason = Some(RejectReason::SoldOut);
        } else {
            event.inventory.waiting += 1;
            let entry = WaitlistEntrySnapshot {
                id: entry_id_for_booking(booking.id),
                event_id: booking.event_id,
                user_id: booking.user_id,
                quantity: booking.quantity,
                status: WaitlistStatus::Waiting,
                position: 0,
                offer_expires_at: None,
                booking_id: Some(booking.id),
                created_at: now,
                updated_at: now,
            };
            let availability = event.inventory.availability();
            state.effects.booking(&booking, Some(availability), now);
            state.bookings.insert(booking.id, Tracked::created(booking));
            state.entry_changed(entry);
            return Ok(());
        }
    }
    let availability = event.inventory.availability();
    state.effects.booking(&booking, Some(availability), now);
    state.bookings.insert(booking.id, Tracked::created(booking));
    Ok(())
}

/// Decides a reserve command and takes its seats from `inventory` when it is confirmed.
pub fn allocate(
    rules: &Rules,
    inventory: &mut Inventory,
    command: &ReserveSeats,
    now: DateTime<Utc>,
) -> BookingSnapshot {
    let at = command.requested_at.min(now);
    let refusal = if !rules.active || at >= rules.ends_at {
        Some(RejectReason::EventNotOnSale)
    } else if rules.sales_start.is_some_and(|s| at < s) {
        Some(RejectReason::SalesNotOpen)
    } else if rules.sales_end.is_some_and(|e| at >= e) {
        Some(RejectReason::SalesClosed)
    } else if command.quantity < 1 || command.quantity > rules.max_per_booking {
        Some(RejectReason::ExceedsMaxPerBooking)
    } else {
        None
    };
    let mut hold_expires_at = None;
    let (status, reason) = match refusal {
        Some(reason) => (BookingStatus::Rejected, Some(reason)),
        // Nobody waiting may be passed by a newcomer.
        None if inventory.waiting == 0 && inventory.available() >= command.quantity => {
            if rules.price_cents > 0 {
                inventory.held += command.quantity;
                hold_expires_at =
                    Some(now + chrono::Duration::minutes(i64::from(rules.hold_minutes)));
                (BookingStatus::Held, None)
            } else {
                inventory.sold += command.quantity;
                (BookingStatus::Confirmed, None)
            }
        }
        None if command.waitlist_if_sold_out => (BookingStatus::Waitlisted, None),
        None => (BookingStatus::Rejected, Some(RejectReason::SoldOut)),
    };
    BookingSnapshot {
        id: command.booking_id,
        event_id: command.event_id,
        user_id: command.user_id,
        quantity: command.quantity,
        status,
        reason,
        amount_cents: rules.price_cents * i64::from(command.quantity.max(0)),
        currency: rules.currency.clone(),
        hold_expires_at,
        created_at: command.requested_at,
        updated_at: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reservations::commands::cancel::release;
    use uuid::Uuid;

    fn rules() -> Rules {
        Rules {
            active: true,
            sales_start: None,
            sales_end: None,
            ends_at: Utc::now() + chrono::Duration::days(1),
            max_per_booking: 4,
            price_cents: 0,
            currency: "EUR".into(),
            hold_minutes: 10,
        }
    }

    fn command(quantity: i32, waitlist: bool) -> ReserveSeats {
        ReserveSeats {
            booking_id: Uuid::new_v4(),
            event_id: Uuid::new_v4(),
            user_id: Uuid::new_v4(),
            quantity,
            waitlist_if_sold_out: waitlist,
            requested_at: Utc::now(),
        }
    }

    #[test]
    fn seats_go_to_the_first_commands_until_none_are_left() {
        let mut inv = Inventory {
            capacity: 5,
            sold: 0,
            held: 0,
            ..Default::default()
        };
        let now = Utc::now();
        let decided: Vec<_> = [2, 2, 2, 1]
            .into_iter()
            .map(|q| allocate(&rules(), &mut inv, &command(q, false), now))
            .collect();
        let statuses: Vec<_> = decided.iter().map(|b| b.status).collect();
        use BookingStatus::*;
        assert_eq!(statuses, [Confirmed, Confirmed, Rejected, Confirmed]);
        assert_eq!(decided[2].reason, Some(RejectReason::SoldOut));
        assert_eq!(
            inv,
            Inventory {
                capacity: 5,
                sold: 5,
                held: 0,
                ..Default::default()
            }
        );
        assert_eq!(decided[0].amount_cents, 0);
    }

    #[test]
    fn a_paid_booking_holds_its_seats_until_it_is_paid() {
        let mut inv = Inventory {
            capacity: 5,
            ..Default::default()
        };
        let paid = Rules {
            price_cents: 2500,
            ..rules()
        };
        let now = Utc::now();
        let b = allocate(&paid, &mut inv, &command(2, false), now);
        assert_eq!(b.status, BookingStatus::Held);
        assert_eq!(b.amount_cents, 5000);
        assert_eq!(b.hold_expires_at, Some(now + chrono::Duration::minutes(10)));
        assert_eq!((inv.held, inv.sold, inv.available()), (2, 0, 3));
    }

    #[test]
    fn while_people_wait_a_newcomer_gets_no_freed_seat() {
        let mut inv = Inventory {
            capacity: 5,
            sold: 3,
            offered: 1,
            waiting: 1,
            ..Default::default()
        };
        let b = allocate(&rules(), &mut inv, &command(1, false), Utc::now());
        assert_eq!(b.reason, Some(RejectReason::SoldOut));
        let b = allocate(&rules(), &mut inv, &command(1, true), Utc::now());
        assert_eq!(b.status, BookingStatus::Waitlisted);
        inv.waiting = 0;
        let b = allocate(&rules(), &mut inv, &command(1, false), Utc::now());
        assert_eq!(b.status, BookingStatus::Confirmed);
        assert_eq!(inv.available(), 0);
    }

    #[test]
    fn sold_out_joins_the_waitlist_when_asked() {
        let mut inv = Inventory {
            capacity: 1,
            sold: 1,
            held: 0,
            ..Default::default()
        };
        let b = allocate(&rules(), &mut inv, &command(1, true), Utc::now());
        assert_eq!(b.status, BookingStatus::Waitlisted);
        assert_eq!(inv.sold, 1);
    }

    #[test]
    fn closed_sales_and_oversized_bookings_are_rejected_with_their_reason() {
        let mut inv = Inventory {
            capacity: 10,
            sold: 0,
            held: 0,
            ..Default::default()
        };
        let mut closed = rules();
        closed.sales_end = Some(Utc::now() - chrono::Duration::minutes(1));
        let b = allocate(&closed, &mut inv, &command(1, false), Utc::now());
        assert_eq!(b.reason, Some(RejectReason::SalesClosed));
        let b = allocate(&rules(), &mut inv, &command(5, false), Utc::now());
        assert_eq!(b.reason, Some(RejectReason::ExceedsMaxPerBooking));
        assert_eq!(inv.sold, 0);
    }

    #[test]
    fn cancelling_gives_the_seats_back_once() {
        let mut inv = Inventory {
            capacity: 3,
            sold: 0,
            held: 0,
            ..Default::default()
        };
        let now = Utc::now();
        let mut b = allocate(&rules(), &mut inv, &command(3, false), now);
        assert_eq!(inv.available(), 0);
        assert!(release(&mut inv, &mut b, now));
        assert_eq!((inv.available(), b.status), (3, BookingStatus::Cancelled));
        assert!(!release(&mut inv, &mut b, now));
        assert_eq!(inv.available(), 3);
    }
}
