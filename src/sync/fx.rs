//! FX rates from the ECB's daily euro reference rates (`eurofxref-daily.xml`), downloaded on a
//! schedule or imported from the same file on a board without internet.
//!
//! The file is small and fixed: one `<Cube time='YYYY-MM-DD'>` holding one
//! `<Cube currency='USD' rate='1.0856'/>` per currency, each rate "1 EUR = rate units", which is
//! our convention. It is read by a small parser of our own rather than an XML crate: the board
//! binary has almost no room left, and the format needs no more than finding the `Cube`
//! elements and reading their attributes. The parser is strict: anything unexpected (no date,
//! two dates, a bad rate, a currency twice, a truncated file) refuses the whole file, and the
//! stored rates stay as they were. The history of the rates is imported from CSV
//! ([`parse_history_csv`]).

use chrono::NaiveDate;

use crate::domain::{Currency, Decimal, FxRate};
use crate::store::{DayRates, Store, StoreError, now_iso};

mod history_csv;
pub use history_csv::{is_history_csv, parse_history_csv, store_history};

/// The `data_freshness` kind and source of the rates.
pub const FX_KIND: &str = "fx";
pub const ECB_SOURCE: &str = "ecb";

/// The largest file accepted; the real one is about 1.5 KB.
const MAX_FEED_BYTES: usize = 64 * 1024;

/// Why a feed was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the ECB rates were refused: {0}")]
pub struct FeedError(pub String);

fn refuse<T>(why: impl Into<String>) -> Result<T, FeedError> {
    Err(FeedError(why.into()))
}

/// Parses the ECB's daily file.
pub fn parse_ecb_daily(text: &str) -> Result<DayRates, FeedError> {
    if text.len() > MAX_FEED_BYTES {
        return refuse(format!("the file is larger than {MAX_FEED_BYTES} bytes"));
    }
    if !text.contains("eurofxref") {
        return refuse("not the ECB's euro reference rates (no eurofxref namespace)");
    }
    // A file cut short loses its closing tags; the rates before the cut may look fine.
    if !text.trim_end().ends_with("Envelope>") {
        return refuse("the file is incomplete (no closing Envelope tag)");
    }
    let mut date = None;
    // Small lists searched in place: maps would add code for nothing on ~30 entries.
    let mut rates: Vec<(Currency, Decimal)> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("<Cube") {
        rest = &rest[start + "<Cube".len()..];
        let end = rest
            .find('>')
            .ok_or_else(|| FeedError("a Cube element is not closed".into()))?;
        let attributes = parse_attributes(rest[..end].trim_end_matches('/'))?;
        rest = &rest[end + 1..];
        let get = |name: &str| attributes.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        match (get("time"), get("currency"), get("rate")) {
            (None, None, None) => {}
            (Some(time), None, None) => {
                if date.is_some() {
                    return refuse("more than one day in the file");
                }
                date = Some(
                    NaiveDate::parse_from_str(time, "%Y-%m-%d")
                        .or_else(|_| refuse(format!("the date {time:?} is not YYYY-MM-DD")))?,
                );
            }
            (None, Some(code), Some(rate)) => {
                if date.is_none() {
                    return refuse(format!("the rate of {code} comes before any date"));
                }
                let currency = Currency::new(code)
                    .or_else(|_| refuse(format!("{code:?} is not a currency code")))?;
                let per_eur: Decimal = rate
                    .parse()
                    .ok()
                    .filter(|r: &Decimal| r.is_positive())
                    .ok_or_else(|| {
                        FeedError(format!(
                            "the rate of {code} ({rate:?}) is not a positive number"
                        ))
                    })?;
                if currency == Currency::EUR {
                    return refuse("a rate for EUR itself");
                }
                if rates.iter().any(|(c, _)| *c == currency) {
                    return refuse(format!("{code} appears twice"));
                }
                rates.push((currency, per_eur));
            }
            _ => return refuse("a Cube element mixes a date with a rate, or lacks half a rate"),
        }
    }
    let Some(date) = date else {
        return refuse("no date");
    };
    if rates.is_empty() {
        return refuse("no rates");
    }
    let rates = rates
        .into_iter()
        .map(|(currency, per_eur)| FxRate::new(currency, per_eur))
        .collect::<Result<_, _>>()
        .map_err(|e| FeedError(e.to_string()))?;
    Ok(DayRates { date, rates })
}

