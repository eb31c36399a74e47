//! Delivers a batch of notices on each recipient's channels: the in-app rows, the emails, then a
//! Web Push to every subscription. Each delivery goes through the ledger (claim, send, mark), so a
//! channel already served is never served again when the domain event comes back. The database
//! work is per batch, not per notice: one query for the recipients, one for the events not
//! cached, one statement for the in-app rows, one for the skipped channels, the claims, one query
//! for the PDFs to attach, then the sends (`concurrency` at a time) and one statement per way a
//! send ended.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use evently_runtime::tickets::TicketDocument;
use evently_schemas::NotificationSent;
use futures::StreamExt;
use parking_lot::Mutex;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use super::email::{Attachment, EmailMessage, Mailer};
use super::ledger::{self, Claim, InApp, Key};
use super::plan::{Notice, time};
use super::push::{Pusher, Subscription};
use super::send::{Send, Sent};
use super::templates::{Rendered, Templates};

/// How long an event's name and time are reused (an edit shows in messages after this).
const EVENT_CACHE_TTL: Duration = Duration::from_secs(10);

pub struct Deliverer {
    pub pool: PgPool,
    pub events: Mutex<HashMap<Uuid, (Instant, EventInfo)>>,
    pub templates: Templates,
    pub mailer: Option<Mailer>,
    pub pusher: Option<Arc<Pusher>>,
    pub public_url: String,
    /// Sends in flight at once.
    pub concurrency: usize,
    /// Low-priority threads that render the PDFs (CPU work the booking path should not wait on).
    pub background: evently_runtime::background::Background,
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
pub(super) struct Recipient {
    id: Uuid,
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
    id: Uuid,
    name: String,
    starts_at: DateTime<Utc>,
    venue: Option<String>,
}

/// Counts deliveries by channel and outcome.
pub(super) fn count(channel: &'static str, outcome: &'static str, n: u64) {
    if n > 0 {
        metrics::counter!("evently_notifications_total", "channel" => channel, "outcome" => outcome)
            .increment(n);
    }
}

/// A notice ready to deliver: whose, rendered, with its template data.
pub(super) struct Ready<'a> {
    pub(super) index: usize,
    pub(super) notice: &'a Notice,
    pub(super) recipient: &'a Recipient,
    pub(super) rendered: Rendered,
    pub(super) data: Value,
}

