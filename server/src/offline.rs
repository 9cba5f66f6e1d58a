//! # Offline access to the stored log
//!
//! The transport-free API through which the offline tools (crate
//! `tutti-workbench`: `tutti export`, `evaluate`, `tune`, `train`) read what
//! the server stored, and the one replay the server itself uses: nothing here
//! knows about gRPC, tenants' callers or the async runtime.
//!
//! - Reading: [`DecisionLog`] opens a server's SQLite file read-only, after
//!   appending the access to the tenant's audit trail ([`OfflineAccess`]); a
//!   [`Snapshot`] gives a tenant's people, decisions, recommendations,
//!   feedback, assessments and own interventions as stored (see
//!   [`crate::storage::decision_log`]), and [`DecisionLog::read_all`] all of
//!   them as [`LogTables`], which `PgStorage::read_log` reads from PostgreSQL.
//! - Decoding: [`decode_assessment`], [`decode_feedback`] and
//!   [`decode_intervention`] turn stored payloads into the engine's types,
//!   as the server does when it writes them.
//! - Replay: [`ordered_events`] is the one definition of the order in which a
//!   person's events are folded into their state, and [`rebuild`] folds them.
//!   The server rebuilds states with it (`service::state`), so an offline replay
//!   computes what the server would have.
//!
//! It must not grow serving concerns: a tool that needs more of the server
//! than this (and the public `model` and `config` types) is reaching too far.

use crate::convert::{self, FromWire as _};
use crate::error::Result;
use crate::storage::StorageError;
use prost::Message as _;
use tutti_engine::Engine;
use tutti_engine::catalog::{Condition, Intervention};
use tutti_engine::ids::{InterventionId, Timestamp};
use tutti_engine::observe::{Assessment, Context, Feedback};
use tutti_engine::state::PersonState;
use tutti_proto::v1 as pb;

pub use crate::storage::decision_log::{
    DecisionLog, LogAssessment, LogDecision, LogFeedback, LogPerson, LogRecommendation, LogTables,
    OfflineAccess, Snapshot,
};
pub use crate::storage::{
    History, RecommendationRole, StoredAssessment, StoredFeedback, StoredIntervention,
    StoredRecommendation,
};

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

/// A stored assessment in the engine's type.
pub fn decode_assessment(a: &LogAssessment) -> crate::storage::Result<Assessment> {
    let wire = pb::Assessment::decode(a.payload.as_slice())
        .map_err(|e| StorageError::Corrupt(format!("assessment {}: {e}", a.id)))?;
    Assessment::from_wire(&wire)
        .map_err(|e| StorageError::Corrupt(format!("assessment {}: {e}", a.id)))
}

/// A stored feedback report in the engine's type; `context` is that of the
/// decision it answers (the server stores it beside the feedback, the log
/// beside the decision).
pub fn decode_feedback(f: &LogFeedback, context: Context) -> crate::storage::Result<Feedback> {
    let wire = pb::Feedback::decode(f.payload.as_slice())
        .map_err(|e| StorageError::Corrupt(format!("feedback {}: {e}", f.id)))?;
    convert::feedback_from_pb(&wire, f.intervention.clone(), context, f.observe_time)
        .map_err(|e| StorageError::Corrupt(format!("feedback {}: {e}", f.id)))
}

/// A tenant's own stored intervention in the engine's type.
pub fn decode_intervention(stored: &StoredIntervention) -> crate::storage::Result<Intervention> {
    let wire = pb::Intervention::decode(stored.payload.as_slice())
        .map_err(|e| StorageError::Corrupt(format!("intervention {}: {e}", stored.id)))?;
    Intervention::from_wire(&wire)
        .map_err(|e| StorageError::Corrupt(format!("intervention {}: {e}", stored.id)))
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
        // A rebuild ends with `refresh` (the state a Recommend would store).
        engine.refresh(&mut in_order).expect("refreshes");
        assert_eq!(rebuilt, in_order);
    }
}
