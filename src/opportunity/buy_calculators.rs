//! The buy calculators of the heuristic path: averaging down on quality dips, filling
//! underweight country groups and buying high-quality names, each sized to about the base
//! trade amount in whole lots (spec §3.3).

use crate::domain::{ActionCandidate, Category, Security, Side};

use super::eligibility::{days_between, within_cooldown};
use super::heuristic::{
    AVERAGING_DOWN_LOSS, AVERAGING_DOWN_MIN_QUALITY, OPPORTUNITY_MIN_QUALITY, REBALANCE_BAND, Run,
    currency_or_eur, non_empty,
};
use super::rejection::{RejectReason, Rejection};
use super::sizing::size_buy;

impl<'a> Run<'a> {
    /// Securities a buy calculator may look at: buyable, not bought recently, priced, and of
    /// sufficient quality.
    pub(super) fn eligible_for_buying(&mut self) -> Vec<Eligible<'a>> {
        let env = self.env;
        let mut eligible = Vec::new();
        let input = self.input;
        for security in &input.securities {
            let symbol = security.symbol.as_str();
            let reject = |reason| Rejection::new(symbol, Some(Side::Buy), None, reason);
            if !security.allow_buy {
                self.out.reject(reject(RejectReason::NotAllowedToBuy));
                continue;
            }
            if let Some(&bought) = env.last_buy.get(symbol)
                && within_cooldown(bought, env.now, env.settings.buy_cooldown_days)
            {
                self.out.reject(reject(RejectReason::InBuyCooldown {
                    days_since_buy: days_between(bought, env.now),
                    cooldown_days: env.settings.buy_cooldown_days,
                }));
                continue;
            }
            let price = env.prices.get(symbol).copied().unwrap_or(0.0);
            let priced = price > 0.0;
            if !priced {
                self.out.reject(reject(RejectReason::NoPrice));
                continue;
            }
            let quality = env.quality(symbol);
            let good_enough = quality >= env.settings.min_security_score;
            if !good_enough {
                self.out.reject(reject(RejectReason::QualityTooLow {
                    score: quality,
                    min: env.settings.min_security_score,
                }));
                continue;
            }
            eligible.push(Eligible {
                security,
                price,
                quality,
            });
        }
        eligible
    }

    /// A buy of about the base amount, in whole lots.
    pub(super) fn sized_buy(
        &mut self,
        category: Category,
        stock: &Eligible<'a>,
        base: f64,
        priority: f64,
        reason: String,
        tags: [&str; 2],
    ) {
        let security = stock.security;
        let rate = self.env.rate_of(security.currency.as_deref());
        match size_buy(base, stock.price, security.min_lot, rate) {
            Ok(sized) if sized.quantity > 0 => {
                self.out
                    .opportunities
                    .list_mut(category)
                    .push(ActionCandidate {
                        side: Side::Buy,
                        symbol: security.symbol.clone(),
                        name: security.name.clone(),
                        quantity: sized.quantity,
                        price: stock.price,
                        value_eur: sized.value_eur,
                        currency: currency_or_eur(security.currency.as_deref()),
                        priority,
                        reason,
                        tags: tags.iter().map(|t| t.to_string()).collect(),
                    })
            }
            Ok(_) => self.out.reject(Rejection::in_category(
                &security.symbol,
                category,
                RejectReason::ZeroQuantity,
            )),
            Err(_) => self.out.reject(Rejection::in_category(
                &security.symbol,
                category,
                RejectReason::NoPrice,
            )),
        }
    }

    pub(super) fn averaging_down(&mut self, eligible: &[Eligible<'a>], base: f64) {
        let category = Category::AveragingDown;
        for stock in eligible {
            let symbol = stock.security.symbol.as_str();
            let reject = |reason| Rejection::in_category(symbol, category, reason);
            if stock.quality < AVERAGING_DOWN_MIN_QUALITY {
                self.out.reject(reject(RejectReason::QualityTooLow {
                    score: stock.quality,
                    min: AVERAGING_DOWN_MIN_QUALITY,
                }));
                continue;
            }
            let held = self
                .input
                .position_values
                .get(symbol)
                .copied()
                .unwrap_or(0.0);
            let is_held = held > 0.0;
            if !is_held {
                self.out.reject(reject(RejectReason::NoPosition));
                continue;
            }
            let avg = self
                .env
                .position_avg_prices
                .as_ref()
                .and_then(|m| m.get(symbol))
                .copied();
            let Some(avg) = avg.filter(|&a| a > 0.0) else {
                self.out.reject(reject(RejectReason::NoAveragePrice));
                continue;
            };
            let loss = (stock.price - avg) / avg;
            let down_enough = loss < AVERAGING_DOWN_LOSS;
            if !down_enough {
                self.out.reject(reject(RejectReason::NotDownEnough {
                    loss,
                    threshold: AVERAGING_DOWN_LOSS,
                }));
                continue;
            }
            let multiplier = stock.security.priority_multiplier;
            self.sized_buy(
                category,
                stock,
                base,
                (stock.quality + loss.abs()) * multiplier,
                format!(
                    "Quality security down {:.0}%, averaging down",
                    loss.abs() * 100.0
                ),
                ["averaging_down", "buy_low"],
            );
        }
    }

    pub(super) fn rebalance_buys(&mut self, eligible: &[Eligible<'a>], base: f64) {
        let category = Category::RebalanceBuys;
        for stock in eligible {
            let symbol = stock.security.symbol.as_str();
            let reject = |reason| Rejection::in_category(symbol, category, reason);
            let Some(country) = non_empty(stock.security.country.as_deref()) else {
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
            let current = self.allocations.get(&group).copied().unwrap_or(0.0);
            let underweight_enough = current < target - REBALANCE_BAND;
            if !underweight_enough {
                self.out.reject(reject(RejectReason::NotUnderweight {
                    group,
                    current,
                    target,
                }));
                continue;
            }
            let underweight = target - current;
            let multiplier = stock.security.priority_multiplier;
            self.sized_buy(
                category,
                stock,
                base,
                (underweight * 2.0 + stock.quality * 0.5) * multiplier,
                format!("Underweight {group} by {:.1}%", underweight * 100.0),
                [
                    "rebalance",
                    &format!("underweight_{}", group.to_lowercase()),
                ],
            );
        }
    }

    pub(super) fn opportunity_buys(&mut self, eligible: &[Eligible<'a>], base: f64) {
        let category = Category::OpportunityBuys;
        for stock in eligible {
            if stock.quality < OPPORTUNITY_MIN_QUALITY {
                self.out.reject(Rejection::in_category(
                    &stock.security.symbol,
                    category,
                    RejectReason::QualityTooLow {
                        score: stock.quality,
                        min: OPPORTUNITY_MIN_QUALITY,
                    },
                ));
                continue;
            }
            self.sized_buy(
                category,
                stock,
                base,
                stock.quality * stock.security.priority_multiplier,
                format!("High quality (score: {:.2})", stock.quality),
                ["quality", "opportunity"],
            );
        }
    }
}

/// A security that passed the buy pre-filter, with its price and quality.
pub(super) struct Eligible<'a> {
    security: &'a Security,
    price: f64,
    quality: f64,
}
