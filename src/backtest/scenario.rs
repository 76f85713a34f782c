//! The backtest scenario: starting cash, fees, and the industry targets that become one target
//! weight per symbol (an industry's target shared equally among its symbols; what the targets
//! leave is the cash reserve).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::BacktestError;

/// Fees of one order: `fixed_eur + rate × order value`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fee {
    pub fixed_eur: f64,
    pub rate: f64,
}

/// `scenario.yaml`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub initial_cash_eur: f64,
    pub fee: Fee,
    /// Fraction of the converted amount charged on each currency conversion.
    #[serde(default)]
    pub fx_rate: f64,
    /// The industry of each symbol.
    pub industries: BTreeMap<String, String>,
    /// The target weight of each industry.
    pub industry_targets: BTreeMap<String, f64>,
}

impl Scenario {
    /// Reads and checks a scenario file against the symbols of the market data.
    pub fn load(path: &Path, symbols: &[String]) -> Result<Scenario, BacktestError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| BacktestError::Scenario(format!("{file}: {e}")))?;
        let scenario: Scenario = serde_yaml::from_str(&text)
            .map_err(|e| BacktestError::Scenario(format!("{file}: {e}")))?;
        scenario.check(symbols)?;
        Ok(scenario)
    }

    /// Refuses what cannot be simulated: unknown symbols or industries, targets over 100 % or
    /// negative, negative cash or fees.
    pub fn check(&self, symbols: &[String]) -> Result<(), BacktestError> {
        let refuse = |message: String| Err(BacktestError::Scenario(message));
        if !(self.initial_cash_eur.is_finite() && self.initial_cash_eur > 0.0) {
            return refuse(format!(
                "initial_cash_eur must be positive, got {}",
                self.initial_cash_eur
            ));
        }
        for (name, value) in [
            ("fee.fixed_eur", self.fee.fixed_eur),
            ("fee.rate", self.fee.rate),
            ("fx_rate", self.fx_rate),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return refuse(format!("{name} must not be negative, got {value}"));
            }
        }
        if self.fee.rate + self.fx_rate >= 1.0 {
            return refuse("fee.rate + fx_rate must stay under 1".into());
        }
        if let Some(unknown) = self.industries.keys().find(|s| !symbols.contains(s)) {
            return refuse(format!(
                "unknown symbol {unknown}: the price data has no column for it"
            ));
        }
        for (industry, target) in &self.industry_targets {
            if !(target.is_finite() && *target >= 0.0) {
                return refuse(format!(
                    "the target of {industry} must not be negative, got {target}"
                ));
            }
            if !self.industries.values().any(|i| i == industry) {
                return refuse(format!("industry {industry} has a target but no symbol"));
            }
        }
        let total: f64 = self.industry_targets.values().sum();
        if total > 1.0 + 1e-9 {
            return refuse(format!(
                "the targets add up to {:.2} %, over 100 %",
                total * 100.0
            ));
        }
        Ok(())
    }

    /// The target weight of each symbol: its industry's target shared equally among the
    /// industry's symbols (0 for an industry without a target).
    pub fn targets(&self) -> BTreeMap<String, f64> {
        self.industries
            .iter()
            .map(|(symbol, industry)| {
                let members = self.industries.values().filter(|i| *i == industry).count();
                let target = self.industry_targets.get(industry).copied().unwrap_or(0.0);
                (symbol.clone(), target / members as f64)
            })
            .collect()
    }

    /// What the targets leave: the cash reserve.
    pub fn cash_reserve(&self) -> f64 {
        (1.0 - self.industry_targets.values().sum::<f64>()).max(0.0)
    }
}
