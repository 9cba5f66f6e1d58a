//! The caller's deadline, end to end. The deadline layer
//! ([`crate::middleware::deadline`]) reads `grpc-timeout`, answers
//! `DEADLINE_EXCEEDED` when it passes, and makes the deadline visible to
//! storage ([`current`]), which rolls a write back rather than start its
//! commit after the caller gave up. The check is before the commit, not
//! after it: a write whose commit began in time and ended past the deadline
//! is kept, and its caller still hears `DEADLINE_EXCEEDED`, which gRPC
//! defines as "may have completed". That is safe because writes are
//! idempotent: a retry with the same request id gets the stored answer.
//!
//! tonic's transport enforces `grpc-timeout` too, outside this layer, and
//! answers `CANCELLED` when it fires first; this layer fires a little earlier
//! ([`margin`]) so the caller sees `DEADLINE_EXCEEDED` with its details.
//!
//! The deadline travels in a task-local rather than through every storage
//! signature: it belongs to the call, like a trace context.

use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

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

/// Runs `f` with `deadline` as the current call's deadline.
pub async fn scope<F: Future>(deadline: Instant, f: F) -> F::Output {
    DEADLINE.scope(deadline, f).await
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
