//! Events: editing with optimistic locking, capacity through the pipeline, sales windows, search.

use std::collections::HashSet;

use evently_tests::app::{TestApp, TestOptions, TestUser};
use serde_json::{Value, json};
use uuid::Uuid;

async fn etag(app: &TestApp, event: Uuid) -> String {
    let res = app.get(&format!("/events/{event}"), None).await;
    res.headers()["etag"].to_str().expect("etag").to_owned()
}

async fn patch(
    app: &TestApp,
    user: &TestUser,
    event: Uuid,
    if_match: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut req = app
        .http
        .patch(app.url(&format!("/events/{event}")))
        .bearer_auth(&user.token)
        .json(&body);
    if let Some(tag) = if_match {
        req = req.header("If-Match", tag);
    }
    req.send().await.expect("PATCH")
}

#[tokio::test]
async fn edits_need_if_match_and_a_stale_one_is_refused() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 0).await;

    assert_eq!(
        patch(&app, &organizer, event, None, json!({"name": "Renamed"}))
            .await
            .status(),
        428
    );
    let tag = etag(&app, event).await;
    // Two editors read the same version; both write: one wins, the other is told.
    let (a, b) = tokio::join!(
        patch(
            &app,
            &organizer,
            event,
            Some(&tag),
            json!({"name": "First"})
        ),
        patch(
            &app,
            &organizer,
            event,
            Some(&tag),
            json!({"description": "Second"})
        )
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 412]);
    let shown: Value = app
        .get(&format!("/events/{event}"), None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(shown["version"], 2);
    assert_ne!(etag(&app, event).await, tag);
    assert_eq!(
        patch(&app, &organizer, event, Some(&tag), json!({"name": "Late"}))
            .await
            .status(),
        412
    );

    // Only its organizer (or an admin) edits it.
    let other = app.user_with_role("organizer").await;
    let tag = etag(&app, event).await;
    assert_eq!(
        patch(&app, &other, event, Some(&tag), json!({"name": "Mine now"}))
            .await
            .status(),
        403
    );
    let attendee = app.register().await;
    assert_eq!(
        patch(
            &app,
            &attendee,
            event,
            Some(&tag),
            json!({"name": "Mine now"})
        )
        .await
        .status(),
        403
    );
    let admin = app.user_with_role("admin").await;
    assert_eq!(
        patch(&app, &admin, event, Some(&tag), json!({"name": "By admin"}))
            .await
            .status(),
        200
    );
    app.shutdown().await;
}

#[tokio::test]
async fn an_invalid_edit_names_each_bad_field() {
    let app = TestApp::spawn_with(TestOptions {
        consumers: false,
        ..Default::default()
    })
    .await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 0).await;
    let tag = etag(&app, event).await;
    let res = patch(
        &app,
        &organizer,
        event,
        Some(&tag),
        json!({"ends_at": "2001-01-01T00:00:00Z", "category": "knitting", "price_cents": -1, "max_per_booking": 0}),
    )
    .await;
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.expect("json");
    for field in ["ends_at", "category", "price_cents", "max_per_booking"] {
        assert!(problem["errors"][field].is_string(), "{field}: {problem}");
    }
    let res = patch(
        &app,
        &organizer,
        event,
        Some(&tag),
        json!({"currency": "USD"}),
    )
    .await;
    assert_eq!(res.status(), 422, "the currency does not change");
    app.shutdown().await;
}

