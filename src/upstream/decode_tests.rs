use std::time::Duration;

use serde_json::{Value, json};

use super::error::UpstreamError;
use super::scoring::decode_score;
use super::service::BodyError;
use super::tradernet::{
    decode_candles, decode_cash_balances, decode_has_pending, decode_pending_orders,
    decode_placed_order, decode_positions, decode_quotes, decode_trades, envelope, path_segment,
};
use crate::domain::{Currency, Decimal, Quantity, Side};

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn qty(text: &str) -> Quantity {
    text.parse().unwrap()
}

fn data_of(body: &str) -> Value {
    envelope(body.as_bytes()).expect("a successful envelope")
}

// ---------------------------------------------------------------------------------------------
// The envelope

#[test]
fn envelope_gives_data_or_the_application_error() {
    assert_eq!(
        data_of(r#"{"success": true, "data": {"x": 1}, "error": null, "timestamp": "t"}"#),
        json!({"x": 1})
    );
    let not_connected = r#"{"success": false, "data": null, "error": "Not connected to Tradernet",
        "timestamp": "2026-01-02T09:15:03.112233"}"#;
    assert_eq!(
        envelope(not_connected.as_bytes()),
        Err(BodyError::Application("Not connected to Tradernet".into()))
    );
    assert!(matches!(
        envelope(br#"{"success": false}"#),
        Err(BodyError::Application(message)) if message.contains("without an error message")
    ));
}

#[test]
fn a_body_that_is_not_the_envelope_is_malformed() {
    for body in [
        &b"Internal Server Error"[..],
        br#"{"success": true, "data": {"positions": [{"symbol": "AAPL.US", "quantity": 10.0,"#,
        br#"[1, 2]"#,
        br#"{"positions": []}"#,
        br#"{"success": "maybe", "data": {}}"#,
    ] {
        assert!(
            matches!(envelope(body), Err(BodyError::Malformed(_))),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn data_without_its_list_is_malformed_but_an_empty_list_is_fine() {
    assert!(matches!(
        decode_positions(&json!({"balances": []})),
        Err(BodyError::Malformed(reason)) if reason.contains("positions")
    ));
    assert!(matches!(
        decode_positions(&Value::Null),
        Err(BodyError::Malformed(_))
    ));
    assert!(matches!(
        decode_positions(&json!({"positions": {"a": 1}})),
        Err(BodyError::Malformed(reason)) if reason.contains("not a list")
    ));
    assert_eq!(decode_positions(&json!({"positions": []})), Ok(vec![]));
}

// ---------------------------------------------------------------------------------------------
// Tradernet rows

#[test]
fn positions_of_the_spec_example_decode() {
    let data = data_of(
        r#"{"success": true, "data": {"positions": [{"symbol": "AAPL.US", "quantity": 10.0,
        "avg_price": 172.5, "current_price": 195.2, "market_value": 1952.0,
        "market_value_eur": 1952.0, "unrealized_pnl": 227.0, "currency": "USD",
        "currency_rate": 1.0}]}, "error": null, "timestamp": "2026-01-02T09:15:05.000000"}"#,
    );
    let positions = decode_positions(&data).unwrap();
    assert_eq!(positions.len(), 1);
    let p = &positions[0];
    assert_eq!(p.symbol, "AAPL.US");
    assert_eq!(p.quantity, qty("10"));
    assert_eq!(p.avg_price, dec("172.5"));
    assert_eq!(p.current_price, Some(dec("195.2")));
    assert_eq!(p.currency, Currency::USD);
}

#[test]
fn positions_tolerate_strings_broker_names_nulls_and_skip_what_cannot_be_read() {
    let data = json!({"positions": [
        // Numbers as strings, the broker's own short names.
        {"i": "ASML.EU", "q": "2", "bal_price_a": "640.00", "mkt_price": "702.4", "curr": "EUR"},
        // Null and missing prices.
        {"symbol": "0700.HK", "quantity": 100, "avg_price": null, "current_price": null,
         "currency": "hkd"},
        // The research currency reads as EUR.
        {"symbol": "TEST.EU", "quantity": 1, "currency": "TEST", "current_price": 0},
        // Skipped: no symbol, no quantity, a negative quantity, no currency, a row not an object.
        {"quantity": 1, "currency": "EUR"},
        {"symbol": "X.US", "currency": "USD"},
        {"symbol": "Y.US", "quantity": -3, "currency": "USD"},
        {"symbol": "Z.US", "quantity": 3},
        "garbage"
    ]});
    let positions = decode_positions(&data).unwrap();
    assert_eq!(positions.len(), 3, "{positions:?}");
    assert_eq!(positions[0].symbol, "ASML.EU");
    assert_eq!(positions[0].quantity, qty("2"));
    assert_eq!(positions[0].avg_price, dec("640"));
    assert_eq!(positions[0].current_price, Some(dec("702.4")));
    assert_eq!(positions[1].avg_price, Decimal::ZERO);
    assert_eq!(positions[1].current_price, None);
    assert_eq!(positions[1].currency, Currency::HKD);
    assert_eq!(positions[2].currency, Currency::EUR);
    assert_eq!(positions[2].current_price, None, "a zero price is no price");
}

