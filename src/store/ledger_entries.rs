//! Trades and deposits listed together, newest first, filtered in SQL and paged by a cursor
//! (the last row's sort key), so a page costs the same however deep it is and rows written
//! meanwhile never shift a page.

use chrono::NaiveDate;
use rusqlite::params;

use super::deposits::{Deposit, find_deposit};
use super::ledger::{Trade, find_trade};
use super::{Store, StoreError};
use crate::domain::Side;

/// What a ledger row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "lowercase")]
pub enum EntryKind {
    Trade,
    Deposit,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Which rows to list; every given field must match. A deposit has no symbol and no side,
/// so a symbol or side filter lists trades only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerFilter {
    pub kind: Option<EntryKind>,
    /// Upper case, as stored.
    pub symbol: Option<String>,
    pub side: Option<Side>,
    /// First day listed.
    pub from: Option<NaiveDate>,
    /// Last day listed (inclusive).
    pub to: Option<NaiveDate>,
}

/// Where a page ends: the sort key (time, kind, id) of its last row. The next page lists the
/// rows that sort after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerCursor {
    pub at: String,
    pub kind: EntryKind,
    pub id: i64,
}

/// One row of the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerRow {
    Trade(Box<Trade>),
    Deposit(Deposit),
}

impl LedgerRow {
    /// This row's place in the order, for the next page.
    pub fn cursor(&self) -> LedgerCursor {
        match self {
            LedgerRow::Trade(t) => LedgerCursor {
                at: t.trade.executed_at.clone(),
                kind: EntryKind::Trade,
                id: t.id,
            },
            LedgerRow::Deposit(d) => LedgerCursor {
                at: d.deposited_at.clone(),
                kind: EntryKind::Deposit,
                id: d.id,
            },
        }
    }
}

/// Newest first; at the same time a trade before a deposit ('trade' > 'deposit'), then the
/// higher id. Times are ISO text, so the day bounds compare as text: `from` as the day itself,
/// `to` as the day after.
const PAGE_SQL: &str = "\
SELECT kind, id FROM (
    SELECT 'trade' AS kind, id, executed_at AS at FROM trades
     WHERE (?1 IS NULL OR ?1 = 'trade') AND (?2 IS NULL OR symbol = ?2)
       AND (?3 IS NULL OR side = ?3) AND (?4 IS NULL OR executed_at >= ?4)
       AND (?5 IS NULL OR executed_at < ?5)
    UNION ALL
    SELECT 'deposit', id, deposited_at FROM deposits
     WHERE (?1 IS NULL OR ?1 = 'deposit') AND ?2 IS NULL AND ?3 IS NULL
       AND (?4 IS NULL OR deposited_at >= ?4) AND (?5 IS NULL OR deposited_at < ?5)
)
WHERE ?6 IS NULL OR (at, kind, id) < (?6, ?7, ?8)
ORDER BY at DESC, kind DESC, id DESC
LIMIT ?9";

impl Store {
    /// At most `limit` rows matching `filter`, newest first, after `before` when given.
    pub fn ledger_page(
        &self,
        filter: &LedgerFilter,
        before: Option<&LedgerCursor>,
        limit: usize,
    ) -> Result<Vec<LedgerRow>, StoreError> {
        let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
        let from = filter.from.map(day);
        // A `to` of the last representable day has no day after: nothing is later anyway.
        let to = filter.to.and_then(|d| d.succ_opt()).map(day);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|conn| {
            // One snapshot for the page and its rows.
            let conn = conn.unchecked_transaction()?;
            let keys: Vec<(String, i64)> = conn
                .prepare_cached(PAGE_SQL)?
                .query_map(
                    params![
                        filter.kind.map(EntryKind::as_str),
                        filter.symbol,
                        filter.side,
                        from,
                        to,
                        before.map(|c| &c.at),
                        before.map(|c| c.kind.as_str()),
                        before.map(|c| c.id),
                        limit,
                    ],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?
                .collect::<Result<_, _>>()?;
            keys.into_iter()
                .map(|(kind, id)| {
                    let row = if kind == "trade" {
                        find_trade(&conn, "id = ?1", &id)?.map(|t| LedgerRow::Trade(Box::new(t)))
                    } else {
                        find_deposit(&conn, id)?.map(LedgerRow::Deposit)
                    };
                    row.ok_or_else(|| StoreError::Invalid {
                        what: "ledger row",
                        reason: format!("{kind} {id} vanished while read"),
                    })
                })
                .collect()
        })
    }
}
