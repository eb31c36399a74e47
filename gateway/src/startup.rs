//! Builds the gateway: state, decision hub, router, OpenAPI document and the listener, and runs it
//! until the shutdown token fires (then stops gracefully).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use evently_runtime::Settings;
use evently_runtime::identity::TokenKeys;
use salvo::catcher::Catcher;
use salvo::conn::Acceptor;
use salvo::conn::tcp::TcpAcceptor;
use salvo::http::StatusCode;
use salvo::oapi::OpenApi;
use salvo::oapi::swagger_ui::SwaggerUi;
use salvo::prelude::*;
use salvo::request_id::{IdGenerator, UlidGenerator};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::auth::authenticate;
use crate::decisions::DecisionHub;
use crate::error::catch_all;
use crate::events_cache::EventsCache;
use crate::hygiene;
use crate::rate_limit::RateLimiter;
use crate::routes;
use crate::state::{AppState, SharedState};

/// What the gateway needs from the process that runs it.
pub struct GatewayDeps {
    pub settings: Arc<Settings>,
    pub pool: PgPool,
    pub nats: async_nats::Client,
    pub shutdown: CancellationToken,
}

/// A bound, ready-to-serve gateway.
pub struct Application {
    server: Server<TcpAcceptor>,
    service: Service,
    local_addr: SocketAddr,
    shutdown: CancellationToken,
}

impl Application {
    /// Binds `settings.http_addr` (port 0 picks a free port) and wires everything.
    pub async fn build(deps: GatewayDeps) -> anyhow::Result<Self> {
        let settings = deps.settings;
        // Install the recorder before the first request records anything.
        evently_runtime::telemetry::metrics();
        let prefix = settings.prefix()?;
        let keys = TokenKeys::with_previous(
            settings.require_jwt_secret()?,
            &settings.jwt_previous_secrets,
            Duration::from_secs(settings.access_token_ttl_secs),
        );
        let decisions = DecisionHub::start(&deps.nats, &prefix, deps.shutdown.clone()).await?;
        let users = decisions.users.clone();
        users
            .start(&deps.nats, &prefix, deps.shutdown.clone())
            .await?;
        let payments = evently_runtime::payments::from_settings(&settings.payments)?;
        let state: SharedState = Arc::new(AppState {
            js: evently_runtime::nats::jetstream(deps.nats.clone()),
            nats: deps.nats,
            pool: deps.pool.clone(),
            prefix,
            keys,
            decisions,
            users,
            payments,
            events: EventsCache::default(),
            limiter: RateLimiter::start(deps.pool.clone(), deps.shutdown.clone()),
            shutdown: deps.shutdown.clone(),
            tickets: evently_runtime::tickets::TicketKeys::from_settings(&settings.tickets)?,
            settings: settings.clone(),
        });
        let acceptor = TcpListener::new(settings.http_addr)
            .try_bind()
            .await
            .with_context(|| {
                format!(
                    "binding the HTTP listener on {} (EVENTLY_HTTP_ADDR)",
                    settings.http_addr
                )
            })?;
        let local_addr = acceptor
            .holdings()
            .first()
            .and_then(|h| h.local_addr.clone().into_std())
            .context("the listener has no local address")?;
        let security = &settings.security;
        let service = Service::new(router(state))
            .hoop(observe)
            .hoop(hygiene::headers(security.hsts))
            .hoop(hygiene::cors(&security.cors_origins))
            .catcher(Catcher::new(catch_all));
        Ok(Self {
            server: Server::new(acceptor),
            service,
            local_addr,
            shutdown: deps.shutdown,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until the shutdown token fires, then lets requests in flight finish (up to 10 s).
    pub async fn run_until_stopped(self) {
        let handle = self.server.handle();
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            shutdown.cancelled().await;
            handle.stop_graceful(Duration::from_secs(10));
        });
        tracing::info!(addr = %self.local_addr, "gateway listening");
        self.server.serve(self.service).await;
        tracing::info!("gateway stopped");
    }
}

/// The whole router: state, metrics, panics, timeouts, authentication, then the routes, the
/// OpenAPI document, Swagger UI and, last, the web app for every other GET path. (The request's
/// span, security headers and CORS wrap it in the service, so that they also apply to unknown
/// routes.)
pub fn router(state: SharedState) -> Router {
    let timeout = Duration::from_secs(state.settings.security.request_timeout_secs);
    let web = crate::web::router(&state.settings.web_dir);
    let router = Router::new()
        .hoop(affix_state::inject(state))
        .hoop(CatchPanic::new())
        .hoop(Timeout::new(timeout))
        .hoop(authenticate)
        .push(routes::health::router())
        .push(routes::api());
    let doc = OpenApi::new("Evently", env!("CARGO_PKG_VERSION"))
        .add_security_scheme(
            "bearer",
            salvo::oapi::security::SecurityScheme::Http(salvo::oapi::security::Http::new(
                salvo::oapi::security::HttpAuthScheme::Bearer,
            )),
        )
        .merge_router(&router);
    router
        .push(doc.into_router("api/openapi.json"))
        .push(SwaggerUi::new("/api/openapi.json").into_router("docs"))
        .push(web)
}

/// Every request's id (a ULID, answered as `x-request-id`), its one span (the id, method, path and
/// trace id, on every log line of the request) and the latency histogram.
#[handler]
async fn observe(req: &mut Request, depot: &mut Depot, res: &mut Response, ctrl: &mut FlowCtrl) {
    let started = Instant::now();
    let request_id = UlidGenerator::new().generate(req, depot);
    let span = tracing::info_span!(
        "http",
        request_id = %request_id,
        method = %req.method(),
        path = %req.uri().path(),
        trace_id = tracing::field::Empty
    );
    if let Ok(value) = salvo::http::HeaderValue::from_str(&request_id) {
        res.headers_mut().insert("x-request-id", value);
    }
    if let Some(id) = evently_runtime::trace_context::trace_id(&span) {
        span.record("trace_id", id.as_str());
        if let Ok(value) = salvo::http::HeaderValue::from_str(&id) {
            res.headers_mut().insert("x-trace-id", value);
        }
    }
    ctrl.call_next(req, depot, res).instrument(span).await;
    let status = res.status_code.unwrap_or(StatusCode::OK);
    let route = match req.matched_path() {
        "" => "unmatched".to_owned(),
        p => format!("/{}", p.trim_start_matches('/')),
    };
    metrics::histogram!(
        "evently_http_request_duration_seconds",
        "method" => req.method().as_str().to_owned(),
        "route" => route,
        "status" => status.as_u16().to_string(),
    )
    .record(started.elapsed().as_secs_f64());
}
