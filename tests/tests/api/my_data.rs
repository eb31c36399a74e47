//! People's data: a user downloads everything held about them, and only about them; a user
//! deletes their account: shredded, signed out, upcoming seats freed (to the waitlist) and
//! refunded, while the bookings and the money stay as anonymised accounting records.

use evently_tests::flows::{book, id, join, net_paid, pay, wait_booking, wait_entry};
use evently_tests::smtp_sink::SmtpSink;
use serde_json::{Value, json};

use super::notifications::drained;
use super::tickets::{confirmed_booking, tickets_of};

async fn delete_account(
    app: &evently_tests::app::TestApp,
    token: &str,
    password: &str,
) -> reqwest::Response {
    app.http
        .delete(app.url("/me"))
        .bearer_auth(token)
        .json(&json!({"password": password}))
        .send()
        .await
        .expect("delete")
}

#[tokio::test]
async fn a_user_downloads_everything_held_about_them_and_nothing_about_anyone_else() {
    let app = super::notifications::spawn(
        &evently_tests::smtp_sink::SmtpSink::start()
            .await
            .expect("sink"),
    )
    .await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 0).await;
    let user = app.register().await;
    let other = app.register().await;
    let booking = confirmed_booking(&app, &user, event, 2).await;
    let tickets = tickets_of(&app, &user, booking, 2).await;
    let theirs = confirmed_booking(&app, &other, event, 1).await;
    app.eventually(
        "the confirmation is in the user's notifications",
        || async {
            let list: Value = app
                .get("/me/notifications", Some(&user.token))
                .await
                .json()
                .await
                .unwrap_or_default();
            list.to_string().contains(&booking.to_string())
        },
    )
    .await;

    let res = app.get("/me/export", Some(&user.token)).await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .expect("header")
            .starts_with("attachment; filename=\"evently-data-"),
    );
    assert_eq!(res.headers()["cache-control"], "no-store");
    let export: Value = res.json().await.expect("json");
    let text = export.to_string();
    assert_eq!(
        export["account"]["email"].as_str().map(str::to_lowercase),
        Some(user.email.to_lowercase())
    );
    let bookings = export["bookings"].as_array().expect("bookings");
    assert_eq!(bookings.len(), 1);
    assert_eq!(bookings[0]["id"], booking.to_string());
    let exported_tickets = export["tickets"].as_array().expect("tickets");
    assert_eq!(exported_tickets.len(), 2);
    for ticket in &tickets {
        assert!(text.contains(ticket["ticket_number"].as_str().expect("number")));
    }
    assert!(
        !export["notifications"]
            .as_array()
            .expect("notifications")
            .is_empty()
    );
    assert!(
        !export["notification_deliveries"]
            .as_array()
            .expect("deliveries")
            .is_empty()
    );
    assert!(!export["sessions"].as_array().expect("sessions").is_empty());
    for kind in [
        "payments",
        "refunds",
        "waitlist_entries",
        "push_subscriptions",
        "failed_logins",
        "organised_events",
    ] {
        assert!(export[kind].is_array(), "{kind} is a list");
    }
    // No secret and nobody else's data.
    for secret in [
        "password_hash",
        "token_hash",
        "p256dh",
        "\"auth\"",
        "checked_in_by",
    ] {
        assert!(!text.contains(secret), "the export shows {secret}");
    }
    assert!(
        !text.contains(&theirs.to_string()),
        "another user's booking"
    );
    assert!(
        !text.to_lowercase().contains(&other.email.to_lowercase()),
        "another user's email"
    );

    let organised: Value = app
        .get("/me/export", Some(&organizer.token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(organised["organised_events"][0]["id"], event.to_string());
    assert_eq!(organised["bookings"].as_array().map(Vec::len), Some(0));
    assert_eq!(app.get("/me/export", None).await.status(), 401);
    app.shutdown().await;
}

#[tokio::test]
async fn a_deleted_account_is_shredded_its_upcoming_seats_go_to_the_waitlist_and_are_refunded() {
    let sink = SmtpSink::start().await.expect("sink");
    let app = super::notifications::spawn(&sink).await;
    let organizer = app.user_with_role("organizer").await;
    let free = app.create_event(&organizer, 2, 0).await;
    let paid = app.create_event(&organizer, 3, 4000).await;
    let user = app.register().await;
    let waiter = app.register().await;
    // The user holds both seats of the free event, someone waits for one; and a paid seat.
    let seats = confirmed_booking(&app, &user, free, 2).await;
    let entry = id(&join(&app, &waiter, free, 1).await);
    let bought = id(&book(&app, &user, paid, 1, false).await);
    assert_eq!(pay(&app, &user, bought, "tok_visa").await.status(), 200);
    wait_booking(&app, bought, "confirmed").await;
    drained(&app).await;
    let mails_before = sink.messages_to(&user.email).len();
    assert!(mails_before > 0);

    // The password again, or nothing happens; an organiser of an event not yet over is refused.
    let res = delete_account(&app, &user.token, "not-the-password").await;
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.expect("json");
    assert!(problem["errors"]["password"].is_string(), "{problem}");
    let res = delete_account(&app, &organizer.token, &organizer.password).await;
    assert_eq!(res.status(), 409);
    let res = app
        .http
        .delete(app.url("/me"))
        .bearer_auth(&user.token)
        .send()
        .await
        .expect("delete");
    assert_eq!(res.status(), 400, "a body is required");

    let res = delete_account(&app, &user.token, &user.password).await;
    assert_eq!(res.status(), 204);

    // Seats back through the pipeline: the waiter gets the offer; the paid seat is refunded.
    wait_booking(&app, seats, "cancelled").await;
    wait_entry(&app, entry, "offered").await;
    wait_booking(&app, bought, "cancelled").await;
    app.eventually("the provider made the refund", || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM refunds WHERE booking_id = $1 AND refunded_at IS NOT NULL",
        )
        .bind(bought)
        .fetch_one(&app.pool)
        .await
        .is_ok_and(|n| n == 1)
    })
    .await;
    assert_eq!(net_paid(&app, bought).await, 0);

    // Shredded and signed out; the rows that make the accounting add up stay.
    let (name, email, deleted): (String, String, bool) =
        sqlx::query_as("SELECT name, email, deleted_at IS NOT NULL FROM users WHERE id = $1")
            .bind(user.id)
            .fetch_one(&app.pool)
            .await
            .expect("user row");
    assert!(deleted);
    assert_eq!(name, "Deleted account");
    assert!(!email.to_lowercase().contains(&user.email.to_lowercase()));
    for table in [
        "refresh_tokens",
        "push_subscriptions",
        "notifications",
        "notification_deliveries",
        "notification_preferences",
    ] {
        let left: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {table} WHERE user_id = $1"
        )))
        .bind(user.id)
        .fetch_one(&app.pool)
        .await
        .expect("count");
        assert_eq!(left, 0, "{table} still holds the deleted account's rows");
    }
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM bookings WHERE user_id = $1")
        .bind(user.id)
        .fetch_one(&app.pool)
        .await
        .expect("bookings");
    assert_eq!(kept, 2, "bookings stay as anonymised accounting records");
    let login = app
        .post(
            "/auth/login",
            None,
            &json!({"email": user.email, "password": user.password}),
        )
        .await;
    assert_eq!(login.status(), 401);
    assert_eq!(
        delete_account(&app, &user.token, &user.password)
            .await
            .status(),
        404
    );

    // Nobody tells the old address about the cancellations, and the attendee lists leave the
    // account out.
    drained(&app).await;
    assert_eq!(sink.messages_to(&user.email).len(), mails_before);
    let outbox: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&app.pool)
        .await
        .expect("outbox");
    assert_eq!(outbox, 0, "every outbox row was published");
    for event in [free, paid] {
        let list: Value = app
            .get(
                &format!("/events/{event}/attendees"),
                Some(&organizer.token),
            )
            .await
            .json()
            .await
            .expect("json");
        assert!(!list.to_string().contains(&user.id.to_string()), "{list}");
    }
    app.shutdown().await;
}
