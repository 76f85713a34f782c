//! Securities and positions as the opportunity and generator modules see them (the reference's
//! domain `Security` and `Position`, spec opportunity-generator.md §2.3–2.4).

use chrono::NaiveDateTime;

/// The reference upper-cases and trims every symbol of a domain object (request maps are not
/// normalised; see spec §8 item 6).
pub fn normalize_symbol(symbol: &str) -> String {
    symbol.trim().to_uppercase()
}

#[derive(Clone, Debug, PartialEq)]
pub struct Security {
    pub symbol: String,
    pub name: String,
    pub isin: Option<String>,
    pub country: Option<String>,
    /// Comma-separated industries ("Tech, Software").
    pub industry: Option<String>,
    pub allow_buy: bool,
    pub allow_sell: bool,
    /// Smallest tradable quantity; values below 1 mean 1.
    pub min_lot: i64,
    /// Buy priorities are multiplied by it, sell priorities divided.
    pub priority_multiplier: f64,
    /// Trading currency; `None` means EUR.
    pub currency: Option<String>,
}

impl Security {
    /// A security with the reference service's fixed defaults (lot 1, multiplier 1, no currency).
    pub fn new(symbol: &str, name: &str) -> Security {
        Security {
            symbol: normalize_symbol(symbol),
            name: name.to_string(),
            isin: None,
            country: None,
            industry: None,
            allow_buy: true,
            allow_sell: true,
            min_lot: 1,
            priority_multiplier: 1.0,
            currency: None,
        }
    }

    /// The industries, split on commas and trimmed, empty parts dropped.
    pub fn industries(&self) -> impl Iterator<Item = &str> {
        self.industry
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Position {
    pub symbol: String,
    pub quantity: f64,
    pub avg_price: f64,
    pub currency: String,
    pub current_price: Option<f64>,
    pub market_value_eur: Option<f64>,
    pub unrealized_pnl_pct: Option<f64>,
    pub first_bought_at: Option<NaiveDateTime>,
}
