//! Sequence generation: the reference's patterns (spec opportunity-generator.md §4) and an
//! exhaustive, pruned, parallel generator that streams bounded batches. Pure: no I/O.

pub(crate) mod api;
pub mod exhaustive;
pub(crate) mod feasibility;
mod reference;
pub(crate) mod settings;

pub use feasibility::FeasibilityCheck;
pub use settings::FeasibilitySettings;

use serde::{Deserialize, Serialize};

/// How sequences are built from the candidates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GenerationMode {
    /// The reference's twelve patterns, filters and feasibility check.
    #[default]
    Reference,
    /// Every valid combination up to a depth, pruned while walking.
    Exhaustive,
}
