//! Past days valued, and their deposits converted, at the FX rates of their day.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::tests::{close_to, closes, day, deposit, inputs};
use super::*;
use crate::domain::{Currency, FxRate, Money, Quantity};
use crate::store::test_support::{dec, temp_store};
use crate::store::{AllowEmpty, PositionRecord, SecurityRecord};

fn usd_history(days: &[(&str, f64)]) -> HashMap<String, Vec<(NaiveDate, f64)>> {
    HashMap::from([("USD".to_string(), closes(days))])
}

/// 10 shares of a USD security and 100 EUR of cash, no trades; today's rate is 1.25 USD.
fn usd_holding() -> BackfillInputs {
    let mut i = inputs();
    i.trades.clear();
    i.closes.insert(
        "A.US".into(),
        closes(&[
            ("2025-12-20", 30.0),
            ("2026-01-01", 40.0),
            ("2026-01-02", 44.0),
            ("2026-01-05", 50.0),
            ("2026-01-12", 52.0),
        ]),
    );
    i.rates.current.insert("USD".into(), 1.25);
    i.before = day("2026-01-13");
    i
}

#[test]
fn a_usd_holding_is_valued_at_each_days_rate_and_at_the_current_one_without_history() {
    let mut i = usd_holding();
    i.rates.history = usd_history(&[("2026-01-01", 2.0), ("2026-01-02", 1.6)]);
    let values = backfill(&i);
    let expected = [
        // Before the history: today's rate.
        ("2025-12-20", 10.0 * 30.0 / 1.25 + 100.0),
        ("2026-01-01", 10.0 * 40.0 / 2.0 + 100.0),
        ("2026-01-02", 10.0 * 44.0 / 1.6 + 100.0),
        // A weekend later: the rate of the 2nd, carried.
        ("2026-01-05", 10.0 * 50.0 / 1.6 + 100.0),
        // Ten days after the last stored rate: too old to carry, today's rate.
        ("2026-01-12", 10.0 * 52.0 / 1.25 + 100.0),
    ];
    assert_eq!(values.len(), expected.len(), "{values:?}");
    for ((got_day, got), (want_day, want)) in values.iter().zip(expected) {
        assert_eq!(*got_day, day(want_day));
        assert!(close_to(*got, want), "{got_day}: {got} against {want}");
    }
    // The figures by hand: 340, 300, 375, 412.5, 516.
    assert!(close_to(values[2].1, 375.0) && close_to(values[3].1, 412.5));

    // Without a history every day is at today's rate.
    i.rates.history.clear();
    assert!(close_to(backfill(&i)[1].1, 10.0 * 40.0 / 1.25 + 100.0));
}

#[test]
fn a_deposit_is_converted_at_the_rate_of_its_day() {
    let rates = PastRates {
        current: HashMap::from([("EUR".to_string(), 1.0), ("USD".to_string(), 1.25)]),
        history: usd_history(&[("2026-01-02", 1.6)]),
    };
    let deposits = [
        // 160 USD at 1.6 on its day, then carried to the 5th.
        deposit(1, 16_000, Currency::USD, "2026-01-02T10:00:00.000000"),
        deposit(2, 16_000, Currency::USD, "2026-01-05T10:00:00.000000"),
        // Before the history: today's rate.
        deposit(3, 12_500, Currency::USD, "2025-12-20T10:00:00.000000"),
        deposit(4, 5_000, Currency::EUR, "2026-01-02T11:00:00.000000"),
    ];
    assert_eq!(
        daily_deposits(&deposits, &rates)
            .into_iter()
            .collect::<Vec<_>>(),
        [
            (day("2025-12-20"), 100.0),
            (day("2026-01-02"), 150.0),
            (day("2026-01-05"), 100.0)
        ]
    );
}

#[test]
fn the_stored_fx_history_values_the_back_filled_days_and_their_deposits() {
    let (_dir, store) = temp_store();
    store
        .replace_securities(
            &[SecurityRecord::new("A.US", "A Inc", Currency::USD)],
            AllowEmpty::No,
        )
        .unwrap();
    store
        .replace_positions(
            &[PositionRecord {
                symbol: "A.US".into(),
                quantity: "10".parse::<Quantity>().unwrap(),
                avg_price: dec("40"),
                currency: Currency::USD,
            }],
            AllowEmpty::No,
        )
        .unwrap();
    let usd = |rate: &str| [FxRate::new(Currency::USD, dec(rate)).unwrap()];
    store
        .put_dated_fx_rates(&usd("1.6"), day("2026-01-02"))
        .unwrap();
    store
        .put_dated_fx_rates(&usd("1.25"), day("2026-01-05"))
        .unwrap();
    let rows: Vec<crate::store::DailyClose> = [("2026-01-02", 44.0), ("2026-01-05", 50.0)]
        .iter()
        .map(|(d, close)| crate::store::DailyClose {
            symbol: "A.US".into(),
            day: day(d),
            close: *close,
        })
        .collect();
    store.put_daily_closes(&rows, false).unwrap();
    store
        .record_deposit(
            Money::from_minor(1_600, Currency::USD),
            chrono::NaiveDateTime::parse_from_str("2026-01-02T09:00:00", "%Y-%m-%dT%H:%M:%S")
                .unwrap(),
        )
        .unwrap()
        .unwrap();
    let today = day("2026-01-06");
    assert_eq!(backfill_from_history(&store, today).unwrap(), 2);
    let h = history(&store, today, 30).unwrap();
    let got: Vec<(String, f64, f64)> = h
        .points
        .iter()
        .map(|p| (p.date.to_string(), p.value_eur, p.deposit_eur))
        .collect();
    // The shares and the 16 USD paid in on the 2nd: 456 USD at 1.6, then 516 USD at 1.25; the
    // deposit, 10 EUR at the 2nd's rate.
    assert_eq!(
        got,
        [
            ("2026-01-02".to_string(), 285.0, 10.0),
            ("2026-01-05".to_string(), 412.8, 0.0)
        ]
    );
}

