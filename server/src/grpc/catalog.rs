//! `tutti.v1.CatalogService`: the processes people rate and the interventions a
//! tenant can recommend (built-in kernels plus the tenant's own).

use super::{App, Call, handle};
use crate::convert::ids::TenantId;
use crate::convert::page::{PageToken, fingerprint};
use crate::convert::{self, FromWire as _, ToWire};
use crate::error::{Result, ServiceError};
use crate::idempotency::Idempotency;
use crate::storage::StoredIntervention;
use crate::validate::{self, Violations};
use prost::Message;
use std::sync::Arc;
use tonic::{Request, Response, Status};
use tutti_engine::catalog::{self, Intervention};
use tutti_engine::ids::{InterventionId, ProcessId};
use tutti_proto::v1 as pb;
use tutti_proto::v1::catalog_service_server::CatalogService;

const CREATE_INTERVENTION: &str = "/tutti.v1.CatalogService/CreateIntervention";
const UPDATE_INTERVENTION: &str = "/tutti.v1.CatalogService/UpdateIntervention";

const DEFAULT_PAGE: u32 = 50;

/// The CatalogService adapter.
#[derive(Debug, Clone)]
pub struct CatalogApi {
    app: Arc<App>,
}

impl CatalogApi {
    /// An adapter over the shared state.
    pub fn new(app: Arc<App>) -> Self {
        Self { app }
    }
}

fn resource(id: &str) -> String {
    format!("interventions/{id}")
}

fn not_found(id: &str) -> ServiceError {
    ServiceError::NotFound(format!("intervention {id}"))
}

