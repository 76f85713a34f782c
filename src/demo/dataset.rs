//! The checked dataset as the store's records, and its writing.

use std::collections::{BTreeMap, BTreeSet};

use super::files::{
    DemoFiles, METRICS_FILE, MetricsFile, PORTFOLIO_FILE, PortfolioFile, SCORES_FILE,
    SECURITIES_FILE, SETTINGS_FILE, ScoresFile, SecuritiesFile, SettingsFile, TARGETS_FILE,
    TargetsFile, parse,
};
use super::records::{
    cash, fx_rates, metrics, positions, quotes, scores, securities, settings, targets,
};
use super::{DEMO_SOURCE, DemoError, DemoReport, failed};
use crate::domain::{Currency, FxRate, Money};
use crate::store::{
    AllocationGroup, AllocationTarget, AllowEmpty, MetricRecord, PositionRecord, QuoteRecord,
    ScoreRecord, SecurityRecord, Store, TradingMode, keys,
};

/// The whole dataset, checked and converted to the store's records.
#[derive(Debug)]
pub(super) struct Dataset {
    pub(super) securities: Vec<SecurityRecord>,
    pub(super) positions: Vec<PositionRecord>,
    pub(super) cash: Vec<Money>,
    pub(super) fx_rates: Vec<FxRate>,
    pub(super) quotes: Vec<QuoteRecord>,
    pub(super) scores: Vec<ScoreRecord>,
    pub(super) metrics: Vec<MetricRecord>,
    pub(super) targets: Vec<AllocationTarget>,
    pub(super) groups: Vec<AllocationGroup>,
    pub(super) trading_mode: TradingMode,
    pub(super) settings: Vec<(String, String)>,
}

impl Dataset {
    /// Parses and cross-checks every file; `now` stamps quotes, scores and metrics.
    pub(super) fn parse(files: &DemoFiles, now: &str) -> Result<Dataset, DemoError> {
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
    pub(super) fn write(&self, store: &Store, now: &str) -> Result<DemoReport, DemoError> {
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
