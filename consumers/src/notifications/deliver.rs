//! Delivers one notice on each of its recipient's channels, in order: the in-app row, the email,
//! then a Web Push to every subscription. Each delivery goes through the ledger (claim, send,
//! mark), so a channel already served is never served again when the domain event comes back.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use evently_schemas::NotificationSent;
use parking_lot::Mutex;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use super::email::{Attachment, EmailMessage, Mailer, SendError};
use super::ledger::{self, Claim, Key};
use super::plan::{Notice, time};
use super::push::{PushOutcome, Pusher, Subscription};
use super::templates::{Rendered, Templates};

/// How long an event's name and time are reused (an edit shows in messages after this).
const EVENT_CACHE_TTL: Duration = Duration::from_secs(10);

pub struct Deliverer {
    pub pool: PgPool,
    pub events: Mutex<HashMap<Uuid, (Instant, EventInfo)>>,
    pub templates: Templates,
    pub mailer: Option<Mailer>,
    pub pusher: Option<Pusher>,
    pub public_url: String,
}

/// What delivering one notice did.
#[derive(Default)]
pub struct Delivered {
    /// Deliveries made (or found made before): their `notification.sent` events.
    pub sent: Vec<NotificationSent>,
    /// A channel failed transiently: the domain event is to be retried.
    pub transient: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Recipient {
    email: String,
    name: String,
    by_email: bool,
    by_push: bool,
    in_app: bool,
    /// The push subscriptions (when push is on), as JSON.
    subscriptions: sqlx::types::Json<Vec<Subscription>>,
}

#[derive(Clone, sqlx::FromRow)]
pub struct EventInfo {
    name: String,
    starts_at: DateTime<Utc>,
    venue: Option<String>,
}

/// Counts deliveries by channel and outcome.
fn count(channel: &'static str, outcome: &'static str) {
    metrics::counter!("evently_notifications_total", "channel" => channel, "outcome" => outcome)
        .increment(1);
}

impl Deliverer {
    /// Delivers `notice`. `Err` means the database failed (retry the domain event).
    pub async fn deliver(&self, notice: &Notice) -> anyhow::Result<Delivered> {
        let mut out = Delivered::default();
        let Some(recipient) = self.recipient(notice.user_id).await? else {
            return Ok(out);
        };
        let data = self.data(notice, &recipient).await?;
        let rendered = self.templates.render(notice.kind, &data)?;
        let key = |channel, target: String| Key {
            source_id: &notice.source_id,
            user_id: notice.user_id,
            channel,
            target,
        };
        let in_app = key("in_app", String::new());
        if !notice.in_app_and_push {
            // Email only.
        } else if recipient.in_app {
            if ledger::insert_in_app(
                &self.pool,
                &in_app,
                notice.kind,
                &rendered.title,
                &rendered.body,
                &notice.data,
            )
            .await?
            {
                count("in_app", "sent");
            }
            out.sent.push(sent_event(notice, &in_app, &rendered));
        } else {
            ledger::skip(&self.pool, &in_app, notice.kind, "turned off by the user").await?;
        }
        if notice.email {
            let email = key("email", String::new());
            match (&self.mailer, recipient.by_email) {
                (_, false) => {
                    ledger::skip(&self.pool, &email, notice.kind, "turned off by the user").await?
                }
                (None, true) => {
                    ledger::skip(&self.pool, &email, notice.kind, "SMTP is not configured").await?
                }
                (Some(mailer), true) => {
                    self.email(mailer, notice, &recipient, &rendered, &email, &mut out)
                        .await?
                }
            }
        }
        match (&self.pusher, recipient.by_push && notice.in_app_and_push) {
            (_, false) => {}
            (None, true) => {}
            (Some(pusher), true) => {
                for sub in &recipient.subscriptions.0 {
                    let target = key("push", sub.id.to_string());
                    self.push(pusher, notice, sub, &rendered, &data, &target, &mut out)
                        .await?;
                }
            }
        }
        Ok(out)
    }

