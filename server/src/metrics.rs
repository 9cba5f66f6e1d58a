//! OpenTelemetry metrics: call duration by method and code, recommendations by
//! model version, feedback outcomes, shed calls. Exported by OTLP when
//! `telemetry.otlp_endpoint` is set and scrapeable as Prometheus text at
//! `GET /metrics` (`metrics.prometheus`).
//!
//! Attributes follow the OpenTelemetry semantic conventions for RPC of
//! release v1.44.0 (`rpc.system.name`, `rpc.method` fully qualified,
//! `rpc.response.status_code` as the code's name, `error.type` for the codes
//! gRPC's conventions count as server errors), the same on the call-duration
//! metric and on the server span ([`crate::telemetry::RpcSpan`]).
//!
//! Labels are bounded and never name a person: methods are the ones the
//! server serves (any other path is `_OTHER`, as the conventions ask, and its
//! original text is not recorded: it is the caller's and could hold an id),
//! HTTP routes are their templates (`/fhir/r4/people/{person_id}`), tenants
//! are not labels.

use crate::config::Config;
use crate::telemetry::code_name;
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, MeterProvider as _};
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use prost::Message as _;
use std::collections::HashSet;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tonic::Code;

/// The instruments, cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    provider: SdkMeterProvider,
    registry: Option<prometheus::Registry>,
    call_duration: Histogram<f64>,
    recommendations: Counter<u64>,
    feedback: Counter<u64>,
    shed: Counter<u64>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("prometheus", &self.inner.registry.is_some())
            .finish()
    }
}

impl Metrics {
    /// Instruments on the configured exporters, or on `provider` when an
    /// embedder (a test with an in-memory exporter) brings its own.
    pub fn new(config: &Config, provider: Option<SdkMeterProvider>) -> Result<Self, String> {
        let (provider, registry) = match provider {
            Some(p) => (p, None),
            None => {
                let mut builder = SdkMeterProvider::builder().with_resource(
                    Resource::builder()
                        .with_service_name(config.telemetry.service_name.clone())
                        .build(),
                );
                let registry = if config.metrics.prometheus {
                    let registry = prometheus::Registry::new();
                    let exporter = opentelemetry_prometheus::exporter()
                        .with_registry(registry.clone())
                        .build()
                        .map_err(|e| format!("metrics.prometheus: {e}"))?;
                    builder = builder.with_reader(exporter);
                    Some(registry)
                } else {
                    None
                };
                if let Some(endpoint) = &config.telemetry.otlp_endpoint {
                    let exporter = opentelemetry_otlp::MetricExporter::builder()
                        .with_tonic()
                        .with_endpoint(endpoint)
                        .build()
                        .map_err(|e| format!("telemetry.otlp_endpoint: {e}"))?;
                    let reader = PeriodicReader::builder(exporter)
                        .with_interval(Duration::from_secs(config.metrics.export_seconds))
                        .build();
                    builder = builder.with_reader(reader);
                }
                (builder.build(), registry)
            }
        };
        let meter = provider.meter("tutti-server");
        let inner = Inner {
            call_duration: meter
                .f64_histogram("rpc.server.call.duration")
                .with_unit("s")
                .with_description("Duration of calls served, by method and status code")
                .with_boundaries(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ])
                .build(),
            recommendations: meter
                .u64_counter("tutti.recommendations")
                .with_description("Decisions ranked, by model version and mode")
                .build(),
            feedback: meter
                .u64_counter("tutti.feedback")
                .with_description("Feedback reports, by completion and clinician decision")
                .build(),
            shed: meter
                .u64_counter("tutti.shed")
                .with_description("Calls shed under overload, by scope and method")
                .build(),
            provider,
            registry,
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// One finished call.
    pub fn call(&self, system: &'static str, method: &str, code: Code, seconds: f64) {
        let mut attributes = vec![
            KeyValue::new("rpc.system.name", system),
            KeyValue::new("rpc.method", method.to_owned()),
            KeyValue::new("rpc.response.status_code", code_name(code)),
        ];
        if let Some(error) = error_type(code) {
            attributes.push(KeyValue::new("error.type", error));
        }
        self.inner.call_duration.record(seconds, &attributes);
    }

    /// One decision ranked.
    pub fn recommendation(&self, model_version: &str, shadow: bool) {
        self.inner.recommendations.add(
            1,
            &[
                KeyValue::new("model_version", model_version.to_owned()),
                KeyValue::new("mode", if shadow { "shadow" } else { "live" }),
            ],
        );
    }

    /// One feedback report.
    pub fn feedback(&self, completion: &'static str, decision: &'static str) {
        self.inner.feedback.add(
            1,
            &[
                KeyValue::new("completion", completion),
                KeyValue::new("clinician_decision", decision),
            ],
        );
    }

    /// One call shed (`scope`: `global` or `tenant`; `method`: its [`method_label`]).
    pub fn shed(&self, scope: &'static str, method: &str) {
        self.inner.shed.add(
            1,
            &[
                KeyValue::new("scope", scope),
                KeyValue::new("rpc.method", method.to_owned()),
            ],
        );
    }

    /// The Prometheus text exposition, when `metrics.prometheus` is on.
    pub fn prometheus_text(&self) -> Option<String> {
        let registry = self.inner.registry.as_ref()?;
        let mut out = String::new();
        prometheus::TextEncoder::new()
            .encode_utf8(&registry.gather(), &mut out)
            .ok()?;
        Some(out)
    }

    /// Flushes and stops the exporters.
    pub fn shutdown(&self) {
        if let Err(e) = self.inner.provider.shutdown() {
            tracing::debug!(error = %e, "metrics shutdown");
        }
    }
}

/// `rpc.method` of a gRPC path, when the conventions say no method applies.
pub const OTHER_METHOD: &str = "_OTHER";

/// The methods this server serves, as `package.Service/Method`: the
/// `tutti.v1` contract's, health checks, reflection (both versions).
fn served_methods() -> &'static HashSet<String> {
    static METHODS: OnceLock<HashSet<String>> = OnceLock::new();
    METHODS.get_or_init(|| {
        let mut methods: HashSet<String> = [
            "grpc.health.v1.Health/Check",
            "grpc.health.v1.Health/Watch",
            "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        // The contract's own descriptor set, compiled in: it cannot fail to
        // decode short of a build defect, which then shows as `_OTHER`.
        if let Ok(set) = prost_types::FileDescriptorSet::decode(tutti_proto::FILE_DESCRIPTOR_SET) {
            for file in &set.file {
                let package = file.package();
                for service in &file.service {
                    for method in &service.method {
                        methods.insert(format!("{package}.{}/{}", service.name(), method.name()));
                    }
                }
            }
        }
        methods
    })
}

/// `rpc.method` of a gRPC request path: `package.Service/Method` when the
/// server serves it, else [`OTHER_METHOD`] (the path is the caller's text).
pub fn rpc_method(path: &str) -> &str {
    let method = path.strip_prefix('/').unwrap_or(path);
    if served_methods().contains(method) {
        method
    } else {
        OTHER_METHOD
    }
}

/// `error.type` of a call that ended with `code`: the code's name for the
/// codes gRPC's conventions count as server errors, else none.
#[expect(
    clippy::wildcard_enum_match_arm,
    reason = "tonic's Code: the codes not listed are not server errors"
)]
pub fn error_type(code: Code) -> Option<&'static str> {
    match code {
        Code::Unknown
        | Code::DeadlineExceeded
        | Code::Unimplemented
        | Code::Internal
        | Code::Unavailable
        | Code::DataLoss => Some(code_name(code)),
        _ => None,
    }
}

