use chrono::NaiveDate;

use super::test_support::{dec, temp_store};
use super::*;
use crate::domain::{Currency, FxRate};

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn rate(currency: Currency, per_eur: &str) -> FxRate {
    FxRate::new(currency, dec(per_eur)).unwrap()
}

fn history_of(store: &Store, currency: Currency) -> Vec<(NaiveDate, f64)> {
    store
        .fx_history()
        .unwrap()
        .remove(&currency)
        .unwrap_or_default()
}

fn current(store: &Store, currency: Currency) -> (String, Option<NaiveDate>) {
    let r = store
        .fx_rates_dated()
        .unwrap()
        .into_iter()
        .find(|r| r.rate.currency() == currency)
        .unwrap();
    (r.rate.per_eur().to_string(), r.rate_date)
}

#[test]
fn a_dated_rate_lands_in_the_history_with_the_current_rate_and_a_second_of_its_day_replaces_it() {
    let (_dir, store) = temp_store();
    let rates = [rate(Currency::USD, "1.1"), rate(Currency::GBP, "0.85")];
    assert_eq!(
        store.put_dated_fx_rates(&rates, day("2026-01-05")).unwrap(),
        2
    );
    assert_eq!(
        history_of(&store, Currency::USD),
        [(day("2026-01-05"), 1.1)]
    );
    assert_eq!(
        history_of(&store, Currency::GBP),
        [(day("2026-01-05"), 0.85)]
    );

    // The day's rates published again, corrected: one row, the new rate.
    store
        .put_dated_fx_rates(&[rate(Currency::USD, "1.12")], day("2026-01-05"))
        .unwrap();
    assert_eq!(
        history_of(&store, Currency::USD),
        [(day("2026-01-05"), 1.12)]
    );
    store
        .put_dated_fx_rates(&[rate(Currency::USD, "1.2")], day("2026-01-06"))
        .unwrap();
    assert_eq!(
        history_of(&store, Currency::USD),
        [(day("2026-01-05"), 1.12), (day("2026-01-06"), 1.2)]
    );
    assert_eq!(
        current(&store, Currency::USD),
        ("1.2".into(), Some(day("2026-01-06")))
    );
}

#[test]
fn a_history_fills_the_days_and_its_newest_day_replaces_only_older_current_rates() {
    let (_dir, store) = temp_store();
    store
        .put_dated_fx_rates(&[rate(Currency::USD, "1.1")], day("2026-01-10"))
        .unwrap();
    let days = [
        DayRates {
            date: day("2026-01-05"),
            rates: vec![rate(Currency::USD, "1.0")],
        },
        DayRates {
            date: day("2026-01-08"),
            rates: vec![rate(Currency::USD, "1.05"), rate(Currency::GBP, "0.8")],
        },
    ];
    let written = store.put_fx_history(&days).unwrap();
    assert_eq!(
        written,
        FxHistoryWrite {
            history_rates: 3,
            current_rates: 1
        }
    );
    assert_eq!(
        history_of(&store, Currency::USD),
        [
            (day("2026-01-05"), 1.0),
            (day("2026-01-08"), 1.05),
            (day("2026-01-10"), 1.1)
        ]
    );
    // USD's current rate is newer than the file's; GBP had none.
    assert_eq!(
        current(&store, Currency::USD),
        ("1.1".into(), Some(day("2026-01-10")))
    );
    assert_eq!(
        current(&store, Currency::GBP),
        ("0.8".into(), Some(day("2026-01-08")))
    );

    let newer = [DayRates {
        date: day("2026-01-12"),
        rates: vec![rate(Currency::USD, "1.2")],
    }];
    assert_eq!(store.put_fx_history(&newer).unwrap().current_rates, 1);
    assert_eq!(
        current(&store, Currency::USD),
        ("1.2".into(), Some(day("2026-01-12")))
    );
}
