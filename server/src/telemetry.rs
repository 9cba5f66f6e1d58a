//! Logs and request tracing.
//!
//! - [`init`] installs the global `tracing` subscriber (called by the binary,
//!   never by [`crate::serve()`], so tests and embedders keep their own):
//!   readable text by default, one JSON object per line as an option, and
//!   OpenTelemetry trace export over OTLP/gRPC when an endpoint is configured
//!   (incoming W3C `traceparent` headers are continued).
//! - The request telemetry, as parts of tower-http's layers (wired in
//!   [`mod@crate::serve`]): every request gets a call id (the client's
//!   `x-request-id` if well-formed, else a new UUID v7, echoed in the
//!   response: [`drop_malformed_call_id`], [`NewCallId`]), a span named after
//!   the method with the OpenTelemetry RPC semantic conventions of release
//!   v1.44.0 (`rpc.system.name`, `rpc.method` fully qualified,
//!   `rpc.response.status_code`, `error.type`: [`RpcSpan`]), a
//!   trace id ([`with_trace_id`]: the span's, else the caller's
//!   `traceparent`, else a new one; it goes into the audit row), and one log
//!   event with method, status code and latency as structured fields
//!   ([`RpcLogged`]). The `rpc.server.call.duration` measurement is
//!   [`crate::middleware::measure`]'s.

use crate::config::{LogConfig, LogFormat, TelemetryConfig};
use crate::convert::ids::{check_id, new_uuid};
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::io::IsTerminal as _;
use std::time::Duration;
use tonic::Code;
use tower_http::classify::{GrpcErrorsAsFailures, SharedClassifier};
use tower_http::request_id::{MakeRequestId, RequestId};
use tower_http::trace::{MakeSpan, OnResponse, TraceLayer};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

/// Header carrying the per-call id, in and out.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The call's W3C trace id (32 lowercase hex digits), in the request extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceId(pub String);

/// The trace id of a W3C `traceparent` header value, if well-formed.
pub fn traceparent_trace_id(v: &str) -> Option<String> {
    let mut parts = v.trim().split('-');
    let (version, trace, span, _flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    let ok = hex(version, 2)
        && hex(trace, 32)
        && hex(span, 16)
        && trace.bytes().any(|b| b != b'0')
        && trace.bytes().all(|b| !b.is_ascii_uppercase());
    ok.then(|| trace.to_owned())
}

/// Keeps trace export running; flushes and stops it when dropped. Drop it
/// inside (or before the end of) the tokio runtime it was created in.
#[must_use = "trace export stops when the guard is dropped"]
#[derive(Debug, Default)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(e) = provider.shutdown()
        {
            tracing::warn!(error = %e, "flushing traces at shutdown failed");
        }
    }
}

/// Installs the global subscriber: the log format, and OTLP trace export when
/// `telemetry.otlp_endpoint` is set. Call it inside a tokio runtime (the OTLP
/// exporter's gRPC client needs one). Fails if a subscriber is installed already.
pub fn init(log: &LogConfig, telemetry: &TelemetryConfig) -> Result<TelemetryGuard, String> {
    let filter = EnvFilter::try_new(&log.filter).map_err(|e| format!("log.filter: {e}"))?;
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let fmt = match log.format {
        LogFormat::Text => fmt.boxed(),
        LogFormat::Json => fmt
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
    };
    let (otel, provider) = match &telemetry.otlp_endpoint {
        None => (None, None),
        Some(endpoint) => {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .build()
                .map_err(|e| format!("telemetry.otlp_endpoint: {e}"))?;
            let provider = SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(
                    Resource::builder()
                        .with_service_name(telemetry.service_name.clone())
                        .build(),
                )
                .build();
            opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
            let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("tutti-server"));
            (Some(layer), Some(provider))
        }
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init()
        .map_err(|e| e.to_string())?;
    Ok(TelemetryGuard { provider })
}

/// Reads W3C trace context (`traceparent`) from request headers.
struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// The gRPC status of a response as far as its headers tell: errors of unary
/// calls come as trailers-only responses (status in the headers); a response
/// without `grpc-status` in its headers is a success whose status follows in
/// the trailers.
pub fn grpc_code<B>(response: &http::Response<B>) -> Code {
    match response.headers().get("grpc-status") {
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.parse::<i32>().ok())
            .map(Code::from)
            .unwrap_or(Code::Unknown),
        None => Code::Ok,
    }
}

