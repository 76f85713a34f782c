//! Metrics and scores of `calculations.db`.

use std::collections::{BTreeSet, HashMap};

use super::read::SCORE_COMPONENTS;
use super::report::{KindReport, LegacyKind};
use super::values::{plural, real, text};
use super::{CALCULATIONS, Import, LegacyError, STATE, store_result};
use crate::domain::normalize_symbol;
use crate::store::{MetricRecord, ScoreRecord};

impl Import<'_> {
    pub(super) fn metrics(&mut self) -> Result<(), LegacyError> {
        let mut report = KindReport::new(LegacyKind::Metrics);
        let Some(rows) = self.rows_or_unavailable(&mut report, CALCULATIONS, "calculated_metrics")
        else {
            return self.finish(report, false);
        };
        let stored_times = store_result(LegacyKind::Metrics, self.store.metric_times())?;
        let mut seen = BTreeSet::new();
        let mut records = Vec::new();
        let mut expired = 0;
        for row in &rows {
            let symbol = normalize_symbol(&text(row, "symbol").unwrap_or_default());
            let metric = text(row, "metric").unwrap_or_default();
            let what = format!("{symbol} {metric}");
            if symbol.is_empty() || metric.is_empty() {
                report.skip(what, "no symbol or metric name");
                continue;
            }
            if !seen.insert((symbol.clone(), metric.clone())) {
                report.skip(what, "appears twice (symbols compared upper case)");
                continue;
            }
            let value = match real(row, "value") {
                Some(v) if v.is_finite() => v,
                _ => {
                    report.skip(what, "value is not a finite number");
                    continue;
                }
            };
            let calculated_at = text(row, "calculated_at").unwrap_or_else(|| self.now.clone());
            if let Some(stored) = stored_times.get(&(symbol.clone(), metric.clone()))
                && *stored > calculated_at
            {
                report.skip(what, format!("the stored value (of {stored}) is newer"));
                continue;
            }
            let expires_at = text(row, "expires_at");
            if expires_at.as_ref().is_some_and(|e| *e <= self.now) {
                expired += 1;
            }
            records.push(MetricRecord {
                symbol,
                metric,
                value,
                calculated_at,
                expires_at,
                source: text(row, "source").unwrap_or_else(|| "calculated".to_string()),
            });
        }
        if expired > 0 {
            report.note(format!(
                "{} had expired already; kept with their expiry, so the \
                 planner treats them as missing until they are recalculated",
                plural(expired, "metric", "metrics")
            ));
        }
        report.taken = records.len();
        if records.is_empty() {
            return self.finish(report, false);
        }
        let written = self.store.put_metrics(&records);
        store_result(LegacyKind::Metrics, written)?;
        self.finish(report, true)
    }

    pub(super) fn scores(&mut self) -> Result<(), LegacyError> {
        let mut report = KindReport::new(LegacyKind::Scores);
        let rows = match self.legacy.take(CALCULATIONS, "scores") {
            Ok(rows) => rows,
            Err(why) => match self.legacy.take(STATE, "scores") {
                Ok(rows) => {
                    report.note(format!("{why}; read the older copy in state.db"));
                    rows
                }
                Err(_) => {
                    report.unavailable = Some(why);
                    return self.finish(report, false);
                }
            },
        };
        let stored: HashMap<String, String> =
            store_result(LegacyKind::Scores, self.store.scores())?
                .into_iter()
                .map(|s| (s.symbol, s.calculated_at))
                .collect();
        let mut seen = BTreeSet::new();
        let mut records = Vec::new();
        for row in &rows {
            let Some(symbol) = text(row, "symbol").map(|s| normalize_symbol(&s)) else {
                report.skip("a row", "no symbol");
                continue;
            };
            if !seen.insert(symbol.clone()) {
                report.skip(&symbol, "appears twice (symbols compared upper case)");
                continue;
            }
            let Some(total_score) = real(row, "total_score").filter(|t| t.is_finite()) else {
                report.skip(&symbol, "no total score");
                continue;
            };
            let components = SCORE_COMPONENTS
                .iter()
                .filter_map(|&(column, name)| {
                    real(row, column)
                        .filter(|v| v.is_finite())
                        .map(|v| (name.to_string(), v))
                })
                .collect();
            let calculated_at = text(row, "calculated_at").unwrap_or_else(|| self.now.clone());
            if let Some(stored_at) = stored.get(&symbol)
                && *stored_at > calculated_at
            {
                report.skip(
                    &symbol,
                    format!("the stored score (of {stored_at}) is newer"),
                );
                continue;
            }
            records.push(ScoreRecord {
                symbol,
                total_score,
                components,
                calculated_at,
            });
        }
        report.taken = records.len();
        if records.is_empty() {
            return self.finish(report, false);
        }
        let written = self.store.put_scores(&records);
        store_result(LegacyKind::Scores, written)?;
        self.finish(report, true)
    }
}
