//! A person's engine state: read as stored, or rebuilt by replaying every
//! event about them in time order. Rebuilding is needed when assessments arrive
//! out of order (a backfill older than the latest stored one: the engine's
//! updates are sequential) and when a stored state no longer decodes with this
//! engine version. The replay itself is [`crate::offline::rebuild`], shared
//! with the offline tools; this module loads the history and runs it off the
//! async workers.

use super::{App, blocking};
use crate::convert::ids::{PersonId, TenantId};
use crate::error::Result;
use crate::offline::rebuild;
use crate::storage::PersonRecord;
use std::sync::Arc;
use tutti_engine::Engine;
use tutti_engine::catalog::Condition;
use tutti_engine::observe::Assessment;
use tutti_engine::state::PersonState;

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
