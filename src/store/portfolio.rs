//! Securities, positions, cash balances and FX rates: the portfolio as last synced.
//!
//! Whole-table replacements run in one transaction and refuse an empty list unless the caller
//! says the empty list is real ([`AllowEmpty::Yes`]): an empty or malformed upstream answer
//! must never overwrite good data.

use std::collections::BTreeSet;

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::{Store, StoreError, now_iso};
use crate::domain::{Currency, Decimal, FxRate, Money, Quantity, normalize_symbol};

/// Whether a whole-table replacement may leave the table empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowEmpty {
    /// An empty list is refused with [`StoreError::EmptyReplacement`].
    No,
    /// An empty list is the truth (e.g. every position was sold) and clears the table.
    Yes,
}

/// One security of the universe.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityRecord {
    /// Broker symbol; stored upper case.
    pub symbol: String,
    pub isin: Option<String>,
    pub name: String,
    /// Trading currency.
    pub currency: Currency,
    pub country: Option<String>,
    /// Comma-separated industries, as the reference stores them.
    pub industry: Option<String>,
    /// Lot size; values below 1 are stored as 1 (the reference's rule).
    pub min_lot: i64,
    pub allow_buy: bool,
    pub allow_sell: bool,
    pub priority_multiplier: f64,
    pub active: bool,
}

impl SecurityRecord {
    /// A tradable security with the reference's column defaults (lot 1, multiplier 1, selling
    /// not allowed).
    pub fn new(symbol: &str, name: &str, currency: Currency) -> SecurityRecord {
        SecurityRecord {
            symbol: normalize_symbol(symbol),
            isin: None,
            name: name.to_string(),
            currency,
            country: None,
            industry: None,
            min_lot: 1,
            allow_buy: true,
            allow_sell: false,
            priority_multiplier: 1.0,
            active: true,
        }
    }
}

/// One holding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositionRecord {
    /// Stored upper case; must be a known security.
    pub symbol: String,
    pub quantity: Quantity,
    /// Average purchase price per share, in `currency`.
    pub avg_price: Decimal,
    pub currency: Currency,
}

const SECURITY_COLUMNS: &str = "symbol, isin, name, currency, country, industry, min_lot, \
     allow_buy, allow_sell, priority_multiplier, active";

const UPSERT_SECURITY: &str = "INSERT INTO securities \
     (symbol, isin, name, currency, country, industry, min_lot, allow_buy, allow_sell, \
      priority_multiplier, active, updated_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
     ON CONFLICT(symbol) DO UPDATE SET isin = excluded.isin, name = excluded.name, \
     currency = excluded.currency, country = excluded.country, industry = excluded.industry, \
     min_lot = excluded.min_lot, allow_buy = excluded.allow_buy, allow_sell = excluded.allow_sell, \
     priority_multiplier = excluded.priority_multiplier, active = excluded.active, \
     updated_at = excluded.updated_at";

impl Store {
    /// Inserts or updates one security.
    pub fn upsert_security(&self, security: &SecurityRecord) -> Result<(), StoreError> {
        let security = checked_security(security)?;
        let now = now_iso();
        self.write(|conn| {
            upsert_security(conn, &security, &now)?;
            Ok(())
        })
    }

