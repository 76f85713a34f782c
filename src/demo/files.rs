//! The demo files as written: their shapes, parsed strictly (unknown fields and repeated keys
//! fail).

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::DemoError;
use crate::domain::{Currency, Decimal};
use crate::store::TradingMode;

/// The text of each file of the dataset.
#[derive(Debug, Clone, Copy)]
pub(super) struct DemoFiles {
    pub(super) securities: &'static str,
    pub(super) portfolio: &'static str,
    pub(super) targets: &'static str,
    pub(super) scores: &'static str,
    pub(super) metrics: &'static str,
    pub(super) settings: &'static str,
}

impl DemoFiles {
    pub(super) const BUNDLED: DemoFiles = DemoFiles {
        securities: include_str!("../../data/demo/securities.yaml"),
        portfolio: include_str!("../../data/demo/portfolio.yaml"),
        targets: include_str!("../../data/demo/targets.yaml"),
        scores: include_str!("../../data/demo/scores.yaml"),
        metrics: include_str!("../../data/demo/metrics.yaml"),
        settings: include_str!("../../data/demo/settings.yaml"),
    };
}

pub(super) const SECURITIES_FILE: &str = "data/demo/securities.yaml";
pub(super) const PORTFOLIO_FILE: &str = "data/demo/portfolio.yaml";
pub(super) const TARGETS_FILE: &str = "data/demo/targets.yaml";
pub(super) const SCORES_FILE: &str = "data/demo/scores.yaml";
pub(super) const METRICS_FILE: &str = "data/demo/metrics.yaml";
pub(super) const SETTINGS_FILE: &str = "data/demo/settings.yaml";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SecuritiesFile {
    pub(super) securities: Vec<SecurityRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SecurityRow {
    pub(super) symbol: String,
    pub(super) isin: String,
    pub(super) name: String,
    pub(super) currency: Currency,
    pub(super) country: String,
    pub(super) industry: String,
    pub(super) min_lot: i64,
    #[serde(default = "yes")]
    pub(super) allow_buy: bool,
    #[serde(default = "yes")]
    pub(super) allow_sell: bool,
    #[serde(default = "one")]
    pub(super) priority_multiplier: f64,
    #[serde(default = "yes")]
    pub(super) active: bool,
}

fn yes() -> bool {
    true
}

fn one() -> f64 {
    1.0
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PortfolioFile {
    pub(super) fx_rates: UniqueMap<Currency, Decimal>,
    pub(super) cash: UniqueMap<Currency, String>,
    pub(super) positions: Vec<PositionRow>,
    pub(super) quotes: UniqueMap<String, Decimal>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PositionRow {
    pub(super) symbol: String,
    pub(super) quantity: Decimal,
    pub(super) avg_price: Decimal,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TargetsFile {
    pub(super) country_groups: UniqueMap<String, GroupRow>,
    pub(super) industry_groups: UniqueMap<String, GroupRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GroupRow {
    pub(super) target: Decimal,
    pub(super) members: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScoresFile {
    pub(super) scores: UniqueMap<String, ScoreRow>,
}

/// Every group of the scoring service's breakdown is required, so a misspelt group fails.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScoreRow {
    pub(super) total: f64,
    pub(super) long_term: f64,
    pub(super) fundamentals: f64,
    pub(super) opportunity: f64,
    pub(super) opinion: f64,
    pub(super) diversification: f64,
    pub(super) technicals: f64,
    pub(super) dividends: f64,
    pub(super) short_term: f64,
}

impl ScoreRow {
    pub(super) fn components(&self) -> BTreeMap<String, f64> {
        [
            ("long_term", self.long_term),
            ("fundamentals", self.fundamentals),
            ("opportunity", self.opportunity),
            ("opinion", self.opinion),
            ("diversification", self.diversification),
            ("technicals", self.technicals),
            ("dividends", self.dividends),
            ("short_term", self.short_term),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MetricsFile {
    pub(super) metrics: UniqueMap<String, UniqueMap<String, f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SettingsFile {
    pub(super) trading_mode: DemoTradingMode,
    pub(super) settings: UniqueMap<String, String>,
}

/// Only research is accepted: demo data must never drive live orders.
#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum DemoTradingMode {
    Research,
}

impl From<DemoTradingMode> for TradingMode {
    fn from(mode: DemoTradingMode) -> TradingMode {
        match mode {
            DemoTradingMode::Research => TradingMode::Research,
        }
    }
}

/// A YAML mapping that refuses a key given twice; a plain map would keep the last value and
/// hide a copy-and-paste slip.
pub(super) struct UniqueMap<K, V>(pub(super) BTreeMap<K, V>);

impl<'de, K, V> Deserialize<'de> for UniqueMap<K, V>
where
    K: Deserialize<'de> + Ord + fmt::Debug,
    V: Deserialize<'de>,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor<K, V>(PhantomData<(K, V)>);

        impl<'de, K, V> Visitor<'de> for MapVisitor<K, V>
        where
            K: Deserialize<'de> + Ord + fmt::Debug,
            V: Deserialize<'de>,
        {
            type Value = UniqueMap<K, V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping without repeated keys")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
                let mut map = BTreeMap::new();
                while let Some((key, value)) = access.next_entry::<K, V>()? {
                    if map.contains_key(&key) {
                        return Err(serde::de::Error::custom(format!("{key:?} appears twice")));
                    }
                    map.insert(key, value);
                }
                Ok(UniqueMap(map))
            }
        }

        deserializer.deserialize_map(MapVisitor(PhantomData))
    }
}

pub(super) fn parse<T: DeserializeOwned>(file: &'static str, text: &str) -> Result<T, DemoError> {
    serde_path_to_error::deserialize(serde_yaml::Deserializer::from_str(text)).map_err(|source| {
        DemoError::Parse {
            file,
            source: Box::new(source),
        }
    })
}
