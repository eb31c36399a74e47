//! Notifications: in-app rows, email to a real local SMTP receiver, Web Push to a local push
//! service that verifies the VAPID signature and decrypts the payload; each once per domain event,
//! recipient and channel, whatever the redeliveries.

use std::time::{Duration, Instant};

use evently_runtime::notify_settings::{NotificationSettings, SmtpTls};
use evently_tests::app::{TestApp, TestOptions, TestUser};
use evently_tests::push_service::{PushService, SubscriberKeys};

use super::web_push::subscribe;
use evently_tests::smtp_sink::{Mode, SmtpSink};
use mail_parser::{MessageParser, MimeHeaders};
use serde_json::{Value, json};
use uuid::Uuid;

pub(crate) fn settings(sink: &SmtpSink) -> NotificationSettings {
    NotificationSettings {
        smtp_host: Some("127.0.0.1".into()),
        smtp_port: Some(sink.port),
        smtp_tls: SmtpTls::None,
        smtp_timeout_secs: 5,
        vapid_private_key: Some(evently_runtime::vapid::generate()),
        vapid_subject: "mailto:ops@evently.test".into(),
        push_allow_loopback: true,
        ..Default::default()
    }
}

pub(crate) async fn spawn(sink: &SmtpSink) -> TestApp {
    TestApp::spawn_with(TestOptions {
        notifications: Some(settings(sink)),
        ..Default::default()
    })
    .await
}

/// Books one seat of a free event (confirmed at once); returns the booking id.
pub(crate) async fn book_confirmed(app: &TestApp, user: &TestUser, event: Uuid) -> Uuid {
    let res = app.book(user, event, 1, None).await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["status"], "confirmed");
    body["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id")
}

/// Waits until the notifications consumer has nothing pending or unacknowledged.
pub(crate) async fn drained(app: &TestApp) {
    let js = evently_runtime::nats::jetstream(app.nats_client());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut consumer: async_nats::jetstream::consumer::PullConsumer = js
            .get_stream(app.prefix.evt_stream())
            .await
            .expect("stream")
            .get_consumer("notifications")
            .await
            .expect("consumer");
        let info = consumer.info().await.expect("info");
        if info.num_pending == 0 && info.num_ack_pending == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "notifications did not drain: {info:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) async fn notifications(app: &TestApp, user: &TestUser, query: &str) -> Vec<Value> {
    let res = app
        .get(&format!("/me/notifications{query}"), Some(&user.token))
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    body["items"].as_array().cloned().unwrap_or_default()
}

pub(crate) async fn delivery_status(
    app: &TestApp,
    user: &TestUser,
    channel: &str,
) -> Option<(String, i32)> {
    sqlx::query_as(
        "SELECT status, attempts FROM notification_deliveries WHERE user_id = $1 AND channel = $2",
    )
    .bind(user.id)
    .bind(channel)
    .fetch_optional(&app.pool)
    .await
    .expect("delivery")
}