/// The gRPC code an HTTP status stands for (for the log and audit rows of the
/// plain-HTTP routes beside the gRPC services).
pub fn http_code(status: http::StatusCode) -> Code {
    match status.as_u16() {
        200..=399 => Code::Ok,
        400 => Code::InvalidArgument,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::NotFound,
        409 => Code::Aborted,
        412 => Code::FailedPrecondition,
        429 => Code::ResourceExhausted,
        501 => Code::Unimplemented,
        503 => Code::Unavailable,
        504 => Code::DeadlineExceeded,
        _ => Code::Internal,
    }
}

/// The outcome of any response: its gRPC status for gRPC (and gRPC-Web)
/// responses, its HTTP status translated otherwise.
pub fn response_code<B>(response: &http::Response<B>) -> Code {
    let grpc = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/grpc"));
    if grpc || response.headers().contains_key("grpc-status") {
        grpc_code(response)
    } else {
        http_code(response.status())
    }
}

/// The call id of a request (`x-request-id`, set by tower-http's request-id
/// layer), or empty outside the layer stack.
pub fn call_id(extensions: &http::Extensions) -> String {
    extensions
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .map(str::to_owned)
        .unwrap_or_default()
}

/// Makes the call id of a request that brings none: a UUID v7.
#[derive(Debug, Clone, Copy, Default)]
pub struct NewCallId;

impl MakeRequestId for NewCallId {
    fn make_request_id<B>(&mut self, _request: &http::Request<B>) -> Option<RequestId> {
        http::HeaderValue::from_str(&new_uuid())
            .ok()
            .map(RequestId::new)
    }
}

/// Drops a client's `x-request-id` that is not an id (1-64 of
/// `[A-Za-z0-9_-]`), so the request-id layer gives the call a new one: the
/// id goes into logs and audit rows, which must not carry arbitrary text.
pub fn drop_malformed_call_id<B>(mut request: http::Request<B>) -> http::Request<B> {
    let malformed = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .is_some_and(|v| v.to_str().map_or(true, |s| check_id(s).is_err()));
    if malformed {
        request.headers_mut().remove(REQUEST_ID_HEADER);
    }
    request
}

/// Whether a message is gRPC (or gRPC-Web), by its content type.
pub fn is_grpc(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/grpc"))
}

/// The span of a request (`tower_http::trace`'s span maker): named `rpc`
/// with the OpenTelemetry RPC semantic conventions for gRPC (and gRPC-Web),
/// `http` for the routes beside it; its parent is the caller's trace when it
/// sent one and export is on. Paths only: a query string may hold a token.
#[derive(Debug, Clone, Copy, Default)]
pub struct RpcSpan;

impl<B> MakeSpan<B> for RpcSpan {
    fn make_span(&mut self, req: &http::Request<B>) -> Span {
        let call_id = call_id(req.extensions());
        let method = req.uri().path();
        let span = if is_grpc(req.headers()) {
            // The metric's `rpc.method` too: one name for one method. A path
            // the server does not serve is the caller's text (it could hold
            // an id), so it is recorded nowhere, not even in `method`.
            let rpc_method = crate::metrics::rpc_method(method);
            let name = if rpc_method == crate::metrics::OTHER_METHOD {
                "grpc"
            } else {
                rpc_method
            };
            // `otel.*` fields set the exported span's name, kind and status;
            // the others are its attributes.
            tracing::info_span!(
                "rpc",
                otel.name = %name,
                otel.kind = "server",
                otel.status_code = tracing::field::Empty,
                rpc.system.name = "grpc",
                rpc.method = %rpc_method,
                rpc.response.status_code = tracing::field::Empty,
                "error.type" = tracing::field::Empty,
                method = %format!("/{rpc_method}"),
                call_id = %call_id,
                trace_id = tracing::field::Empty,
            )
        } else {
            tracing::info_span!(
                "http",
                otel.name = %format!("{} {}", req.method(), crate::metrics::method_label(method)),
                otel.kind = "server",
                otel.status_code = tracing::field::Empty,
                http.request.method = %req.method(),
                http.response.status_code = tracing::field::Empty,
                method = %method,
                call_id = %call_id,
                trace_id = tracing::field::Empty,
            )
        };
        // Without an OpenTelemetry layer this is a no-op.
        let parent = opentelemetry::global::get_text_map_propagator(|p| {
            p.extract(&HeaderExtractor(req.headers()))
        });
        let _ = span.set_parent(parent);
        span
    }
}

