//! The heuristic path (spec §3.3): five calculators over the portfolio when no optimizer
//! targets are given — profit taking on windfalls, trimming overweight country groups,
//! averaging down on quality dips, filling underweight groups and buying high-quality names.
//!
//! The reference reads settings, trade history and cached metrics from its database, prices
//! from Yahoo and the time from the wall clock. Here all of that arrives in [`HeuristicEnv`], so
//! the same inputs always give the same candidates. The calculators themselves live in
//! `sell_calculators` and `buy_calculators`.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use indexmap::IndexMap;

use crate::domain::{Position, Security};

use super::identified::{IdentificationPath, Identified};
use super::rejection::IneligibleWhy;

/// A country group must be more than this far from its target to be rebalanced.
pub const REBALANCE_BAND: f64 = 0.05;
/// A rebalance sell takes at most this share of the position's value.
pub const MAX_REBALANCE_SELL_FRACTION: f64 = 0.30;
/// Averaging down needs a loss beyond this (strictly below).
pub const AVERAGING_DOWN_LOSS: f64 = -0.20;
pub const AVERAGING_DOWN_MIN_QUALITY: f64 = 0.6;
pub const OPPORTUNITY_MIN_QUALITY: f64 = 0.7;
/// Quality assumed for a security without a score.
pub const DEFAULT_QUALITY: f64 = 0.5;
/// Largest acceptable cost-to-trade ratio; fixes the base buy amount.
pub const MAX_COST_RATIO: f64 = 0.01;
/// Base buy amount when the percentage cost alone exceeds [`MAX_COST_RATIO`].
pub const FALLBACK_BASE_TRADE_EUR: f64 = 1000.0;

/// The settings the reference reads from its settings table (defaults = its defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HeuristicSettings {
    pub sell_cooldown_days: i64,
    pub min_hold_days: i64,
    pub max_loss_threshold: f64,
    pub buy_cooldown_days: i64,
    pub min_security_score: f64,
    pub transaction_cost_fixed: f64,
    pub transaction_cost_percent: f64,
}

impl Default for HeuristicSettings {
    fn default() -> Self {
        HeuristicSettings {
            sell_cooldown_days: 180,
            min_hold_days: 90,
            max_loss_threshold: -0.20,
            buy_cooldown_days: 30,
            min_security_score: 0.5,
            transaction_cost_fixed: 2.0,
            transaction_cost_percent: 0.002,
        }
    }
}

/// A security's cached growth metrics (`CAGR_5Y`, `CAGR_10Y`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CagrMetrics {
    pub cagr_5y: Option<f64>,
    pub cagr_10y: Option<f64>,
}

impl CagrMetrics {
    /// The growth metrics among a security's stored metrics.
    pub fn from_values(values: &HashMap<String, f64>) -> CagrMetrics {
        CagrMetrics {
            cagr_5y: values.get("CAGR_5Y").copied(),
            cagr_10y: values.get("CAGR_10Y").copied(),
        }
    }
}

/// Everything the heuristic path needs beyond the request, read by the caller from the store
/// and the quote feed.
#[derive(Clone, Debug, PartialEq)]
pub struct HeuristicEnv {
    /// The instant every "days since" is measured to.
    pub now: NaiveDateTime,
    pub settings: HeuristicSettings,
    /// Most recent BUY per symbol (buy cooldown).
    pub last_buy: HashMap<String, NaiveDateTime>,
    /// Most recent SELL per symbol (sell cooldown).
    pub last_sell: HashMap<String, NaiveDateTime>,
    /// Most recent BUY or SELL per symbol (sell eligibility). A symbol without one is never
    /// blocked by the holding period, cooldown or loss rules, as in the reference.
    pub last_transaction: HashMap<String, NaiveDateTime>,
    /// Current price per symbol in the security's currency; buys need one.
    pub prices: IndexMap<String, f64>,
    /// Native units per EUR, per currency; a missing currency counts as 1.0.
    pub exchange_rates: HashMap<String, f64>,
    /// Quality score per symbol (0..1); missing scores count as [`DEFAULT_QUALITY`].
    pub security_scores: Option<HashMap<String, f64>>,
    /// Country → group. `None` makes every country its own group (the reference read the
    /// mapping from its database; without one it lumped every country into "OTHER").
    pub country_to_group: Option<IndexMap<String, String>>,
    pub cagr: HashMap<String, CagrMetrics>,
    /// Average purchase price per symbol; averaging down needs it. `None` = none known.
    pub position_avg_prices: Option<HashMap<String, f64>>,
}

impl HeuristicEnv {
    /// An environment with default settings and no history, prices or metrics.
    pub fn new(now: NaiveDateTime) -> Self {
        HeuristicEnv {
            now,
            settings: HeuristicSettings::default(),
            last_buy: HashMap::new(),
            last_sell: HashMap::new(),
            last_transaction: HashMap::new(),
            prices: IndexMap::new(),
            exchange_rates: HashMap::new(),
            security_scores: None,
            country_to_group: None,
            cagr: HashMap::new(),
            position_avg_prices: None,
        }
    }

