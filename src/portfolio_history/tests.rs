use std::collections::HashMap;

use chrono::NaiveDate;

use super::*;
use crate::domain::{Currency, FxRate, Money, Side};
use crate::store::test_support::{dec, temp_store};
use crate::store::{DailyValue, Deposit};

pub(super) fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn at(text: &str) -> chrono::NaiveDateTime {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").unwrap()
}

fn value(date: &str, value_eur: f64, deposit_eur: f64) -> HistoryPoint {
    HistoryPoint {
        date: day(date),
        value_eur,
        deposit_eur,
        backfilled: false,
    }
}

fn stored(date: &str, value_eur: f64) -> DailyValue {
    DailyValue {
        day: day(date),
        value_eur,
        backfilled: false,
    }
}

pub(super) fn deposit(id: i64, minor: i64, currency: Currency, deposited_at: &str) -> Deposit {
    Deposit {
        id,
        amount: Money::from_minor(minor, currency),
        deposited_at: deposited_at.into(),
    }
}

pub(super) fn close_to(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn a_deposit_is_not_counted_as_return() {
    // +10 % on day 2; day 3 gains nothing but a deposit of 100.
    let points = [
        value("2026-01-01", 100.0, 0.0),
        value("2026-01-02", 110.0, 0.0),
        value("2026-01-05", 210.0, 100.0),
    ];
    let r = twr(&points);
    assert!(close_to(r.since_start.unwrap(), 0.10), "{r:?}");
    // A deposit that arrives with a gain: (231 − 100) / 110 − 1 = 19.09 %.
    let points = [
        points[0].clone(),
        points[1].clone(),
        value("2026-01-05", 231.0, 100.0),
    ];
    let expected = 1.10 * (131.0 / 110.0) - 1.0;
    assert!(close_to(twr(&points).since_start.unwrap(), expected));
}

#[test]
fn returns_are_null_where_the_history_is_too_short() {
    let points = [
        value("2026-03-01", 100.0, 0.0),
        value("2026-03-20", 120.0, 0.0),
    ];
    let r = twr(&points);
    assert_eq!(r.one_month, None);
    assert_eq!(r.one_year, None);
    assert!(close_to(r.since_start.unwrap(), 0.2));
    assert_eq!(twr(&points[..1]).since_start, None);
    assert_eq!(twr(&[]).since_start, None);
}

#[test]
fn one_month_and_one_year_start_at_the_last_day_on_or_before_their_start() {
    let points = [
        value("2025-03-10", 50.0, 0.0),
        value("2025-03-20", 100.0, 0.0),
        value("2026-02-18", 150.0, 0.0),
        value("2026-02-20", 200.0, 0.0),
        value("2026-03-20", 300.0, 0.0),
    ];
    let r = twr(&points);
    // From 2026-02-20 (exactly one month back) and from 2025-03-20.
    assert!(close_to(r.one_month.unwrap(), 0.5), "{r:?}");
    assert!(close_to(r.one_year.unwrap(), 2.0), "{r:?}");
    assert!(close_to(r.since_start.unwrap(), 5.0), "{r:?}");
}

#[test]
fn a_day_after_an_empty_portfolio_adds_no_return() {
    let points = [
        value("2026-01-01", 0.0, 0.0),
        value("2026-01-02", 500.0, 500.0),
        value("2026-01-03", 550.0, 0.0),
    ];
    assert!(close_to(twr(&points).since_start.unwrap(), 0.1));
}

pub(super) fn closes(days: &[(&str, f64)]) -> Vec<(NaiveDate, f64)> {
    days.iter().map(|(d, c)| (day(d), *c)).collect()
}

pub(super) fn inputs() -> BackfillInputs {
    BackfillInputs {
        holdings: HashMap::from([("A.US".to_string(), (10.0, "USD".to_string()))]),
        cash: HashMap::from([("EUR".to_string(), 100.0)]),
        trades: vec![PastTrade {
            symbol: "A.US".into(),
            day: day("2026-01-03"),
            side: Side::Buy,
            quantity: 4.0,
            price: 50.0,
            currency: "USD".into(),
        }],
        deposits: vec![],
        closes: HashMap::from([(
            "A.US".to_string(),
            closes(&[
                ("2026-01-01", 40.0),
                ("2026-01-02", 44.0),
                ("2026-01-03", 50.0),
                ("2026-01-05", 60.0),
            ]),
        )]),
        rates: PastRates {
            current: HashMap::from([("EUR".to_string(), 1.0), ("USD".to_string(), 2.0)]),
            history: HashMap::new(),
        },
        before: day("2026-01-05"),
        since: day("2025-01-01"),
    }
}

#[test]
fn backfill_takes_the_positions_and_cash_back_through_the_trades() {
    let values = backfill(&inputs());
    // Today (01-05) is recorded live, not back-filled.
    let days: Vec<NaiveDate> = values.iter().map(|(d, _)| *d).collect();
    assert_eq!(
        days,
        [day("2026-01-01"), day("2026-01-02"), day("2026-01-03")]
    );
    // Before the buy of 4 at 50 USD: 6 shares and 200 USD more cash.
    assert!(close_to(
        values[0].1,
        6.0 * 40.0 / 2.0 + 100.0 + 200.0 / 2.0
    ));
    assert!(close_to(values[1].1, 6.0 * 44.0 / 2.0 + 200.0));
    // The buy's day closes with the shares.
    assert!(close_to(values[2].1, 10.0 * 50.0 / 2.0 + 100.0));
}

#[test]
fn backfill_leaves_out_days_a_held_security_has_no_price_for() {
    let mut i = inputs();
    i.holdings.insert("B.EU".into(), (1.0, "EUR".into()));
    i.closes
        .insert("B.EU".into(), closes(&[("2026-01-02", 10.0)]));
    let days: Vec<NaiveDate> = backfill(&i).iter().map(|(d, _)| *d).collect();
    assert_eq!(days, [day("2026-01-02"), day("2026-01-03")]);
    // A close carried over more than a week is no price.
    i.closes
        .insert("B.EU".into(), closes(&[("2025-12-01", 10.0)]));
    assert!(backfill(&i).is_empty());
}

#[test]
fn backfill_takes_recorded_deposits_out_of_the_cash() {
    let mut i = inputs();
    i.trades.clear();
    i.deposits = vec![(day("2026-01-02"), 60.0)];
    let values = backfill(&i);
    assert!(close_to(values[0].1, 10.0 * 40.0 / 2.0 + 40.0));
    assert!(close_to(values[1].1, 10.0 * 44.0 / 2.0 + 100.0));
}

#[test]
fn a_days_deposits_are_summed_by_local_day_in_eur_at_the_stored_rate() {
    let rates = PastRates {
        current: HashMap::from([("EUR".to_string(), 1.0), ("USD".to_string(), 1.25)]),
        history: HashMap::new(),
    };
    let deposits = [
        deposit(1, 10_010, Currency::EUR, "2026-01-05T00:00:00.000000"),
        deposit(2, 12_500, Currency::USD, "2026-01-05T23:59:59.999999"),
        deposit(3, 20, Currency::EUR, "2026-01-05T12:00:00.000000"),
        deposit(4, 30, Currency::EUR, "2026-01-06T08:00:00.000000"),
        // No rate: its cash is not in the day's value either.
        deposit(5, 50_000, Currency::GBP, "2026-01-06T09:00:00.000000"),
    ];
    let days = daily_deposits(&deposits, &rates);
    assert_eq!(
        days.into_iter().collect::<Vec<_>>(),
        [(day("2026-01-05"), 200.3), (day("2026-01-06"), 0.3)]
    );
    assert!(daily_deposits(&[], &rates).is_empty());
}

#[test]
fn a_deposit_on_a_day_without_a_value_counts_on_the_next_stored_day() {
    let deposits = BTreeMap::from([
        (day("2025-12-31"), 1.0),
        (day("2026-01-02"), 50.0),
        (day("2026-01-03"), 100.0),
        (day("2026-01-05"), 7.0),
        (day("2026-01-09"), 9.0),
    ]);
    let values = vec![
        stored("2026-01-01", 1000.0),
        stored("2026-01-03", 1150.0),
        stored("2026-01-05", 1157.0),
    ];
    let got: Vec<(NaiveDate, f64)> = with_deposits(values, &deposits)
        .iter()
        .map(|p| (p.date, p.deposit_eur))
        .collect();
    // Before the first value and after the last: no point carries them.
    assert_eq!(
        got,
        [
            (day("2026-01-01"), 0.0),
            (day("2026-01-03"), 150.0),
            (day("2026-01-05"), 7.0)
        ]
    );
    assert!(got[0].1.is_sign_positive(), "no -0.0 in the JSON");
    assert!(close_to(
        twr(&with_deposits(
            vec![stored("2026-01-01", 1000.0), stored("2026-01-03", 1150.0)],
            &deposits
        ))
        .since_start
        .unwrap(),
        0.0
    ));
}

#[test]
fn a_deposit_recorded_in_the_ledger_is_in_its_days_point_and_out_of_the_return() {
    let (_dir, store) = temp_store();
    store
        .set_fx_rate(FxRate::new(Currency::USD, dec("1.25")).unwrap())
        .unwrap();
    store
        .put_daily_value(day("2026-01-05"), 1000.0, "t")
        .unwrap();
    // +10 % on the 6th, with 250 EUR and 125 USD (100 EUR) paid in that day.
    store
        .put_daily_value(day("2026-01-06"), 1450.0, "t")
        .unwrap();
    let eur = store
        .record_deposit(
            Money::from_minor(25_000, Currency::EUR),
            at("2026-01-06T09:30:00"),
        )
        .unwrap()
        .unwrap();
    store
        .record_deposit(
            Money::from_minor(12_500, Currency::USD),
            at("2026-01-06T18:00:00"),
        )
        .unwrap()
        .unwrap();
    let today = day("2026-01-06");
    let h = history(&store, today, 30).unwrap();
    assert_eq!(h.points[0].deposit_eur, 0.0);
    assert_eq!(h.points[1].deposit_eur, 350.0);
    assert_eq!(h.points[1].value_eur, 1450.0);
    assert!(close_to(h.twr.since_start.unwrap(), 0.10), "{h:?}");

    // Withdrawn: gone from the point and from the return at once (the value, 1450, now
    // holds 250 more than the deposits: a gain).
    assert!(store.withdraw_deposit(eur.id).unwrap());
    let h = history(&store, today, 30).unwrap();
    assert_eq!(h.points[1].deposit_eur, 100.0);
    assert!(close_to(h.twr.since_start.unwrap(), 0.35), "{h:?}");
}

#[test]
fn a_recorded_day_keeps_its_deposits_and_is_not_replaced_by_a_backfill() {
    let (_dir, store) = temp_store();
    crate::demo::load_if_empty(&store).unwrap().unwrap();
    let today = day("2026-03-10");
    let before = value_portfolio(&valuation_inputs(&store).unwrap()).total_value_eur;
    store
        .record_deposit(
            Money::from_minor(25_000, Currency::EUR),
            at("2026-03-10T09:00:00"),
        )
        .unwrap()
        .unwrap();
    let live = record_today(&store, today).unwrap();
    assert!(close_to(live, before + 250.0), "{live} against {before}");
    // Every held security closed at the price the valuation uses, on three earlier days and
    // today.
    let inputs = valuation_inputs(&store).unwrap();
    let mut rows = Vec::new();
    for h in &inputs.holdings {
        let price = inputs
            .quotes
            .get(&h.symbol)
            .copied()
            .unwrap_or(h.avg_price.to_f64());
        for d in ["2026-03-05", "2026-03-06", "2026-03-09", "2026-03-10"] {
            rows.push(crate::store::DailyClose {
                symbol: h.symbol.clone(),
                day: day(d),
                close: price,
            });
        }
    }
    store.put_daily_closes(&rows, false).unwrap();
    assert_eq!(backfill_from_history(&store, today).unwrap(), 3);
    assert_eq!(
        backfill_from_history(&store, today).unwrap(),
        0,
        "filled days are kept"
    );
    let h = history(&store, today, 30).unwrap();
    let got: Vec<(String, bool)> = h
        .points
        .iter()
        .map(|p| (p.date.to_string(), p.backfilled))
        .collect();
    assert_eq!(
        got,
        [
            ("2026-03-05".into(), true),
            ("2026-03-06".into(), true),
            ("2026-03-09".into(), true),
            ("2026-03-10".into(), false)
        ]
    );
    // Same prices: the back-filled days are worth today's value without today's deposit (to
    // the cent, as amounts are stored).
    for p in &h.points[..3] {
        assert!(
            (p.value_eur - (live - 250.0)).abs() <= 0.005 + 1e-9,
            "{p:?} against {live}"
        );
        assert_eq!(p.deposit_eur, 0.0);
    }
    assert_eq!(h.points[3].deposit_eur, 250.0);
    assert!(h.twr.since_start.unwrap().abs() < 1e-6, "{:?}", h.twr);
    // `days` bounds the points, not the returns.
    assert_eq!(history(&store, today, 2).unwrap().points.len(), 2);
}

proptest::proptest! {
    /// Values grown by daily returns with deposits added on top chain back to exactly those
    /// returns: deposits never count as performance.
    #[test]
    fn the_return_since_start_is_the_chained_daily_returns_whatever_the_deposits(
        start in 1.0f64..1e6,
        days in proptest::collection::vec((-0.2f64..0.2, proptest::option::of(0.0f64..1e5)), 1..60),
    ) {
        let first = day("2026-01-01");
        let mut points = vec![HistoryPoint { date: first, value_eur: start, deposit_eur: 0.0, backfilled: false }];
        let mut expected = 1.0;
        for (i, (r, deposit)) in days.iter().enumerate() {
            let deposit = deposit.unwrap_or(0.0);
            let before = points.last().unwrap().value_eur;
            points.push(HistoryPoint {
                date: first + chrono::Days::new(i as u64 + 1),
                value_eur: before * (1.0 + r) + deposit,
                deposit_eur: deposit,
                backfilled: false,
            });
            expected *= 1.0 + r;
        }
        let got = twr(&points).since_start.unwrap();
        proptest::prop_assert!((got - (expected - 1.0)).abs() < 1e-9 * expected.max(1.0), "{got} against {}", expected - 1.0);
    }
}

/// One generated day: whether its value is recorded, its return, and its deposits (minor units,
/// in USD or EUR, seconds into the day, withdrawn afterwards or not).
type GeneratedDay = (bool, f64, Vec<(i64, bool, u32, bool)>);

fn generated_day() -> impl proptest::strategy::Strategy<Value = GeneratedDay> {
    use proptest::prelude::*;
    (
        proptest::bool::weighted(0.8),
        -0.2f64..0.2,
        proptest::collection::vec(
            // USD amounts in multiples of 5 cents are whole EUR cents at 1.25 USD per EUR.
            (
                1i64..2_000_000,
                any::<bool>(),
                0u32..86_400,
                proptest::bool::weighted(0.2),
            ),
            0..3,
        ),
    )
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]

    /// Daily values and deposits recorded through the store, some deposits withdrawn and some
    /// days without a value: each point's deposits are the ledger's live deposits of its day
    /// (and of the days before it without a value) in EUR, and the time-weighted return is the
    /// chained (V(d) − deposit(d)) / V(d−1) of those, as computed by hand.
    #[test]
    fn the_return_from_the_ledgers_deposits_is_the_one_computed_by_hand(
        start_cents in 10_000i64..100_000_000,
        days in proptest::collection::vec(generated_day(), 1..30),
    ) {
        let (_dir, store) = temp_store();
        store.set_fx_rate(FxRate::new(Currency::USD, dec("1.25")).unwrap()).unwrap();
        let first = day("2026-01-01");
        store.put_daily_value(first, start_cents as f64 / 100.0, "t").unwrap();
        // (value, deposits) in cents of each stored day after the first.
        let mut expected_points: Vec<(i64, i64)> = Vec::new();
        let mut pending_cents = 0i64;
        let mut value = start_cents as f64 / 100.0;
        for (i, (recorded, r, deposits)) in days.iter().enumerate() {
            let date = first + chrono::Days::new(i as u64 + 1);
            for &(minor, usd, secs, withdrawn) in deposits {
                let (amount, eur_cents) = if usd {
                    (Money::from_minor(minor * 5, Currency::USD), minor * 4)
                } else {
                    (Money::from_minor(minor, Currency::EUR), minor)
                };
                let at = date.and_hms_opt(0, 0, 0).unwrap() + chrono::Duration::seconds(secs.into());
                let recorded = store.record_deposit(amount, at).unwrap().unwrap();
                if withdrawn {
                    proptest::prop_assert!(store.withdraw_deposit(recorded.id).unwrap());
                } else {
                    pending_cents += eur_cents;
                }
            }
            value *= 1.0 + r;
            if *recorded {
                let cents = ((value + pending_cents as f64 / 100.0) * 100.0).round() as i64;
                store.put_daily_value(date, cents as f64 / 100.0, "t").unwrap();
                expected_points.push((cents, pending_cents));
                value = cents as f64 / 100.0;
                pending_cents = 0;
            }
        }
        let h = history(&store, first + chrono::Days::new(days.len() as u64), MAX_DAYS).unwrap();
        let got: Vec<(i64, i64)> = h.points[1..]
            .iter()
            .map(|p| ((p.value_eur * 100.0).round() as i64, (p.deposit_eur * 100.0).round() as i64))
            .collect();
        proptest::prop_assert_eq!(&got, &expected_points);
        for p in &h.points[1..] {
            proptest::prop_assert_eq!(p.deposit_eur, (p.deposit_eur * 100.0).round() / 100.0);
        }
        let mut before = start_cents as f64;
        let mut growth = 1.0;
        for &(value, deposit) in &expected_points {
            growth *= (value - deposit) as f64 / before;
            before = value as f64;
        }
        match h.twr.since_start {
            None => proptest::prop_assert!(expected_points.is_empty()),
            Some(got) => proptest::prop_assert!(
                (got - (growth - 1.0)).abs() < 1e-9 * growth.max(1.0),
                "{} against {}", got, growth - 1.0
            ),
        }
    }
}
