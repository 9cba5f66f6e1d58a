//! People, their assessments and their insights (`tutti.v1.PeopleService`).

use super::{App, Call, blocking, state};
use crate::command::{
    CreatePersonCommand, DeletePersonCommand, GetPersonCommand, GetPersonInsightsCommand,
    ListAssessmentsCommand, NewAssessment, RecordAssessmentsCommand,
};
use crate::convert::ids::{PersonId, new_uuid};
use crate::convert::page::PageToken;
use crate::convert::{self, timestamp_to_pb};
use crate::error::{Result, ServiceError};
use crate::storage::{
    Erased, NewPerson, PersonRecord, StateUpdate, StorageError, StoredAssessment, Subject,
};
use prost::Message;
use std::sync::Arc;
use tutti_engine::Engine;
use tutti_engine::ids::Timestamp;
use tutti_engine::observe::Assessment;
use tutti_proto::v1 as pb;

fn not_found(person: &PersonId) -> ServiceError {
    ServiceError::NotFound(person.name())
}

fn person_to_pb(p: &PersonRecord) -> pb::Person {
    pb::Person {
        name: p.id.name(),
        conditions: convert::conditions_to_pb(&p.conditions),
        create_time: Some(timestamp_to_pb(p.create_time)),
        assessment_count: p.assessment_count,
        feedback_count: p.feedback_count,
    }
}

/// CreatePerson (also used by the EHR integration).
pub async fn create_person(
    app: &App,
    call: &Call,
    cmd: CreatePersonCommand,
) -> Result<pb::CreatePersonResponse> {
    let CreatePersonCommand {
        idem,
        person,
        conditions,
    } = cmd;
    call.audit(person.name(), Some(idem.request_id.as_str()));
    let idem = idem.audited(call.note());
    let engine = app.engine(&call.tenant).await?;
    let (person, conditions, idem, engine) = (&person, &conditions, &idem, &engine);
    idem.run(app.storage.as_ref(), &call.tenant, || async move {
        let now = app.now();
        let record = PersonRecord {
            id: person.clone(),
            conditions: conditions.clone(),
            create_time: now,
            assessment_count: 0,
            feedback_count: 0,
            latest_assessment_time: None,
            state: None,
            version: 1,
        };
        let response = pb::CreatePersonResponse {
            person: Some(person_to_pb(&record)),
        };
        let new = NewPerson {
            id: person.clone(),
            conditions: conditions.clone(),
            create_time: now,
            state: engine.new_person(conditions.clone()),
        };
        app.storage
            .create_person(&call.tenant, new, idem.record(&response, Some(person), now))
            .await?;
        Ok(response)
    })
    .await
}

/// GetPerson (also used by the EHR integration).
pub async fn get_person(
    app: &App,
    call: &Call,
    cmd: GetPersonCommand,
) -> Result<pb::GetPersonResponse> {
    let person = cmd.person;
    call.audit(person.name(), None);
    let record = app
        .storage
        .get_person(&call.tenant, &person)
        .await?
        .ok_or_else(|| not_found(&person))?;
    Ok(pb::GetPersonResponse {
        person: Some(person_to_pb(&record)),
    })
}

/// DeletePerson.
pub async fn delete_person(
    app: &App,
    call: &Call,
    cmd: DeletePersonCommand,
) -> Result<pb::DeletePersonResponse> {
    let DeletePersonCommand { idem, person } = cmd;
    call.audit(person.name(), Some(idem.request_id.as_str()));
    let idem = idem.audited(call.note());
    let (person, idem) = (&person, &idem);
    idem.run(app.storage.as_ref(), &call.tenant, || async move {
        let now = app.now();
        let erased = app
            .storage
            .delete_person(
                &call.tenant,
                person,
                idem.record(&pb::DeletePersonResponse::default(), None, now),
                Box::new(|e| erased_to_pb(e).encode_to_vec()),
            )
            .await?;
        tracing::info!(
            person = %person,
            assessments = erased.assessments,
            recommendations = erased.recommendations,
            feedback = erased.feedback,
            decisions = erased.decisions,
            "person erased"
        );
        app.engines.note_erasure(&call.tenant);
        Ok(erased_to_pb(erased))
    })
    .await
}

fn erased_to_pb(e: Erased) -> pb::DeletePersonResponse {
    pb::DeletePersonResponse {
        erased_assessments: e.assessments,
        erased_recommendations: e.recommendations,
        erased_feedback: e.feedback,
    }
}

/// The assessments with their new ids, oldest first: what is stored and
/// returned, and what the engine folds in.
fn prepare(assessments: Vec<NewAssessment>) -> Vec<(pb::Assessment, Assessment)> {
    let mut out: Vec<_> = assessments
        .into_iter()
        .map(|a| {
            let stored = pb::Assessment {
                id: new_uuid(),
                ..a.wire
            };
            (stored, a.domain)
        })
        .collect();
    out.sort_by_key(|(_, d)| d.at);
    out
}

