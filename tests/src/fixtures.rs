//! Valid requests and the small flows most tests need (create a person, record
//! assessments, recommend, give feedback). Tests start from these and break one
//! field at a time, so each rejection is caused by exactly the rule under test.

use crate::server::{CatalogClient, PeopleClient, RecommendationClient};
use std::time::{Duration, SystemTime};
use tutti_proto::v1::{
    Assessment, BatchRecordAssessmentsRequest, Completion, Condition, CreateInterventionRequest,
    CreatePersonRequest, Feedback, GetPersonRequest, Instrument, Intervention,
    ListAssessmentsRequest, ListInterventionsRequest, Modality, OutcomeMeasure, Person,
    ProcessRating, ProcessTarget, RecommendRequest, RecommendResponse, RecommendationContext,
    RecordAssessmentRequest, RecordFeedbackRequest,
};

/// A fresh idempotency key (32 hex digits, within 1-64 of `[A-Za-z0-9_-]`).
pub fn rid() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A fresh pseudonymous person id.
pub fn new_person_id() -> String {
    format!("p-{}", uuid::Uuid::new_v4().simple())
}

/// The resource name of a person: `people/{id}`.
pub fn person_name(id: &str) -> String {
    format!("people/{id}")
}

/// Now, from the test's clock.
pub fn now() -> SystemTime {
    SystemTime::now()
}

/// `d` ago.
pub fn ago(d: Duration) -> SystemTime {
    now() - d
}

/// `h` hours ago.
pub fn hours_ago(h: u64) -> SystemTime {
    ago(Duration::from_secs(h * 3600))
}

/// `d` days ago.
pub fn days_ago(d: u64) -> SystemTime {
    ago(Duration::from_secs(d * 86_400))
}

/// `d` from now.
pub fn from_now(d: Duration) -> SystemTime {
    now() + d
}

/// A protobuf timestamp, truncated to whole milliseconds: the contract does not
/// promise sub-millisecond precision, so round-trip comparisons stay fair.
pub fn ts(t: SystemTime) -> prost_types::Timestamp {
    let mut stamp = prost_types::Timestamp::from(t);
    stamp.nanos -= stamp.nanos % 1_000_000;
    stamp
}

/// A rating of one process.
pub fn rating(process: &str, adaptive: Option<f64>, maladaptive: Option<f64>) -> ProcessRating {
    ProcessRating {
        process_id: process.to_owned(),
        adaptive,
        maladaptive,
    }
}

/// A score on one outcome instrument.
pub fn outcome(instrument: Instrument, score: f64) -> OutcomeMeasure {
    OutcomeMeasure {
        instrument: instrument as i32,
        score,
    }
}

/// The processes the fixtures rate (all in the built-in catalogue).
pub const RATED_PROCESSES: [&str; 3] = ["affect", "cognition", "self"];

/// A valid assessment at `at`: three processes rated on both poles, a
/// well-being item and a PHQ-9 total, no risk flags.
pub fn valid_assessment(at: SystemTime) -> Assessment {
    Assessment {
        id: String::new(),
        observe_time: Some(ts(at)),
        ratings: vec![
            rating("affect", Some(60.0), Some(30.0)),
            rating("cognition", Some(55.0), Some(35.0)),
            rating("self", Some(50.0), Some(40.0)),
        ],
        outcomes: vec![
            outcome(Instrument::Wellbeing, 55.0),
            outcome(Instrument::Phq9, 8.0),
        ],
        risk_flags: vec![],
    }
}

/// A small deterministic pseudo-random generator (no dependency, same data every run).
#[derive(Debug, Clone)]
pub struct Lcg(u64);

impl Lcg {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1))
    }
    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next_f64()
    }
}

/// `n` valid assessments, oldest first, `spacing` apart, the newest at `newest`,
/// with ratings and well-being that vary deterministically.
pub fn assessment_series(
    n: usize,
    newest: SystemTime,
    spacing: Duration,
    seed: u64,
) -> Vec<Assessment> {
    let mut rng = Lcg::new(seed);
    (0..n)
        .map(|i| {
            let at = newest - spacing * u32::try_from(n - 1 - i).expect("series fits u32");
            let mut a = valid_assessment(at);
            for r in &mut a.ratings {
                r.adaptive = Some(rng.range(20.0, 80.0).round());
                r.maladaptive = Some(rng.range(20.0, 80.0).round());
            }
            a.outcomes = vec![outcome(
                Instrument::Wellbeing,
                rng.range(30.0, 70.0).round(),
            )];
            a
        })
        .collect()
}

