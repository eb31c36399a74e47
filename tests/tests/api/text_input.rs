//! Text with a NUL or another control character, on every route that takes text (JSON bodies and
//! query strings): a 422 problem naming the field, never a 500 from PostgreSQL, and nothing stored.
//! Tabs and line breaks are let through only in multi-line fields (descriptions, addresses).

use std::path::PathBuf;

use evently_tests::app::{TestApp, TestOptions};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

/// What the database holds that any of these requests could have changed.
async fn fingerprint(app: &TestApp) -> Value {
    sqlx::query_scalar(
        "SELECT json_build_array( \
           (SELECT count(*) FROM users), (SELECT count(*) FROM venues), \
           (SELECT count(*) FROM events), (SELECT count(*) FROM push_subscriptions), \
           (SELECT count(*) FROM payments), (SELECT count(*) FROM refresh_tokens), \
           (SELECT string_agg(name || address || city || capacity, ',' ORDER BY id) FROM venues), \
           (SELECT string_agg(name || description || category || version, ',' ORDER BY id) FROM events), \
           (SELECT string_agg(name || email || role, ',' ORDER BY id) FROM users))",
    )
    .fetch_one(&app.pool)
    .await
    .expect("fingerprint")
}

/// One request: method, path, bearer token, JSON body (none for GET), extra header.
struct Case<'a> {
    method: Method,
    path: String,
    token: Option<&'a str>,
    body: Option<Value>,
    header: Option<(&'static str, String)>,
    field: &'static str,
}

fn one_field(field: &str, value: &str) -> Value {
    Value::Object([(field.to_owned(), json!(value))].into_iter().collect())
}

async fn send(app: &TestApp, case: &Case<'_>) -> reqwest::Response {
    let mut req = app.http.request(case.method.clone(), app.url(&case.path));
    if let Some(token) = case.token {
        req = req.bearer_auth(token);
    }
    if let Some(body) = &case.body {
        req = req.json(body);
    }
    if let Some((name, value)) = &case.header {
        req = req.header(*name, value);
    }
    req.send().await.expect("send")
}

