//! The waitlist: strict join order, offers that expire and pass on, claims, the multi-seat rule,
//! fairness against newcomers, crash-safe promotion with two consumer instances, `/me/live`.

use std::collections::HashSet;

use evently_tests::app::{TestApp, TestOptions};
use evently_tests::flows::{
    book, cancel, cancel_command, claim, entry_status, expire_hold_now, expire_offer_now, id,
    inventory, join, my_entries, pay, publish, sold_out, wait_booking, wait_entry,
};
use serde_json::{Value, json};
use uuid::Uuid;

async fn passed(app: &TestApp, entry: Uuid) -> i32 {
    sqlx::query_scalar("SELECT passed FROM waitlist_entries WHERE id = $1")
        .bind(entry)
        .fetch_one(&app.pool)
        .await
        .expect("passed")
}

#[tokio::test]
async fn offers_go_out_in_strict_join_order() {
    let app = TestApp::spawn().await;
    let (event, holders, bookings) = sold_out(&app, 2, 0).await;
    let waiters = app.bulk_users(3).await;
    let mut entries = Vec::new();
    for (i, w) in waiters.iter().enumerate() {
        let entry = join(&app, w, event, 1).await;
        assert_eq!(entry["status"], "waiting");
        assert_eq!(entry["position"], i as i64 + 1);
        entries.push(id(&entry));
    }
    let shown: Value = app
        .get(&format!("/events/{event}"), None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(shown["availability"]["waitlist_length"], 3);

    cancel(&app, &holders[1], bookings[1]).await;
    wait_entry(&app, entries[0], "offered").await;
    assert_eq!(entry_status(&app, entries[1]).await, "waiting");
    let mine = my_entries(&app, &waiters[1]).await;
    assert_eq!(mine[0]["position"], 1, "second in line is now next");
    assert_eq!(inventory(&app, event).await, (1, 0, 1, 2));

    cancel(&app, &holders[0], bookings[0]).await;
    wait_entry(&app, entries[1], "offered").await;
    assert_eq!(entry_status(&app, entries[2]).await, "waiting");

    let res = claim(&app, &waiters[0], entries[0]).await;
    assert_eq!(res.status(), 201);
    let booking: Value = res.json().await.expect("json");
    assert_eq!(booking["status"], "confirmed");
    assert_eq!(entry_status(&app, entries[0]).await, "claimed");
    assert_eq!(inventory(&app, event).await, (1, 0, 1, 2));
    app.shutdown().await;
}

#[tokio::test]
async fn an_expired_offer_passes_to_the_next_person_and_a_late_claim_is_refused() {
    let app = TestApp::spawn().await;
    let (event, holders, bookings) = sold_out(&app, 1, 0).await;
    let waiters = app.bulk_users(2).await;
    let first = id(&join(&app, &waiters[0], event, 1).await);
    let second = id(&join(&app, &waiters[1], event, 1).await);

    cancel(&app, &holders[0], bookings[0]).await;
    wait_entry(&app, first, "offered").await;
    let offer = &my_entries(&app, &waiters[0]).await[0];
    let expires: chrono::DateTime<chrono::Utc> = offer["offer_expires_at"]
        .as_str()
        .expect("expiry")
        .parse()
        .expect("time");
    assert!(
        (expires - chrono::Utc::now()).num_minutes() >= 29,
        "a 30-minute offer by default"
    );

    expire_offer_now(&app, first).await;
    wait_entry(&app, first, "expired").await;
    wait_entry(&app, second, "offered").await;
    let res = claim(&app, &waiters[0], first).await;
    assert_eq!(res.status(), 409);
    let res = claim(&app, &waiters[1], second).await;
    assert_eq!(res.status(), 201);
    assert_eq!(inventory(&app, event).await, (1, 0, 0, 1));
    app.shutdown().await;
}

#[tokio::test]
async fn a_multi_seat_entry_is_passed_at_most_the_configured_times_then_served() {
    let app = TestApp::spawn_with(TestOptions {
        configure: |s| s.waitlist.max_passes = 2,
        ..Default::default()
    })
    .await;
    let (event, holders, bookings) = sold_out(&app, 3, 0).await;
    let waiters = app.bulk_users(4).await;
    let big = id(&join(&app, &waiters[0], event, 3).await);
    let small: Vec<Uuid> = {
        let mut v = Vec::new();
        for w in &waiters[1..] {
            v.push(id(&join(&app, w, event, 1).await));
        }
        v
    };

    // One seat free: the 3-seat entry is passed by the next 1-seat entry (pass 1 of 2).
    cancel(&app, &holders[0], bookings[0]).await;
    wait_entry(&app, small[0], "offered").await;
    assert_eq!(passed(&app, big).await, 1);
    // Again (pass 2 of 2): from now on it holds the line.
    cancel(&app, &holders[1], bookings[1]).await;
    wait_entry(&app, small[1], "offered").await;
    assert_eq!(passed(&app, big).await, 2);
    cancel(&app, &holders[2], bookings[2]).await;
    app.eventually(
        "the freed seat is waiting for the head of the line",
        || async { inventory(&app, event).await == (0, 0, 2, 3) },
    )
    .await;
    // A newcomer does not get the free seat either.
    let newcomer = app.register().await;
    assert_eq!(
        book(&app, &newcomer, event, 1, false).await["reason"],
        "sold_out"
    );
    assert_eq!(entry_status(&app, small[2]).await, "waiting");
    assert_eq!(entry_status(&app, big).await, "waiting");

    // The offers are declined or expire: 3 seats free, the 3-seat entry is served first.
    let res = app
        .http
        .delete(app.url(&format!("/waitlist/{}", small[0])))
        .bearer_auth(&waiters[1].token)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(res.status(), 200);
    expire_offer_now(&app, small[1]).await;
    wait_entry(&app, big, "offered").await;
    assert_eq!(entry_status(&app, small[2]).await, "waiting");
    assert_eq!(inventory(&app, event).await, (0, 0, 3, 3));
    let res = claim(&app, &waiters[0], big).await;
    assert_eq!(res.status(), 201);
    let booking: Value = res.json().await.expect("json");
    assert_eq!(booking["quantity"], 3);
    app.shutdown().await;
}

#[tokio::test]
async fn newcomers_get_no_freed_seat_while_people_wait() {
    let mut app = TestApp::spawn().await;
    let (event, holders, bookings) = sold_out(&app, 1, 0).await;
    let waiter = app.register().await;
    let entry = id(&join(&app, &waiter, event, 1).await);
    let newcomer = app.register().await;

    // The cancellation and a newcomer's booking reach the pipeline together, cancellation first.
    app.kill_consumers().await;
    publish(&app, &cancel_command(&holders[0], event, bookings[0])).await;
    let snatch = Uuid::now_v7();
    publish(
        &app,
        &evently_schemas::BookingCommand::Reserve(evently_schemas::ReserveSeats {
            booking_id: snatch,
            event_id: event,
            user_id: newcomer.id,
            quantity: 1,
            waitlist_if_sold_out: false,
            requested_at: chrono::Utc::now(),
            lines: Vec::new(),
            promo_code: None,
            seats: Vec::new(),
            best_available: None,
        }),
    )
    .await;
    app.start_consumers();
    wait_entry(&app, entry, "offered").await;
    let decided = app.wait_decided(&newcomer, snatch).await;
    assert_eq!(decided["reason"], "sold_out");
    assert_eq!(inventory(&app, event).await, (0, 0, 1, 1));
    app.shutdown().await;
}

#[tokio::test]
async fn a_sold_out_booking_that_asked_for_the_waitlist_is_claimed_as_the_same_booking() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 1, 2000).await;
    let holder = app.register().await;
    let waiter = app.register().await;
    let held = id(&book(&app, &holder, event, 1, false).await);
    let waitlisted = book(&app, &waiter, event, 1, true).await;
    assert_eq!(waitlisted["status"], "waitlisted");
    let entry = &my_entries(&app, &waiter).await[0];
    assert_eq!(entry["booking_id"], waitlisted["id"]);
    assert_eq!(entry["position"], 1);

    expire_hold_now(&app, held).await;
    wait_booking(&app, held, "expired").await;
    wait_entry(&app, id(entry), "offered").await;
    let res = claim(&app, &waiter, id(entry)).await;
    assert_eq!(res.status(), 201);
    let booking: Value = res.json().await.expect("json");
    assert_eq!(booking["id"], waitlisted["id"]);
    assert_eq!(
        booking["status"], "held",
        "a paid event's claim is held until paid"
    );
    assert_eq!(
        pay(&app, &waiter, id(&booking), "tok_visa").await.status(),
        200
    );
    wait_booking(&app, id(&booking), "confirmed").await;
    assert_eq!(inventory(&app, event).await, (1, 0, 0, 1));
    app.shutdown().await;
}

