//! After the sale: waits for the `tickets` consumer to issue every ticket, reports tickets
//! issued/s and the lag from a booking's confirmation to its tickets (p50/p99, from
//! `bookings.updated_at` and `tickets.created_at`), checks one ticket per confirmed seat, then
//! scans every ticket at the door from C connections (scans/s, latency) and re-scans a sample,
//! which must all answer 409.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hdrhistogram::Histogram;
use serde_json::json;
use uuid::Uuid;

pub struct Door<'a> {
    pub http: &'a reqwest::Client,
    pub pool: &'a sqlx::PgPool,
    pub base_url: &'a str,
    pub event: Uuid,
    pub organizer_token: &'a str,
    pub connections: usize,
}

/// `(seconds from first to last ticket, lag p50, p99, max in ms)`.
type Timing = (f64, f64, f64, f64);

pub async fn report(door: Door<'_>) -> anyhow::Result<()> {
    let seats: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(quantity), 0)::bigint FROM bookings WHERE event_id = $1 AND status = 'confirmed'",
    )
    .bind(door.event)
    .fetch_one(door.pool)
    .await?;
    let waited = Instant::now();
    let (tickets, distinct) = loop {
        let (tickets, distinct): (i64, i64) = sqlx::query_as(
            "SELECT count(*), count(DISTINCT (booking_id, seat_index)) FROM tickets WHERE event_id = $1",
        )
        .bind(door.event)
        .fetch_one(door.pool)
        .await
        .context("counting tickets (is migration 0006 applied?)")?;
        if tickets >= seats || waited.elapsed() > Duration::from_secs(120) {
            break (tickets, distinct);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let (span, p50, p99, max): Timing = sqlx::query_as(
        "SELECT coalesce(extract(epoch FROM max(t.created_at) - min(t.created_at)), 0)::float8, \
         coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.created_at - b.updated_at)), 0)::float8 * 1000, \
         coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM t.created_at - b.updated_at)), 0)::float8 * 1000, \
         coalesce(extract(epoch FROM max(t.created_at - b.updated_at)), 0)::float8 * 1000 \
         FROM tickets t JOIN bookings b ON b.id = t.booking_id WHERE t.event_id = $1",
    )
    .bind(door.event)
    .fetch_one(door.pool)
    .await?;
    println!();
    println!(
        "tickets             {tickets} for {seats} confirmed seats ({distinct} distinct seats)"
    );
    println!(
        "tickets issued/s    {:.0} (first to last ticket in {span:.2} s)",
        tickets as f64 / span.max(0.001)
    );
    println!("confirmation->ticket ms  p50 {p50:.1}  p99 {p99:.1}  max {max:.1}");
    if tickets != seats || distinct != seats {
        bail!("wrong tickets: {tickets} tickets, {distinct} seats, expected {seats}");
    }
    let payloads: Vec<String> =
        sqlx::query_scalar("SELECT qr_payload FROM tickets WHERE event_id = $1 ORDER BY id")
            .bind(door.event)
            .fetch_all(door.pool)
            .await?;
    let payloads = Arc::new(payloads);
    let (admitted, elapsed, latency) = scan(&door, payloads.clone(), 200).await?;
    println!(
        "check-in scans      {} from {} connections in {:.2} s: {:.0} scans/s, latency ms p50 {:.1} p99 {:.1}",
        payloads.len(),
        door.connections,
        elapsed,
        payloads.len() as f64 / elapsed.max(0.001),
        latency.value_at_quantile(0.5) as f64 / 1000.0,
        latency.value_at_quantile(0.99) as f64 / 1000.0
    );
    let sample = Arc::new(payloads.iter().take(1000).cloned().collect::<Vec<_>>());
    let (again, re_elapsed, _) = scan(&door, sample.clone(), 409).await?;
    println!(
        "re-scans            {} answered 409 of {} ({:.0} scans/s)",
        again,
        sample.len(),
        sample.len() as f64 / re_elapsed.max(0.001)
    );
    if admitted != payloads.len() || again != sample.len() {
        bail!(
            "check-in: {admitted}/{} admitted, {again}/{} re-scans refused",
            payloads.len(),
            sample.len()
        );
    }
    Ok(())
}

/// Scans every payload once from `connections` workers; returns how many answered `expect`, the
/// seconds it took and the latency histogram (µs).
async fn scan(
    door: &Door<'_>,
    payloads: Arc<Vec<String>>,
    expect: u16,
) -> anyhow::Result<(usize, f64, Histogram<u64>)> {
    let url = Arc::new(format!(
        "{}/api/v1/events/{}/checkin",
        door.base_url, door.event
    ));
    let token = Arc::new(door.organizer_token.to_owned());
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..door.connections.max(1) {
        let (http, url, token, next, payloads) = (
            door.http.clone(),
            url.clone(),
            token.clone(),
            next.clone(),
            payloads.clone(),
        );
        workers.spawn(async move {
            let mut latency = Histogram::<u64>::new(3).ok();
            let mut matched = 0usize;
            while let Some(payload) = payloads.get(next.fetch_add(1, Ordering::Relaxed)) {
                let sent = Instant::now();
                let res = http
                    .post(url.as_str())
                    .bearer_auth(token.as_str())
                    .json(&json!({"qr_payload": payload}))
                    .send()
                    .await;
                if let Some(h) = latency.as_mut() {
                    let _ = h.record(sent.elapsed().as_micros() as u64);
                }
                if res.is_ok_and(|r| r.status().as_u16() == expect) {
                    matched += 1;
                }
            }
            (matched, latency)
        });
    }
    let mut matched = 0;
    let mut latency = Histogram::<u64>::new(3)?;
    while let Some(done) = workers.join_next().await {
        let (m, h) = done?;
        matched += m;
        if let Some(h) = h {
            latency.add(&h)?;
        }
    }
    Ok((matched, started.elapsed().as_secs_f64(), latency))
}
