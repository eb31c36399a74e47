//! Operations: liveness, readiness (PostgreSQL and NATS reachable) and Prometheus metrics.

use async_nats::connection::State;
use salvo::http::{HeaderValue, StatusCode, header};
use salvo::oapi::ToSchema;
use salvo::prelude::*;
use serde::Serialize;

use super::reply;
use crate::error::ApiError;
use crate::state::state;

pub fn router() -> Router {
    Router::new()
        .push(Router::with_path("health/live").get(live))
        .push(Router::with_path("health/ready").get(ready))
        .push(Router::with_path("metrics").get(prometheus))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub database: &'static str,
    pub nats: &'static str,
}

/// The process is up.
#[endpoint(tags("operations"), responses((status_code = 200, body = Health)))]
pub async fn live(res: &mut Response) {
    reply(
        res,
        StatusCode::OK,
        &Health {
            status: "ok",
            database: "unchecked",
            nats: "unchecked",
        },
    );
}

/// PostgreSQL and NATS are reachable: `200`, else `503`.
#[endpoint(tags("operations"), responses((status_code = 200, body = Health)))]
pub async fn ready(depot: &mut Depot, res: &mut Response) -> Result<(), ApiError> {
    let state = state(depot)?;
    answer_readiness(res, &state.pool, &state.nats).await;
    Ok(())
}

/// Checks PostgreSQL (a query within 2 s) and the NATS connection, and answers `200` or `503`
/// with `Retry-After`. Shared by the gateway and the operations listener of consumer processes.
pub async fn answer_readiness(res: &mut Response, pool: &sqlx::PgPool, nats: &async_nats::Client) {
    let db_ok = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(pool),
    )
    .await
    .is_ok_and(|r| r.is_ok());
    let nats_ok = nats.connection_state() == State::Connected;
    let word = |ok: bool| if ok { "ok" } else { "unreachable" };
    let health = Health {
        status: if db_ok && nats_ok { "ok" } else { "degraded" },
        database: word(db_ok),
        nats: word(nats_ok),
    };
    if db_ok && nats_ok {
        reply(res, StatusCode::OK, &health);
    } else {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        reply(res, StatusCode::SERVICE_UNAVAILABLE, &health);
    }
}

/// Prometheus text exposition of every metric.
#[handler]
pub async fn prometheus(res: &mut Response) {
    let text = evently_runtime::telemetry::metrics().render();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    if let Err(e) = res.write_body(text) {
        tracing::error!(error = %e, "writing metrics");
    }
}
