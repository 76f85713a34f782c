//! Plain types shared by every module, and the Python-compatible `round`.

pub mod action;
pub mod metrics;
pub mod portfolio;
pub mod round;
pub mod validation;

pub use action::{ActionCandidate, Side, action_cost};
pub use metrics::MetricsBySymbol;
pub use portfolio::{PortfolioContextInput, PositionInput, SecurityInput};
pub use round::round_py;
