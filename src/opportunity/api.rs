//! The `POST /opportunity/identify` request (spec §1.1), its validation, and the choice between
//! the weight-based and the heuristic path.

use std::collections::HashSet;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::validation::FieldError;
use crate::domain::{Position, Security, normalize_symbol};

use super::heuristic::{HeuristicEnv, HeuristicInputs, identify_heuristic};
use super::identified::Identified;
use super::weights::{WeightInputs, identify_from_weights};

fn default_cost_fixed() -> f64 {
    2.0
}

fn default_cost_percent() -> f64 {
    0.002
}

fn default_true() -> bool {
    true
}

/// `IdentifyOpportunitiesRequest`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IdentifyOpportunitiesRequest {
    pub portfolio_context: OpportunityPortfolioContext,
    pub positions: Vec<OpportunityPositionBody>,
    pub securities: Vec<OpportunitySecurityBody>,
    /// EUR; accepted and ignored by both paths, as in the reference.
    pub available_cash: f64,
    /// Optimizer weights 0..1; present and non-empty selects the weight path.
    #[serde(default)]
    pub target_weights: Option<IndexMap<String, f64>>,
    /// Price per share (treated as EUR on the weight path).
    #[serde(default)]
    pub current_prices: Option<IndexMap<String, f64>>,
    #[serde(default = "default_cost_fixed")]
    pub transaction_cost_fixed: f64,
    #[serde(default = "default_cost_percent")]
    pub transaction_cost_percent: f64,
    /// Symbols in the sell cooldown (weight path).
    #[serde(default)]
    pub recently_sold: Option<Vec<String>>,
    /// Symbols that may not be sold (weight path).
    #[serde(default)]
    pub ineligible_symbols: Option<Vec<String>>,
}

/// `PortfolioContextInput` of the opportunity service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpportunityPortfolioContext {
    /// EUR value per symbol; defines the current weights.
    pub positions: IndexMap<String, f64>,
    pub total_value: f64,
    /// Target weight per country group (heuristic path).
    #[serde(default)]
    pub country_weights: IndexMap<String, f64>,
    /// Accepted; opportunity identification does not use it.
    #[serde(default)]
    pub industry_weights: IndexMap<String, f64>,
    #[serde(default)]
    pub security_countries: Option<IndexMap<String, String>>,
    /// `"Industry A, Industry B"` per symbol; accepted, not used here.
    #[serde(default)]
    pub security_industries: Option<IndexMap<String, String>>,
}

/// A held position of the opportunity service's request body (its `PositionInput`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpportunityPositionBody {
    pub symbol: String,
    pub quantity: i64,
    pub avg_price: f64,
    pub market_value_eur: f64,
    pub unrealized_pnl_pct: f64,
}

/// A security of the opportunity service's request body (its `SecurityInput`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpportunitySecurityBody {
    pub symbol: String,
    pub name: String,
    pub isin: String,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub industry: Option<String>,
    #[serde(default = "default_true")]
    pub allow_buy: bool,
    #[serde(default = "default_true")]
    pub allow_sell: bool,
}

impl OpportunityPositionBody {
    /// The domain position: symbol upper-cased and trimmed, price per share from the market
    /// value (the average price when nothing is held), EUR.
    pub fn to_domain(&self) -> Position {
        let quantity = self.quantity as f64;
        let current_price = if self.quantity > 0 {
            self.market_value_eur / quantity
        } else {
            self.avg_price
        };
        Position {
            symbol: normalize_symbol(&self.symbol),
            quantity,
            avg_price: self.avg_price,
            currency: "EUR".to_string(),
            current_price: Some(current_price),
            market_value_eur: Some(self.market_value_eur),
            unrealized_pnl_pct: Some(self.unrealized_pnl_pct),
            first_bought_at: None,
        }
    }
}

impl OpportunitySecurityBody {
    /// The domain security: symbol upper-cased and trimmed, lot 1, multiplier 1, no currency.
    pub fn to_domain(&self) -> Security {
        let mut security = Security::new(&self.symbol, &self.name);
        security.isin = Some(self.isin.clone());
        security.country = self.country.clone();
        security.industry = self.industry.clone();
        security.allow_buy = self.allow_buy;
        security.allow_sell = self.allow_sell;
        security
    }
}

/// Builds a location the way pydantic writes it: field names as strings, list indices as
/// numbers, map keys as strings.
#[derive(Clone, Copy)]
enum Seg<'a> {
    Field(&'a str),
    Index(usize),
}

