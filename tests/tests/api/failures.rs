//! Failure: a command delivered twice, a consumer killed mid-batch, NATS going away. Nothing lost,
//! nothing doubled, never a 500.

use std::time::{Duration, Instant};

use async_nats::jetstream::message::PublishMessage;
use chrono::Utc;
use evently_consumers::reservations::Reservations;
use evently_consumers::{Handler, Incoming, Outcome};
use evently_schemas::{BookingCommand, ReserveSeats};
use evently_tests::app::{TestApp, TestOptions};
use serde_json::Value;
use uuid::Uuid;

fn reserve(event: Uuid, user: Uuid) -> BookingCommand {
    BookingCommand::Reserve(ReserveSeats {
        booking_id: Uuid::now_v7(),
        event_id: event,
        user_id: user,
        quantity: 1,
        waitlist_if_sold_out: false,
        requested_at: Utc::now(),
        lines: Vec::new(),
        promo_code: None,
        seats: Vec::new(),
        best_available: None,
    })
}

/// Messages in a stream whose subject matches `filter`.
async fn stream_count(app: &TestApp, stream: &str, filter: &str) -> u64 {
    let js = evently_runtime::nats::jetstream(app.nats_client());
    let mut stream = js.get_stream(stream).await.expect("stream");
    let info = stream.info().await.expect("info");
    if filter.is_empty() {
        return info.state.messages;
    }
    let consumer = stream
        .create_consumer(async_nats::jetstream::consumer::pull::Config {
            // An ephemeral consumer only counts here: keep it while the test polls it.
            inactive_threshold: std::time::Duration::from_secs(300),
            filter_subject: filter.to_owned(),
            ..Default::default()
        })
        .await
        .expect("ephemeral consumer");
    let mut c = consumer;
    c.info().await.expect("consumer info").num_pending
}

/// A reservations handler driven by hand (the test app runs no consumers).
fn reservations(app: &TestApp) -> Reservations {
    Reservations::new(
        app.pool.clone(),
        evently_runtime::nats::jetstream(app.nats_client()),
        app.prefix.clone(),
    )
}

/// `command` as its first delivery at stream sequence `seq`.
fn delivered(app: &TestApp, command: &BookingCommand, seq: u64) -> Incoming {
    Incoming {
        subject: app.prefix.reserve(command.event_id()),
        payload: serde_json::to_vec(command).expect("json").into(),
        message_id: Some(command.command_id()),
        deliveries: 1,
        stream_sequence: seq,
        traceparent: None,
    }
}

/// Drives the handler as the runner does: apply, then the after-commit work.
async fn apply_and_publish(handler: &Reservations, batch: &[Incoming]) -> Vec<Outcome> {
    let step = handler.handle(batch).await;
    if let Some(after) = step.after_commit {
        after.await.expect("events published");
    }
    step.outcomes
}

#[tokio::test]
async fn a_command_delivered_twice_books_once() {
    let app = TestApp::spawn_with(TestOptions {
        consumers: false,
        ..Default::default()
    })
    .await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 5, 0).await;
    let user = app.register().await;
    let command = reserve(event, user.id);
    let message = delivered(&app, &command, 1);
    let handler = reservations(&app);

    // The step commits, then the process dies before the ack: the same message comes again.
    let first = apply_and_publish(&handler, std::slice::from_ref(&message)).await;
    let redelivered = Incoming {
        deliveries: 2,
        ..message.clone()
    };
    let second = apply_and_publish(&handler, &[redelivered.clone(), redelivered]).await;

    assert!(matches!(first[..], [Outcome::Done]));
    assert!(second.iter().all(|o| matches!(o, Outcome::Done)));
    assert_eq!(app.seats(event).await.0, 1);
    assert_eq!(app.count_bookings(event, "confirmed").await, 1);
    let subject = app
        .prefix
        .booking_event(evently_schemas::BookingStatus::Confirmed, event);
    assert_eq!(
        stream_count(&app, &app.prefix.evt_stream(), &subject).await,
        1,
        "the re-published event is dropped by the duplicate window"
    );
    app.shutdown().await;
}

