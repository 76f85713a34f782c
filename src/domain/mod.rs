//! Plain types shared by every module, and the Python-compatible `round` and JSON text.

pub mod action;
pub mod metrics;
pub mod money;
pub mod opportunities;
pub mod portfolio;
pub mod py_json;
pub mod round;
pub mod security;
pub mod sequence;
pub mod upstream;
pub mod validation;
pub mod valuation;

pub use action::{ActionCandidate, Side, action_cost};
pub use metrics::MetricsBySymbol;
pub use money::{Currency, Decimal, FxRate, Money, MoneyError, Quantity};
pub use opportunities::{Category, Opportunities};
pub use portfolio::{EvaluatorPositionBody, EvaluatorSecurityBody, PortfolioContextInput};
pub use round::round_py;
pub use security::{Position, Security, normalize_symbol};
pub use upstream::BreakerState;
