//! The roll-up arithmetic, without I/O: a batch's facts folded in memory into per-hour and
//! per-event increments, written afterwards with one statement per table. Each kind of domain
//! event is one small arm of [`Rollup::apply`].
//!
//! Rules (the same whatever order the events come in, so several instances and redeliveries agree):
//! - `confirmed` counts a booking, its seats and its revenue in the hour it was confirmed;
//! - `cancelled` of a booking that had been confirmed counts a cancellation, the seats it freed
//!   and its refund in the hour it was cancelled (if the cancellation is seen first, it is
//!   counted when the confirmation arrives); a cancelled hold counts nothing;
//! - `rejected` counts a rejection; `held`, `expired` and `waitlisted` count nothing;
//! - capacity is the one reported by the latest availability (`occurred_at`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use evently_schemas::{BookingEvent, BookingStatus};
use uuid::Uuid;

/// Additive per-hour (and per-event) booking counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub bookings_confirmed: i64,
    pub seats_sold: i64,
    pub revenue_cents: i64,
    pub cancellations: i64,
    pub seats_freed: i64,
    pub refunds_cents: i64,
    pub rejections: i64,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.bookings_confirmed += other.bookings_confirmed;
        self.seats_sold += other.seats_sold;
        self.revenue_cents += other.revenue_cents;
        self.cancellations += other.cancellations;
        self.seats_freed += other.seats_freed;
        self.refunds_cents += other.refunds_cents;
        self.rejections += other.rejections;
    }
}

/// What happened to a waitlist entry (`evt.waitlist.<verb>.<event_id>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitlistAction {
    Joined,
    Offered,
    Claimed,
    Expired,
    Left,
}

impl WaitlistAction {
    pub fn parse(verb: &str) -> Option<Self> {
        Some(match verb {
            "joined" => Self::Joined,
            "offered" => Self::Offered,
            "claimed" => Self::Claimed,
            "expired" => Self::Expired,
            "left" => Self::Left,
            _ => return None,
        })
    }
}

/// One decoded domain event, as far as analytics cares.
#[derive(Debug, Clone)]
pub enum Fact {
    Booking(Box<BookingEvent>),
    Capacity {
        event_id: Uuid,
        capacity: i32,
        at: DateTime<Utc>,
    },
    EventCancelled {
        event_id: Uuid,
        at: DateTime<Utc>,
    },
    Waitlist {
        event_id: Uuid,
        action: WaitlistAction,
    },
    TicketsIssued {
        event_id: Uuid,
        count: i64,
    },
    CheckedIn {
        event_id: Uuid,
        count: i64,
    },
    /// An event analytics does not roll up (e.g. `notification.sent`).
    Ignored,
}

impl Fact {
    /// Whether this is a copy of a fact decided before `horizon` (the inbox retention ago), which
    /// was counted when it was decided: a rejection whose booking was last changed before it. A
    /// republished rejection carries its stored booking, so its `updated_at` is the decision's
    /// time, whenever the copy is sent.
    pub fn is_stale_copy(&self, horizon: DateTime<Utc>) -> bool {
        match self {
            Fact::Booking(e) => {
                e.booking.status == BookingStatus::Rejected && e.booking.updated_at < horizon
            }
            _ => false,
        }
    }
}

/// Per-event increments of a batch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Totals {
    /// Empty when the batch saw no booking of the event.
    pub currency: String,
    /// The latest capacity seen in the batch, with when it was reported.
    pub capacity: Option<(i32, DateTime<Utc>)>,
    pub counts: Counts,
    /// Joined, offered, claimed, expired, left.
    pub waitlist: [i64; 5],
    pub tickets_issued: i64,
    pub checked_in: i64,
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// What analytics remembers of one booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingState {
    pub event_id: Uuid,
    pub quantity: i32,
    pub amount_cents: i64,
    pub currency: String,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// A batch's roll-up increments, and the booking states it read and changed.
#[derive(Debug, Default)]
pub struct Rollup {
    /// `(event, hour)` -> (currency, increments).
    pub hourly: BTreeMap<(Uuid, DateTime<Utc>), (String, Counts)>,
    pub totals: BTreeMap<Uuid, Totals>,
    /// The states of the bookings this batch touches, loaded (and locked) before folding.
    pub bookings: BTreeMap<Uuid, BookingState>,
}

/// The start of the UTC hour `at` falls in.
pub fn hour_of(at: DateTime<Utc>) -> DateTime<Utc> {
    let secs = at.timestamp();
    DateTime::from_timestamp(secs - secs.rem_euclid(3600), 0).unwrap_or(at)
}

