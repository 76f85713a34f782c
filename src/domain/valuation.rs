//! The portfolio as `GET /api/portfolio` shows it: positions valued in EUR with weights and
//! gains, cash per currency and in EUR, and the allocation by country and industry group
//! against the targets. Pure: the caller reads the inputs from the store.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::{Currency, Decimal, Money, Quantity};

/// The group a holding without a country or industry counts in.
const OTHER: &str = "Other";

/// A held position.
#[derive(Debug, Clone, PartialEq)]
pub struct Holding {
    pub symbol: String,
    pub quantity: Quantity,
    /// Per share, in `currency`.
    pub avg_price: Decimal,
    pub currency: Currency,
}

/// What the universe says of a security.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Listing {
    pub name: String,
    pub country: Option<String>,
    /// Comma-separated industries; the first one counts.
    pub industry: Option<String>,
}

/// What allocation targets are set on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocationKind {
    Country,
    Industry,
}

/// The target weight (0..=1) of a group of countries or industries.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupTarget {
    pub kind: AllocationKind,
    pub group: String,
    pub target: f64,
}

/// One country or industry and the group it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    pub kind: AllocationKind,
    pub member: String,
    pub group: String,
}

/// Everything a valuation reads.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ValuationInputs {
    pub holdings: Vec<Holding>,
    /// By symbol.
    pub listings: HashMap<String, Listing>,
    /// Last price by symbol, in the security's currency.
    pub quotes: HashMap<String, f64>,
    /// Native units per EUR by currency code.
    pub rates_per_eur: HashMap<String, f64>,
    pub cash: Vec<Money>,
    pub targets: Vec<GroupTarget>,
    pub groups: Vec<GroupMember>,
}

/// A cash balance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CashLine {
    pub currency: String,
    pub amount: String,
    /// `None` without an FX rate for the currency.
    pub amount_eur: Option<f64>,
}

/// A held position, valued.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValuedPosition {
    pub symbol: String,
    pub name: Option<String>,
    pub country: Option<String>,
    pub industry: Option<String>,
    pub quantity: String,
    pub avg_price: String,
    /// The last quote; without one the position is valued at its average price.
    pub price: Option<f64>,
    pub currency: String,
    /// `None` without an FX rate for the currency.
    pub value_eur: Option<f64>,
    /// A fraction of the average price; `None` without a quote.
    pub pnl_pct: Option<f64>,
    /// A fraction of the total value.
    pub weight: Option<f64>,
    pub country_group: String,
    pub group_target: Option<f64>,
    /// The country group's target shared equally by the group's holdings (targets are set
    /// per group, not per security).
    pub target_weight: Option<f64>,
}

/// A group's weight in the portfolio, and its target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupWeight {
    pub group: String,
    pub weight: f64,
    pub target: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Allocation {
    pub country: Vec<GroupWeight>,
    pub industry: Vec<GroupWeight>,
}

/// The valued portfolio.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Valuation {
    pub total_value_eur: f64,
    pub invested_eur: f64,
    pub cash_eur: f64,
    pub cash: Vec<CashLine>,
    pub positions: Vec<ValuedPosition>,
    pub allocation: Allocation,
}

/// Values the portfolio of `inputs`.
pub fn value_portfolio(inputs: &ValuationInputs) -> Valuation {
    let rate = |currency: &str| inputs.rates_per_eur.get(currency).copied();
    let cash: Vec<CashLine> = inputs
        .cash
        .iter()
        .map(|m| {
            let currency = m.currency().to_string();
            let amount = m.to_decimal().to_f64();
            CashLine {
                amount_eur: rate(&currency).map(|r| amount / r),
                currency,
                amount: m.to_decimal_string(),
            }
        })
        .collect();
    let cash_eur: f64 = cash.iter().filter_map(|c| c.amount_eur).sum();
    let mut positions: Vec<ValuedPosition> = inputs
        .holdings
        .iter()
        .map(|h| value_holding(h, inputs.listings.get(&h.symbol), inputs))
        .collect();
    // A fold from +0.0: `sum` starts at -0.0, which an empty portfolio would show.
    let invested = positions
        .iter()
        .fold(0.0, |sum, p| sum + p.value_eur.unwrap_or(0.0));
    let total = invested + cash_eur;
    for position in &mut positions {
        position.weight = position
            .value_eur
            .filter(|v| v.is_finite() && total > 0.0)
            .map(|v| v / total);
    }
    share_country_targets(&mut positions, inputs);
    let allocation = Allocation {
        country: allocation(&positions, inputs, AllocationKind::Country, |p| {
            p.country.clone()
        }),
        industry: allocation(&positions, inputs, AllocationKind::Industry, |p| {
            p.industry
                .as_deref()
                .map(|s| s.split(',').next().unwrap_or(s).trim().to_string())
        }),
    };
    Valuation {
        total_value_eur: total,
        invested_eur: invested,
        cash_eur,
        cash,
        positions,
        allocation,
    }
}

