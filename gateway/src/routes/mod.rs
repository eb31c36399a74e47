//! One router per resource, assembled under `/api/v1`, plus health, metrics and the API docs.

use salvo::http::{HeaderValue, StatusCode, header};
use salvo::prelude::*;
use serde::Serialize;

pub mod accounts;
pub mod admin;
pub mod analytics;
pub mod attendees;
pub mod bookings;
pub mod event_edit;
pub mod events;
pub mod health;
pub mod me_live;
pub mod my_data;
pub mod notifications;
pub mod payments;
pub mod promo_codes;
pub mod push;
pub mod seating;
pub mod ticket_types;
pub mod tickets;
pub mod venues;
pub mod waitlist;

/// Every `/api/v1` route (no query parameter holds a control character: `crate::text`).
pub fn api() -> Router {
    Router::with_path("api/v1")
        .hoop(crate::text::check_query)
        .push(accounts::router())
        .push(admin::router())
        .push(venues::router())
        .push(events::router())
        .push(bookings::router())
        .push(ticket_types::router())
        .push(promo_codes::router())
        .push(seating::router())
        .push(analytics::router())
        .push(payments::router())
        .push(waitlist::router())
        .push(me_live::router())
        .push(my_data::router())
        .push(tickets::router())
        .push(notifications::router())
        .push(push::router())
}

/// Writes `body` as JSON with `status`.
pub fn reply<T: Serialize>(res: &mut Response, status: StatusCode, body: &T) {
    res.status_code(status);
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            if let Err(e) = res.write_body(bytes) {
                tracing::error!(error = %e, "writing a response body");
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "encoding a response body");
            res.status_code(StatusCode::INTERNAL_SERVER_ERROR);
        }
    }
}

/// Sets the `Location` header.
pub fn set_location(res: &mut Response, path: &str) {
    if let Ok(v) = HeaderValue::from_str(path) {
        res.headers_mut().insert(header::LOCATION, v);
    }
}
