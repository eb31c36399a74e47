//! The soak: a steady booking load at a fixed rate for a long time (default 10 minutes) against a
//! running Evently (`evently up`), as back-to-back flash sales: every `--wave-secs` a new event
//! opens with seats for `--confirm-percent` of the requests of its wave, so the mix of confirmed
//! and sold-out answers is the flash sale's, and some confirmed bookings are cancelled again.
//! Every `--sample-secs` it samples the gateway's request rate and latency, Evently's resident
//! memory and open sockets, PostgreSQL connections and each durable consumer's lag (pending plus
//! unacknowledged); at the end it says for each whether it stayed flat (the last third of the run
//! against the first), waits for the backlog to drain and checks the result in PostgreSQL: no
//! event oversold, every confirmed answer still confirmed (or cancelled by us), one ticket per
//! confirmed seat, one email per ticket confirmation. At every wave's start it also samples the
//! bytes in PostgreSQL and JetStream (`storage.rs`): with `--reject-waves` the waves alternate
//! between selling and refusing, and it reports the bytes per sold booking and per rejected
//! request in the first and the last third of the run.
//!
//! `cargo run --release -p evently-tests --bin soak -- --rate 600 --duration-secs 600`

#[path = "soak/storage.rs"]
mod storage;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Parser;
use evently_runtime::identity::Role;
use evently_schemas::Prefix;
use evently_tests::load;
use hdrhistogram::Histogram;
use parking_lot::Mutex;
use serde_json::{Value, json};
use uuid::Uuid;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(about = "Soak test for a running Evently: a steady load, sampled")]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base_url: String,
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:15432/postgres"
    )]
    database_url: String,
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:14222")]
    nats_url: String,
    #[arg(long, env = "EVENTLY_NATS_PREFIX", default_value = "evently")]
    nats_prefix: String,
    #[arg(long, env = "EVENTLY_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
    /// Booking requests per second.
    #[arg(long, default_value_t = 600)]
    rate: u64,
    #[arg(long, default_value_t = 600)]
    duration_secs: u64,
    #[arg(long, default_value_t = 30)]
    sample_secs: u64,
    /// Users taking turns (each is under the per-user booking rate limit when rate / users is
    /// below its 30 a minute).
    #[arg(long, default_value_t = 20_000)]
    users: usize,
    /// A new event opens this often.
    #[arg(long, default_value_t = 10)]
    wave_secs: u64,
    /// Seats of each wave's event, as a share of the wave's requests.
    #[arg(long, default_value_t = 20)]
    confirm_percent: u64,
    /// Confirmed bookings cancelled again right away.
    #[arg(long, default_value_t = 5)]
    cancel_percent: u64,
    /// Requests in flight at most; beyond that the generator cannot keep the rate (counted).
    #[arg(long, default_value_t = 2_000)]
    max_in_flight: usize,
    /// Start an SMTP sink on this port (point Evently's SMTP at it) and count the emails.
    #[arg(long)]
    smtp_sink_port: Option<u16>,
    /// With `--smtp-sink-port`: every user also has a push subscription to a local push service.
    #[arg(long)]
    push: bool,
    /// Every other wave only refuses (its event has one seat) and the others sell twice the
    /// confirmed share, so the storage figures separate sold bookings from rejected requests.
    #[arg(long)]
    reject_waves: bool,
}

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    confirmed: AtomicU64,
    rejected: AtomicU64,
    pending: AtomicU64,
    cancelled: AtomicU64,
    errors: AtomicU64,
    shed: AtomicU64,
}

#[derive(Default)]
struct Outcomes {
    /// Bookings answered confirmed and not cancelled by us: (booking, event).
    confirmed: Vec<(Uuid, Uuid)>,
    /// Answered 202: (booking, user index).
    pending: Vec<(Uuid, usize)>,
    error_samples: Vec<String>,
}

