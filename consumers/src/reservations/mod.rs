//! The `reservations` consumer: the only writer of seats. It decodes a batch of booking commands
//! and hands them to the engine (`engine/`: inbox, locks in a fixed order, batched writes, events
//! after commit, replay), which decides each with its command's file (`commands/`, one per kind,
//! pure) over the state it locked (`model.rs`; a seated event's seats and best-available in `seating.rs`). A new command goes in `commands/`.

mod commands;
mod engine;
mod model;
mod seating;

use async_nats::jetstream;
use evently_schemas::{BookingCommand, Prefix};
use sqlx::PgPool;

use crate::runner::{AfterCommit, Handler, Incoming, Outcome, Step};

pub const NAME: &str = "reservations";

pub struct Reservations {
    pool: PgPool,
    js: jetstream::Context,
    prefix: Prefix,
    /// Seat maps of seated events as this instance last wrote them (`seating.rs`).
    seats: seating::SeatCache,
}

impl Reservations {
    pub fn new(pool: PgPool, js: jetstream::Context, prefix: Prefix) -> Self {
        Self {
            pool,
            js,
            prefix,
            seats: seating::SeatCache::default(),
        }
    }
}

impl Handler for Reservations {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn handle(&self, batch: &[Incoming]) -> Step {
        let mut outcomes: Vec<Option<Outcome>> = Vec::with_capacity(batch.len());
        let mut commands = Vec::with_capacity(batch.len());
        for (index, message) in batch.iter().enumerate() {
            match serde_json::from_slice::<BookingCommand>(&message.payload) {
                Ok(command) => {
                    commands.push((index, command));
                    outcomes.push(None);
                }
                Err(e) => outcomes.push(Some(Outcome::Reject(
                    anyhow::Error::new(e).context("undecodable booking command"),
                ))),
            }
        }
        let mut after_commit = None;
        let traces = engine::Traces::of(batch, &commands);
        match engine::apply(&self.pool, &commands, &self.seats).await {
            Ok(engine::Decided {
                mut refused,
                effects,
            }) => {
                for (index, _) in &commands {
                    outcomes[*index] = Some(match refused.remove(index) {
                        Some(e) => Outcome::Reject(e),
                        None => Outcome::Done,
                    });
                }
                after_commit =
                    Some(Box::pin(self.publisher().publish(effects, traces)) as AfterCommit);
            }
            Err(e) => {
                let text = format!("{e:#}");
                for (index, _) in &commands {
                    outcomes[*index] = Some(Outcome::Retry(anyhow::anyhow!("{text}")));
                }
            }
        }
        Step {
            outcomes: outcomes
                .into_iter()
                .map(|o| o.unwrap_or(Outcome::Done))
                .collect(),
            after_commit,
        }
    }
}

impl Reservations {
    fn publisher(&self) -> engine::Publisher {
        engine::Publisher {
            pool: self.pool.clone(),
            js: self.js.clone(),
            prefix: self.prefix.clone(),
        }
    }
}
