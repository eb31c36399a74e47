//! The flash-sale load generator: an event with N seats, M booking requests of one seat over HTTP
//! from C concurrent connections against a running Evently (`evently up`). Clients behave as
//! careful clients do (`client.rs`): a fresh `Idempotency-Key` per booking, 5% of them sent again
//! with the same key, users booking more than once; `--happy-path` sends one keyless request per
//! user instead. Prints requests/s, decided bookings/s, POST latency percentiles, the time until
//! every request is decided, the confirmed/rejected/error counts, whether Evently reaches
//! PostgreSQL over TLS, and checks in PostgreSQL that no seat was oversold and no key booked twice.
//! `--ticket-types N` sells N ticket types sharing the capacity and checks no type is oversold;
//! `--seated` sells particular seats and best-available on a seat map and checks no seat is sold
//! twice.
//! Then the tickets: issued/s, confirmation-to-ticket lag, one per seat, and check-in scans/s
//! (`tickets.rs`).
//!
//! Users are inserted straight into PostgreSQL and their tokens minted with the server's signing
//! secret (50,000 argon2 registrations would measure argon2, not booking).

#[path = "flash_sale/client.rs"]
mod client;
#[path = "flash_sale/seated.rs"]
mod seated;
#[path = "flash_sale/ticket_types.rs"]
mod ticket_types;
#[path = "flash_sale/tickets.rs"]
mod tickets;

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Parser;
use evently_runtime::identity::Role;
use evently_tests::load;
use hdrhistogram::Histogram;
use serde_json::Value;
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
    /// Booking requests (M).
    #[arg(long, default_value_t = 50_000)]
    requests: usize,
    /// Bookings each user makes (users come back): M / this many users.
    #[arg(long, default_value_t = 2)]
    bookings_per_user: usize,
    /// Percent of bookings sent a second time with the same `Idempotency-Key`.
    #[arg(long, default_value_t = 5)]
    retry_percent: u64,
    /// How long the first attempt of a retried booking waits before the client gives up on it.
    #[arg(long, default_value_t = 50)]
    retry_timeout_ms: u64,
    /// The old run: one request per user, no `Idempotency-Key`, no retries.
    #[arg(long)]
    happy_path: bool,
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
    /// Sell this many ticket types sharing the event's capacity (`ticket_types.rs`); 0: one pool.
    #[arg(long, default_value_t = 0)]
    ticket_types: usize,
    /// A seated sale (`seated.rs`): particular seats and best-available on a plan of the seats.
    #[arg(long, conflicts_with = "ticket_types")]
    seated: bool,
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    if args.happy_path {
        args.bookings_per_user = 1;
        args.retry_percent = 0;
    }
    let behaviour = Arc::new(client::Behaviour {
        keys: !args.happy_path,
        retry_percent: args.retry_percent.min(100),
        retry_timeout: Duration::from_millis(args.retry_timeout_ms),
        run: Uuid::now_v7(),
    });
    evently_runtime::vapid::install_crypto_provider();
    let keys = load::token_keys(args.jwt_secret.as_deref())?;
    let pool = evently_runtime::db::connect(
        &format!(
            "{}{}application_name=flash-sale",
            args.database_url,
            if args.database_url.contains('?') {
                '&'
            } else {
                '?'
            }
        ),
        4,
    )
    .await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .timeout(Duration::from_secs(30))
        .build()?;

    let user_count = args.requests.div_ceil(args.bookings_per_user.max(1));
    println!(
        "setting up: {user_count} users, an event with {} seats",
        args.seats
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
    let event = load::create_event_with(
        &http,
        &args.base_url,
        &organizer_token,
        &venue,
        "Flash sale",
        seats,
        if args.seated { 2 } else { 1 },
    )
    .await?;
    let bodies = Arc::new(if args.seated {
        seated::create(
            &http,
            &args.base_url,
            &organizer_token,
            &venue,
            event,
            seats,
            args.requests,
        )
        .await?
    } else if args.ticket_types > 0 {
        ticket_types::create(
            &http,
            &args.base_url,
            &organizer_token,
            event,
            seats,
            args.ticket_types,
        )
        .await?
    } else {
        vec![serde_json::json!({"quantity": 1})]
    });
    let users: Vec<Uuid> = (0..user_count).map(|_| Uuid::now_v7()).collect();
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
    let tls = evently_tls(&pool).await?;
    println!(
        "firing {} booking requests from {} connections at {} ({})",
        args.requests,
        args.connections,
        args.base_url,
        if args.happy_path {
            "happy path: no Idempotency-Key, no retries, one booking per user".to_owned()
        } else {
            format!(
                "careful clients: an Idempotency-Key per booking, {}% sent twice (first attempt given up after {} ms), {} bookings per user",
                args.retry_percent, args.retry_timeout_ms, args.bookings_per_user
            )
        }
    );
    let url = Arc::new(format!("{}/api/v1/events/{event}/bookings", args.base_url));
    let next = Arc::new(AtomicUsize::new(0));
    let cpu_before = load::CpuTimes::now();
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..args.connections {
        workers.spawn(client::fire(
            http.clone(),
            url.clone(),
            next.clone(),
            args.requests,
            tokens.clone(),
            bodies.clone(),
            behaviour.clone(),
        ));
    }
    let mut tally = client::Tally::default();
    while let Some(done) = workers.join_next().await {
        tally.merge(done?)?;
    }
    let latency = tally.latency.take().unwrap_or(Histogram::new(3)?);
    let fired = started.elapsed();
    let answered_pending = tally.pending.len();

    // Poll what was answered 202 until decided.
    for (index, id) in std::mem::take(&mut tally.pending) {
        match load::wait_decided(&http, &args.base_url, &tokens[index % tokens.len()], id).await? {
            Some(s) if s == "confirmed" => tally.confirmed += 1,
            Some(_) => tally.rejected += 1,
            None => tally.errors += 1,
        }
    }
    let decided = started.elapsed();
    let cpu = load::CpuTimes::now().since(&cpu_before);
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
    let (booking_rows, most_per_user): (i64, i64) = sqlx::query_as(
        "SELECT coalesce(sum(n), 0)::bigint, coalesce(max(n), 0) FROM (SELECT count(*) AS n \
         FROM bookings WHERE event_id = $1 GROUP BY user_id) per_user",
    )
    .bind(event)
    .fetch_one(&pool)
    .await?;
    let distinct_answers = tally
        .booking_ids
        .values()
        .collect::<std::collections::HashSet<_>>()
        .len();
    println!("requests            {}", args.requests);
    println!(
        "HTTP attempts       {} ({} bookings sent twice, {} first attempts timed out)",
        tally.attempts, tally.retried, tally.retry_timeouts
    );
    println!(
        "users               {user_count} ({} bookings each)",
        args.bookings_per_user
    );
    println!("PostgreSQL          {tls}");
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
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_request = |s: f64| s * 1e6 / args.requests as f64;
    println!(
        "CPU during the sale evently {:.1} s ({:.0} us/request), PostgreSQL {:.1} s ({:.0} us), nats-server {:.1} s ({:.0} us), load generator {:.1} s ({:.0} us); {:.1} of the {cores} cores' {:.1} s",
        cpu.evently,
        per_request(cpu.evently),
        cpu.postgres,
        per_request(cpu.postgres),
        cpu.nats,
        per_request(cpu.nats),
        cpu.generator,
        per_request(cpu.generator),
        cpu.total(),
        cores as f64 * decided.as_secs_f64(),
    );
    let oversold = sold > capacity || confirmed_in_db > capacity;
    println!("oversold            {}", if oversold { "YES" } else { "0" });
    let doubled = booking_rows as usize > args.requests
        || distinct_answers != tally.booking_ids.len()
        || most_per_user as usize > args.bookings_per_user
        || tally.retry_mismatches > 0;
    println!(
        "booked twice        {} (bookings in the database {booking_rows} for {} requests, at most {most_per_user} per user, {} retries answered with another booking)",
        if doubled { "YES" } else { "0" },
        args.requests,
        tally.retry_mismatches
    );
    if let Some(notify) = &notify {
        let sale_end = started + decided;
        notify
            .report(&pool, event, started, sale_end, Duration::from_secs(300))
            .await?;
    }
    if args.ticket_types > 0 {
        ticket_types::check(&pool, event, sold).await?;
    }
    if args.seated {
        // Bookings of one or two seats: what sells is the seats, checked seat by seat.
        seated::check(&pool, event, sold).await?;
        if oversold || doubled || tally.confirmed != confirmed_in_db as u64 {
            bail!(
                "wrong result: oversold, booked twice, or answers that disagree with the database"
            );
        }
    } else {
        let expected = (args.seats as usize).min(args.requests) as u64;
        if oversold || doubled || tally.confirmed != expected || confirmed_in_db as u64 != expected
        {
            bail!("wrong result: expected {expected} confirmed, nothing booked twice");
        }
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

/// Whether Evently's own connections to its database use TLS (`pg_stat_ssl`), e.g.
/// `34 connections, all TLS (TLSv1.3)`.
async fn evently_tls(pool: &sqlx::PgPool) -> anyhow::Result<String> {
    let (total, tls, version): (i64, i64, Option<String>) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE s.ssl), max(s.version) FROM pg_stat_ssl s \
         JOIN pg_stat_activity a USING (pid) \
         WHERE a.datname = current_database() AND a.backend_type = 'client backend' \
         AND a.pid <> pg_backend_pid() AND a.application_name NOT LIKE 'flash-sale%'",
    )
    .fetch_one(pool)
    .await?;
    Ok(match (tls, version) {
        (0, _) => format!("{total} connections of Evently, none over TLS"),
        (n, v) if n == total => format!(
            "{total} connections of Evently, all over TLS ({})",
            v.unwrap_or_default()
        ),
        (n, _) => format!("{total} connections of Evently, {n} over TLS"),
    })
}
