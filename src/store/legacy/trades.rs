//! Trades of `ledger.db`, recorded idempotently.

use std::collections::HashMap;

use super::read::Row;
use super::report::{KindReport, LegacyKind};
use super::values::{close, currency, decimal, plural, real, text};
use super::{Import, LEDGER, LegacyError, store_result};
use crate::domain::{Currency, Decimal, Quantity, Side, normalize_symbol};
use crate::store::{NewTrade, TradeSource};

impl Import<'_> {
    pub(super) fn trades(&mut self) -> Result<(), LegacyError> {
        let mut report = KindReport::new(LegacyKind::Trades);
        let Some(rows) = self.rows_or_unavailable(&mut report, LEDGER, "trades") else {
            return self.finish(report, false);
        };
        let currencies: HashMap<String, Currency> =
            store_result(LegacyKind::Trades, self.store.securities())?
                .into_iter()
                .map(|s| (s.symbol, s.currency))
                .collect();
        let mut trades = Vec::new();
        let mut fx_dropped = Vec::new();
        for row in &rows {
            let id = text(row, "id").unwrap_or_default();
            let symbol = normalize_symbol(&text(row, "symbol").unwrap_or_default());
            let what = format!("ledger id {id} ({symbol})");
            match trade(row, &id, &symbol, &currencies) {
                Ok((trade, fx_note)) => {
                    if let Some(note) = fx_note {
                        fx_dropped.push(format!("{what}: {note}"));
                    }
                    trades.push(trade);
                }
                Err(why) => report.skip(what, why),
            }
        }
        if let Some(first) = fx_dropped.first() {
            report.note(format!(
                "the currency_rate of {} did not match value_eur and was left out (e.g. \
                 {first})",
                plural(fx_dropped.len(), "trade", "trades")
            ));
        }
        // One call per trade: record_trade is idempotent (order id or key), so if a write
        // fails halfway, importing again records exactly the missing ones.
        for trade in &trades {
            let recorded = self.store.record_trade(trade);
            if store_result(LegacyKind::Trades, recorded)?.was_inserted() {
                report.taken += 1;
            } else {
                report.already_imported += 1;
            }
        }
        let written = !trades.is_empty();
        self.finish(report, written)
    }
}

/// A trade of a legacy ledger row, with a remark when its currency_rate was left out.
pub(super) fn trade(
    row: &Row,
    id: &str,
    symbol: &str,
    currencies: &HashMap<String, Currency>,
) -> Result<(NewTrade, Option<String>), String> {
    if symbol.is_empty() {
        return Err("no symbol".to_string());
    }
    let side = match text(row, "side").map(|s| s.to_ascii_uppercase()).as_deref() {
        Some("BUY") => Side::Buy,
        Some("SELL") => Side::Sell,
        other => return Err(format!("unknown side {:?}", other.unwrap_or(""))),
    };
    let quantity = decimal(row, "quantity")?.ok_or("no quantity")?;
    if quantity.is_zero() {
        return Err("zero quantity".to_string());
    }
    let quantity = Quantity::new(quantity).map_err(|_| format!("negative quantity {quantity}"))?;
    let price = decimal(row, "price")?.ok_or("no price")?;
    if price.is_negative() {
        return Err(format!("negative price {price}"));
    }
    let currency = match text(row, "currency") {
        Some(code) => currency(&code)?,
        None => *currencies
            .get(symbol)
            .ok_or("no currency, and its security is unknown")?,
    };
    let executed_at = text(row, "executed_at").ok_or("no execution time")?;
    let order_id = text(row, "order_id");
    let (fx_per_eur, fx_note) = trade_rate(row, currency, quantity, price);
    Ok((
        NewTrade {
            symbol: symbol.to_string(),
            isin: text(row, "isin"),
            side,
            quantity,
            price,
            currency,
            fx_per_eur,
            executed_at,
            source: TradeSource::Import,
            // Without a broker order id, the legacy row id keeps a second import from
            // recording the trade again.
            idempotency_key: order_id.is_none().then(|| format!("legacy-ledger-{id}")),
            order_id,
        },
        fx_note,
    ))
}

/// The trade's `currency_rate` (1 EUR = rate units, like positions) when it is believable:
/// it must agree with `value_eur` when that is known, and a rate of exactly 1 for a foreign
/// currency is the reference's placeholder, not a rate.
fn trade_rate(
    row: &Row,
    currency: Currency,
    quantity: Quantity,
    price: Decimal,
) -> (Option<Decimal>, Option<String>) {
    if currency == Currency::EUR {
        return (None, None);
    }
    let Some(rate) = real(row, "currency_rate").filter(|r| r.is_finite() && *r > 0.0) else {
        return (None, None);
    };
    let native = quantity.as_decimal().to_f64() * price.to_f64();
    if let Some(value_eur) = real(row, "value_eur").filter(|v| v.is_finite() && *v > 0.0)
        && native > 0.0
    {
        let implied = native / value_eur;
        if !close(rate, implied) {
            let remark = if close(1.0 / rate, implied) {
                " (its inverse)"
            } else {
                ""
            };
            return (
                None,
                Some(format!(
                    "rate {rate}, but value_eur implies {implied:.4}{remark}"
                )),
            );
        }
    } else if rate == 1.0 {
        return (None, None);
    }
    (Decimal::from_f64(rate).ok(), None)
}
