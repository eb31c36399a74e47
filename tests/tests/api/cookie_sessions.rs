//! The web app's session: with `Evently-Session: cookie` the refresh token lives in an
//! `HttpOnly; Secure; SameSite=Strict` cookie scoped to `/api/v1/auth`, never in a body a script
//! could read; refresh and logout take it from the cookie; rotation and reuse detection work the
//! same; clients without the header keep the JSON flow; the OpenAPI document says so.

use evently_tests::app::{TestApp, TestOptions};
use serde_json::{Value, json};

fn no_consumers() -> TestOptions {
    TestOptions {
        consumers: false,
        ..Default::default()
    }
}

/// A POST in cookie mode, with the refresh cookie when given, and `body` (none: an empty body).
async fn cookie_post(
    app: &TestApp,
    path: &str,
    bearer: Option<&str>,
    cookie: Option<&str>,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = app
        .http
        .post(app.url(path))
        .header("Evently-Session", "cookie");
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    if let Some(value) = cookie {
        req = req.header("cookie", format!("evently_refresh={value}"));
    }
    req = match body {
        Some(body) => req.json(&body),
        None => req.header("content-type", "application/json"),
    };
    req.send().await.expect("POST")
}

/// The `Set-Cookie` line for the refresh cookie.
fn set_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("evently_refresh="))
        .map(str::to_owned)
}

