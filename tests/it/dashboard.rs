//! The dashboard's files: served with their types, self-contained, small, and consistent with
//! the page and the API they use.

use std::collections::BTreeSet;
use std::sync::Arc;

use trading_planner::config::Config;
use trading_planner::gateway::dashboard::{APP_CSS, APP_JS, CHART_JS, INDEX_HTML, total_bytes};
use trading_planner::gateway::{AppState, router};
use trading_planner::store::Store;

use crate::common;

#[tokio::test]
async fn the_page_and_its_assets_are_served_with_their_types() {
    let (_dir, app) = common::empty_router();
    for (path, kind, body) in [
        ("/", "text/html", INDEX_HTML),
        ("/assets/app.js", "text/javascript", APP_JS),
        ("/assets/app.css", "text/css", APP_CSS),
        ("/assets/chart.js", "text/javascript", CHART_JS),
    ] {
        let (status, content_type, bytes) = common::call_raw(&app, "GET", path, "").await;
        assert_eq!(status, 200, "{path}");
        assert!(content_type.starts_with(kind), "{path}: {content_type}");
        assert_eq!(bytes, body.as_bytes(), "{path}");
    }
}

#[test]
fn nothing_is_loaded_from_elsewhere_and_the_page_is_small() {
    for (name, text) in [
        ("index.html", INDEX_HTML),
        ("app.js", APP_JS),
        ("app.css", APP_CSS),
        ("chart.js", CHART_JS),
    ] {
        assert!(
            !text.contains("http://") && !text.contains("https://"),
            "{name}"
        );
        assert!(!text.contains("//cdn"), "{name}");
    }
    assert!(total_bytes() < 200 * 1024, "{} bytes", total_bytes());
}

/// Every literal `$("id")` in the script names an element of the page.
#[test]
fn every_element_the_script_looks_up_is_on_the_page() {
    let ids: BTreeSet<&str> = INDEX_HTML
        .split("id=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    for lookup in APP_JS.split("$(\"").skip(1) {
        let (id, after) = lookup.split_once('"').unwrap();
        // Ids built at run time (`$("setting-" + key)`) belong to elements the script makes.
        if !after.starts_with(')') {
            continue;
        }
        assert!(
            ids.contains(id),
            "app.js looks up #{id}, which index.html lacks"
        );
    }
}

/// Every API route the script reads answers (not 404 for a missing route) on a fresh database
/// with demo data, and the page stays readable when reads need the token.
#[tokio::test]
async fn the_routes_the_script_uses_exist() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db")).unwrap();
    trading_planner::demo::load_if_empty(&store).unwrap();
    let mut config = Config::default();
    config.auth.open_reads = false;
    let mut state = AppState::new(config, Arc::new(store)).unwrap();
    state.token = Some("secret".into());
    let app = router(Arc::new(state));
    let (status, _, _) = common::call_raw(&app, "GET", "/", "").await;
    assert_eq!(status, 200, "the page itself needs no token");
    let (status, _, _) = common::call_raw(&app, "GET", "/api/portfolio", "").await;
    assert_eq!(status, 401, "data does");

    let (_dir, open) = common::empty_router();
    for path in [
        "/api/portfolio",
        "/api/upstreams",
        "/api/settings",
        "/api/plans?limit=100",
        "/api/orders",
        "/api/portfolio/history",
    ] {
        assert!(APP_JS.contains(path.split('?').next().unwrap()), "{path}");
        let (status, body) = common::call(&open, "GET", path, "").await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (status, body) = common::call(&open, "GET", "/api/plans/latest", "").await;
    assert_eq!(status, 404, "{body}");
    assert!(body["detail"].is_string());
}
