//! The evaluator: simulate sequences of trades, score the end states, keep the best in a beam
//! (spec evaluator-coordinator-planning.md §3–5). Pure and CPU-bound: no I/O, no async; it scores
//! in the current rayon pool.

pub mod api;
mod beam;
pub(crate) mod breakdown;
mod curves;
pub mod engine;
pub mod modes;
pub(crate) mod portfolio_score;
pub mod run;
pub(crate) mod settings;
pub(crate) mod symbol_terms;

pub use api::{
    EvaluateOptions, EvaluateSequencesRequest, EvaluateSequencesResponse, evaluate_request,
};
pub use settings::{EvaluationSettings, RiskProfile, ScoringProfile};