#[tokio::test]
async fn a_confirmed_booking_is_emailed_with_text_and_html_parts_and_listed_in_app() {
    let sink = SmtpSink::start().await.expect("sink");
    let app = spawn(&sink).await;
    let organizer = app.user_with_role("organizer").await;
    let user = app.register().await;
    let event = app.create_event(&organizer, 10, 0).await;
    let booking = book_confirmed(&app, &user, event).await;

    app.eventually("the email arrives", || async {
        sink.messages_to(&user.email).len() == 1
    })
    .await;
    let raw = sink.messages_to(&user.email).remove(0).data;
    let mail = MessageParser::default().parse(&raw).expect("parses");
    // The confirmation email goes out when the tickets exist, with the ticket's PDF attached.
    assert!(
        mail.subject()
            .is_some_and(|s| s.contains("Your tickets for Concert")),
        "{:?}",
        mail.subject()
    );
    let number: String =
        sqlx::query_scalar("SELECT ticket_number FROM tickets WHERE booking_id = $1")
            .bind(booking)
            .fetch_one(&app.pool)
            .await
            .expect("the ticket");
    let text = mail.body_text(0).expect("a text part");
    assert!(text.contains(&booking.to_string()), "{text}");
    assert!(text.contains(&number), "{text}");
    assert!(mail.body_html(0).is_some_and(|h| h.contains("Concert")));
    let pdfs: Vec<_> = mail
        .attachments()
        .filter(|a| {
            a.content_type()
                .is_some_and(|c| c.c_subtype.as_deref() == Some("pdf"))
        })
        .collect();
    assert_eq!(pdfs.len(), 1, "one PDF per ticket");
    assert!(pdfs[0].contents().starts_with(b"%PDF"));
    assert!(
        pdfs[0]
            .attachment_name()
            .is_some_and(|n| n.contains(&number)),
        "{:?}",
        pdfs[0].attachment_name()
    );
    assert!(mail.message_id().is_some_and(|id| id.ends_with("@evently")));
    assert!(
        mail.from()
            .and_then(|f| f.first())
            .and_then(|a| a.address())
            .is_some_and(|a| a == "no-reply@evently.local")
    );

    app.eventually("the in-app notification", || async {
        notifications(&app, &user, "?unread=true").await.len() == 1
    })
    .await;
    let listed = notifications(&app, &user, "").await;
    assert_eq!(listed[0]["kind"], "booking_confirmed");
    assert_eq!(listed[0]["data"]["booking"]["id"], booking.to_string());
    let id = listed[0]["id"].as_str().expect("id").to_owned();

    let stranger = app.register().await;
    assert!(notifications(&app, &stranger, "").await.is_empty());
    let res = app
        .post(
            &format!("/me/notifications/{id}/read"),
            Some(&stranger.token),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 404);
    let res = app
        .post(
            &format!("/me/notifications/{id}/read"),
            Some(&user.token),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(notifications(&app, &user, "?unread=true").await.is_empty());
    assert_eq!(notifications(&app, &user, "").await.len(), 1);
    app.shutdown().await;
}

/// The SMTP server away: the consumer holds the emails instead of spending their deliveries (20,
/// backoff doubling to a minute: about 13 minutes in production), so an outage of any length
/// dead-letters none, and each is sent once when the server is back.
#[tokio::test]
async fn an_smtp_server_away_holds_the_emails_and_sends_each_once_when_it_is_back() {
    let sink = SmtpSink::start().await.expect("sink");
    let app = spawn(&sink).await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 50, 0).await;
    let mut users = Vec::new();
    for _ in 0..8 {
        users.push(app.register().await);
    }
    sink.set_mode(Mode::RefuseConnections);
    for user in &users {
        book_confirmed(&app, user, event).await;
    }
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(
        sink.count(),
        0,
        "nothing got through while the server was away"
    );
    // Held, not retried: naked with backoff from 100 ms, each email would have been tried about
    // eight times by now (and a real outage of half an hour would exhaust `max_deliver`).
    // (A message held before its email was first tried has no ledger row yet.)
    for user in &users {
        let ledger = delivery_status(&app, user, "email").await;
        let attempts = ledger.as_ref().map_or(0, |(_, n)| *n);
        assert!(ledger.is_none_or(|(status, _)| status == "pending"));
        assert!(
            attempts <= 2,
            "{} tried {attempts} times during the outage",
            user.email
        );
    }
    sink.set_mode(Mode::Accept);
    app.eventually("every attendee's email is sent", || async {
        users.iter().all(|u| !sink.messages_to(&u.email).is_empty())
    })
    .await;
    drained(&app).await;
    for user in &users {
        let mut subjects: Vec<String> = sink
            .messages_to(&user.email)
            .iter()
            .map(|m| {
                MessageParser::default()
                    .parse(&m.data)
                    .and_then(|p| p.subject().map(str::to_owned))
                    .unwrap_or_default()
            })
            .collect();
        let all = subjects.len();
        subjects.sort();
        subjects.dedup();
        assert_eq!(subjects.len(), all, "an email sent twice to {}", user.email);
    }
    let dead = app.dead_letters().await;
    assert_eq!(dead, 0, "an SMTP outage dead-letters nothing");
    app.shutdown().await;
}

