//! One file per command kind. Each `decide` is a pure function over the batch's locked
//! [`State`]: it changes rows in memory and records what they cause in `state.effects`; the
//! engine loads, writes and publishes. An `Err` refuses the command for good (it is
//! dead-lettered) and must leave the state as it found it.
//!
//! A new command: a variant of `BookingCommand` (schemas), a file here with its `decide`, and a
//! line in each `match` below: what it needs locked, and what it publishes again when it comes a
//! second time.

pub mod cancel;
pub mod cancel_event;
pub mod change_capacity;
pub mod claim_offer;
pub mod confirm_payment;
pub mod expire_hold;
pub mod expire_offer;
pub mod join_waitlist;
pub mod leave_waitlist;
pub mod reserve;

use evently_schemas::BookingCommand;

use super::engine::{Needs, Replay, State};

/// Decides one command against the batch's state.
pub fn decide(command: &BookingCommand, state: &mut State) -> anyhow::Result<()> {
    match command {
        BookingCommand::Reserve(c) => reserve::decide(c, state),
        BookingCommand::Cancel(c) => cancel::decide(c, state),
        BookingCommand::ChangeCapacity(c) => change_capacity::decide(c, state),
        BookingCommand::CancelEvent(c) => cancel_event::decide(c, state),
        BookingCommand::ConfirmPayment(c) => confirm_payment::decide(c, state),
        BookingCommand::ExpireHold(c) => expire_hold::decide(c, state),
        BookingCommand::JoinWaitlist(c) => join_waitlist::decide(c, state),
        BookingCommand::LeaveWaitlist(c) => leave_waitlist::decide(c, state),
        BookingCommand::ClaimOffer(c) => claim_offer::decide(c, state),
        BookingCommand::ExpireOffer(c) => expire_offer::decide(c, state),
    }
}

/// What a command needs locked before it is decided (the engine locks it all in a fixed order).
pub fn needs(command: &BookingCommand, needs: &mut Needs) {
    needs.events.insert(command.event_id());
    match command {
        BookingCommand::Reserve(c) => {
            // A reserve whose booking exists was applied before: it is replayed.
            needs.bookings.push(c.booking_id);
            needs.users.insert(c.user_id);
            needs
                .codes
                .extend(c.promo_code.iter().map(|code| (c.event_id, code.clone())));
            needs
                .seats
                .extend(c.seats.iter().map(|s| (c.event_id, s.clone())));
            if c.best_available.is_some() {
                needs.seat_maps.insert(c.event_id);
            }
            if c.waitlist_if_sold_out {
                needs.joiners.push((c.event_id, c.user_id));
            }
        }
        BookingCommand::Cancel(c) => {
            needs.bookings.push(c.booking_id);
            needs.entries_of_bookings.push(c.booking_id);
        }
        BookingCommand::ChangeCapacity(_) => {}
        BookingCommand::CancelEvent(c) => needs.rounds.push((c.command_id(), c.event_id)),
        BookingCommand::ConfirmPayment(c) => {
            needs.bookings.push(c.booking_id);
            needs.payments.push(c.payment_id);
        }
        BookingCommand::ExpireHold(c) => needs.bookings.push(c.booking_id),
        BookingCommand::JoinWaitlist(c) => {
            needs.entries.push(c.entry_id);
            needs.joiners.push((c.event_id, c.user_id));
        }
        BookingCommand::LeaveWaitlist(c) => needs.entries.push(c.entry_id),
        BookingCommand::ClaimOffer(c) => needs.entries.push(c.entry_id),
        BookingCommand::ExpireOffer(c) => needs.entries.push(c.entry_id),
    }
}

/// Whether an inbox row keeps the command from being applied twice. A reserve needs none: its
/// booking id is the bookings table's key, so a redelivered one finds its booking and replays it
/// (storage grows with the bookings, not with one inbox row per request besides).
pub fn uses_inbox(command: &BookingCommand) -> bool {
    !matches!(command, BookingCommand::Reserve(_))
}

/// What a command the inbox has seen publishes again.
pub fn replay(command: &BookingCommand) -> Vec<Replay> {
    match command {
        BookingCommand::Reserve(c) => vec![Replay::Booking(c.booking_id)],
        BookingCommand::Cancel(c) => vec![Replay::Booking(c.booking_id)],
        BookingCommand::ChangeCapacity(c) => vec![Replay::Capacity(c.command_id())],
        BookingCommand::CancelEvent(c) => vec![Replay::Round(c.clone())],
        BookingCommand::ConfirmPayment(c) => {
            vec![Replay::Payment(c.payment_id), Replay::Booking(c.booking_id)]
        }
        BookingCommand::ExpireHold(c) => vec![Replay::Booking(c.booking_id)],
        BookingCommand::JoinWaitlist(c) => vec![Replay::Entry(c.entry_id)],
        BookingCommand::LeaveWaitlist(c) => vec![Replay::Entry(c.entry_id)],
        BookingCommand::ClaimOffer(c) => vec![Replay::Entry(c.entry_id)],
        BookingCommand::ExpireOffer(c) => vec![Replay::Entry(c.entry_id)],
    }
}
