//! Commands of `tutti.v1.PeopleService`.

use crate::convert::ids::{PersonId, RequestId};
use crate::convert::page::{BadPageToken, PageToken, fingerprint};
use crate::error::Violations;
use crate::idempotency::Idempotency;
use crate::storage::AssessmentCursor;
use crate::validate::{self, Ctx, MAX_ASSESSMENT_PAGE};
use tutti_engine::catalog::Condition;
use tutti_engine::ids::Timestamp;
use tutti_engine::observe::Assessment;
use tutti_proto::v1 as pb;

/// Full method name of CreatePerson (its idempotency records are keyed by it).
pub const CREATE_PERSON: &str = "/tutti.v1.PeopleService/CreatePerson";
/// Full method name of DeletePerson.
pub const DELETE_PERSON: &str = "/tutti.v1.PeopleService/DeletePerson";
/// Full method name of RecordAssessment.
pub const RECORD_ASSESSMENT: &str = "/tutti.v1.PeopleService/RecordAssessment";
/// Full method name of BatchRecordAssessments.
pub const BATCH_RECORD_ASSESSMENTS: &str = "/tutti.v1.PeopleService/BatchRecordAssessments";

/// ListAssessments' page size when the request sets none.
pub const DEFAULT_ASSESSMENT_PAGE: u32 = 100;

/// CreatePerson.
#[derive(Debug, Clone)]
pub struct CreatePersonCommand {
    /// Idempotency key.
    pub idem: Idempotency,
    /// The new person.
    pub person: PersonId,
    /// Standing conditions, sorted.
    pub conditions: Vec<Condition>,
}

impl CreatePersonCommand {
    /// Parses the request.
    pub fn parse(req: pb::CreatePersonRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let request_id = validate::request_id(&mut v, "request_id", &req.request_id);
        let person = validate::person_id(&mut v, "person_id", &req.person_id);
        let conditions = validate::conditions(&mut v, "conditions", &req.conditions);
        v.finish(|| {
            Some(Self {
                idem: Idempotency::new(CREATE_PERSON, request_id?, &req),
                person: person?,
                conditions: conditions?,
            })
        })
    }
}

/// GetPerson.
#[derive(Debug, Clone)]
pub struct GetPersonCommand {
    /// Whom.
    pub person: PersonId,
}

impl GetPersonCommand {
    /// Parses the request.
    pub fn parse(req: &pb::GetPersonRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let person = validate::person_name(&mut v, "name", &req.name);
        v.finish(|| Some(Self { person: person? }))
    }
}

/// DeletePerson.
#[derive(Debug, Clone)]
pub struct DeletePersonCommand {
    /// Idempotency key.
    pub idem: Idempotency,
    /// Whom to erase.
    pub person: PersonId,
}

impl DeletePersonCommand {
    /// Parses the request.
    pub fn parse(req: &pb::DeletePersonRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let request_id = validate::request_id(&mut v, "request_id", &req.request_id);
        let person = validate::person_name(&mut v, "name", &req.name);
        v.finish(|| {
            Some(Self {
                idem: Idempotency::new(DELETE_PERSON, request_id?, req),
                person: person?,
            })
        })
    }
}

/// One assessment to store: as sent (stored and returned with the id the
/// server gives it) and as the engine reads it.
#[derive(Debug, Clone)]
pub struct NewAssessment {
    /// The wire form, as sent.
    pub wire: pb::Assessment,
    /// The engine's form.
    pub domain: Assessment,
}

/// RecordAssessment and BatchRecordAssessments: assessments of one person,
/// stored all or nothing.
#[derive(Debug, Clone)]
pub struct RecordAssessmentsCommand {
    /// Idempotency key.
    pub idem: Idempotency,
    /// Whose.
    pub person: PersonId,
    /// In request order.
    pub assessments: Vec<NewAssessment>,
}

impl RecordAssessmentsCommand {
    /// Parses a RecordAssessment request.
    pub fn parse_one(req: pb::RecordAssessmentRequest, ctx: &Ctx<'_>) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let request_id = validate::request_id(&mut v, "request_id", &req.request_id);
        let person = validate::person_name(&mut v, "person", &req.person);
        let domain = match &req.assessment {
            Some(a) => validate::assessment(&mut v, "assessment", a, ctx),
            None => {
                v.add("assessment", "is required");
                None
            }
        };
        v.finish(move || {
            let idem = Idempotency::new(RECORD_ASSESSMENT, request_id?, &req);
            Some(Self {
                idem,
                person: person?,
                assessments: vec![NewAssessment {
                    wire: req.assessment?,
                    domain: domain?,
                }],
            })
        })
    }

