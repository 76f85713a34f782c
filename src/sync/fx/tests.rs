use proptest::prelude::*;

use super::*;

const RECORDED: &str = include_str!("../../../tests/fixtures/ecb/eurofxref-daily.xml");

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn rate_of(rates: &DayRates, code: &str) -> Decimal {
    let currency = Currency::new(code).unwrap();
    rates
        .rates
        .iter()
        .find(|r| r.currency() == currency)
        .unwrap()
        .per_eur()
}

/// A feed in the ECB's layout with the given date and rates.
fn feed(date: &str, rates: &[(&str, &str)]) -> String {
    let cubes: String = rates
        .iter()
        .map(|(c, r)| format!("\t\t\t<Cube currency='{c}' rate='{r}'/>\n"))
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<gesmes:Envelope \
         xmlns:gesmes=\"http://www.gesmes.org/xml/2002-08-01\" \
         xmlns=\"http://www.ecb.int/vocabulary/2002-08-01/eurofxref\">\n\t<Cube>\n\t\t<Cube \
         time='{date}'>\n{cubes}\t\t</Cube>\n\t</Cube>\n</gesmes:Envelope>\n"
    )
}

#[test]
fn the_recorded_daily_file_gives_every_rate_and_its_date() {
    let rates = parse_ecb_daily(RECORDED).unwrap();
    assert_eq!(rates.date, day("2026-10-30"));
    assert_eq!(rates.rates.len(), 10);
    assert_eq!(rate_of(&rates, "USD"), "1.1172".parse().unwrap());
    assert_eq!(rate_of(&rates, "GBP"), "0.8338".parse().unwrap());
    assert_eq!(rate_of(&rates, "HKD"), "8.7652".parse().unwrap());
}

#[test]
fn double_quoted_attributes_parse_like_single_quoted_ones() {
    let text = feed("2026-12-04", &[("USD", "1.0856")]).replace('\'', "\"");
    let rates = parse_ecb_daily(&text).unwrap();
    assert_eq!(rate_of(&rates, "USD"), "1.0856".parse().unwrap());
}

#[test]
fn a_malformed_feed_is_refused_whole() {
    let good = feed("2026-12-04", &[("USD", "1.0856"), ("GBP", "0.85")]);
    let cases = [
        ("not xml", "<html>Service unavailable</html>".to_string()),
        ("no date", good.replace(" time='2026-12-04'", "")),
        ("bad date", good.replace("2026-12-04", "04/12/2026")),
        ("zero rate", good.replace("'0.85'", "'0'")),
        ("negative rate", good.replace("'0.85'", "'-0.85'")),
        ("text rate", good.replace("'0.85'", "'n/a'")),
        ("bad currency", good.replace("'GBP'", "'GB'")),
        ("twice", good.replace("'GBP'", "'USD'")),
        ("unquoted", good.replace("'0.85'", "0.85")),
        ("half a rate", good.replace(" rate='0.85'", "")),
        ("no rates", feed("2026-12-04", &[])),
        (
            "two days",
            good.replace(
                "<Cube currency='GBP'",
                "<Cube time='2026-12-03'/><Cube currency='GBP'",
            ),
        ),
        (
            "EUR",
            good.replace("'GBP'", "'EUR'").replace("'0.85'", "'1'"),
        ),
        ("cut short", good[..good.len() - 30].to_string()),
    ];
    for (what, text) in cases {
        assert!(parse_ecb_daily(&text).is_err(), "{what} was accepted");
    }
}

#[test]
fn a_rate_dated_more_than_the_stale_days_ago_is_stale() {
    let rate = FxRate::new(Currency::new("USD").unwrap(), "1.1".parse().unwrap()).unwrap();
    let dated = |date: &str| crate::store::DatedRate {
        rate,
        rate_date: Some(day(date)),
        dated_by_source: true,
        updated_at: String::new(),
    };
    let today = day("2026-12-05");
    assert!(
        !dated("2026-12-01").is_stale(today, 4),
        "four days is not stale"
    );
    assert!(dated("2026-11-30").is_stale(today, 4), "five days is");
    let undated = crate::store::DatedRate {
        rate_date: None,
        ..dated("2026-12-05")
    };
    assert!(undated.is_stale(today, 4), "an unknown age is stale");
}

#[test]
fn stored_rates_keep_their_date_and_a_refused_feed_keeps_them() {
    let dir = tempfile::TempDir::new().unwrap();
    let store = Store::open(&dir.path().join("planner.db")).unwrap();
    let rates = parse_ecb_daily(RECORDED).unwrap();
    assert_eq!(store_rates(&store, &rates, "import").unwrap(), 10);
    let stored = store.fx_rates_dated().unwrap();
    assert_eq!(stored.len(), 10);
    assert!(
        stored
            .iter()
            .all(|r| r.rate_date == Some(day("2026-10-30")) && r.dated_by_source)
    );
    let usd = store
        .fx_rate(Currency::new("USD").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(usd.per_eur(), "1.1172".parse().unwrap());
    // A rate set by hand (or an import of autoTrader's rates) has no published date.
    store
        .set_fx_rate(FxRate::new(Currency::new("USD").unwrap(), "1.2".parse().unwrap()).unwrap())
        .unwrap();
    let usd = store
        .fx_rates_dated()
        .unwrap()
        .into_iter()
        .find(|r| r.rate.currency() == Currency::new("USD").unwrap())
        .unwrap();
    assert!(!usd.dated_by_source);
}

proptest! {
    #[test]
    fn any_day_of_rates_parses_back_exactly(
        rates in proptest::collection::btree_map("[A-DF-Z][A-Z]{2}", (1u64..10_000_000, 0u32..6), 1..30),
        days in 0i64..20_000,
    ) {
        let date = day("1999-01-04") + chrono::Duration::days(days);
        let pairs: Vec<(String, String)> = rates
            .iter()
            .map(|(c, (m, s))| (c.clone(), Decimal::new(i128::from(*m), *s).unwrap().to_string()))
            .collect();
        let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(c, r)| (c.as_str(), r.as_str())).collect();
        let parsed = parse_ecb_daily(&feed(&date.to_string(), &borrowed)).unwrap();
        prop_assert_eq!(parsed.date, date);
        prop_assert_eq!(parsed.rates.len(), pairs.len());
        for (code, rate) in &pairs {
            prop_assert_eq!(rate_of(&parsed, code), rate.parse::<Decimal>().unwrap());
        }
    }

    #[test]
    fn a_file_cut_anywhere_is_refused(cut in 0usize..RECORDED.len() - 1) {
        // Cuts inside the trailing newline and closing tag still lose the closing tag.
        let text = &RECORDED[..cut];
        prop_assume!(!text.trim_end().ends_with("Envelope>"));
        prop_assert!(parse_ecb_daily(text).is_err());
    }
}
