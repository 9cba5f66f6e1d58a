//! CDS Hooks 2.0.1: discovery, the `patient-view` and `encounter-start`
//! services, and feedback.
//!
//! A service call: verify the EHR's JWT (tenant from the issuer), map the
//! patient to a pseudonymous person, take the prefetched QuestionnaireResponses
//! and Observations (or read them from `fhirServer` with `fhirAuthorization`
//! when prefetch lacks them; neither: 412; one whose `subject` names another
//! patient than `context.patientId`: 400, nothing stored), ingest them, rank through
//! `Recommend` itself (request id derived from `hookInstance`, so a retried
//! hook gets the same logged decision) and answer one card:
//! - `indicator`: `critical` when a risk flag put ranking on the safety path
//!   (e.g. PHQ-9 item 9 above 0), `warning` when the person is not on track,
//!   `info` otherwise;
//! - `uuid`: the first suggestion's recommendation id; each suggestion's
//!   `uuid` is its recommendation id, so feedback lands on the logged decision;
//! - a `smart` link to the clinician app: its SMART launch URL where the
//!   EHR is configured for SMART App Launch, with an `appContext` naming the
//!   card's decision (signed, no patient id) that the EHR hands back at the
//!   launch, so the app opens this decision; else the app with a
//!   short-lived launch token.
//!
//! A person with no assessments gets `{"cards": []}`: nothing personal to say.
//!
//! Feedback: `accepted` records a clinician ACCEPTED review on each accepted
//! suggestion, `overridden` a REJECTED review (with the coded reason, never the
//! free-text comment, which may identify someone) on the card's first
//! suggestion, through `RecordFeedback`, so the engine learns from it. Each
//! (suggestion, outcome) is recorded once: duplicates are acknowledged and
//! change nothing.

use super::fhir::{CodeMap, Issue, MEASURE_SYSTEM};
use super::jwt::Refusal;
use super::{Ehr, EhrError, pseudonym};
use crate::audit::AuditNote;
use crate::command::recommendation::RECORD_FEEDBACK;
use crate::command::{
    CreatePersonCommand, GetPersonInsightsCommand, RecommendCommand, RecordFeedbackCommand,
};
use crate::convert::hex;
use crate::convert::ids::{PersonId, RecommendationId, RequestId};
use crate::error::ServiceError;
use crate::service::{App, Call, people, recommendation};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tutti_proto::v1 as pb;

/// Suggestions per card.
pub const CARD_SUGGESTIONS: u32 = 3;
/// The summary limit of the spec ("<140 characters").
const SUMMARY_MAX: usize = 139;
/// System of Tutti's override reasons.
pub const OVERRIDE_SYSTEM: &str = "http://tutti.health/fhir/CodeSystem/override-reasons";

/// One CDS service Tutti offers.
#[derive(Debug, Clone, Copy)]
pub struct Service {
    /// Service id (URL segment).
    pub id: &'static str,
    /// The hook it answers.
    pub hook: &'static str,
    /// Title.
    pub title: &'static str,
    /// Description.
    pub description: &'static str,
}

/// The services, in discovery order.
pub const SERVICES: [Service; 2] = [
    Service {
        id: "tutti-patient-view",
        hook: "patient-view",
        title: "Tutti: next therapeutic step",
        description: "Suggests the next process-based intervention for the patient in view, from their own process ratings and outcome measures, with the rationale, a not-on-track warning and a risk alert.",
    },
    Service {
        id: "tutti-encounter-start",
        hook: "encounter-start",
        title: "Tutti: plan for this session",
        description: "At the start of an encounter, suggests what to work on in the session from the patient's own process ratings and outcome measures, with the rationale, a not-on-track warning and a risk alert.",
    },
];

