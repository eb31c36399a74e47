//! `--seated`: a seated flash sale. The venue gets a plan in pretix's format of rows of 50 seats
//! (the first tenth of the rows `Premium`, the rest `Standard`, each its own ticket type), and the
//! event uses it. Even requests ask for two particular seats side by side, their row drawn with a
//! cubic skew towards the stage so most of them fight over the best rows; odd requests ask for
//! the best one or two seats of a type. Afterwards it checks in PostgreSQL that no seat is held or
//! sold twice, that the ticket types and the inventory count the seats sold, and counts the single
//! free seats left stranded between taken ones.

use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use uuid::Uuid;

const PER_ROW: usize = 50;

/// A deterministic spread of request numbers over [0, 1).
fn unit(i: usize, salt: u64) -> f64 {
    let mut x = (i as u64 ^ salt).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 32;
    (x % 1_000_000) as f64 / 1_000_000.0
}

/// Imports the plan, seats the event on it; returns each request's booking body.
pub async fn create(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    venue: &Value,
    event: Uuid,
    seats: i64,
    requests: usize,
) -> anyhow::Result<Vec<Value>> {
    let rows = (seats as usize).div_ceil(PER_ROW);
    let premium_rows = (rows / 10).max(1);
    let row = |r: usize| {
        let count = PER_ROW.min(seats as usize - r * PER_ROW);
        json!({
            "row_number": (r + 1).to_string(),
            "position": {"x": 0, "y": r * 30},
            "seats": (0..count).map(|s| json!({
                "seat_guid": format!("{r}-{s}"),
                "seat_number": (s + 1).to_string(),
                "position": {"x": s * 25, "y": 0},
                "category": if r < premium_rows { "Premium" } else { "Standard" },
            })).collect::<Vec<_>>(),
        })
    };
    let plan = json!({
        "name": "Flash Arena",
        "categories": [{"name": "Premium", "color": "#aa3355"}, {"name": "Standard", "color": "#3355aa"}],
        "size": {"width": PER_ROW * 25, "height": rows * 30 + 60},
        "focus_point": {"x": PER_ROW * 25 / 2, "y": -60},
        "zones": [{"name": "Hall", "position": {"x": 0, "y": 0}, "rows": (0..rows).map(row).collect::<Vec<_>>()}],
    });
    let premium = (premium_rows * PER_ROW) as i64;
    let mut types = Vec::new();
    for (name, quota) in [("Premium", premium), ("Standard", seats - premium)] {
        let created: Value = http
            .post(format!("{base}/api/v1/events/{event}/ticket-types"))
            .bearer_auth(token)
            .json(&json!({"name": name, "price_cents": 0, "quota": quota}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        types.push(created["id"].as_str().context("ticket type id")?.to_owned());
    }
    let imported: Value = http
        .post(format!(
            "{base}/api/v1/venues/{}/seating-plans",
            venue["id"].as_str().context("venue id")?
        ))
        .bearer_auth(token)
        .json(&plan)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    http.put(format!("{base}/api/v1/events/{event}/seating"))
        .bearer_auth(token)
        .json(&json!({"plan_id": imported["id"], "categories": {"Premium": types[0], "Standard": types[1]}}))
        .send()
        .await?
        .error_for_status()?;
    println!(
        "seated on a plan of {seats} seats in {rows} rows of {PER_ROW} ({premium} Premium); half the requests for two particular seats (rows skewed to the stage), half best-available of one or two seats"
    );
    Ok((0..requests)
        .map(|i| {
            if i % 2 == 0 {
                let r = ((unit(i, 1).powi(3) * rows as f64) as usize).min(rows - 1);
                let in_row = PER_ROW.min(seats as usize - r * PER_ROW);
                let s = (unit(i, 2) * (in_row - 1) as f64) as usize;
                json!({"seats": [format!("{r}-{s}"), format!("{r}-{}", s + 1)]})
            } else {
                let ty = if i % 8 == 1 { &types[0] } else { &types[1] };
                json!({"best_available": {"ticket_type_id": ty, "quantity": 1 + (i / 2) % 2}})
            }
        })
        .collect())
}

/// Prints the seat figures and fails if a seat was held or sold twice or a count disagrees.
pub async fn check(pool: &sqlx::PgPool, event: Uuid, event_sold: i64) -> anyhow::Result<()> {
    let (live, distinct): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT seat_id) FROM booking_seats WHERE event_id = $1 AND live",
    )
    .bind(event)
    .fetch_one(pool)
    .await?;
    let by_types: i64 = sqlx::query_scalar(
        "SELECT COALESCE(sum(sold + held), 0)::bigint FROM ticket_types WHERE event_id = $1",
    )
    .bind(event)
    .fetch_one(pool)
    .await?;
    let taken: Vec<(i32, i32, bool)> = sqlx::query_as(
        "SELECT es.row_index, es.seat_index, EXISTS (SELECT 1 FROM booking_seats bs \
         WHERE bs.event_id = es.event_id AND bs.seat_id = es.seat_id AND bs.live) \
         FROM event_seats es WHERE es.event_id = $1 ORDER BY es.row_index, es.seat_index",
    )
    .bind(event)
    .fetch_all(pool)
    .await?;
    let stranded = (0..taken.len())
        .filter(|&i| {
            let (row, _, t) = taken[i];
            let free_beside = |j: Option<usize>| {
                j.and_then(|j| taken.get(j))
                    .is_some_and(|&(r, _, t)| r == row && !t)
            };
            !t && !free_beside(i.checked_sub(1)) && !free_beside(Some(i + 1))
        })
        .count();
    let free = taken.iter().filter(|t| !t.2).count();
    println!(
        "seats               {live} held or sold ({distinct} distinct), the types count {by_types}, the inventory {event_sold}; {free} free"
    );
    println!("stranded singles    {stranded} free seats with no free neighbour in their row");
    println!(
        "seats sold twice    {}",
        if live == distinct {
            "0".to_owned()
        } else {
            format!("YES ({})", live - distinct)
        }
    );
    if live != distinct || by_types != live || event_sold != live {
        bail!("a seat was sold twice or the counts disagree");
    }
    Ok(())
}
