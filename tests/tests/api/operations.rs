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
