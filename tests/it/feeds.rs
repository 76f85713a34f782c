//! Data from outside the Python services: the scoring service's calculations.db, the ECB's
//! daily FX rates and daily-price CSV files, each against a fake or a file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use trading_planner::config::{FeedsConfig, UpstreamConfig};
use trading_planner::domain::Currency;
use trading_planner::store::{SecurityRecord, Store};
use trading_planner::sync::feeds::Feeds;
use trading_planner::upstream::Upstreams;

use crate::cli::{run_cli, run_cli_ok};
use crate::fake_upstreams::{FakeKind, FakeUpstream};
use crate::server::{ServerProcess, wait_for};
use crate::sync_faults::{all_fresh_from, fast_sync_env, service_report};

const WAIT: Duration = Duration::from_secs(30);

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

fn recorded_ecb() -> String {
    std::fs::read_to_string(fixture("ecb/eurofxref-daily.xml")).unwrap()
}

/// Files a fake web server answers, by path; any other path is 404. Requests are counted.
#[derive(Clone, Default)]
struct Files {
    answers: Arc<Mutex<BTreeMap<String, String>>>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Files {
    fn set(&self, path: &str, body: &str) {
        self.answers
            .lock()
            .unwrap()
            .insert(path.to_string(), body.to_string());
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

async fn answer(
    State(files): State<Files>,
    UrlPath(path): UrlPath<String>,
) -> (StatusCode, String) {
    files.requests.lock().unwrap().push(path.clone());
    match files.answers.lock().unwrap().get(&path) {
        Some(body) => (StatusCode::OK, body.clone()),
        None => (StatusCode::NOT_FOUND, "Not Found".to_string()),
    }
}

/// Serves `files` on a loopback port from a thread of its own (so blocking tests can use it
/// too); returns the base URL.
fn serve_files(files: &Files) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new()
        .route("/{*path}", axum::routing::get(answer))
        .with_state(files.clone());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    format!("http://127.0.0.1:{port}")
}

fn temp_store(symbols: &[&str]) -> (tempfile::TempDir, Arc<Store>) {
    let dir = tempfile::TempDir::new().unwrap();
    let store = Store::open(&dir.path().join("planner.db")).unwrap();
    let usd = Currency::new("USD").unwrap();
    let records: Vec<SecurityRecord> = symbols
        .iter()
        .map(|s| SecurityRecord::new(s, s, usd))
        .collect();
    store.insert_missing_securities(&records).unwrap();
    (dir, Arc::new(store))
}

/// Feeds whose daily-price CSV source is `base`'s `prices/<symbol>.csv`, with no pause.
fn csv_price_feeds(store: &Arc<Store>, base: &str) -> Feeds {
    feeds(
        store,
        FeedsConfig {
            price_csv_url: format!("{base}/prices/{{symbol_lower}}.csv"),
            price_csv_min_interval_secs: 0.0,
            ..FeedsConfig::default()
        },
    )
}

fn feeds(store: &Arc<Store>, config: FeedsConfig) -> Feeds {
    let upstreams = Arc::new(Upstreams::new(&UpstreamConfig::default()).unwrap());
    Feeds::new(Arc::clone(store), upstreams, config).unwrap()
}

fn query_strings(db: &Path, sql: &str) -> Vec<String> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

// ---- scoring -------------------------------------------------------------------------------

#[test]
fn the_sync_scores_per_security_copies_calculations_db_and_calls_no_route_the_service_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let calculations = dir.path().join("calculations.db");
    let fake = FakeUpstream::start_with(
        FakeKind::Scoring,
        &["--calculations-db", calculations.to_str().unwrap()],
    );
    let mut env = fast_sync_env(FakeKind::Scoring, &fake.url());
    env.push((
        "TRADING_PLANNER_FEEDS__CALCULATIONS_DB",
        calculations.display().to_string(),
    ));
    let server = ServerProcess::start(dir.path(), &env);
    wait_for(WAIT, "scores and metrics from the scoring service", || {
        all_fresh_from(&service_report(&server, "scoring"), "scoring").then_some(())
    });
    let db = dir.path().join("trading-planner.db");
    let scores = query_strings(
        &db,
        "SELECT symbol || ' ' || total_score FROM security_scores \
         WHERE symbol IN ('AAPL.US', 'ASML.EU') ORDER BY symbol",
    );
    assert_eq!(scores, ["AAPL.US 0.712", "ASML.EU 0.803"]);
    let metrics = query_strings(
        &db,
        "SELECT metric || ' ' || value || ' ' || source || ' ' || (expires_at > calculated_at) \
         FROM calculated_metrics WHERE symbol = 'AAPL.US' \
         AND metric IN ('CAGR_5Y', 'DIVIDEND_YIELD') ORDER BY metric",
    );
    assert_eq!(
        metrics,
        [
            "CAGR_5Y 0.182 calculated 1",
            "DIVIDEND_YIELD 0.0045 yahoo 1"
        ],
        "copied with their source and expiry"
    );
    let requests = fake.requests();
    assert!(requests.iter().any(|r| r["path"] == "/scoring/score"));
    assert!(requests.iter().all(|r| r["path"] != "/scoring/score/batch"));
    assert_eq!(
        fake.unknown_calls(),
        json!([]),
        "the binary called a route the scoring service does not have"
    );
}

// ---- FX ------------------------------------------------------------------------------------

fn fx_of(server: &ServerProcess) -> (Value, Value) {
    let (status, upstreams) = server.get("/api/upstreams");
    assert_eq!(status, 200, "{upstreams}");
    let (status, ready) = server.get("/readyz");
    assert_eq!(status, 200, "{ready}");
    (upstreams["fx"].clone(), ready["fx"].clone())
}

fn ecb_server(body: &str) -> (tempfile::TempDir, ServerProcess, Files) {
    let files = Files::default();
    files.set("eurofxref-daily.xml", body);
    let url = format!("{}/eurofxref-daily.xml", serve_files(&files));
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &[("TRADING_PLANNER_FEEDS__ECB_FX_URL", url)]);
    wait_for(WAIT, "the ECB rates", || {
        (fx_of(&server).0["source"] == "ecb").then_some(())
    });
    (dir, server, files)
}

