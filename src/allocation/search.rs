//! The search for a plan: a beam over sequences of whole-lot trades, each state a simulated
//! portfolio with cash per currency. A state's candidates are the trades the bands call for —
//! sell what is above its band back to target; buy what is below its band (or, while cash is
//! above its reserve and band, anything under target) up to target — each paid from the cash of
//! its own currency (EUR converted where the broker converts) and never from the reserve, and
//! each kept only when the drift it removes is worth its costs. The best end state wins; its
//! steps are ordered sells first, so sells fund the buys after them, and replayed to check that
//! every step can be paid.

use rayon::prelude::*;
use serde::Serialize;

use super::narrative::{plan_narrative, step_narrative};
use super::objective::{Distances, distances};
use super::targets::{Targets, targets};
use super::{Book, Policy};
use crate::domain::Side;

/// One trade of a plan, with every figure its narrative quotes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub side: Side,
    pub symbol: String,
    pub name: String,
    pub currency: String,
    pub quantity: i64,
    /// Price per share in `currency`.
    pub price: f64,
    pub value_eur: f64,
    pub fee_eur: f64,
    /// Target, band and weights before and after the step, as fractions.
    pub target: f64,
    pub band: f64,
    pub weight_before: f64,
    pub weight_after: f64,
    /// Cash of the trade's currency before the step, in that currency.
    pub cash_before: f64,
    /// EUR converted into `currency` to pay for a buy (0 when its own cash covers it), what it
    /// bought, and the rate (units per EUR).
    pub converted_eur: f64,
    pub converted_amount: f64,
    pub rate: f64,
    /// The day the rate was published, when the step converts and the day is known.
    pub rate_date: Option<String>,
    /// The buy opens a position.
    pub opens: bool,
    /// Cash above its reserve and band when the step was chosen, as a fraction (a buy made to
    /// invest idle cash rather than to close a gap past the band).
    pub idle_cash: f64,
    pub narrative: String,
}

/// A trade the bands called for but the plan left out, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejected {
    pub symbol: String,
    pub side: Side,
    pub reason: String,
}

/// A plan and what it does.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub targets: Targets,
    pub steps: Vec<Step>,
    pub rejected: Vec<Rejected>,
    pub before: Distances,
    pub after: Distances,
    pub fees_eur: f64,
    /// Every position inside its band and cash within its reserve's band.
    pub in_bands: bool,
    /// Candidate trades weighed, and search steps taken.
    pub evaluated: u64,
    pub steps_searched: u64,
    pub narrative: String,
}

impl Plan {
    /// The plan's score on the 0–100 scale plans are shown on: 100 less the securities'
    /// distance to their targets, before and after.
    pub fn scores(&self) -> (f64, f64) {
        let score = |d: &Distances| (100.0 - d.securities).clamp(0.0, 100.0);
        (score(&self.before), score(&self.after))
    }
}

#[derive(Debug, Clone)]
struct State {
    quantity: Vec<f64>,
    /// Cash per currency of `Ctx::currencies`, in that currency.
    cash: Vec<f64>,
    /// (asset, side, lots) in the order chosen.
    trades: Vec<(usize, Side, i64)>,
    cost_pp: f64,
    objective: f64,
}

struct Ctx<'a> {
    book: &'a Book,
    policy: &'a Policy,
    targets: Targets,
    currencies: Vec<String>,
    rates: Vec<f64>,
    /// Currency index of each asset.
    currency_of: Vec<usize>,
    eur: usize,
    /// EUR worth one point of drift.
    eur_per_point: f64,
    reserve: f64,
}

/// A candidate trade: the state it leads to, or why not.
type Candidate = Result<State, Rejected>;

