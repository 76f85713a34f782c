//! The generator's last stage (spec §4.11): a sequence is kept only if its average priority
//! reaches the threshold and a walk over its actions, with transaction costs, never runs out of
//! cash, never trades a forbidden security, never moves less than the minimum trade value and
//! never sells more than is held.
//!
//! The walk is exposed on its own ([`FeasibilityCheck::check`], [`action_cash_delta`]) so other
//! stages and tests can ask why a sequence fails, not only whether it does.

use std::collections::HashMap;
use std::fmt;

use crate::domain::{ActionCandidate, Security, Side, normalize_symbol};

use super::settings::FeasibilitySettings;

/// What one action does to the running cash: a sell brings in its value less its cost, a buy
/// takes out its value plus its cost. The cost is `fixed + value * percent`, computed first, as
/// the reference does (its operation order decides the last bit at the cash boundary).
pub fn action_cash_delta(side: Side, value_eur: f64, fixed: f64, percent: f64) -> f64 {
    let cost = fixed + value_eur * percent;
    match side {
        Side::Sell => value_eur - cost,
        Side::Buy => -(value_eur + cost),
    }
}

/// The first rule a sequence breaks; `index` is the position of the offending action.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Infeasible {
    /// A sequence without actions.
    Empty,
    /// The mean priority of the actions is below `priority_threshold`.
    LowPriority { average: f64 },
    /// A buy of a security whose `allow_buy` is false.
    NotAllowedToBuy { index: usize },
    /// A sell of a security whose `allow_sell` is false.
    NotAllowedToSell { index: usize },
    /// An action moving less than `min_trade_value`.
    BelowMinTradeValue { index: usize },
    /// A buy whose value plus cost exceeds the cash left at that point.
    InsufficientCash {
        index: usize,
        needed: f64,
        available: f64,
    },
    /// A sell of a symbol with no position (only checked when positions are known).
    NoPosition { index: usize },
    /// A sell of more shares than are held (only checked when positions are known).
    MoreThanHeld { index: usize, held: i64 },
}

impl Infeasible {
    /// The offending action, if the failure is about one action.
    pub fn index(&self) -> Option<usize> {
        match *self {
            Infeasible::Empty | Infeasible::LowPriority { .. } => None,
            Infeasible::NotAllowedToBuy { index }
            | Infeasible::NotAllowedToSell { index }
            | Infeasible::BelowMinTradeValue { index }
            | Infeasible::InsufficientCash { index, .. }
            | Infeasible::NoPosition { index }
            | Infeasible::MoreThanHeld { index, .. } => Some(index),
        }
    }

    pub fn message(&self) -> &'static str {
        match self {
            Infeasible::Empty => "the sequence has no actions",
            Infeasible::LowPriority { .. } => "average priority below the threshold",
            Infeasible::NotAllowedToBuy { .. } => "the security may not be bought",
            Infeasible::NotAllowedToSell { .. } => "the security may not be sold",
            Infeasible::BelowMinTradeValue { .. } => "below the minimum trade value",
            Infeasible::InsufficientCash { .. } => "not enough cash for the buy and its costs",
            Infeasible::NoPosition { .. } => "no position to sell",
            Infeasible::MoreThanHeld { .. } => "sells more than is held",
        }
    }
}

impl fmt::Display for Infeasible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index() {
            Some(i) => write!(f, "action {i}: {}", self.message()),
            None => f.write_str(self.message()),
        }
    }
}

/// The feasibility rules of one request: settings, allow flags of the known securities and the
/// held quantities. A symbol without a security is not flag-checked; with no positions at all
/// the sell-quantity rule is skipped, as in the reference.
#[derive(Clone, Debug)]
pub struct FeasibilityCheck {
    settings: FeasibilitySettings,
    /// `(allow_buy, allow_sell)` by security symbol; a later security wins.
    flags: HashMap<String, (bool, bool)>,
    /// Held quantity by upper-cased symbol; a later position wins.
    held: HashMap<String, i64>,
}

impl FeasibilityCheck {
    pub fn new(settings: &FeasibilitySettings) -> Self {
        FeasibilityCheck {
            settings: settings.clone(),
            flags: HashMap::new(),
            held: HashMap::new(),
        }
    }

    /// Adds the allow flags of these securities.
    pub fn with_securities(mut self, securities: &[Security]) -> Self {
        for s in securities {
            self.flags
                .insert(s.symbol.clone(), (s.allow_buy, s.allow_sell));
        }
        self
    }

    /// Adds held quantities; symbols are upper-cased and trimmed like domain positions.
    pub fn with_positions<S: AsRef<str>>(
        mut self,
        held: impl IntoIterator<Item = (S, i64)>,
    ) -> Self {
        for (symbol, quantity) in held {
            self.held
                .insert(normalize_symbol(symbol.as_ref()), quantity);
        }
        self
    }

