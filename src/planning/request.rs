//! The planning service's `CreatePlanRequest` (spec §1.5) and its checks: the positions, and
//! the constraints, which carry target weights and planning parameters as text.

use std::collections::HashSet;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::coordinator::compat::PlanningParameters;
use crate::domain::normalize_symbol;
use crate::domain::validation::FieldError;

/// A held position of the planning service's request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanningPositionBody {
    pub symbol: String,
    #[serde(default)]
    pub isin: Option<String>,
    pub quantity: i64,
    pub average_price: f64,
    pub current_price: f64,
    /// EUR.
    pub market_value: f64,
}

/// The planning service's `CreatePlanRequest`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanningCreateRequest {
    /// The plan is kept under this hash.
    pub portfolio_hash: String,
    /// EUR.
    pub available_cash: f64,
    pub positions: Vec<PlanningPositionBody>,
    /// `target_<SYMBOL>` → target weight, and planning parameters by name; values are text.
    #[serde(default)]
    pub constraints: IndexMap<String, String>,
}

/// A request that passed its checks, with its constraints read.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedCreate {
    pub request: PlanningCreateRequest,
    pub targets: Targets,
    pub parameters: PlanningParameters,
}

impl PlanningCreateRequest {
    /// The request with its constraints read, or every field error at once.
    pub fn check(self) -> Result<CheckedCreate, Vec<FieldError>> {
        let (errors, targets, parameters) = check_request(&self);
        if errors.is_empty() {
            Ok(CheckedCreate {
                request: self,
                targets,
                parameters,
            })
        } else {
            Err(errors)
        }
    }
}

/// Target weights by symbol.
pub type Targets = IndexMap<String, f64>;

fn constraint_error(key: &str, message: &str, input: &str) -> FieldError {
    FieldError::value_error(
        vec![
            Value::from("body"),
            Value::from("constraints"),
            Value::from(key),
        ],
        message,
        Value::from(input),
    )
}

/// Checks the request and reads its constraints: `target_<SYMBOL>` keys give target weights
/// (symbols upper-cased), keys named like a planning parameter set that parameter.
fn check_request(
    request: &PlanningCreateRequest,
) -> (Vec<FieldError>, Targets, PlanningParameters) {
    let mut errors = Vec::new();
    let body_error =
        |errors: &mut Vec<FieldError>, loc: Vec<Value>, message: &str, input: Value| {
            errors.push(FieldError::value_error(loc, message, input));
        };
    if request.portfolio_hash.trim().is_empty() {
        body_error(
            &mut errors,
            vec![Value::from("body"), Value::from("portfolio_hash")],
            "portfolio_hash must not be empty",
            Value::from(request.portfolio_hash.as_str()),
        );
    }
    if !request.available_cash.is_finite() || request.available_cash < 0.0 {
        body_error(
            &mut errors,
            vec![Value::from("body"), Value::from("available_cash")],
            "available_cash must be a number of at least 0",
            json!(request.available_cash),
        );
    }
    for (i, p) in request.positions.iter().enumerate() {
        let at = |field: &str| {
            vec![
                Value::from("body"),
                Value::from("positions"),
                Value::from(i),
                Value::from(field),
            ]
        };
        if p.symbol.trim().is_empty() {
            body_error(
                &mut errors,
                at("symbol"),
                "symbol must not be empty",
                Value::from(p.symbol.as_str()),
            );
        }
        if p.quantity < 0 {
            body_error(
                &mut errors,
                at("quantity"),
                "quantity must not be negative",
                Value::from(p.quantity),
            );
        }
        for (field, value) in [
            ("average_price", p.average_price),
            ("current_price", p.current_price),
            ("market_value", p.market_value),
        ] {
            if !value.is_finite() {
                errors.push(FieldError {
                    kind: "finite_number".into(),
                    loc: at(field),
                    msg: "Input should be a finite number".into(),
                    input: Value::Null,
                    ctx: None,
                });
            }
        }
        if p.average_price.is_finite() && p.average_price <= 0.0 {
            body_error(
                &mut errors,
                at("average_price"),
                "average_price must be greater than 0",
                Value::from(p.average_price),
            );
        }
    }

    let mut targets = Targets::new();
    let mut parameters = Map::new();
    let names: HashSet<String> = PlanningParameters::field_names().into_iter().collect();
    for (key, text) in &request.constraints {
        if let Some(symbol) = key.strip_prefix("target_") {
            let symbol = normalize_symbol(symbol);
            match text.trim().parse::<f64>() {
                Ok(w) if w.is_finite() && w >= 0.0 && !symbol.is_empty() => {
                    targets.insert(symbol, w);
                }
                _ => errors.push(constraint_error(
                    key,
                    "a target weight is a number of at least 0 for a named symbol",
                    text,
                )),
            }
        } else if names.contains(key) {
            parameters.insert(key.clone(), constraint_value(text));
        } else {
            errors.push(constraint_error(
                key,
                "unknown constraint: expected target_<SYMBOL> or a planning parameter",
                text,
            ));
        }
    }
    let parameters = match serde_json::from_value::<PlanningParameters>(Value::Object(parameters)) {
        Ok(p) => {
            errors.extend(p.validate(&["body", "constraints"]));
            p
        }
        Err(e) => {
            errors.push(FieldError::value_error(
                vec![Value::from("body"), Value::from("constraints")],
                &format!("invalid planning parameter: {e}"),
                json!(request.constraints),
            ));
            PlanningParameters::default()
        }
    };
    (errors, targets, parameters)
}

/// Constraint text as the JSON value it spells: a boolean, an integer, a number, else text.
fn constraint_value(text: &str) -> Value {
    let t = text.trim();
    match t.to_ascii_lowercase().as_str() {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(i) = t.parse::<i64>() {
        return Value::from(i);
    }
    match t.parse::<f64>() {
        Ok(f) if f.is_finite() => Value::from(f),
        _ => Value::from(text),
    }
}
