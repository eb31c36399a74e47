//! Ticket types: an event sells several kinds of ticket with their own prices and quotas, a
//! booking by type is decided as a whole, the event's capacity still caps the sum, no type and no
//! event is oversold under concurrent bookings, and bad input is a 4xx naming its field.

use futures::future::join_all;
use serde_json::{Value, json};
use uuid::Uuid;

use evently_tests::app::{TestApp, TestUser};
use evently_tests::flows;

async fn add_type(app: &TestApp, organizer: &TestUser, event: Uuid, body: Value) -> Value {
    let res = app
        .post(
            &format!("/events/{event}/ticket-types"),
            Some(&organizer.token),
            &body,
        )
        .await;
    assert_eq!(
        res.status(),
        201,
        "{}",
        res.text().await.unwrap_or_default()
    );
    res.json().await.expect("json")
}

async fn types(app: &TestApp, user: Option<&TestUser>, event: Uuid) -> Vec<Value> {
    let res = app
        .get(
            &format!("/events/{event}/ticket-types"),
            user.map(|u| u.token.as_str()),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    body["items"].as_array().expect("items").clone()
}

fn available(list: &[Value], id: &Value) -> i64 {
    list.iter()
        .find(|t| t["id"] == *id)
        .and_then(|t| t["available"].as_i64())
        .expect("the type is listed")
}

/// `POST /bookings` with lines; returns the decided booking.
async fn book_lines(app: &TestApp, user: &TestUser, event: Uuid, lines: Value) -> Value {
    flows::book_body(app, user, event, json!({ "lines": lines })).await
}

use flows::problem;

#[tokio::test]
async fn a_booking_by_ticket_type_takes_every_line_or_none_and_cancelling_gives_them_back() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 0).await;
    let vip = add_type(
        &app,
        &organizer,
        event,
        json!({"name": "VIP", "price_cents": 0, "quota": 2}),
    )
    .await;
    let general = add_type(
        &app,
        &organizer,
        event,
        json!({"name": "General", "price_cents": 0, "quota": 10}),
    )
    .await;
    let user = app.register().await;

    let refused = book_lines(
        &app,
        &user,
        event,
        json!([{"ticket_type_id": general["id"], "quantity": 2}, {"ticket_type_id": vip["id"], "quantity": 3}]),
    )
    .await;
    assert_eq!(refused["status"], "rejected");
    assert_eq!(refused["reason"], "sold_out");
    assert_eq!(app.seats(event).await.0, 0, "no line was taken");

    let booked = book_lines(
        &app,
        &user,
        event,
        json!([{"ticket_type_id": general["id"], "quantity": 1}, {"ticket_type_id": vip["id"], "quantity": 2}]),
    )
    .await;
    assert_eq!(booked["status"], "confirmed", "{booked}");
    assert_eq!(booked["quantity"], 3);
    assert_eq!(booked["lines"].as_array().map(Vec::len), Some(2));
    let listed = types(&app, None, event).await;
    assert_eq!(available(&listed, &vip["id"]), 0);
    assert_eq!(
        available(&listed, &general["id"]),
        7,
        "the event has 7 left"
    );
    let tickets = app
        .get(
            &format!("/bookings/{}/tickets", flows::id(&booked)),
            Some(&user.token),
        )
        .await;
    assert_eq!(tickets.status(), 200);

    flows::cancel(&app, &user, flows::id(&booked)).await;
    flows::wait_booking(&app, flows::id(&booked), "cancelled").await;
    let listed = types(&app, None, event).await;
    assert_eq!(available(&listed, &vip["id"]), 2);
    assert_eq!(available(&listed, &general["id"]), 10);
    assert_eq!(app.seats(event).await.0, 0);
    app.shutdown().await;
}

#[tokio::test]
async fn a_paid_booking_by_type_is_priced_by_its_lines_held_then_confirmed_by_its_payment() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 2500).await;
    let vip = add_type(
        &app,
        &organizer,
        event,
        json!({"name": "VIP", "price_cents": 9000, "quota": 5}),
    )
    .await;
    let student = add_type(
        &app,
        &organizer,
        event,
        json!({"name": "Student", "price_cents": 1500, "quota": 5, "max_per_booking": 2}),
    )
    .await;
    let user = app.register().await;
    let booking = book_lines(
        &app,
        &user,
        event,
        json!([{"ticket_type_id": vip["id"], "quantity": 1}, {"ticket_type_id": student["id"], "quantity": 2}]),
    )
    .await;
    assert_eq!(booking["status"], "held", "{booking}");
    assert_eq!(booking["amount_cents"], 9000 + 2 * 1500);
    let held: (i32, i32) = sqlx::query_as("SELECT held, sold FROM ticket_types WHERE id = $1")
        .bind(flows::id(&student))
        .fetch_one(&app.pool)
        .await
        .expect("student type");
    assert_eq!(held, (2, 0));

    let res = flows::pay(&app, &user, flows::id(&booking), "tok_visa").await;
    assert_eq!(res.status(), 200);
    flows::wait_booking(&app, flows::id(&booking), "confirmed").await;
    let counts: Vec<(i32, i32)> = sqlx::query_as(
        "SELECT held, sold FROM ticket_types WHERE event_id = $1 ORDER BY price_cents",
    )
    .bind(event)
    .fetch_all(&app.pool)
    .await
    .expect("types");
    assert_eq!(counts, [(0, 2), (0, 1)]);
    assert_eq!(flows::net_paid(&app, flows::id(&booking)).await, 12000);
    app.shutdown().await;
}

