//! The flash-sale load generator: an event with N seats, M users each booking one seat over HTTP
//! from C concurrent connections against a running Evently (`evently up`). Prints requests/s,
//! decided bookings/s, POST latency percentiles, the time until every request is decided, and the
//! confirmed/rejected/error counts, checking in PostgreSQL that no seat was oversold. Then the
//! tickets: issued/s, confirmation-to-ticket lag, one per seat, and check-in scans/s (`tickets.rs`).
//!
//! Users are inserted straight into PostgreSQL and their tokens minted with the server's signing
//! secret (50,000 argon2 registrations would measure argon2, not booking).

#[path = "flash_sale/tickets.rs"]
mod tickets;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Parser;
use evently_runtime::identity::Role;
use evently_tests::load;
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
    /// Server-Sent Event streams (`/events/{id}/live`) open on the event during the sale.
    #[arg(long, default_value_t = 0)]
    sse: usize,
    /// Start an SMTP sink on this port (point Evently's SMTP at it) and report emails/s, the
    /// confirmation-to-email lag and the time for the notification backlog to drain.
    #[arg(long)]
    smtp_sink_port: Option<u16>,
    /// With `--smtp-sink-port`: give every user a push subscription to a local push service.
    #[arg(long)]
    push: bool,
}

/// One open live stream: every `availability` event it received, as `(when, sold)`.
async fn watch_stream(
    url: String,
    ready: Arc<tokio::sync::Barrier>,
    stop: tokio_util::sync::CancellationToken,
) -> Vec<(Instant, i64)> {
    use futures::StreamExt;
    let mut seen = Vec::new();
    let client = reqwest::Client::new();
    let Ok(res) = client.get(&url).send().await else {
        ready.wait().await;
        return seen;
    };
    let mut body = res.bytes_stream();
    let mut buffer = String::new();
    let mut waited = false;
    loop {
        let chunk = tokio::select! {
            _ = stop.cancelled() => break,
            chunk = body.next() => match chunk { Some(Ok(c)) => c, _ => break },
        };
        let now = Instant::now();
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data:"))
                && let Ok(v) = serde_json::from_str::<Value>(data.trim())
            {
                seen.push((now, v["sold"].as_i64().unwrap_or(0)));
            }
        }
        if !waited {
            waited = true;
            ready.wait().await;
        }
    }
    seen
}

/// Delays from each confirmation (the k-th confirmed answer) to the first update of each stream
/// that shows at least k seats sold.
fn stream_delays(confirmations: &[Instant], streams: &[Vec<(Instant, i64)>]) -> Histogram<u64> {
    let mut delays =
        Histogram::<u64>::new(3).unwrap_or_else(|_| Histogram::new(2).expect("histogram"));
    for updates in streams {
        let mut next = 0usize;
        for (at, sold) in updates {
            let upto = (*sold as usize).min(confirmations.len());
            while next < upto {
                let delay = at.saturating_duration_since(confirmations[next]);
                let _ = delays.record(delay.as_micros() as u64);
                next += 1;
            }
        }
    }
    delays
}

#[derive(Default)]
struct Tally {
    latency: Option<Histogram<u64>>,
    confirmed: u64,
    rejected: u64,
    pending: Vec<(usize, Uuid)>,
    confirmed_at: Vec<Instant>,
    errors: u64,
    error_samples: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    evently_runtime::vapid::install_crypto_provider();
    let keys = load::token_keys(args.jwt_secret.as_deref())?;
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
    load::insert_users(&pool, &[organizer], "organizer").await?;
    let organizer_token = keys.issue(organizer, Role::Organizer)?.0;
    let seats = i64::from(args.seats);
    let venue = load::create_venue(
        &http,
        &args.base_url,
        &organizer_token,
        "Flash Arena",
        seats,
    )
    .await?;
    let event = load::create_event(
        &http,
        &args.base_url,
        &organizer_token,
        &venue,
        "Flash sale",
        seats,
    )
    .await?;
    let users: Vec<Uuid> = (0..args.requests).map(|_| Uuid::now_v7()).collect();
    load::insert_users(&pool, &users, "attendee").await?;
    let notify = match args.smtp_sink_port {
        Some(port) => {
            let bench = evently_tests::notify_bench::NotifyBench::start(port, args.push).await?;
            bench.subscribe(&pool, &users).await?;
            Some(bench)
        }
        None => None,
    };
    let tokens: Arc<Vec<String>> = Arc::new(
        users
            .iter()
            .map(|u| keys.issue(*u, Role::Attendee).map(|t| t.0))
            .collect::<Result<_, _>>()?,
    );

