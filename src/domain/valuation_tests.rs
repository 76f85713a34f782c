use super::*;

fn holding(symbol: &str, shares: i64, avg: &str, currency: &str) -> Holding {
    Holding {
        symbol: symbol.into(),
        quantity: Quantity::from_shares(shares).unwrap(),
        avg_price: avg.parse().unwrap(),
        currency: currency.parse().unwrap(),
    }
}

fn listing(country: Option<&str>, industry: Option<&str>) -> Listing {
    Listing {
        name: "Name".into(),
        country: country.map(String::from),
        industry: industry.map(String::from),
    }
}

/// Two holdings in Germany (one grouped as EU), one in the US without a quote, EUR and USD
/// cash, targets for EU and US.
fn inputs() -> ValuationInputs {
    ValuationInputs {
        holdings: vec![
            holding("AAA", 10, "8", "EUR"),
            holding("BBB", 5, "20", "EUR"),
            holding("CCC", 2, "50", "USD"),
        ],
        listings: HashMap::from([
            (
                "AAA".into(),
                listing(Some("Germany"), Some("Tech, Software")),
            ),
            ("BBB".into(), listing(Some("Germany"), Some("Banks"))),
            ("CCC".into(), listing(Some("United States"), None)),
        ]),
        quotes: HashMap::from([("AAA".into(), 10.0), ("BBB".into(), 20.0)]),
        rates_per_eur: HashMap::from([("EUR".into(), 1.0), ("USD".into(), 2.0)]),
        cash: vec![
            Money::parse("100", Currency::EUR).unwrap(),
            Money::parse("100", "USD".parse().unwrap()).unwrap(),
        ],
        targets: vec![
            GroupTarget {
                kind: AllocationKind::Country,
                group: "EU".into(),
                target: 0.6,
            },
            GroupTarget {
                kind: AllocationKind::Country,
                group: "US".into(),
                target: 0.4,
            },
            GroupTarget {
                kind: AllocationKind::Industry,
                group: "Energy".into(),
                target: 0.1,
            },
        ],
        groups: vec![
            GroupMember {
                kind: AllocationKind::Country,
                member: "Germany".into(),
                group: "EU".into(),
            },
            GroupMember {
                kind: AllocationKind::Country,
                member: "United States".into(),
                group: "US".into(),
            },
        ],
    }
}

#[test]
fn positions_are_valued_in_eur_at_their_quote_or_average_price() {
    let v = value_portfolio(&inputs());
    // 100 + 100 EUR of positions at their quotes, 2 × 50 USD at cost = 50 EUR.
    assert_eq!(v.invested_eur, 250.0);
    assert_eq!(v.cash_eur, 150.0);
    assert_eq!(v.total_value_eur, 400.0);
    let aaa = &v.positions[0];
    assert_eq!((aaa.value_eur, aaa.price), (Some(100.0), Some(10.0)));
    assert_eq!(aaa.pnl_pct, Some(0.25));
    assert_eq!(aaa.weight, Some(0.25));
    assert_eq!((aaa.quantity.as_str(), aaa.avg_price.as_str()), ("10", "8"));
    let ccc = &v.positions[2];
    assert_eq!((ccc.price, ccc.pnl_pct), (None, None));
    assert_eq!(ccc.value_eur, Some(50.0));
    assert_eq!(v.cash[1].amount_eur, Some(50.0));
}

#[test]
fn a_currency_without_a_rate_has_no_eur_value() {
    let mut i = inputs();
    i.rates_per_eur.remove("USD");
    let v = value_portfolio(&i);
    assert_eq!(v.positions[2].value_eur, None);
    assert_eq!(v.positions[2].weight, None);
    assert_eq!(v.cash[1].amount_eur, None);
    assert_eq!(v.total_value_eur, 300.0);
}

#[test]
fn a_group_target_is_shared_by_the_group_s_holdings() {
    let v = value_portfolio(&inputs());
    let eu: Vec<_> = v.positions.iter().take(2).collect();
    assert!(eu.iter().all(|p| p.country_group == "EU"));
    assert!(eu.iter().all(|p| p.group_target == Some(0.6)));
    assert!(eu.iter().all(|p| p.target_weight == Some(0.3)));
    assert_eq!(v.positions[2].country_group, "US");
    assert_eq!(v.positions[2].target_weight, Some(0.4));
}

#[test]
fn allocation_lists_held_and_targeted_groups_by_name() {
    let v = value_portfolio(&inputs());
    let rows = |groups: &[GroupWeight]| -> Vec<(String, f64, Option<f64>)> {
        groups
            .iter()
            .map(|g| (g.group.clone(), g.weight, g.target))
            .collect()
    };
    let expect = |rows: &[(&str, f64, Option<f64>)]| -> Vec<(String, f64, Option<f64>)> {
        rows.iter()
            .map(|(g, w, t)| (g.to_string(), *w, *t))
            .collect()
    };
    assert_eq!(
        rows(&v.allocation.country),
        expect(&[("EU", 0.5, Some(0.6)), ("US", 0.125, Some(0.4))])
    );
    assert_eq!(
        rows(&v.allocation.industry),
        expect(&[
            ("Banks", 0.25, None),
            ("Energy", 0.0, Some(0.1)),
            ("Other", 0.125, None),
            ("Tech", 0.25, None)
        ])
    );
}

#[test]
fn without_a_country_a_holding_counts_as_other() {
    let mut i = inputs();
    i.listings.remove("CCC");
    let v = value_portfolio(&i);
    assert_eq!(v.positions[2].name, None);
    assert_eq!(v.positions[2].country_group, "Other");
    assert_eq!(v.positions[2].target_weight, None);
}

#[test]
fn an_empty_portfolio_has_no_weights() {
    let v = value_portfolio(&ValuationInputs::default());
    assert_eq!(v.total_value_eur, 0.0);
    assert!(v.invested_eur.is_sign_positive());
    assert!(v.positions.is_empty() && v.allocation.country.is_empty());
}
