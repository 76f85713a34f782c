//! Daily price history, from wherever it can be had: the close of every synced quote (the
//! history grows from the first day of running), the broker's candles whenever its wrapper
//! returns some, a daily-price CSV download per symbol (rate-limited, resumable) and a CSV
//! file for a board without internet (`import prices FILE`).
//!
//! A quote or candle replaces the stored close of its day (a later quote is closer to the
//! close); a back-fill only adds days that are missing.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{Months, NaiveDate};

use super::execution::on_store;
use crate::store::{DailyClose, QuoteRecord, Store, StoreError, now_iso};
use crate::upstream::TradernetClient;

/// Closes a security needs before the planner's risk figures exist (a year of trading days and
/// the close before it); below it the broker is asked for candles.
const ENOUGH_DAYS: usize = crate::analytics::MIN_RISK_DAYS + 1;

/// How far back candles and back-fills reach: the window of the risk figures and the 5-year
/// CAGR, with a margin for the close before the window.
const HISTORY_YEARS: u32 = 6;

/// The quotes' prices as the closes of `day` (the local day they were synced on).
pub fn record_quote_closes(
    store: &Store,
    quotes: &[QuoteRecord],
    day: NaiveDate,
) -> Result<usize, StoreError> {
    let closes: Vec<DailyClose> = quotes
        .iter()
        .filter_map(|q| {
            let close = q.price.to_f64();
            (close.is_finite() && close > 0.0).then(|| DailyClose {
                symbol: q.symbol.clone(),
                day,
                close,
            })
        })
        .collect();
    store.put_daily_closes(&closes, true)
}

/// Reads a daily-price CSV: a header naming a `date` column and a `close` column (any case;
/// `Adj Close` is not used, so that stored closes agree with the quotes that extend them),
/// then one row per day. A `symbol` column, when present, names each row's security;
/// otherwise every row is `symbol`'s. Rows without a usable close (`null`, `0`, empty) are
/// skipped, as the free downloads have them on holidays; a malformed date or a text that is
/// not such a CSV at all is an error, so a download that answers an error page stores nothing.
pub fn parse_price_csv(text: &str, symbol: Option<&str>) -> Result<Vec<DailyClose>, String> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let header = lines.next().ok_or("the file is empty")?;
    let names: Vec<String> = header
        .split(',')
        .map(|n| n.trim().trim_matches('"').to_lowercase())
        .collect();
    let column = |name: &str| names.iter().position(|n| n == name);
    let (Some(date_at), Some(close_at)) = (column("date"), column("close")) else {
        return Err(format!(
            "the first line must name a date and a close column, not {:?}",
            header.chars().take(80).collect::<String>()
        ));
    };
    let symbol_at = column("symbol");
    if symbol_at.is_none() && symbol.is_none() {
        return Err("the file has no symbol column; name the symbol".into());
    }
    let mut closes = Vec::new();
    for (index, line) in lines.enumerate() {
        let fields: Vec<&str> = line
            .split(',')
            .map(|f| f.trim().trim_matches('"'))
            .collect();
        let field = |at: usize| fields.get(at).copied().unwrap_or("");
        let row = index + 2;
        let day = NaiveDate::parse_from_str(field(date_at), "%Y-%m-%d")
            .map_err(|_| format!("line {row}: the date is not YYYY-MM-DD"))?;
        let Some(close) = field(close_at)
            .parse::<f64>()
            .ok()
            .filter(|c| c.is_finite() && *c > 0.0)
        else {
            continue;
        };
        let symbol = match symbol_at {
            Some(at) => field(at).to_uppercase(),
            None => symbol.unwrap_or_default().to_uppercase(),
        };
        if symbol.is_empty() {
            return Err(format!("line {row}: no symbol"));
        }
        closes.push(DailyClose { symbol, day, close });
    }
    if closes.is_empty() {
        return Err("the file holds no usable closes".into());
    }
    Ok(closes)
}

/// The download URL of `symbol` from `template`: `{symbol}`, `{symbol_lower}`, `{ticker}`
/// and `{ticker_lower}` (the symbol before its first dot) are replaced, percent-encoded.
pub fn price_url(template: &str, symbol: &str) -> String {
    let encode = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
            .to_string()
            .replace("%2E", ".")
            .replace("%2D", "-")
            .replace("%5F", "_")
    };
    let ticker = symbol.split('.').next().unwrap_or(symbol);
    template
        .replace("{symbol_lower}", &encode(&symbol.to_lowercase()))
        .replace("{ticker_lower}", &encode(&ticker.to_lowercase()))
        .replace("{symbol}", &encode(symbol))
        .replace("{ticker}", &encode(ticker))
}

