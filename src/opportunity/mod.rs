//! Opportunity identification: candidate actions from a portfolio snapshot, in the reference's
//! five categories (spec opportunity-generator.md §3). Pure: no I/O, no wall clock — the caller
//! passes `now` and everything read from the store.

pub mod api;
mod buy_calculators;
pub mod eligibility;
pub mod heuristic;
pub mod identified;
pub mod rejection;
mod sell_calculators;
pub mod sizing;
pub mod weights;
pub mod windfall;

pub use api::{
    IdentifyOpportunitiesRequest, IdentifyOpportunitiesResponse, OpportunityPortfolioContext,
    OpportunityPositionBody, OpportunitySecurityBody, identify_request,
};
pub use heuristic::{
    CagrMetrics, HeuristicEnv, HeuristicInputs, HeuristicSettings, identify_heuristic,
};
pub use identified::{IdentificationPath, Identified, WindfallMetrics};
pub use rejection::{IneligibleWhy, RejectReason, Rejection};
pub use sizing::{SizedTrade, SizingError, size_buy};
pub use weights::{WeightGap, WeightInputs, identify_from_weights};

#[cfg(test)]
mod api_tests;
#[cfg(test)]
mod heuristic_tests;
#[cfg(test)]
mod weights_tests;
#[cfg(test)]
mod windfall_tests;
