//! Behaviour: with `telemetry.otlp_endpoint` set, a real `tutti serve`
//! exports over OTLP/gRPC the server span of each call and, every
//! `metrics.export_seconds`, the `rpc.server.call.duration` metric, both with
//! the RPC semantic conventions (`rpc.system.name`, the same fully qualified
//! `rpc.method`, `rpc.response.status_code`), and no attribute, name or event
//! anywhere in the export carries a person id, not even one a caller put in
//! the path of a method that does not exist.
//!
//! The collector is the test's own: opentelemetry-proto's collector services
//! served with tonic on a loopback port, keeping every export request.

use crate::support;

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::metric;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;
use tutti_proto::v1::people_service_client::PeopleServiceClient;
use tutti_proto::v1::{CreatePersonRequest, GetPersonRequest};

/// In the person id, the path and the body of the calls; must appear nowhere
/// in what is exported.
const PERSON: &str = "p-otlp-secret-93817";

/// Every export request received.
#[derive(Default)]
struct Collector {
    traces: Mutex<Vec<ExportTraceServiceRequest>>,
    metrics: Mutex<Vec<ExportMetricsServiceRequest>>,
}

#[derive(Clone)]
struct Shared(Arc<Collector>);

#[tonic::async_trait]
impl TraceService for Shared {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0
            .traces
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Shared {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        self.0
            .metrics
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(request.into_inner());
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

impl Collector {
    fn spans(&self) -> Vec<Span> {
        self.traces
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .flat_map(|r| &r.resource_spans)
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| s.spans.clone())
            .collect()
    }

    /// The attributes of every data point of the metric `name`.
    fn points(&self, name: &str) -> Vec<Vec<KeyValue>> {
        let mut out = Vec::new();
        for r in self
            .metrics
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            for m in r
                .resource_metrics
                .iter()
                .flat_map(|r| &r.scope_metrics)
                .flat_map(|s| &s.metrics)
                .filter(|m| m.name == name)
            {
                if let Some(metric::Data::Histogram(h)) = &m.data {
                    out.extend(
                        h.data_points
                            .iter()
                            .filter(|p| p.count > 0)
                            .map(|p| p.attributes.clone()),
                    );
                }
            }
        }
        out
    }

    /// Everything received, as text: where a person id would show, whatever
    /// the field (resource, span, event or data-point attributes, names).
    fn everything(&self) -> String {
        format!(
            "{:?}\n{:?}",
            self.traces.lock().unwrap_or_else(PoisonError::into_inner),
            self.metrics.lock().unwrap_or_else(PoisonError::into_inner)
        )
    }
}

fn attr(attrs: &[KeyValue], key: &str) -> Option<String> {
    let value = attrs.iter().find(|kv| kv.key == key)?.value.as_ref()?;
    match value {
        AnyValue {
            value: Some(any_value::Value::StringValue(s)),
        } => Some(s.clone()),
        AnyValue {
            value: Some(any_value::Value::IntValue(i)),
        } => Some(i.to_string()),
        other => Some(format!("{other:?}")),
    }
}

