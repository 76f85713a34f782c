//! The `calculated_metrics` table: pre-computed per-security metrics with an optional expiry.
//!
//! Same semantics as the reference's `calculations.db`: symbols are stored upper case, and a
//! row is valid while `expires_at IS NULL OR expires_at > now_iso`, a string comparison of ISO
//! local times (see [`now_iso`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::iter;

use rusqlite::{Connection, TransactionBehavior, params, params_from_iter};

use super::{Store, StoreError};
use crate::domain::MetricsBySymbol;

/// Symbols bound per query; with [`NAME_CHUNK`] and `now` this stays below SQLite's
/// historical limit of 999 bound variables.
const SYMBOL_CHUNK: usize = 500;
/// Metric names bound per query.
const NAME_CHUNK: usize = 400;

/// Python's `datetime.now().isoformat()` (with microseconds), the format of the reference.
const ISO_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6f";

/// Replaces the value of a (symbol, metric) row, keeping the ISIN a row may already carry.
const UPSERT_SQL: &str = "INSERT INTO calculated_metrics \
     (symbol, isin, metric, value, calculated_at, expires_at, source) \
     VALUES (?1, NULL, ?2, ?3, ?4, ?5, ?6) \
     ON CONFLICT(symbol, metric) DO UPDATE SET value = excluded.value, \
     calculated_at = excluded.calculated_at, expires_at = excluded.expires_at, source = excluded.source";

/// What [`Store::replace_metrics`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MetricsImport {
    /// Distinct (upper-cased) symbols with at least one row written.
    pub symbols: usize,
    /// Rows written, one per distinct (upper-cased symbol, metric).
    pub rows: usize,
}

/// One metric row with its own times, as the scoring service or a legacy store reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRecord {
    pub symbol: String,
    pub metric: String,
    pub value: f64,
    pub calculated_at: String,
    /// `None` = never expires.
    pub expires_at: Option<String>,
    pub source: String,
}

/// The local time now as the reference formats it, e.g. `2026-01-05T00:00:00.000000`.
pub fn now_iso() -> String {
    iso(chrono::Local::now().naive_local())
}

/// A time as the reference formats it, e.g. `2026-01-05T00:00:00.000000`.
pub fn iso(at: chrono::NaiveDateTime) -> String {
    at.format(ISO_FORMAT).to_string()
}

impl Store {
    /// Replaces (insert-or-replace) the rows of every (symbol, metric) in `metrics`, with
    /// `expires_at` NULL, `calculated_at` = now and the given `source`, in one transaction.
    /// Other rows are left alone. Symbols are upper-cased; if two spellings of one symbol carry
    /// the same metric, the spelling that sorts last wins.
    ///
    /// Any NaN or infinite value fails with [`StoreError::NonFiniteValue`] before anything is
    /// written.
    pub fn replace_metrics(
        &self,
        metrics: &MetricsBySymbol,
        source: &str,
    ) -> Result<MetricsImport, StoreError> {
        let rows = normalize(metrics)?;
        let import = MetricsImport {
            symbols: rows
                .keys()
                .map(|(symbol, _)| symbol)
                .collect::<BTreeSet<_>>()
                .len(),
            rows: rows.len(),
        };
        if rows.is_empty() {
            return Ok(import);
        }
        let calculated_at = now_iso();
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut upsert = tx.prepare_cached(UPSERT_SQL)?;
                for ((symbol, metric), value) in &rows {
                    upsert.execute(params![
                        symbol,
                        metric,
                        value,
                        calculated_at,
                        None::<&str>,
                        source
                    ])?;
                }
            }
            tx.commit()?;
            Ok(())
        })?;
        Ok(import)
    }

    /// Writes (insert-or-replace) one row with an explicit `calculated_at` and expiry
    /// (`None` = never expires). The symbol is upper-cased; a non-finite value is rejected.
    pub fn put_metric(
        &self,
        symbol: &str,
        metric: &str,
        value: f64,
        calculated_at: &str,
        expires_at: Option<&str>,
        source: &str,
    ) -> Result<(), StoreError> {
        check_finite(symbol, metric, value)?;
        let symbol = symbol.to_uppercase();
        self.write(|conn| {
            conn.prepare_cached(UPSERT_SQL)?.execute(params![
                symbol,
                metric,
                value,
                calculated_at,
                expires_at,
                source
            ])?;
            Ok(())
        })
    }

    /// Writes (insert-or-replace) `rows` in one transaction. A non-finite value or an empty
    /// symbol or name refuses the whole batch before anything is written.
    pub fn put_metrics(&self, rows: &[MetricRecord]) -> Result<(), StoreError> {
        for row in rows {
            check_finite(&row.symbol, &row.metric, row.value)?;
            if row.symbol.trim().is_empty() || row.metric.is_empty() {
                return Err(StoreError::Invalid {
                    what: "metric",
                    reason: format!("{row:?}"),
                });
            }
        }
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut upsert = tx.prepare_cached(UPSERT_SQL)?;
                for row in rows {
                    upsert.execute(params![
                        row.symbol.to_uppercase(),
                        row.metric,
                        row.value,
                        row.calculated_at,
                        row.expires_at,
                        row.source
                    ])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// The valid rows (`expires_at IS NULL OR expires_at > now_iso`) for the given symbols and
    /// metric names.
    ///
    /// The result is keyed by each symbol as the caller spelled it (the lookup is
    /// upper-cased); only rows that exist and are valid appear, and symbols without such rows
    /// are absent. Empty `symbols` or `names` give an empty map without touching the database.
    pub fn valid_metrics(
        &self,
        symbols: &[&str],
        names: &[&str],
        now_iso: &str,
    ) -> Result<MetricsBySymbol, StoreError> {
        let mut found = MetricsBySymbol::new();
        if symbols.is_empty() || names.is_empty() {
            return Ok(found);
        }
        // Stored (upper-case) symbol -> the caller's spellings of it.
        let mut spellings: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for &symbol in symbols {
            let given = spellings.entry(symbol.to_uppercase()).or_default();
            if !given.contains(&symbol) {
                given.push(symbol);
            }
        }
        let stored: Vec<&str> = spellings.keys().map(String::as_str).collect();
        let names: Vec<&str> = names
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();

        self.read(|conn| {
            for symbol_chunk in stored.chunks(SYMBOL_CHUNK) {
                for name_chunk in names.chunks(NAME_CHUNK) {
                    query_valid(
                        conn,
                        symbol_chunk,
                        name_chunk,
                        now_iso,
                        |symbol, metric, value| {
                            for &given in spellings.get(&symbol).into_iter().flatten() {
                                found
                                    .entry(given.to_owned())
                                    .or_default()
                                    .insert(metric.clone(), value);
                            }
                        },
                    )?;
                }
            }
            Ok(())
        })?;
        Ok(found)
    }

    /// [`Store::valid_metrics`] with now = the local time now ([`now_iso`]).
    pub fn valid_metrics_now(
        &self,
        symbols: &[&str],
        names: &[&str],
    ) -> Result<MetricsBySymbol, StoreError> {
        self.valid_metrics(symbols, names, &now_iso())
    }
}

/// Where a stored metric came from and until when it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricOrigin {
    pub symbol: String,
    pub metric: String,
    pub value: f64,
    pub source: String,
    pub calculated_at: String,
    pub expires_at: Option<String>,
}