    async fn email(
        &self,
        mailer: &Mailer,
        notice: &Notice,
        recipient: &Recipient,
        rendered: &Rendered,
        key: &Key<'_>,
        out: &mut Delivered,
    ) -> anyhow::Result<()> {
        match ledger::claim(&self.pool, key, notice.kind).await? {
            Claim::Claimed(_) => {}
            Claim::Sent => {
                out.sent.push(sent_event(notice, key, rendered));
                return Ok(());
            }
            Claim::Settled => return Ok(()),
            Claim::Busy => {
                out.transient = Some("the email is being sent by another delivery".into());
                return Ok(());
            }
        }
        let message = EmailMessage {
            to_name: recipient.name.clone(),
            to_address: recipient.email.clone(),
            subject: rendered.subject.clone(),
            text: rendered.text.clone(),
            html: rendered.html.clone(),
            message_id: format!("<{}@evently>", key.stable_id().simple()),
            attachments: self.attachments(notice).await?,
        };
        match mailer.send(&message).await {
            Ok(()) => {
                ledger::finish(&self.pool, key, "sent", None).await?;
                count("email", "sent");
                out.sent.push(sent_event(notice, key, rendered));
            }
            Err(SendError::Transient(e)) => {
                ledger::release(&self.pool, key, &e).await?;
                count("email", "retried");
                out.transient = Some(format!("email: {e}"));
            }
            Err(SendError::Permanent(e)) => {
                ledger::finish(&self.pool, key, "failed", Some(&e)).await?;
                count("email", "failed");
                tracing::warn!(user_id = %notice.user_id, source = notice.source_id, error = e, "email failed for good");
            }
        }
        Ok(())
    }

    /// The PDF of every valid ticket of the booking the notice names (the confirmation email).
    async fn attachments(&self, notice: &Notice) -> anyhow::Result<Vec<Attachment>> {
        let Some(booking_id) = notice.attach_tickets_of else {
            return Ok(Vec::new());
        };
        let tickets: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM tickets WHERE booking_id = $1 AND status = 'valid' ORDER BY seat_index",
        )
        .bind(booking_id)
        .fetch_all(&self.pool)
        .await
        .context("loading the booking's tickets")?;
        let mut attachments = Vec::with_capacity(tickets.len());
        for ticket_id in tickets {
            let Some((_, document)) =
                evently_runtime::tickets::load_document(&self.pool, ticket_id).await?
            else {
                continue;
            };
            attachments.push(Attachment {
                filename: format!("ticket-{}.pdf", document.ticket_number),
                content_type: "application/pdf".into(),
                bytes: evently_runtime::tickets::pdf::render_ticket_pdf(&document)?,
            });
        }
        Ok(attachments)
    }

    #[allow(clippy::too_many_arguments)]
    async fn push(
        &self,
        pusher: &Pusher,
        notice: &Notice,
        sub: &Subscription,
        rendered: &Rendered,
        data: &Value,
        key: &Key<'_>,
        out: &mut Delivered,
    ) -> anyhow::Result<()> {
        match ledger::claim(&self.pool, key, notice.kind).await? {
            Claim::Claimed(_) => {}
            Claim::Sent => {
                out.sent.push(sent_event(notice, key, rendered));
                return Ok(());
            }
            Claim::Settled => return Ok(()),
            Claim::Busy => {
                out.transient = Some("the push is being sent by another delivery".into());
                return Ok(());
            }
        }
        let topic = key.stable_id().simple().to_string();
        let payload = json!({
            "id": ledger::notification_id(&notice.source_id, notice.user_id),
            "delivery": topic,
            "kind": notice.kind,
            "title": rendered.title,
            "body": rendered.body,
            "url": data["url"],
            "source_id": notice.source_id,
            "data": notice.data,
        });
        let bytes = serde_json::to_vec(&payload).context("encoding a push payload")?;
        match pusher.send(sub, &bytes, notice.urgency, &topic).await {
            PushOutcome::Sent => {
                ledger::finish(&self.pool, key, "sent", None).await?;
                count("push", "sent");
                out.sent.push(sent_event(notice, key, rendered));
            }
            PushOutcome::Gone(status) => {
                ledger::finish(
                    &self.pool,
                    key,
                    "failed",
                    Some(&format!("subscription gone ({status})")),
                )
                .await?;
                ledger::delete_subscription(&self.pool, sub.id).await?;
                count("push", "gone");
                tracing::info!(subscription = %sub.id, status, "push subscription gone; deleted");
            }
            PushOutcome::Transient(e) => {
                ledger::release(&self.pool, key, &e).await?;
                count("push", "retried");
                out.transient = Some(format!("push: {e}"));
            }
            PushOutcome::Permanent(e) => {
                ledger::finish(&self.pool, key, "failed", Some(&e)).await?;
                count("push", "failed");
            }
        }
        Ok(())
    }

