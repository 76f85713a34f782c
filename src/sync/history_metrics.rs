//! Metrics of our own, computed from the stored daily closes with the module the backtest uses
//! ([`crate::analytics`]), for the securities the scoring service has nothing (valid) for, or
//! while it is down. They are written into the same table as the service's, under the source
//! [`HISTORY_SOURCE`], only where no valid value from another source exists, and they expire
//! after a day so that a recovered service's values take their place.
//!
//! A security whose history is too short for any figure gets no row: the planner then sees no
//! metrics for it and says "not enough price history" instead of scoring it as average.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};

use crate::analytics::metrics_as_of;
use crate::store::{MetricRecord, Store, StoreError, iso};

/// The `source` of metrics computed here.
pub const HISTORY_SOURCE: &str = "history";

/// How long a metric computed here stays valid: two daily runs, so that a run a little late
/// leaves no gap.
const HISTORY_TTL_DAYS: i64 = 2;

/// The annual risk-free rate of the Sharpe and Sortino ratios, as in the backtest.
const RISK_FREE_RATE: f64 = 0.0;

/// What one computation did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HistoryMetricsReport {
    /// Symbols that got at least one metric.
    pub computed: Vec<String>,
    /// Symbols without any other valid metric whose history is too short for any figure.
    pub not_enough_history: Vec<String>,
    /// Rows written.
    pub rows: usize,
}

/// Computes the metrics of every tracked security (active or held) as of `today` and writes
/// those that fill a gap, calculated at `now`.
pub fn refresh_history_metrics(
    store: &Store,
    today: NaiveDate,
    now: NaiveDateTime,
) -> Result<HistoryMetricsReport, StoreError> {
    let now_iso = iso(now);
    let expires = iso(now + TimeDelta::days(HISTORY_TTL_DAYS));
    let held: BTreeSet<String> = store.positions()?.into_iter().map(|p| p.symbol).collect();
    let symbols: Vec<String> = store
        .securities()?
        .into_iter()
        .filter(|s| s.active || held.contains(&s.symbol))
        .map(|s| s.symbol)
        .collect();
    // (symbol, metric) held by a valid row from another source: left alone.
    let mut taken: BTreeSet<(String, String)> = BTreeSet::new();
    let mut others: BTreeMap<String, usize> = BTreeMap::new();
    for origin in store.metric_origins()? {
        if origin.source != HISTORY_SOURCE && origin.is_valid(&now_iso) {
            *others.entry(origin.symbol.clone()).or_default() += 1;
            taken.insert((origin.symbol, origin.metric));
        }
    }
    let mut report = HistoryMetricsReport::default();
    let mut rows = Vec::new();
    for symbol in symbols {
        let history = store.daily_closes(&symbol)?;
        let named = metrics_as_of(&history, today, RISK_FREE_RATE).named();
        if named.is_empty() {
            if !others.contains_key(&symbol) {
                report.not_enough_history.push(symbol);
            }
            continue;
        }
        let before = rows.len();
        for (metric, value) in named {
            if taken.contains(&(symbol.clone(), metric.clone())) {
                continue;
            }
            rows.push(MetricRecord {
                symbol: symbol.clone(),
                metric,
                value,
                calculated_at: now_iso.clone(),
                expires_at: Some(expires.clone()),
                source: HISTORY_SOURCE.to_string(),
            });
        }
        if rows.len() > before {
            report.computed.push(symbol);
        }
    }
    report.rows = rows.len();
    if !rows.is_empty() {
        store.put_metrics(&rows)?;
    }
    Ok(report)
}

/// Where a security's valid metrics come from and how old they are, for the dashboard.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MetricsProvenance {
    /// The distinct sources of its valid metrics (`calculated`, `yahoo`, `history`, ...).
    pub sources: Vec<String>,
    /// Valid metric rows.
    pub valid: usize,
    /// The oldest valid row's calculation time, and its age in hours at `now`.
    pub calculated_at: Option<String>,
    pub age_hours: Option<f64>,
    /// Stored daily closes.
    pub history_days: usize,
    /// No valid metric from any source: the planner does not buy it ("not enough price
    /// history") rather than scoring it as average.
    pub not_enough_history: bool,
}

/// The provenance of every stored security's metrics at `now`.
pub fn metrics_provenance(
    store: &Store,
    now: NaiveDateTime,
) -> Result<BTreeMap<String, MetricsProvenance>, StoreError> {
    let now_iso = iso(now);
    let spans = store.history_spans()?;
    let mut out: BTreeMap<String, MetricsProvenance> = store
        .securities()?
        .into_iter()
        .map(|s| {
            let history_days = spans.get(&s.symbol).map_or(0, |span| span.days);
            let empty = MetricsProvenance {
                sources: Vec::new(),
                valid: 0,
                calculated_at: None,
                age_hours: None,
                history_days,
                not_enough_history: true,
            };
            (s.symbol, empty)
        })
        .collect();
    for origin in store.metric_origins()? {
        if !origin.is_valid(&now_iso) {
            continue;
        }
        let Some(entry) = out.get_mut(&origin.symbol) else {
            continue;
        };
        entry.valid += 1;
        entry.not_enough_history = false;
        if !entry.sources.contains(&origin.source) {
            entry.sources.push(origin.source.clone());
            entry.sources.sort();
        }
        if entry
            .calculated_at
            .as_ref()
            .is_none_or(|c| origin.calculated_at < *c)
        {
            entry.age_hours = parse_time(&origin.calculated_at)
                .map(|at| ((now - at).num_minutes() as f64 / 60.0).max(0.0));
            entry.calculated_at = Some(origin.calculated_at);
        }
    }
    Ok(out)
}

pub(crate) fn parse_time(text: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok()
}

#[cfg(test)]
mod tests;
