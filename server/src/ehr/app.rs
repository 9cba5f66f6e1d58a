//! The clinician app and the REST FHIR route.
//!
//! - `GET /ehr/app`, `/ehr/app/app.js`, `/ehr/app/app.css`: a plain HTML page
//!   and modern JavaScript (no framework, no build step) compiled into the
//!   binary; no tenant data, so not authenticated.
//! - `POST /ehr/app/session`: `{"launch": "<token from the card link>"}` ->
//!   `{"session": "...", "expiresIn": seconds}` (see [`super::launch`]).
//!
//! The session's calls below are audited under the clinician its token names
//! (after a SMART launch with a verified id_token), else as `clinician-app`.
//! - `GET /ehr/app/api/view` (bearer session): the card's suggestions (the same
//!   logged decision, replayed by its request id), the person's process map,
//!   network, well-being curve against the expected recovery, track status
//!   and follow-through.
//! - `POST /ehr/app/api/feedback` (bearer session): `{"recommendationId",
//!   "decision": "accepted"|"overridden", "reason"}` -> a clinician review
//!   through `RecordFeedback`.
//! - `POST /fhir/r4/people/{person_id}` (API key, as gRPC): FHIR R4 JSON in;
//!   answers an OperationOutcome (`information` on success).
//! - `GET /fhir/r4/Questionnaire/tutti-processes`: the process questionnaire.

use super::cds::{card_decision, insights, record_feedback};
use super::{Ehr, EhrError, fhir, ingest};
use crate::audit::AuditNote;
use crate::auth::{ANONYMOUS, Authenticator};
use crate::command::ListAssessmentsCommand;
use crate::config::Role;
use crate::convert::ids::PersonId;
use crate::error::ServiceError;
use crate::service::{Call, people};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use tutti_engine::observe::Instrument;
use tutti_proto::v1 as pb;

const PAGE: &str = include_str!("app/index.html");
const SCRIPT: &str = include_str!("app/app.js");
const STYLE: &str = include_str!("app/app.css");

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The page holds no data; tokens travel in headers, never in cookies.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors *",
        ),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

/// `GET /ehr/app`.
pub async fn page() -> Response {
    asset(PAGE, "text/html; charset=utf-8")
}

/// `GET /ehr/app/app.js`.
pub async fn script() -> Response {
    asset(SCRIPT, "text/javascript; charset=utf-8")
}

/// `GET /ehr/app/app.css`.
pub async fn style() -> Response {
    asset(STYLE, "text/css; charset=utf-8")
}

/// `GET /fhir/r4/Questionnaire/tutti-processes`.
pub async fn questionnaire(State(ehr): State<Arc<Ehr>>) -> Response {
    let q = fhir::questionnaire(ehr.app.engines.base().processes());
    let mut r = Json(q).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json"),
    );
    r
}

/// `POST /fhir/r4/people/{person_id}`.
pub async fn ingest_rest(
    State(ehr): State<Arc<Ehr>>,
    axum::Extension(note): axum::Extension<AuditNote>,
    Path(person_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, EhrError> {
    let caller = match ehr.keys.authenticate(&headers) {
        Ok(c) => c,
        Err(e) => {
            note.set_caller("", ANONYMOUS);
            return Err(EhrError::Service(e));
        }
    };
    note.set_caller(caller.tenant.as_str(), &caller.principal);
    Authenticator::require(&caller, Role::Write)?;
    let person = PersonId::parse(&person_id).map_err(|e| ServiceError::bad_id("person_id", e))?;
    note.set_resource(format!("{}/fhir", person.name()), None);
    let call = Call::new(caller.tenant, caller.principal, Some(note.clone()));
    ehr.app
        .storage
        .get_person(&call.tenant, &person)
        .await
        .map_err(ServiceError::from)?
        .ok_or_else(|| ServiceError::NotFound(person.name()))?;
    let text = std::str::from_utf8(&body).map_err(|_| {
        EhrError::Invalid(vec![fhir::Issue {
            expression: "$".into(),
            diagnostics: "the body is not UTF-8".into(),
        }])
    })?;
    let input = ingest::parse_json(text)?;
    let got = ingest::ingest(&ehr.app, &call, &person, &input, &ehr.fhir_codes).await?;
    let message = format!(
        "recorded {} assessment(s); {} already recorded; {} resource(s) ignored; {} risk flag(s)",
        got.assessments.len(),
        got.duplicates,
        got.ignored,
        got.risk_flags.len()
    );
    let body = json!({
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "information", "code": "informational", "diagnostics": message}],
    });
    let mut r = Json(body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json"),
    );
    Ok(r)
}

#[derive(Debug, Deserialize)]
struct SessionBody {
    launch: String,
}

