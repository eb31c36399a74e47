//! The allocation rules, free of I/O: given an event's rules and its inventory as locked for this
//! batch, decide a reserve command or apply a cancellation. Commands are applied in stream order,
//! so the first accepted is the first served.

use chrono::{DateTime, Utc};
use evently_schemas::{Availability, BookingSnapshot, BookingStatus, RejectReason, ReserveSeats};

/// What the allocation needs to know about an event.
#[derive(Debug, Clone)]
pub struct Rules {
    pub active: bool,
    pub sales_start: Option<DateTime<Utc>>,
    pub sales_end: Option<DateTime<Utc>>,
    pub ends_at: DateTime<Utc>,
    pub max_per_booking: i32,
    pub price_cents: i64,
    pub currency: String,
    /// How long a paid booking holds its seats unpaid.
    pub hold_minutes: i32,
}

/// An event's seat counts, as locked for the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Inventory {
    pub capacity: i32,
    pub sold: i32,
    pub held: i32,
    /// Seats held for open waitlist offers.
    pub offered: i32,
    /// Waitlist entries waiting: while any wait, freed seats are theirs, not a newcomer's.
    pub waiting: i64,
}

impl Inventory {
    pub fn available(&self) -> i32 {
        (self.capacity - self.sold - self.held - self.offered).max(0)
    }

    pub fn availability(&self) -> Availability {
        Availability {
            capacity: self.capacity,
            sold: self.sold,
            held: self.held,
            available: self.available(),
            offered: self.offered,
        }
    }
}

/// Decides a reserve command and takes its seats from `inventory` when it is confirmed.
pub fn reserve(
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

/// Cancels a booking, giving its seats back. Returns whether anything changed.
pub fn cancel(
    inventory: &mut Inventory,
    booking: &mut BookingSnapshot,
    now: DateTime<Utc>,
) -> bool {
    match booking.status {
        BookingStatus::Confirmed => inventory.sold -= booking.quantity,
        BookingStatus::Held => inventory.held -= booking.quantity,
        BookingStatus::Waitlisted => {}
        _ => return false,
    }
    inventory.sold = inventory.sold.max(0);
    inventory.held = inventory.held.max(0);
    booking.status = BookingStatus::Cancelled;
    booking.hold_expires_at = None;
    booking.updated_at = now;
    true
}

#[cfg(test)]
mod tests {
    use super::*;
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
            .map(|q| reserve(&rules(), &mut inv, &command(q, false), now))
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
        let b = reserve(&paid, &mut inv, &command(2, false), now);
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
        let b = reserve(&rules(), &mut inv, &command(1, false), Utc::now());
        assert_eq!(b.reason, Some(RejectReason::SoldOut));
        let b = reserve(&rules(), &mut inv, &command(1, true), Utc::now());
        assert_eq!(b.status, BookingStatus::Waitlisted);
        inv.waiting = 0;
        let b = reserve(&rules(), &mut inv, &command(1, false), Utc::now());
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
        let b = reserve(&rules(), &mut inv, &command(1, true), Utc::now());
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
        let b = reserve(&closed, &mut inv, &command(1, false), Utc::now());
        assert_eq!(b.reason, Some(RejectReason::SalesClosed));
        let b = reserve(&rules(), &mut inv, &command(5, false), Utc::now());
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
        let mut b = reserve(&rules(), &mut inv, &command(3, false), now);
        assert_eq!(inv.available(), 0);
        assert!(cancel(&mut inv, &mut b, now));
        assert_eq!((inv.available(), b.status), (3, BookingStatus::Cancelled));
        assert!(!cancel(&mut inv, &mut b, now));
        assert_eq!(inv.available(), 3);
    }
}
