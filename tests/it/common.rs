//! Shared helpers of the integration tests: the recorded oracle, JSON comparison, a store
//! loaded with a scenario's metrics, and the router.

use std::path::{Path, PathBuf};

use serde_json::Value;
use trading_planner::domain::MetricsBySymbol;

/// The recorded Python answers and their scenarios, kept in the repository under
/// `tests/fixtures` (see its README).
pub fn oracle_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The keys of each strategy's figures in a backtest report (docs/backtest.md).
pub const BACKTEST_FIGURES: [&str; 11] = [
    "twr_annual",
    "volatility",
    "max_drawdown",
    "turnover",
    "fees_eur",
    "trades",
    "avg_distance_pp",
    "peak_weight",
    "avg_idle_cash",
    "unexecutable_steps",
    "final_value_eur",
];

pub fn read_json(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// The golden pairs: (name, request, response).
pub fn golden_pairs() -> Vec<(String, Value, Value)> {
    let dir = oracle_dir().join("golden");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the oracle must be at {}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".request.json")
                .map(str::to_string)
        })
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no golden pairs in {}", dir.display());
    names
        .into_iter()
        .map(|name| {
            let request = read_json(&dir.join(format!("{name}.request.json")));
            let response = read_json(&dir.join(format!("{name}.response.json")));
            (name, request, response)
        })
        .collect()
}

/// The metrics the Python evaluator read for a golden pair: `securities[].metrics` of the
/// scenario its name points to (`py_eval_n010_*` → `scenario_n010.json`).
pub fn scenario_metrics(golden_name: &str) -> MetricsBySymbol {
    let size = golden_name.split('_').nth(2).expect("py_eval_nNNN_variant");
    let scenario = read_json(&oracle_dir().join(format!("scenario_{size}.json")));
    metrics_of_scenario(&scenario)
}

pub fn metrics_of_scenario(scenario: &Value) -> MetricsBySymbol {
    let mut out = MetricsBySymbol::new();
    for security in scenario["securities"].as_array().expect("securities") {
        let symbol = security["symbol"].as_str().expect("symbol").to_string();
        let metrics = security["metrics"].as_object().expect("metrics");
        let map = metrics
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
            .collect();
        out.insert(symbol, map);
    }
    out
}

/// Compares two JSON documents: same structure and keys, strings and booleans equal, numbers
/// within `tolerance` (absolute). Returns the first difference as a path and a description.
pub fn json_diff(expected: &Value, actual: &Value, tolerance: f64) -> Option<String> {
    fn walk(e: &Value, a: &Value, tol: f64, path: &mut Vec<String>) -> Option<String> {
        let here = || format!("/{}", path.join("/"));
        match (e, a) {
            (Value::Number(x), Value::Number(y)) => {
                let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                ((x - y).abs() > tol).then(|| format!("{}: expected {x:?}, got {y:?}", here()))
            }
            (Value::Object(x), Value::Object(y)) => {
                let xk: Vec<_> = x.keys().collect();
                let yk: Vec<_> = y.keys().collect();
                let (mut xs, mut ys) = (xk.clone(), yk.clone());
                xs.sort();
                ys.sort();
                if xs != ys {
                    return Some(format!("{}: keys {xk:?} vs {yk:?}", here()));
                }
                for (k, v) in x {
                    path.push(k.clone());
                    let d = walk(v, &y[k], tol, path);
                    path.pop();
                    if d.is_some() {
                        return d;
                    }
                }
                None
            }
            (Value::Array(x), Value::Array(y)) => {
                if x.len() != y.len() {
                    return Some(format!("{}: length {} vs {}", here(), x.len(), y.len()));
                }
                for (i, (v, w)) in x.iter().zip(y).enumerate() {
                    path.push(i.to_string());
                    let d = walk(v, w, tol, path);
                    path.pop();
                    if d.is_some() {
                        return d;
                    }
                }
                None
            }
            _ => (e != a).then(|| format!("{}: expected {e}, got {a}", here())),
        }
    }
    walk(expected, actual, tolerance, &mut Vec::new())
}

/// A temporary data directory whose database holds the metrics of a golden pair's scenario.
pub fn store_with_metrics(
    golden_name: &str,
) -> (
    tempfile::TempDir,
    std::sync::Arc<trading_planner::store::Store>,
) {
    let dir = tempfile::tempdir().unwrap();
    let store =
        trading_planner::store::Store::open(&dir.path().join("trading-planner.db")).unwrap();
    store
        .replace_metrics(&scenario_metrics(golden_name), "oracle")
        .unwrap();
    (dir, std::sync::Arc::new(store))
}

/// The router over `store`, with `config`.
pub fn router(
    config: trading_planner::config::Config,
    store: std::sync::Arc<trading_planner::store::Store>,
) -> axum::Router {
    let state = trading_planner::gateway::AppState::new(config, store).unwrap();
    trading_planner::gateway::router(std::sync::Arc::new(state))
}

/// Sends one request through the router; returns the status and the JSON body.
pub async fn call(
    router: &axum::Router,
    method: &str,
    uri: &str,
    body: impl Into<axum::body::Body>,
) -> (u16, Value) {
    use tower::ServiceExt;
    let request = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(body.into())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "{uri} answered non-JSON ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    (status, value)
}

/// The golden pair whose name contains `fragment`.
pub fn golden_pair(fragment: &str) -> (String, Value, Value) {
    golden_pairs()
        .into_iter()
        .find(|p| p.0.contains(fragment))
        .unwrap_or_else(|| panic!("no golden pair {fragment}"))
}

/// Writes the metrics of a golden pair's scenario into `dir` as `{"SYMBOL": {"METRIC": value}}`.
pub fn write_scenario_metrics(dir: &Path, golden_name: &str) -> PathBuf {
    let path = dir.join(format!("{golden_name}.metrics.json"));
    std::fs::write(
        &path,
        serde_json::to_string(&scenario_metrics(golden_name)).unwrap(),
    )
    .unwrap();
    path
}

/// Sends one request through the router; returns the status, the content type and the raw body.
pub async fn call_raw(
    router: &axum::Router,
    method: &str,
    uri: &str,
    body: impl Into<axum::body::Body>,
) -> (u16, String, Vec<u8>) {
    use tower::ServiceExt;
    let request = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(body.into())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, content_type, bytes.to_vec())
}

/// A router over an empty store in a temporary directory.
pub fn empty_router() -> (tempfile::TempDir, axum::Router) {
    let dir = tempfile::tempdir().unwrap();
    let store = trading_planner::store::Store::open(&dir.path().join("t.db")).unwrap();
    let router = router(
        trading_planner::config::Config::default(),
        std::sync::Arc::new(store),
    );
    (dir, router)
}

/// `value` with the field at `pointer` set (created if absent).
pub fn with(mut value: Value, pointer: &str, replacement: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let parent = value
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("{pointer}"));
    match parent {
        Value::Object(map) => {
            map.insert(key.to_string(), replacement);
        }
        Value::Array(items) => items[key.parse::<usize>().unwrap()] = replacement,
        _ => panic!("{pointer}"),
    }
    value
}
