use proptest::prelude::*;

use super::*;

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn eur(text: &str) -> Money {
    Money::parse(text, Currency::EUR).unwrap()
}

fn rate(currency: Currency, per_eur: &str) -> FxRate {
    FxRate::new(currency, dec(per_eur)).unwrap()
}

// ---- currency ----

#[test]
fn currency_codes() {
    assert_eq!(Currency::new("usd").unwrap(), Currency::USD);
    assert_eq!(Currency::USD.to_string(), "USD");
    assert_eq!(Currency::new("CHF").unwrap().as_str(), "CHF");
    for bad in ["", "EU", "EURO", "E1R", "€UR", "ÉUR"] {
        assert!(Currency::new(bad).is_err(), "{bad}");
    }
    assert_eq!(Currency::from_legacy_code("TEST").unwrap(), Currency::EUR);
    assert_eq!(Currency::from_legacy_code(" hkd ").unwrap(), Currency::HKD);
    assert_eq!(Currency::new("JPY").unwrap().minor_digits(), 0);
    assert_eq!(Currency::GBP.minor_digits(), 2);
    let json = serde_json::to_string(&Currency::HKD).unwrap();
    assert_eq!(json, "\"HKD\"");
    assert_eq!(
        serde_json::from_str::<Currency>(&json).unwrap(),
        Currency::HKD
    );
}

// ---- decimal ----

#[test]
fn decimal_parses_and_prints_canonically() {
    for (text, canonical) in [
        ("0", "0"),
        ("-0", "0"),
        ("+1.50", "1.5"),
        ("1234.5600", "1234.56"),
        ("0001.0", "1"),
        ("-0.05", "-0.05"),
        ("0.000000000000000001", "0.000000000000000001"),
        ("1.0000000000000000000000000000000000000000", "1"),
        ("99999999999999999999", "99999999999999999999"),
    ] {
        assert_eq!(dec(text).to_string(), canonical, "{text}");
    }
    for bad in [
        "", "-", ".5", "5.", "1e5", "1,5", " 1", "1 ", "--1", "0x10", "NaN", "inf", "1.2.3",
    ] {
        assert!(bad.parse::<Decimal>().is_err(), "{bad:?}");
    }
    assert!(matches!(
        "0.0000000000000000001".parse::<Decimal>(),
        Err(MoneyError::TooPrecise { .. })
    ));
    assert_eq!(
        "100000000000000000000".parse::<Decimal>(),
        Err(MoneyError::Overflow)
    );
    assert_eq!(
        "9".repeat(200).parse::<Decimal>(),
        Err(MoneyError::Overflow)
    );
}

#[test]
fn decimal_values_compare_by_value() {
    assert_eq!(dec("1.10"), dec("1.1"));
    assert!(dec("1.1") > dec("1.09"));
    assert!(dec("-2") < dec("-1.5"));
    assert!(dec("99999999999999999999") > dec("0.000000000000000001"));
}

#[test]
fn decimal_rounds_half_even() {
    assert_eq!(dec("2.345").round_dp(2), dec("2.34"));
    assert_eq!(dec("2.355").round_dp(2), dec("2.36"));
    assert_eq!(dec("2.3451").round_dp(2), dec("2.35"));
    assert_eq!(dec("-2.345").round_dp(2), dec("-2.34"));
    assert_eq!(dec("-2.355").round_dp(2), dec("-2.36"));
    assert_eq!(dec("0.5").round_dp(0), dec("0"));
    assert_eq!(dec("1.5").round_dp(0), dec("2"));
    assert_eq!(dec("1.5").round_dp(3), dec("1.5"));
}

#[test]
fn decimal_from_f64() {
    assert_eq!(Decimal::from_f64(0.1).unwrap(), dec("0.1"));
    assert_eq!(Decimal::from_f64(690.0).unwrap(), dec("690"));
    assert_eq!(Decimal::from_f64(-1.04).unwrap(), dec("-1.04"));
    assert_eq!(
        Decimal::from_f64(1e-19).unwrap(),
        Decimal::ZERO,
        "rounded to 18 places"
    );
    assert_eq!(
        Decimal::from_f64(5e-19).unwrap(),
        Decimal::ZERO,
        "a tie rounds to even"
    );
    assert_eq!(
        Decimal::from_f64(6e-19).unwrap(),
        dec("0.000000000000000001")
    );
    assert_eq!(Decimal::from_f64(f64::NAN), Err(MoneyError::NotFinite));
    assert_eq!(Decimal::from_f64(1e300), Err(MoneyError::Overflow));
    assert_eq!(dec("96.15").to_f64(), 96.15);
}

