//! The sends of a batch of notices (emails through SMTP, pushes to their push services) and the
//! ledger marks of how each ended: one statement for the settled, one for the released, one for
//! the gone subscriptions. The push encryption runs on the background threads.

use std::sync::Arc;

use super::deliver::{Delivered, Deliverer, Ready, count, sent_event};
use super::email::{EmailMessage, SendError};
use super::ledger::{self, Key};
use super::push::{PushOutcome, Pusher, Subscription, Urgency};

/// One send to make: an email or a push, for the notice at `index`.
pub(super) enum Send<'a> {
    Email {
        index: usize,
        key: Key,
        message: EmailMessage,
    },
    Push {
        index: usize,
        key: Key,
        sub: &'a Subscription,
        payload: Vec<u8>,
        urgency: Urgency,
        topic: String,
    },
}

/// How one send ended.
pub(super) enum Sent {
    Done,
    Gone(u16),
    Transient(String),
    Permanent(String),
}

impl Deliverer {
    pub(super) async fn sent<'a>(&self, send: Send<'a>) -> (Send<'a>, Sent) {
        let result = self.send(&send).await;
        (send, result)
    }

    async fn send(&self, send: &Send<'_>) -> Sent {
        match send {
            Send::Email { message, .. } => match &self.mailer {
                Some(mailer) => match mailer.send(message).await {
                    Ok(()) => Sent::Done,
                    Err(SendError::Transient(e)) => Sent::Transient(e),
                    Err(SendError::Permanent(e)) => Sent::Permanent(e),
                },
                None => Sent::Transient("SMTP is not configured".into()),
            },
            Send::Push {
                sub,
                payload,
                urgency,
                topic,
                ..
            } => match &self.pusher {
                Some(pusher) => match self
                    .push_request(pusher, sub, payload, *urgency, topic)
                    .await
                {
                    Err(e) => Sent::Permanent(format!("{e:#}")),
                    Ok(request) => match pusher.execute(request).await {
                        PushOutcome::Sent => Sent::Done,
                        PushOutcome::Gone(status) => Sent::Gone(status),
                        PushOutcome::Transient(e) => Sent::Transient(e),
                        PushOutcome::Permanent(e) => Sent::Permanent(e),
                    },
                },
                None => Sent::Transient("Web Push is not configured".into()),
            },
        }
    }

    /// Encrypts and signs a push on the background threads.
    async fn push_request(
        &self,
        pusher: &Arc<Pusher>,
        sub: &Subscription,
        payload: &[u8],
        urgency: Urgency,
        topic: &str,
    ) -> anyhow::Result<reqwest::Request> {
        let (pusher, sub, payload, topic) = (
            pusher.clone(),
            sub.clone(),
            payload.to_vec(),
            topic.to_owned(),
        );
        self.background
            .run(move || pusher.request(&sub, &payload, urgency, &topic))
            .await?
    }

    /// Marks how every send ended: one statement for the settled, one for the released, one for
    /// the gone subscriptions.
    pub(super) async fn settle(
        &self,
        ready: &[Ready<'_>],
        results: Vec<(Send<'_>, Sent)>,
        out: &mut [Delivered],
    ) -> anyhow::Result<()> {
        let mut finished = Vec::new();
        let mut released = Vec::new();
        let mut gone = Vec::new();
        for (send, result) in results {
            let (r_index, key) = match &send {
                Send::Email { index, key, .. } | Send::Push { index, key, .. } => (*index, key),
            };
            let r = &ready[r_index];
            let channel = key.channel;
            match result {
                Sent::Done => {
                    count(channel, "sent", 1);
                    out[r.index]
                        .sent
                        .push(sent_event(r.notice, key, &r.rendered));
                    finished.push((key.clone(), "sent", None));
                }
                Sent::Gone(status) => {
                    count(channel, "gone", 1);
                    if let Send::Push { sub, .. } = &send {
                        tracing::info!(subscription = %sub.id, status, "push subscription gone; deleted");
                        gone.push(sub.id);
                    }
                    finished.push((
                        key.clone(),
                        "failed",
                        Some(format!("subscription gone ({status})")),
                    ));
                }
                Sent::Transient(e) => {
                    count(channel, "retried", 1);
                    out[r.index].transient = Some(format!("{channel}: {e}"));
                    released.push((key.clone(), e));
                }
                Sent::Permanent(e) => {
                    count(channel, "failed", 1);
                    tracing::warn!(user_id = %r.notice.user_id, source = r.notice.source_id, channel, error = e, "delivery failed for good");
                    finished.push((key.clone(), "failed", Some(e)));
                }
            }
        }
        ledger::finish_all(&self.pool, &finished).await?;
        ledger::release_all(&self.pool, &released).await?;
        ledger::delete_subscriptions(&self.pool, &gone).await
    }
}
