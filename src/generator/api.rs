//! `POST /generator/generate` in reference mode: the request body (`GenerateSequencesRequest`),
//! its validation, and the pipeline of spec §1.2.3 from candidates to feasible sequences.
//! Batching and the NDJSON framing belong to the route.
//!
//! One deliberate change from the reference: a non-empty `positions` list no longer crashes
//! the request (spec §8 item 1); it switches on constraint relaxation and the sell-quantity
//! check, as the reference meant it to.

use std::collections::HashMap;

use crate::generator::GenerationMode;
use crate::generator::exhaustive::ExhaustiveSettings;
use indexmap::IndexMap;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::validation::{FieldError, locate};
use crate::domain::{ActionCandidate, Opportunities, Security, normalize_symbol};

use super::feasibility::FeasibilityCheck;
use super::reference::adaptive::{AdaptiveContext, adaptive_patterns};
use super::reference::correlation::filter_correlated;
use super::reference::partial::partial_execution;
use super::reference::regime::{MarketRegime, market_regime_patterns};
use super::reference::relaxation::constraint_relaxation;
use super::reference::{SequenceParams, generate_action_sequences, securities_by_symbol};
use super::settings::{CombinatorialSettings, FeasibilitySettings, FilterSettings};

fn default_batch_size() -> i64 {
    500
}
fn default_true() -> bool {
    true
}

/// Portfolio totals for the adaptive patterns (the generator's `PortfolioContextInput`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GeneratorPortfolioContext {
    pub total_value: f64,
    /// Position value in EUR by symbol, in request order.
    pub positions: IndexMap<String, f64>,
    /// Target weight by country group.
    #[serde(default)]
    pub country_weights: IndexMap<String, f64>,
    /// Target weight by industry group.
    #[serde(default)]
    pub industry_weights: IndexMap<String, f64>,
}

impl GeneratorPortfolioContext {
    /// The adaptive patterns' view: no security-to-country or -industry map, as in the
    /// reference service, so every current allocation is 0.
    pub fn adaptive_context(&self) -> AdaptiveContext {
        AdaptiveContext {
            total_value: self.total_value,
            positions: self.positions.clone(),
            country_weights: self.country_weights.clone(),
            industry_weights: self.industry_weights.clone(),
            ..AdaptiveContext::default()
        }
    }
}

/// A held position of the generator's request body (its `PositionInput`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GeneratorPositionBody {
    pub symbol: String,
    pub quantity: i64,
    pub avg_price: f64,
    pub market_value_eur: f64,
}

/// A tradable security of the generator's request body (its `SecurityInput`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GeneratorSecurityBody {
    pub symbol: String,
    pub name: String,
    #[serde(default)]
    pub country: Option<String>,
    /// Comma-separated industries.
    #[serde(default)]
    pub industry: Option<String>,
    #[serde(default = "default_true")]
    pub allow_buy: bool,
    #[serde(default = "default_true")]
    pub allow_sell: bool,
}

impl GeneratorSecurityBody {
    /// The domain security: symbol upper-cased and trimmed, no ISIN, the service's fixed
    /// defaults for everything the request cannot set.
    pub fn to_domain(&self) -> Security {
        let mut security = Security::new(&self.symbol, &self.name);
        security.country = self.country.clone();
        security.industry = self.industry.clone();
        security.allow_buy = self.allow_buy;
        security.allow_sell = self.allow_sell;
        security
    }
}

/// The request body. Field names, defaults and bounds are the reference's; the optional
/// `combinatorial.seed` and `filters.correlation_matrix` are additions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GenerateSequencesRequest {
    pub opportunities: Opportunities,
    pub feasibility: FeasibilitySettings,
    #[serde(default)]
    pub combinatorial: CombinatorialSettings,
    #[serde(default)]
    pub filters: FilterSettings,
    /// Sequences per streamed line, 10..=5000.
    #[serde(default = "default_batch_size")]
    pub batch_size: i64,
    #[serde(default)]
    pub portfolio_context: Option<GeneratorPortfolioContext>,
    #[serde(default)]
    pub positions: Vec<GeneratorPositionBody>,
    #[serde(default)]
    pub securities: Vec<GeneratorSecurityBody>,
    /// `"bull"`, `"bear"`, anything else is sideways; used only with `enable_market_regime`.
    #[serde(default)]
    pub market_regime: Option<String>,
    /// Addition: `"reference"` (the default) or `"exhaustive"`.
    #[serde(default)]
    pub mode: GenerationMode,
    /// Addition: settings of the exhaustive mode.
    #[serde(default)]
    pub exhaustive: ExhaustiveSettings,
}

