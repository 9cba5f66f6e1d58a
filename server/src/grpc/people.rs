//! `tutti.v1.PeopleService`: people, their assessments and their insights.

use super::{App, Call, blocking, handle, state};
use crate::convert::ids::{PersonId, new_uuid};
use crate::convert::page::{PageToken, fingerprint};
use crate::convert::{self, FromWire as _, timestamp_to_pb};
use crate::ehr::ingest::{self, IngestError};
use crate::error::{Result, ServiceError};
use crate::idempotency::Idempotency;
use crate::storage::{
    AssessmentCursor, Erased, NewPerson, PersonRecord, StateUpdate, StorageError, StoredAssessment,
};
use crate::validate::{self, Violations};
use prost::Message;
use std::sync::Arc;
use tonic::{Request, Response, Status};
use tutti_engine::ids::Timestamp;
use tutti_engine::observe::Assessment;
use tutti_proto::v1 as pb;
use tutti_proto::v1::people_service_server::PeopleService;

const CREATE_PERSON: &str = "/tutti.v1.PeopleService/CreatePerson";
const DELETE_PERSON: &str = "/tutti.v1.PeopleService/DeletePerson";
/// Full method name of RecordAssessment (its idempotency records are keyed by it).
pub const RECORD_ASSESSMENT: &str = "/tutti.v1.PeopleService/RecordAssessment";
const BATCH_RECORD_ASSESSMENTS: &str = "/tutti.v1.PeopleService/BatchRecordAssessments";

const DEFAULT_ASSESSMENT_PAGE: u32 = 100;

/// The PeopleService adapter.
#[derive(Debug, Clone)]
pub struct PeopleApi {
    app: Arc<App>,
}

impl PeopleApi {
    /// An adapter over the shared state.
    pub fn new(app: Arc<App>) -> Self {
        Self { app }
    }
}

fn person_id(field: &str, name: &str) -> Result<PersonId> {
    PersonId::from_name(name).map_err(|e| ServiceError::bad_id(field, e))
}

fn not_found(person: &PersonId) -> ServiceError {
    ServiceError::NotFound(person.name())
}

fn person_to_pb(p: &PersonRecord) -> pb::Person {
    pb::Person {
        name: p.id.name(),
        conditions: convert::conditions_to_pb(&p.conditions),
        create_time: Some(timestamp_to_pb(p.create_time)),
        assessment_count: p.assessment_count,
        feedback_count: p.feedback_count,
    }
}

/// CreatePerson (also used by the EHR integration).
pub async fn create_person(
    app: &App,
    call: Call,
    req: pb::CreatePersonRequest,
) -> Result<pb::CreatePersonResponse> {
    validate::create_person(&req)?;
    let person =
        PersonId::parse(&req.person_id).map_err(|e| ServiceError::bad_id("person_id", e))?;
    let conditions = convert::conditions_from_pb(&req.conditions, "conditions")?;
    call.audit(person.name(), Some(&req.request_id));
    let idem = Idempotency::new(CREATE_PERSON, &req.request_id, &req)?.audited(&call);
    let engine = app.engine(&call.tenant).await?;
    let (call, person, conditions, idem, engine) = (&call, &person, &conditions, &idem, &engine);
    idem.run(app.storage.as_ref(), &call.tenant, || async move {
        let now = app.now();
        let record = PersonRecord {
            id: person.clone(),
            conditions: conditions.clone(),
            create_time: now,
            assessment_count: 0,
            feedback_count: 0,
            latest_assessment_time: None,
            state: None,
            version: 1,
        };
        let response = pb::CreatePersonResponse {
            person: Some(person_to_pb(&record)),
        };
        let new = NewPerson {
            id: person.clone(),
            conditions: conditions.clone(),
            create_time: now,
            state: engine.new_person(conditions.clone()),
        };
        app.storage
            .create_person(&call.tenant, new, idem.record(&response, Some(person), now))
            .await?;
        Ok(response)
    })
    .await
}