#[test]
fn cash_balances_keep_negatives_and_skip_the_test_balance() {
    let data = data_of(
        r#"{"success": true, "data": {"balances": [{"currency": "EUR", "amount": 1203.55},
        {"currency": "USD", "amount": 312.4}, {"currency": "HKD", "amount": -15.2},
        {"currency": "TEST", "amount": 10000.0}]}, "error": null,
        "timestamp": "2026-01-02T09:15:03.112233"}"#,
    );
    let balances = decode_cash_balances(&data).unwrap();
    let pairs: Vec<(Currency, Decimal)> = balances.iter().map(|b| (b.currency, b.amount)).collect();
    assert_eq!(
        pairs,
        [
            (Currency::EUR, dec("1203.55")),
            (Currency::USD, dec("312.4")),
            (Currency::HKD, dec("-15.2")),
        ]
    );

    let data = json!({"balances": [{"curr": "gbp", "s": "45.00"}, {"currency": "USD"},
        {"currency": "test", "amount": "1"}, {"currency": "EURO", "amount": 1}]});
    let balances = decode_cash_balances(&data).unwrap();
    assert_eq!(balances.len(), 1);
    assert_eq!(balances[0].currency, Currency::GBP);
    assert_eq!(balances[0].amount, dec("45"));
}

#[test]
fn pending_orders_read_every_side_spelling() {
    let data = data_of(
        r#"{"success": true, "data": {"orders": [{"id": "418820331", "symbol": "ASML.EU",
        "side": "B", "quantity": 1.0, "price": 701.0, "currency": "EUR"}]}, "error": null,
        "timestamp": "2026-01-02T09:15:04.000001"}"#,
    );
    let orders = decode_pending_orders(&data).unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].id, "418820331");
    assert_eq!(orders[0].side, Some(Side::Buy));
    assert_eq!(orders[0].quantity, qty("1"));
    assert_eq!(orders[0].price, Some(dec("701")));
    assert_eq!(orders[0].currency, Some(Currency::EUR));

    // The broker's codes as the wrapper passes them through: 1 buy, 2 buy on margin, 3 sell,
    // 4 sell short.
    let spellings = [
        (json!("B"), Side::Buy, false),
        (json!("S"), Side::Sell, false),
        (json!("buy"), Side::Buy, false),
        (json!("sell"), Side::Sell, false),
        (json!("BUY"), Side::Buy, false),
        (json!("SELL"), Side::Sell, false),
        (json!("1"), Side::Buy, false),
        (json!("2"), Side::Buy, true),
        (json!("3"), Side::Sell, false),
        (json!("4"), Side::Sell, true),
        (json!(1), Side::Buy, false),
        (json!(2), Side::Buy, true),
    ];
    for (spelling, side, margin) in spellings {
        let data = json!({"orders": [{"id": 7, "symbol": "AAPL.US", "side": spelling,
            "quantity": "2", "price": null}]});
        let orders = decode_pending_orders(&data).unwrap();
        assert_eq!(orders.len(), 1, "{data}");
        assert_eq!(orders[0].side, Some(side), "{data}");
        assert_eq!(orders[0].margin, margin, "{data}");
        assert_eq!(orders[0].id, "7", "a numeric id becomes text");
        assert_eq!(orders[0].price, None);
        assert_eq!(orders[0].currency, None);
    }

    let data = json!({"orders": [
        {"symbol": "AAPL.US", "buy_sell": "S", "qty": 2},
        {"id": "1", "symbol": "AAPL.US", "side": "HOLD", "quantity": 2},
        {"id": "2", "side": "B", "quantity": 2}
    ]});
    let orders = decode_pending_orders(&data).unwrap();
    assert_eq!(
        orders.len(),
        3,
        "an unknown side or no symbol keeps the row: it cannot be attributed"
    );
    assert_eq!(
        orders[0].id, "",
        "an order without an id is kept: it still blocks its symbol"
    );
    assert_eq!(orders[0].side, Some(Side::Sell));
    assert_eq!(
        (orders[1].symbol.as_str(), orders[1].side),
        ("AAPL.US", None)
    );
    assert_eq!(
        (orders[2].symbol.as_str(), orders[2].side),
        ("", Some(Side::Buy))
    );

    // The wrapper's answer when a live broker names the fields otherwise: nothing readable.
    let data = json!({"orders": [{"id": "418820777", "symbol": "", "side": "",
        "quantity": 0.0, "price": 0.0, "currency": ""}]});
    let orders = decode_pending_orders(&data).unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].id, "418820777");
    assert_eq!((orders[0].symbol.as_str(), orders[0].side), ("", None));
}