/// A location under `body`; the index becomes a number in the error, as in pydantic.
fn body_loc(list: &str, index: usize, field: &str) -> Vec<String> {
    vec![
        "body".to_string(),
        list.to_string(),
        index.to_string(),
        field.to_string(),
    ]
}

/// Pydantic's shape for an error raised by a validator.
fn value_error(loc: Vec<String>, message: &str, input: Value) -> FieldError {
    FieldError::value_error(locate(&loc), message, input)
}

impl GenerateSequencesRequest {
    /// The pydantic bounds of every field, located under `body`, in field order. Also refuses
    /// what the reference's domain objects raised on (a crash after the response had started):
    /// a blank security symbol or name, and — now that positions are used — a blank position
    /// symbol, a negative quantity or a non-positive average price.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = self.feasibility.validate(&["body", "feasibility"]);
        errors.extend(self.combinatorial.validate(&["body", "combinatorial"]));
        errors.extend(self.filters.validate(&["body", "filters"]));
        FieldError::int_range(
            &mut errors,
            vec!["body".into(), "batch_size".into()],
            self.batch_size,
            10,
            5000,
        );
        errors.extend(self.exhaustive.validate(&["body", "exhaustive"]));
        for (i, p) in self.positions.iter().enumerate() {
            if p.symbol.trim().is_empty() {
                errors.push(value_error(
                    body_loc("positions", i, "symbol"),
                    "symbol must not be empty",
                    Value::from(p.symbol.as_str()),
                ));
            }
            if p.quantity < 0 {
                errors.push(value_error(
                    body_loc("positions", i, "quantity"),
                    "quantity must not be negative",
                    Value::from(p.quantity),
                ));
            }
            if !p.avg_price.is_finite() {
                errors.push(FieldError::finite(body_loc("positions", i, "avg_price")));
            } else if p.avg_price <= 0.0 {
                errors.push(value_error(
                    body_loc("positions", i, "avg_price"),
                    "avg_price must be greater than 0",
                    Value::from(p.avg_price),
                ));
            }
        }
        for (i, s) in self.securities.iter().enumerate() {
            if s.symbol.trim().is_empty() {
                errors.push(value_error(
                    body_loc("securities", i, "symbol"),
                    "symbol must not be empty",
                    Value::from(s.symbol.as_str()),
                ));
            }
            if s.name.trim().is_empty() {
                errors.push(value_error(
                    body_loc("securities", i, "name"),
                    "name must not be empty",
                    Value::from(s.name.as_str()),
                ));
            }
        }
        errors
    }

    /// The securities as domain objects, in request order.
    pub fn domain_securities(&self) -> Vec<Security> {
        self.securities
            .iter()
            .map(GeneratorSecurityBody::to_domain)
            .collect()
    }

    /// Held quantity by upper-cased symbol; a later position for the same symbol wins.
    pub fn held_quantities(&self) -> HashMap<String, i64> {
        self.positions
            .iter()
            .map(|p| (normalize_symbol(&p.symbol), p.quantity))
            .collect()
    }

    /// The sampler's seed: the request's, else the caller's default.
    pub fn seed(&self, default_seed: u64) -> u64 {
        self.combinatorial.seed.unwrap_or(default_seed)
    }
}

