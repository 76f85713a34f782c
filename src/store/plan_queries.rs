//! Plans looked up by the portfolio they were made for: history and best per portfolio hash.
//! Only ids are selected here; [`Store::plan`] reads each plan with its steps.

use rusqlite::OptionalExtension;

use super::{Store, StoreError};

impl Store {
    /// Ids of the plans made for `portfolio_hash`, newest first, `limit` from `offset`, and
    /// how many there are in all.
    pub fn plan_ids_for_hash(
        &self,
        portfolio_hash: &str,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<i64>, u64), StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        self.read(|conn| {
            let total: i64 = conn
                .prepare_cached("SELECT COUNT(*) FROM plans WHERE portfolio_hash = ?1")?
                .query_row([portfolio_hash], |r| r.get(0))?;
            let ids = conn
                .prepare_cached(
                    "SELECT id FROM plans WHERE portfolio_hash = ?1 \
                     ORDER BY created_at DESC, id DESC LIMIT ?2 OFFSET ?3",
                )?
                .query_map(rusqlite::params![portfolio_hash, limit, offset], |r| {
                    r.get(0)
                })?
                .collect::<Result<Vec<i64>, _>>()?;
            Ok((ids, u64::try_from(total).unwrap_or(0)))
        })
    }

    /// The id of the plan with the highest `score_after` made for `portfolio_hash`; the newest
    /// among equal scores. Plans without a score come last (SQLite sorts NULL lowest).
    pub fn best_plan_id_for_hash(&self, portfolio_hash: &str) -> Result<Option<i64>, StoreError> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT id FROM plans WHERE portfolio_hash = ?1 \
                     ORDER BY score_after DESC, created_at DESC, id DESC LIMIT 1",
                )?
                .query_row([portfolio_hash], |r| r.get(0))
                .optional()?)
        })
    }
}
