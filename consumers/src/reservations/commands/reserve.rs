//! Reserving seats: the allocation rules. Commands are decided in stream order, so the first
//! accepted is the first served; nobody waiting may be passed by a newcomer. A booking by ticket
//! type is decided as a whole: every line fits its type's quota, window and limit and the event
//! has the seats for all of them, or nothing is taken. A promo code must be valid at the request's
//! time and apply to one of its tickets; its use limit is decided here, in stream order, like
//! seats (a use is taken only by a booking that holds seats, and given back when it is cancelled
//! or its hold expires). A reserve whose booking exists already was applied before and is
//! replayed. A sold-out reserve that asked for it joins the waitlist, unless its user already
//! waits for the event (the waitlist is the event's: a booking by ticket type or with a code is
//! rejected `sold_out` instead).

use chrono::{DateTime, Utc};
use evently_schemas::waitlist::entry_id_for_booking;
use evently_schemas::{
    BookingLine, BookingSnapshot, BookingStatus, LineRequest, RejectReason, ReserveSeats,
    WaitlistEntrySnapshot, WaitlistStatus,
};

use crate::reservations::engine::{Replay, State, locked};
use crate::reservations::model::{Locked, PromoCode, Rules, TicketType, Tracked};

pub fn decide(c: &ReserveSeats, state: &mut State) -> anyhow::Result<()> {
    if state.bookings.contains_key(&c.booking_id) {
        state.effects.replays.push(Replay::Booking(c.booking_id));
        return Ok(());
    }
    anyhow::ensure!(
        state.users.contains(&c.user_id),
        "user {} does not exist",
        c.user_id
    );
    let now = state.now;
    let event = locked(&mut state.events, c.event_id)?;
    let mut booking = allocate(event, c, now);
    event.touched = true;
    if booking.status == BookingStatus::Waitlisted {
        if state.active.contains(&(booking.event_id, booking.user_id)) {
            booking.status = BookingStatus::Rejected;
            booking.reason = Some(RejectReason::SoldOut);
        } else {
            let ticket_type_id = booking.lines.first().map(|l| l.ticket_type_id);
            event.inventory.waiting += 1;
            if let Some(t) = ticket_type_id.and_then(|t| event.types.get_mut(&t)) {
                t.waiting += 1;
            }
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
                ticket_type_id,
            };
            let availability = event.availability();
            state.effects.booking(&booking, Some(availability), now);
            state.bookings.insert(booking.id, Tracked::created(booking));
            state.entry_changed(entry);
            return Ok(());
        }
    }
    let availability = event.availability();
    state.effects.booking(&booking, Some(availability), now);
    state.bookings.insert(booking.id, Tracked::created(booking));
    Ok(())
}

/// Decides a reserve command and takes its seats when it is accepted: from the event, from each
/// line's ticket type for a booking by type, a use of its promo code and, for a seated event, the
/// particular seats asked for or the best available ones (their types make the lines).
pub fn allocate(event: &mut Locked, command: &ReserveSeats, now: DateTime<Utc>) -> BookingSnapshot {
    let seated = event.seated || !command.seats.is_empty() || command.best_available.is_some();
    if !seated {
        return allocate_lines(event, command, None, now);
    }
    let picked = pick_seats(event, command);
    let mut by_type = command.clone();
    by_type.seats.clear();
    by_type.best_available = None;
    // A seat map has no queue: a seated booking that finds no seats is rejected.
    by_type.waitlist_if_sold_out = false;
    let seats = match picked {
        Ok(seats) => seats,
        Err(reason) => {
            by_type.quantity = command
                .best_available
                .as_ref()
                .map_or(command.seats.len() as i32, |b| b.quantity);
            return allocate_lines(event, &by_type, Some(reason), now);
        }
    };
    by_type.quantity = seats.len() as i32;
    by_type.lines = Vec::new();
    for &i in &seats {
        let ticket_type_id = event.seats.seats[i].ticket_type_id;
        match by_type
            .lines
            .iter_mut()
            .find(|l| l.ticket_type_id == ticket_type_id)
        {
            Some(line) => line.quantity += 1,
            None => by_type.lines.push(LineRequest {
                ticket_type_id,
                quantity: 1,
            }),
        }
    }
    let mut booking = allocate_lines(event, &by_type, None, now);
    if booking.status.holds_seats() {
        event.seats.take(&seats);
        event.seats_changed = true;
        booking.seats = seats
            .iter()
            .map(|&i| event.seats.seats[i].booked())
            .collect();
        booking.seats.sort_by(|a, b| a.id.cmp(&b.id));
    }
    booking
}