/// The label for a request path: a served gRPC method (`rpc_method`), an
/// HTTP route as its template, anything else `other`.
pub fn method_label(path: &str) -> String {
    if path.starts_with("/tutti.v1.") || path.starts_with("/grpc.") {
        return rpc_method(path).to_owned();
    }
    let p = path;
    let template = if p == "/cds-services" {
        "/cds-services"
    } else if p.starts_with("/cds-services/") && p.ends_with("/feedback") {
        "/cds-services/{id}/feedback"
    } else if p.starts_with("/cds-services/") {
        "/cds-services/{id}"
    } else if p.starts_with("/fhir/r4/people/") {
        "/fhir/r4/people/{person_id}"
    } else if p.starts_with("/fhir/r4/") {
        "/fhir/r4/Questionnaire"
    } else if p.starts_with("/ehr/app") {
        "/ehr/app"
    } else if p == "/metrics" {
        "/metrics"
    } else {
        "other"
    };
    template.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_never_carry_ids() {
        assert_eq!(
            method_label("/fhir/r4/people/p-secret"),
            "/fhir/r4/people/{person_id}"
        );
        assert_eq!(
            method_label("/tutti.v1.PeopleService/GetPerson"),
            "tutti.v1.PeopleService/GetPerson"
        );
        assert_eq!(
            method_label("/grpc.health.v1.Health/Check"),
            "grpc.health.v1.Health/Check"
        );
        assert_eq!(method_label("/tutti.v1.PeopleService/p-123"), "_OTHER");
        assert_eq!(method_label("/grpc.health.v1.Health/p-123"), "_OTHER");
        assert_eq!(method_label("/anything/else"), "other");
    }
}
