//! The flash-sale load generator: an event with N seats, M users each booking one seat over HTTP
//! from C concurrent connections against a running Evently (`evently up`). Prints requests/s,
//! decided bookings/s, POST latency percentiles, the time until every request is decided, and the
//! confirmed/rejected/error counts, checking in PostgreSQL that no seat was oversold.
//!
//! Users are inserted straight into PostgreSQL and their tokens minted with the server's signing
//! secret (50,000 argon2 registrations would measure argon2, not booking).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use evently_runtime::identity::{Role, TokenKeys};
use evently_runtime::settings::Secret;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use uuid::Uuid;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(about = "Flash-sale load generator for a running Evently")]
struct Args {
    /// The gateway.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base_url: String,
    /// The database Evently uses (to create users and check the result).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:15432/postgres"
    )]
    database_url: String,
    /// The token signing secret; default: `EVENTLY_JWT_SECRET`, else `.evently/jwt_secret`.
    #[arg(long, env = "EVENTLY_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
    /// Seats on sale (N).
    #[arg(long, default_value_t = 10_000)]
    seats: i32,
    /// Booking requests, one per user (M).
    #[arg(long, default_value_t = 50_000)]
    requests: usize,
    /// Concurrent connections (C).
    #[arg(long, default_value_t = 500)]
    connections: usize,
}

#[derive(Default)]
struct Tally {
    latency: Option<Histogram<u64>>,
    confirmed: u64,
    rejected: u64,
    pending: Vec<(usize, Uuid)>,
    errors: u64,
    error_samples: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let secret = match &args.jwt_secret {
        Some(s) => s.clone(),
        None => std::fs::read_to_string(PathBuf::from(".evently/jwt_secret"))
            .context("no --jwt-secret / EVENTLY_JWT_SECRET and no .evently/jwt_secret (run from the repository after `evently up`)")?
            .trim()
            .to_owned(),
    };
    let keys = TokenKeys::new(&Secret::new(secret), Duration::from_secs(3600));
    let pool = evently_runtime::db::connect(&args.database_url, 4).await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .timeout(Duration::from_secs(30))
        .build()?;

    println!(
        "setting up: {} users, an event with {} seats",
        args.requests, args.seats
    );
    let organizer = Uuid::now_v7();
    insert_users(&pool, &[organizer], "organizer").await?;
    let organizer_token = keys.issue(organizer, Role::Organizer)?.0;
    let event = create_event(&http, &args, &organizer_token).await?;
    let users: Vec<Uuid> = (0..args.requests).map(|_| Uuid::now_v7()).collect();
    for chunk in users.chunks(10_000) {
        insert_users(&pool, chunk, "attendee").await?;
    }
    let tokens: Arc<Vec<String>> = Arc::new(
        users
            .iter()
            .map(|u| keys.issue(*u, Role::Attendee).map(|t| t.0))
            .collect::<Result<_, _>>()?,
    );

    println!(
        "firing {} booking requests from {} connections at {}",
        args.requests, args.connections, args.base_url
    );
    let url = Arc::new(format!("{}/api/v1/events/{event}/bookings", args.base_url));
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..args.connections {
        let (http, url, next, tokens) = (http.clone(), url.clone(), next.clone(), tokens.clone());
        workers.spawn(async move { fire(http, url, next, tokens).await });
    }
    let mut tally = Tally::default();
    let mut latency = Histogram::<u64>::new(3)?;
    while let Some(done) = workers.join_next().await {
        let t = done?;
        if let Some(h) = &t.latency {
            latency.add(h)?;
        }
        tally.confirmed += t.confirmed;
        tally.rejected += t.rejected;
        tally.errors += t.errors;
        tally.pending.extend(t.pending);
        tally
            .error_samples
            .extend(t.error_samples.into_iter().take(3));
    }
    let fired = started.elapsed();
    let answered_pending = tally.pending.len();

    // Poll what was answered 202 until decided.
    for (index, id) in std::mem::take(&mut tally.pending) {
        match wait_decided(&http, &args.base_url, &tokens[index], id).await? {
            Some(s) if s == "confirmed" => tally.confirmed += 1,
            Some(_) => tally.rejected += 1,
            None => tally.errors += 1,
        }
    }
    let decided = started.elapsed();