#[tokio::test]
async fn capacity_cannot_drop_below_what_is_sold_and_raising_it_frees_seats() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 3, 0).await;
    // A bigger venue, so that capacity can grow.
    sqlx::query(
        "UPDATE venues SET capacity = 100 WHERE id = (SELECT venue_id FROM events WHERE id = $1)",
    )
    .bind(event)
    .execute(&app.pool)
    .await
    .expect("venue");
    let users = app.bulk_users(4).await;
    for u in &users[..3] {
        assert_eq!(app.book(u, event, 1, None).await.status(), 201);
    }
    let sold_out: Value = app
        .book(&users[3], event, 1, None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(sold_out["reason"], "sold_out");

    let tag = etag(&app, event).await;
    let res = patch(&app, &organizer, event, Some(&tag), json!({"capacity": 2})).await;
    assert_eq!(res.status(), 409);
    assert_eq!(app.seats(event).await, (3, 0, 3), "nothing changed");

    let res = patch(
        &app,
        &organizer,
        event,
        Some(&tag),
        json!({"capacity": 5, "name": "Bigger"}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["capacity"], 5);
    assert_eq!(body["name"], "Bigger");
    assert_eq!(body["availability"]["available"], 2);
    let now_free: Value = app
        .book(&users[3], event, 1, Some("again"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(now_free["status"], "confirmed");
    // The capacity change came through the stream like bookings: its stale replay is refused.
    assert_eq!(
        patch(&app, &organizer, event, Some(&tag), json!({"capacity": 6}))
            .await
            .status(),
        412
    );
    app.shutdown().await;
}

#[tokio::test]
async fn bookings_outside_the_sales_window_are_refused_with_a_reason() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 0).await;
    let tag = etag(&app, event).await;
    let opens = chrono::Utc::now() + chrono::Duration::days(1);
    assert_eq!(
        patch(
            &app,
            &organizer,
            event,
            Some(&tag),
            json!({"sales_start": opens})
        )
        .await
        .status(),
        200
    );
    let user = app.register().await;
    let res = app.book(&user, event, 1, None).await;
    assert_eq!(res.status(), 409);
    let problem: Value = res.json().await.expect("json");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("not opened"),
        "{problem}"
    );
    assert_eq!(app.seats(event).await.0, 0);
    app.shutdown().await;
}

#[tokio::test]
async fn search_finds_by_word_and_filter_and_pages_return_each_event_once() {
    let app = TestApp::spawn_with(TestOptions {
        consumers: false,
        ..Default::default()
    })
    .await;
    let organizer = app.user_with_role("organizer").await;
    let mut jazz = HashSet::new();
    for i in 0..7 {
        let event = app.create_event(&organizer, 10, 1000 * i).await;
        if i % 2 == 0 {
            let tag = etag(&app, event).await;
            let res = patch(
                &app,
                &organizer,
                event,
                Some(&tag),
                json!({"name": format!("Jazz night {i}"), "category": "festival"}),
            )
            .await;
            assert_eq!(res.status(), 200);
            jazz.insert(event.to_string());
        }
    }
    let found: Value = app
        .get("/events?q=jazz", None)
        .await
        .json()
        .await
        .expect("json");
    let ids: HashSet<String> = found["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(ids, jazz);
    let cheap: Value = app
        .get("/events?q=jazz&max_price=2000&category=festival", None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        cheap["items"].as_array().map(Vec::len),
        Some(2),
        "Jazz 0 and Jazz 2"
    );

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/events?limit=3&cursor={c}"),
            None => "/events?limit=3".to_owned(),
        };
        let page: Value = app.get(&path, None).await.json().await.expect("json");
        seen.extend(
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|e| e["id"].as_str().unwrap_or_default().to_owned()),
        );
        // An event created while paging must not shift what comes next.
        if cursor.is_none() {
            app.create_event(&organizer, 5, 0).await;
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no event twice");
    assert_eq!(
        seen.len(),
        8,
        "every event, the one created while paging included"
    );
    app.shutdown().await;
}

/// Reads Server-Sent Events until one satisfies `done`, or the deadline passes.
async fn next_availability(
    stream: &mut (impl futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    buffer: &mut String,
    done: impl Fn(&Value) -> bool,
) -> Value {
    use futures::StreamExt;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data:")) {
                let value: Value = serde_json::from_str(data.trim()).expect("availability json");
                if done(&value) {
                    return value;
                }
            }
        }
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("an availability update in time")
            .expect("the stream stays open")
            .expect("chunk");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn a_live_stream_sees_availability_drop_as_seats_are_booked() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 0).await;
    let res = app
        .http
        .get(app.url(&format!("/events/{event}/live")))
        .send()
        .await
        .expect("sse");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut stream = res.bytes_stream();
    let mut buffer = String::new();
    let first = next_availability(&mut stream, &mut buffer, |_| true).await;
    assert_eq!(first["available"], 10);

    let user = app.register().await;
    assert_eq!(app.book(&user, event, 3, None).await.status(), 201);
    let after = next_availability(&mut stream, &mut buffer, |v| v["available"] != 10).await;
    assert_eq!(after["available"], 7);
    assert_eq!(after["sold"], 3);
    app.shutdown().await;
}
