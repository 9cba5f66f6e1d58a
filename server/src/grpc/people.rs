//! `tutti.v1.PeopleService`: people, their assessments and their insights
//! (handlers in [`crate::service::people`]; FHIR ingest in [`crate::ehr::ingest`]).

use super::handle;
use crate::command::{
    CreatePersonCommand, DeletePersonCommand, GetPersonCommand, GetPersonInsightsCommand,
    IngestFhirCommand, ListAssessmentsCommand, RecordAssessmentsCommand,
};
use crate::ehr::fhir::CodeMap;
use crate::ehr::ingest::{self, IngestError};
use crate::error::{Result, ServiceError};
use crate::service::{App, Call, people};
use std::sync::Arc;
use tonic::{Request, Response, Status};
use tutti_proto::v1 as pb;
use tutti_proto::v1::people_service_server::PeopleService;

/// The PeopleService adapter.
#[derive(Debug, Clone)]
pub struct PeopleApi {
    app: Arc<App>,
    /// Observation codes FHIR ingest understands.
    fhir_codes: Arc<CodeMap>,
}

impl PeopleApi {
    /// An adapter over the shared state, reading FHIR with `fhir_codes`.
    pub fn new(app: Arc<App>, fhir_codes: Arc<CodeMap>) -> Self {
        Self { app, fhir_codes }
    }
}

async fn ingest_fhir(
    app: &App,
    call: &Call,
    codes: &CodeMap,
    cmd: IngestFhirCommand,
) -> Result<pb::IngestFhirResponse> {
    let person = &cmd.person;
    call.audit(
        format!("{}/fhir", person.name()),
        Some(cmd.request_id.as_str()),
    );
    let input = ingest::parse_json(&cmd.resource_json).map_err(IngestError::into_service)?;
    app.storage
        .get_person(&call.tenant, person)
        .await?
        .ok_or_else(|| ServiceError::NotFound(person.name()))?;
    ingest::ingest(app, call, person, &input, codes)
        .await
        .map_err(IngestError::into_service)
}

#[tonic::async_trait]
impl PeopleService for PeopleApi {
    async fn create_person(
        &self,
        request: Request<pb::CreatePersonRequest>,
    ) -> Result<Response<pb::CreatePersonResponse>, Status> {
        let app = &*self.app;
        handle(request, |call, req| async move {
            people::create_person(app, &call, CreatePersonCommand::parse(req)?).await
        })
        .await
    }

    async fn get_person(
        &self,
        request: Request<pb::GetPersonRequest>,
    ) -> Result<Response<pb::GetPersonResponse>, Status> {
        let app = &*self.app;
        handle(request, |call, req| async move {
            people::get_person(app, &call, GetPersonCommand::parse(&req)?).await
        })
        .await
    }

    async fn delete_person(
        &self,
        request: Request<pb::DeletePersonRequest>,
    ) -> Result<Response<pb::DeletePersonResponse>, Status> {
        let app = &*self.app;
        handle(request, |call, req| async move {
            people::delete_person(app, &call, DeletePersonCommand::parse(&req)?).await
        })
        .await
    }

    async fn record_assessment(
        &self,
        request: Request<pb::RecordAssessmentRequest>,
    ) -> Result<Response<pb::RecordAssessmentResponse>, Status> {
        let app = &*self.app;
        handle(request, |call, req| async move {
            let engine = app.engine(&call.tenant).await?;
            let cmd = RecordAssessmentsCommand::parse_one(req, &app.ctx(&engine, app.now()))?;
            people::record_assessment(app, &call, &engine, cmd).await
        })
        .await
    }

    async fn batch_record_assessments(
        &self,
        request: Request<pb::BatchRecordAssessmentsRequest>,
    ) -> Result<Response<pb::BatchRecordAssessmentsResponse>, Status> {
        let app = &*self.app;
        handle(request, |call, req| async move {
            let engine = app.engine(&call.tenant).await?;
            let cmd = RecordAssessmentsCommand::parse_batch(req, &app.ctx(&engine, app.now()))?;
            people::batch_record_assessments(app, &call, &engine, cmd).await
        })
        .await
    }

    async fn list_assessments(
        &self,
        request: Request<pb::ListAssessmentsRequest>,
    ) -> Result<Response<pb::ListAssessmentsResponse>, Status> {
        let app = &*self.app;
        handle(request, |call, req| async move {
            people::list_assessments(app, &call, ListAssessmentsCommand::parse(&req)?).await
        })
        .await
    }

    async fn get_person_insights(
        &self,
        request: Request<pb::GetPersonInsightsRequest>,
    ) -> Result<Response<pb::GetPersonInsightsResponse>, Status> {
        let app = &*self.app;
        handle(request, |call, req| async move {
            people::get_person_insights(app, &call, GetPersonInsightsCommand::parse(&req)?).await
        })
        .await
    }

    async fn ingest_fhir(
        &self,
        request: Request<pb::IngestFhirRequest>,
    ) -> Result<Response<pb::IngestFhirResponse>, Status> {
        let (app, codes) = (&*self.app, &*self.fhir_codes);
        handle(request, |call, req| async move {
            ingest_fhir(app, &call, codes, IngestFhirCommand::parse(req)?).await
        })
        .await
    }
}
