//! The "sold-out churn" load generator: an event with N seats sold out, a W-person waitlist, then
//! P% of the seat holders cancel at once over HTTP against a running Evently (`evently up`). Each
//! cancellation frees one seat that the `waitlist` consumer offers to the next person in line.
//! Prints offers/s, the median and p99 time from a cancellation to the next person's offer
//! (from the steps' own timestamps in PostgreSQL: the k-th seat freed goes to the k-th offer),
//! and checks that no seat was double-allocated (sold + held + offered <= capacity, matching the
//! bookings and entries), that every entry was offered at most once, and that the offers went to
//! the first entries in join order.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use chrono::{DateTime, Utc};
use clap::Parser;
use evently_runtime::identity::Role;
use evently_tests::load;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use uuid::Uuid;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    about = "Sold-out churn: waitlist promotion under cancellations, against a running Evently"
)]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base_url: String,
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:15432/postgres"
    )]
    database_url: String,
    /// The token signing secret; default: `EVENTLY_JWT_SECRET`, else `.evently/jwt_secret`.
    #[arg(long, env = "EVENTLY_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
    /// Seats, all sold before the churn (N).
    #[arg(long, default_value_t = 2_000)]
    seats: usize,
    /// People on the waitlist (W).
    #[arg(long, default_value_t = 5_000)]
    waitlist: usize,
    /// Share of the seat holders who cancel, in percent (P).
    #[arg(long, default_value_t = 20)]
    cancel_percent: usize,
    /// Concurrent connections.
    #[arg(long, default_value_t = 200)]
    connections: usize,
}

/// One request of a batch: path, token and JSON body.
type Request = (String, String, Value);

