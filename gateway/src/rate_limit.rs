//! Fixed-window rate limits shared by every gateway instance: counters live in PostgreSQL (an
//! unlogged table), so two gateways behind one balancer enforce one limit. To keep the booking
//! path fast, hits are not written one by one: a background task takes every hit that arrived
//! while the previous write was in flight and applies them with one upsert, answering each hit
//! with its place in the window (hits nobody waits for gather for up to 20 ms first, so a sale
//! costs one upsert per 20 ms, not one every few). Should the database be unreachable, requests
//! are let through (logged): the limiter protects the service, it must not become the outage.
//!
//! [`RateLimiter::check`] waits for the shared count. [`RateLimiter::check_optimistic`], for the
//! booking path, does not wait while the key is known to be far below its limit (under half of it,
//! counting hits of this instance still in flight): the hit is counted in the background and the
//! request goes on. Closer to the limit it waits like `check`, so a key can overshoot only by the
//! requests other instances let through in the same few tens of milliseconds.

use std::collections::HashMap;
use std::time::Duration;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::error::ApiError;

/// One request counted against a key's current window.
struct Hit {
    key: String,
    window_start: DateTime<Utc>,
    /// `None` for an optimistic hit: nobody waits, the local view is updated.
    reply: Option<oneshot::Sender<i64>>,
}

/// What this instance knows of a key's current window.
#[derive(Debug, Clone, Copy)]
struct Known {
    window_start: DateTime<Utc>,
    window_end: DateTime<Utc>,
    /// The shared count as last seen.
    count: i64,
    /// Optimistic hits of this instance not yet counted.
    pending: i64,
}

type KnownCounts = Arc<Mutex<HashMap<String, Known>>>;

/// The hits of one key in one batch: `Some` for those waiting for their count.
type Waiters = Vec<Option<oneshot::Sender<i64>>>;

#[derive(Clone)]
pub struct RateLimiter {
    hits: mpsc::Sender<Hit>,
    known: KnownCounts,
}

/// The start of the fixed window of `window` that contains `now`, and the seconds until it ends.
fn window_of(now: DateTime<Utc>, window: Duration) -> (DateTime<Utc>, u64) {
    let length = window.as_secs().max(1) as i64;
    let start = now.timestamp().div_euclid(length) * length;
    let left = (start + length - now.timestamp()).max(1) as u64;
    (DateTime::from_timestamp(start, 0).unwrap_or(now), left)
}

impl RateLimiter {
    /// Starts the writer task; it stops with `shutdown`.
    pub fn start(pool: PgPool, shutdown: CancellationToken) -> Self {
        let (tx, rx) = mpsc::channel(65_536);
        let known = KnownCounts::default();
        tokio::spawn(write_hits(pool, rx, known.clone(), shutdown));
        Self { hits: tx, known }
    }

    /// Like [`check`](Self::check), but without waiting while the key is far below `limit`.
    pub async fn check_optimistic(
        &self,
        key: String,
        limit: u32,
        window: Duration,
    ) -> Result<(), ApiError> {
        let (window_start, _) = window_of(Utc::now(), window);
        let go_ahead = {
            let mut known = self.known.lock();
            let fresh = Known {
                window_start,
                window_end: window_start + chrono::Duration::from_std(window).unwrap_or_default(),
                count: 0,
                pending: 0,
            };
            let entry = known.entry(key.clone()).or_insert(fresh);
            if entry.window_start != window_start {
                *entry = fresh;
            }
            let far_below = (entry.count + entry.pending + 1) * 2 <= i64::from(limit);
            if far_below {
                entry.pending += 1;
            }
            far_below
        };
        if !go_ahead {
            return self.check(key, limit, window).await;
        }
        let hit = Hit {
            key,
            window_start,
            reply: None,
        };
        if self.hits.try_send(hit).is_err() {
            tracing::warn!("rate limiter queue full; a hit was not counted");
        }
        Ok(())
    }

    /// Counts a request against `key`; `429` with `Retry-After` once `limit` requests were
    /// counted in the current window.
    pub async fn check(&self, key: String, limit: u32, window: Duration) -> Result<(), ApiError> {
        let (window_start, retry_after) = window_of(Utc::now(), window);
        let (reply, count) = oneshot::channel();
        let hit = Hit {
            key,
            window_start,
            reply: Some(reply),
        };
        if self.hits.send(hit).await.is_err() {
            return Ok(());
        }
        match count.await {
            Ok(n) if n > i64::from(limit) => {
                metrics::counter!("evently_rate_limited_total").increment(1);
                Err(ApiError::TooManyRequests { retry_after })
            }
            _ => Ok(()),
        }
    }
}

