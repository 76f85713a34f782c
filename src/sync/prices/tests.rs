use chrono::Duration as Days;
use proptest::prelude::*;

use super::*;
use crate::domain::{Currency, Decimal};
use crate::store::SecurityRecord;

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::TempDir::new().unwrap();
    let store = Store::open(&dir.path().join("planner.db")).unwrap();
    (dir, store)
}

fn quote(symbol: &str, price: &str) -> QuoteRecord {
    QuoteRecord {
        symbol: symbol.into(),
        price: price.parse::<Decimal>().unwrap(),
        currency: Currency::new("USD").unwrap(),
        as_of: now_iso(),
        source: "tradernet".into(),
    }
}

#[test]
fn each_synced_quote_is_its_days_close_and_a_later_quote_replaces_it() {
    let (_dir, store) = store();
    store
        .insert_missing_securities(&[SecurityRecord::new(
            "AAPL.US",
            "Apple",
            Currency::new("USD").unwrap(),
        )])
        .unwrap();
    record_quote_closes(&store, &[quote("AAPL.US", "190.5")], day("2026-12-03")).unwrap();
    record_quote_closes(&store, &[quote("AAPL.US", "191")], day("2026-12-04")).unwrap();
    record_quote_closes(&store, &[quote("AAPL.US", "192.25")], day("2026-12-04")).unwrap();
    assert_eq!(
        store.daily_closes("AAPL.US").unwrap(),
        [(day("2026-12-03"), 190.5), (day("2026-12-04"), 192.25)],
        "one row per day, the last quote of the day"
    );
}

#[test]
fn a_backfill_adds_missing_days_and_keeps_stored_ones() {
    let (_dir, store) = store();
    let close = |d: &str, c: f64| DailyClose {
        symbol: "SAP.EU".into(),
        day: day(d),
        close: c,
    };
    store
        .put_daily_closes(&[close("2026-12-04", 100.0)], true)
        .unwrap();
    let added = store
        .put_daily_closes(
            &[close("2026-12-03", 99.0), close("2026-12-04", 1.0)],
            false,
        )
        .unwrap();
    assert_eq!(added, 1);
    assert_eq!(
        store.daily_closes("SAP.EU").unwrap(),
        [(day("2026-12-03"), 99.0), (day("2026-12-04"), 100.0)]
    );
    assert!(
        store
            .put_daily_closes(&[close("2026-12-05", f64::NAN)], true)
            .is_err(),
        "a close that is not a positive number is refused"
    );
}

#[test]
fn a_daily_price_csv_reads_date_and_close_and_skips_holidays() {
    // The layout of the free daily downloads (stooq, Yahoo).
    let text = "Date,Open,High,Low,Close,Adj Close,Volume\n\
                2026-12-01,10,11,9,10.5,10.1,1000\n\
                2026-12-02,null,null,null,null,null,null\n\
                2026-12-03,10.5,12,10,11.75,11.3,1200\n";
    let closes = parse_price_csv(text, Some("abc.us")).unwrap();
    assert_eq!(closes.len(), 2);
    assert_eq!(closes[0].symbol, "ABC.US");
    assert_eq!((closes[1].day, closes[1].close), (day("2026-12-03"), 11.75));

    let many = "symbol,date,close\nAAPL.US,2026-12-01,190\nSAP.EU,2026-12-01,150\n";
    let closes = parse_price_csv(many, None).unwrap();
    assert_eq!(closes[1].symbol, "SAP.EU");

    for bad in [
        "",
        "No data",
        "<html>rate limited</html>",
        "Date,Close\n01/12/2026,10\n",
        "Date,Close\n2026-12-01,null\n",
    ] {
        assert!(parse_price_csv(bad, Some("X")).is_err(), "{bad:?}");
    }
    assert!(
        parse_price_csv("date,close\n2026-12-01,1\n", None).is_err(),
        "no symbol anywhere"
    );
}

#[test]
fn the_url_template_takes_the_symbol_in_four_spellings() {
    assert_eq!(
        price_url("https://x.test/q/d/l/?s={symbol_lower}&i=d", "AAPL.US"),
        "https://x.test/q/d/l/?s=aapl.us&i=d"
    );
    assert_eq!(
        price_url(
            "https://x.test/{ticker}/{ticker_lower}/{symbol}",
            "BRK-B.US"
        ),
        "https://x.test/BRK-B/brk-b/BRK-B.US"
    );
    assert_eq!(
        price_url("https://x.test/{symbol}", "A&B/C.US"),
        "https://x.test/A%26B%2FC.US",
        "a symbol cannot change the URL's structure"
    );
}

proptest! {
    #[test]
    fn written_closes_read_back_oldest_first(
        closes in proptest::collection::btree_map(0i64..3000, 0.01f64..1e6, 1..50),
    ) {
        let (_dir, store) = store();
        let start = day("2018-01-01");
        let rows: Vec<DailyClose> = closes
            .iter()
            .rev()
            .map(|(d, c)| DailyClose { symbol: "x.us".into(), day: start + Days::days(*d), close: *c })
            .collect();
        store.put_daily_closes(&rows, false).unwrap();
        let read = store.daily_closes("X.US").unwrap();
        let expected: Vec<(NaiveDate, f64)> =
            closes.iter().map(|(d, c)| (start + Days::days(*d), *c)).collect();
        prop_assert_eq!(read, expected);
    }
}
