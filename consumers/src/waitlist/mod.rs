//! The `waitlist` consumer: owns promotion. It listens to the domain events that free seats
//! (booking cancelled or expired, capacity raised, offer expired or declined, a new entry) and,
//! for each event they name, locks the event's inventory row and offers the free seats
//! (`capacity - sold - held - offered`, and for an entry waiting for a ticket type, within what
//! that type has free) to waiting entries in join order (see [`promote`]):
//! entry `offered` with `offer_expires_at`, `offered += q`, in one transaction with the inbox rows
//! of the triggering messages and the list of entries offered (so a redelivery publishes the same
//! `<entry>.offered` events again). Promotion reads the state, not the trigger, so two instances
//! or a crash mid-step can neither offer a seat twice (the row lock serialises them and the
//! transaction is all or nothing) nor lose one (the trigger is redelivered until acked).

pub mod entries;
pub mod promote;

use std::collections::BTreeMap;

use anyhow::Context as _;
use async_nats::jetstream;
use chrono::{DateTime, Utc};
use evently_schemas::{Prefix, WaitlistEvent, WaitlistStatus};
use sqlx::PgPool;
use uuid::Uuid;

use crate::runner::{AfterCommit, Handler, Incoming, Outcome, Step};
use entries::{ENTRY_COLUMNS, EntryRow};

pub const NAME: &str = "waitlist";

pub struct Waitlist {
    pool: PgPool,
    js: jetstream::Context,
    prefix: Prefix,
    max_passes: i32,
}

impl Waitlist {
    pub fn new(pool: PgPool, js: jetstream::Context, prefix: Prefix, max_passes: i32) -> Self {
        Self {
            pool,
            js,
            prefix,
            max_passes,
        }
    }
}

/// The inbox key of a trigger: its `Nats-Msg-Id`, else its stream sequence.
fn message_key(message: &Incoming) -> String {
    message
        .message_id
        .clone()
        .unwrap_or_else(|| format!("seq.{}", message.stream_sequence))
}

/// The event a trigger is about: the last token of its subject.
fn event_of(subject: &str) -> Option<Uuid> {
    subject.rsplit('.').next().and_then(|t| t.parse().ok())
}

impl Handler for Waitlist {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn handle(&self, batch: &[Incoming]) -> Step {
        let mut outcomes: Vec<Option<Outcome>> = (0..batch.len()).map(|_| None).collect();
        let mut by_event: BTreeMap<Uuid, Vec<usize>> = BTreeMap::new();
        for (index, message) in batch.iter().enumerate() {
            match event_of(&message.subject) {
                Some(event) => by_event.entry(event).or_default().push(index),
                None => {
                    outcomes[index] = Some(Outcome::Reject(anyhow::anyhow!(
                        "no event id in subject {}",
                        message.subject
                    )))
                }
            }
        }
        let mut offered = Vec::new();
        for (event_id, indexes) in by_event {
            let keys: Vec<String> = indexes.iter().map(|i| message_key(&batch[*i])).collect();
            match self.promote(event_id, &keys).await {
                Ok(events) => {
                    offered.extend(events);
                    for i in indexes {
                        outcomes[i] = Some(Outcome::Done);
                    }
                }
                Err(e) => {
                    let text = format!("{e:#}");
                    for i in indexes {
                        outcomes[i] = Some(Outcome::Retry(anyhow::anyhow!("{text}")));
                    }
                }
            }
        }
        let js = self.js.clone();
        let prefix = self.prefix.clone();
        Step {
            outcomes: outcomes
                .into_iter()
                .map(|o| o.unwrap_or(Outcome::Done))
                .collect(),
            after_commit: Some(Box::pin(publish(js, prefix, offered)) as AfterCommit),
        }
    }
}

#[derive(sqlx::FromRow)]
struct TypeState {
    id: Uuid,
    quota: i32,
    free: i32,
}

/// One promotion step over the whole queue: the entries of each ticket type (and those of the
/// event itself) in join order, each group served by [`promote::plan`] from what its type has
/// free within what the event has left, the group of the earliest waiting entry first.
struct TypedPlan {
    offered: Vec<Uuid>,
    seats: i32,
    passed: Vec<(Uuid, i32)>,
    /// Seats offered per ticket type.
    by_type: Vec<(Uuid, i32)>,
}