/// A sampled figure: its name, how to read it, and the growth it may show and still be flat.
type Series = (&'static str, fn(&Sample) -> f64, f64);

struct Sample {
    at: f64,
    requests_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    rss_mib: f64,
    sockets: f64,
    pg_connections: f64,
    lag: HashMap<String, f64>,
    emails_per_s: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    evently_runtime::vapid::install_crypto_provider();
    let keys = load::token_keys(args.jwt_secret.as_deref())?;
    let pool = evently_runtime::db::connect(&args.database_url, 4).await?;
    let nats = evently_runtime::nats::connect(&args.nats_url, "evently-soak").await?;
    let js = evently_runtime::nats::jetstream(nats);
    let prefix = Prefix::new(&args.nats_prefix)?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.max_in_flight)
        .timeout(Duration::from_secs(30))
        .build()?;
    let base = args.base_url.clone();
    let pid = load::evently_pid();
    if pid.is_none() {
        println!("note: no local `evently up` process found: memory and sockets are not sampled");
    }

    let seats = (args.rate * args.wave_secs * args.confirm_percent / 100).max(1) as i64;
    // With --reject-waves, the seats of wave `n` (from 0): twice the share, then one.
    let wave_seats = |n: usize| match (args.reject_waves, n % 2) {
        (false, _) => seats,
        (true, 0) => 2 * seats,
        (true, _) => 1,
    };
    let waves = args.duration_secs.div_ceil(args.wave_secs);
    println!(
        "setting up: {} users; {} req/s for {} s; a new event of {} seats every {} s ({} events)",
        args.users, args.rate, args.duration_secs, seats, args.wave_secs, waves
    );
    let organizer = Uuid::now_v7();
    load::insert_users(&pool, &[organizer], "organizer").await?;
    let organizer_token = keys.issue(organizer, Role::Organizer)?.0;
    let venue = load::create_venue(&http, &base, &organizer_token, "Soak Arena", 2 * seats).await?;
    let users: Vec<Uuid> = (0..args.users).map(|_| Uuid::now_v7()).collect();
    load::insert_users(&pool, &users, "attendee").await?;
    let tokens: Arc<Vec<String>> = Arc::new(
        users
            .iter()
            .map(|u| keys.issue(*u, Role::Attendee).map(|t| t.0))
            .collect::<Result<_, _>>()?,
    );
    let notify = match args.smtp_sink_port {
        Some(port) => {
            let bench = evently_tests::notify_bench::NotifyBench::start(port, args.push).await?;
            bench.subscribe(&pool, &users).await?;
            bench.light();
            Some(bench)
        }
        None => None,
    };

    let counters = Arc::new(Counters::default());
    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    let latency = Arc::new(Mutex::new(Histogram::<u64>::new(3)?));
    let permits = Arc::new(tokio::sync::Semaphore::new(args.max_in_flight));
    let mut events = Vec::new();
    let started = Instant::now();
    let end = started + Duration::from_secs(args.duration_secs);
    let mut storage_points = vec![storage::sample(&pool, &js, &prefix, 0.0, 0, 0).await?];
    let mut current = load::create_event(
        &http,
        &base,
        &organizer_token,
        &venue,
        "Soak 1",
        wave_seats(0),
    )
    .await?;
    events.push(current);
    let mut next_wave = started + Duration::from_secs(args.wave_secs);
    let mut next_sample = started + Duration::from_secs(args.sample_secs);
    let mut samples: Vec<Sample> = Vec::new();
    let mut last_sample = (started, 0u64, notify.as_ref().map_or(0, |n| n.emails()));
    let mut ticker = tokio::time::interval(Duration::from_millis(10));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut fired = 0u64;
    let mut user = 0usize;
    let mut tasks = tokio::task::JoinSet::new();
    println!(
        "{:>6} {:>8} {:>8} {:>8} {:>8} {:>8} {:>6} {:>9}  consumer lag (pending + unacked)",
        "t (s)", "req/s", "p50 ms", "p99 ms", "RSS MiB", "sockets", "pg", "emails/s"
    );
    while Instant::now() < end {
        ticker.tick().await;
        let now = Instant::now();
        if now >= next_wave {
            next_wave += Duration::from_secs(args.wave_secs);
            storage_points.push(
                storage::sample(
                    &pool,
                    &js,
                    &prefix,
                    (now - started).as_secs_f64(),
                    counters.confirmed.load(Ordering::Relaxed),
                    counters.rejected.load(Ordering::Relaxed),
                )
                .await?,
            );
            let name = format!("Soak {}", events.len() + 1);
            current = load::create_event(
                &http,
                &base,
                &organizer_token,
                &venue,
                &name,
                wave_seats(events.len()),
            )
            .await?;
            events.push(current);
        }
        let due = (now - started).as_secs_f64() * args.rate as f64;
        while (fired as f64) < due {
            fired += 1;
            let Ok(permit) = permits.clone().try_acquire_owned() else {
                counters.shed.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            user = (user + 1) % tokens.len();
            let (http, base, tokens, counters, outcomes, latency) = (
                http.clone(),
                base.clone(),
                tokens.clone(),
                counters.clone(),
                outcomes.clone(),
                latency.clone(),
            );
            let cancel = rand::random_range(0..100) < args.cancel_percent;
            let event = current;
            let index = user;
            tasks.spawn(async move {
                book(
                    &http,
                    &base,
                    &tokens[index],
                    index,
                    event,
                    cancel,
                    &counters,
                    &outcomes,
                    &latency,
                )
                .await;
                drop(permit);
            });
        }
        while tasks.try_join_next().is_some() {}
        if now >= next_sample {
            next_sample += Duration::from_secs(args.sample_secs);
            let sent = counters.sent.load(Ordering::Relaxed);
            let emails = notify.as_ref().map_or(0, |n| n.emails());
            let secs = (now - last_sample.0).as_secs_f64();
            let (p50, p99) = {
                let mut h = latency.lock();
                let out = (
                    h.value_at_quantile(0.5) as f64 / 1000.0,
                    h.value_at_quantile(0.99) as f64 / 1000.0,
                );
                h.reset();
                out
            };
            let sample = Sample {
                at: (now - started).as_secs_f64(),
                requests_per_s: (sent - last_sample.1) as f64 / secs,
                p50_ms: p50,
                p99_ms: p99,
                rss_mib: pid.and_then(load::rss_mib).unwrap_or(0.0),
                sockets: pid.and_then(load::open_sockets).unwrap_or(0) as f64,
                pg_connections: pg_connections(&pool).await? as f64,
                lag: consumer_lag(&js, &prefix).await?,
                emails_per_s: (emails - last_sample.2) as f64 / secs,
            };
            last_sample = (now, sent, emails);
            print_sample(&sample);
            samples.push(sample);
        }
    }
    while tasks.join_next().await.is_some() {}
    let load_secs = started.elapsed().as_secs_f64();

    // Decide what was answered 202, then wait for every consumer to drain.
    let pending = std::mem::take(&mut outcomes.lock().pending);
    for (id, index) in pending {
        if load::wait_decided(&http, &base, &tokens[index], id).await? == Some("confirmed".into()) {
            let event: Uuid = sqlx::query_scalar("SELECT event_id FROM bookings WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await?;
            outcomes.lock().confirmed.push((id, event));
        }
    }
    let drain_started = Instant::now();
    let drained = loop {
        let lag = consumer_lag(&js, &prefix).await?;
        if lag.values().all(|v| *v == 0.0) {
            break Some(drain_started.elapsed());
        }
        if drain_started.elapsed() > Duration::from_secs(600) {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };

    let c = &counters;
    let outcomes = std::mem::take(&mut *outcomes.lock());
    println!();
    println!(
        "ran for             {load_secs:.0} s at a target of {} req/s",
        args.rate
    );
    println!(
        "booking requests    {} ({:.0}/s), not sent for lack of a free slot: {}",
        c.sent.load(Ordering::Relaxed),
        c.sent.load(Ordering::Relaxed) as f64 / load_secs,
        c.shed.load(Ordering::Relaxed)
    );
    println!(
        "answers             confirmed {}  rejected {}  202 {}  errors {}",
        c.confirmed.load(Ordering::Relaxed),
        c.rejected.load(Ordering::Relaxed),
        c.pending.load(Ordering::Relaxed),
        c.errors.load(Ordering::Relaxed)
    );
    for sample in outcomes.error_samples.iter().take(5) {
        println!("  e.g. {sample}");
    }
    println!(
        "cancelled by us     {}",
        c.cancelled.load(Ordering::Relaxed)
    );
    match drained {
        Some(d) => println!(
            "backlog drained     {:.1} s after the load",
            d.as_secs_f64()
        ),
        None => println!("backlog drained     NOT within 10 minutes"),
    }

    println!();
    println!("flat? (mean of the last third against the first third, after the first sample)");
    let mut flat = true;
    let series: [Series; 4] = [
        ("evently RSS MiB", |s| s.rss_mib, 8.0),
        ("evently open sockets", |s| s.sockets, 64.0),
        ("PostgreSQL connections", |s| s.pg_connections, 4.0),
        ("p99 latency ms", |s| s.p99_ms, 25.0),
    ];
    for (name, value, slack) in series {
        flat &= verdict(name, &samples, value, slack);
    }
    let mut consumers: Vec<String> = samples.iter().flat_map(|s| s.lag.keys().cloned()).collect();
    consumers.sort();
    consumers.dedup();
    for consumer in consumers {
        // One second of the load in flight is not a backlog.
        let slack = args.rate as f64;
        flat &= verdict(
            &format!("lag {consumer}"),
            &samples,
            |s| s.lag.get(&consumer).copied().unwrap_or(0.0),
            slack,
        );
    }

    flat &= storage::report(&storage_points);

    // The result, from PostgreSQL.
    let mut oversold = 0;
    for event in &events {
        let (sold, capacity, confirmed) = load::seats(&pool, *event).await?;
        if sold > capacity || confirmed != sold {
            oversold += 1;
        }
    }
    let ids: Vec<Uuid> = outcomes.confirmed.iter().map(|(id, _)| *id).collect();
    let still_confirmed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM bookings WHERE id = ANY($1) AND status = 'confirmed'",
    )
    .bind(&ids)
    .fetch_one(&pool)
    .await?;
    let event_ids: Vec<Uuid> = events.clone();
    let (confirmed_seats, tickets, duplicate_tickets): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT coalesce(sum(quantity), 0)::bigint FROM bookings \
                  WHERE event_id = ANY($1) AND status = 'confirmed'), \
                (SELECT count(*) FROM tickets WHERE event_id = ANY($1) AND status = 'valid'), \
                (SELECT count(*) FROM (SELECT booking_id, seat_index FROM tickets \
                  WHERE event_id = ANY($1) GROUP BY 1, 2 HAVING count(*) > 1) d)",
    )
    .bind(&event_ids)
    .fetch_one(&pool)
    .await?;
    println!();
    println!(
        "events              {} ({} oversold or inconsistent)",
        events.len(),
        oversold
    );
    println!(
        "confirmed answers   {} still confirmed in the database: {}",
        ids.len(),
        still_confirmed
    );
    println!(
        "tickets             {tickets} valid for {confirmed_seats} confirmed seats, {duplicate_tickets} duplicated"
    );
    if let Some(notify) = &notify {
        // The soak's bookings only (the database may hold earlier runs).
        let (ticket_emails, with_tickets, emails_sent): (i64, i64, i64) = sqlx::query_as(
            "WITH b AS (SELECT id FROM bookings WHERE event_id = ANY($1)) \
             SELECT (SELECT count(*) FROM notification_deliveries d JOIN b \
                       ON d.source_id = b.id::text || '.tickets' \
                      WHERE d.channel = 'email' AND d.status = 'sent'), \
                    (SELECT count(DISTINCT t.booking_id) FROM tickets t JOIN b ON t.booking_id = b.id), \
                    (SELECT count(*) FROM notification_deliveries d JOIN b \
                       ON split_part(d.source_id, '.', 1) = b.id::text \
                      WHERE d.channel = 'email' AND d.status = 'sent')",
        )
        .bind(&event_ids)
        .fetch_one(&pool)
        .await?;
        println!(
            "emails              {} received by the sink; in the ledger {emails_sent} sent for \
             these bookings, of them {ticket_emails} ticket emails for {with_tickets} bookings \
             with tickets",
            notify.emails(),
        );
        println!("pushes              {}", notify.pushes());
    }
    println!(
        "verdict             {}",
        if flat { "FLAT" } else { "NOT FLAT (see above)" }
    );
    if oversold > 0
        || still_confirmed != ids.len() as i64
        || tickets != confirmed_seats
        || duplicate_tickets > 0
    {
        bail!("wrong result: oversold events, lost confirmations or wrong tickets");
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn book(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    index: usize,
    event: Uuid,
    cancel: bool,
    counters: &Counters,
    outcomes: &Mutex<Outcomes>,
    latency: &Mutex<Histogram<u64>>,
) {
    let sent = Instant::now();
    let res = http
        .post(format!("{base}/api/v1/events/{event}/bookings"))
        .bearer_auth(token)
        .json(&json!({"quantity": 1}))
        .send()
        .await;
    let outcome = match res {
        Ok(res) => {
            let status = res.status().as_u16();
            res.json::<Value>()
                .await
                .map(|body| (status, body))
                .map_err(|e| format!("{status}: {e}"))
        }
        Err(e) => Err(e.to_string()),
    };
    let _ = latency.lock().record(sent.elapsed().as_micros() as u64);
    counters.sent.fetch_add(1, Ordering::Relaxed);
    let id = |body: &Value| body["id"].as_str().and_then(|s| s.parse::<Uuid>().ok());
    match outcome {
        Ok((201, body)) if body["status"] == "confirmed" => {
            counters.confirmed.fetch_add(1, Ordering::Relaxed);
            let Some(booking) = id(&body) else {
                return;
            };
            if cancel {
                let res = http
                    .post(format!("{base}/api/v1/bookings/{booking}/cancel"))
                    .bearer_auth(token)
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status().is_success() => {
                        counters.cancelled.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    Ok(r) => outcomes
                        .lock()
                        .error_samples
                        .push(format!("cancel: {}", r.status())),
                    Err(e) => outcomes.lock().error_samples.push(format!("cancel: {e}")),
                }
            }
            outcomes.lock().confirmed.push((booking, event));
        }
        Ok((201, _)) => {
            counters.rejected.fetch_add(1, Ordering::Relaxed);
        }
        Ok((202, body)) => {
            counters.pending.fetch_add(1, Ordering::Relaxed);
            if let Some(booking) = id(&body) {
                outcomes.lock().pending.push((booking, index));
            }
        }
        Ok((status, body)) => {
            counters.errors.fetch_add(1, Ordering::Relaxed);
            let mut o = outcomes.lock();
            if o.error_samples.len() < 20 {
                o.error_samples.push(format!("{status}: {body}"));
            }
        }
        Err(e) => {
            counters.errors.fetch_add(1, Ordering::Relaxed);
            let mut o = outcomes.lock();
            if o.error_samples.len() < 20 {
                o.error_samples.push(e);
            }
        }
    }
}

async fn pg_connections(pool: &sqlx::PgPool) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()",
    )
    .fetch_one(pool)
    .await?)
}

