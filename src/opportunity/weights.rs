//! The weight-based path (spec §3.2): trades that move the portfolio toward an optimizer's
//! target weights.
//!
//! The arithmetic follows the reference's f64 operation order exactly (`gap = t − c`,
//! `gap_value = gap × T`, `q = trunc(gap_value / price)`), because a different order changes
//! quantities: `0.30 − 0.20` is `0.09999999999999998`, which buys 49 shares at 20, not 50.
//! Request maps are used with their keys as given while securities and positions carry
//! upper-cased symbols, so a lower-case key finds no security (spec §8 item 6, kept on purpose).

use std::collections::{HashMap, HashSet};

use indexmap::IndexMap;

use crate::domain::{ActionCandidate, Category, Position, Security, Side};

use super::identified::{IdentificationPath, Identified};
use super::rejection::{IneligibleWhy, RejectReason, Rejection};

/// Gaps at or below this weight (0.5 %) are ignored.
pub const MIN_WEIGHT_GAP: f64 = 0.005;

/// Everything the weight path reads.
#[derive(Clone, Debug, PartialEq)]
pub struct WeightInputs {
    /// Target weight per symbol (0..1), in the order the caller gave them.
    pub target_weights: IndexMap<String, f64>,
    /// EUR value per held symbol; defines the current weights (not `positions`).
    pub position_values: IndexMap<String, f64>,
    /// Denominator of every weight.
    pub total_value: f64,
    pub positions: Vec<Position>,
    pub securities: Vec<Security>,
    /// Price per share, treated as EUR.
    pub current_prices: IndexMap<String, f64>,
    pub transaction_cost_fixed: f64,
    pub transaction_cost_percent: f64,
    /// Symbols in the sell cooldown: their sells are skipped.
    pub recently_sold: HashSet<String>,
    /// Symbols that may not be sold.
    pub ineligible_symbols: HashSet<String>,
}

impl Default for WeightInputs {
    fn default() -> Self {
        WeightInputs {
            target_weights: IndexMap::new(),
            position_values: IndexMap::new(),
            total_value: 0.0,
            positions: Vec::new(),
            securities: Vec::new(),
            current_prices: IndexMap::new(),
            transaction_cost_fixed: 2.0,
            transaction_cost_percent: 0.002,
            recently_sold: HashSet::new(),
            ineligible_symbols: HashSet::new(),
        }
    }
}

/// The difference between a symbol's target and current weight (spec §2.6).
#[derive(Clone, Debug, PartialEq)]
pub struct WeightGap {
    pub symbol: String,
    pub current: f64,
    pub target: f64,
    /// `target − current`: positive buys, negative sells.
    pub gap: f64,
    /// `gap × total_value`, EUR.
    pub gap_value: f64,
}

