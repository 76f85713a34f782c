//! Store writes the import needs in one transaction.

use std::collections::HashMap;

use rusqlite::{TransactionBehavior, params};

use crate::domain::FxRate;
use crate::store::{Store, StoreError, now_iso};

impl Store {
    /// Stores many rates (as [`Store::set_fx_rate`]) in one transaction.
    pub(super) fn put_fx_rates(&self, rates: &[FxRate]) -> Result<(), StoreError> {
        let now = now_iso();
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut upsert = tx.prepare_cached(
                    "INSERT INTO fx_rates (currency, per_eur, updated_at) VALUES (?1, ?2, ?3) \
                     ON CONFLICT(currency) DO UPDATE SET per_eur = excluded.per_eur, \
                     updated_at = excluded.updated_at, rate_date = NULL",
                )?;
                for rate in rates {
                    upsert.execute(params![rate.currency(), rate.per_eur(), now])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// `calculated_at` of every stored metric, by (symbol, metric).
    pub(super) fn metric_times(&self) -> Result<HashMap<(String, String), String>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT symbol, metric, calculated_at FROM calculated_metrics")?;
            let rows = stmt.query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }
}
