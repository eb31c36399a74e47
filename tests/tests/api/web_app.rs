//! The web app as the gateway serves it: files and deep links at `/`, cache headers, compression,
//! the app's strict CSP beside the API's, the "not built" problem, and event pages that carry
//! their schema.org JSON-LD and OpenGraph tags (escaped) for crawlers.

use std::path::PathBuf;

use evently_tests::app::{TestApp, TestOptions, TestUser};
use serde_json::{Value, json};

const APP_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data: blob:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; \
    font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// A built app in miniature: `index.html` (with the head marker), one hashed asset, a manifest.
fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/web")
}

async fn with_fixture() -> TestApp {
    TestApp::spawn_with(TestOptions {
        consumers: false,
        configure: |s| s.web_dir = fixture(),
        ..Default::default()
    })
    .await
}

async fn page(app: &TestApp, path: &str) -> reqwest::Response {
    app.http
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .expect("GET")
}

fn header<'a>(res: &'a reqwest::Response, name: &str) -> &'a str {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_app_is_served_at_the_root_and_deep_links_fall_back_to_index_html() {
    let app = with_fixture().await;
    let index = std::fs::read_to_string(fixture().join("index.html")).expect("fixture");
    for path in [
        "/",
        "/index.html",
        "/me/tickets",
        "/organiser/events/new",
        "/events",
    ] {
        let res = page(&app, path).await;
        assert_eq!(res.status(), 200, "{path}");
        assert!(
            header(&res, "content-type").starts_with("text/html"),
            "{path}"
        );
        assert_eq!(header(&res, "cache-control"), "no-cache", "{path}");
        assert_eq!(header(&res, "content-security-policy"), APP_CSP, "{path}");
        assert!(
            header(&res, "permissions-policy").contains("camera=(self)"),
            "{path}"
        );
        assert_eq!(res.text().await.expect("body"), index, "{path}");
    }

    let res = page(&app, "/assets/app-3f2a9c1d.js").await;
    assert_eq!(res.status(), 200);
    assert!(header(&res, "content-type").contains("javascript"));
    assert_eq!(
        header(&res, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    for path in ["/", "/assets/app-3f2a9c1d.js", "/events/not-an-id"] {
        let res = app
            .http
            .head(format!("{}{path}", app.base))
            .send()
            .await
            .expect("HEAD");
        assert_eq!(res.status(), 200, "HEAD {path}");
        assert!(res.bytes().await.expect("body").is_empty(), "HEAD {path}");
    }
    let res = page(&app, "/manifest.webmanifest").await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "cache-control"), "no-cache");

    // A missing hashed asset is a 404, never index.html cached for a year.
    let res = page(&app, "/assets/app-00000000.js").await;
    assert_eq!(res.status(), 404);
    assert_eq!(header(&res, "content-type"), "application/problem+json");
    assert!(res.headers().get("cache-control").is_none());
    // Nothing outside the directory, no dot files.
    for path in ["/../Cargo.toml", "/%2e%2e/Cargo.toml", "/.env"] {
        let res = page(&app, path).await;
        let body = res.text().await.expect("body");
        assert!(!body.contains("[package]"), "{path}: {body}");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn the_api_docs_metrics_and_health_keep_their_own_answers_and_policies() {
    let app = with_fixture().await;
    let res = page(&app, "/api/v1/no-such-thing").await;
    assert_eq!(res.status(), 404);
    assert_eq!(header(&res, "content-type"), "application/problem+json");
    assert_eq!(
        header(&res, "content-security-policy"),
        "default-src 'none'; frame-ancestors 'none'"
    );
    assert!(res.headers().get("permissions-policy").is_none());
    let res = page(&app, "/api/openapi.json").await;
    assert_eq!(res.status(), 200);
    assert!(header(&res, "content-security-policy").starts_with("default-src 'none'"));
    let res = page(&app, "/docs/").await;
    assert!(header(&res, "content-security-policy").contains("'unsafe-inline'"));
    let res = page(&app, "/health/live").await;
    assert_eq!(res.status(), 200);
    assert!(!res.text().await.expect("body").contains("<!doctype html>"));
    let res = page(&app, "/health/nothing").await;
    assert_eq!(res.status(), 404);
    app.shutdown().await;
}

#[tokio::test]
async fn text_is_compressed_for_clients_that_accept_it() {
    let app = with_fixture().await;
    for (accept, expected) in [("br, gzip", "br"), ("gzip", "gzip")] {
        let res = app
            .http
            .get(format!("{}/assets/app-3f2a9c1d.js", app.base))
            .header("accept-encoding", accept)
            .send()
            .await
            .expect("GET");
        assert_eq!(res.status(), 200);
        assert_eq!(header(&res, "content-encoding"), expected, "{accept}");
        let size = res.bytes().await.expect("body").len();
        assert!(size < 2000, "{accept}: {size} bytes");
    }
    // A precompressed file is sent as it is, not compressed again.
    let res = app
        .http
        .get(format!("{}/assets/vendor-77aa01c4.js", app.base))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("GET");
    assert_eq!(header(&res, "content-encoding"), "gzip");
    assert!(header(&res, "content-type").contains("javascript"));
    let on_disk = std::fs::read(fixture().join("assets/vendor-77aa01c4.js.gz")).expect("fixture");
    assert_eq!(
        res.bytes().await.expect("body").as_ref(),
        on_disk.as_slice()
    );
    app.shutdown().await;
}

#[tokio::test]
async fn without_a_built_app_the_root_says_how_to_build_it() {
    let app = TestApp::spawn_with(TestOptions {
        consumers: false,
        configure: |s| s.web_dir = "/nonexistent/evently-web-dist".into(),
        ..Default::default()
    })
    .await;
    for path in [
        "/",
        "/events/0190c1b2-0000-7000-8000-000000000000",
        "/assets/x.js",
    ] {
        let res = page(&app, path).await;
        assert_eq!(res.status(), 404, "{path}");
        assert_eq!(header(&res, "content-type"), "application/problem+json");
        let problem: Value = res.json().await.expect("json");
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("deploy/web.sh build"), "{detail}");
    }
    assert_eq!(page(&app, "/health/live").await.status(), 200);
    app.shutdown().await;
}

