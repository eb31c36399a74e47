//! The `notifications` consumer: reads domain events from `EVENTLY_EVT`, works out what to tell
//! whom ([`plan`]), and delivers each notice in-app, by email and by Web Push ([`deliver`]), once
//! per (domain event, recipient, channel, target) through the delivery ledger ([`ledger`]). A
//! batch's notices are delivered together: the database work is a few statements per batch, the
//! sends run concurrently. After delivering it publishes `<prefix>.evt.notification.sent.<channel>`
//! (deterministic ids) and only then lets the runner ack. A transient failure of one channel
//! retries its domain event (nak with backoff); the channels already served are found `sent` and
//! not served again.

pub mod deliver;
pub mod email;
pub mod ledger;
pub mod plan;
pub mod push;
mod push_http;
mod send;
pub mod templates;

use std::sync::Arc;

use anyhow::Context as _;
use async_nats::jetstream::{self, message::PublishMessage};
use evently_runtime::notify_settings::NotificationSettings;
use evently_schemas::{NotificationSent, Prefix};
use futures::StreamExt;
use sqlx::PgPool;

use crate::runner::{Handler, Incoming, Outcome, Step};
use deliver::Deliverer;
use plan::PlanError;

pub const NAME: &str = "notifications";

pub struct Notifications {
    inner: Arc<Inner>,
}

struct Inner {
    js: jetstream::Context,
    prefix: Prefix,
    deliverer: Deliverer,
    concurrency: usize,
}

impl Notifications {
    pub fn new(
        pool: PgPool,
        js: jetstream::Context,
        prefix: Prefix,
        settings: &NotificationSettings,
    ) -> anyhow::Result<Self> {
        let deliverer = Deliverer {
            pool,
            events: Default::default(),
            templates: templates::Templates::load()?,
            mailer: email::Mailer::from_settings(settings)?,
            pusher: push::Pusher::from_settings(settings)?.map(Arc::new),
            public_url: settings.public_url.clone(),
            concurrency: settings.concurrency,
            background: evently_runtime::background::Background::per_core("evently-render")?,
        };
        if deliverer.mailer.is_none() {
            tracing::info!("notifications: no SMTP host configured; email is skipped");
        }
        if deliverer.pusher.is_none() {
            tracing::info!("notifications: no VAPID key configured; Web Push is skipped");
        }
        Ok(Self {
            inner: Arc::new(Inner {
                js,
                prefix,
                deliverer,
                concurrency: settings.concurrency,
            }),
        })
    }
}

impl Handler for Notifications {
    fn name(&self) -> &'static str {
        NAME
    }

    /// The SMTP server, when one is configured: while it is away, emails wait in the stream
    /// (held by the runner) instead of being retried into the dead-letter stream.
    async fn services_reachable(&self) -> bool {
        match &self.inner.deliverer.mailer {
            Some(mailer) => mailer.reachable().await,
            None => true,
        }
    }

    /// Plans every message of the batch, delivers all their notices together, publishes what
    /// was sent, and says per message whether it is done.
    async fn handle(&self, batch: &[Incoming]) -> Step {
        let inner = &self.inner;
        // The futures are made first and then polled: a closure in the stream would not be Send.
        let plans: Vec<_> = batch.iter().map(|message| inner.plan(message)).collect();
        let planned: Vec<Result<Vec<plan::Notice>, Outcome>> = futures::stream::iter(plans)
            .buffered(inner.concurrency)
            .collect()
            .await;
        let mut notices = Vec::new();
        let mut owner = Vec::new();
        for (index, p) in planned.iter().enumerate() {
            if let Ok(list) = p {
                notices.extend(list.iter().cloned());
                owner.extend(std::iter::repeat_n(index, list.len()));
            }
        }
        let delivered = match inner.deliverer.deliver_all(&notices).await {
            Ok(d) => d,
            Err(e) => {
                let text = format!("{e:#}");
                return Step::new(
                    planned
                        .into_iter()
                        .map(|p| match p {
                            Ok(_) => Outcome::Retry(anyhow::anyhow!("{text}")),
                            Err(outcome) => outcome,
                        })
                        .collect(),
                );
            }
        };
        let mut retry: Vec<Option<String>> = vec![None; batch.len()];
        let mut sent = Vec::new();
        for (done, index) in delivered.into_iter().zip(owner) {
            sent.extend(done.sent);
            if let Some(t) = done.transient {
                retry[index] = Some(t);
            }
        }
        let published = inner.publish(&sent).await.map_err(|e| format!("{e:#}"));
        let outcomes = planned
            .into_iter()
            .zip(retry)
            .map(|(p, retry)| match (p, retry, &published) {
                (Err(outcome), _, _) => outcome,
                (Ok(_), Some(t), _) => Outcome::Retry(anyhow::anyhow!(t)),
                (Ok(_), None, Err(e)) => Outcome::Retry(anyhow::anyhow!("{e}")),
                (Ok(_), None, Ok(())) => Outcome::Done,
            })
            .collect();
        Step::new(outcomes)
    }
}

impl Inner {
    /// The notices of one message, or its outcome when it has none to deliver.
    async fn plan(&self, message: &Incoming) -> Result<Vec<plan::Notice>, Outcome> {
        let Some((aggregate, verb)) = kind_of(&self.prefix, &message.subject) else {
            return Err(Outcome::Done);
        };
        match plan::plan(
            &self.deliverer.pool,
            aggregate,
            verb,
            &message.payload,
            message.message_id.as_deref(),
        )
        .await
        {
            Ok(notices) => Ok(notices),
            Err(PlanError::Invalid(e)) => {
                Err(Outcome::Reject(e.context("undecodable domain event")))
            }
            Err(PlanError::Unavailable(e)) => Err(Outcome::Retry(e)),
        }
    }

    /// Publishes `notification.sent` events and awaits their PubAcks.
    async fn publish(&self, sent: &[NotificationSent]) -> anyhow::Result<()> {
        let mut acks = Vec::with_capacity(sent.len());
        for event in sent {
            let subject = self.prefix.notification_sent(&event.channel);
            let payload = serde_json::to_vec(event).context("encoding notification.sent")?;
            acks.push(
                self.js
                    .send_publish(
                        subject,
                        PublishMessage::build()
                            .payload(payload.into())
                            .message_id(event.message_id()),
                    )
                    .await
                    .context("publishing notification.sent")?,
            );
        }
        for ack in
            futures::future::join_all(acks.into_iter().map(std::future::IntoFuture::into_future))
                .await
        {
            ack.context("awaiting a notification.sent PubAck")?;
        }
        Ok(())
    }
}

/// `(aggregate, verb)` of `<prefix>.evt.<aggregate>.<verb>.<event_id>`.
fn kind_of<'a>(prefix: &Prefix, subject: &'a str) -> Option<(&'a str, &'a str)> {
    let rest = subject
        .strip_prefix(prefix.as_str())?
        .strip_prefix(".evt.")?;
    let mut parts = rest.split('.');
    Some((parts.next()?, parts.next()?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_kind_is_read_from_the_subject() {
        let p = evently_schemas::Prefix::new("t1").expect("prefix");
        assert_eq!(
            super::kind_of(&p, "t1.evt.booking.confirmed.abc"),
            Some(("booking", "confirmed"))
        );
        assert_eq!(super::kind_of(&p, "t2.evt.booking.confirmed.abc"), None);
    }
}
