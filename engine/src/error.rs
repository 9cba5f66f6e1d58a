//! Errors the engine can report. The server maps each variant to a gRPC status
//! in exactly one place.

/// Everything that can go wrong inside the engine.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EngineError {
    /// A process id that is not in the catalogue.
    #[error("unknown process `{0}`")]
    UnknownProcess(String),
    /// An intervention id that is not in the catalogue.
    #[error("unknown intervention `{0}`")]
    UnknownIntervention(String),
    /// A catalogue that is inconsistent (duplicate ids, weights out of range, ...).
    #[error("invalid catalogue: {0}")]
    InvalidCatalog(String),
    /// A configuration value out of its range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// An observation the engine cannot use (non-finite or out-of-range values).
    #[error("invalid observation: {0}")]
    InvalidObservation(String),
    /// A persisted state or model artifact that does not fit this engine.
    #[error("incompatible state: {0}")]
    IncompatibleState(String),
}

/// Result alias for the engine.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
