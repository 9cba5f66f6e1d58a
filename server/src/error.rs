//! [`ServiceError`], everything a request can fail with, and the one place it
//! becomes a `tonic::Status` ([`ServiceError::into_status`]): one exhaustive
//! `match` per error enum, no catch-all arm, so a new variant must be mapped on
//! purpose. Internal causes are logged here; clients get a short message.
//! `INVALID_ARGUMENT` with field violations is built here too, from the
//! [`Violations`] a request's parse ([`crate::command`]) collected.
//!
//! Every error carries `google.rpc.ErrorInfo { reason, domain }` beside its
//! other details (a client can branch on `reason` without parsing messages),
//! and every retryable one (`UNAVAILABLE`, `RESOURCE_EXHAUSTED`) a
//! `google.rpc.RetryInfo`. Statuses the transport makes itself (a body that
//! does not decode, an unknown method) get theirs from [`with_error_info`].

use crate::config::Role;
use crate::convert::ConvertError;
use crate::convert::ids::IdError;
use crate::storage::{Kind, StorageError};
use std::collections::HashMap;
use std::fmt;
use std::time::Duration;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};
use tutti_engine::EngineError;

/// `ErrorInfo.domain` of every error Tutti returns.
pub const ERROR_DOMAIN: &str = "tutti.health";

/// The retry delay suggested when storage is briefly unavailable.
const STORAGE_RETRY: Duration = Duration::from_secs(1);

/// A status with `ErrorInfo { reason, domain: ERROR_DOMAIN, metadata }` added to `details`.
/// The one constructor of statuses besides [`Violations::into_status`] (which uses it too).
pub fn status_with(
    code: Code,
    message: impl Into<String>,
    reason: &str,
    metadata: &[(&str, String)],
    mut details: ErrorDetails,
) -> Status {
    let metadata: HashMap<String, String> = metadata
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    details.set_error_info(reason, ERROR_DOMAIN, metadata);
    Status::with_error_details(code, message, details)
}

fn plain(code: Code, message: impl Into<String>, reason: &str) -> Status {
    status_with(code, message, reason, &[], ErrorDetails::new())
}

fn retryable(code: Code, message: impl Into<String>, reason: &str, after: Duration) -> Status {
    let mut details = ErrorDetails::new();
    details.set_retry_info(Some(after));
    status_with(code, message, reason, &[], details)
}

/// Violations listed in one status at most.
pub const MAX_REPORTED: usize = 50;

/// Field violations of one request, in the order found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Violations(Vec<(String, String)>);

impl Violations {
    /// No violations yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// One violation.
    pub fn single(field: impl Into<String>, description: impl Into<String>) -> Self {
        let mut v = Self::new();
        v.add(field, description);
        v
    }

