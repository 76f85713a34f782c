//! Opportunity identification: candidate actions from a portfolio snapshot, in the reference's
//! five categories (spec opportunity-generator.md §3). Pure: no I/O, no wall clock — the caller
//! passes `now` and everything read from the store.

pub mod api;
pub mod heuristic;
pub mod rejection;
pub mod sizing;
pub mod weights;