/// The seats a reserve of a seated event gets, or why it gets none: particular seats must all be
/// the event's and free; best-available must find enough of the type.
fn pick_seats(event: &Locked, command: &ReserveSeats) -> Result<Vec<usize>, RejectReason> {
    if !event.seated {
        return Err(RejectReason::UnknownSeat);
    }
    match &command.best_available {
        _ if !command.seats.is_empty() => event.seats.particular(&command.seats),
        Some(ask) => event.seats.best(ask).ok_or(RejectReason::SoldOut),
        None => Err(RejectReason::SeatsRequired),
    }
}

fn allocate_lines(
    event: &mut Locked,
    command: &ReserveSeats,
    seat_refusal: Option<RejectReason>,
    now: DateTime<Utc>,
) -> BookingSnapshot {
    let at = command.requested_at.min(now);
    let code = command.promo_code.as_ref().map(|c| event.codes.get(c));
    let asked = if command.lines.is_empty() {
        Ok(Vec::new())
    } else {
        lines(event, command, code.flatten(), at)
    };
    let lines = asked.clone().unwrap_or_default();
    let quantity = if lines.is_empty() {
        command.quantity
    } else {
        lines.iter().map(|l| l.quantity).sum()
    };
    let rules = &event.rules;
    let (gross, eligible) = if lines.is_empty() {
        let gross = rules.price_cents * i64::from(quantity.max(0));
        let covered = code.flatten().is_some_and(|c| c.ticket_type_ids.is_empty());
        (gross, if covered { gross } else { 0 })
    } else {
        let price = |l: &BookingLine| l.unit_price_cents * i64::from(l.quantity);
        let covered = |l: &&BookingLine| code.flatten().is_some_and(|c| c.covers(l.ticket_type_id));
        (
            lines.iter().map(price).sum(),
            lines.iter().filter(covered).map(price).sum(),
        )
    };
    let refusal = event_refusal(rules, at)
        .or(seat_refusal)
        .or(match asked {
            Err(reason) => Some(reason),
            Ok(_) if quantity < 1 || quantity > rules.max_per_booking => {
                Some(RejectReason::ExceedsMaxPerBooking)
            }
            Ok(_) => None,
        })
        .or(match code {
            None => None,
            Some(None) => Some(RejectReason::PromoCodeNotValid),
            Some(Some(c)) if !c.valid_at(at) || (eligible == 0 && !covers_any(c, &lines)) => {
                Some(RejectReason::PromoCodeNotValid)
            }
            Some(Some(c)) if c.used_up() => Some(RejectReason::PromoCodeUsedUp),
            Some(Some(_)) => None,
        });
    let promo = code.flatten().map(|c| (c.id, c.discount(eligible)));
    let discount_cents = promo.map_or(0, |p| p.1);
    let amount_cents = gross - discount_cents;
    let fits = event.inventory.available() >= quantity
        && lines.iter().all(|l| {
            event
                .types
                .get(&l.ticket_type_id)
                .is_some_and(|t| t.available() >= l.quantity)
        });
    // Nobody waiting may be passed by a newcomer: for a booking by type, nobody waiting for its
    // types; for an event sold as one pool, nobody waiting for the event.
    let nobody_waiting = if lines.is_empty() {
        event.inventory.waiting == 0
    } else {
        lines.iter().all(|l| {
            event
                .types
                .get(&l.ticket_type_id)
                .is_none_or(|t| t.waiting == 0)
        })
    };
    let hold = rules.hold();
    let mut hold_expires_at = None;
    let (status, reason) = match refusal {
        Some(reason) => (BookingStatus::Rejected, Some(reason)),
        None if nobody_waiting && fits => {
            if amount_cents > 0 {
                event.move_seats(quantity, &lines, 1, 0);
                hold_expires_at = Some(now + hold);
                (BookingStatus::Held, None)
            } else {
                event.move_seats(quantity, &lines, 0, 1);
                (BookingStatus::Confirmed, None)
            }
        }
        // The waitlist is the event's, or one ticket type's: a booking of one line can wait.
        None if command.waitlist_if_sold_out && lines.len() <= 1 && promo.is_none() => {
            (BookingStatus::Waitlisted, None)
        }
        None => (BookingStatus::Rejected, Some(RejectReason::SoldOut)),
    };
    let used = promo.filter(|_| status.holds_seats());
    if let Some((id, _)) = used {
        take_use(event, id);
    }
    BookingSnapshot {
        id: command.booking_id,
        event_id: command.event_id,
        user_id: command.user_id,
        quantity,
        status,
        reason,
        amount_cents: if used.is_some() { amount_cents } else { gross },
        currency: event.rules.currency.clone(),
        hold_expires_at,
        created_at: command.requested_at,
        updated_at: now,
        lines,
        promo_code_id: used.map(|u| u.0),
        discount_cents: used.map_or(0, |u| u.1),
        seats: Vec::new(),
    }
}

