//! Quotes, broker orders, scores, allocation targets, batch metrics and missing securities.

use std::collections::BTreeMap;

use super::test_support::{dec, temp_store};
use super::*;
use crate::domain::{Currency, Quantity, Side};

fn quote(symbol: &str, price: &str) -> QuoteRecord {
    QuoteRecord {
        symbol: symbol.into(),
        price: dec(price),
        currency: Currency::new("USD").unwrap(),
        as_of: "2026-11-20T10:00:00.000000".into(),
        source: "tradernet".into(),
    }
}

#[test]
fn quotes_are_upserted_and_a_bad_batch_writes_nothing() {
    let (_dir, store) = temp_store();
    store
        .put_quotes(&[quote("aapl.us", "195.2"), quote("MSFT.US", "410")])
        .unwrap();
    store.put_quotes(&[quote("AAPL.US", "196")]).unwrap();
    assert_eq!(store.quote("aapl.us").unwrap().unwrap().price, dec("196"));
    assert_eq!(store.quotes().unwrap().len(), 2);

    for bad in [
        vec![quote("NVDA.US", "100"), quote("AAPL.US", "0")],
        vec![quote("NVDA.US", "100"), quote("nvda.us", "101")],
        vec![quote("", "1")],
    ] {
        assert!(store.put_quotes(&bad).is_err(), "{bad:?}");
    }
    assert!(store.quote("NVDA.US").unwrap().is_none());
    assert_eq!(store.quote("AAPL.US").unwrap().unwrap().price, dec("196"));
}

fn order(id: &str, symbol: &str) -> BrokerOrderRecord {
    BrokerOrderRecord {
        broker_id: id.into(),
        symbol: symbol.into(),
        side: Side::Buy,
        quantity: Quantity::from_shares(1).unwrap(),
        price: dec("701"),
        currency: Currency::EUR,
        margin: false,
    }
}

#[test]
fn broker_orders_are_replaced_whole_and_empty_only_when_allowed() {
    let (_dir, store) = temp_store();
    store
        .replace_broker_orders(
            &[order("1", "asml.eu"), order("2", "SAP.EU")],
            AllowEmpty::No,
        )
        .unwrap();
    assert!(matches!(
        store.replace_broker_orders(&[], AllowEmpty::No),
        Err(StoreError::EmptyReplacement { .. })
    ));
    assert!(
        store
            .replace_broker_orders(&[order("3", "X"), order("3", "Y")], AllowEmpty::No)
            .is_err()
    );
    let stored = store.broker_orders().unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].symbol, "ASML.EU");
    store.replace_broker_orders(&[], AllowEmpty::Yes).unwrap();
    assert!(store.broker_orders().unwrap().is_empty());
}

#[test]
fn scores_round_trip_and_refuse_non_finite_numbers() {
    let (_dir, store) = temp_store();
    let components = BTreeMap::from([("long_term".to_string(), 0.74)]);
    let score = ScoreRecord {
        symbol: "aapl.us".into(),
        total_score: 0.712,
        components,
        calculated_at: "2026-11-20T10:00:00.000000".into(),
    };
    store.put_scores(std::slice::from_ref(&score)).unwrap();
    let stored = store.score("AAPL.US").unwrap().unwrap();
    assert_eq!(stored.symbol, "AAPL.US");
    assert_eq!(stored.components, score.components);
    let bad = ScoreRecord {
        total_score: f64::NAN,
        ..score.clone()
    };
    assert!(store.put_scores(&[bad]).is_err());
    assert_eq!(store.scores().unwrap().len(), 1);
    assert_eq!(store.scores().unwrap()[0].total_score, 0.712);
}

fn target(kind: TargetKind, group: &str, value: &str) -> AllocationTarget {
    AllocationTarget {
        kind,
        group: group.into(),
        target: dec(value),
    }
}

#[test]
fn allocation_targets_must_be_fractions_adding_up_to_at_most_one() {
    let (_dir, store) = temp_store();
    let good = [
        target(TargetKind::Country, "EU", "0.5"),
        target(TargetKind::Country, "US", "0.4"),
        target(TargetKind::Industry, "Technology", "0.3"),
    ];
    store
        .replace_allocation_targets(&good, AllowEmpty::No)
        .unwrap();
    for bad in [
        vec![
            target(TargetKind::Country, "EU", "0.7"),
            target(TargetKind::Country, "US", "0.4"),
        ],
        vec![target(TargetKind::Country, "EU", "1.5")],
        vec![target(TargetKind::Country, "EU", "-0.1")],
        vec![
            target(TargetKind::Country, "EU", "0.1"),
            target(TargetKind::Country, "EU", "0.2"),
        ],
    ] {
        assert!(
            store
                .replace_allocation_targets(&bad, AllowEmpty::No)
                .is_err(),
            "{bad:?}"
        );
    }
    assert_eq!(store.allocation_targets().unwrap(), good.to_vec());

    let groups = [
        AllocationGroup {
            kind: TargetKind::Country,
            member: "Germany".into(),
            group: "EU".into(),
        },
        AllocationGroup {
            kind: TargetKind::Industry,
            member: "Germany".into(),
            group: "Odd but allowed".into(),
        },
    ];
    store
        .replace_allocation_groups(&groups, AllowEmpty::No)
        .unwrap();
    let twice = [groups[0].clone(), groups[0].clone()];
    assert!(
        store
            .replace_allocation_groups(&twice, AllowEmpty::No)
            .is_err()
    );
    assert_eq!(store.allocation_groups().unwrap().len(), 2);
}

#[test]
fn a_metric_batch_is_written_whole_or_not_at_all() {
    let (_dir, store) = temp_store();
    let row = |symbol: &str, value: f64| MetricRecord {
        symbol: symbol.into(),
        metric: "CAGR_5Y".into(),
        value,
        calculated_at: "2026-11-20T10:00:00.000000".into(),
        expires_at: None,
        source: "scoring".into(),
    };
    assert!(
        store
            .put_metrics(&[row("AAPL.US", 0.1), row("MSFT.US", f64::INFINITY)])
            .is_err()
    );
    assert!(
        store
            .valid_metrics_now(&["AAPL.US"], &["CAGR_5Y"])
            .unwrap()
            .is_empty()
    );
    store
        .put_metrics(&[row("aapl.us", 0.1), row("MSFT.US", 0.2)])
        .unwrap();
    let stored = store
        .valid_metrics_now(&["AAPL.US", "MSFT.US"], &["CAGR_5Y"])
        .unwrap();
    assert_eq!(stored["AAPL.US"]["CAGR_5Y"], 0.1);
    assert_eq!(stored["MSFT.US"]["CAGR_5Y"], 0.2);
}

#[test]
fn missing_securities_are_added_and_known_ones_left_alone() {
    let (_dir, store) = temp_store();
    let mut known = SecurityRecord::new("AAPL.US", "Apple Inc.", Currency::new("USD").unwrap());
    known.allow_sell = true;
    store.upsert_security(&known).unwrap();
    let stub = SecurityRecord::new("AAPL.US", "AAPL.US", Currency::new("USD").unwrap());
    let new = SecurityRecord::new("SAP.EU", "SAP.EU", Currency::EUR);
    assert_eq!(store.insert_missing_securities(&[stub, new]).unwrap(), 1);
    assert_eq!(store.security("AAPL.US").unwrap().unwrap(), known);
    assert!(store.security("SAP.EU").unwrap().is_some());
}
