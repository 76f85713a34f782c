//! Opportunity identification: candidate actions from a portfolio snapshot, in the reference's
//! five categories (spec opportunity-generator.md §3). Pure: no I/O, no wall clock — the caller
//! passes `now` and everything read from the store.

pub(crate) mod api;
mod buy_calculators;
mod eligibility;
pub(crate) mod heuristic;
pub(crate) mod identified;
pub(crate) mod rejection;
mod sell_calculators;
mod sizing;
mod weights;
mod windfall;

#[cfg(test)]
mod api_tests;
#[cfg(test)]
mod heuristic_tests;
#[cfg(test)]
mod weights_tests;
#[cfg(test)]
mod windfall_tests;