/// Whether a code applies to any of the lines (a free line counts: its discount is just 0).
fn covers_any(code: &PromoCode, lines: &[BookingLine]) -> bool {
    if lines.is_empty() {
        code.ticket_type_ids.is_empty()
    } else {
        lines.iter().any(|l| code.covers(l.ticket_type_id))
    }
}

/// A booking holding seats with a code takes one of its uses.
fn take_use(event: &mut Locked, id: uuid::Uuid) {
    *event.code_uses.entry(id).or_default() += 1;
    if let Some(code) = event.codes.values_mut().find(|c| c.id == id) {
        code.uses += 1;
    }
}

/// Why the event itself refuses a booking at `at`, if it does.
fn event_refusal(rules: &Rules, at: DateTime<Utc>) -> Option<RejectReason> {
    if !rules.active || at >= rules.ends_at {
        Some(RejectReason::EventNotOnSale)
    } else if rules.sales_start.is_some_and(|s| at < s) {
        Some(RejectReason::SalesNotOpen)
    } else if rules.sales_end.is_some_and(|e| at >= e) {
        Some(RejectReason::SalesClosed)
    } else {
        None
    }
}

/// The command's lines at their types' prices (a type named twice is one line), or why a line
/// cannot be booked.
fn lines(
    event: &Locked,
    command: &ReserveSeats,
    code: Option<&PromoCode>,
    at: DateTime<Utc>,
) -> Result<Vec<BookingLine>, RejectReason> {
    let mut lines: Vec<BookingLine> = Vec::with_capacity(command.lines.len());
    for asked in &command.lines {
        // A hidden type is bookable only with a code that names it.
        let unlocked =
            |t: &TicketType| !t.hidden || code.is_some_and(|c| c.ticket_type_ids.contains(&t.id));
        let Some(t) = event
            .types
            .get(&asked.ticket_type_id)
            .filter(|t| unlocked(t))
        else {
            return Err(RejectReason::UnknownTicketType);
        };
        match lines.iter_mut().find(|l| l.ticket_type_id == t.id) {
            Some(line) => line.quantity += asked.quantity,
            None => lines.push(BookingLine {
                ticket_type_id: t.id,
                quantity: asked.quantity,
                unit_price_cents: t.price_cents,
            }),
        }
    }
    for line in &lines {
        let t = &event.types[&line.ticket_type_id];
        if !t.on_sale(at) {
            return Err(RejectReason::TicketTypeNotOnSale);
        }
        if line.quantity < 1 || t.max_per_booking.is_some_and(|m| line.quantity > m) {
            return Err(RejectReason::ExceedsMaxPerBooking);
        }
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::reservations::commands::cancel::release;
    use crate::reservations::model::Inventory;
    use crate::reservations::seating::{Seat, SeatMap};
    use evently_schemas::{BestAvailable, LineRequest};
    use uuid::Uuid;

    fn event(rules: &Rules, inventory: Inventory) -> Locked {
        Locked {
            rules: rules.clone(),
            inventory,
            version: 1,
            touched: false,
            types: BTreeMap::new(),
            codes: BTreeMap::new(),
            code_uses: BTreeMap::new(),
            seated: false,
            seats: SeatMap::default(),
            seat_version: 0,
            seats_changed: false,
        }
    }

    /// Allocates against an event sold as one pool of seats.
    fn allocate_in(
        rules: &Rules,
        inventory: &mut Inventory,
        command: &ReserveSeats,
        now: DateTime<Utc>,
    ) -> BookingSnapshot {
        let mut locked = event(rules, *inventory);
        let booking = allocate(&mut locked, command, now);
        *inventory = locked.inventory;
        booking
    }

    fn ticket_type(quota: i32, price_cents: i64) -> TicketType {
        TicketType {
            id: Uuid::new_v4(),
            price_cents,
            quota,
            sold: 0,
            held: 0,
            offered: 0,
            waiting: 0,
            sales_start: None,
            sales_end: None,
            max_per_booking: None,
            hidden: false,
            touched: false,
        }
    }

    fn code(
        percent_off: Option<i32>,
        amount_off_cents: Option<i64>,
        max_uses: Option<i32>,
    ) -> PromoCode {
        PromoCode {
            id: Uuid::new_v4(),
            percent_off,
            amount_off_cents,
            ticket_type_ids: Vec::new(),
            max_uses,
            uses: 0,
            valid_from: None,
            valid_to: None,
        }
    }

    fn with_code(mut c: ReserveSeats, code: &str) -> ReserveSeats {
        c.promo_code = Some(code.into());
        c
    }

    #[test]
    fn a_codes_use_limit_is_never_exceeded_and_a_cancelled_booking_gives_its_use_back() {
        let mut locked = event(
            &Rules {
                price_cents: 2000,
                ..rules()
            },
            Inventory {
                capacity: 100,
                ..Default::default()
            },
        );
        locked
            .codes
            .insert("TWO".into(), code(Some(25), None, Some(2)));
        let now = Utc::now();
        let decided: Vec<_> = (0..3)
            .map(|_| allocate(&mut locked, &with_code(command(2, false), "TWO"), now))
            .collect();
        assert_eq!(decided[0].status, BookingStatus::Held);
        assert_eq!(
            (decided[0].amount_cents, decided[0].discount_cents),
            (3000, 1000)
        );
        assert_eq!(decided[1].status, BookingStatus::Held);
        assert_eq!(decided[2].reason, Some(RejectReason::PromoCodeUsedUp));
        assert_eq!(
            decided[2].amount_cents, 4000,
            "a refused code takes nothing off"
        );
        assert_eq!(locked.codes["TWO"].uses, 2);
        let mut first = decided[0].clone();
        assert!(release(&mut locked, &mut first, now));
        assert_eq!(locked.codes["TWO"].uses, 1);
        let again = allocate(&mut locked, &with_code(command(1, false), "TWO"), now);
        assert_eq!(again.status, BookingStatus::Held);
        assert_eq!(
            locked.code_uses.values().sum::<i32>(),
            2,
            "3 taken, 1 given back"
        );
    }

    #[test]
    fn a_code_takes_off_only_what_it_applies_to_and_unlocks_the_hidden_types_it_names() {
        let vip = TicketType {
            hidden: true,
            ..ticket_type(5, 10_000)
        };
        let general = ticket_type(5, 3000);
        let mut locked = with_types(10, &[vip.clone(), general.clone()]);
        let now = Utc::now();
        let b = allocate(&mut locked, &by_type(&[(&vip, 1)]), now);
        assert_eq!(
            b.reason,
            Some(RejectReason::UnknownTicketType),
            "hidden without a code"
        );
        let mut crew = code(None, Some(4000), None);
        crew.ticket_type_ids = vec![vip.id];
        locked.codes.insert("CREW".into(), crew);
        let b = allocate(
            &mut locked,
            &with_code(by_type(&[(&vip, 1), (&general, 1)]), "CREW"),
            now,
        );
        assert_eq!(b.status, BookingStatus::Held, "{b:?}");
        assert_eq!(b.discount_cents, 4000, "only the VIP ticket is discounted");
        assert_eq!(b.amount_cents, 10_000 + 3000 - 4000);
        let b = allocate(
            &mut locked,
            &with_code(by_type(&[(&general, 1)]), "CREW"),
            now,
        );
        assert_eq!(
            b.reason,
            Some(RejectReason::PromoCodeNotValid),
            "the code names no line"
        );
    }

    #[test]
    fn an_unknown_or_expired_code_is_rejected_and_takes_no_seat() {
        let mut locked = event(
            &rules(),
            Inventory {
                capacity: 10,
                ..Default::default()
            },
        );
        let mut old = code(Some(10), None, None);
        old.valid_to = Some(Utc::now() - chrono::Duration::minutes(1));
        locked.codes.insert("OLD".into(), old);
        let now = Utc::now();
        let b = allocate(&mut locked, &with_code(command(1, false), "NOPE"), now);
        assert_eq!(b.reason, Some(RejectReason::PromoCodeNotValid));
        let b = allocate(&mut locked, &with_code(command(1, false), "OLD"), now);
        assert_eq!(b.reason, Some(RejectReason::PromoCodeNotValid));
        assert_eq!(locked.inventory.sold, 0);
    }

    fn with_types(capacity: i32, types: &[TicketType]) -> Locked {
        let mut locked = event(
            &rules(),
            Inventory {
                capacity,
                ..Default::default()
            },
        );
        locked.types = types.iter().map(|t| (t.id, t.clone())).collect();
        locked
    }

    fn by_type(lines: &[(&TicketType, i32)]) -> ReserveSeats {
        ReserveSeats {
            quantity: lines.iter().map(|l| l.1).sum(),
            lines: lines
                .iter()
                .map(|(t, quantity)| LineRequest {
                    ticket_type_id: t.id,
                    quantity: *quantity,
                })
                .collect(),
            ..command(1, false)
        }
    }

    #[test]
    fn a_booking_by_ticket_type_takes_every_line_or_none() {
        let vip = ticket_type(2, 0);
        let general = ticket_type(10, 0);
        let mut locked = with_types(100, &[vip.clone(), general.clone()]);
        let now = Utc::now();
        let b = allocate(&mut locked, &by_type(&[(&general, 1), (&vip, 3)]), now);
        assert_eq!(b.reason, Some(RejectReason::SoldOut));
        assert_eq!(locked.inventory.sold, 0, "no line was taken");
        assert!(locked.types.values().all(|t| t.sold == 0));
        let b = allocate(&mut locked, &by_type(&[(&general, 2), (&vip, 2)]), now);
        assert_eq!(b.status, BookingStatus::Confirmed);
        assert_eq!((b.quantity, b.lines.len()), (4, 2));
        assert_eq!(locked.inventory.sold, 4);
        assert_eq!(locked.types[&vip.id].sold, 2);
        assert_eq!(locked.types[&general.id].sold, 2);
        assert_eq!(locked.availability().ticket_types.len(), 2);
    }

    #[test]
    fn the_events_capacity_caps_the_sum_of_its_ticket_types() {
        let a = ticket_type(3, 0);
        let b = ticket_type(3, 0);
        let mut locked = with_types(3, &[a.clone(), b.clone()]);
        let now = Utc::now();
        assert_eq!(
            allocate(&mut locked, &by_type(&[(&a, 2)]), now).status,
            BookingStatus::Confirmed
        );
        let refused = allocate(&mut locked, &by_type(&[(&b, 2)]), now);
        assert_eq!(refused.reason, Some(RejectReason::SoldOut));
        let shown: Vec<i32> = locked
            .availability()
            .ticket_types
            .iter()
            .map(|t| t.available)
            .collect();
        assert!(shown.iter().all(|a| *a == 1), "{shown:?}");
        assert_eq!(
            allocate(&mut locked, &by_type(&[(&b, 1)]), now).status,
            BookingStatus::Confirmed
        );
        assert_eq!(locked.inventory.available(), 0);
    }

    #[test]
    fn a_paid_booking_by_type_is_priced_by_its_lines_and_holds_them_until_paid() {
        let vip = ticket_type(5, 9000);
        let student = ticket_type(5, 1500);
        let mut locked = with_types(10, &[vip.clone(), student.clone()]);
        let b = allocate(
            &mut locked,
            &by_type(&[(&vip, 1), (&student, 2)]),
            Utc::now(),
        );
        assert_eq!(b.status, BookingStatus::Held);
        assert_eq!(b.amount_cents, 9000 + 2 * 1500);
        assert_eq!(
            (locked.inventory.held, locked.types[&student.id].held),
            (3, 2)
        );
        let mut b = b;
        assert!(release(&mut locked, &mut b, Utc::now()));
        assert_eq!(locked.inventory.held, 0);
        assert!(locked.types.values().all(|t| t.held == 0));
    }

    #[test]
    fn an_unknown_type_a_closed_type_or_too_many_of_one_type_is_rejected_with_its_reason() {
        let mut closed = ticket_type(5, 0);
        closed.sales_end = Some(Utc::now() - chrono::Duration::minutes(1));
        let mut limited = ticket_type(5, 0);
        limited.max_per_booking = Some(1);
        let stranger = ticket_type(5, 0);
        let mut locked = with_types(10, &[closed.clone(), limited.clone()]);
        let now = Utc::now();
        let reason =
            |l: &mut Locked, lines: &[(&TicketType, i32)]| allocate(l, &by_type(lines), now).reason;
        assert_eq!(
            reason(&mut locked, &[(&stranger, 1)]),
            Some(RejectReason::UnknownTicketType)
        );
        assert_eq!(
            reason(&mut locked, &[(&closed, 1)]),
            Some(RejectReason::TicketTypeNotOnSale)
        );
        assert_eq!(
            reason(&mut locked, &[(&limited, 2)]),
            Some(RejectReason::ExceedsMaxPerBooking)
        );
        assert_eq!(locked.inventory.sold, 0);
    }

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
            lines: Vec::new(),
            promo_code: None,
            seats: Vec::new(),
            best_available: None,
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
            .map(|q| allocate_in(&rules(), &mut inv, &command(q, false), now))
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
        let b = allocate_in(&paid, &mut inv, &command(2, false), now);
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
        let b = allocate_in(&rules(), &mut inv, &command(1, false), Utc::now());
        assert_eq!(b.reason, Some(RejectReason::SoldOut));
        let b = allocate_in(&rules(), &mut inv, &command(1, true), Utc::now());
        assert_eq!(b.status, BookingStatus::Waitlisted);
        inv.waiting = 0;
        let b = allocate_in(&rules(), &mut inv, &command(1, false), Utc::now());
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
        let b = allocate_in(&rules(), &mut inv, &command(1, true), Utc::now());
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
        let b = allocate_in(&closed, &mut inv, &command(1, false), Utc::now());
        assert_eq!(b.reason, Some(RejectReason::SalesClosed));
        let b = allocate_in(&rules(), &mut inv, &command(5, false), Utc::now());
        assert_eq!(b.reason, Some(RejectReason::ExceedsMaxPerBooking));
        assert_eq!(inv.sold, 0);
    }

    #[test]
    fn cancelling_gives_the_seats_back_once() {
        let mut locked = event(
            &rules(),
            Inventory {
                capacity: 3,
                ..Default::default()
            },
        );
        let now = Utc::now();
        let mut b = allocate(&mut locked, &command(3, false), now);
        assert_eq!(locked.inventory.available(), 0);
        assert!(release(&mut locked, &mut b, now));
        assert_eq!(
            (locked.inventory.available(), b.status),
            (3, BookingStatus::Cancelled)
        );
        assert!(!release(&mut locked, &mut b, now));
        assert_eq!(locked.inventory.available(), 3);
    }

    /// A seated event of one row of `n` seats of type `ty` (in a whole map).
    fn seated(n: i32, ty: &TicketType) -> Locked {
        let mut locked = with_types(100, std::slice::from_ref(ty));
        locked.seated = true;
        let seats = (0..n)
            .map(|i| Seat {
                id: format!("A-{i}"),
                ticket_type_id: ty.id,
                section: "Stalls".into(),
                row: "A".into(),
                number: (i + 1).to_string(),
                row_index: 0,
                seat_index: i,
                x: f64::from(i) * 10.0,
                y: 0.0,
                accessible: false,
                companion: false,
                blocked: false,
                taken: false,
            })
            .collect();
        locked.seats = SeatMap::new(seats, true, (0.0, 0.0));
        locked
    }

    fn seats(ids: &[&str]) -> ReserveSeats {
        ReserveSeats {
            seats: ids.iter().map(|s| (*s).to_owned()).collect(),
            ..command(0, false)
        }
    }

    #[test]
    fn particular_seats_are_booked_as_a_whole_and_never_twice() {
        let ty = ticket_type(10, 2_000);
        let mut locked = seated(4, &ty);
        let now = Utc::now();
        let first = allocate(&mut locked, &seats(&["A-0", "A-1"]), now);
        assert!(first.status.holds_seats(), "{first:?}");
        assert_eq!(first.quantity, 2);
        assert_eq!(first.amount_cents, 4_000);
        assert_eq!(
            first
                .seats
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>(),
            ["A-0", "A-1"]
        );
        assert_eq!(first.lines[0].quantity, 2);
        // One seat taken spoils the whole request: nothing of it is held.
        let second = allocate(&mut locked, &seats(&["A-2", "A-1"]), now);
        assert_eq!(second.reason, Some(RejectReason::SeatTaken));
        assert!(second.seats.is_empty());
        assert_eq!(locked.types[&ty.id].held + locked.types[&ty.id].sold, 2);
        let third = allocate(&mut locked, &seats(&["A-2"]), now);
        assert!(third.status.holds_seats());
        let unknown = allocate(&mut locked, &seats(&["Z-9"]), now);
        assert_eq!(unknown.reason, Some(RejectReason::UnknownSeat));
    }

    #[test]
    fn a_seated_event_wants_seats_and_an_unseated_one_has_none() {
        let ty = ticket_type(10, 2_000);
        let mut locked = seated(4, &ty);
        let now = Utc::now();
        let b = allocate(&mut locked, &command(1, true), now);
        assert_eq!(b.reason, Some(RejectReason::SeatsRequired));
        let mut pool = with_types(100, &[ty]);
        let b = allocate(&mut pool, &seats(&["A-0"]), now);
        assert_eq!(b.reason, Some(RejectReason::UnknownSeat));
    }

    #[test]
    fn best_available_takes_free_seats_of_the_type_until_none_are_left() {
        let ty = ticket_type(10, 0);
        let mut locked = seated(5, &ty);
        let ask = |quantity| ReserveSeats {
            best_available: Some(BestAvailable {
                ticket_type_id: ty.id,
                quantity,
                accessible: false,
            }),
            ..command(0, false)
        };
        let now = Utc::now();
        let first = allocate(&mut locked, &ask(2), now);
        assert_eq!(first.status, BookingStatus::Confirmed);
        assert_eq!(first.seats.len(), 2);
        let second = allocate(&mut locked, &ask(3), now);
        assert_eq!(second.seats.len(), 3);
        let third = allocate(&mut locked, &ask(1), now);
        assert_eq!(third.reason, Some(RejectReason::SoldOut));
        let mut all: Vec<_> = first
            .seats
            .iter()
            .chain(&second.seats)
            .map(|s| s.id.clone())
            .collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 5);
    }
}
