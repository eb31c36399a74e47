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
