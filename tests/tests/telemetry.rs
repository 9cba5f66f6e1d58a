//! Behaviour: the server records OpenTelemetry metrics (call duration by
//! method and status code, recommendations by model version, feedback
//! outcomes) and spans named after the method with the RPC semantic
//! conventions of OpenTelemetry semconv v1.44.0 (`rpc.system.name`,
//! `rpc.method` fully qualified and the same on spans and metrics,
//! `rpc.response.status_code`, `error.type` on server errors), read here
//! through in-memory exporters; the same
//! metrics are served as Prometheus text on `GET /metrics`; no label or
//! attribute carries a person id.

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use std::time::Duration;
use tokio::net::TcpListener;
use tonic::transport::{Channel, Endpoint};
use tracing_subscriber::layer::SubscriberExt as _;
use tutti_proto::v1::catalog_service_client::CatalogServiceClient;
use tutti_proto::v1::people_service_client::PeopleServiceClient;
use tutti_proto::v1::recommendation_service_client::RecommendationServiceClient;
use tutti_proto::v1::{
    Completion, CreatePersonRequest, GetPersonRequest, ListProcessesRequest,
    RecordAssessmentRequest, RecordFeedbackRequest,
};
use tutti_server::config::Config;
use tutti_server::serve::Extras;
use tutti_tests::fixtures::{feedback, now, recommend_request, rid, valid_assessment};

/// Every attribute of every data point of every metric, as `name: key=value`.
#[expect(
    clippy::wildcard_enum_match_arm,
    reason = "OpenTelemetry's AggregatedMetrics: the server records only the kinds named"
)]
fn metric_points(exporter: &InMemoryMetricExporter) -> Vec<(String, Vec<KeyValue>, f64)> {
    let mut out = Vec::new();
    for rm in exporter.get_finished_metrics().expect("metrics") {
        for sm in rm.scope_metrics() {
            for m in sm.metrics() {
                let name = m.name().to_owned();
                match m.data() {
                    AggregatedMetrics::F64(MetricData::Histogram(h)) => {
                        for p in h.data_points() {
                            out.push((
                                name.clone(),
                                p.attributes().cloned().collect(),
                                p.count() as f64,
                            ));
                        }
                    }
                    AggregatedMetrics::U64(MetricData::Sum(s)) => {
                        for p in s.data_points() {
                            out.push((
                                name.clone(),
                                p.attributes().cloned().collect(),
                                p.value() as f64,
                            ));
                        }
                    }
                    other => panic!("unexpected metric data for {name}: {other:?}"),
                }
            }
        }
    }
    out
}

