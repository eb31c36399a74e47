//! Bounded growth: inbox rows are pruned after their retention, and an old message delivered
//! again afterwards changes nothing, for each consumer that keeps an inbox (the domain keys are
//! the guard, each test names its own); the sweeper prunes only what its settings no longer
//! keep; `notification.sent` lives in its own short stream, not in the event stream.
//!
//! "Old" is made by moving the rows' times back (time is data): the same state as 40 days later.

use std::time::Duration;

use async_nats::jetstream::message::PublishMessage;
use chrono::Utc;
use evently_consumers::analytics::Analytics;
use evently_consumers::{Handler, Incoming, Outcome};
use evently_schemas::{BookingEvent, BookingSnapshot, BookingStatus, RejectReason};
use evently_tests::app::{TestApp, TestOptions};
use evently_tests::flows;
use futures::StreamExt;
use uuid::Uuid;

use super::tickets::{confirmed_booking, stream_count, tickets_of};

/// Makes every inbox row 40 days old and prunes: returns how many rows `consumer` had.
async fn age_and_prune(app: &TestApp, consumer: &str) -> i64 {
    let rows = inbox_rows(app, consumer).await;
    sqlx::query("UPDATE processed_messages SET processed_at = now() - interval '40 days'")
        .execute(&app.pool)
        .await
        .expect("ageing the inbox");
    let pruned = evently_consumers::retention::prune(&app.pool, &app.settings.retention, 1000)
        .await
        .expect("prune");
    assert!(pruned.inbox >= rows as u64, "{pruned:?}");
    assert_eq!(inbox_rows(app, consumer).await, 0, "the inbox was pruned");
    rows
}

async fn inbox_rows(app: &TestApp, consumer: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM processed_messages WHERE consumer = $1")
        .bind(consumer)
        .fetch_one(&app.pool)
        .await
        .expect("count")
}

/// Publishes `payload` on `subject` under a message id the stream has never seen, as a copy
/// republished after the duplicate window (or a dead letter replayed) arrives; waits until
/// `consumer` has applied it (its inbox row `inbox_id` is there again; by default the new
/// message id, which is what the event consumers key their inbox by).
async fn deliver_again(
    app: &TestApp,
    consumer: &str,
    subject: String,
    payload: Vec<u8>,
    inbox_id: Option<String>,
) {
    let id = format!("again-{}", Uuid::new_v4());
    let inbox_id = inbox_id.unwrap_or_else(|| id.clone());
    evently_runtime::nats::jetstream(app.nats_client())
        .send_publish(
            subject,
            PublishMessage::build()
                .payload(payload.into())
                .message_id(id.clone()),
        )
        .await
        .expect("publish")
        .await
        .expect("PubAck");
    app.eventually(&format!("{consumer} applied the copy"), || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM processed_messages WHERE consumer = $1 AND message_id = $2",
        )
        .bind(consumer)
        .bind(&inbox_id)
        .fetch_one(&app.pool)
        .await
        .expect("count")
            == 1
    })
    .await;
}

/// The last domain event on `subject`, as stored in the event stream.
async fn stored_event(app: &TestApp, subject: &str) -> Vec<u8> {
    evently_runtime::nats::jetstream(app.nats_client())
        .get_stream(app.prefix.evt_stream())
        .await
        .expect("stream")
        .get_last_raw_message_by_subject(subject)
        .await
        .expect("the event")
        .payload
        .to_vec()
}

#[tokio::test]
async fn a_cancel_command_delivered_again_after_its_inbox_row_was_pruned_changes_nothing() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 5, 0).await;
    let (first, second) = (app.register().await, app.register().await);
    let cancelled = flows::id(&flows::book(&app, &first, event, 2, false).await);
    flows::book(&app, &second, event, 1, false).await;
    flows::cancel(&app, &first, cancelled).await;
    flows::wait_booking(&app, cancelled, "cancelled").await;
    let before = app.seats(event).await;
    assert_eq!(before.0, 1);
    assert!(age_and_prune(&app, "reservations").await > 0);

    // The same cancel command (its id is `<booking>.cancel`, read from the payload), fresh to
    // the inbox. Guard: the booking's status: a booking that is no longer active is not
    // cancelled again (`allocate::cancel`), so no seat is given back twice.
    let command = flows::cancel_command(&first, event, cancelled);
    deliver_again(
        &app,
        "reservations",
        app.prefix.command(&command),
        serde_json::to_vec(&command).expect("json"),
        Some(command.command_id()),
    )
    .await;
    assert_eq!(app.seats(event).await, before, "no seat changed");
    assert_eq!(flows::booking_status(&app, cancelled).await, "cancelled");
    assert_eq!(app.count_bookings(event, "confirmed").await, 1);
    let cancellations = stream_count(
        &app,
        &app.prefix.booking_event(BookingStatus::Cancelled, event),
    )
    .await;
    assert_eq!(cancellations, 1, "the cancellation was announced once");
    app.shutdown().await;
}

