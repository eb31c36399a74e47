//! Seat maps: a plan in pretix's format is imported and exported as the same document and refused
//! naming the seat when broken; an event maps the plan's categories to its ticket types; people
//! book particular seats (all or none) or the best available; the map shows each seat's status,
//! a live stream carries the changes; tickets name their seats; and no seat is ever held or sold
//! twice, with two `reservations` instances deciding.

use std::collections::{HashMap, HashSet};

use futures::StreamExt;
use futures::future::join_all;
use serde_json::{Value, json};
use uuid::Uuid;

use evently_tests::app::{TestApp, TestUser};
use evently_tests::flows;

/// A plan of `rows` rows of `per_row` seats in two zones (`Stalls`: the first half of the rows,
/// `Balcony`: the rest); seat ids `S-<row>-<seat>`, the first seat of row 0 a wheelchair place.
fn plan(rows: usize, per_row: usize) -> Value {
    let row = |r: usize| {
        json!({
            "row_number": (r + 1).to_string(),
            "row_label": ((b'A' + r as u8) as char).to_string(),
            "position": {"x": 0, "y": r * 30},
            "seats": (0..per_row).map(|s| {
                let mut seat = json!({
                    "seat_guid": format!("S-{r}-{s}"),
                    "seat_number": (s + 1).to_string(),
                    "position": {"x": s * 25, "y": 0},
                    "category": if r < rows / 2 { "Stalls" } else { "Balcony" },
                });
                if r == 0 && s == 0 {
                    seat["accessible"] = json!(true);
                }
                seat
            }).collect::<Vec<_>>(),
        })
    };
    json!({
        "name": "Main hall",
        "categories": [{"name": "Stalls", "color": "#3355aa"}, {"name": "Balcony", "color": "#aa5533"}],
        "size": {"width": per_row * 25, "height": rows * 30 + 50},
        "focus_point": {"x": per_row * 25 / 2, "y": -50},
        "zones": [
            {"name": "Stalls", "position": {"x": 0, "y": 0}, "rows": (0..rows / 2).map(row).collect::<Vec<_>>(),
             "areas": [{"shape": "rectangle", "position": {"x": 0, "y": -45}, "color": "#222222",
                        "rectangle": {"width": per_row * 25, "height": 30},
                        "text": {"position": {"x": per_row * 25 / 2, "y": 15}, "text": "STAGE"}}]},
            {"name": "Balcony", "position": {"x": 0, "y": 0}, "rows": (rows / 2..rows).map(row).collect::<Vec<_>>()},
        ],
    })
}

struct Seated {
    event: Uuid,
    stalls: String,
    balcony: String,
    plan_id: String,
}

async fn venue_of(app: &TestApp, event: Uuid) -> Uuid {
    sqlx::query_scalar("SELECT venue_id FROM events WHERE id = $1")
        .bind(event)
        .fetch_one(&app.pool)
        .await
        .expect("venue")
}

async fn created(res: reqwest::Response) -> Value {
    let status = res.status().as_u16();
    let body: Value = res.json().await.expect("json");
    assert!(status == 201 || status == 200, "answered {status}: {body}");
    body
}

/// An event with two ticket types (Stalls 30.00, Balcony 15.00) seated on `plan(rows, per_row)`.
async fn seated_event(
    app: &TestApp,
    organizer: &TestUser,
    rows: usize,
    per_row: usize,
    price: i64,
) -> Seated {
    let event = app
        .create_event(organizer, (rows * per_row) as i32, price)
        .await;
    let mut types = Vec::new();
    for (name, cents) in [("Stalls", 2 * price), ("Balcony", price)] {
        let body = json!({"name": name, "price_cents": cents, "quota": rows * per_row});
        let res = app
            .post(
                &format!("/events/{event}/ticket-types"),
                Some(&organizer.token),
                &body,
            )
            .await;
        types.push(created(res).await["id"].as_str().expect("id").to_owned());
    }
    let venue = venue_of(app, event).await;
    let res = app
        .post(
            &format!("/venues/{venue}/seating-plans"),
            Some(&organizer.token),
            &plan(rows, per_row),
        )
        .await;
    let imported = created(res).await;
    assert_eq!(imported["seat_count"], rows * per_row);
    let plan_id = imported["id"].as_str().expect("id").to_owned();
    let res = put(
        app,
        &format!("/events/{event}/seating"),
        organizer,
        &json!({"plan_id": plan_id, "categories": {"Stalls": types[0], "Balcony": types[1]}}),
    )
    .await;
    assert_eq!(created(res).await["seat_count"], rows * per_row);
    Seated {
        event,
        stalls: types[0].clone(),
        balcony: types[1].clone(),
        plan_id,
    }
}

