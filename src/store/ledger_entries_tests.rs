use chrono::NaiveDate;

use super::test_support::{dec, temp_store};
use super::*;
use crate::domain::{Currency, Money, Quantity, Side};

fn at(text: &str) -> chrono::NaiveDateTime {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").unwrap()
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn eur(minor: i64) -> Money {
    Money::from_minor(minor, Currency::EUR)
}

fn record(store: &Store, symbol: &str, side: Side, executed_at: &str) -> i64 {
    store
        .record_trade(&NewTrade {
            symbol: symbol.into(),
            isin: None,
            side,
            quantity: Quantity::from_shares(2).unwrap(),
            price: dec("10.5"),
            currency: Currency::EUR,
            fx_per_eur: None,
            executed_at: executed_at.into(),
            source: TradeSource::Broker,
            order_id: None,
            idempotency_key: None,
        })
        .unwrap()
        .into_inner()
        .id
}

/// (kind, id) of each row, in the order listed.
fn keys(rows: &[LedgerRow]) -> Vec<(EntryKind, i64)> {
    rows.iter()
        .map(|r| {
            let c = r.cursor();
            (c.kind, c.id)
        })
        .collect()
}

/// Three trades and two deposits over three days.
fn sample(store: &Store) -> (Vec<i64>, Vec<i64>) {
    let trades = vec![
        record(store, "AAPL.US", Side::Buy, "2026-01-05T10:00:00.000000"),
        record(store, "ASML.EU", Side::Sell, "2026-01-06T09:00:00.000000"),
        record(store, "aapl.us", Side::Sell, "2026-01-07T12:00:00.000000"),
    ];
    let deposits = vec![
        store
            .record_deposit(eur(50_000), at("2026-01-05T10:00:00"))
            .unwrap()
            .unwrap()
            .id,
        store
            .record_deposit(eur(25_000), at("2026-01-07T08:00:00"))
            .unwrap()
            .unwrap()
            .id,
    ];
    (trades, deposits)
}

#[test]
fn a_deposit_adds_its_cash_and_a_ledger_row_in_one_go() {
    let (_dir, store) = temp_store();
    store.set_cash_balance(eur(1_000)).unwrap();
    let deposit = store
        .record_deposit(eur(50_055), at("2026-01-05T10:00:00"))
        .unwrap()
        .unwrap();
    assert_eq!(deposit.amount, eur(50_055));
    assert_eq!(deposit.deposited_at, "2026-01-05T10:00:00.000000");
    assert_eq!(
        store.cash_balance(Currency::EUR).unwrap(),
        Some(eur(51_055))
    );
    assert_eq!(store.deposits().unwrap(), vec![deposit.clone()]);

    assert!(store.withdraw_deposit(deposit.id).unwrap());
    assert_eq!(store.cash_balance(Currency::EUR).unwrap(), Some(eur(1_000)));
    assert!(store.deposits().unwrap().is_empty());
    assert!(!store.withdraw_deposit(deposit.id).unwrap());
}

#[test]
fn a_zero_deposit_records_nothing_and_a_negative_one_is_refused() {
    let (_dir, store) = temp_store();
    let now = at("2026-01-05T10:00:00");
    assert_eq!(store.record_deposit(eur(0), now).unwrap(), None);
    assert!(matches!(
        store.record_deposit(eur(-1), now),
        Err(StoreError::Invalid { .. })
    ));
    assert!(store.deposits().unwrap().is_empty());
    assert_eq!(store.cash_balance(Currency::EUR).unwrap(), None);
}

#[test]
fn the_ledger_lists_trades_and_deposits_newest_first() {
    let (_dir, store) = temp_store();
    let (t, d) = sample(&store);
    let rows = store
        .ledger_page(&LedgerFilter::default(), None, 100)
        .unwrap();
    // At the same time a trade comes before a deposit.
    assert_eq!(
        keys(&rows),
        vec![
            (EntryKind::Trade, t[2]),
            (EntryKind::Deposit, d[1]),
            (EntryKind::Trade, t[1]),
            (EntryKind::Trade, t[0]),
            (EntryKind::Deposit, d[0]),
        ]
    );
}

#[test]
fn each_filter_keeps_only_the_rows_that_match_it() {
    let (_dir, store) = temp_store();
    let (t, d) = sample(&store);
    let list = |filter: LedgerFilter| keys(&store.ledger_page(&filter, None, 100).unwrap());
    assert_eq!(
        list(LedgerFilter {
            kind: Some(EntryKind::Deposit),
            ..Default::default()
        }),
        vec![(EntryKind::Deposit, d[1]), (EntryKind::Deposit, d[0])]
    );
    assert_eq!(
        list(LedgerFilter {
            kind: Some(EntryKind::Trade),
            ..Default::default()
        }),
        vec![
            (EntryKind::Trade, t[2]),
            (EntryKind::Trade, t[1]),
            (EntryKind::Trade, t[0])
        ]
    );
    // A symbol or a side leaves the deposits out.
    assert_eq!(
        list(LedgerFilter {
            symbol: Some("AAPL.US".into()),
            ..Default::default()
        }),
        vec![(EntryKind::Trade, t[2]), (EntryKind::Trade, t[0])]
    );
    assert_eq!(
        list(LedgerFilter {
            side: Some(Side::Sell),
            ..Default::default()
        }),
        vec![(EntryKind::Trade, t[2]), (EntryKind::Trade, t[1])]
    );
    // Days are inclusive at both ends.
    assert_eq!(
        list(LedgerFilter {
            from: Some(day("2026-01-06")),
            to: Some(day("2026-01-06")),
            ..Default::default()
        }),
        vec![(EntryKind::Trade, t[1])]
    );
    assert_eq!(
        list(LedgerFilter {
            from: Some(day("2026-01-07")),
            ..Default::default()
        }),
        vec![(EntryKind::Trade, t[2]), (EntryKind::Deposit, d[1])]
    );
    assert_eq!(
        list(LedgerFilter {
            to: Some(day("2026-01-05")),
            ..Default::default()
        }),
        vec![(EntryKind::Trade, t[0]), (EntryKind::Deposit, d[0])]
    );
    assert_eq!(
        list(LedgerFilter {
            kind: Some(EntryKind::Deposit),
            symbol: Some("AAPL.US".into()),
            ..Default::default()
        }),
        vec![]
    );
}

#[test]
fn pages_follow_each_other_without_gap_or_repeat() {
    let (_dir, store) = temp_store();
    sample(&store);
    let all = keys(
        &store
            .ledger_page(&LedgerFilter::default(), None, 100)
            .unwrap(),
    );
    let mut walked = Vec::new();
    let mut before = None;
    loop {
        let page = store
            .ledger_page(&LedgerFilter::default(), before.as_ref(), 2)
            .unwrap();
        assert!(page.len() <= 2);
        walked.extend(keys(&page));
        match page.last() {
            Some(last) if page.len() == 2 => before = Some(last.cursor()),
            _ => break,
        }
    }
    assert_eq!(walked, all);
}

#[test]
fn a_paper_fill_keeps_its_fee_with_the_trade() {
    let (_dir, store) = temp_store();
    store
        .replace_securities(
            &[SecurityRecord {
                symbol: "ASML.EU".into(),
                isin: None,
                name: "ASML".into(),
                currency: Currency::EUR,
                country: None,
                industry: None,
                min_lot: 1,
                allow_buy: true,
                allow_sell: true,
                priority_multiplier: 1.0,
                active: true,
            }],
            AllowEmpty::No,
        )
        .unwrap();
    store.set_cash_balance(eur(1_000_000)).unwrap();
    let trade = store
        .apply_paper_fill(&PaperFill {
            symbol: "ASML.EU".into(),
            side: Side::Buy,
            quantity: Quantity::from_shares(1).unwrap(),
            price: dec("690"),
            currency: Currency::EUR,
            fee: eur(207),
            fx_per_eur: None,
            idempotency_key: "k".into(),
            fund_from_eur: None,
            executed_at: at("2026-01-05T10:00:00"),
        })
        .unwrap()
        .into_inner();
    assert_eq!(trade.fee, Some(dec("2.07")));
    assert_eq!(
        store.trade(trade.id).unwrap().unwrap().fee,
        Some(dec("2.07"))
    );
}
