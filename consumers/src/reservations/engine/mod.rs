//! The reservations engine: a batch of commands in one transaction. It records the commands in
//! the inbox (`inbox.rs`: all but reserves, whose booking id is their guard), locks everything the
//! fresh ones need in a fixed order (`load.rs`), decides each in stream order against that state
//! (`commands/`, pure), writes the state back in a few multi-row statements (`write.rs`) and
//! commits. After commit the runner publishes what the batch caused (`publish.rs`) and acks the
//! commands only once every PubAck is in. A redelivered command finds itself applied and
//! publishes its events again, which the stream's duplicate window drops.

mod inbox;
mod load;
mod publish;
mod state;
mod write;

use std::collections::HashMap;

use anyhow::Context as _;
use chrono::Utc;
use evently_schemas::BookingCommand;
use sqlx::PgPool;

pub use load::Needs;
pub use publish::{Publisher, Traces};
pub use state::{Effects, Replay, State, locked};

use super::commands;
use super::seating::SeatCache;

/// What a batch decided: the commands refused for good (by their index in the batch) and what
/// it caused, to publish.
#[derive(Default)]
pub struct Decided {
    pub refused: HashMap<usize, anyhow::Error>,
    pub effects: Effects,
}

/// Applies the decoded commands of a batch. `Err` means nothing was applied (retry the batch).
pub async fn apply(
    pool: &PgPool,
    batch: &[(usize, BookingCommand)],
    cache: &SeatCache,
) -> anyhow::Result<Decided> {
    if batch.is_empty() {
        return Ok(Decided::default());
    }
    let mut tx = pool.begin().await.context("beginning a transaction")?;
    let ids: Vec<String> = batch
        .iter()
        .filter(|(_, c)| commands::uses_inbox(c))
        .map(|(_, c)| c.command_id())
        .collect();
    let mut fresh = inbox::record(&mut tx, &ids).await?;
    let mut state = State::new(Utc::now());
    let mut needs = Needs::default();
    let mut to_decide = Vec::with_capacity(batch.len());
    for (index, command) in batch {
        // A command id seen twice in one batch is fresh the first time only.
        if commands::uses_inbox(command) && !fresh.remove(&command.command_id()) {
            state.effects.replays.extend(commands::replay(command));
            continue;
        }
        commands::needs(command, &mut needs);
        to_decide.push((*index, command));
    }
    load::lock(&mut tx, &needs, &mut state, cache).await?;
    let mut refused = HashMap::new();
    for (index, command) in to_decide {
        if let Err(e) = commands::decide(command, &mut state) {
            refused.insert(index, e);
        }
    }
    write::write(&mut tx, &mut state).await?;
    let refused_ids: Vec<String> = batch
        .iter()
        .filter(|(i, _)| refused.contains_key(i))
        .map(|(_, c)| c.command_id())
        .collect();
    inbox::settle(&mut tx, &state.effects.outcomes, &refused_ids).await?;
    tx.commit().await.context("committing the batch")?;
    // The whole maps the batch decided on are what PostgreSQL now has, at their new version.
    for (event_id, event) in &mut state.events {
        if event.seats.whole {
            cache.put(
                *event_id,
                event.seat_version,
                std::mem::take(&mut event.seats),
            );
        }
    }
    for event in &state.effects.bookings {
        metrics::counter!("evently_bookings_total", "outcome" => event.booking.status.as_str())
            .increment(1);
    }
    Ok(Decided {
        refused,
        effects: state.effects,
    })
}