impl Deliverer {
    /// Delivers `notices`: one [`Delivered`] per notice, in order. `Err` means the database
    /// failed (retry every domain event of the batch).
    pub async fn deliver_all(&self, notices: &[Notice]) -> anyhow::Result<Vec<Delivered>> {
        let mut out: Vec<Delivered> = notices.iter().map(|_| Delivered::default()).collect();
        if notices.is_empty() {
            return Ok(out);
        }
        let users: Vec<Uuid> = unique(notices.iter().map(|n| n.user_id));
        let recipients = self.recipients(&users).await?;
        let events = self
            .events(&unique(notices.iter().map(|n| n.event_id)))
            .await?;
        let mut ready = Vec::with_capacity(notices.len());
        for (index, notice) in notices.iter().enumerate() {
            let Some(recipient) = recipients.get(&notice.user_id) else {
                continue; // the user is gone
            };
            let data = self.data(notice, recipient, events.get(&notice.event_id));
            match self.templates.render(notice.kind, &data) {
                Ok(rendered) => ready.push(Ready {
                    index,
                    notice,
                    recipient,
                    rendered,
                    data,
                }),
                Err(e) => out[index].transient = Some(format!("rendering {}: {e:#}", notice.kind)),
            }
        }
        self.in_app_and_skips(&ready, &mut out).await?;
        let sends = self.claim(&ready, &mut out).await?;
        // The futures are made first and then polled: a closure in the stream would not be Send.
        let sending: Vec<_> = sends.into_iter().map(|send| self.sent(send)).collect();
        let results: Vec<(Send<'_>, Sent)> = futures::stream::iter(sending)
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await;
        self.settle(&ready, results, &mut out).await?;
        Ok(out)
    }

    /// The in-app rows (with their ledger rows) and the channels skipped, two statements.
    async fn in_app_and_skips(
        &self,
        ready: &[Ready<'_>],
        out: &mut [Delivered],
    ) -> anyhow::Result<()> {
        let mut in_app = Vec::new();
        let mut skips = Vec::new();
        for r in ready {
            let n = r.notice;
            if n.in_app_and_push {
                let key = key(n, "in_app", String::new());
                if r.recipient.in_app {
                    in_app.push(InApp {
                        source_id: &n.source_id,
                        user_id: n.user_id,
                        kind: n.kind,
                        title: &r.rendered.title,
                        body: &r.rendered.body,
                        data: &n.data,
                    });
                    out[r.index].sent.push(sent_event(n, &key, &r.rendered));
                } else {
                    skips.push((key, n.kind, "turned off by the user"));
                }
            }
            if n.email {
                let key = key(n, "email", String::new());
                match (&self.mailer, r.recipient.by_email) {
                    (_, false) => skips.push((key, n.kind, "turned off by the user")),
                    (None, true) => skips.push((key, n.kind, "SMTP is not configured")),
                    (Some(_), true) => {}
                }
            }
        }
        let new = ledger::insert_in_app_all(&self.pool, &in_app).await?;
        count("in_app", "sent", new);
        ledger::skip_all(&self.pool, &skips).await
    }

    /// Claims every email and push of the batch; what is ours to send, built.
    async fn claim<'a>(
        &self,
        ready: &'a [Ready<'a>],
        out: &mut [Delivered],
    ) -> anyhow::Result<Vec<Send<'a>>> {
        let mut wanted: Vec<(usize, Key, Option<&'a Subscription>)> = Vec::new();
        for (r_index, r) in ready.iter().enumerate() {
            let n = r.notice;
            if n.email && self.mailer.is_some() && r.recipient.by_email {
                wanted.push((r_index, key(n, "email", String::new()), None));
            }
            if self.pusher.is_some() && r.recipient.by_push && n.in_app_and_push {
                for sub in &r.recipient.subscriptions.0 {
                    wanted.push((r_index, key(n, "push", sub.id.to_string()), Some(sub)));
                }
            }
        }
        let keys: Vec<(Key, &str)> = wanted
            .iter()
            .map(|(r, k, _)| (k.clone(), ready[*r].notice.kind))
            .collect();
        let claims = ledger::claim_all(&self.pool, &keys).await?;
        let mut mine = Vec::new();
        for ((r_index, key, sub), claim) in wanted.into_iter().zip(claims) {
            let r = &ready[r_index];
            match claim {
                Claim::Claimed(_) => mine.push((r_index, key, sub)),
                Claim::Sent => out[r.index]
                    .sent
                    .push(sent_event(r.notice, &key, &r.rendered)),
                Claim::Settled => {}
                Claim::Busy => {
                    out[r.index].transient = Some(format!(
                        "the {} is being sent by another delivery",
                        key.channel
                    ))
                }
            }
        }
        let attach: Vec<Uuid> = unique(
            mine.iter()
                .filter(|(_, _, sub)| sub.is_none())
                .filter_map(|(r, _, _)| ready[*r].notice.attach_tickets_of),
        );
        let mut attachments = self.attachments(&attach).await?;
        let mut sends = Vec::with_capacity(mine.len());
        for (r_index, key, sub) in mine {
            let r = &ready[r_index];
            sends.push(match sub {
                None => Send::Email {
                    index: r_index,
                    message: EmailMessage {
                        to_name: r.recipient.name.clone(),
                        to_address: r.recipient.email.clone(),
                        subject: r.rendered.subject.clone(),
                        text: r.rendered.text.clone(),
                        html: r.rendered.html.clone(),
                        message_id: format!("<{}@evently>", key.stable_id().simple()),
                        attachments: r
                            .notice
                            .attach_tickets_of
                            .and_then(|b| attachments.remove(&b))
                            .unwrap_or_default(),
                    },
                    key,
                },
                Some(sub) => {
                    let topic = key.stable_id().simple().to_string();
                    let payload = json!({
                        "id": ledger::notification_id(&r.notice.source_id, r.notice.user_id),
                        "delivery": topic,
                        "kind": r.notice.kind,
                        "title": r.rendered.title,
                        "body": r.rendered.body,
                        "url": r.data["url"],
                        "source_id": r.notice.source_id,
                        "data": r.notice.data,
                    });
                    Send::Push {
                        index: r_index,
                        payload: serde_json::to_vec(&payload).context("encoding a push payload")?,
                        urgency: r.notice.urgency,
                        topic,
                        sub,
                        key,
                    }
                }
            });
        }
        Ok(sends)
    }

