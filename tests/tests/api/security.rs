//! Account security: refresh rotation and theft detection, logout, tokens that must be refused,
//! lockout, rate limits shared by gateway instances, login timing, and HTTP hygiene.

use std::time::{Duration, Instant};

use evently_tests::app::{TestApp, TestOptions};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

async fn login_body(app: &TestApp, email: &str, password: &str) -> Value {
    let res = app
        .post(
            "/auth/login",
            None,
            &json!({"email": email, "password": password}),
        )
        .await;
    assert_eq!(res.status(), 200);
    res.json().await.expect("json")
}

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.post("/auth/refresh", None, &json!({"refresh_token": token}))
        .await
}

fn no_consumers() -> TestOptions {
    TestOptions {
        consumers: false,
        ..Default::default()
    }
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_its_family() {
    let app = TestApp::spawn_with(no_consumers()).await;
    let user = app.register().await;
    let session = login_body(&app, &user.email, &user.password).await;
    let first = session["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned();

    let res = refresh(&app, &first).await;
    assert_eq!(res.status(), 200);
    let rotated: Value = res.json().await.expect("json");
    let second = rotated["refresh_token"]
        .as_str()
        .expect("rotated")
        .to_owned();
    assert_ne!(first, second);
    let access = rotated["access_token"].as_str().expect("access");
    assert_eq!(app.get("/me", Some(access)).await.status(), 200);

    // The first token was used: presenting it again is theft, and ends the whole family.
    assert_eq!(refresh(&app, &first).await.status(), 401);
    assert_eq!(
        refresh(&app, &second).await.status(),
        401,
        "the family is revoked"
    );

    // Another login is another family, untouched.
    let other = login_body(&app, &user.email, &user.password).await;
    assert_eq!(
        refresh(&app, other["refresh_token"].as_str().expect("token"))
            .await
            .status(),
        200
    );
    assert_eq!(refresh(&app, "not-a-token").await.status(), 401);
    app.shutdown().await;
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let app = TestApp::spawn_with(no_consumers()).await;
    let user = app.register().await;
    let session = login_body(&app, &user.email, &user.password).await;
    let token = session["refresh_token"].as_str().expect("token");
    let access = session["access_token"].as_str().expect("access");
    let res = app
        .post(
            "/auth/logout",
            Some(access),
            &json!({"refresh_token": token}),
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(refresh(&app, token).await.status(), 401);
    // Someone else's logout cannot revoke it.
    let victim = login_body(&app, &user.email, &user.password).await;
    let attacker = app.register().await;
    let victim_token = victim["refresh_token"].as_str().expect("token");
    let res = app
        .post(
            "/auth/logout",
            Some(&attacker.token),
            &json!({"refresh_token": victim_token}),
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(refresh(&app, victim_token).await.status(), 200);
    app.shutdown().await;
}

#[derive(serde::Serialize)]
struct Claims<'a> {
    sub: String,
    role: &'a str,
    iat: i64,
    exp: i64,
    iss: &'a str,
}

#[tokio::test]
async fn expired_forged_unsigned_and_unknown_key_tokens_are_refused() {
    let app = TestApp::spawn_with(no_consumers()).await;
    let user = app.register().await;
    let secret = app
        .settings
        .require_jwt_secret()
        .expect("secret")
        .expose()
        .to_owned();
    let real_header = jsonwebtoken::decode_header(&user.token).expect("header");
    let now = chrono::Utc::now().timestamp();
    let claims = |iat: i64, exp: i64| Claims {
        sub: user.id.to_string(),
        role: "admin",
        iat,
        exp,
        iss: "evently",
    };
    let sign = |header: &Header, secret: &str, c: &Claims| {
        jsonwebtoken::encode(header, c, &EncodingKey::from_secret(secret.as_bytes())).expect("sign")
    };
    let mut with_kid = Header::new(Algorithm::HS256);
    with_kid.kid = real_header.kid.clone();

    // Control: a token we sign correctly is accepted, so the refusals below are for their flaw.
    let good = sign(&with_kid, &secret, &claims(now, now + 600));
    assert_eq!(app.get("/me", Some(&good)).await.status(), 200);

    let expired = sign(&with_kid, &secret, &claims(now - 7200, now - 3600));
    let forged = sign(
        &with_kid,
        "a-different-secret-that-is-long-enough",
        &claims(now, now + 600),
    );
    let mut unknown_kid = with_kid.clone();
    unknown_kid.kid = Some("0123456789ab".into());
    let wrong_kid = sign(&unknown_kid, &secret, &claims(now, now + 600));
    let mut no_kid = with_kid.clone();
    no_kid.kid = None;
    let missing_kid = sign(&no_kid, &secret, &claims(now, now + 600));
    // `alg: none`, the classic: a header saying "unsigned" and an empty signature.
    use base64_like::encode;
    let none = format!(
        "{}.{}.",
        encode(&json!({"alg": "none", "typ": "JWT", "kid": real_header.kid}).to_string()),
        encode(&serde_json::to_string(&claims(now, now + 600)).expect("json"))
    );
    let hs512 = {
        let mut h = Header::new(Algorithm::HS512);
        h.kid = real_header.kid.clone();
        sign(&h, &secret, &claims(now, now + 600))
    };
    for (what, token) in [
        ("expired", expired),
        ("forged", forged),
        ("unknown kid", wrong_kid),
        ("no kid", missing_kid),
        ("alg none", none),
        ("another algorithm", hs512),
        ("garbage", "a.b.c".to_owned()),
    ] {
        let res = app.get("/me", Some(&token)).await;
        assert_eq!(res.status(), 401, "{what} token must be refused");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
    }
    app.shutdown().await;
}

/// Base64url without padding, enough to build a token by hand.
mod base64_like {
    pub fn encode(text: &str) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let bytes = text.as_bytes();
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            }
        }
        out
    }
}