/// Stores assessments and folds them into the person's state (rebuilding it if
/// they are older than the latest stored one). All or nothing. `respond` makes
/// the RPC's answer from the stored assessments (ids assigned, time order).
async fn record<R: Message + Default + Clone>(
    app: &App,
    call: &Call,
    engine: &Arc<Engine>,
    cmd: RecordAssessmentsCommand,
    respond: impl FnOnce(&[(pb::Assessment, Assessment)]) -> R,
) -> Result<R> {
    let RecordAssessmentsCommand {
        idem,
        person,
        assessments,
    } = cmd;
    call.audit(person.name(), Some(idem.request_id.as_str()));
    let idem = idem.audited(call.note());
    let items = prepare(assessments);
    let response = respond(&items);
    let (person, idem) = (&person, &idem);
    let earliest = items
        .first()
        .map(|(_, d)| d.at)
        .unwrap_or(Timestamp(i64::MAX));
    let (items, response) = (&items, &response);
    let subject = Subject::Person(person);
    idem.run_on(
        app.storage.as_ref(),
        &app.queue,
        &call.tenant,
        subject,
        |snapshot| async move {
            let now = app.now();
            let mut record = snapshot.person.ok_or_else(|| not_found(person))?;
            let domain: Vec<Assessment> = items.iter().map(|(_, d)| d.clone()).collect();
            let out_of_order = record
                .latest_assessment_time
                .is_some_and(|latest| earliest < latest);
            let new_state = match (record.state.take(), out_of_order) {
                (Some(mut s), false) => {
                    let engine = Arc::clone(engine);
                    blocking(move || {
                        // The posterior is estimated when the next Recommend
                        // needs it, not here: people rate daily and are
                        // recommended to weekly, so estimating after every
                        // rating did seven estimations for one ranking.
                        for a in &domain {
                            engine.observe_assessment(&mut s, a)?;
                        }
                        Ok(s)
                    })
                    .await?
                }
                _ => {
                    state::rebuild_with(
                        app,
                        &call.tenant,
                        engine,
                        person,
                        std::mem::take(&mut record.conditions),
                        domain,
                    )
                    .await?
                }
            };
            let written = items.len() as u64;
            let stored = items
                .iter()
                .map(|(wire, d)| StoredAssessment {
                    id: wire.id.clone(),
                    observe_time: d.at,
                    payload: wire.encode_to_vec(),
                })
                .collect();
            let update = StateUpdate {
                person: person.clone(),
                expected_version: record.version,
                state: new_state,
                update_time: now,
            };
            app.storage
                .record_assessments(
                    &call.tenant,
                    update,
                    stored,
                    idem.record(response, Some(person), now),
                )
                .await?;
            app.engines.note_writes(&call.tenant, written);
            Ok(response.clone())
        },
    )
    .await
}

/// RecordAssessment (also used by FHIR ingest).
pub async fn record_assessment(
    app: &App,
    call: &Call,
    engine: &Arc<Engine>,
    cmd: RecordAssessmentsCommand,
) -> Result<pb::RecordAssessmentResponse> {
    record(app, call, engine, cmd, |items| {
        pb::RecordAssessmentResponse {
            assessment: items.first().map(|(wire, _)| wire.clone()),
        }
    })
    .await
}

/// BatchRecordAssessments.
pub async fn batch_record_assessments(
    app: &App,
    call: &Call,
    engine: &Arc<Engine>,
    cmd: RecordAssessmentsCommand,
) -> Result<pb::BatchRecordAssessmentsResponse> {
    record(app, call, engine, cmd, |items| {
        pb::BatchRecordAssessmentsResponse {
            recorded: u32::try_from(items.len()).unwrap_or(u32::MAX),
        }
    })
    .await
}

/// ListAssessments (also used by the clinician app).
pub async fn list_assessments(
    app: &App,
    call: &Call,
    cmd: ListAssessmentsCommand,
) -> Result<pb::ListAssessmentsResponse> {
    let person = &cmd.person;
    call.audit(format!("{}/assessments", person.name()), None);
    let page = app
        .storage
        .list_assessments(&call.tenant, person, cmd.after, cmd.limit)
        .await?;
    let next_page_token = match (page.more, page.items.last()) {
        (true, Some(last)) => PageToken::encode(
            ListAssessmentsCommand::LIST,
            &cmd.fingerprint,
            &[&last.observe_time.0.to_string(), &last.id],
        ),
        _ => String::new(),
    };
    let assessments = page
        .items
        .iter()
        .map(|a| {
            pb::Assessment::decode(a.payload.as_slice())
                .map_err(|e| StorageError::Corrupt(format!("assessment {}: {e}", a.id)).into())
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(pb::ListAssessmentsResponse {
        assessments,
        next_page_token,
        total_size: page.total,
    })
}

/// GetPersonInsights (also used by the EHR integration).
pub async fn get_person_insights(
    app: &App,
    call: &Call,
    cmd: GetPersonInsightsCommand,
) -> Result<pb::GetPersonInsightsResponse> {
    let person = cmd.person;
    call.audit(format!("{}/insights", person.name()), None);
    let engine = app.engine(&call.tenant).await?;
    let mut record = app
        .storage
        .get_person(&call.tenant, &person)
        .await?
        .ok_or_else(|| not_found(&person))?;
    let state = state::take_current(app, &call.tenant, &engine, &mut record).await?;
    let now = app.now();
    let e = Arc::clone(&engine);
    let insights = blocking(move || Ok(e.insights(&state, now))).await?;
    Ok(convert::insights_to_pb(
        person.name(),
        &insights,
        engine.model_version(),
    ))
}
