//! The Evently contract: commands, domain events, subject names and their JSON Schemas.
//!
//! This crate does no I/O. Every message that crosses NATS is defined here once, so the gateway,
//! the consumers and services in other languages (through `schemas/json/*.json`) agree on it.

pub mod booking;
pub mod commands;
pub mod events;
pub mod json_schema;
pub mod notifications;
pub mod payments;
pub mod subjects;
pub mod tickets;
pub mod waitlist;

pub use booking::{BookingLine, BookingSeat, BookingSnapshot, BookingStatus, RejectReason};
pub use commands::{
    BestAvailable, BookingCommand, CancelBooking, CancelEvent, ChangeCapacity, EventChanges,
    LineRequest, ReserveSeats,
};
pub use events::{
    Availability, BookingEvent, EventCancelled, EventCapacityChanged, TypeAvailability,
};
pub use notifications::NotificationSent;
pub use payments::{
    ConfirmPayment, ExpireHold, PaymentEvent, PaymentSnapshot, PaymentStatus, payment_id,
};
pub use subjects::{Prefix, PrefixError};
pub use tickets::{TicketCheckedIn, TicketSummary, TicketsIssued, TicketsVoided};
pub use waitlist::{
    ClaimOffer, ExpireOffer, JoinWaitlist, LeaveWaitlist, WaitlistEntrySnapshot, WaitlistEvent,
    WaitlistStatus,
};