async fn list_processes(
    app: &App,
    call: Call,
    _req: pb::ListProcessesRequest,
) -> Result<pb::ListProcessesResponse> {
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

async fn list_interventions(
    app: &App,
    call: Call,
    req: pb::ListInterventionsRequest,
) -> Result<pb::ListInterventionsResponse> {
    call.audit("interventions", None);
    let engine = app.engine(&call.tenant).await?;
    validate::list_interventions(&req, &app.ctx(&engine, app.now()))?;
    let modality = convert::modality_from_pb(req.modality, "modality")?;
    let process = (!req.process_id.is_empty()).then(|| ProcessId::from(req.process_id.as_str()));
    let fp = fingerprint(&[
        &req.process_id,
        &req.modality.to_string(),
        &req.max_minutes.to_string(),
    ]);
    let after = PageToken::decode(&req.page_token, "interventions", &fp, 1)
        .map_err(|e| {
            ServiceError::InvalidArgument(Violations::single("page_token", e.to_string()))
        })?
        .map(|t| InterventionId::from(t.after[0].as_str()));
    let size = match req.page_size {
        0 => DEFAULT_PAGE,
        n => n,
    } as usize;
    let matches = |iv: &&Intervention| {
        process
            .as_ref()
            .is_none_or(|p| iv.targets.iter().any(|t| &t.process == p))
            && modality.is_none_or(|m| iv.modality == m)
            && (req.max_minutes == 0 || iv.effort_minutes <= req.max_minutes)
    };
    // The catalogue is ordered by id, so keyset paging is a skip.
    let all: Vec<&Intervention> = engine
        .interventions()
        .all()
        .iter()
        .filter(matches)
        .collect();
    let page: Vec<&Intervention> = all
        .iter()
        .copied()
        .filter(|iv| after.as_ref().is_none_or(|a| iv.id > *a))
        .take(size + 1)
        .collect();
    let more = page.len() > size;
    let page = &page[..page.len().min(size)];
    let next_page_token = match (more, page.last()) {
        (true, Some(last)) => PageToken::encode("interventions", &fp, &[last.id.as_str()]),
        _ => String::new(),
    };
    Ok(pb::ListInterventionsResponse {
        interventions: page.iter().map(|iv| iv.to_wire()).collect(),
        next_page_token,
        total_size: u32::try_from(all.len()).unwrap_or(u32::MAX),
    })
}

async fn get_intervention(
    app: &App,
    call: Call,
    req: pb::GetInterventionRequest,
) -> Result<pb::GetInterventionResponse> {
    validate::get_intervention(&req)?;
    call.audit(resource(&req.id), None);
    let engine = app.engine(&call.tenant).await?;
    let iv = engine
        .interventions()
        .get(&InterventionId::from(req.id.as_str()))
        .ok_or_else(|| not_found(&req.id))?;
    Ok(pb::GetInterventionResponse {
        intervention: Some(iv.to_wire()),
    })
}

/// Checks a tenant intervention against the catalogue code's own rules (the
/// last word on what the engine accepts), as a field violation.
fn engine_accepts(iv: &Intervention, engine: &tutti_engine::Engine) -> Result<()> {
    catalog::validate_intervention(iv, engine.processes()).map_err(|e| {
        ServiceError::InvalidArgument(Violations::single("intervention", e.to_string()))
    })
}

async fn create_intervention(
    app: &App,
    call: Call,
    req: pb::CreateInterventionRequest,
) -> Result<pb::CreateInterventionResponse> {
    let engine = app.engine(&call.tenant).await?;
    validate::create_intervention(&req, &app.ctx(&engine, app.now()))?;
    let wire = req.intervention.as_ref().ok_or_else(|| {
        ServiceError::InvalidArgument(Violations::single("intervention", "is required"))
    })?;
    call.audit(resource(&wire.id), Some(&req.request_id));
    let domain = Intervention::from_wire(wire)?;
    engine_accepts(&domain, &engine)?;
    // What is stored and returned is the normalised form (built_in false,
    // conditions deduplicated), so a read returns exactly what was stored.
    let stored = domain.to_wire();
    let idem = Idempotency::new(CREATE_INTERVENTION, &req.request_id, &req)?.audited(&call);
    let (call_ref, engine, stored, idem_ref, domain) = (&call, &engine, &stored, &idem, &domain);
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
                    &call_ref.tenant,
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

/// Copies the fields named in `paths` (every field when empty) from `new` onto `base`.
fn apply_mask(base: &mut pb::Intervention, new: &pb::Intervention, paths: &[String]) {
    let all = paths.is_empty();
    let wants = |f: &str| all || paths.iter().any(|p| p == f);
    if wants("display_name") {
        base.display_name.clone_from(&new.display_name);
    }
    if wants("family") {
        base.family.clone_from(&new.family);
    }
    if wants("instructions") {
        base.instructions.clone_from(&new.instructions);
    }
    if wants("targets") {
        base.targets.clone_from(&new.targets);
    }
    if wants("effort_minutes") {
        base.effort_minutes = new.effort_minutes;
    }
    if wants("modality") {
        base.modality = new.modality;
    }
    if wants("requires_clinician") {
        base.requires_clinician = new.requires_clinician;
    }
    if wants("contraindications") {
        base.contraindications.clone_from(&new.contraindications);
    }
    if wants("min_days_between") {
        base.min_days_between = new.min_days_between;
    }
    if wants("evidence") {
        base.evidence.clone_from(&new.evidence);
    }
    if wants("prior_effect") {
        base.prior_effect = new.prior_effect;
    }
}

async fn update_intervention(
    app: &App,
    call: Call,
    req: pb::UpdateInterventionRequest,
) -> Result<pb::UpdateInterventionResponse> {
    validate::update_intervention(&req)?;
    let wire = req.intervention.as_ref().ok_or_else(|| {
        ServiceError::InvalidArgument(Violations::single("intervention", "is required"))
    })?;
    call.audit(resource(&wire.id), Some(&req.request_id));
    let id = InterventionId::from(wire.id.as_str());
    let paths: &[String] = req.update_mask.as_ref().map_or(&[], |m| &m.paths);
    let idem = Idempotency::new(UPDATE_INTERVENTION, &req.request_id, &req)?.audited(&call);
    let engine = app.engine(&call.tenant).await?;
    if engine
        .interventions()
        .get(&id)
        .is_some_and(|iv| iv.built_in)
    {
        return Err(ServiceError::FailedPrecondition(
            "BUILT_IN_INTERVENTION",
            format!("intervention {id} is built in and cannot be changed; create your own instead"),
        ));
    }
    let (call_ref, engine, id, idem_ref) = (&call, &engine, &id, &idem);
    let response = idem_ref
        .run(app.storage.as_ref(), &call.tenant, || async move {
            // Merge onto the stored version, not the cached engine, so two
            // concurrent partial updates cannot lose each other's fields.
            let current = own_intervention(app, &call_ref.tenant, id)
                .await?
                .ok_or_else(|| not_found(id.as_str()))?;
            let mut merged = pb::Intervention::decode(current.payload.as_slice())
                .map_err(|e| ServiceError::Internal(format!("stored intervention {id}: {e}")))?;
            apply_mask(&mut merged, wire, paths);
            validate::updated_intervention(&merged, &app.ctx(engine, app.now()))?;
            let domain = Intervention::from_wire(&merged)?;
            engine_accepts(&domain, engine)?;
            let stored = domain.to_wire();
            let response = pb::UpdateInterventionResponse {
                intervention: Some(stored.clone()),
            };
            app.storage
                .update_intervention(
                    &call_ref.tenant,
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

#[tonic::async_trait]
impl CatalogService for CatalogApi {
    async fn list_processes(
        &self,
        request: Request<pb::ListProcessesRequest>,
    ) -> Result<Response<pb::ListProcessesResponse>, Status> {
        handle(request, |call, req| list_processes(&self.app, call, req)).await
    }

    async fn list_interventions(
        &self,
        request: Request<pb::ListInterventionsRequest>,
    ) -> Result<Response<pb::ListInterventionsResponse>, Status> {
        handle(request, |call, req| {
            list_interventions(&self.app, call, req)
        })
        .await
    }

    async fn get_intervention(
        &self,
        request: Request<pb::GetInterventionRequest>,
    ) -> Result<Response<pb::GetInterventionResponse>, Status> {
        handle(request, |call, req| get_intervention(&self.app, call, req)).await
    }

    async fn create_intervention(
        &self,
        request: Request<pb::CreateInterventionRequest>,
    ) -> Result<Response<pb::CreateInterventionResponse>, Status> {
        handle(request, |call, req| {
            create_intervention(&self.app, call, req)
        })
        .await
    }

    async fn update_intervention(
        &self,
        request: Request<pb::UpdateInterventionRequest>,
    ) -> Result<Response<pb::UpdateInterventionResponse>, Status> {
        handle(request, |call, req| {
            update_intervention(&self.app, call, req)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_mask_replaces_every_field_and_a_mask_only_its_fields() {
        let base = pb::Intervention {
            id: "x".into(),
            display_name: "Old".into(),
            effort_minutes: 5,
            ..Default::default()
        };
        let new = pb::Intervention {
            id: "x".into(),
            display_name: "New".into(),
            effort_minutes: 10,
            ..Default::default()
        };
        let mut all = base.clone();
        apply_mask(&mut all, &new, &[]);
        assert_eq!(all, new);
        let mut one = base.clone();
        apply_mask(&mut one, &new, &["effort_minutes".into()]);
        assert_eq!(one.display_name, "Old");
        assert_eq!(one.effort_minutes, 10);
    }
}