#[test]
fn decimal_serde_is_a_string() {
    let json = serde_json::to_string(&dec("1.0865")).unwrap();
    assert_eq!(json, "\"1.0865\"");
    assert_eq!(
        serde_json::from_str::<Decimal>(&json).unwrap(),
        dec("1.0865")
    );
    assert!(serde_json::from_str::<Decimal>("\"x\"").is_err());
}

#[test]
fn decimal_mul_rounds_beyond_max_scale() {
    assert_eq!(dec("1.5").checked_mul(dec("2")).unwrap(), dec("3"));
    assert_eq!(
        dec("0.000000001").checked_mul(dec("0.0000000015")).unwrap(),
        dec("0.000000000000000002")
    );
    assert_eq!(
        dec("10000000000").checked_mul(dec("10000000000")),
        Err(MoneyError::Overflow)
    );
}

// ---- money ----

#[test]
fn money_parses_exactly() {
    assert_eq!(eur("1234.56").minor(), 123_456);
    assert_eq!(eur("-0.05").minor(), -5);
    assert_eq!(eur("7").minor(), 700);
    assert_eq!(eur("7.10").to_decimal_string(), "7.10");
    assert_eq!(eur("-0.05").to_string(), "-0.05 EUR");
    assert!(matches!(
        Money::parse("1.005", Currency::EUR),
        Err(MoneyError::TooPrecise { places: 2, .. })
    ));
    let yen = Currency::new("JPY").unwrap();
    assert_eq!(Money::parse("1500", yen).unwrap().minor(), 1500);
    assert_eq!(Money::from_minor(1500, yen).to_decimal_string(), "1500");
    assert!(Money::parse("1500.5", yen).is_err());
    assert_eq!(
        Money::parse("92233720368547758.07", Currency::EUR)
            .unwrap()
            .minor(),
        i64::MAX
    );
    assert_eq!(
        Money::parse("92233720368547758.08", Currency::EUR),
        Err(MoneyError::Overflow)
    );
}

#[test]
fn money_rounds_half_even() {
    let round = |text| {
        Money::from_decimal_rounded(dec(text), Currency::EUR)
            .unwrap()
            .minor()
    };
    assert_eq!(round("1.005"), 100);
    assert_eq!(round("1.015"), 102);
    assert_eq!(round("1.0051"), 101);
    assert_eq!(round("-1.005"), -100);
}

#[test]
fn money_arithmetic_is_checked() {
    assert_eq!(eur("1.10").checked_add(eur("2.20")).unwrap(), eur("3.30"));
    assert_eq!(eur("1.10").checked_sub(eur("2.20")).unwrap(), eur("-1.10"));
    let max = Money::from_minor(i64::MAX, Currency::EUR);
    assert_eq!(
        max.checked_add(Money::from_minor(1, Currency::EUR)),
        Err(MoneyError::Overflow)
    );
    assert_eq!(
        Money::from_minor(i64::MIN, Currency::EUR).checked_neg(),
        Err(MoneyError::Overflow)
    );
    assert_eq!(
        eur("1").checked_add(Money::from_minor(100, Currency::USD)),
        Err(MoneyError::CurrencyMismatch {
            expected: Currency::EUR,
            found: Currency::USD
        })
    );
    let total = Money::sum(Currency::EUR, [eur("0.10"), eur("0.20"), eur("0.30")]).unwrap();
    assert_eq!(total, eur("0.60"));
    assert_eq!(Money::sum(Currency::EUR, []).unwrap(), eur("0"));
}

#[test]
fn trade_value_is_price_times_quantity() {
    let value = Money::from_price_quantity(
        dec("123.455"),
        Quantity::from_shares(3).unwrap(),
        Currency::USD,
    )
    .unwrap();
    assert_eq!(value, Money::parse("370.36", Currency::USD).unwrap());
    let fractional =
        Money::from_price_quantity(dec("690"), "0.5".parse().unwrap(), Currency::EUR).unwrap();
    assert_eq!(fractional, eur("345"));
}

