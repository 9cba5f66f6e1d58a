//! `tutti.v1.RecommendationService`: ranked, explained suggestions (each call
//! logged as a decision with its propensities) and the feedback that teaches
//! the engine what works for a person.
//!
//! # Shadow mode
//! A tenant configured with `mode = "shadow"` ([`crate::config::TenantMode`])
//! evaluates the engine before it goes live. `Recommend` ranks exactly as in
//! live mode (same exploration seed, same propensities, same decision row),
//! but the platform keeps showing its own choice, which the request must name
//! (`platform_intervention_id`). Then:
//! - the decision is stored with `shadow` set and the platform's choice; Tutti's
//!   items are stored as not shown, and the platform's choice gets a
//!   recommendation id of its own (`platform_recommendation_id` in the
//!   response), so `RecordFeedback` on what the person actually did works as in
//!   live mode, and feedback on an item nobody saw is refused;
//! - the person's state counts the platform's choice as offered (dose limits,
//!   habituation), not Tutti's items, so later rankings, shadow or live, rest on
//!   what really happened; feedback on the platform's choice teaches the
//!   person's model as any feedback does, so the engine warms up in shadow;
//! - the offline tools know the logged ranking was not acted on: the action
//!   taken is the platform's, whose propensity is unknown
//!   (`tutti evaluate` leaves shadow decisions out of IPS/DR and summarises
//!   them apart; `tutti export` has `shadow` and `platform_intervention_id`).
//!
//! A live tenant's request may name the platform's choice too: it is logged
//! for comparison and changes nothing else, so a platform can always send it
//! and show what `RecommendResponse.shadow` says, and a tenant can switch
//! modes without the platform changing in step.

use super::{App, Call, blocking, handle, state};
use crate::config::TenantMode;
use crate::convert::ids::{DecisionId, PersonId, RecommendationId, TenantId, new_uuid};
use crate::convert::{self, timestamp_to_pb};
use crate::error::{Result, ServiceError};
use crate::idempotency::Idempotency;
use crate::storage::{NewDecision, NewFeedback, NewRecommendation, PlatformChoice, StateUpdate};
use crate::validate::{self, Violations};
use prost::Message;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tonic::{Request, Response, Status};
use tutti_engine::ids::InterventionId;
use tutti_engine::rank::RecommendQuery;
use tutti_proto::v1 as pb;
use tutti_proto::v1::recommendation_service_server::RecommendationService;

const RECOMMEND: &str = "/tutti.v1.RecommendationService/Recommend";
/// Full method name of RecordFeedback (its idempotency records are keyed by it).
pub const RECORD_FEEDBACK: &str = "/tutti.v1.RecommendationService/RecordFeedback";

const DEFAULT_RESULTS: u32 = 5;

/// The RecommendationService adapter.
#[derive(Debug, Clone)]
pub struct RecommendationApi {
    app: Arc<App>,
}

impl RecommendationApi {
    /// An adapter over the shared state.
    pub fn new(app: Arc<App>) -> Self {
        Self { app }
    }
}

