//! FHIR in, one code path for every door: `PeopleService.IngestFhir`, the REST
//! route `POST /fhir/r4/people/{id}` and the resources a CDS call brings.
//!
//! Read everything ([`super::fhir::read`]), check every assessment with the
//! same rules as `RecordAssessment` (a problem is reported against the FHIR
//! element it came from), and only then store: one `RecordAssessment` per
//! instant, keyed by a digest of the person and the resources, so the same
//! resources sent again (a CDS prefetch repeats on every chart opening) are
//! found and stored nothing twice. If storage fails half-way, sending the
//! same input again completes it.

use super::fhir::{self, CodeMap, Issue};
use crate::convert::hex;
use crate::convert::ids::{PersonId, RequestId};
use crate::error::ServiceError;
use crate::grpc::people::{self, RECORD_ASSESSMENT};
use crate::grpc::{App, Call};
use crate::validate::{self, Violations};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tutti_proto::v1 as pb;

/// Why FHIR input was not stored.
#[derive(Debug)]
pub enum IngestError {
    /// The input is not acceptable FHIR; nothing was stored.
    Fhir(Vec<Issue>),
    /// Anything else (unknown person, storage, ...).
    Service(ServiceError),
}

impl From<ServiceError> for IngestError {
    fn from(e: ServiceError) -> Self {
        IngestError::Service(e)
    }
}

impl IngestError {
    /// As a service error: FHIR problems become field violations named by
    /// their FHIRPath (the gRPC form).
    pub fn into_service(self) -> ServiceError {
        match self {
            IngestError::Fhir(issues) => {
                let mut v = Violations::new();
                for i in issues {
                    v.add(i.expression, i.diagnostics);
                }
                ServiceError::InvalidArgument(v)
            }
            IngestError::Service(e) => e,
        }
    }
}

/// Parses FHIR JSON text, reporting a syntax error as an issue.
pub fn parse_json(text: &str) -> Result<Value, IngestError> {
    serde_json::from_str(text).map_err(|e| {
        IngestError::Fhir(vec![Issue {
            expression: "$".into(),
            diagnostics: format!("not JSON: {e}"),
        }])
    })
}

/// Reads `input` and stores what is new for `person` (who must exist).
pub async fn ingest(
    app: &App,
    call: &Call,
    person: &PersonId,
    input: &Value,
    codes: &CodeMap,
) -> Result<pb::IngestFhirResponse, IngestError> {
    let engine = app.engine(&call.tenant).await?;
    let reading = fhir::read(input, codes, engine.processes()).map_err(IngestError::Fhir)?;
    let ctx = app.ctx(&engine, app.now());
    let mut issues = Vec::new();
    for parsed in &reading.assessments {
        let mut v = Violations::new();
        validate::assessment(&mut v, "", &parsed.assessment, &ctx);
        issues.extend(v.iter().map(|(field, description)| Issue {
            expression: parsed.path.clone(),
            diagnostics: if field.is_empty() {
                description.to_owned()
            } else {
                format!("{field} {description}")
            },
        }));
    }
    if !issues.is_empty() {
        return Err(IngestError::Fhir(issues));
    }
    let mut response = pb::IngestFhirResponse {
        ignored: reading.ignored,
        ..pb::IngestFhirResponse::default()
    };
    for parsed in reading.assessments {
        for flag in &parsed.assessment.risk_flags {
            if !response.risk_flags.contains(flag) {
                response.risk_flags.push(*flag);
            }
        }
        let request_id = dedupe_key(person, &parsed.key);
        let rid = RequestId::parse(&request_id)
            .map_err(|e| ServiceError::Internal(format!("derived request id: {e}")))?;
        if app
            .storage
            .find_response(&call.tenant, RECORD_ASSESSMENT, &rid)
            .await
            .map_err(ServiceError::from)?
            .is_some()
        {
            response.duplicates += 1;
            continue;
        }
        let stored = people::record_assessment(
            app,
            call.clone(),
            pb::RecordAssessmentRequest {
                request_id,
                person: person.name(),
                assessment: Some(parsed.assessment),
            },
        )
        .await?;
        response.assessments.extend(stored.assessment);
    }
    tracing::info!(
        person = %person,
        recorded = response.assessments.len(),
        duplicates = response.duplicates,
        ignored = response.ignored,
        risk_flags = response.risk_flags.len(),
        "fhir ingested"
    );
    Ok(response)
}

/// The idempotency key of one assessment made from FHIR: the person and the
/// digest of its resources, so it is the same whenever they are sent again.
fn dedupe_key(person: &PersonId, key: &str) -> String {
    let mut h = Sha256::new();
    h.update(person.as_str().as_bytes());
    h.update([0]);
    h.update(key.as_bytes());
    format!("fhir-{}", &hex(&h.finalize())[..40])
}
