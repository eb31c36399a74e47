//! `evently demo` and `evently up --demo`: fills a fresh instance with something to look at
//! (three venues, upcoming free and paid events across categories, one sold out with people on
//! its waitlist, an organiser, an attendee with a confirmed booking and its tickets) and prints
//! the logins. Everything goes through the running gateway's HTTP API, so bookings and waitlist
//! joins take the real pipeline; the one exception is the organiser's role, set with the same
//! statement as `PUT /admin/users/{id}/role` (a demo has no admin to ask). Idempotent: when the
//! demo organiser's account exists, nothing is added.

use std::time::Duration;

use anyhow::{Context, bail};
use chrono::{DateTime, Days, NaiveTime, Utc};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::time::Instant;

/// A demo account: email, password, name. Known passwords: a demo is for a laptop, not the
/// internet.
type Account = (&'static str, &'static str, &'static str);

const ORGANISER: Account = (
    "organiser@demo.evently.test",
    "stage-door-2026",
    "Olivia Organiser",
);
const ATTENDEE: Account = (
    "attendee@demo.evently.test",
    "front-row-seat-42",
    "Ada Attendee",
);
const FANS: [Account; 3] = [
    (
        "fan.one@demo.evently.test",
        "waiting-in-line-7",
        "Finn Early",
    ),
    (
        "fan.two@demo.evently.test",
        "waiting-in-line-7",
        "Farah Hopeful",
    ),
    (
        "fan.three@demo.evently.test",
        "waiting-in-line-7",
        "Felix Patient",
    ),
];

/// Venues: name, address, city, capacity.
const VENUES: [(&str, &str, &str, i32); 3] = [
    ("Riverside Hall", "12 Quai des Arts", "Lyon", 400),
    ("The Old Cinema", "3 Picture House Lane", "Bristol", 150),
    ("Harbour Stage", "Kaiweg 8", "Hamburg", 800),
];

/// An event of the demo.
struct EventSpec {
    name: &'static str,
    description: &'static str,
    category: &'static str,
    venue: usize,
    days_ahead: u64,
    capacity: i32,
    price_cents: i64,
}

const EVENTS: [EventSpec; 6] = [
    EventSpec {
        name: "Jazz on the River",
        description: "A quartet, the river at dusk and the best acoustics in town.",
        category: "music",
        venue: 0,
        days_ahead: 9,
        capacity: 300,
        price_cents: 2500,
    },
    EventSpec {
        name: "Open Source Evening",
        description: "Five short talks by the people who maintain the tools you use every day.",
        category: "conference",
        venue: 2,
        days_ahead: 5,
        capacity: 120,
        price_cents: 0,
    },
    EventSpec {
        name: "Stand-up Night",
        description: "Four comedians, one microphone, no mercy.",
        category: "comedy",
        venue: 1,
        days_ahead: 14,
        capacity: 120,
        price_cents: 1500,
    },
    EventSpec {
        name: "Family Science Fair",
        description: "Experiments to try, robots to build and a planetarium show.",
        category: "family",
        venue: 2,
        days_ahead: 21,
        capacity: 500,
        price_cents: 0,
    },
    EventSpec {
        name: "Midnight Film Marathon",
        description: "Three cult classics back to back, popcorn included. Sold out: join the waitlist.",
        category: "film",
        venue: 1,
        days_ahead: 12,
        capacity: 3,
        price_cents: 0,
    },
    EventSpec {
        name: "Sourdough Workshop",
        description: "Bake your own loaf from starter to crust, in a small group.",
        category: "workshop",
        venue: 0,
        days_ahead: 30,
        capacity: 12,
        price_cents: 4500,
    },
];
/// Which of `EVENTS` the attendee holds tickets for, and which one sells out.
const TICKETED: usize = 1;
const SOLD_OUT: usize = 4;

/// A client of the running gateway.
struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}/api/v1{path}", self.base))
            .timeout(Duration::from_secs(30));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        if let Some(key) = key {
            req = req.header("Idempotency-Key", key);
        }
        let res = req
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = res.status().as_u16();
        let text = res.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, body))
    }

    /// A call that must answer `expected` (any of them); its body.
    async fn expect(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        key: Option<&str>,
        expected: &[u16],
    ) -> anyhow::Result<Value> {
        let (status, answer) = self.call(method.clone(), path, token, body, key).await?;
        if !expected.contains(&status) {
            bail!("{method} {path} answered {status}: {answer}");
        }
        Ok(answer)
    }

    async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> anyhow::Result<Value> {
        self.expect(
            reqwest::Method::POST,
            path,
            token,
            Some(body),
            None,
            &[200, 201],
        )
        .await
    }

    async fn get(&self, path: &str, token: &str) -> anyhow::Result<Value> {
        self.expect(reqwest::Method::GET, path, Some(token), None, None, &[200])
            .await
    }

    /// Registers an account; returns its id.
    async fn register(&self, (email, password, name): Account) -> anyhow::Result<String> {
        let body = json!({"email": email, "password": password, "name": name});
        let session = self.post("/auth/register", None, &body).await?;
        id_of(&session["user"])
    }

    async fn login(&self, (email, password, _): Account) -> anyhow::Result<String> {
        let session = self
            .post(
                "/auth/login",
                None,
                &json!({"email": email, "password": password}),
            )
            .await?;
        session["access_token"]
            .as_str()
            .map(str::to_owned)
            .context("a login without an access token")
    }

    /// Books through the pipeline and waits for the decision; returns the booking.
    async fn book(
        &self,
        token: &str,
        event: &str,
        quantity: i32,
        key: &str,
    ) -> anyhow::Result<Value> {
        let path = format!("/events/{event}/bookings");
        let body = json!({"quantity": quantity});
        let booking = self
            .expect(
                reqwest::Method::POST,
                &path,
                Some(token),
                Some(&body),
                Some(key),
                &[201, 202],
            )
            .await?;
        let id = id_of(&booking)?;
        let booking = eventually(&format!("booking {id} decided"), || async {
            let booking = self.get(&format!("/bookings/{id}"), token).await?;
            Ok((booking["status"] != "pending").then_some(booking))
        })
        .await?;
        if booking["status"] != "confirmed" {
            bail!("the demo booking {id} was not confirmed: {booking}");
        }
        Ok(booking)
    }
}

fn id_of(value: &Value) -> anyhow::Result<String> {
    value["id"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no id in {value}"))
}

/// Polls `check` until it gives a value, for at most a minute.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        if Instant::now() > deadline {
            bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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
