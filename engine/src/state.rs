//! [`PersonState`]: everything the engine remembers about one person, updated
//! incrementally and serialisable so the server can store it.

use crate::catalog::Condition;
use serde::{Deserialize, Serialize};

/// Everything the engine remembers about one person. Serialisable (serde) so the
/// server can persist it beside the raw events; the engine never stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonState {
    /// Standing conditions (contraindication matching).
    pub conditions: Vec<Condition>,
    // The engine helper fills in: network sufficient statistics, smoothed levels
    // and trends, outcome trajectory, per-intervention response posteriors and
    // follow-through counts keyed by InterventionId, recent recommendations for
    // dose/habituation, active risk flags, counts.
}
