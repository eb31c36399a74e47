//! W3C trace context across NATS: the `traceparent` header of every command and domain event, so
//! one trace shows an HTTP request, the command it published, the consumer step that applied it
//! and every event (and further step) it caused. The gateway injects the request's span context
//! into the command; the runner extracts it, opens a span per message under it and hands the
//! message's own context to the handler, which passes it on to the events it publishes. When the
//! process exports no spans (`telemetry::exporting`) the runner opens no message spans: it gives
//! the message a child context with a span id of its own ([`child_of`]), as an unsampled span
//! would have, without the cost of a span in every layer. The trace id is the same either way.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The header name, as W3C Trace Context spells it.
pub const TRACEPARENT: &str = "traceparent";

/// The `traceparent` value of `span`, when it has a valid context.
pub fn traceparent_of(span: &tracing::Span) -> Option<String> {
    let cx = span.context();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    carrier.remove(TRACEPARENT)
}

/// The `traceparent` of the current span.
pub fn current_traceparent() -> Option<String> {
    traceparent_of(&tracing::Span::current())
}

/// The trace id (32 hex digits) of a `traceparent` value.
pub fn trace_id_of(traceparent: &str) -> Option<&str> {
    let mut parts = traceparent.split('-');
    let (_version, trace_id) = (parts.next()?, parts.next()?);
    (trace_id.len() == 32).then_some(trace_id)
}

/// The trace id of `span`, for log fields and the `x-trace-id` response header.
pub fn trace_id(span: &tracing::Span) -> Option<String> {
    let cx = span.context();
    let span_cx = cx.span().span_context().clone();
    span_cx.is_valid().then(|| span_cx.trace_id().to_string())
}

/// Makes `traceparent` (from a message's headers) the parent of `span`.
pub fn set_parent(span: &tracing::Span, traceparent: &str) {
    let carrier = HashMap::from([(TRACEPARENT.to_owned(), traceparent.to_owned())]);
    let cx = TraceContextPropagator::new().extract(&carrier);
    if cx.span().span_context().is_valid() {
        let _ = span.set_parent(cx);
    }
}

/// A `traceparent` for a step under `traceparent`: the same version, trace id and flags, and a
/// fresh span id. `None` when `traceparent` is not one.
pub fn child_of(traceparent: &str) -> Option<String> {
    let mut parts = traceparent.split('-');
    let (version, trace_id, parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    if !(hex(version, 2) && hex(trace_id, 32) && hex(parent, 16) && hex(flags, 2)) {
        return None;
    }
    let span_id = loop {
        let id: u64 = rand::random();
        if id != 0 {
            break id;
        }
    };
    Some(format!("{version}-{trace_id}-{span_id:016x}-{flags}"))
}

/// Adds `traceparent` to NATS headers, when there is one.
pub fn insert_header(headers: &mut async_nats::HeaderMap, traceparent: Option<&str>) {
    if let Some(value) = traceparent {
        headers.insert(TRACEPARENT, value);
    }
}

/// The `traceparent` header of a NATS message, if any.
pub fn from_headers(headers: Option<&async_nats::HeaderMap>) -> Option<String> {
    headers
        .and_then(|h| h.get(TRACEPARENT))
        .map(|v| v.as_str().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trace_id_is_the_second_field_of_a_traceparent() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(trace_id_of(tp), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert_eq!(trace_id_of("garbage"), None);
    }

    #[test]
    fn a_child_keeps_the_trace_and_has_a_span_of_its_own() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let child = child_of(tp).expect("child");
        assert_eq!(trace_id_of(&child), trace_id_of(tp));
        assert!(child.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
        assert!(child.ends_with("-01"));
        assert_ne!(child, tp);
        assert_eq!(child.len(), tp.len());
        assert_eq!(child_of("00-garbage-00f067aa0ba902b7-01"), None);
    }
}