/// Polls `check` until it holds (the exports are periodic), or fails.
async fn eventually(what: &str, collector: &Collector, check: impl Fn(&Collector) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check(collector) {
        assert!(
            Instant::now() < deadline,
            "{what} never arrived; received:\n{}",
            collector.everything()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A unary call to `path`, which the server does not serve.
async fn call_unknown_method(
    channel: tonic::transport::Channel,
    path: &'static str,
) -> tonic::Code {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("channel ready");
    grpc.unary::<_, GetPersonRequest, _>(
        tonic::Request::new(GetPersonRequest {
            name: format!("people/{PERSON}"),
        }),
        http::uri::PathAndQuery::from_static(path),
        tonic_prost::ProstCodec::default(),
    )
    .await
    .expect_err("no such method")
    .code()
}

#[tokio::test]
async fn spans_and_call_metrics_reach_an_otlp_collector_without_person_ids() {
    let collector = Arc::new(Collector::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the collector");
    let collector_addr = listener.local_addr().expect("collector address");
    let shared = Shared(Arc::clone(&collector));
    let collector_task = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(shared.clone()))
            .add_service(MetricsServiceServer::new(shared))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );

    let dir = support::temp_dir();
    let mut cmd = support::serve_command(&support::db_path(dir.path()), &[]);
    cmd.env(
        "TUTTI_TELEMETRY__OTLP_ENDPOINT",
        format!("http://{collector_addr}"),
    )
    .env("TUTTI_METRICS__EXPORT_SECONDS", "1")
    // The span batch goes out every 100 ms instead of every 5 s.
    .env("OTEL_BSP_SCHEDULE_DELAY", "100");
    let server = support::Server::spawn(cmd).await.expect("starts");

    let mut people = PeopleServiceClient::new(server.channel());
    people
        .create_person(CreatePersonRequest {
            request_id: "otlp-1".into(),
            person_id: PERSON.into(),
            conditions: vec![],
        })
        .await
        .expect("create");
    people
        .get_person(GetPersonRequest {
            name: format!("people/{PERSON}"),
        })
        .await
        .expect("get");
    assert_eq!(
        call_unknown_method(
            server.channel(),
            "/tutti.v1.PeopleService/p-otlp-secret-93817"
        )
        .await,
        tonic::Code::Unimplemented
    );

    let create = "tutti.v1.PeopleService/CreatePerson";
    eventually("the CreatePerson server span", &collector, |c| {
        c.spans().iter().any(|s| s.name == create)
    })
    .await;
    let spans = collector.spans();
    let span = spans
        .iter()
        .find(|s| s.name == create)
        .expect("checked above");
    assert_eq!(span.kind, SpanKind::Server as i32, "{span:?}");
    assert_eq!(
        attr(&span.attributes, "rpc.system.name").as_deref(),
        Some("grpc")
    );
    assert_eq!(
        attr(&span.attributes, "rpc.method").as_deref(),
        Some(create)
    );
    assert_eq!(
        attr(&span.attributes, "rpc.response.status_code").as_deref(),
        Some("OK")
    );
    assert_eq!(attr(&span.attributes, "error.type"), None);
    assert_eq!(span.trace_id.len(), 16, "a W3C trace id");

    let duration = "rpc.server.call.duration";
    eventually(
        "the call-duration metric of CreatePerson",
        &collector,
        |c| {
            c.points(duration)
                .iter()
                .any(|a| attr(a, "rpc.method").as_deref() == Some(create))
        },
    )
    .await;
    let points = collector.points(duration);
    let point = points
        .iter()
        .find(|a| attr(a, "rpc.method").as_deref() == Some(create))
        .expect("checked above");
    assert_eq!(attr(point, "rpc.system.name").as_deref(), Some("grpc"));
    assert_eq!(
        attr(point, "rpc.response.status_code").as_deref(),
        Some("OK")
    );

    // The method that does not exist: `_OTHER` on its span and its metric,
    // a server error by the conventions.
    eventually(
        "the span and metric of the unknown method",
        &collector,
        |c| {
            c.spans()
                .iter()
                .any(|s| attr(&s.attributes, "rpc.method").as_deref() == Some("_OTHER"))
                && c.points(duration).iter().any(|a| {
                    attr(a, "rpc.method").as_deref() == Some("_OTHER")
                        && attr(a, "error.type").as_deref() == Some("UNIMPLEMENTED")
                })
        },
    )
    .await;
    let spans = collector.spans();
    let other = spans
        .iter()
        .find(|s| attr(&s.attributes, "rpc.method").as_deref() == Some("_OTHER"))
        .expect("checked above");
    assert_eq!(other.name, "grpc", "named after the system: {other:?}");
    assert_eq!(
        attr(&other.attributes, "rpc.response.status_code").as_deref(),
        Some("UNIMPLEMENTED")
    );

    // Stopping flushes the last batch; then nothing received names the person.
    server.stop_cleanly().await;
    let everything = collector.everything();
    assert!(
        !everything.contains(PERSON),
        "a person id was exported:\n{everything}"
    );
    collector_task.abort();
}