#[tokio::test]
async fn two_waitlist_consumers_and_a_kill_never_offer_a_seat_twice_or_lose_one() {
    const SEATS: usize = 30;
    let mut app = TestApp::spawn().await;
    let (event, holders, bookings) = sold_out(&app, SEATS as i32, 0).await;
    let waiters = app.bulk_users(45).await;
    let mut entries = Vec::new();
    for w in &waiters {
        entries.push(id(&join(&app, w, event, 1).await));
    }
    app.start_second_consumers();

    // 1. Seats are freed; promotion is stuck inside its transaction (the first entry in line is
    //    locked by the test) while holding the event's row, everything else waits for that row;
    //    the first set is killed there.
    let mut blocker = app.pool.begin().await.expect("begin");
    sqlx::query("SELECT 1 FROM waitlist_entries WHERE id = $1 FOR UPDATE")
        .bind(entries[0])
        .execute(&mut *blocker)
        .await
        .expect("lock");
    for i in 0..10 {
        publish(&app, &cancel_command(&holders[i], event, bookings[i])).await;
    }
    app.eventually("a promotion waits inside its step", || async {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&app.pool)
        .await
        .expect("activity");
        waiting > 0
    })
    .await;
    assert_eq!(inventory(&app, event).await.2, 0, "nothing offered yet");
    app.kill_consumers().await;
    blocker.rollback().await.expect("rollback");
    app.eventually("ten seats offered", || async {
        inventory(&app, event).await.2 == 10
    })
    .await;

    // 2. The first set comes back, the second dies right after a promotion committed.
    app.start_consumers();
    for i in 10..20 {
        publish(&app, &cancel_command(&holders[i], event, bookings[i])).await;
    }
    app.eventually("a promotion after the restart", || async {
        inventory(&app, event).await.2 > 10
    })
    .await;
    app.kill_second_consumers().await;
    for i in 20..SEATS {
        publish(&app, &cancel_command(&holders[i], event, bookings[i])).await;
    }
    app.eventually("every freed seat offered", || async {
        inventory(&app, event).await == (0, 0, SEATS as i32, SEATS as i32)
    })
    .await;

    // Offered: exactly the first SEATS entries in join order, each once; nobody skipped.
    let offered: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM waitlist_entries WHERE event_id = $1 AND status = 'offered' ORDER BY position",
    )
    .bind(event)
    .fetch_all(&app.pool)
    .await
    .expect("offered");
    assert_eq!(offered, entries[..SEATS].to_vec());
    // The offers' events follow their commits; a promotion whose instance died after its commit
    // publishes them when its trigger is redelivered (after `ack_wait`).
    let js = evently_runtime::nats::jetstream(app.nats_client());
    let subject = app.prefix.waitlist_event("offered", event);
    let published = || async {
        let stream = js
            .get_stream(app.prefix.evt_stream())
            .await
            .expect("stream");
        let mut counts = stream
            .info_with_subjects(subject.clone())
            .await
            .expect("info");
        let mut published = 0;
        while let Some((_, n)) = futures::TryStreamExt::try_next(&mut counts)
            .await
            .expect("counts")
        {
            published += n;
        }
        published
    };
    app.eventually("every offer's event is published", || async {
        published().await >= SEATS
    })
    .await;
    assert_eq!(published().await, SEATS, "one offer event per offer");
    let unique: HashSet<_> = offered.iter().collect();
    assert_eq!(unique.len(), SEATS);
    app.shutdown().await;
}

