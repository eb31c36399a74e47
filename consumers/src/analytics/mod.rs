//! The `analytics` consumer: reads every domain event (every subject of `EVENTLY_EVT`) and
//! maintains the organiser and admin roll-ups: per event per hour (bookings, seats, revenue,
//! cancellations, refunds, rejections) and per event (capacity, waitlist, tickets, check-ins).
//!
//! One transaction per batch: the inbox rows (`processed_messages`, consumer `analytics`, keyed by
//! the event's `Nats-Msg-Id`) decide which events are fresh; the fresh ones are folded in memory
//! ([`rollup`]) and written with one upsert per table ([`store`]); the runner acks after commit.
//! A redelivered event finds its inbox row and changes nothing. [`rebuild`] replays the stream.
//!
//! Inbox rows are pruned after `EVENTLY_RETENTION__INBOX_DAYS` ([`crate::retention`]), so a copy
//! of an old event must be recognised without one. Confirmations and cancellations are met by
//! `analytics_bookings` (a booking counts once); capacity and event cancellation are
//! last-write-wins; waitlist, ticket and check-in events are only ever republished by a step
//! whose own inbox row is older than ours, so pruned first (a copy finds nothing to republish). A
//! rejection is republished whenever its reserve command comes back (a client retrying an old
//! key), and a reserve has no inbox row: the live consumer skips a rejection decided longer ago
//! than the inbox retention ([`Fact::is_stale_copy`]); a rebuild applies everything it reads.

mod decode;
pub mod rebuild;
pub mod rollup;
mod store;

use std::collections::HashSet;
use std::time::Duration;

use anyhow::Context as _;
use evently_schemas::Prefix;
use sqlx::PgPool;

pub use decode::decode;
use rollup::{Fact, Rollup};

use crate::runner::{Handler, Incoming, Outcome, Step};

pub const NAME: &str = "analytics";

pub struct Analytics {
    pool: PgPool,
    prefix: Prefix,
    /// The inbox retention: an event copy whose fact is older is one counted before (`None`: the
    /// rebuild, which applies everything it reads).
    stale_after: Option<Duration>,
}

impl Analytics {
    pub fn new(pool: PgPool, prefix: Prefix, stale_after: Option<Duration>) -> Self {
        Self {
            pool,
            prefix,
            stale_after,
        }
    }

    /// Whether `fact` is a copy of one counted before its inbox row was pruned.
    fn is_stale_copy(&self, fact: &Fact) -> bool {
        let horizon = self
            .stale_after
            .and_then(|after| chrono::Duration::from_std(after).ok())
            .and_then(|after| chrono::Utc::now().checked_sub_signed(after));
        horizon.is_some_and(|horizon| fact.is_stale_copy(horizon))
    }

    /// Applies the decoded facts of a batch, keyed by their inbox ids, in one transaction.
    async fn apply(&self, facts: &[(String, Fact)]) -> anyhow::Result<()> {
        if facts.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await.context("beginning a transaction")?;
        let ids: Vec<&str> = facts.iter().map(|(id, _)| id.as_str()).collect();
        let mut fresh: HashSet<String> = sqlx::query_scalar(
            "INSERT INTO processed_messages (consumer, message_id) SELECT $1, unnest($2::text[]) \
             ON CONFLICT DO NOTHING RETURNING message_id",
        )
        .bind(NAME)
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await
        .context("recording the batch in the inbox")?
        .into_iter()
        .collect();
        // The first copy of each fresh id is applied; later copies (same id) are duplicates.
        let fresh_facts: Vec<&Fact> = facts
            .iter()
            .filter(|(id, _)| fresh.remove(id))
            .map(|(_, fact)| fact)
            .collect();
        let needing_state: Vec<_> = fresh_facts
            .iter()
            .filter_map(|f| Rollup::needs_state(f))
            .collect();
        let mut rollup = Rollup {
            bookings: store::lock_bookings(&mut tx, &needing_state).await?,
            ..Rollup::default()
        };
        for fact in fresh_facts {
            rollup.apply(fact);
        }
        store::write(&mut tx, &rollup).await?;
        tx.commit().await.context("committing the batch")?;
        Ok(())
    }
}

/// The inbox id of a message: its `Nats-Msg-Id` (every domain event has one), else its place in
/// the stream.
fn inbox_id(message: &Incoming) -> String {
    message
        .message_id
        .clone()
        .unwrap_or_else(|| format!("seq.{}", message.stream_sequence))
}

impl Handler for Analytics {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn handle(&self, batch: &[Incoming]) -> Step {
        let mut outcomes: Vec<Option<Outcome>> = Vec::with_capacity(batch.len());
        let mut facts = Vec::with_capacity(batch.len());
        for message in batch {
            match decode(&self.prefix, &message.subject, &message.payload) {
                Ok(fact) if self.is_stale_copy(&fact) => {
                    tracing::info!(
                        message_id = message.message_id.as_deref().unwrap_or_default(),
                        "skipping a copy of an event older than the inbox retention"
                    );
                    metrics::counter!("evently_analytics_stale_copies_total").increment(1);
                    outcomes.push(Some(Outcome::Done));
                }
                Ok(fact) => {
                    facts.push((inbox_id(message), fact));
                    outcomes.push(None);
                }
                Err(e) => outcomes.push(Some(Outcome::Reject(e))),
            }
        }
        let result = self.apply(&facts).await.map_err(|e| format!("{e:#}"));
        let outcomes = outcomes
            .into_iter()
            .map(|o| match (o, &result) {
                (Some(rejected), _) => rejected,
                (None, Ok(())) => Outcome::Done,
                (None, Err(e)) => Outcome::Retry(anyhow::anyhow!("{e}")),
            })
            .collect();
        Step::new(outcomes)
    }
}
