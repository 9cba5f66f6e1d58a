//! An audit row for every tenant-API call ([`crate::audit`]): an
//! [`AuditNote`] goes into the request for the auth layer and the handler to
//! fill in; when the response is ready its row is made durable (or counted,
//! or was committed with the call's write) before the response is released.

use super::{Around, Next, Request, Response};
use crate::audit::{AuditNote, AuditSink, Finish};
use crate::auth::is_tenant_api;
use crate::error::ServiceError;
use crate::telemetry::{TraceId, call_id, grpc_code};
use std::convert::Infallible;
use tokio::sync::oneshot;
use tonic::Code;
use tower::Service;
use tracing::Instrument as _;

/// Audits every tenant-API call into an [`AuditSink`].
#[derive(Debug, Clone)]
pub struct Audited(pub AuditSink);

impl Around for Audited {
    async fn around<S>(&self, mut req: Request, next: Next<S>) -> Response
    where
        S: Service<Request, Response = Response, Error = Infallible> + Send + 'static,
        S::Future: Send,
    {
        let method = req.uri().path().to_owned();
        if !is_tenant_api(&method) {
            return next.run(req).await;
        }
        let trace_id = req
            .extensions()
            .get::<TraceId>()
            .map(|t| t.0.clone())
            .unwrap_or_default();
        let note = AuditNote::new(method, call_id(req.extensions()), trace_id);
        req.extensions_mut().insert(note.clone());
        let sink = self.0.clone();
        let (release, released) = oneshot::channel();
        // The call and its audit row run in a task of their own: if the
        // caller hangs up, the handler still finishes (its write is atomic
        // either way) and the row is still written.
        let call = async move {
            let response = next.run(req).await;
            let code = grpc_code(&response);
            match note.finish(code, crate::convert::wall_clock()) {
                Finish::Done => {
                    let _ = release.send(response);
                }
                Finish::Count(row) => {
                    sink.count(row);
                    let _ = release.send(response);
                }
                Finish::Row(row) if code == Code::DeadlineExceeded => {
                    // The caller's time is up: answer now; the row follows.
                    let _ = release.send(response);
                    if let Err(cause) = sink.append(row).await {
                        tracing::error!(%cause, "audit row of an expired call not written");
                    }
                }
                Finish::Row(row) => {
                    let answer = match sink.append(row).await {
                        Ok(()) => response,
                        Err(cause) => cause.into_service_error().into_status().into_http(),
                    };
                    let _ = release.send(answer);
                }
            }
        };
        tokio::spawn(call.instrument(tracing::Span::current()));
        match released.await {
            Ok(response) => response,
            Err(_) => ServiceError::Internal("the call's task failed".into())
                .into_status()
                .into_http(),
        }
    }
}
