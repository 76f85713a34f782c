//! Plain types shared by every module, and the Python-compatible `round` and JSON text.

mod action;
mod metrics;
mod money;
mod opportunities;
mod portfolio;
pub(crate) mod py_json;
mod round;
mod security;
pub(crate) mod sequence;
mod upstream;
pub(crate) mod validation;
pub(crate) mod valuation;

pub use action::{ActionCandidate, Side, action_cost};
pub use metrics::MetricsBySymbol;
pub use money::{Currency, Decimal, FxRate, Money, MoneyError, Quantity};
pub use opportunities::{Category, Opportunities};
pub use portfolio::{EvaluatorPositionBody, EvaluatorSecurityBody, PortfolioContextInput};
pub use round::round_py;
pub use security::{Position, Security, normalize_symbol};
pub use sequence::SequenceBatch;
pub use upstream::BreakerState;