#[test]
fn quantity_is_never_negative() {
    assert!(Quantity::from_shares(-1).is_err());
    assert!("-0.5".parse::<Quantity>().is_err());
    assert_eq!("2.50".parse::<Quantity>().unwrap().to_string(), "2.5");
    assert!(Quantity::ZERO.is_zero());
}

// ---- FX ----

#[test]
fn fx_direction_follows_the_reference() {
    // 1 EUR = 1.04 USD, so 100 USD = 96.15 EUR (external-contracts §8.9).
    let usd = rate(Currency::USD, "1.04");
    let hundred = Money::parse("100", Currency::USD).unwrap();
    assert_eq!(usd.to_eur(hundred).unwrap(), eur("96.15"));
    assert_eq!(to_eur(hundred, usd).unwrap(), eur("96.15"));
    assert_eq!(
        usd.from_eur(eur("96.15")).unwrap(),
        Money::parse("100.00", Currency::USD).unwrap()
    );
    assert_eq!(
        from_eur(eur("10"), rate(Currency::HKD, "8.33")).unwrap(),
        Money::parse("83.30", Currency::HKD).unwrap()
    );
    // A rate of 2 halves the EUR amount and doubles the foreign one.
    let two = rate(Currency::GBP, "2");
    assert_eq!(
        two.to_eur(Money::parse("10", Currency::GBP).unwrap())
            .unwrap(),
        eur("5")
    );
    assert_eq!(
        two.from_eur(eur("5")).unwrap(),
        Money::parse("10", Currency::GBP).unwrap()
    );
}

#[test]
fn fx_checks_currencies_and_rates() {
    let usd = rate(Currency::USD, "1.04");
    assert_eq!(
        usd.to_eur(eur("1")),
        Err(MoneyError::CurrencyMismatch {
            expected: Currency::USD,
            found: Currency::EUR
        })
    );
    assert!(matches!(
        usd.from_eur(Money::from_minor(1, Currency::USD)),
        Err(MoneyError::CurrencyMismatch { .. })
    ));
    assert!(FxRate::new(Currency::USD, Decimal::ZERO).is_err());
    assert!(FxRate::new(Currency::USD, dec("-1.04")).is_err());
    assert!(FxRate::new(Currency::EUR, dec("1.04")).is_err());
    assert_eq!(
        FxRate::new(Currency::EUR, dec("1.00")).unwrap(),
        FxRate::eur()
    );
    assert_eq!(FxRate::eur().to_eur(eur("12.34")).unwrap(), eur("12.34"));
}

#[test]
fn fx_between_minor_unit_sizes() {
    let yen = Currency::new("JPY").unwrap();
    let jpy = rate(yen, "160.5");
    assert_eq!(
        jpy.to_eur(Money::from_minor(16_050, yen)).unwrap(),
        eur("100")
    );
    assert_eq!(jpy.from_eur(eur("1")).unwrap(), Money::from_minor(160, yen));
    let dinar = Currency::new("KWD").unwrap();
    let kwd = rate(dinar, "0.335");
    assert_eq!(
        kwd.from_eur(eur("1")).unwrap(),
        Money::from_minor(335, dinar)
    );
    assert_eq!(kwd.to_eur(Money::from_minor(335, dinar)).unwrap(), eur("1"));
}

#[test]
fn fx_errors_instead_of_overflowing() {
    let huge = rate(Currency::USD, "0.000000000000000001");
    assert_eq!(
        huge.to_eur(Money::from_minor(i64::MAX, Currency::USD)),
        Err(MoneyError::Overflow)
    );
    let big = rate(Currency::USD, "99999999999999999999");
    assert_eq!(
        big.from_eur(Money::from_minor(i64::MAX, Currency::EUR)),
        Err(MoneyError::Overflow)
    );
}

// ---- properties ----

fn any_decimal() -> impl Strategy<Value = Decimal> {
    (-(10i128.pow(20) - 1)..10i128.pow(20), 0u32..=MAX_SCALE)
        .prop_filter_map("in range", |(m, s)| Decimal::new(m, s).ok())
}

fn any_currency() -> impl Strategy<Value = Currency> {
    prop_oneof![
        Just(Currency::EUR),
        Just(Currency::USD),
        Just(Currency::GBP),
        Just(Currency::HKD),
        Just(Currency::new("JPY").unwrap()),
        Just(Currency::new("KWD").unwrap()),
    ]
}