/// The exploration seed: a stable hash of (tenant, person, request id), so a
/// replayed request explores exactly as the first one did, on any machine and
/// across releases (unlike `std`'s `Hasher`s).
pub fn exploration_seed(tenant: &TenantId, person: &PersonId, request_id: &str) -> u64 {
    let mut h = Sha256::new();
    for part in [tenant.as_str(), person.as_str(), request_id] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

/// Recommend (also the CDS services' ranking, so their decisions are logged alike).
pub async fn recommend(
    app: &App,
    call: Call,
    req: pb::RecommendRequest,
) -> Result<pb::RecommendResponse> {
    let engine = app.engine(&call.tenant).await?;
    let mode = app.mode(&call.tenant);
    validate::recommend(&req, mode, &app.ctx(&engine, app.now()))?;
    let shadow = mode == TenantMode::Shadow;
    let platform = (!req.platform_intervention_id.is_empty())
        .then(|| InterventionId::from(req.platform_intervention_id.as_str()));
    let person = PersonId::from_name(&req.person).map_err(|e| ServiceError::bad_id("person", e))?;
    call.audit(person.name(), Some(&req.request_id));
    let idem = Idempotency::new(RECOMMEND, &req.request_id, &req)?.audited(&call);
    let k = match req.max_results {
        0 => DEFAULT_RESULTS,
        n => n,
    } as usize;
    let context = convert::context_from_pb(req.context.as_ref())?;
    let request_time = req
        .request_time
        .as_ref()
        .map(|t| convert::timestamp_from_pb(t, "request_time"))
        .transpose()?;
    let seed = exploration_seed(&call.tenant, &person, &req.request_id);
    let ids = |v: &[String]| v.iter().map(|s| InterventionId::from(s.as_str())).collect();
    let (exclude, pin): (Vec<InterventionId>, Vec<InterventionId>) = (
        ids(&req.exclude_intervention_ids),
        ids(&req.pinned_intervention_ids),
    );
    let (call, person, engine, idem, exclude, pin, platform) =
        (&call, &person, &engine, &idem, &exclude, &pin, &platform);
    idem.run(app.storage.as_ref(), &call.tenant, || async move {
        let decide_time = app.now();
        let query = RecommendQuery {
            k,
            context,
            exclude: exclude.clone(),
            pin: pin.clone(),
            now: request_time.unwrap_or(decide_time),
            seed,
        };
        let record = app
            .storage
            .get_person(&call.tenant, person)
            .await?
            .ok_or_else(|| ServiceError::NotFound(person.name()))?;
        let current = state::current(app, &call.tenant, engine, &record).await?;
        let (e, q, shown_by_platform) = (
            Arc::clone(engine),
            query.clone(),
            platform.clone().filter(|_| shadow),
        );
        let (ranking, first_place, new_state) = blocking(move || {
            let (ranking, all) = e.recommend_with_propensities(&current, &q)?;
            let first_place: Vec<(InterventionId, f64)> =
                all.into_iter().filter(|(_, p)| *p > 0.0).collect();
            let mut s = current;
            // The state counts what the person is offered: in shadow mode the
            // platform's choice, not the ranking nobody sees.
            match &shown_by_platform {
                Some(iv) => e.observe_recommendation(&mut s, iv, q.now)?,
                None => {
                    for item in &ranking.items {
                        e.observe_recommendation(&mut s, &item.intervention, q.now)?;
                    }
                }
            }
            Ok((ranking, first_place, s))
        })
        .await?;
        let decision_id = new_uuid();
        let mut items = Vec::with_capacity(ranking.items.len());
        let mut recommendations = Vec::with_capacity(ranking.items.len());
        for (i, item) in ranking.items.iter().enumerate() {
            let rank = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let id = new_uuid();
            recommendations.push(convert::recommendation_to_pb(
                item,
                id.clone(),
                rank,
                engine.interventions().get(&item.intervention),
            ));
            items.push(NewRecommendation {
                id: RecommendationId::parse(&id)
                    .map_err(|e| ServiceError::Internal(format!("generated id: {e}")))?,
                intervention: item.intervention.clone(),
                rank,
                score: item.score,
                propensity: item.propensity,
            });
        }
        let platform_choice = match platform.as_ref().filter(|_| shadow) {
            Some(iv) => Some(PlatformChoice {
                id: RecommendationId::parse(&new_uuid())
                    .map_err(|e| ServiceError::Internal(format!("generated id: {e}")))?,
                intervention: iv.clone(),
            }),
            None => None,
        };
        let model_version = engine.model_version();
        let response = pb::RecommendResponse {
            decision_id: decision_id.clone(),
            recommendations,
            top_items_indistinguishable: ranking.indistinguishable,
            safety_mode: ranking.safety_mode,
            exploration: ranking.exploration,
            model_version: model_version.clone(),
            note: ranking.note.clone(),
            decide_time: Some(timestamp_to_pb(decide_time)),
            shadow,
            platform_recommendation_id: platform_choice
                .as_ref()
                .map(|c| c.id.to_string())
                .unwrap_or_default(),
        };
        let n = items.len();
        let version_label = model_version.clone();
        let decision = NewDecision {
            id: DecisionId::parse(&decision_id)
                .map_err(|e| ServiceError::Internal(format!("generated id: {e}")))?,
            person: person.clone(),
            query,
            model_version,
            decide_time,
            ranking,
            items,
            first_place,
            shadow,
            platform_intervention: platform.clone(),
            platform_choice,
        };
        let update = StateUpdate {
            person: person.clone(),
            expected_version: record.version,
            state: new_state,
            update_time: decide_time,
        };
        app.storage
            .record_decision(
                &call.tenant,
                update,
                decision,
                idem.record(&response, Some(person), decide_time),
            )
            .await?;
        app.metrics.recommendation(&version_label, shadow);
        tracing::info!(
            person = %person,
            decision = %decision_id,
            items = n,
            safety_mode = response.safety_mode,
            shadow,
            "decision logged"
        );
        Ok(response)
    })
    .await
}

/// RecordFeedback (also CDS feedback and the clinician app's buttons).
pub async fn record_feedback(
    app: &App,
    call: Call,
    req: pb::RecordFeedbackRequest,
) -> Result<pb::RecordFeedbackResponse> {
    let engine = app.engine(&call.tenant).await?;
    validate::record_feedback(&req, &app.ctx(&engine, app.now()))?;
    let feedback = req.feedback.as_ref().ok_or_else(|| {
        ServiceError::InvalidArgument(Violations::single("feedback", "is required"))
    })?;
    let rec_id = RecommendationId::parse(&feedback.recommendation_id)
        .map_err(|e| ServiceError::bad_id("feedback.recommendation_id", e))?;
    call.audit(format!("recommendations/{rec_id}"), Some(&req.request_id));
    let idem = Idempotency::new(RECORD_FEEDBACK, &req.request_id, &req)?.audited(&call);
    let (call, engine, idem, rec_id) = (&call, &engine, &idem, &rec_id);
    idem.run(app.storage.as_ref(), &call.tenant, || async move {
        let now = app.now();
        let rec = app
            .storage
            .get_recommendation(&call.tenant, rec_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("recommendation {rec_id}")))?;
        if !rec.role.shown() {
            return Err(ServiceError::FailedPrecondition(
                "SHADOW_RECOMMENDATION",
                format!(
                    "recommendation {rec_id} is from a shadow decision and was not shown; \
                 report feedback against the decision's platform_recommendation_id"
                ),
            ));
        }
        let record = app
            .storage
            .get_person(&call.tenant, &rec.person)
            .await?
            .ok_or_else(|| ServiceError::NotFound(rec.person.name()))?;
        let stored = pb::Feedback {
            id: new_uuid(),
            observe_time: Some(
                feedback
                    .observe_time
                    .unwrap_or_else(|| timestamp_to_pb(now)),
            ),
            ..feedback.clone()
        };
        let domain =
            convert::feedback_from_pb(&stored, rec.intervention.clone(), rec.context, now)?;
        let current = state::current(app, &call.tenant, engine, &record).await?;
        let (e, at) = (Arc::clone(engine), domain.at);
        let new_state = blocking(move || {
            let mut s = current;
            if e.interventions().get(&domain.intervention).is_some() {
                e.observe_feedback(&mut s, &domain)?;
            }
            // Feedback moves the person's posterior: cache it in the stored
            // state so the next Recommend does not re-estimate it.
            e.refresh(&mut s)?;
            Ok(s)
        })
        .await?;
        let response = pb::RecordFeedbackResponse {
            feedback: Some(stored.clone()),
        };
        app.storage
            .record_feedback(
                &call.tenant,
                StateUpdate {
                    person: rec.person.clone(),
                    expected_version: record.version,
                    state: new_state,
                    update_time: now,
                },
                NewFeedback {
                    id: stored.id.clone(),
                    recommendation: rec.id.clone(),
                    intervention: rec.intervention.clone(),
                    observe_time: at,
                    payload: stored.encode_to_vec(),
                },
                idem.record(&response, Some(&rec.person), now),
            )
            .await?;
        app.engines.note_writes(&call.tenant, 1);
        app.metrics
            .feedback(completion_label(stored.completion), decision_label(&stored));
        Ok(response)
    })
    .await
}