    pub fn settings(&self) -> &FeasibilitySettings {
        &self.settings
    }

    /// Walks the sequence; on success returns the cash left at the end. Action symbols are
    /// looked up as given (the reference does not normalise them).
    pub fn check(&self, sequence: &[ActionCandidate]) -> Result<f64, Infeasible> {
        if sequence.is_empty() {
            return Err(Infeasible::Empty);
        }
        let total = sequence.iter().fold(0.0, |sum, a| sum + a.priority);
        let average = total / sequence.len() as f64;
        if average < self.settings.priority_threshold {
            return Err(Infeasible::LowPriority { average });
        }
        let s = &self.settings;
        let mut cash = s.available_cash;
        for (index, action) in sequence.iter().enumerate() {
            let flags = self.flags.get(&action.symbol);
            let v = action.value_eur;
            let delta = action_cash_delta(
                action.side,
                v,
                s.transaction_cost_fixed,
                s.transaction_cost_percent,
            );
            match action.side {
                Side::Buy => {
                    if flags.is_some_and(|&(allow_buy, _)| !allow_buy) {
                        return Err(Infeasible::NotAllowedToBuy { index });
                    }
                    if v < s.min_trade_value {
                        return Err(Infeasible::BelowMinTradeValue { index });
                    }
                    let needed = -delta;
                    if needed > cash {
                        return Err(Infeasible::InsufficientCash {
                            index,
                            needed,
                            available: cash,
                        });
                    }
                    cash -= needed;
                }
                Side::Sell => {
                    if flags.is_some_and(|&(_, allow_sell)| !allow_sell) {
                        return Err(Infeasible::NotAllowedToSell { index });
                    }
                    if v < s.min_trade_value {
                        return Err(Infeasible::BelowMinTradeValue { index });
                    }
                    if !self.held.is_empty() {
                        match self.held.get(&action.symbol) {
                            None => return Err(Infeasible::NoPosition { index }),
                            Some(&held) if held < action.quantity => {
                                return Err(Infeasible::MoreThanHeld { index, held });
                            }
                            Some(_) => {}
                        }
                    }
                    cash += delta;
                }
            }
        }
        Ok(cash)
    }

    pub fn is_feasible(&self, sequence: &[ActionCandidate]) -> bool {
        self.check(sequence).is_ok()
    }

