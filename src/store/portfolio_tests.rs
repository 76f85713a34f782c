use tempfile::TempDir;

use super::test_support::{dec, temp_store};
use super::*;
use crate::domain::{Currency, FxRate, Money, Quantity};

fn security(symbol: &str, currency: Currency) -> SecurityRecord {
    SecurityRecord::new(symbol, &format!("{symbol} Inc"), currency)
}

fn position(symbol: &str, quantity: &str, avg_price: &str) -> PositionRecord {
    PositionRecord {
        symbol: symbol.to_string(),
        quantity: quantity.parse::<Quantity>().unwrap(),
        avg_price: dec(avg_price),
        currency: Currency::USD,
    }
}

fn seeded() -> (TempDir, Store) {
    let (dir, store) = temp_store();
    store
        .replace_securities(
            &[
                security("AAPL.US", Currency::USD),
                security("MSFT.US", Currency::USD),
                security("ASML.EU", Currency::EUR),
            ],
            AllowEmpty::No,
        )
        .unwrap();
    (dir, store)
}

#[test]
fn migrations_are_idempotent_and_the_schema_is_sound() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("planner.db");
    for _ in 0..3 {
        let store = Store::open(&path).unwrap();
        store
            .read(|conn| {
                let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
                assert_eq!(version, super::MIGRATIONS.len());
                let check: String =
                    conn.pragma_query_value(None, "integrity_check", |r| r.get(0))?;
                assert_eq!(check, "ok");
                let fk_errors: i64 =
                    conn.query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
                        r.get(0)
                    })?;
                assert_eq!(fk_errors, 0);
                for table in [
                    "securities",
                    "positions",
                    "cash_balances",
                    "fx_rates",
                    "security_scores",
                    "trades",
                    "pending_orders",
                    "settings",
                    "plans",
                    "plan_steps",
                    "planning_runs",
                    "upstream_status",
                    "data_freshness",
                ] {
                    let n: i64 = conn.query_row(
                        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                        [table],
                        |r| r.get(0),
                    )?;
                    assert_eq!(n, 1, "{table}");
                }
                // No money column is REAL.
                let real_money: i64 = conn.query_row(
                    "SELECT COUNT(*) FROM sqlite_master m, pragma_table_info(m.name) c \
                     WHERE m.type = 'table' AND c.type = 'REAL' \
                     AND (c.name LIKE '%price%' OR c.name LIKE '%amount%' OR c.name LIKE '%per_eur%' \
                          OR c.name LIKE '%value_eur%' OR c.name = 'quantity')",
                    [],
                    |r| r.get(0),
                )?;
                assert_eq!(real_money, 0);
                Ok(())
            })
            .unwrap();
    }
}

#[test]
fn securities_round_trip_and_replace_deactivates_missing() {
    let (_dir, store) = seeded();
    let mut aapl = security("aapl.us", Currency::USD);
    aapl.isin = Some("US0378331005".into());
    aapl.country = Some("United States".into());
    aapl.industry = Some("Tech, Hardware".into());
    aapl.min_lot = 0;
    aapl.allow_sell = true;
    aapl.priority_multiplier = 1.5;
    store
        .replace_securities(
            &[aapl.clone(), security("NEW.US", Currency::USD)],
            AllowEmpty::No,
        )
        .unwrap();

    let stored = store.security("AAPL.us").unwrap().unwrap();
    assert_eq!(
        stored,
        SecurityRecord {
            symbol: "AAPL.US".into(),
            min_lot: 1,
            ..aapl
        }
    );
    let all = store.securities().unwrap();
    let active: Vec<(&str, bool)> = all.iter().map(|s| (s.symbol.as_str(), s.active)).collect();
    assert_eq!(
        active,
        [
            ("AAPL.US", true),
            ("ASML.EU", false),
            ("MSFT.US", false),
            ("NEW.US", true)
        ]
    );
    assert_eq!(store.security("NOPE").unwrap(), None);
}

#[test]
fn securities_refuse_empty_duplicates_and_bad_rows() {
    let (_dir, store) = seeded();
    assert!(matches!(
        store.replace_securities(&[], AllowEmpty::No),
        Err(StoreError::EmptyReplacement { .. })
    ));
    assert!(matches!(
        store.replace_securities(
            &[
                security("A.US", Currency::USD),
                security("a.us", Currency::USD)
            ],
            AllowEmpty::No
        ),
        Err(StoreError::Invalid { .. })
    ));
    let mut bad = security("B.US", Currency::USD);
    bad.priority_multiplier = f64::NAN;
    assert!(store.upsert_security(&bad).is_err());
    assert!(store.securities().unwrap().iter().all(|s| s.active));
    assert_eq!(store.securities().unwrap().len(), 3);
}

