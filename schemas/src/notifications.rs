//! Notification events: `<prefix>.evt.notification.sent.<channel>`, published by the
//! notifications consumer after each delivery (message id `<source>.<user>.<channel>.<target>`),
//! so that a live view (`GET /me/live`) or an audit can follow what each user was told.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One notification delivered to one user on one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NotificationSent {
    /// The in-app notification's id (the same for every channel of one notice).
    pub notification_id: Uuid,
    pub user_id: Uuid,
    /// `in_app`, `email` or `push`.
    pub channel: String,
    /// The push subscription id for `push`, empty otherwise.
    #[serde(default)]
    pub target: String,
    /// What it is about: `booking_confirmed`, `waitlist_offered`, ...
    pub kind: String,
    /// The domain event it comes from (its deterministic id, e.g. `<booking id>.confirmed`).
    pub source_id: String,
    pub title: String,
    pub body: String,
    pub occurred_at: DateTime<Utc>,
}

impl NotificationSent {
    pub fn message_id(&self) -> String {
        format!(
            "{}.{}.{}.{}",
            self.source_id, self.user_id, self.channel, self.target
        )
    }
}