#[tokio::test]
async fn no_ticket_type_and_no_event_is_oversold_by_concurrent_bookings() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    // Three types whose quotas add up to more than the event's 30 seats.
    let event = app.create_event(&organizer, 30, 0).await;
    let mut kinds = Vec::new();
    for (name, quota) in [("Early bird", 8), ("General", 20), ("Student", 12)] {
        kinds.push(
            add_type(
                &app,
                &organizer,
                event,
                json!({"name": name, "price_cents": 0, "quota": quota}),
            )
            .await,
        );
    }
    let users = app.bulk_users(60).await;
    let bookings = join_all(users.iter().enumerate().map(|(i, user)| {
        let lines = json!([
            {"ticket_type_id": kinds[i % 3]["id"], "quantity": 1 + (i % 2)},
            {"ticket_type_id": kinds[(i + 1) % 3]["id"], "quantity": 1}
        ]);
        book_lines(&app, user, event, lines)
    }))
    .await;
    let confirmed = bookings
        .iter()
        .filter(|b| b["status"] == "confirmed")
        .count();
    assert!(
        bookings
            .iter()
            .all(|b| b["status"] == "confirmed" || b["reason"] == "sold_out")
    );
    assert!(confirmed > 0);

    let (sold, held, capacity) = app.seats(event).await;
    assert!(
        sold <= capacity,
        "the event is not oversold: {sold} of {capacity}"
    );
    assert_eq!(held, 0);
    let rows: Vec<(Uuid, i32, i32, i64)> = sqlx::query_as(
        "SELECT t.id, t.quota, t.sold, (SELECT COALESCE(sum(l.quantity), 0) FROM booking_lines l \
         JOIN bookings b ON b.id = l.booking_id WHERE l.ticket_type_id = t.id AND b.status = 'confirmed') \
         FROM ticket_types t WHERE t.event_id = $1",
    )
    .bind(event)
    .fetch_all(&app.pool)
    .await
    .expect("types");
    for (id, quota, type_sold, lines) in &rows {
        assert!(
            type_sold <= quota,
            "type {id} oversold: {type_sold} of {quota}"
        );
        assert_eq!(
            i64::from(*type_sold),
            *lines,
            "type {id}'s count is its lines'"
        );
    }
    let by_types: i32 = rows.iter().map(|r| r.2).sum();
    assert_eq!(i64::from(by_types), sold, "the event's count is its types'");
    assert_eq!(app.dead_letters().await, 0);
    app.shutdown().await;
}

#[tokio::test]
async fn a_hidden_type_is_listed_only_to_its_organiser_and_not_bookable_from_the_list() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 0).await;
    add_type(
        &app,
        &organizer,
        event,
        json!({"name": "General", "price_cents": 0, "quota": 5}),
    )
    .await;
    let crew = add_type(
        &app,
        &organizer,
        event,
        json!({"name": "Crew", "price_cents": 0, "quota": 5, "hidden": true}),
    )
    .await;
    let user = app.register().await;
    assert_eq!(types(&app, None, event).await.len(), 1);
    assert_eq!(types(&app, Some(&user), event).await.len(), 1);
    assert_eq!(types(&app, Some(&organizer), event).await.len(), 2);
    let res = app
        .post(
            &format!("/events/{event}/bookings"),
            Some(&user.token),
            &json!({"lines": [{"ticket_type_id": crew["id"], "quantity": 1}]}),
        )
        .await;
    let p = problem(res, 422).await;
    assert!(p["errors"]["lines[0].ticket_type_id"].is_string(), "{p}");
    app.shutdown().await;
}