#[test]
fn ecb_rates_are_stored_with_their_date_and_shown_stale_when_older_than_four_days() {
    // The recorded file is of 30 October 2026: more than four days ago.
    let (_dir, server, files) = ecb_server(&recorded_ecb());
    let (fx, ready) = fx_of(&server);
    let usd = fx["rates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["currency"] == "USD")
        .unwrap()
        .clone();
    assert_eq!(
        usd,
        json!({"currency": "USD", "per_eur": "1.1172", "rate_date": "2026-10-30", "stale": true})
    );
    assert_eq!(fx["stale"], true);
    assert_eq!(fx["stale_days"], 4);
    assert_eq!(
        ready,
        json!({"stale": true, "oldest_rate_date": "2026-10-30"})
    );
    assert_eq!(files.requests(), ["eurofxref-daily.xml"]);

    // Today's file: fresh.
    let today = chrono::Local::now().date_naive().to_string();
    let (_dir, server, _files) = ecb_server(&recorded_ecb().replace("2026-10-30", &today));
    let (fx, ready) = fx_of(&server);
    assert_eq!(fx["stale"], false);
    assert_eq!(ready, json!({"stale": false, "oldest_rate_date": today}));
}

#[tokio::test]
async fn a_malformed_ecb_feed_keeps_the_stored_rates_and_marks_them_stale() {
    let files = Files::default();
    files.set("eurofxref-daily.xml", &recorded_ecb());
    let base = serve_files(&files);
    let (_dir, store) = temp_store(&[]);
    let feeds = feeds(
        &store,
        FeedsConfig {
            ecb_fx_url: format!("{base}/eurofxref-daily.xml"),
            ..FeedsConfig::default()
        },
    );
    let rates = feeds.refresh_fx().await.unwrap();
    assert_eq!(rates.rates.len(), 10);
    let before = store.fx_rates_dated().unwrap();
    assert!(!store.data_freshness("fx").unwrap().unwrap().stale);

    let recorded = recorded_ecb();
    for broken in [
        recorded[..recorded.len() / 2].to_string(),
        recorded.replace("'1.1172'", "'N/A'"),
        "<html>maintenance</html>".to_string(),
    ] {
        files.set("eurofxref-daily.xml", &broken);
        assert!(feeds.refresh_fx().await.is_err());
        assert_eq!(
            store.fx_rates_dated().unwrap(),
            before,
            "the stored rates were touched"
        );
        assert!(store.data_freshness("fx").unwrap().unwrap().stale);
    }
}

// ---- price history -------------------------------------------------------------------------

/// A daily CSV of `days` weekdays ending 2026-12-04, in the free downloads' layout.
fn daily_csv(days: usize) -> String {
    let mut out = String::from("Date,Open,High,Low,Close,Volume\n");
    let mut day = chrono::NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
    let mut rows = Vec::new();
    while rows.len() < days {
        if chrono::Datelike::weekday(&day).number_from_monday() <= 5 {
            let i = (days - rows.len()) as f64;
            let close = 100.0 + 0.02 * (days as f64 - i) + 2.0 * (i / 5.0).sin();
            rows.push(format!("{day},{close},{close},{close},{close},1000\n"));
        }
        day = day.pred_opt().unwrap();
    }
    rows.reverse();
    out.extend(rows);
    out
}

#[tokio::test]
async fn the_backfill_downloads_each_missing_symbol_once_and_resumes_after_a_failure() {
    let files = Files::default();
    files.set("prices/aapl.us.csv", &daily_csv(600));
    let base = serve_files(&files);
    let (_dir, store) = temp_store(&["AAPL.US", "SAP.EU"]);
    let feeds = csv_price_feeds(&store, &base);
    let report = feeds.refresh_prices().await.unwrap();
    assert_eq!(report.backfill.filled, [("AAPL.US".to_string(), 600)]);
    assert_eq!(report.backfill.failed.len(), 1, "{:?}", report.backfill);
    assert_eq!(store.daily_closes("AAPL.US").unwrap().len(), 600);
    assert_eq!(report.metrics.computed, ["AAPL.US"]);
    assert_eq!(report.metrics.not_enough_history, ["SAP.EU"]);

    // SAP.EU's file appears; only it is downloaded now.
    files.set("prices/sap.eu.csv", &daily_csv(300));
    let report = feeds.refresh_prices().await.unwrap();
    assert_eq!(report.backfill.filled, [("SAP.EU".to_string(), 300)]);
    assert_eq!(
        files.requests(),
        [
            "prices/aapl.us.csv",
            "prices/sap.eu.csv",
            "prices/sap.eu.csv"
        ]
    );
    assert_eq!(report.metrics.computed, ["AAPL.US", "SAP.EU"]);
    let report = feeds.refresh_prices().await.unwrap();
    assert!(
        report.backfill.filled.is_empty(),
        "nothing left to back-fill"
    );
}

#[tokio::test]
async fn the_price_backfill_also_values_the_past_days_of_the_portfolio() {
    let files = Files::default();
    files.set("prices/aapl.us.csv", &daily_csv(30));
    let base = serve_files(&files);
    let (_dir, store) = temp_store(&["AAPL.US"]);
    let usd = Currency::new("USD").unwrap();
    store
        .replace_positions(
            &[trading_planner::store::PositionRecord {
                symbol: "AAPL.US".into(),
                quantity: trading_planner::domain::Quantity::from_shares(10).unwrap(),
                avg_price: "90".parse().unwrap(),
                currency: usd,
            }],
            trading_planner::store::AllowEmpty::No,
        )
        .unwrap();
    store
        .set_fx_rate(trading_planner::domain::FxRate::new(usd, "1.25".parse().unwrap()).unwrap())
        .unwrap();
    let feeds = csv_price_feeds(&store, &base);
    feeds.refresh_prices().await.unwrap();
    let closes = store.daily_closes("AAPL.US").unwrap();
    let values = store.daily_values().unwrap();
    assert_eq!(values.len(), closes.len(), "one value per day with a close");
    for (value, (day, close)) in values.iter().zip(&closes) {
        assert_eq!(value.day, *day);
        assert!(value.backfilled);
        assert!(
            (value.value_eur - 10.0 * close / 1.25).abs() <= 0.005 + 1e-9,
            "{value:?}"
        );
    }
}

// ---- imports -------------------------------------------------------------------------------

#[test]
fn import_fx_and_import_prices_load_files_and_refuse_malformed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let ecb = fixture("ecb/eurofxref-daily.xml");
    let out = run_cli_ok(&["--data-dir", data, "import", "fx", ecb.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("imported 10 FX rates of 2026-10-30"),
        "{text}"
    );
    let db = dir.path().join("trading-planner.db");
    assert_eq!(
        query_strings(
            &db,
            "SELECT per_eur || ' ' || rate_date FROM fx_rates WHERE currency = 'GBP'"
        ),
        ["0.8338 2026-10-30"]
    );

    let broken = dir.path().join("broken.xml");
    std::fs::write(&broken, recorded_ecb().replace("'0.8338'", "'-1'")).unwrap();
    let out = run_cli(&["--data-dir", data, "import", "fx", broken.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("GBP"));
    assert_eq!(
        query_strings(&db, "SELECT per_eur FROM fx_rates WHERE currency = 'GBP'"),
        ["0.8338"],
        "a refused file writes nothing"
    );

    let prices = dir.path().join("prices.csv");
    std::fs::write(
        &prices,
        "symbol,date,close\nAAPL.US,2026-12-03,190.5\nAAPL.US,2026-12-04,191\nSAP.EU,2026-12-04,150\n",
    )
    .unwrap();
    let out = run_cli_ok(&[
        "--data-dir",
        data,
        "import",
        "prices",
        prices.to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 3 new daily closes"));
    let one = dir.path().join("one.csv");
    std::fs::write(&one, daily_csv(5)).unwrap();
    run_cli_ok(&[
        "--data-dir",
        data,
        "import",
        "prices",
        one.to_str().unwrap(),
        "--symbol",
        "sie.eu",
    ]);
    assert_eq!(
        query_strings(
            &db,
            "SELECT symbol || ' ' || COUNT(*) FROM daily_prices GROUP BY symbol ORDER BY symbol"
        ),
        ["AAPL.US 2", "SAP.EU 1", "SIE.EU 5"]
    );
    std::fs::write(&one, "Date,Close\n2026-13-45,10\n").unwrap();
    let out = run_cli(&[
        "--data-dir",
        data,
        "import",
        "prices",
        one.to_str().unwrap(),
        "--symbol",
        "X.US",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2"));
}

#[tokio::test]
async fn the_brokers_candles_are_stored_when_the_wrapper_returns_some() {
    // The wrapper's history route, answered by a stand-in: candles for AAPL.US, none (the
    // real wrapper's usual answer) for SAP.EU.
    let files = Files::default();
    let envelope = |candles: Value| {
        json!({"success": true, "data": {"symbol": "X", "candles": candles}, "error": null,
               "timestamp": "2026-12-04T18:00:00.000000"})
        .to_string()
    };
    files.set(
        "api/market-data/historical/AAPL.US",
        &envelope(json!([
            {"date": "2026-12-03", "open": 189, "high": 191, "low": 188, "close": 190.5, "volume": 1000},
            {"date": "2026-12-04", "open": 190, "high": 192, "low": 189, "close": 191.25, "volume": 900}
        ])),
    );
    files.set("api/market-data/historical/SAP.EU", &envelope(json!([])));
    let base = serve_files(&files);
    let (_dir, store) = temp_store(&["AAPL.US", "SAP.EU"]);
    let mut upstream = UpstreamConfig::default();
    upstream.tradernet.url = base;
    upstream.tradernet.min_interval_secs = 0.0;
    let upstreams = Arc::new(Upstreams::new(&upstream).unwrap());
    let feeds = Feeds::new(Arc::clone(&store), upstreams, FeedsConfig::default()).unwrap();
    let report = feeds.refresh_prices().await.unwrap();
    assert_eq!(report.candle_days, 2);
    let day = |d: &str| d.parse::<chrono::NaiveDate>().unwrap();
    assert_eq!(
        store.daily_closes("AAPL.US").unwrap(),
        [(day("2026-12-03"), 190.5), (day("2026-12-04"), 191.25)]
    );
    assert!(store.daily_closes("SAP.EU").unwrap().is_empty());
    assert_eq!(
        files.requests(),
        [
            "api/market-data/historical/AAPL.US",
            "api/market-data/historical/SAP.EU"
        ]
    );
}

#[test]
fn import_fx_of_a_csv_history_fills_the_history_and_refuses_a_bad_line_whole() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let db = dir.path().join("trading-planner.db");
    let ecb = fixture("ecb/eurofxref-daily.xml");
    run_cli_ok(&["--data-dir", data, "import", "fx", ecb.to_str().unwrap()]);

    // The ECB's layout: newest day first, N/A cells, a comma ending each line.
    let history = dir.path().join("eurofxref-hist.csv");
    std::fs::write(
        &history,
        "Date,USD,GBP,CYP,\n2026-11-03,1.15,N/A,N/A,\n2026-10-30,1.1172,0.8338,N/A,\n\
         2026-10-29,1.11,0.83,N/A,\n",
    )
    .unwrap();
    let out = run_cli_ok(&[
        "--data-dir",
        data,
        "import",
        "fx",
        history.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("imported 5 FX rates of 3 days (2026-10-29 to 2026-11-03)"),
        "{text}"
    );
    assert_eq!(
        query_strings(
            &db,
            "SELECT currency || ' ' || day || ' ' || rate FROM fx_history \
             WHERE currency IN ('USD', 'GBP') ORDER BY currency, day"
        ),
        [
            "GBP 2026-10-29 0.83",
            "GBP 2026-10-30 0.8338",
            "USD 2026-10-29 1.11",
            "USD 2026-10-30 1.1172",
            "USD 2026-11-03 1.15"
        ]
    );
    // The newest day's USD rate is newer than the stored one; GBP has none that day.
    assert_eq!(
        query_strings(
            &db,
            "SELECT currency || ' ' || per_eur || ' ' || rate_date FROM fx_rates \
             WHERE currency IN ('USD', 'GBP') ORDER BY currency"
        ),
        ["GBP 0.8338 2026-10-30", "USD 1.15 2026-11-03"]
    );

    let broken = dir.path().join("broken.csv");
    std::fs::write(&broken, "date,USD\n2026-11-04,1.2\n2026-11-05,1,2\n").unwrap();
    let out = run_cli(&["--data-dir", data, "import", "fx", broken.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("broken.csv") && stderr.contains("line 3"),
        "{stderr}"
    );
    assert_eq!(
        query_strings(
            &db,
            "SELECT CAST(COUNT(*) AS TEXT) FROM fx_history WHERE day >= '2026-11-04'"
        ),
        ["0"],
        "a refused file writes nothing"
    );
}
