//! Per-person, per-intervention response posteriors with a population prior
//! (catalogue or trained model) and similar-person pooling (nearest neighbours
//! over profiles, with smartcore).

use serde::{Deserialize, Serialize};

/// Population-level knowledge: response priors per intervention (from the
/// catalogue or a trained artifact), the population process network, and
/// reference profiles for similar-person pooling. Serialisable: `tutti train`
/// writes it as a versioned artifact that the server loads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopulationModel {
    /// Version string, e.g. `catalog-prior` or `trained-2026-11-25-ab12cd`.
    pub version: String,
    // The engine helper fills in the rest.
}
