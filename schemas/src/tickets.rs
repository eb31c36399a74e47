//! Ticket events, published by the `tickets` consumer after its batch committed:
//! `TicketsIssued` on `<prefix>.evt.ticket.issued.<event_id>` (message id
//! `<booking_id>.tickets-issued`) and `TicketsVoided` on `<prefix>.evt.ticket.voided.<event_id>`
//! (message id `<booking_id>.tickets-voided`).

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One ticket of a booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TicketSummary {
    pub id: Uuid,
    /// Human-readable, e.g. `K7QM-3XPA-9ZR` (the last character is a check character).
    pub ticket_number: String,
    /// Zero-based seat of the booking.
    pub seat_index: i32,
}

/// A confirmed booking's tickets were issued: one per seat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TicketsIssued {
    pub booking_id: Uuid,
    pub event_id: Uuid,
    pub user_id: Uuid,
    pub tickets: Vec<TicketSummary>,
    pub occurred_at: DateTime<Utc>,
}

impl TicketsIssued {
    pub fn message_id(&self) -> String {
        format!("{}.tickets-issued", self.booking_id)
    }
}

/// A cancelled booking's tickets were voided: they no longer admit anyone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TicketsVoided {
    pub booking_id: Uuid,
    pub event_id: Uuid,
    pub user_id: Uuid,
    pub ticket_ids: Vec<Uuid>,
    pub occurred_at: DateTime<Utc>,
}

impl TicketsVoided {
    pub fn message_id(&self) -> String {
        format!("{}.tickets-voided", self.booking_id)
    }
}

/// A ticket admitted its holder at the door (`<prefix>.evt.ticket.checked_in.<event_id>`, message
/// id `<ticket_id>.checked_in`): once per ticket, whatever the number of scans.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TicketCheckedIn {
    pub ticket_id: Uuid,
    pub booking_id: Uuid,
    pub event_id: Uuid,
    /// Who scanned it (the organizer or an admin).
    pub checked_in_by: Uuid,
    pub occurred_at: DateTime<Utc>,
}

impl TicketCheckedIn {
    pub fn message_id(&self) -> String {
        format!("{}.checked_in", self.ticket_id)
    }
}