#[tokio::test]
async fn five_failed_logins_lock_the_account_until_the_window_passes() {
    let app = TestApp::spawn_with(TestOptions {
        consumers: false,
        configure: |s| s.security.lockout_window_secs = 10,
        ..Default::default()
    })
    .await;
    let user = app.register().await;
    let attempt = |password: &'static str| {
        let req = app
            .http
            .post(app.url("/auth/login"))
            .json(&json!({"email": user.email, "password": password}));
        async move { req.send().await.expect("send") }
    };
    for _ in 0..5 {
        assert_eq!(attempt("wrong password!").await.status(), 401);
    }
    let locked = attempt("a long enough password").await;
    assert_eq!(locked.status(), 423, "locked even with the right password");
    let retry: u64 = locked.headers()["retry-after"]
        .to_str()
        .expect("header")
        .parse()
        .expect("seconds");
    assert!((1..=10).contains(&retry), "Retry-After {retry}");
    // An unknown email locks the same way: the lockout tells nothing about who has an account.
    for _ in 0..5 {
        let res = app
            .post(
                "/auth/login",
                None,
                &json!({"email": "ghost@example.com", "password": "whatever123"}),
            )
            .await;
        assert_eq!(res.status(), 401);
    }
    let res = app
        .post(
            "/auth/login",
            None,
            &json!({"email": "ghost@example.com", "password": "whatever123"}),
        )
        .await;
    assert_eq!(res.status(), 423);

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let res = attempt("a long enough password").await;
        if res.status() == 200 {
            break;
        }
        assert_eq!(res.status(), 423);
        assert!(
            Instant::now() < deadline,
            "the lock did not lift after the window"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    app.shutdown().await;
}

#[tokio::test]
async fn the_auth_rate_limit_is_shared_by_two_gateway_instances() {
    let mut app = TestApp::spawn_with(TestOptions {
        consumers: false,
        configure: |s| s.security.auth_rate_limit = 6,
        ..Default::default()
    })
    .await;
    let second = app.spawn_gateway().await;
    let login = |base: String| {
        // A different email each time: this is about the address's limit, not the lockout.
        let email = format!("nobody-{}@example.com", uuid::Uuid::new_v4().simple());
        let req = app
            .http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"email": email, "password": "x"}));
        async move { req.send().await.expect("send") }
    };
    for base in [&app.base, &second, &app.base, &second, &app.base, &second] {
        assert_eq!(login(base.clone()).await.status(), 401);
    }
    for base in [&app.base, &second] {
        let res = login(base.clone()).await;
        assert_eq!(
            res.status(),
            429,
            "the seventh request, on either instance, is limited"
        );
        assert!(res.headers().contains_key("retry-after"));
        let problem: Value = res.json().await.expect("json");
        assert_eq!(problem["status"], 429);
    }
    app.shutdown().await;
}