impl Rollup {
    /// Whether folding `fact` needs the booking's stored state.
    pub fn needs_state(fact: &Fact) -> Option<&BookingEvent> {
        match fact {
            Fact::Booking(e)
                if matches!(
                    e.booking.status,
                    BookingStatus::Confirmed | BookingStatus::Cancelled
                ) =>
            {
                Some(e)
            }
            _ => None,
        }
    }

    /// Folds one fresh (never applied before) fact into the batch.
    pub fn apply(&mut self, fact: &Fact) {
        match fact {
            Fact::Booking(event) => self.booking(event),
            Fact::Capacity {
                event_id,
                capacity,
                at,
            } => self.capacity(*event_id, *capacity, *at),
            Fact::EventCancelled { event_id, at } => {
                let totals = self.totals.entry(*event_id).or_default();
                totals.cancelled_at = Some(totals.cancelled_at.map_or(*at, |c| c.min(*at)));
            }
            Fact::Waitlist { event_id, action } => {
                self.totals.entry(*event_id).or_default().waitlist[*action as usize] += 1;
            }
            Fact::TicketsIssued { event_id, count } => {
                self.totals.entry(*event_id).or_default().tickets_issued += count;
            }
            Fact::CheckedIn { event_id, count } => {
                self.totals.entry(*event_id).or_default().checked_in += count;
            }
            Fact::Ignored => {}
        }
    }

    fn capacity(&mut self, event_id: Uuid, capacity: i32, at: DateTime<Utc>) {
        let totals = self.totals.entry(event_id).or_default();
        if totals.capacity.is_none_or(|(_, seen)| at >= seen) {
            totals.capacity = Some((capacity, at));
        }
    }

    fn booking(&mut self, event: &BookingEvent) {
        let b = &event.booking;
        let at = event.occurred_at;
        if let Some(availability) = &event.availability {
            self.capacity(b.event_id, availability.capacity, at);
        }
        match b.status {
            BookingStatus::Confirmed => {
                let state = self.state(event);
                if state.confirmed_at.is_some() {
                    return;
                }
                state.confirmed_at = Some(at);
                let cancelled_at = state.cancelled_at;
                let state = state.clone();
                self.count(&state, at, confirmed(&state));
                if let Some(cancelled_at) = cancelled_at {
                    self.count(&state, cancelled_at, cancelled(&state));
                }
            }
            BookingStatus::Cancelled => {
                let state = self.state(event);
                if state.cancelled_at.is_some() {
                    return;
                }
                state.cancelled_at = Some(at);
                let state = state.clone();
                if state.confirmed_at.is_some() {
                    self.count(&state, at, cancelled(&state));
                }
            }
            BookingStatus::Rejected => {
                let counts = Counts {
                    rejections: 1,
                    ..Counts::default()
                };
                self.add(b.event_id, &b.currency, at, &counts);
            }
            BookingStatus::Held
            | BookingStatus::Expired
            | BookingStatus::Waitlisted
            | BookingStatus::Pending => {}
        }
    }

    /// The booking's state: as loaded, or new from the snapshot.
    fn state(&mut self, event: &BookingEvent) -> &mut BookingState {
        let b = &event.booking;
        self.bookings.entry(b.id).or_insert_with(|| BookingState {
            event_id: b.event_id,
            quantity: b.quantity,
            amount_cents: b.amount_cents,
            currency: b.currency.trim_end().to_owned(),
            confirmed_at: None,
            cancelled_at: None,
        })
    }

    fn count(&mut self, state: &BookingState, at: DateTime<Utc>, counts: Counts) {
        let (event_id, currency) = (state.event_id, state.currency.clone());
        self.add(event_id, &currency, at, &counts);
    }

    fn add(&mut self, event_id: Uuid, currency: &str, at: DateTime<Utc>, counts: &Counts) {
        let currency = currency.trim_end();
        let hourly = self
            .hourly
            .entry((event_id, hour_of(at)))
            .or_insert_with(|| (currency.to_owned(), Counts::default()));
        hourly.1.add(counts);
        let totals = self.totals.entry(event_id).or_default();
        totals.currency = currency.to_owned();
        totals.counts.add(counts);
    }
}

fn confirmed(state: &BookingState) -> Counts {
    Counts {
        bookings_confirmed: 1,
        seats_sold: i64::from(state.quantity),
        revenue_cents: state.amount_cents,
        ..Counts::default()
    }
}

