//! The dashboard in a real browser: Debian's Chromium, headless, driven over the DevTools
//! protocol by `tests/browser/drive_dashboard.py` against the binary serving the demo data.
//! Screenshots at phone and desktop widths go to `test-artifacts/dashboard/`.

use chrono::Datelike;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::server::{ServerProcess, wait_for};

const TOKEN: &str = "browser-test-token";

#[test]
fn the_dashboard_works_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &[("TRADING_PLANNER_AUTH__TOKEN", TOKEN.into())]);
    let (status, started) = server.request("POST", "/api/plans", "", Some(TOKEN));
    assert_eq!(status, 202, "{started}");
    let run = format!("/api/runs/{}", started["run_id"]);
    wait_for(Duration::from_secs(30), "the first plan", || {
        (server.get(&run).1["state"] == "finished").then_some(())
    });

    // The security pages draw the demo's year of invented closes.
    let out = drive_dashboard(&server, &[]);
    for shot in [
        "dashboard-phone.png",
        "dashboard-desktop-read-only.png",
        "dashboard-desktop-after-plan.png",
        "dashboard-backtest-desktop.png",
        "dashboard-backtest-phone.png",
        "dashboard-targets-desktop.png",
        "dashboard-targets-phone.png",
        "dashboard-plan-desktop.png",
        "dashboard-plan-phone.png",
        "dashboard-security-desktop.png",
        "dashboard-security-phone.png",
    ] {
        assert!(out.join(shot).metadata().unwrap().len() > 1000, "{shot}");
    }
    let log = server.stderr();
    assert!(!log.contains("panicked"), "{log}");
}

/// The Value section on a first start: the demo's year of invented closes is back-filled into
/// daily values at start, and the chart and the returns shown are the API's, at phone and
/// desktop widths.
#[test]
fn the_value_chart_shows_the_back_filled_history_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let today = chrono::Local::now().date_naive();
    let first = today - chrono::Days::new(trading_planner::demo::HISTORY_DAYS);
    // Every weekday of the invented year before today, and today's live value.
    let weekdays = first
        .iter_days()
        .take_while(|d| *d < today)
        .filter(|d| d.weekday().num_days_from_monday() < 5)
        .count();
    let server = ServerProcess::start(dir.path(), &[("TRADING_PLANNER_AUTH__TOKEN", TOKEN.into())]);
    let (_, history) = server.get("/api/portfolio/history");
    let points = history["points"].as_array().unwrap();
    assert_eq!(points.len(), weekdays + 1, "{history}");
    assert!(points[..weekdays].iter().all(|p| p["backfilled"] == true));
    assert!(history["twr"]["one_month"].is_number(), "{history}");
    let out = drive_dashboard(&server, &["--value"]);
    for shot in ["dashboard-value-desktop.png", "dashboard-value-phone.png"] {
        assert!(out.join(shot).metadata().unwrap().len() > 1000, "{shot}");
    }
}

/// With `auth.open_reads` off (the board profile), the page asks for the token, and unlocking
/// loads the portfolio and the plan without a reload.
#[test]
fn with_closed_reads_the_dashboard_asks_for_the_token_then_loads() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(
        dir.path(),
        &[
            ("TRADING_PLANNER_AUTH__TOKEN", TOKEN.into()),
            ("TRADING_PLANNER_AUTH__OPEN_READS", "false".into()),
        ],
    );
    let (status, started) = server.request("POST", "/api/plans", "", Some(TOKEN));
    assert_eq!(status, 202, "{started}");
    let run = format!("/api/runs/{}", started["run_id"]);
    wait_for(Duration::from_secs(30), "the first plan", || {
        let (_, body) = server.request("GET", &run, "", Some(TOKEN));
        (body["state"] == "finished").then_some(())
    });
    drive_dashboard(&server, &["--closed-reads"]);
}

/// The ledger after a research trading cycle with a deposit, in pages of two entries so that
/// "Load more" is needed: rows against the API, the CSV link's filters, phone and desktop
/// widths, dark mode, no console errors.
#[test]
fn the_ledger_view_works_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(
        dir.path(),
        &[
            ("TRADING_PLANNER_AUTH__TOKEN", TOKEN.into()),
            ("TRADING_PLANNER_SERVER__MAX_PAGE_SIZE", "2".into()),
        ],
    );
    let (status, cycle) = server.request(
        "POST",
        "/gateway/trading-cycle",
        r#"{"deposit_amount": 500}"#,
        Some(TOKEN),
    );
    assert_eq!(status, 200, "{cycle}");
    assert_eq!(cycle["success"], true, "{cycle}");
    let (_, page) = server.get("/api/ledger?kind=trade");
    assert!(!page["entries"].as_array().unwrap().is_empty(), "{page}");

    let shots = [
        "dashboard-ledger-desktop.png",
        "dashboard-ledger-phone.png",
        "dashboard-ledger-phone-dark.png",
    ];
    // Those of an earlier run must not stand in for this one's.
    let previous = Path::new(env!("CARGO_MANIFEST_DIR")).join("test-artifacts/dashboard");
    for shot in shots {
        let _ = std::fs::remove_file(previous.join(shot));
    }
    let out = drive_dashboard(&server, &["--ledger"]);
    for shot in shots {
        assert!(out.join(shot).metadata().unwrap().len() > 1000, "{shot}");
    }
}

