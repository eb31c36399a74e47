//! Register, log in, tokens and roles.

use evently_tests::app::TestApp;
use serde_json::{Value, json};

#[tokio::test]
async fn a_registered_user_logs_in_and_sees_themselves() {
    let app = TestApp::spawn_with(evently_tests::app::TestOptions {
        consumers: false,
        ..Default::default()
    })
    .await;
    let user = app.register().await;
    let token = app.login(&user.email.to_uppercase(), &user.password).await;
    let res = app.get("/me", Some(&token)).await;
    assert_eq!(res.status(), 200);
    let me: Value = res.json().await.expect("json");
    assert_eq!(me["email"], user.email.as_str());
    assert_eq!(me["role"], "attendee");
    assert!(me.get("password_hash").is_none());

    let again = app
        .post(
            "/auth/register",
            None,
            &json!({"email": user.email, "password": "another long password", "name": "X"}),
        )
        .await;
    assert_eq!(again.status(), 409, "the same email cannot register twice");
    app.shutdown().await;
}

#[tokio::test]
async fn a_wrong_password_or_unknown_email_is_refused_alike() {
    let app = TestApp::spawn_with(evently_tests::app::TestOptions {
        consumers: false,
        ..Default::default()
    })
    .await;
    let user = app.register().await;
    for body in [
        json!({"email": user.email, "password": "not the password"}),
        json!({"email": "nobody@example.com", "password": "not the password"}),
    ] {
        let res = app.post("/auth/login", None, &body).await;
        assert_eq!(res.status(), 401);
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let problem: Value = res.json().await.expect("json");
        assert_eq!(problem["status"], 401);
    }
    app.shutdown().await;
}

#[tokio::test]
async fn forged_expired_or_malformed_tokens_are_refused() {
    let app = TestApp::spawn_with(evently_tests::app::TestOptions {
        consumers: false,
        ..Default::default()
    })
    .await;
    let user = app.register().await;
    // Signed with another key.
    let other = evently_runtime::identity::TokenKeys::new(
        &evently_runtime::settings::Secret::new("some-other-secret-that-is-long-enough"),
        std::time::Duration::from_secs(60),
    );
    let (forged, _) = other
        .issue(user.id, evently_runtime::identity::Role::Admin)
        .expect("issue");
    // The real token with its payload changed to claim the admin role.
    let mut parts: Vec<String> = user.token.split('.').map(str::to_owned).collect();
    parts[1] = parts[1].chars().rev().collect();
    let tampered = parts.join(".");
    // An unsigned token.
    let none_alg = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxIn0.";
    for token in [forged.as_str(), tampered.as_str(), none_alg, "garbage"] {
        let res = app.get("/me", Some(token)).await;
        assert_eq!(res.status(), 401, "token {token} must be refused");
    }
    let res = app.get("/me", None).await;
    assert_eq!(res.status(), 401);
    app.shutdown().await;
}

#[tokio::test]
async fn an_attendee_cannot_create_venues_or_events_but_an_organizer_can() {
    let app = TestApp::spawn_with(evently_tests::app::TestOptions {
        consumers: false,
        ..Default::default()
    })
    .await;
    let attendee = app.register().await;
    let res = app
        .post(
            "/venues",
            Some(&attendee.token),
            &json!({"name": "Hall", "capacity": 10}),
        )
        .await;
    assert_eq!(res.status(), 403);
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 10, 0).await;
    let res = app
        .post(
            "/events",
            Some(&attendee.token),
            &json!({"name": "x", "venue_id": uuid::Uuid::new_v4(), "category": "music",
                    "starts_at": "2099-01-01T00:00:00Z", "ends_at": "2099-01-01T01:00:00Z",
                    "capacity": 1, "price_cents": 0, "currency": "EUR"}),
        )
        .await;
    assert_eq!(res.status(), 403);
    // Another organizer cannot put an event in this organizer's venue.
    let other = app.user_with_role("organizer").await;
    let res = app.get(&format!("/events/{event}"), None).await;
    let body: Value = res.json().await.expect("json");
    let res = app
        .post(
            "/events",
            Some(&other.token),
            &json!({"name": "x", "venue_id": body["venue_id"], "category": "music",
                    "starts_at": "2099-01-01T00:00:00Z", "ends_at": "2099-01-01T01:00:00Z",
                    "capacity": 1, "price_cents": 0, "currency": "EUR"}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.expect("json");
    assert!(problem["errors"]["venue_id"].is_string(), "{problem}");
    app.shutdown().await;
}

#[tokio::test]
async fn only_an_admin_changes_roles() {
    let app = TestApp::spawn_with(evently_tests::app::TestOptions {
        consumers: false,
        ..Default::default()
    })
    .await;
    let user = app.register().await;
    let admin = app.user_with_role("admin").await;
    let path = format!("/admin/users/{}/role", user.id);
    let put = |token: String, role: &'static str| {
        let req = app
            .http
            .put(app.url(&path))
            .bearer_auth(token)
            .json(&json!({"role": role}));
        async move { req.send().await.expect("PUT") }
    };
    assert_eq!(put(user.token.clone(), "admin").await.status(), 403);
    assert_eq!(put(admin.token.clone(), "wizard").await.status(), 422);
    assert_eq!(put(admin.token.clone(), "organizer").await.status(), 200);
    let token = app.login(&user.email, &user.password).await;
    let me: Value = app
        .get("/me", Some(&token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me["role"], "organizer");
    app.shutdown().await;
}