fn cancelled(state: &BookingState) -> Counts {
    Counts {
        cancellations: 1,
        seats_freed: i64::from(state.quantity),
        refunds_cents: state.amount_cents,
        ..Counts::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use evently_schemas::{Availability, BookingSnapshot};

    fn event(id: Uuid, status: BookingStatus, at: &str) -> Fact {
        let at: DateTime<Utc> = at.parse().expect("time");
        Fact::Booking(Box::new(BookingEvent {
            booking: BookingSnapshot {
                id,
                event_id: Uuid::nil(),
                user_id: Uuid::nil(),
                quantity: 3,
                status,
                reason: None,
                amount_cents: 7500,
                currency: "EUR".into(),
                hold_expires_at: None,
                created_at: at,
                updated_at: at,
                lines: Vec::new(),
                promo_code_id: None,
                discount_cents: 0,
                seats: Vec::new(),
            },
            availability: Some(Availability {
                capacity: 100,
                sold: 3,
                held: 0,
                offered: 0,
                available: 97,
                ticket_types: Vec::new(),
            }),
            occurred_at: at,
        }))
    }

    fn fold(facts: &[Fact]) -> Rollup {
        let mut rollup = Rollup::default();
        for fact in facts {
            rollup.apply(fact);
        }
        rollup
    }

    #[test]
    fn a_cancelled_confirmed_booking_counts_in_the_hours_it_happened_whatever_the_order() {
        let id = Uuid::new_v4();
        let confirm = event(id, BookingStatus::Confirmed, "2026-01-01T10:15:00Z");
        let cancel = event(id, BookingStatus::Cancelled, "2026-01-01T12:40:00Z");
        let in_order = fold(&[confirm.clone(), cancel.clone()]);
        let reversed = fold(&[cancel, confirm]);
        assert_eq!(in_order.hourly, reversed.hourly);
        let ten = hour_of("2026-01-01T10:00:00Z".parse().expect("time"));
        let noon = hour_of("2026-01-01T12:00:00Z".parse().expect("time"));
        assert_eq!(in_order.hourly[&(Uuid::nil(), ten)].1.seats_sold, 3);
        assert_eq!(in_order.hourly[&(Uuid::nil(), noon)].1.refunds_cents, 7500);
        let totals = &in_order.totals[&Uuid::nil()];
        assert_eq!(totals.counts.seats_sold - totals.counts.seats_freed, 0);
        assert_eq!(totals.capacity.map(|c| c.0), Some(100));
    }

    #[test]
    fn a_cancelled_hold_and_an_expired_hold_count_nothing() {
        let id = Uuid::new_v4();
        let rollup = fold(&[
            event(id, BookingStatus::Held, "2026-01-01T10:00:00Z"),
            event(id, BookingStatus::Cancelled, "2026-01-01T10:05:00Z"),
            event(
                Uuid::new_v4(),
                BookingStatus::Expired,
                "2026-01-01T10:06:00Z",
            ),
        ]);
        assert!(rollup.hourly.values().all(|(_, c)| *c == Counts::default()));
    }

    #[test]
    fn only_a_rejection_decided_before_the_horizon_is_a_stale_copy() {
        let horizon: DateTime<Utc> = "2026-02-01T00:00:00Z".parse().expect("time");
        let old = event(
            Uuid::new_v4(),
            BookingStatus::Rejected,
            "2026-01-01T10:00:00Z",
        );
        let recent = event(
            Uuid::new_v4(),
            BookingStatus::Rejected,
            "2026-02-02T10:00:00Z",
        );
        let old_confirmed = event(
            Uuid::new_v4(),
            BookingStatus::Confirmed,
            "2026-01-01T10:00:00Z",
        );
        assert!(old.is_stale_copy(horizon));
        assert!(!recent.is_stale_copy(horizon));
        assert!(!old_confirmed.is_stale_copy(horizon));
    }

    #[test]
    fn waitlist_and_ticket_facts_add_to_the_event_totals() {
        let event_id = Uuid::new_v4();
        let rollup = fold(&[
            Fact::Waitlist {
                event_id,
                action: WaitlistAction::Joined,
            },
            Fact::Waitlist {
                event_id,
                action: WaitlistAction::Claimed,
            },
            Fact::TicketsIssued { event_id, count: 4 },
            Fact::CheckedIn { event_id, count: 1 },
        ]);
        let totals = &rollup.totals[&event_id];
        assert_eq!(totals.waitlist, [1, 0, 1, 0, 0]);
        assert_eq!((totals.tickets_issued, totals.checked_in), (4, 1));
    }
}
