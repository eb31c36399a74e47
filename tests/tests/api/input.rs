//! Bad input gets a clear 4xx problem document naming the field, never a 5xx, and changes nothing.

use evently_tests::app::{TestApp, TestOptions};
use serde_json::{Value, json};

/// Asserts a problem document with `status`, and, when given, an error on `field`.
async fn assert_problem(res: reqwest::Response, status: u16, field: Option<&str>, case: &str) {
    assert_eq!(res.status().as_u16(), status, "{case}");
    assert_eq!(
        res.headers()["content-type"],
        "application/problem+json",
        "{case}"
    );
    let problem: Value = res.json().await.expect("problem json");
    assert_eq!(problem["status"], status, "{case}");
    assert!(
        problem["title"].is_string() && problem["detail"].is_string(),
        "{case}: {problem}"
    );
    if let Some(field) = field {
        assert!(
            problem["errors"][field].is_string(),
            "{case}: expected an error on {field}: {problem}"
        );
    }
}

#[tokio::test]
async fn every_malformed_booking_request_gets_a_4xx_problem() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 0).await;
    let user = app.register().await;
    let path = app.url(&format!("/events/{event}/bookings"));
    let raw = |body: &'static str| {
        app.http
            .post(&path)
            .bearer_auth(&user.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    assert_problem(
        raw("{\"quantity\": ").await.expect("send"),
        400,
        None,
        "truncated JSON",
    )
    .await;
    assert_problem(raw("").await.expect("send"), 400, None, "empty body").await;
    assert_problem(
        raw("{\"quantity\": \"two\"}").await.expect("send"),
        422,
        Some("quantity"),
        "wrong type",
    )
    .await;
    assert_problem(
        raw("{}").await.expect("send"),
        422,
        Some("quantity"),
        "missing field",
    )
    .await;
    assert_problem(
        raw("{\"quantity\": 1, \"seat\": 3}").await.expect("send"),
        422,
        Some("seat"),
        "unknown field",
    )
    .await;
    for q in [0, -1, 11, 1_000_000] {
        let res = app
            .post(
                &format!("/events/{event}/bookings"),
                Some(&user.token),
                &json!({"quantity": q}),
            )
            .await;
        assert_problem(res, 422, Some("quantity"), &format!("quantity {q}")).await;
    }
    let res = app
        .post(
            &format!("/events/{event}/bookings"),
            Some(&user.token),
            &json!({"quantity": 2_147_483_648_i64}),
        )
        .await;
    assert_problem(res, 422, Some("quantity"), "quantity beyond i32").await;
    let big = format!("{{\"quantity\": 1, \"pad\": \"{}\"}}", "x".repeat(200_000));
    let res = app
        .http
        .post(&path)
        .bearer_auth(&user.token)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .expect("send");
    assert_problem(res, 413, None, "oversized body").await;
    let res = app
        .http
        .post(&path)
        .bearer_auth(&user.token)
        .header("content-type", "text/plain")
        .body("quantity=1")
        .send()
        .await
        .expect("send");
    assert_problem(res, 415, None, "not JSON").await;
    let res = app
        .http
        .post(&path)
        .bearer_auth(&user.token)
        .header("Idempotency-Key", "x".repeat(300))
        .json(&json!({"quantity": 1}))
        .send()
        .await
        .expect("send");
    assert_problem(
        res,
        422,
        Some("Idempotency-Key"),
        "oversized Idempotency-Key",
    )
    .await;
    let unknown = uuid::Uuid::new_v4();
    let res = app
        .post(
            &format!("/events/{unknown}/bookings"),
            Some(&user.token),
            &json!({"quantity": 1}),
        )
        .await;
    assert_problem(res, 404, None, "unknown event").await;
    let res = app
        .post(
            "/events/not-a-uuid/bookings",
            Some(&user.token),
            &json!({"quantity": 1}),
        )
        .await;
    assert_problem(res, 404, None, "malformed event id").await;
    let res = app
        .post(
            &format!("/events/{event}/bookings"),
            None,
            &json!({"quantity": 1}),
        )
        .await;
    assert_problem(res, 401, None, "no token").await;
    assert_problem(
        app.get(&format!("/bookings/{unknown}"), Some(&user.token))
            .await,
        404,
        None,
        "unknown booking",
    )
    .await;
    assert_problem(
        app.get("/bookings/42", Some(&user.token)).await,
        404,
        None,
        "malformed booking id",
    )
    .await;
    assert_problem(
        app.get("/me/bookings?limit=0", Some(&user.token)).await,
        422,
        Some("limit"),
        "limit 0",
    )
    .await;
    assert_problem(
        app.get("/me/bookings?cursor=zzz", Some(&user.token)).await,
        422,
        Some("cursor"),
        "bad cursor",
    )
    .await;
    assert_problem(
        app.get("/me/bookings?status=lost", Some(&user.token)).await,
        422,
        Some("status"),
        "bad status",
    )
    .await;
    assert_problem(
        app.get("/no/such/route", None).await,
        404,
        None,
        "unknown route",
    )
    .await;

    assert_eq!(
        app.seats(event).await.0,
        0,
        "no bad request booked anything"
    );
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM bookings")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(n, 0);
    app.shutdown().await;
}

#[tokio::test]
async fn invalid_events_and_venues_name_every_bad_field() {
    let app = TestApp::spawn_with(TestOptions {
        consumers: false,
        ..Default::default()
    })
    .await;
    let organizer = app.user_with_role("organizer").await;
    let res = app
        .post(
            "/venues",
            Some(&organizer.token),
            &json!({"name": "", "capacity": 0}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.expect("json");
    assert!(
        problem["errors"]["name"].is_string() && problem["errors"]["capacity"].is_string(),
        "{problem}"
    );

    let res = app
        .post(
            "/events",
            Some(&organizer.token),
            &json!({"name": "x", "venue_id": uuid::Uuid::new_v4(), "category": "music",
                    "starts_at": "2001-01-01T00:00:00Z", "ends_at": "2000-01-01T00:00:00Z",
                    "capacity": 0, "price_cents": -5, "currency": "euro"}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.expect("json");
    for field in [
        "starts_at",
        "ends_at",
        "capacity",
        "price_cents",
        "currency",
    ] {
        assert!(problem["errors"][field].is_string(), "{field}: {problem}");
    }
    let res = app
        .post(
            "/events",
            Some(&organizer.token),
            &json!({"name": "x", "starts_at": "yesterday"}),
        )
        .await;
    assert_problem(res, 422, Some("starts_at"), "unparseable time").await;
    assert_problem(
        app.get("/events?from=soon", None).await,
        422,
        Some("from"),
        "bad from",
    )
    .await;
    assert_problem(
        app.get("/events?min_price=-1", None).await,
        422,
        Some("min_price"),
        "bad min_price",
    )
    .await;
    // An empty typed filter is not "no filter" (found by schemathesis); empty free text is.
    assert_problem(
        app.get("/events?venue_id=", None).await,
        422,
        Some("venue_id"),
        "empty venue_id",
    )
    .await;
    assert_eq!(app.get("/events?q=&category=", None).await.status(), 200);
    app.shutdown().await;
}