#[tokio::test]
async fn bad_waitlist_requests_name_their_field_and_users_see_only_their_entries() {
    let app = TestApp::spawn().await;
    let (event, _, _) = sold_out(&app, 1, 0).await;
    let user = app.register().await;
    let other = app.register().await;

    for (body, field) in [
        (json!({"quantity": 0}), "quantity"),
        (json!({"quantity": 11}), "quantity"),
        (json!({"quantity": "two"}), "quantity"),
        (json!({}), "quantity"),
        (json!({"quantity": 1, "extra": true}), "extra"),
    ] {
        let res = app
            .post(
                &format!("/events/{event}/waitlist"),
                Some(&user.token),
                &body,
            )
            .await;
        assert_eq!(res.status(), 422, "{body}");
        let problem: Value = res.json().await.expect("json");
        assert!(problem["errors"][field].is_string(), "{problem}");
    }
    let res = app
        .post(
            &format!("/events/{}/waitlist", Uuid::new_v4()),
            Some(&user.token),
            &json!({"quantity": 1}),
        )
        .await;
    assert_eq!(res.status(), 404);
    let res = app
        .post(
            &format!("/events/{event}/waitlist"),
            None,
            &json!({"quantity": 1}),
        )
        .await;
    assert_eq!(res.status(), 401);
    let entry = id(&join(&app, &user, event, 1).await);
    let res = app
        .post(
            &format!("/events/{event}/waitlist"),
            Some(&user.token),
            &json!({"quantity": 1}),
        )
        .await;
    assert_eq!(res.status(), 409, "one active entry per user and event");
    // The same Idempotency-Key: the same entry; for another request: refused.
    let third = app.register().await;
    let keyed = |quantity: i32| {
        app.http
            .post(app.url(&format!("/events/{event}/waitlist")))
            .bearer_auth(&third.token)
            .header("Idempotency-Key", "wl-1")
            .json(&json!({"quantity": quantity}))
            .send()
    };
    let first: Value = keyed(1).await.expect("POST").json().await.expect("json");
    let again = keyed(1).await.expect("POST");
    assert_eq!(again.status(), 201);
    let again: Value = again.json().await.expect("json");
    assert_eq!(again["id"], first["id"]);
    let res = keyed(2).await.expect("POST");
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.expect("json");
    assert!(
        problem["errors"]["Idempotency-Key"].is_string(),
        "{problem}"
    );

    assert_eq!(claim(&app, &other, entry).await.status(), 404);
    let res = app
        .http
        .delete(app.url(&format!("/waitlist/{entry}")))
        .bearer_auth(&other.token)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(res.status(), 404);
    assert!(my_entries(&app, &other).await.is_empty());
    assert_eq!(my_entries(&app, &user).await.len(), 1);
    assert_eq!(
        claim(&app, &user, entry).await.status(),
        409,
        "nothing offered yet"
    );
    let res = app
        .get("/me/waitlist?status=bogus", Some(&user.token))
        .await;
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.expect("json");
    assert!(problem["errors"]["status"].is_string());
    assert_eq!(claim(&app, &user, Uuid::new_v4()).await.status(), 404);
    app.shutdown().await;
}