#[test]
fn london_lines_in_pence_are_stored_in_pounds() {
    let data = json!({"positions": [
        {"symbol": "SHEL.UK", "quantity": 40.0, "avg_price": 2410.0, "current_price": 2712.0,
         "currency": "GBp"},
        {"symbol": "BP.UK", "quantity": 5, "avg_price": "450.5", "current_price": 470,
         "currency": "GBX"},
        {"symbol": "HSBA.UK", "quantity": 5, "avg_price": 7.1, "current_price": 7.2,
         "currency": "GBP"}
    ]});
    let positions = decode_positions(&data).unwrap();
    let read: Vec<_> = positions
        .iter()
        .map(|p| (p.avg_price, p.current_price, p.currency))
        .collect();
    assert_eq!(
        read,
        [
            (dec("24.10"), Some(dec("27.12")), Currency::GBP),
            (dec("4.505"), Some(dec("4.70")), Currency::GBP),
            (dec("7.1"), Some(dec("7.2")), Currency::GBP),
        ]
    );
    let data = json!({"quotes": {"result": {"q": [
        {"c": "SHEL.UK", "ltp": 2712, "x_curr": "GBp"},
        {"c": "HSBA.UK", "ltp": 7.2, "x_curr": "GBP"}
    ]}}});
    let quotes = decode_quotes(&data).unwrap();
    assert_eq!(quotes[0].price, dec("27.12"));
    assert_eq!(quotes[0].currency, Some(Currency::GBP));
    assert_eq!(quotes[1].price, dec("7.2"));
}

proptest::proptest! {
    /// Pence become pounds exactly: a hundredth, nothing lost.
    #[test]
    fn pence_to_pounds_is_an_exact_hundredth(mantissa in 0i64..1_000_000_000_000, scale in 0u32..8) {
        let pence = Decimal::new(i128::from(mantissa), scale).unwrap();
        let pounds = crate::upstream::decode::pence_to_pounds(pence).unwrap();
        proptest::prop_assert_eq!(pounds.checked_mul(Decimal::from_i64(100)).unwrap(), pence);
    }
}

#[test]
fn a_pending_order_check_must_say_yes_or_no() {
    let yes = data_of(
        r#"{"success": true, "data": {"has_pending": true, "symbol": "ASML.EU"},
        "error": null, "timestamp": "t"}"#,
    );
    assert_eq!(decode_has_pending(&yes), Ok(true));
    assert_eq!(
        decode_has_pending(&json!({"has_pending": "false"})),
        Ok(false)
    );
    assert_eq!(decode_has_pending(&json!({"has_pending": 1})), Ok(true));
    for unsure in [
        json!({}),
        json!({"has_pending": null}),
        json!({"has_pending": "maybe"}),
    ] {
        assert!(
            matches!(decode_has_pending(&unsure), Err(BodyError::Malformed(_))),
            "{unsure}"
        );
    }
}

#[test]
fn quotes_decode_the_raw_broker_payload_and_a_plain_list() {
    let raw = json!({"quotes": {"result": {"q": [
        {"c": "AAPL.US", "ltp": 195.2, "chg": 1.35, "x_curr": "USD", "name": "Apple Inc."},
        {"c": "ASML.EU", "ltp": "702.4", "x_curr": "EUR"},
        {"c": "DEAD.US", "ltp": 0, "x_curr": "USD"},
        {"c": "NULL.US", "ltp": null},
        {"ltp": 3.0}
    ]}}});
    let quotes = decode_quotes(&raw).unwrap();
    let got: Vec<(&str, Decimal, Option<Currency>)> = quotes
        .iter()
        .map(|q| (q.symbol.as_str(), q.price, q.currency))
        .collect();
    assert_eq!(
        got,
        [
            ("AAPL.US", dec("195.2"), Some(Currency::USD)),
            ("ASML.EU", dec("702.4"), Some(Currency::EUR)),
        ]
    );

    let plain = json!([{"symbol": "SAP.EU", "price": 231.5}, {"symbol": "X", "price": -1}]);
    let quotes = decode_quotes(&plain).unwrap();
    assert_eq!(quotes.len(), 1);
    assert_eq!(quotes[0].symbol, "SAP.EU");
    assert_eq!(quotes[0].currency, None);
    let listed = decode_quotes(&json!({"quotes": [{"symbol": "SAP.EU", "price": "231.5"}]}));
    assert_eq!(listed.unwrap()[0].price, dec("231.5"));

    assert_eq!(decode_quotes(&json!({"quotes": {}})), Ok(vec![]));
    assert_eq!(
        decode_quotes(&json!({"quotes": {"result": {"q": []}}})),
        Ok(vec![])
    );
    assert!(matches!(
        decode_quotes(&json!({"quotes": 5})),
        Err(BodyError::Malformed(_))
    ));
}