/// Runs the reference pipeline (spec §1.2.3, steps 1–8) on a validated request and returns
/// the feasible sequences in output order:
///
/// 1. candidates as given; 2. patterns of every depth, deduplicated (§4.1–4.4);
/// 3. adaptive patterns when on, with a portfolio context and securities (§4.5);
/// 4. the market-regime pattern when on and a regime is named (§4.6);
/// 5. the correlation filter when on and securities are given (§4.10);
/// 6. partial-execution prefixes of everything so far (§4.7);
/// 7. constraint-relaxation variants when positions are given (§4.8);
/// 8. the feasibility filter (§4.11).
///
/// Steps 3, 4, 6 and 7 are not deduplicated, as in the reference. One ChaCha8 generator,
/// seeded with `combinatorial.seed` or `default_seed`, drives the sampler across all depths.
pub fn generate_request(
    req: &GenerateSequencesRequest,
    default_seed: u64,
) -> Vec<Vec<ActionCandidate>> {
    let settings = &req.combinatorial;
    let cash = req.feasibility.available_cash;
    let params = SequenceParams::from_settings(settings, cash);
    let securities = req.domain_securities();
    let by_symbol = securities_by_symbol(&securities);
    let held = req.held_quantities();
    let mut rng = ChaCha8Rng::seed_from_u64(req.seed(default_seed));

    let mut sequences =
        generate_action_sequences(&req.opportunities, &params, by_symbol.as_ref(), &mut rng);

    if settings.enable_adaptive_patterns
        && !securities.is_empty()
        && let Some(context) = &req.portfolio_context
    {
        sequences.extend(adaptive_patterns(
            &req.opportunities,
            &context.adaptive_context(),
            cash,
            params.max_depth,
            by_symbol.as_ref(),
        ));
    }

    if settings.enable_market_regime
        && let Some(regime) = req.market_regime.as_deref().filter(|r| !r.is_empty())
    {
        sequences.extend(market_regime_patterns(
            &req.opportunities,
            MarketRegime::parse(regime),
            cash,
            params.max_depth,
            params.max_per_category,
        ));
    }

    if req.filters.enable_correlation_aware && !securities.is_empty() {
        sequences = filter_correlated(
            sequences,
            &securities,
            req.filters.correlation_matrix.as_ref(),
        );
    }

    if settings.enable_partial_execution {
        let prefixes = partial_execution(&sequences, params.max_depth);
        sequences.extend(prefixes);
    }

    if settings.enable_constraint_relaxation && !req.positions.is_empty() {
        let relaxed = constraint_relaxation(&sequences, cash, &held);
        sequences.extend(relaxed);
    }

    FeasibilityCheck::new(&req.feasibility)
        .with_securities(&securities)
        .with_positions(held)
        .filter(sequences)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::validation::decode_body;
    use serde_json::json;

    fn body(extra: Value) -> Value {
        let mut body = json!({
            "opportunities": {},
            "feasibility": {"available_cash": 1000.0}
        });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    }

    fn errors(extra: Value) -> Vec<FieldError> {
        let bytes = serde_json::to_vec(&body(extra)).unwrap();
        let request: GenerateSequencesRequest = decode_body(&bytes).unwrap();
        request.validate()
    }

    fn loc(e: &FieldError) -> Value {
        Value::Array(e.loc.clone())
    }

    #[test]
    fn defaults_of_a_minimal_request() {
        let bytes = serde_json::to_vec(&body(json!({}))).unwrap();
        let r: GenerateSequencesRequest = decode_body(&bytes).unwrap();
        assert_eq!(r.batch_size, 500);
        assert_eq!(r.combinatorial, CombinatorialSettings::default());
        assert_eq!(r.filters, FilterSettings::default());
        assert!(r.portfolio_context.is_none() && r.market_regime.is_none());
        assert!(r.positions.is_empty() && r.securities.is_empty());
        assert!(r.validate().is_empty());
        assert_eq!(r.seed(9), 9);
    }

    #[test]
    fn batch_size_bounds() {
        for (size, kind) in [(9, "greater_than_equal"), (5001, "less_than_equal")] {
            let e = errors(json!({"batch_size": size}));
            assert_eq!(e.len(), 1);
            assert_eq!(e[0].kind, kind);
            assert_eq!(loc(&e[0]), json!(["body", "batch_size"]));
            assert_eq!(e[0].input, json!(size));
        }
        assert!(errors(json!({"batch_size": 10})).is_empty());
        assert!(errors(json!({"batch_size": 5000})).is_empty());
    }

    #[test]
    fn max_depth_bounds() {
        let e = errors(json!({"combinatorial": {"max_depth": 0}}));
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].kind, "greater_than_equal");
        assert_eq!(e[0].msg, "Input should be greater than or equal to 1");
        assert_eq!(e[0].ctx, Some(json!({"ge": 1})));
        assert_eq!(loc(&e[0]), json!(["body", "combinatorial", "max_depth"]));
        let e = errors(json!({"combinatorial": {"max_depth": 11}}));
        assert_eq!(e[0].kind, "less_than_equal");
        assert_eq!(e[0].msg, "Input should be less than or equal to 10");
        assert_eq!(loc(&e[0]), json!(["body", "combinatorial", "max_depth"]));
    }

    #[test]
    fn transaction_cost_percent_bound() {
        let e = errors(
            json!({"feasibility": {"available_cash": 1.0, "transaction_cost_percent": 0.2}}),
        );
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].kind, "less_than_equal");
        assert_eq!(e[0].ctx, Some(json!({"le": 0.1})));
        assert_eq!(e[0].input, json!(0.2));
        assert_eq!(
            loc(&e[0]),
            json!(["body", "feasibility", "transaction_cost_percent"])
        );
    }

    #[test]
    fn filters_are_validated_under_their_name() {
        let e = errors(json!({"filters": {"correlation_threshold": 2.0}}));
        assert_eq!(
            loc(&e[0]),
            json!(["body", "filters", "correlation_threshold"])
        );
    }

    #[test]
    fn missing_available_cash_is_a_missing_field() {
        let e =
            decode_body::<GenerateSequencesRequest>(br#"{"opportunities": {}, "feasibility": {}}"#)
                .unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].kind, "missing");
        assert_eq!(e[0].msg, "Field required");
        assert_eq!(loc(&e[0]), json!(["body", "feasibility", "available_cash"]));
        let e = decode_body::<GenerateSequencesRequest>(br#"{"opportunities": {}}"#).unwrap_err();
        assert_eq!(loc(&e[0]), json!(["body", "feasibility"]));
    }

    #[test]
    fn a_side_other_than_buy_or_sell_is_an_enum_error() {
        let body = br#"{"opportunities": {"rebalance_buys": [{"side":"buy","symbol":"A","name":"A","quantity":1,"price":1.0,"value_eur":1.0,"currency":"EUR","priority":0.1,"reason":"r"}]}, "feasibility": {"available_cash": 1}}"#;
        let e = decode_body::<GenerateSequencesRequest>(body).unwrap_err();
        assert_eq!(e[0].kind, "enum");
        assert_eq!(
            loc(&e[0]),
            json!(["body", "opportunities", "rebalance_buys", 0, "side"])
        );
    }

    #[test]
    fn what_crashed_the_reference_is_a_located_value_error() {
        let e = errors(json!({
            "securities": [
                {"symbol": "A", "name": "Alpha"},
                {"symbol": "B", "name": "  "},
                {"symbol": " ", "name": "Gamma"}
            ],
            "positions": [
                {"symbol": "A", "quantity": -1, "avg_price": 0.0, "market_value_eur": 0.0},
                {"symbol": "", "quantity": 1, "avg_price": 1.0, "market_value_eur": 1.0}
            ]
        }));
        let located: Vec<(Value, &str)> = e.iter().map(|e| (loc(e), e.kind.as_str())).collect();
        assert_eq!(
            located,
            vec![
                (json!(["body", "positions", 0, "quantity"]), "value_error"),
                (json!(["body", "positions", 0, "avg_price"]), "value_error"),
                (json!(["body", "positions", 1, "symbol"]), "value_error"),
                (json!(["body", "securities", 1, "name"]), "value_error"),
                (json!(["body", "securities", 2, "symbol"]), "value_error"),
            ]
        );
        assert_eq!(e[3].msg, "Value error, name must not be empty");
        assert_eq!(e[3].input, json!("  "));
        assert_eq!(e[3].ctx, Some(json!({"error": "name must not be empty"})));
    }

    #[test]
    fn securities_become_domain_securities() {
        let s = GeneratorSecurityBody {
            symbol: " abc ".into(),
            name: "Abc".into(),
            country: Some("DE".into()),
            industry: Some("Tech, Cars".into()),
            allow_buy: false,
            allow_sell: true,
        };
        let d = s.to_domain();
        assert_eq!(d.symbol, "ABC");
        assert_eq!(d.isin, None);
        assert_eq!(d.country.as_deref(), Some("DE"));
        assert!(!d.allow_buy && d.allow_sell);
        assert_eq!(d.min_lot, 1);
        let parsed: GeneratorSecurityBody =
            serde_json::from_value(json!({"symbol": "x", "name": "X"})).unwrap();
        assert!(parsed.allow_buy && parsed.allow_sell);
    }
}