/// Prefetch templates: the patient's recent process questionnaires and
/// outcome observations of every code `codes` reads (built-in and configured).
pub fn prefetch(codes: &CodeMap) -> [(&'static str, String); 2] {
    [
        (
            "questionnaireResponses",
            "QuestionnaireResponse?patient={{context.patientId}}&_sort=-authored&_count=50"
                .to_owned(),
        ),
        (
            "observations",
            format!(
                "Observation?patient={{{{context.patientId}}}}&code={}&_sort=-date&_count=100",
                codes.observation_search()
            ),
        ),
    ]
}

/// The override reasons offered on every card: (code, display).
pub const OVERRIDE_REASONS: [(&str, &str); 4] = [
    ("not-a-fit-now", "Not a fit for this patient right now"),
    ("patient-declined", "Patient declined"),
    ("already-in-plan", "Already part of the plan"),
    (
        "other-priority",
        "Clinical judgement: another priority first",
    ),
];

fn find_service(id: &str) -> Result<&'static Service, EhrError> {
    SERVICES
        .iter()
        .find(|s| s.id == id)
        .ok_or_else(|| EhrError::NotFound(format!("CDS service `{id}`")))
}

async fn verify(
    ehr: &Ehr,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<super::jwt::EhrCaller, EhrError> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let token = ehr
        .auth
        .verify(auth, uri.path())
        .map_err(|r| EhrError::Unauthorized(r.as_str()))?;
    ehr.claim_once(
        &token.caller.tenant,
        &token.caller.iss,
        &token.jti,
        token.exp,
        ehr.auth.expired_before(ehr.now_secs()),
        Refusal::Replayed.as_str(),
    )
    .await?;
    Ok(token.caller)
}

fn note_caller(note: &AuditNote, caller: &super::jwt::EhrCaller) {
    note.set_caller(caller.tenant.as_str(), &format!("ehr:{}", caller.iss));
}

/// `GET /cds-services`.
pub async fn discovery(
    State(ehr): State<Arc<Ehr>>,
    axum::Extension(note): axum::Extension<AuditNote>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<Value>, EhrError> {
    let caller = verify(&ehr, &headers, &uri).await?;
    note_caller(&note, &caller);
    note.set_resource("cds-services".into(), None);
    let prefetch: Map<String, Value> = prefetch(&ehr.fhir_codes)
        .into_iter()
        .map(|(k, q)| (k.to_owned(), Value::String(q)))
        .collect();
    let services: Vec<Value> = SERVICES
        .iter()
        .map(|s| {
            json!({
                "hook": s.hook,
                "title": s.title,
                "description": s.description,
                "id": s.id,
                "prefetch": prefetch,
                "usageRequirements": "Send the prefetched resources, or fhirServer with fhirAuthorization (Observation.read, QuestionnaireResponse.read). Process ratings use the Questionnaire at /fhir/r4/Questionnaire/tutti-processes.",
            })
        })
        .collect();
    Ok(Json(json!({ "services": services })))
}

/// The body of a service call (unknown fields are allowed: hooks add context).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HookRequest {
    hook: Option<String>,
    hook_instance: Option<String>,
    fhir_server: Option<String>,
    fhir_authorization: Option<FhirAuthorization>,
    context: Option<Map<String, Value>>,
    prefetch: Option<Map<String, Value>>,
}

// Debug is written by hand so the access token can never be printed.
#[derive(Deserialize)]
struct FhirAuthorization {
    access_token: String,
}

impl std::fmt::Debug for FhirAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FhirAuthorization { .. }")
    }
}

fn bad(expression: &str, diagnostics: &str) -> Issue {
    Issue {
        expression: expression.to_owned(),
        diagnostics: diagnostics.to_owned(),
    }
}

/// A request id derived from `parts`, so a retry derives the same one.
pub(super) fn derived_id(prefix: &str, parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    format!("{prefix}-{}", &hex(&h.finalize())[..40])
}

/// The Recommend request of a hook call; the app replays it to show the same decision.
pub fn card_request(person: &PersonId, rid: &str) -> pb::RecommendRequest {
    pb::RecommendRequest {
        request_id: rid.to_owned(),
        person: person.name(),
        max_results: CARD_SUGGESTIONS,
        ..pb::RecommendRequest::default()
    }
}

/// The card's decision: the hook's Recommend, parsed as a client's would be
/// (its idempotency key hashes the request, so the app's replay of it finds
/// the same decision).
pub async fn card_decision(
    app: &App,
    call: &Call,
    person: &PersonId,
    rid: &str,
) -> Result<pb::RecommendResponse, ServiceError> {
    let engine = app.engine(&call.tenant).await?;
    let cmd = RecommendCommand::parse(
        &card_request(person, rid),
        app.mode(&call.tenant),
        &app.ctx(&engine, app.now()),
    )?;
    recommendation::recommend(app, call, &engine, cmd).await
}

