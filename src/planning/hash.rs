//! The canonical portfolio hash (spec §7.4) and the sequence hash.
//!
//! The canonical text is the reference's, byte for byte: positions after pending orders, every
//! security of the universe with its flags, targets, country and industry, cash per currency.
//! The digest is not: the reference keeps the first 8 hex digits of an MD5, which collides
//! after a few tens of thousands of portfolios and is no longer a hash anyone should rely on;
//! here it is the full SHA-256 in lowercase hex (64 digits). Hashes therefore never equal the
//! reference's, while two portfolios the reference tells apart are told apart here too.
//!
//! The reference also has two recipes (with and without cash and pending orders, spec §10.1
//! item 13); there is one here, the complete one, used by every caller.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::domain::py_json::py_float_repr;
use crate::domain::{Side, normalize_symbol, round_py};

/// One security of the universe as the hash sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct UniverseEntry {
    pub symbol: String,
    pub allow_buy: bool,
    pub allow_sell: bool,
    /// Minimum portfolio weight, when one is set.
    pub min_target: Option<f64>,
    /// Maximum portfolio weight, when one is set.
    pub max_target: Option<f64>,
    pub country: Option<String>,
    pub industry: Option<String>,
}

/// An order placed with the broker and not yet filled.
#[derive(Clone, Debug, PartialEq)]
pub struct HashOrder {
    pub symbol: String,
    pub side: Side,
    pub quantity: f64,
    /// Price per share in `currency`.
    pub price: f64,
    pub currency: String,
}

/// Everything the portfolio hash covers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HashInput {
    /// Held quantity by symbol, before pending orders.
    pub positions: Vec<(String, f64)>,
    /// The universe.
    pub securities: Vec<UniverseEntry>,
    /// Cash by currency code, before pending orders.
    pub cash: Vec<(String, f64)>,
    pub pending_orders: Vec<HashOrder>,
}

/// The portfolio hash: SHA-256 of [`canonical_text`], 64 lowercase hex digits.
pub fn portfolio_hash(input: &HashInput) -> String {
    sha256_hex(canonical_text(input).as_bytes())
}

/// The text the portfolio hash digests; identical to the reference's for the same inputs, so
/// its MD5 prefix is the reference's hash.
///
/// Parts, sorted by key and joined with `,`:
/// * a security, held or in the universe:
///   `SYM:qty:allow_buy:allow_sell:min_target:max_target:country:industry` with booleans as
///   `True`/`False`, a missing target, country or industry as an empty field, targets as Python
///   prints floats; a held symbol outside the universe gets `True:False::::` (the reference's
///   defaults, `allow_sell` false);
/// * cash of a currency whose amount is above zero: `CASH.<CCY>:<amount rounded to 2>`.
///
/// Symbols and currencies are upper-cased. A symbol listed twice among the positions (or a
/// currency among the cash) counts with the sum of its amounts, so the order of the lists never
/// matters; in the universe the last entry of a symbol wins.
pub fn canonical_text(input: &HashInput) -> String {
    let mut held: BTreeMap<String, f64> = BTreeMap::new();
    for (symbol, quantity) in &input.positions {
        *held.entry(normalize_symbol(symbol)).or_default() += quantity;
    }
    let mut cash: BTreeMap<String, f64> = BTreeMap::new();
    for (currency, amount) in &input.cash {
        *cash.entry(currency.trim().to_uppercase()).or_default() += amount;
    }
    if !input.pending_orders.is_empty() {
        apply_pending_orders(&mut held, &mut cash, &input.pending_orders);
    }

    let universe: BTreeMap<String, &UniverseEntry> = input
        .securities
        .iter()
        .map(|s| (normalize_symbol(&s.symbol), s))
        .collect();
    let mut parts: BTreeMap<String, String> = BTreeMap::new();
    for symbol in held.keys().chain(universe.keys()) {
        if parts.contains_key(symbol) {
            continue;
        }
        // Python's int() truncates towards zero.
        let quantity = held.get(symbol).copied().unwrap_or(0.0).trunc() as i64;
        let part = match universe.get(symbol) {
            Some(s) => format!(
                "{symbol}:{quantity}:{}:{}:{}:{}:{}:{}",
                py_bool(s.allow_buy),
                py_bool(s.allow_sell),
                s.min_target.map(py_float_repr).unwrap_or_default(),
                s.max_target.map(py_float_repr).unwrap_or_default(),
                s.country.as_deref().unwrap_or(""),
                s.industry.as_deref().unwrap_or(""),
            ),
            None => format!("{symbol}:{quantity}:True:False::::"),
        };
        parts.insert(symbol.clone(), part);
    }
    for (currency, amount) in cash {
        if amount > 0.0 {
            let key = format!("CASH.{currency}");
            let part = format!("{key}:{}", py_float_repr(round_py(amount, 2)));
            parts.insert(key, part);
        }
    }
    // BTreeMap orders keys by bytes, as Python's sorted() orders str by code point.
    let mut text = String::new();
    for (i, part) in parts.values().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(part);
    }
    text
}

