//! The reference's portfolio score (`calculate_portfolio_score`, spec §4.1): diversification by
//! country group, dividend and quality, on a 0–100 scale.

use std::collections::HashMap;

use crate::domain::round_py;

/// What the portfolio score reads besides positions. The evaluator service builds it empty, which
/// makes the score the constant 43.3.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PortfolioScoreContext {
    /// Target weight per country group, in insertion order.
    pub country_weights: Vec<(String, f64)>,
    pub security_countries: HashMap<String, String>,
    pub country_to_group: HashMap<String, String>,
    /// Dividend yield per symbol; `None` = the context has no dividend map.
    pub security_dividends: Option<HashMap<String, Option<f64>>>,
    /// Quality score (0–1) per symbol; `None` = the context has no score map.
    pub security_scores: Option<HashMap<String, Option<f64>>>,
}

/// Components on the 0–100 scale, each rounded to one decimal.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PortfolioScore {
    pub diversification_score: f64,
    pub dividend_score: f64,
    pub quality_score: f64,
    pub total: f64,
}

impl PortfolioScoreContext {
    /// Scores `positions` (symbol, EUR value) in dict order against `total_value`.
    pub fn score(&self, positions: &[(String, f64)], total_value: f64) -> PortfolioScore {
        if total_value <= 0.0 {
            return PortfolioScore {
                diversification_score: 50.0,
                dividend_score: 50.0,
                quality_score: 50.0,
                total: 50.0,
            };
        }
        let t = total_value;
        let mut deviations = Vec::new();
        if !self.security_countries.is_empty() {
            let mut by_group: HashMap<&str, f64> = HashMap::new();
            for (symbol, value) in positions {
                let country = self
                    .security_countries
                    .get(symbol)
                    .map_or("OTHER", String::as_str);
                let group = self
                    .country_to_group
                    .get(country)
                    .map_or("OTHER", String::as_str);
                *by_group.entry(group).or_insert(0.0) += value;
            }
            for (group, target) in &self.country_weights {
                let current = by_group.get(group.as_str()).copied().unwrap_or(0.0) / t;
                deviations.push((current - target).abs());
            }
        }
        let average = if deviations.is_empty() {
            0.2
        } else {
            deviations.iter().sum::<f64>() / deviations.len() as f64
        };
        let diversification = (100.0 * (1.0 - average / 0.3)).max(0.0);
        let dividend = match &self.security_dividends {
            Some(dividends) if !dividends.is_empty() => {
                let weighted: f64 = positions
                    .iter()
                    .map(|(s, v)| dividends.get(s).copied().flatten().unwrap_or(0.0) * v / t)
                    .sum();
                (30.0 + weighted * 1000.0).min(100.0)
            }
            _ => 50.0,
        };
        let quality = match &self.security_scores {
            Some(scores) if !scores.is_empty() => {
                let weighted: f64 = positions
                    .iter()
                    .map(|(s, v)| {
                        let q = scores
                            .get(s)
                            .copied()
                            .flatten()
                            .filter(|q| *q != 0.0)
                            .unwrap_or(0.5);
                        q * v / t
                    })
                    .sum();
                weighted * 100.0
            }
            _ => 50.0,
        };
        let total = diversification * 0.40 + dividend * 0.30 + quality * 0.30;
        PortfolioScore {
            diversification_score: round_py(diversification, 1),
            dividend_score: round_py(dividend, 1),
            quality_score: round_py(quality, 1),
            total: round_py(total, 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_context_gives_the_evaluator_constant() {
        let ctx = PortfolioScoreContext::default();
        let p = ctx.score(&[("A".into(), 100.0)], 1000.0);
        assert_eq!(p.diversification_score, 33.3);
        assert_eq!(p.total, 43.3);
        assert_eq!(p.total / 100.0, 43.3 / 100.0);
    }

    #[test]
    fn non_positive_total_scores_fifty_everywhere() {
        let p = PortfolioScoreContext::default().score(&[], 0.0);
        assert_eq!(
            (
                p.diversification_score,
                p.dividend_score,
                p.quality_score,
                p.total
            ),
            (50.0, 50.0, 50.0, 50.0)
        );
    }

    #[test]
    fn country_deviation_dividends_and_quality() {
        let ctx = PortfolioScoreContext {
            country_weights: vec![("EU".into(), 0.5), ("US".into(), 0.5)],
            security_countries: [("A".into(), "France".into()), ("B".into(), "USA".into())].into(),
            country_to_group: [("France".into(), "EU".into()), ("USA".into(), "US".into())].into(),
            security_dividends: Some([("A".into(), Some(0.04)), ("B".into(), None)].into()),
            security_scores: Some([("A".into(), Some(0.8)), ("B".into(), Some(0.0))].into()),
        };
        let positions = vec![("A".to_string(), 600.0), ("B".to_string(), 400.0)];
        let p = ctx.score(&positions, 1000.0);
        // deviations 0.1 and 0.1 -> D = 100 * (1 - 0.1/0.3) = 66.67
        assert_eq!(p.diversification_score, 66.7);
        // Y = 30 + 1000 * 0.04 * 0.6 = 54
        assert_eq!(p.dividend_score, 54.0);
        // Q = 100 * (0.8 * 0.6 + 0.5 * 0.4) = 68 (a stored 0 reads as 0.5)
        assert_eq!(p.quality_score, 68.0);
        assert_eq!(
            p.total,
            round_py(66.666_666_666_666_67 * 0.4 + 54.0 * 0.3 + 68.0 * 0.3, 1)
        );
    }
}
