//! The caller's `grpc-timeout`: answered with `DEADLINE_EXCEEDED` (a little
//! before tonic's transport would answer `CANCELLED`, see
//! [`crate::deadline::margin`]) and made visible to storage for the call's
//! duration ([`crate::deadline::current`]).

use super::{Around, Next, Request, Response};
use crate::deadline;
use crate::error::ServiceError;
use std::convert::Infallible;
use tokio::time::Instant;
use tower::Service;

/// Enforces `grpc-timeout`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Deadline;

impl Around for Deadline {
    async fn around<S>(&self, req: Request, next: Next<S>) -> Response
    where
        S: Service<Request, Response = Response, Error = Infallible> + Send + 'static,
        S::Future: Send,
    {
        let timeout = req
            .headers()
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(deadline::parse_grpc_timeout);
        let Some(timeout) = timeout else {
            return next.run(req).await;
        };
        let at = Instant::now() + timeout.saturating_sub(deadline::margin(timeout));
        deadline::scope(at, async move {
            match tokio::time::timeout_at(at, next.run(req)).await {
                Ok(response) => response,
                Err(_) => ServiceError::DeadlineExceeded.into_status().into_http(),
            }
        })
        .await
    }
}
