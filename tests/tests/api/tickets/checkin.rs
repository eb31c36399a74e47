//! Check-in at the door: a ticket admits once (also under 20 concurrent scans), forged, foreign
//! and garbled codes are refused naming `qr_payload`, and voided tickets are refused.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use evently_runtime::tickets::{TicketKeys, TicketSettings, signing};
use evently_tests::app::TestApp;
use futures::future::join_all;
use serde_json::json;
use uuid::Uuid;

use super::{checkin, confirmed_booking, payload, stream_count, tickets_of};

/// Waits until the organiser's analytics count one check-in for `event`.
async fn one_check_in_counted(
    app: &TestApp,
    organizer: &evently_tests::app::TestUser,
    event: Uuid,
) {
    app.eventually("the check-in reaches the analytics", || async {
        let analytics: serde_json::Value = app
            .get(
                &format!("/events/{event}/analytics"),
                Some(&organizer.token),
            )
            .await
            .json()
            .await
            .unwrap_or_default();
        analytics.to_string().contains("\"checked_in\":1")
    })
    .await;
}

#[tokio::test]
async fn check_in_admits_a_ticket_once_and_refuses_forged_foreign_and_garbled_codes() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 0).await;
    let other_event = app.create_event(&organizer, 10, 0).await;
    let holder = app.register().await;
    let booking = confirmed_booking(&app, &holder, event, 1).await;
    let ticket = tickets_of(&app, &holder, booking, 1).await.remove(0);
    let code = payload(&ticket);

    // Not the organizer: refused before anything is looked at.
    let (status, _) = checkin(&app, &holder, event, &json!({"qr_payload": code})).await;
    assert_eq!(status, 403);
    let rival = app.user_with_role("organizer").await;
    let (status, _) = checkin(&app, &rival, event, &json!({"qr_payload": code})).await;
    assert_eq!(status, 403);
    // Another event's door.
    let (status, body) = checkin(&app, &organizer, other_event, &json!({"qr_payload": code})).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["errors"]["qr_payload"].is_string());

    let (status, first) = checkin(&app, &organizer, event, &json!({"qr_payload": code})).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["ticket_number"], ticket["ticket_number"]);
    for _ in 0..2 {
        let (status, again) = checkin(&app, &organizer, event, &json!({"qr_payload": code})).await;
        assert_eq!(status, 409, "{again}");
        assert_eq!(again["first_checked_in_at"], first["checked_in_at"]);
    }

    // A code signed with a key the server does not trust, and one with a byte changed.
    let foreign = TicketKeys::from_settings(&TicketSettings {
        signing_key: Some(signing::generate_seed()),
        ..TicketSettings::default()
    })
    .expect("keys");
    let ticket_id: Uuid = ticket["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");
    let forged = foreign.sign(ticket_id, event, 0, None, chrono::Utc::now());
    let mut bytes = URL_SAFE_NO_PAD.decode(&code).expect("b64");
    bytes[20] ^= 0x40;
    let tampered = URL_SAFE_NO_PAD.encode(&bytes);
    let garbled = [
        json!({"qr_payload": forged}),
        json!({"qr_payload": tampered}),
        json!({"qr_payload": "not a ticket!"}),
        json!({"qr_payload": ""}),
        json!({"qr_payload": "A".repeat(5000)}),
        json!({"qr_payload": 42}),
        json!({}),
    ];
    for body in garbled {
        let (status, problem) = checkin(&app, &organizer, event, &body).await;
        assert_eq!(status, 422, "{body} -> {problem}");
        assert!(problem["errors"]["qr_payload"].is_string(), "{problem}");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn twenty_concurrent_scans_of_one_ticket_admit_exactly_one() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 0).await;
    let holder = app.register().await;
    let booking = confirmed_booking(&app, &holder, event, 1).await;
    let code = payload(&tickets_of(&app, &holder, booking, 1).await[0]);

    let body = json!({"qr_payload": code});
    let scans = (0..20).map(|_| checkin(&app, &organizer, event, &body));
    let results = join_all(scans).await;
    let statuses: Vec<u16> = results.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        19,
        "{statuses:?}"
    );
    let admitted = results
        .iter()
        .find(|(s, _)| *s == 200)
        .map(|(_, b)| b)
        .expect("one");
    assert!(
        results
            .iter()
            .filter(|(s, _)| *s == 409)
            .all(|(_, b)| b["first_checked_in_at"] == admitted["checked_in_at"])
    );
    // One `ticket.checked_in` event, and the organiser's analytics count one check-in.
    one_check_in_counted(&app, &organizer, event).await;
    app.shutdown().await;
}

#[tokio::test]
async fn a_cancelled_booking_voids_its_tickets_and_the_door_refuses_them() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 0).await;
    let holder = app.register().await;
    let booking = confirmed_booking(&app, &holder, event, 2).await;
    let tickets = tickets_of(&app, &holder, booking, 2).await;

    let res = app
        .post(
            &format!("/bookings/{booking}/cancel"),
            Some(&holder.token),
            &json!({}),
        )
        .await;
    assert!(
        res.status() == 200 || res.status() == 202,
        "{}",
        res.status()
    );
    app.eventually("the tickets are voided", || async {
        let void: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM tickets WHERE booking_id = $1 AND status = 'void'",
        )
        .bind(booking)
        .fetch_one(&app.pool)
        .await
        .expect("count");
        void == 2
    })
    .await;
    for ticket in &tickets {
        let (status, body) = checkin(
            &app,
            &organizer,
            event,
            &json!({"qr_payload": payload(ticket)}),
        )
        .await;
        assert_eq!(status, 422, "{body}");
        assert!(
            body["errors"]["qr_payload"]
                .as_str()
                .unwrap_or_default()
                .contains("void")
        );
    }
    app.eventually("TicketsVoided was published", || async {
        stream_count(&app, &app.prefix.ticket_voided(event)).await == 1
    })
    .await;
    app.shutdown().await;
}

/// NATS away at the door: the check-in is still admitted at once (the door does not wait on the
/// broker), a booking meanwhile is a 503 with `Retry-After`, and the check-in's event, kept in the
/// outbox with the admission, reaches the stream and the analytics once NATS is back.
#[tokio::test]
async fn a_check_in_while_nats_is_away_reaches_the_pipeline_once_it_is_back() {
    let mut app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 0).await;
    let holder = app.register().await;
    let booking = confirmed_booking(&app, &holder, event, 1).await;
    let code = payload(&tickets_of(&app, &holder, booking, 1).await[0]);

    app.nats.stop().await.expect("stop nats");
    let started = std::time::Instant::now();
    let (status, admitted) = checkin(&app, &organizer, event, &json!({"qr_payload": code})).await;
    assert_eq!(status, 200, "{admitted}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "the door waited {:?} on the broker",
        started.elapsed()
    );
    let res = app
        .book(&holder, event, 1, Some("while-nats-is-away"))
        .await;
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&app.pool)
        .await
        .expect("outbox");
    assert_eq!(queued, 1, "the check-in's event waits in the outbox");
    // Longer than the sweeper's grace, so that it, not the gateway, may be the one to publish.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;

    app.nats.restart().await.expect("restart nats");
    app.eventually("the outbox is published", || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM outbox")
            .fetch_one(&app.pool)
            .await
            .is_ok_and(|n| n == 0)
    })
    .await;
    one_check_in_counted(&app, &organizer, event).await;
    assert_eq!(
        stream_count(&app, &app.prefix.ticket_checked_in(event)).await,
        1,
        "one ticket.checked_in event, however many times it was published"
    );
    app.shutdown().await;
}