/// Gaps larger than [`MIN_WEIGHT_GAP`]: targets first (in their order), then held symbols
/// without a target (target 0), stable-sorted by |gap|, largest first.
pub fn weight_gaps(
    target_weights: &IndexMap<String, f64>,
    current_weights: &IndexMap<String, f64>,
    total_value: f64,
) -> Vec<WeightGap> {
    let mut gaps = Vec::new();
    for (symbol, &target) in target_weights {
        let current = current_weights.get(symbol).copied().unwrap_or(0.0);
        let gap = target - current;
        if gap.abs() > MIN_WEIGHT_GAP {
            gaps.push(WeightGap {
                symbol: symbol.clone(),
                current,
                target,
                gap,
                gap_value: gap * total_value,
            });
        }
    }
    for (symbol, &current) in current_weights {
        if !target_weights.contains_key(symbol) && current > MIN_WEIGHT_GAP {
            gaps.push(WeightGap {
                symbol: symbol.clone(),
                current,
                target: 0.0,
                gap: -current,
                gap_value: -current * total_value,
            });
        }
    }
    gaps.sort_by(|a, b| {
        b.gap
            .abs()
            .partial_cmp(&a.gap.abs())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    gaps
}

/// The cost of trading `|gap_value|` and whether the trade covers twice that cost.
fn worthwhile(gap_value: f64, fixed: f64, percent: f64) -> (bool, f64) {
    let cost = fixed + gap_value.abs() * percent;
    (gap_value.abs() >= cost * 2.0, cost)
}

/// `"Optimizer target: 30.0% (current: 20.0%)"`. Python's `{:.1%}` multiplies by 100 once and
/// formats with one decimal, correctly rounded, which is what Rust's `{:.1}` does.
fn reason(gap: &WeightGap) -> String {
    format!(
        "Optimizer target: {:.1}% (current: {:.1}%)",
        gap.target * 100.0,
        gap.current * 100.0
    )
}

fn tags(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Identifies candidates from target weights. Only `averaging_down`, `rebalance_sells` and
/// `rebalance_buys` can be filled on this path.
pub fn identify_from_weights(input: &WeightInputs) -> Identified {
    let mut out = Identified::new(IdentificationPath::Weights);
    let total = input.total_value;
    if total <= 0.0 {
        return out;
    }
    // Later duplicates win, as in a dict built from a list.
    let securities: HashMap<&str, &Security> = input
        .securities
        .iter()
        .map(|s| (s.symbol.as_str(), s))
        .collect();
    let positions: HashMap<&str, &Position> = input
        .positions
        .iter()
        .map(|p| (p.symbol.as_str(), p))
        .collect();
    let current_weights: IndexMap<String, f64> = input
        .position_values
        .iter()
        .map(|(s, &v)| (s.clone(), v / total))
        .collect();

    for gap in weight_gaps(&input.target_weights, &current_weights, total) {
        let symbol = gap.symbol.as_str();
        let side = if gap.gap > 0.0 { Side::Buy } else { Side::Sell };
        let security = securities.get(symbol).copied();
        let position = positions.get(symbol).copied();
        let price = input.current_prices.get(symbol).copied().unwrap_or(0.0);
        // `price > 0` also refuses NaN, which the reference's `price <= 0` would let through
        // into a division.
        let priced = price > 0.0;
        if !priced {
            out.reject(Rejection::new(
                symbol,
                Some(side),
                None,
                RejectReason::NoPrice,
            ));
            continue;
        }
        let (ok, cost) = worthwhile(
            gap.gap_value,
            input.transaction_cost_fixed,
            input.transaction_cost_percent,
        );
        if !ok {
            out.reject(Rejection::new(
                symbol,
                Some(side),
                None,
                RejectReason::BelowWorthwhile {
                    value: gap.gap_value.abs(),
                    cost,
                },
            ));
            continue;
        }
        let result = if side == Side::Buy {
            buy(&gap, security, position, price)
        } else {
            sell(&gap, security, position, price, input)
        };
        match result {
            Ok((category, candidate)) => out.opportunities.list_mut(category).push(candidate),
            Err(rejection) => out.reject(rejection),
        }
    }
    out.opportunities.sort_by_priority();
    out
}

/// A buy toward the target (`_process_buy_opportunity`).
fn buy(
    gap: &WeightGap,
    security: Option<&Security>,
    position: Option<&Position>,
    price: f64,
) -> Result<(Category, ActionCandidate), Rejection> {
    let symbol = gap.symbol.as_str();
    let reject = |reason| Rejection::new(symbol, Some(Side::Buy), None, reason);
    let Some(security) = security else {
        return Err(reject(RejectReason::NoSecurity));
    };
    if !security.allow_buy {
        return Err(reject(RejectReason::NotAllowedToBuy));
    }
    let mut quantity = (gap.gap_value / price) as i64;
    // A gap too small for one lot still buys one lot (spec §8 item 7).
    if security.min_lot != 0 && quantity < security.min_lot {
        quantity = security.min_lot;
    }
    if quantity <= 0 {
        return Err(reject(RejectReason::ZeroQuantity));
    }
    let (category, tag_list) = match position {
        Some(p) if p.avg_price > price => (
            Category::AveragingDown,
            ["averaging_down", "optimizer_target"],
        ),
        _ => (Category::RebalanceBuys, ["rebalance", "optimizer_target"]),
    };
    let candidate = ActionCandidate {
        side: Side::Buy,
        symbol: symbol.to_string(),
        name: security.name.clone(),
        quantity,
        price,
        value_eur: quantity as f64 * price,
        currency: position.map_or_else(|| "EUR".to_string(), |p| p.currency.clone()),
        priority: gap.gap.abs() * 100.0 * security.priority_multiplier,
        reason: reason(gap),
        tags: tags(&tag_list),
    };
    Ok((category, candidate))
}

/// A sell toward the target (`_process_sell_opportunity` and the checks before it).
fn sell(
    gap: &WeightGap,
    security: Option<&Security>,
    position: Option<&Position>,
    price: f64,
    input: &WeightInputs,
) -> Result<(Category, ActionCandidate), Rejection> {
    let symbol = gap.symbol.as_str();
    let reject = |reason| Rejection::in_category(symbol, Category::RebalanceSells, reason);
    if input.recently_sold.contains(symbol) {
        return Err(reject(RejectReason::InSellCooldown {
            days_since_sell: None,
        }));
    }
    if input.ineligible_symbols.contains(symbol) {
        return Err(reject(RejectReason::IneligibleToSell(
            IneligibleWhy::Listed,
        )));
    }
    let Some(position) = position else {
        return Err(reject(RejectReason::NoPosition));
    };
    if let Some(security) = security {
        if !security.allow_sell {
            return Err(reject(RejectReason::NotAllowedToSell));
        }
        if position.quantity <= security.min_lot as f64 {
            return Err(reject(RejectReason::AtMinLot {
                quantity: position.quantity,
                min_lot: security.min_lot,
            }));
        }
    }
    let mut quantity = (gap.gap_value.abs() / price) as i64;
    if let Some(security) = security.filter(|s| s.min_lot != 0) {
        // Never leave less than one lot behind; selling the whole position (or more, the
        // quantity is not capped) stays possible (spec §8 item 7).
        let remaining = position.quantity - quantity as f64;
        if remaining < security.min_lot as f64 && remaining > 0.0 {
            quantity = (position.quantity - security.min_lot as f64) as i64;
        }
    }
    if quantity <= 0 {
        return Err(reject(RejectReason::ZeroQuantity));
    }
    let multiplier = security.map_or(1.0, |s| s.priority_multiplier);
    let candidate = ActionCandidate {
        side: Side::Sell,
        symbol: symbol.to_string(),
        name: security.map_or_else(|| symbol.to_string(), |s| s.name.clone()),
        quantity,
        price,
        value_eur: quantity as f64 * price,
        currency: position.currency.clone(),
        priority: gap.gap.abs() * 100.0 / multiplier,
        reason: reason(gap),
        tags: tags(&["rebalance", "optimizer_target"]),
    };
    Ok((Category::RebalanceSells, candidate))
}
