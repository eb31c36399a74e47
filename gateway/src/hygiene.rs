//! HTTP hygiene on every response: security headers (a `default-src 'none'` CSP for the API, a
//! strict same-origin one without inline scripts or styles for the web app, a looser one for the
//! Swagger UI page, HSTS when served over TLS), no caching of credentials, and CORS for the
//! configured origins only.

use salvo::cors::{Cors, CorsHandler};
use salvo::http::{HeaderName, HeaderValue, Method, header};
use salvo::prelude::*;

/// Sets the security headers after the request was handled.
pub struct SecurityHeaders {
    hsts: bool,
}

pub fn headers(hsts: bool) -> SecurityHeaders {
    SecurityHeaders { hsts }
}

const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";
/// The web app: its own scripts, styles, workers and manifest only; no inline code, no plugins, no
/// framing. Images may be `data:`/`blob:` URLs (QR codes drawn in the page, camera frames).
/// JSON-LD blocks in event pages are data, not scripts, so they need no exception.
const APP_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data: blob:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; \
    font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const DOCS_CSP: &str = "default-src 'self'; script-src 'self' 'unsafe-inline'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

#[async_trait]
impl Handler for SecurityHeaders {
    async fn handle(
        &self,
        req: &mut Request,
        depot: &mut Depot,
        res: &mut Response,
        ctrl: &mut FlowCtrl,
    ) {
        ctrl.call_next(req, depot, res).await;
        let path = req.uri().path();
        let app_page = crate::web::is_app_path(path);
        let csp = if app_page {
            APP_CSP
        } else if path.starts_with("/docs") {
            DOCS_CSP
        } else {
            API_CSP
        };
        let headers = res.headers_mut();
        if app_page {
            // The door scanner reads QR codes with the camera; nothing else may ask for it.
            headers.insert(
                HeaderName::from_static("permissions-policy"),
                HeaderValue::from_static("camera=(self), microphone=(), geolocation=()"),
            );
        }
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(csp),
        );
        if path.starts_with("/api/v1/auth") {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        if self.hsts {
            headers.insert(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            );
        }
    }
}

/// CORS for `origins` (none: browsers on other origins get no access).
pub fn cors(origins: &[String]) -> CorsHandler {
    let origins: Vec<&str> = origins.iter().map(String::as_str).collect();
    Cors::new()
        .allow_origin(origins)
        .allow_methods(vec![
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers(vec![
            "authorization",
            "content-type",
            "idempotency-key",
            "if-match",
            "if-none-match",
            "x-request-id",
        ])
        .expose_headers(vec!["location", "etag", "retry-after", "x-request-id"])
        .max_age(600)
        .into_handler()
}
