//! The attendee list (JSON pages and CSV) holds exactly an event's confirmed holders; only the
//! event's organizer and admins see it and the event's analytics; bad ranges are named.

use std::collections::BTreeSet;

use evently_tests::app::TestApp;
use serde_json::Value;
use uuid::Uuid;

use crate::analytics::{book_and_decide, cancel};

#[tokio::test]
async fn the_attendee_list_holds_exactly_the_confirmed_holders_as_json_pages_and_as_csv() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 6, 1000).await;
    let users = app.bulk_users(5).await;
    let awkward = [
        "Ann, \"the\" first",
        "Bob\nNewline",
        "=SUM(A1)",
        "Zoë",
        "Plain",
    ];
    for (user, name) in users.iter().zip(awkward) {
        sqlx::query("UPDATE users SET name = $2 WHERE id = $1")
            .bind(user.id)
            .bind(name)
            .execute(&app.pool)
            .await
            .expect("name");
    }
    let mut expected = BTreeSet::new();
    for (i, user) in users.iter().enumerate() {
        let booking = book_and_decide(&app, user, event, 2).await;
        let id = booking["id"].as_str().expect("id").to_owned();
        match (i, booking["status"].as_str()) {
            (0, Some("confirmed")) => cancel(&app, user, &id).await,
            (_, Some("confirmed")) => {
                expected.insert((id, awkward[i].to_owned(), user.email.clone(), 2));
            }
            (_, Some("rejected")) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        expected.len(),
        3,
        "one cancelled, three confirmed, one sold out"
    );

    let mut listed = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = cursor
            .as_ref()
            .map(|c| format!("&cursor={c}"))
            .unwrap_or_default();
        let page: Value = app
            .get(
                &format!("/events/{event}/attendees?limit=2{query}"),
                Some(&organizer.token),
            )
            .await
            .json()
            .await
            .expect("json");
        for a in page["items"].as_array().expect("items") {
            listed.insert((
                a["booking_id"].as_str().expect("id").to_owned(),
                a["name"].as_str().expect("name").to_owned(),
                a["email"].as_str().expect("email").to_owned(),
                a["quantity"].as_i64().expect("quantity"),
            ));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(listed, expected);

    for (path, accept) in [("?format=csv", "application/json"), ("", "text/csv")] {
        let res = app
            .http
            .get(app.url(&format!("/events/{event}/attendees{path}")))
            .bearer_auth(&organizer.token)
            .header("Accept", accept)
            .send()
            .await
            .expect("GET csv");
        assert_eq!(res.status(), 200);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap_or("")
                .starts_with("text/csv")
        );
        let text = res.text().await.expect("body");
        // A name a spreadsheet would run as a formula is exported with a leading quote.
        assert!(text.contains("'=SUM(A1)"), "{text}");
        let text = text.replace("'=SUM(A1)", "=SUM(A1)");
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers = reader.headers().expect("headers").clone();
        assert_eq!(&headers[0], "booking_id");
        let rows: BTreeSet<_> = reader
            .records()
            .map(|r| {
                let r = r.expect("a CSV record");
                (
                    r[0].to_owned(),
                    r[2].to_owned(),
                    r[3].to_owned(),
                    r[4].parse::<i64>().expect("qty"),
                )
            })
            .collect();
        assert_eq!(rows, expected, "{text}");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn only_the_events_organizer_and_admins_see_its_analytics_and_bad_ranges_are_named() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let other = app.user_with_role("organizer").await;
    let admin = app.user_with_role("admin").await;
    let attendee = app.register().await;
    let event = app.create_event(&organizer, 5, 0).await;
    for path in [
        format!("/events/{event}/analytics"),
        format!("/events/{event}/attendees"),
    ] {
        assert_eq!(app.get(&path, None).await.status(), 401);
        assert_eq!(app.get(&path, Some(&attendee.token)).await.status(), 403);
        assert_eq!(app.get(&path, Some(&other.token)).await.status(), 403);
        assert_eq!(app.get(&path, Some(&organizer.token)).await.status(), 200);
        assert_eq!(app.get(&path, Some(&admin.token)).await.status(), 200);
    }
    let unknown = Uuid::now_v7();
    let res = app
        .get(&format!("/events/{unknown}/analytics"), Some(&admin.token))
        .await;
    assert_eq!(res.status(), 404);
    let overview = "/admin/analytics/overview";
    assert_eq!(
        app.get(overview, Some(&organizer.token)).await.status(),
        403
    );
    assert_eq!(app.get(overview, Some(&attendee.token)).await.status(), 403);
    for (query, field) in [
        ("?from=yesterday", "from"),
        ("?to=2026-13-01", "to"),
        ("?from=2026-02-01&to=2026-01-01", "from"),
    ] {
        let res = app
            .get(&format!("{overview}{query}"), Some(&admin.token))
            .await;
        assert_eq!(res.status(), 422, "{query}");
        let problem: Value = res.json().await.expect("json");
        assert!(problem["errors"][field].is_string(), "{problem}");
    }
    let ok = app
        .get(
            &format!("{overview}?from=2026-01-01&to=2026-01-01T12:00:00Z"),
            Some(&admin.token),
        )
        .await;
    assert_eq!(ok.status(), 200);
    let res = app
        .get(
            &format!("/events/{event}/attendees?format=xml"),
            Some(&organizer.token),
        )
        .await;
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.expect("json");
    assert!(problem["errors"]["format"].is_string(), "{problem}");
    app.shutdown().await;
}