impl MetricOrigin {
    /// The reference's validity rule at `now_iso`.
    pub fn is_valid(&self, now_iso: &str) -> bool {
        self.expires_at.as_deref().is_none_or(|e| e > now_iso)
    }
}

impl Store {
    /// The origin of every stored metric row, by symbol and name.
    pub fn metric_origins(&self) -> Result<Vec<MetricOrigin>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT symbol, metric, value, COALESCE(source, 'calculated'), calculated_at, \
                 expires_at FROM calculated_metrics ORDER BY symbol, metric",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(MetricOrigin {
                    symbol: r.get(0)?,
                    metric: r.get(1)?,
                    value: r.get(2)?,
                    source: r.get(3)?,
                    calculated_at: r.get(4)?,
                    expires_at: r.get(5)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }
}

/// One query over a chunk of stored symbols and metric names; calls `row` for each valid row.
fn query_valid(
    conn: &Connection,
    symbols: &[&str],
    names: &[&str],
    now_iso: &str,
    mut row: impl FnMut(String, String, f64),
) -> Result<(), StoreError> {
    let sql = format!(
        "SELECT symbol, metric, value FROM calculated_metrics \
         WHERE symbol IN ({}) AND metric IN ({}) \
         AND (expires_at IS NULL OR expires_at > ?)",
        placeholders(symbols.len()),
        placeholders(names.len()),
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let params = symbols.iter().chain(names).chain(iter::once(&now_iso));
    let mut rows = stmt.query(params_from_iter(params))?;
    while let Some(r) = rows.next()? {
        row(r.get(0)?, r.get(1)?, r.get(2)?);
    }
    Ok(())
}

/// `?, ?, ?` with `n` placeholders (`n > 0`).
fn placeholders(n: usize) -> String {
    let mut out = String::with_capacity(3 * n);
    for i in 0..n {
        out.push_str(if i == 0 { "?" } else { ", ?" });
    }
    out
}

/// The rows to write, keyed by (upper-cased symbol, metric); fails on the first non-finite
/// value. Symbols are visited in sorted order so that colliding spellings resolve
/// deterministically.
fn normalize(metrics: &MetricsBySymbol) -> Result<BTreeMap<(String, &str), f64>, StoreError> {
    let mut by_symbol: Vec<(&String, &HashMap<String, f64>)> = metrics.iter().collect();
    by_symbol.sort_unstable_by_key(|&(symbol, _)| symbol);
    let mut rows = BTreeMap::new();
    for (symbol, values) in by_symbol {
        let upper = symbol.to_uppercase();
        for (metric, &value) in values {
            check_finite(symbol, metric, value)?;
            rows.insert((upper.clone(), metric.as_str()), value);
        }
    }
    Ok(rows)
}

fn check_finite(symbol: &str, metric: &str, value: f64) -> Result<(), StoreError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(StoreError::NonFiniteValue {
            symbol: symbol.to_owned(),
            metric: metric.to_owned(),
            value,
        })
    }
}