    let rss_before = load::evently_rss_mib();
    let stop_streams = tokio_util::sync::CancellationToken::new();
    let mut streams = tokio::task::JoinSet::new();
    if args.sse > 0 {
        let ready = Arc::new(tokio::sync::Barrier::new(args.sse + 1));
        let live = format!("{}/api/v1/events/{event}/live", args.base_url);
        for _ in 0..args.sse {
            streams.spawn(watch_stream(
                live.clone(),
                ready.clone(),
                stop_streams.clone(),
            ));
        }
        ready.wait().await;
        println!("{} live streams open", args.sse);
    }
    let rss_streams = load::evently_rss_mib();
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
        tally.confirmed_at.extend(t.confirmed_at);
        tally
            .error_samples
            .extend(t.error_samples.into_iter().take(3));
    }
    let fired = started.elapsed();
    let answered_pending = tally.pending.len();

    // Poll what was answered 202 until decided.
    for (index, id) in std::mem::take(&mut tally.pending) {
        match load::wait_decided(&http, &args.base_url, &tokens[index], id).await? {
            Some(s) if s == "confirmed" => tally.confirmed += 1,
            Some(_) => tally.rejected += 1,
            None => tally.errors += 1,
        }
    }
    let decided = started.elapsed();
    let rss_after = load::evently_rss_mib();
    let mut stream_updates = Vec::new();
    if args.sse > 0 {
        // Let the last updates arrive, then close the streams.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        stop_streams.cancel();
        while let Some(done) = streams.join_next().await {
            stream_updates.push(done?);
        }
    }

    let (sold, capacity, confirmed_in_db) = load::seats(&pool, event).await?;
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
    if args.sse > 0 {
        tally.confirmed_at.sort();
        let delays = stream_delays(&tally.confirmed_at, &stream_updates);
        let updates: usize = stream_updates.iter().map(Vec::len).sum();
        let complete = stream_updates
            .iter()
            .filter(|u| u.last().is_some_and(|(_, s)| *s >= sold))
            .count();
        println!(
            "live streams        {} ({} saw the final figure, {} updates in all)",
            args.sse, complete, updates
        );
        println!(
            "confirmation->stream ms  p50 {:.1}  p99 {:.1}  max {:.1}",
            ms(delays.value_at_quantile(0.50)),
            ms(delays.value_at_quantile(0.99)),
            ms(delays.max())
        );
    }
    let mib = |v: Option<f64>| v.map_or_else(|| "?".to_owned(), |m| format!("{m:.0} MiB"));
    println!(
        "evently memory      before {}  streams open {}  after the sale {}",
        mib(rss_before),
        mib(rss_streams),
        mib(rss_after)
    );
    let oversold = sold > capacity || confirmed_in_db > capacity;
    println!("oversold            {}", if oversold { "YES" } else { "0" });
    if let Some(notify) = &notify {
        let sale_end = started + decided;
        notify
            .report(&pool, event, started, sale_end, Duration::from_secs(300))
            .await?;
    }
    let expected = (args.seats as usize).min(args.requests) as u64;
    if oversold || tally.confirmed != expected || confirmed_in_db as u64 != expected {
        bail!("wrong result: expected {expected} confirmed");
    }
    tickets::report(tickets::Door {
        http: &http,
        pool: &pool,
        base_url: &args.base_url,
        event,
        organizer_token: &organizer_token,
        connections: args.connections,
    })
    .await
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
            Ok((201, body)) if body["status"] == "confirmed" => {
                tally.confirmed += 1;
                tally.confirmed_at.push(Instant::now());
            }
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
