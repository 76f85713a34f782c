//! The demo dataset of `data/demo/`: a small realistic universe with positions, cash, FX
//! rates, quotes, allocation targets, scores and metrics. A fresh database is filled with it so
//! that the binary plans and serves its dashboard with no upstream service running.
//!
//! The files are compiled into the binary, so an installed binary needs no repository. The
//! whole dataset is parsed and cross-checked before anything is written: a mistake in a file
//! fails before the database is touched, and the tests below fail on it first.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::marker::PhantomData;

use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::domain::{Currency, Decimal, FxRate, Money, Quantity};
use crate::store::{
    AllocationGroup, AllocationTarget, AllowEmpty, MetricRecord, PositionRecord, QuoteRecord,
    ScoreRecord, SecurityRecord, Store, StoreError, TargetKind, TradingMode, keys, now_iso,
};

/// The `source` of every row and freshness mark the demo writes, so the dashboard can say the
/// data is demo data.
pub const DEMO_SOURCE: &str = "demo";

/// The data kinds a load marks refreshed with [`DEMO_SOURCE`]; `targets` only when the load
/// wrote them.
pub const DEMO_KINDS: [&str; 8] = [
    "securities",
    "positions",
    "cash",
    "fx",
    "quotes",
    "scores",
    "metrics",
    "targets",
];

/// What a load wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DemoReport {
    pub securities: usize,
    pub positions: usize,
    pub cash_balances: usize,
    pub fx_rates: usize,
    pub quotes: usize,
    pub scores: usize,
    /// Metric rows, one per (security, metric).
    pub metrics: usize,
    /// Zero when the database already held targets, which are left as they were.
    pub allocation_targets: usize,
    /// Zero when the database already held group memberships.
    pub allocation_groups: usize,
    /// Settings written; keys the database already held are not counted.
    pub settings: usize,
    /// Whether the trading mode was set (to research; false when one was already stored).
    pub trading_mode_set: bool,
}

impl fmt::Display for DemoReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} securities, {} positions, {} cash balances, {} FX rates, {} quotes, {} scores, \
             {} metric rows, {} allocation targets, {} group members, {} settings",
            self.securities,
            self.positions,
            self.cash_balances,
            self.fx_rates,
            self.quotes,
            self.scores,
            self.metrics,
            self.allocation_targets,
            self.allocation_groups,
            self.settings
        )
    }
}

/// Errors of the demo loader; each names the file or the step that failed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A file is not valid YAML or does not have the expected shape.
    #[error("{file}: {source}")]
    Parse {
        file: &'static str,
        #[source]
        source: Box<serde_path_to_error::Error<serde_yaml::Error>>,
    },
    /// A file parses but its content is wrong or does not agree with another file.
    #[error("{file}: {reason}")]
    Invalid { file: &'static str, reason: String },
    /// The database refused a read or a write.
    #[error("demo data: cannot {action}: {source}")]
    Store {
        action: &'static str,
        #[source]
        source: StoreError,
    },
}

/// Fills the database with the demo dataset when it holds no securities and no positions, and
/// returns what was written; otherwise returns `Ok(None)` and touches nothing.
///
/// Configuration someone may have entered before the first start is kept: the trading mode is
/// set to research only when none is stored, a setting only when its key is absent, and the
/// allocation targets and groups only when none are stored.
pub fn load_if_empty(store: &Store) -> Result<Option<DemoReport>, DemoError> {
    let securities = store.securities().map_err(failed("read the securities"))?;
    let positions = store.positions().map_err(failed("read the positions"))?;
    if !securities.is_empty() || !positions.is_empty() {
        return Ok(None);
    }
    let now = now_iso();
    let dataset = Dataset::parse(&DemoFiles::BUNDLED, &now)?;
    dataset.write(store, &now).map(Some)
}

/// The text of each file of the dataset.
#[derive(Debug, Clone, Copy)]
struct DemoFiles {
    securities: &'static str,
    portfolio: &'static str,
    targets: &'static str,
    scores: &'static str,
    metrics: &'static str,
    settings: &'static str,
}

