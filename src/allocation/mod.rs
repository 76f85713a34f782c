//! The native planner's objective (DESIGN §2a): the investor's country and industry targets
//! become one target weight per security ([`targets`]); a plan is the sequence of whole-lot
//! trades, paid from the cash of each trade's own currency, that brings the portfolio closest to
//! those targets for its fees ([`search`]); every number a person reads about it comes from the
//! plan's own figures ([`narrative`]).
//!
//! Pure: no store, no clock. The coordinator builds a [`Book`] from its snapshot and a
//! [`Policy`] from the settings.

mod narrative;
mod objective;
mod search;
mod targets;

#[cfg(test)]
mod tests;

#[cfg(test)]
pub(crate) use narrative::check_step_narrative;
pub use search::{Plan, Step, plan};
pub use targets::{GroupTarget, targets};

use serde::Serialize;

/// One security of the universe as the planner sees it: what is held, at what price, in which
/// groups, and whether it may be bought or sold today (with the reason when not).
#[derive(Debug, Clone, PartialEq)]
pub struct Asset {
    pub symbol: String,
    pub name: String,
    pub currency: String,
    /// Units of `currency` per EUR.
    pub rate: f64,
    /// Last price in `currency`; a security without a price is never traded.
    pub price: Option<f64>,
    /// Board lot: orders are whole multiples of it.
    pub lot: i64,
    /// Shares held after open orders.
    pub quantity: f64,
    /// The country group and the industry group the security belongs to, if any.
    pub country_group: Option<String>,
    pub industry_group: Option<String>,
    /// Quality score, 0–1, when the scoring service or the price history gave one.
    pub score: Option<f64>,
    /// `Err(reason)` when the security may not be bought now (not allowed, cooldown, score).
    pub buy: Result<(), String>,
    /// Whether it may be brought towards a target at all (allowed, scored well enough, with
    /// metrics). One that is not is held at its weight; a passing block such as a cooldown
    /// leaves its target alone.
    pub eligible: bool,
    /// `Err(reason)` when it may not be sold now (not allowed, holding period, cooldown, loss).
    pub sell: Result<(), String>,
}

impl Asset {
    /// The position's value in EUR.
    pub fn value_eur(&self) -> f64 {
        self.price.map_or(0.0, |p| self.quantity * p / self.rate)
    }

    /// One lot's value in EUR.
    fn lot_eur(&self) -> Option<f64> {
        self.price
            .filter(|p| *p > 0.0 && self.rate > 0.0)
            .map(|p| self.lot.max(1) as f64 * p / self.rate)
    }
}

/// The portfolio a plan starts from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Book {
    pub assets: Vec<Asset>,
    /// Cash per currency in that currency's units (after open buy orders).
    pub cash: Vec<(String, f64)>,
    /// Units per EUR of every currency with cash or securities (EUR is 1).
    pub rates: Vec<(String, f64)>,
    /// The day each rate was published (ISO date), where known: narratives quote it.
    pub rate_dates: Vec<(String, String)>,
    /// Group targets as the investor set them, by kind: (group, fraction of the portfolio).
    pub country_targets: Vec<(String, f64)>,
    pub industry_targets: Vec<(String, f64)>,
}

impl Book {
    pub fn rate(&self, currency: &str) -> f64 {
        if currency == "EUR" {
            return 1.0;
        }
        self.rates
            .iter()
            .find(|(c, _)| c == currency)
            .map_or(1.0, |(_, r)| *r)
    }

    pub fn cash_eur(&self) -> f64 {
        self.cash.iter().map(|(c, a)| a / self.rate(c)).sum()
    }

    /// Positions and cash in EUR.
    pub fn total_eur(&self) -> f64 {
        self.assets.iter().map(Asset::value_eur).sum::<f64>() + self.cash_eur()
    }
}

/// How much risk the investor wants: it scales the quality tilt of the targets and the width of
/// the bands (docs/settings.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum RiskProfile {
    /// Half the tilt, bands 0.6 × as wide: closer to the targets, more small trades.
    Cautious,
    Balanced,
    /// 1.5 × the tilt, bands 1.4 × as wide: more weight on quality, fewer trades.
    Bold,
}

impl RiskProfile {
    /// (tilt factor, band factor).
    pub fn factors(self) -> (f64, f64) {
        match self {
            RiskProfile::Cautious => (0.5, 0.6),
            RiskProfile::Balanced => (1.0, 1.0),
            RiskProfile::Bold => (1.5, 1.4),
        }
    }
}

/// The settings a plan is made with, as fractions and EUR.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Cash a plan never spends: the larger of this amount and `cash_reserve_ratio`.
    pub min_cash_reserve_eur: f64,
    pub cash_reserve_ratio: f64,
    /// How far quality scores shift a group's target between its securities (0 = equally).
    pub score_tilt: f64,
    pub max_position_weight: f64,
    pub min_position_weight: f64,
    /// The tolerance band: the smaller of `band_absolute` and `band_relative` × target.
    pub band_absolute: f64,
    pub band_relative: f64,
    pub fee_fixed_eur: f64,
    pub fee_rate: f64,
    /// A cost per EUR traded beyond the fees (spread, market impact): turnover costs too.
    pub turnover_cost_rate: f64,
    /// What one percentage point of drift is worth, in basis points of the portfolio's value:
    /// the one exchange rate between drift and euros.
    pub drift_point_value_bp: f64,
    /// A trade is proposed only when the drift it removes is worth this many times its cost.
    pub fee_worth_ratio: f64,
    /// Most trades in the plan (plan depth, orders per cycle and the day's and week's quota).
    pub max_steps: usize,
    /// The broker converts EUR into a trade's currency (research mode simulates it); otherwise
    /// a buy needs cash in its own currency.
    pub converts_from_eur: bool,
    /// Plans kept at each step of the search.
    pub beam_width: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            min_cash_reserve_eur: 500.0,
            cash_reserve_ratio: 0.02,
            score_tilt: 0.2,
            max_position_weight: 0.15,
            min_position_weight: 0.01,
            band_absolute: 0.05,
            band_relative: 0.25,
            fee_fixed_eur: 2.0,
            fee_rate: 0.002,
            turnover_cost_rate: 0.001,
            drift_point_value_bp: 10.0,
            fee_worth_ratio: 1.0,
            max_steps: 5,
            converts_from_eur: true,
            beam_width: 4,
        }
    }
}

impl Policy {
    /// The fee of one order of `value_eur`.
    pub fn fee(&self, value_eur: f64) -> f64 {
        self.fee_fixed_eur + self.fee_rate * value_eur.abs()
    }

    /// The band of a target weight.
    pub fn band(&self, target: f64) -> f64 {
        self.band_absolute.min(self.band_relative * target)
    }

    /// The band of the cash reserve: cash above reserve + band is idle and gets invested. Never
    /// wider than one point, so idle cash stays under 1 % of the portfolio.
    pub fn cash_band(&self, reserve: f64) -> f64 {
        self.band(reserve).min(0.01)
    }
}
