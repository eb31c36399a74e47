//! Per-user live updates: one small `broadcast` channel per user with an open stream (or a request
//! waiting for an outcome), fed from the domain events the gateway receives over core NATS
//! (bookings, through the decision hub's subscription; waitlist entries and payments, through
//! this hub's own) and filtered by user id. A user nobody listens for costs
//! nothing but a map lookup per event. Other features push their own items (e.g. in-app
//! notifications) with [`UserHub::publish`]; `GET /me/live` streams every item as an SSE event
//! named by its `kind`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use evently_schemas::{NotificationSent, PaymentEvent, Prefix, WaitlistEvent};
use futures::StreamExt;
use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Items a slow stream may fall behind by before it skips the oldest.
const CAPACITY: usize = 64;

/// One change for one user.
#[derive(Debug, Clone, Serialize)]
pub struct LiveItem {
    /// `booking`, `waitlist`, `payment` (and `notification` from the notifications feature).
    pub kind: &'static str,
    /// The id of the thing that changed (booking, entry, payment, notification).
    pub id: Uuid,
    /// Its new status.
    pub status: String,
    /// The thing as its domain event carries it.
    pub data: serde_json::Value,
}

#[derive(Default)]
pub struct UserHub {
    channels: Mutex<HashMap<Uuid, broadcast::Sender<Arc<LiveItem>>>>,
}

impl UserHub {
    /// Subscribes to waitlist, payment and in-app notification events under `prefix` and routes
    /// them to their users until `shutdown` (booking events come from the decision hub, see
    /// [`Self::booking_changed`]).
    pub async fn start(
        self: &Arc<Self>,
        client: &async_nats::Client,
        prefix: &Prefix,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let mut subs = Vec::new();
        for subject in [
            prefix.all_waitlist_events(),
            prefix.all_payment_events(),
            prefix.notification_sent("in_app"),
        ] {
            subs.push(
                client
                    .subscribe(subject)
                    .await
                    .context("subscribing to user events")?,
            );
        }
        client.flush().await.context("flushing the subscriptions")?;
        let mut messages = futures::stream::select_all(subs);
        let routed = self.clone();
        tokio::spawn(async move {
            loop {
                let msg = tokio::select! {
                    _ = shutdown.cancelled() => break,
                    msg = messages.next() => match msg { Some(m) => m, None => break },
                };
                if routed.channels.lock().is_empty() {
                    continue;
                }
                if let Some((user, item)) = decode(msg.subject.as_str(), &msg.payload) {
                    routed.publish(user, item);
                }
            }
        });
        Ok(())
    }

    /// A booking changed: passed on if its holder listens (nothing is encoded otherwise).
    pub fn booking_changed(&self, booking: &evently_schemas::BookingSnapshot) {
        if !self.channels.lock().contains_key(&booking.user_id) {
            return;
        }
        if let Ok(data) = serde_json::to_value(booking) {
            let item = LiveItem {
                kind: "booking",
                id: booking.id,
                status: booking.status.as_str().to_owned(),
                data,
            };
            self.publish(booking.user_id, item);
        }
    }

    /// A receiver of `user`'s items from now on.
    pub fn subscribe(&self, user: Uuid) -> broadcast::Receiver<Arc<LiveItem>> {
        let mut channels = self.channels.lock();
        match channels.get(&user) {
            Some(tx) => tx.subscribe(),
            None => {
                let (tx, rx) = broadcast::channel(CAPACITY);
                channels.insert(user, tx);
                rx
            }
        }
    }

    /// Passes an item to `user`'s listeners, if any; forgets users nobody listens to any more.
    pub fn publish(&self, user: Uuid, item: LiveItem) {
        let mut channels = self.channels.lock();
        if let Some(tx) = channels.get(&user)
            && tx.send(Arc::new(item)).is_err()
        {
            channels.remove(&user);
        }
    }

    /// Users with listeners (for metrics).
    pub fn listened(&self) -> usize {
        self.channels.lock().len()
    }
}

/// The user and item a domain event is about.
fn decode(subject: &str, payload: &[u8]) -> Option<(Uuid, LiveItem)> {
    if subject.contains(".evt.waitlist.") {
        let e: WaitlistEvent = serde_json::from_slice(payload).ok()?;
        let item = LiveItem {
            kind: "waitlist",
            id: e.entry.id,
            status: e.entry.status.as_str().to_owned(),
            data: serde_json::to_value(&e.entry).ok()?,
        };
        Some((e.entry.user_id, item))
    } else if subject.contains(".evt.payment.") {
        let e: PaymentEvent = serde_json::from_slice(payload).ok()?;
        let item = LiveItem {
            kind: "payment",
            id: e.payment.id,
            status: e.payment.status.as_str().to_owned(),
            data: serde_json::to_value(&e.payment).ok()?,
        };
        Some((e.payment.user_id, item))
    } else if subject.contains(".evt.notification.sent.") {
        let e: NotificationSent = serde_json::from_slice(payload).ok()?;
        let item = LiveItem {
            kind: "notification",
            id: e.notification_id,
            status: "unread".to_owned(),
            data: serde_json::to_value(&e).ok()?,
        };
        Some((e.user_id, item))
    } else {
        None
    }
}

/// Waits up to `wait` for an item that `wanted` accepts.
pub async fn wait_for(
    rx: &mut broadcast::Receiver<Arc<LiveItem>>,
    wait: Duration,
    wanted: impl Fn(&LiveItem) -> bool,
) -> Option<Arc<LiveItem>> {
    let until = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(until, rx.recv()).await {
            Err(_) => return None,
            Ok(Ok(item)) if wanted(&item) => return Some(item),
            Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
            Ok(Err(broadcast::error::RecvError::Closed)) => return None,
        }
    }
}