#[tokio::test]
async fn an_smtp_outage_then_recovery_delivers_the_email_exactly_once() {
    let sink = SmtpSink::start().await.expect("sink");
    let app = spawn(&sink).await;
    let organizer = app.user_with_role("organizer").await;
    let user = app.register().await;
    let event = app.create_event(&organizer, 10, 0).await;
    sink.set_mode(Mode::Tempfail);
    book_confirmed(&app, &user, event).await;

    app.eventually("two refused attempts", || async {
        delivery_status(&app, &user, "email")
            .await
            .is_some_and(|(s, n)| s == "pending" && n >= 2)
    })
    .await;
    sink.set_mode(Mode::RefuseConnections);
    let refused = sink.refused();
    app.eventually("a refused connection", || async {
        sink.refused() > refused
    })
    .await;
    assert_eq!(sink.count(), 0);
    // The in-app row was written once, before the outage, and is not written again.
    assert_eq!(notifications(&app, &user, "").await.len(), 1);

    sink.set_mode(Mode::Accept);
    app.eventually("the email is sent", || async {
        delivery_status(&app, &user, "email")
            .await
            .is_some_and(|(s, _)| s == "sent")
    })
    .await;
    drained(&app).await;
    assert_eq!(sink.messages_to(&user.email).len(), 1);
    assert_eq!(notifications(&app, &user, "").await.len(), 1);
    app.shutdown().await;
}

