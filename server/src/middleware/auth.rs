//! Authentication and roles in front of the tenant API: the [`Caller`] goes
//! into the request for the handlers, and the audit note learns who called
//! (or, refused as unauthenticated, whom the call claimed to be for). Health
//! and reflection stay open.

use super::{Around, Next, Request, Response};
use crate::audit::AuditNote;
use crate::auth::{ANONYMOUS, Authenticator, Caller, is_tenant_api, required_role};
use crate::error::ServiceError;
use std::convert::Infallible;
use tower::Service;

/// Runs an [`Authenticator`] before the tenant API.
#[derive(Debug, Clone)]
pub struct Authenticate(pub Authenticator);

impl Around for Authenticate {
    async fn around<S>(&self, mut req: Request, next: Next<S>) -> Response
    where
        S: Service<Request, Response = Response, Error = Infallible> + Send + 'static,
        S::Future: Send,
    {
        let path = req.uri().path();
        if !is_tenant_api(path) {
            return next.run(req).await;
        }
        let role = required_role(path);
        let note = req.extensions().get::<AuditNote>().cloned();
        let outcome = self.0.authenticate(req.headers()).and_then(|caller| {
            if let Some(note) = &note {
                note.set_caller(caller.tenant.as_str(), &caller.principal);
            }
            Authenticator::require(&caller, role).map(|()| caller)
        });
        match outcome {
            Ok(caller) => {
                req.extensions_mut().insert::<Caller>(caller);
                next.run(req).await
            }
            Err(e) => {
                if let Some(note) = &note
                    && matches!(e, ServiceError::Unauthenticated(_))
                {
                    note.set_caller(&Authenticator::claimed_tenant(req.headers()), ANONYMOUS);
                    note.mark_unauthenticated();
                }
                e.into_status().into_http()
            }
        }
    }
}
