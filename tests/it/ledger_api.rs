//! `GET /api/ledger` and `GET /api/ledger.csv` on the demo data after a research trading cycle
//! with a deposit: the list, its filters and pages against the store, the CSV export with the
//! same filters, and bad queries refused as 422 JSON without quoting them back in bulk.

use std::sync::Arc;

use serde_json::Value;
use trading_planner::config::Config;
use trading_planner::store::Store;

use crate::common;

struct Demo {
    _dir: tempfile::TempDir,
    store: Arc<Store>,
    app: axum::Router,
    /// Trades the cycle filled.
    filled: usize,
}

/// The demo portfolio after one research trading cycle that deposits 500 EUR; pages of at most
/// `max_page_size` entries.
async fn demo_after_cycle(max_page_size: usize) -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("t.db")).unwrap());
    trading_planner::demo::load_if_empty(&store)
        .unwrap()
        .unwrap();
    let mut config = Config::default();
    config.server.max_page_size = max_page_size;
    let app = common::router(config, Arc::clone(&store));
    let (status, answer) = common::call(
        &app,
        "POST",
        "/gateway/trading-cycle",
        r#"{"deposit_amount": 500}"#,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["success"], true, "{answer}");
    let filled: usize = answer["final_update"]["results"]["filled"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(filled > 0, "the cycle traded nothing: {answer}");
    Demo {
        _dir: dir,
        store,
        app,
        filled,
    }
}

fn entries(page: &Value) -> &Vec<Value> {
    page["entries"].as_array().unwrap()
}

/// Every entry `query` lists, page after page.
async fn walk(app: &axum::Router, query: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let cursor = before
            .as_deref()
            .map(|b| {
                let b =
                    percent_encoding::utf8_percent_encode(b, percent_encoding::NON_ALPHANUMERIC);
                format!("&before={b}")
            })
            .unwrap_or_default();
        let (status, page) =
            common::call(app, "GET", &format!("/api/ledger?{query}{cursor}"), "").await;
        assert_eq!(status, 200, "{page}");
        all.extend(entries(&page).iter().cloned());
        match page["next_before"].as_str() {
            Some(next) => before = Some(next.to_string()),
            None => return all,
        }
    }
}

/// Status, headers and body text of a GET.
async fn get_text(app: &axum::Router, uri: &str) -> (u16, axum::http::HeaderMap, String) {
    use tower::ServiceExt;
    let request = axum::http::Request::get(uri)
        .body(axum::body::Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
}

fn read_csv(text: &str) -> Vec<csv::StringRecord> {
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test]
async fn the_ledger_lists_the_cycles_trades_and_its_deposit_newest_first() {
    let demo = demo_after_cycle(100).await;
    let (status, page) = common::call(&demo.app, "GET", "/api/ledger", "").await;
    assert_eq!(status, 200, "{page}");
    let list = entries(&page);
    let trades: Vec<&Value> = list.iter().filter(|e| e["kind"] == "trade").collect();
    let deposits: Vec<&Value> = list.iter().filter(|e| e["kind"] == "deposit").collect();
    assert_eq!(trades.len(), demo.filled);
    assert_eq!(trades.len(), demo.store.trades(None).unwrap().len());
    assert_eq!(deposits.len(), 1, "{page}");
    assert_eq!(deposits[0]["amount"], "500.00");
    assert_eq!(deposits[0]["currency"], "EUR");
    assert_eq!(deposits[0]["value_eur"], "500.00");
    for trade in &trades {
        assert_eq!(trade["source"], "research", "{trade}");
        assert!(
            trade["fee"].is_string(),
            "a paper fill knows its fee: {trade}"
        );
        assert!(
            trade["symbol"].is_string() && trade["quantity"].is_string(),
            "{trade}"
        );
    }
    // The deposit came before the cycle's trades, so it is listed after them.
    assert_eq!(list.last().unwrap()["kind"], "deposit", "{page}");
    let dates: Vec<&str> = list.iter().map(|e| e["date"].as_str().unwrap()).collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "{dates:?}");
    assert!(page["next_before"].is_null());
}

