//! Client of the tradernet broker wrapper (spec external-contracts §7.1, §8.7): every `/api/*`
//! answer is the envelope `{success, data, error, timestamp}`, and `success: false` is an
//! application error even though the status is 200. Rows are decoded tolerantly (see
//! [`super::decode`]).
//!
//! An empty list comes back as `Ok(vec![])`: whether an empty answer may replace stored data
//! is for the sync layer to decide, not for the client.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use serde_json::{Map, Value};

use super::decode::{self, field};
use super::error::UpstreamError;
use super::service::{BodyError, CallKind, Service, ServiceHealth, ServiceStatus};
use crate::domain::{Currency, Decimal, Quantity, Side};

/// The service name in metrics, messages and the status table.
pub const SERVICE_NAME: &str = "tradernet";

/// Most symbols the wrapper accepts in one quotes request (`MAX_BATCH_SYMBOLS`).
pub const MAX_QUOTE_SYMBOLS: usize = 100;

/// Most executed trades the wrapper returns in one call.
pub const MAX_TRADES_LIMIT: u32 = 1000;

/// A holding at the broker, in its own currency (the wrapper does not convert).
#[derive(Debug, Clone, PartialEq)]
pub struct BrokerPosition {
    pub symbol: String,
    pub quantity: Quantity,
    /// Average purchase price; zero when the broker did not say.
    pub avg_price: Decimal,
    /// Last price the broker reported; `None` when absent or not positive.
    pub current_price: Option<Decimal>,
    pub currency: Currency,
}

/// Cash in one currency; negative when the account is overdrawn in it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CashBalance {
    pub currency: Currency,
    pub amount: Decimal,
}

/// An order placed at the broker and not yet executed.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokerOrder {
    /// The broker's order id; empty when the broker sent none (the order still blocks new
    /// orders of its symbol, which is why the row is kept).
    pub id: String,
    /// Empty when the wrapper could not read it: such an order cannot be attributed.
    pub symbol: String,
    /// `None` when the wrapper could not read it (empty or an unknown code).
    pub side: Option<Side>,
    /// A buy on margin (code "2") or a short sale (code "4").
    pub margin: bool,
    pub quantity: Quantity,
    /// Limit price; `None` for a market order or when absent.
    pub price: Option<Decimal>,
    pub currency: Option<Currency>,
}

/// The last price of a security.
#[derive(Debug, Clone, PartialEq)]
pub struct Quote {
    pub symbol: String,
    /// Always positive: rows without a usable price are skipped.
    pub price: Decimal,
    pub currency: Option<Currency>,
}

/// One daily candle.
#[derive(Debug, Clone, PartialEq)]
pub struct Candle {
    pub date: NaiveDate,
    pub open: Decimal,
    pub high: Decimal,
    pub low: Decimal,
    pub close: Decimal,
    pub volume: u64,
}

/// A trade the broker executed.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokerTrade {
    pub order_id: String,
    pub symbol: String,
    pub side: Side,
    pub quantity: Quantity,
    pub price: Decimal,
    /// As the broker wrote it (local ISO time, no zone).
    pub executed_at: String,
}

/// The broker's answer to a placed order.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedOrder {
    pub order_id: String,
    pub symbol: String,
    pub side: Side,
    /// What the broker took: the wrapper truncates the quantity to whole shares.
    pub quantity: Quantity,
    /// The fill price if the broker reported a positive one.
    pub price: Option<Decimal>,
}

/// The tradernet wrapper, behind the resilience rules of its [`Service`].
#[derive(Debug)]
pub struct TradernetClient {
    service: Arc<Service>,
}

impl TradernetClient {
    /// The client of `service`, which the registry ([`super::Upstreams`]) built as
    /// [`SERVICE_NAME`].
    pub(super) fn new(service: Arc<Service>) -> TradernetClient {
        TradernetClient { service }
    }

    /// The underlying service, for calls this client has no method for.
    pub fn service(&self) -> &Service {
        &self.service
    }

    /// The breaker and last outcomes.
    pub fn status(&self) -> ServiceStatus {
        self.service.status()
    }

