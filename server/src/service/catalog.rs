//! The processes people rate and the interventions a tenant can recommend
//! (`tutti.v1.CatalogService`): built-in kernels plus the tenant's own.

use super::{App, Call};
use crate::command::{
    CreateInterventionCommand, GetInterventionCommand, ListInterventionsCommand,
    UpdateInterventionCommand,
};
use crate::convert::ToWire;
use crate::convert::ids::TenantId;
use crate::convert::page::PageToken;
use crate::error::{Result, ServiceError, Violations};
use crate::storage::StoredIntervention;
use prost::Message;
use std::sync::Arc;
use tutti_engine::Engine;
use tutti_engine::catalog::{self, Intervention};
use tutti_engine::ids::InterventionId;
use tutti_proto::v1 as pb;

fn resource(id: &InterventionId) -> String {
    format!("interventions/{id}")
}

fn not_found(id: &InterventionId) -> ServiceError {
    ServiceError::NotFound(format!("intervention {id}"))
}

/// ListProcesses.
pub async fn list_processes(app: &App, call: &Call) -> Result<pb::ListProcessesResponse> {
    call.audit("processes", None);
    let engine = app.engine(&call.tenant).await?;
    Ok(pb::ListProcessesResponse {
        processes: engine
            .processes()
            .all()
            .iter()
            .map(ToWire::to_wire)
            .collect(),
    })
}

/// ListInterventions.
pub fn list_interventions(
    engine: &Engine,
    cmd: &ListInterventionsCommand,
) -> pb::ListInterventionsResponse {
    let matches = |iv: &&Intervention| {
        cmd.process
            .as_ref()
            .is_none_or(|p| iv.targets.iter().any(|t| &t.process == p))
            && cmd.modality.is_none_or(|m| iv.modality == m)
            && (cmd.max_minutes == 0 || iv.effort_minutes <= cmd.max_minutes)
    };
    // The catalogue is ordered by id, so keyset paging is a skip.
    let all: Vec<&Intervention> = engine
        .interventions()
        .all()
        .iter()
        .filter(matches)
        .collect();
    let size = cmd.size;
    let page: Vec<&Intervention> = all
        .iter()
        .copied()
        .filter(|iv| cmd.after.as_ref().is_none_or(|a| iv.id > *a))
        .take(size + 1)
        .collect();
    let more = page.len() > size;
    let page = &page[..page.len().min(size)];
    let next_page_token = match (more, page.last()) {
        (true, Some(last)) => PageToken::encode(
            ListInterventionsCommand::LIST,
            &cmd.fingerprint,
            &[last.id.as_str()],
        ),
        _ => String::new(),
    };
    pb::ListInterventionsResponse {
        interventions: page.iter().map(|iv| iv.to_wire()).collect(),
        next_page_token,
        total_size: u32::try_from(all.len()).unwrap_or(u32::MAX),
    }
}

/// GetIntervention.
pub async fn get_intervention(
    app: &App,
    call: &Call,
    cmd: GetInterventionCommand,
) -> Result<pb::GetInterventionResponse> {
    call.audit(resource(&cmd.id), None);
    let engine = app.engine(&call.tenant).await?;
    let iv = engine
        .interventions()
        .get(&cmd.id)
        .ok_or_else(|| not_found(&cmd.id))?;
    Ok(pb::GetInterventionResponse {
        intervention: Some(iv.to_wire()),
    })
}

/// Checks a tenant intervention against the catalogue code's own rules (the
/// last word on what the engine accepts), as a field violation.
fn engine_accepts(iv: &Intervention, engine: &Engine) -> Result<()> {
    catalog::validate_intervention(iv, engine.processes()).map_err(|e| {
        ServiceError::InvalidArgument(Violations::single("intervention", e.to_string()))
    })
}

/// CreateIntervention.
pub async fn create_intervention(
    app: &App,
    call: &Call,
    engine: &Arc<Engine>,
    cmd: CreateInterventionCommand,
) -> Result<pb::CreateInterventionResponse> {
    let domain = &cmd.intervention;
    call.audit(resource(&domain.id), Some(cmd.idem.request_id.as_str()));
    engine_accepts(domain, engine)?;
    let stored = cmd.wire();
    let idem = cmd.idem.clone().audited(call.note());
    let (stored, idem_ref) = (&stored, &idem);
    let response = idem_ref
        .run(app.storage.as_ref(), &call.tenant, || async move {
            if let Some(existing) = engine.interventions().get(&domain.id) {
                return Err(ServiceError::AlreadyExists(if existing.built_in {
                    format!("built-in intervention {}", domain.id)
                } else {
                    format!("intervention {}", domain.id)
                }));
            }
            let response = pb::CreateInterventionResponse {
                intervention: Some(stored.clone()),
            };
            app.storage
                .create_intervention(
                    &call.tenant,
                    StoredIntervention {
                        id: domain.id.clone(),
                        payload: stored.encode_to_vec(),
                        version: 1,
                    },
                    idem_ref.record(&response, None, app.now()),
                )
                .await?;
            Ok(response)
        })
        .await?;
    app.engines.invalidate(&call.tenant);
    Ok(response)
}

/// UpdateIntervention.
pub async fn update_intervention(
    app: &App,
    call: &Call,
    cmd: UpdateInterventionCommand,
) -> Result<pb::UpdateInterventionResponse> {
    let id = &cmd.id;
    call.audit(resource(id), Some(cmd.idem.request_id.as_str()));
    let idem = cmd.idem.clone().audited(call.note());
    let engine = app.engine(&call.tenant).await?;
    if engine.interventions().get(id).is_some_and(|iv| iv.built_in) {
        return Err(ServiceError::FailedPrecondition(
            "BUILT_IN_INTERVENTION",
            format!("intervention {id} is built in and cannot be changed; create your own instead"),
        ));
    }
    let (cmd, engine, idem_ref) = (&cmd, &engine, &idem);
    let response = idem_ref
        .run(app.storage.as_ref(), &call.tenant, || async move {
            // Merge onto the stored version, not the cached engine, so two
            // concurrent partial updates cannot lose each other's fields.
            let current = own_intervention(app, &call.tenant, id)
                .await?
                .ok_or_else(|| not_found(id))?;
            let stored = pb::Intervention::decode(current.payload.as_slice())
                .map_err(|e| ServiceError::Internal(format!("stored intervention {id}: {e}")))?;
            let domain = cmd.merge(stored, &app.ctx(engine, app.now()))?;
            engine_accepts(&domain, engine)?;
            let stored = domain.to_wire();
            let response = pb::UpdateInterventionResponse {
                intervention: Some(stored.clone()),
            };
            app.storage
                .update_intervention(
                    &call.tenant,
                    StoredIntervention {
                        id: id.clone(),
                        payload: stored.encode_to_vec(),
                        version: current.version + 1,
                    },
                    idem_ref.record(&response, None, app.now()),
                )
                .await?;
            Ok(response)
        })
        .await?;
    app.engines.invalidate(&call.tenant);
    Ok(response)
}

async fn own_intervention(
    app: &App,
    tenant: &TenantId,
    id: &InterventionId,
) -> Result<Option<StoredIntervention>> {
    Ok(app
        .storage
        .list_interventions(tenant)
        .await?
        .into_iter()
        .find(|iv| &iv.id == id))
}