/// The single writer checks that a reserve's user exists, for the whole batch in one read, in
/// place of a foreign key (which locked every booker's row): a command naming nobody is refused
/// alone, and the bookings decided beside it in the same batch stand.
#[tokio::test]
async fn a_reserve_for_a_user_who_does_not_exist_is_refused_alone() {
    let app = TestApp::spawn_with(TestOptions {
        consumers: false,
        ..Default::default()
    })
    .await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 5, 0).await;
    let user = app.register().await;
    let ghost = Uuid::new_v4();
    let batch = [
        delivered(&app, &reserve(event, user.id), 1),
        delivered(&app, &reserve(event, ghost), 2),
        delivered(&app, &reserve(event, user.id), 3),
    ];
    let outcomes = apply_and_publish(&reservations(&app), &batch).await;

    assert!(matches!(outcomes[0], Outcome::Done), "{outcomes:?}");
    assert!(
        matches!(&outcomes[1], Outcome::Reject(e) if format!("{e:#}").contains("does not exist")),
        "{outcomes:?}"
    );
    assert!(matches!(outcomes[2], Outcome::Done), "{outcomes:?}");
    assert_eq!(app.count_bookings(event, "confirmed").await, 2);
    let ghosts: i64 = sqlx::query_scalar("SELECT count(*) FROM bookings WHERE user_id = $1")
        .bind(ghost)
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(ghosts, 0, "no booking names a user who does not exist");
    assert_eq!(app.seats(event).await.0, 2);
    app.shutdown().await;
}

#[tokio::test]
async fn a_copy_of_a_command_that_escapes_the_duplicate_window_books_once() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 5, 0).await;
    let user = app.register().await;
    let command = reserve(event, user.id);
    let js = evently_runtime::nats::jetstream(app.nats_client());
    for copy in ["a", "b", "c"] {
        js.send_publish(
            app.prefix.reserve(event),
            PublishMessage::build()
                .payload(serde_json::to_vec(&command).expect("json").into())
                .message_id(format!("{}.{copy}", command.command_id())),
        )
        .await
        .expect("publish")
        .await
        .expect("ack");
    }
    app.eventually("the command is applied", || async {
        app.count_bookings(event, "confirmed").await == 1
    })
    .await;
    app.eventually("every copy is acknowledged", || async {
        let js = evently_runtime::nats::jetstream(app.nats_client());
        let stream = js
            .get_stream(app.prefix.cmd_stream())
            .await
            .expect("stream");
        let mut consumer: async_nats::jetstream::consumer::PullConsumer =
            stream.get_consumer("reservations").await.expect("consumer");
        let info = consumer.info().await.expect("info");
        info.num_pending == 0 && info.num_ack_pending == 0
    })
    .await;
    assert_eq!(app.seats(event).await.0, 1);
    app.shutdown().await;
}

async fn bookings_written(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM bookings")
        .fetch_one(&app.pool)
        .await
        .expect("count")
}

#[tokio::test]
async fn a_consumer_killed_mid_batch_loses_and_doubles_nothing() {
    const COMMANDS: usize = 2000;
    const SEATS: i32 = 1500;
    let mut app = TestApp::spawn_with(TestOptions {
        consumers: false,
        batch_size: 16,
        ..Default::default()
    })
    .await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, SEATS, 0).await;
    let users = app.bulk_users(COMMANDS).await;
    let js = evently_runtime::nats::jetstream(app.nats_client());
    let mut acks = Vec::new();
    for user in &users {
        let command = reserve(event, user.id);
        let ack = js
            .send_publish(
                app.prefix.reserve(event),
                PublishMessage::build()
                    .payload(serde_json::to_vec(&command).expect("json").into())
                    .message_id(command.command_id()),
            )
            .await
            .expect("publish");
        acks.push(ack);
    }
    for ack in acks {
        ack.await.expect("PubAck");
    }

    // 1. Killed inside a batch's transaction: the test holds the inventory row, the consumer
    //    waits for it mid-batch, and dies there.
    let mut blocker = app.pool.begin().await.expect("begin");
    sqlx::query("SELECT 1 FROM inventory WHERE event_id = $1 FOR UPDATE")
        .bind(event)
        .execute(&mut *blocker)
        .await
        .expect("lock");
    app.start_consumers();
    app.eventually("the consumer waits for the inventory lock", || async {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&app.pool)
        .await
        .expect("activity");
        waiting > 0
    })
    .await;
    app.kill_consumers().await;
    blocker.rollback().await.expect("rollback");
    assert_eq!(
        bookings_written(&app).await,
        0,
        "the killed batch committed nothing"
    );

    // 2. Killed while batches are committing, publishing and acking.
    app.start_consumers();
    app.eventually("some bookings are written", || async {
        bookings_written(&app).await > 0
    })
    .await;
    app.kill_consumers().await;
    let written = bookings_written(&app).await;
    assert!(
        written < COMMANDS as i64,
        "the kill came mid-stream ({written} written)"
    );

    // 3. Restarted, the consumer finishes; redelivered messages change nothing.
    app.start_consumers();
    app.eventually("every command is decided", || async {
        bookings_written(&app).await == COMMANDS as i64
    })
    .await;
    app.eventually("every message is acknowledged", || async {
        let stream = js
            .get_stream(app.prefix.cmd_stream())
            .await
            .expect("stream");
        let mut consumer: async_nats::jetstream::consumer::PullConsumer =
            stream.get_consumer("reservations").await.expect("consumer");
        let info = consumer.info().await.expect("info");
        info.num_pending == 0 && info.num_ack_pending == 0
    })
    .await;
    assert_eq!(
        app.count_bookings(event, "confirmed").await,
        i64::from(SEATS)
    );
    assert_eq!(
        app.count_bookings(event, "rejected").await,
        COMMANDS as i64 - i64::from(SEATS)
    );
    assert_eq!(app.seats(event).await.0, i64::from(SEATS));
    let per_user: i64 =
        sqlx::query_scalar("SELECT count(DISTINCT user_id) FROM bookings WHERE event_id = $1")
            .bind(event)
            .fetch_one(&app.pool)
            .await
            .expect("count");
    assert_eq!(per_user, COMMANDS as i64, "one booking per command");
    app.shutdown().await;
}

