//! `tutti.v1.CatalogService`: the processes people rate and the interventions
//! a tenant can recommend (handlers in [`crate::service::catalog`]).

use super::handle;
use crate::command::{
    CreateInterventionCommand, GetInterventionCommand, ListInterventionsCommand,
    UpdateInterventionCommand,
};
use crate::service::{App, catalog};
use std::sync::Arc;
use tonic::{Request, Response, Status};
use tutti_proto::v1 as pb;
use tutti_proto::v1::catalog_service_server::CatalogService;

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

#[tonic::async_trait]
impl CatalogService for CatalogApi {
    async fn list_processes(
        &self,
        request: Request<pb::ListProcessesRequest>,
    ) -> Result<Response<pb::ListProcessesResponse>, Status> {
        let app = &*self.app;
        handle(request, |call, _req| async move {
            catalog::list_processes(app, &call).await
        })
        .await
    }

    async fn list_interventions(
        &self,
        request: Request<pb::ListInterventionsRequest>,
    ) -> Result<Response<pb::ListInterventionsResponse>, Status> {
        let app = &*self.app;
        handle(request, |call, req| async move {
            // Named before parsing: a refused listing is still one of the catalogue.
            call.audit("interventions", None);
            let engine = app.engine(&call.tenant).await?;
            let cmd = ListInterventionsCommand::parse(&req, &app.ctx(&engine, app.now()))?;
            Ok(catalog::list_interventions(&engine, &cmd))
        })
        .await
    }

    async fn get_intervention(
        &self,
        request: Request<pb::GetInterventionRequest>,
    ) -> Result<Response<pb::GetInterventionResponse>, Status> {
        let app = &*self.app;
        handle(request, |call, req| async move {
            let cmd = GetInterventionCommand::parse(&req)?;
            catalog::get_intervention(app, &call, cmd).await
        })
        .await
    }

    async fn create_intervention(
        &self,
        request: Request<pb::CreateInterventionRequest>,
    ) -> Result<Response<pb::CreateInterventionResponse>, Status> {
        let app = &*self.app;
        handle(request, |call, req| async move {
            let engine = app.engine(&call.tenant).await?;
            let cmd = CreateInterventionCommand::parse(&req, &app.ctx(&engine, app.now()))?;
            catalog::create_intervention(app, &call, &engine, cmd).await
        })
        .await
    }

    async fn update_intervention(
        &self,
        request: Request<pb::UpdateInterventionRequest>,
    ) -> Result<Response<pb::UpdateInterventionResponse>, Status> {
        let app = &*self.app;
        handle(request, |call, req| async move {
            let cmd = UpdateInterventionCommand::parse(req)?;
            catalog::update_intervention(app, &call, cmd).await
        })
        .await
    }
}
