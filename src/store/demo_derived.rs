//! What was derived from the demo data and must not outlive it once an account's own data
//! takes its place: the invented closes, the metrics computed from price history (which the
//! invented closes fed), and the daily values of the demo portfolio.

use rusqlite::TransactionBehavior;

use super::{Store, StoreError};

/// What [`Store::forget_demo_derived`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DemoDerived {
    pub invented_closes: usize,
    pub history_metrics: usize,
    pub daily_values: usize,
}

impl Store {
    /// Deletes, in one transaction, every invented close, every metric of
    /// `history_metrics_source`, and every daily value of the portfolio.
    pub fn forget_demo_derived(
        &self,
        history_metrics_source: &str,
    ) -> Result<DemoDerived, StoreError> {
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let forgotten = DemoDerived {
                invented_closes: tx.execute("DELETE FROM daily_prices WHERE invented = 1", [])?,
                history_metrics: tx.execute(
                    "DELETE FROM calculated_metrics WHERE source = ?1",
                    [history_metrics_source],
                )?,
                daily_values: tx.execute("DELETE FROM portfolio_values", [])?,
            };
            tx.commit()?;
            Ok(forgotten)
        })
    }
}
