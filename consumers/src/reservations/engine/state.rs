//! What a batch holds while it decides: the rows it locked ([`State`]) and what its decisions
//! cause besides changed rows ([`Effects`]): events to publish, payments and refunds to record,
//! outcomes to keep with the inbox, and replays of commands already applied.

use std::collections::{HashMap, HashSet};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use evently_schemas::{
    Availability, BookingEvent, BookingSnapshot, CancelEvent, EventCapacityChanged,
    PaymentSnapshot, WaitlistEntrySnapshot, WaitlistEvent,
};
use uuid::Uuid;

use crate::reservations::model::{Locked, Tracked};

/// The rows a batch locked, in their latest state. Commands are decided against it in stream
/// order; the engine writes it back in one go.
pub struct State {
    pub now: DateTime<Utc>,
    pub events: HashMap<Uuid, Locked>,
    pub bookings: HashMap<Uuid, Tracked<BookingSnapshot>>,
    pub entries: HashMap<Uuid, Tracked<WaitlistEntrySnapshot>>,
    /// Active waitlist entries `(event, user)`: one per user and event.
    pub active: HashSet<(Uuid, Uuid)>,
    /// The bookings each fresh event-cancellation round takes, by command id.
    pub rounds: HashMap<String, Vec<Uuid>>,
    /// Payments recorded already (before or by this batch).
    pub payments: HashSet<Uuid>,
    /// The reserves' users that exist.
    pub users: HashSet<Uuid>,
    pub effects: Effects,
}

impl State {
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            now,
            events: HashMap::new(),
            bookings: HashMap::new(),
            entries: HashMap::new(),
            active: HashSet::new(),
            rounds: HashMap::new(),
            payments: HashSet::new(),
            users: HashSet::new(),
            effects: Effects::default(),
        }
    }

    /// Records an entry's new state (an entry not read before is new) and its domain event.
    pub fn entry_changed(&mut self, entry: WaitlistEntrySnapshot) {
        if entry.status.is_active() {
            self.active.insert((entry.event_id, entry.user_id));
        } else {
            self.active.remove(&(entry.event_id, entry.user_id));
        }
        self.effects.entries.push(WaitlistEvent {
            entry: entry.clone(),
            occurred_at: self.now,
        });
        match self.entries.get_mut(&entry.id) {
            Some(tracked) => *tracked.change() = entry,
            None => {
                self.entries.insert(entry.id, Tracked::created(entry));
            }
        }
    }

    /// The entry linked to a booking, if the batch read it.
    pub fn entry_of_booking(&self, booking_id: Uuid) -> Option<WaitlistEntrySnapshot> {
        self.entries
            .values()
            .find(|e| e.value.booking_id == Some(booking_id))
            .map(|e| e.value.clone())
    }
}

/// The locked event a command is about.
pub fn locked(events: &mut HashMap<Uuid, Locked>, id: Uuid) -> anyhow::Result<&mut Locked> {
    events
        .get_mut(&id)
        .with_context(|| format!("event {id} does not exist"))
}

/// What a batch's decisions cause besides the rows in [`State`].
#[derive(Default)]
pub struct Effects {
    pub bookings: Vec<BookingEvent>,
    pub entries: Vec<WaitlistEvent>,
    /// Payments to record; each is published as a payment event.
    pub payments: Vec<PaymentSnapshot>,
    /// Bookings whose applied payments are refunded, with the reason.
    pub refunds: Vec<(Uuid, &'static str)>,
    /// Accepted edits of events' rows (the inventory rows are written from the locked events).
    pub edits: Vec<crate::reservations::commands::change_capacity::Accepted>,
    /// Capacity changes' outcomes, published.
    pub capacity: Vec<EventCapacityChanged>,
    /// Outcomes kept with their commands' inbox rows, published again on redelivery.
    pub outcomes: Vec<(String, serde_json::Value)>,
    /// Commands to publish after commit (the next round of an event's cancellation).
    pub follow_ups: Vec<CancelEvent>,
    /// Commands already applied: what they caused is published again.
    pub replays: Vec<Replay>,
}

impl Effects {
    /// A booking's domain event, with the event's seats after the change when they changed.
    pub fn booking(
        &mut self,
        booking: &BookingSnapshot,
        availability: Option<Availability>,
        now: DateTime<Utc>,
    ) {
        self.bookings.push(BookingEvent {
            booking: booking.clone(),
            availability,
            occurred_at: now,
        });
    }
}

/// What a command already applied publishes again (the stream's duplicate window drops copies
/// that were published before).
#[derive(Debug, Clone)]
pub enum Replay {
    Booking(Uuid),
    Entry(Uuid),
    Payment(Uuid),
    /// A capacity change: its stored outcome.
    Capacity(String),
    /// A round of an event's cancellation: its stored bookings, and the next round if any remain.
    Round(CancelEvent),
}