fn loc(segments: &[Seg<'_>]) -> Vec<Value> {
    std::iter::once(Value::from("body"))
        .chain(segments.iter().map(|s| match s {
            Seg::Field(name) => Value::from(*name),
            Seg::Index(i) => Value::from(*i),
        }))
        .collect()
}

fn value_error(segments: &[Seg<'_>], message: &str, input: Value) -> FieldError {
    FieldError::value_error(loc(segments), message, input)
}

fn finite(errors: &mut Vec<FieldError>, segments: &[Seg<'_>], value: f64) {
    if !value.is_finite() {
        errors.push(FieldError {
            kind: "finite_number".into(),
            loc: loc(segments),
            msg: "Input should be a finite number".into(),
            input: Value::Null,
            ctx: None,
        });
    }
}

fn finite_map(errors: &mut Vec<FieldError>, prefix: &[Seg<'_>], map: &IndexMap<String, f64>) {
    for (key, &value) in map {
        let mut segments = prefix.to_vec();
        segments.push(Seg::Field(key));
        finite(errors, &segments, value);
    }
}

impl IdentifyOpportunitiesRequest {
    /// Checks what the reference let through to a crash (HTTP 500): a blank symbol, a negative
    /// quantity or a non-positive average price in `positions`; a blank symbol or name in
    /// `securities`. Also refuses non-finite numbers, which would poison the arithmetic. An
    /// empty list means the request is valid.
    pub fn validate(&self) -> Vec<FieldError> {
        use Seg::{Field, Index};
        let mut errors = Vec::new();
        let pc = &self.portfolio_context;
        finite_map(
            &mut errors,
            &[Field("portfolio_context"), Field("positions")],
            &pc.positions,
        );
        finite(
            &mut errors,
            &[Field("portfolio_context"), Field("total_value")],
            pc.total_value,
        );
        finite_map(
            &mut errors,
            &[Field("portfolio_context"), Field("country_weights")],
            &pc.country_weights,
        );
        finite_map(
            &mut errors,
            &[Field("portfolio_context"), Field("industry_weights")],
            &pc.industry_weights,
        );
        for (i, p) in self.positions.iter().enumerate() {
            let at = |field| [Field("positions"), Index(i), Field(field)];
            if p.symbol.trim().is_empty() {
                errors.push(value_error(
                    &at("symbol"),
                    "symbol must not be empty",
                    Value::from(p.symbol.as_str()),
                ));
            }
            if p.quantity < 0 {
                errors.push(value_error(
                    &at("quantity"),
                    "quantity must not be negative",
                    Value::from(p.quantity),
                ));
            }
            if !p.avg_price.is_finite() {
                finite(&mut errors, &at("avg_price"), p.avg_price);
            } else if p.avg_price <= 0.0 {
                errors.push(value_error(
                    &at("avg_price"),
                    "avg_price must be greater than 0",
                    Value::from(p.avg_price),
                ));
            }
            finite(&mut errors, &at("market_value_eur"), p.market_value_eur);
            finite(&mut errors, &at("unrealized_pnl_pct"), p.unrealized_pnl_pct);
        }
        for (i, s) in self.securities.iter().enumerate() {
            let at = |field| [Field("securities"), Index(i), Field(field)];
            if s.symbol.trim().is_empty() {
                errors.push(value_error(
                    &at("symbol"),
                    "symbol must not be empty",
                    Value::from(s.symbol.as_str()),
                ));
            }
            if s.name.trim().is_empty() {
                errors.push(value_error(
                    &at("name"),
                    "name must not be empty",
                    Value::from(s.name.as_str()),
                ));
            }
        }
        finite(&mut errors, &[Field("available_cash")], self.available_cash);
        if let Some(weights) = &self.target_weights {
            finite_map(&mut errors, &[Field("target_weights")], weights);
        }
        if let Some(prices) = &self.current_prices {
            finite_map(&mut errors, &[Field("current_prices")], prices);
        }
        finite(
            &mut errors,
            &[Field("transaction_cost_fixed")],
            self.transaction_cost_fixed,
        );
        finite(
            &mut errors,
            &[Field("transaction_cost_percent")],
            self.transaction_cost_percent,
        );
        errors
    }

    /// Whether the weight path runs: `target_weights` present and non-empty.
    pub fn uses_target_weights(&self) -> bool {
        self.target_weights.as_ref().is_some_and(|w| !w.is_empty())
    }

    pub fn domain_positions(&self) -> Vec<Position> {
        self.positions
            .iter()
            .map(OpportunityPositionBody::to_domain)
            .collect()
    }

    pub fn domain_securities(&self) -> Vec<Security> {
        self.securities
            .iter()
            .map(OpportunitySecurityBody::to_domain)
            .collect()
    }

    /// The weight path's inputs. Map keys and the symbol lists stay as given (not upper-cased).
    pub fn weight_inputs(&self) -> WeightInputs {
        let set = |list: &Option<Vec<String>>| -> HashSet<String> {
            list.iter().flatten().cloned().collect()
        };
        WeightInputs {
            target_weights: self.target_weights.clone().unwrap_or_default(),
            position_values: self.portfolio_context.positions.clone(),
            total_value: self.portfolio_context.total_value,
            positions: self.domain_positions(),
            securities: self.domain_securities(),
            current_prices: self.current_prices.clone().unwrap_or_default(),
            transaction_cost_fixed: self.transaction_cost_fixed,
            transaction_cost_percent: self.transaction_cost_percent,
            recently_sold: set(&self.recently_sold),
            ineligible_symbols: set(&self.ineligible_symbols),
        }
    }

    /// The heuristic path's portfolio snapshot (prices, history and settings come from the
    /// [`HeuristicEnv`]).
    pub fn heuristic_inputs(&self) -> HeuristicInputs {
        let pc = &self.portfolio_context;
        HeuristicInputs {
            position_values: pc.positions.clone(),
            total_value: pc.total_value,
            country_weights: pc.country_weights.clone(),
            security_countries: pc.security_countries.clone(),
            positions: self.domain_positions(),
            securities: self.domain_securities(),
        }
    }
}

/// Identifies candidates for a request: the weight path when `target_weights` is present and
/// non-empty, the heuristic path otherwise. `env` is used by the heuristic path only; the
/// caller puts the request's `current_prices` (when given) into `env.prices`. Expects a request
/// that passed [`IdentifyOpportunitiesRequest::validate`]; an unvalidated one does not panic but
/// may give meaningless candidates.
pub fn identify_request(req: &IdentifyOpportunitiesRequest, env: &HeuristicEnv) -> Identified {
    if req.uses_target_weights() {
        identify_from_weights(&req.weight_inputs())
    } else {
        identify_heuristic(&req.heuristic_inputs(), env)
    }
}
