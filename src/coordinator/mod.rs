//! One planning run, in process: a snapshot of the store, then opportunity, generator and
//! evaluator, a global beam with early termination, and a plan. At most one run at a time.

mod runner;

pub use runner::{Runner, RunnerError};
