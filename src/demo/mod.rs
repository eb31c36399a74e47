//! `evently demo` and `evently up --demo`: fills a fresh instance with something to look at
//! (three venues, upcoming free and paid events across categories, one sold out with people on
//! its waitlist, an organiser, an attendee with a confirmed booking and its tickets) and prints
//! the logins. Everything goes through the running gateway's HTTP API, so bookings and waitlist
//! joins take the real pipeline; the one exception is the organiser's role, set with the same
//! statement as `PUT /admin/users/{id}/role` (a demo has no admin to ask). Idempotent: when the
//! demo organiser's account exists, nothing is added.

mod api;
mod data;

use anyhow::Context;
use chrono::{DateTime, Days, NaiveTime, Utc};
use evently_runtime::Settings;
use serde_json::json;
use sqlx::PgPool;

use api::{Api, eventually, id_of};
use data::{ATTENDEE, EVENTS, FANS, ORGANISER, SOLD_OUT, TICKETED, VENUES};

/// `evently demo`: against the gateway at `url` (default `http://EVENTLY_HTTP_ADDR`) and its
/// database (`DATABASE_URL`, default the private PostgreSQL of `evently up`).
pub async fn command(settings: &Settings, url: Option<String>) -> anyhow::Result<()> {
    let database_url = settings.database_url.clone().unwrap_or_else(|| {
        evently_runtime::local::tls::with_sslmode(
            &format!(
                "postgres://postgres@127.0.0.1:{}/postgres",
                evently_runtime::local::PRIVATE_POSTGRES_PORT
            ),
            settings.local_postgres_tls,
        )
    });
    let pool = evently_runtime::db::connect(&database_url, 2).await?;
    let url = url.unwrap_or_else(|| base_url(settings.http_addr));
    run(&pool, &url).await
}

/// `http://<addr>`, with a wildcard address (`0.0.0.0`) read as this machine.
pub fn base_url(addr: std::net::SocketAddr) -> String {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    format!("http://{addr}")
}

/// 19:00 UTC, `days` from today.
fn evening_in(days: u64) -> DateTime<Utc> {
    let day = Utc::now().date_naive() + Days::new(days);
    day.and_time(NaiveTime::from_hms_opt(19, 0, 0).unwrap_or_default())
        .and_utc()
}

/// Seeds the instance at `base` (e.g. `http://127.0.0.1:8080`) unless the demo organiser exists,
/// then prints the logins. `pool` is the instance's database.
pub async fn run(pool: &PgPool, base: &str) -> anyhow::Result<()> {
    let api = Api {
        base: base.trim_end_matches('/').to_owned(),
        http: reqwest::Client::new(),
    };
    wait_ready(&api).await?;
    let seeded: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE lower(email) = lower($1))")
            .bind(ORGANISER.0)
            .fetch_one(pool)
            .await?;
    if seeded {
        tracing::info!("the demo data is already there");
    } else {
        seed(pool, &api).await.context(
            "seeding the demo (if it stopped half-way, start again from a fresh database)",
        )?;
    }
    print_logins(&api.base);
    Ok(())
}

async fn wait_ready(api: &Api) -> anyhow::Result<()> {
    let url = format!("{}/health/ready", api.base);
    eventually(&format!("{url} to answer 200"), || async {
        let ok = api
            .http
            .get(&url)
            .send()
            .await
            .is_ok_and(|r| r.status() == 200);
        Ok(ok.then_some(()))
    })
    .await
}

