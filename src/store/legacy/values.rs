//! Values as the reference's dynamically typed columns may hold them.

use rusqlite::types::Value;

use super::read::Row;
use crate::domain::{Currency, Decimal};

/// Decimal places of a rate computed as the inverse of a legacy rate.
const INVERSE_PLACES: u32 = 12;

/// Relative difference above which two FX figures that should agree are reported.
const FX_TOLERANCE: f64 = 0.02;

pub(super) fn value<'a>(row: &'a Row, column: &str) -> &'a Value {
    row.get(column).unwrap_or(&Value::Null)
}

/// Trimmed text; NULL, empty and blobs are `None`.
pub(super) fn text(row: &Row, column: &str) -> Option<String> {
    let text = match value(row, column) {
        Value::Text(t) => t.trim().to_string(),
        Value::Integer(i) => i.to_string(),
        Value::Real(f) => format!("{f:?}"),
        Value::Null | Value::Blob(_) => return None,
    };
    (!text.is_empty()).then_some(text)
}

pub(super) fn real(row: &Row, column: &str) -> Option<f64> {
    match value(row, column) {
        Value::Integer(i) => Some(*i as f64),
        Value::Real(f) => Some(*f),
        Value::Text(t) => t.trim().parse().ok(),
        Value::Null | Value::Blob(_) => None,
    }
}

pub(super) fn integer(row: &Row, column: &str) -> Option<i64> {
    match value(row, column) {
        Value::Integer(i) => Some(*i),
        Value::Real(f) if f.fract() == 0.0 && f.abs() < 1e15 => Some(*f as i64),
        Value::Text(t) => t.trim().parse().ok(),
        _ => None,
    }
}

/// A 0/1 column; NULL or an unreadable value means the column's default.
pub(super) fn flag(row: &Row, column: &str, default: bool) -> bool {
    match value(row, column) {
        Value::Integer(i) => *i != 0,
        Value::Real(f) => *f != 0.0,
        Value::Text(t) => match t.trim().to_ascii_lowercase().as_str() {
            "1" | "1.0" | "true" | "yes" => true,
            "0" | "0.0" | "false" | "no" => false,
            _ => default,
        },
        Value::Null | Value::Blob(_) => default,
    }
}

/// An exact decimal of a REAL column: the shortest decimal that reads back as the stored
/// double, so 0.5 stays 0.5 and 690.0 stays 690.
pub(super) fn decimal(row: &Row, column: &str) -> Result<Option<Decimal>, String> {
    let parsed = match value(row, column) {
        Value::Null => return Ok(None),
        Value::Integer(i) => Ok(Decimal::from_i64(*i)),
        Value::Real(f) => Decimal::from_f64(*f),
        Value::Text(t) if t.trim().is_empty() => return Ok(None),
        Value::Text(t) => t.trim().parse::<Decimal>().or_else(|_| {
            t.trim()
                .parse::<f64>()
                .map_err(|_| crate::domain::MoneyError::InvalidDecimal(t.clone()))
                .and_then(Decimal::from_f64)
        }),
        Value::Blob(_) => return Err(format!("{column} is not a number")),
    };
    parsed
        .map(Some)
        .map_err(|e| format!("{column} {:?}: {e}", value(row, column)))
}

pub(super) fn currency(code: &str) -> Result<Currency, String> {
    Currency::from_legacy_code(code).map_err(|_| format!("unknown currency {code:?}"))
}

/// `1 / value`, rounded half-even to [`INVERSE_PLACES`] places.
pub(super) fn inverse(value: Decimal) -> Option<Decimal> {
    if !value.is_positive() {
        return None;
    }
    // 1 / (m / 10^s) = 10^s / m, in units of 10^-INVERSE_PLACES.
    let numerator = 10i128.checked_pow(value.scale() + INVERSE_PLACES)?;
    let m = value.mantissa();
    let (q, r) = (numerator / m, numerator % m);
    let up = r > m - r || (r == m - r && q % 2 != 0);
    Decimal::new(if up { q + 1 } else { q }, INVERSE_PLACES).ok()
}

/// "1 trade", "3 trades".
pub(super) fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

pub(super) fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= FX_TOLERANCE * a.abs().max(b.abs())
}
