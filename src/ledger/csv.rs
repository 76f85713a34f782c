//! The ledger as CSV (RFC 4180): a header line, then one line per entry, lines ended by CRLF.
//! A field is quoted when it holds a comma, a quote, CR or LF, with quotes doubled, so any
//! text reads back as written. Nothing more is needed here, so no CSV crate is linked.
//!
//! The file is meant to be opened in a spreadsheet, which runs a cell beginning with `=`, `+`,
//! `-`, `@`, TAB or CR as a formula (CSV injection, OWASP), and the symbol and other text
//! fields come from the broker as it sent them. Such a text field is written with a single
//! quote `'` in front, which spreadsheets show as text and do not run. The numeric columns
//! (id, quantity, price, amount, value_eur, fee) are this program's own decimal text and are
//! written as they are, so a negative amount still reads as a number.

use std::borrow::Cow;

use super::Entry;

/// The columns, in order; the JSON entries have the same names.
pub const COLUMNS: [&str; 12] = [
    "kind",
    "id",
    "date",
    "symbol",
    "side",
    "quantity",
    "price",
    "amount",
    "currency",
    "value_eur",
    "fee",
    "source",
];

/// The header line.
pub fn header() -> String {
    let mut line = String::new();
    write_line(&mut line, COLUMNS.iter().copied().map(Some));
    line
}

/// Appends `entry` as one line.
pub fn write_entry(out: &mut String, entry: &Entry) {
    let side = entry.side.map(|s| match s {
        crate::domain::Side::Buy => "BUY",
        crate::domain::Side::Sell => "SELL",
    });
    let id = entry.id.to_string();
    let kind = inert(entry.kind);
    let date = inert(&entry.date);
    let symbol = entry.symbol.as_deref().map(inert);
    let side = side.map(inert);
    let currency = inert(&entry.currency);
    let source = entry.source.map(inert);
    write_line(
        out,
        [
            Some(kind.as_ref()),
            Some(id.as_str()),
            Some(date.as_ref()),
            symbol.as_deref(),
            side.as_deref(),
            entry.quantity.as_deref(),
            entry.price.as_deref(),
            Some(entry.amount.as_str()),
            Some(currency.as_ref()),
            entry.value_eur.as_deref(),
            entry.fee.as_deref(),
            source.as_deref(),
        ],
    );
}

/// A text field that a spreadsheet would run as a formula, behind a single quote; any other
/// as it is.
pub fn inert(field: &str) -> Cow<'_, str> {
    if field.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{field}"))
    } else {
        Cow::Borrowed(field)
    }
}

/// Appends one line of `fields`; a missing field is empty.
pub fn write_line<'a>(out: &mut String, fields: impl IntoIterator<Item = Option<&'a str>>) {
    for (n, field) in fields.into_iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        write_field(out, field.unwrap_or(""));
    }
    out.push_str("\r\n");
}

fn write_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}
