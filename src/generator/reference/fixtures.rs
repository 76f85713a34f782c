//! Builders shared by the reference stage tests, and the worked example of spec §7.2.

use crate::domain::{ActionCandidate, Opportunities, Security, Side};

use super::Sequence;

pub fn action(
    side: Side,
    symbol: &str,
    quantity: i64,
    value: f64,
    priority: f64,
) -> ActionCandidate {
    ActionCandidate {
        side,
        symbol: symbol.to_string(),
        name: format!("{symbol} name"),
        quantity,
        price: value / quantity.max(1) as f64,
        value_eur: value,
        currency: "EUR".into(),
        priority,
        reason: "test".into(),
        tags: vec!["test".into()],
    }
}

pub fn buy(symbol: &str, value: f64, priority: f64) -> ActionCandidate {
    action(Side::Buy, symbol, 10, value, priority)
}

pub fn sell(symbol: &str, value: f64, priority: f64) -> ActionCandidate {
    action(Side::Sell, symbol, 10, value, priority)
}

pub fn security(symbol: &str, country: Option<&str>, industry: Option<&str>) -> Security {
    let mut s = Security::new(symbol, &format!("{symbol} Inc"));
    s.country = country.map(str::to_string);
    s.industry = industry.map(str::to_string);
    s
}

/// `S:AAA B:DDD` style label of a sequence.
pub fn label(sequence: &[ActionCandidate]) -> String {
    sequence
        .iter()
        .map(|a| {
            let side = match a.side {
                Side::Buy => "B",
                Side::Sell => "S",
            };
            format!("{side}:{}", a.symbol)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Like [`label`] with quantities: `S:AAA×20 B:DDD×40`.
pub fn label_with_quantity(sequence: &[ActionCandidate]) -> String {
    sequence
        .iter()
        .map(|a| {
            let side = match a.side {
                Side::Buy => "B",
                Side::Sell => "S",
            };
            format!("{side}:{}×{}", a.symbol, a.quantity)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn labels(sequences: &[Sequence]) -> Vec<String> {
    sequences.iter().map(|s| label(s)).collect()
}

/// The opportunity response of spec §7.2, verbatim.
pub const SPEC_OPPORTUNITIES: &str = r#"{"profit_taking": [],
 "averaging_down": [{"side":"BUY","symbol":"BBB","name":"Beta","quantity":49,"price":20.0,"value_eur":980.0,"currency":"EUR","priority":9.999999999999998,"reason":"Optimizer target: 30.0% (current: 20.0%)","tags":["averaging_down","optimizer_target"]}],
 "rebalance_sells": [
  {"side":"SELL","symbol":"AAA","name":"Alpha","quantity":20,"price":50.0,"value_eur":1000.0,"currency":"EUR","priority":10.0,"reason":"Optimizer target: 15.0% (current: 25.0%)","tags":["rebalance","optimizer_target"]},
  {"side":"SELL","symbol":"CCC","name":"Gamma","quantity":4,"price":100.0,"value_eur":400.0,"currency":"EUR","priority":4.999999999999999,"reason":"Optimizer target: 40.0% (current: 45.0%)","tags":["rebalance","optimizer_target"]}],
 "rebalance_buys": [{"side":"BUY","symbol":"DDD","name":"Delta","quantity":40,"price":25.0,"value_eur":1000.0,"currency":"EUR","priority":10.0,"reason":"Optimizer target: 10.0% (current: 0.0%)","tags":["rebalance","optimizer_target"]}],
 "opportunity_buys": []}"#;

pub fn spec_opportunities() -> Opportunities {
    serde_json::from_str(SPEC_OPPORTUNITIES).expect("the spec's example parses")
}