/// Applies orders as the reference does: a buy adds its shares and spends `quantity · price`
/// of its currency (cash may go negative); a sell removes shares down to zero and adds no
/// cash, since the money arrives only when it fills. Orders without a symbol, quantity or price
/// are skipped. Afterwards positions of zero or fewer shares are gone.
fn apply_pending_orders(
    held: &mut BTreeMap<String, f64>,
    cash: &mut BTreeMap<String, f64>,
    orders: &[HashOrder],
) {
    for order in orders {
        let symbol = normalize_symbol(&order.symbol);
        if symbol.is_empty() || order.quantity.is_nan() || order.quantity <= 0.0 {
            continue;
        }
        if order.price.is_nan() || order.price <= 0.0 {
            continue;
        }
        let position = held.entry(symbol).or_default();
        match order.side {
            Side::Buy => {
                *position += order.quantity;
                *cash
                    .entry(order.currency.trim().to_uppercase())
                    .or_default() -= order.quantity * order.price;
            }
            Side::Sell => *position = (*position - order.quantity).max(0.0),
        }
    }
    held.retain(|_, quantity| *quantity > 0.0);
}

fn py_bool(value: bool) -> &'static str {
    if value { "True" } else { "False" }
}

/// The sequence hash of spec §7.4: the digest of the JSON text of the `[symbol, side,
/// quantity]` triples as Python's `json.dumps` writes them (`[["CCC", "BUY", 2]]`). The
/// reference uses MD5; this is SHA-256 over the same text, 64 lowercase hex digits.
#[cfg(test)]
pub fn sequence_hash(sequence: &[crate::domain::ActionCandidate]) -> String {
    use crate::domain::py_json::{PythonFormatter, write_python_json};
    let triples: Vec<(&str, Side, i64)> = sequence
        .iter()
        .map(|a| (a.symbol.as_str(), a.side, a.quantity))
        .collect();
    let mut text = Vec::with_capacity(32 * triples.len() + 2);
    write_python_json(&mut text, &triples, PythonFormatter::DUMPS)
        .expect("strings and integers always serialise");
    sha256_hex(&text)
}

fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ActionCandidate;

    fn security(symbol: &str) -> UniverseEntry {
        UniverseEntry {
            symbol: symbol.into(),
            allow_buy: true,
            allow_sell: true,
            min_target: None,
            max_target: None,
            country: None,
            industry: None,
        }
    }

    fn order(symbol: &str, side: Side, quantity: f64, price: f64) -> HashOrder {
        HashOrder {
            symbol: symbol.into(),
            side,
            quantity,
            price,
            currency: "EUR".into(),
        }
    }

    /// Spec §7.4's example; the MD5 of this text starts with `cf2bd727`, the reference's hash.
    #[test]
    fn the_spec_example_has_the_reference_text() {
        let input = HashInput {
            positions: vec![("AAA".into(), 60.0), ("BBB".into(), 30.0)],
            cash: vec![("EUR".into(), 1000.0)],
            ..HashInput::default()
        };
        assert_eq!(
            canonical_text(&input),
            "AAA:60:True:False::::,BBB:30:True:False::::,CASH.EUR:1000.0"
        );
        let hash = portfolio_hash(&input);
        assert_eq!(hash.len(), 64);
        assert!(
            hash.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hash, sha256_hex(canonical_text(&input).as_bytes()));
    }

    #[test]
    fn universe_fields_and_cash_are_written_as_python_prints_them() {
        let mut aaa = security("aaa");
        aaa.min_target = Some(0.05);
        aaa.max_target = Some(0.2);
        aaa.country = Some("US".into());
        aaa.industry = Some("Tech, Software".into());
        let mut ccc = security("CCC");
        ccc.allow_buy = false;
        let input = HashInput {
            positions: vec![("aaa".into(), 10.9)],
            securities: vec![ccc, aaa],
            cash: vec![
                ("usd".into(), 200.456),
                ("EUR".into(), 0.0),
                ("GBP".into(), -5.0),
                ("CHF".into(), 1e16),
            ],
            pending_orders: vec![],
        };
        assert_eq!(
            canonical_text(&input),
            "AAA:10:True:True:0.05:0.2:US:Tech, Software,CASH.CHF:1e+16,CASH.USD:200.46,\
             CCC:0:False:True::::"
        );
    }

    #[test]
    fn the_order_of_the_lists_does_not_matter() {
        let a = HashInput {
            positions: vec![("AAA".into(), 1.0), ("BBB".into(), 2.0)],
            securities: vec![security("AAA"), security("ZZZ")],
            cash: vec![("EUR".into(), 10.0), ("USD".into(), 5.0)],
            pending_orders: vec![
                order("AAA", Side::Buy, 1.0, 2.0),
                order("BBB", Side::Sell, 1.0, 2.0),
            ],
        };
        let mut b = a.clone();
        b.positions.reverse();
        b.securities.reverse();
        b.cash.reverse();
        b.pending_orders.reverse();
        assert_eq!(canonical_text(&a), canonical_text(&b));
        assert_eq!(portfolio_hash(&a), portfolio_hash(&b));
    }

    #[test]
    fn pending_orders_are_applied_before_hashing() {
        let input = HashInput {
            positions: vec![("AAA".into(), 5.0), ("BBB".into(), 3.0)],
            securities: vec![],
            cash: vec![("EUR".into(), 100.0)],
            pending_orders: vec![
                order("AAA", Side::Buy, 2.0, 10.0),
                order("BBB", Side::Sell, 5.0, 1.0),
                order("CCC", Side::Buy, 1.5, 4.0),
                // Skipped: no symbol, no quantity, no price.
                order("", Side::Buy, 1.0, 1.0),
                order("AAA", Side::Buy, 0.0, 1.0),
                order("AAA", Side::Buy, 1.0, 0.0),
            ],
        };
        // AAA 5 + 2; BBB sold out and dropped; CCC 1.5 truncated to 1; EUR 100 - 20 - 6.
        assert_eq!(
            canonical_text(&input),
            "AAA:7:True:False::::,CASH.EUR:74.0,CCC:1:True:False::::"
        );
        let without = HashInput {
            pending_orders: vec![],
            ..input.clone()
        };
        assert_ne!(portfolio_hash(&input), portfolio_hash(&without));
    }

    #[test]
    fn a_buy_may_take_cash_below_zero_which_drops_the_currency() {
        let input = HashInput {
            cash: vec![("EUR".into(), 10.0)],
            pending_orders: vec![order("AAA", Side::Buy, 1.0, 50.0)],
            ..HashInput::default()
        };
        assert_eq!(canonical_text(&input), "AAA:1:True:False::::");
    }

    #[test]
    fn zero_positions_stay_without_pending_orders() {
        let input = HashInput {
            positions: vec![("AAA".into(), 0.0)],
            ..HashInput::default()
        };
        assert_eq!(canonical_text(&input), "AAA:0:True:False::::");
    }

    #[test]
    fn the_hash_is_deterministic_and_sensitive() {
        let input = HashInput {
            positions: vec![("AAA".into(), 1.0)],
            securities: vec![security("AAA")],
            cash: vec![("EUR".into(), 1.0)],
            pending_orders: vec![],
        };
        assert_eq!(portfolio_hash(&input), portfolio_hash(&input.clone()));
        let mut flag = input.clone();
        flag.securities[0].allow_sell = false;
        let mut cash = input.clone();
        cash.cash[0].1 = 1.01;
        let mut held = input.clone();
        held.positions[0].1 = 2.0;
        for other in [flag, cash, held] {
            assert_ne!(portfolio_hash(&input), portfolio_hash(&other));
        }
        // Below a cent, cash is the same portfolio.
        let mut dust = input.clone();
        dust.cash[0].1 = 1.001;
        assert_eq!(portfolio_hash(&input), portfolio_hash(&dust));
    }

    #[test]
    fn the_sequence_hash_digests_the_reference_text() {
        let action = ActionCandidate {
            side: Side::Buy,
            symbol: "CCC".into(),
            name: "C".into(),
            quantity: 2,
            price: 200.0,
            value_eur: 400.0,
            currency: "EUR".into(),
            priority: 1.0,
            reason: String::new(),
            tags: vec![],
        };
        // The reference's MD5 of this text is 388a52372c97bde9ac3694fa0ce0b8f6.
        assert_eq!(
            sequence_hash(std::slice::from_ref(&action)),
            sha256_hex(br#"[["CCC", "BUY", 2]]"#)
        );
        let mut sell = action.clone();
        sell.side = Side::Sell;
        assert_ne!(
            sequence_hash(&[action.clone(), sell.clone()]),
            sequence_hash(&[sell, action])
        );
    }
}