/// GetPerson (also used by the EHR integration).
pub async fn get_person(
    app: &App,
    call: Call,
    req: pb::GetPersonRequest,
) -> Result<pb::GetPersonResponse> {
    validate::get_person(&req)?;
    let person = person_id("name", &req.name)?;
    call.audit(person.name(), None);
    let record = app
        .storage
        .get_person(&call.tenant, &person)
        .await?
        .ok_or_else(|| not_found(&person))?;
    Ok(pb::GetPersonResponse {
        person: Some(person_to_pb(&record)),
    })
}

async fn delete_person(
    app: &App,
    call: Call,
    req: pb::DeletePersonRequest,
) -> Result<pb::DeletePersonResponse> {
    validate::delete_person(&req)?;
    let person = person_id("name", &req.name)?;
    call.audit(person.name(), Some(&req.request_id));
    let idem = Idempotency::new(DELETE_PERSON, &req.request_id, &req)?.audited(&call);
    let (call, person, idem) = (&call, &person, &idem);
    idem.run(app.storage.as_ref(), &call.tenant, || async move {
        let now = app.now();
        let erased = app
            .storage
            .delete_person(
                &call.tenant,
                person,
                idem.record(&pb::DeletePersonResponse::default(), None, now),
                Box::new(|e| erased_to_pb(e).encode_to_vec()),
            )
            .await?;
        tracing::info!(
            person = %person,
            assessments = erased.assessments,
            recommendations = erased.recommendations,
            feedback = erased.feedback,
            decisions = erased.decisions,
            "person erased"
        );
        Ok(erased_to_pb(erased))
    })
    .await
}

fn erased_to_pb(e: Erased) -> pb::DeletePersonResponse {
    pb::DeletePersonResponse {
        erased_assessments: e.assessments,
        erased_recommendations: e.recommendations,
        erased_feedback: e.feedback,
    }
}

/// Validated, converted assessments with their new ids, oldest first.
fn prepare(assessments: &[pb::Assessment]) -> Result<Vec<(pb::Assessment, Assessment)>> {
    let mut out = assessments
        .iter()
        .map(|a| {
            let stored = pb::Assessment {
                id: new_uuid(),
                ..a.clone()
            };
            let domain = Assessment::from_wire(&stored)?;
            Ok((stored, domain))
        })
        .collect::<Result<Vec<_>>>()?;
    out.sort_by_key(|(_, d)| d.at);
    Ok(out)
}

/// Stores assessments and folds them into the person's state (rebuilding it if
/// they are older than the latest stored one). All or nothing.
async fn record<R: Message + Default + Clone>(
    app: &App,
    call: &Call,
    person: &PersonId,
    idem: &Idempotency,
    items: Vec<(pb::Assessment, Assessment)>,
    response: R,
) -> Result<R> {
    let engine = app.engine(&call.tenant).await?;
    let earliest = items
        .first()
        .map(|(_, d)| d.at)
        .unwrap_or(Timestamp(i64::MAX));
    let (items, response, engine) = (&items, &response, &engine);
    idem.run(app.storage.as_ref(), &call.tenant, || async move {
        let now = app.now();
        let record = app
            .storage
            .get_person(&call.tenant, person)
            .await?
            .ok_or_else(|| not_found(person))?;
        let domain: Vec<Assessment> = items.iter().map(|(_, d)| d.clone()).collect();
        let out_of_order = record
            .latest_assessment_time
            .is_some_and(|latest| earliest < latest);
        let new_state = match (&record.state, out_of_order) {
            (Some(current), false) => {
                let (engine, mut s) = (Arc::clone(engine), current.clone());
                blocking(move || {
                    for a in &domain {
                        engine.observe_assessment(&mut s, a)?;
                    }
                    // Cache the person's posterior in the stored state so
                    // ranking does not re-estimate it on every Recommend.
                    engine.refresh(&mut s)?;
                    Ok(s)
                })
                .await?
            }
            _ => {
                state::rebuild_with(
                    app,
                    &call.tenant,
                    engine,
                    person,
                    record.conditions.clone(),
                    domain,
                )
                .await?
            }
        };
        let written = items.len() as u64;
        let stored = items
            .iter()
            .map(|(wire, d)| StoredAssessment {
                id: wire.id.clone(),
                observe_time: d.at,
                payload: wire.encode_to_vec(),
            })
            .collect();
        let update = StateUpdate {
            person: person.clone(),
            expected_version: record.version,
            state: new_state,
            update_time: now,
        };
        app.storage
            .record_assessments(
                &call.tenant,
                update,
                stored,
                idem.record(response, Some(person), now),
            )
            .await?;
        app.engines.note_writes(&call.tenant, written);
        Ok(response.clone())
    })
    .await
}

