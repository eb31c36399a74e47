//! Holds and payments: a paid booking is held until paid, payment through the test provider, the
//! hold's expiry, a late payment refunded, signed webhooks, refunds on cancellation, and money
//! that adds up after a random run.

use evently_tests::app::{TEST_WEBHOOK_SECRET, TestApp};
use evently_tests::flows::{
    book, booking_status, expire_hold_now, id, inventory, net_paid, pay, signed_webhook,
    wait_booking, webhook, webhook_body,
};
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};
use uuid::Uuid;

async fn payment_rows(app: &TestApp, booking: Uuid) -> Vec<(String, i64)> {
    sqlx::query_as(
        "SELECT status, amount_cents FROM payments WHERE booking_id = $1 ORDER BY created_at",
    )
    .bind(booking)
    .fetch_all(&app.pool)
    .await
    .expect("payments")
}

#[tokio::test]
async fn a_paid_booking_is_held_until_paid_then_confirmed_with_its_payment_recorded() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 5, 2500).await;
    let user = app.register().await;

    let booking = book(&app, &user, event, 2, false).await;
    assert_eq!(booking["status"], "held");
    assert_eq!(booking["amount_cents"], 5000);
    let expires: chrono::DateTime<chrono::Utc> = booking["hold_expires_at"]
        .as_str()
        .expect("hold")
        .parse()
        .expect("time");
    let minutes = (expires - chrono::Utc::now()).num_minutes();
    assert!(
        (8..=10).contains(&minutes),
        "a ten-minute hold, got {minutes}"
    );
    assert_eq!(inventory(&app, event).await, (0, 2, 0, 5));

    let res = pay(&app, &user, id(&booking), "tok_visa").await;
    assert_eq!(res.status(), 200);
    let payment: Value = res.json().await.expect("json");
    assert_eq!(payment["status"], "applied");
    assert_eq!(payment["amount_cents"], 5000);
    assert_eq!(booking_status(&app, id(&booking)).await, "confirmed");
    assert_eq!(inventory(&app, event).await, (2, 0, 0, 5));
    assert_eq!(
        payment_rows(&app, id(&booking)).await,
        vec![("applied".into(), 5000)]
    );
    assert_eq!(net_paid(&app, id(&booking)).await, 5000);

    // Paying again: the booking is no longer held.
    assert_eq!(
        pay(&app, &user, id(&booking), "tok_visa").await.status(),
        409
    );
    // A free event's booking is confirmed at once, without a hold.
    let free = app.create_event(&organizer, 5, 0).await;
    assert_eq!(
        book(&app, &user, free, 1, false).await["status"],
        "confirmed"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_declined_card_is_refused_and_bad_payment_requests_name_their_field() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 5, 1000).await;
    let user = app.register().await;
    let stranger = app.register().await;
    let booking = id(&book(&app, &user, event, 1, false).await);

    let res = pay(&app, &user, booking, "tok_chargeDeclined").await;
    assert_eq!(res.status(), 402);
    assert_eq!(
        res.headers()["content-type"].to_str().expect("ct"),
        "application/problem+json"
    );
    assert_eq!(booking_status(&app, booking).await, "held");
    assert!(payment_rows(&app, booking).await.is_empty());

    let res = app
        .post(
            &format!("/bookings/{booking}/pay"),
            Some(&user.token),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.expect("json");
    assert!(problem["errors"]["payment_method"].is_string(), "{problem}");
    let res = pay(&app, &user, booking, "tok_unknown").await;
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.expect("json");
    assert!(problem["errors"]["payment_method"].is_string(), "{problem}");
    let res = app
        .post(
            &format!("/bookings/{booking}/pay"),
            Some(&user.token),
            &json!({"payment_method": 7}),
        )
        .await;
    assert_eq!(res.status(), 422);
    // Somebody else's booking does not exist for them.
    assert_eq!(
        pay(&app, &stranger, booking, "tok_visa").await.status(),
        404
    );
    assert_eq!(
        app.post(
            "/bookings/not-a-uuid/pay",
            Some(&user.token),
            &json!({"payment_method": "tok_visa"})
        )
        .await
        .status(),
        404
    );
    assert_eq!(pay(&app, &user, booking, "tok_visa").await.status(), 200);
    app.shutdown().await;
}

#[tokio::test]
async fn an_expired_hold_frees_its_seats_for_the_next_buyer() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 1, 1000).await;
    let first = app.register().await;
    let second = app.register().await;

    let held = id(&book(&app, &first, event, 1, false).await);
    let refused = book(&app, &second, event, 1, false).await;
    assert_eq!(refused["reason"], "sold_out");

    expire_hold_now(&app, held).await;
    wait_booking(&app, held, "expired").await;
    assert_eq!(inventory(&app, event).await, (0, 0, 0, 1));
    assert_eq!(pay(&app, &first, held, "tok_visa").await.status(), 409);
    let next = book(&app, &second, event, 1, false).await;
    assert_eq!(next["status"], "held");
    app.shutdown().await;
}

