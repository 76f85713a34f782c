//! The ledger as a person reads it: trades (broker, research and imported) and deposits,
//! newest first, filtered by kind, symbol, side and days, in pages of bounded size, and
//! exported as CSV. The rows come from the store; this module checks the query, values each
//! entry in EUR and writes the CSV.

mod csv;
mod query;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use futures_util::{Stream, StreamExt};
use serde::Serialize;

pub use query::LedgerQuery;
use query::encode_cursor;

use crate::domain::{Currency, FxRate, Money, MoneyError, Side};
use crate::store::{LedgerCursor, LedgerRow, Store, StoreError, TradeSource};

/// One ledger entry. Amounts are decimal text, as the store keeps them; a field that does not
/// apply to the kind is `null` (an empty CSV field).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// `trade` or `deposit`.
    pub kind: &'static str,
    /// The trade's or the deposit's id.
    pub id: i64,
    /// When it happened (ISO local time).
    pub date: String,
    pub symbol: Option<String>,
    pub side: Option<Side>,
    pub quantity: Option<String>,
    /// Per share, in `currency`.
    pub price: Option<String>,
    /// The money moved before fees, in `currency`: a trade's price × quantity, a deposit's sum.
    pub amount: String,
    pub currency: String,
    /// `amount` in EUR at the trade's recorded rate; `null` when no rate was recorded.
    pub value_eur: Option<String>,
    /// Transaction costs in `currency`, when known.
    pub fee: Option<String>,
    /// Where a trade comes from: `broker`, `research` (a paper fill) or `import`.
    pub source: Option<&'static str>,
}

impl Entry {
    pub fn from_row(row: &LedgerRow) -> Result<Entry, MoneyError> {
        match row {
            LedgerRow::Trade(t) => {
                let trade = &t.trade;
                let amount =
                    Money::from_price_quantity(trade.price, trade.quantity, trade.currency)?;
                let value_eur = match (trade.currency, trade.fx_per_eur) {
                    (Currency::EUR, _) => Some(amount),
                    (currency, Some(rate)) => Some(FxRate::new(currency, rate)?.to_eur(amount)?),
                    (_, None) => None,
                };
                Ok(Entry {
                    kind: "trade",
                    id: t.id,
                    date: trade.executed_at.clone(),
                    symbol: Some(trade.symbol.clone()),
                    side: Some(trade.side),
                    quantity: Some(trade.quantity.to_string()),
                    price: Some(trade.price.to_string()),
                    amount: amount.to_decimal_string(),
                    currency: trade.currency.to_string(),
                    value_eur: value_eur.map(Money::to_decimal_string),
                    // To the currency's minor unit like `amount`, when it fits exactly.
                    fee: t.fee.map(|f| {
                        Money::from_decimal_exact(f, trade.currency)
                            .map_or_else(|_| f.to_string(), Money::to_decimal_string)
                    }),
                    source: Some(match trade.source {
                        TradeSource::Broker => "broker",
                        TradeSource::Paper => "research",
                        TradeSource::Import => "import",
                    }),
                })
            }
            LedgerRow::Deposit(d) => Ok(Entry {
                kind: "deposit",
                id: d.id,
                date: d.deposited_at.clone(),
                symbol: None,
                side: None,
                quantity: None,
                price: None,
                amount: d.amount.to_decimal_string(),
                currency: d.amount.currency().to_string(),
                value_eur: (d.amount.currency() == Currency::EUR)
                    .then(|| d.amount.to_decimal_string()),
                fee: None,
                source: None,
            }),
        }
    }
}

/// One page of the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page {
    pub entries: Vec<Entry>,
    /// Asks for the next page as `before`; `null` when this page was not full, so nothing
    /// is left.
    pub next_before: Option<String>,
}

/// The page `query` asks for, at most `max_page_size` entries.
pub fn page(store: &Store, query: &LedgerQuery, max_page_size: usize) -> Result<Page, StoreError> {
    let size = query.page_size(max_page_size);
    let rows = store.ledger_page(&query.filter, query.before.as_ref(), size)?;
    let next_before = (rows.len() == size)
        .then(|| rows.last().map(|r| encode_cursor(&r.cursor())))
        .flatten();
    let entries = rows.iter().map(Entry::from_row).collect::<Result<_, _>>()?;
    Ok(Page {
        entries,
        next_before,
    })
}

/// Why an export stopped part way.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a database task failed: {0}")]
    Stopped(#[from] tokio::task::JoinError),
}

/// Where the export goes on.
struct Next {
    before: Option<LedgerCursor>,
    /// Rows still wanted; `None` = all.
    remaining: Option<usize>,
}

/// Every entry `query` matches (at most `query.limit` when given) as CSV, header first,
/// read `page_size` entries at a time, so memory stays bounded however long the ledger is.
pub fn export_csv(
    store: Arc<Store>,
    query: LedgerQuery,
    page_size: usize,
) -> impl Stream<Item = Result<String, ExportError>> + Send + 'static {
    let page_size = page_size.max(1);
    let filter = query.filter;
    let start = Next {
        before: query.before,
        remaining: query.limit,
    };
    let rows = futures_util::stream::try_unfold(Some(start), move |next| {
        let store = Arc::clone(&store);
        let filter = filter.clone();
        async move {
            let Some(Next { before, remaining }) = next else {
                return Ok(None);
            };
            let want = remaining.map_or(page_size, |r| r.min(page_size));
            if want == 0 {
                return Ok(None);
            }
            let (text, last, count) = tokio::task::spawn_blocking(move || {
                let rows = store.ledger_page(&filter, before.as_ref(), want)?;
                let mut text = String::new();
                for row in &rows {
                    csv::write_entry(&mut text, &Entry::from_row(row).map_err(StoreError::from)?);
                }
                Ok::<_, StoreError>((text, rows.last().map(LedgerRow::cursor), rows.len()))
            })
            .await??;
            let next = (count == want).then_some(Next {
                before: last,
                remaining: remaining.map(|r| r - count),
            });
            Ok(Some((text, next)))
        }
    });
    futures_util::stream::once(async { Ok(csv::header()) }).chain(rows)
}