    /// The PDF of every valid ticket of each booking (the confirmation emails): one query, then
    /// one render per booking on the background threads.
    async fn attachments(
        &self,
        bookings: &[Uuid],
    ) -> anyhow::Result<HashMap<Uuid, Vec<Attachment>>> {
        let mut documents: HashMap<Uuid, Vec<TicketDocument>> = HashMap::new();
        for (booking_id, document) in
            evently_runtime::tickets::load_documents_of_bookings(&self.pool, bookings).await?
        {
            documents.entry(booking_id).or_default().push(document);
        }
        let renders = documents.into_iter().map(|(booking_id, documents)| {
            self.background.run(move || {
                documents
                    .iter()
                    .map(|document| {
                        Ok(Attachment {
                            filename: format!("ticket-{}.pdf", document.ticket_number),
                            content_type: "application/pdf".into(),
                            bytes: evently_runtime::tickets::pdf::render_ticket_pdf(document)?,
                        })
                    })
                    .collect::<anyhow::Result<Vec<Attachment>>>()
                    .map(|attachments| (booking_id, attachments))
            })
        });
        futures::future::join_all(renders)
            .await
            .into_iter()
            .map(|rendered| rendered.and_then(|r| r))
            .collect()
    }

    async fn recipients(&self, users: &[Uuid]) -> anyhow::Result<HashMap<Uuid, Recipient>> {
        let rows: Vec<Recipient> = sqlx::query_as(
            "SELECT u.id, u.email, u.name, coalesce(p.email, true) AS by_email, coalesce(p.push, true) AS by_push, \
             coalesce(p.in_app, true) AS in_app, \
             (SELECT coalesce(json_agg(json_build_object('id', s.id, 'endpoint', s.endpoint, 'p256dh', s.p256dh, \
             'auth', s.auth) ORDER BY s.created_at), '[]') FROM push_subscriptions s \
             WHERE s.user_id = u.id AND coalesce(p.push, true)) AS subscriptions \
             FROM users u LEFT JOIN notification_preferences p ON p.user_id = u.id \
             WHERE u.id = ANY($1) AND u.deleted_at IS NULL",
        )
        .bind(users)
        .fetch_all(&self.pool)
        .await
        .context("loading recipients")?;
        Ok(rows.into_iter().map(|r| (r.id, r)).collect())
    }

    /// The events the notices are about; cached briefly (a sale notifies thousands about one
    /// event), the others read in one query.
    async fn events(&self, ids: &[Uuid]) -> anyhow::Result<HashMap<Uuid, EventInfo>> {
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        {
            let cache = self.events.lock();
            for id in ids {
                match cache.get(id) {
                    Some((at, info)) if at.elapsed() < EVENT_CACHE_TTL => {
                        found.insert(*id, info.clone());
                    }
                    _ => missing.push(*id),
                }
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let rows: Vec<EventInfo> = sqlx::query_as(
            "SELECT e.id, e.name, e.starts_at, v.name AS venue FROM events e \
             LEFT JOIN venues v ON v.id = e.venue_id WHERE e.id = ANY($1)",
        )
        .bind(&missing)
        .fetch_all(&self.pool)
        .await
        .context("loading the notices' events")?;
        let mut cache = self.events.lock();
        if cache.len() > 10_000 {
            cache.clear();
        }
        for info in rows {
            cache.insert(info.id, (Instant::now(), info.clone()));
            found.insert(info.id, info);
        }
        Ok(found)
    }

    /// The template data: the notice's, plus `user`, `event` and `url`.
    fn data(&self, notice: &Notice, recipient: &Recipient, event: Option<&EventInfo>) -> Value {
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
        data
    }
}

fn key(notice: &Notice, channel: &'static str, target: String) -> Key {
    Key {
        source_id: notice.source_id.clone(),
        user_id: notice.user_id,
        channel,
        target,
    }
}

/// The distinct values, in first-seen order.
fn unique(values: impl Iterator<Item = Uuid>) -> Vec<Uuid> {
    let mut seen = HashSet::new();
    values.filter(|v| seen.insert(*v)).collect()
}

pub(super) fn sent_event(notice: &Notice, key: &Key, rendered: &Rendered) -> NotificationSent {
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