#[tokio::test]
async fn a_permanent_smtp_refusal_is_recorded_as_failed_and_not_retried() {
    let sink = SmtpSink::start().await.expect("sink");
    let app = spawn(&sink).await;
    let organizer = app.user_with_role("organizer").await;
    let user = app.register().await;
    let event = app.create_event(&organizer, 10, 0).await;
    sink.set_mode(Mode::Reject);
    book_confirmed(&app, &user, event).await;
    app.eventually("the email failed", || async {
        delivery_status(&app, &user, "email")
            .await
            .is_some_and(|(s, _)| s == "failed")
    })
    .await;
    drained(&app).await;
    assert_eq!(
        delivery_status(&app, &user, "email").await,
        Some(("failed".into(), 1))
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_republished_domain_event_sends_no_second_email_or_push() {
    let sink = SmtpSink::start().await.expect("sink");
    let push = PushService::start().await.expect("push service");
    let app = spawn(&sink).await;
    let organizer = app.user_with_role("organizer").await;
    let user = app.register().await;
    subscribe(
        &app,
        &user,
        &push.endpoint("r"),
        &SubscriberKeys::generate(),
    )
    .await;
    let event = app.create_event(&organizer, 10, 0).await;
    book_confirmed(&app, &user, event).await;
    app.eventually("email and push", || async {
        sink.count() == 1 && push.count() == 1
    })
    .await;
    drained(&app).await;

    republish_confirmation(&app, event).await;
    drained(&app).await;
    assert_eq!(sink.count(), 1);
    assert_eq!(push.count(), 1);
    assert_eq!(notifications(&app, &user, "").await.len(), 1);
    app.shutdown().await;
}

#[tokio::test]
async fn copies_of_one_domain_event_in_one_batch_are_told_once() {
    let sink = SmtpSink::start().await.expect("sink");
    let push = PushService::start().await.expect("push service");
    let mut app = spawn(&sink).await;
    let organizer = app.user_with_role("organizer").await;
    let user = app.register().await;
    subscribe(
        &app,
        &user,
        &push.endpoint("b"),
        &SubscriberKeys::generate(),
    )
    .await;
    let event = app.create_event(&organizer, 10, 0).await;
    book_confirmed(&app, &user, event).await;
    app.eventually("the confirmation's push", || async { push.count() == 1 })
        .await;
    drained(&app).await;
    // With the consumers stopped, five copies of a domain event never told before (the booking's
    // confirmation, re-dressed as a hold) wait in the stream under five message ids: the next
    // batch holds them all.
    app.stop_consumers().await;
    let js = evently_runtime::nats::jetstream(app.nats_client());
    let confirmed = app
        .prefix
        .booking_event(evently_schemas::BookingStatus::Confirmed, event);
    let original = js
        .get_stream(app.prefix.evt_stream())
        .await
        .expect("stream")
        .get_last_raw_message_by_subject(&confirmed)
        .await
        .expect("the confirmation");
    let mut held: Value = serde_json::from_slice(&original.payload).expect("json");
    held["booking"]["status"] = json!("held");
    held["booking"]["hold_expires_at"] = json!("2100-01-01T00:00:00Z");
    for copy in 0..5 {
        js.send_publish(
            app.prefix
                .booking_event(evently_schemas::BookingStatus::Held, event),
            async_nats::jetstream::message::PublishMessage::build()
                .payload(serde_json::to_vec(&held).expect("json").into())
                .message_id(format!("copy-{copy}-{}", Uuid::new_v4())),
        )
        .await
        .expect("publish")
        .await
        .expect("ack");
    }
    app.start_consumers();
    drained(&app).await;
    assert_eq!(
        push.count(),
        2,
        "one push for the confirmation, one for the hold"
    );
    let listed = notifications(&app, &user, "").await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let rows: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM notification_deliveries WHERE user_id = $1 AND source_id LIKE '%.held'",
    )
    .bind(user.id)
    .fetch_one(&app.pool)
    .await
    .expect("count");
    assert_eq!(
        rows, 3,
        "one in-app, one email and one push delivery for the hold"
    );
    assert_eq!(sink.count(), 2, "the tickets' email and the hold's");
    app.shutdown().await;
}

/// Publishes the event's last confirmation again, under a message id the duplicate window has
/// never seen.
/// Publishes a copy of the booking's confirmation and of its tickets' event (the confirmation
/// email's source) under new message ids: a redelivery the duplicate window cannot catch.
pub(crate) async fn republish_confirmation(app: &TestApp, event: Uuid) {
    republish(
        app,
        app.prefix
            .booking_event(evently_schemas::BookingStatus::Confirmed, event),
    )
    .await;
    republish(app, app.prefix.ticket_issued(event)).await;
}

async fn republish(app: &TestApp, subject: String) {
    let js = evently_runtime::nats::jetstream(app.nats_client());
    let original = js
        .get_stream(app.prefix.evt_stream())
        .await
        .expect("stream")
        .get_last_raw_message_by_subject(&subject)
        .await
        .expect("the confirmation");
    let ack = js
        .send_publish(
            subject,
            async_nats::jetstream::message::PublishMessage::build()
                .payload(original.payload.clone())
                .message_id(format!("replay-{}", Uuid::new_v4())),
        )
        .await
        .expect("publish")
        .await
        .expect("ack");
    assert!(!ack.duplicate);
}

#[tokio::test]
async fn a_crash_between_send_and_record_resends_with_the_same_message_id() {
    let sink = SmtpSink::start().await.expect("sink");
    let app = spawn(&sink).await;
    let organizer = app.user_with_role("organizer").await;
    let user = app.register().await;
    let event = app.create_event(&organizer, 10, 0).await;
    book_confirmed(&app, &user, event).await;
    app.eventually("the email", || async { sink.count() == 1 })
        .await;
    drained(&app).await;
    // As if the process died after the SMTP server took the email, before the ledger said `sent`.
    sqlx::query("UPDATE notification_deliveries SET status = 'pending', claimed_until = NULL WHERE user_id = $1 AND channel = 'email'")
        .bind(user.id)
        .execute(&app.pool)
        .await
        .expect("rewind");
    republish_confirmation(&app, event).await;
    app.eventually("the re-send", || async { sink.count() == 2 })
        .await;
    drained(&app).await;
    let ids: Vec<String> = sink
        .messages()
        .iter()
        .map(|m| {
            MessageParser::default()
                .parse(&m.data)
                .and_then(|p| p.message_id().map(str::to_owned))
                .expect("message id")
        })
        .collect();
    assert_eq!(
        ids[0], ids[1],
        "the receiver can drop the copy by its Message-ID"
    );
    assert_eq!(
        delivery_status(&app, &user, "email").await,
        Some(("sent".into(), 2))
    );
    assert_eq!(notifications(&app, &user, "").await.len(), 1);
    app.shutdown().await;
}

#[tokio::test]
async fn a_user_who_turned_email_off_gets_no_email() {
    let sink = SmtpSink::start().await.expect("sink");
    let app = spawn(&sink).await;
    let organizer = app.user_with_role("organizer").await;
    let quiet = app.register().await;
    let other = app.register().await;
    let res = app
        .http
        .put(app.url("/me/notification-preferences"))
        .bearer_auth(&quiet.token)
        .json(&json!({"email": false, "push": true, "in_app": true}))
        .send()
        .await
        .expect("PUT");
    assert_eq!(res.status(), 200);
    let prefs: Value = app
        .get("/me/notification-preferences", Some(&quiet.token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(prefs, json!({"email": false, "push": true, "in_app": true}));
    let event = app.create_event(&organizer, 10, 0).await;
    book_confirmed(&app, &quiet, event).await;
    book_confirmed(&app, &other, event).await;

    app.eventually("the other user's email", || async {
        sink.messages_to(&other.email).len() == 1
    })
    .await;
    app.eventually("the in-app notice", || async {
        notifications(&app, &quiet, "").await.len() == 1
    })
    .await;
    drained(&app).await;
    assert!(sink.messages_to(&quiet.email).is_empty());
    assert_eq!(
        delivery_status(&app, &quiet, "email")
            .await
            .map(|(s, _)| s)
            .as_deref(),
        Some("skipped")
    );
    app.shutdown().await;
}

#[tokio::test]
async fn cancelling_an_event_notifies_each_holder_once() {
    let sink = SmtpSink::start().await.expect("sink");
    let app = spawn(&sink).await;
    let organizer = app.user_with_role("organizer").await;
    let users = [app.register().await, app.register().await];
    let event = app.create_event(&organizer, 10, 0).await;
    for u in &users {
        book_confirmed(&app, u, event).await;
    }
    app.eventually("confirmations", || async { sink.count() == 2 })
        .await;
    let res = app
        .post(
            &format!("/events/{event}/cancel"),
            Some(&organizer.token),
            &json!({}),
        )
        .await;
    assert!(res.status().is_success(), "cancel: {}", res.status());
    app.eventually("cancellation emails", || async { sink.count() == 4 })
        .await;
    drained(&app).await;
    for u in &users {
        let mails = sink.messages_to(&u.email);
        assert_eq!(mails.len(), 2, "one confirmation and one cancellation");
        let last = MessageParser::default()
            .parse(&mails[1].data)
            .expect("parses");
        assert!(
            last.subject().is_some_and(|s| s.starts_with("Cancelled: ")),
            "{:?}",
            last.subject()
        );
        let kinds: Vec<Value> = notifications(&app, u, "")
            .await
            .into_iter()
            .map(|n| n["kind"].clone())
            .collect();
        assert_eq!(
            kinds,
            [json!("event_cancelled"), json!("booking_confirmed")]
        );
    }
    app.shutdown().await;
}

/// A seat offered from the waitlist is urgent news: the person offered it gets an email and an
/// in-app notification naming the offer's deadline, and once the deadline is near (within
/// `reminder_minutes`, here longer than the whole offer) a single reminder.
#[tokio::test]
async fn a_waitlist_offer_is_emailed_and_reminded_once_before_it_expires() {
    let sink = SmtpSink::start().await.expect("sink");
    let app = TestApp::spawn_with(TestOptions {
        notifications: Some(settings(&sink)),
        configure: |s| s.waitlist.reminder_minutes = 60,
        ..Default::default()
    })
    .await;
    let (event, holders, bookings) = evently_tests::flows::sold_out(&app, 1, 0).await;
    let waiter = app.register().await;
    let entry =
        evently_tests::flows::id(&evently_tests::flows::join(&app, &waiter, event, 1).await);
    evently_tests::flows::cancel(&app, &holders[0], bookings[0]).await;
    evently_tests::flows::wait_entry(&app, entry, "offered").await;
    app.eventually("the offer and its reminder are emailed", || async {
        sink.messages_to(&waiter.email).len() == 2
    })
    .await;
    let kinds = || async {
        let mut kinds: Vec<String> = notifications(&app, &waiter, "")
            .await
            .iter()
            .map(|n| n["kind"].as_str().unwrap_or_default().to_owned())
            .collect();
        kinds.sort();
        kinds
    };
    app.eventually("both in-app notifications", || async {
        kinds().await.len() == 2
    })
    .await;
    assert_eq!(
        kinds().await,
        ["waitlist_offer_expiring", "waitlist_offered"]
    );
    // The sweeper keeps running: the reminder is marked and never sent again.
    let reminded: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT reminded_at FROM waitlist_entries WHERE id = $1")
            .bind(entry)
            .fetch_one(&app.pool)
            .await
            .expect("entry");
    assert!(reminded.is_some());
    drained(&app).await;
    assert_eq!(sink.messages_to(&waiter.email).len(), 2);
    app.shutdown().await;
}
