use super::*;

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// `(day, [(currency, rate)])` of each parsed day, as text.
fn table(days: &[DayRates]) -> Vec<(String, Vec<(String, String)>)> {
    days.iter()
        .map(|d| {
            let rates = d
                .rates
                .iter()
                .map(|r| (r.currency().to_string(), r.per_eur().to_string()))
                .collect();
            (d.date.to_string(), rates)
        })
        .collect()
}

fn pairs(rates: &[(&str, &str)]) -> Vec<(String, String)> {
    rates
        .iter()
        .map(|(c, r)| (c.to_string(), r.to_string()))
        .collect()
}

#[test]
fn a_lowercase_history_gives_every_day_oldest_first() {
    let text = "date,USD,GBP\n2026-01-05,1.1,0.85\n2026-01-06,1.12,0.86\n";
    assert!(is_history_csv(text));
    let days = parse_history_csv(text).unwrap();
    assert_eq!(
        table(&days),
        [
            (
                "2026-01-05".into(),
                pairs(&[("USD", "1.1"), ("GBP", "0.85")])
            ),
            (
                "2026-01-06".into(),
                pairs(&[("USD", "1.12"), ("GBP", "0.86")])
            ),
        ]
    );
}

#[test]
fn the_ecbs_own_file_with_trailing_commas_and_missing_rates_is_read() {
    // Newest day first, a comma ending each line, `N/A` for a currency without a rate.
    let text = "Date,USD,JPY,CYP,\r\n\
                2026-01-06,1.12,160.5,N/A,\r\n\
                2026-01-05,1.1,N/A,N/A,\r\n\
                2026-01-01,N/A,N/A,N/A,\r\n";
    assert!(is_history_csv(text));
    let days = parse_history_csv(text).unwrap();
    assert_eq!(
        table(&days),
        [
            ("2026-01-05".into(), pairs(&[("USD", "1.1")])),
            (
                "2026-01-06".into(),
                pairs(&[("USD", "1.12"), ("JPY", "160.5")])
            ),
        ],
        "a day without any rate is left out"
    );
}

#[test]
fn the_bundled_backtest_rates_are_read_whole() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/backtest/ecb_rates.csv");
    let text = std::fs::read_to_string(path).unwrap();
    let days = parse_history_csv(&text).unwrap();
    assert_eq!(days.len(), text.lines().count() - 1);
    assert_eq!(days[0].date, day("1999-01-04"));
    assert_eq!(days[0].rates[0].per_eur(), "1.1789".parse().unwrap());
    assert!(days.windows(2).all(|w| w[0].date < w[1].date));
}

#[test]
fn a_malformed_line_refuses_the_file_and_is_named_by_its_number() {
    let refused = |text: &str| parse_history_csv(text).unwrap_err().0;
    let why = refused("date,USD\n2026-01-05,1.1\n\n2026-01-06,abc\n");
    assert!(why.starts_with("line 4:") && why.contains("USD"), "{why}");
    let why = refused("date,USD\n2026-01-05,-1.1\n");
    assert!(why.starts_with("line 2:"), "{why}");
    let why = refused("date,USD,GBP\n2026-01-05,1.1\n");
    assert!(
        why.starts_with("line 2:") && why.contains("2 cells"),
        "{why}"
    );
    let why = refused("date,USD\n2026-01-05,1.1\n05.01.2026,1.1\n");
    assert!(
        why.starts_with("line 3:") && why.contains("YYYY-MM-DD"),
        "{why}"
    );
    let why = refused("date,USD\n2026-01-05,1.1\n2026-01-05,1.2\n");
    assert!(
        why.starts_with("line 3:") && why.contains("line 2"),
        "{why}"
    );
    let why = refused("date,USD,usd\n2026-01-05,1.1,1.1\n");
    assert!(why.starts_with("line 1:") && why.contains("twice"), "{why}");
    let why = refused("date,EUR\n2026-01-05,1\n");
    assert!(why.contains("EUR"), "{why}");
    assert!(refused("date,USD\n2026-01-05,N/A\n").contains("no rates"));
    assert!(refused("").contains("empty"));
}

#[test]
fn the_daily_xml_file_is_not_taken_for_a_history() {
    assert!(!is_history_csv(include_str!(
        "../../../../tests/fixtures/ecb/eurofxref-daily.xml"
    )));
    assert!(!is_history_csv("symbol,close\nA,1\n"));
}
