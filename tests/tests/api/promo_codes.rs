//! Promo codes: a discount that money still adds up with, a use limit never exceeded by
//! concurrent bookings (it is inventory, decided by the single writer), hidden ticket types a code
//! unlocks, and bad codes answered with a 4xx naming the field.

use futures::future::join_all;
use serde_json::{Value, json};
use uuid::Uuid;

use evently_tests::app::{TestApp, TestUser};
use evently_tests::flows;

async fn add_code(app: &TestApp, organizer: &TestUser, event: Uuid, body: Value) -> Value {
    let res = app
        .post(
            &format!("/events/{event}/promo-codes"),
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

async fn book_with(app: &TestApp, user: &TestUser, event: Uuid, body: Value) -> (u16, Value) {
    let res = app
        .post(
            &format!("/events/{event}/bookings"),
            Some(&user.token),
            &body,
        )
        .await;
    let status = res.status().as_u16();
    let body: Value = res.json().await.expect("json");
    if status == 202 {
        (201, app.wait_decided(user, flows::id(&body)).await)
    } else {
        (status, body)
    }
}

async fn uses(app: &TestApp, code: &Value) -> i32 {
    sqlx::query_scalar("SELECT uses FROM promo_codes WHERE id = $1")
        .bind(flows::id(code))
        .fetch_one(&app.pool)
        .await
        .expect("uses")
}

#[tokio::test]
async fn a_discounted_booking_is_paid_at_its_discounted_price_and_refunded_what_was_paid() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 2000).await;
    let code = add_code(
        &app,
        &organizer,
        event,
        json!({"code": "Spring-25", "percent_off": 25}),
    )
    .await;
    assert_eq!(code["code"], "SPRING-25", "codes are kept upper case");
    let user = app.register().await;
    let (status, booking) = book_with(
        &app,
        &user,
        event,
        json!({"quantity": 2, "promo_code": "spring-25"}),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(booking["status"], "held", "{booking}");
    assert_eq!(booking["amount_cents"], 3000);
    assert_eq!(booking["discount_cents"], 1000);
    assert_eq!(uses(&app, &code).await, 1);

    let id = flows::id(&booking);
    assert_eq!(flows::pay(&app, &user, id, "tok_visa").await.status(), 200);
    flows::wait_booking(&app, id, "confirmed").await;
    assert_eq!(flows::net_paid(&app, id).await, 3000);
    flows::cancel(&app, &user, id).await;
    flows::wait_booking(&app, id, "cancelled").await;
    app.eventually("the refund is recorded", || async {
        flows::net_paid(&app, id).await == 0
    })
    .await;
    assert_eq!(
        uses(&app, &code).await,
        0,
        "a cancelled booking gives its use back"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_codes_use_limit_is_never_exceeded_by_concurrent_bookings() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 100, 1500).await;
    let code = add_code(
        &app,
        &organizer,
        event,
        json!({"code": "FIRST5", "amount_off_cents": 500, "max_uses": 5}),
    )
    .await;
    let users = app.bulk_users(40).await;
    let answers = join_all(users.iter().map(|user| {
        book_with(
            &app,
            user,
            event,
            json!({"quantity": 1, "promo_code": "FIRST5"}),
        )
    }))
    .await;
    let held = answers
        .iter()
        .filter(|(s, b)| *s == 201 && b["status"] == "held")
        .count();
    for (status, body) in &answers {
        // Refused at the door once the uses are gone (422), or by the consumer in stream order.
        let refused = (*status == 422 && body["errors"]["promo_code"].is_string())
            || (*status == 201 && body["reason"] == "promo_code_used_up");
        assert!(
            refused || (*status == 201 && body["status"] == "held"),
            "{status}: {body}"
        );
    }
    assert_eq!(held, 5, "exactly the limit's bookings got the code");
    assert_eq!(uses(&app, &code).await, 5);
    let with_code: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM bookings WHERE promo_code_id = $1 AND status = 'held'",
    )
    .bind(flows::id(&code))
    .fetch_one(&app.pool)
    .await
    .expect("count");
    assert_eq!(with_code, 5);
    assert_eq!(app.dead_letters().await, 0);
    app.shutdown().await;
}