/// Metric label of a feedback report's completion.
fn completion_label(completion: i32) -> &'static str {
    match pb::Completion::try_from(completion) {
        Ok(pb::Completion::Done) => "done",
        Ok(pb::Completion::Partly) => "partly",
        Ok(pb::Completion::NotDone) => "not_done",
        Ok(pb::Completion::Unspecified) | Err(_) => "unspecified",
    }
}

/// Metric label of a feedback report's clinician decision.
fn decision_label(feedback: &pb::Feedback) -> &'static str {
    let decision = feedback.clinician.as_ref().map_or(0, |c| c.decision);
    match pb::ClinicianDecision::try_from(decision) {
        Ok(pb::ClinicianDecision::Accepted) => "accepted",
        Ok(pb::ClinicianDecision::Overridden) => "overridden",
        Ok(pb::ClinicianDecision::Rejected) => "rejected",
        Ok(pb::ClinicianDecision::Unspecified) | Err(_) => "none",
    }
}

#[tonic::async_trait]
impl RecommendationService for RecommendationApi {
    async fn recommend(
        &self,
        request: Request<pb::RecommendRequest>,
    ) -> Result<Response<pb::RecommendResponse>, Status> {
        handle(request, |call, req| recommend(&self.app, call, req)).await
    }

    async fn record_feedback(
        &self,
        request: Request<pb::RecordFeedbackRequest>,
    ) -> Result<Response<pb::RecordFeedbackResponse>, Status> {
        handle(request, |call, req| record_feedback(&self.app, call, req)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_is_stable_and_depends_on_every_part() {
        let t = TenantId::parse("acme").expect("id");
        let p = PersonId::parse("p1").expect("id");
        let s = exploration_seed(&t, &p, "r1");
        assert_eq!(s, exploration_seed(&t, &p, "r1"));
        assert_ne!(s, exploration_seed(&t, &p, "r2"));
        assert_ne!(
            s,
            exploration_seed(&t, &PersonId::parse("p2").expect("id"), "r1")
        );
        // Pinned so a change of the hash (which would change replays) is noticed.
        assert_eq!(s, 6_248_344_218_012_462_447);
    }
}
