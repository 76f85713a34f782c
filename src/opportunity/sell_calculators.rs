//! The sell calculators of the heuristic path: profit taking on windfalls and trimming
//! overweight country groups, with the sell cooldown and the sell-eligibility blocks applied
//! afterwards (spec §3.3).

use std::collections::HashMap;

use indexmap::IndexMap;

use crate::domain::{ActionCandidate, Category, Position, Security, Side};

use super::eligibility::{SellRules, days_between, sell_block, within_cooldown};
use super::heuristic::{
    MAX_REBALANCE_SELL_FRACTION, REBALANCE_BAND, Run, currency_or_eur, non_empty, price_or_avg,
};
use super::identified::WindfallMetrics;
use super::rejection::{IneligibleWhy, RejectReason, Rejection};
use super::windfall;

impl<'a> Run<'a> {
    /// The sellable security of a position, or why there is none.
    pub(super) fn sellable(&self, position: &Position) -> Result<&'a Security, RejectReason> {
        let security = self
            .securities
            .get(position.symbol.as_str())
            .copied()
            .ok_or(RejectReason::NoSecurity)?;
        if !security.allow_sell {
            return Err(RejectReason::NotAllowedToSell);
        }
        if position.market_value_eur.unwrap_or(0.0) <= 0.0 {
            return Err(RejectReason::NoPositionValue);
        }
        Ok(security)
    }

    /// Positions blocked by the sell-eligibility rules (last position wins for a repeated
    /// symbol, as in a dict).
    pub(super) fn ineligible_to_sell(&self) -> HashMap<String, IneligibleWhy> {
        let settings = &self.env.settings;
        let rules = SellRules {
            max_loss_threshold: settings.max_loss_threshold,
            min_hold_days: settings.min_hold_days,
            sell_cooldown_days: settings.sell_cooldown_days,
        };
        let by_symbol: IndexMap<&str, &Position> = self
            .input
            .positions
            .iter()
            .map(|p| (p.symbol.as_str(), p))
            .collect();
        let mut blocked = HashMap::new();
        for (symbol, position) in by_symbol {
            let Some(security) = self.securities.get(symbol) else {
                continue;
            };
            if !security.allow_sell {
                continue;
            }
            let Some(&last) = self.env.last_transaction.get(symbol) else {
                continue;
            };
            let current = price_or_avg(position);
            let profit = if position.avg_price > 0.0 {
                (current - position.avg_price) / position.avg_price
            } else {
                0.0
            };
            if let Some(why) = sell_block(profit, last, self.env.now, rules) {
                blocked.insert(symbol.to_string(), why);
            }
        }
        blocked
    }

    /// Keeps a sell unless its symbol is in the sell cooldown or blocked from selling.
    pub(super) fn keep_sell(&mut self, category: Category, candidate: ActionCandidate) {
        let env = self.env;
        if let Some(&sold) = env.last_sell.get(&candidate.symbol)
            && within_cooldown(sold, env.now, env.settings.sell_cooldown_days)
        {
            self.out.reject(Rejection::in_category(
                candidate.symbol,
                category,
                RejectReason::InSellCooldown {
                    days_since_sell: Some(days_between(sold, env.now)),
                },
            ));
            return;
        }
        if let Some(why) = self.ineligible.get(&candidate.symbol) {
            self.out.reject(Rejection::in_category(
                candidate.symbol,
                category,
                RejectReason::IneligibleToSell(why.clone()),
            ));
            return;
        }
        self.out.opportunities.list_mut(category).push(candidate);
    }

    pub(super) fn profit_taking(&mut self) {
        let category = Category::ProfitTaking;
        let input = self.input;
        for position in &input.positions {
            let security = match self.sellable(position) {
                Ok(s) => s,
                Err(reason) => {
                    self.out
                        .reject(Rejection::in_category(&position.symbol, category, reason));
                    continue;
                }
            };
            let price = price_or_avg(position);
            let cagr = self
                .env
                .cagr
                .get(&position.symbol)
                .copied()
                .unwrap_or_default();
            let Some(assessment) = windfall::assess(
                price,
                position.avg_price,
                position.first_bought_at,
                self.env.now,
                cagr.cagr_5y,
                cagr.cagr_10y,
            ) else {
                self.out.reject(Rejection::in_category(
                    &position.symbol,
                    category,
                    RejectReason::NoWindfall {
                        reason: "invalid average price".to_string(),
                    },
                ));
                continue;
            };
            self.out.windfall.push(WindfallMetrics {
                symbol: position.symbol.clone(),
                excess_gain: assessment.excess_gain,
                windfall_score: assessment.windfall_score,
            });
            if !assessment.advice.sell {
                self.out.reject(Rejection::in_category(
                    &position.symbol,
                    category,
                    RejectReason::NoWindfall {
                        reason: assessment.advice.reason,
                    },
                ));
                continue;
            }
            let quantity = (position.quantity * assessment.suggested_sell_fraction) as i64;
            // The reference would emit a 0-share sell here; a trade of nothing is left out.
            if quantity <= 0 {
                self.out.reject(Rejection::in_category(
                    &position.symbol,
                    category,
                    RejectReason::ZeroQuantity,
                ));
                continue;
            }
            let value_native = quantity as f64 * price;
            // FX, as in the reference: profit taking DIVIDES the native value by the rate to get
            // EUR, while rebalance sells MULTIPLY EUR by the rate to get native units. With a
            // rate of "native per EUR" only the division is right; both are kept so results
            // match, and with EUR positions (rate 1) they agree.
            let rate = self
                .env
                .rate_of(non_empty(Some(position.currency.as_str())));
            let value_eur = if rate > 0.0 {
                value_native / rate
            } else {
                value_native
            };
            let candidate = ActionCandidate {
                side: Side::Sell,
                symbol: position.symbol.clone(),
                name: security.name.clone(),
                quantity,
                price,
                value_eur,
                currency: currency_or_eur(Some(position.currency.as_str())),
                priority: (assessment.score + 0.5) / security.priority_multiplier,
                reason: assessment.advice.reason,
                tags: vec!["windfall".into(), "profit_taking".into()],
            };
            self.keep_sell(category, candidate);
        }
    }

    pub(super) fn rebalance_sells(&mut self) {
        let category = Category::RebalanceSells;
        let input = self.input;
        for position in &input.positions {
            let reject = |reason| Rejection::in_category(&position.symbol, category, reason);
            let security = match self.sellable(position) {
                Ok(s) => s,
                Err(reason) => {
                    self.out.reject(reject(reason));
                    continue;
                }
            };
            let Some(country) = non_empty(security.country.as_deref()) else {
                self.out.reject(reject(RejectReason::NoCountry));
                continue;
            };
            let group = self.env.group_of(country);
            let target = self
                .input
                .country_weights
                .get(&group)
                .copied()
                .unwrap_or(0.0);
            let current = self.allocations.get(&group).copied();
            let Some(current) = current.filter(|&c| c > target + REBALANCE_BAND) else {
                self.out.reject(reject(RejectReason::NotOverweight {
                    current: current.unwrap_or(0.0),
                    group,
                    target,
                }));
                continue;
            };
            let overweight = current - target;
            let position_value = position.market_value_eur.unwrap_or(0.0);
            let by_position = position_value * MAX_REBALANCE_SELL_FRACTION;
            let by_group = overweight * self.input.total_value;
            // Python's `min(a, b)`: `b` only when strictly smaller.
            let value_eur = if by_group < by_position {
                by_group
            } else {
                by_position
            };
            // FX: EUR × rate here, native ÷ rate in profit taking (see there).
            let rate = self
                .env
                .rate_of(non_empty(Some(position.currency.as_str())));
            let value_native = value_eur * rate;
            let price = price_or_avg(position);
            let quantity = (value_native / price) as i64;
            if quantity <= 0 {
                self.out.reject(reject(RejectReason::ZeroQuantity));
                continue;
            }
            let candidate = ActionCandidate {
                side: Side::Sell,
                symbol: position.symbol.clone(),
                name: security.name.clone(),
                quantity,
                price,
                value_eur,
                currency: currency_or_eur(Some(position.currency.as_str())),
                priority: overweight * 2.0 / security.priority_multiplier,
                reason: format!("Overweight {group} by {:.1}%", overweight * 100.0),
                tags: vec![
                    "rebalance".into(),
                    format!("overweight_{}", group.to_lowercase()),
                ],
            };
            self.keep_sell(category, candidate);
        }
    }
}