fn plan_by_type(
    free: i32,
    capacity: i32,
    types: &[TypeState],
    queue: &[EntryRow],
    max_passes: i32,
) -> TypedPlan {
    let mut groups: Vec<(Option<Uuid>, Vec<promote::Waiting>)> = Vec::new();
    for e in queue {
        let waiting = promote::Waiting {
            id: e.id,
            quantity: e.quantity,
            passed: e.passed,
        };
        match groups.iter_mut().find(|g| g.0 == e.ticket_type_id) {
            Some(g) => g.1.push(waiting),
            None => groups.push((e.ticket_type_id, vec![waiting])),
        }
    }
    let mut left = free;
    let mut out = TypedPlan {
        offered: Vec::new(),
        seats: 0,
        passed: Vec::new(),
        by_type: Vec::new(),
    };
    for (ticket_type, waiting) in groups {
        let (group_free, group_capacity) = match ticket_type {
            None => (left, capacity),
            Some(t) => match types.iter().find(|s| s.id == t) {
                Some(s) => (s.free.min(left), s.quota.min(capacity)),
                None => continue,
            },
        };
        let step = promote::plan(group_free, group_capacity, &waiting, max_passes);
        left -= step.seats;
        out.seats += step.seats;
        if let (Some(t), true) = (ticket_type, step.seats > 0) {
            out.by_type.push((t, step.seats));
        }
        out.offered.extend(step.offered);
        out.passed.extend(step.passed);
    }
    out
}

#[derive(sqlx::FromRow)]
struct EventState {
    capacity: i32,
    sold: i32,
    held: i32,
    offered: i32,
    status: String,
    ends_at: DateTime<Utc>,
    offer_minutes: i32,
}