#[tokio::test]
async fn a_payment_delivered_again_after_its_inbox_row_was_pruned_is_neither_applied_nor_refunded()
{
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 5, 2500).await;
    let user = app.register().await;
    let booking = flows::id(&flows::book(&app, &user, event, 2, false).await);
    assert_eq!(
        flows::pay(&app, &user, booking, "tok_visa").await.status(),
        200
    );
    flows::wait_booking(&app, booking, "confirmed").await;
    let (payment_id, provider, provider_payment_id): (Uuid, String, String) = sqlx::query_as(
        "SELECT id, provider, provider_payment_id FROM payments WHERE booking_id = $1",
    )
    .bind(booking)
    .fetch_one(&app.pool)
    .await
    .expect("the payment");
    let seats = app.seats(event).await;
    assert!(age_and_prune(&app, "reservations").await > 0);

    // The provider's confirmation of the same payment, fresh to the inbox. Guard: the payment's
    // id is the payments table's key: a payment already recorded is replayed, never decided
    // again (decided again, it would find its booking paid and refund money that paid a seat).
    let command =
        evently_schemas::BookingCommand::ConfirmPayment(evently_schemas::ConfirmPayment {
            payment_id,
            booking_id: booking,
            event_id: event,
            provider,
            provider_payment_id,
            amount_cents: 5000,
            currency: "EUR".into(),
            requested_at: Utc::now(),
        });
    deliver_again(
        &app,
        "reservations",
        app.prefix.command(&command),
        serde_json::to_vec(&command).expect("json"),
        Some(command.command_id()),
    )
    .await;
    assert_eq!(flows::net_paid(&app, booking).await, 5000, "no refund");
    let refunds: i64 = sqlx::query_scalar("SELECT count(*) FROM refunds WHERE booking_id = $1")
        .bind(booking)
        .fetch_one(&app.pool)
        .await
        .expect("refunds");
    assert_eq!(refunds, 0);
    assert_eq!(flows::booking_status(&app, booking).await, "confirmed");
    assert_eq!(app.seats(event).await, seats, "no seat changed");
    app.shutdown().await;
}

#[tokio::test]
async fn an_old_trigger_delivered_again_after_the_waitlist_inbox_was_pruned_offers_nothing_new() {
    let app = TestApp::spawn().await;
    let (event, holders, bookings) = flows::sold_out(&app, 1, 0).await;
    let (a, b) = (app.register().await, app.register().await);
    let first = flows::id(&flows::join(&app, &a, event, 1).await);
    let next = flows::id(&flows::join(&app, &b, event, 1).await);
    flows::cancel(&app, &holders[0], bookings[0]).await;
    flows::wait_entry(&app, first, "offered").await;
    drained(&app, "waitlist").await;
    let inventory = flows::inventory(&app, event).await;
    assert!(age_and_prune(&app, "waitlist").await > 0);

    // The cancellation that freed the seat, again. Guard: promotion offers only what the locked
    // inventory row has free (`capacity - sold - held - offered`, with its CHECK), and the seat is
    // already offered: nothing is free, so nobody else is offered anything.
    let subject = app.prefix.booking_event(BookingStatus::Cancelled, event);
    let payload = stored_event(&app, &subject).await;
    deliver_again(&app, "waitlist", subject, payload, None).await;
    assert_eq!(flows::inventory(&app, event).await, inventory);
    assert_eq!(flows::entry_status(&app, first).await, "offered");
    assert_eq!(flows::entry_status(&app, next).await, "waiting");
    let offers = stream_count(&app, &app.prefix.waitlist_event("offered", event)).await;
    assert_eq!(offers, 1, "one offer in all");
    app.shutdown().await;
}