async fn put(app: &TestApp, path: &str, user: &TestUser, body: &Value) -> reqwest::Response {
    app.http
        .put(app.url(path))
        .bearer_auth(&user.token)
        .json(body)
        .send()
        .await
        .expect("PUT")
}

use flows::{book_body as book, problem};

fn names(problem: &Value, field: &str) -> bool {
    problem["errors"].get(field).is_some()
}

async fn seat_status(app: &TestApp, event: Uuid) -> HashMap<String, String> {
    let res = app.get(&format!("/events/{event}/seats"), None).await;
    let map: Value = created(res).await;
    map["seats"]
        .as_array()
        .expect("seats")
        .iter()
        .map(|s| {
            (
                s["id"].as_str().expect("id").to_owned(),
                s["status"].as_str().expect("status").to_owned(),
            )
        })
        .collect()
}

fn seat_ids(booking: &Value) -> Vec<String> {
    booking["seats"]
        .as_array()
        .map(|s| {
            s.iter()
                .map(|s| s["id"].as_str().expect("id").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_pretix_plan_is_exported_as_imported_and_a_broken_one_is_refused_naming_the_seat() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 0).await;
    let venue = venue_of(&app, event).await;
    let document = plan(2, 3);
    let res = app
        .post(
            &format!("/venues/{venue}/seating-plans"),
            Some(&organizer.token),
            &document,
        )
        .await;
    let imported = created(res).await;
    let res = app
        .get(
            &format!("/seating-plans/{}", imported["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(
        created(res).await,
        document,
        "the export is the imported document"
    );
    let list = created(
        app.get(&format!("/venues/{venue}/seating-plans"), None)
            .await,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    let mut twice = plan(2, 3);
    twice["zones"][0]["rows"][0]["seats"][2]["seat_guid"] = json!("S-0-1");
    let p = problem(
        app.post(
            &format!("/venues/{venue}/seating-plans"),
            Some(&organizer.token),
            &twice,
        )
        .await,
        422,
    )
    .await;
    assert!(names(&p, "zones[0].rows[0].seats[2].seat_guid"), "{p}");
    let mut unknown = plan(2, 3);
    unknown["zones"][1]["rows"][0]["seats"][0]["category"] = json!("Boxes");
    let p = problem(
        app.post(
            &format!("/venues/{venue}/seating-plans"),
            Some(&organizer.token),
            &unknown,
        )
        .await,
        422,
    )
    .await;
    assert!(names(&p, "zones[1].rows[0].seats[0].category"), "{p}");
    let mut extra = plan(2, 3);
    extra["zones"][0]["rows"][0]["seats"][0]["price"] = json!(5);
    problem(
        app.post(
            &format!("/venues/{venue}/seating-plans"),
            Some(&organizer.token),
            &extra,
        )
        .await,
        422,
    )
    .await;
    let stranger = app.user_with_role("organizer").await;
    problem(
        app.post(
            &format!("/venues/{venue}/seating-plans"),
            Some(&stranger.token),
            &document,
        )
        .await,
        403,
    )
    .await;
    let plans: i64 = sqlx::query_scalar("SELECT count(*) FROM seating_plans WHERE venue_id = $1")
        .bind(venue)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(plans, 1, "nothing refused was kept");
    app.shutdown().await;
}

#[tokio::test]
async fn particular_seats_are_held_as_a_whole_shown_live_named_on_tickets_and_freed() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let seated = seated_event(&app, &organizer, 4, 5, 1500).await;
    let event = seated.event;
    let res = app
        .http
        .get(app.url(&format!("/events/{event}/seats/live")))
        .send()
        .await
        .expect("sse");
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut stream = res.bytes_stream();
    // The map draws the plan's stage, placed in plan coordinates.
    let map: Value = created(app.get(&format!("/events/{event}/seats"), None).await).await;
    assert_eq!(map["areas"][0]["shape"], "rectangle", "{}", map["areas"]);
    assert_eq!(map["areas"][0]["y"], -45.0);
    assert_eq!(map["areas"][0]["text"]["text"], "STAGE");

    let alice = app.register().await;
    let held = book(&app, &alice, event, json!({"seats": ["S-0-2", "S-0-3"]})).await;
    assert_eq!(held["status"], "held", "{held}");
    assert_eq!(seat_ids(&held), ["S-0-2", "S-0-3"]);
    assert_eq!(
        held["amount_cents"],
        2 * 3000,
        "Stalls seats at the Stalls price"
    );
    assert_eq!(held["seats"][0]["row"], "A");
    assert_eq!(held["seats"][0]["number"], "3");

    // The live stream names both seats as held.
    let mut buffer = String::new();
    let mut seen = HashMap::new();
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while seen.len() < 2 {
            let chunk = stream.next().await.expect("stream open").expect("chunk");
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let frame: String = buffer.drain(..end + 2).collect();
                if frame.contains("event: seats") {
                    let data = frame
                        .lines()
                        .find_map(|l| l.strip_prefix("data: "))
                        .unwrap();
                    let v: Value = serde_json::from_str(data).unwrap();
                    for c in v["changes"].as_array().unwrap() {
                        seen.insert(c["id"].as_str().unwrap().to_owned(), c["status"].clone());
                    }
                }
            }
        }
    })
    .await
    .expect("the seat changes arrive live");
    assert_eq!(seen["S-0-2"], "held");

    // One taken seat spoils a request for two: nothing of it is held.
    let bob = app.register().await;
    let refused = book(&app, &bob, event, json!({"seats": ["S-0-4", "S-0-3"]})).await;
    assert_eq!(refused["status"], "rejected");
    assert_eq!(refused["reason"], "seat_taken");
    let unknown = book(&app, &bob, event, json!({"seats": ["S-9-9"]})).await;
    assert_eq!(unknown["reason"], "unknown_seat");
    let status = seat_status(&app, event).await;
    assert_eq!(status["S-0-3"], "held");
    assert_eq!(status["S-0-4"], "free");

    // Cancelled, its seats are free again and bookable.
    let id = flows::id(&held);
    let res = app
        .post(
            &format!("/bookings/{id}/cancel"),
            Some(&alice.token),
            &json!({}),
        )
        .await;
    assert!(res.status().is_success(), "cancel: {}", res.status());
    app.eventually("the booking is cancelled", || async {
        app.count_bookings(event, "cancelled").await == 1
    })
    .await;
    assert_eq!(seat_status(&app, event).await["S-0-3"], "free");
    let again = book(&app, &bob, event, json!({"seats": ["S-0-3"]})).await;
    assert_eq!(again["status"], "held", "{again}");

    // Paid, the tickets name section, row and seat.
    let paid = flows::pay(&app, &bob, flows::id(&again), "tok_visa").await;
    assert_eq!(paid.status(), 200);
    let tickets = super::tickets::tickets_of(&app, &bob, flows::id(&again), 1).await;
    assert_eq!(
        tickets[0]["seat"],
        json!({"section": "Stalls", "row": "A", "number": "4"})
    );
    // The signed QR code names the seat too, for a door that checks offline.
    let (keys, _) = super::tickets::published_keys(&app).await;
    let claims = evently_runtime::tickets::verify(&super::tickets::payload(&tickets[0]), &keys)
        .expect("the payload verifies");
    assert_eq!(
        claims.seat,
        Some(evently_runtime::tickets::TicketSeat {
            section: "Stalls".into(),
            row: "A".into(),
            number: "4".into(),
        })
    );
    assert_eq!(seat_status(&app, event).await["S-0-3"], "sold");
    app.shutdown().await;
}

#[tokio::test]
async fn best_available_keeps_groups_together_away_from_wheelchair_places() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let seated = seated_event(&app, &organizer, 4, 5, 0).await;
    let user = app.register().await;
    let ask = |ty: &str, quantity: i32, accessible: bool| json!({"best_available": {"ticket_type_id": ty, "quantity": quantity, "accessible": accessible}});
    let first = book(&app, &user, seated.event, ask(&seated.stalls, 3, false)).await;
    assert_eq!(first["status"], "confirmed", "{first}");
    let seats = seat_ids(&first);
    // Row A (nearest the stage) side by side, never its wheelchair place S-0-0.
    assert_eq!(seats.len(), 3);
    assert!(
        seats.iter().all(|s| s.starts_with("S-0-") && s != "S-0-0"),
        "{seats:?}"
    );
    let numbers: Vec<i64> = first["seats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["number"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(numbers[2] - numbers[0], 2, "side by side: {numbers:?}");
    // Cancelled, its seats are the best again: the map the consumer keeps is not stale.
    let id = flows::id(&first);
    let res = app
        .post(
            &format!("/bookings/{id}/cancel"),
            Some(&user.token),
            &json!({}),
        )
        .await;
    assert!(res.status().is_success());
    app.eventually("the booking is cancelled", || async {
        app.count_bookings(seated.event, "cancelled").await == 1
    })
    .await;
    let again = book(&app, &user, seated.event, ask(&seated.stalls, 3, false)).await;
    assert_eq!(seat_ids(&again), seats, "the freed seats are offered again");
    let wheelchair = book(&app, &user, seated.event, ask(&seated.stalls, 1, true)).await;
    assert_eq!(seat_ids(&wheelchair), ["S-0-0"]);
    let balcony = book(&app, &user, seated.event, ask(&seated.balcony, 2, false)).await;
    assert!(
        seat_ids(&balcony).iter().all(|s| s.starts_with("S-2-")),
        "{balcony}"
    );
    let too_many = book(&app, &user, seated.event, ask(&seated.balcony, 9, false)).await;
    assert_eq!(too_many["reason"], "sold_out", "{too_many}");
    app.shutdown().await;
}

#[tokio::test]
async fn bad_seated_requests_are_refused_naming_the_field_and_change_nothing() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let seated = seated_event(&app, &organizer, 2, 3, 0).await;
    let event = seated.event;
    let user = app.register().await;
    let post = |body: Value| {
        let app = &app;
        let user = &user;
        async move {
            app.post(
                &format!("/events/{event}/bookings"),
                Some(&user.token),
                &body,
            )
            .await
        }
    };
    let p = problem(post(json!({"quantity": 2})).await, 422).await;
    assert!(names(&p, "quantity"), "{p}");
    let p = problem(post(json!({"seats": ["S-0-0", "S-0-0"]})).await, 422).await;
    assert!(names(&p, "seats[1]"), "{p}");
    let p = problem(
        post(json!({"seats": ["S-0-0"], "best_available": {"ticket_type_id": seated.stalls, "quantity": 1}}))
            .await,
        422,
    )
    .await;
    assert!(names(&p, "seats"), "{p}");
    let p = problem(
        post(json!({"best_available": {"ticket_type_id": Uuid::new_v4(), "quantity": 1}})).await,
        422,
    )
    .await;
    assert!(names(&p, "best_available.ticket_type_id"), "{p}");
    let p = problem(
        post(json!({"best_available": {"ticket_type_id": seated.stalls, "quantity": 0}})).await,
        422,
    )
    .await;
    assert!(names(&p, "best_available.quantity"), "{p}");

    // An unseated event has no seats to name.
    let plain = app.create_event(&organizer, 10, 0).await;
    let p = problem(
        app.post(
            &format!("/events/{plain}/bookings"),
            Some(&user.token),
            &json!({"seats": ["S-0-0"]}),
        )
        .await,
        422,
    )
    .await;
    assert!(names(&p, "seats"), "{p}");
    assert_eq!(
        app.get(&format!("/events/{plain}/seats"), None)
            .await
            .status(),
        404
    );

    // Seating: every category mapped, to this event's types, with a plan of its venue.
    let p = problem(
        put(
            &app,
            &format!("/events/{event}/seating"),
            &organizer,
            &json!({"plan_id": seated.plan_id, "categories": {"Stalls": seated.stalls}}),
        )
        .await,
        422,
    )
    .await;
    assert!(names(&p, "categories.Balcony"), "{p}");
    let p = problem(
        put(
            &app,
            &format!("/events/{plain}/seating"),
            &organizer,
            &json!({"plan_id": seated.plan_id, "categories": {}}),
        )
        .await,
        422,
    )
    .await;
    assert!(names(&p, "plan_id"), "{p}");
    let stranger = app.user_with_role("organizer").await;
    problem(
        put(&app, &format!("/events/{event}/seating"), &stranger,
            &json!({"plan_id": seated.plan_id, "categories": {"Stalls": seated.stalls, "Balcony": seated.balcony}})).await,
        403,
    )
    .await;
    // Once a booking holds seats the map is fixed.
    let booked = book(&app, &user, event, json!({"seats": ["S-1-1"]})).await;
    assert_eq!(booked["status"], "confirmed");
    problem(
        put(&app, &format!("/events/{event}/seating"), &organizer,
            &json!({"plan_id": seated.plan_id, "categories": {"Stalls": seated.stalls, "Balcony": seated.balcony}})).await,
        409,
    )
    .await;
    let live: i64 =
        sqlx::query_scalar("SELECT count(*) FROM booking_seats WHERE event_id = $1 AND live")
            .bind(event)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(live, 1, "nothing refused took a seat");
    app.shutdown().await;
}

