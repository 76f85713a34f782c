//! Deposits: money paid into the account, kept as ledger rows. A deposit and the cash it adds
//! are written in one transaction, so the ledger never shows a deposit the cash lacks or the
//! other way round.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::paper::{cash_in, put_cash};
use super::{Store, StoreError, iso};
use crate::domain::Money;

/// A recorded deposit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deposit {
    pub id: i64,
    /// Positive.
    pub amount: Money,
    /// ISO local time, like a trade's `executed_at`.
    pub deposited_at: String,
}

impl Store {
    /// Adds `amount` to the cash of its currency and records it as a deposit made `at`, in one
    /// transaction. A zero amount changes nothing and records nothing (`None`); a negative one
    /// is refused.
    pub fn record_deposit(
        &self,
        amount: Money,
        at: chrono::NaiveDateTime,
    ) -> Result<Option<Deposit>, StoreError> {
        if amount.is_negative() {
            return Err(StoreError::Invalid {
                what: "deposit",
                reason: format!("{} is negative", amount.to_decimal_string()),
            });
        }
        if amount.minor() == 0 {
            return Ok(None);
        }
        let at = iso(at);
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let cash = cash_in(&tx, amount.currency())?.checked_add(amount)?;
            put_cash(&tx, cash, &at)?;
            tx.prepare_cached(
                "INSERT INTO deposits (amount_minor, currency, deposited_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![amount.minor(), amount.currency(), at])?;
            let id = tx.last_insert_rowid();
            tx.commit()?;
            Ok(Some(Deposit {
                id,
                amount,
                deposited_at: at,
            }))
        })
    }

    /// Takes back deposit `id`: its row goes and its amount leaves the cash, in one
    /// transaction (a deposit whose trading cycle could not start). An unknown id changes
    /// nothing and answers `false`.
    pub fn withdraw_deposit(&self, id: i64) -> Result<bool, StoreError> {
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let Some(deposit) = find_deposit(&tx, id)? else {
                return Ok(false);
            };
            let cash = cash_in(&tx, deposit.amount.currency())?.checked_sub(deposit.amount)?;
            put_cash(&tx, cash, &super::now_iso())?;
            tx.execute("DELETE FROM deposits WHERE id = ?1", [id])?;
            tx.commit()?;
            Ok(true)
        })
    }

    /// Every deposit, oldest first.
    pub fn deposits(&self) -> Result<Vec<Deposit>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, amount_minor, currency, deposited_at FROM deposits \
                 ORDER BY deposited_at, id",
            )?;
            let rows = stmt.query_map([], deposit_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }
}

pub(super) fn find_deposit(conn: &Connection, id: i64) -> Result<Option<Deposit>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT id, amount_minor, currency, deposited_at FROM deposits WHERE id = ?1",
        )?
        .query_row([id], deposit_from_row)
        .optional()?)
}

fn deposit_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Deposit> {
    Ok(Deposit {
        id: r.get(0)?,
        amount: Money::from_minor(r.get(1)?, r.get(2)?),
        deposited_at: r.get(3)?,
    })
}