/// Books one seat at a time as one new user on an event of 20 seats: `limit` bookings pass, the
/// next is a 429 with `Retry-After`. Returns the event.
async fn book_past_the_limit(app: &TestApp, limit: usize) -> uuid::Uuid {
    let organizer = app.user_with_role("organizer").await;
    let event = app.create_event(&organizer, 20, 0).await;
    let user = app.register().await;
    for n in 1..=limit {
        assert_eq!(
            app.book(&user, event, 1, None).await.status(),
            201,
            "booking {n} is within the limit"
        );
    }
    let res = app.book(&user, event, 1, None).await;
    assert_eq!(res.status(), 429, "the booking past the limit is refused");
    assert!(res.headers().contains_key("retry-after"));
    event
}

#[tokio::test]
async fn booking_commands_are_limited_per_user() {
    let app = TestApp::spawn_with(TestOptions {
        configure: |s| s.security.booking_rate_limit = 3,
        ..Default::default()
    })
    .await;
    let event = book_past_the_limit(&app, 3).await;
    // Another user is not affected.
    let other = app.register().await;
    assert_eq!(app.book(&other, event, 1, None).await.status(), 201);
    assert_eq!(
        app.seats(event).await.0,
        4,
        "the limited request booked nothing"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn booking_commands_far_below_the_limit_are_counted_too() {
    // Far below its limit a user's booking is let through before its hit is written (the hits
    // gather for a few milliseconds); those hits still count: the ninth of a limit of 8 is refused.
    let app = TestApp::spawn_with(TestOptions {
        configure: |s| s.security.booking_rate_limit = 8,
        ..Default::default()
    })
    .await;
    let event = book_past_the_limit(&app, 8).await;
    assert_eq!(
        app.seats(event).await.0,
        8,
        "the limited request booked nothing"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn login_takes_as_long_for_an_unknown_email_as_for_a_wrong_password() {
    let app = TestApp::spawn_with(TestOptions {
        consumers: false,
        // Enough attempts for a steady median without locking the account.
        configure: |s| s.security.lockout_threshold = 100,
        ..Default::default()
    })
    .await;
    let user = app.register().await;
    let time = |email: String| {
        let req = app
            .http
            .post(app.url("/auth/login"))
            .json(&json!({"email": email, "password": "not the password"}));
        async move {
            let started = Instant::now();
            let res = req.send().await.expect("send");
            assert_eq!(res.status(), 401);
            started.elapsed()
        }
    };
    // Warm up both paths, then alternate so that drift affects both alike. Below the lockout.
    time(user.email.clone()).await;
    time("warm@example.com".into()).await;
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..7 {
        known.push(time(user.email.clone()).await);
        unknown.push(time(format!("unknown-{i}@example.com")).await);
    }
    known.sort();
    unknown.sort();
    let (k, u) = (known[3].as_secs_f64(), unknown[3].as_secs_f64());
    let slower = k.max(u);
    assert!(
        (k - u).abs() <= (0.35 * slower).max(0.010),
        "median login time: known email {k:.4}s, unknown email {u:.4}s"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn common_passwords_are_refused_at_registration() {
    let app = TestApp::spawn_with(no_consumers()).await;
    for password in ["Password123", "qwertyuiop", "short"] {
        let res = app
            .post(
                "/auth/register",
                None,
                &json!({"email": "new@example.com", "password": password, "name": "N"}),
            )
            .await;
        assert_eq!(res.status(), 422, "{password}");
        let problem: Value = res.json().await.expect("json");
        assert!(problem["errors"]["password"].is_string());
    }
    app.shutdown().await;
}

#[tokio::test]
async fn every_response_carries_security_headers_and_a_request_id() {
    let app = TestApp::spawn_with(TestOptions {
        consumers: false,
        configure: |s| s.security.cors_origins = vec!["https://app.example.com".into()],
        ..Default::default()
    })
    .await;
    for path in ["/api/v1/events", "/no/such/route", "/api/v1/auth/login"] {
        let res = app
            .http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .expect("send");
        let h = res.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(h.contains_key("content-security-policy"), "{path}");
        assert!(h.contains_key("x-request-id"), "{path}");
    }
    let preflight = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url("/events"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
    };
    let allowed = preflight("https://app.example.com").await.expect("send");
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let refused = preflight("https://evil.example.com").await.expect("send");
    assert!(
        !refused
            .headers()
            .contains_key("access-control-allow-origin")
    );
    app.shutdown().await;
}
