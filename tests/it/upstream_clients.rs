//! The tradernet and scoring clients against the fake services running as processes: every
//! method decodes the fakes' answers, and every fault meets the resilience rule written for it
//! (timeouts, retries, breaker, rate limit), checked in the fakes' request logs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use metrics_util::CompositeKey;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use serde_json::{Value, json};
use trading_planner::config::{Config, ServiceConfig, UpstreamConfig};
use trading_planner::domain::{BreakerState, Currency, Decimal, Quantity, Side};
use trading_planner::store::Store;
use trading_planner::upstream::{
    ScoringClient, TradernetClient, UpstreamError, Upstreams, with_request_id,
};

use crate::fake_upstreams::{FakeKind, FakeUpstream};

/// Quick rules for tests: generous timeout for normal answers (many fakes may run at once),
/// tiny backoff, no rate limit, a breaker that does not get in the way.
fn config(fake: &FakeUpstream) -> ServiceConfig {
    ServiceConfig {
        url: fake.url(),
        timeout_secs: 3.0,
        retries: 2,
        retry_backoff_secs: 0.01,
        breaker_failures: 100,
        breaker_open_secs: 0.2,
        min_interval_secs: 0.0,
    }
}

fn tradernet(config: &ServiceConfig) -> TradernetClient {
    let upstream = UpstreamConfig {
        tradernet: config.clone(),
        ..UpstreamConfig::default()
    };
    let upstreams = Upstreams::new(&upstream).expect("HTTP client");
    upstreams.tradernet.expect("configured")
}

