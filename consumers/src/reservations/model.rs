//! The single writer's view of what a batch locked: an event's rules and seat counts, and the
//! bookings and waitlist entries it read, each tracked as new, changed or untouched. Free of I/O.

use chrono::{DateTime, Utc};
use evently_schemas::Availability;

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
        }
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
