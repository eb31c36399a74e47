//! Operations: health, metrics and the OpenAPI document.

use evently_tests::app::{TestApp, TestOptions};
use serde_json::Value;

#[tokio::test]
async fn health_metrics_and_the_api_document_are_served() {
    let app = TestApp::spawn_with(TestOptions {
        consumers: false,
        ..Default::default()
    })
    .await;
    let get = |path: &str| app.http.get(format!("{}{path}", app.base)).send();
    assert_eq!(get("/health/live").await.expect("live").status(), 200);
    let ready: Value = get("/health/ready")
        .await
        .expect("ready")
        .json()
        .await
        .expect("json");
    assert_eq!(ready["status"], "ok");

    let doc: Value = get("/api/openapi.json")
        .await
        .expect("openapi")
        .json()
        .await
        .expect("json");
    for path in [
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/me",
        "/api/v1/venues",
        "/api/v1/events",
        "/api/v1/events/{id}",
        "/api/v1/events/{id}/bookings",
        "/api/v1/bookings/{id}",
        "/api/v1/bookings/{id}/cancel",
        "/api/v1/me/bookings",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(
        doc["components"]["securitySchemes"]["bearer"].is_object(),
        "bearer scheme declared"
    );
    assert!(
        doc["paths"]["/api/v1/me"]["get"]["security"].is_array(),
        "protected routes say so"
    );
    assert_eq!(get("/docs/").await.expect("docs").status(), 200);

    let user = app.register().await;
    let _ = app.get("/me", Some(&user.token)).await;
    let metrics = get("/metrics")
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("evently_http_request_duration_seconds_bucket"),
        "{metrics}"
    );
    assert!(metrics.contains("route=\"/api/v1/me\""), "{metrics}");
    app.shutdown().await;
}

/// `evently nats status` and the lag gauges read the same thing: a backlog that builds while the
/// consumers are stopped shows as `pending`, drains when they run, and reaches `/metrics`.
#[tokio::test]
async fn the_consumer_backlog_shows_in_nats_status_and_in_the_metrics() {
    let mut app = TestApp::spawn_with(TestOptions {
        consumers: false,
        decision_wait_ms: 100,
        ..Default::default()
    })
    .await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 0).await;
    let users = app.bulk_users(4).await;
    for user in &users {
        assert_eq!(app.book(user, event, 1, None).await.status(), 202);
    }
    let js = evently_runtime::nats::jetstream(app.nats_client());
    let reservations = |streams: &[evently_consumers::status::StreamStatus]| {
        streams
            .iter()
            .flat_map(|s| s.consumers.iter())
            .find(|c| c.name == "reservations")
            .cloned()
            .expect("the reservations consumer is listed")
    };
    let streams = evently_consumers::status::read(&js, &app.prefix)
        .await
        .expect("status");
    assert_eq!(reservations(&streams).pending, 4);
    let table = evently_consumers::status::render(&streams);
    assert!(table.contains("reservations"), "{table}");
    assert!(table.contains(&app.prefix.dlq_stream()), "{table}");

    let watching = tokio_util::sync::CancellationToken::new();
    tokio::spawn(evently_consumers::status::watch(
        js.clone(),
        app.prefix.clone(),
        std::time::Duration::from_millis(100),
        watching.clone(),
    ));
    let (http, metrics_url) = (app.http.clone(), format!("{}/metrics", app.base));
    let metrics = || async {
        http.get(&metrics_url)
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    };
    app.eventually("the lag gauge shows the backlog", || async {
        metrics()
            .await
            .contains("evently_consumer_pending{consumer=\"reservations\"} 4")
    })
    .await;

    app.start_consumers();
    app.eventually("the backlog drains", || async {
        let streams = evently_consumers::status::read(&js, &app.prefix)
            .await
            .expect("status");
        let c = reservations(&streams);
        c.pending == 0 && c.ack_pending == 0
    })
    .await;
    app.eventually("the lag gauge follows", || async {
        metrics()
            .await
            .contains("evently_consumer_pending{consumer=\"reservations\"} 0")
    })
    .await;
    assert_eq!(app.count_bookings(event, "confirmed").await, 4);
    watching.cancel();
    app.shutdown().await;
}

/// The trace id of a booking request (`x-trace-id`) travels in the `traceparent` header of the
/// command it published, of the domain event the reservations consumer published and of the
/// ticket event the tickets consumer published, each hop with a span of its own.
#[tokio::test]
async fn a_booking_keeps_one_trace_id_from_the_request_to_its_ticket() {
    let app = TestApp::spawn().await;
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 5, 0).await;
    let user = app.register().await;
    let res = app.book(&user, event, 1, None).await;
    assert_eq!(res.status(), 201);
    let trace_id = res
        .headers()
        .get("x-trace-id")
        .and_then(|v| v.to_str().ok())
        .expect("x-trace-id")
        .to_owned();
    assert_eq!(trace_id.len(), 32);

    let js = evently_runtime::nats::jetstream(app.nats_client());
    let traceparent = |stream: String, subject: String| {
        let js = js.clone();
        async move {
            let stream = js.get_stream(&stream).await.expect("stream");
            let message = stream
                .get_last_raw_message_by_subject(&subject)
                .await
                .expect("message");
            message
                .headers
                .get("traceparent")
                .map(|v| v.as_str().to_owned())
                .unwrap_or_else(|| panic!("no traceparent on {subject}"))
        }
    };
    let command = traceparent(app.prefix.cmd_stream(), app.prefix.reserve(event)).await;
    let confirmed = traceparent(
        app.prefix.evt_stream(),
        app.prefix
            .booking_event(evently_schemas::BookingStatus::Confirmed, event),
    )
    .await;
    app.eventually("the tickets consumer publishes the ticket", || async {
        js.get_stream(app.prefix.evt_stream())
            .await
            .expect("stream")
            .get_last_raw_message_by_subject(&app.prefix.ticket_issued(event))
            .await
            .is_ok()
    })
    .await;
    let ticket = traceparent(app.prefix.evt_stream(), app.prefix.ticket_issued(event)).await;
    let id = evently_runtime::trace_context::trace_id_of;
    assert_eq!(id(&command), Some(trace_id.as_str()), "{command}");
    assert_eq!(id(&confirmed), Some(trace_id.as_str()), "{confirmed}");
    assert_eq!(id(&ticket), Some(trace_id.as_str()), "{ticket}");
    assert_ne!(
        confirmed, ticket,
        "the tickets consumer's step is a span of its own"
    );
    assert_ne!(
        command, confirmed,
        "the consumer's step is a span of its own"
    );
    app.shutdown().await;
}