/// Pending plus unacknowledged messages of each durable consumer.
async fn consumer_lag(
    js: &async_nats::jetstream::Context,
    prefix: &Prefix,
) -> anyhow::Result<HashMap<String, f64>> {
    let streams = evently_consumers::status::read(js, prefix).await?;
    Ok(streams
        .iter()
        .flat_map(|s| &s.consumers)
        .map(|c| (c.name.clone(), (c.pending + c.ack_pending as u64) as f64))
        .collect())
}

fn print_sample(s: &Sample) {
    let mut lag: Vec<(&String, &f64)> = s.lag.iter().filter(|(_, v)| **v > 0.0).collect();
    lag.sort_by(|a, b| a.0.cmp(b.0));
    let lag: Vec<String> = lag.iter().map(|(k, v)| format!("{k}={v:.0}")).collect();
    println!(
        "{:>6.0} {:>8.0} {:>8.1} {:>8.1} {:>8.0} {:>8.0} {:>6.0} {:>9.0}  {}",
        s.at,
        s.requests_per_s,
        s.p50_ms,
        s.p99_ms,
        s.rss_mib,
        s.sockets,
        s.pg_connections,
        s.emails_per_s,
        if lag.is_empty() {
            "0".to_owned()
        } else {
            lag.join(" ")
        }
    );
}