/// Positive rates with 6 decimals, between 0.000001 and 10000.
fn any_rate_decimal() -> impl Strategy<Value = Decimal> {
    (1i128..=10_000_000_000).prop_map(|m| Decimal::new(m, 6).unwrap())
}

/// Amounts up to 10^12 minor units (ten billion euros), so that every conversion fits.
fn amount() -> impl Strategy<Value = i64> {
    -1_000_000_000_000i64..1_000_000_000_000
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decimal_format_parse_round_trips(d in any_decimal()) {
        let text = d.to_string();
        prop_assert_eq!(text.parse::<Decimal>().unwrap(), d);
        // Canonical text is stable.
        prop_assert_eq!(text.parse::<Decimal>().unwrap().to_string(), text);
    }

    #[test]
    fn decimal_parse_format_keeps_the_value(int in 0u64..1_000_000_000, frac in "[0-9]{0,18}", neg: bool) {
        let text = if frac.is_empty() { format!("{int}") } else { format!("{int}.{frac}") };
        let text = if neg { format!("-{text}") } else { text };
        let d: Decimal = text.parse().unwrap();
        // The canonical form drops only trailing zeros (and the point, and a minus on zero).
        let trimmed = if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            text.clone()
        };
        let expected = if d.is_zero() { "0".to_string() } else { trimmed };
        prop_assert_eq!(d.to_string(), expected);
    }

    #[test]
    fn decimal_add_sub_are_exact(a in any_decimal(), b in any_decimal()) {
        match a.checked_add(b) {
            Ok(sum) => {
                prop_assert_eq!(sum.checked_sub(b).unwrap(), a);
                prop_assert_eq!(b.checked_add(a).unwrap(), sum);
                prop_assert_eq!(sum.aligned(), a.aligned() + b.aligned());
            }
            Err(e) => prop_assert_eq!(e, MoneyError::Overflow),
        }
    }

    #[test]
    fn money_format_parse_round_trips(minor: i64, currency in any_currency()) {
        let money = Money::from_minor(minor, currency);
        prop_assert_eq!(Money::parse(&money.to_decimal_string(), currency).unwrap(), money);
        prop_assert_eq!(Money::from_decimal_exact(money.to_decimal(), currency).unwrap(), money);
    }

    #[test]
    fn money_add_is_associative_and_exact(a: i64, b: i64, c: i64) {
        let m = |x| Money::from_minor(x, Currency::EUR);
        let exact = i128::from(a) + i128::from(b) + i128::from(c);
        let left = m(a).checked_add(m(b)).and_then(|ab| ab.checked_add(m(c)));
        let right = m(b).checked_add(m(c)).and_then(|bc| m(a).checked_add(bc));
        if let (Ok(l), Ok(r)) = (&left, &right) {
            prop_assert_eq!(l, r);
            prop_assert_eq!(i128::from(l.minor()), exact);
        }
        // Whenever the exact sum fits, at least one grouping succeeds, and none gives a wrong value.
        if i64::try_from(exact).is_ok() && i64::try_from(i128::from(a) + i128::from(b)).is_ok() {
            prop_assert_eq!(i128::from(left.unwrap().minor()), exact);
        }
        match m(a).checked_sub(m(b)) {
            Ok(d) => prop_assert_eq!(i128::from(d.minor()), i128::from(a) - i128::from(b)),
            Err(e) => {
                prop_assert_eq!(e, MoneyError::Overflow);
                prop_assert!(i64::try_from(i128::from(a) - i128::from(b)).is_err());
            }
        }
    }

    #[test]
    fn fx_round_trip_stays_within_rounding(minor in amount(), per_eur in any_rate_decimal(), currency in any_currency()) {
        prop_assume!(currency != Currency::EUR);
        let fx = FxRate::new(currency, per_eur).unwrap();
        let r = per_eur.to_f64();
        // Each conversion rounds by at most half a minor unit of its target; the first
        // rounding is scaled by the rate (or its inverse) on the way back, and minor-unit
        // sizes differ by 10^(digits - 2).
        let unit_ratio = 10f64.powi(currency.minor_digits() as i32 - 2);

        // EUR -> foreign -> EUR.
        let e = Money::from_minor(minor, Currency::EUR);
        let back = fx.to_eur(fx.from_eur(e).unwrap()).unwrap();
        let bound = 0.5 / (r * unit_ratio) + 0.5;
        prop_assert!(((back.minor() - minor) as f64).abs() <= bound + 1e-9,
            "{} -> {} (rate {})", e, back, per_eur);
        if r * unit_ratio >= 1.0 {
            prop_assert!((back.minor() - minor).abs() <= 1);
        }

        // foreign -> EUR -> foreign.
        let f = Money::from_minor(minor, currency);
        let back = fx.from_eur(fx.to_eur(f).unwrap()).unwrap();
        let bound = 0.5 * r * unit_ratio + 0.5;
        prop_assert!(((back.minor() - minor) as f64).abs() <= bound + 1e-9,
            "{} -> {} (rate {})", f, back, per_eur);
        if r * unit_ratio <= 1.0 {
            prop_assert!((back.minor() - minor).abs() <= 1);
        }
    }

    #[test]
    fn fx_direction_property(minor in amount(), per_eur in any_rate_decimal()) {
        let fx = FxRate::new(Currency::USD, per_eur).unwrap();
        let usd = Money::from_minor(minor, Currency::USD);
        let in_eur = fx.to_eur(usd).unwrap();
        // |EUR| <= |USD| exactly when 1 EUR buys at least 1 USD.
        if per_eur >= Decimal::ONE {
            prop_assert!(in_eur.minor().abs() <= usd.minor().abs());
        } else {
            prop_assert!(in_eur.minor().abs() >= usd.minor().abs());
        }
        let doubled = FxRate::new(Currency::USD, per_eur.checked_mul(Decimal::from_i64(2)).unwrap()).unwrap();
        // Doubling the rate halves the EUR amount (up to the two roundings).
        let half = doubled.to_eur(usd).unwrap();
        prop_assert!((2 * half.minor() - in_eur.minor()).abs() <= 2);
    }

    #[test]
    fn never_panics_on_large_inputs(minor: i64, m: i128, s in 0u32..60, text in "\\PC{0,60}") {
        let _ = text.parse::<Decimal>();
        let _ = Money::parse(&text, Currency::EUR);
        let _ = Currency::new(&text);
        if let Ok(d) = Decimal::new(m, s) {
            let _ = d.to_string();
            let _ = d.round_dp(s % 19);
            let _ = d.checked_mul(d);
            let _ = d.checked_add(d);
            let _ = Money::from_decimal_rounded(d, Currency::EUR);
            if let Ok(fx) = FxRate::new(Currency::USD, d) {
                let _ = fx.to_eur(Money::from_minor(minor, Currency::USD));
                let _ = fx.from_eur(Money::from_minor(minor, Currency::EUR));
            }
        }
    }

    #[test]
    fn decimal_digit_strings_never_panic(text in "[-+]?[0-9]{0,45}(\\.[0-9]{0,45})?") {
        if let Ok(d) = text.parse::<Decimal>() {
            prop_assert_eq!(d.to_string().parse::<Decimal>().unwrap(), d);
        }
    }
}

#[test]
fn division_rounds_half_even_to_the_places_asked() {
    let d = |t: &str| t.parse::<Decimal>().unwrap();
    assert_eq!(d("10").checked_div(d("4"), 1).unwrap(), d("2.5"));
    assert_eq!(d("10").checked_div(d("4"), 0).unwrap(), d("2"));
    assert_eq!(d("1").checked_div(d("3"), 6).unwrap(), d("0.333333"));
    assert_eq!(d("-1").checked_div(d("0.3"), 2).unwrap(), d("-3.33"));
    assert_eq!(d("1.5").checked_div(d("-0.5"), 4).unwrap(), d("-3"));
    assert_eq!(
        d("1").checked_div(d("0"), 2),
        Err(MoneyError::DivisionByZero)
    );
}

proptest! {
    #[test]
    fn division_undoes_multiplication(a in -1_000_000i64..1_000_000, b in 1i64..100_000) {
        let (a, b) = (Decimal::from_i64(a), Decimal::from_i64(b));
        let product = a.checked_mul(b).unwrap();
        prop_assert_eq!(product.checked_div(b, 6).unwrap(), a);
    }
}