/// Puts the call's trace id into its span and its request ([`TraceId`], for
/// the audit row): the span's, else the caller's `traceparent`'s, else a new
/// one. Runs inside the request's span (`tower::util::MapRequestLayer` under
/// the trace layer).
pub fn with_trace_id<B>(mut req: http::Request<B>) -> http::Request<B> {
    use opentelemetry::trace::TraceContextExt as _;
    let span = Span::current();
    let cx = span.context();
    let sc = cx.span().span_context().clone();
    let trace_id = if sc.is_valid() {
        sc.trace_id().to_string()
    } else {
        req.headers()
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .and_then(traceparent_trace_id)
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
    };
    span.record("trace_id", trace_id.as_str());
    req.extensions_mut().insert(TraceId(trace_id));
    req
}

/// The request log (`tower_http::trace`'s response hook): the status on the
/// span, and one event with the status code and latency as fields.
#[derive(Debug, Clone, Copy, Default)]
pub struct RpcLogged;

impl<B> OnResponse<B> for RpcLogged {
    fn on_response(self, response: &http::Response<B>, latency: Duration, span: &Span) {
        let code = response_code(response);
        // Each span has one of the two fields; recording the other is a no-op.
        span.record("rpc.response.status_code", code_name(code));
        span.record("http.response.status_code", response.status().as_u16());
        // The codes gRPC's conventions count as server errors (a client's
        // NOT_FOUND is not the server failing).
        if let Some(error) = crate::metrics::error_type(code) {
            span.record("error.type", error);
            span.record("otel.status_code", "ERROR");
        }
        log_rpc(code, latency.as_secs_f64() * 1000.0);
    }
}

/// The trace layer of [`trace_layer`].
pub type RpcTraceLayer =
    TraceLayer<SharedClassifier<GrpcErrorsAsFailures>, RpcSpan, (), RpcLogged, (), (), ()>;

/// tower-http's trace layer with Tutti's span and log line, and nothing else
/// logged (no per-request start, body or failure events: the one `rpc` line
/// per call is the request log).
pub fn trace_layer() -> RpcTraceLayer {
    TraceLayer::new_for_grpc()
        .make_span_with(RpcSpan)
        .on_request(())
        .on_response(RpcLogged)
        .on_body_chunk(())
        .on_eos(())
        .on_failure(())
}

#[expect(
    clippy::wildcard_enum_match_arm,
    reason = "tonic's Code: the codes not named above share one log level"
)]
fn log_rpc(code: Code, latency_ms: f64) {
    let status = code_name(code);
    match code {
        Code::Internal | Code::Unknown | Code::DataLoss | Code::Unavailable => {
            tracing::error!(code = status, latency_ms, "rpc")
        }
        Code::Ok => tracing::info!(code = status, latency_ms, "rpc"),
        _ => tracing::warn!(code = status, latency_ms, "rpc"),
    }
}

/// The canonical upper-case name of a status code, as gRPC documents it.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_call_id_is_replaced_and_a_good_one_kept() {
        let req = |v: &str| {
            http::Request::builder()
                .header(REQUEST_ID_HEADER, v)
                .body(())
                .expect("request")
        };
        let kept = drop_malformed_call_id(req("abc-123_X"));
        assert_eq!(kept.headers()[REQUEST_ID_HEADER], "abc-123_X");
        for bad in ["has space", "ünï", &"x".repeat(65)] {
            let dropped = drop_malformed_call_id(req(bad));
            assert!(!dropped.headers().contains_key(REQUEST_ID_HEADER), "{bad}");
        }
        let new = NewCallId
            .make_request_id(&http::Request::new(()))
            .expect("an id");
        assert!(check_id(new.header_value().to_str().expect("text")).is_ok());
    }

    #[test]
    fn status_comes_from_headers_or_defaults_to_ok() {
        let ok = http::Response::new(());
        assert_eq!(grpc_code(&ok), Code::Ok);
        let not_found = tonic::Status::not_found("x").into_http::<()>();
        assert_eq!(grpc_code(&not_found), Code::NotFound);
    }
}
