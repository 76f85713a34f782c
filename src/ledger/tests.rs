use proptest::prelude::*;
use serde_json::json;

use super::csv::{COLUMNS, header, inert, write_entry, write_line};
use super::query::{DEFAULT_LIMIT, MAX_LIMIT, encode_cursor};
use super::*;
use crate::store::{EntryKind, LedgerFilter};

fn parse(raw: &str) -> LedgerQuery {
    LedgerQuery::parse(Some(raw)).unwrap_or_else(|e| panic!("{raw}: {e:?}"))
}

/// The query fields named in the errors of `raw`.
fn refused(raw: &str) -> Vec<String> {
    let errors = LedgerQuery::parse(Some(raw)).expect_err(raw);
    errors
        .iter()
        .map(|e| {
            assert_eq!(e.loc[0], json!("query"));
            e.loc[1].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn no_query_lists_everything_in_default_pages() {
    assert_eq!(LedgerQuery::parse(None).unwrap(), LedgerQuery::default());
    assert_eq!(parse(""), LedgerQuery::default());
    assert_eq!(LedgerQuery::default().page_size(100), DEFAULT_LIMIT);
}

#[test]
fn each_filter_is_parsed_into_its_field() {
    let query = parse("kind=trade&symbol=aapl.us&side=SELL&from=2026-01-05&to=2026-02-01&limit=7");
    assert_eq!(
        query.filter,
        LedgerFilter {
            kind: Some(EntryKind::Trade),
            symbol: Some("AAPL.US".into()),
            side: Some(crate::domain::Side::Sell),
            from: Some("2026-01-05".parse().unwrap()),
            to: Some("2026-02-01".parse().unwrap()),
        }
    );
    assert_eq!(query.limit, Some(7));
    assert_eq!(parse("kind=deposit").filter.kind, Some(EntryKind::Deposit));
    assert_eq!(
        parse("side=buy").filter.side,
        Some(crate::domain::Side::Buy)
    );
    // Percent-encoding and `+` as in any form.
    assert_eq!(
        parse("symbol=+brk%2Eb+").filter.symbol,
        Some("BRK.B".into())
    );
}

#[test]
fn empty_values_and_unknown_names_are_ignored() {
    assert_eq!(
        parse("kind=&symbol=&side=&from=&to=&limit=&before=&colour=red"),
        LedgerQuery::default()
    );
}

#[test]
fn a_page_holds_at_most_the_configured_size() {
    assert_eq!(parse("limit=500").page_size(100), 100);
    assert_eq!(parse("limit=20").page_size(100), 20);
    assert_eq!(parse(&format!("limit={MAX_LIMIT}")).limit, Some(MAX_LIMIT));
}

#[test]
fn bad_values_are_refused_by_name_and_all_at_once() {
    assert_eq!(refused("kind=trades"), ["kind"]);
    assert_eq!(refused("side=short"), ["side"]);
    assert_eq!(refused("symbol=A%20B"), ["symbol"]);
    assert_eq!(refused(&format!("symbol={}", "A".repeat(33))), ["symbol"]);
    assert_eq!(refused("from=2026-13-01"), ["from"]);
    assert_eq!(refused("to=5.1.2026"), ["to"]);
    assert_eq!(refused("from=2026-1-5"), ["from"]);
    assert_eq!(refused("from=2026-02-01&to=2026-01-31"), ["to"]);
    for limit in ["0", "501", "-1", "ten", "1e2"] {
        assert_eq!(refused(&format!("limit={limit}")), ["limit"], "{limit}");
    }
    for before in ["42", "x1@2026", "t@2026", "t0@2026", "t1@", "t-1@2026"] {
        assert_eq!(refused(&format!("before={before}")), ["before"], "{before}");
    }
    assert_eq!(refused("kind=trade&kind=deposit"), ["kind"]);
    assert_eq!(refused("symbol=%FF"), ["symbol"]);
    assert_eq!(refused("kind=x&side=y&limit=0"), ["kind", "side", "limit"]);
}

#[test]
fn a_refused_value_is_quoted_back_only_in_part() {
    let long = "x".repeat(10_000);
    let errors = LedgerQuery::parse(Some(&format!("kind={long}"))).unwrap_err();
    assert_eq!(errors[0].input.as_str().unwrap().len(), 64);
}

#[test]
fn a_cursor_reads_back_as_written() {
    let cursor = crate::store::LedgerCursor {
        at: "2026-01-05T10:00:00.000000".into(),
        kind: EntryKind::Deposit,
        id: 17,
    };
    let text = encode_cursor(&cursor);
    assert_eq!(text, "d17@2026-01-05T10:00:00.000000");
    let encoded = percent_encoding::utf8_percent_encode(&text, percent_encoding::NON_ALPHANUMERIC);
    assert_eq!(parse(&format!("before={encoded}")).before, Some(cursor));
}

fn read_csv(text: &str) -> Vec<Vec<String>> {
    ::csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[test]
fn fields_with_commas_quotes_or_line_breaks_are_quoted() {
    let mut out = String::new();
    write_line(
        &mut out,
        [
            Some("plain"),
            Some("a,b"),
            Some("say \"hi\""),
            Some("two\nlines"),
            Some("cr\r"),
            None,
        ],
    );
    assert_eq!(
        out,
        "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\r\",\r\n"
    );
}

#[test]
fn the_header_names_every_column_once() {
    assert_eq!(header(), COLUMNS.join(",") + "\r\n");
    assert_eq!(
        read_csv(&header()),
        vec![COLUMNS.map(String::from).to_vec()]
    );
}

fn entry(symbol: String, amount: String) -> Entry {
    Entry {
        kind: "trade",
        id: 1,
        date: "2026-01-05T10:00:00.000000".into(),
        symbol: Some(symbol),
        side: Some(crate::domain::Side::Buy),
        quantity: Some("2".into()),
        price: Some("10.5".into()),
        amount,
        currency: "EUR".into(),
        value_eur: None,
        fee: Some("1".into()),
        source: Some("research"),
    }
}

#[test]
fn a_text_field_a_spreadsheet_would_run_is_written_behind_a_quote() {
    let mut text = header();
    let mut formula = entry("=HYPERLINK(\"x\")".into(), "-21.00".into());
    formula.currency = "+EUR".into();
    formula.date = "-2026-01-05".into();
    write_entry(&mut text, &formula);
    write_entry(&mut text, &entry("@SUM(1)".into(), "21.00".into()));
    let rows = read_csv(&text);
    assert_eq!(rows[1][3], "'=HYPERLINK(\"x\")");
    assert_eq!(rows[1][8], "'+EUR");
    assert_eq!(rows[1][2], "'-2026-01-05");
    assert_eq!(rows[2][3], "'@SUM(1)");
    // Numeric columns stay numbers, a negative amount included.
    assert_eq!(rows[1][7], "-21.00");
    assert_eq!(rows[1][1], "1");
    assert_eq!(
        text.lines().nth(1).unwrap(),
        "trade,1,'-2026-01-05,\"'=HYPERLINK(\"\"x\"\")\",BUY,2,10.5,-21.00,'+EUR,,1,research"
    );
}

#[test]
fn only_a_leading_formula_character_makes_text_inert() {
    for field in ["=1+2", "+1", "-1", "@A1", "\tx", "\rx"] {
        assert_eq!(inert(field), format!("'{field}"), "{field:?}");
    }
    for field in ["", "AAPL.US", "A=1", " =1", "'=1", "BRK-B.US", "1-2"] {
        assert_eq!(inert(field), field, "{field:?}");
    }
}

/// A symbol as the broker might send it: anything, or text made to start a formula.
fn any_symbol() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[=+@\t\r-][^\n]{0,12}"]
}

proptest! {
    /// Whatever a symbol or an amount holds (commas, quotes, line breaks, any Unicode), a CSV
    /// reader gets it back from the export, in its column, with the row count unchanged: the
    /// symbol behind a quote when it starts like a formula, the amount (a number) as written.
    #[test]
    fn any_symbol_and_amount_text_reads_back_from_the_csv(
        symbol in any_symbol(),
        amount in prop_oneof![any::<String>(), "[-0-9.,\" \r\n]{0,12}"],
    ) {
        let mut text = header();
        write_entry(&mut text, &entry(symbol.clone(), amount.clone()));
        write_entry(&mut text, &entry("AAPL.US".into(), "21.00".into()));
        let rows = read_csv(&text);
        prop_assert_eq!(rows.len(), 3);
        let formula = symbol.starts_with(['=', '+', '-', '@', '\t', '\r']);
        let expected = if formula { format!("'{symbol}") } else { symbol.clone() };
        prop_assert_eq!(&rows[1][3], &expected);
        prop_assert!(!rows[1][3].starts_with(['=', '+', '-', '@', '\t', '\r']));
        prop_assert_eq!(&rows[1][7], &amount);
        prop_assert_eq!(&rows[1][2], "2026-01-05T10:00:00.000000");
        prop_assert_eq!(&rows[2][3], "AAPL.US");
        prop_assert_eq!(rows[1].len(), COLUMNS.len());
    }
}

fn stored_trade(currency: Currency, fx_per_eur: Option<&str>, fee: Option<&str>) -> LedgerRow {
    LedgerRow::Trade(Box::new(crate::store::Trade {
        id: 3,
        trade: crate::store::NewTrade {
            symbol: "JPM.US".into(),
            isin: None,
            side: crate::domain::Side::Buy,
            quantity: "8".parse().unwrap(),
            price: "248.9".parse().unwrap(),
            currency,
            fx_per_eur: fx_per_eur.map(|r| r.parse().unwrap()),
            executed_at: "2026-01-05T10:00:00.000000".into(),
            source: TradeSource::Paper,
            order_id: None,
            idempotency_key: None,
        },
        recorded_at: "2026-01-05T10:00:00.000000".into(),
        fee: fee.map(|f| f.parse().unwrap()),
    }))
}

#[test]
fn a_trade_is_valued_in_eur_at_its_recorded_rate_or_not_at_all() {
    let entry = Entry::from_row(&stored_trade(Currency::USD, Some("1.08"), Some("6.1"))).unwrap();
    assert_eq!(entry.amount, "1991.20");
    assert_eq!(entry.currency, "USD");
    // 1991.20 / 1.08 = 1843.70...
    assert_eq!(entry.value_eur.as_deref(), Some("1843.70"));
    assert_eq!(entry.fee.as_deref(), Some("6.10"));
    assert_eq!(entry.source, Some("research"));
    let unrated = Entry::from_row(&stored_trade(Currency::USD, None, None)).unwrap();
    assert_eq!(unrated.value_eur, None);
    assert_eq!(unrated.fee, None);
    let in_eur = Entry::from_row(&stored_trade(Currency::EUR, None, None)).unwrap();
    assert_eq!(in_eur.value_eur.as_deref(), Some("1991.20"));
}

#[test]
fn a_deposit_has_an_amount_and_no_trade_fields() {
    let entry = Entry::from_row(&LedgerRow::Deposit(crate::store::Deposit {
        id: 1,
        amount: Money::from_minor(50_000, Currency::EUR),
        deposited_at: "2026-01-05T10:00:00.000000".into(),
    }))
    .unwrap();
    assert_eq!(entry.kind, "deposit");
    assert_eq!(entry.amount, "500.00");
    assert_eq!(entry.value_eur.as_deref(), Some("500.00"));
    assert!(entry.symbol.is_none() && entry.side.is_none() && entry.quantity.is_none());
    assert!(entry.price.is_none() && entry.fee.is_none() && entry.source.is_none());
}
