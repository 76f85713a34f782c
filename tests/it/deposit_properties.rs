//! The deposit of a trading cycle through its route: a valid amount is added to the EUR cash
//! and recorded in the ledger to the cent; any amount out of range is a 422 naming
//! `deposit_amount`, with nothing written and no cycle run. (The validation function's own
//! properties are unit tests beside it.)

use std::sync::Arc;

use proptest::prelude::*;
use trading_planner::config::Config;
use trading_planner::domain::{Currency, Money};
use trading_planner::gateway::{AppState, router};
use trading_planner::store::Store;

use crate::common::call;

/// The bound of a deposit in EUR (documented with the route).
const MAX_DEPOSIT_EUR: f64 = 1e9;

/// Amounts out of range as JSON carries them: negative, beyond the bound, or beyond an f64
/// (how a client sends "infinity").
fn invalid_amount() -> impl Strategy<Value = String> {
    prop_oneof![
        (-1e300f64..-1e-300).prop_map(|a| format!("{a:e}")),
        (MAX_DEPOSIT_EUR * (1.0 + 1e-12)..1e300).prop_map(|a| format!("{a:e}")),
        Just("9.2e16".to_string()),
        Just("92233720368547750".to_string()),
        Just("1e999".to_string()),
        Just("-1e999".to_string()),
        Just("-0.01".to_string()),
        Just("1000000000.01".to_string()),
    ]
}

fn app() -> (tempfile::TempDir, Arc<Store>, axum::Router) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("t.db")).unwrap());
    let state = AppState::new(Config::default(), Arc::clone(&store)).unwrap();
    (dir, store, router(Arc::new(state)))
}

/// Planning runs recorded so far (ids count up from 1).
fn runs(store: &Store) -> usize {
    (1..)
        .take_while(|id| store.planning_run(*id).unwrap().is_some())
        .count()
}

proptest! {
    // Each case runs a trading cycle through the route; fewer cases keep it quick.
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn a_deposit_through_the_route_adds_its_cents_to_the_stored_cash_or_changes_nothing(
        start_cents in 0i64..1_000_000_000,
        valid in 1i64..=100_000_000_000,
        text in invalid_amount(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let (_dir, store, app) = app();
            store.set_cash_balance(Money::from_minor(start_cents, Currency::EUR)).unwrap();

            let (status, answer) = call(&app, "POST", "/gateway/trading-cycle",
                format!(r#"{{"deposit_amount": {text}}}"#)).await;
            prop_assert_eq!(status, 422, "{}: {}", text, answer);
            // A number beyond an f64 is no number to JSON's decoder, so it is reported as
            // malformed JSON at its position; every other one names the field.
            if !text.contains("e999") {
                prop_assert!(answer.to_string().contains("deposit_amount"), "{}", answer);
            }
            prop_assert_eq!(store.cash_balances().unwrap(),
                vec![Money::from_minor(start_cents, Currency::EUR)], "{} was written", text);
            prop_assert_eq!(runs(&store), 0, "{} started a cycle", text);
            prop_assert!(store.deposits().unwrap().is_empty(), "{} reached the ledger", text);

            let amount = valid as f64 / 100.0;
            let (status, answer) = call(&app, "POST", "/gateway/trading-cycle",
                format!(r#"{{"deposit_amount": {amount}}}"#)).await;
            prop_assert_eq!(status, 200, "{}", answer);
            prop_assert_eq!(store.cash_balance(Currency::EUR).unwrap(),
                Some(Money::from_minor(start_cents + valid, Currency::EUR)));
            // The ledger has the deposit to the cent, as the cash has it.
            let deposits: Vec<Money> = store.deposits().unwrap().iter().map(|d| d.amount).collect();
            prop_assert_eq!(deposits, vec![Money::from_minor(valid, Currency::EUR)]);
            Ok(())
        })?;
    }
}
