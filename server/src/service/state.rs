//! A person's engine state: read as stored, or rebuilt by replaying every
//! event about them in time order. Rebuilding is needed when assessments arrive
//! out of order (a backfill older than the latest stored one: the engine's
//! updates are sequential) and when a stored state no longer decodes with this
//! engine version.

use super::{App, blocking};
use crate::convert::{self, FromWire as _, ids::PersonId, ids::TenantId};
use crate::error::Result;
use crate::storage::{History, PersonRecord, StorageError};
use prost::Message;
use std::sync::Arc;
use tutti_engine::Engine;
use tutti_engine::catalog::Condition;
use tutti_engine::ids::{InterventionId, Timestamp};
use tutti_engine::observe::{Assessment, Feedback};
use tutti_engine::state::PersonState;
use tutti_proto::v1 as pb;

/// One replayed event.
#[derive(Debug, Clone)]
pub enum Event {
    /// An assessment.
    Assessment(Assessment),
    /// A recommendation the person was offered.
    Recommendation(InterventionId),
    /// Feedback on an intervention.
    Feedback(Feedback),
}

/// The person's current state, taken out of the record (a state is tens of
/// kilobytes: it is moved, not copied, into the engine's update).
pub async fn take_current(
    app: &App,
    tenant: &TenantId,
    engine: &Arc<Engine>,
    person: &mut PersonRecord,
) -> Result<PersonState> {
    if let Some(state) = person.state.take() {
        return Ok(state);
    }
    rebuild_with(
        app,
        tenant,
        engine,
        &person.id,
        person.conditions.clone(),
        Vec::new(),
    )
    .await
}

/// Loads the person's history and replays it, plus `extra` new assessments.
pub async fn rebuild_with(
    app: &App,
    tenant: &TenantId,
    engine: &Arc<Engine>,
    person: &PersonId,
    conditions: Vec<Condition>,
    extra: Vec<Assessment>,
) -> Result<PersonState> {
    let history = app.storage.load_history(tenant, person).await?;
    let engine = Arc::clone(engine);
    tracing::debug!(
        person = %person,
        assessments = history.assessments.len() + extra.len(),
        feedback = history.feedback.len(),
        "rebuilding person state"
    );
    blocking(move || rebuild(&engine, conditions, &history, extra)).await
}

/// A person's stored history decoded and in replay order: by time; ties:
/// assessments, then recommendations, then feedback, each in insertion
/// order. The one definition of that order, for the server's replay and the
/// offline tools alike.
pub fn ordered_events(
    history: &History,
    extra: Vec<Assessment>,
) -> Result<Vec<(Timestamp, Event)>> {
    let corrupt = |what: &str, e: &dyn std::fmt::Display| {
        StorageError::Corrupt(format!("stored {what}: {e}"))
    };
    let mut events: Vec<(Timestamp, u8, Event)> = Vec::with_capacity(
        history.assessments.len()
            + history.recommendations.len()
            + history.feedback.len()
            + extra.len(),
    );
    for a in &history.assessments {
        let wire =
            pb::Assessment::decode(a.payload.as_slice()).map_err(|e| corrupt("assessment", &e))?;
        let domain = Assessment::from_wire(&wire).map_err(|e| corrupt("assessment", &e))?;
        events.push((domain.at, 0, Event::Assessment(domain)));
    }
    for a in extra {
        events.push((a.at, 0, Event::Assessment(a)));
    }
    for r in &history.recommendations {
        events.push((r.at, 1, Event::Recommendation(r.intervention.clone())));
    }
    for f in &history.feedback {
        let wire =
            pb::Feedback::decode(f.payload.as_slice()).map_err(|e| corrupt("feedback", &e))?;
        let domain =
            convert::feedback_from_pb(&wire, f.intervention.clone(), f.context, f.observe_time)
                .map_err(|e| corrupt("feedback", &e))?;
        events.push((domain.at, 2, Event::Feedback(domain)));
    }
    // Stable: equal keys keep insertion order.
    events.sort_by_key(|(at, kind, _)| (*at, *kind));
    Ok(events.into_iter().map(|(at, _, e)| (at, e)).collect())
}

/// Replays every event in time order (see [`ordered_events`]) from a new person.
pub fn rebuild(
    engine: &Engine,
    conditions: Vec<Condition>,
    history: &History,
    extra: Vec<Assessment>,
) -> Result<PersonState> {
    let events = ordered_events(history, extra)?;
    let mut state = engine.new_person(conditions);
    for (at, event) in &events {
        match event {
            Event::Assessment(a) => engine.observe_assessment(&mut state, a)?,
            Event::Recommendation(iv) => {
                // An intervention the tenant's catalogue no longer has cannot
                // affect future dose limits; skip rather than fail the rebuild.
                if engine.interventions().get(iv).is_some() {
                    engine.observe_recommendation(&mut state, iv, *at)?;
                }
            }
            Event::Feedback(f) => {
                if engine.interventions().get(&f.intervention).is_some() {
                    engine.observe_feedback(&mut state, f)?;
                }
            }
        }
    }
    engine.refresh(&mut state)?;
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::timestamp_to_pb;
    use crate::storage::StoredAssessment;

    fn wire(at: i64, adaptive: f64) -> pb::Assessment {
        pb::Assessment {
            id: format!("a{at}"),
            observe_time: Some(timestamp_to_pb(Timestamp(at))),
            ratings: vec![pb::ProcessRating {
                process_id: "affect".into(),
                adaptive: Some(adaptive),
                maladaptive: None,
            }],
            outcomes: vec![pb::OutcomeMeasure {
                instrument: pb::Instrument::Wellbeing as i32,
                score: adaptive,
            }],
            risk_flags: vec![],
        }
    }

    fn stored(a: &pb::Assessment) -> StoredAssessment {
        StoredAssessment {
            id: a.id.clone(),
            observe_time: Timestamp(0),
            payload: a.encode_to_vec(),
        }
    }

    #[test]
    fn a_rebuild_replays_events_in_time_order_whatever_the_arrival_order() {
        let engine = Engine::with_defaults();
        let day = Timestamp::DAY_MS;
        let (a1, a2, a3) = (wire(day, 20.0), wire(2 * day, 50.0), wire(3 * day, 80.0));
        let history = History {
            assessments: vec![stored(&a3), stored(&a1)],
            ..History::default()
        };
        let extra = vec![Assessment::from_wire(&a2).expect("valid")];
        let rebuilt = rebuild(&engine, vec![], &history, extra).expect("replays");

        let mut in_order = engine.new_person(vec![]);
        for a in [&a1, &a2, &a3] {
            engine
                .observe_assessment(&mut in_order, &Assessment::from_wire(a).expect("valid"))
                .expect("observes");
        }
        // A rebuild ends with `refresh`, as the server does after assessments.
        engine.refresh(&mut in_order).expect("refreshes");
        assert_eq!(rebuilt, in_order);
    }
}