    /// Parses a BatchRecordAssessments request.
    pub fn parse_batch(
        req: pb::BatchRecordAssessmentsRequest,
        ctx: &Ctx<'_>,
    ) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let request_id = validate::request_id(&mut v, "request_id", &req.request_id);
        let person = validate::person_name(&mut v, "person", &req.person);
        let max = ctx.limits.max_batch;
        let mut domain = Vec::with_capacity(req.assessments.len());
        if req.assessments.is_empty() || req.assessments.len() > max {
            v.add("assessments", format!("must hold 1 to {max} assessments"));
        } else {
            for (i, a) in req.assessments.iter().enumerate() {
                domain.push(validate::assessment(
                    &mut v,
                    &format!("assessments[{i}]"),
                    a,
                    ctx,
                ));
            }
        }
        v.finish(move || {
            let idem = Idempotency::new(BATCH_RECORD_ASSESSMENTS, request_id?, &req);
            let assessments = req
                .assessments
                .into_iter()
                .zip(domain)
                .map(|(wire, domain)| {
                    Some(NewAssessment {
                        wire,
                        domain: domain?,
                    })
                })
                .collect::<Option<Vec<_>>>()?;
            Some(Self {
                idem,
                person: person?,
                assessments,
            })
        })
    }
}

/// ListAssessments.
#[derive(Debug, Clone)]
pub struct ListAssessmentsCommand {
    /// Whose.
    pub person: PersonId,
    /// Where the page starts (after the previous page's last row).
    pub after: Option<AssessmentCursor>,
    /// Page size.
    pub limit: u32,
    /// What a page token of this listing is bound to.
    pub fingerprint: String,
}

impl ListAssessmentsCommand {
    /// The page-token list name.
    pub const LIST: &'static str = "assessments";

    /// The first page of `person`'s assessments (the clinician app's history).
    pub fn first_page(person: PersonId, limit: u32) -> Self {
        Self {
            fingerprint: fingerprint(&[person.as_str()]),
            person,
            after: None,
            limit,
        }
    }

    /// Parses the request. The page token is read only when every other
    /// field is good (its fingerprint needs the person).
    pub fn parse(req: &pb::ListAssessmentsRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let person = validate::person_name(&mut v, "person", &req.person);
        validate::page_size(&mut v, "page_size", req.page_size, MAX_ASSESSMENT_PAGE);
        let person = v.finish(|| person)?;
        let fingerprint = fingerprint(&[person.as_str()]);
        let after = PageToken::decode(&req.page_token, Self::LIST, &fingerprint, 2)
            .map_err(|e| Violations::single("page_token", e.to_string()))?
            .map(|t| {
                let time = t.after[0]
                    .parse::<i64>()
                    .map_err(|_| Violations::single("page_token", BadPageToken.to_string()))?;
                Ok::<_, Violations>(AssessmentCursor {
                    observe_time: Timestamp(time),
                    id: t.after[1].clone(),
                })
            })
            .transpose()?;
        let limit = match req.page_size {
            0 => DEFAULT_ASSESSMENT_PAGE,
            n => n,
        };
        Ok(Self {
            person,
            after,
            limit,
            fingerprint,
        })
    }
}

/// GetPersonInsights.
#[derive(Debug, Clone)]
pub struct GetPersonInsightsCommand {
    /// Whose.
    pub person: PersonId,
}

impl GetPersonInsightsCommand {
    /// Parses the request.
    pub fn parse(req: &pb::GetPersonInsightsRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let person = validate::person_name(&mut v, "person", &req.person);
        v.finish(|| Some(Self { person: person? }))
    }
}

/// IngestFhir. The FHIR itself is read by [`crate::ehr::ingest`], which
/// reports its problems by FHIR element.
#[derive(Debug, Clone)]
pub struct IngestFhirCommand {
    /// The client's key (each assessment made from FHIR is keyed by its content).
    pub request_id: RequestId,
    /// Whose.
    pub person: PersonId,
    /// The FHIR resource, as JSON text.
    pub resource_json: String,
}

impl IngestFhirCommand {
    /// Parses the request.
    pub fn parse(req: pb::IngestFhirRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let request_id = validate::request_id(&mut v, "request_id", &req.request_id);
        let person = validate::person_name(&mut v, "person", &req.person);
        if req.resource_json.trim().is_empty() {
            v.add("resource_json", "is required");
        }
        v.finish(move || {
            Some(Self {
                request_id: request_id?,
                person: person?,
                resource_json: req.resource_json,
            })
        })
    }
}