#[tokio::test]
async fn a_payment_that_arrives_after_the_hold_expired_is_refunded_never_confirmed() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 1, 1500).await;
    let late = app.register().await;
    let other = app.register().await;
    let booking = id(&book(&app, &late, event, 1, false).await);

    // 3-D Secure: the provider confirms later, by webhook.
    let res = pay(&app, &late, booking, "tok_threeDSecure").await;
    assert_eq!(res.status(), 202);
    let pending: Value = res.json().await.expect("json");
    assert_eq!(pending["status"], "pending");
    let intent = pending["provider_payment_id"]
        .as_str()
        .expect("intent")
        .to_owned();

    // Meanwhile the hold expires and somebody else takes the seat.
    expire_hold_now(&app, booking).await;
    wait_booking(&app, booking, "expired").await;
    let taken = id(&book(&app, &other, event, 1, false).await);
    assert_eq!(booking_status(&app, taken).await, "held");

    let body = webhook_body(
        "evt_late_1",
        "payment_intent.succeeded",
        &intent,
        booking,
        1500,
    );
    assert_eq!(signed_webhook(&app, &body).await.status(), 200);
    app.eventually("the late payment is recorded", || async {
        !payment_rows(&app, booking).await.is_empty()
    })
    .await;
    assert_eq!(
        payment_rows(&app, booking).await,
        vec![("refunded".into(), 1500)]
    );
    let reason: String = sqlx::query_scalar("SELECT reason FROM refunds WHERE booking_id = $1")
        .bind(booking)
        .fetch_one(&app.pool)
        .await
        .expect("refund");
    assert_eq!(reason, "hold_expired");
    assert_eq!(net_paid(&app, booking).await, 0);
    assert_eq!(booking_status(&app, booking).await, "expired");
    assert_eq!(booking_status(&app, taken).await, "held");
    assert_eq!(
        inventory(&app, event).await,
        (0, 1, 0, 1),
        "no seat given twice"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_webhook_with_a_bad_signature_or_an_old_timestamp_is_refused_and_a_replay_changes_nothing()
 {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 3, 1500).await;
    let user = app.register().await;
    let booking = id(&book(&app, &user, event, 1, false).await);
    let res = pay(&app, &user, booking, "tok_threeDSecure").await;
    let pending: Value = res.json().await.expect("json");
    let intent = pending["provider_payment_id"]
        .as_str()
        .expect("intent")
        .to_owned();
    let body = webhook_body("evt_1", "payment_intent.succeeded", &intent, booking, 1500);
    let now = chrono::Utc::now().timestamp();

    assert_eq!(
        webhook(&app, &body, now, "not-the-secret-0123456789abcdefgh")
            .await
            .status(),
        400
    );
    assert_eq!(
        webhook(&app, &body, now - 301, TEST_WEBHOOK_SECRET)
            .await
            .status(),
        400
    );
    let unsigned = app
        .http
        .post(app.url("/payments/webhook"))
        .body(body.clone())
        .send()
        .await
        .expect("POST");
    assert_eq!(unsigned.status(), 400);
    // A body changed after signing.
    let signature =
        evently_runtime::payments::webhook::sign(TEST_WEBHOOK_SECRET, now, body.as_bytes());
    let tampered = app
        .http
        .post(app.url("/payments/webhook"))
        .header("Evently-Signature", signature)
        .body(body.replace("1500", "1"))
        .send()
        .await
        .expect("POST");
    assert_eq!(tampered.status(), 400);
    assert_eq!(booking_status(&app, booking).await, "held");

    let res = signed_webhook(&app, &body).await;
    assert_eq!(res.status(), 200);
    let out: Value = res.json().await.expect("json");
    assert_eq!(out["duplicate"], false);
    wait_booking(&app, booking, "confirmed").await;

    // The same delivery again, and another event about the same payment: nothing changes.
    let res = signed_webhook(&app, &body).await;
    let out: Value = res.json().await.expect("json");
    assert_eq!(out["duplicate"], true);
    let again = webhook_body("evt_2", "payment_intent.succeeded", &intent, booking, 1500);
    assert_eq!(signed_webhook(&app, &again).await.status(), 200);
    let unrelated = webhook_body("evt_3", "charge.updated", &intent, booking, 1500);
    assert_eq!(signed_webhook(&app, &unrelated).await.status(), 200);
    // Give the pipeline a chance to (wrongly) apply a copy: a later payment of another booking
    // goes through the same consumer, so once it is applied the copies would have been too.
    let witness = id(&book(&app, &user, event, 1, false).await);
    assert_eq!(pay(&app, &user, witness, "tok_visa").await.status(), 200);
    assert_eq!(
        payment_rows(&app, booking).await,
        vec![("applied".into(), 1500)]
    );
    assert_eq!(net_paid(&app, booking).await, 1500);
    assert_eq!(inventory(&app, event).await, (2, 0, 0, 3));
    app.shutdown().await;
}

