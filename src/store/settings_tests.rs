use super::test_support::temp_store;
use super::*;
use crate::domain::{Currency, Decimal, Money};

#[test]
fn defaults_when_absent() {
    let (_dir, store) = temp_store();
    assert_eq!(store.trading_mode().unwrap(), TradingMode::Research);
    assert_eq!(
        store.eur_setting(keys::TRANSACTION_COST_FIXED).unwrap(),
        Money::parse("2", Currency::EUR).unwrap()
    );
    assert_eq!(
        store.ratio_setting(keys::TRANSACTION_COST_PERCENT).unwrap(),
        "0.002".parse::<Decimal>().unwrap()
    );
    assert_eq!(
        store.eur_setting(keys::MIN_CASH_RESERVE).unwrap(),
        Money::parse("500", Currency::EUR).unwrap()
    );
    assert_eq!(store.count_setting(keys::BUY_COOLDOWN_DAYS).unwrap(), 14);
    assert_eq!(store.count_setting(keys::SELL_COOLDOWN_DAYS).unwrap(), 14);
    assert_eq!(store.count_setting(keys::MIN_HOLD_DAYS).unwrap(), 90);
    assert!(
        store
            .flag_setting(keys::ENABLE_COMBINATORIAL_GENERATION)
            .unwrap()
    );
    assert!(!store.flag_setting(keys::ENABLE_MONTE_CARLO_PATHS).unwrap());
    assert_eq!(
        store.ratio_setting(keys::MAX_LOSS_THRESHOLD).unwrap(),
        "-0.5".parse::<Decimal>().unwrap()
    );
}

#[test]
fn reference_text_values_read_as_typed() {
    let (_dir, store) = temp_store();
    // Rows as the reference's config.db holds them.
    for (key, value) in [
        ("transaction_cost_fixed", "2.0"),
        ("transaction_cost_percent", "0.002"),
        ("min_cash_reserve", "500.0"),
        ("trading_mode", "live"),
        ("buy_cooldown_days", "45.0"),
        ("enable_monte_carlo_paths", "1.0"),
    ] {
        store.set_setting(key, value).unwrap();
    }
    assert_eq!(store.trading_mode().unwrap(), TradingMode::Live);
    assert_eq!(
        store.eur_setting(keys::MIN_CASH_RESERVE).unwrap().minor(),
        50_000
    );
    assert_eq!(store.count_setting(keys::BUY_COOLDOWN_DAYS).unwrap(), 45);
    assert!(store.flag_setting(keys::ENABLE_MONTE_CARLO_PATHS).unwrap());
    assert_eq!(
        store.setting("trading_mode").unwrap().as_deref(),
        Some("live")
    );
    assert_eq!(store.settings().unwrap().len(), 6);
}

#[test]
fn typed_setters_round_trip() {
    let (_dir, store) = temp_store();
    store.set_trading_mode(TradingMode::Live).unwrap();
    store.set_count_setting(keys::BEAM_WIDTH, 25).unwrap();
    store
        .set_eur_setting(
            keys::TRANSACTION_COST_FIXED,
            Money::parse("5.5", Currency::EUR).unwrap(),
        )
        .unwrap();
    store
        .set_flag_setting(keys::ENABLE_COMBINATORIAL_GENERATION, false)
        .unwrap();
    store
        .set_ratio_setting(keys::TRANSACTION_COST_PERCENT, "0.001".parse().unwrap())
        .unwrap();
    assert_eq!(store.trading_mode().unwrap(), TradingMode::Live);
    assert_eq!(store.count_setting(keys::BEAM_WIDTH).unwrap(), 25);
    assert_eq!(
        store.setting("transaction_cost_fixed").unwrap().as_deref(),
        Some("5.50")
    );
    assert_eq!(
        store
            .setting("enable_combinatorial_generation")
            .unwrap()
            .as_deref(),
        Some("0.0")
    );
    assert!(
        !store
            .flag_setting(keys::ENABLE_COMBINATORIAL_GENERATION)
            .unwrap()
    );
    assert_eq!(
        store.ratio_setting(keys::TRANSACTION_COST_PERCENT).unwrap(),
        "0.001".parse::<Decimal>().unwrap()
    );
    assert!(
        store
            .set_eur_setting(
                keys::MIN_CASH_RESERVE,
                Money::parse("1", Currency::USD).unwrap()
            )
            .is_err()
    );
}

#[test]
fn malformed_values_are_errors() {
    let (_dir, store) = temp_store();
    store.set_setting("buy_cooldown_days", "thirty").unwrap();
    store.set_setting("max_plan_depth", "5.5").unwrap();
    store.set_setting("trading_mode", "yolo").unwrap();
    assert!(matches!(
        store.count_setting(keys::BUY_COOLDOWN_DAYS),
        Err(StoreError::Corrupt { .. })
    ));
    assert!(store.count_setting(keys::MAX_PLAN_DEPTH).is_err());
    assert!(store.trading_mode().is_err());
    assert!(store.set_setting("", "x").is_err());
}
