//! Web Push: subscriptions, the VAPID public key, and pushes to a local push service that
//! verifies the VAPID JWT and decrypts the payload with the subscriber's keys.

use evently_tests::app::{TestApp, TestUser};
use evently_tests::push_service::{PushService, SubscriberKeys};
use evently_tests::smtp_sink::SmtpSink;
use serde_json::{Value, json};
use uuid::Uuid;

use super::notifications::{book_confirmed, spawn};

pub(crate) async fn subscribe(
    app: &TestApp,
    user: &TestUser,
    endpoint: &str,
    keys: &SubscriberKeys,
) -> Uuid {
    let res = app
        .post(
            "/me/push-subscriptions",
            Some(&user.token),
            &json!({"endpoint": endpoint, "keys": keys.json()}),
        )
        .await;
    assert_eq!(
        res.status(),
        201,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let body: Value = res.json().await.expect("json");
    body["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id")
}

async fn public_key(app: &TestApp) -> String {
    let res = app.get("/push/public-key", None).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    body["public_key"].as_str().expect("key").to_owned()
}

#[tokio::test]
async fn a_web_push_is_signed_with_vapid_and_decrypts_to_the_booking_message() {
    let sink = SmtpSink::start().await.expect("sink");
    let push = PushService::start().await.expect("push service");
    let app = spawn(&sink).await;
    let organizer = app.user_with_role("organizer").await;
    let user = app.register().await;
    let keys = SubscriberKeys::generate();
    subscribe(&app, &user, &push.endpoint("a"), &keys).await;
    let event = app.create_event(&organizer, 10, 0).await;
    let booking = book_confirmed(&app, &user, event).await;

    app.eventually("the push arrives", || async { push.count() == 1 })
        .await;
    let request = push.requests().remove(0);
    let plaintext = request
        .verify(&public_key(&app).await, &push.origin, &keys)
        .expect("verifies and decrypts");
    let message: Value = serde_json::from_slice(&plaintext).expect("json payload");
    assert_eq!(message["kind"], "booking_confirmed");
    assert_eq!(message["data"]["booking"]["id"], booking.to_string());
    assert_eq!(message["title"], "Booking confirmed");
    assert_eq!(request.header("urgency"), Some("normal"));
    assert_eq!(request.header("ttl"), Some("86400"));
    assert!(request.header("topic").is_some_and(|t| t.len() == 32));
    // Another subscriber's keys cannot read it.
    assert!(
        request
            .verify(
                &public_key(&app).await,
                &push.origin,
                &SubscriberKeys::generate()
            )
            .is_err()
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_push_service_answering_410_gets_its_subscription_deleted() {
    let sink = SmtpSink::start().await.expect("sink");
    let push = PushService::start().await.expect("push service");
    push.answer(410);
    let app = spawn(&sink).await;
    let organizer = app.user_with_role("organizer").await;
    let user = app.register().await;
    let id = subscribe(
        &app,
        &user,
        &push.endpoint("gone"),
        &SubscriberKeys::generate(),
    )
    .await;
    let event = app.create_event(&organizer, 10, 0).await;
    book_confirmed(&app, &user, event).await;

    app.eventually("the subscription is deleted", || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM push_subscriptions WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .expect("count")
            == 0
    })
    .await;
    assert_eq!(push.count(), 1);
    let res = app
        .http
        .delete(app.url(&format!("/me/push-subscriptions/{id}")))
        .bearer_auth(&user.token)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(res.status(), 404);
    app.shutdown().await;
}

#[tokio::test]
async fn a_push_subscription_with_a_bad_endpoint_or_keys_is_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let good = SubscriberKeys::generate().json();
    let cases = [
        (
            json!({"endpoint": "http://example.com/push", "keys": good}),
            "endpoint",
        ),
        (
            json!({"endpoint": "https://push.example/x", "keys": {"p256dh": "AAAA", "auth": good["auth"]}}),
            "keys.p256dh",
        ),
        (
            json!({"endpoint": "https://push.example/x", "keys": {"p256dh": good["p256dh"], "auth": "!!"}}),
            "keys.auth",
        ),
    ];
    for (body, field) in cases {
        let res = app
            .post("/me/push-subscriptions", Some(&user.token), &body)
            .await;
        assert_eq!(res.status(), 422, "{field}");
        let problem: Value = res.json().await.expect("json");
        assert!(problem["errors"][field].is_string(), "{field}: {problem}");
    }
    // Without a VAPID key there is no public key to subscribe with.
    assert_eq!(app.get("/push/public-key", None).await.status(), 404);
    let res = app.post("/me/push-subscriptions", None, &json!({})).await;
    assert_eq!(res.status(), 401);
    app.shutdown().await;
}