#[tokio::test]
async fn cancelling_a_paid_booking_records_a_refund_made_through_the_provider() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 3, 4000).await;
    let user = app.register().await;
    let booking = id(&book(&app, &user, event, 2, false).await);
    assert_eq!(pay(&app, &user, booking, "tok_visa").await.status(), 200);

    let res = app
        .post(
            &format!("/bookings/{booking}/cancel"),
            Some(&user.token),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    wait_booking(&app, booking, "cancelled").await;
    app.eventually("the provider made the refund", || async {
        let made: Option<(String, i64)> = sqlx::query_as(
            "SELECT provider_refund_id, amount_cents FROM refunds WHERE booking_id = $1 AND refunded_at IS NOT NULL",
        )
        .bind(booking)
        .fetch_optional(&app.pool)
        .await
        .expect("refund");
        made.is_some_and(|(id, amount)| id.starts_with("re_test_") && amount == 8000)
    })
    .await;
    assert_eq!(net_paid(&app, booking).await, 0);
    assert_eq!(inventory(&app, event).await, (0, 0, 0, 3));
    app.shutdown().await;
}

#[tokio::test]
async fn payments_minus_refunds_match_every_booking_after_a_random_run() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 6, 1000).await;
    // Discounts too: half price for the first three bookings that hold seats with it, and 5.00 off.
    for (code, off) in [
        ("HALF", json!({"percent_off": 50, "max_uses": 3})),
        ("FIVE", json!({"amount_off_cents": 500})),
    ] {
        let mut body = off;
        body["code"] = json!(code);
        let res = app
            .post(
                &format!("/events/{event}/promo-codes"),
                Some(&organizer.token),
                &body,
            )
            .await;
        assert_eq!(res.status(), 201);
    }
    let users = app.bulk_users(8).await;
    let seed: u64 = rand::random();
    eprintln!("seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    // (user index, booking id, intent of a pending payment)
    let mut bookings: Vec<(usize, Uuid, Option<String>)> = Vec::new();
    let mut webhooks = 0;
    for _ in 0..40 {
        let op = rng.random_range(0..6);
        if op == 0 || bookings.is_empty() {
            let u = rng.random_range(0..users.len());
            let quantity = rng.random_range(1..=2);
            let b = match rng.random_range(0..3) {
                0 => book(&app, &users[u], event, quantity, false).await,
                n => {
                    let code = if n == 1 { "half" } else { "FIVE" };
                    let res = app
                        .post(
                            &format!("/events/{event}/bookings"),
                            Some(&users[u].token),
                            &json!({"quantity": quantity, "promo_code": code}),
                        )
                        .await;
                    match res.status().as_u16() {
                        201 | 202 => {
                            let b: Value = res.json().await.expect("json");
                            app.wait_decided(&users[u], id(&b)).await
                        }
                        // The code's uses are all taken (checked again by the consumer).
                        422 => continue,
                        other => panic!("a booking with a code answered {other}"),
                    }
                }
            };
            if b["status"] == "held" {
                bookings.push((u, id(&b), None));
            }
            continue;
        }
        let pick = rng.random_range(0..bookings.len());
        let (u, booking, intent) = bookings[pick].clone();
        let user = &users[u];
        match op {
            1 => {
                let res = pay(&app, user, booking, "tok_visa").await;
                assert!(
                    [200, 409].contains(&res.status().as_u16()),
                    "pay: {}",
                    res.status()
                );
            }
            2 => {
                let res = pay(&app, user, booking, "tok_threeDSecure").await;
                if res.status() == 202 {
                    let body: Value = res.json().await.expect("json");
                    bookings[pick].2 = body["provider_payment_id"].as_str().map(str::to_owned);
                }
            }
            3 => {
                let res = app
                    .post(
                        &format!("/bookings/{booking}/cancel"),
                        Some(&user.token),
                        &json!({}),
                    )
                    .await;
                assert!(
                    [200, 409].contains(&res.status().as_u16()),
                    "cancel: {}",
                    res.status()
                );
            }
            4 => {
                if booking_status(&app, booking).await == "held" {
                    expire_hold_now(&app, booking).await;
                    wait_booking(&app, booking, "expired").await;
                }
            }
            _ => {
                if let Some(intent) = intent {
                    webhooks += 1;
                    let body = webhook_body(
                        &format!("evt_{webhooks}"),
                        "payment_intent.succeeded",
                        &intent,
                        booking,
                        {
                            let amount: i64 = sqlx::query_scalar(
                                "SELECT amount_cents FROM bookings WHERE id = $1",
                            )
                            .bind(booking)
                            .fetch_one(&app.pool)
                            .await
                            .expect("amount");
                            amount
                        },
                    );
                    assert_eq!(signed_webhook(&app, &body).await.status(), 200);
                    let payment = evently_schemas::payment_id("test", &intent);
                    app.eventually("the webhook's payment is recorded", || async {
                        sqlx::query_scalar::<_, bool>(
                            "SELECT EXISTS (SELECT 1 FROM payments WHERE id = $1)",
                        )
                        .bind(payment)
                        .fetch_one(&app.pool)
                        .await
                        .expect("payment")
                    })
                    .await;
                }
            }
        }
    }
    let rows: Vec<(Uuid, String, i64, i32)> = sqlx::query_as(
        "SELECT id, status, amount_cents, quantity FROM bookings WHERE event_id = $1",
    )
    .bind(event)
    .fetch_all(&app.pool)
    .await
    .expect("bookings");
    let (mut sold, mut held) = (0, 0);
    for (booking, status, amount, quantity) in &rows {
        let net = net_paid(&app, *booking).await;
        match status.as_str() {
            "confirmed" => {
                assert_eq!(net, *amount, "a confirmed booking keeps exactly its price");
                sold += quantity;
            }
            "held" => {
                assert_eq!(net, 0, "a held booking has paid nothing");
                held += quantity;
            }
            _ => assert_eq!(net, 0, "a {status} booking got its money back"),
        }
    }
    let (s, h, o, c) = inventory(&app, event).await;
    assert_eq!(
        (s, h, o),
        (sold, held, 0),
        "the inventory matches the bookings"
    );
    assert!(s + h <= c);
    // Each discounted booking's price and discount add up to its seats' price, and each code's
    // uses are the bookings holding seats with it, never more than its limit.
    let discounted: Vec<(i64, i64, i32)> = sqlx::query_as(
        "SELECT amount_cents, discount_cents, quantity FROM bookings WHERE event_id = $1 AND promo_code_id IS NOT NULL",
    )
    .bind(event)
    .fetch_all(&app.pool)
    .await
    .expect("discounted");
    for (amount, discount, quantity) in &discounted {
        assert_eq!(amount + discount, 1000 * i64::from(*quantity));
        assert!(*discount > 0);
    }
    let codes: Vec<(String, i32, Option<i32>, i64)> = sqlx::query_as(
        "SELECT p.code, p.uses, p.max_uses, (SELECT count(*) FROM bookings b WHERE b.promo_code_id = p.id \
         AND b.status IN ('held', 'confirmed')) FROM promo_codes p WHERE p.event_id = $1",
    )
    .bind(event)
    .fetch_all(&app.pool)
    .await
    .expect("codes");
    for (code, uses, max, holding) in &codes {
        assert_eq!(
            i64::from(*uses),
            *holding,
            "{code}: uses are the bookings holding seats"
        );
        assert!(max.is_none_or(|m| *uses <= m), "{code}: {uses} uses");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn a_hold_that_falls_due_while_the_pipeline_is_down_expires_after_a_restart() {
    let mut app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 2, 1000).await;
    let user = app.register().await;
    let held = id(&book(&app, &user, event, 2, false).await);
    app.kill_consumers().await;
    expire_hold_now(&app, held).await;
    app.start_consumers();
    wait_booking(&app, held, "expired").await;
    assert_eq!(inventory(&app, event).await, (0, 0, 0, 2));
    app.shutdown().await;
}

#[tokio::test]
async fn a_payment_that_beats_the_sweeper_to_an_expired_hold_is_still_refunded() {
    let mut app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 1, 1500).await;
    let user = app.register().await;
    let booking = id(&book(&app, &user, event, 1, false).await);
    let res = pay(&app, &user, booking, "tok_threeDSecure").await;
    let pending: Value = res.json().await.expect("json");
    let intent = pending["provider_payment_id"]
        .as_str()
        .expect("intent")
        .to_owned();

    // The hold is past due but not yet expired (no sweeper runs) when the payment is applied.
    app.kill_consumers().await;
    expire_hold_now(&app, booking).await;
    let body = webhook_body(
        "evt_race",
        "payment_intent.succeeded",
        &intent,
        booking,
        1500,
    );
    assert_eq!(signed_webhook(&app, &body).await.status(), 200);
    app.start_consumers();
    app.eventually("the payment is recorded", || async {
        !payment_rows(&app, booking).await.is_empty()
    })
    .await;
    assert_eq!(
        payment_rows(&app, booking).await,
        vec![("refunded".into(), 1500)]
    );
    wait_booking(&app, booking, "expired").await;
    assert_eq!(net_paid(&app, booking).await, 0);
    assert_eq!(inventory(&app, event).await, (0, 0, 0, 1));
    app.shutdown().await;
}