#[tokio::test]
async fn a_code_unlocks_the_hidden_ticket_type_it_names() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 0).await;
    let path = format!("/events/{event}/ticket-types");
    let crew: Value = app
        .post(
            &path,
            Some(&organizer.token),
            &json!({"name": "Crew", "price_cents": 0, "quota": 3, "hidden": true}),
        )
        .await
        .json()
        .await
        .expect("json");
    add_code(
        &app,
        &organizer,
        event,
        json!({"code": "CREW", "percent_off": 100, "ticket_type_ids": [crew["id"]]}),
    )
    .await;
    let user = app.register().await;
    let listed = |query: &'static str| {
        let app = &app;
        let path = format!("{path}{query}");
        async move {
            let body: Value = app.get(&path, None).await.json().await.expect("json");
            body["items"].as_array().map_or(0, Vec::len)
        }
    };
    assert_eq!(listed("").await, 0);
    assert_eq!(listed("?promo_code=crew").await, 1);
    let lines = json!([{"ticket_type_id": crew["id"], "quantity": 1}]);
    let (status, body) = book_with(&app, &user, event, json!({ "lines": lines })).await;
    assert_eq!(status, 422, "hidden without the code: {body}");
    let (status, booking) = book_with(
        &app,
        &user,
        event,
        json!({ "lines": lines, "promo_code": "CREW" }),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(booking["status"], "confirmed", "{booking}");
    app.shutdown().await;
}

#[tokio::test]
async fn bad_promo_codes_are_a_4xx_naming_the_field_and_book_nothing() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 1000).await;
    let other = app.create_event(&organizer, 10, 1000).await;
    let other_type: Value = app
        .post(
            &format!("/events/{other}/ticket-types"),
            Some(&organizer.token),
            &json!({"name": "Other", "price_cents": 0, "quota": 1}),
        )
        .await
        .json()
        .await
        .expect("json");
    let create = |body: Value| {
        let app = &app;
        let token = organizer.token.clone();
        async move {
            app.post(&format!("/events/{event}/promo-codes"), Some(&token), &body)
                .await
        }
    };
    for (body, field) in [
        (json!({"code": "no spaces", "percent_off": 10}), "code"),
        (json!({"code": "AB", "percent_off": 10}), "code"),
        (
            json!({"code": "BOTH", "percent_off": 10, "amount_off_cents": 100}),
            "percent_off",
        ),
        (json!({"code": "NONE"}), "percent_off"),
        (json!({"code": "MANY", "percent_off": 101}), "percent_off"),
        (
            json!({"code": "ELSEWHERE", "percent_off": 10, "ticket_type_ids": [other_type["id"]]}),
            "ticket_type_ids",
        ),
        (
            json!({"code": "BACKWARDS", "percent_off": 10, "valid_from": "2030-01-02T00:00:00Z", "valid_to": "2030-01-01T00:00:00Z"}),
            "valid_to",
        ),
    ] {
        let res = create(body).await;
        assert_eq!(res.status(), 422);
        let p: Value = res.json().await.expect("json");
        assert!(p["errors"][field].is_string(), "{field}: {p}");
    }
    add_code(
        &app,
        &organizer,
        event,
        json!({"code": "LATE", "percent_off": 10, "valid_to": "2020-01-01T00:00:00Z"}),
    )
    .await;
    let res = create(json!({"code": "late", "percent_off": 20})).await;
    assert_eq!(res.status(), 422, "a code an event has already");
    let stranger = app.user_with_role("organizer").await;
    let res = app
        .get(
            &format!("/events/{event}/promo-codes"),
            Some(&stranger.token),
        )
        .await;
    assert_eq!(res.status(), 403);

    let user = app.register().await;
    for code in ["NOSUCH", "LATE", "x"] {
        let (status, body) = book_with(
            &app,
            &user,
            event,
            json!({"quantity": 1, "promo_code": code}),
        )
        .await;
        assert_eq!(status, 422, "{code}: {body}");
        assert!(body["errors"]["promo_code"].is_string(), "{code}: {body}");
    }
    assert_eq!(app.seats(event).await, (0, 0, 10), "nothing was booked");
    app.shutdown().await;
}