/// Plans `book` under `policy`; `cancelled` is asked between search steps.
pub fn plan(book: &Book, policy: &Policy, cancelled: &dyn Fn() -> bool) -> Plan {
    let targets = targets(book, policy);
    let mut currencies: Vec<String> = vec!["EUR".to_string()];
    for c in book
        .cash
        .iter()
        .map(|(c, _)| c)
        .chain(book.assets.iter().map(|a| &a.currency))
    {
        if !currencies.contains(c) {
            currencies.push(c.clone());
        }
    }
    let rates: Vec<f64> = currencies.iter().map(|c| book.rate(c)).collect();
    let currency_of = book
        .assets
        .iter()
        .map(|a| {
            currencies
                .iter()
                .position(|c| *c == a.currency)
                .unwrap_or(0)
        })
        .collect();
    let total = targets.total_eur;
    let reserve = if total > 0.0 {
        (policy.min_cash_reserve_eur / total).max(policy.cash_reserve_ratio)
    } else {
        policy.cash_reserve_ratio
    };
    let ctx = Ctx {
        book,
        policy,
        eur_per_point: (total * policy.drift_point_value_bp / 10_000.0).max(1e-9),
        targets,
        rates,
        currency_of,
        currencies,
        eur: 0,
        reserve,
    };
    let start = ctx.start();
    let mut evaluated = 0u64;
    let mut steps_searched = 0u64;
    let mut beam = vec![start.clone()];
    let mut best = start.clone();
    for _ in 0..policy.max_steps {
        if cancelled() {
            break;
        }
        steps_searched += 1;
        // Weighed in parallel, gathered in the beam's order: the same plan on any thread count.
        let weighed: Vec<Vec<Candidate>> = beam.par_iter().map(|s| ctx.candidates(s)).collect();
        let mut children: Vec<State> = Vec::new();
        for candidates in weighed {
            for candidate in candidates {
                evaluated += 1;
                if let Ok(child) = candidate {
                    let key = child.key();
                    if !children.iter().any(|c| c.key() == key) {
                        children.push(child);
                    }
                }
            }
        }
        if children.is_empty() {
            break;
        }
        children.sort_by(|a, b| a.objective.total_cmp(&b.objective));
        children.truncate(policy.beam_width.max(1));
        if children[0].objective < best.objective {
            best = children[0].clone();
        }
        beam = children;
    }
    let rejected = ctx
        .candidates(&best)
        .into_iter()
        .map(|c| match c {
            Err(r) => r,
            Ok(state) => {
                let (i, side, _) = *state.trades.last().expect("a candidate trades");
                let reason = if best.trades.len() >= policy.max_steps {
                    format!(
                        "worth it, but the plan already holds its {} trades (plan depth, \
                         orders per cycle and the day's and week's limits)",
                        policy.max_steps
                    )
                } else {
                    "worth it alone, but the plan does better without it".to_string()
                };
                Rejected {
                    symbol: ctx.book.assets[i].symbol.clone(),
                    side,
                    reason,
                }
            }
        })
        .collect();
    let mut plan = ctx.finish(&start, &best, rejected, evaluated);
    plan.steps_searched = steps_searched;
    plan
}

impl State {
    /// The trades as a set, so two orders of the same trades count once.
    fn key(&self) -> Vec<(usize, bool, i64)> {
        let mut key: Vec<(usize, bool, i64)> = self
            .trades
            .iter()
            .map(|(i, side, lots)| (*i, *side == Side::Buy, *lots))
            .collect();
        key.sort_unstable();
        key
    }
}

