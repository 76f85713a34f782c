//! Positions, quotes and cash of `state.db`, unless a live sync owns them.

use std::collections::{BTreeSet, HashMap};

use itertools::Itertools;

use super::read::Row;
use super::report::{KindReport, LegacyKind, MAX_EXAMPLES};
use super::values::{currency, decimal, plural, text};
use super::{IMPORT_SOURCE, Import, LegacyError, REPLACEABLE_SOURCES, STATE, store_result};
use crate::domain::{Currency, Money, Quantity, normalize_symbol};
use crate::store::{AllowEmpty, PositionRecord, QuoteRecord, SecurityRecord};

impl Import<'_> {
    /// Where and when `kind` was last synced, if that was a live sync (e.g. from the broker),
    /// whose data is the truth and must not be replaced by older legacy rows.
    fn synced_elsewhere(&self, kind: LegacyKind) -> Result<Option<String>, LegacyError> {
        let freshness = store_result(kind, self.store.data_freshness(kind.freshness_key()))?;
        Ok(freshness
            .filter(|f| !REPLACEABLE_SOURCES.contains(&f.source.as_str()))
            .map(|f| format!("{} at {}", f.source, f.refreshed_at)))
    }

    pub(super) fn positions_and_quotes(&mut self) -> Result<(), LegacyError> {
        let mut positions_report = KindReport::new(LegacyKind::Positions);
        let mut quotes_report = KindReport::new(LegacyKind::Quotes);
        let Some(rows) = self.rows_or_unavailable(&mut positions_report, STATE, "positions") else {
            quotes_report.unavailable = positions_report.unavailable.clone();
            self.finish(quotes_report, false)?;
            return self.finish(positions_report, false);
        };
        let known: HashMap<String, Currency> =
            store_result(LegacyKind::Positions, self.store.securities())?
                .into_iter()
                .map(|s| (s.symbol, s.currency))
                .collect();
        let mut seen = BTreeSet::new();
        let mut positions = Vec::new();
        let mut stubs = Vec::new();
        let mut quote_rows = Vec::new();
        for row in &rows {
            let Some(symbol) = text(row, "symbol").map(|s| normalize_symbol(&s)) else {
                positions_report.skip("a row", "no symbol");
                continue;
            };
            if !seen.insert(symbol.clone()) {
                positions_report.skip(&symbol, "appears twice (symbols compared upper case)");
                continue;
            }
            match position(row, &symbol, &known) {
                Ok((record, note)) => {
                    if let Some(note) = note {
                        positions_report.note(note);
                    }
                    if !known.contains_key(&symbol) {
                        stubs.push(SecurityRecord {
                            isin: text(row, "isin"),
                            // Nothing is known about it beyond the holding: do not buy more.
                            allow_buy: false,
                            ..SecurityRecord::new(&symbol, &symbol, record.currency)
                        });
                    }
                    quote_rows.push((row, record.currency));
                    positions.push(record);
                }
                Err(why) => positions_report.skip(&symbol, why),
            }
        }
        let mut positions_written = false;
        if let Some(source) = self.synced_elsewhere(LegacyKind::Positions)? {
            positions_report.skip_many(
                positions.len(),
                format!("all {} positions", positions.len()),
                format!(
                    "the database holds positions synced from {source}; the broker's are the \
                     truth"
                ),
            );
        } else if positions.is_empty() {
            positions_report.note("no usable positions in state.db; the stored ones were kept");
        } else {
            if !stubs.is_empty() {
                let added = self.store.insert_missing_securities(&stubs);
                store_result(LegacyKind::Positions, added)?;
                let symbols = stubs
                    .iter()
                    .take(MAX_EXAMPLES)
                    .map(|s| s.symbol.as_str())
                    .join(", ");
                positions_report.note(format!(
                    "added {} held but not in config.db, not buyable: {}",
                    plural(stubs.len(), "security", "securities"),
                    symbols
                ));
            }
            let written = self.store.replace_positions(&positions, AllowEmpty::No);
            store_result(LegacyKind::Positions, written)?;
            positions_report.taken = positions.len();
            positions_written = true;
        }
        self.finish(positions_report, positions_written)?;

        let stored_quotes: HashMap<String, String> =
            store_result(LegacyKind::Quotes, self.store.quotes())?
                .into_iter()
                .map(|q| (q.symbol, q.as_of))
                .collect();
        let mut quotes = Vec::new();
        for (row, currency) in quote_rows {
            let symbol = normalize_symbol(&text(row, "symbol").unwrap_or_default());
            let price = match decimal(row, "current_price") {
                Ok(Some(p)) if p.is_positive() => p,
                Ok(Some(p)) => {
                    quotes_report.skip(&symbol, format!("current price {p} is not positive"));
                    continue;
                }
                Ok(None) => {
                    quotes_report.skip(&symbol, "no current price");
                    continue;
                }
                Err(why) => {
                    quotes_report.skip(&symbol, why);
                    continue;
                }
            };
            let as_of = text(row, "last_updated").unwrap_or_else(|| self.now.clone());
            if let Some(stored) = stored_quotes.get(&symbol)
                && *stored > as_of
            {
                quotes_report.skip(
                    &symbol,
                    format!("the stored quote (as of {stored}) is newer"),
                );
                continue;
            }
            quotes.push(QuoteRecord {
                symbol,
                price,
                currency,
                as_of,
                source: IMPORT_SOURCE.to_string(),
            });
        }
        quotes_report.taken = quotes.len();
        if quotes.is_empty() {
            return self.finish(quotes_report, false);
        }
        let written = self.store.put_quotes(&quotes);
        store_result(LegacyKind::Quotes, written)?;
        self.finish(quotes_report, true)
    }

    pub(super) fn cash(&mut self) -> Result<(), LegacyError> {
        let mut report = KindReport::new(LegacyKind::Cash);
        let Some(rows) = self.rows_or_unavailable(&mut report, STATE, "portfolio_snapshots") else {
            return self.finish(report, false);
        };
        let Some(latest) = rows.first() else {
            report.note("state.db has no portfolio snapshot, so no cash balance");
            return self.finish(report, false);
        };
        let date = text(latest, "date").unwrap_or_default();
        let what = format!("snapshot {date}");
        let balance = match decimal(latest, "cash_balance") {
            Ok(Some(amount)) => Money::from_decimal_rounded(amount, Currency::EUR),
            Ok(None) => {
                report.skip(what, "no cash_balance");
                return self.finish(report, false);
            }
            Err(why) => {
                report.skip(what, why);
                return self.finish(report, false);
            }
        };
        let balance = match balance {
            Ok(balance) => balance,
            Err(e) => {
                report.skip(what, e);
                return self.finish(report, false);
            }
        };
        // The snapshot holds one EUR total of every currency: adding it to balances synced
        // from the broker would count cash twice.
        let stored = store_result(LegacyKind::Cash, self.store.cash_balances())?;
        let freshness = self.store.data_freshness(LegacyKind::Cash.freshness_key());
        let freshness = store_result(LegacyKind::Cash, freshness)?;
        let replaceable = freshness
            .as_ref()
            .is_some_and(|f| REPLACEABLE_SOURCES.contains(&f.source.as_str()));
        if !stored.is_empty() && !replaceable {
            let source = freshness.map_or_else(
                || "an unknown source".to_string(),
                |f| format!("{} at {}", f.source, f.refreshed_at),
            );
            report.skip(
                what,
                format!(
                    "the database already holds cash balances (from {source}); the \
                     snapshot's EUR total was not imported so cash is not counted twice"
                ),
            );
            return self.finish(report, false);
        }
        let written = self.store.replace_cash_balances(&[balance], AllowEmpty::No);
        store_result(LegacyKind::Cash, written)?;
        report.taken = 1;
        report.note(format!(
            "{balance} is the EUR total of all currencies in autoTrader's latest portfolio \
             snapshot ({date}), its fallback when the broker is unreachable; the next broker \
             sync replaces it with per-currency balances"
        ));
        if balance.is_negative() {
            report.note("the imported cash balance is negative; nothing will be bought with it");
        }
        self.finish(report, true)
    }
}

/// A position of a legacy row, with a remark when its currency differs from its security's.
pub(super) fn position(
    row: &Row,
    symbol: &str,
    known: &HashMap<String, Currency>,
) -> Result<(PositionRecord, Option<String>), String> {
    let quantity = decimal(row, "quantity")?.ok_or("no quantity")?;
    if quantity.is_zero() {
        return Err("zero quantity".to_string());
    }
    let quantity = Quantity::new(quantity).map_err(|_| format!("negative quantity {quantity}"))?;
    let avg_price = decimal(row, "avg_price")?.ok_or("no average price")?;
    if avg_price.is_negative() {
        return Err(format!("negative average price {avg_price}"));
    }
    let currency = match text(row, "currency") {
        Some(code) => currency(&code)?,
        None => *known.get(symbol).ok_or("no currency")?,
    };
    let note = known
        .get(symbol)
        .filter(|&&c| c != currency)
        .map(|c| format!("{symbol}: the position is in {currency} but the security trades in {c}"));
    Ok((
        PositionRecord {
            symbol: symbol.to_string(),
            quantity,
            avg_price,
            currency,
        },
        note,
    ))
}