/// RecordFeedback for a request a route made, parsed as a client's would be.
pub async fn record_feedback(
    app: &App,
    call: &Call,
    req: pb::RecordFeedbackRequest,
) -> Result<pb::RecordFeedbackResponse, ServiceError> {
    let engine = app.engine(&call.tenant).await?;
    let cmd = RecordFeedbackCommand::parse(&req, &app.ctx(&engine, app.now()))?;
    recommendation::record_feedback(app, call, &engine, cmd).await
}

/// A person's insights, for a card or the app.
pub async fn insights(
    app: &App,
    call: &Call,
    person: &PersonId,
) -> Result<pb::GetPersonInsightsResponse, ServiceError> {
    let cmd = GetPersonInsightsCommand {
        person: person.clone(),
    };
    people::get_person_insights(app, call, cmd).await
}

/// Creates the person on first sight (CreatePerson, keyed by the person id so
/// concurrent first calls agree).
pub async fn ensure_person(ehr: &Ehr, call: &Call, person: &PersonId) -> Result<u32, EhrError> {
    if let Some(p) = ehr
        .app
        .storage
        .get_person(&call.tenant, person)
        .await
        .map_err(ServiceError::from)?
    {
        return Ok(p.assessment_count);
    }
    let req = pb::CreatePersonRequest {
        request_id: derived_id("ehr-person", &[person.as_str()]),
        person_id: person.as_str().to_owned(),
        conditions: Vec::new(),
    };
    let cmd = CreatePersonCommand::parse(req).map_err(ServiceError::from)?;
    match people::create_person(&ehr.app, call, cmd).await {
        Ok(_) | Err(ServiceError::AlreadyExists(_)) => Ok(0),
        Err(ServiceError::Storage(crate::storage::StorageError::AlreadyExists { .. })) => Ok(0),
        Err(e) => Err(e.into()),
    }
}