async fn seed(pool: &PgPool, api: &Api) -> anyhow::Result<()> {
    let organiser_id = api.register(ORGANISER).await?;
    sqlx::query("UPDATE users SET role = 'organizer' WHERE id = $1::uuid")
        .bind(&organiser_id)
        .execute(pool)
        .await?;
    let organiser = api.login(ORGANISER).await?;
    api.register(ATTENDEE).await?;
    let attendee = api.login(ATTENDEE).await?;
    let mut fans = Vec::new();
    for fan in FANS {
        api.register(fan).await?;
        fans.push(api.login(fan).await?);
    }

    let mut venues = Vec::new();
    for (name, address, city, capacity) in VENUES {
        let body = json!({"name": name, "address": address, "city": city, "capacity": capacity});
        venues.push(id_of(&api.post("/venues", Some(&organiser), &body).await?)?);
    }
    let mut events = Vec::new();
    for spec in &EVENTS {
        let starts = evening_in(spec.days_ahead);
        let body = json!({
            "name": spec.name, "description": spec.description, "category": spec.category,
            "venue_id": venues[spec.venue], "starts_at": starts,
            "ends_at": starts + chrono::Duration::hours(3), "capacity": spec.capacity,
            "price_cents": spec.price_cents, "currency": "EUR",
            "max_per_booking": spec.capacity.min(6),
        });
        events.push(id_of(&api.post("/events", Some(&organiser), &body).await?)?);
    }

    // The attendee's confirmed booking, and its tickets (issued by the tickets consumer).
    let booking = api
        .book(&attendee, &events[TICKETED], 2, "demo-attendee-tickets")
        .await?;
    let id = id_of(&booking)?;
    eventually("the demo tickets", || async {
        let tickets = api
            .get(&format!("/bookings/{id}/tickets"), &attendee)
            .await?;
        Ok(tickets["tickets"]
            .as_array()
            .is_some_and(|t| t.len() == 2)
            .then_some(()))
    })
    .await?;

    // Sold out: every seat confirmed, then two more people join the waitlist.
    let sold_out = &events[SOLD_OUT];
    api.book(&fans[0], sold_out, 2, "demo-sold-out-1").await?;
    api.book(&attendee, sold_out, 1, "demo-sold-out-2").await?;
    for (n, fan) in fans[1..].iter().enumerate() {
        let path = format!("/events/{sold_out}/waitlist");
        let key = format!("demo-waitlist-{n}");
        api.expect(
            reqwest::Method::POST,
            &path,
            Some(fan),
            Some(&json!({"quantity": 1})),
            Some(&key),
            &[201, 202],
        )
        .await?;
    }
    tracing::info!(
        venues = venues.len(),
        events = events.len(),
        "demo data seeded"
    );
    Ok(())
}

fn print_logins(base: &str) {
    println!();
    println!("Evently demo: open {base}/");
    println!("  organiser  {}  password {}", ORGANISER.0, ORGANISER.1);
    println!("  attendee   {}  password {}", ATTENDEE.0, ATTENDEE.1);
    println!(
        "  waitlist   {}, {}  password {}",
        FANS[1].0, FANS[2].0, FANS[1].1
    );
    println!("(known passwords: use the demo on your own machine only)");
    println!();
}

#[cfg(test)]
mod tests {
    use evently_tests::app::TestApp;

    async fn count(app: &TestApp, sql: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&app.pool)
            .await
            .expect("count")
    }

    #[tokio::test]
    async fn the_demo_fills_a_fresh_instance_through_the_pipeline_once() {
        let app = TestApp::spawn().await;
        super::run(&app.pool, &app.base).await.expect("seeded");
        let figures = [
            "SELECT count(*) FROM users",
            "SELECT count(*) FROM venues",
            "SELECT count(*) FROM events",
            "SELECT count(*) FROM bookings WHERE status = 'confirmed'",
            "SELECT count(*) FROM tickets",
            "SELECT count(*) FROM waitlist_entries WHERE status = 'waiting'",
        ];
        let mut first = Vec::new();
        for sql in figures {
            first.push(count(&app, sql).await);
        }
        assert_eq!(first, [5, 3, 6, 3, 5, 2]);
        let sold_out = count(
            &app,
            "SELECT count(*) FROM inventory WHERE sold = capacity AND held = 0",
        )
        .await;
        assert_eq!(sold_out, 1, "one event is sold out");
        let roles = count(&app, "SELECT count(*) FROM users WHERE role = 'organizer'").await;
        assert_eq!(roles, 1);

        super::run(&app.pool, &app.base).await.expect("run again");
        for (sql, before) in figures.iter().zip(first) {
            assert_eq!(count(&app, sql).await, before, "{sql} after a second run");
        }
        app.shutdown().await;
    }
}