/// `n` assessments, oldest first, in which the adaptive pole of `affect` drives
/// the next well-being strongly (+5 points per 10 points of affect) and the
/// other processes are unrelated noise.
pub fn affect_driven_series(
    n: usize,
    newest: SystemTime,
    spacing: Duration,
    seed: u64,
) -> Vec<Assessment> {
    let mut rng = Lcg::new(seed);
    let mut prev_affect = 50.0;
    (0..n)
        .map(|i| {
            let at = newest - spacing * u32::try_from(n - 1 - i).expect("series fits u32");
            let wellbeing = (20.0 + 0.5 * prev_affect + rng.range(-3.0, 3.0)).clamp(0.0, 100.0);
            let affect = rng.range(10.0, 90.0).round();
            prev_affect = affect;
            Assessment {
                id: String::new(),
                observe_time: Some(ts(at)),
                ratings: vec![
                    rating("affect", Some(affect), Some(rng.range(30.0, 50.0).round())),
                    rating(
                        "cognition",
                        Some(rng.range(30.0, 70.0).round()),
                        Some(rng.range(30.0, 70.0).round()),
                    ),
                    rating(
                        "self",
                        Some(rng.range(30.0, 70.0).round()),
                        Some(rng.range(30.0, 70.0).round()),
                    ),
                ],
                outcomes: vec![outcome(Instrument::Wellbeing, wellbeing.round())],
                risk_flags: vec![],
            }
        })
        .collect()
}

/// A valid tenant intervention with id `id`: targets affect and cognition,
/// 5 minutes, app, no clinician, no contraindications, no dose limit.
pub fn valid_intervention(id: &str) -> Intervention {
    Intervention {
        id: id.to_owned(),
        display_name: format!("Test intervention {id}"),
        family: "test_family".to_owned(),
        instructions: "Take five slow breaths and name what you feel.".to_owned(),
        targets: vec![
            ProcessTarget {
                process_id: "affect".to_owned(),
                weight: 0.6,
            },
            ProcessTarget {
                process_id: "cognition".to_owned(),
                weight: 0.4,
            },
        ],
        effort_minutes: 5,
        modality: Modality::App as i32,
        requires_clinician: false,
        contraindications: vec![],
        min_days_between: 0,
        evidence: "Written for the integration tests.".to_owned(),
        prior_effect: 0.5,
        built_in: false,
    }
}