fn attr(attrs: &[KeyValue], key: &str) -> Option<String> {
    attrs
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

#[tokio::test]
async fn calls_are_measured_and_traced_without_person_ids() {
    // Spans: the server's tracing spans through tracing-opentelemetry.
    let spans = InMemorySpanExporter::default();
    let tracer_provider = SdkTracerProvider::builder()
        .with_simple_exporter(spans.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(tracer_provider.tracer("test")));
    tracing::subscriber::set_global_default(subscriber).expect("one subscriber per test binary");

    // Metrics: the server's instruments on an in-memory exporter.
    let metrics = InMemoryMetricExporter::default();
    let meter_provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(metrics.clone()).build())
        .build();

    let dir = tempfile::tempdir().expect("temp dir");
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut config = Config::default();
    config.storage.path = dir.path().join("tutti.db");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(tutti_server::serve_with(
        listener,
        config,
        async move {
            let _ = stopped.await;
        },
        Extras {
            meter_provider: Some(meter_provider.clone()),
        },
    ));
    let channel: Channel = Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect_lazy();
    let mut catalog = CatalogServiceClient::new(channel.clone());
    let mut ready = false;
    for _ in 0..600 {
        if catalog
            .list_processes(ListProcessesRequest {})
            .await
            .is_ok()
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "server never answered");

    let person_id = format!("p-secret-{}", uuid::Uuid::new_v4().simple());
    let person = format!("people/{person_id}");
    let mut people = PeopleServiceClient::new(channel.clone());
    let mut recs = RecommendationServiceClient::new(channel.clone());
    people
        .create_person(CreatePersonRequest {
            request_id: rid(),
            person_id: person_id.clone(),
            conditions: vec![],
        })
        .await
        .expect("create");
    people
        .record_assessment(RecordAssessmentRequest {
            request_id: rid(),
            person: person.clone(),
            assessment: Some(valid_assessment(now())),
        })
        .await
        .expect("assessment");
    let answer = recs
        .recommend(recommend_request(&person))
        .await
        .expect("recommend")
        .into_inner();
    let rec = answer
        .recommendations
        .first()
        .expect("a recommendation")
        .recommendation_id
        .clone();
    recs.record_feedback(RecordFeedbackRequest {
        request_id: rid(),
        feedback: Some(feedback(&rec, Completion::Done)),
    })
    .await
    .expect("feedback");
    let missing = people
        .get_person(GetPersonRequest {
            name: format!("people/{person_id}-nobody"),
        })
        .await;
    assert_eq!(missing.expect_err("unknown").code(), tonic::Code::NotFound);

    // Prometheus text is not served when an embedder brings its own provider;
    // stop the server and read what the in-memory exporters hold.
    let _ = stop.send(());
    server.await.expect("task").expect("serve returned Ok");
    // The server shut its meter provider down on the way out, which flushed
    // the last measurements into the exporter.
    let _ = meter_provider.force_flush();

    let points = metric_points(&metrics);
    let call = |method: &str, code: &str| {
        points.iter().any(|(n, a, count)| {
            n == "rpc.server.call.duration"
                && attr(a, "rpc.method").as_deref() == Some(method)
                && attr(a, "rpc.response.status_code").as_deref() == Some(code)
                && attr(a, "rpc.system.name").as_deref() == Some("grpc")
                // A client's NOT_FOUND is not a server error.
                && attr(a, "error.type").is_none()
                && *count >= 1.0
        })
    };
    assert!(
        call("tutti.v1.PeopleService/CreatePerson", "OK"),
        "{points:?}"
    );
    assert!(
        call("tutti.v1.PeopleService/GetPerson", "NOT_FOUND"),
        "NOT_FOUND measured: {points:?}"
    );
    assert!(
        points.iter().any(|(n, a, v)| n == "tutti.recommendations"
            && attr(a, "model_version").is_some_and(|m| m == answer.model_version)
            && *v >= 1.0),
        "recommendations by model version: {points:?}"
    );
    assert!(
        points.iter().any(|(n, a, v)| n == "tutti.feedback"
            && attr(a, "completion").as_deref() == Some("done")
            && *v >= 1.0),
        "feedback outcomes: {points:?}"
    );
    for (name, attrs, _) in &points {
        for kv in attrs {
            assert!(
                !kv.value.to_string().contains(&person_id),
                "{name} has a label with the person id: {kv:?}"
            );
        }
    }

    let finished = spans.get_finished_spans().expect("spans");
    let create = finished
        .iter()
        .find(|s| s.name == "tutti.v1.PeopleService/CreatePerson")
        .unwrap_or_else(|| {
            panic!(
                "no CreatePerson span in {:?}",
                finished.iter().map(|s| &s.name).collect::<Vec<_>>()
            )
        });
    assert_eq!(create.span_kind, opentelemetry::trace::SpanKind::Server);
    let a = &create.attributes;
    assert_eq!(attr(a, "rpc.system.name").as_deref(), Some("grpc"));
    assert_eq!(
        attr(a, "rpc.method").as_deref(),
        Some("tutti.v1.PeopleService/CreatePerson"),
        "the metric's rpc.method"
    );
    assert_eq!(attr(a, "rpc.response.status_code").as_deref(), Some("OK"));
    assert_eq!(attr(a, "error.type"), None);
    for old in ["rpc.system", "rpc.service", "rpc.grpc.status_code"] {
        assert_eq!(attr(a, old), None, "deprecated {old} still set");
    }
    let not_found = finished
        .iter()
        .find(|s| s.name == "tutti.v1.PeopleService/GetPerson")
        .expect("GetPerson span");
    assert_eq!(
        attr(&not_found.attributes, "rpc.response.status_code").as_deref(),
        Some("NOT_FOUND")
    );
    for s in &finished {
        for kv in &s.attributes {
            assert!(
                !kv.value.to_string().contains(&person_id),
                "span {} has an attribute with the person id: {kv:?}",
                s.name
            );
        }
    }
}

#[tokio::test]
async fn prometheus_text_is_served_at_get_metrics() {
    let server = tutti_tests::TestServer::start()
        .await
        .expect("server starts");
    server
        .catalog()
        .list_processes(ListProcessesRequest {})
        .await
        .expect("a call to measure");
    let response = reqwest::get(format!("{}/metrics", server.base_url()))
        .await
        .expect("GET /metrics");
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("body");
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("rpc_server_call_duration")
                && l.contains("tutti.v1.CatalogService/ListProcesses")
        })
        .unwrap_or_else(|| panic!("no call duration for ListProcesses in:\n{text}"));
    assert!(line.contains("rpc_response_status_code=\"OK\""), "{line}");
    assert!(line.contains("rpc_system_name=\"grpc\""), "{line}");
    server.stop().await.expect("clean stop");
}