#[tokio::test]
async fn with_nats_down_booking_answers_503_and_recovers_after_restart() {
    let mut app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 0).await;
    let user = app.register().await;
    assert_eq!(app.book(&user, event, 1, None).await.status(), 201);

    app.nats.stop().await.expect("stop nats");
    let res = app.book(&user, event, 1, Some("while-down")).await;
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let ready = app
        .http
        .get(format!("{}/health/ready", app.base))
        .send()
        .await
        .expect("ready");
    assert_eq!(ready.status(), 503);

    app.nats.restart().await.expect("restart nats");
    let deadline = Instant::now() + Duration::from_secs(60);
    let booked = loop {
        let res = app.book(&user, event, 1, Some("while-down")).await;
        let status = res.status().as_u16();
        assert!(
            status == 201 || status == 202 || status == 503,
            "answered {status}"
        );
        if status != 503 {
            let body: Value = res.json().await.expect("json");
            break app
                .wait_decided(
                    &user,
                    body["id"]
                        .as_str()
                        .and_then(|s| s.parse().ok())
                        .expect("id"),
                )
                .await;
        }
        assert!(
            Instant::now() < deadline,
            "booking did not recover after NATS restarted"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(booked["status"], "confirmed");
    assert_eq!(app.seats(event).await.0, 2);
    app.shutdown().await;
}

#[tokio::test]
async fn a_booking_not_decided_in_time_answers_202_and_its_location_shows_the_decision_later() {
    let mut app = TestApp::spawn_with(TestOptions {
        consumers: false,
        decision_wait_ms: 200,
        ..Default::default()
    })
    .await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 3, 0).await;
    let user = app.register().await;

    let res = app.book(&user, event, 2, Some("slow-pipeline")).await;
    assert_eq!(res.status(), 202);
    let location = res.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["status"], "pending");
    assert_eq!(
        location,
        format!("/api/v1/bookings/{}", body["id"].as_str().expect("id"))
    );
    let polled: Value = app
        .http
        .get(format!("{}{location}", app.base))
        .bearer_auth(&user.token)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    assert_eq!(polled["status"], "pending");
    let stranger = app.register().await;
    let res = app
        .http
        .get(format!("{}{location}", app.base))
        .bearer_auth(&stranger.token)
        .send()
        .await
        .expect("GET");
    assert_eq!(res.status(), 404, "a pending booking is its holder's only");

    app.start_consumers();
    let id = body["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");
    let decided = app.wait_decided(&user, id).await;
    assert_eq!(decided["status"], "confirmed");
    assert_eq!(app.seats(event).await.0, 2);
    app.shutdown().await;
}