/// `POST /ehr/app/session`.
pub async fn session(
    State(ehr): State<Arc<Ehr>>,
    axum::Extension(note): axum::Extension<AuditNote>,
    body: Bytes,
) -> Result<Json<Value>, EhrError> {
    let body: SessionBody =
        serde_json::from_slice(&body).map_err(|_| EhrError::Unauthorized("no launch token"))?;
    const REFUSED: &str = "invalid or used launch token";
    let refused = || EhrError::Unauthorized(REFUSED);
    let grant = ehr.launch.launch(&body.launch).ok_or_else(refused)?;
    let tenant = grant.tenant_id().ok_or_else(refused)?;
    let now = ehr.now_secs();
    // Launch tokens are checked with no leeway: a claim is dead once expired.
    let issuer = super::launch::LAUNCH_ISSUER;
    ehr.claim_once(&tenant, issuer, &grant.jti, grant.exp, now, REFUSED)
        .await?;
    let (token, ttl) = ehr.launch.session_token(grant, now).ok_or_else(refused)?;
    if let Some(g) = ehr.launch.session(&token) {
        note.set_caller(&g.tenant, g.principal());
        note.set_resource(format!("people/{}", g.person), None);
    }
    Ok(Json(json!({"session": token, "expiresIn": ttl})))
}

/// The session's caller and person.
fn session_call(
    ehr: &Ehr,
    headers: &HeaderMap,
    note: &AuditNote,
) -> Result<(Call, PersonId, String), EhrError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(EhrError::Unauthorized("no session"))?;
    let grant = ehr
        .launch
        .session(token)
        .ok_or(EhrError::Unauthorized("invalid session"))?;
    let (Some(tenant), Some(person)) = (grant.tenant_id(), grant.person_id()) else {
        return Err(EhrError::Unauthorized("invalid session"));
    };
    // The clinician a SMART launch verified, else the app (a card link's token).
    let principal = grant.principal().to_owned();
    note.set_caller(tenant.as_str(), &principal);
    note.set_resource(person.name(), None);
    Ok((
        Call::new(tenant, principal, Some(note.clone())),
        person,
        grant.rid,
    ))
}

fn estimate(e: Option<&pb::Estimate>) -> Value {
    let e = e.copied().unwrap_or_default();
    json!({"mean": e.mean, "lower": e.lower, "upper": e.upper})
}

fn instrument(i: i32) -> Option<Instrument> {
    crate::convert::instrument_from_pb(i, "").ok()
}

