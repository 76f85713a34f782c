//! The simulated brokerage account of one strategy: EUR cash, whole shares, and the costs of
//! every order (the fee and the currency conversion), with cash never below zero.

use super::scenario::Fee;

/// What an order costs on top of its value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Costs {
    pub fee: Fee,
    /// Fraction of the converted amount charged on each conversion (EUR ↔ the price currency).
    pub fx_rate: f64,
}

impl Costs {
    /// Fee and conversion cost of an order of `value` EUR.
    pub fn of(&self, value: f64) -> f64 {
        self.fee.fixed_eur + (self.fee.rate + self.fx_rate) * value
    }

    /// The most whole shares at `price` that `budget` EUR buys, costs included.
    pub fn affordable(&self, budget: f64, price: f64) -> i64 {
        if budget <= self.fee.fixed_eur || price <= 0.0 {
            return 0;
        }
        let per_share = price * (1.0 + self.fee.rate + self.fx_rate);
        let mut shares = ((budget - self.fee.fixed_eur) / per_share).floor() as i64;
        // The division can round up by one ulp; the check below is the rule.
        while shares > 0 && shares as f64 * price + self.of(shares as f64 * price) > budget {
            shares -= 1;
        }
        shares.max(0)
    }
}

/// Cash, holdings and the running totals the figures need.
#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    pub cash: f64,
    /// Shares held, by symbol index.
    pub shares: Vec<i64>,
    pub costs: Costs,
    /// Fees and conversion costs paid.
    pub fees: f64,
    /// Orders executed.
    pub trades: u64,
    /// Value of the orders executed, without costs.
    pub traded_value: f64,
}

impl Account {
    pub fn new(cash: f64, symbols: usize, costs: Costs) -> Account {
        Account {
            cash,
            shares: vec![0; symbols],
            costs,
            fees: 0.0,
            trades: 0,
            traded_value: 0.0,
        }
    }

    /// Cash plus the holdings at `prices` (EUR).
    pub fn value(&self, prices: &[f64]) -> f64 {
        self.cash + self.holdings_value(prices)
    }

    /// The holdings at `prices` (EUR).
    pub fn holdings_value(&self, prices: &[f64]) -> f64 {
        self.shares
            .iter()
            .zip(prices)
            .map(|(&n, &p)| n as f64 * p)
            .sum()
    }

    /// Buys up to `shares` of `symbol` at `price`: as many as the cash covers, costs included.
    /// Returns the shares bought (0: dropped).
    pub fn buy(&mut self, symbol: usize, shares: i64, price: f64) -> i64 {
        let shares = shares.min(self.costs.affordable(self.cash, price));
        if shares <= 0 {
            return 0;
        }
        let value = shares as f64 * price;
        let costs = self.costs.of(value);
        self.cash = (self.cash - value - costs).max(0.0);
        self.settle(symbol, shares, value, costs);
        shares
    }

    /// Sells up to `shares` of `symbol` at `price` (never more than held, never when the costs
    /// would take cash below zero). Returns the shares sold.
    pub fn sell(&mut self, symbol: usize, shares: i64, price: f64) -> i64 {
        let shares = shares.min(self.shares[symbol]);
        if shares <= 0 {
            return 0;
        }
        let value = shares as f64 * price;
        let costs = self.costs.of(value);
        if self.cash + value - costs < 0.0 {
            return 0;
        }
        self.cash += value - costs;
        self.settle(symbol, -shares, value, costs);
        shares
    }

    fn settle(&mut self, symbol: usize, delta: i64, value: f64, costs: f64) {
        self.shares[symbol] += delta;
        self.fees += costs;
        self.trades += 1;
        self.traded_value += value;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn costs(fixed: f64, rate: f64, fx: f64) -> Costs {
        Costs {
            fee: Fee {
                fixed_eur: fixed,
                rate,
            },
            fx_rate: fx,
        }
    }

    #[test]
    fn a_buy_pays_value_fee_and_conversion() {
        let mut account = Account::new(1000.0, 1, costs(1.0, 0.002, 0.001));
        assert_eq!(account.buy(0, 5, 100.0), 5);
        // 500 + 1 + 0.3 % of 500.
        assert!((account.cash - (1000.0 - 500.0 - 1.0 - 1.5)).abs() < 1e-9);
        assert!((account.fees - 2.5).abs() < 1e-9);
        assert_eq!((account.trades, account.shares[0]), (1, 5));
    }

    #[test]
    fn a_buy_the_cash_cannot_cover_is_shrunk_or_dropped() {
        let mut account = Account::new(250.0, 1, costs(1.0, 0.002, 0.0));
        // 3 shares cost 300.6; 2 cost 200.4 + 1.
        assert_eq!(account.buy(0, 3, 100.0), 2);
        assert_eq!(account.buy(0, 1, 100.0), 0, "48.6 EUR left: dropped");
        assert_eq!(account.trades, 1);
    }

    #[test]
    fn a_sell_never_exceeds_the_holding() {
        let mut account = Account::new(0.0, 1, costs(1.0, 0.0, 0.0));
        account.shares[0] = 2;
        assert_eq!(account.sell(0, 5, 10.0), 2);
        assert!((account.cash - 19.0).abs() < 1e-9);
        assert_eq!(account.sell(0, 1, 10.0), 0);
    }

    proptest! {
        /// Whatever the orders, cash never goes below zero and never more is sold than held.
        #[test]
        fn cash_never_goes_negative_and_holdings_never_short(
            cash in 0.0f64..20_000.0,
            fixed in 0.0f64..10.0,
            rate in 0.0f64..0.02,
            fx in 0.0f64..0.01,
            orders in prop::collection::vec((any::<bool>(), 0usize..3, 0i64..500, 0.5f64..900.0), 1..60),
        ) {
            let mut account = Account::new(cash, 3, costs(fixed, rate, fx));
            for (is_buy, symbol, shares, price) in orders {
                let before = account.clone();
                let done = if is_buy {
                    account.buy(symbol, shares, price)
                } else {
                    account.sell(symbol, shares, price)
                };
                prop_assert!(account.cash >= 0.0);
                prop_assert!(account.shares.iter().all(|&n| n >= 0));
                prop_assert!(done >= 0 && done <= shares);
                if done > 0 {
                    // Money is conserved: the value moved plus the costs.
                    let value = done as f64 * price;
                    let sign = if is_buy { -1.0 } else { 1.0 };
                    let expected = before.cash + sign * value - account.costs.of(value);
                    prop_assert!((account.cash - expected.max(0.0)).abs() < 1e-6);
                } else {
                    prop_assert_eq!(&before, &account);
                }
            }
        }

        /// `affordable` is the largest whole number of shares the budget covers.
        #[test]
        fn affordable_is_the_most_the_budget_covers(
            budget in 0.0f64..50_000.0,
            price in 0.01f64..2_000.0,
            fixed in 0.0f64..10.0,
            rate in 0.0f64..0.02,
        ) {
            let c = costs(fixed, rate, 0.0);
            let n = c.affordable(budget, price);
            let cost = |n: i64| n as f64 * price + c.of(n as f64 * price);
            prop_assert!(n == 0 || cost(n) <= budget);
            prop_assert!(cost(n + 1) > budget);
        }
    }
}