/// The `name='value'` (or `name="value"`) pairs of an element.
fn parse_attributes(text: &str) -> Result<Vec<(&str, &str)>, FeedError> {
    let mut attributes: Vec<(&str, &str)> = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once('=')
            .ok_or_else(|| FeedError(format!("a Cube attribute has no value: {rest:?}")))?;
        let after = after.trim_start();
        let quote = after
            .chars()
            .next()
            .filter(|c| *c == '\'' || *c == '"')
            .ok_or_else(|| FeedError("a Cube attribute is not quoted".into()))?;
        let value_end = after[1..]
            .find(quote)
            .ok_or_else(|| FeedError("a Cube attribute's quote is not closed".into()))?;
        let value = &after[1..1 + value_end];
        if attributes.iter().any(|(n, _)| *n == name.trim()) {
            return refuse(format!("the attribute {} appears twice", name.trim()));
        }
        attributes.push((name.trim(), value.trim()));
        rest = after[value_end + 2..].trim_start();
    }
    Ok(attributes)
}

/// Stores the rates of a parsed file as of its date and marks the FX data refreshed.
pub fn store_rates(store: &Store, rates: &DayRates, source: &str) -> Result<usize, StoreError> {
    let written = store.put_dated_fx_rates(&rates.rates, rates.date)?;
    store.mark_refreshed(FX_KIND, source, &now_iso())?;
    Ok(written)
}

/// How current the stored rates are, for `/api/upstreams`, `/readyz` and the dashboard.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FxStatus {
    /// Some rate is dated more than `stale_days` days before today (or is of unknown age).
    pub stale: bool,
    pub stale_days: u32,
    /// The date of the oldest stored rate.
    pub oldest_rate_date: Option<NaiveDate>,
    /// Where the rates last came from (`ecb`, `import`) and when.
    pub source: Option<String>,
    pub refreshed_at: Option<String>,
    pub rates: Vec<FxRateStatus>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FxRateStatus {
    pub currency: String,
    /// 1 EUR = `per_eur` units.
    pub per_eur: String,
    pub rate_date: Option<NaiveDate>,
    pub stale: bool,
}

/// The status of the stored rates on `today`.
pub fn fx_status(store: &Store, today: NaiveDate, stale_days: u32) -> Result<FxStatus, StoreError> {
    let rates: Vec<FxRateStatus> = store
        .fx_rates_dated()?
        .into_iter()
        .map(|r| FxRateStatus {
            currency: r.rate.currency().to_string(),
            per_eur: r.rate.per_eur().to_string(),
            stale: r.is_stale(today, stale_days),
            rate_date: r.rate_date,
        })
        .collect();
    let freshness = store.data_freshness(FX_KIND)?;
    Ok(FxStatus {
        stale: rates.iter().any(|r| r.stale),
        stale_days,
        oldest_rate_date: rates.iter().filter_map(|r| r.rate_date).min(),
        source: freshness.as_ref().map(|f| f.source.clone()),
        refreshed_at: freshness.map(|f| f.refreshed_at),
        rates,
    })
}

/// Downloads the file at `url` with `client`, parses it and stores its rates; a refused or
/// failed download leaves the stored rates alone and marks them stale.
pub async fn refresh(
    store: &std::sync::Arc<Store>,
    client: &reqwest::Client,
    url: &str,
) -> Result<DayRates, FeedError> {
    let outcome = download(client, url)
        .await
        .and_then(|t| parse_ecb_daily(&t));
    let saved = outcome.clone();
    let written = super::execution::on_store(store, move |store| match &saved {
        Ok(rates) => store_rates(store, rates, ECB_SOURCE).map(Some),
        Err(_) => store.mark_stale(FX_KIND).map(|_| None),
    })
    .await
    .map_err(|e| FeedError(format!("a database task failed: {e}")))?
    .map_err(|e| FeedError(format!("storing the rates failed: {e}")))?;
    if let Some(count) = written {
        tracing::info!(count, "stored the ECB's reference rates");
    }
    outcome
}

async fn download(client: &reqwest::Client, url: &str) -> Result<String, FeedError> {
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| FeedError(format!("download failed: {e}")))?;
    let status = response.status();
    if !status.is_success() {
        return refuse(format!("the server answered {status}"));
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| FeedError(format!("download failed: {e}")))?;
    String::from_utf8(body.to_vec()).or_else(|_| refuse("the file is not UTF-8 text"))
}

#[cfg(test)]
mod tests;
