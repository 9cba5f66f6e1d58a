//! Back-pressure after authentication (it needs the tenant): a tenant-API
//! call gets its slots from the [`Limiter`] or is shed with `RetryInfo`,
//! counted (`tutti.shed`) and summarised in the audit trail, not written one
//! by one.

use super::{Around, Next, Request, Response};
use crate::audit::AuditNote;
use crate::auth::{Caller, is_tenant_api};
use crate::metrics::Metrics;
use crate::overload::Limiter;
use std::convert::Infallible;
use std::sync::Arc;
use tower::Service;

/// Admits calls through a [`Limiter`].
#[derive(Debug, Clone)]
pub struct Shed {
    /// The limits.
    pub limiter: Arc<Limiter>,
    /// Where shed calls are counted.
    pub metrics: Metrics,
}

impl Around for Shed {
    async fn around<S>(&self, req: Request, next: Next<S>) -> Response
    where
        S: Service<Request, Response = Response, Error = Infallible> + Send + 'static,
        S::Future: Send,
    {
        let tenant = req.extensions().get::<Caller>().map(|c| c.tenant.clone());
        let (Some(tenant), true) = (tenant, is_tenant_api(req.uri().path())) else {
            return next.run(req).await;
        };
        match self.limiter.admit(&tenant).await {
            Ok(permits) => {
                let response = next.run(req).await;
                drop(permits);
                response
            }
            Err((scope, e)) => {
                if let Some(note) = req.extensions().get::<AuditNote>() {
                    note.mark_shed();
                }
                self.metrics
                    .shed(scope, &crate::metrics::method_label(req.uri().path()));
                e.into_status().into_http()
            }
        }
    }
}