/// Sends every request from `connections` workers; returns how many failed (non-2xx).
async fn fire_all(
    http: &reqwest::Client,
    base: &str,
    requests: Vec<Request>,
    connections: usize,
) -> usize {
    let requests = Arc::new(requests);
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (http, requests, next, failed) =
            (http.clone(), requests.clone(), next.clone(), failed.clone());
        let base = base.to_owned();
        workers.spawn(async move {
            while let Some((path, token, body)) = requests.get(next.fetch_add(1, Ordering::Relaxed))
            {
                let ok = http
                    .post(format!("{base}/api/v1{path}"))
                    .bearer_auth(token)
                    .json(body)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                if !ok {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while workers.join_next().await.is_some() {}
    failed.load(Ordering::Relaxed)
}

/// Polls `query` (one bigint) until it reaches `target` or two minutes pass.
async fn wait_count(
    pool: &sqlx::PgPool,
    query: &str,
    event: Uuid,
    target: i64,
) -> anyhow::Result<i64> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(query.to_owned()))
            .bind(event)
            .fetch_one(pool)
            .await?;
        if n >= target || Instant::now() > deadline {
            return Ok(n);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let keys = load::token_keys(args.jwt_secret.as_deref())?;
    let pool = evently_runtime::db::connect(&args.database_url, 4).await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .timeout(Duration::from_secs(30))
        .build()?;
    let base = args.base_url.clone();
    let cancels = args.seats * args.cancel_percent / 100;
    println!(
        "setting up: {} seats sold out, {} people on the waitlist, {} cancellations ({}%)",
        args.seats, args.waitlist, cancels, args.cancel_percent
    );
    let organizer = Uuid::now_v7();
    load::insert_users(&pool, &[organizer], "organizer").await?;
    let organizer_token = keys.issue(organizer, Role::Organizer)?.0;
    let seats = args.seats as i64;
    let venue = load::create_venue(&http, &base, &organizer_token, "Churn Hall", seats).await?;
    let event = load::create_event(
        &http,
        &base,
        &organizer_token,
        &venue,
        "Sold-out churn",
        seats,
    )
    .await?;
    let holders: Vec<Uuid> = (0..args.seats).map(|_| Uuid::now_v7()).collect();
    let waiters: Vec<Uuid> = (0..args.waitlist).map(|_| Uuid::now_v7()).collect();
    load::insert_users(&pool, &holders, "attendee").await?;
    load::insert_users(&pool, &waiters, "attendee").await?;
    let token = |u: &Uuid| keys.issue(*u, Role::Attendee).map(|t| t.0);

    let book: Vec<Request> = holders
        .iter()
        .map(|u| {
            Ok((
                format!("/events/{event}/bookings"),
                token(u)?,
                json!({"quantity": 1}),
            ))
        })
        .collect::<anyhow::Result<_>>()?;
    fire_all(&http, &base, book, args.connections).await;
    let sold = wait_count(
        &pool,
        "SELECT sold::bigint FROM inventory WHERE event_id = $1",
        event,
        args.seats as i64,
    )
    .await?;
    if sold != args.seats as i64 {
        bail!("only {sold} of {} seats were sold", args.seats);
    }
    let join: Vec<Request> = waiters
        .iter()
        .map(|u| {
            Ok((
                format!("/events/{event}/waitlist"),
                token(u)?,
                json!({"quantity": 1}),
            ))
        })
        .collect::<anyhow::Result<_>>()?;
    let started = Instant::now();
    fire_all(&http, &base, join, args.connections).await;
    let waiting = wait_count(
        &pool,
        "SELECT count(*) FROM waitlist_entries WHERE event_id = $1 AND status = 'waiting'",
        event,
        args.waitlist as i64,
    )
    .await?;
    println!(
        "sold out; {waiting} waiting (joined in {:.1} s)",
        started.elapsed().as_secs_f64()
    );

    let bookings: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT id, user_id FROM bookings WHERE event_id = $1 AND status = 'confirmed' ORDER BY random() LIMIT $2",
    )
    .bind(event)
    .bind(cancels as i64)
    .fetch_all(&pool)
    .await?;
    let cancel: Vec<Request> = bookings
        .iter()
        .map(|(b, u)| Ok((format!("/bookings/{b}/cancel"), token(u)?, json!({}))))
        .collect::<anyhow::Result<_>>()?;
    println!(
        "cancelling {} bookings from {} connections",
        cancel.len(),
        args.connections
    );
    let started = Instant::now();
    let failed = fire_all(&http, &base, cancel, args.connections).await;
    let offered = wait_count(
        &pool,
        "SELECT count(*) FROM waitlist_entries WHERE event_id = $1 AND status = 'offered'",
        event,
        cancels as i64,
    )
    .await?;
    let wall = started.elapsed();
    report(&pool, event, cancels, offered, failed, wall).await
}

async fn report(
    pool: &sqlx::PgPool,
    event: Uuid,
    cancels: usize,
    offered: i64,
    failed: usize,
    wall: Duration,
) -> anyhow::Result<()> {
    let cancelled: Vec<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT updated_at FROM bookings WHERE event_id = $1 AND status = 'cancelled' ORDER BY updated_at",
    )
    .bind(event)
    .fetch_all(pool)
    .await?;
    let offers: Vec<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT updated_at FROM waitlist_entries WHERE event_id = $1 AND status = 'offered' ORDER BY updated_at",
    )
    .bind(event)
    .fetch_all(pool)
    .await?;
    let mut delays = Histogram::<u64>::new(3)?;
    for (c, o) in cancelled.iter().zip(&offers) {
        delays.record((*o - *c).num_microseconds().unwrap_or(0).max(0) as u64)?;
    }
    let span = match (cancelled.first(), offers.last()) {
        (Some(c), Some(o)) => (*o - *c).to_std().unwrap_or_default(),
        _ => Duration::ZERO,
    };
    println!(
        "offers: {offered} of {cancels} in {:.2} s from the first cancellation = {:.0} offers/s (wall {:.2} s, {failed} cancel requests failed)",
        span.as_secs_f64(),
        offered as f64 / span.as_secs_f64().max(1e-6),
        wall.as_secs_f64()
    );
    println!(
        "cancellation -> next offer: median {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        delays.value_at_quantile(0.5) as f64 / 1000.0,
        delays.value_at_quantile(0.99) as f64 / 1000.0,
        delays.max() as f64 / 1000.0
    );
    let (capacity, sold, held, offered_seats): (i32, i32, i32, i32) =
        sqlx::query_as("SELECT capacity, sold, held, offered FROM inventory WHERE event_id = $1")
            .bind(event)
            .fetch_one(pool)
            .await?;
    let (booked, holds, offer_seats): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COALESCE(sum(quantity), 0) FROM bookings WHERE event_id = $1 AND status = 'confirmed')::bigint, \
         (SELECT COALESCE(sum(quantity), 0) FROM bookings WHERE event_id = $1 AND status = 'held')::bigint, \
         (SELECT COALESCE(sum(quantity), 0) FROM waitlist_entries WHERE event_id = $1 AND status = 'offered')::bigint",
    )
    .bind(event)
    .fetch_one(pool)
    .await?;
    // Strict order: the offered entries are the first ones in join order.
    let out_of_order: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM waitlist_entries o WHERE o.event_id = $1 AND o.status = 'offered' \
         AND EXISTS (SELECT 1 FROM waitlist_entries w WHERE w.event_id = $1 AND w.status = 'waiting' AND w.position < o.position)",
    )
    .bind(event)
    .fetch_one(pool)
    .await?;
    let allocated = booked + holds + offer_seats;
    let consistent = i64::from(sold) == booked
        && i64::from(held) == holds
        && i64::from(offered_seats) == offer_seats;
    println!(
        "seats: capacity {capacity}, confirmed {booked}, held {holds}, offered {offer_seats} -> allocated {allocated} ({})",
        if allocated <= i64::from(capacity) && consistent {
            "no double allocation"
        } else {
            "DOUBLE ALLOCATION"
        }
    );
    println!(
        "offers went to the first {offered} entries in join order: {}; each entry offered at most once: {}",
        if out_of_order == 0 { "yes" } else { "NO" },
        if offered == offers.len() as i64 {
            "yes"
        } else {
            "NO"
        },
    );
    if allocated > i64::from(capacity)
        || !consistent
        || out_of_order > 0
        || offered < cancels as i64
    {
        bail!("the churn check failed");
    }
    Ok(())
}