    let (sold, capacity): (i32, i32) =
        sqlx::query_as("SELECT sold, capacity FROM inventory WHERE event_id = $1")
            .bind(event)
            .fetch_one(&pool)
            .await?;
    let confirmed_in_db: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM bookings WHERE event_id = $1 AND status = 'confirmed'",
    )
    .bind(event)
    .fetch_one(&pool)
    .await?;
    let ms = |v: u64| v as f64 / 1000.0;
    println!();
    println!("requests            {}", args.requests);
    println!("connections         {}", args.connections);
    println!("seats               {}", args.seats);
    println!("fired in            {:.2} s", fired.as_secs_f64());
    println!(
        "requests/s          {:.0}",
        args.requests as f64 / fired.as_secs_f64()
    );
    println!("all decided after   {:.2} s", decided.as_secs_f64());
    println!(
        "decided bookings/s  {:.0}",
        args.requests as f64 / decided.as_secs_f64()
    );
    println!(
        "POST latency ms     p50 {:.1}  p95 {:.1}  p99 {:.1}  max {:.1}",
        ms(latency.value_at_quantile(0.50)),
        ms(latency.value_at_quantile(0.95)),
        ms(latency.value_at_quantile(0.99)),
        ms(latency.max())
    );
    println!("answered 202        {answered_pending}");
    println!(
        "confirmed           {} (database: {confirmed_in_db}, inventory sold {sold}/{capacity})",
        tally.confirmed
    );
    println!("rejected            {}", tally.rejected);
    println!("errors              {}", tally.errors);
    for sample in &tally.error_samples {
        println!("  e.g. {sample}");
    }
    let oversold = i64::from(sold) > i64::from(capacity) || confirmed_in_db > i64::from(capacity);
    println!("oversold            {}", if oversold { "YES" } else { "0" });
    let expected = (args.seats as usize).min(args.requests) as u64;
    if oversold || tally.confirmed != expected || confirmed_in_db as u64 != expected {
        bail!("wrong result: expected {expected} confirmed");
    }
    Ok(())
}

async fn fire(
    http: reqwest::Client,
    url: Arc<String>,
    next: Arc<AtomicUsize>,
    tokens: Arc<Vec<String>>,
) -> Tally {
    let mut tally = Tally {
        latency: Histogram::new(3).ok(),
        ..Tally::default()
    };
    loop {
        let index = next.fetch_add(1, Ordering::Relaxed);
        let Some(token) = tokens.get(index) else {
            break;
        };
        let sent = Instant::now();
        let res = http
            .post(url.as_str())
            .bearer_auth(token)
            .json(&json!({"quantity": 1}))
            .send()
            .await;
        let outcome = match res {
            Ok(res) => {
                let status = res.status().as_u16();
                match res.json::<Value>().await {
                    Ok(body) => Ok((status, body)),
                    Err(e) => Err(format!("{status}: {e}")),
                }
            }
            Err(e) => Err(e.to_string()),
        };
        if let Some(h) = tally.latency.as_mut() {
            let _ = h.record(sent.elapsed().as_micros() as u64);
        }
        match outcome {
            Ok((201, body)) if body["status"] == "confirmed" => tally.confirmed += 1,
            Ok((201, _)) => tally.rejected += 1,
            Ok((202, body)) => match body["id"].as_str().and_then(|s| s.parse().ok()) {
                Some(id) => tally.pending.push((index, id)),
                None => tally.errors += 1,
            },
            Ok((status, body)) => {
                tally.errors += 1;
                tally.error_samples.push(format!("{status}: {body}"));
            }
            Err(e) => {
                tally.errors += 1;
                tally.error_samples.push(e);
            }
        }
    }
    tally
}

async fn wait_decided(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    id: Uuid,
) -> anyhow::Result<Option<String>> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let res = http
            .get(format!("{base}/api/v1/bookings/{id}"))
            .bearer_auth(token)
            .send()
            .await?;
        if res.status() == 200 {
            let body: Value = res.json().await?;
            if let Some(status) = body["status"].as_str().filter(|s| *s != "pending") {
                return Ok(Some(status.to_owned()));
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(None)
}

async fn insert_users(pool: &sqlx::PgPool, ids: &[Uuid], role: &str) -> anyhow::Result<()> {
    let emails: Vec<String> = ids
        .iter()
        .map(|id| format!("load-{}@example.com", id.simple()))
        .collect();
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, name, role) \
         SELECT id, email, 'load-test-user-cannot-log-in', 'Load Test', $3 FROM unnest($1::uuid[], $2::text[]) AS u(id, email)",
    )
    .bind(ids)
    .bind(&emails)
    .bind(role)
    .execute(pool)
    .await
    .context("inserting load-test users")?;
    Ok(())
}

async fn create_event(http: &reqwest::Client, args: &Args, token: &str) -> anyhow::Result<Uuid> {
    let base = &args.base_url;
    let venue: Value = http
        .post(format!("{base}/api/v1/venues"))
        .bearer_auth(token)
        .json(&json!({"name": "Flash Arena", "city": "Benchmark", "capacity": args.seats}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let starts = chrono::Utc::now() + chrono::Duration::days(7);
    let event: Value = http
        .post(format!("{base}/api/v1/events"))
        .bearer_auth(token)
        .json(&json!({
            "name": "Flash sale", "venue_id": venue["id"], "category": "music",
            "starts_at": starts, "ends_at": starts + chrono::Duration::hours(2),
            "capacity": args.seats, "price_cents": 0, "currency": "EUR", "max_per_booking": 1
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    event["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .context("event id in the response")
}