    /// Makes `securities` the universe, in one transaction: each is inserted or updated, and
    /// stored securities missing from the list are marked inactive (not deleted: positions and
    /// trades refer to them). Duplicate symbols or invalid rows fail before anything is written.
    pub fn replace_securities(
        &self,
        securities: &[SecurityRecord],
        allow_empty: AllowEmpty,
    ) -> Result<(), StoreError> {
        refuse_empty(securities.is_empty(), allow_empty, "securities")?;
        let rows = securities
            .iter()
            .map(checked_security)
            .collect::<Result<Vec<_>, _>>()?;
        unique_symbols(rows.iter().map(|s| s.symbol.as_str()), "securities")?;
        let now = now_iso();
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "CREATE TEMP TABLE IF NOT EXISTS kept_symbols (symbol TEXT PRIMARY KEY)",
                [],
            )?;
            tx.execute("DELETE FROM temp.kept_symbols", [])?;
            for security in &rows {
                upsert_security(&tx, security, &now)?;
                tx.prepare_cached("INSERT INTO temp.kept_symbols (symbol) VALUES (?1)")?
                    .execute([&security.symbol])?;
            }
            tx.execute(
                "UPDATE securities SET active = 0, updated_at = ?1 \
                 WHERE active = 1 AND symbol NOT IN (SELECT symbol FROM temp.kept_symbols)",
                [&now],
            )?;
            tx.execute("DELETE FROM temp.kept_symbols", [])?;
            tx.commit()?;
            Ok(())
        })
    }

    /// Adds the securities that are not stored yet and leaves stored ones as they are, in one
    /// transaction; returns how many were added. Used for holdings the broker reports before
    /// the universe lists them.
    pub fn insert_missing_securities(
        &self,
        securities: &[SecurityRecord],
    ) -> Result<usize, StoreError> {
        let rows = securities
            .iter()
            .map(checked_security)
            .collect::<Result<Vec<_>, _>>()?;
        let now = now_iso();
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut added = 0;
            for s in &rows {
                let exists: bool = tx
                    .prepare_cached("SELECT EXISTS (SELECT 1 FROM securities WHERE symbol = ?1)")?
                    .query_row([&s.symbol], |r| r.get(0))?;
                if !exists {
                    upsert_security(&tx, s, &now)?;
                    added += 1;
                }
            }
            tx.commit()?;
            Ok(added)
        })
    }

    /// One security by symbol (any case).
    pub fn security(&self, symbol: &str) -> Result<Option<SecurityRecord>, StoreError> {
        let symbol = normalize_symbol(symbol);
        self.read(|conn| {
            let sql = format!("SELECT {SECURITY_COLUMNS} FROM securities WHERE symbol = ?1");
            Ok(conn
                .prepare_cached(&sql)?
                .query_row([&symbol], security_from_row)
                .optional()?)
        })
    }

    /// All securities (active or not), by symbol.
    pub fn securities(&self) -> Result<Vec<SecurityRecord>, StoreError> {
        self.read(|conn| {
            let sql = format!("SELECT {SECURITY_COLUMNS} FROM securities ORDER BY symbol");
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map([], security_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Makes `positions` the holdings, all or nothing: if any row is refused (unknown
    /// security, duplicate symbol, bad value) the stored positions are left as they were.
    pub fn replace_positions(
        &self,
        positions: &[PositionRecord],
        allow_empty: AllowEmpty,
    ) -> Result<(), StoreError> {
        refuse_empty(positions.is_empty(), allow_empty, "positions")?;
        let rows: Vec<PositionRecord> = positions
            .iter()
            .map(|p| PositionRecord {
                symbol: normalize_symbol(&p.symbol),
                ..p.clone()
            })
            .collect();
        unique_symbols(rows.iter().map(|p| p.symbol.as_str()), "positions")?;
        for position in &rows {
            if position.symbol.is_empty() || position.avg_price.is_negative() {
                return Err(StoreError::Invalid {
                    what: "position",
                    reason: format!("{position:?}"),
                });
            }
        }
        let now = now_iso();
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute("DELETE FROM positions", [])?;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO positions (symbol, quantity, avg_price, currency, updated_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for p in &rows {
                    insert.execute(params![p.symbol, p.quantity, p.avg_price, p.currency, now])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// All positions, by symbol.
    pub fn positions(&self) -> Result<Vec<PositionRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT symbol, quantity, avg_price, currency FROM positions ORDER BY symbol",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(PositionRecord {
                    symbol: r.get(0)?,
                    quantity: r.get(1)?,
                    avg_price: r.get(2)?,
                    currency: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Sets the balance of one currency.
    pub fn set_cash_balance(&self, balance: Money) -> Result<(), StoreError> {
        let now = now_iso();
        self.write(|conn| {
            upsert_cash(conn, balance, &now)?;
            Ok(())
        })
    }

    /// Makes `balances` the cash, one per currency, all or nothing.
    pub fn replace_cash_balances(
        &self,
        balances: &[Money],
        allow_empty: AllowEmpty,
    ) -> Result<(), StoreError> {
        refuse_empty(balances.is_empty(), allow_empty, "cash balances")?;
        let mut seen = BTreeSet::new();
        for balance in balances {
            if !seen.insert(balance.currency()) {
                return Err(StoreError::Invalid {
                    what: "cash balances",
                    reason: format!("{} appears twice", balance.currency()),
                });
            }
        }
        let now = now_iso();
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute("DELETE FROM cash_balances", [])?;
            for &balance in balances {
                upsert_cash(&tx, balance, &now)?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// The balance of one currency, if known.
    pub fn cash_balance(&self, currency: Currency) -> Result<Option<Money>, StoreError> {
        self.read(|conn| {
            let minor: Option<i64> = conn
                .prepare_cached("SELECT amount_minor FROM cash_balances WHERE currency = ?1")?
                .query_row([currency], |r| r.get(0))
                .optional()?;
            Ok(minor.map(|m| Money::from_minor(m, currency)))
        })
    }

    /// Every cash balance, by currency.
    pub fn cash_balances(&self) -> Result<Vec<Money>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT amount_minor, currency FROM cash_balances ORDER BY currency",
            )?;
            let rows = stmt.query_map([], |r| Ok(Money::from_minor(r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Stores one rate (1 EUR = `per_eur` units of its currency). EUR itself is implicit.
    pub fn set_fx_rate(&self, rate: FxRate) -> Result<(), StoreError> {
        let now = now_iso();
        self.write(|conn| {
            conn.prepare_cached(
                "INSERT INTO fx_rates (currency, per_eur, updated_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(currency) DO UPDATE SET per_eur = excluded.per_eur, \
                 updated_at = excluded.updated_at, rate_date = NULL",
            )?
            .execute(params![rate.currency(), rate.per_eur(), now])?;
            Ok(())
        })
    }

    /// The stored rate of `currency`; EUR is always 1 without a row.
    pub fn fx_rate(&self, currency: Currency) -> Result<Option<FxRate>, StoreError> {
        if currency == Currency::EUR {
            return Ok(Some(FxRate::eur()));
        }
        let per_eur: Option<Decimal> = self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT per_eur FROM fx_rates WHERE currency = ?1")?
                .query_row([currency], |r| r.get(0))
                .optional()?)
        })?;
        per_eur
            .map(|per_eur| FxRate::new(currency, per_eur).map_err(StoreError::from))
            .transpose()
    }

    /// Every stored rate, by currency.
    pub fn fx_rates(&self) -> Result<Vec<FxRate>, StoreError> {
        let rows: Vec<(Currency, Decimal)> = self.read(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT currency, per_eur FROM fx_rates ORDER BY currency")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })?;
        rows.into_iter()
            .map(|(currency, per_eur)| FxRate::new(currency, per_eur).map_err(StoreError::from))
            .collect()
    }
}

pub(super) fn refuse_empty(
    empty: bool,
    allow: AllowEmpty,
    what: &'static str,
) -> Result<(), StoreError> {
    if empty && allow == AllowEmpty::No {
        Err(StoreError::EmptyReplacement { what })
    } else {
        Ok(())
    }
}

pub(super) fn unique_symbols<'a>(
    symbols: impl Iterator<Item = &'a str>,
    what: &'static str,
) -> Result<(), StoreError> {
    let mut seen = BTreeSet::new();
    for symbol in symbols {
        if !seen.insert(symbol) {
            return Err(StoreError::Invalid {
                what,
                reason: format!("{symbol} appears twice"),
            });
        }
    }
    Ok(())
}

/// The security as stored: symbol upper case, lot at least 1, a finite non-negative multiplier.
fn checked_security(security: &SecurityRecord) -> Result<SecurityRecord, StoreError> {
    let symbol = normalize_symbol(&security.symbol);
    let multiplier = security.priority_multiplier;
    if symbol.is_empty() || !multiplier.is_finite() || multiplier < 0.0 {
        return Err(StoreError::Invalid {
            what: "security",
            reason: format!(
                "symbol {:?}, priority multiplier {multiplier}",
                security.symbol
            ),
        });
    }
    Ok(SecurityRecord {
        symbol,
        min_lot: security.min_lot.max(1),
        ..security.clone()
    })
}

fn upsert_security(conn: &Connection, s: &SecurityRecord, now: &str) -> Result<(), StoreError> {
    conn.prepare_cached(UPSERT_SECURITY)?.execute(params![
        s.symbol,
        s.isin,
        s.name,
        s.currency,
        s.country,
        s.industry,
        s.min_lot,
        s.allow_buy,
        s.allow_sell,
        s.priority_multiplier,
        s.active,
        now
    ])?;
    Ok(())
}

fn security_from_row(r: &Row<'_>) -> rusqlite::Result<SecurityRecord> {
    Ok(SecurityRecord {
        symbol: r.get(0)?,
        isin: r.get(1)?,
        name: r.get(2)?,
        currency: r.get(3)?,
        country: r.get(4)?,
        industry: r.get(5)?,
        min_lot: r.get(6)?,
        allow_buy: r.get(7)?,
        allow_sell: r.get(8)?,
        priority_multiplier: r.get(9)?,
        active: r.get(10)?,
    })
}

fn upsert_cash(conn: &Connection, balance: Money, now: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO cash_balances (currency, amount_minor, updated_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT(currency) DO UPDATE SET amount_minor = excluded.amount_minor, \
         updated_at = excluded.updated_at",
    )?
    .execute(params![balance.currency(), balance.minor(), now])?;
    Ok(())
}