/// `GET /ehr/app/api/view`.
pub async fn view(
    State(ehr): State<Arc<Ehr>>,
    axum::Extension(note): axum::Extension<AuditNote>,
    headers: HeaderMap,
) -> Result<Json<Value>, EhrError> {
    let (call, person, rid) = session_call(&ehr, &headers, &note)?;
    let ranked = card_decision(&ehr.app, &call, &person, &rid).await?;
    let insights = insights(&ehr.app, &call, &person).await?;
    let history = people::list_assessments(
        &ehr.app,
        &call,
        ListAssessmentsCommand::first_page(person.clone(), 500),
    )
    .await?;
    note.set_resource(person.name(), None);
    // Observed well-being per assessment with outcomes (the mean of its
    // instruments on the common 0-100 scale), oldest first, and the expected
    // recovery curve from the first point (the engine's recovery prior).
    let mut points: Vec<(i64, f64)> = history
        .assessments
        .iter()
        .filter_map(|a| {
            let t = a.observe_time.as_ref()?;
            let ws: Vec<f64> = a
                .outcomes
                .iter()
                .filter_map(|o| instrument(o.instrument).map(|i| i.to_wellbeing(o.score)))
                .collect();
            (!ws.is_empty()).then(|| {
                (
                    t.seconds * 1000 + i64::from(t.nanos / 1_000_000),
                    ws.iter().sum::<f64>() / ws.len() as f64,
                )
            })
        })
        .collect();
    points.sort_by_key(|(t, _)| *t);
    let engine = ehr.app.engine(&call.tenant).await?;
    let recovery = &engine.population().recovery;
    let curve: Vec<Value> = match points.first() {
        Some(&(t0, w0)) => points
            .iter()
            .map(|&(t, w)| {
                let weeks = (t - t0) as f64 / (7.0 * 86_400_000.0);
                json!({"t": t, "weeks": weeks, "observed": w, "expected": recovery.expected(w0, weeks)})
            })
            .collect(),
        None => Vec::new(),
    };
    let recs: Vec<Value> = ranked
        .recommendations
        .iter()
        .map(|r| {
            let iv = r.intervention.as_ref();
            json!({
                "id": r.recommendation_id,
                "rank": r.rank,
                "name": iv.map(|i| i.display_name.clone()).unwrap_or_default(),
                "minutes": iv.map_or(0, |i| i.effort_minutes),
                "summary": r.summary,
                "benefit": estimate(r.expected_benefit.as_ref()),
                "followThrough": estimate(r.follow_through.as_ref()),
                "processes": r.targeted_process_ids,
                "review": r.requires_clinician_review,
                "evidence": r.rationale.as_ref().map(|x| x.evidence.clone()).unwrap_or_default(),
                "buildsOnStrength": r.rationale.as_ref().is_some_and(|x| x.builds_on_strength),
            })
        })
        .collect();
    let processes: Vec<Value> = insights
        .processes
        .iter()
        .map(|p| {
            json!({
                "id": p.process_id,
                "drive": estimate(p.drive.as_ref()),
                "correlation": p.correlation,
                "relativeValue": estimate(p.relative_value.as_ref()),
                "observations": p.map_sufficiency.as_ref().map_or(0, |s| s.observations),
                "ownDataWeight": p.map_sufficiency.as_ref().map_or(0.0, |s| s.own_data_weight),
                "adaptive": p.adaptive_level,
                "maladaptive": p.maladaptive_level,
            })
        })
        .collect();
    let edges: Vec<Value> = insights
        .edges
        .iter()
        .map(|e| json!({"source": e.source, "target": e.target, "weight": estimate(e.weight.as_ref())}))
        .collect();
    let track = insights.track.clone().unwrap_or_default();
    let status = match pb::TrackStatus::try_from(track.status) {
        Ok(pb::TrackStatus::OnTrack) => "on_track",
        Ok(pb::TrackStatus::NotOnTrack) => "not_on_track",
        Ok(pb::TrackStatus::InsufficientData | pb::TrackStatus::Unspecified) | Err(_) => {
            "insufficient_data"
        }
    };
    let follow = insights.follow_through.unwrap_or_default();
    Ok(Json(json!({
        "person": person.as_str(),
        "decision": ranked.decision_id,
        "safetyMode": ranked.safety_mode,
        "riskActive": insights.risk_active,
        "indistinguishable": ranked.top_items_indistinguishable,
        "recommendations": recs,
        "processes": processes,
        "edges": edges,
        "curve": curve,
        "track": {
            "status": status,
            "weeks": track.weeks_in_care,
            "expected": track.expected_wellbeing,
            "observed": track.observed_wellbeing,
            "steps": track.suggested_steps,
        },
        "followThrough": {
            "reported": follow.reported,
            "done": follow.done,
            "partly": follow.partly,
            "probability": estimate(follow.probability.as_ref()),
        },
        "assessments": insights.assessment_count,
        "summary": insights.summary,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AppFeedback {
    recommendation_id: String,
    decision: String,
    #[serde(default)]
    reason: String,
}

/// `POST /ehr/app/api/feedback`.
pub async fn feedback(
    State(ehr): State<Arc<Ehr>>,
    axum::Extension(note): axum::Extension<AuditNote>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, EhrError> {
    let (call, person, _) = session_call(&ehr, &headers, &note)?;
    let body: AppFeedback = serde_json::from_slice(&body).map_err(|e| {
        EhrError::Invalid(vec![fhir::Issue {
            expression: "$".into(),
            diagnostics: format!("not a feedback body: {e}"),
        }])
    })?;
    let decision = match body.decision.as_str() {
        "accepted" => pb::ClinicianDecision::Accepted,
        "overridden" => pb::ClinicianDecision::Rejected,
        _ => {
            return Err(EhrError::Invalid(vec![fhir::Issue {
                expression: "decision".into(),
                diagnostics: "must be `accepted` or `overridden`".into(),
            }]));
        }
    };
    // The session may only speak for its own person.
    let rec = crate::convert::ids::RecommendationId::parse(&body.recommendation_id)
        .map_err(|e| ServiceError::bad_id("recommendationId", e))?;
    let stored = ehr
        .app
        .storage
        .get_recommendation(&call.tenant, &rec)
        .await
        .map_err(ServiceError::from)?
        .filter(|r| r.person == person)
        .ok_or_else(|| ServiceError::NotFound(format!("recommendation {rec}")))?;
    // One review per (recommendation, decision): a second click replays the first.
    let request_id = format!(
        "app-{}-{}",
        stored
            .id
            .to_string()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(40)
            .collect::<String>(),
        if decision == pb::ClinicianDecision::Accepted {
            "acc"
        } else {
            "rej"
        }
    );
    let reason: String = body.reason.chars().take(200).collect();
    let out = record_feedback(
        &ehr.app,
        &call,
        pb::RecordFeedbackRequest {
            request_id,
            feedback: Some(pb::Feedback {
                recommendation_id: rec.to_string(),
                clinician: Some(pb::ClinicianReview {
                    decision: decision as i32,
                    reason,
                    replacement_intervention_id: String::new(),
                }),
                ..pb::Feedback::default()
            }),
        },
    )
    .await?;
    Ok(Json(
        json!({"feedbackId": out.feedback.map(|f| f.id).unwrap_or_default()}),
    ))
}
