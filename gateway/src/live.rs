//! Live availability for Server-Sent Events: one `watch` channel per event that somebody is
//! watching, fed from the domain events the gateway already receives from NATS. A watch keeps only
//! the latest value, so a flash sale's thousands of updates per second reach each stream as the
//! newest figure at most a few times a second, and 1,000 open streams cost 1,000 idle tasks, not
//! 1,000 queries.

use std::collections::HashMap;

use evently_schemas::Availability;
use parking_lot::Mutex;
use tokio::sync::watch;
use uuid::Uuid;

#[derive(Default)]
pub struct LiveHub {
    channels: Mutex<HashMap<Uuid, watch::Sender<Availability>>>,
}

impl LiveHub {
    /// A receiver of `event_id`'s availability, starting from `current` when nobody watched yet.
    pub fn watch(&self, event_id: Uuid, current: Availability) -> watch::Receiver<Availability> {
        let mut channels = self.channels.lock();
        match channels.get(&event_id) {
            Some(tx) => tx.subscribe(),
            None => {
                let (tx, rx) = watch::channel(current);
                channels.insert(event_id, tx);
                rx
            }
        }
    }

    /// Passes on a new availability; forgets events nobody watches any more.
    pub fn publish(&self, event_id: Uuid, availability: Availability) {
        let mut channels = self.channels.lock();
        if let Some(tx) = channels.get(&event_id) {
            if tx.receiver_count() == 0 {
                channels.remove(&event_id);
            } else {
                tx.send_replace(availability);
            }
        }
    }

    /// How many events have watchers (for metrics).
    pub fn watched(&self) -> usize {
        self.channels.lock().len()
    }
}

/// One seat's new status, for the seat map's live stream.
#[derive(Debug, Clone, serde::Serialize, salvo::oapi::ToSchema)]
pub struct SeatChange {
    /// The plan's seat id.
    pub id: String,
    /// `free`, `held` or `sold`.
    pub status: &'static str,
}

/// Seat changes for the seat maps' Server-Sent Events: one broadcast channel per seated event
/// somebody watches, fed from the same booking events (a decision names its booking's seats).
/// Unlike availability these are deltas, so each stream gets every change; a stream that falls
/// behind is told to read the map again.
#[derive(Default)]
pub struct SeatHub {
    channels: Mutex<HashMap<Uuid, tokio::sync::broadcast::Sender<std::sync::Arc<Vec<SeatChange>>>>>,
}

impl SeatHub {
    pub fn watch(
        &self,
        event_id: Uuid,
    ) -> tokio::sync::broadcast::Receiver<std::sync::Arc<Vec<SeatChange>>> {
        self.channels
            .lock()
            .entry(event_id)
            .or_insert_with(|| tokio::sync::broadcast::channel(1024).0)
            .subscribe()
    }

    /// Passes on a booking's seats in its new status; forgets events nobody watches any more.
    pub fn booking_changed(&self, booking: &evently_schemas::BookingSnapshot) {
        if booking.seats.is_empty() {
            return;
        }
        let mut channels = self.channels.lock();
        let Some(tx) = channels.get(&booking.event_id) else {
            return;
        };
        if tx.receiver_count() == 0 {
            channels.remove(&booking.event_id);
            return;
        }
        let status = match booking.status {
            evently_schemas::BookingStatus::Held => "held",
            evently_schemas::BookingStatus::Confirmed => "sold",
            _ => "free",
        };
        let changes = booking
            .seats
            .iter()
            .map(|s| SeatChange {
                id: s.id.clone(),
                status,
            })
            .collect();
        let _ = tx.send(std::sync::Arc::new(changes));
    }
}
