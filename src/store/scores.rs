//! The latest score of each security, from the scoring service or an import.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, Row, TransactionBehavior, params};

use super::{Store, StoreError};
use crate::domain::normalize_symbol;

/// One security's score (0–1) and its group breakdown.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreRecord {
    pub symbol: String,
    pub total_score: f64,
    /// Group scores such as `long_term` or `fundamentals`, each 0–1.
    pub components: BTreeMap<String, f64>,
    /// ISO local time.
    pub calculated_at: String,
}

impl Store {
    /// Writes (insert or replace) `scores` in one transaction; a non-finite number or an empty
    /// symbol refuses the whole batch.
    pub fn put_scores(&self, scores: &[ScoreRecord]) -> Result<(), StoreError> {
        let mut rows = Vec::with_capacity(scores.len());
        for score in scores {
            let symbol = normalize_symbol(&score.symbol);
            let finite =
                score.total_score.is_finite() && score.components.values().all(|v| v.is_finite());
            if symbol.is_empty() || !finite {
                return Err(StoreError::Invalid {
                    what: "score",
                    reason: format!("{score:?}"),
                });
            }
            let components =
                serde_json::to_string(&score.components).map_err(|e| StoreError::Invalid {
                    what: "score",
                    reason: e.to_string(),
                })?;
            rows.push((symbol, score.total_score, components, &score.calculated_at));
        }
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO security_scores (symbol, total_score, components, calculated_at) \
                     VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT(symbol) DO UPDATE SET total_score = excluded.total_score, \
                     components = excluded.components, calculated_at = excluded.calculated_at",
                )?;
                for (symbol, total, components, at) in &rows {
                    insert.execute(params![symbol, total, components, at])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// The score of `symbol` (any case).
    pub fn score(&self, symbol: &str) -> Result<Option<ScoreRecord>, StoreError> {
        let symbol = normalize_symbol(symbol);
        self.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT symbol, total_score, components, calculated_at FROM security_scores \
                     WHERE symbol = ?1",
                )?
                .query_row([&symbol], score_from_row)
                .optional()?)
        })?
        .transpose()
    }

    /// Every stored score, by symbol.
    pub fn scores(&self) -> Result<Vec<ScoreRecord>, StoreError> {
        let rows: Vec<Result<ScoreRecord, StoreError>> = self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT symbol, total_score, components, calculated_at FROM security_scores \
                 ORDER BY symbol",
            )?;
            let rows = stmt.query_map([], score_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })?;
        rows.into_iter().collect()
    }
}

fn score_from_row(r: &Row<'_>) -> rusqlite::Result<Result<ScoreRecord, StoreError>> {
    let symbol: String = r.get(0)?;
    let total_score: f64 = r.get(1)?;
    let components: String = r.get(2)?;
    let calculated_at: String = r.get(3)?;
    Ok(match serde_json::from_str(&components) {
        Ok(components) => Ok(ScoreRecord {
            symbol,
            total_score,
            components,
            calculated_at,
        }),
        Err(e) => Err(StoreError::Corrupt {
            table: "security_scores",
            column: "components",
            value: components,
            reason: e.to_string(),
        }),
    })
}
