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
use crate::command::RecordAssessmentsCommand;
use crate::command::people::RECORD_ASSESSMENT;
use crate::convert::hex;
use crate::convert::ids::PersonId;
use crate::error::{ServiceError, Violations};
use crate::service::{App, Call, people};
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
    let mut response = pb::IngestFhirResponse {
        ignored: reading.ignored,
        ..pb::IngestFhirResponse::default()
    };
    // Every assessment is parsed (as a RecordAssessment a client could have
    // sent) before any is stored; a problem is reported against the FHIR
    // element it came from.
    let mut issues = Vec::new();
    let mut commands = Vec::with_capacity(reading.assessments.len());
    for parsed in reading.assessments {
        for flag in &parsed.assessment.risk_flags {
            if !response.risk_flags.contains(flag) {
                response.risk_flags.push(*flag);
            }
        }
        let request = pb::RecordAssessmentRequest {
            request_id: dedupe_key(person, &parsed.key),
            person: person.name(),
            assessment: Some(parsed.assessment),
        };
        match RecordAssessmentsCommand::parse_one(request, &ctx) {
            Ok(cmd) => commands.push(cmd),
            Err(v) => issues.extend(v.iter().map(|(field, description)| {
                // The assessment's own fields, as FHIR sees them: the
                // request around it is made here and cannot be wrong.
                let field = field
                    .strip_prefix("assessment")
                    .map_or(field, |f| f.trim_start_matches('.'));
                Issue {
                    expression: parsed.path.clone(),
                    diagnostics: if field.is_empty() {
                        description.to_owned()
                    } else {
                        format!("{field} {description}")
                    },
                }
            })),
        }
    }
    if !issues.is_empty() {
        return Err(IngestError::Fhir(issues));
    }
    for cmd in commands {
        if app
            .storage
            .find_response(&call.tenant, RECORD_ASSESSMENT, &cmd.idem.request_id)
            .await
            .map_err(ServiceError::from)?
            .is_some()
        {
            response.duplicates += 1;
            continue;
        }
        let stored = people::record_assessment(app, call, &engine, cmd).await?;
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
