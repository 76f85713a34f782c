//! The ledger's query string (`kind`, `symbol`, `side`, `from`, `to`, `limit`, `before`),
//! checked before anything is read. An empty value counts as not given, so a plain HTML form
//! with empty fields asks for everything; unknown names are ignored, as elsewhere in the API.

use chrono::NaiveDate;
use serde_json::{Value, json};

use crate::domain::Side;
use crate::domain::validation::FieldError;
use crate::store::{EntryKind, LedgerCursor, LedgerFilter};

/// Entries per page when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 50;
/// The largest `limit` accepted; a page also holds at most `server.max_page_size` entries.
pub const MAX_LIMIT: usize = 500;
/// Longest symbol accepted in a filter.
const MAX_SYMBOL_CHARS: usize = 32;
/// Longest cursor accepted (a kind, an id and an ISO time).
const MAX_CURSOR_CHARS: usize = 80;
/// At most this much of a refused value is quoted back.
const SHOWN_CHARS: usize = 64;

/// A checked ledger query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerQuery {
    pub filter: LedgerFilter,
    /// Entries wanted: a page's size for the list, the most rows for the export.
    pub limit: Option<usize>,
    /// List the entries after this one (a page's `next_before`).
    pub before: Option<LedgerCursor>,
}

impl LedgerQuery {
    /// Parses a raw query string (without the `?`); every problem is reported at once.
    pub fn parse(raw: Option<&str>) -> Result<LedgerQuery, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        let mut query = LedgerQuery::default();
        for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let Some(name) = KNOWN.iter().copied().find(|k| *k == name) else {
                continue;
            };
            if seen.contains(&name) {
                errors.push(refused(name, Value::Null, "must be given at most once"));
                continue;
            }
            seen.push(name);
            let Some(value) = decode(value) else {
                errors.push(refused(name, Value::Null, "must be percent-encoded UTF-8"));
                continue;
            };
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            if let Err(message) = query.set(name, value) {
                errors.push(refused(name, shown(value), message));
            }
        }
        if let (Some(from), Some(to)) = (query.filter.from, query.filter.to)
            && from > to
        {
            errors.push(refused(
                "to",
                json!(to.to_string()),
                "must not be before `from`",
            ));
        }
        if errors.is_empty() {
            Ok(query)
        } else {
            Err(errors)
        }
    }

    /// The entries of one page: `limit` (or the default), at most `max_page_size`.
    pub fn page_size(&self, max_page_size: usize) -> usize {
        self.limit
            .unwrap_or(DEFAULT_LIMIT)
            .min(max_page_size)
            .max(1)
    }

    /// Sets the field `name` from `value`, or says what `value` must be.
    fn set(&mut self, name: &'static str, value: &str) -> Result<(), &'static str> {
        match name {
            "kind" => {
                self.filter.kind = Some(
                    value
                        .parse::<EntryKind>()
                        .map_err(|_| "must be `trade` or `deposit`")?,
                );
            }
            "symbol" => {
                let ok = value.chars().count() <= MAX_SYMBOL_CHARS
                    && value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'));
                if !ok {
                    return Err(
                        "must be a symbol: at most 32 letters, digits, `.`, `-`, `_` or `:`",
                    );
                }
                self.filter.symbol = Some(crate::domain::normalize_symbol(value));
            }
            "side" => {
                self.filter.side = Some(match value.to_ascii_lowercase().as_str() {
                    "buy" => Side::Buy,
                    "sell" => Side::Sell,
                    _ => return Err("must be `buy` or `sell`"),
                });
            }
            "from" | "to" => {
                let day = NaiveDate::parse_from_str(value, "%Y-%m-%d")
                    .ok()
                    .filter(|_| value.len() == 10)
                    .ok_or("must be a day as YYYY-MM-DD")?;
                if name == "from" {
                    self.filter.from = Some(day);
                } else {
                    self.filter.to = Some(day);
                }
            }
            "limit" => {
                let n = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or("must be a whole number from 1 to 500")?;
                self.limit = Some(n);
            }
            _ => {
                self.before =
                    Some(decode_cursor(value).ok_or("must be a page's `next_before`, as given")?);
            }
        }
        Ok(())
    }
}

const KNOWN: [&str; 7] = ["kind", "symbol", "side", "from", "to", "limit", "before"];

/// A page's end as text: the kind's letter and the id, then `@` and the time, e.g.
/// `t42@2026-01-05T10:00:00.000000`.
pub fn encode_cursor(cursor: &LedgerCursor) -> String {
    let letter = match cursor.kind {
        EntryKind::Trade => 't',
        EntryKind::Deposit => 'd',
    };
    format!("{letter}{}@{}", cursor.id, cursor.at)
}

fn decode_cursor(text: &str) -> Option<LedgerCursor> {
    if text.chars().count() > MAX_CURSOR_CHARS {
        return None;
    }
    let (key, at) = text.split_once('@')?;
    let kind = match key.chars().next()? {
        't' => EntryKind::Trade,
        'd' => EntryKind::Deposit,
        _ => return None,
    };
    let id: i64 = key[1..].parse().ok().filter(|id| *id > 0)?;
    if at.is_empty() || at.chars().any(char::is_control) {
        return None;
    }
    Some(LedgerCursor {
        at: at.to_string(),
        kind,
        id,
    })
}

/// `+` as a space, then percent-decoding; `None` when the bytes are not UTF-8.
fn decode(value: &str) -> Option<String> {
    let spaced = value.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

fn shown(value: &str) -> Value {
    json!(value.chars().take(SHOWN_CHARS).collect::<String>())
}

fn refused(name: &str, input: Value, message: &str) -> FieldError {
    FieldError::value_error(vec![json!("query"), json!(name)], message, input)
}
