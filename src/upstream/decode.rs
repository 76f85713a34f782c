//! Tolerant reading of upstream JSON. The broker wrapper has shipped the same field under
//! several names, numbers as strings and nulls where values were promised (reference history
//! problem #4), so rows are read field by field from a `serde_json::Value`: a field may go by
//! any of its known names, a number may be a string, and a row that lacks what matters is
//! skipped with a warning instead of failing the whole answer.

use serde_json::{Map, Value};

use super::service::BodyError;
use crate::domain::{Currency, Decimal, Side};

/// The first of `names` present in `row` with a non-null value.
pub(crate) fn field<'a>(row: &'a Map<String, Value>, names: &[&str]) -> Option<&'a Value> {
    names
        .iter()
        .find_map(|name| row.get(*name).filter(|value| !value.is_null()))
}

/// Text of a string (trimmed, non-empty) or of a number (an id sent as a number).
pub(crate) fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => {
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_string())
        }
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A decimal from a JSON number or a numeric string ("172.5", " 10 ", "1e3").
pub(crate) fn decimal(value: &Value) -> Option<Decimal> {
    match value {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Some(Decimal::from_i64(i))
            } else {
                n.as_f64().and_then(|f| Decimal::from_f64(f).ok())
            }
        }
        Value::String(s) => {
            let s = s.trim();
            s.parse::<Decimal>().ok().or_else(|| {
                // Exponents and the like: through a float, which is what the sender had.
                s.parse::<f64>()
                    .ok()
                    .and_then(|f| Decimal::from_f64(f).ok())
            })
        }
        _ => None,
    }
}

/// A finite float from a JSON number or a numeric string.
pub(crate) fn float(value: &Value) -> Option<f64> {
    let f = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    f.is_finite().then_some(f)
}

/// A non-negative integer (a volume) from a number, a float or a string; fractions truncate.
pub(crate) fn count(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(|f| f as u64)
        }),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<u64>().ok().or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite() && *f >= 0.0)
                    .map(|f| f as u64)
            })
        }
        _ => None,
    }
}

/// A side in any of the spellings seen: "BUY"/"SELL" in any case, the broker's one-letter
/// "B"/"S", and its type codes 1 (buy) and 2 (sell), as text or number.
pub(crate) fn side(value: &Value) -> Option<Side> {
    let raw = text(value)?;
    match raw.to_ascii_uppercase().as_str() {
        "BUY" | "B" | "1" => Some(Side::Buy),
        "SELL" | "S" | "2" => Some(Side::Sell),
        _ => None,
    }
}

/// The side of an open order: the broker's code passed through as text or number ("1" buy,
/// "2" buy on margin, "3" sell, "4" sell short), or a word ("BUY", "B", "sell", ...). The flag
/// says whether the order borrows (margin buy or short sale).
pub(crate) fn order_side(value: &Value) -> Option<(Side, bool)> {
    let raw = text(value)?;
    match raw.to_ascii_uppercase().as_str() {
        "1" | "BUY" | "B" => Some((Side::Buy, false)),
        "2" => Some((Side::Buy, true)),
        "3" | "SELL" | "S" => Some((Side::Sell, false)),
        "4" => Some((Side::Sell, true)),
        _ => None,
    }
}

/// Whether a currency field names pence (`GBp`, or `GBX` in any case): London lines are
/// priced in pence while their cash is in pounds. "GBP" in capitals is pounds.
pub(crate) fn is_pence(value: &Value) -> bool {
    text(value).is_some_and(|code| code == "GBp" || code.eq_ignore_ascii_case("GBX"))
}

/// A price in pence as pounds: exact (two more decimal places), rounded half-even only past
/// the decimal type's precision.
pub(crate) fn pence_to_pounds(pence: Decimal) -> Option<Decimal> {
    pence
        .checked_div(Decimal::from_i64(100), pence.scale() + 2)
        .ok()
}

/// A currency code, with the reference's research-mode `TEST` read as EUR.
pub(crate) fn currency(value: &Value) -> Option<Currency> {
    if is_pence(value) {
        return Some(Currency::GBP);
    }
    Currency::from_legacy_code(&text(value)?).ok()
}

/// Whether a currency field holds the research-mode `TEST` code.
pub(crate) fn is_test_currency(value: &Value) -> bool {
    text(value).is_some_and(|code| code.eq_ignore_ascii_case("TEST"))
}

/// The list under `keys` inside `data` (the first key present), or `data` itself when it is
/// already a list. A missing list is malformed: an answer that lost its payload must not read
/// as "nothing there".
pub(crate) fn list<'a>(data: &'a Value, keys: &[&str]) -> Result<&'a [Value], BodyError> {
    if let Value::Array(rows) = data {
        return Ok(rows);
    }
    let Value::Object(object) = data else {
        return Err(BodyError::Malformed(format!(
            "expected an object with {}, found {}",
            keys.join(" or "),
            kind(data)
        )));
    };
    match field(object, keys) {
        Some(Value::Array(rows)) => Ok(rows),
        Some(other) => Err(BodyError::Malformed(format!(
            "{} is {}, not a list",
            keys[0],
            kind(other)
        ))),
        None => Err(BodyError::Malformed(format!(
            "no {} in the answer",
            keys[0]
        ))),
    }
}

/// Decodes each row with `row`, skipping (with a warning) the ones it refuses.
pub(crate) fn rows<T>(
    what: &'static str,
    rows: &[Value],
    row: impl Fn(&Map<String, Value>) -> Result<T, String>,
) -> Vec<T> {
    rows.iter()
        .enumerate()
        .filter_map(|(index, value)| {
            let outcome = match value {
                Value::Object(object) => row(object),
                other => Err(format!("a row is {}, not an object", kind(other))),
            };
            match outcome {
                Ok(decoded) => Some(decoded),
                Err(reason) => {
                    tracing::warn!(what, index, %reason, row = %value, "skipping an upstream row");
                    None
                }
            }
        })
        .collect()
}

/// The JSON kind of a value, for messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Parses a body as JSON at all.
pub(crate) fn json(body: &[u8]) -> Result<Value, BodyError> {
    serde_json::from_slice(body).map_err(|e| BodyError::Malformed(format!("not JSON: {e}")))
}
