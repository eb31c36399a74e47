//! The web app: the built files of `web/` (`EVENTLY_WEB_DIR`, default `web/dist`) served at `/`
//! with salvo's `StaticDir`. Hashed assets under `/assets/` are cached for a year; everything else
//! is revalidated (`no-cache`); any other GET path outside `/api`, `/docs`, `/metrics` and
//! `/health` that names no file falls back to `index.html`, so the app's deep links load.
//! `/events/{id}` gets the event's JSON-LD and OpenGraph tags in its `<head>` (`event_page`).
//! Text is compressed (brotli or gzip; precompressed `.br`/`.gz` files are served as they are).
//! Without a built app, every app path answers a 404 problem saying how to build it.

mod event_page;
mod head;

use std::path::{Path, PathBuf};

use salvo::compression::{Compression, CompressionLevel};
use salvo::http::{HeaderValue, Method, StatusCode, header};
use salvo::prelude::*;
use salvo::serve_static::StaticDir;

use crate::error::ApiError;

/// Path prefixes that belong to the API and operations, never to the app.
const RESERVED: [&str; 4] = ["/api", "/docs", "/metrics", "/health"];

/// Hashed file names never change content: cache them for good.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `index.html` and unhashed files: always revalidate (the ETag makes that a 304).
const REVALIDATE: &str = "no-cache";

/// Whether `path` belongs to the web app (everything outside the reserved prefixes).
pub fn is_app_path(path: &str) -> bool {
    !RESERVED.iter().any(|prefix| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// The app's routes, for every GET outside the reserved prefixes. `dir` is made absolute against
/// the working directory now, so later `chdir`s change nothing.
pub fn router(dir: &Path) -> Router {
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned());
    let index = dir.join("index.html");
    let assets = StaticDir::new([dir.join("assets")]).include_dot_files(false);
    let files = StaticDir::new([dir.clone()])
        .include_dot_files(false)
        .defaults("index.html")
        .fallback("index.html");
    Router::new()
        .filter_fn(|req, _| is_app_path(req.uri().path()))
        .hoop(RequireBuilt {
            index: index.clone(),
            shown: dir.display().to_string(),
        })
        .hoop(
            Compression::new()
                .disable_all()
                .enable_brotli(CompressionLevel::Precise(5))
                .enable_gzip(CompressionLevel::Precise(6))
                .force_priority(true),
        )
        .push(read(
            "assets/{**rest}",
            Cached {
                files: assets,
                cache: IMMUTABLE,
            },
        ))
        .push(read("events/{id}", event_page::EventPage { index }))
        .push(read(
            "{**path}",
            Cached {
                files,
                cache: REVALIDATE,
            },
        ))
}

/// A route for GET and HEAD (crawlers and link checkers send HEAD; hyper sends no body for it).
fn read(path: &str, handler: impl Handler) -> Router {
    Router::with_path(path)
        .filter_fn(|req, _| matches!(*req.method(), Method::GET | Method::HEAD))
        .goal(handler)
}

/// Answers the "not built" problem while `index.html` is missing (checked on each request, so an
/// app built while the gateway runs is served at once).
struct RequireBuilt {
    index: PathBuf,
    shown: String,
}

#[async_trait]
impl Handler for RequireBuilt {
    async fn handle(
        &self,
        req: &mut Request,
        depot: &mut Depot,
        res: &mut Response,
        ctrl: &mut FlowCtrl,
    ) {
        let built = tokio::fs::metadata(&self.index)
            .await
            .is_ok_and(|m| m.is_file());
        if !built {
            ApiError::WebAppNotBuilt(self.shown.clone())
                .write(req, depot, res)
                .await;
            ctrl.skip_rest();
        }
    }
}

/// Static files with a `Cache-Control` on what was found (misses stay 404 problems: a missing
/// hashed asset must not be answered with `index.html`, let alone cached for a year).
struct Cached {
    files: StaticDir,
    cache: &'static str,
}

#[async_trait]
impl Handler for Cached {
    async fn handle(
        &self,
        req: &mut Request,
        depot: &mut Depot,
        res: &mut Response,
        ctrl: &mut FlowCtrl,
    ) {
        self.files.handle(req, depot, res, ctrl).await;
        let status = res.status_code.unwrap_or(StatusCode::OK);
        if status.is_success() || status == StatusCode::NOT_MODIFIED {
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static(self.cache));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_app_path;

    #[test]
    fn the_api_and_operations_paths_are_not_the_apps() {
        for path in [
            "/api",
            "/api/v1/events",
            "/docs",
            "/docs/",
            "/metrics",
            "/health/live",
        ] {
            assert!(!is_app_path(path), "{path}");
        }
        for path in [
            "/",
            "/events/1",
            "/apiary",
            "/healthy",
            "/assets/app-1.js",
            "/me",
        ] {
            assert!(is_app_path(path), "{path}");
        }
    }
}
