//! The flash sale's clients. By default they behave as the README tells clients to: every
//! booking carries a fresh `Idempotency-Key`, a share of them is sent twice with the same key (the
//! first attempt given up after a short timeout, or its answer treated as lost), and users come
//! back to book again. `--happy-path` keeps the old run: one keyless request per user.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::Value;
use uuid::Uuid;

/// How the clients behave.
#[derive(Debug, Clone)]
pub struct Behaviour {
    /// Send an `Idempotency-Key` (fresh per booking).
    pub keys: bool,
    /// Percent of bookings sent a second time with the same key.
    pub retry_percent: u64,
    /// How long the first attempt of a retried booking waits before it is given up.
    pub retry_timeout: Duration,
    /// Tag that makes this run's keys unique.
    pub run: Uuid,
}

impl Behaviour {
    pub fn key(&self, request: usize) -> Option<String> {
        self.keys
            .then(|| format!("fs-{}-{request}", self.run.simple()))
    }

    /// Whether booking `request` is sent twice (spread evenly over the run).
    pub fn retried(&self, request: usize) -> bool {
        self.keys && (request as u64).wrapping_mul(7919) % 100 < self.retry_percent
    }
}

/// What the clients saw.
#[derive(Default)]
pub struct Tally {
    pub latency: Option<Histogram<u64>>,
    pub confirmed: u64,
    pub rejected: u64,
    pub pending: Vec<(usize, Uuid)>,
    pub confirmed_at: Vec<Instant>,
    pub errors: u64,
    pub error_samples: Vec<String>,
    /// HTTP requests sent (retries included).
    pub attempts: u64,
    /// Bookings sent twice, and how many of those first attempts were given up on timeout.
    pub retried: u64,
    pub retry_timeouts: u64,
    /// Retries whose answer named another booking than the first attempt's.
    pub retry_mismatches: u64,
    /// The booking id each request ended with (to count bookings per key afterwards).
    pub booking_ids: HashMap<usize, Uuid>,
}

impl Tally {
    pub fn merge(&mut self, other: Tally) -> anyhow::Result<()> {
        if let (Some(mine), Some(theirs)) = (self.latency.as_mut(), &other.latency) {
            mine.add(theirs)?;
        } else if self.latency.is_none() {
            self.latency = other.latency;
        }
        self.confirmed += other.confirmed;
        self.rejected += other.rejected;
        self.pending.extend(other.pending);
        self.confirmed_at.extend(other.confirmed_at);
        self.errors += other.errors;
        self.error_samples
            .extend(other.error_samples.into_iter().take(3));
        self.attempts += other.attempts;
        self.retried += other.retried;
        self.retry_timeouts += other.retry_timeouts;
        self.retry_mismatches += other.retry_mismatches;
        self.booking_ids.extend(other.booking_ids);
        Ok(())
    }
}

/// One client connection's work: takes the next booking request until all are sent. Request `i`
/// belongs to user `i % users`, so every user's second booking comes after everyone's first.
pub async fn fire(
    http: reqwest::Client,
    url: Arc<String>,
    next: Arc<AtomicUsize>,
    requests: usize,
    tokens: Arc<Vec<String>>,
    bodies: Arc<Vec<Value>>,
    behaviour: Arc<Behaviour>,
) -> Tally {
    let mut tally = Tally {
        latency: Histogram::new(3).ok(),
        ..Tally::default()
    };
    loop {
        let index = next.fetch_add(1, Ordering::Relaxed);
        if index >= requests {
            break;
        }
        let token = &tokens[index % tokens.len()];
        let body = &bodies[index % bodies.len()];
        let key = behaviour.key(index);
        let mut first_id = None;
        if behaviour.retried(index) {
            tally.retried += 1;
            let attempt = send(
                &http,
                &url,
                token,
                body,
                key.as_deref(),
                Some(behaviour.retry_timeout),
            );
            match attempt.await {
                Attempt::TimedOut => tally.retry_timeouts += 1,
                Attempt::Answered { id, .. } => first_id = id,
                Attempt::Failed(_) => {}
            }
            tally.attempts += 1;
        }
        let sent = Instant::now();
        let attempt = send(&http, &url, token, body, key.as_deref(), None).await;
        tally.attempts += 1;
        if let Some(h) = tally.latency.as_mut() {
            let _ = h.record(sent.elapsed().as_micros() as u64);
        }
        match attempt {
            Attempt::Answered { status, body, id } => {
                if let Some(id) = id {
                    tally.booking_ids.insert(index, id);
                }
                if first_id.is_some() && first_id != id {
                    tally.retry_mismatches += 1;
                }
                match status {
                    201 if body["status"] == "confirmed" => {
                        tally.confirmed += 1;
                        tally.confirmed_at.push(Instant::now());
                    }
                    201 => tally.rejected += 1,
                    202 => match id {
                        Some(id) => tally.pending.push((index, id)),
                        None => tally.errors += 1,
                    },
                    _ => {
                        tally.errors += 1;
                        tally.error_samples.push(format!("{status}: {body}"));
                    }
                }
            }
            Attempt::TimedOut => {
                tally.errors += 1;
                tally.error_samples.push("timed out".into());
            }
            Attempt::Failed(e) => {
                tally.errors += 1;
                tally.error_samples.push(e);
            }
        }
    }
    tally
}

enum Attempt {
    Answered {
        status: u16,
        body: Value,
        id: Option<Uuid>,
    },
    TimedOut,
    Failed(String),
}

async fn send(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    body: &Value,
    key: Option<&str>,
    timeout: Option<Duration>,
) -> Attempt {
    let mut request = http.post(url).bearer_auth(token).json(body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    if let Some(timeout) = timeout {
        request = request.timeout(timeout);
    }
    let res = match request.send().await {
        Ok(res) => res,
        Err(e) if e.is_timeout() => return Attempt::TimedOut,
        Err(e) => return Attempt::Failed(e.to_string()),
    };
    let status = res.status().as_u16();
    match res.json::<Value>().await {
        Ok(body) => {
            let id = body["id"].as_str().and_then(|s| s.parse().ok());
            Attempt::Answered { status, body, id }
        }
        Err(e) if e.is_timeout() => Attempt::TimedOut,
        Err(e) => Attempt::Failed(format!("{status}: {e}")),
    }
}
