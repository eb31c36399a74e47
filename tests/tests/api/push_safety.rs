//! Safe outbound calls: a push subscription may only name a push service's host (the allowlist),
//! never an IP address, user info or another port, and the consumer sends nothing to an endpoint
//! or an address outside the policy, even for a subscription written straight into the database.
//! The only traffic these tests make is on loopback, and they show it never arrives.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use evently_runtime::notify_settings::NotificationSettings;
use evently_runtime::push_policy::DEFAULT_PUSH_HOSTS;
use evently_tests::app::{TestApp, TestOptions, TestUser};
use evently_tests::push_service::{PushService, SubscriberKeys};
use evently_tests::smtp_sink::SmtpSink;
use serde_json::{Value, json};
use uuid::Uuid;

use super::notifications::{book_confirmed, drained, settings};

/// A listener on 127.0.0.1 that only counts the connections made to it.
async fn connection_counter() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    (port, accepted)
}

async fn subscriptions(app: &TestApp, user: &TestUser) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM push_subscriptions WHERE user_id = $1")
        .bind(user.id)
        .fetch_one(&app.pool)
        .await
        .expect("count")
}

#[tokio::test]
async fn a_subscription_outside_the_push_services_or_by_ip_address_is_refused_naming_endpoint() {
    let app = TestApp::spawn().await;
    let user = app.register().await;
    let keys = SubscriberKeys::generate().json();
    let refused = [
        "https://127.0.0.1/push",
        "https://127.1/push",
        "https://2130706433/push",
        "https://0x7f.1/push",
        "https://0x7f000001/push",
        "https://0177.0.0.1/push",
        "https://[::1]/push",
        "https://[::ffff:127.0.0.1]/push",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00:ec2::254]/",
        "https://10.0.0.1/push",
        "https://localhost/push",
        "https://metadata.google.internal/computeMetadata/v1/",
        "https://evil.example/push",
        "https://fcm.googleapis.com.evil.example/fcm/send/x",
        "https://user@fcm.googleapis.com/fcm/send/x",
        "https://user:secret@fcm.googleapis.com/fcm/send/x",
        "https://fcm.googleapis.com:8443/fcm/send/x",
        "https://web.push.apple.com:80/x",
        "http://fcm.googleapis.com/fcm/send/x",
        "http://127.0.0.1:4321/push/1",
        "file:///etc/passwd",
        "https://",
    ];
    for endpoint in refused {
        let res = app
            .post(
                "/me/push-subscriptions",
                Some(&user.token),
                &json!({"endpoint": endpoint, "keys": keys}),
            )
            .await;
        assert_eq!(res.status(), 422, "{endpoint}");
        assert_eq!(
            res.headers()["content-type"],
            "application/problem+json",
            "{endpoint}"
        );
        let problem: Value = res.json().await.expect("json");
        assert!(
            problem["errors"]["endpoint"].is_string(),
            "{endpoint}: {problem}"
        );
    }
    assert_eq!(subscriptions(&app, &user).await, 0, "nothing was stored");
    // The browsers' own push services are accepted (nothing is sent: this app has no VAPID key).
    for endpoint in [
        "https://fcm.googleapis.com/fcm/send/dGVzdA:APA91b",
        "https://updates.push.services.mozilla.com/wpush/v2/gAAAAABk",
        "https://web.push.apple.com/QGuQyavXutnMH6",
        "https://wns2-par02p.notify.windows.com/w/?token=BQYAAAB",
    ] {
        let res = app
            .post(
                "/me/push-subscriptions",
                Some(&user.token),
                &json!({"endpoint": endpoint, "keys": keys}),
            )
            .await;
        assert_eq!(res.status(), 201, "{endpoint}");
    }
    assert_eq!(subscriptions(&app, &user).await, 4);
    app.shutdown().await;
}

#[tokio::test]
async fn unsafe_subscriptions_written_around_the_gateway_get_no_traffic_and_fail_for_good() {
    let sink = SmtpSink::start().await.expect("sink");
    let push = PushService::start().await.expect("push service");
    let (port, connections) = connection_counter().await;
    // `localhost:<port>` is on this app's allowlist, so for that subscription only the check of
    // the address it resolves to (127.0.0.1) stands in the way. The loopback allowance is off.
    let mut hosts: Vec<String> = DEFAULT_PUSH_HOSTS.iter().map(|h| (*h).to_owned()).collect();
    hosts.push(format!("localhost:{port}"));
    let notifications = NotificationSettings {
        push_allow_loopback: false,
        push_hosts: hosts,
        ..settings(&sink)
    };
    let app = TestApp::spawn_with(TestOptions {
        notifications: Some(notifications),
        ..Default::default()
    })
    .await;
    let organizer = app.user_with_role("organizer").await;
    let user = app.register().await;
    let keys = SubscriberKeys::generate().json();
    let endpoints = [
        push.endpoint("plain-http-ip"),
        format!("https://127.0.0.1:{port}/push/ip-literal"),
        format!("https://2130706433:{port}/push/decimal-ip"),
        format!("https://localhost:{port}/push/resolves-to-loopback"),
        "https://evil.example/push/not-allowed".to_owned(),
    ];
    for endpoint in &endpoints {
        sqlx::query(
            "INSERT INTO push_subscriptions (id, user_id, endpoint, p256dh, auth) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(Uuid::now_v7())
        .bind(user.id)
        .bind(endpoint)
        .bind(keys["p256dh"].as_str())
        .bind(keys["auth"].as_str())
        .execute(&app.pool)
        .await
        .expect("insert subscription");
    }
    let event = app.create_event(&organizer, 10, 0).await;
    book_confirmed(&app, &user, event).await;

    app.eventually("every push delivery is settled", || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM notification_deliveries \
             WHERE user_id = $1 AND channel = 'push' AND status <> 'pending'",
        )
        .bind(user.id)
        .fetch_one(&app.pool)
        .await
        .expect("count")
            == endpoints.len() as i64
    })
    .await;
    drained(&app).await;
    let rows: Vec<(String, i32, Option<String>)> = sqlx::query_as(
        "SELECT status, attempts, last_error FROM notification_deliveries \
         WHERE user_id = $1 AND channel = 'push'",
    )
    .bind(user.id)
    .fetch_all(&app.pool)
    .await
    .expect("deliveries");
    for (status, attempts, error) in &rows {
        assert_eq!(status, "failed", "{error:?}");
        assert_eq!(*attempts, 1, "failed for good, not retried: {error:?}");
        assert!(
            error
                .as_deref()
                .is_some_and(|e| e.contains("endpoint refused")),
            "{error:?}"
        );
    }
    let errors: Vec<&str> = rows.iter().filter_map(|r| r.2.as_deref()).collect();
    assert!(errors.iter().any(|e| e.contains("loopback")), "{errors:?}");
    assert!(
        errors.iter().any(|e| e.contains("IP address")),
        "{errors:?}"
    );
    assert!(errors.iter().any(|e| e.contains("https")), "{errors:?}");
    assert!(
        errors.iter().any(|e| e.contains("PUSH_HOSTS")),
        "{errors:?}"
    );
    assert_eq!(push.count(), 0, "the push receiver got nothing");
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "no connection was made"
    );
    // The other channels were served as usual (the email's delivery is settled on its own time).
    app.eventually("the confirmation was emailed", || async {
        sink.count() >= 1
    })
    .await;
    app.shutdown().await;
}