impl Waitlist {
    /// One promotion step for one event, triggered by the messages `keys`. Returns the offers'
    /// events to publish (this step's, or a replayed step's).
    async fn promote(&self, event_id: Uuid, keys: &[String]) -> anyhow::Result<Vec<WaitlistEvent>> {
        let mut tx = self.pool.begin().await.context("beginning a transaction")?;
        let fresh: Vec<String> = sqlx::query_scalar(
            "INSERT INTO processed_messages (consumer, message_id) SELECT $1, unnest($2::text[]) \
             ON CONFLICT DO NOTHING RETURNING message_id",
        )
        .bind(NAME)
        .bind(keys)
        .fetch_all(&mut *tx)
        .await
        .context("recording triggers in the inbox")?;
        if fresh.is_empty() {
            tx.rollback().await.ok();
            return self.replay(keys).await;
        }
        let state: Option<EventState> = sqlx::query_as(
            "SELECT i.capacity, i.sold, i.held, i.offered, e.status, e.ends_at, e.offer_minutes \
             FROM inventory i JOIN events e ON e.id = i.event_id WHERE i.event_id = $1 FOR UPDATE OF i",
        )
        .bind(event_id)
        .fetch_optional(&mut *tx)
        .await
        .context("locking the inventory")?;
        let now = Utc::now();
        let Some(state) = state.filter(|s| s.status == "active" && s.ends_at > now) else {
            tx.commit().await.context("committing")?;
            return Ok(Vec::new());
        };
        let free = state.capacity - state.sold - state.held - state.offered;
        if free <= 0 {
            tx.commit().await.context("committing")?;
            return Ok(Vec::new());
        }
        // The event's ticket types, locked after its inventory row (as the reservations consumer
        // does): an entry waiting for a type gets only seats its type has free.
        let types: Vec<TypeState> = sqlx::query_as(
            "SELECT id, quota, quota - sold - held - offered AS free FROM ticket_types \
             WHERE event_id = $1 ORDER BY id FOR UPDATE",
        )
        .bind(event_id)
        .fetch_all(&mut *tx)
        .await
        .context("locking the ticket types")?;
        let queue: Vec<EntryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {ENTRY_COLUMNS} FROM waitlist_entries w WHERE w.event_id = $1 AND w.status = 'waiting' \
             ORDER BY w.position LIMIT $2 FOR UPDATE"
        )))
        .bind(event_id)
        .bind(i64::from(free) + 1000)
        .fetch_all(&mut *tx)
        .await
        .context("loading the queue")?;
        let plan = plan_by_type(free, state.capacity, &types, &queue, self.max_passes);
        let expires = now + chrono::Duration::minutes(i64::from(state.offer_minutes));
        let mut events = Vec::with_capacity(plan.offered.len());
        for row in queue.iter().filter(|e| plan.offered.contains(&e.id)) {
            let mut entry = row.snapshot();
            entry.status = WaitlistStatus::Offered;
            entry.offer_expires_at = Some(expires);
            entry.updated_at = now;
            events.push(WaitlistEvent {
                entry,
                occurred_at: now,
            });
        }
        let changed: Vec<_> = events.iter().map(|e| &e.entry).collect();
        entries::update(&mut tx, &changed, &plan.passed).await?;
        if plan.seats > 0 {
            sqlx::query("UPDATE inventory SET offered = offered + $2 WHERE event_id = $1")
                .bind(event_id)
                .bind(plan.seats)
                .execute(&mut *tx)
                .await
                .context("holding seats for offers")?;
        }
        if !plan.by_type.is_empty() {
            let (ids, seats): (Vec<Uuid>, Vec<i32>) = plan.by_type.iter().copied().unzip();
            sqlx::query(
                "UPDATE ticket_types t SET offered = t.offered + u.seats \
                 FROM unnest($1::uuid[], $2::int[]) AS u(id, seats) WHERE t.id = u.id",
            )
            .bind(&ids)
            .bind(&seats)
            .execute(&mut *tx)
            .await
            .context("holding ticket types' seats for offers")?;
        }
        sqlx::query(
            "UPDATE processed_messages SET outcome = $3 WHERE consumer = $1 AND message_id = $2",
        )
        .bind(NAME)
        .bind(&fresh[0])
        .bind(serde_json::to_value(&plan.offered).context("encoding the outcome")?)
        .execute(&mut *tx)
        .await
        .context("recording the offers")?;
        tx.commit().await.context("committing the offers")?;
        if !events.is_empty() {
            metrics::counter!("evently_waitlist_offers_total").increment(events.len() as u64);
            tracing::info!(event_id = %event_id, offers = events.len(), seats = plan.seats, "seats offered to the waitlist");
        }
        Ok(events)
    }

    /// The offers of already-applied triggers, for their events to be published again.
    async fn replay(&self, keys: &[String]) -> anyhow::Result<Vec<WaitlistEvent>> {
        let stored: Vec<serde_json::Value> = sqlx::query_scalar(
            "SELECT outcome FROM processed_messages WHERE consumer = $1 AND message_id = ANY($2) AND outcome IS NOT NULL",
        )
        .bind(NAME)
        .bind(keys)
        .fetch_all(&self.pool)
        .await
        .context("loading stored offers")?;
        let mut ids: Vec<Uuid> = Vec::new();
        for value in stored {
            ids.extend(serde_json::from_value::<Vec<Uuid>>(value).context("decoding offers")?);
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<EntryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {ENTRY_COLUMNS} FROM waitlist_entries w WHERE w.id = ANY($1) AND w.offer_expires_at IS NOT NULL"
        )))
        .bind(&ids)
        .fetch_all(&self.pool)
        .await
        .context("loading replayed offers")?;
        let now = Utc::now();
        Ok(rows
            .iter()
            .map(|r| {
                let mut entry = r.snapshot();
                entry.status = WaitlistStatus::Offered;
                WaitlistEvent {
                    entry,
                    occurred_at: now,
                }
            })
            .collect())
    }
}

/// Publishes the offers' events and waits for their PubAcks.
async fn publish(
    js: jetstream::Context,
    prefix: Prefix,
    events: Vec<WaitlistEvent>,
) -> anyhow::Result<()> {
    let mut acks = Vec::with_capacity(events.len());
    for event in &events {
        let subject = prefix.waitlist_event("offered", event.entry.event_id);
        acks.push(crate::publish::send(&js, subject, event, event.message_id(), None).await?);
    }
    for ack in
        futures::future::join_all(acks.into_iter().map(std::future::IntoFuture::into_future)).await
    {
        ack.context("awaiting an offer's PubAck")?;
    }
    Ok(())
}