#[tokio::test]
async fn a_nul_or_control_character_in_any_text_field_is_refused_naming_it_and_stores_nothing() {
    let app = TestApp::spawn_with(TestOptions {
        // A built web app in miniature, for the paths below.
        configure: |s| s.web_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/web"),
        ..Default::default()
    })
    .await;
    let admin = app.user_with_role("admin").await;
    let organizer = app.user_with_role("organizer").await;
    let user = app.register().await;
    let event = app.create_event(&organizer, 10, 0).await;
    let venue: String = sqlx::query_scalar("SELECT venue_id::text FROM events WHERE id = $1")
        .bind(event)
        .fetch_one(&app.pool)
        .await
        .expect("venue");
    let res = app.get(&format!("/events/{event}"), None).await;
    let etag = res.headers()["etag"].to_str().expect("etag").to_owned();
    let keys = evently_tests::push_service::SubscriberKeys::generate().json();
    let starts = chrono::Utc::now() + chrono::Duration::days(30);
    let event_body = |field: &str, value: &str| {
        let mut body = json!({
            "name": "Concert", "description": "A concert", "venue_id": venue,
            "category": "music", "starts_at": starts, "ends_at": starts + chrono::Duration::hours(3),
            "capacity": 5, "price_cents": 0, "currency": "EUR"
        });
        body[field] = json!(value);
        body
    };
    let register = |field: &str, value: &str| {
        let mut body = json!({
            "email": format!("nul-{}@example.com", Uuid::new_v4().simple()),
            "password": "a long enough password", "name": "Ada"
        });
        body[field] = json!(value);
        body
    };
    let post = |path: &str, token: Option<&'static str>, body: Value, field| Case {
        method: Method::POST,
        path: path.to_owned(),
        token,
        body: Some(body),
        header: None,
        field,
    };
    let get = |path: String, token, field| Case {
        method: Method::GET,
        path,
        token,
        body: None,
        header: None,
        field,
    };
    let leak = |s: &str| -> &'static str { Box::leak(s.to_owned().into_boxed_str()) };
    let (admin_t, org_t, user_t) = (
        leak(&admin.token),
        leak(&organizer.token),
        leak(&user.token),
    );
    let nul = "Ada\u{0}Lovelace";
    let mut cases = vec![
        post("/auth/register", None, register("name", nul), "name"),
        post(
            "/auth/register",
            None,
            register("email", "a\u{0}@example.com"),
            "email",
        ),
        post(
            "/auth/register",
            None,
            register("password", "a long\u{0}password"),
            "password",
        ),
        post(
            "/auth/register",
            None,
            register("name", "Ada\u{1b}[31m"),
            "name",
        ),
        post(
            "/auth/register",
            None,
            register("name", "Ada\u{7f}"),
            "name",
        ),
        post(
            "/auth/register",
            None,
            register("name", "Ada\u{85}"),
            "name",
        ),
        post(
            "/auth/register",
            None,
            register("name", "Ada\nLovelace"),
            "name",
        ),
        post(
            "/auth/login",
            None,
            json!({"email": "a\u{0}@example.com", "password": "a long enough password"}),
            "email",
        ),
        post(
            "/auth/refresh",
            None,
            json!({"refresh_token": "x\u{0}"}),
            "refresh_token",
        ),
        post(
            "/venues",
            Some(org_t),
            json!({"name": nul, "capacity": 10}),
            "name",
        ),
        post(
            "/venues",
            Some(org_t),
            json!({"name": "Hall", "address": "1 Quay\u{0}St", "capacity": 10}),
            "address",
        ),
        post(
            "/venues",
            Some(org_t),
            json!({"name": "Hall", "city": "Lyon\u{0}", "capacity": 10}),
            "city",
        ),
        post("/events", Some(org_t), event_body("name", nul), "name"),
        post(
            "/events",
            Some(org_t),
            event_body("description", "a\u{0}b"),
            "description",
        ),
        post(
            "/events",
            Some(org_t),
            event_body("category", "music\u{0}"),
            "category",
        ),
        post(
            "/events",
            Some(org_t),
            event_body("currency", "EU\u{0}"),
            "currency",
        ),
        post(
            "/events",
            Some(org_t),
            event_body("name", "Two\nlines"),
            "name",
        ),
        post(
            &format!("/bookings/{}/pay", Uuid::new_v4()),
            Some(user_t),
            json!({"payment_method": "tok_visa\u{0}"}),
            "payment_method",
        ),
        post(
            &format!("/events/{event}/checkin"),
            Some(org_t),
            json!({"qr_payload": "abc\u{0}"}),
            "qr_payload",
        ),
        post(
            "/me/push-subscriptions",
            Some(user_t),
            json!({"endpoint": "https://fcm.googleapis.com/fcm/send/\u{0}", "keys": keys}),
            "endpoint",
        ),
        post(
            "/me/push-subscriptions",
            Some(user_t),
            json!({"endpoint": "https://fcm.googleapis.com/fcm/send/x",
                   "keys": {"p256dh": keys["p256dh"], "auth": "\u{0}"}}),
            "keys.auth",
        ),
        get("/events?q=%00".into(), None, "q"),
        get("/events?q=a%0Ab".into(), None, "q"),
        get("/events?category=music%00".into(), None, "category"),
        get("/venues?cursor=%00".into(), None, "cursor"),
        get("/me/bookings?status=%00".into(), Some(user_t), "status"),
        get(
            "/me/notifications?unread=%00".into(),
            Some(user_t),
            "unread",
        ),
        get(
            "/admin/analytics/overview?from=%00".into(),
            Some(admin_t),
            "from",
        ),
        get(
            format!("/events/{event}/attendees?format=%7F"),
            Some(org_t),
            "format",
        ),
    ];
    for (field, value) in [("name", nul), ("address", "1 Quay\u{0}St")] {
        cases.push(Case {
            method: Method::PATCH,
            path: format!("/venues/{venue}"),
            token: Some(org_t),
            body: Some(one_field(field, value)),
            header: None,
            field: leak(field),
        });
    }
    for (field, value) in [
        ("name", nul),
        ("description", "x\u{0}"),
        ("category", "\u{0}"),
    ] {
        cases.push(Case {
            method: Method::PATCH,
            path: format!("/events/{event}"),
            token: Some(org_t),
            body: Some(one_field(field, value)),
            header: Some(("if-match", etag.clone())),
            field: leak(field),
        });
    }
    cases.push(Case {
        method: Method::PUT,
        path: format!("/admin/users/{}/role", user.id),
        token: Some(admin_t),
        body: Some(json!({"role": "admin\u{0}"})),
        header: None,
        field: "role",
    });

    let before = fingerprint(&app).await;
    for case in &cases {
        let what = format!("{} {} ({})", case.method, case.path, case.field);
        let res = send(&app, case).await;
        assert_eq!(res.status(), 422, "{what}");
        assert_eq!(
            res.headers()["content-type"],
            "application/problem+json",
            "{what}"
        );
        let problem: Value = res.json().await.expect("json");
        assert!(
            problem["errors"][case.field]
                .as_str()
                .is_some_and(|m| m.contains("control characters")),
            "{what}: {problem}"
        );
    }
    assert_eq!(fingerprint(&app).await, before, "nothing was stored");
    // Path parameters are ids or file names: a NUL there names nothing (never a 5xx; the web app
    // answers its deep-link fallback).
    for path in [
        "/api/v1/events/%00",
        "/api/v1/venues/a%00b",
        "/api/v1/bookings/%00/tickets",
        "/%00",
        "/events/%00",
        "/assets/%00.js",
    ] {
        let res = app
            .http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .expect("send");
        assert!(!res.status().is_server_error(), "{path}: {}", res.status());
    }
    app.shutdown().await;
}

#[tokio::test]
async fn multi_line_text_keeps_its_line_breaks_and_ordinary_text_is_untouched() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let res = app
        .post(
            "/venues",
            Some(&organizer.token),
            &json!({"name": "Zoë's «Hall» ⚡", "address": "1 Quay St\r\nDublin\t2", "capacity": 10}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let venue: Value = res.json().await.expect("json");
    assert_eq!(venue["address"], "1 Quay St\r\nDublin\t2");
    assert_eq!(venue["name"], "Zoë's «Hall» ⚡");
    let starts = chrono::Utc::now() + chrono::Duration::days(30);
    let res = app
        .post(
            "/events",
            Some(&organizer.token),
            &json!({
                "name": "Concert", "description": "Doors at 7pm.\n\nBring ID.", "venue_id": venue["id"],
                "category": "music", "starts_at": starts, "ends_at": starts + chrono::Duration::hours(3),
                "capacity": 5, "price_cents": 0, "currency": "EUR"
            }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let event: Value = res.json().await.expect("json");
    assert_eq!(event["description"], "Doors at 7pm.\n\nBring ID.");
    let res = app.get("/events?q=%C2%ABHall", None).await;
    assert_eq!(res.status(), 200);
    app.shutdown().await;
}