    pub(super) fn rate(&self, currency: &str) -> f64 {
        self.exchange_rates.get(currency).copied().unwrap_or(1.0)
    }

    /// The rate of a non-EUR currency, 1.0 for EUR or none.
    pub(super) fn rate_of(&self, currency: Option<&str>) -> f64 {
        match currency {
            Some(c) if !c.is_empty() && c != "EUR" => self.rate(c),
            _ => 1.0,
        }
    }

    pub(super) fn quality(&self, symbol: &str) -> f64 {
        self.security_scores
            .as_ref()
            .and_then(|m| m.get(symbol))
            .copied()
            .unwrap_or(DEFAULT_QUALITY)
    }

    pub(super) fn group_of(&self, country: &str) -> String {
        match &self.country_to_group {
            Some(map) => map
                .get(country)
                .cloned()
                .unwrap_or_else(|| "OTHER".to_string()),
            None => country.to_string(),
        }
    }
}

/// The portfolio snapshot the heuristic path reads.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HeuristicInputs {
    /// EUR value per held symbol, keys as the caller gave them; defines group allocations.
    pub position_values: IndexMap<String, f64>,
    pub total_value: f64,
    /// Target weight per country group.
    pub country_weights: IndexMap<String, f64>,
    /// Country per symbol (keys as in `position_values`); missing → "OTHER".
    pub security_countries: Option<IndexMap<String, String>>,
    pub positions: Vec<Position>,
    pub securities: Vec<Security>,
}

/// The EUR amount a buy aims at: the trade whose cost is 1 % of its value,
/// `fixed / (0.01 − percent)` (250 EUR at 2 EUR + 0.2 %), or 1000 EUR when the percentage alone
/// exceeds 1 %.
pub fn base_trade_amount(fixed: f64, percent: f64) -> f64 {
    let room = MAX_COST_RATIO - percent;
    if room <= 0.0 {
        FALLBACK_BASE_TRADE_EUR
    } else {
        fixed / room
    }
}

/// Python's `position.current_price or position.avg_price` (a zero price counts as missing).
pub(super) fn price_or_avg(position: &Position) -> f64 {
    match position.current_price {
        Some(p) if p != 0.0 => p,
        _ => position.avg_price,
    }
}

pub(super) fn non_empty(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}

/// Share of the total value per country group, summed in `position_values` order.
///
/// A total of exactly 0 (where the reference divides by zero and fails) gives no allocations.
fn country_allocations(input: &HeuristicInputs, env: &HeuristicEnv) -> IndexMap<String, f64> {
    let mut allocations = IndexMap::new();
    if input.total_value == 0.0 {
        return allocations;
    }
    for (symbol, &value) in &input.position_values {
        let country = input
            .security_countries
            .as_ref()
            .and_then(|m| m.get(symbol))
            .map_or("OTHER", String::as_str);
        let group = env.group_of(country);
        *allocations.entry(group).or_insert(0.0) += value / input.total_value;
    }
    allocations
}

/// State shared by the calculators of one run.
pub(super) struct Run<'a> {
    pub(super) input: &'a HeuristicInputs,
    pub(super) env: &'a HeuristicEnv,
    pub(super) securities: HashMap<&'a str, &'a Security>,
    pub(super) allocations: IndexMap<String, f64>,
    /// Symbols blocked from selling, with the reason.
    pub(super) ineligible: HashMap<String, IneligibleWhy>,
    pub(super) out: Identified,
}

impl<'a> Run<'a> {
    pub(super) fn new(input: &'a HeuristicInputs, env: &'a HeuristicEnv) -> Self {
        let securities = input
            .securities
            .iter()
            .map(|s| (s.symbol.as_str(), s))
            .collect();
        let mut run = Run {
            input,
            env,
            securities,
            allocations: country_allocations(input, env),
            ineligible: HashMap::new(),
            out: Identified::new(IdentificationPath::Heuristic),
        };
        run.ineligible = run.ineligible_to_sell();
        run
    }
}

/// The currency, "EUR" when missing or empty.
pub(super) fn currency_or_eur(currency: Option<&str>) -> String {
    non_empty(currency).unwrap_or("EUR").to_string()
}

/// Runs the five calculators in the reference's order (sells, then buys) and sorts each
/// category by priority.
pub fn identify_heuristic(input: &HeuristicInputs, env: &HeuristicEnv) -> Identified {
    let mut run = Run::new(input, env);
    run.profit_taking();
    run.rebalance_sells();
    let settings = &env.settings;
    let base = base_trade_amount(
        settings.transaction_cost_fixed,
        settings.transaction_cost_percent,
    );
    let eligible = run.eligible_for_buying();
    run.averaging_down(&eligible, base);
    run.rebalance_buys(&eligible, base);
    run.opportunity_buys(&eligible, base);
    let mut out = run.out;
    out.opportunities.sort_by_priority();
    out
}