/// A portfolio inside all its bands with cash at its reserve: the plan is empty, its narrative
/// says so, and the page shows that sentence as the plan, with no step rows, at phone and
/// desktop widths.
#[test]
fn a_portfolio_inside_its_bands_shows_an_empty_plan_that_says_so_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    demo_inside_its_bands(dir.path());
    let server = ServerProcess::start(dir.path(), &[("TRADING_PLANNER_AUTH__TOKEN", TOKEN.into())]);
    let (_, targets) = server.get("/api/targets");
    let rows = targets["securities"]
        .as_array()
        .unwrap()
        .iter()
        .chain(targets["groups"].as_array().unwrap());
    for row in rows {
        assert_eq!(row["outside_band"], false, "{row}");
    }
    assert_eq!(targets["cash"]["idle"], 0.0, "{}", targets["cash"]);

    let (status, started) = server.request("POST", "/api/plans", "", Some(TOKEN));
    assert_eq!(status, 202, "{started}");
    let run = format!("/api/runs/{}", started["run_id"]);
    wait_for(Duration::from_secs(30), "the plan", || {
        (server.get(&run).1["state"] == "finished").then_some(())
    });
    let (_, list) = server.get("/api/plans?limit=1");
    let (_, plan) = server.get(&format!("/api/plans/{}", list["plans"][0]["id"]));
    assert_eq!(plan["steps"], serde_json::json!([]), "{plan}");
    let narrative = plan["details"]["narrative"].as_str().unwrap();
    assert!(narrative.starts_with("Inside your bands"), "{narrative}");

    let shots = [
        "dashboard-plan-in-bands-desktop.png",
        "dashboard-plan-in-bands-phone.png",
    ];
    let out = drive_dashboard(&server, &["--in-bands"]);
    for shot in shots {
        assert!(out.join(shot).metadata().unwrap().len() > 1000, "{shot}");
    }
}

/// Fills `dir`'s database as a first start does (the demo and its invented closes), then makes
/// its portfolio sit at its targets: every targeted security holds its target weight to the
/// nearest whole lot, and the rest is EUR cash at the reserve.
fn demo_inside_its_bands(dir: &Path) {
    use std::sync::Arc;
    use trading_planner::domain::{Currency, Decimal, Money, Quantity};
    use trading_planner::store::{AllowEmpty, PositionRecord, Store};

    let store = Arc::new(Store::open(&dir.join("trading-planner.db")).unwrap());
    trading_planner::demo::load_if_empty(&store)
        .unwrap()
        .unwrap();
    trading_planner::demo::seed_price_history(&store, chrono::Local::now().date_naive()).unwrap();
    // The targets are fractions of the portfolio, the same at any value once the cash reserve
    // is its ratio rather than its minimum in EUR.
    let router = crate::common::router(
        trading_planner::config::Config::default(),
        Arc::clone(&store),
    );
    let (status, targets) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(crate::common::call(&router, "GET", "/api/targets", ""));
    assert_eq!(status, 200, "{targets}");
    // Large enough that the nearest whole lot of every security, Hong Kong board lots of
    // hundreds of shares among them, lands well inside its band.
    let total_eur = 2_000_000.0;
    let rates = store.fx_rates().unwrap();
    let quotes = store.quotes().unwrap();
    let securities = store.securities().unwrap();
    let mut positions = Vec::new();
    let mut invested_eur = 0.0;
    for row in targets["securities"].as_array().unwrap() {
        let symbol = row["symbol"].as_str().unwrap();
        let target = row["target"].as_f64().unwrap_or(0.0);
        let quote = quotes.iter().find(|q| q.symbol == symbol).unwrap();
        let rate = rates
            .iter()
            .find(|r| r.currency() == quote.currency)
            .map_or(1.0, |r| r.per_eur().to_f64());
        let lot = securities
            .iter()
            .find(|s| s.symbol == symbol)
            .unwrap()
            .min_lot
            .max(1);
        let lot_eur = lot as f64 * quote.price.to_f64() / rate;
        let lots = (target * total_eur / lot_eur).round() as i64;
        if lots == 0 {
            continue;
        }
        invested_eur += lots as f64 * lot_eur;
        positions.push(PositionRecord {
            symbol: symbol.to_string(),
            quantity: Quantity::from_shares(lots * lot).unwrap(),
            avg_price: quote.price,
            currency: quote.currency,
        });
    }
    store.replace_positions(&positions, AllowEmpty::No).unwrap();
    // Cash at the reserve's share of the new total: reserve = cash / (invested + cash).
    let reserve = targets["cash"]["reserve"].as_f64().unwrap();
    let cash_eur = Decimal::from_f64(invested_eur * reserve / (1.0 - reserve)).unwrap();
    let cash = Money::from_decimal_rounded(cash_eur, Currency::EUR).unwrap();
    store
        .replace_cash_balances(&[cash], AllowEmpty::No)
        .unwrap();
}

/// Runs `tests/browser/drive_dashboard.py` against `server` with the token and `args`, and
/// requires every check of it to pass; returns the directory of its screenshots.
pub(crate) fn drive_dashboard(server: &ServerProcess, args: &[&str]) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = root.join("test-artifacts/dashboard");
    let driven = Command::new("python3")
        .arg(root.join("tests/browser/drive_dashboard.py"))
        .args(["--url", &format!("http://127.0.0.1:{}", server.port())])
        .args(["--token", TOKEN])
        .args(args)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&driven.stdout);
    let stderr = String::from_utf8_lossy(&driven.stderr);
    assert!(driven.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("dashboard: all checks passed"), "{stdout}");
    out
}