/// A venue and an event with these facts; returns the event id.
async fn event_named(app: &TestApp, organizer: &TestUser, name: &str, capacity: i32) -> String {
    let venue: Value = app
        .post(
            "/venues",
            Some(&organizer.token),
            &json!({"name": "Riverside Hall", "address": "12 Quai des Arts", "city": "Lyon", "capacity": 100}),
        )
        .await
        .json()
        .await
        .expect("venue");
    let res = app
        .post(
            "/events",
            Some(&organizer.token),
            &json!({
                "name": name, "description": "A quartet & the river at dusk.",
                "venue_id": venue["id"], "category": "music",
                "starts_at": "2099-05-01T19:00:00Z", "ends_at": "2099-05-01T22:00:00Z",
                "capacity": capacity, "price_cents": 2550, "currency": "EUR"
            }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let event: Value = res.json().await.expect("event");
    event["id"].as_str().expect("id").to_owned()
}

/// The JSON-LD blocks of a page, parsed.
fn json_ld(html: &str) -> Vec<Value> {
    html.split("<script type=\"application/ld+json\">")
        .skip(1)
        .map(|rest| {
            let block = rest.split("</script>").next().expect("closed");
            serde_json::from_str(block).expect("the JSON-LD is JSON")
        })
        .collect()
}

#[tokio::test]
async fn an_event_page_carries_its_json_ld_and_opengraph_tags() {
    let app = with_fixture().await;
    let organizer = app.user_with_role("organizer").await;
    let name = "Jazz </script><script>alert(1)</script> & \"friends\"";
    let id = event_named(&app, &organizer, name, 40).await;

    let res = page(&app, &format!("/events/{id}")).await;
    assert_eq!(res.status(), 200);
    assert!(header(&res, "content-type").starts_with("text/html"));
    assert_eq!(header(&res, "content-security-policy"), APP_CSP);
    let html = res.text().await.expect("body");
    assert!(!html.contains("<script>alert(1)"), "{html}");
    assert_eq!(html.matches("<title>").count(), 1, "{html}");
    assert!(html.contains("<script type=\"module\" src=\"/assets/app-3f2a9c1d.js\">"));
    assert!(!html.contains("<!--app-head-->"));

    let blocks = json_ld(&html);
    assert_eq!(blocks.len(), 1, "{html}");
    let event = &blocks[0];
    assert_eq!(event["@type"], "Event");
    assert_eq!(event["name"], name);
    assert_eq!(event["startDate"], "2099-05-01T19:00:00Z");
    assert_eq!(event["endDate"], "2099-05-01T22:00:00Z");
    assert_eq!(event["eventStatus"], "https://schema.org/EventScheduled");
    assert_eq!(event["location"]["@type"], "Place");
    assert_eq!(event["location"]["name"], "Riverside Hall");
    assert_eq!(event["location"]["address"]["addressLocality"], "Lyon");
    assert_eq!(
        event["location"]["address"]["streetAddress"],
        "12 Quai des Arts"
    );
    assert_eq!(event["offers"]["price"], "25.50");
    assert_eq!(event["offers"]["priceCurrency"], "EUR");
    assert_eq!(
        event["offers"]["availability"],
        "https://schema.org/InStock"
    );
    assert_eq!(event["organizer"]["name"], "Test User");
    let url = format!("{}/events/{id}", app.base);
    assert_eq!(event["url"], url.as_str());

    let escaped =
        "Jazz &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;friends&quot;";
    assert!(
        html.contains(&format!(
            "<meta property=\"og:title\" content=\"{escaped}\">"
        )),
        "{html}"
    );
    assert!(html.contains(&format!("<meta property=\"og:url\" content=\"{url}\">")));
    assert!(html.contains("<meta property=\"og:type\" content=\"website\">"));
    assert!(html.contains(
        "<meta property=\"og:description\" content=\"A quartet &amp; the river at dusk.\">"
    ));
    assert!(html.contains(&format!("<title>{escaped} · Evently</title>")));
    app.shutdown().await;
}

#[tokio::test]
async fn a_sold_out_event_page_says_so_and_unknown_events_get_the_plain_app() {
    let app = TestApp::spawn_with(TestOptions {
        configure: |s| s.web_dir = fixture(),
        ..Default::default()
    })
    .await;
    let organizer = app.user_with_role("organizer").await;
    let id = event_named(&app, &organizer, "Tiny Gig", 1).await;
    let attendee = app.register().await;
    let res = app
        .book(&attendee, id.parse().expect("uuid"), 1, None)
        .await;
    assert_eq!(res.status(), 201);
    let html = page(&app, &format!("/events/{id}"))
        .await
        .text()
        .await
        .expect("body");
    assert_eq!(
        json_ld(&html)[0]["offers"]["availability"],
        "https://schema.org/SoldOut"
    );

    let index = std::fs::read_to_string(fixture().join("index.html")).expect("fixture");
    for path in [
        "/events/0190c1b2-0000-7000-8000-000000000000".to_owned(),
        "/events/not-an-id".to_owned(),
        format!("/events/{id}/extra"),
    ] {
        let res = page(&app, &path).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.text().await.expect("body"), index, "{path}");
    }
    app.shutdown().await;
}