#[tokio::test]
async fn a_confirmation_delivered_again_after_the_tickets_inbox_was_pruned_issues_and_announces_nothing()
 {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 0).await;
    let holder = app.register().await;
    let booking = confirmed_booking(&app, &holder, event, 2).await;
    let before = tickets_of(&app, &holder, booking, 2).await;
    assert!(age_and_prune(&app, "tickets").await > 0);
    let mut announced = app
        .nats_client()
        .subscribe(app.prefix.ticket_issued(event))
        .await
        .expect("subscribe");

    // Guard: `UNIQUE (booking_id, seat_index)` with `ON CONFLICT DO NOTHING`; and a fresh
    // message announces only the tickets it inserted, so no second `TicketsIssued` goes out
    // (once the duplicate window is over the stream would keep it, and analytics count it).
    let subject = app.prefix.booking_event(BookingStatus::Confirmed, event);
    let payload = stored_event(&app, &subject).await;
    deliver_again(&app, "tickets", subject, payload, None).await;
    drained(&app, "tickets").await;
    let after = tickets_of(&app, &holder, booking, 2).await;
    assert_eq!(before, after, "the same two tickets");
    // The consumer acknowledged the copy, so anything it published has reached the server: a
    // short look at the subscription is enough to see that nothing was announced.
    let late = tokio::time::timeout(Duration::from_millis(500), announced.next()).await;
    assert!(late.is_err(), "a second TicketsIssued was published");
    assert_eq!(
        stream_count(&app, &app.prefix.ticket_issued(event)).await,
        1
    );
    app.shutdown().await;
}

/// Waits until `durable` (on the event stream) has nothing pending or unacknowledged.
async fn drained(app: &TestApp, durable: &str) {
    let js = evently_runtime::nats::jetstream(app.nats_client());
    app.eventually(&format!("{durable} drained"), || async {
        let mut consumer: async_nats::jetstream::consumer::PullConsumer = js
            .get_stream(app.prefix.evt_stream())
            .await
            .expect("stream")
            .get_consumer(durable)
            .await
            .expect("consumer");
        let info = consumer.info().await.expect("info");
        info.num_pending == 0 && info.num_ack_pending == 0
    })
    .await;
}

fn booking(event_id: Uuid, status: BookingStatus, decided: chrono::DateTime<Utc>) -> BookingEvent {
    BookingEvent {
        booking: BookingSnapshot {
            id: Uuid::now_v7(),
            event_id,
            user_id: Uuid::now_v7(),
            quantity: 2,
            status,
            reason: (status == BookingStatus::Rejected).then_some(RejectReason::SoldOut),
            amount_cents: 5000,
            currency: "EUR".into(),
            hold_expires_at: None,
            created_at: decided,
            updated_at: decided,
            lines: Vec::new(),
            promo_code_id: None,
            discount_cents: 0,
            seats: Vec::new(),
        },
        availability: None,
        occurred_at: decided,
    }
}

fn incoming(app: &TestApp, event: &BookingEvent, sequence: u64) -> Incoming {
    Incoming {
        subject: app
            .prefix
            .booking_event(event.booking.status, event.booking.event_id),
        payload: serde_json::to_vec(event).expect("json").into(),
        message_id: Some(event.message_id()),
        deliveries: 1,
        stream_sequence: sequence,
        traceparent: None,
    }
}

