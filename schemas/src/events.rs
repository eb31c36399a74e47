//! Domain events: what happened, published on `<prefix>.evt.*` subjects after the step committed,
//! with deterministic message ids (`<booking id>.<status>`) so a re-publish is dropped by the
//! stream's duplicate window.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::booking::BookingSnapshot;

/// An event's seat counts right after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Availability {
    pub capacity: i32,
    pub sold: i32,
    pub held: i32,
    pub available: i32,
}

/// A booking changed status (`confirmed`, `held`, `rejected`, `cancelled`, `expired`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BookingEvent {
    pub booking: BookingSnapshot,
    /// The event's availability after this step, when the step touched the inventory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability: Option<Availability>,
    pub occurred_at: DateTime<Utc>,
}

impl BookingEvent {
    /// The deterministic message id of this event.
    pub fn message_id(&self) -> String {
        format!("{}.{}", self.booking.id, self.booking.status.as_str())
    }
}
