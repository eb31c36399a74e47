//! The `notifications` consumer: reads domain events from `EVENTLY_EVT`, works out what to tell
//! whom ([`plan`]), and delivers each notice in-app, by email and by Web Push ([`deliver`]), once
//! per (domain event, recipient, channel, target) through the delivery ledger ([`ledger`]). After
//! delivering it publishes `<prefix>.evt.notification.sent.<channel>` (deterministic ids) and only
//! then lets the runner ack. A transient failure of one channel retries the domain event (nak with
//! backoff); the channels already served are found `sent` and not served again.

pub mod deliver;
pub mod email;
pub mod ledger;
pub mod plan;
pub mod push;
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
            pusher: push::Pusher::from_settings(settings)?,
            public_url: settings.public_url.clone(),
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

    /// The messages of a batch are independent: handled `concurrency` at a time.
    async fn handle(&self, batch: &[Incoming]) -> Step {
        let outcomes = futures::stream::iter(batch.to_vec())
            .map(|message| {
                let inner = self.inner.clone();
                async move { inner.one(&message).await }
            })
            .buffered(self.inner.concurrency)
            .collect()
            .await;
        Step::new(outcomes)
    }
}

impl Inner {
    async fn one(&self, message: &Incoming) -> Outcome {
        let Some((aggregate, verb)) = kind_of(&self.prefix, &message.subject) else {
            return Outcome::Done;
        };
        let notices = match plan::plan(
            &self.deliverer.pool,
            aggregate,
            verb,
            &message.payload,
            message.message_id.as_deref(),
        )
        .await
        {
            Ok(n) => n,
            Err(PlanError::Invalid(e)) => {
                return Outcome::Reject(e.context("undecodable domain event"));
            }
            Err(PlanError::Unavailable(e)) => return Outcome::Retry(e),
        };
        let mut sent = Vec::new();
        let mut retry: Option<anyhow::Error> = None;
        for notice in &notices {
            match self.deliverer.deliver(notice).await {
                Ok(done) => {
                    sent.extend(done.sent);
                    if let Some(t) = done.transient {
                        retry = Some(anyhow::anyhow!(t));
                    }
                }
                Err(e) => retry = Some(e),
            }
        }
        if let Err(e) = self.publish(&sent).await {
            return Outcome::Retry(e);
        }
        match retry {
            Some(e) => Outcome::Retry(e),
            None => Outcome::Done,
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