/// How long hits nobody waits for (the optimistic ones) may gather before they are written: under
/// a sale's load one upsert per this interval instead of one every few milliseconds.
const GATHER: Duration = Duration::from_millis(20);

/// Applies hits in batches: everything queued while the previous batch was written, and the
/// optimistic hits arriving within [`GATHER`] of the batch's first.
async fn write_hits(
    pool: PgPool,
    mut rx: mpsc::Receiver<Hit>,
    known: KnownCounts,
    shutdown: CancellationToken,
) {
    let mut last_prune = tokio::time::Instant::now();
    let mut last_db_prune = tokio::time::Instant::now();
    loop {
        let first = tokio::select! {
            _ = shutdown.cancelled() => return,
            hit = rx.recv() => match hit { Some(h) => h, None => return },
        };
        // Hits nobody waits for gather for up to `GATHER`; one someone waits on goes at once.
        let deadline = tokio::time::Instant::now() + GATHER;
        let mut waited_on = first.reply.is_some();
        let mut batch = vec![first];
        while batch.len() < 4096 {
            let hit = match rx.try_recv() {
                Ok(hit) => hit,
                Err(mpsc::error::TryRecvError::Empty) if !waited_on => {
                    match tokio::time::timeout_at(deadline, rx.recv()).await {
                        Ok(Some(hit)) => hit,
                        _ => break,
                    }
                }
                Err(_) => break,
            };
            waited_on |= hit.reply.is_some();
            batch.push(hit);
        }
        answer(&pool, &known, batch).await;
        if last_prune.elapsed() > Duration::from_secs(5) {
            last_prune = tokio::time::Instant::now();
            let now = Utc::now();
            known.lock().retain(|_, k| k.window_end > now);
        }
        if last_db_prune.elapsed() > Duration::from_secs(60) {
            last_db_prune = tokio::time::Instant::now();
            let pruned = sqlx::query(
                "DELETE FROM rate_limits WHERE window_start < now() - interval '1 hour'",
            )
            .execute(&pool)
            .await;
            if let Err(e) = pruned {
                tracing::warn!(error = %e, "pruning rate-limit windows");
            }
        }
    }
}

async fn answer(pool: &PgPool, known: &KnownCounts, batch: Vec<Hit>) {
    // Several hits on one key become one increment; each hit then learns its own position.
    let mut per_key: HashMap<(String, DateTime<Utc>), Waiters> = HashMap::new();
    for hit in batch {
        per_key
            .entry((hit.key, hit.window_start))
            .or_default()
            .push(hit.reply);
    }
    let mut keys = Vec::with_capacity(per_key.len());
    let mut starts = Vec::with_capacity(per_key.len());
    let mut counts = Vec::with_capacity(per_key.len());
    for ((key, start), replies) in &per_key {
        keys.push(key.clone());
        starts.push(*start);
        counts.push(i32::try_from(replies.len()).unwrap_or(i32::MAX));
    }
    let totals: Result<Vec<(String, DateTime<Utc>, i32)>, _> = sqlx::query_as(
        "INSERT INTO rate_limits (key, window_start, hits) \
         SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::int[]) \
         ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_limits.hits + excluded.hits \
         RETURNING key, window_start, hits",
    )
    .bind(&keys)
    .bind(&starts)
    .bind(&counts)
    .fetch_all(pool)
    .await;
    match totals {
        Ok(rows) => {
            let mut known = known.lock();
            for (key, start, total) in rows {
                let Some(replies) = per_key.remove(&(key.clone(), start)) else {
                    continue;
                };
                let optimistic = replies.iter().filter(|r| r.is_none()).count() as i64;
                if let Some(k) = known.get_mut(&key)
                    && k.window_start == start
                {
                    k.count = k.count.max(i64::from(total));
                    k.pending = (k.pending - optimistic).max(0);
                }
                let first = i64::from(total) - replies.len() as i64 + 1;
                for (i, reply) in replies.into_iter().enumerate() {
                    if let Some(reply) = reply {
                        let _ = reply.send(first + i as i64);
                    }
                }
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "rate limiter cannot reach PostgreSQL; letting requests through")
        }
    }
    // Anything unanswered (an error) is let through: its sender drops here.
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_aligned_and_say_how_long_is_left() {
        let now = DateTime::from_timestamp(1_000_075, 0).expect("time");
        let (start, left) = window_of(now, Duration::from_secs(60));
        assert_eq!(start.timestamp(), 1_000_020);
        assert_eq!(left, 5);
    }
}
