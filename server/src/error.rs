//! [`ServiceError`], everything a request can fail with, and the one place it
//! becomes a `tonic::Status` ([`ServiceError::into_status`]): one exhaustive
//! `match` per error enum, no catch-all arm, so a new variant must be mapped on
//! purpose. Internal causes are logged here; clients get a short message.
//! `INVALID_ARGUMENT` with field violations is built by [`crate::validate`].

use crate::convert::ConvertError;
use crate::convert::ids::IdError;
use crate::storage::{Kind, StorageError};
use crate::validate::Violations;
use tonic::Status;
use tutti_engine::EngineError;

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
    /// The request is valid but the system is not in a state that allows it.
    /// The message is shown to the client, so it names only the client's own ids.
    #[error("failed precondition: {0}")]
    FailedPrecondition(String),
    /// No or unknown credentials.
    #[error("unauthenticated: {0}")]
    Unauthenticated(&'static str),
    /// Credentials that do not allow this request.
    #[error("permission denied: {0}")]
    PermissionDenied(&'static str),
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
            ServiceError::NotFound(what) => Status::not_found(format!("{what} not found")),
            ServiceError::AlreadyExists(what) => {
                Status::already_exists(format!("{what} already exists"))
            }
            ServiceError::FailedPrecondition(msg) => Status::failed_precondition(msg),
            ServiceError::Unauthenticated(msg) => Status::unauthenticated(msg),
            ServiceError::PermissionDenied(msg) => Status::permission_denied(msg),
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
    Status::internal("internal error")
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
            Status::not_found(format!("{} not found", kind_name(kind, &id)))
        }
        StorageError::AlreadyExists { kind, id } => {
            Status::already_exists(format!("{} already exists", kind_name(kind, &id)))
        }
        // Only reaches the client when retries ran out under contention.
        StorageError::Conflict => Status::aborted("concurrent update; retry the request"),
        // Handled by the idempotency replay; reaching here means the stored
        // response vanished between commit and read.
        StorageError::DuplicateRequest => Status::aborted("concurrent retry; retry the request"),
        StorageError::Unavailable(cause) => {
            tracing::warn!(error = %cause, "storage unavailable");
            Status::unavailable("storage unavailable; retry later")
        }
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
                ServiceError::FailedPrecondition("x".into()),
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
            assert_eq!(err.into_status().code(), code);
        }
    }

    #[test]
    fn internal_causes_are_not_sent_to_the_client() {
        let s =
            ServiceError::Storage(StorageError::Corrupt("row 7 of people".into())).into_status();
        assert_eq!(s.code(), Code::Internal);
        assert!(!s.message().contains("row 7"));
    }
}