    /// Records a violation of `field`.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push((field.into(), description.into()));
    }

    /// Records a violation unless `ok`.
    pub fn check(&mut self, ok: bool, field: impl FnOnce() -> String, description: &str) {
        if !ok {
            self.add(field(), description);
        }
    }

    /// How many were found.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The violated field paths, in order.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(f, _)| f.as_str())
    }

    /// The violations as (field, description), in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(f, d)| (f.as_str(), d.as_str()))
    }

    /// The parsed value when nothing was found, else every violation.
    /// `build` yields `None` only for a field that recorded a violation (each
    /// field parser does), so its `None` with no violations is a parser defect,
    /// reported as a request-level violation rather than a panic.
    pub fn finish<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, Violations> {
        if !self.is_empty() {
            return Err(self);
        }
        build().ok_or_else(|| Violations::single("", "could not be parsed"))
    }

    /// `INVALID_ARGUMENT` with a `google.rpc.BadRequest` detail listing the
    /// violations (the first [`MAX_REPORTED`], so a bad batch of thousands still
    /// fits in the status headers). The only code that builds this status.
    pub fn into_status(self) -> Status {
        let message = self.to_string();
        let total = self.0.len();
        let mut violations: Vec<FieldViolation> = self
            .0
            .into_iter()
            .take(MAX_REPORTED)
            .map(|(f, d)| FieldViolation::new(f, d))
            .collect();
        if total > MAX_REPORTED {
            violations.push(FieldViolation::new(
                "",
                format!("{} more violations not listed", total - MAX_REPORTED),
            ));
        }
        status_with(
            Code::InvalidArgument,
            message,
            "INVALID_REQUEST",
            &[],
            ErrorDetails::with_bad_request(violations),
        )
    }
}

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 3;
        write!(f, "invalid request:")?;
        for (i, (field, d)) in self.0.iter().take(SHOWN).enumerate() {
            let sep = if i == 0 { " " } else { "; " };
            if field.is_empty() {
                write!(f, "{sep}{d}")?;
            } else {
                write!(f, "{sep}{field} {d}")?;
            }
        }
        if self.0.len() > SHOWN {
            write!(f, "; and {} more (see details)", self.0.len() - SHOWN)?;
        }
        Ok(())
    }
}

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Bad fields; every violation is listed.
    #[error("invalid argument: {0}")]
    InvalidArgument(Violations),
    /// A named resource does not exist (in this tenant).
    #[error("{0} not found")]
    NotFound(String),
    /// The resource to create exists already.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// The request is valid but the system is not in a state that allows it:
    /// the `ErrorInfo` reason, and a message shown to the client (so it names
    /// only the client's own ids).
    #[error("failed precondition: {1}")]
    FailedPrecondition(&'static str, String),
    /// No or unknown credentials.
    #[error("unauthenticated: {0}")]
    Unauthenticated(&'static str),
    /// Credentials that do not allow this request.
    #[error("permission denied: {0}")]
    PermissionDenied(&'static str),
    /// The caller lacks the role the method needs.
    #[error("permission denied: the `{}` role is required", .0.as_str())]
    RoleRequired(Role),
    /// Too many calls in flight on the server; retry after the delay.
    #[error("overloaded")]
    Overloaded(Duration),
    /// Too many calls of this tenant in flight; retry after the delay.
    #[error("tenant concurrency limit")]
    TenantBusy(Duration),
    /// The caller's deadline passed before the call finished; nothing was written.
    #[error("deadline exceeded")]
    DeadlineExceeded,
    /// Storage failed.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    /// The engine refused.
    #[error("engine: {0}")]
    Engine(#[from] EngineError),
    /// A server defect (a broken invariant); the cause is logged, never sent.
    #[error("internal: {0}")]
    Internal(String),
}

/// Result alias for the service layer.
pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

impl From<Violations> for ServiceError {
    fn from(v: Violations) -> Self {
        ServiceError::InvalidArgument(v)
    }
}

impl From<ConvertError> for ServiceError {
    fn from(e: ConvertError) -> Self {
        ServiceError::InvalidArgument(Violations::single(e.field, e.reason))
    }
}

impl ServiceError {
    /// An invalid id in `field`.
    pub fn bad_id(field: impl Into<String>, e: IdError) -> Self {
        ServiceError::InvalidArgument(Violations::single(field, e.to_string()))
    }

    /// The gRPC status for this error. The only place errors become statuses.
    pub fn into_status(self) -> Status {
        match self {
            ServiceError::InvalidArgument(v) => v.into_status(),
            ServiceError::NotFound(what) => status_with(
                Code::NotFound,
                format!("{what} not found"),
                "NOT_FOUND",
                &[("resource", what)],
                ErrorDetails::new(),
            ),
            ServiceError::AlreadyExists(what) => status_with(
                Code::AlreadyExists,
                format!("{what} already exists"),
                "ALREADY_EXISTS",
                &[("resource", what)],
                ErrorDetails::new(),
            ),
            ServiceError::FailedPrecondition(reason, msg) => {
                plain(Code::FailedPrecondition, msg, reason)
            }
            ServiceError::Unauthenticated(msg) => {
                plain(Code::Unauthenticated, msg, "UNAUTHENTICATED")
            }
            ServiceError::PermissionDenied(msg) => {
                plain(Code::PermissionDenied, msg, "PERMISSION_DENIED")
            }
            ServiceError::RoleRequired(role) => status_with(
                Code::PermissionDenied,
                format!("the `{}` role is required", role.as_str()),
                "ROLE_REQUIRED",
                &[("role", role.as_str().to_owned())],
                ErrorDetails::new(),
            ),
            ServiceError::Overloaded(after) => retryable(
                Code::Unavailable,
                "the server is overloaded; retry later",
                "OVERLOADED",
                after,
            ),
            ServiceError::TenantBusy(after) => retryable(
                Code::ResourceExhausted,
                "too many calls of this tenant in flight; retry later",
                "TENANT_CONCURRENCY_LIMIT",
                after,
            ),
            ServiceError::DeadlineExceeded => plain(
                Code::DeadlineExceeded,
                "the deadline passed before the call finished; nothing was written",
                "DEADLINE_EXCEEDED",
            ),
            ServiceError::Storage(e) => storage_status(e),
            ServiceError::Engine(e) => engine_status(e),
            ServiceError::Internal(cause) => internal(&cause),
        }
    }
}

impl From<ServiceError> for Status {
    fn from(e: ServiceError) -> Self {
        e.into_status()
    }
}

fn internal(cause: &dyn std::fmt::Display) -> Status {
    tracing::error!(error = %cause, "internal error");
    plain(Code::Internal, "internal error", "INTERNAL")
}

fn kind_name(kind: Kind, id: &str) -> String {
    match kind {
        Kind::Person => format!("people/{id}"),
        Kind::Recommendation => format!("recommendation {id}"),
        Kind::Intervention => format!("intervention {id}"),
    }
}

fn storage_status(e: StorageError) -> Status {
    match e {
        StorageError::NotFound { kind, id } => {
            ServiceError::NotFound(kind_name(kind, &id)).into_status()
        }
        StorageError::AlreadyExists { kind, id } => {
            ServiceError::AlreadyExists(kind_name(kind, &id)).into_status()
        }
        // Only reaches the client when retries ran out under contention.
        StorageError::Conflict => plain(
            Code::Aborted,
            "concurrent update; retry the request",
            "CONCURRENT_UPDATE",
        ),
        // Handled by the idempotency replay; reaching here means the stored
        // response vanished between commit and read.
        StorageError::DuplicateRequest => plain(
            Code::Aborted,
            "concurrent retry; retry the request",
            "CONCURRENT_RETRY",
        ),
        StorageError::Unavailable(cause) => {
            tracing::warn!(error = %cause, "storage unavailable");
            retryable(
                Code::Unavailable,
                "storage unavailable; retry later",
                "STORAGE_UNAVAILABLE",
                STORAGE_RETRY,
            )
        }
        StorageError::Full(cause) => {
            tracing::error!(error = %cause, "storage full: writes refused until space is freed");
            retryable(
                Code::Unavailable,
                "storage is full; nothing was written; retry later",
                "STORAGE_FULL",
                STORAGE_RETRY * 30,
            )
        }
        StorageError::DeadlineExceeded => ServiceError::DeadlineExceeded.into_status(),
        e @ (StorageError::Corrupt(_) | StorageError::Migration(_) | StorageError::Backend(_)) => {
            internal(&e)
        }
    }
}

fn engine_status(e: EngineError) -> Status {
    match e {
        // Validation checks these first; the engine re-checks what its maths
        // depends on, so these mean a gap in validation, reported as the
        // client's error rather than hidden.
        EngineError::UnknownProcess(id) => {
            Violations::single("process_id", format!("unknown process `{id}`")).into_status()
        }
        EngineError::UnknownIntervention(id) => {
            Violations::single("intervention_id", format!("unknown intervention `{id}`"))
                .into_status()
        }
        EngineError::InvalidObservation(msg) => Violations::single("", msg).into_status(),
        // A tenant catalogue the engine rejects was accepted by validation: a defect.
        e @ (EngineError::InvalidCatalog(_)
        | EngineError::InvalidConfig(_)
        | EngineError::IncompatibleState(_)) => internal(&e),
    }
}

/// The `ErrorInfo` reason of a status the transport made (no details of ours).
fn transport_reason(code: Code) -> &'static str {
    match code {
        // tutti-proto's codec turns an undecodable body into INVALID_ARGUMENT.
        Code::InvalidArgument => "MALFORMED_REQUEST",
        Code::Unimplemented => "UNKNOWN_METHOD",
        Code::OutOfRange | Code::ResourceExhausted => "MESSAGE_TOO_LARGE",
        Code::Cancelled => "CANCELLED",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::Unavailable => "UNAVAILABLE",
        Code::Ok
        | Code::Unknown
        | Code::NotFound
        | Code::AlreadyExists
        | Code::PermissionDenied
        | Code::FailedPrecondition
        | Code::Aborted
        | Code::Internal
        | Code::DataLoss
        | Code::Unauthenticated => "TRANSPORT",
    }
}

/// Adds `ErrorInfo` to an error response that carries no details: one tonic
/// made itself before any handler ran (the request body does not decode, an
/// unknown method, a message over the size limit). Handlers' errors already
/// have theirs and pass untouched. Applied to every response with
/// `tower::util::MapResponseLayer` ([`mod@crate::serve`]).
pub fn with_error_info<B>(mut response: http::Response<B>) -> http::Response<B> {
    add_error_info(response.headers_mut());
    response
}

fn add_error_info(headers: &mut http::HeaderMap) {
    if headers.contains_key("grpc-status-details-bin") {
        return;
    }
    let Some(status) = Status::from_header_map(headers) else {
        return;
    };
    if status.code() == Code::Ok {
        return;
    }
    let with = plain(
        status.code(),
        status.message().to_owned(),
        transport_reason(status.code()),
    );
    headers.remove("grpc-status");
    headers.remove("grpc-message");
    if with.add_header(headers).is_err() {
        tracing::warn!("could not add error details to a transport status");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    #[test]
    fn each_kind_maps_to_its_code() {
        let cases = [
            (ServiceError::NotFound("people/p1".into()), Code::NotFound),
            (
                ServiceError::AlreadyExists("people/p1".into()),
                Code::AlreadyExists,
            ),
            (
                ServiceError::FailedPrecondition("X", "x".into()),
                Code::FailedPrecondition,
            ),
            (ServiceError::Unauthenticated("x"), Code::Unauthenticated),
            (ServiceError::PermissionDenied("x"), Code::PermissionDenied),
            (
                ServiceError::Internal("secret cause".into()),
                Code::Internal,
            ),
            (ServiceError::Storage(StorageError::Conflict), Code::Aborted),
            (
                ServiceError::Storage(StorageError::NotFound {
                    kind: Kind::Recommendation,
                    id: "r".into(),
                }),
                Code::NotFound,
            ),
            (
                ServiceError::Engine(EngineError::InvalidObservation("nan".into())),
                Code::InvalidArgument,
            ),
        ];
        for (err, code) in cases {
            let status = err.into_status();
            assert_eq!(status.code(), code);
            let info = status
                .get_error_details()
                .error_info()
                .cloned()
                .expect("every error carries ErrorInfo");
            assert_eq!(info.domain, ERROR_DOMAIN);
            assert!(!info.reason.is_empty());
        }
    }

    #[test]
    fn internal_causes_are_not_sent_to_the_client() {
        let s =
            ServiceError::Storage(StorageError::Corrupt("row 7 of people".into())).into_status();
        assert_eq!(s.code(), Code::Internal);
        assert!(!s.message().contains("row 7"));
    }

    #[test]
    fn the_status_carries_every_violation_as_bad_request() {
        let mut v = Violations::new();
        v.add("a.b[0]", "must be set");
        v.add("c", "is required");
        let status = v.into_status();
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let bad = details.bad_request().expect("BadRequest detail");
        let got: Vec<_> = bad
            .field_violations
            .iter()
            .map(|f| (f.field.as_str(), f.description.as_str()))
            .collect();
        assert_eq!(got, vec![("a.b[0]", "must be set"), ("c", "is required")]);
    }
}