/// The refresh token a `Set-Cookie` line carries.
fn cookie_value(line: &str) -> String {
    line.trim_start_matches("evently_refresh=")
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn attributes(line: &str) -> Vec<String> {
    line.split(';')
        .skip(1)
        .map(|a| a.trim().to_owned())
        .collect()
}

/// Logs in in cookie mode; returns the access token and the cookie's value.
async fn cookie_login(app: &TestApp, email: &str, password: &str) -> (String, String) {
    let res = cookie_post(
        app,
        "/auth/login",
        None,
        None,
        Some(json!({"email": email, "password": password})),
    )
    .await;
    assert_eq!(res.status(), 200);
    let line = set_cookie(&res).expect("a refresh cookie");
    let body: Value = res.json().await.expect("json");
    assert!(body.get("refresh_token").is_none(), "{body}");
    (
        body["access_token"].as_str().expect("access").to_owned(),
        cookie_value(&line),
    )
}

#[tokio::test]
async fn in_cookie_mode_the_refresh_token_is_an_http_only_cookie_and_not_in_the_body() {
    let app = TestApp::spawn_with(no_consumers()).await;
    let email = format!("web-{}@example.com", uuid::Uuid::new_v4().simple());
    let res = cookie_post(
        &app,
        "/auth/register",
        None,
        None,
        Some(json!({"email": email, "password": "a long enough password", "name": "Web"})),
    )
    .await;
    assert_eq!(res.status(), 201);
    let line = set_cookie(&res).expect("register sets the cookie");
    let mut attrs = attributes(&line);
    attrs.sort();
    let ttl = app.settings.security.refresh_token_ttl_secs;
    let mut expected = vec![
        "HttpOnly".to_owned(),
        "Secure".to_owned(),
        "SameSite=Strict".to_owned(),
        "Path=/api/v1/auth".to_owned(),
        format!("Max-Age={ttl}"),
    ];
    expected.sort();
    assert_eq!(attrs, expected, "{line}");
    assert_eq!(cookie_value(&line).len(), 64);
    let body: Value = res.json().await.expect("json");
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert!(body["access_token"].is_string());
    assert_eq!(body["refresh_expires_in"], ttl);

    let (access, _) = cookie_login(&app, &email, "a long enough password").await;
    assert_eq!(app.get("/me", Some(&access)).await.status(), 200);
    app.shutdown().await;
}

#[tokio::test]
async fn a_refresh_through_the_cookie_rotates_it_and_a_reused_cookie_revokes_the_family() {
    let app = TestApp::spawn_with(no_consumers()).await;
    let user = app.register().await;
    let (_, first) = cookie_login(&app, &user.email, &user.password).await;

    // `{}` (what the web app sends at start-up) and an empty body both work with the cookie.
    let res = cookie_post(&app, "/auth/refresh", None, Some(&first), Some(json!({}))).await;
    assert_eq!(res.status(), 200);
    let second = cookie_value(&set_cookie(&res).expect("a rotated cookie"));
    let body: Value = res.json().await.expect("json");
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert_eq!(body["user"]["id"], user.id.to_string());
    let access = body["access_token"].as_str().expect("access");
    assert_eq!(app.get("/me", Some(access)).await.status(), 200);
    assert_ne!(first, second);

    let res = cookie_post(&app, "/auth/refresh", None, Some(&second), None).await;
    assert_eq!(res.status(), 200);
    let third = cookie_value(&set_cookie(&res).expect("a rotated cookie"));

    // The first cookie was used: presenting it again ends the family, and the cookie is cleared.
    let res = cookie_post(&app, "/auth/refresh", None, Some(&first), Some(json!({}))).await;
    assert_eq!(res.status(), 401);
    let cleared = set_cookie(&res).expect("the cookie is cleared");
    assert!(
        attributes(&cleared).contains(&"Max-Age=0".to_owned()),
        "{cleared}"
    );
    assert_eq!(cookie_value(&cleared), "");
    let res = cookie_post(&app, "/auth/refresh", None, Some(&third), Some(json!({}))).await;
    assert_eq!(res.status(), 401, "the family is revoked");

    // Without a token anywhere: a 422 naming the field.
    let res = cookie_post(&app, "/auth/refresh", None, None, Some(json!({}))).await;
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.expect("json");
    assert!(problem["errors"]["refresh_token"].is_string(), "{problem}");
    app.shutdown().await;
}

#[tokio::test]
async fn logout_through_the_cookie_revokes_the_session_and_clears_the_cookie() {
    let app = TestApp::spawn_with(no_consumers()).await;
    let user = app.register().await;
    let (access, token) = cookie_login(&app, &user.email, &user.password).await;
    let res = cookie_post(
        &app,
        "/auth/logout",
        Some(&access),
        Some(&token),
        Some(json!({})),
    )
    .await;
    assert_eq!(res.status(), 204);
    let cleared = set_cookie(&res).expect("the cookie is cleared");
    assert!(
        attributes(&cleared).contains(&"Max-Age=0".to_owned()),
        "{cleared}"
    );
    assert!(
        attributes(&cleared).contains(&"Path=/api/v1/auth".to_owned()),
        "{cleared}"
    );
    let res = cookie_post(&app, "/auth/refresh", None, Some(&token), None).await;
    assert_eq!(res.status(), 401);
    app.shutdown().await;
}

#[tokio::test]
async fn without_the_header_the_json_flow_is_unchanged() {
    let app = TestApp::spawn_with(no_consumers()).await;
    let user = app.register().await;
    let res = app
        .post(
            "/auth/login",
            None,
            &json!({"email": user.email, "password": user.password}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(set_cookie(&res).is_none());
    let body: Value = res.json().await.expect("json");
    let token = body["refresh_token"]
        .as_str()
        .expect("in the body")
        .to_owned();
    let res = app
        .post("/auth/refresh", None, &json!({"refresh_token": token}))
        .await;
    assert_eq!(res.status(), 200);
    assert!(set_cookie(&res).is_none());
    let body: Value = res.json().await.expect("json");
    assert!(body["refresh_token"].is_string());
    // No token at all, and no body at all: refused as before.
    let res = app.post("/auth/refresh", None, &json!({})).await;
    assert_eq!(res.status(), 422);
    let res = app
        .http
        .post(app.url("/auth/refresh"))
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status(), 422);
    app.shutdown().await;
}

#[tokio::test]
async fn the_openapi_document_describes_the_cookie_session() {
    let app = TestApp::spawn_with(no_consumers()).await;
    let res = app
        .http
        .get(format!("{}/api/openapi.json", app.base))
        .send()
        .await
        .expect("GET");
    let doc: Value = res.json().await.expect("json");
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    let with_token: Vec<_> = schemas
        .iter()
        .filter(|(_, s)| s["properties"].get("refresh_token").is_some())
        .collect();
    assert!(!with_token.is_empty());
    for (name, schema) in with_token {
        let required = schema["required"].as_array().cloned().unwrap_or_default();
        assert!(
            !required.contains(&json!("refresh_token")),
            "{name} requires refresh_token"
        );
    }
    for path in ["register", "login", "refresh", "logout"] {
        let op = &doc["paths"][format!("/api/v1/auth/{path}")]["post"];
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        assert!(
            params
                .iter()
                .any(|p| p["name"] == "Evently-Session" && p["in"] == "header"),
            "{path}: {op}"
        );
    }
    let refresh = &doc["paths"]["/api/v1/auth/refresh"]["post"];
    assert_ne!(refresh["requestBody"]["required"], true, "{refresh}");
    app.shutdown().await;
}