#[tokio::test]
async fn no_seat_is_held_or_sold_twice_by_concurrent_bookings_with_two_reservations_instances() {
    let mut app = TestApp::spawn().await;
    app.start_second_consumers();
    let organizer = app.user_with_role("organizer").await;
    // 4 rows of 6: everyone fights over row A and the best available.
    let seated = seated_event(&app, &organizer, 4, 6, 0).await;
    let users = app.bulk_users(80).await;
    let bookings = join_all(users.iter().enumerate().map(|(i, user)| {
        let body = if i % 2 == 0 {
            let s = i % 5;
            json!({"seats": [format!("S-0-{s}"), format!("S-0-{}", s + 1)]})
        } else {
            let ty = if i % 4 == 1 {
                &seated.stalls
            } else {
                &seated.balcony
            };
            json!({"best_available": {"ticket_type_id": ty, "quantity": 1 + i % 3}})
        };
        book(&app, user, seated.event, body)
    }))
    .await;
    let mut sold = HashSet::new();
    let mut confirmed_seats = 0;
    for b in &bookings {
        assert!(
            b["status"] == "confirmed"
                || ["seat_taken", "sold_out"].contains(&b["reason"].as_str().unwrap_or("")),
            "{b}"
        );
        for seat in seat_ids(b) {
            assert!(sold.insert(seat.clone()), "seat {seat} sold twice");
            confirmed_seats += 1;
        }
    }
    assert!(confirmed_seats > 0);
    let (live, distinct): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT seat_id) FROM booking_seats WHERE event_id = $1 AND live",
    )
    .bind(seated.event)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(live, distinct);
    assert_eq!(
        live, confirmed_seats as i64,
        "every live seat is an answered one"
    );
    let type_sold: i64 = sqlx::query_scalar(
        "SELECT COALESCE(sum(sold + held), 0) FROM ticket_types WHERE event_id = $1",
    )
    .bind(seated.event)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(type_sold, live, "the types count the seats");
    let status = seat_status(&app, seated.event).await;
    assert_eq!(
        status.values().filter(|s| *s == "sold").count() as i64,
        live
    );
    app.shutdown().await;
}