#[tokio::test]
async fn the_ledgers_filters_list_only_matching_entries() {
    let demo = demo_after_cycle(100).await;
    let app = &demo.app;
    let deposits = walk(app, "kind=deposit").await;
    assert_eq!(deposits.len(), 1);
    let buys = walk(app, "kind=trade&side=buy").await;
    let sells = walk(app, "side=SELL").await;
    assert_eq!(buys.len() + sells.len(), demo.filled);
    assert!(buys.iter().all(|e| e["side"] == "BUY"));
    let symbol = buys.first().or(sells.first()).unwrap()["symbol"]
        .as_str()
        .unwrap()
        .to_string();
    let of_symbol = walk(app, &format!("symbol={}", symbol.to_lowercase())).await;
    assert!(!of_symbol.is_empty());
    assert!(of_symbol.iter().all(|e| e["symbol"] == symbol.as_str()));
    let today = chrono::Local::now().date_naive();
    let (yesterday, tomorrow) = (today.pred_opt().unwrap(), today.succ_opt().unwrap());
    assert_eq!(
        walk(app, &format!("from={today}&to={today}")).await.len(),
        demo.filled + 1
    );
    assert!(walk(app, &format!("from={tomorrow}")).await.is_empty());
    assert!(walk(app, &format!("to={yesterday}")).await.is_empty());
}

#[tokio::test]
async fn pages_hold_at_most_the_configured_size_and_follow_each_other() {
    let demo = demo_after_cycle(2).await;
    let (status, page) = common::call(&demo.app, "GET", "/api/ledger?limit=500", "").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(entries(&page).len(), 2);
    assert!(page["next_before"].is_string());
    let walked = walk(&demo.app, "limit=1").await;
    let ids: Vec<(String, i64)> = walked
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().into(),
                e["id"].as_i64().unwrap(),
            )
        })
        .collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
    assert_eq!(ids.len(), demo.filled + 1);
}

#[tokio::test]
async fn the_csv_export_has_every_matching_entry_as_an_attachment() {
    // Pages of two: the export reads several.
    let demo = demo_after_cycle(2).await;
    let (status, headers, text) = get_text(&demo.app, "/api/ledger.csv").await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"ledger.csv\""
    );
    assert!(text.starts_with(
        "kind,id,date,symbol,side,quantity,price,amount,currency,value_eur,fee,source\r\n"
    ));
    let rows = read_csv(&text);
    let listed = walk(&demo.app, "").await;
    assert_eq!(rows.len(), listed.len());
    assert_eq!(rows.len(), demo.filled + 1);
    for (row, entry) in rows.iter().zip(&listed) {
        for (n, column) in [
            "kind",
            "id",
            "date",
            "symbol",
            "side",
            "quantity",
            "price",
            "amount",
            "currency",
            "value_eur",
            "fee",
            "source",
        ]
        .iter()
        .enumerate()
        {
            let expected = match &entry[*column] {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            assert_eq!(row[n], expected, "{column} of {entry}");
        }
    }
    let (_, _, deposits) = get_text(&demo.app, "/api/ledger.csv?kind=deposit").await;
    let rows = read_csv(&deposits);
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][0], "deposit");
    assert_eq!(&rows[0][7], "500.00");
    let (_, _, capped) = get_text(&demo.app, "/api/ledger.csv?limit=3").await;
    assert_eq!(read_csv(&capped).len(), 3.min(demo.filled + 1));
}

#[tokio::test]
async fn bad_ledger_queries_are_422_json_naming_the_field_without_quoting_it_in_bulk() {
    let demo = demo_after_cycle(100).await;
    let long = "Z".repeat(5_000);
    let cases = [
        ("kind=everything", "kind"),
        ("side=short", "side"),
        ("symbol=%3Cscript%3E", "symbol"),
        ("from=yesterday", "from"),
        ("from=2026-02-01&to=2026-01-01", "to"),
        ("limit=0", "limit"),
        ("limit=100000", "limit"),
        ("before=garbage", "before"),
        ("kind=trade&kind=trade", "kind"),
        ("symbol=%FF%FE", "symbol"),
    ];
    for route in ["/api/ledger", "/api/ledger.csv"] {
        for (query, field) in cases {
            let (status, body) =
                common::call(&demo.app, "GET", &format!("{route}?{query}"), "").await;
            assert_eq!(status, 422, "{route}?{query}: {body}");
            assert_eq!(body["detail"][0]["loc"][0], "query", "{body}");
            assert_eq!(
                body["detail"][0]["loc"][1], field,
                "{route}?{query}: {body}"
            );
        }
        let (status, _, text) = get_text(&demo.app, &format!("{route}?symbol={long}")).await;
        assert_eq!(status, 422);
        assert!(text.len() < 1_000, "{} bytes answered", text.len());
    }
    // Nothing was written: the ledger is as the cycle left it.
    assert_eq!(walk(&demo.app, "").await.len(), demo.filled + 1);
    assert_eq!(demo.store.deposits().unwrap().len(), 1);
}
