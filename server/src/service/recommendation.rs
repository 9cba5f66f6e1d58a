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

use super::{App, Call, blocking, state};
use crate::command::{RecommendCommand, RecordFeedbackCommand};
use crate::convert::ids::{DecisionId, PersonId, RecommendationId, TenantId, new_uuid};
use crate::convert::{self, timestamp_to_pb};
use crate::error::{Result, ServiceError};
use crate::storage::{
    NewDecision, NewFeedback, NewRecommendation, PlatformChoice, StateUpdate, Subject,
};
use prost::Message;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tutti_engine::Engine;
use tutti_engine::ids::InterventionId;
use tutti_engine::rank::RecommendQuery;
use tutti_proto::v1 as pb;

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

/// Recommend (also the CDS services' ranking, so their decisions are logged
/// alike): one read (a stored answer or the person), one trip to the
/// blocking pool (rank, then fold what is offered into the state the ranking
/// read, which is moved, never copied), one write.
pub async fn recommend(
    app: &App,
    call: &Call,
    engine: &Arc<Engine>,
    cmd: RecommendCommand,
) -> Result<pb::RecommendResponse> {
    let RecommendCommand {
        idem,
        person,
        k,
        context,
        exclude,
        pin,
        request_time,
        platform,
        shadow,
    } = cmd;
    call.audit(person.name(), Some(idem.request_id.as_str()));
    let idem = idem.audited(call.note());
    let seed = exploration_seed(&call.tenant, &person, idem.request_id.as_str());
    let (person, idem, exclude, pin, platform) = (&person, &idem, &exclude, &pin, &platform);
    let subject = Subject::Person(person);
    idem.run_on(
        app.storage.as_ref(),
        &app.queue,
        &call.tenant,
        subject,
        |snapshot| async move {
            let decide_time = app.now();
            let query = RecommendQuery {
                k,
                context,
                exclude: exclude.clone(),
                pin: pin.clone(),
                now: request_time.unwrap_or(decide_time),
                seed,
            };
            let mut record = snapshot
                .person
                .ok_or_else(|| ServiceError::NotFound(person.name()))?;
            let current = state::take_current(app, &call.tenant, engine, &mut record).await?;
            let (e, shown_by_platform) = (Arc::clone(engine), platform.clone().filter(|_| shadow));
            let (ranking, first_place, new_state, query) = blocking(move || {
                // Estimate the posterior once after the writes since the last
                // ranking and keep it in the stored state: the next Recommend
                // without new data reuses it.
                let mut current = current;
                e.refresh(&mut current)?;
                let (ranking, all) = e.recommend_with_propensities(&current, &query)?;
                let first_place: Vec<(InterventionId, f64)> =
                    all.into_iter().filter(|(_, p)| *p > 0.0).collect();
                let mut s = current;
                // The state counts what the person is offered: in shadow mode the
                // platform's choice, not the ranking nobody sees.
                match &shown_by_platform {
                    Some(iv) => e.observe_recommendation(&mut s, iv, query.now)?,
                    None => e.observe_ranking(&mut s, &ranking, query.now)?,
                }
                Ok((ranking, first_place, s, query))
            })
            .await?;
            let decision_id = DecisionId::generate();
            let mut items = Vec::with_capacity(ranking.items.len());
            let mut recommendations = Vec::with_capacity(ranking.items.len());
            for (i, item) in ranking.items.iter().enumerate() {
                let rank = u32::try_from(i + 1).unwrap_or(u32::MAX);
                let id = RecommendationId::generate();
                recommendations.push(convert::recommendation_to_pb(
                    item,
                    id.to_string(),
                    rank,
                    engine.interventions().get(&item.intervention),
                ));
                items.push(NewRecommendation {
                    id,
                    intervention: item.intervention.clone(),
                    rank,
                    score: item.score,
                    propensity: item.propensity,
                });
            }
            let platform_choice = platform
                .as_ref()
                .filter(|_| shadow)
                .map(|iv| PlatformChoice {
                    id: RecommendationId::generate(),
                    intervention: iv.clone(),
                });
            let model_version = engine.model_version();
            let response = pb::RecommendResponse {
                decision_id: decision_id.to_string(),
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
                id: decision_id,
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
            let decision_label = decision.id.clone();
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
                decision = %decision_label,
                items = n,
                safety_mode = response.safety_mode,
                shadow,
                "decision logged"
            );
            Ok(response)
        },
    )
    .await
}

/// RecordFeedback (also CDS feedback and the clinician app's buttons): one
/// read (a stored answer, or the recommendation and its person together),
/// one trip to the blocking pool, one write.
pub async fn record_feedback(
    app: &App,
    call: &Call,
    engine: &Arc<Engine>,
    cmd: RecordFeedbackCommand,
) -> Result<pb::RecordFeedbackResponse> {
    let rec_id = &cmd.recommendation;
    call.audit(
        format!("recommendations/{rec_id}"),
        Some(cmd.idem.request_id.as_str()),
    );
    let idem = cmd.idem.clone().audited(call.note());
    let (cmd, idem) = (&cmd, &idem);
    let subject = Subject::Recommendation(rec_id);
    idem.run_on(
        app.storage.as_ref(),
        &app.queue,
        &call.tenant,
        subject,
        |snapshot| async move {
            let now = app.now();
            let rec = snapshot
                .recommendation
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
            let mut record = snapshot
                .person
                .ok_or_else(|| ServiceError::NotFound(rec.person.name()))?;
            let observe_time = cmd.observe_time.unwrap_or(now);
            let stored = pb::Feedback {
                id: new_uuid(),
                observe_time: Some(
                    cmd.report
                        .observe_time
                        .unwrap_or_else(|| timestamp_to_pb(now)),
                ),
                ..cmd.report.clone()
            };
            let domain = cmd.observation(rec.intervention.clone(), rec.context, observe_time);
            let current = state::take_current(app, &call.tenant, engine, &mut record).await?;
            let e = Arc::clone(engine);
            let new_state = blocking(move || {
                let mut s = current;
                // Feedback moves the person's posterior; the next Recommend
                // estimates it (see RecordAssessment).
                if e.interventions().get(&domain.intervention).is_some() {
                    e.observe_feedback(&mut s, &domain)?;
                }
                Ok(s)
            })
            .await?;
            let payload = stored.encode_to_vec();
            let labels = (completion_label(stored.completion), decision_label(&stored));
            let feedback = NewFeedback {
                id: stored.id.clone(),
                recommendation: rec.id.clone(),
                intervention: rec.intervention.clone(),
                observe_time,
                payload,
            };
            let response = pb::RecordFeedbackResponse {
                feedback: Some(stored),
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
                    feedback,
                    idem.record(&response, Some(&rec.person), now),
                )
                .await?;
            app.engines.note_writes(&call.tenant, 1);
            app.metrics.feedback(labels.0, labels.1);
            Ok(response)
        },
    )
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