#[tokio::test]
async fn a_command_that_can_never_succeed_is_dead_lettered_with_its_error() {
    let app = TestApp::spawn().await;
    let js = evently_runtime::nats::jetstream(app.nats_client());
    let event = Uuid::new_v4();
    let missing_event = reserve(event, Uuid::new_v4());
    for (payload, id) in [
        (b"{not json".to_vec(), "garbage.reserve".to_owned()),
        (
            serde_json::to_vec(&missing_event).expect("json"),
            missing_event.command_id(),
        ),
    ] {
        js.send_publish(
            app.prefix.reserve(event),
            PublishMessage::build()
                .payload(payload.into())
                .message_id(id),
        )
        .await
        .expect("publish")
        .await
        .expect("ack");
    }
    let dlq = app.prefix.dlq_stream();
    app.eventually("both commands are dead-lettered", || async {
        stream_count(&app, &dlq, "").await == 2
    })
    .await;
    let stream = js.get_stream(&dlq).await.expect("dlq stream");
    let mut errors = Vec::new();
    for seq in 1..=2 {
        let message = stream.get_raw_message(seq).await.expect("dead letter");
        let headers = message.headers;
        assert_eq!(
            headers.get("Evently-Consumer").map(|v| v.as_str()),
            Some("reservations")
        );
        assert_eq!(message.subject.as_str(), app.prefix.dlq("reservations"));
        errors.push(
            headers
                .get("Evently-Error")
                .map(|v| v.as_str().to_owned())
                .unwrap_or_default(),
        );
    }
    assert!(
        errors.iter().any(|e| e.contains("undecodable")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("does not exist")),
        "{errors:?}"
    );
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM processed_messages")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(
        n, 0,
        "a refused command is not recorded as applied, so a replay can apply it"
    );

    // `evently dlq show` gives one letter in full; `purge` removes one, then the rest.
    let shown = evently_consumers::dead_letters::show(&js, &app.prefix, 2)
        .await
        .expect("show");
    assert_eq!(shown.subject, app.prefix.reserve(event));
    assert_eq!(shown.consumer, "reservations");
    assert!(!shown.error.is_empty() && !shown.payload.is_empty());
    let removed = evently_consumers::dead_letters::purge(&js, &app.prefix, &[1], false)
        .await
        .expect("purge one");
    assert_eq!(removed, 1);
    assert_eq!(stream_count(&app, &dlq, "").await, 1);
    evently_consumers::dead_letters::purge(&js, &app.prefix, &[], true)
        .await
        .expect("purge all");
    assert_eq!(stream_count(&app, &dlq, "").await, 0);
    app.shutdown().await;
}

#[tokio::test]
async fn a_dead_letter_replayed_after_its_cause_is_fixed_is_applied() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let existing = app.create_event(&organizer, 5, 0).await;
    let user = app.register().await;
    let js = evently_runtime::nats::jetstream(app.nats_client());
    // A command for an event the database does not know (yet).
    let missing = Uuid::now_v7();
    let command = reserve(missing, user.id);
    js.send_publish(
        app.prefix.reserve(missing),
        PublishMessage::build()
            .payload(serde_json::to_vec(&command).expect("json").into())
            .message_id(command.command_id()),
    )
    .await
    .expect("publish")
    .await
    .expect("ack");
    let deadline = Instant::now() + Duration::from_secs(30);
    let letters = loop {
        let letters = evently_consumers::dead_letters::list(&js, &app.prefix, 10)
            .await
            .expect("list");
        if !letters.is_empty() {
            break letters;
        }
        assert!(
            Instant::now() < deadline,
            "the command was not dead-lettered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(letters.len(), 1);
    assert!(
        letters[0].error.contains("does not exist"),
        "{:?}",
        letters[0]
    );
    assert_eq!(letters[0].subject, app.prefix.reserve(missing));

    // The cause is fixed (the event appears), then the letter is replayed.
    sqlx::query(
        "INSERT INTO events (id, venue_id, organizer_id, name, description, category, starts_at, ends_at, capacity, price_cents, currency) \
         SELECT $1, venue_id, organizer_id, name, description, category, starts_at, ends_at, capacity, price_cents, currency FROM events WHERE id = $2",
    )
    .bind(missing)
    .bind(existing)
    .execute(&app.pool)
    .await
    .expect("event");
    sqlx::query("INSERT INTO inventory (event_id, capacity) VALUES ($1, 5)")
        .bind(missing)
        .execute(&app.pool)
        .await
        .expect("inventory");
    evently_consumers::dead_letters::replay(&js, &app.prefix, letters[0].sequence)
        .await
        .expect("replay");
    app.eventually("the replayed command is applied", || async {
        app.count_bookings(missing, "confirmed").await == 1
    })
    .await;
    let left = evently_consumers::dead_letters::list(&js, &app.prefix, 10)
        .await
        .expect("list");
    assert!(
        left.is_empty(),
        "the replayed letter left the dead-letter stream"
    );
    app.shutdown().await;
}
