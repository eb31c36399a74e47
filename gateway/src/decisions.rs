//! The gateway's ear on the pipeline: one core-NATS subscription to every booking event, routing
//! each decision to the requests waiting for it. Also remembers the bookings this gateway answered
//! `202 pending` for, so their `Location` answers `pending` until the decision lands.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use evently_schemas::{BookingEvent, BookingSnapshot, BookingStatus, EventCapacityChanged, Prefix};
use futures::StreamExt;
use parking_lot::Mutex;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::live::{LiveHub, SeatHub};

type Wanted = fn(BookingStatus) -> bool;

struct Waiter {
    id: u64,
    wanted: Wanted,
    tx: oneshot::Sender<BookingSnapshot>,
}

/// A booking accepted by the stream whose decision this gateway has not seen yet.
#[derive(Debug, Clone)]
pub struct PendingBooking {
    pub snapshot: BookingSnapshot,
    since: Instant,
}

const PENDING_TTL: Duration = Duration::from_secs(15 * 60);

#[derive(Default)]
pub struct DecisionHub {
    /// Availability for the `live` streams, from the same events.
    pub live: LiveHub,
    /// Seat changes for the seat maps' `live` streams, from the same events.
    pub seats: SeatHub,
    /// Per-user live updates (`/me/live`), fed the booking events from this subscription.
    pub users: Arc<crate::live_user::UserHub>,
    waiters: Mutex<HashMap<Uuid, Vec<Waiter>>>,
    pending: Mutex<Pending>,
    next_id: std::sync::atomic::AtomicU64,
}

/// Bookings answered `202`, pruned of old entries at most once a minute (not on every insert,
/// which would cost a scan per request when many are pending).
struct Pending {
    bookings: HashMap<Uuid, PendingBooking>,
    pruned: Instant,
}

impl Default for Pending {
    fn default() -> Self {
        Self {
            bookings: HashMap::new(),
            pruned: Instant::now(),
        }
    }
}

/// Waits for one booking's decision; unregisters itself when dropped.
pub struct Subscription<'a> {
    hub: &'a DecisionHub,
    booking_id: Uuid,
    id: u64,
    rx: oneshot::Receiver<BookingSnapshot>,
}

impl Subscription<'_> {
    /// The first matching snapshot within `wait`, or `None`.
    pub async fn wait(mut self, wait: Duration) -> Option<BookingSnapshot> {
        tokio::time::timeout(wait, &mut self.rx).await.ok()?.ok()
    }
}

impl Drop for Subscription<'_> {
    fn drop(&mut self) {
        let mut waiters = self.hub.waiters.lock();
        if let Some(list) = waiters.get_mut(&self.booking_id) {
            list.retain(|w| w.id != self.id);
            if list.is_empty() {
                waiters.remove(&self.booking_id);
            }
        }
    }
}

impl DecisionHub {
    /// Subscribes to every booking event under `prefix` and routes them until `shutdown`.
    pub async fn start(
        client: &async_nats::Client,
        prefix: &Prefix,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Arc<Self>> {
        let hub = Arc::new(Self::default());
        let bookings = client
            .subscribe(prefix.all_booking_events())
            .await
            .context("subscribing to booking events")?;
        let events = client
            .subscribe(prefix.all_event_events())
            .await
            .context("subscribing to event events")?;
        let mut sub = futures::stream::select(bookings, events);
        client.flush().await.context("flushing the subscription")?;
        let routed = hub.clone();
        tokio::spawn(async move {
            loop {
                let msg = tokio::select! {
                    _ = shutdown.cancelled() => break,
                    msg = sub.next() => match msg { Some(m) => m, None => break },
                };
                if msg.subject.as_str().contains(".evt.event.") {
                    if let Ok(changed) =
                        serde_json::from_slice::<EventCapacityChanged>(&msg.payload)
                    {
                        routed.live.publish(changed.event_id, changed.availability);
                    }
                    continue;
                }
                match serde_json::from_slice::<BookingEvent>(&msg.payload) {
                    Ok(event) => {
                        if let Some(availability) = event.availability {
                            routed.live.publish(event.booking.event_id, availability);
                        }
                        routed.users.booking_changed(&event.booking);
                        routed.seats.booking_changed(&event.booking);
                        routed.deliver(event.booking)
                    }
                    Err(e) => {
                        tracing::warn!(subject = %msg.subject, error = %e, "undecodable booking event")
                    }
                }
            }
        });
        Ok(hub)
    }

    /// Registers interest in `booking_id` reaching a status for which `wanted` is true. Register
    /// before publishing the command, so a fast decision cannot be missed.
    pub fn subscribe(&self, booking_id: Uuid, wanted: Wanted) -> Subscription<'_> {
        let (tx, rx) = oneshot::channel();
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.waiters
            .lock()
            .entry(booking_id)
            .or_default()
            .push(Waiter { id, wanted, tx });
        Subscription {
            hub: self,
            booking_id,
            id,
            rx,
        }
    }

    fn deliver(&self, snapshot: BookingSnapshot) {
        if snapshot.status.is_decided() {
            self.pending.lock().bookings.remove(&snapshot.id);
        }
        let mut waiters = self.waiters.lock();
        let Some(list) = waiters.get_mut(&snapshot.id) else {
            return;
        };
        let mut kept = Vec::with_capacity(list.len());
        for w in list.drain(..) {
            if (w.wanted)(snapshot.status) {
                let _ = w.tx.send(snapshot.clone());
            } else {
                kept.push(w);
            }
        }
        if kept.is_empty() {
            waiters.remove(&snapshot.id);
        } else {
            *list = kept;
        }
    }

    /// Remembers a booking answered with 202 until its decision arrives.
    pub fn remember_pending(&self, snapshot: BookingSnapshot) {
        let mut pending = self.pending.lock();
        if pending.pruned.elapsed() > Duration::from_secs(60) {
            pending.pruned = Instant::now();
            pending
                .bookings
                .retain(|_, p| p.since.elapsed() < PENDING_TTL);
        }
        pending.bookings.insert(
            snapshot.id,
            PendingBooking {
                snapshot,
                since: Instant::now(),
            },
        );
    }

    pub fn pending(&self, booking_id: Uuid) -> Option<PendingBooking> {
        self.pending.lock().bookings.get(&booking_id).cloned()
    }
}