/// The closes of a day of a USD and a GBP security, where it has some.
type DayCloses = (Option<f64>, Option<f64>);

/// A generated portfolio: closes of a USD and a GBP security on some of 40 days, holdings,
/// cash, trades and deposits.
type Generated = (
    Vec<DayCloses>,
    (f64, f64),
    (f64, f64, f64),
    Vec<(u64, bool, bool, f64, f64)>,
    Vec<(u64, f64)>,
);

fn generated() -> impl proptest::strategy::Strategy<Value = Generated> {
    use proptest::collection::vec;
    use proptest::option::of;
    (
        vec((of(1.0f64..500.0), of(1.0f64..500.0)), 1..40),
        (0.0f64..100.0, 0.0f64..100.0),
        (0.0f64..1e4, 0.0f64..1e4, 0.0f64..1e4),
        vec(
            (
                0u64..40,
                proptest::bool::ANY,
                proptest::bool::ANY,
                0.5f64..20.0,
                1.0f64..500.0,
            ),
            0..6,
        ),
        vec((0u64..40, 1.0f64..1e3), 0..4),
    )
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// A history whose every rate is today's changes nothing: the back-fill and the deposits
    /// are those of no history at all.
    #[test]
    fn a_constant_rate_history_backfills_as_no_history(
        (days, (usd_shares, gbp_shares), (eur, usd_cash, gbp_cash), trades, deposits) in generated(),
        usd in 0.5f64..2.0,
        gbp in 0.5f64..2.0,
        history_days in proptest::collection::btree_set(0u64..60, 0..60),
    ) {
        let first = day("2025-12-01");
        let at = |offset: u64| first + chrono::Days::new(offset);
        let closes_of = |pick: fn(&DayCloses) -> Option<f64>| {
            days.iter()
                .enumerate()
                .filter_map(|(i, d)| Some((at(i as u64), pick(d)?)))
                .collect::<Vec<_>>()
        };
        let usd_closes = closes_of(|d| d.0);
        let gbp_closes = closes_of(|d| d.1);
        let without = BackfillInputs {
            holdings: HashMap::from([
                ("A.US".to_string(), (usd_shares, "USD".to_string())),
                ("B.UK".to_string(), (gbp_shares, "GBP".to_string())),
            ]),
            cash: HashMap::from([
                ("EUR".to_string(), eur),
                ("USD".to_string(), usd_cash),
                ("GBP".to_string(), gbp_cash),
            ]),
            trades: trades
                .iter()
                .map(|&(offset, in_usd, buy, quantity, price)| PastTrade {
                    symbol: if in_usd { "A.US" } else { "B.UK" }.into(),
                    day: at(offset),
                    side: if buy { crate::domain::Side::Buy } else { crate::domain::Side::Sell },
                    quantity,
                    price,
                    currency: if in_usd { "USD" } else { "GBP" }.into(),
                })
                .collect(),
            deposits: deposits.iter().map(|&(offset, eur)| (at(offset), eur)).collect(),
            closes: HashMap::from([("A.US".to_string(), usd_closes), ("B.UK".to_string(), gbp_closes)]),
            rates: PastRates {
                current: HashMap::from([
                    ("EUR".to_string(), 1.0),
                    ("USD".to_string(), usd),
                    ("GBP".to_string(), gbp),
                ]),
                history: HashMap::new(),
            },
            before: at(40),
            since: first,
        };
        let constant = |rate: f64| history_days.iter().map(|&d| (at(d), rate)).collect::<Vec<_>>();
        let mut with = without.clone();
        with.rates.history = HashMap::from([
            ("USD".to_string(), constant(usd)),
            ("GBP".to_string(), constant(gbp)),
        ]);
        proptest::prop_assert_eq!(backfill(&with), backfill(&without));

        let ledger: Vec<crate::store::Deposit> = deposits
            .iter()
            .enumerate()
            .map(|(i, &(offset, amount))| {
                let currency = [Currency::EUR, Currency::USD, Currency::GBP][i % 3];
                deposit(i as i64, (amount * 100.0) as i64, currency,
                    &format!("{}T12:00:00.000000", at(offset)))
            })
            .collect();
        proptest::prop_assert_eq!(
            daily_deposits(&ledger, &with.rates),
            daily_deposits(&ledger, &without.rates)
        );
    }
}