fn scoring(config: &ServiceConfig) -> ScoringClient {
    let upstream = UpstreamConfig {
        scoring: config.clone(),
        ..UpstreamConfig::default()
    };
    let upstreams = Upstreams::new(&upstream).expect("HTTP client");
    upstreams.scoring.expect("configured")
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn paths(fake: &FakeUpstream) -> Vec<String> {
    fake.requests()
        .iter()
        .map(|r| r["path"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn tradernet_client_decodes_every_route() {
    let fake = FakeUpstream::start(FakeKind::Tradernet);
    let client = tradernet(&config(&fake));

    let health = client.health().await.unwrap();
    assert!(health.healthy);
    assert_eq!(health.connected, Some(true));
    assert_eq!(health.version.as_deref(), Some("1.0.0"));

    let positions = client.positions().await.unwrap();
    let symbols: Vec<&str> = positions.iter().map(|p| p.symbol.as_str()).collect();
    assert_eq!(symbols, ["AAPL.US", "ASML.EU", "0700.HK", "SHEL.UK"]);
    let aapl = &positions[0];
    assert_eq!(aapl.quantity, Quantity::from_shares(10).unwrap());
    assert_eq!(aapl.avg_price, dec("172.5"));
    assert_eq!(aapl.current_price, Some(dec("195.2")));
    assert_eq!(aapl.currency, Currency::USD);
    assert_eq!(positions[2].currency, Currency::HKD);
    let shell = &positions[3];
    assert_eq!(
        (shell.currency, shell.avg_price, shell.current_price),
        (Currency::GBP, dec("24.1"), Some(dec("27.12"))),
        "pence read as pounds"
    );

    let cash = client.cash_balances().await.unwrap();
    let pairs: Vec<(Currency, Decimal)> = cash.iter().map(|c| (c.currency, c.amount)).collect();
    assert_eq!(
        pairs,
        [
            (Currency::EUR, dec("1203.55")),
            (Currency::USD, dec("312.4")),
            (Currency::GBP, dec("45")),
            (Currency::HKD, dec("-15.2")),
        ]
    );

    let orders = client.pending_orders().await.unwrap();
    let sides: Vec<(&str, Option<Side>)> = orders.iter().map(|o| (o.id.as_str(), o.side)).collect();
    assert_eq!(
        sides,
        [
            ("418820331", Some(Side::Buy)),
            ("418820342", Some(Side::Sell))
        ],
        "the broker's codes 1 and 3"
    );
    assert!(orders.iter().all(|o| !o.margin));
    assert_eq!(orders[0].price, Some(dec("701")));
    assert_eq!(orders[0].currency, Some(Currency::EUR));

    assert!(client.has_pending_order("ASML.EU").await.unwrap());
    assert!(!client.has_pending_order("SAP.EU").await.unwrap());

    let wanted: Vec<String> = ["AAPL.US", "ASML.EU", "NOPE.US", "SHEL.UK"]
        .map(String::from)
        .to_vec();
    let quotes = client.quotes(&wanted).await.unwrap();
    let got: Vec<(&str, Decimal, Option<Currency>)> = quotes
        .iter()
        .map(|q| (q.symbol.as_str(), q.price, q.currency))
        .collect();
    assert_eq!(
        got,
        [
            ("AAPL.US", dec("195.2"), Some(Currency::USD)),
            ("ASML.EU", dec("702.4"), Some(Currency::EUR)),
            ("SHEL.UK", dec("27.12"), Some(Currency::GBP)),
        ],
        "an unknown symbol is simply missing; pence are read as pounds"
    );

    let candles = client
        .candles(
            "ASML.EU",
            NaiveDate::from_ymd_opt(2025, 12, 1).unwrap(),
            NaiveDate::from_ymd_opt(2025, 12, 31).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(candles, [], "the wrapper answers no candles");
    fake.control(json!({"candles": "daily"}));
    let candles = client
        .candles(
            "ASML.EU",
            NaiveDate::from_ymd_opt(2025, 12, 1).unwrap(),
            NaiveDate::from_ymd_opt(2025, 12, 31).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(candles.len(), 23, "weekdays of December 2025");
    assert_eq!(
        candles[0].date,
        NaiveDate::from_ymd_opt(2025, 12, 1).unwrap()
    );
    assert_eq!(candles[22].close, dec("702.4"));
    assert!(candles.iter().all(|c| c.low <= c.high && c.volume > 0));

    let trades = client.executed_trades(2).await.unwrap();
    assert_eq!(trades.len(), 2);
    assert_eq!(trades[0].order_id, "96120417", "the broker's trade id");
    assert_eq!(trades[0].side, Side::Sell);
    assert_eq!(trades[0].price, dec("690"));
    assert_eq!(trades[0].executed_at, "2025-12-20T14:03:11");
    assert_eq!(trades[1].side, Side::Buy);

    let placed = client
        .place_order(
            "AAPL.US",
            Side::Buy,
            "3.9".parse().unwrap(),
            "plan-1-step-1",
        )
        .await
        .unwrap();
    assert_eq!(placed.symbol, "AAPL.US");
    assert_eq!(placed.side, Side::Buy);
    assert_eq!(
        placed.order_id, "",
        "the wrapper never passes the order id on"
    );
    assert_eq!(placed.price, None, "nor a price");
    let newest = client.executed_trades(1).await.unwrap();
    assert_eq!(
        newest[0].quantity,
        Quantity::from_shares(3).unwrap(),
        "the wrapper truncates"
    );
    assert_eq!(newest[0].price, dec("195.2"));

    let refused = client
        .place_order("NOPE.US", Side::Sell, "1".parse().unwrap(), "k")
        .await
        .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "tradernet: place_order failed: Order execution failed"
    );

    let log = fake.requests();
    let quotes_request = log
        .iter()
        .find(|r| r["path"] == "/api/market-data/quotes")
        .unwrap();
    assert_eq!(
        quotes_request["body"],
        json!({"symbols": ["AAPL.US", "ASML.EU", "NOPE.US", "SHEL.UK"]})
    );
    let history = log
        .iter()
        .find(|r| r["path"] == "/api/market-data/historical/ASML.EU")
        .unwrap();
    assert_eq!(history["query"], "start=2025-12-01&end=2025-12-31");
    let order = log
        .iter()
        .find(|r| r["path"] == "/api/trading/place-order")
        .unwrap();
    assert_eq!(
        order["body"],
        json!({"symbol": "AAPL.US", "side": "BUY", "quantity": 3.9})
    );
    assert_eq!(client.status().breaker, BreakerState::Closed);
    assert!(client.status().last_success.is_some());
}

#[tokio::test]
async fn tradernet_switches_word_spelling_research_mode_and_disconnection() {
    let fake = FakeUpstream::start_with(
        FakeKind::Tradernet,
        &["--spelling", "word", "--trading-mode", "research"],
    );
    let mut config = config(&fake);
    config.retries = 1;
    let client = tradernet(&config);

    let orders = client.pending_orders().await.unwrap();
    let sides: Vec<Option<Side>> = orders.iter().map(|o| o.side).collect();
    assert_eq!(sides, [Some(Side::Buy), Some(Side::Sell)], "buy/sell words");

    let cash = client.cash_balances().await.unwrap();
    assert_eq!(cash.len(), 4, "the research TEST balance is left out");
    assert!(cash.iter().all(|c| c.amount != dec("10000")));

    fake.control(json!({"connection": "disconnected"}));
    fake.clear_requests();
    let health = client.health().await.unwrap();
    assert_eq!(health.connected, Some(false));
    assert!(!health.healthy);
    let error = client.positions().await.unwrap_err();
    assert!(
        matches!(&error, UpstreamError::Application { message, .. }
            if message == "Not connected to Tradernet"),
        "{error}"
    );
    assert_eq!(
        paths(&fake)
            .iter()
            .filter(|p| p.as_str() == "/api/portfolio/positions")
            .count(),
        2,
        "\"Not connected\" is retried"
    );
    assert_eq!(
        client.status().consecutive_failures,
        1,
        "and counts as a failure"
    );
}

#[tokio::test]
async fn quotes_go_in_batches_of_at_most_one_hundred() {
    let fake = FakeUpstream::start(FakeKind::Tradernet);
    let client = tradernet(&config(&fake));
    let mut symbols: Vec<String> = (0..148).map(|i| format!("X{i}.US")).collect();
    symbols.push("SAP.EU".into());
    symbols.push("AAPL.US".into());

    let quotes = client.quotes(&symbols).await.unwrap();
    let found: Vec<&str> = quotes.iter().map(|q| q.symbol.as_str()).collect();
    assert_eq!(found, ["SAP.EU", "AAPL.US"]);
    let sizes: Vec<usize> = fake
        .requests()
        .iter()
        .map(|r| r["body"]["symbols"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [100, 50]);

    fake.clear_requests();
    assert_eq!(client.quotes(&[]).await.unwrap(), vec![]);
    assert!(fake.requests().is_empty(), "no symbols, no call");
}

#[tokio::test]
async fn scoring_client_scores_each_security_on_its_own_and_reads_health() {
    let fake = FakeUpstream::start(FakeKind::Scoring);
    let client = scoring(&config(&fake));

    let health = client.health().await.unwrap();
    assert!(health.healthy);
    assert_eq!(health.connected, None);

    let wanted = [
        ("AAPL.US", "US0378331005"),
        ("ASML.EU", "NL0010273215"),
        ("NEW.US", "US0000000000"),
    ]
    .map(|(s, i)| (s.to_string(), i.to_string()));
    let round = client.scores(&wanted).await;
    assert!(round.failed.is_empty(), "{:?}", round.failed);
    assert_eq!(
        round.not_found,
        ["NEW.US"],
        "too little history is no failure"
    );
    let symbols: Vec<&str> = round.scores.iter().map(|s| s.symbol.as_str()).collect();
    assert_eq!(symbols, ["AAPL.US", "ASML.EU"], "only what was asked for");
    let aapl = &round.scores[0];
    assert_eq!(aapl.isin.as_deref(), Some("US0378331005"));
    assert_eq!(aapl.total_score, 0.712);
    assert_eq!(aapl.components.len(), 8);
    assert_eq!(aapl.components["long_term"], 0.74);

    let log = fake.requests();
    let mut bodies: Vec<&Value> = log
        .iter()
        .filter(|r| r["path"] == "/scoring/score")
        .map(|r| &r["body"])
        .collect();
    bodies.sort_by_key(|b| b["symbol"].as_str().map(str::to_string));
    assert_eq!(
        bodies,
        [
            &json!({"symbol": "AAPL.US", "isin": "US0378331005"}),
            &json!({"symbol": "ASML.EU", "isin": "NL0010273215"}),
            &json!({"symbol": "NEW.US", "isin": "US0000000000"}),
        ]
    );
    assert!(
        log.iter().all(|r| r["path"] != "/scoring/score/batch"),
        "the batch route fails in the real service"
    );
    assert_eq!(
        fake.unknown_calls(),
        json!([]),
        "only routes the service has were called"
    );
}

#[tokio::test]
async fn a_delay_within_the_timeout_is_fine() {
    let fake = FakeUpstream::start(FakeKind::Scoring);
    let client = scoring(&config(&fake));
    fake.set_fault("delay", Some(200));
    let started = Instant::now();
    assert!(client.health().await.unwrap().healthy);
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn a_hung_service_times_out_on_every_attempt() {
    let fake = FakeUpstream::start(FakeKind::Tradernet);
    let mut config = config(&fake);
    config.timeout_secs = 0.3;
    config.retries = 1;
    let client = tradernet(&config);
    fake.set_fault("hang", None);

    let started = Instant::now();
    let error = client.positions().await.unwrap_err();
    let waited = started.elapsed();
    assert_eq!(
        error,
        UpstreamError::Timeout {
            service: "tradernet",
            route: "positions",
            after: Duration::from_millis(300)
        }
    );
    assert_eq!(
        error.to_string(),
        "tradernet: timed out after 0.3 s on positions"
    );
    assert!(
        waited >= Duration::from_millis(600) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    assert_eq!(fake.requests().len(), 2, "a timeout is retried");
    fake.set_fault("none", None);
    assert_eq!(client.positions().await.unwrap().len(), 4);
}

#[tokio::test]
async fn server_errors_and_429_are_retried_then_reported() {
    let fake = FakeUpstream::start(FakeKind::Tradernet);
    let client = tradernet(&config(&fake));

    fake.set_fault("http500", None);
    let error = client.cash_balances().await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "tradernet: HTTP 500 on cash_balances: Internal Server Error"
    );
    assert_eq!(fake.requests().len(), 3, "the call and its two retries");

    fake.clear_requests();
    fake.set_fault("http429", None);
    let error = client.pending_orders().await.unwrap_err();
    assert!(
        matches!(error, UpstreamError::Status { status: 429, .. }),
        "{error}"
    );
    assert_eq!(fake.requests().len(), 3);

    // A 429 that clears: the retry succeeds within the same call.
    let scoring_fake = FakeUpstream::start(FakeKind::Scoring);
    let mut slow_retry = config(&scoring_fake);
    slow_retry.retry_backoff_secs = 0.4;
    let client = scoring(&slow_retry);
    scoring_fake.set_fault("http429", None);
    let call = tokio::spawn(async move { client.health().await });
    // The first attempt's 429 arrives at once; clear the fault during the backoff.
    let deadline = Instant::now() + Duration::from_secs(3);
    while scoring_fake.requests().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    scoring_fake.set_fault("none", None);
    assert!(call.await.unwrap().unwrap().healthy);
    assert_eq!(scoring_fake.requests().len(), 2);
}

#[tokio::test]
async fn a_malformed_body_is_reported_and_not_retried() {
    let fake = FakeUpstream::start(FakeKind::Tradernet);
    let client = tradernet(&config(&fake));
    fake.set_fault("malformed", None);
    let error = client.positions().await.unwrap_err();
    assert!(matches!(error, UpstreamError::Malformed { .. }), "{error}");
    assert!(
        error
            .to_string()
            .starts_with("tradernet: malformed answer on positions: not JSON"),
        "{error}"
    );
    assert_eq!(fake.requests().len(), 1);
    assert_eq!(client.status().consecutive_failures, 1);

    let scoring_fake = FakeUpstream::start(FakeKind::Scoring);
    let scoring_client = scoring(&config(&scoring_fake));
    scoring_fake.set_fault("malformed", None);
    let error = scoring_client
        .score("AAPL.US", "US0378331005")
        .await
        .unwrap_err();
    assert!(matches!(error, UpstreamError::Malformed { .. }), "{error}");
    assert_eq!(scoring_fake.requests().len(), 1);
}

#[tokio::test]
async fn a_connection_dropped_mid_answer_is_an_error() {
    let fake = FakeUpstream::start(FakeKind::Tradernet);
    let mut config = config(&fake);
    config.retries = 1;
    let client = tradernet(&config);
    fake.set_fault("die_mid_response", None);
    let error = client.pending_orders().await.unwrap_err();
    assert!(matches!(error, UpstreamError::Connect { .. }), "{error:?}");
    assert!(error.is_retryable());
    assert_eq!(
        fake.requests().len(),
        2,
        "a broken read of a GET is retried"
    );
    fake.set_fault("none", None);
    assert_eq!(client.pending_orders().await.unwrap().len(), 2);
}

#[tokio::test]
async fn empty_answers_are_empty_lists_not_errors() {
    let fake = FakeUpstream::start(FakeKind::Tradernet);
    let client = tradernet(&config(&fake));
    fake.set_fault("empty", None);
    assert_eq!(client.positions().await.unwrap(), vec![]);
    assert_eq!(client.cash_balances().await.unwrap(), vec![]);
    assert_eq!(client.pending_orders().await.unwrap(), vec![]);
    assert_eq!(client.executed_trades(10).await.unwrap(), vec![]);
    assert_eq!(
        client.quotes(&["AAPL.US".to_string()]).await.unwrap(),
        vec![]
    );
    let day = NaiveDate::from_ymd_opt(2025, 12, 1).unwrap();
    assert_eq!(client.candles("AAPL.US", day, day).await.unwrap(), vec![]);
    assert_eq!(
        client.status().consecutive_failures,
        0,
        "empty is no failure"
    );
    let error = client.has_pending_order("ASML.EU").await.unwrap_err();
    assert!(
        matches!(error, UpstreamError::Malformed { .. }),
        "an emptied answer says neither yes nor no: {error}"
    );
    let scoring_fake = FakeUpstream::start(FakeKind::Scoring);
    let scoring_client = scoring(&config(&scoring_fake));
    scoring_fake.set_fault("empty", None);
    let round = scoring_client.scores(&[]).await;
    assert!(round.scores.is_empty() && round.failed.is_empty());
    assert!(
        scoring_fake.requests().is_empty(),
        "nothing to score, no call"
    );
}

#[tokio::test]
async fn the_breaker_opens_refuses_and_closes_after_a_good_probe() {
    let fake = FakeUpstream::start(FakeKind::Tradernet);
    let mut config = config(&fake);
    config.retries = 0;
    config.breaker_failures = 2;
    config.breaker_open_secs = 0.2;
    let client = tradernet(&config);

    fake.set_fault("http500", None);
    for _ in 0..2 {
        let error = client.positions().await.unwrap_err();
        assert!(matches!(error, UpstreamError::Status { status: 500, .. }));
    }
    let status = client.status();
    assert_eq!(status.breaker, BreakerState::Open);
    assert_eq!(status.consecutive_failures, 2);
    assert!(status.last_error.unwrap().message.contains("HTTP 500"));

    let error = client.cash_balances().await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "tradernet: circuit open, cash_balances not called"
    );
    assert_eq!(fake.requests().len(), 2, "an open breaker does not call");

    fake.set_fault("none", None);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(client.status().breaker, BreakerState::HalfOpen);
    assert_eq!(client.positions().await.unwrap().len(), 4, "the probe");
    let status = client.status();
    assert_eq!(status.breaker, BreakerState::Closed);
    assert_eq!(status.consecutive_failures, 0);
    assert!(status.last_success.is_some());

    // Open again; while the probe is in flight every other call is refused.
    fake.set_fault("http500", None);
    for _ in 0..2 {
        client.positions().await.unwrap_err();
    }
    fake.set_fault("delay", Some(300));
    tokio::time::sleep(Duration::from_millis(250)).await;
    let (probe, other) = tokio::join!(client.positions(), async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        client.cash_balances().await
    });
    assert_eq!(probe.unwrap().len(), 4);
    assert!(
        matches!(other, Err(UpstreamError::CircuitOpen { .. })),
        "{other:?}"
    );
    assert_eq!(client.status().breaker, BreakerState::Closed);
}

#[tokio::test]
async fn client_errors_do_not_open_the_breaker() {
    let fake = FakeUpstream::start(FakeKind::Tradernet);
    let mut config = config(&fake);
    config.breaker_failures = 1;
    let client = tradernet(&config);
    for _ in 0..3 {
        let error = client
            .service()
            .get_json::<Value>("nowhere", "/api/nowhere", &[])
            .await
            .unwrap_err();
        assert!(matches!(error, UpstreamError::Status { status: 404, .. }));
        assert!(!error.is_retryable());
    }
    assert_eq!(fake.requests().len(), 3, "a 404 is not retried");
    let refused = client
        .place_order("NOPE.US", Side::Buy, "1".parse().unwrap(), "k")
        .await
        .unwrap_err();
    assert!(matches!(refused, UpstreamError::Application { .. }));
    let status = client.status();
    assert_eq!(status.breaker, BreakerState::Closed);
    assert_eq!(status.consecutive_failures, 0);
    assert!(
        status
            .last_error
            .unwrap()
            .message
            .contains("Order execution failed")
    );
}

#[tokio::test]
async fn place_order_is_sent_once_with_its_idempotency_key() {
    let fake = FakeUpstream::start(FakeKind::Tradernet);
    let client = tradernet(&config(&fake));
    fake.set_fault("http500", None);
    let error = with_request_id(
        "req-order-1".into(),
        client.place_order(
            "ASML.EU",
            Side::Sell,
            Quantity::from_shares(1).unwrap(),
            "plan-7-step-2",
        ),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, UpstreamError::Status { status: 500, .. }));
    let log = fake.requests();
    assert_eq!(log.len(), 1, "an order is never retried: {log:?}");
    assert_eq!(log[0]["path"], "/api/trading/place-order");
    assert_eq!(log[0]["headers"]["idempotency-key"], "plan-7-step-2");
    assert_eq!(log[0]["headers"]["x-request-id"], "req-order-1");

    fake.clear_requests();
    fake.set_fault("hang", None);
    let mut short = config(&fake);
    short.timeout_secs = 0.3;
    let hurried = tradernet(&short);
    let error = hurried
        .place_order(
            "ASML.EU",
            Side::Sell,
            Quantity::from_shares(1).unwrap(),
            "k2",
        )
        .await
        .unwrap_err();
    assert!(matches!(error, UpstreamError::Timeout { .. }));
    assert_eq!(fake.requests().len(), 1, "not even after a timeout");
}

#[tokio::test]
async fn every_request_carries_a_request_id() {
    let fake = FakeUpstream::start(FakeKind::Scoring);
    let mut config = config(&fake);
    config.retries = 1;
    let client = scoring(&config);

    with_request_id("req-42".into(), client.health())
        .await
        .unwrap();
    client.health().await.unwrap();
    fake.set_fault("http500", None);
    client.health().await.unwrap_err();

    let ids: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| r["headers"]["x-request-id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 4);
    assert_eq!(ids[0], "req-42");
    for id in &ids[1..] {
        assert_eq!(id.len(), 32, "{id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    }
    assert_ne!(ids[1], ids[2], "a fresh id per call");
    assert_eq!(ids[2], ids[3], "retries keep the call's id");
}

#[tokio::test]
async fn the_rate_limit_spaces_request_starts() {
    let fake = FakeUpstream::start(FakeKind::Tradernet);
    let mut config = config(&fake);
    // Wide enough that the fake's arrival stamps, which lag our starts on a loaded machine,
    // cannot close a gap to under half of it.
    config.min_interval_secs = 0.6;
    let client = tradernet(&config);
    // The first call also connects, which under an emulator takes long enough to shrink the
    // gap seen at the fake; only the calls after it are measured.
    client.positions().await.unwrap();
    client.positions().await.unwrap();
    let (cash, orders) = tokio::join!(client.cash_balances(), client.pending_orders());
    cash.unwrap();
    orders.unwrap();
    let times: Vec<f64> = fake
        .requests()
        .iter()
        .skip(1)
        .map(|r| r["received_at"].as_f64().unwrap())
        .collect();
    assert_eq!(times.len(), 3);
    for pair in times.windows(2) {
        assert!(pair[1] - pair[0] >= 0.3, "{times:?}");
    }
}

/// What a snapshot of the debugging recorder holds.
type Samples = Vec<(
    CompositeKey,
    Option<metrics::Unit>,
    Option<metrics::SharedString>,
    DebugValue,
)>;

fn outcome_count(samples: &Samples, route: &str, outcome: &str) -> u64 {
    samples
        .iter()
        .filter(|(key, ..)| {
            let key = key.key();
            let label = |name: &str| key.labels().find(|l| l.key() == name).map(|l| l.value());
            key.name() == "upstream_requests_total"
                && label("service") == Some("tradernet")
                && label("route") == Some(route)
                && label("outcome") == Some(outcome)
        })
        .map(|(.., value)| match value {
            DebugValue::Counter(n) => *n,
            _ => 0,
        })
        .sum()
}

#[test]
fn every_logical_call_is_counted_by_outcome() {
    let fake = FakeUpstream::start(FakeKind::Tradernet);
    let mut config = config(&fake);
    config.retries = 1;
    // Only the call meant to time out gets a short timeout, so a slow machine cannot turn the
    // other outcomes into timeouts.
    let mut short = config.clone();
    short.timeout_secs = 0.3;
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let client = tradernet(&config);
            client.positions().await.unwrap();
            client.positions().await.unwrap();
            fake.set_fault_on("http500", None, &["/api/portfolio/cash"]);
            client.cash_balances().await.unwrap_err();
            fake.set_fault_on("malformed", None, &["/api/trading"]);
            client.pending_orders().await.unwrap_err();
            fake.set_fault_on("hang", None, &["/api/transactions"]);
            tradernet(&short).executed_trades(5).await.unwrap_err();
            fake.set_fault("none", None);
            client
                .place_order("NOPE.US", Side::Buy, "1".parse().unwrap(), "k")
                .await
                .unwrap_err();
        });
    });
    let samples = snapshotter.snapshot().into_vec();
    assert_eq!(outcome_count(&samples, "positions", "ok"), 2);
    assert_eq!(
        outcome_count(&samples, "cash_balances", "http_error"),
        1,
        "two attempts, one logical call"
    );
    assert_eq!(outcome_count(&samples, "pending_orders", "malformed"), 1);
    assert_eq!(outcome_count(&samples, "executed_trades", "timeout"), 1);
    assert_eq!(
        outcome_count(&samples, "place_order", "application_error"),
        1
    );
    let durations: Vec<(String, usize)> = samples
        .iter()
        .filter(|(key, ..)| key.key().name() == "upstream_request_duration_seconds")
        .map(|(key, _, _, value)| {
            let route = key
                .key()
                .labels()
                .find(|l| l.key() == "route")
                .map(|l| l.value().to_string())
                .unwrap_or_default();
            let n = match value {
                DebugValue::Histogram(samples) => samples.len(),
                _ => 0,
            };
            (route, n)
        })
        .collect();
    assert!(
        durations.contains(&("positions".to_string(), 2)),
        "{durations:?}"
    );
    assert!(
        durations.contains(&("executed_trades".to_string(), 1)),
        "{durations:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// One breaker per service, whichever path calls it

/// A gateway whose scoring service is a loopback port nothing listens on, with a breaker that
/// opens after two failed calls; its state, to reach the scoring client.
fn gateway_with_dead_scoring() -> (
    tempfile::TempDir,
    Arc<trading_planner::gateway::AppState>,
    axum::Router,
) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = Config::default();
    config.upstream.scoring = ServiceConfig {
        url: format!("http://127.0.0.1:{port}"),
        retries: 0,
        breaker_failures: 2,
        breaker_open_secs: 60.0,
        min_interval_secs: 0.0,
        ..ServiceConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("t.db")).unwrap());
    let state = Arc::new(trading_planner::gateway::AppState::new(config, store).unwrap());
    let router = trading_planner::gateway::router(Arc::clone(&state));
    (dir, state, router)
}

#[tokio::test]
async fn proxied_failures_open_the_breaker_the_scoring_client_sees() {
    let (_dir, state, router) = gateway_with_dead_scoring();
    for _ in 0..2 {
        let (status, body) = crate::common::call(&router, "GET", "/scoring/health", "").await;
        assert_eq!(status, 502, "{body}");
    }
    let client = state.upstreams.scoring.as_ref().expect("configured");
    let status = client.status();
    assert_eq!(
        (status.breaker, status.consecutive_failures),
        (BreakerState::Open, 2)
    );
    let refused = client.score("ASML.EU", "NL0010273215").await;
    assert!(
        matches!(refused, Err(UpstreamError::CircuitOpen { .. })),
        "{refused:?}"
    );
}

#[tokio::test]
async fn scoring_client_failures_open_the_breaker_the_proxy_sees() {
    let (_dir, state, router) = gateway_with_dead_scoring();
    let client = state.upstreams.scoring.as_ref().expect("configured");
    for _ in 0..2 {
        let failed = client.health().await;
        assert!(
            matches!(failed, Err(UpstreamError::Connect { .. })),
            "{failed:?}"
        );
    }
    let (status, body) = crate::common::call(&router, "GET", "/scoring/health", "").await;
    assert_eq!(status, 503, "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("scoring is unavailable: circuit open after 2 failures; retrying in "),
        "{detail}"
    );
}