/// A fresh intervention id that matches `[a-z0-9-]+`.
pub fn new_intervention_id(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// A recommend request for `person` with a fresh request id and all defaults.
pub fn recommend_request(person: &str) -> RecommendRequest {
    RecommendRequest {
        request_id: rid(),
        person: person.to_owned(),
        max_results: 0,
        context: Some(RecommendationContext::default()),
        exclude_intervention_ids: vec![],
        pinned_intervention_ids: vec![],
        request_time: None,
        platform_intervention_id: String::new(),
    }
}

/// Feedback on `recommendation_id` with the given completion, observed now.
pub fn feedback(recommendation_id: &str, completion: Completion) -> Feedback {
    Feedback {
        recommendation_id: recommendation_id.to_owned(),
        completion: completion as i32,
        observe_time: Some(ts(now())),
        ..Default::default()
    }
}

/// Creates a person (fresh request id) and returns it; panics on error.
pub async fn create_person(
    people: &mut PeopleClient,
    person_id: &str,
    conditions: &[Condition],
) -> Person {
    people
        .create_person(CreatePersonRequest {
            request_id: rid(),
            person_id: person_id.to_owned(),
            conditions: conditions.iter().map(|c| *c as i32).collect(),
        })
        .await
        .unwrap_or_else(|s| panic!("CreatePerson {person_id}: {s:?}"))
        .into_inner()
        .person
        .expect("CreatePersonResponse.person is set")
}

/// Creates a fresh person with no conditions and returns its resource name.
pub async fn new_person(people: &mut PeopleClient) -> String {
    let id = new_person_id();
    create_person(people, &id, &[]).await;
    person_name(&id)
}

/// Gets a person by resource name; panics on error.
pub async fn get_person(people: &mut PeopleClient, name: &str) -> Person {
    people
        .get_person(GetPersonRequest {
            name: name.to_owned(),
        })
        .await
        .unwrap_or_else(|s| panic!("GetPerson {name}: {s:?}"))
        .into_inner()
        .person
        .expect("GetPersonResponse.person is set")
}

/// Records one assessment (fresh request id); panics on error.
pub async fn record_assessment(
    people: &mut PeopleClient,
    person: &str,
    assessment: Assessment,
) -> Assessment {
    people
        .record_assessment(RecordAssessmentRequest {
            request_id: rid(),
            person: person.to_owned(),
            assessment: Some(assessment),
        })
        .await
        .unwrap_or_else(|s| panic!("RecordAssessment for {person}: {s:?}"))
        .into_inner()
        .assessment
        .expect("RecordAssessmentResponse.assessment is set")
}

/// Records a batch (fresh request id) and returns the number recorded; panics on error.
pub async fn backfill(
    people: &mut PeopleClient,
    person: &str,
    assessments: Vec<Assessment>,
) -> u32 {
    people
        .batch_record_assessments(BatchRecordAssessmentsRequest {
            request_id: rid(),
            person: person.to_owned(),
            assessments,
        })
        .await
        .unwrap_or_else(|s| panic!("BatchRecordAssessments for {person}: {s:?}"))
        .into_inner()
        .recorded
}

/// Walks every page of a person's assessments with `page_size`; panics on error
/// or if paging does not end within a generous number of pages.
pub async fn list_all_assessments(
    people: &mut PeopleClient,
    person: &str,
    page_size: u32,
) -> Vec<Assessment> {
    let mut out = Vec::new();
    let mut token = String::new();
    for _ in 0..10_000 {
        let page = people
            .list_assessments(ListAssessmentsRequest {
                person: person.to_owned(),
                page_size,
                page_token: token.clone(),
            })
            .await
            .unwrap_or_else(|s| panic!("ListAssessments for {person}: {s:?}"))
            .into_inner();
        out.extend(page.assessments);
        if page.next_page_token.is_empty() {
            return out;
        }
        token = page.next_page_token;
    }
    panic!("ListAssessments paging did not end");
}

/// Walks every page of `ListInterventions` with the filter in `request`; panics on error.
pub async fn list_all_interventions(
    catalog: &mut CatalogClient,
    request: ListInterventionsRequest,
) -> Vec<Intervention> {
    let mut out = Vec::new();
    let mut req = request;
    for _ in 0..10_000 {
        let page = catalog
            .list_interventions(req.clone())
            .await
            .unwrap_or_else(|s| panic!("ListInterventions {req:?}: {s:?}"))
            .into_inner();
        out.extend(page.interventions);
        if page.next_page_token.is_empty() {
            return out;
        }
        req.page_token = page.next_page_token;
    }
    panic!("ListInterventions paging did not end");
}

/// Every intervention the caller's tenant sees (built-in and its own), all pages.
pub async fn catalogue(catalog: &mut CatalogClient) -> Vec<Intervention> {
    list_all_interventions(
        catalog,
        ListInterventionsRequest {
            page_size: 200,
            ..Default::default()
        },
    )
    .await
}

/// A built-in intervention the platform could show anyone now: no
/// contraindications, no clinician needed, no dose limit (the platform's pick
/// a shadow-mode tenant must name).
pub async fn unrestricted_built_in(catalog: &mut CatalogClient) -> Intervention {
    catalogue(catalog)
        .await
        .into_iter()
        .find(|i| {
            i.built_in
                && i.contraindications.is_empty()
                && !i.requires_clinician
                && i.min_days_between == 0
        })
        .expect("the built-in catalogue has an unrestricted intervention")
}

/// Creates two tenant interventions that are the same in everything but
/// their id (prefixed `prefix-a` and `prefix-b`), so any difference the
/// engine comes to see between them was learnt. Their effect is a typical
/// kernel's (2.5): the rating of one expected to do almost nothing mostly
/// tells how a person rates, not how it worked.
pub async fn create_twins(
    catalog: &mut CatalogClient,
    prefix: &str,
) -> (Intervention, Intervention) {
    let mut first = valid_intervention(&new_intervention_id(&format!("{prefix}-a")));
    first.prior_effect = 2.5;
    let a = create_intervention(catalog, first).await;
    let mut twin = valid_intervention(&new_intervention_id(&format!("{prefix}-b")));
    twin.prior_effect = 2.5;
    twin.display_name = a.display_name.clone();
    let b = create_intervention(catalog, twin).await;
    (a, b)
}

/// Creates a tenant intervention (fresh request id) and returns the stored one; panics on error.
pub async fn create_intervention(
    catalog: &mut CatalogClient,
    intervention: Intervention,
) -> Intervention {
    let id = intervention.id.clone();
    catalog
        .create_intervention(CreateInterventionRequest {
            request_id: rid(),
            intervention: Some(intervention),
        })
        .await
        .unwrap_or_else(|s| panic!("CreateIntervention {id}: {s:?}"))
        .into_inner()
        .intervention
        .expect("CreateInterventionResponse.intervention is set")
}

/// Calls Recommend; panics on error.
pub async fn recommend(
    recs: &mut RecommendationClient,
    request: RecommendRequest,
) -> RecommendResponse {
    let person = request.person.clone();
    recs.recommend(request)
        .await
        .unwrap_or_else(|s| panic!("Recommend for {person}: {s:?}"))
        .into_inner()
}

/// Records feedback (fresh request id) and returns the stored feedback; panics on error.
pub async fn record_feedback(recs: &mut RecommendationClient, feedback: Feedback) -> Feedback {
    let rec = feedback.recommendation_id.clone();
    recs.record_feedback(RecordFeedbackRequest {
        request_id: rid(),
        feedback: Some(feedback),
    })
    .await
    .unwrap_or_else(|s| panic!("RecordFeedback on {rec}: {s:?}"))
    .into_inner()
    .feedback
    .expect("RecordFeedbackResponse.feedback is set")
}

/// Ids of every built-in intervention (default tenant view).
pub async fn builtin_intervention_ids(catalog: &mut CatalogClient) -> Vec<String> {
    catalogue(catalog)
        .await
        .into_iter()
        .filter(|i| i.built_in)
        .map(|i| i.id)
        .collect()
}
