//! Fakes of the Python services the binary calls over HTTP (tradernet, scoring, and the old
//! evaluator for shadow mode), run as child processes from `tests/fake_upstreams/`, and the
//! tests that hold them to their documented shapes and fault switches. Other tests start one
//! with [`FakeUpstream::start`], point a client at [`FakeUpstream::url`] and flip faults with
//! [`FakeUpstream::set_fault`].

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long a fake may take to print its `LISTENING` line; Python starts in well under a second,
/// but a loaded machine running many tests at once can be slow.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(15);
/// Timeout of the control calls, which the fakes answer at once whatever fault is set.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FakeKind {
    Tradernet,
    Scoring,
}

impl FakeKind {
    fn script(self) -> &'static str {
        match self {
            FakeKind::Tradernet => "fake_tradernet.py",
            FakeKind::Scoring => "fake_scoring.py",
        }
    }
}

/// One running fake service; dropping it kills the process.
pub struct FakeUpstream {
    child: Child,
    port: u16,
    /// The script, for messages.
    script: &'static str,
}

impl FakeUpstream {
    /// Starts the fake on a free loopback port and waits until it serves.
    pub fn start(kind: FakeKind) -> FakeUpstream {
        FakeUpstream::start_with(kind, &[])
    }

    /// Starts the fake with extra command-line flags, e.g. `["--fault", "http500"]`.
    pub fn start_with(kind: FakeKind, args: &[&str]) -> FakeUpstream {
        FakeUpstream::start_script(kind.script(), args)
    }

    /// Starts the fake of `tests/fake_upstreams/<script>` with extra command-line flags, e.g.
    /// `fake_evaluator.py` with `["--answer", FILE]`.
    pub fn start_script(name: &'static str, args: &[&str]) -> FakeUpstream {
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fake_upstreams")
            .join(name);
        let mut child = match Command::new("python3")
            .arg(&script)
            .args(["--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
        {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "the fake upstreams need python3 on PATH (standard library only); \
                 install it, e.g. `apt-get install python3`"
            ),
            Err(e) => panic!("starting {}: {e}", script.display()),
        };

        // The first line comes from a thread so that a fake that never prints cannot block the
        // test; the thread then drains stdout so the fake can never block on a full pipe.
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = match rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{name} printed no LISTENING line within {STARTUP_TIMEOUT:?}");
            }
        };
        let port = line
            .trim()
            .strip_prefix("LISTENING ")
            .and_then(|p| p.parse::<u16>().ok());
        let Some(port) = port else {
            let _ = child.kill();
            let status = child.wait();
            panic!("{name} did not start (said {line:?}, exit {status:?})");
        };
        FakeUpstream {
            child,
            port,
            script: name,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Base URL without a trailing slash, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Sets the fault on every route; `delay_ms` is the sleep of `delay` (kept if `None`).
    pub fn set_fault(&self, fault: &str, delay_ms: Option<u64>) {
        let mut body = json!({ "fault": fault });
        if let Some(ms) = delay_ms {
            body["delay_ms"] = json!(ms);
        }
        self.control(body);
    }

    /// Sets the fault only on paths starting with one of `routes`.
    pub fn set_fault_on(&self, fault: &str, delay_ms: Option<u64>, routes: &[&str]) {
        let mut body = json!({ "fault": fault, "routes": routes });
        if let Some(ms) = delay_ms {
            body["delay_ms"] = json!(ms);
        }
        self.control(body);
    }

    /// Posts any `/_control` body (faults, and the tradernet switches `spelling`,
    /// `trading_mode`, `connection`) and returns the switches now in force.
    pub fn control(&self, body: Value) -> Value {
        let (status, answer) = self.call("POST", "/_control", Some(&body));
        assert_eq!(status, 200, "{} /_control {body}: {answer}", self.script);
        answer
    }

    /// Every request received since the start or the last clear, oldest first.
    pub fn requests(&self) -> Vec<Value> {
        let (status, answer) = self.call("GET", "/_requests", None);
        assert_eq!(status, 200, "{} /_requests: {answer}", self.script);
        match answer {
            Value::Array(entries) => entries,
            other => panic!("{} /_requests is not a list: {other}", self.script),
        }
    }

    /// Calls of routes the real service does not have (the scoring fake records them).
    pub fn unknown_calls(&self) -> Value {
        let (status, answer) = self.call("GET", "/_unknown", None);
        assert_eq!(status, 200, "{} /_unknown: {answer}", self.script);
        answer
    }

    pub fn clear_requests(&self) {
        let (status, answer) = self.call("DELETE", "/_requests", None);
        assert_eq!(status, 200, "{} DELETE /_requests: {answer}", self.script);
    }

    /// One blocking HTTP/1.1 exchange on a fresh connection, so the helper works from plain
    /// and async tests alike without a second client stack.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let payload = body.map(Value::to_string).unwrap_or_default();
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))
            .unwrap_or_else(|e| panic!("{} at {}: {e}", self.script, self.url()));
        stream.set_read_timeout(Some(CONTROL_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(CONTROL_TIMEOUT)).unwrap();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{payload}",
            self.port,
            payload.len()
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .unwrap_or_else(|e| panic!("{} {method} {path}: {e}", self.script));
        let text = String::from_utf8_lossy(&raw);
        let (head, body) = text
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("{} {method} {path}: no HTTP answer: {text}", self.script));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{} {method} {path}: bad status line: {head}", self.script));
        let value = serde_json::from_str(body).unwrap_or(Value::String(body.to_string()));
        (status, value)
    }
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------------------------------------
// Tests of the fakes themselves.