    async fn recipient(&self, user_id: Uuid) -> anyhow::Result<Option<Recipient>> {
        sqlx::query_as(
            "SELECT u.email, u.name, coalesce(p.email, true) AS by_email, coalesce(p.push, true) AS by_push, \
             coalesce(p.in_app, true) AS in_app, \
             (SELECT coalesce(json_agg(json_build_object('id', s.id, 'endpoint', s.endpoint, 'p256dh', s.p256dh, \
             'auth', s.auth) ORDER BY s.created_at), '[]') FROM push_subscriptions s \
             WHERE s.user_id = u.id AND coalesce(p.push, true)) AS subscriptions \
             FROM users u LEFT JOIN notification_preferences p ON p.user_id = u.id WHERE u.id = $1",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await
        .context("loading a recipient")
    }

    /// The event a notice is about; cached briefly (a sale notifies thousands about one event).
    async fn event(&self, id: Uuid) -> anyhow::Result<Option<EventInfo>> {
        if let Some((at, info)) = self.events.lock().get(&id)
            && at.elapsed() < EVENT_CACHE_TTL
        {
            return Ok(Some(info.clone()));
        }
        let info: Option<EventInfo> = sqlx::query_as(
            "SELECT e.name, e.starts_at, v.name AS venue FROM events e LEFT JOIN venues v ON v.id = e.venue_id WHERE e.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .context("loading the notice's event")?;
        if let Some(info) = &info {
            let mut cache = self.events.lock();
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(id, (Instant::now(), info.clone()));
        }
        Ok(info)
    }

    /// The template data: the notice's, plus `user`, `event` and `url`.
    async fn data(&self, notice: &Notice, recipient: &Recipient) -> anyhow::Result<Value> {
        let event = self.event(notice.event_id).await?;
        let mut data = notice.data.clone();
        if !data.is_object() {
            data = json!({});
        }
        data["user"] = json!({"name": recipient.name, "email": recipient.email});
        data["event"] = match event {
            Some(e) => {
                json!({"id": notice.event_id, "name": e.name, "starts_at": time(e.starts_at), "venue": e.venue})
            }
            None => {
                json!({"id": notice.event_id, "name": "your event", "starts_at": "", "venue": null})
            }
        };
        data["url"] = json!(format!(
            "{}/events/{}",
            self.public_url.trim_end_matches('/'),
            notice.event_id
        ));
        Ok(data)
    }
}

fn sent_event(notice: &Notice, key: &Key<'_>, rendered: &Rendered) -> NotificationSent {
    NotificationSent {
        notification_id: ledger::notification_id(&notice.source_id, notice.user_id),
        user_id: notice.user_id,
        channel: key.channel.to_owned(),
        target: key.target.clone(),
        kind: notice.kind.to_owned(),
        source_id: notice.source_id.clone(),
        title: rendered.title.clone(),
        body: rendered.body.clone(),
        occurred_at: Utc::now(),
    }
}