/// A holding valued at its last quote (its average price without one), before weights and
/// targets are known.
fn value_holding(
    holding: &Holding,
    listing: Option<&Listing>,
    inputs: &ValuationInputs,
) -> ValuedPosition {
    let quantity = holding.quantity.as_decimal().to_f64();
    let avg = holding.avg_price.to_f64();
    let currency = holding.currency.to_string();
    let price = inputs.quotes.get(&holding.symbol).copied();
    let value_eur = inputs
        .rates_per_eur
        .get(&currency)
        .map(|r| quantity * price.unwrap_or(avg) / r);
    ValuedPosition {
        symbol: holding.symbol.clone(),
        name: listing.map(|l| l.name.clone()),
        country: listing.and_then(|l| l.country.clone()),
        industry: listing.and_then(|l| l.industry.clone()),
        quantity: holding.quantity.to_string(),
        avg_price: holding.avg_price.to_string(),
        price,
        currency,
        value_eur,
        pnl_pct: price.filter(|_| avg > 0.0).map(|price| (price - avg) / avg),
        weight: None,
        country_group: String::new(),
        group_target: None,
        target_weight: None,
    }
}

fn group_of(inputs: &ValuationInputs, kind: AllocationKind, member: String) -> String {
    inputs
        .groups
        .iter()
        .find(|g| g.kind == kind && g.member == member)
        .map_or(member, |g| g.group.clone())
}

fn target_of(inputs: &ValuationInputs, kind: AllocationKind, group: &str) -> Option<f64> {
    inputs
        .targets
        .iter()
        .find(|t| t.kind == kind && t.group == group)
        .map(|t| t.target)
}

/// Each position's country group, the group's target, and its share of that target.
fn share_country_targets(positions: &mut [ValuedPosition], inputs: &ValuationInputs) {
    for position in positions.iter_mut() {
        let country = position.country.clone().unwrap_or_else(|| OTHER.into());
        let group = group_of(inputs, AllocationKind::Country, country);
        position.group_target = target_of(inputs, AllocationKind::Country, &group);
        position.country_group = group;
    }
    let mut held_per_group: HashMap<String, usize> = HashMap::new();
    for position in positions.iter() {
        *held_per_group
            .entry(position.country_group.clone())
            .or_insert(0) += 1;
    }
    for position in positions.iter_mut() {
        let held = held_per_group[&position.country_group] as f64;
        position.target_weight = position.group_target.map(|t| t / held);
    }
}

/// The weight of every group of `kind` that is held or has a target, by group name.
fn allocation(
    positions: &[ValuedPosition],
    inputs: &ValuationInputs,
    kind: AllocationKind,
    member_of: impl Fn(&ValuedPosition) -> Option<String>,
) -> Vec<GroupWeight> {
    let mut actual: BTreeMap<String, f64> = BTreeMap::new();
    for p in positions {
        let member = member_of(p).unwrap_or_else(|| OTHER.into());
        let group = group_of(inputs, kind, member);
        *actual.entry(group).or_insert(0.0) += p.weight.unwrap_or(0.0);
    }
    for t in inputs.targets.iter().filter(|t| t.kind == kind) {
        actual.entry(t.group.clone()).or_insert(0.0);
    }
    actual
        .into_iter()
        .map(|(group, weight)| GroupWeight {
            target: target_of(inputs, kind, &group),
            group,
            weight,
        })
        .collect()
}

#[cfg(test)]
#[path = "valuation_tests.rs"]
mod tests;
