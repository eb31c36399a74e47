//! An event's seat map with each seat's status in one request, and its changes as Server-Sent
//! Events (deltas from the booking decisions the gateway already hears, not the map again).

use std::collections::HashMap;

use salvo::http::StatusCode;
use salvo::oapi::ToSchema;
use salvo::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use super::areas::{AreaOut, areas, category_color};
use super::plan_format::{PlanDocument, Point};
use crate::body::path_id;
use crate::error::ApiError;
use crate::live::SeatChange;
use crate::routes::reply;
use crate::state::state;

#[derive(Debug, Serialize, ToSchema)]
pub struct SeatMapOut {
    pub plan_id: Uuid,
    pub size: SizeOut,
    /// Where best-available measures from (the stage).
    pub focus: Point,
    pub categories: Vec<SeatCategoryOut>,
    pub seats: Vec<SeatOut>,
    /// What the plan draws around the seats (the stage, a bar, labels), under them.
    pub areas: Vec<AreaOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SizeOut {
    pub width: f64,
    pub height: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SeatCategoryOut {
    pub name: String,
    pub color: Option<String>,
    pub ticket_type_id: Uuid,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct SeatOut {
    /// The plan's seat id (what a booking's `seats` names).
    pub id: String,
    pub section: String,
    pub row: String,
    pub number: String,
    pub category: String,
    pub ticket_type_id: Uuid,
    /// Position in plan coordinates.
    pub x: f64,
    pub y: f64,
    pub radius: f64,
    /// `free`, `held`, `sold` or `blocked`.
    pub status: String,
    pub accessible: bool,
    pub companion: bool,
}

/// An event's plan, its category mapping and its focus.
type SeatingRow = (
    Uuid,
    serde_json::Value,
    sqlx::types::Json<HashMap<String, Uuid>>,
    f64,
    f64,
);

#[derive(Debug, Serialize, ToSchema)]
pub struct SeatChanges {
    pub changes: Vec<SeatChange>,
}

/// An event's seats and their status (anyone). 404 when the event is not seated.
#[endpoint(tags("seating"), parameters(("id" = Uuid, Path)), responses((status_code = 200, body = SeatMapOut)))]
pub async fn seat_map(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let state = state(depot)?;
    let event_id = path_id(req, "id", "event")?;
    let seating: Option<SeatingRow> = sqlx::query_as(
        "SELECT s.plan_id, p.document, s.categories, p.focus_x, p.focus_y FROM event_seating s \
             JOIN seating_plans p ON p.id = s.plan_id WHERE s.event_id = $1",
    )
    .bind(event_id)
    .fetch_optional(&state.pool)
    .await?;
    let Some((plan_id, document, mapping, focus_x, focus_y)) = seating else {
        return Err(ApiError::NotFound("seat map (the event is not seated)"));
    };
    let plan: PlanDocument = serde_json::from_value(document)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("a stored plan does not parse: {e}")))?;
    let seats: Vec<SeatOut> = sqlx::query_as(
        "SELECT es.seat_id AS id, es.section, es.row_label AS row, es.number, es.category, \
         es.ticket_type_id, es.x, es.y, es.radius, es.accessible, es.companion, \
         CASE WHEN es.blocked THEN 'blocked' WHEN b.status = 'confirmed' THEN 'sold' \
         WHEN b.status = 'held' THEN 'held' ELSE 'free' END AS status \
         FROM event_seats es \
         LEFT JOIN booking_seats bs ON bs.event_id = es.event_id AND bs.seat_id = es.seat_id AND bs.live \
         LEFT JOIN bookings b ON b.id = bs.booking_id \
         WHERE es.event_id = $1 ORDER BY es.row_index, es.seat_index",
    )
    .bind(event_id)
    .fetch_all(&state.pool)
    .await?;
    let size = match &plan.size {
        Some(s) => SizeOut {
            width: s.width,
            height: s.height,
        },
        None => SizeOut {
            width: seats.iter().map(|s| s.x + s.radius).fold(0.0, f64::max),
            height: seats.iter().map(|s| s.y + s.radius).fold(0.0, f64::max),
        },
    };
    let categories = plan
        .categories
        .iter()
        .filter_map(|c| {
            mapping.0.get(&c.name).map(|ty| SeatCategoryOut {
                name: c.name.clone(),
                color: category_color(c.color.clone()),
                ticket_type_id: *ty,
            })
        })
        .collect();
    reply(
        res,
        StatusCode::OK,
        &SeatMapOut {
            plan_id,
            size,
            focus: Point {
                x: focus_x,
                y: focus_y,
            },
            categories,
            seats,
            areas: areas(&plan),
        },
    );
    Ok(())
}

/// Server-Sent Events: `seats` events (`{changes: [{id, status}]}`) as bookings take and free
/// seats, gathered for a tenth of a second; `reset` when this stream fell behind (read the map
/// again). Read the map after opening the stream, then apply the changes.
#[endpoint(tags("seating"), parameters(("id" = Uuid, Path)), responses((status_code = 200, description = "text/event-stream of `seats` events")))]
pub async fn live_seats(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let state = state(depot)?;
    let event_id = path_id(req, "id", "event")?;
    let seated: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM event_seating WHERE event_id = $1)")
            .bind(event_id)
            .fetch_one(&state.pool)
            .await?;
    if !seated {
        return Err(ApiError::NotFound("seat map (the event is not seated)"));
    }
    let rx = state.decisions.seats.watch(event_id);
    let shutdown = state.shutdown.clone();
    let updates = futures::stream::unfold(rx, move |mut rx| {
        let shutdown = shutdown.clone();
        async move {
            use tokio::sync::broadcast::error::RecvError;
            let first = tokio::select! {
                _ = shutdown.cancelled() => return None,
                first = rx.recv() => first,
            };
            let mut changes: Vec<SeatChange> = match first {
                Ok(c) => c.to_vec(),
                Err(RecvError::Lagged(_)) => {
                    let reset = salvo::sse::SseEvent::default()
                        .name("reset")
                        .text("read the seat map again");
                    return Some((Ok::<_, std::io::Error>(reset), rx));
                }
                Err(RecvError::Closed) => return None,
            };
            // Gather what else changes within a tenth of a second; the newest status wins.
            let until = tokio::time::Instant::now() + std::time::Duration::from_millis(100);
            loop {
                match tokio::time::timeout_at(until, rx.recv()).await {
                    Ok(Ok(more)) => changes.extend(more.iter().cloned()),
                    Ok(Err(RecvError::Lagged(_))) => {
                        let reset = salvo::sse::SseEvent::default()
                            .name("reset")
                            .text("read the seat map again");
                        return Some((Ok(reset), rx));
                    }
                    Ok(Err(RecvError::Closed)) | Err(_) => break,
                }
            }
            let mut newest: HashMap<String, usize> = HashMap::new();
            for (i, c) in changes.iter().enumerate() {
                newest.insert(c.id.clone(), i);
            }
            let changes: Vec<SeatChange> = changes
                .into_iter()
                .enumerate()
                .filter(|(i, c)| newest.get(&c.id) == Some(i))
                .map(|(_, c)| c)
                .collect();
            let event = salvo::sse::SseEvent::default()
                .name("seats")
                .json(SeatChanges { changes })
                .map_err(std::io::Error::other);
            Some((event, rx))
        }
    });
    salvo::sse::SseKeepAlive::new(updates)
        .max_interval(std::time::Duration::from_secs(15))
        .stream(res);
    Ok(())
}
