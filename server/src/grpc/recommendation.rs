//! `tutti.v1.RecommendationService`: ranked, explained suggestions and the
//! feedback that teaches the engine what works for a person (the handlers,
//! and shadow mode, are in [`crate::service::recommendation`]).

use super::handle;
use crate::command::{RecommendCommand, RecordFeedbackCommand};
use crate::service::{App, recommendation};
use std::sync::Arc;
use tonic::{Request, Response, Status};
use tutti_proto::v1 as pb;
use tutti_proto::v1::recommendation_service_server::RecommendationService;

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

#[tonic::async_trait]
impl RecommendationService for RecommendationApi {
    async fn recommend(
        &self,
        request: Request<pb::RecommendRequest>,
    ) -> Result<Response<pb::RecommendResponse>, Status> {
        let app = &*self.app;
        handle(request, |call, req| async move {
            let engine = app.engine(&call.tenant).await?;
            let ctx = app.ctx(&engine, app.now());
            let cmd = RecommendCommand::parse(&req, app.mode(&call.tenant), &ctx)?;
            recommendation::recommend(app, &call, &engine, cmd).await
        })
        .await
    }

    async fn record_feedback(
        &self,
        request: Request<pb::RecordFeedbackRequest>,
    ) -> Result<Response<pb::RecordFeedbackResponse>, Status> {
        let app = &*self.app;
        handle(request, |call, req| async move {
            let engine = app.engine(&call.tenant).await?;
            let cmd = RecordFeedbackCommand::parse(&req, &app.ctx(&engine, app.now()))?;
            recommendation::record_feedback(app, &call, &engine, cmd).await
        })
        .await
    }
}
