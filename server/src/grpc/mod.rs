//! The `tutti.v1` gRPC services: one adapter per service, each method
//! parse → handle → respond. A method reads who is calling (the auth layer
//! put it in the request), parses the request into its command
//! ([`crate::command`]), runs the handler of [`crate::service`], and turns
//! an error into a status in the one place that does so ([`handle`]).

pub mod catalog;
pub mod people;
pub mod recommendation;

/// The person-state replay, where the offline tools have always found it.
pub use crate::service::state;

use crate::audit::AuditNote;
use crate::auth::Caller;
use crate::error::{Result, ServiceError};
use crate::service::Call;
use std::future::Future;
use tonic::{Request, Response, Status};

/// The caller the auth layer put into the request. Missing means the service
/// was mounted without the auth layer: a wiring defect.
fn call_of<T>(request: &Request<T>) -> Result<Call> {
    let caller = request
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| ServiceError::Internal("no caller: auth layer missing".into()))?;
    Ok(Call::new(
        caller.tenant,
        caller.principal,
        request.extensions().get::<AuditNote>().cloned(),
    ))
}

/// Runs a method body and maps its error to a status.
pub async fn handle<Req, Resp, F, Fut>(
    request: Request<Req>,
    f: F,
) -> std::result::Result<Response<Resp>, Status>
where
    F: FnOnce(Call, Req) -> Fut,
    Fut: Future<Output = Result<Resp>>,
{
    let call = call_of(&request).map_err(ServiceError::into_status)?;
    f(call, request.into_inner())
        .await
        .map(Response::new)
        .map_err(ServiceError::into_status)
}