#[tokio::test]
async fn an_old_rejection_or_confirmation_delivered_again_after_the_analytics_inbox_was_pruned_counts_nothing()
 {
    let app = TestApp::spawn_with(TestOptions {
        consumers: false,
        ..Default::default()
    })
    .await;
    let retention = app.settings.retention.inbox();
    let live = Analytics::new(app.pool.clone(), app.prefix.clone(), Some(retention));
    let event_id = Uuid::now_v7();
    let now = Utc::now();
    let rejected = booking(event_id, BookingStatus::Rejected, now);
    let confirmed = booking(event_id, BookingStatus::Confirmed, now);
    let step = live
        .handle(&[incoming(&app, &rejected, 1), incoming(&app, &confirmed, 2)])
        .await;
    assert!(step.outcomes.iter().all(|o| matches!(o, Outcome::Done)));
    let totals = || async {
        sqlx::query_as::<_, (i64, i64, i64)>(
            "SELECT rejections, bookings_confirmed, seats_sold FROM analytics_event_totals \
             WHERE event_id = $1",
        )
        .bind(event_id)
        .fetch_one(&app.pool)
        .await
        .expect("totals")
    };
    assert_eq!(totals().await, (1, 1, 2));
    assert_eq!(age_and_prune(&app, "analytics").await, 2);

    // Forty days on, both decisions come back under their old ids, as the reservations consumer
    // republishes them when their reserve commands come back (a client retrying its old key):
    // the stored booking, `occurred_at` now.
    let forty_days_ago = now - chrono::Duration::days(40);
    let mut copies = Vec::new();
    for (original, sequence) in [(&rejected, 3), (&confirmed, 4)] {
        let mut copy = original.clone();
        copy.booking.created_at = forty_days_ago;
        copy.booking.updated_at = forty_days_ago;
        copy.occurred_at = Utc::now();
        copies.push(incoming(&app, &copy, sequence));
    }
    // Guards: a confirmation counts once per booking (`analytics_bookings.confirmed_at`); a
    // rejection decided longer ago than the inbox retention is a copy (`Fact::is_stale_copy`).
    let step = live.handle(&copies).await;
    assert!(step.outcomes.iter().all(|o| matches!(o, Outcome::Done)));
    assert_eq!(totals().await, (1, 1, 2), "nothing counted twice");

    // The rebuild's handler applies whatever it reads (it starts from empty roll-ups and inbox),
    // so it is the live guard, not the data, that kept the rejection from counting twice.
    let rebuild = Analytics::new(app.pool.clone(), app.prefix.clone(), None);
    rebuild.handle(&copies[..1]).await;
    assert_eq!(totals().await.0, 2);
    app.shutdown().await;
}

#[tokio::test]
async fn the_sweeper_prunes_only_what_its_retention_no_longer_keeps() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let user = app.register().await;
    for (id, age) in [
        ("old.cancel", "40 days"),
        ("young.cancel", "20 days"),
        ("old-payment.pay", "400 days"),
    ] {
        sqlx::query(
            "INSERT INTO processed_messages (consumer, message_id, processed_at) \
             VALUES ('reservations', $1, now() - $2::interval)",
        )
        .bind(id)
        .bind(age)
        .execute(&app.pool)
        .await
        .expect("inbox row");
    }
    for age in ["200 days", "100 days"] {
        sqlx::query(
            "INSERT INTO notifications (id, user_id, kind, title, body, source_id, created_at) \
             VALUES ($1, $2, 'test', 't', 'b', $3, now() - $4::interval)",
        )
        .bind(Uuid::now_v7())
        .bind(user.id)
        .bind(format!("source-{age}"))
        .bind(age)
        .execute(&app.pool)
        .await
        .expect("notification");
    }
    // Two lapsed holds of a paid event: one unpaid, one paid too late (its payment is money and
    // stays, so its booking does); then the event ends, 61 days ago.
    let event = app.create_event(&organizer, 10, 1500).await;
    let unpaid = flows::id(&flows::book(&app, &user, event, 1, false).await);
    let paid_late = flows::id(&flows::book(&app, &user, event, 1, false).await);
    for hold in [unpaid, paid_late] {
        flows::expire_hold_now(&app, hold).await;
        flows::wait_booking(&app, hold, "expired").await;
    }
    sqlx::query(
        "INSERT INTO payments (id, booking_id, provider, provider_payment_id, amount_cents, currency, status) \
         VALUES ($1, $2, 'test', $3, 1500, 'EUR', 'refunded')",
    )
    .bind(Uuid::now_v7())
    .bind(paid_late)
    .bind(format!("pi_{paid_late}"))
    .execute(&app.pool)
    .await
    .expect("a late payment");
    let still_on = app.create_event(&organizer, 10, 1500).await;
    let current = flows::id(&flows::book(&app, &user, still_on, 1, false).await);
    flows::expire_hold_now(&app, current).await;
    flows::wait_booking(&app, current, "expired").await;
    sqlx::query(
        "UPDATE events SET sales_start = NULL, sales_end = NULL, \
         starts_at = now() - interval '62 days', ends_at = now() - interval '61 days' WHERE id = $1",
    )
    .bind(event)
    .execute(&app.pool)
    .await
    .expect("ending the event");

    let pruned = evently_consumers::retention::prune(&app.pool, &app.settings.retention, 1000)
        .await
        .expect("prune");
    assert_eq!((pruned.notifications, pruned.holds), (1, 1), "{pruned:?}");
    let left: Vec<String> = sqlx::query_scalar(
        "SELECT message_id FROM processed_messages WHERE message_id IN ('old.cancel', 'young.cancel', 'old-payment.pay') ORDER BY 1",
    )
    .fetch_all(&app.pool)
    .await
    .expect("rows");
    assert_eq!(left, ["young.cancel"], "old rows go, payments' too");
    let exists = |id: Uuid| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM bookings WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .expect("count")
                == 1
        }
    };
    assert!(!exists(unpaid).await, "the unpaid lapsed hold is gone");
    assert!(exists(paid_late).await, "a booking with money stays");
    assert!(exists(current).await, "the event has not ended");
    app.shutdown().await;
}

