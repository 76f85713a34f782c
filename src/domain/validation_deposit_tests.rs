//! Deposits are money input from the LAN: whatever number arrives, [`deposit_amount`] gives
//! a whole number of cents within the bound or one error naming the field.

use proptest::prelude::*;
use serde_json::json;

use super::{MAX_DEPOSIT_EUR, deposit_amount};
use crate::domain::{Currency, Money};

const LOC: [&str; 2] = ["body", "deposit_amount"];

/// Any number a JSON parser or a client could hand over, the awkward ones weighted up.
fn any_amount() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
        Just(MAX_DEPOSIT_EUR),
        Just(9.2e16),
        Just(92_233_720_368_547_750.0),
        -1e12f64..1e12,
        (MAX_DEPOSIT_EUR..MAX_DEPOSIT_EUR * 2.0),
    ]
}

/// A valid deposit: a whole number of cents from one cent up to the bound.
fn valid_cents() -> impl Strategy<Value = i64> {
    1i64..=(MAX_DEPOSIT_EUR as i64) * 100
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn a_deposit_out_of_range_is_refused_naming_the_field_and_one_in_range_is_accepted(
        amount in any_amount()
    ) {
        match deposit_amount(&LOC, Some(amount)) {
            Ok(None) => prop_assert_eq!(amount, 0.0),
            Ok(Some(money)) => {
                prop_assert!(amount.is_finite() && amount > 0.0 && amount <= MAX_DEPOSIT_EUR,
                    "{} accepted", amount);
                prop_assert_eq!(money.currency(), Currency::EUR);
                // Rounded to the cent, never more than half a cent away.
                prop_assert!((money.minor() as f64 / 100.0 - amount).abs() <= 0.005 + 1e-6,
                    "{} became {}", amount, money);
            }
            Err(errors) => {
                prop_assert!(!(amount.is_finite() && (0.0..=MAX_DEPOSIT_EUR).contains(&amount)),
                    "{} refused: {:?}", amount, errors);
                prop_assert_eq!(errors.len(), 1);
                prop_assert_eq!(&errors[0].loc, &vec![json!("body"), json!("deposit_amount")]);
            }
        }
    }

    #[test]
    fn a_valid_deposit_is_exactly_its_cents(cents in valid_cents()) {
        let amount = cents as f64 / 100.0;
        let money = deposit_amount(&LOC, Some(amount)).unwrap().unwrap();
        prop_assert_eq!(money, Money::from_minor(cents, Currency::EUR));
    }
}