    /// `GET /health` (no envelope): whether the wrapper runs and whether it holds a broker
    /// session.
    pub async fn health(&self) -> Result<ServiceHealth, UpstreamError> {
        let value: Value = self.service.get_json("health", "/health", &[]).await?;
        let healthy = value
            .get("status")
            .and_then(decode::text)
            .is_some_and(|s| s.eq_ignore_ascii_case("healthy"));
        let connected = value.get("tradernet_connected").and_then(Value::as_bool);
        Ok(ServiceHealth {
            healthy: healthy && connected != Some(false),
            connected,
            version: value.get("version").and_then(decode::text),
        })
    }

    /// The holdings, `GET /api/portfolio/positions`.
    pub async fn positions(&self) -> Result<Vec<BrokerPosition>, UpstreamError> {
        self.service
            .get_with("positions", "/api/portfolio/positions", &[], |body| {
                decode_positions(&envelope(body)?)
            })
            .await
    }

    /// Cash per currency, `GET /api/portfolio/cash-balances`, without the research-mode TEST
    /// balance.
    pub async fn cash_balances(&self) -> Result<Vec<CashBalance>, UpstreamError> {
        self.service
            .get_with(
                "cash_balances",
                "/api/portfolio/cash-balances",
                &[],
                |body| decode_cash_balances(&envelope(body)?),
            )
            .await
    }

    /// Orders waiting at the broker, `GET /api/trading/pending-orders`.
    pub async fn pending_orders(&self) -> Result<Vec<BrokerOrder>, UpstreamError> {
        self.service
            .get_with(
                "pending_orders",
                "/api/trading/pending-orders",
                &[],
                |body| decode_pending_orders(&envelope(body)?),
            )
            .await
    }

    /// Whether the broker holds an open order for exactly `symbol`,
    /// `GET /api/trading/pending-orders/{symbol}`. An answer that does not say is malformed,
    /// never "no": a caller uses it to decide whether an order may be placed or forgotten.
    pub async fn has_pending_order(&self, symbol: &str) -> Result<bool, UpstreamError> {
        let path = format!("/api/trading/pending-orders/{}", path_segment(symbol));
        self.service
            .get_with("pending_order_check", &path, &[], |body| {
                decode_has_pending(&envelope(body)?)
            })
            .await
    }

    /// Last prices, `POST /api/market-data/quotes` in requests of at most
    /// [`MAX_QUOTE_SYMBOLS`]. Symbols the broker does not know, or quotes without a positive
    /// price, are missing from the answer. The first failing request fails the whole call.
    pub async fn quotes(&self, symbols: &[String]) -> Result<Vec<Quote>, UpstreamError> {
        #[derive(Serialize)]
        struct QuotesRequest<'a> {
            symbols: &'a [String],
        }
        let mut quotes = Vec::with_capacity(symbols.len());
        for chunk in symbols.chunks(MAX_QUOTE_SYMBOLS) {
            // A read that happens to be a POST: safe to repeat.
            let batch = self
                .service
                .post_with(
                    "quotes",
                    "/api/market-data/quotes",
                    &QuotesRequest { symbols: chunk },
                    CallKind::Idempotent,
                    &[],
                    |body| decode_quotes(&envelope(body)?),
                )
                .await?;
            quotes.extend(batch);
        }
        Ok(quotes)
    }

    /// Daily candles of `symbol` from `start` to `end` (both included), oldest first as the
    /// broker sends them, `GET /api/market-data/historical/{symbol}`.
    pub async fn candles(
        &self,
        symbol: &str,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<Vec<Candle>, UpstreamError> {
        let path = format!("/api/market-data/historical/{}", path_segment(symbol));
        let query = [
            ("start", start.format("%Y-%m-%d").to_string()),
            ("end", end.format("%Y-%m-%d").to_string()),
        ];
        self.service
            .get_with("candles", &path, &query, |body| {
                decode_candles(&envelope(body)?)
            })
            .await
    }

    /// The newest `limit` executed trades (clamped to 1..=[`MAX_TRADES_LIMIT`]), newest first,
    /// `GET /api/transactions/executed-trades`.
    pub async fn executed_trades(&self, limit: u32) -> Result<Vec<BrokerTrade>, UpstreamError> {
        let query = [("limit", limit.clamp(1, MAX_TRADES_LIMIT).to_string())];
        self.service
            .get_with(
                "executed_trades",
                "/api/transactions/executed-trades",
                &query,
                |body| decode_trades(&envelope(body)?),
            )
            .await
    }

    /// Places a market order, `POST /api/trading/place-order`. Sent exactly once, never
    /// retried: a timeout leaves the order's fate unknown, and the caller must look at the
    /// pending orders and executed trades before trying again. `idempotency_key` goes out as
    /// the `Idempotency-Key` header for a wrapper that deduplicates.
    ///
    /// The wrapper truncates the quantity to whole shares; a quantity below one share fails
    /// there ("Order execution failed").
    pub async fn place_order(
        &self,
        symbol: &str,
        side: Side,
        quantity: Quantity,
        idempotency_key: &str,
    ) -> Result<PlacedOrder, UpstreamError> {
        #[derive(Serialize)]
        struct OrderRequest<'a> {
            symbol: &'a str,
            side: Side,
            // The wrapper's model takes a float.
            quantity: f64,
        }
        let request = OrderRequest {
            symbol,
            side,
            quantity: quantity.as_decimal().to_f64(),
        };
        let headers = [("Idempotency-Key", idempotency_key.to_string())];
        self.service
            .post_with(
                "place_order",
                "/api/trading/place-order",
                &request,
                CallKind::NotIdempotent,
                &headers,
                |body| decode_placed_order(&envelope(body)?, symbol, side, quantity),
            )
            .await
    }
}