/// RecordAssessment (also used by FHIR ingest).
pub async fn record_assessment(
    app: &App,
    call: Call,
    req: pb::RecordAssessmentRequest,
) -> Result<pb::RecordAssessmentResponse> {
    let engine = app.engine(&call.tenant).await?;
    validate::record_assessment(&req, &app.ctx(&engine, app.now()))?;
    let person = person_id("person", &req.person)?;
    call.audit(person.name(), Some(&req.request_id));
    let idem = Idempotency::new(RECORD_ASSESSMENT, &req.request_id, &req)?.audited(&call);
    let assessment = req.assessment.as_ref().ok_or_else(|| {
        ServiceError::InvalidArgument(Violations::single("assessment", "is required"))
    })?;
    let items = prepare(std::slice::from_ref(assessment))?;
    let response = pb::RecordAssessmentResponse {
        assessment: items.first().map(|(wire, _)| wire.clone()),
    };
    record(app, &call, &person, &idem, items, response).await
}

async fn batch_record_assessments(
    app: &App,
    call: Call,
    req: pb::BatchRecordAssessmentsRequest,
) -> Result<pb::BatchRecordAssessmentsResponse> {
    let engine = app.engine(&call.tenant).await?;
    validate::batch_record_assessments(&req, &app.ctx(&engine, app.now()))?;
    let person = person_id("person", &req.person)?;
    call.audit(person.name(), Some(&req.request_id));
    let idem = Idempotency::new(BATCH_RECORD_ASSESSMENTS, &req.request_id, &req)?.audited(&call);
    let items = prepare(&req.assessments)?;
    let response = pb::BatchRecordAssessmentsResponse {
        recorded: u32::try_from(items.len()).unwrap_or(u32::MAX),
    };
    record(app, &call, &person, &idem, items, response).await
}