#[tokio::test]
async fn notification_sent_is_kept_in_its_own_short_stream_and_not_in_the_event_stream() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 0).await;
    let holder = app.register().await;
    confirmed_booking(&app, &holder, event, 1).await;
    let js = evently_runtime::nats::jetstream(app.nats_client());
    app.eventually("the in-app notification is announced", || async {
        let mut ntf = js.get_stream(app.prefix.ntf_stream()).await.expect("NTF");
        ntf.info().await.expect("info").state.messages > 0
    })
    .await;
    let mut evt = js.get_stream(app.prefix.evt_stream()).await.expect("EVT");
    let config = evt.info().await.expect("info").config.clone();
    assert!(config.subjects.iter().all(|s| !s.contains("notification")));
    assert!(config.max_age >= Duration::from_secs(365 * 86_400));
    let mut ntf = js.get_stream(app.prefix.ntf_stream()).await.expect("NTF");
    assert!(ntf.info().await.expect("info").config.max_age <= Duration::from_secs(86_400));
    app.shutdown().await;
}

#[tokio::test]
async fn a_rejected_booking_is_pruned_after_its_retention_and_nothing_it_did_not_hold_goes_with_it()
{
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 1, 0).await;
    let users = app.bulk_users(3).await;
    let confirmed = flows::book(&app, &users[0], event, 1, false).await;
    assert_eq!(confirmed["status"], "confirmed");
    let old = flows::book(&app, &users[1], event, 1, false).await;
    let young = flows::book(&app, &users[2], event, 1, false).await;
    assert_eq!(
        (&old["reason"], &young["reason"]),
        (
            &serde_json::json!("sold_out"),
            &serde_json::json!("sold_out")
        )
    );
    sqlx::query(
        "UPDATE bookings SET created_at = now() - interval '40 days', \
         updated_at = now() - interval '40 days' WHERE id = $1",
    )
    .bind(flows::id(&old))
    .execute(&app.pool)
    .await
    .expect("ageing a rejection");
    // A confirmed booking as old stays: it holds a seat.
    sqlx::query("UPDATE bookings SET updated_at = now() - interval '400 days' WHERE id = $1")
        .bind(flows::id(&confirmed))
        .execute(&app.pool)
        .await
        .expect("ageing a confirmation");

    let pruned = evently_consumers::retention::prune(&app.pool, &app.settings.retention, 1000)
        .await
        .expect("prune");
    assert_eq!(pruned.rejected, 1, "{pruned:?}");
    let left: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM bookings WHERE event_id = $1 ORDER BY id")
            .bind(event)
            .fetch_all(&app.pool)
            .await
            .expect("bookings");
    let mut expected = vec![flows::id(&confirmed), flows::id(&young)];
    expected.sort();
    assert_eq!(left, expected, "only the old rejection went");
    assert_eq!(app.seats(event).await.0, 1, "the seat is still sold");
    let again = evently_consumers::retention::prune(&app.pool, &app.settings.retention, 1000)
        .await
        .expect("prune");
    assert_eq!(again.rejected, 0);
    app.shutdown().await;
}