#[test]
fn candles_default_missing_prices_to_the_close_and_skip_bad_dates() {
    let data = json!({"symbol": "ASML.EU", "candles": [
        {"date": "2025-12-01", "open": 700.1, "high": 705.0, "low": 698.2, "close": 702.4,
         "volume": 812345},
        {"date": "2025-12-02T00:00:00", "close": "703", "volume": "1000.0"},
        {"date": "yesterday", "close": 1},
        {"date": "2025-12-03"}
    ]});
    let candles = decode_candles(&data).unwrap();
    assert_eq!(candles.len(), 2);
    assert_eq!(candles[0].date.to_string(), "2025-12-01");
    assert_eq!(candles[0].open, dec("700.1"));
    assert_eq!(candles[0].volume, 812_345);
    assert_eq!(candles[1].date.to_string(), "2025-12-02");
    assert_eq!(candles[1].open, dec("703"));
    assert_eq!(candles[1].low, dec("703"));
    assert_eq!(candles[1].volume, 1000);
}

#[test]
fn executed_trades_need_an_order_id() {
    let data = json!({"trades": [
        {"order_id": "418800001", "symbol": "ASML.EU", "side": "SELL", "quantity": 1.0,
         "price": 690.0, "executed_at": "2025-12-20T14:03:11"},
        {"order_id": 418790117, "symbol": "AAPL.US", "type": "1", "quantity": "4",
         "price": "188.3", "executed_at": "2025-12-12T15:41:02"},
        {"symbol": "AAPL.US", "side": "BUY", "quantity": 4, "price": 1,
         "executed_at": "2025-12-12T15:41:02"}
    ]});
    let trades = decode_trades(&data).unwrap();
    assert_eq!(trades.len(), 2);
    assert_eq!(trades[0].side, Side::Sell);
    assert_eq!(trades[0].price, dec("690"));
    assert_eq!(trades[1].order_id, "418790117");
    assert_eq!(trades[1].side, Side::Buy);
    assert_eq!(trades[1].quantity, qty("4"));
}

#[test]
fn a_placed_order_falls_back_to_the_request_and_may_lack_its_id() {
    let data = json!({"order_id": "418830001", "symbol": "AAPL.US", "side": "BUY",
        "quantity": 3.0, "price": 195.2});
    let placed = decode_placed_order(&data, "AAPL.US", Side::Buy, qty("3.9")).unwrap();
    assert_eq!(placed.order_id, "418830001");
    assert_eq!(placed.quantity, qty("3"), "what the broker took");
    assert_eq!(placed.price, Some(dec("195.2")));

    let sparse = decode_placed_order(&json!({"id": 5}), "SAP.EU", Side::Sell, qty("2")).unwrap();
    assert_eq!(
        (
            sparse.order_id.as_str(),
            sparse.symbol.as_str(),
            sparse.side
        ),
        ("5", "SAP.EU", Side::Sell)
    );
    assert_eq!((sparse.quantity, sparse.price), (qty("2"), None));

    // The real wrapper's answer: the order went out, its id is lost.
    for answer in [
        json!({"order_id": "", "symbol": "SAP.EU", "side": "SELL", "quantity": 2.0, "price": 0.0}),
        json!({"symbol": "SAP.EU"}),
    ] {
        let placed = decode_placed_order(&answer, "SAP.EU", Side::Sell, qty("2")).unwrap();
        assert_eq!(placed.order_id, "", "{answer}");
        assert_eq!(placed.price, None, "{answer}");
    }
    assert!(matches!(
        decode_placed_order(&Value::Null, "SAP.EU", Side::Sell, qty("2")),
        Err(BodyError::Malformed(_))
    ));
}

// ---------------------------------------------------------------------------------------------
// Scoring rows

