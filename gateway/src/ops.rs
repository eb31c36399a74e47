//! The operations listener of a process that runs no gateway (`evently consume` with
//! `EVENTLY_OPS_ADDR`): `/health/live`, `/health/ready` and `/metrics`, so that consumer
//! instances can be probed by Kubernetes and scraped by Prometheus like the gateway.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use salvo::conn::tcp::TcpAcceptor;
use salvo::prelude::*;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::routes::health::{answer_readiness, live, prometheus};

#[derive(Clone)]
struct Probe {
    pool: PgPool,
    nats: async_nats::Client,
}

#[handler]
async fn ready(depot: &mut Depot, res: &mut Response) {
    match depot.get_typed::<Probe>() {
        Ok(probe) => answer_readiness(res, &probe.pool, &probe.nats).await,
        Err(_) => {
            res.status_code(StatusCode::INTERNAL_SERVER_ERROR);
        }
    }
}

/// Binds `addr` and serves until `shutdown`.
pub async fn serve(
    addr: SocketAddr,
    pool: PgPool,
    nats: async_nats::Client,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let acceptor: TcpAcceptor = TcpListener::new(addr)
        .try_bind()
        .await
        .with_context(|| format!("binding the operations listener on {addr} (EVENTLY_OPS_ADDR)"))?;
    let router = Router::new()
        .hoop(affix_state::inject(Probe { pool, nats }))
        .push(Router::with_path("health/live").get(live))
        .push(Router::with_path("health/ready").get(ready))
        .push(Router::with_path("metrics").get(prometheus));
    let server = Server::new(acceptor);
    let handle = server.handle();
    tokio::spawn(async move {
        shutdown.cancelled().await;
        handle.stop_graceful(Duration::from_secs(5));
    });
    tracing::info!(%addr, "operations listener (health, metrics)");
    server.serve(router).await;
    Ok(())
}
