//! Logs, traces and metrics: `tracing` with an env filter (`RUST_LOG`, JSON when
//! `EVENTLY_LOG_FORMAT=json`, each line carrying the span fields, among them `trace_id`), an
//! OpenTelemetry layer that gives every span W3C trace context (propagated across NATS by
//! [`crate::trace_context`]) and exports spans with OTLP over HTTP when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and a Prometheus recorder for the `metrics` facade,
//! rendered by `GET /metrics`.
//!
//! Without an endpoint nothing is exported and nothing is sampled: spans still get trace and span
//! ids, so a booking's trace id still travels from the gateway through every consumer and shows in
//! the logs, at the cost of an id per span.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The tracer provider, kept to flush spans at exit.
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Whether spans are exported (an OTLP endpoint is configured and its exporter started).
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Whether this process exports its spans. Without an exporter, spans that would only be
/// exported (a span per consumed message) are not worth making; trace ids still travel.
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// A provider exporting with OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` (or the traces-specific
/// variable) is set; otherwise one that samples nothing and exports nothing.
fn tracer_provider() -> SdkTracerProvider {
    let endpoint = [
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ]
    .iter()
    .any(|v| std::env::var(v).is_ok_and(|v| !v.trim().is_empty()));
    let builder = SdkTracerProvider::builder().with_resource(
        opentelemetry_sdk::Resource::builder()
            .with_service_name(
                std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "evently".into()),
            )
            .build(),
    );
    if !endpoint {
        return builder.with_sampler(Sampler::AlwaysOff).build();
    }
    match opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
    {
        Ok(exporter) => {
            EXPORTING.store(true, Ordering::Relaxed);
            builder
                .with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)))
                .with_batch_exporter(exporter)
                .build()
        }
        Err(e) => {
            eprintln!("OTLP exporter not started (OTEL_EXPORTER_OTLP_ENDPOINT): {e}");
            builder.with_sampler(Sampler::AlwaysOff).build()
        }
    }
}

/// Installs the log subscriber and the tracer once; later calls do nothing (tests build many
/// apps).
pub fn init_logging() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        // Every HTTP client of the process (Web Push, the OTLP exporter) uses rustls with ring,
        // chosen once here, first thing, before any client is built.
        crate::vapid::install_crypto_provider();
        let filter = EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,async_nats=warn"));
        let json = std::env::var("EVENTLY_LOG_FORMAT").is_ok_and(|v| v == "json");
        let provider = PROVIDER.get_or_init(tracer_provider);
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer("evently"));
        // Without an exporter the layer is there for the ids alone: nothing reads a span's busy
        // and idle times, thread, source location or an activated OpenTelemetry context (trace
        // context is read from the `tracing` span), and each costs work at every span's creation
        // or at every poll of an instrumented future.
        let otel = if exporting() {
            otel
        } else {
            otel.with_tracked_inactivity(false)
                .with_context_activation(false)
                .with_threads(false)
                .with_location(false)
                .with_target(false)
        };
        let registry = tracing_subscriber::registry().with(filter).with(otel);
        let _ = if json {
            registry
                .with(
                    tracing_subscriber::fmt::layer()
                        .json()
                        .flatten_event(true)
                        .with_current_span(true),
                )
                .try_init()
        } else {
            registry.with(tracing_subscriber::fmt::layer()).try_init()
        };
    });
}

/// Exports the spans still buffered (at shutdown).
pub fn flush_traces() {
    if let Some(provider) = PROVIDER.get() {
        let _ = provider.force_flush();
    }
}

/// The process-wide Prometheus recorder. A thread drains its histograms every five seconds: the
/// recorder keeps every sample until a scrape or an upkeep folds it into the buckets, so a
/// process nobody scraped grew by megabytes a minute under load (found by the soak).
pub fn metrics() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let handle = recorder_handle();
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(std::time::Duration::from_secs(5));
                    upkeep.run_upkeep();
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start the metrics upkeep thread");
        }
        handle
    })
}

fn recorder_handle() -> PrometheusHandle {
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Suffix("_seconds".into()),
            &[
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ],
        )
        .and_then(|b| {
            b.set_buckets_for_metric(
                Matcher::Full("evently_consumer_batch_size".into()),
                &[
                    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
                ],
            )
        });
    match builder {
        Ok(builder) => {
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (tests): keep ours for rendering.
            let _ = metrics::set_global_recorder(recorder);
            handle
        }
        Err(e) => {
            tracing::error!(error = %e, "metrics buckets rejected; using defaults");
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            let _ = metrics::set_global_recorder(recorder);
            handle
        }
    }
}