/// ListAssessments (also used by the clinician app).
pub async fn list_assessments(
    app: &App,
    call: Call,
    req: pb::ListAssessmentsRequest,
) -> Result<pb::ListAssessmentsResponse> {
    validate::list_assessments(&req)?;
    let person = person_id("person", &req.person)?;
    call.audit(format!("{}/assessments", person.name()), None);
    let fp = fingerprint(&[person.as_str()]);
    let after = PageToken::decode(&req.page_token, "assessments", &fp, 2)
        .map_err(|e| {
            ServiceError::InvalidArgument(Violations::single("page_token", e.to_string()))
        })?
        .map(|t| {
            let time = t.after[0].parse::<i64>().map_err(|_| {
                ServiceError::InvalidArgument(Violations::single(
                    "page_token",
                    convert::page::BadPageToken.to_string(),
                ))
            })?;
            Ok::<_, ServiceError>(AssessmentCursor {
                observe_time: Timestamp(time),
                id: t.after[1].clone(),
            })
        })
        .transpose()?;
    let limit = match req.page_size {
        0 => DEFAULT_ASSESSMENT_PAGE,
        n => n,
    };
    let page = app
        .storage
        .list_assessments(&call.tenant, &person, after, limit)
        .await?;
    let next_page_token = match (page.more, page.items.last()) {
        (true, Some(last)) => PageToken::encode(
            "assessments",
            &fp,
            &[&last.observe_time.0.to_string(), &last.id],
        ),
        _ => String::new(),
    };
    let assessments = page
        .items
        .iter()
        .map(|a| {
            pb::Assessment::decode(a.payload.as_slice())
                .map_err(|e| StorageError::Corrupt(format!("assessment {}: {e}", a.id)).into())
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(pb::ListAssessmentsResponse {
        assessments,
        next_page_token,
        total_size: page.total,
    })
}

/// GetPersonInsights (also used by the EHR integration).
pub async fn get_person_insights(
    app: &App,
    call: Call,
    req: pb::GetPersonInsightsRequest,
) -> Result<pb::GetPersonInsightsResponse> {
    validate::get_person_insights(&req)?;
    let person = person_id("person", &req.person)?;
    call.audit(format!("{}/insights", person.name()), None);
    let engine = app.engine(&call.tenant).await?;
    let record = app
        .storage
        .get_person(&call.tenant, &person)
        .await?
        .ok_or_else(|| not_found(&person))?;
    let state = state::current(app, &call.tenant, &engine, &record).await?;
    let now = app.now();
    let e = Arc::clone(&engine);
    let insights = blocking(move || Ok(e.insights(&state, now))).await?;
    Ok(convert::insights_to_pb(
        person.name(),
        &insights,
        engine.model_version(),
    ))
}

async fn ingest_fhir(
    app: &App,
    call: Call,
    req: pb::IngestFhirRequest,
) -> Result<pb::IngestFhirResponse> {
    let mut v = Violations::new();
    validate::request_id(&mut v, "request_id", &req.request_id);
    validate::person_name(&mut v, "person", &req.person);
    if req.resource_json.trim().is_empty() {
        v.add("resource_json", "is required");
    }
    v.finish()?;
    let person = person_id("person", &req.person)?;
    call.audit(format!("{}/fhir", person.name()), Some(&req.request_id));
    let input = ingest::parse_json(&req.resource_json).map_err(IngestError::into_service)?;
    app.storage
        .get_person(&call.tenant, &person)
        .await?
        .ok_or_else(|| not_found(&person))?;
    ingest::ingest(app, &call, &person, &input, &app.fhir_codes)
        .await
        .map_err(IngestError::into_service)
}

#[tonic::async_trait]
impl PeopleService for PeopleApi {
    async fn create_person(
        &self,
        request: Request<pb::CreatePersonRequest>,
    ) -> Result<Response<pb::CreatePersonResponse>, Status> {
        handle(request, |call, req| create_person(&self.app, call, req)).await
    }

    async fn get_person(
        &self,
        request: Request<pb::GetPersonRequest>,
    ) -> Result<Response<pb::GetPersonResponse>, Status> {
        handle(request, |call, req| get_person(&self.app, call, req)).await
    }

    async fn delete_person(
        &self,
        request: Request<pb::DeletePersonRequest>,
    ) -> Result<Response<pb::DeletePersonResponse>, Status> {
        handle(request, |call, req| delete_person(&self.app, call, req)).await
    }

    async fn record_assessment(
        &self,
        request: Request<pb::RecordAssessmentRequest>,
    ) -> Result<Response<pb::RecordAssessmentResponse>, Status> {
        handle(request, |call, req| record_assessment(&self.app, call, req)).await
    }

    async fn batch_record_assessments(
        &self,
        request: Request<pb::BatchRecordAssessmentsRequest>,
    ) -> Result<Response<pb::BatchRecordAssessmentsResponse>, Status> {
        handle(request, |call, req| {
            batch_record_assessments(&self.app, call, req)
        })
        .await
    }

    async fn list_assessments(
        &self,
        request: Request<pb::ListAssessmentsRequest>,
    ) -> Result<Response<pb::ListAssessmentsResponse>, Status> {
        handle(request, |call, req| list_assessments(&self.app, call, req)).await
    }

    async fn get_person_insights(
        &self,
        request: Request<pb::GetPersonInsightsRequest>,
    ) -> Result<Response<pb::GetPersonInsightsResponse>, Status> {
        handle(request, |call, req| {
            get_person_insights(&self.app, call, req)
        })
        .await
    }

    async fn ingest_fhir(
        &self,
        request: Request<pb::IngestFhirRequest>,
    ) -> Result<Response<pb::IngestFhirResponse>, Status> {
        handle(request, |call, req| ingest_fhir(&self.app, call, req)).await
    }
}
