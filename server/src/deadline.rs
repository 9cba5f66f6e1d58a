//! The caller's deadline, end to end. [`DeadlineLayer`] reads `grpc-timeout`,
//! answers `DEADLINE_EXCEEDED` when it passes, and makes the deadline visible
//! to storage ([`current`]), which rolls a write back rather than commit it
//! after the caller gave up: a call either finished in time or wrote nothing.
//!
//! tonic's transport enforces `grpc-timeout` too, outside this layer, and
//! answers `CANCELLED` when it fires first; this layer fires a little earlier
//! ([`margin`]) so the caller sees `DEADLINE_EXCEEDED` with its details.
//!
//! The deadline travels in a task-local rather than through every storage
//! signature: it belongs to the call, like a trace context.

use crate::error::ServiceError;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Instant;
use tower::{Layer, Service};

tokio::task_local! {
    static DEADLINE: Instant;
}

/// The current call's deadline, if its caller set one.
pub fn current() -> Option<Instant> {
    DEADLINE.try_with(|d| *d).ok()
}

/// Whether the current call's deadline has passed.
pub fn passed() -> bool {
    current().is_some_and(|d| Instant::now() >= d)
}

/// Parses a `grpc-timeout` value (`<1-8 digits><H|M|S|m|u|n>`).
pub fn parse_grpc_timeout(v: &str) -> Option<Duration> {
    if v.len() < 2 || v.len() > 9 {
        return None;
    }
    let (digits, unit) = v.split_at(v.len() - 1);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.checked_mul(3600)?),
        "M" => Duration::from_secs(n.checked_mul(60)?),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// How much earlier than the caller's deadline this layer answers, so its
/// answer (and not the transport's `CANCELLED`) reaches the caller.
pub fn margin(timeout: Duration) -> Duration {
    (timeout / 10).clamp(Duration::from_millis(1), Duration::from_millis(50))
}

/// Tower layer enforcing `grpc-timeout`.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeadlineLayer;

impl<S> Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;
    fn layer(&self, inner: S) -> Deadline<S> {
        Deadline { inner }
    }
}

/// The service [`DeadlineLayer`] produces.
#[derive(Debug, Clone)]
pub struct Deadline<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Deadline<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<ReqBody>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let timeout = req
            .headers()
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_grpc_timeout);
        let Some(timeout) = timeout else {
            return Box::pin(inner.call(req));
        };
        let deadline = Instant::now() + timeout.saturating_sub(margin(timeout));
        Box::pin(DEADLINE.scope(deadline, async move {
            match tokio::time::timeout_at(deadline, inner.call(req)).await {
                Ok(result) => result,
                Err(_) => Ok(ServiceError::DeadlineExceeded.into_status().into_http()),
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse() {
        assert_eq!(parse_grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_grpc_timeout("3S"), Some(Duration::from_secs(3)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout("123456789m"), None, "at most 8 digits");
        assert_eq!(parse_grpc_timeout("5x"), None);
        assert_eq!(parse_grpc_timeout("m"), None);
    }
}
