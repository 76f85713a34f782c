//! The ledger as CSV (RFC 4180): a header line, then one line per entry, lines ended by CRLF.
//! A field is quoted when it holds a comma, a quote, CR or LF, with quotes doubled, so any
//! text reads back as written. Nothing more is needed here, so no CSV crate is linked.

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
    write_line(
        out,
        [
            Some(entry.kind),
            Some(id.as_str()),
            Some(entry.date.as_str()),
            entry.symbol.as_deref(),
            side,
            entry.quantity.as_deref(),
            entry.price.as_deref(),
            Some(entry.amount.as_str()),
            Some(entry.currency.as_str()),
            entry.value_eur.as_deref(),
            entry.fee.as_deref(),
            entry.source,
        ],
    );
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