    /// Keeps the feasible sequences, in input order.
    pub fn filter(&self, sequences: Vec<Vec<ActionCandidate>>) -> Vec<Vec<ActionCandidate>> {
        sequences
            .into_iter()
            .filter(|s| self.is_feasible(s))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(
        side: Side,
        symbol: &str,
        quantity: i64,
        value: f64,
        priority: f64,
    ) -> ActionCandidate {
        ActionCandidate {
            side,
            symbol: symbol.to_string(),
            name: symbol.to_string(),
            quantity,
            price: value / quantity as f64,
            value_eur: value,
            currency: "EUR".into(),
            priority,
            reason: String::new(),
            tags: vec![],
        }
    }

    fn buy(symbol: &str, value: f64) -> ActionCandidate {
        action(Side::Buy, symbol, 10, value, 1.0)
    }

    fn sell(symbol: &str, quantity: i64, value: f64) -> ActionCandidate {
        action(Side::Sell, symbol, quantity, value, 1.0)
    }

    fn check(cash: f64) -> FeasibilityCheck {
        FeasibilityCheck::new(&FeasibilitySettings::new(cash))
    }

    #[test]
    fn cash_delta_has_costs_on_both_sides() {
        assert_eq!(action_cash_delta(Side::Buy, 1000.0, 2.0, 0.002), -1004.0);
        assert_eq!(action_cash_delta(Side::Sell, 1000.0, 2.0, 0.002), 996.0);
        assert_eq!(action_cash_delta(Side::Buy, 100.0, 0.0, 0.0), -100.0);
    }

    #[test]
    fn empty_sequence_is_dropped() {
        assert_eq!(check(1000.0).check(&[]), Err(Infeasible::Empty));
    }

    #[test]
    fn average_priority_gate() {
        let low = vec![
            action(Side::Buy, "A", 1, 200.0, 0.2),
            action(Side::Buy, "B", 1, 200.0, 0.3),
        ];
        assert!(matches!(
            check(1000.0).check(&low),
            Err(Infeasible::LowPriority { average }) if average == 0.25
        ));
        let enough = vec![
            action(Side::Buy, "A", 1, 200.0, 0.2),
            action(Side::Buy, "B", 1, 200.0, 0.4),
        ];
        assert!(check(1000.0).is_feasible(&enough));
        // Exactly at the threshold passes (the gate is strict `<`).
        assert!(check(1000.0).is_feasible(&[action(Side::Buy, "A", 1, 200.0, 0.3)]));
    }

    #[test]
    fn a_buy_of_all_the_cash_fails_on_its_costs() {
        // 1000 + (2 + 1000 * 0.002) = 1004 > 1000: the reference's patterns propose it, this
        // filter drops it (spec §8 item 20).
        assert_eq!(
            check(1000.0).check(&[buy("A", 1000.0)]),
            Err(Infeasible::InsufficientCash {
                index: 0,
                needed: 1004.0,
                available: 1000.0
            })
        );
        // Exactly enough for value plus costs passes and leaves nothing.
        assert_eq!(check(1004.0).check(&[buy("A", 1000.0)]), Ok(0.0));
        assert!(!check(1003.99).is_feasible(&[buy("A", 1000.0)]));
    }

    #[test]
    fn sells_fund_later_buys_net_of_costs() {
        // Sell 1000 brings 996; 996 + 10 = 1006 cash; buy 1000 needs 1004.
        let seq = vec![sell("S", 5, 1000.0), buy("B", 1000.0)];
        assert_eq!(check(10.0).check(&seq), Ok(2.0));
        assert!(!check(7.99).is_feasible(&seq));
        // Order matters: the buy first runs out of cash.
        let reversed = vec![buy("B", 1000.0), sell("S", 5, 1000.0)];
        assert!(matches!(
            check(10.0).check(&reversed),
            Err(Infeasible::InsufficientCash { index: 0, .. })
        ));
    }

    #[test]
    fn min_trade_value_applies_to_every_action() {
        assert_eq!(
            check(1000.0).check(&[sell("S", 1, 99.0)]),
            Err(Infeasible::BelowMinTradeValue { index: 0 })
        );
        assert_eq!(
            check(1000.0).check(&[sell("S", 1, 150.0), buy("B", 99.99)]),
            Err(Infeasible::BelowMinTradeValue { index: 1 })
        );
        assert!(check(1000.0).is_feasible(&[buy("B", 100.0)]));
    }

    #[test]
    fn allow_flags_apply_only_to_known_securities() {
        let mut no_buy = Security::new("a", "Alpha");
        no_buy.allow_buy = false;
        let mut no_sell = Security::new("b", "Beta");
        no_sell.allow_sell = false;
        let with = check(1000.0).with_securities(&[no_buy, no_sell]);
        assert_eq!(
            with.check(&[buy("A", 200.0)]),
            Err(Infeasible::NotAllowedToBuy { index: 0 })
        );
        assert_eq!(
            with.check(&[sell("B", 1, 200.0)]),
            Err(Infeasible::NotAllowedToSell { index: 0 })
        );
        // Selling A and buying B are allowed; an unknown symbol is not checked.
        assert!(with.is_feasible(&[sell("A", 1, 200.0), buy("B", 200.0), buy("Z", 200.0)]));
        // Action symbols are not normalised: "b" is not the security "B".
        assert!(with.is_feasible(&[sell("b", 1, 200.0)]));
    }

    #[test]
    fn sell_quantity_is_checked_only_when_positions_are_known() {
        let seq = vec![sell("A", 5, 500.0)];
        assert!(check(0.0).is_feasible(&seq));
        let held = check(0.0).with_positions([("a", 5_i64)]);
        assert!(held.is_feasible(&seq));
        let short = check(0.0).with_positions([("A", 4_i64)]);
        assert_eq!(
            short.check(&seq),
            Err(Infeasible::MoreThanHeld { index: 0, held: 4 })
        );
        let other = check(0.0).with_positions([("B", 100_i64)]);
        assert_eq!(other.check(&seq), Err(Infeasible::NoPosition { index: 0 }));
    }

    #[test]
    fn filter_keeps_input_order() {
        let seqs = vec![
            vec![buy("A", 200.0)],
            vec![buy("B", 2000.0)],
            vec![sell("C", 1, 300.0)],
        ];
        let kept = check(500.0).filter(seqs);
        let symbols: Vec<&str> = kept.iter().map(|s| s[0].symbol.as_str()).collect();
        assert_eq!(symbols, vec!["A", "C"]);
    }

    #[test]
    fn failure_reports_index_and_message() {
        let e = Infeasible::BelowMinTradeValue { index: 2 };
        assert_eq!(e.index(), Some(2));
        assert_eq!(e.to_string(), "action 2: below the minimum trade value");
        assert_eq!(Infeasible::Empty.index(), None);
    }
}
