//! `GET /events/{id}`, the app's event route: `index.html` with the event's title, description,
//! OpenGraph/Twitter tags and schema.org JSON-LD put into its `<head>` by the server, so crawlers
//! and link previews see them without running scripts. An unknown or malformed id (or a database
//! hiccup) gets the plain `index.html`: the app shows its own "not found".

use std::path::PathBuf;

use salvo::http::{HeaderValue, header};
use salvo::prelude::*;
use uuid::Uuid;

use super::head::{self, EventFacts};
use crate::error::ApiError;
use crate::state::{AppState, state};

pub struct EventPage {
    pub index: PathBuf,
}

const FACTS: &str = "SELECT e.name, e.description, e.starts_at, e.ends_at, e.price_cents, \
    trim(e.currency::text) AS currency, e.status, \
    greatest(i.capacity - i.sold - i.held - i.offered, 0) AS available, \
    v.name AS venue_name, v.address, v.city, u.name AS organizer \
    FROM events e JOIN inventory i ON i.event_id = e.id JOIN venues v ON v.id = e.venue_id \
    JOIN users u ON u.id = e.organizer_id WHERE e.id = $1";

#[async_trait]
impl Handler for EventPage {
    async fn handle(
        &self,
        req: &mut Request,
        depot: &mut Depot,
        res: &mut Response,
        _ctrl: &mut FlowCtrl,
    ) {
        let index = match tokio::fs::read_to_string(&self.index).await {
            Ok(index) => index,
            Err(e) => {
                tracing::warn!(error = %e, path = %self.index.display(), "reading index.html");
                let shown = self.index.parent().unwrap_or(&self.index).display();
                ApiError::WebAppNotBuilt(shown.to_string())
                    .write(req, depot, res)
                    .await;
                return;
            }
        };
        let tags = match event_tags(req, depot).await {
            Ok(tags) => tags.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(error = %e, "event page without its tags");
                String::new()
            }
        };
        let html = if tags.is_empty() {
            index
        } else {
            head::inject(&index, &tags)
        };
        let headers = res.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        if let Err(e) = res.write_body(html) {
            tracing::error!(error = %e, "writing an event page");
        }
    }
}

/// The tags of the event the path names; `None` when it names none.
async fn event_tags(req: &Request, depot: &Depot) -> Result<Option<String>, ApiError> {
    let Some(id) = req
        .param::<String>("id")
        .and_then(|s| Uuid::parse_str(&s).ok())
    else {
        return Ok(None);
    };
    let state = state(depot)?;
    let facts = sqlx::query_as::<_, EventFacts>(FACTS)
        .bind(id)
        .fetch_optional(&state.pool)
        .await?;
    Ok(facts.map(|f| head::tags(&f, &page_url(req, &state, id))))
}

/// The page's absolute address: `EVENTLY_PUBLIC_URL` when set, else the request's own host (only
/// when it looks like a host name, so nothing odd is reflected into the page).
fn page_url(req: &Request, state: &AppState, id: Uuid) -> String {
    let path = format!("/events/{id}");
    if let Some(base) = &state.settings.public_url {
        return format!("{}{path}", base.trim_end_matches('/'));
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        });
    let forwarded = state.settings.security.trust_forwarded_for;
    let scheme = req
        .headers()
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| forwarded && (*p == "https" || *p == "http"))
        .unwrap_or("http");
    match host {
        Some(host) => format!("{scheme}://{host}{path}"),
        None => path,
    }
}