/// `POST /cds-services/{id}`.
pub async fn service_call(
    ehr: &Ehr,
    note: &AuditNote,
    headers: &HeaderMap,
    uri: &Uri,
    id: &str,
    body: &[u8],
) -> Result<Value, EhrError> {
    let caller = verify(ehr, headers, uri).await?;
    note_caller(note, &caller);
    let svc = find_service(id)?;
    let req: HookRequest = serde_json::from_slice(body)
        .map_err(|e| EhrError::Invalid(vec![bad("$", &format!("not a CDS Hooks request: {e}"))]))?;
    let mut issues = Vec::new();
    match req.hook.as_deref() {
        Some(h) if h == svc.hook => {}
        Some(_) => issues.push(bad(
            "hook",
            &format!("must be `{}` for this service", svc.hook),
        )),
        None => issues.push(bad("hook", "is required")),
    }
    let instance = req.hook_instance.as_deref().unwrap_or_default();
    if instance.trim().is_empty() {
        issues.push(bad("hookInstance", "is required"));
    }
    let patient = req
        .context
        .as_ref()
        .and_then(|c| c.get("patientId"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if patient.trim().is_empty() {
        issues.push(bad("context.patientId", "is required"));
    }
    if req.fhir_authorization.is_some() && req.fhir_server.is_none() {
        issues.push(bad("fhirServer", "is required with fhirAuthorization"));
    }
    if !issues.is_empty() {
        return Err(EhrError::Invalid(issues));
    }
    let key = ehr
        .config
        .pseudonym_keys
        .get(caller.tenant.as_str())
        .ok_or_else(|| ServiceError::Internal("issuer tenant without pseudonym key".into()))?;
    let person = pseudonym::person_for(key, &caller.iss, patient)?;
    let rid = derived_id("cds", &[svc.id, instance]);
    note.set_resource(person.name(), Some(&rid));
    let call = Call::new(
        caller.tenant.clone(),
        format!("ehr:{}", caller.iss),
        Some(note.clone()),
    );

    // Gather every prefetch key first: a missing one that cannot be fetched is 412.
    let templates = prefetch(&ehr.fhir_codes);
    let mut bundles = Vec::with_capacity(templates.len());
    for (name, template) in templates {
        let given = req
            .prefetch
            .as_ref()
            .and_then(|p| p.get(name))
            .filter(|v| !v.is_null());
        match (given, &req.fhir_server, &req.fhir_authorization) {
            (Some(v), _, _) => bundles.push((name, v.clone())),
            (None, Some(server), Some(auth)) => {
                let query = template.replace("{{context.patientId}}", &urlencode(patient));
                let fetched = ehr
                    .fhir
                    .get(server, &query, &auth.access_token)
                    .await
                    .map_err(|e| {
                        tracing::warn!(prefetch = name, error = %e, "fhir read failed");
                        EhrError::Precondition(format!("prefetch `{name}` was not sent and {e}"))
                    })?;
                bundles.push((name, fetched));
            }
            (None, _, _) => {
                return Err(EhrError::Precondition(format!(
                    "prefetch `{name}` was not sent and no fhirServer with fhirAuthorization was given to read it"
                )));
            }
        }
    }
    // One input for all prefetch keys, so resources of one instant (a PHQ-9
    // and the process questionnaire filled in together) form one assessment.
    let (combined, sources) = combine(&bundles);
    // Another patient's resource would be filed under this person: refuse
    // the call before anything (the person included) is stored.
    let foreign = foreign_subjects(&combined, patient);
    if !foreign.is_empty() {
        return Err(EhrError::Invalid(
            foreign
                .into_iter()
                .map(|i| Issue {
                    expression: source_path(&sources, &i.expression),
                    diagnostics: i.diagnostics,
                })
                .collect(),
        ));
    }
    let mut count = ensure_person(ehr, &call, &person).await?;
    let got = super::ingest::ingest(&ehr.app, &call, &person, &combined, &ehr.fhir_codes)
        .await
        .map_err(|e| match e {
            super::ingest::IngestError::Fhir(issues) => EhrError::Invalid(
                issues
                    .into_iter()
                    .map(|i| Issue {
                        expression: source_path(&sources, &i.expression),
                        diagnostics: i.diagnostics,
                    })
                    .collect(),
            ),
            super::ingest::IngestError::Service(e) => EhrError::Service(e),
        })?;
    count += u32::try_from(got.assessments.len()).unwrap_or(u32::MAX);
    // The service functions called above name their own resource on the
    // audit note; the row of a hook call names the person and the hook's key.
    note.set_resource(person.name(), Some(&rid));
    if count == 0 {
        tracing::info!(person = %person, service = svc.id, cards = 0, "cds call answered");
        return Ok(json!({ "cards": [] }));
    }
    let ranked = card_decision(&ehr.app, &call, &person, &rid).await?;
    let insights = insights(&ehr.app, &call, &person).await?;
    note.set_resource(person.name(), Some(&rid));
    // An EHR that launches SMART apps appends its `iss` and `launch` to the
    // link and hands its `appContext` (this decision, signed) back to Tutti
    // in the token response; the others get Tutti's own launch token in it.
    let smart = ehr
        .config
        .issuers
        .iter()
        .any(|i| i.iss == caller.iss && i.smart.is_some());
    let now = ehr.now_secs();
    let link = match (smart, ehr.config.public_url.as_deref()) {
        (true, Some(base)) => Some(Link {
            url: format!("{base}{}", super::smart::LAUNCH_PATH),
            app_context: ranked.recommendations.first().and_then(|first| {
                ehr.launch
                    .app_context(&call.tenant, &person, &rid, &first.recommendation_id, now)
            }),
        }),
        (false, Some(base)) => ehr
            .launch
            .launch_token(&call.tenant, &person, &rid, None, now)
            .map(|token| Link {
                url: format!("{base}/ehr/app?tutti_launch={token}"),
                app_context: None,
            }),
        (_, None) => None,
    };
    let cards: Vec<Value> = card(&ranked, &insights, link.as_ref())
        .into_iter()
        .collect();
    tracing::info!(
        person = %person,
        service = svc.id,
        decision = %ranked.decision_id,
        cards = cards.len(),
        "cds call answered"
    );
    Ok(json!({ "cards": cards }))
}

/// Axum handler for [`service_call`].
pub async fn service(
    State(ehr): State<Arc<Ehr>>,
    axum::Extension(note): axum::Extension<AuditNote>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Json<Value>, EhrError> {
    service_call(&ehr, &note, &headers, &uri, &id, &body)
        .await
        .map(Json)
}

/// The prefetched values as one collection Bundle, and where each key's
/// entries start in it.
fn combine(bundles: &[(&str, Value)]) -> (Value, Vec<(String, usize)>) {
    let mut entries = Vec::new();
    let mut sources = Vec::new();
    for (name, value) in bundles {
        sources.push(((*name).to_owned(), entries.len()));
        match value.get("resourceType").and_then(Value::as_str) {
            Some("Bundle") => {
                if let Some(list) = value.get("entry").and_then(Value::as_array) {
                    entries.extend(list.iter().cloned());
                }
            }
            // A prefetch answered with a single resource rather than a search Bundle.
            Some(_) => entries.push(json!({ "resource": value })),
            None => {}
        }
    }
    let combined = json!({"resourceType": "Bundle", "type": "collection", "entry": entries});
    (combined, sources)
}

/// Maps `Bundle.entry[i]...` of the combined Bundle back to the prefetch key
/// and entry the EHR sent.
fn source_path(sources: &[(String, usize)], expression: &str) -> String {
    let parsed = expression
        .strip_prefix("Bundle.entry[")
        .and_then(|rest| rest.split_once(']'))
        .and_then(|(n, tail)| n.parse::<usize>().ok().map(|n| (n, tail)));
    match parsed {
        Some((n, tail)) => match sources.iter().rev().find(|(_, start)| *start <= n) {
            Some((name, start)) => format!("prefetch.{name}.Bundle.entry[{}]{tail}", n - start),
            None => format!("prefetch.{expression}"),
        },
        None => format!("prefetch.{expression}"),
    }
}

/// Entries of the combined Bundle whose `subject` references a patient other
/// than `patient` (the hook's `context.patientId`). A reference may be
/// relative (`Patient/123`), absolute (`https://ehr/fhir/Patient/123`) or
/// versioned (`.../_history/2`); one that names no patient at all (such as
/// `urn:uuid:...`) cannot be checked and is refused too. A resource without
/// a `subject.reference` is left to the reader.
fn foreign_subjects(combined: &Value, patient: &str) -> Vec<Issue> {
    let own = format!("Patient/{patient}");
    let is_own = |reference: &str| {
        let at = reference.rfind("Patient/").map(|i| &reference[i..]);
        let at = at.map(|r| r.split("/_history/").next().unwrap_or(r));
        at == Some(own.as_str())
            && (reference.len() == own.len()
                || reference.starts_with("http://")
                || reference.starts_with("https://")
                || reference.starts_with(&format!("{own}/_history/")))
    };
    let entries = combined
        .get("entry")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            let reference = e.pointer("/resource/subject/reference")?.as_str()?;
            (!is_own(reference)).then(|| {
                bad(
                    &format!("Bundle.entry[{i}].resource.subject"),
                    "names another patient than context.patientId",
                )
            })
        })
        .collect()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A coding (CDS Hooks `Coding`).
#[derive(Debug, Serialize)]
struct Coding {
    system: &'static str,
    code: &'static str,
    display: &'static str,
}

/// Cuts to the spec's summary limit on a character boundary.
fn summary_text(s: &str) -> String {
    if s.chars().count() <= SUMMARY_MAX {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(SUMMARY_MAX - 1).collect();
    out.push('…');
    out
}

fn pct(x: f64) -> String {
    format!("{:.0}%", (x * 100.0).clamp(0.0, 100.0))
}

/// The card's link to the clinician app (CDS Hooks `Link`, type `smart`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The app's URL: its SMART launch URL, or the app with a launch token.
    pub url: String,
    /// `appContext`, only with a SMART launch URL: the card's decision,
    /// signed ([`super::launch::Launcher::app_context`]).
    pub app_context: Option<String>,
}

/// The card for a ranking, or none when the ranking is empty.
pub fn card(
    ranked: &pb::RecommendResponse,
    insights: &pb::GetPersonInsightsResponse,
    link: Option<&Link>,
) -> Option<Value> {
    let first = ranked.recommendations.first()?;
    let name = |r: &pb::Recommendation| {
        r.intervention
            .as_ref()
            .map_or_else(|| "intervention".to_owned(), |i| i.display_name.clone())
    };
    let track = insights.track.as_ref();
    let not_on_track = track.is_some_and(|t| t.status == pb::TrackStatus::NotOnTrack as i32);
    let critical = ranked.safety_mode || insights.risk_active;
    let (indicator, summary) = if critical {
        (
            "critical",
            format!(
                "Risk signal in the latest measures: review safety first ({})",
                name(first)
            ),
        )
    } else if not_on_track {
        (
            "warning",
            format!(
                "Not on track against expected recovery: consider {}",
                name(first)
            ),
        )
    } else {
        ("info", format!("Suggested next step: {}", name(first)))
    };
    let mut detail = String::new();
    if critical {
        detail.push_str("**Risk signal.** The latest measures carry a risk flag (for example PHQ-9 item 9 above 0). Suggestions are on the safety path: safety planning and clinician review first, no exploration, contraindicated options removed.\n\n");
    }
    if let Some(t) = track.filter(|_| not_on_track) {
        detail.push_str(&format!(
            "**Not on track.** Well-being {:.0} where about {:.0} was expected after {:.0} weeks (0-100, higher is better).\n\n",
            t.observed_wellbeing, t.expected_wellbeing, t.weeks_in_care
        ));
    }
    detail.push_str(&format!(
        "**Why these suggestions** (from {} assessments of this patient):\n\n",
        insights.assessment_count
    ));
    for r in &ranked.recommendations {
        let b = r.expected_benefit.unwrap_or_default();
        let f = r.follow_through.unwrap_or_default();
        let minutes = r.intervention.as_ref().map_or(0, |i| i.effort_minutes);
        detail.push_str(&format!(
            "{}. **{}** ({} min): {} Expected gain {:+.1} well-being points (90% interval {:+.1} to {:+.1}); likely to be done {}.{}\n",
            r.rank,
            name(r),
            minutes,
            r.summary.trim(),
            b.mean,
            b.lower,
            b.upper,
            pct(f.mean),
            if r.requires_clinician_review {
                " *Clinician-led or review needed.*"
            } else {
                ""
            }
        ));
    }
    // The engine's note says it when the top items are indistinguishable.
    if ranked.top_items_indistinguishable && ranked.note.is_empty() {
        detail.push_str("\nThe top suggestions cannot be told apart on the data so far: treat them as equal options.\n");
    }
    if !ranked.note.is_empty() {
        detail.push_str(&format!("\n{}\n", ranked.note.trim()));
    }
    let suggestions: Vec<Value> = ranked
        .recommendations
        .iter()
        .map(|r| {
            let mut s = json!({
                "label": format!("Plan: {}", name(r)),
                "uuid": r.recommendation_id,
            });
            if r.rank == 1 {
                s["isRecommended"] = Value::Bool(true);
            }
            s
        })
        .collect();
    let reasons: Vec<Coding> = OVERRIDE_REASONS
        .iter()
        .map(|(code, display)| Coding {
            system: OVERRIDE_SYSTEM,
            code,
            display,
        })
        .collect();
    let mut card = json!({
        "uuid": first.recommendation_id,
        "summary": summary_text(&summary),
        "indicator": indicator,
        "detail": detail.trim_end(),
        "source": {
            "label": "Tutti process-based recommendations",
            "topic": {"system": MEASURE_SYSTEM, "code": "next-intervention", "display": "Next therapeutic step"},
        },
        "suggestions": suggestions,
        "selectionBehavior": "at-most-one",
        "overrideReasons": reasons,
    });
    if let Some(link) = link {
        let mut l = json!({
            "label": "Open the Tutti process map and suggestions",
            "url": link.url,
            "type": "smart",
        });
        if let Some(context) = &link.app_context {
            l["appContext"] = Value::String(context.clone());
        }
        card["links"] = json!([l]);
    }
    Some(card)
}

/// The body of a feedback call.
#[derive(Debug, Deserialize)]
struct FeedbackBody {
    feedback: Vec<FeedbackItem>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FeedbackItem {
    card: Option<String>,
    outcome: Option<String>,
    #[serde(default)]
    accepted_suggestions: Vec<AcceptedSuggestion>,
    override_reason: Option<OverrideReason>,
    outcome_timestamp: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AcceptedSuggestion {
    id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OverrideReason {
    reason: Option<ReasonCoding>,
    // userComment is read past on purpose: free text may identify someone.
}

#[derive(Debug, Deserialize)]
struct ReasonCoding {
    code: Option<String>,
    system: Option<String>,
    display: Option<String>,
}

/// A card or suggestion uuid (Tutti's are recommendation ids, all UUIDs).
fn uuid_id(s: &str) -> Option<RecommendationId> {
    uuid::Uuid::parse_str(s).ok()?;
    RecommendationId::parse(s).ok()
}

/// One clinician review to record.
struct Review {
    recommendation: RecommendationId,
    decision: pb::ClinicianDecision,
    reason: String,
    observe_time: prost_types::Timestamp,
}

/// The `request_id` of the RecordFeedback a CDS feedback entry becomes: one
/// per (suggestion, decision), which is what makes a repeated entry a
/// duplicate. A gRPC client replaying that request reads the stored review.
pub fn feedback_request_id(
    recommendation: &RecommendationId,
    decision: pb::ClinicianDecision,
) -> String {
    derived_id("cdsfb", &[recommendation.as_str(), decision.as_str_name()])
}

/// `POST /cds-services/{id}/feedback`.
pub async fn feedback(
    State(ehr): State<Arc<Ehr>>,
    axum::Extension(note): axum::Extension<AuditNote>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<StatusCode, EhrError> {
    let caller = verify(&ehr, &headers, &uri).await?;
    note_caller(&note, &caller);
    find_service(&id)?;
    let body: FeedbackBody = serde_json::from_slice(&body).map_err(|e| {
        EhrError::Invalid(vec![bad(
            "$",
            &format!("not a CDS Hooks feedback body: {e}"),
        )])
    })?;
    let mut issues = Vec::new();
    let mut reviews = Vec::new();
    for (i, item) in body.feedback.iter().enumerate() {
        let at = |f: &str| format!("feedback[{i}].{f}");
        let card = item.card.as_deref().and_then(uuid_id);
        if card.is_none() {
            issues.push(bad(
                &at("card"),
                "must be the uuid of a card Tutti returned",
            ));
        }
        let time = item
            .outcome_timestamp
            .as_deref()
            .and_then(super::fhir::parse_date_time)
            .filter(|_| {
                item.outcome_timestamp
                    .as_deref()
                    .is_some_and(|t| t.contains('T'))
            });
        if time.is_none() {
            issues.push(bad(
                &at("outcomeTimestamp"),
                "is required: an RFC 3339 date-time",
            ));
        }
        let (Some(card), Some(time)) = (card, time) else {
            continue;
        };
        let observe_time = crate::convert::timestamp_to_pb(tutti_engine::ids::Timestamp(time));
        match item.outcome.as_deref() {
            Some("accepted") => {
                if item.accepted_suggestions.is_empty() {
                    issues.push(bad(
                        &at("acceptedSuggestions"),
                        "is required with outcome `accepted`",
                    ));
                }
                for (j, s) in item.accepted_suggestions.iter().enumerate() {
                    match s.id.as_deref().and_then(uuid_id) {
                        Some(rec) => reviews.push(Review {
                            recommendation: rec,
                            decision: pb::ClinicianDecision::Accepted,
                            reason: String::new(),
                            observe_time,
                        }),
                        None => issues.push(bad(
                            &at(&format!("acceptedSuggestions[{j}].id")),
                            "must be the uuid of a suggestion Tutti returned",
                        )),
                    }
                }
            }
            Some("overridden") => {
                let reason = item
                    .override_reason
                    .as_ref()
                    .and_then(|r| r.reason.as_ref())
                    .map(|c| {
                        let code = c.code.as_deref().unwrap_or_default();
                        let system = c.system.as_deref().unwrap_or_default();
                        let display = OVERRIDE_REASONS
                            .iter()
                            .find(|(k, _)| *k == code && system == OVERRIDE_SYSTEM)
                            .map(|(_, d)| (*d).to_owned())
                            .or_else(|| c.display.clone())
                            .unwrap_or_default();
                        format!("cds override {system}|{code} {display}")
                            .chars()
                            .take(1000)
                            .collect::<String>()
                    })
                    .unwrap_or_else(|| "cds override (no reason given)".to_owned());
                reviews.push(Review {
                    recommendation: card,
                    decision: pb::ClinicianDecision::Rejected,
                    reason,
                    observe_time,
                });
            }
            _ => issues.push(bad(&at("outcome"), "must be `accepted` or `overridden`")),
        }
    }
    if body.feedback.is_empty() {
        issues.push(bad("feedback", "must list at least one feedback entry"));
    }
    if !issues.is_empty() {
        return Err(EhrError::Invalid(issues));
    }
    let call = Call::new(
        caller.tenant.clone(),
        format!("ehr:{}", caller.iss),
        Some(note.clone()),
    );
    let (mut recorded, mut duplicates) = (0u32, 0u32);
    for r in reviews {
        let rid = feedback_request_id(&r.recommendation, r.decision);
        if let Ok(key) = RequestId::parse(&rid)
            && ehr
                .app
                .storage
                .find_response(&call.tenant, RECORD_FEEDBACK, &key)
                .await
                .map_err(ServiceError::from)?
                .is_some()
        {
            duplicates += 1;
            continue;
        }
        record_feedback(
            &ehr.app,
            &call,
            pb::RecordFeedbackRequest {
                request_id: rid,
                feedback: Some(pb::Feedback {
                    recommendation_id: r.recommendation.to_string(),
                    clinician: Some(pb::ClinicianReview {
                        decision: r.decision as i32,
                        reason: r.reason,
                        replacement_intervention_id: String::new(),
                    }),
                    observe_time: Some(r.observe_time),
                    ..pb::Feedback::default()
                }),
            },
        )
        .await?;
        recorded += 1;
    }
    tracing::info!(recorded, duplicates, "cds feedback recorded");
    Ok(StatusCode::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_stay_under_140_characters() {
        let long = "x".repeat(300);
        assert_eq!(summary_text(&long).chars().count(), SUMMARY_MAX);
        assert_eq!(summary_text("short"), "short");
    }

    #[test]
    fn combined_entries_map_back_to_their_prefetch_key() {
        let b = |n: usize| json!({"resourceType": "Bundle", "entry": vec![json!({}); n]});
        let (all, sources) = combine(&[("a", b(2)), ("b", b(3))]);
        assert_eq!(all["entry"].as_array().map(Vec::len), Some(5));
        assert_eq!(
            source_path(&sources, "Bundle.entry[1].resource"),
            "prefetch.a.Bundle.entry[1].resource"
        );
        assert_eq!(
            source_path(&sources, "Bundle.entry[3].resource.value[x]"),
            "prefetch.b.Bundle.entry[1].resource.value[x]"
        );
        assert_eq!(source_path(&sources, "Bundle"), "prefetch.Bundle");
    }

    #[test]
    fn resources_of_another_patient_are_found() {
        let of = |r: &str| json!({"resource": {"resourceType": "Observation", "subject": {"reference": r}}});
        let combined = json!({"entry": [
            of("Patient/p1"),
            of("https://ehr.example/fhir/Patient/p1"),
            of("Patient/p1/_history/3"),
            {"resource": {"resourceType": "Observation"}},
            of("Patient/p2"),
            of("Patient/p10"),
            of("https://ehr.example/fhir/Patient/p1x"),
            of("Group/Patient/p1"),
            of("urn:uuid:0f0e"),
        ]});
        let found: Vec<String> = foreign_subjects(&combined, "p1")
            .into_iter()
            .map(|i| i.expression)
            .collect();
        assert_eq!(
            found,
            (4..9)
                .map(|i| format!("Bundle.entry[{i}].resource.subject"))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn patient_ids_are_encoded_in_queries() {
        assert_eq!(urlencode("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn no_ranking_no_card() {
        assert!(
            card(
                &pb::RecommendResponse::default(),
                &pb::GetPersonInsightsResponse::default(),
                None
            )
            .is_none()
        );
    }
}