#[test]
fn positions_round_trip_exactly() {
    let (_dir, store) = seeded();
    let positions = vec![
        position("aapl.us", "10", "187.125"),
        position("MSFT.US", "0.5", "401.1"),
    ];
    store.replace_positions(&positions, AllowEmpty::No).unwrap();
    let stored = store.positions().unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].symbol, "AAPL.US");
    assert_eq!(stored[0].avg_price, dec("187.125"));
    assert_eq!(stored[1].quantity, "0.5".parse().unwrap());
    let text: String = store
        .read(|c| {
            Ok(c.query_row(
                "SELECT avg_price FROM positions WHERE symbol = 'MSFT.US'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(text, "401.1");
}

#[test]
fn positions_replace_is_all_or_nothing() {
    let (_dir, store) = seeded();
    let good = vec![
        position("AAPL.US", "10", "150"),
        position("MSFT.US", "3", "300"),
    ];
    store.replace_positions(&good, AllowEmpty::No).unwrap();

    // The second row names an unknown security: the foreign key fails mid-way.
    let failing = vec![
        position("ASML.EU", "1", "690"),
        position("UNKNOWN.US", "1", "1"),
    ];
    assert!(matches!(
        store.replace_positions(&failing, AllowEmpty::No),
        Err(StoreError::Sqlite(_))
    ));
    assert_eq!(store.positions().unwrap(), store_positions(&good));

    // Duplicates are refused before writing.
    let dup = vec![
        position("ASML.EU", "1", "690"),
        position("asml.eu", "2", "690"),
    ];
    assert!(matches!(
        store.replace_positions(&dup, AllowEmpty::No),
        Err(StoreError::Invalid { .. })
    ));
    assert_eq!(store.positions().unwrap(), store_positions(&good));
}

fn store_positions(positions: &[PositionRecord]) -> Vec<PositionRecord> {
    let mut out = positions.to_vec();
    out.sort_by(|a, b| a.symbol.cmp(&b.symbol));
    out
}

#[test]
fn empty_positions_are_refused_unless_allowed() {
    let (_dir, store) = seeded();
    store
        .replace_positions(&[position("AAPL.US", "1", "1")], AllowEmpty::No)
        .unwrap();
    assert!(matches!(
        store.replace_positions(&[], AllowEmpty::No),
        Err(StoreError::EmptyReplacement { what: "positions" })
    ));
    assert_eq!(store.positions().unwrap().len(), 1);
    store.replace_positions(&[], AllowEmpty::Yes).unwrap();
    assert!(store.positions().unwrap().is_empty());
}

#[test]
fn the_database_refuses_negative_quantities_and_prices() {
    let (_dir, store) = seeded();
    for (quantity, price) in [("'-1'", "'1'"), ("'1'", "NULL"), ("'1'", "'-2'")] {
        let sql =
            format!("INSERT INTO positions VALUES ('AAPL.US', {quantity}, {price}, 'USD', 'now')");
        let result = store.write(|c| Ok(c.execute(&sql, [])?));
        assert!(result.is_err(), "{sql}");
    }
}

#[test]
fn cash_balances_round_trip() {
    let (_dir, store) = temp_store();
    let eur = Money::parse("1234.56", Currency::EUR).unwrap();
    let usd = Money::parse("-10.05", Currency::USD).unwrap();
    store.set_cash_balance(eur).unwrap();
    store.set_cash_balance(usd).unwrap();
    assert_eq!(store.cash_balance(Currency::EUR).unwrap(), Some(eur));
    assert_eq!(store.cash_balance(Currency::GBP).unwrap(), None);
    assert_eq!(store.cash_balances().unwrap(), vec![eur, usd]);

    let gbp = Money::parse("5", Currency::GBP).unwrap();
    store.replace_cash_balances(&[gbp], AllowEmpty::No).unwrap();
    assert_eq!(store.cash_balances().unwrap(), vec![gbp]);
    assert!(matches!(
        store.replace_cash_balances(&[], AllowEmpty::No),
        Err(StoreError::EmptyReplacement { .. })
    ));
    assert!(matches!(
        store.replace_cash_balances(&[eur, eur], AllowEmpty::No),
        Err(StoreError::Invalid { .. })
    ));
    assert_eq!(store.cash_balances().unwrap(), vec![gbp]);
}

#[test]
fn fx_rates_round_trip_exactly() {
    let (_dir, store) = temp_store();
    let usd = FxRate::new(Currency::USD, dec("1.0865")).unwrap();
    let hkd = FxRate::new(Currency::HKD, dec("8.4712345")).unwrap();
    store.set_fx_rate(usd).unwrap();
    store.set_fx_rate(hkd).unwrap();
    assert_eq!(store.fx_rate(Currency::USD).unwrap(), Some(usd));
    assert_eq!(store.fx_rate(Currency::EUR).unwrap(), Some(FxRate::eur()));
    assert_eq!(store.fx_rate(Currency::GBP).unwrap(), None);
    assert_eq!(store.fx_rates().unwrap(), vec![hkd, usd]);
    let updated = FxRate::new(Currency::USD, dec("1.04")).unwrap();
    store.set_fx_rate(updated).unwrap();
    assert_eq!(store.fx_rate(Currency::USD).unwrap(), Some(updated));
    // 100 USD at the stored rate is 96.15 EUR.
    let stored = store.fx_rate(Currency::USD).unwrap().unwrap();
    assert_eq!(
        stored
            .to_eur(Money::parse("100", Currency::USD).unwrap())
            .unwrap(),
        Money::parse("96.15", Currency::EUR).unwrap()
    );
}

#[test]
fn a_corrupt_stored_decimal_is_an_error_not_a_panic() {
    let (_dir, store) = temp_store();
    store
        .write(|c| {
            c.execute(
                "INSERT INTO fx_rates (currency, per_eur, updated_at) VALUES ('USD', '1,04', 'now')",
                [],
            )?;
            Ok(())
        })
        .unwrap();
    assert!(store.fx_rate(Currency::USD).is_err());
    assert!(store.fx_rates().is_err());
}