/// What one back-fill run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BackfillReport {
    /// Symbols whose history was extended, with the days added.
    pub filled: Vec<(String, usize)>,
    /// Symbols whose download or file failed, with why; they are tried again next run.
    pub failed: Vec<(String, String)>,
}

/// The securities whose history matters: active ones and held ones.
fn tracked_symbols(store: &Store) -> Result<BTreeSet<String>, StoreError> {
    let held: BTreeSet<String> = store.positions()?.into_iter().map(|p| p.symbol).collect();
    Ok(store
        .securities()?
        .into_iter()
        .filter(|s| s.active || held.contains(&s.symbol))
        .map(|s| s.symbol)
        .collect())
}

/// Back-fills from the CSV source at `template` every tracked symbol not back-filled yet,
/// waiting `pause` between downloads. Each symbol is marked done once its closes are stored,
/// so a run that is stopped resumes with the symbols it had not reached.
pub async fn backfill_from_csv(
    store: &Arc<Store>,
    client: &reqwest::Client,
    template: &str,
    pause: Duration,
) -> Result<BackfillReport, StoreError> {
    let pending: Vec<String> = {
        on_store(store, |store| {
            let done = store.backfilled_symbols()?;
            Ok::<_, StoreError>(
                tracked_symbols(store)?
                    .into_iter()
                    .filter(|s| !done.contains(s))
                    .collect(),
            )
        })
        .await
        .map_err(join_error)??
    };
    let mut report = BackfillReport::default();
    for (index, symbol) in pending.into_iter().enumerate() {
        if index > 0 {
            tokio::time::sleep(pause).await;
        }
        let url = price_url(template, &symbol);
        let closes = match download(client, &url).await {
            Ok(text) => parse_price_csv(&text, Some(&symbol)),
            Err(why) => Err(why),
        };
        // Only the symbol's own rows: a file with a symbol column may list others.
        let closes = closes.map(|c| {
            c.into_iter()
                .filter(|c| c.symbol == symbol)
                .collect::<Vec<_>>()
        });
        match closes {
            Ok(closes) => {
                let name = symbol.clone();
                let added = on_store(store, move |store| {
                    let added = store.put_daily_closes(&closes, false)?;
                    store.mark_backfilled(&name, &now_iso(), closes.len())?;
                    Ok::<_, StoreError>(added)
                })
                .await
                .map_err(join_error)??;
                report.filled.push((symbol, added));
            }
            Err(why) => {
                tracing::warn!(%symbol, %why, "price back-fill failed; tried again next run");
                report.failed.push((symbol, why));
            }
        }
    }
    Ok(report)
}

/// Asks the broker for the candles of every tracked symbol with too little history and
/// stores the closes of those it returns. The wrapper is known to answer no candles; that is
/// not an error, the symbol simply waits for the other sources.
pub async fn candles_from_broker(
    store: &Arc<Store>,
    client: &TradernetClient,
    today: NaiveDate,
) -> Result<usize, StoreError> {
    let short: Vec<String> = {
        on_store(store, |store| {
            let spans = store.history_spans()?;
            Ok::<_, StoreError>(
                tracked_symbols(store)?
                    .into_iter()
                    .filter(|s| spans.get(s).is_none_or(|span| span.days < ENOUGH_DAYS))
                    .collect(),
            )
        })
        .await
        .map_err(join_error)??
    };
    let start = today
        .checked_sub_months(Months::new(12 * HISTORY_YEARS))
        .unwrap_or(today);
    let mut stored = 0;
    for symbol in short {
        let candles = match client.candles(&symbol, start, today).await {
            Ok(candles) => candles,
            Err(error) => {
                // The rest wait for the next run: failures in a row would open the broker's
                // breaker, and with it stop the sync jobs that share it.
                tracing::info!(%symbol, %error, "no candles from the broker this run");
                break;
            }
        };
        let closes: Vec<DailyClose> = candles
            .into_iter()
            .filter_map(|c| {
                let close = c.close.to_f64();
                (close.is_finite() && close > 0.0).then(|| DailyClose {
                    symbol: symbol.clone(),
                    day: c.date,
                    close,
                })
            })
            .collect();
        if closes.is_empty() {
            continue;
        }
        stored += on_store(store, move |store| store.put_daily_closes(&closes, false))
            .await
            .map_err(join_error)??;
    }
    Ok(stored)
}

async fn download(client: &reqwest::Client, url: &str) -> Result<String, String> {
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("download failed: {e}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("the server answered {status}"));
    }
    response
        .text()
        .await
        .map_err(|e| format!("download failed: {e}"))
}

fn join_error(error: tokio::task::JoinError) -> StoreError {
    StoreError::Invalid {
        what: "database task",
        reason: error.to_string(),
    }
}

#[cfg(test)]
mod tests;