impl Ctx<'_> {
    fn start(&self) -> State {
        let mut cash = vec![0.0; self.currencies.len()];
        for (currency, amount) in &self.book.cash {
            if let Some(i) = self.currencies.iter().position(|c| c == currency) {
                cash[i] += amount;
            }
        }
        let mut state = State {
            quantity: self.book.assets.iter().map(|a| a.quantity).collect(),
            cash,
            trades: Vec::new(),
            cost_pp: 0.0,
            objective: 0.0,
        };
        state.objective = self.distances(&state).total();
        state
    }

    fn values(&self, state: &State) -> Vec<f64> {
        self.book
            .assets
            .iter()
            .zip(&state.quantity)
            .map(|(a, q)| a.price.map_or(0.0, |p| q * p / a.rate))
            .collect()
    }

    fn cash_eur(&self, state: &State) -> f64 {
        state.cash.iter().zip(&self.rates).map(|(c, r)| c / r).sum()
    }

    fn distances(&self, state: &State) -> Distances {
        distances(
            self.book,
            &self.targets,
            &self.values(state),
            self.cash_eur(state),
        )
    }

    /// The cash term of the securities' distance, in points.
    fn cash_drift(&self, state: &State) -> f64 {
        let values = self.values(state);
        let cash = self.cash_eur(state);
        let total: f64 = values.iter().sum::<f64>() + cash;
        if total <= 0.0 {
            return 0.0;
        }
        (cash / total - self.targets.cash).abs() * 50.0
    }

    /// Cash above the reserve and its band, as a fraction of the portfolio (0 when none).
    fn idle_cash(&self, state: &State, total: f64) -> f64 {
        let cash = self.cash_eur(state) / total;
        let threshold = self.targets.cash + self.targets.cash_band;
        if cash > threshold {
            cash - self.targets.cash
        } else {
            0.0
        }
    }

    fn candidates(&self, state: &State) -> Vec<Candidate> {
        let values = self.values(state);
        let total: f64 = values.iter().sum::<f64>() + self.cash_eur(state);
        if total <= 0.0 {
            return Vec::new();
        }
        let idle = self.idle_cash(state, total);
        let mut out = Vec::new();
        for (i, asset) in self.book.assets.iter().enumerate() {
            if state.trades.iter().any(|(j, _, _)| *j == i) {
                continue;
            }
            let target = &self.targets.securities[i];
            let Some(t) = target.target else { continue };
            let Some(lot_eur) = asset.lot_eur() else {
                continue;
            };
            let w = values[i] / total;
            let reject = |side, reason: String| {
                Err(Rejected {
                    symbol: asset.symbol.clone(),
                    side,
                    reason,
                })
            };
            if w > t + target.band {
                out.push(match &asset.sell {
                    Err(reason) => reject(Side::Sell, reason.clone()),
                    Ok(()) => {
                        let held_lots = (state.quantity[i] / asset.lot.max(1) as f64).floor();
                        // Down to the whole lots nearest the target.
                        let lots = ((values[i] - t * total) / lot_eur).round().min(held_lots);
                        if lots < 1.0 {
                            reject(
                                Side::Sell,
                                format!(
                                    "one lot ({lot_eur:.2} EUR) is more than its excess over \
                                     the target"
                                ),
                            )
                        } else {
                            self.apply(state, i, Side::Sell, lots as i64)
                        }
                    }
                });
            } else if w < t - target.band || (idle > 0.0 && w < t) {
                out.push(match &asset.buy {
                    Err(reason) => reject(Side::Buy, reason.clone()),
                    Ok(()) => self.buy(state, i, t, target.band, w, total, lot_eur),
                });
            }
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn buy(
        &self,
        state: &State,
        i: usize,
        target: f64,
        band: f64,
        weight: f64,
        total: f64,
        lot_eur: f64,
    ) -> Candidate {
        let asset = &self.book.assets[i];
        let reject = |reason: String| {
            Err(Rejected {
                symbol: asset.symbol.clone(),
                side: Side::Buy,
                reason,
            })
        };
        let gap = (target - weight) * total;
        let to_band = ((target + band - weight) * total / lot_eur).floor();
        // Up to the whole lots that stay at or under the target (nearest it while cash is idle);
        // one lot past it when that is the smallest order and it stays inside the band.
        let nearest = if self.idle_cash(state, total) > 0.0 {
            // Idle cash goes out: the lots nearest the target, even one past it.
            (gap / lot_eur).round()
        } else {
            (gap / lot_eur + 1e-9).floor()
        };
        let mut lots = nearest.max(1.0).min(to_band);
        if lots < 1.0 {
            return reject(format!(
                "one lot ({lot_eur:.2} EUR, the smallest order) would take it to {:.1} %, past \
                 its band of {:.1} % ± {:.1} pp",
                (weight + lot_eur / total) * 100.0,
                target * 100.0,
                band * 100.0
            ));
        }
        // Shrink to what the cash of its currency (and converted EUR) covers above the reserve.
        let mut why_not = String::new();
        while lots >= 1.0 {
            match self.affordable(state, i, lots as i64, total) {
                Ok(()) => break,
                Err(reason) => why_not = reason,
            }
            lots -= 1.0;
        }
        if lots < 1.0 {
            return reject(why_not);
        }
        if state.quantity[i] <= 0.0 && lots * lot_eur / total < self.policy.min_position_weight {
            let small = format!(
                "a new position of {:.1} % would be under the minimum position of {:.1} %",
                lots * lot_eur / total * 100.0,
                self.policy.min_position_weight * 100.0
            );
            // When cash is what made it small, cash is the reason.
            return reject(if why_not.is_empty() {
                small
            } else {
                format!("{why_not}; what it covers is {small}")
            });
        }
        self.apply(state, i, Side::Buy, lots as i64)
    }

    /// Whether `lots` of asset `i` can be bought: its currency's cash, then EUR where the
    /// broker converts, covers value and fee, and all cash stays at or above the reserve.
    fn affordable(&self, state: &State, i: usize, lots: i64, total: f64) -> Result<(), String> {
        let asset = &self.book.assets[i];
        let c = self.currency_of[i];
        let rate = self.rates[c];
        let value_eur = lots as f64 * asset.lot_eur().unwrap_or(0.0);
        let cost_native = (value_eur + self.policy.fee(value_eur)) * rate;
        let own = state.cash[c].max(0.0);
        let shortfall = (cost_native - own).max(0.0);
        if shortfall > 0.0 {
            if c == self.eur || !self.policy.converts_from_eur {
                return Err(format!(
                    "needs {} cash: {cost_native:.2} {cur} for {lots} lot(s), {own:.2} {cur} \
                     held",
                    asset.currency,
                    cur = asset.currency
                ));
            }
            let eur_needed = shortfall / rate;
            if eur_needed > state.cash[self.eur] + 1e-9 {
                return Err(format!(
                    "needs {} cash: {cost_native:.2} {cur}, {own:.2} {cur} held and {:.2} EUR \
                     to convert",
                    asset.currency,
                    state.cash[self.eur].max(0.0),
                    cur = asset.currency
                ));
            }
        }
        let cash_after = self.cash_eur(state) - cost_native / rate;
        if cash_after < self.reserve * total - 1e-9 {
            return Err(format!(
                "{:.2} EUR would take cash under its reserve of {:.2} EUR",
                cost_native / rate,
                self.reserve * total
            ));
        }
        Ok(())
    }

    /// The state after trading `lots` of asset `i`, if the drift it removes is worth its costs.
    fn apply(&self, state: &State, i: usize, side: Side, lots: i64) -> Candidate {
        let asset = &self.book.assets[i];
        let c = self.currency_of[i];
        let rate = self.rates[c];
        let shares = (lots * asset.lot.max(1)) as f64;
        let value_eur = lots as f64 * asset.lot_eur().unwrap_or(0.0);
        let fee = self.policy.fee(value_eur);
        let mut next = state.clone();
        match side {
            Side::Buy => {
                next.quantity[i] += shares;
                let cost = (value_eur + fee) * rate;
                let own = next.cash[c].max(0.0);
                if cost > own && c != self.eur {
                    let shortfall = cost - own;
                    next.cash[self.eur] -= shortfall / rate;
                    next.cash[c] += shortfall;
                }
                next.cash[c] -= cost;
            }
            Side::Sell => {
                next.quantity[i] -= shares;
                next.cash[c] += (value_eur - fee) * rate;
            }
        }
        let cost_pp = (fee + self.policy.turnover_cost_rate * value_eur) / self.eur_per_point;
        let before = self.distances(state).total();
        let after = self.distances(&next).total();
        let removed = before - after;
        // A sale's proceeds are cash above the reserve until the buys after it invest them; it
        // is weighed by the drift it removes from its own position and groups.
        let worth = match side {
            Side::Sell => removed + self.cash_drift(&next) - self.cash_drift(state),
            Side::Buy => removed,
        };
        if worth <= 0.0 || worth < self.policy.fee_worth_ratio * cost_pp {
            return Err(Rejected {
                symbol: asset.symbol.clone(),
                side,
                reason: format!(
                    "removes {worth:.2} pp of drift (worth {:.2} EUR) for {:.2} EUR of fees \
                     and turnover: not worth it",
                    worth.max(0.0) * self.eur_per_point,
                    cost_pp * self.eur_per_point
                ),
            });
        }
        next.trades.push((i, side, lots));
        next.cost_pp += cost_pp;
        next.objective = after + next.cost_pp;
        Ok(next)
    }

    /// The plan of the best state: sells first, then buys, each in the order chosen, replayed
    /// on the starting portfolio for the figures each step quotes.
    fn finish(&self, start: &State, best: &State, rejected: Vec<Rejected>, evaluated: u64) -> Plan {
        let mut order: Vec<(usize, Side, i64)> = best
            .trades
            .iter()
            .filter(|t| t.1 == Side::Sell)
            .copied()
            .collect();
        order.extend(best.trades.iter().filter(|t| t.1 == Side::Buy).copied());
        let mut state = start.clone();
        let mut steps = Vec::with_capacity(order.len());
        let mut fees = 0.0;
        for (i, side, lots) in order {
            let asset = &self.book.assets[i];
            let c = self.currency_of[i];
            let values = self.values(&state);
            let total: f64 = values.iter().sum::<f64>() + self.cash_eur(&state);
            let idle = self.idle_cash(&state, total);
            let value_eur = lots as f64 * asset.lot_eur().unwrap_or(0.0);
            let fee = self.policy.fee(value_eur);
            let cash_before = state.cash[c];
            let eur_before = state.cash[self.eur];
            let mut next = state.clone();
            let rate = self.rates[c];
            let shares = lots * asset.lot.max(1);
            match side {
                Side::Buy => {
                    next.quantity[i] += shares as f64;
                    let cost = (value_eur + fee) * rate;
                    let own = next.cash[c].max(0.0);
                    if cost > own && c != self.eur {
                        next.cash[self.eur] -= (cost - own) / rate;
                        next.cash[c] += cost - own;
                    }
                    next.cash[c] -= cost;
                }
                Side::Sell => {
                    next.quantity[i] -= shares as f64;
                    next.cash[c] += (value_eur - fee) * rate;
                }
            }
            let after_values = self.values(&next);
            let after_total: f64 = after_values.iter().sum::<f64>() + self.cash_eur(&next);
            let converted_eur = (eur_before - next.cash[self.eur]).max(0.0) * f64::from(c != 0);
            let target = &self.targets.securities[i];
            let mut step = Step {
                side,
                symbol: asset.symbol.clone(),
                name: asset.name.clone(),
                currency: asset.currency.clone(),
                quantity: shares,
                price: asset.price.unwrap_or(0.0),
                value_eur,
                fee_eur: fee,
                target: target.target.unwrap_or(0.0),
                band: target.band,
                weight_before: values[i] / total,
                weight_after: after_values[i] / after_total,
                cash_before,
                converted_eur,
                converted_amount: converted_eur * rate,
                rate,
                rate_date: (converted_eur > 0.0)
                    .then(|| {
                        self.book
                            .rate_dates
                            .iter()
                            .find(|(c, _)| *c == asset.currency)
                            .map(|(_, d)| d.clone())
                    })
                    .flatten(),
                opens: side == Side::Buy && state.quantity[i] <= 0.0,
                idle_cash: if side == Side::Buy { idle } else { 0.0 },
                narrative: String::new(),
            };
            step.narrative = step_narrative(&step);
            fees += fee;
            steps.push(step);
            state = next;
        }
        let before = self.distances(start);
        let after = self.distances(&state);
        let in_bands = self.in_bands(start);
        let narrative = plan_narrative(&steps, &before, &after, fees, in_bands, &rejected);
        Plan {
            targets: self.targets.clone(),
            steps,
            rejected,
            before,
            after,
            fees_eur: fees,
            in_bands,
            evaluated,
            steps_searched: 0,
            narrative,
        }
    }

    fn in_bands(&self, state: &State) -> bool {
        let values = self.values(state);
        let total: f64 = values.iter().sum::<f64>() + self.cash_eur(state);
        if total <= 0.0 {
            return true;
        }
        let securities_in = values.iter().zip(&self.targets.securities).all(|(v, t)| {
            t.target
                .is_none_or(|target| (v / total - target).abs() <= t.band + 1e-12)
        });
        securities_in && self.idle_cash(state, total) == 0.0
    }
}