/// What a path segment keeps as it is: RFC 3986's unreserved characters. Everything else,
/// `/`, `%`, `?` and `#` included, is escaped.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes a path segment, so a symbol can never change the path it is put in.
pub(crate) fn path_segment(raw: &str) -> String {
    utf8_percent_encode(raw, PATH_SEGMENT).to_string()
}

// ---------------------------------------------------------------------------------------------
// Decoding

/// The `data` of a successful envelope; `success: false` is an application error carrying the
/// envelope's `error`.
pub(crate) fn envelope(body: &[u8]) -> Result<Value, BodyError> {
    let value = decode::json(body)?;
    let Value::Object(mut object) = value else {
        return Err(BodyError::Malformed(format!(
            "expected the {{success, data, error}} envelope, found {}",
            decode::kind(&value)
        )));
    };
    let success = match object.get("success") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
        Some(other) => {
            return Err(BodyError::Malformed(format!(
                "envelope success is {}",
                decode::kind(other)
            )));
        }
        None => {
            return Err(BodyError::Malformed(
                "expected the {success, data, error} envelope, found no success".into(),
            ));
        }
    };
    if !success {
        let message = object
            .get("error")
            .and_then(decode::text)
            .unwrap_or_else(|| "success false, without an error message".to_string());
        return Err(BodyError::Application(message));
    }
    Ok(object.remove("data").unwrap_or(Value::Null))
}

fn required<'a>(row: &'a Map<String, Value>, names: &[&str]) -> Result<&'a Value, String> {
    field(row, names).ok_or_else(|| format!("no {}", names[0]))
}

fn required_text(row: &Map<String, Value>, names: &[&str]) -> Result<String, String> {
    decode::text(required(row, names)?).ok_or_else(|| format!("{} is not text", names[0]))
}

fn required_decimal(row: &Map<String, Value>, names: &[&str]) -> Result<Decimal, String> {
    let value = required(row, names)?;
    decode::decimal(value).ok_or_else(|| format!("{} is not a number: {value}", names[0]))
}

fn required_quantity(row: &Map<String, Value>, names: &[&str]) -> Result<Quantity, String> {
    Quantity::new(required_decimal(row, names)?).map_err(|e| e.to_string())
}

fn required_side(row: &Map<String, Value>, names: &[&str]) -> Result<Side, String> {
    let value = required(row, names)?;
    decode::side(value).ok_or_else(|| format!("unknown side {value}"))
}

fn optional_positive(row: &Map<String, Value>, names: &[&str]) -> Option<Decimal> {
    field(row, names)
        .and_then(decode::decimal)
        .filter(|d| d.is_positive())
}

const SYMBOL: &[&str] = &["symbol", "ticker", "instr_name", "i"];
const QUANTITY: &[&str] = &["quantity", "qty", "q"];
const CURRENCY: &[&str] = &["currency", "curr"];

/// `price` in pounds when `currency` names pence (London lines), else as it is.
fn in_major_unit(price: Decimal, currency: &Value) -> Result<Decimal, String> {
    if decode::is_pence(currency) {
        decode::pence_to_pounds(price).ok_or_else(|| format!("price {price} in pence"))
    } else {
        Ok(price)
    }
}

