//! The single writer's view of what a batch locked: an event's rules and seat counts (its ticket
//! types' too), and the bookings and waitlist entries it read, each tracked as new, changed or
//! untouched. Free of I/O.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use evently_schemas::{Availability, BookingLine, BookingSeat, TypeAvailability};
use uuid::Uuid;

use super::seating::SeatMap;

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

impl Rules {
    /// Whether people may still join the event's waitlist at `now`.
    pub fn on_sale(&self, now: DateTime<Utc>) -> bool {
        self.active && now < self.ends_at && self.sales_end.is_none_or(|e| now < e)
    }

    pub fn hold(&self) -> chrono::Duration {
        chrono::Duration::minutes(i64::from(self.hold_minutes))
    }
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
            ticket_types: Vec::new(),
        }
    }
}

/// A ticket type of a locked event: its own limits and seat counts. A seat of a type counts
/// against the type's quota and the event's capacity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketType {
    pub id: Uuid,
    pub price_cents: i64,
    pub quota: i32,
    pub sold: i32,
    pub held: i32,
    /// Seats of the type held for open waitlist offers.
    pub offered: i32,
    /// Waitlist entries waiting for the type: while any wait, its freed seats are theirs.
    pub waiting: i64,
    pub sales_start: Option<DateTime<Utc>>,
    pub sales_end: Option<DateTime<Utc>>,
    pub max_per_booking: Option<i32>,
    /// Bookable only with a promo code that names it.
    pub hidden: bool,
    /// Whether the row is to be written.
    pub touched: bool,
}

/// A promo code of a locked event, as a reserve command names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromoCode {
    pub id: Uuid,
    pub percent_off: Option<i32>,
    pub amount_off_cents: Option<i64>,
    /// The ticket types it applies to (and unlocks when hidden); empty: every type, or an event
    /// sold as one pool of seats.
    pub ticket_type_ids: Vec<Uuid>,
    pub max_uses: Option<i32>,
    pub uses: i32,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_to: Option<DateTime<Utc>>,
}

impl PromoCode {
    pub fn covers(&self, ticket_type: Uuid) -> bool {
        self.ticket_type_ids.is_empty() || self.ticket_type_ids.contains(&ticket_type)
    }

    pub fn valid_at(&self, at: DateTime<Utc>) -> bool {
        self.valid_from.is_none_or(|f| at >= f) && self.valid_to.is_none_or(|t| at < t)
    }

    pub fn used_up(&self) -> bool {
        self.max_uses.is_some_and(|m| self.uses >= m)
    }

    /// What it takes off `eligible` (the price of the tickets it applies to), never more.
    pub fn discount(&self, eligible: i64) -> i64 {
        let off = match (self.percent_off, self.amount_off_cents) {
            (Some(percent), _) => eligible * i64::from(percent) / 100,
            (None, Some(amount)) => amount,
            (None, None) => 0,
        };
        off.clamp(0, eligible.max(0))
    }
}

impl TicketType {
    pub fn available(&self) -> i32 {
        (self.quota - self.sold - self.held - self.offered).max(0)
    }

    /// Whether the type's own sales window is open at `at`.
    pub fn on_sale(&self, at: DateTime<Utc>) -> bool {
        self.sales_start.is_none_or(|s| at >= s) && self.sales_end.is_none_or(|e| at < e)
    }
}

/// One event as locked for the batch.
#[derive(Debug, Clone)]
pub struct Locked {
    pub rules: Rules,
    pub inventory: Inventory,
    /// The event row's version (optimistic locking of edits).
    pub version: i32,
    /// Whether the inventory row is to be written.
    pub touched: bool,
    /// The event's ticket types, by id (none for an event sold as one pool of seats).
    pub types: BTreeMap<Uuid, TicketType>,
    /// The event's promo codes the batch's commands name, by code.
    pub codes: BTreeMap<String, PromoCode>,
    /// Uses taken (+) and given back (-) by the batch, by promo code id.
    pub code_uses: BTreeMap<Uuid, i32>,
    /// Whether the event is seated (booked by particular seats or best-available only).
    pub seated: bool,
    /// The seats the batch's reserves need (`seating.rs`).
    pub seats: SeatMap,
    /// `event_seating.seat_version` as locked (and as written, once the batch bumped it).
    pub seat_version: i64,
    /// Whether the batch took or freed a seat of the event.
    pub seats_changed: bool,
}

impl Locked {
    /// The event's seats, and each ticket type's (never more than the event has left).
    pub fn availability(&self) -> Availability {
        let mut availability = self.inventory.availability();
        availability.ticket_types = self
            .types
            .values()
            .map(|t| TypeAvailability {
                id: t.id,
                available: t.available().min(availability.available),
            })
            .collect();
        availability
    }

    /// A booking's particular seats become free again (those the batch locked; the others are
    /// freed in the database by the booking's end).
    pub fn free_seats(&mut self, seats: &[BookingSeat]) {
        if !seats.is_empty() {
            self.seats.free(seats);
            self.seats_changed = true;
        }
    }

    /// Seats held for a waitlist offer (of a ticket type, or of the event) are no longer held.
    pub fn give_back_offer(&mut self, quantity: i32, ticket_type_id: Option<Uuid>) {
        self.inventory.offered = (self.inventory.offered - quantity).max(0);
        if let Some(t) = ticket_type_id.and_then(|t| self.types.get_mut(&t)) {
            t.offered = (t.offered - quantity).max(0);
            t.touched = true;
        }
        self.touched = true;
    }

    /// A booking that held seats with a promo code gives its use back.
    pub fn give_back_code(&mut self, promo_code_id: Option<Uuid>) {
        let Some(id) = promo_code_id else {
            return;
        };
        *self.code_uses.entry(id).or_default() -= 1;
        if let Some(code) = self.codes.values_mut().find(|c| c.id == id) {
            code.uses = (code.uses - 1).max(0);
        }
        self.touched = true;
    }

    /// Moves a booking's seats: `held` and `sold` change by `quantity` times the given signs (-1,
    /// 0 or 1), for the event and for each line's ticket type. Counts never go below zero.
    pub fn move_seats(&mut self, quantity: i32, lines: &[BookingLine], held: i32, sold: i32) {
        self.inventory.held = (self.inventory.held + held * quantity).max(0);
        self.inventory.sold = (self.inventory.sold + sold * quantity).max(0);
        for line in lines {
            if let Some(t) = self.types.get_mut(&line.ticket_type_id) {
                t.held = (t.held + held * line.quantity).max(0);
                t.sold = (t.sold + sold * line.quantity).max(0);
                t.touched = true;
            }
        }
        self.touched = true;
    }
}

/// A row the batch read or created, in its latest state.
#[derive(Debug, Clone)]
pub struct Tracked<T> {
    pub value: T,
    /// Created by this batch: inserted (in its latest state) rather than updated.
    pub is_new: bool,
    /// An existing row this batch changed.
    pub changed: bool,
}

impl<T> Tracked<T> {
    pub fn loaded(value: T) -> Self {
        Self {
            value,
            is_new: false,
            changed: false,
        }
    }

    pub fn created(value: T) -> Self {
        Self {
            value,
            is_new: true,
            changed: false,
        }
    }

    /// Marks the row for writing and hands it out to change.
    pub fn change(&mut self) -> &mut T {
        if !self.is_new {
            self.changed = true;
        }
        &mut self.value
    }
}