#[test]
fn a_score_decodes_the_spec_example_and_not_found_is_none() {
    let data = json!({"found": true, "score": {"isin": "US0378331005", "symbol": "AAPL.US",
        "total_score": 0.712, "component_scores": {"long_term": 0.74, "fundamentals": 0.81,
        "opportunity": 0.42, "dividends": 0.35, "short_term": 0.55, "technicals": 0.6,
        "opinion": 0.7, "diversification": 0.5, "note": "x"}, "percentile": 0.0, "grade": "B"}});
    let score = decode_score(&data).unwrap().unwrap();
    assert_eq!(score.isin.as_deref(), Some("US0378331005"));
    assert_eq!(score.total_score, 0.712);
    assert_eq!(
        score.components.len(),
        8,
        "non-numeric components are left out"
    );
    assert_eq!(score.components["fundamentals"], 0.81);
    let text_score = json!({"found": true, "score": {"symbol": "X.US", "total_score": "0.5"}});
    assert_eq!(decode_score(&text_score).unwrap().unwrap().total_score, 0.5);
    assert_eq!(
        decode_score(&json!({"found": false, "score": null})).unwrap(),
        None
    );
    for malformed in [
        json!({"detail": "x"}),
        json!({"found": true, "score": null}),
        json!({"found": true, "score": {"symbol": "ASML.EU", "total_score": null}}),
        json!([]),
    ] {
        assert!(
            matches!(decode_score(&malformed), Err(BodyError::Malformed(_))),
            "{malformed}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

#[test]
fn error_messages_read_well_on_a_dashboard() {
    let timeout = UpstreamError::Timeout {
        service: "tradernet",
        route: "positions",
        after: Duration::from_secs(5),
    };
    assert_eq!(
        timeout.to_string(),
        "tradernet: timed out after 5 s on positions"
    );
    let short = UpstreamError::Timeout {
        service: "scoring",
        route: "metrics",
        after: Duration::from_millis(300),
    };
    assert_eq!(
        short.to_string(),
        "scoring: timed out after 0.3 s on metrics"
    );
    let status = UpstreamError::Status {
        service: "tradernet",
        route: "cash_balances",
        status: 500,
        excerpt: "Internal Server Error".into(),
    };
    assert_eq!(
        status.to_string(),
        "tradernet: HTTP 500 on cash_balances: Internal Server Error"
    );
    let open = UpstreamError::CircuitOpen {
        service: "scoring",
        route: "scores",
    };
    assert_eq!(open.to_string(), "scoring: circuit open, scores not called");
    assert_eq!(super::error::excerpt(&[b'x'; 500]).chars().count(), 201);
    assert_eq!(super::error::excerpt(b"a\n  b"), "a b");
}

#[test]
fn only_transient_errors_are_retried_and_only_service_faults_count() {
    let status = |code| UpstreamError::Status {
        service: "tradernet",
        route: "r",
        status: code,
        excerpt: String::new(),
    };
    let application = |message: &str| UpstreamError::Application {
        service: "tradernet",
        route: "r",
        message: message.into(),
    };
    for code in [408, 429, 500, 502, 503] {
        assert!(status(code).is_retryable(), "{code}");
        assert!(status(code).is_service_failure(), "{code}");
    }
    for code in [400, 401, 404, 422] {
        assert!(!status(code).is_retryable(), "{code}");
        assert!(!status(code).is_service_failure(), "{code}");
    }
    assert!(application("Not connected to Tradernet").is_retryable());
    assert!(application("Not connected to Tradernet").is_service_failure());
    assert!(!application("Order execution failed").is_retryable());
    assert!(!application("Order execution failed").is_service_failure());
    let malformed = UpstreamError::Malformed {
        service: "scoring",
        route: "r",
        reason: "x".into(),
    };
    assert!(!malformed.is_retryable());
    assert!(malformed.is_service_failure());
    assert_eq!(malformed.outcome(), "malformed");
    assert_eq!(malformed.service(), "scoring");
}

#[test]
fn a_symbol_is_escaped_into_one_path_segment() {
    assert_eq!(path_segment("ASML.EU"), "ASML.EU");
    assert_eq!(path_segment("a-b_c~d.9"), "a-b_c~d.9");
    assert_eq!(path_segment("A/B.C/D"), "A%2FB.C%2FD");
    assert_eq!(path_segment("A B?c#d%e&f+g"), "A%20B%3Fc%23d%25e%26f%2Bg");
    assert_eq!(path_segment("é€"), "%C3%A9%E2%82%AC");
    assert_eq!(path_segment(""), "");
}
