//! `GET /me/live`: the caller's booking, waitlist and notification changes as they happen,
//! nobody else's.

use evently_tests::app::TestApp;
use evently_tests::flows::{book, cancel, id, join, sold_out};
use serde_json::{Value, json};

#[tokio::test]
async fn my_live_stream_shows_my_booking_and_waitlist_changes_only() {
    use futures::StreamExt;
    let app = TestApp::spawn().await;
    let (event, holders, bookings) = sold_out(&app, 1, 0).await;
    let user = app.register().await;
    let stranger = app.register().await;
    let res = app
        .http
        .get(app.url("/me/live"))
        .bearer_auth(&user.token)
        .send()
        .await
        .expect("sse");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    assert_eq!(app.get("/me/live", None).await.status(), 401);
    let mut stream = res.bytes_stream();
    let mut buffer = String::new();
    let mut next = async || -> (String, Value) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            if let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                let name = event.lines().find_map(|l| l.strip_prefix("event:"));
                let data = event.lines().find_map(|l| l.strip_prefix("data:"));
                if let (Some(name), Some(data)) = (name, data) {
                    return (
                        name.trim().to_owned(),
                        serde_json::from_str(data.trim()).expect("json"),
                    );
                }
                continue;
            }
            let chunk = tokio::time::timeout_at(deadline, stream.next())
                .await
                .expect("a live item in time")
                .expect("the stream stays open")
                .expect("chunk");
            buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    // A stranger's change is not mine.
    join(&app, &stranger, event, 1).await;
    let entry = id(&join(&app, &user, event, 1).await);
    let (kind, item) = next().await;
    assert_eq!(
        (kind.as_str(), &item["status"]),
        ("waitlist", &json!("waiting"))
    );
    assert_eq!(item["id"], entry.to_string());
    // The stranger is first in line: their offer is not mine either; my own booking is.
    cancel(&app, &holders[0], bookings[0]).await;
    let mine = book(
        &app,
        &user,
        app.create_event(&app.user_with_role("organizer").await, 5, 0)
            .await,
        1,
        false,
    )
    .await;
    let (kind, item) = next().await;
    assert_eq!((kind.as_str(), &item["id"]), ("booking", &mine["id"]));
    assert_eq!(item["status"], "confirmed");
    // The in-app notification of that confirmation follows on the same stream.
    loop {
        let (kind, item) = next().await;
        if kind == "notification" {
            assert_eq!(item["status"], "unread");
            assert_eq!(item["data"]["kind"], "booking_confirmed");
            assert_eq!(item["data"]["user_id"], user.id.to_string());
            break;
        }
    }
    app.shutdown().await;
}
