//! `GET /me/live`: the caller's changes as Server-Sent Events, from the per-user hub
//! ([`crate::live_user`]): `booking`, `waitlist` and `payment` events (and `notification` once that
//! feature pushes into the hub), each `{kind, id, status, data}`.

use salvo::prelude::*;

use crate::auth::current_user;
use crate::error::ApiError;
use crate::state::state;

pub fn router() -> Router {
    Router::with_path("me/live").get(my_live)
}

/// Server-Sent Events of the caller's bookings, waitlist entries and payments as they change,
/// each named by its kind (`booking`, `waitlist`, `payment`, `notification`) with
/// `{kind, id, status, data}`.
#[endpoint(security(("bearer" = [])), tags("me"), responses((status_code = 200, description = "text/event-stream of the caller's changes")))]
pub async fn my_live(depot: &mut Depot, res: &mut Response) -> Result<(), ApiError> {
    let caller = current_user(depot)?;
    let state = state(depot)?;
    let rx = state.users.subscribe(caller.id);
    metrics::gauge!("evently_live_users").set(state.users.listened() as f64);
    let shutdown = state.shutdown.clone();
    let updates = futures::stream::unfold(rx, move |mut rx| {
        let shutdown = shutdown.clone();
        async move {
            loop {
                let item = tokio::select! {
                    _ = shutdown.cancelled() => return None,
                    item = rx.recv() => item,
                };
                match item {
                    Ok(item) => {
                        let event = salvo::sse::SseEvent::default()
                            .name(item.kind)
                            .json(&*item)
                            .map_err(std::io::Error::other);
                        return Some((event, rx));
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                }
            }
        }
    });
    salvo::sse::SseKeepAlive::new(updates)
        .max_interval(std::time::Duration::from_secs(15))
        .stream(res);
    Ok(())
}