#[tokio::test]
async fn bad_ticket_type_input_is_a_4xx_naming_the_field_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 0).await;
    let plain = app.create_event(&organizer, 10, 0).await;
    let path = format!("/events/{event}/ticket-types");
    let create = |body: Value| {
        let path = path.clone();
        let token = organizer.token.clone();
        let app = &app;
        async move { app.post(&path, Some(&token), &body).await }
    };
    for (body, field) in [
        (json!({"name": "", "price_cents": 0, "quota": 1}), "name"),
        (
            json!({"name": "A", "price_cents": -1, "quota": 1}),
            "price_cents",
        ),
        (json!({"name": "A", "price_cents": 0, "quota": -5}), "quota"),
        (
            json!({"name": "A", "price_cents": 0, "quota": 1, "max_per_booking": 0}),
            "max_per_booking",
        ),
        (
            json!({"name": "A", "price_cents": 0, "quota": 1, "sales_start": "2030-01-02T00:00:00Z", "sales_end": "2030-01-01T00:00:00Z"}),
            "sales_end",
        ),
    ] {
        let p = problem(create(body).await, 422).await;
        assert!(p["errors"][field].is_string(), "{field}: {p}");
    }
    let general = add_type(
        &app,
        &organizer,
        event,
        json!({"name": "General", "price_cents": 0, "quota": 3}),
    )
    .await;
    let p = problem(
        create(json!({"name": "General", "price_cents": 100, "quota": 1})).await,
        422,
    )
    .await;
    assert!(p["errors"]["name"].is_string(), "a taken name: {p}");
    let stranger = app.user_with_role("organizer").await;
    let res = app
        .post(
            &path,
            Some(&stranger.token),
            &json!({"name": "Mine", "price_cents": 0, "quota": 1}),
        )
        .await;
    assert_eq!(res.status(), 403);

    let user = app.register().await;
    let book = |event: Uuid, body: Value| {
        let app = &app;
        let token = user.token.clone();
        async move {
            app.post(&format!("/events/{event}/bookings"), Some(&token), &body)
                .await
        }
    };
    for (body, field) in [
        (json!({"quantity": 1}), "lines"),
        (
            json!({"lines": [{"ticket_type_id": Uuid::new_v4(), "quantity": 1}]}),
            "lines[0].ticket_type_id",
        ),
        (
            json!({"lines": [{"ticket_type_id": general["id"], "quantity": 0}]}),
            "lines[0].quantity",
        ),
        (
            json!({"lines": [{"ticket_type_id": general["id"], "quantity": 1}, {"ticket_type_id": general["id"], "quantity": 1}]}),
            "lines[1].ticket_type_id",
        ),
        (
            json!({"quantity": 2, "lines": [{"ticket_type_id": general["id"], "quantity": 1}]}),
            "quantity",
        ),
    ] {
        let p = problem(book(event, body).await, 422).await;
        assert!(p["errors"][field].is_string(), "{field}: {p}");
    }
    let p = problem(
        book(
            plain,
            json!({"lines": [{"ticket_type_id": general["id"], "quantity": 1}]}),
        )
        .await,
        422,
    )
    .await;
    assert!(p["errors"]["lines"].is_string(), "{p}");
    assert_eq!(app.seats(event).await.0, 0);

    // Edits: If-Match, no quota below what is sold, no deleting a booked type.
    let type_path = format!("{path}/{}", general["id"].as_str().expect("id"));
    let edit = |tag: Option<&str>, body: Value| {
        let mut req = app
            .http
            .patch(app.url(&type_path))
            .bearer_auth(&organizer.token)
            .json(&body);
        if let Some(tag) = tag {
            req = req.header("If-Match", tag);
        }
        req.send()
    };
    assert_eq!(
        edit(None, json!({"quota": 5}))
            .await
            .expect("PATCH")
            .status(),
        428
    );
    assert_eq!(
        edit(Some("\"9\""), json!({"quota": 5}))
            .await
            .expect("PATCH")
            .status(),
        412
    );
    book_lines(
        &app,
        &user,
        event,
        json!([{"ticket_type_id": general["id"], "quantity": 2}]),
    )
    .await;
    let res = edit(Some("\"1\""), json!({"quota": 1}))
        .await
        .expect("PATCH");
    assert_eq!(res.status(), 409, "a quota below what is sold");
    let res = edit(Some("\"1\""), json!({"quota": 6, "name": "Standing"}))
        .await
        .expect("PATCH");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], "\"2\"");
    let res = app
        .http
        .delete(app.url(&type_path))
        .bearer_auth(&organizer.token)
        .header("If-Match", "\"2\"")
        .send()
        .await
        .expect("DELETE");
    assert_eq!(res.status(), 409, "a booked type is not deleted");
    let spare = add_type(
        &app,
        &organizer,
        event,
        json!({"name": "Spare", "price_cents": 0, "quota": 1}),
    )
    .await;
    let res = app
        .http
        .delete(app.url(&format!("{path}/{}", spare["id"].as_str().expect("id"))))
        .bearer_auth(&organizer.token)
        .header("If-Match", "\"1\"")
        .send()
        .await
        .expect("DELETE");
    assert_eq!(res.status(), 204);
    assert_eq!(types(&app, Some(&organizer), event).await.len(), 1);
    app.shutdown().await;
}