impl DemoFiles {
    const BUNDLED: DemoFiles = DemoFiles {
        securities: include_str!("../data/demo/securities.yaml"),
        portfolio: include_str!("../data/demo/portfolio.yaml"),
        targets: include_str!("../data/demo/targets.yaml"),
        scores: include_str!("../data/demo/scores.yaml"),
        metrics: include_str!("../data/demo/metrics.yaml"),
        settings: include_str!("../data/demo/settings.yaml"),
    };
}

const SECURITIES_FILE: &str = "data/demo/securities.yaml";
const PORTFOLIO_FILE: &str = "data/demo/portfolio.yaml";
const TARGETS_FILE: &str = "data/demo/targets.yaml";
const SCORES_FILE: &str = "data/demo/scores.yaml";
const METRICS_FILE: &str = "data/demo/metrics.yaml";
const SETTINGS_FILE: &str = "data/demo/settings.yaml";

// ---------------------------------------------------------------------------------------------
// The files as written

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecuritiesFile {
    securities: Vec<SecurityRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecurityRow {
    symbol: String,
    isin: String,
    name: String,
    currency: Currency,
    country: String,
    industry: String,
    min_lot: i64,
    #[serde(default = "yes")]
    allow_buy: bool,
    #[serde(default = "yes")]
    allow_sell: bool,
    #[serde(default = "one")]
    priority_multiplier: f64,
    #[serde(default = "yes")]
    active: bool,
}

fn yes() -> bool {
    true
}

fn one() -> f64 {
    1.0
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PortfolioFile {
    fx_rates: UniqueMap<Currency, Decimal>,
    cash: UniqueMap<Currency, String>,
    positions: Vec<PositionRow>,
    quotes: UniqueMap<String, Decimal>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PositionRow {
    symbol: String,
    quantity: Decimal,
    avg_price: Decimal,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetsFile {
    country_groups: UniqueMap<String, GroupRow>,
    industry_groups: UniqueMap<String, GroupRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupRow {
    target: Decimal,
    members: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScoresFile {
    scores: UniqueMap<String, ScoreRow>,
}

/// Every group of the scoring service's breakdown is required, so a misspelt group fails.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScoreRow {
    total: f64,
    long_term: f64,
    fundamentals: f64,
    opportunity: f64,
    opinion: f64,
    diversification: f64,
    technicals: f64,
    dividends: f64,
    short_term: f64,
}

impl ScoreRow {
    fn components(&self) -> BTreeMap<String, f64> {
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
struct MetricsFile {
    metrics: UniqueMap<String, UniqueMap<String, f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsFile {
    trading_mode: DemoTradingMode,
    settings: UniqueMap<String, String>,
}

/// Only research is accepted: demo data must never drive live orders.
#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum DemoTradingMode {
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
struct UniqueMap<K, V>(BTreeMap<K, V>);

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

fn parse<T: DeserializeOwned>(file: &'static str, text: &str) -> Result<T, DemoError> {
    serde_path_to_error::deserialize(serde_yaml::Deserializer::from_str(text)).map_err(|source| {
        DemoError::Parse {
            file,
            source: Box::new(source),
        }
    })
}

// ---------------------------------------------------------------------------------------------
// The checked dataset, as store records

/// The whole dataset, checked and converted to the store's records.
#[derive(Debug)]
struct Dataset {
    securities: Vec<SecurityRecord>,
    positions: Vec<PositionRecord>,
    cash: Vec<Money>,
    fx_rates: Vec<FxRate>,
    quotes: Vec<QuoteRecord>,
    scores: Vec<ScoreRecord>,
    metrics: Vec<MetricRecord>,
    targets: Vec<AllocationTarget>,
    groups: Vec<AllocationGroup>,
    trading_mode: TradingMode,
    settings: Vec<(String, String)>,
}

impl Dataset {
    /// Parses and cross-checks every file; `now` stamps quotes, scores and metrics.
    fn parse(files: &DemoFiles, now: &str) -> Result<Dataset, DemoError> {
        let securities_file: SecuritiesFile = parse(SECURITIES_FILE, files.securities)?;
        let portfolio: PortfolioFile = parse(PORTFOLIO_FILE, files.portfolio)?;
        let targets_file: TargetsFile = parse(TARGETS_FILE, files.targets)?;
        let scores_file: ScoresFile = parse(SCORES_FILE, files.scores)?;
        let metrics_file: MetricsFile = parse(METRICS_FILE, files.metrics)?;
        let settings_file: SettingsFile = parse(SETTINGS_FILE, files.settings)?;

        let fx_rates = fx_rates(&portfolio.fx_rates.0)?;
        let traded: BTreeSet<Currency> = fx_rates
            .iter()
            .map(|rate| rate.currency())
            .chain([Currency::EUR])
            .collect();
        let securities = securities(securities_file.securities, &traded)?;
        let by_symbol: BTreeMap<&str, &SecurityRecord> =
            securities.iter().map(|s| (s.symbol.as_str(), s)).collect();
        let (targets, groups) = targets(&targets_file, &securities)?;
        Ok(Dataset {
            positions: positions(&portfolio.positions, &by_symbol)?,
            cash: cash(&portfolio.cash.0, &traded)?,
            quotes: quotes(&portfolio.quotes.0, &by_symbol, now)?,
            scores: scores(scores_file.scores.0, &by_symbol, now)?,
            metrics: metrics(metrics_file.metrics.0, &by_symbol, now)?,
            trading_mode: settings_file.trading_mode.into(),
            settings: settings(settings_file.settings.0)?,
            securities,
            fx_rates,
            targets,
            groups,
        })
    }

    /// Writes the dataset. Securities and positions go last because they are what makes the
    /// database count as non-empty: if a write fails part-way, the next start loads everything
    /// again, and every earlier write is a replacement or an upsert.
    fn write(&self, store: &Store, now: &str) -> Result<DemoReport, DemoError> {
        let mut report = DemoReport::default();
        let mut refreshed: Vec<&str> = Vec::new();

        let mode = store
            .setting(keys::TRADING_MODE)
            .map_err(failed("read the trading mode"))?;
        if mode.is_none() {
            store
                .set_trading_mode(self.trading_mode)
                .map_err(failed("set the trading mode"))?;
            report.trading_mode_set = true;
        }
        for (key, value) in &self.settings {
            let stored = store.setting(key).map_err(failed("read a setting"))?;
            if stored.is_none() {
                store
                    .set_setting(key, value)
                    .map_err(failed("write a setting"))?;
                report.settings += 1;
            }
        }

        for &rate in &self.fx_rates {
            store
                .set_fx_rate(rate)
                .map_err(failed("write the FX rates"))?;
        }
        report.fx_rates = self.fx_rates.len();
        refreshed.push("fx");

        store
            .replace_cash_balances(&self.cash, AllowEmpty::No)
            .map_err(failed("write the cash balances"))?;
        report.cash_balances = self.cash.len();
        refreshed.push("cash");

        store
            .put_quotes(&self.quotes)
            .map_err(failed("write the quotes"))?;
        report.quotes = self.quotes.len();
        refreshed.push("quotes");

        store
            .put_scores(&self.scores)
            .map_err(failed("write the scores"))?;
        report.scores = self.scores.len();
        refreshed.push("scores");

        store
            .put_metrics(&self.metrics)
            .map_err(failed("write the metrics"))?;
        report.metrics = self.metrics.len();
        refreshed.push("metrics");

        let stored_targets = store
            .allocation_targets()
            .map_err(failed("read the allocation targets"))?;
        if stored_targets.is_empty() {
            store
                .replace_allocation_targets(&self.targets, AllowEmpty::No)
                .map_err(failed("write the allocation targets"))?;
            report.allocation_targets = self.targets.len();
            refreshed.push("targets");
        }
        let stored_groups = store
            .allocation_groups()
            .map_err(failed("read the allocation groups"))?;
        if stored_groups.is_empty() {
            store
                .replace_allocation_groups(&self.groups, AllowEmpty::No)
                .map_err(failed("write the allocation groups"))?;
            report.allocation_groups = self.groups.len();
        }

        store
            .replace_securities(&self.securities, AllowEmpty::No)
            .map_err(failed("write the securities"))?;
        report.securities = self.securities.len();
        refreshed.push("securities");

        store
            .replace_positions(&self.positions, AllowEmpty::No)
            .map_err(failed("write the positions"))?;
        report.positions = self.positions.len();
        refreshed.push("positions");

        for kind in refreshed {
            store
                .mark_refreshed(kind, DEMO_SOURCE, now)
                .map_err(failed("mark the data refreshed"))?;
        }
        Ok(report)
    }
}

fn failed(action: &'static str) -> impl Fn(StoreError) -> DemoError {
    move |source| DemoError::Store { action, source }
}

fn invalid(file: &'static str, reason: impl Into<String>) -> DemoError {
    DemoError::Invalid {
        file,
        reason: reason.into(),
    }
}

fn fx_rates(rows: &BTreeMap<Currency, Decimal>) -> Result<Vec<FxRate>, DemoError> {
    rows.iter()
        .map(|(&currency, &per_eur)| {
            if currency == Currency::EUR {
                return Err(invalid(
                    PORTFOLIO_FILE,
                    "fx_rates lists EUR; its rate is always 1 and is not stored",
                ));
            }
            FxRate::new(currency, per_eur)
                .map_err(|e| invalid(PORTFOLIO_FILE, format!("fx_rates.{currency}: {e}")))
        })
        .collect()
}

fn securities(
    rows: Vec<SecurityRow>,
    traded: &BTreeSet<Currency>,
) -> Result<Vec<SecurityRecord>, DemoError> {
    let mut seen_symbols = BTreeSet::new();
    let mut seen_isins = BTreeSet::new();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let bad = |what: String| invalid(SECURITIES_FILE, format!("{}: {what}", row.symbol));
        // Symbols are written as the store keeps them, so every other file can match them
        // textually.
        if row.symbol.is_empty() || row.symbol != row.symbol.trim().to_uppercase() {
            return Err(bad("the symbol must be upper case without spaces".into()));
        }
        if !seen_symbols.insert(row.symbol.clone()) {
            return Err(bad("listed twice".into()));
        }
        if !is_isin(&row.isin) {
            return Err(bad(format!("{:?} is not an ISIN", row.isin)));
        }
        if !seen_isins.insert(row.isin.clone()) {
            return Err(bad(format!("ISIN {} is used twice", row.isin)));
        }
        if row.name.trim().is_empty() || row.country.trim().is_empty() {
            return Err(bad("name and country must not be empty".into()));
        }
        if industries(&row.industry).next().is_none() {
            return Err(bad("industry must not be empty".into()));
        }
        if !traded.contains(&row.currency) {
            return Err(bad(format!(
                "currency {} has no FX rate in {PORTFOLIO_FILE}",
                row.currency
            )));
        }
        if row.min_lot < 1 {
            return Err(bad(format!("min_lot {} is below 1", row.min_lot)));
        }
        if !row.priority_multiplier.is_finite() || row.priority_multiplier <= 0.0 {
            return Err(bad("priority_multiplier must be positive".into()));
        }
        out.push(SecurityRecord {
            isin: Some(row.isin),
            name: row.name,
            currency: row.currency,
            country: Some(row.country),
            industry: Some(row.industry),
            min_lot: row.min_lot,
            allow_buy: row.allow_buy,
            allow_sell: row.allow_sell,
            priority_multiplier: row.priority_multiplier,
            active: row.active,
            symbol: row.symbol,
        });
    }
    Ok(out)
}

/// Two letters, nine letters or digits, one check digit (the check digit itself is not
/// verified: the ISINs are realistic, not necessarily real).
fn is_isin(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 12
        && bytes[..2].iter().all(u8::is_ascii_uppercase)
        && bytes[2..11]
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && bytes[11].is_ascii_digit()
}

/// The industries of a security, as the reference splits its comma-separated column.
fn industries(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn positions(
    rows: &[PositionRow],
    securities: &BTreeMap<&str, &SecurityRecord>,
) -> Result<Vec<PositionRecord>, DemoError> {
    let mut seen = BTreeSet::new();
    rows.iter()
        .map(|row| {
            let bad =
                |what: String| invalid(PORTFOLIO_FILE, format!("position {}: {what}", row.symbol));
            let security = securities
                .get(row.symbol.as_str())
                .ok_or_else(|| bad(format!("not a security of {SECURITIES_FILE}")))?;
            if !seen.insert(row.symbol.as_str()) {
                return Err(bad("listed twice".into()));
            }
            if !row.quantity.is_positive() || !row.avg_price.is_positive() {
                return Err(bad("quantity and avg_price must be positive".into()));
            }
            if !is_multiple_of(row.quantity, security.min_lot) {
                return Err(bad(format!(
                    "quantity {} is not a multiple of the lot {}",
                    row.quantity, security.min_lot
                )));
            }
            let quantity = Quantity::new(row.quantity).map_err(|e| bad(e.to_string()))?;
            Ok(PositionRecord {
                symbol: row.symbol.clone(),
                quantity,
                avg_price: row.avg_price,
                currency: security.currency,
            })
        })
        .collect()
}

/// Whether `quantity` is a whole number of lots.
fn is_multiple_of(quantity: Decimal, lot: i64) -> bool {
    // Decimals are normalised, so a whole number has scale 0.
    quantity.scale() == 0 && lot > 0 && quantity.mantissa() % i128::from(lot) == 0
}

fn cash(
    rows: &BTreeMap<Currency, String>,
    traded: &BTreeSet<Currency>,
) -> Result<Vec<Money>, DemoError> {
    rows.iter()
        .map(|(&currency, text)| {
            let bad = |what: String| invalid(PORTFOLIO_FILE, format!("cash.{currency}: {what}"));
            if !traded.contains(&currency) {
                return Err(bad("no FX rate for this currency".into()));
            }
            let amount = Money::parse(text, currency).map_err(|e| bad(e.to_string()))?;
            if amount.is_negative() {
                return Err(bad("cash must not be negative".into()));
            }
            Ok(amount)
        })
        .collect()
}

/// Checks that `symbols` are exactly the securities: none unknown, none missing.
fn covers_every_security<'a>(
    file: &'static str,
    what: &str,
    symbols: impl Iterator<Item = &'a String>,
    securities: &BTreeMap<&str, &SecurityRecord>,
) -> Result<(), DemoError> {
    let given: BTreeSet<&str> = symbols.map(String::as_str).collect();
    if let Some(unknown) = given.iter().find(|s| !securities.contains_key(*s)) {
        return Err(invalid(
            file,
            format!("{what} for {unknown}, which is not a security of {SECURITIES_FILE}"),
        ));
    }
    if let Some(missing) = securities.keys().find(|s| !given.contains(*s)) {
        return Err(invalid(file, format!("{missing} has no {what}")));
    }
    Ok(())
}

fn quotes(
    rows: &BTreeMap<String, Decimal>,
    securities: &BTreeMap<&str, &SecurityRecord>,
    now: &str,
) -> Result<Vec<QuoteRecord>, DemoError> {
    covers_every_security(PORTFOLIO_FILE, "quote", rows.keys(), securities)?;
    rows.iter()
        .map(|(symbol, &price)| {
            if !price.is_positive() {
                return Err(invalid(
                    PORTFOLIO_FILE,
                    format!("quotes.{symbol}: the price must be positive"),
                ));
            }
            Ok(QuoteRecord {
                symbol: symbol.clone(),
                price,
                currency: securities[symbol.as_str()].currency,
                as_of: now.to_string(),
                source: DEMO_SOURCE.to_string(),
            })
        })
        .collect()
}

fn scores(
    rows: BTreeMap<String, ScoreRow>,
    securities: &BTreeMap<&str, &SecurityRecord>,
    now: &str,
) -> Result<Vec<ScoreRecord>, DemoError> {
    covers_every_security(SCORES_FILE, "score", rows.keys(), securities)?;
    rows.into_iter()
        .map(|(symbol, row)| {
            let components = row.components();
            let in_range = |v: f64| (0.0..=1.0).contains(&v);
            if !in_range(row.total) || !components.values().copied().all(in_range) {
                return Err(invalid(
                    SCORES_FILE,
                    format!("{symbol}: every score must lie in 0..=1"),
                ));
            }
            Ok(ScoreRecord {
                symbol,
                total_score: row.total,
                components,
                calculated_at: now.to_string(),
            })
        })
        .collect()
}

/// Every security must list the same metric names, so a misspelt name in one row fails.
fn metrics(
    rows: BTreeMap<String, UniqueMap<String, f64>>,
    securities: &BTreeMap<&str, &SecurityRecord>,
    now: &str,
) -> Result<Vec<MetricRecord>, DemoError> {
    covers_every_security(METRICS_FILE, "metrics", rows.keys(), securities)?;
    let mut names: Option<(&str, BTreeSet<&str>)> = None;
    for (symbol, values) in &rows {
        let these: BTreeSet<&str> = values.0.keys().map(String::as_str).collect();
        match &names {
            None => names = Some((symbol, these)),
            Some((first, expected)) if *expected != these => {
                let missing: Vec<_> = expected.difference(&these).collect();
                let extra: Vec<_> = these.difference(expected).collect();
                return Err(invalid(
                    METRICS_FILE,
                    format!(
                        "{symbol} does not list the metrics of {first}: missing {missing:?}, \
                         extra {extra:?}"
                    ),
                ));
            }
            Some(_) => {}
        }
        if let Some((name, value)) = values.0.iter().find(|(_, v)| !v.is_finite()) {
            return Err(invalid(
                METRICS_FILE,
                format!("{symbol}.{name} is not a finite number ({value})"),
            ));
        }
    }
    Ok(rows
        .iter()
        .flat_map(|(symbol, values)| {
            values.0.iter().map(move |(metric, &value)| MetricRecord {
                symbol: symbol.clone(),
                metric: metric.clone(),
                value,
                calculated_at: now.to_string(),
                expires_at: None,
                source: DEMO_SOURCE.to_string(),
            })
        })
        .collect())
}

fn targets(
    file: &TargetsFile,
    securities: &[SecurityRecord],
) -> Result<(Vec<AllocationTarget>, Vec<AllocationGroup>), DemoError> {
    let mut targets = Vec::new();
    let mut groups = Vec::new();
    for (kind, rows) in [
        (TargetKind::Country, &file.country_groups.0),
        (TargetKind::Industry, &file.industry_groups.0),
    ] {
        let label = kind.as_str();
        let mut sum = Decimal::ZERO;
        let mut member_of: BTreeMap<&str, &str> = BTreeMap::new();
        for (group, row) in rows {
            if row.target.is_negative() || row.target > Decimal::ONE {
                return Err(invalid(
                    TARGETS_FILE,
                    format!("{label} group {group}: the target must lie in 0..=1"),
                ));
            }
            sum = sum
                .checked_add(row.target)
                .map_err(|e| invalid(TARGETS_FILE, e.to_string()))?;
            targets.push(AllocationTarget {
                kind,
                group: group.clone(),
                target: row.target,
            });
            for member in &row.members {
                if let Some(other) = member_of.insert(member, group) {
                    return Err(invalid(
                        TARGETS_FILE,
                        format!("{label} {member:?} is in both {other} and {group}"),
                    ));
                }
                groups.push(AllocationGroup {
                    kind,
                    member: member.clone(),
                    group: group.clone(),
                });
            }
        }
        if sum > Decimal::ONE {
            return Err(invalid(
                TARGETS_FILE,
                format!("the {label} targets add up to {sum}, more than 1"),
            ));
        }
        for security in securities {
            let members: Vec<&str> = match kind {
                TargetKind::Country => security.country.as_deref().into_iter().collect(),
                TargetKind::Industry => {
                    industries(security.industry.as_deref().unwrap_or("")).collect()
                }
            };
            if let Some(orphan) = members.iter().find(|m| !member_of.contains_key(*m)) {
                return Err(invalid(
                    TARGETS_FILE,
                    format!(
                        "{label} {orphan:?} of {} is in no {label} group",
                        security.symbol
                    ),
                ));
            }
        }
    }
    Ok((targets, groups))
}

fn settings(rows: BTreeMap<String, String>) -> Result<Vec<(String, String)>, DemoError> {
    rows.into_iter()
        .map(|(key, value)| {
            if key == keys::TRADING_MODE {
                return Err(invalid(
                    SETTINGS_FILE,
                    "trading_mode belongs at the top level, not under settings",
                ));
            }
            if key.trim().is_empty() || value.trim().parse::<Decimal>().is_err() {
                return Err(invalid(
                    SETTINGS_FILE,
                    format!("settings.{key}: {value:?} is not a number"),
                ));
            }
            Ok((key, value))
        })
        .collect()
}

#[cfg(test)]
#[path = "demo_tests.rs"]
mod tests;
