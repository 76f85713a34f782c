use std::collections::HashMap;

use chrono::NaiveDate;

use super::*;
use crate::domain::Side;
use crate::store::DailyValue;
use crate::store::test_support::temp_store;

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn value(date: &str, value_eur: f64, deposit_eur: f64) -> DailyValue {
    DailyValue {
        day: day(date),
        value_eur,
        deposit_eur,
        backfilled: false,
    }
}

fn close_to(a: f64, b: f64) -> bool {
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

fn closes(days: &[(&str, f64)]) -> Vec<(NaiveDate, f64)> {
    days.iter().map(|(d, c)| (day(d), *c)).collect()
}

fn inputs() -> BackfillInputs {
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
        rates_per_eur: HashMap::from([("EUR".to_string(), 1.0), ("USD".to_string(), 2.0)]),
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
fn a_recorded_day_keeps_its_deposits_and_is_not_replaced_by_a_backfill() {
    let (_dir, store) = temp_store();
    crate::demo::load_if_empty(&store).unwrap().unwrap();
    let today = day("2026-03-10");
    let live = value_portfolio(&valuation_inputs(&store).unwrap()).total_value_eur;
    record_deposit(&store, today, 250.0).unwrap();
    assert!(close_to(record_today(&store, today).unwrap(), live));
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
    }
    assert_eq!(h.points[3].deposit_eur, 250.0);
    assert!(close_to(h.twr.since_start.unwrap(), 0.0));
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
        let mut points = vec![DailyValue { day: first, value_eur: start, deposit_eur: 0.0, backfilled: false }];
        let mut expected = 1.0;
        for (i, (r, deposit)) in days.iter().enumerate() {
            let deposit = deposit.unwrap_or(0.0);
            let before = points.last().unwrap().value_eur;
            points.push(DailyValue {
                day: first + chrono::Days::new(i as u64 + 1),
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
