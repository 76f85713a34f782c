//! The two rules a hobbyist could follow by hand, exactly as the backtest contract states them:
//! buy-and-hold, and the 5/25 band rebalancer.

use std::cmp::Ordering;

use super::BacktestError;
use super::account::Account;
use super::simulate::{CycleDay, Strategy};

/// Buys the targets on the first cycle day, then only invests deposits; never sells.
#[derive(Debug, Default)]
pub struct BuyAndHold;

impl Strategy for BuyAndHold {
    fn trade(&mut self, cycle: &CycleDay, account: &mut Account) -> Result<u64, BacktestError> {
        if cycle.first {
            let value = account.value(cycle.prices);
            for (i, &price) in cycle.prices.iter().enumerate() {
                let goal = whole_shares(cycle.universe.targets[i] * value, price);
                account.buy(i, goal - account.shares[i], price);
            }
        } else if cycle.deposit > 0.0 {
            invest_spare_cash(cycle, account);
        }
        Ok(0)
    }
}

/// The 5/25 rule: trades back to target whatever left its band, then invests spare cash.
#[derive(Debug, Default)]
pub struct BandRebalancer;

impl Strategy for BandRebalancer {
    fn trade(&mut self, cycle: &CycleDay, account: &mut Account) -> Result<u64, BacktestError> {
        let universe = cycle.universe;
        let prices = cycle.prices;
        let value = account.value(prices);
        let weights = weights(account, prices, value);
        let goal = |i: usize| whole_shares(universe.targets[i] * value, prices[i]);
        // 1. Above the band: sell down to target, in name order.
        for i in 0..prices.len() {
            if weights[i] - universe.targets[i] > universe.band(i) {
                account.sell(i, account.shares[i] - goal(i), prices[i]);
            }
        }
        // 2. Below the band: buy up to target, the largest shortfall first (same weights).
        let below: Vec<usize> = (0..prices.len())
            .filter(|&i| universe.targets[i] - weights[i] > universe.band(i))
            .collect();
        for i in by_shortfall(below, &universe.targets, &weights) {
            account.buy(i, goal(i) - account.shares[i], prices[i]);
        }
        // 3. Spare cash, with the weights after steps 1 and 2.
        invest_spare_cash(cycle, account);
        Ok(0)
    }
}

/// Step 3 of the band rebalancer: when cash is more than 1 point above the reserve, a budget
/// of cash − reserve × value (costs included) goes to the underweight symbols, the largest
/// shortfall first, each up to its target; a symbol whose one share and fixed fee exceed what is
/// left is skipped.
fn invest_spare_cash(cycle: &CycleDay, account: &mut Account) {
    let universe = cycle.universe;
    let prices = cycle.prices;
    let value = account.value(prices);
    if account.cash / value <= universe.reserve + 0.01 {
        return;
    }
    let mut budget = account.cash - universe.reserve * value;
    let weights = weights(account, prices, value);
    let under: Vec<usize> = (0..prices.len())
        .filter(|&i| universe.targets[i] - weights[i] > 0.0)
        .collect();
    for i in by_shortfall(under, &universe.targets, &weights) {
        let price = prices[i];
        if price + account.costs.fee.fixed_eur > budget {
            continue;
        }
        let wanted = whole_shares(universe.targets[i] * value, price) - account.shares[i];
        let shares = wanted.min(account.costs.affordable(budget, price));
        let bought = account.buy(i, shares, price);
        if bought > 0 {
            let order = bought as f64 * price;
            budget -= order + account.costs.of(order);
        }
    }
}

/// floor(amount / price) whole shares.
fn whole_shares(amount: f64, price: f64) -> i64 {
    (amount / price).floor() as i64
}

/// The weight of each holding in `value`.
fn weights(account: &Account, prices: &[f64], value: f64) -> Vec<f64> {
    account
        .shares
        .iter()
        .zip(prices)
        .map(|(&n, &p)| n as f64 * p / value)
        .collect()
}

/// `symbols` ordered by shortfall (target − weight), largest first, ties by symbol (index order
/// is name order).
fn by_shortfall(mut symbols: Vec<usize>, targets: &[f64], weights: &[f64]) -> Vec<usize> {
    symbols.sort_by(|&a, &b| {
        let (sa, sb) = (targets[a] - weights[a], targets[b] - weights[b]);
        sb.partial_cmp(&sa)
            .unwrap_or(Ordering::Equal)
            .then(a.cmp(&b))
    });
    symbols
}