/// Books one ticket of type `ty` with `waitlist_if_sold_out`; returns the decided booking.
async fn book_type(
    app: &TestApp,
    user: &evently_tests::app::TestUser,
    event: Uuid,
    ty: &str,
) -> Value {
    evently_tests::flows::book_body(
        app,
        user,
        event,
        json!({"lines": [{"ticket_type_id": ty, "quantity": 1}], "waitlist_if_sold_out": true}),
    )
    .await
}

async fn entry_of_booking(app: &TestApp, booking: Uuid) -> (Uuid, Option<Uuid>) {
    sqlx::query_as("SELECT id, ticket_type_id FROM waitlist_entries WHERE booking_id = $1")
        .bind(booking)
        .fetch_one(&app.pool)
        .await
        .expect("entry")
}

#[tokio::test]
async fn a_freed_seat_of_a_ticket_type_goes_to_the_first_person_waiting_for_that_type() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 0).await;
    let mut types = Vec::new();
    for name in ["VIP", "General"] {
        let res = app
            .post(
                &format!("/events/{event}/ticket-types"),
                Some(&organizer.token),
                &json!({"name": name, "price_cents": 0, "quota": 1}),
            )
            .await;
        assert_eq!(res.status(), 201);
        let t: Value = res.json().await.expect("json");
        types.push(t["id"].as_str().expect("id").to_owned());
    }
    let (vip, general) = (&types[0], &types[1]);
    let users = app.bulk_users(5).await;
    let alice = book_type(&app, &users[0], event, vip).await;
    assert_eq!(alice["status"], "confirmed");
    assert_eq!(
        book_type(&app, &users[1], event, general).await["status"],
        "confirmed"
    );
    // Carol waits for General first, then Bob for VIP.
    let carol = book_type(&app, &users[2], event, general).await;
    assert_eq!(carol["status"], "waitlisted", "{carol}");
    let bob = book_type(&app, &users[3], event, vip).await;
    assert_eq!(bob["status"], "waitlisted");
    let (carol_entry, carol_type) = entry_of_booking(&app, id(&carol)).await;
    let (bob_entry, bob_type) = entry_of_booking(&app, id(&bob)).await;
    assert_eq!(carol_type.map(|t| t.to_string()), Some(general.clone()));
    assert_eq!(bob_type.map(|t| t.to_string()), Some(vip.clone()));
    let res = app
        .post(
            &format!("/events/{event}/waitlist"),
            Some(&users[4].token),
            &json!({"quantity": 1}),
        )
        .await;
    assert_eq!(res.status(), 422, "an event of types is waited for by type");

    // Alice's VIP seat is freed: it is Bob's (waiting for VIP), not Carol's (earlier, General).
    cancel(&app, &users[0], id(&alice)).await;
    wait_entry(&app, bob_entry, "offered").await;
    assert_eq!(entry_status(&app, carol_entry).await, "waiting");
    // A newcomer for VIP does not pass Bob.
    let eve = app
        .post(
            &format!("/events/{event}/bookings"),
            Some(&users[4].token),
            &json!({"lines": [{"ticket_type_id": vip, "quantity": 1}]}),
        )
        .await;
    let eve: Value = eve.json().await.expect("json");
    let eve = if eve["status"] == "pending" {
        app.wait_decided(&users[4], id(&eve)).await
    } else {
        eve
    };
    assert_eq!(eve["reason"], "sold_out", "{eve}");
    let res = claim(&app, &users[3], bob_entry).await;
    assert_eq!(res.status(), 201);
    let claimed: Value = res.json().await.expect("json");
    assert_eq!(claimed["status"], "confirmed");
    assert_eq!(claimed["lines"][0]["ticket_type_id"], json!(vip));
    let counts: Vec<(String, i32, i32, i32)> = sqlx::query_as(
        "SELECT name, sold, held, offered FROM ticket_types WHERE event_id = $1 ORDER BY name",
    )
    .bind(event)
    .fetch_all(&app.pool)
    .await
    .expect("types");
    assert_eq!(
        counts,
        vec![("General".into(), 1, 0, 0), ("VIP".into(), 1, 0, 0)],
        "each type counts its seats, none left offered"
    );
    assert_eq!(inventory(&app, event).await.0, 2, "the event sold two");
    app.shutdown().await;
}