fn client(timeout: Duration) -> reqwest::Client {
    trading_planner::upstream::http_client(timeout).expect("HTTP client")
}

async fn get_json(client: &reqwest::Client, url: String) -> (u16, Value) {
    let response = client.get(&url).send().await.expect(&url);
    let status = response.status().as_u16();
    (status, response.json().await.expect(&url))
}

async fn post_json(client: &reqwest::Client, url: String, body: Value) -> (u16, Value) {
    let response = client.post(&url).json(&body).send().await.expect(&url);
    let status = response.status().as_u16();
    (status, response.json().await.expect(&url))
}

/// The tradernet envelope of a success; returns `data`.
fn envelope_data(answer: &Value) -> &Value {
    assert_eq!(answer["success"], true, "{answer}");
    assert!(answer["error"].is_null(), "{answer}");
    let stamp = answer["timestamp"].as_str().expect("timestamp");
    assert!(
        stamp.len() >= 19 && stamp.as_bytes()[10] == b'T' && !stamp.ends_with('Z'),
        "UTC ISO without zone: {stamp}"
    );
    &answer["data"]
}

#[tokio::test]
async fn tradernet_fake_answers_health_and_every_route_in_the_envelope() {
    let fake = FakeUpstream::start(FakeKind::Tradernet);
    assert!(fake.url().ends_with(&format!(":{}", fake.port())));
    let http = client(Duration::from_secs(5));
    let base = fake.url();

    let (status, health) = get_json(&http, format!("{base}/health")).await;
    assert_eq!(status, 200);
    assert_eq!(health["status"], "healthy");
    assert_eq!(health["service"], "tradernet-service");
    assert_eq!(health["version"], "1.0.0");
    assert_eq!(health["tradernet_connected"], true);

    let (_, answer) = get_json(&http, format!("{base}/api/portfolio/positions")).await;
    let positions = envelope_data(&answer)["positions"].as_array().unwrap();
    assert!(positions.len() >= 3);
    for key in [
        "symbol",
        "quantity",
        "avg_price",
        "current_price",
        "market_value",
        "market_value_eur",
        "unrealized_pnl",
        "currency",
        "currency_rate",
    ] {
        assert!(positions.iter().all(|p| !p[key].is_null()), "{key}");
    }
    // The wrapper does not convert to EUR.
    assert!(
        positions
            .iter()
            .all(|p| p["market_value_eur"] == p["market_value"] && p["currency_rate"] == 1.0)
    );
    let shell = positions.iter().find(|p| p["symbol"] == "SHEL.UK").unwrap();
    assert_eq!(
        (
            &shell["currency"],
            &shell["current_price"],
            &shell["avg_price"]
        ),
        (&json!("GBp"), &json!(2712.0), &json!(2410.0)),
        "London lines in pence"
    );

    let (_, answer) = get_json(&http, format!("{base}/api/portfolio/cash-balances")).await;
    let currencies: Vec<&str> = envelope_data(&answer)["balances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["currency"].as_str().unwrap())
        .collect();
    assert_eq!(currencies, ["EUR", "USD", "GBP", "HKD"]);
    assert_eq!(envelope_data(&answer)["balances"][3]["amount"], -15.2);

    let (_, answer) = get_json(&http, format!("{base}/api/portfolio/cash-total-eur")).await;
    assert_eq!(envelope_data(&answer)["total_eur"], 1203.55);

    let (_, answer) = get_json(&http, format!("{base}/api/trading/pending-orders")).await;
    let orders = envelope_data(&answer)["orders"].as_array().unwrap();
    assert_eq!(orders[0]["id"], "418820331");
    assert_eq!(
        orders[0]["side"], "1",
        "the broker's code, as text, by default"
    );
    assert_eq!(orders[1]["side"], "3");
    let (_, answer) = get_json(&http, format!("{base}/api/trading/pending-orders/ASML.EU")).await;
    assert_eq!(envelope_data(&answer)["has_pending"], true);
    let (_, answer) = get_json(&http, format!("{base}/api/trading/pending-totals")).await;
    assert_eq!(
        envelope_data(&answer)["totals"],
        json!({}),
        "codes never equal \"buy\""
    );

    // The wrapper reads the broker's whole answer as one row: zeros, whatever the symbol.
    for symbol in ["AAPL.US", "NOPE.US"] {
        let url = format!("{base}/api/market-data/quote/{symbol}");
        let (_, answer) = get_json(&http, url).await;
        let quote = envelope_data(&answer);
        assert_eq!(quote["symbol"], symbol);
        assert_eq!(quote["price"], 0.0);
        assert_eq!(quote["volume"], 0);
    }

    let (_, answer) = post_json(
        &http,
        format!("{base}/api/market-data/quotes"),
        json!({"symbols": ["AAPL.US", "ASML.EU", "SHEL.UK"]}),
    )
    .await;
    let rows = &envelope_data(&answer)["quotes"]["result"]["q"];
    assert_eq!(rows[1]["ltp"], 702.4);
    assert_eq!(
        (&rows[2]["ltp"], &rows[2]["x_curr"]),
        (&json!(2712.0), &json!("GBp")),
        "London in pence"
    );

    let url = format!("{base}/api/market-data/historical/ASML.EU?start=2025-12-01&end=2025-12-31");
    let (_, answer) = get_json(&http, url).await;
    assert_eq!(
        envelope_data(&answer),
        &json!({"symbol": "ASML.EU", "candles": []}),
        "the wrapper misreads the SDK's candles"
    );
    let url = format!("{base}/api/market-data/historical/ASML.EU?start=yesterday");
    let (_, answer) = get_json(&http, url).await;
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .starts_with("Invalid date format")
    );

    let url = format!("{base}/api/transactions/executed-trades?limit=2");
    let (_, answer) = get_json(&http, url).await;
    let trades = envelope_data(&answer)["trades"].as_array().unwrap();
    assert_eq!(trades.len(), 2);
    assert_eq!(trades[0]["side"], "SELL");
    assert_eq!(trades[0]["order_id"], "96120417", "the broker's trade id");
    let url = format!("{base}/api/transactions/executed-trades?limit=0");
    assert_eq!(get_json(&http, url).await.0, 422);

    let (status, answer) = post_json(
        &http,
        format!("{base}/api/trading/place-order"),
        json!({"symbol": "AAPL.US", "side": "BUY", "quantity": 3.9}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        envelope_data(&answer),
        &json!({"order_id": "", "symbol": "AAPL.US", "side": "BUY", "quantity": 3.9, "price": 0.0}),
        "no order id, no price, the quantity as asked"
    );
    let (_, answer) = get_json(&http, format!("{base}/api/transactions/executed-trades")).await;
    let newest = &envelope_data(&answer)["trades"][0];
    assert_eq!(newest["quantity"], 3.0, "the SDK gets an integer quantity");
    assert_eq!(newest["price"], 195.2);
    let (_, orders) = get_json(&http, format!("{base}/_orders")).await;
    assert_ne!(
        newest["order_id"], orders[0]["order_id"],
        "a trade carries its own id, not the order's"
    );

    let (status, answer) = post_json(
        &http,
        format!("{base}/api/trading/place-order"),
        json!({"symbol": "AAPL.US", "side": "HOLD", "quantity": 1}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(answer["detail"][0]["loc"], json!(["body", "side"]));
    let (_, answer) = post_json(
        &http,
        format!("{base}/api/trading/place-order"),
        json!({"symbol": "NOPE.US", "side": "SELL", "quantity": 1}),
    )
    .await;
    assert_eq!(answer["success"], false);
    assert_eq!(answer["error"], "Order execution failed");

    let (_, answer) = get_json(&http, format!("{base}/api/securities/find?symbol=ASML")).await;
    assert_eq!(envelope_data(&answer)["found"][0]["isin"], "NL0010273215");
    let (_, answer) = get_json(&http, format!("{base}/api/securities/info/0700.HK")).await;
    assert_eq!(envelope_data(&answer)["lot_size_q"], 100);
    let (_, answer) = get_json(&http, format!("{base}/api/transactions/cash-movements")).await;
    assert!(envelope_data(&answer)["withdrawals"].is_array());
    let (_, answer) = get_json(&http, format!("{base}/api/transactions/cash-flows")).await;
    assert_eq!(envelope_data(&answer)["transactions"], json!([]));

    let (status, _) = get_json(&http, format!("{base}/api/nowhere")).await;
    assert_eq!(status, 404);
    assert_eq!(
        fake.unknown_calls(),
        json!([{"method": "GET", "path": "/api/nowhere"}]),
        "calls of routes the wrapper lacks are recorded"
    );
}

#[tokio::test]
async fn tradernet_fake_switches_spelling_mode_and_connection() {
    let fake = FakeUpstream::start(FakeKind::Tradernet);
    let http = client(Duration::from_secs(5));
    let base = fake.url();

    fake.control(json!({"spelling": "letter"}));
    let (_, answer) = get_json(&http, format!("{base}/api/trading/pending-orders")).await;
    assert_eq!(envelope_data(&answer)["orders"][1]["side"], "S");
    fake.control(json!({"order_fields": "live"}));
    let (_, answer) = get_json(&http, format!("{base}/api/trading/pending-orders")).await;
    assert_eq!(
        envelope_data(&answer)["orders"][0],
        json!({"id": "418820331", "symbol": "", "side": "", "quantity": 0.0, "price": 0.0,
               "currency": ""}),
        "the live broker's field names are not the ones the wrapper reads"
    );
    fake.control(json!({"order_fields": "wrapper"}));

    let now = fake.control(json!({"spelling": "word", "trading_mode": "research"}));
    assert_eq!(now["spelling"], "word");
    let (_, answer) = get_json(&http, format!("{base}/api/trading/pending-orders")).await;
    assert_eq!(envelope_data(&answer)["orders"][0]["side"], "buy");
    let (_, answer) = get_json(&http, format!("{base}/api/trading/pending-totals")).await;
    assert_eq!(envelope_data(&answer)["totals"], json!({"EUR": 701.0}));
    let (_, answer) = get_json(&http, format!("{base}/api/portfolio/cash-balances")).await;
    let balances = envelope_data(&answer)["balances"].as_array().unwrap();
    assert_eq!(
        balances.last().unwrap(),
        &json!({"currency": "TEST", "amount": 10000.0})
    );

    fake.control(json!({"connection": "disconnected"}));
    let (status, answer) = get_json(&http, format!("{base}/api/portfolio/positions")).await;
    assert_eq!(status, 200, "business errors are 200 with success false");
    assert_eq!(answer["success"], false);
    assert_eq!(answer["error"], "Not connected to Tradernet");
    let (_, health) = get_json(&http, format!("{base}/health")).await;
    assert_eq!(health["tradernet_connected"], false);

    let (status, _) = fake.call("POST", "/_control", Some(&json!({"spelling": "klingon"})));
    assert_eq!(status, 400);
}

#[tokio::test]
async fn tradernet_fake_holds_orders_open_then_fills_them_lending_what_cash_lacks() {
    let fake = FakeUpstream::start_with(FakeKind::Tradernet, &["--fills", "held"]);
    let http = client(Duration::from_secs(5));
    let base = fake.url();
    for (symbol, quantity) in [("SHEL.UK", 1), ("0700.HK", 100)] {
        let (status, answer) = post_json(
            &http,
            format!("{base}/api/trading/place-order"),
            json!({"symbol": symbol, "side": "BUY", "quantity": quantity}),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(envelope_data(&answer)["order_id"], "");
    }
    let (_, answer) = get_json(&http, format!("{base}/api/trading/pending-orders")).await;
    let open: Vec<(String, String, String)> = envelope_data(&answer)["orders"]
        .as_array()
        .unwrap()
        .iter()
        .skip(2)
        .map(|o| {
            (
                o["symbol"].as_str().unwrap().to_string(),
                o["side"].as_str().unwrap().to_string(),
                o["currency"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        open,
        [
            ("SHEL.UK".to_string(), "1".to_string(), "GBp".to_string()),
            ("0700.HK".to_string(), "2".to_string(), "HKD".to_string()),
        ],
        "a buy the HKD cash does not cover is a buy on margin"
    );
    let (_, orders) = get_json(&http, format!("{base}/_orders")).await;
    assert_eq!(orders[0]["value"], 27.12, "2712 pence are 27.12 pounds");
    assert_eq!(orders[1]["margin"], true);

    let (_, filled) = post_json(&http, format!("{base}/_fill"), json!({})).await;
    assert_eq!(filled["filled"], 2);
    let (_, answer) = get_json(&http, format!("{base}/api/trading/pending-orders")).await;
    assert_eq!(
        envelope_data(&answer)["orders"].as_array().unwrap().len(),
        2
    );
    let (_, answer) = get_json(&http, format!("{base}/api/portfolio/cash-balances")).await;
    let balances = &envelope_data(&answer)["balances"];
    assert_eq!(balances[2], json!({"currency": "GBP", "amount": 17.88}));
    assert_eq!(balances[3], json!({"currency": "HKD", "amount": -38575.2}));
    let (_, answer) = get_json(&http, format!("{base}/api/transactions/executed-trades")).await;
    let trades = &envelope_data(&answer)["trades"];
    assert_eq!(trades[0]["symbol"], "0700.HK");
    assert_eq!(trades[1]["price"], 2712.0, "London trades in pence");
    assert!(
        !trades[0]["order_id"].as_str().unwrap().starts_with("4188"),
        "trade ids, not the order ids the open orders showed"
    );
}

#[tokio::test]
async fn scoring_fake_answers_health_scores_and_metrics() {
    let fake = FakeUpstream::start(FakeKind::Scoring);
    let http = client(Duration::from_secs(5));
    let base = fake.url();

    let expected_health =
        json!({"healthy": true, "version": "1.0.0", "status": "OK", "checks": {}});
    for path in ["/scoring/health", "/health"] {
        assert_eq!(
            get_json(&http, format!("{base}{path}")).await,
            (200, expected_health.clone())
        );
    }

    let (status, answer) = post_json(
        &http,
        format!("{base}/scoring/score"),
        json!({"symbol": "AAPL.US", "isin": "US0378331005"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(answer["found"], true);
    let score = &answer["score"];
    assert_eq!(score["total_score"], 0.712);
    assert_eq!(score["grade"], "B");
    assert_eq!(score["percentile"], 0.0);
    assert_eq!(score["component_scores"].as_object().unwrap().len(), 8);
    let (_, answer) = post_json(
        &http,
        format!("{base}/scoring/score"),
        json!({"symbol": "NOPE.US"}),
    )
    .await;
    assert_eq!(answer, json!({"found": false, "score": null}));
    let (status, _) = post_json(&http, format!("{base}/scoring/score"), json!({})).await;
    assert_eq!(status, 422);

    let (_, answer) = post_json(
        &http,
        format!("{base}/scoring/score/batch"),
        json!({"isins": []}),
    )
    .await;
    assert_eq!(answer["failed"], 0);
    assert_eq!(
        answer["total_scored"].as_u64().unwrap() as usize,
        answer["scores"].as_array().unwrap().len()
    );

    let (status, answer) = post_json(
        &http,
        format!("{base}/scoring/score/portfolio"),
        json!({"positions": [{"isin": "", "symbol": "X", "market_value": 100}]}),
    )
    .await;
    assert_eq!(
        (status, answer),
        (
            400,
            json!({"detail": "No valid ISINs provided in positions"})
        )
    );
    let (_, answer) = post_json(
        &http,
        format!("{base}/scoring/score/portfolio"),
        json!({"positions": [
            {"isin": "US0378331005", "symbol": "AAPL.US", "market_value": 100.0},
            {"isin": "NL0010273215", "symbol": "ASML.EU", "market_value": 300.0}]}),
    )
    .await;
    let weighted = answer["weighted_score"].as_f64().unwrap();
    assert!((weighted - (0.712 * 100.0 + 0.803 * 300.0) / 400.0).abs() < 1e-12);
    assert_eq!(answer["portfolio_metrics"]["security_count"], 2.0);

    let (_, answer) = get_json(&http, format!("{base}/scoring/history/US0378331005")).await;
    assert_eq!(answer["scores"][0]["total_score"], 0.712);

    // The service has no metrics route: the metrics live in its calculations.db.
    for (method, path) in [
        ("GET", "/scoring/metrics/AAPL.US"),
        ("POST", "/scoring/metrics"),
    ] {
        let url = format!("{base}{path}");
        let request = if method == "GET" {
            http.get(url)
        } else {
            http.post(url).json(&json!({}))
        };
        assert_eq!(
            request.send().await.unwrap().status(),
            404,
            "{method} {path}"
        );
    }
    let (_, unknown) = get_json(&http, format!("{base}/_unknown")).await;
    assert_eq!(
        unknown,
        json!([
            {"method": "GET", "path": "/scoring/metrics/AAPL.US"},
            {"method": "POST", "path": "/scoring/metrics"}
        ]),
        "calls of routes the service lacks are recorded"
    );
}

#[tokio::test]
async fn delay_fault_delays_then_answers_normally() {
    let fake = FakeUpstream::start(FakeKind::Scoring);
    let http = client(Duration::from_secs(5));
    let url = format!("{}/scoring/health", fake.url());

    fake.set_fault("delay", Some(400));
    let started = Instant::now();
    let (status, answer) = get_json(&http, url.clone()).await;
    let delayed = started.elapsed();
    assert_eq!((status, answer["healthy"].clone()), (200, json!(true)));
    assert!(delayed >= Duration::from_millis(400), "{delayed:?}");

    fake.set_fault("none", None);
    let started = Instant::now();
    assert_eq!(get_json(&http, url).await.0, 200);
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "no delay any more"
    );
}

#[tokio::test]
async fn hang_fault_makes_a_client_timeout_fire_and_none_recovers() {
    let fake = FakeUpstream::start(FakeKind::Tradernet);
    let http = client(Duration::from_secs(1));
    let url = format!("{}/api/portfolio/positions", fake.url());

    fake.set_fault("hang", None);
    let started = Instant::now();
    let error = http
        .get(&url)
        .send()
        .await
        .expect_err("a hung fake never answers");
    let waited = started.elapsed();
    assert!(error.is_timeout(), "{error}");
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(4),
        "{waited:?}"
    );

    fake.set_fault("none", None);
    let (status, answer) = get_json(&http, url).await;
    assert_eq!(status, 200);
    assert!(
        !envelope_data(&answer)["positions"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn status_faults_answer_500_and_429_with_retry_after() {
    let fake = FakeUpstream::start(FakeKind::Tradernet);
    let http = client(Duration::from_secs(5));
    let url = format!("{}/api/portfolio/cash-balances", fake.url());

    fake.set_fault("http500", None);
    let response = http.get(&url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 500);
    assert_eq!(response.text().await.unwrap(), "Internal Server Error");

    fake.set_fault("http429", None);
    let response = http.get(&url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "1");

    fake.set_fault("none", None);
    assert_eq!(get_json(&http, url).await.0, 200);
}

#[tokio::test]
async fn malformed_fault_fails_json_decoding() {
    for kind in [FakeKind::Tradernet, FakeKind::Scoring] {
        let fake = FakeUpstream::start(kind);
        let http = client(Duration::from_secs(5));
        let url = match kind {
            FakeKind::Tradernet => format!("{}/api/portfolio/positions", fake.url()),
            FakeKind::Scoring => format!("{}/scoring/history/US0378331005", fake.url()),
        };
        fake.set_fault("malformed", None);
        let response = http.get(&url).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let error = response
            .json::<Value>()
            .await
            .expect_err("broken JSON must not decode");
        assert!(error.is_decode(), "{kind:?}: {error}");
    }
}

#[tokio::test]
async fn empty_fault_answers_empty_data() {
    let tradernet = FakeUpstream::start(FakeKind::Tradernet);
    let scoring = FakeUpstream::start(FakeKind::Scoring);
    let http = client(Duration::from_secs(5));
    tradernet.set_fault("empty", None);
    scoring.set_fault("empty", None);

    let (_, answer) = get_json(
        &http,
        format!("{}/api/portfolio/positions", tradernet.url()),
    )
    .await;
    assert_eq!(envelope_data(&answer), &json!({"positions": []}));
    let url = format!("{}/api/market-data/quote/AAPL.US", tradernet.url());
    let (_, answer) = get_json(&http, url).await;
    assert_eq!(envelope_data(&answer), &json!({}));

    let (status, answer) = post_json(
        &http,
        format!("{}/scoring/score", scoring.url()),
        json!({"symbol": "AAPL.US", "isin": "US0378331005"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(answer["score"], json!({}));
}

#[tokio::test]
async fn die_mid_response_fault_is_a_body_error() {
    let fake = FakeUpstream::start(FakeKind::Tradernet);
    let http = client(Duration::from_secs(5));
    let url = format!("{}/api/trading/pending-orders", fake.url());

    fake.set_fault("die_mid_response", None);
    let outcome = match http.get(&url).send().await {
        Err(error) => Err(error),
        Ok(response) => {
            assert_eq!(response.status().as_u16(), 200);
            response.bytes().await.map(|_| ())
        }
    };
    let error = outcome.expect_err("a short body must fail");
    // reqwest reports a body cut short as a body or decode error, depending on where it
    // notices; either way it is not a timeout.
    assert!(
        (error.is_body() || error.is_decode() || error.is_request()) && !error.is_timeout(),
        "{error:?}"
    );

    fake.set_fault("none", None);
    let (status, answer) = get_json(&http, url).await;
    assert_eq!(status, 200);
    assert_eq!(
        envelope_data(&answer)["orders"].as_array().unwrap().len(),
        2
    );
}

#[tokio::test]
async fn faults_can_be_limited_to_routes_and_set_at_start() {
    let fake = FakeUpstream::start_with(
        FakeKind::Tradernet,
        &["--fault", "http500", "--route", "/api/portfolio"],
    );
    let http = client(Duration::from_secs(5));
    let base = fake.url();
    let status_of = |path: &str| {
        let request = http.get(format!("{base}{path}"));
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status_of("/api/portfolio/positions").await, 500);
    assert_eq!(status_of("/api/trading/pending-orders").await, 200);
    assert_eq!(status_of("/health").await, 200);

    fake.set_fault_on("http429", None, &["/health"]);
    assert_eq!(status_of("/health").await, 429);
    assert_eq!(status_of("/api/portfolio/positions").await, 200);

    // A fault set without routes covers every route again.
    fake.set_fault("http500", None);
    assert_eq!(status_of("/api/trading/pending-orders").await, 500);
    let (status, _) = fake.call("POST", "/_control", Some(&json!({"fault": "flood"})));
    assert_eq!(status, 400);
    fake.set_fault("none", None);
    assert_eq!(status_of("/api/portfolio/positions").await, 200);
}

#[tokio::test]
async fn request_log_records_method_path_body_and_keys() {
    let fake = FakeUpstream::start(FakeKind::Tradernet);
    let http = client(Duration::from_secs(5));
    let base = fake.url();

    let order = json!({"symbol": "ASML.EU", "side": "SELL", "quantity": 1});
    let response = http
        .post(format!("{base}/api/trading/place-order"))
        .header("Idempotency-Key", "plan-7-step-2")
        .header("X-Request-Id", "req-42")
        .json(&order)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let url = format!("{base}/api/transactions/executed-trades?limit=5");
    get_json(&http, url).await;
    fake.set_fault("none", None);

    let log = fake.requests();
    assert_eq!(
        log.len(),
        2,
        "control and log routes are not logged: {log:?}"
    );
    assert_eq!(log[0]["method"], "POST");
    assert_eq!(log[0]["path"], "/api/trading/place-order");
    assert_eq!(log[0]["body"], order);
    assert_eq!(log[0]["headers"]["idempotency-key"], "plan-7-step-2");
    assert_eq!(log[0]["headers"]["x-request-id"], "req-42");
    assert_eq!(log[1]["method"], "GET");
    assert_eq!(log[1]["query"], "limit=5");
    assert!(log[1]["body"].is_null());
    assert_eq!(log[1]["headers"], json!({}));
    assert!(log[1]["received_at"].as_f64().unwrap() >= log[0]["received_at"].as_f64().unwrap());

    fake.clear_requests();
    assert!(fake.requests().is_empty());
}