/// Prints whether `value` stayed flat: the mean of the last third of the samples is at most 10%
/// plus `slack` above the mean of the first third (the first sample, the warm-up, left out), and
/// the least-squares slope per minute over the run.
fn verdict(name: &str, samples: &[Sample], value: impl Fn(&Sample) -> f64, slack: f64) -> bool {
    let samples = samples.get(1..).unwrap_or_default();
    let third = samples.len() / 3;
    if third == 0 {
        println!("  {name:<32} too few samples");
        return true;
    }
    let mean = |s: &[Sample]| s.iter().map(&value).sum::<f64>() / s.len() as f64;
    let first = mean(&samples[..third]);
    let last = mean(&samples[samples.len() - third..]);
    let min = samples.iter().map(&value).fold(f64::INFINITY, f64::min);
    let max = samples.iter().map(&value).fold(f64::NEG_INFINITY, f64::max);
    let flat = last <= first * 1.10 + slack;
    let n = samples.len() as f64;
    let (mx, my) = (
        samples.iter().map(|s| s.at).sum::<f64>() / n,
        samples.iter().map(&value).sum::<f64>() / n,
    );
    let (sxy, sxx) = samples.iter().fold((0.0, 0.0), |(sxy, sxx), s| {
        let dx = s.at - mx;
        (sxy + dx * (value(s) - my), sxx + dx * dx)
    });
    let per_minute = if sxx > 0.0 { sxy / sxx * 60.0 } else { 0.0 };
    println!(
        "  {name:<32} first {first:>9.1}  last {last:>9.1}  min {min:>9.1}  max {max:>9.1}  \
         slope {per_minute:>+8.2}/min  {}",
        if flat { "flat" } else { "GROWING" }
    );
    flat
}