pub(crate) fn decode_positions(data: &Value) -> Result<Vec<BrokerPosition>, BodyError> {
    let rows = decode::list(data, &["positions", "pos"])?;
    Ok(decode::rows("position", rows, |row| {
        let currency = required(row, CURRENCY)?;
        let avg_price = field(row, &["avg_price", "average_price", "bal_price_a"])
            .and_then(decode::decimal)
            .unwrap_or(Decimal::ZERO);
        let current_price = optional_positive(row, &["current_price", "mkt_price", "price"]);
        Ok(BrokerPosition {
            symbol: required_text(row, SYMBOL)?,
            quantity: required_quantity(row, QUANTITY)?,
            avg_price: in_major_unit(avg_price, currency)?,
            current_price: current_price
                .map(|p| in_major_unit(p, currency))
                .transpose()?,
            currency: decode::currency(currency).ok_or_else(|| format!("currency {currency}"))?,
        })
    }))
}

pub(crate) fn decode_cash_balances(data: &Value) -> Result<Vec<CashBalance>, BodyError> {
    let rows = decode::list(data, &["balances", "acc"])?;
    let kept: Vec<Value> = rows
        .iter()
        .filter(|row| {
            // In research mode the wrapper adds a made-up balance of 10000 "TEST"; it is no
            // money at the broker, and read as EUR (the reference's reading of TEST) it would
            // let the planner spend cash that does not exist.
            let test = row
                .as_object()
                .and_then(|r| field(r, CURRENCY))
                .is_some_and(decode::is_test_currency);
            if test {
                tracing::debug!("skipping the research-mode TEST balance");
            }
            !test
        })
        .cloned()
        .collect();
    Ok(decode::rows("cash balance", &kept, |row| {
        let currency = required(row, CURRENCY)?;
        Ok(CashBalance {
            currency: decode::currency(currency).ok_or_else(|| format!("currency {currency}"))?,
            amount: required_decimal(row, &["amount", "s", "balance"])?,
        })
    }))
}

/// Open orders. A row whose symbol or side cannot be read is kept with an empty symbol or no
/// side: the wrapper reads field names a live broker may not send, and an order we cannot
/// attribute must still stop new live orders rather than vanish.
pub(crate) fn decode_pending_orders(data: &Value) -> Result<Vec<BrokerOrder>, BodyError> {
    let rows = decode::list(data, &["orders"])?;
    Ok(decode::rows("pending order", rows, |row| {
        let side = field(row, &["side", "buy_sell", "oper", "type"]).and_then(decode::order_side);
        let currency = field(row, CURRENCY);
        let price = optional_positive(row, &["price", "p"])
            .map(|p| match currency {
                Some(c) => in_major_unit(p, c),
                None => Ok(p),
            })
            .transpose()?;
        Ok(BrokerOrder {
            id: field(row, &["id", "order_id", "orderId"])
                .and_then(decode::text)
                .unwrap_or_default(),
            symbol: field(row, &["symbol", "ticker", "instr_name", "instr", "i"])
                .and_then(decode::text)
                .unwrap_or_default(),
            side: side.map(|(side, _)| side),
            margin: side.is_some_and(|(_, margin)| margin),
            quantity: field(row, &["quantity", "qty", "q"])
                .and_then(decode::decimal)
                .and_then(|d| Quantity::new(d).ok())
                .unwrap_or(Quantity::ZERO),
            price,
            currency: currency.and_then(decode::currency),
        })
    }))
}

pub(crate) fn decode_has_pending(data: &Value) -> Result<bool, BodyError> {
    let flag = data.get("has_pending");
    match flag {
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::Number(n)) if n.as_u64() == Some(1) => Ok(true),
        Some(Value::Number(n)) if n.as_u64() == Some(0) => Ok(false),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(BodyError::Malformed(format!(
            "has_pending is {}",
            flag.map_or("missing", decode::kind)
        ))),
    }
}

pub(crate) fn decode_quotes(data: &Value) -> Result<Vec<Quote>, BodyError> {
    let rows = quote_rows(data)?;
    Ok(decode::rows("quote", rows, |row| {
        let symbol = required_text(row, &["c", "symbol", "ticker", "i"])?;
        let price = optional_positive(row, &["ltp", "price", "last_price", "last"])
            .ok_or_else(|| format!("no positive price for {symbol}"))?;
        let price = match field(row, &["x_curr", "currency", "curr"]) {
            Some(currency) => in_major_unit(price, currency)?,
            None => price,
        };
        Ok(Quote {
            symbol,
            price,
            currency: field(row, &["x_curr", "currency", "curr"]).and_then(decode::currency),
        })
    }))
}

