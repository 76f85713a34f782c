//! Sequence generation: the reference's patterns (spec opportunity-generator.md §4) and an
//! exhaustive, pruned, parallel generator that streams bounded batches. Pure: no I/O.

pub mod api;
pub mod exhaustive;
pub mod feasibility;
pub mod reference;
pub mod settings;