/// The quote rows wherever the payload keeps them: the broker's raw
/// `{quotes: {result: {q: [...]}}}`, or a plain list, bare or under `quotes`.
fn quote_rows(data: &Value) -> Result<&[Value], BodyError> {
    let candidates = [Some(data), data.get("quotes")];
    for candidate in candidates.into_iter().flatten() {
        match candidate {
            Value::Array(rows) => return Ok(rows),
            Value::Object(object) => {
                let nested = [
                    candidate.pointer("/result/q"),
                    candidate.get("q"),
                    candidate.get("result"),
                ];
                if let Some(rows) = nested.into_iter().flatten().find_map(Value::as_array) {
                    return Ok(rows);
                }
                if object.is_empty() {
                    return Ok(&[]);
                }
            }
            _ => {}
        }
    }
    Err(BodyError::Malformed(format!(
        "no quote list in {}",
        decode::kind(data)
    )))
}

pub(crate) fn decode_candles(data: &Value) -> Result<Vec<Candle>, BodyError> {
    let rows = decode::list(data, &["candles"])?;
    Ok(decode::rows("candle", rows, |row| {
        let date_value = required(row, &["date", "d", "t"])?;
        let date = candle_date(date_value).ok_or_else(|| format!("date {date_value}"))?;
        let close = required_decimal(row, &["close", "c"])?;
        let or_close =
            |names: &[&str]| field(row, names).and_then(decode::decimal).unwrap_or(close);
        Ok(Candle {
            date,
            open: or_close(&["open", "o"]),
            high: or_close(&["high", "h"]),
            low: or_close(&["low", "l"]),
            close,
            volume: field(row, &["volume", "v"])
                .and_then(decode::count)
                .unwrap_or(0),
        })
    }))
}

/// "2025-12-01", "2025-12-01T00:00:00", "2025-12-01 00:00:00" or Unix seconds.
fn candle_date(value: &Value) -> Option<NaiveDate> {
    if let Value::Number(n) = value {
        return DateTime::from_timestamp(n.as_i64()?, 0).map(|t| t.date_naive());
    }
    let text = decode::text(value)?;
    let day = text.get(..10)?;
    NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()
}

pub(crate) fn decode_trades(data: &Value) -> Result<Vec<BrokerTrade>, BodyError> {
    let rows = decode::list(data, &["trades"])?;
    Ok(decode::rows("executed trade", rows, |row| {
        Ok(BrokerTrade {
            // The ledger deduplicates on it, so a trade without one cannot be kept.
            order_id: required_text(row, &["order_id", "id", "orderId"])?,
            symbol: required_text(row, SYMBOL)?,
            side: required_side(row, &["side", "type", "buy_sell"])?,
            quantity: required_quantity(row, QUANTITY)?,
            price: required_decimal(row, &["price", "p"])?,
            executed_at: required_text(row, &["executed_at", "date", "d"])?,
        })
    }))
}

/// The order's answer; fields the broker left out are the ones that were asked for. The real
/// wrapper always answers `order_id: ""` (it reads the wrong field of the broker's answer)
/// although the order went out, so a missing or empty id is an empty `order_id`: the order
/// is sent, to be confirmed by the open-orders and trades syncs.
pub(crate) fn decode_placed_order(
    data: &Value,
    symbol: &str,
    side: Side,
    quantity: Quantity,
) -> Result<PlacedOrder, BodyError> {
    let Value::Object(row) = data else {
        return Err(BodyError::Malformed(format!(
            "order answer is {}",
            decode::kind(data)
        )));
    };
    let order_id = field(row, &["order_id", "id", "orderId"])
        .and_then(decode::text)
        .unwrap_or_default();
    Ok(PlacedOrder {
        order_id,
        symbol: field(row, SYMBOL)
            .and_then(decode::text)
            .unwrap_or_else(|| symbol.to_string()),
        side: field(row, &["side"]).and_then(decode::side).unwrap_or(side),
        quantity: field(row, QUANTITY)
            .and_then(decode::decimal)
            .and_then(|d| Quantity::new(d).ok())
            .unwrap_or(quantity),
        price: optional_positive(row, &["price", "p"]),
    })
}
