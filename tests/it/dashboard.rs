//! The dashboard's files: served with their types, self-contained, small, and consistent with
//! the page and the API they use.

use std::collections::BTreeSet;
use std::sync::Arc;

use trading_planner::config::Config;
use trading_planner::gateway::auth::ALWAYS_OPEN;
use trading_planner::gateway::dashboard::{APP_JS, ASSETS, INDEX_HTML, SECURITY_JS, total_bytes};
use trading_planner::gateway::{AppState, router};
use trading_planner::store::Store;

use crate::common;

#[tokio::test]
async fn the_page_and_its_assets_are_served_with_their_types() {
    let (_dir, app) = common::empty_router();
    for &(path, kind, body) in ASSETS {
        let (status, content_type, bytes) = common::call_raw(&app, "GET", path, "").await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(content_type, kind, "{path}");
        assert_eq!(bytes, body.as_bytes(), "{path}");
        assert!(
            ALWAYS_OPEN.contains(&path),
            "{path} needs the token, which the page asks for only once it runs"
        );
    }
    assert!(INDEX_HTML.contains(r#"<script src="/assets/security.js" defer>"#));
}

#[test]
fn nothing_is_loaded_from_elsewhere_and_the_page_is_small() {
    for &(name, _, text) in ASSETS {
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
    let scripts = ASSETS.iter().filter(|(path, ..)| path.ends_with(".js"));
    for lookup in scripts.flat_map(|(_, _, text)| text.split("$(\"").skip(1)) {
        let (id, after) = lookup.split_once('"').unwrap();
        // Ids built at run time (`$("setting-" + key)`) belong to elements the script makes.
        if !after.starts_with(')') {
            continue;
        }
        assert!(
            ids.contains(id),
            "a script looks up #{id}, which index.html lacks"
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
        "/api/targets",
        "/api/portfolio/history",
    ] {
        assert!(APP_JS.contains(path.split('?').next().unwrap()), "{path}");
        let (status, body) = common::call(&open, "GET", path, "").await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (status, body) = common::call(&open, "GET", "/api/plans/latest", "").await;
    assert_eq!(status, 404, "{body}");
    assert!(body["detail"].is_string());
    // The security page's route, on the demo data.
    assert!(SECURITY_JS.contains("\"/api/securities/\""));
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db")).unwrap();
    trading_planner::demo::load_if_empty(&store).unwrap();
    let demo = router(Arc::new(
        AppState::new(Config::default(), Arc::new(store)).unwrap(),
    ));
    let (status, body) = common::call(&demo, "GET", "/api/securities/ASML.EU?days=365", "").await;
    assert_eq!(status, 200, "{body}");
}

/// The ledger's script: served as JavaScript, self-contained, every element it looks up on the
/// page, and the routes it reads answer on an empty database.
#[tokio::test]
async fn the_ledger_script_is_served_self_contained_and_finds_its_elements() {
    use trading_planner::gateway::dashboard::LEDGER_JS;
    let (_dir, app) = common::empty_router();
    let (status, content_type, bytes) =
        common::call_raw(&app, "GET", "/assets/ledger.js", "").await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("text/javascript"),
        "{content_type}"
    );
    assert_eq!(bytes, LEDGER_JS.as_bytes());
    assert!(INDEX_HTML.contains("<script src=\"/assets/ledger.js\" defer>"));
    assert!(!LEDGER_JS.contains("http://") && !LEDGER_JS.contains("https://"));
    let ids: BTreeSet<&str> = INDEX_HTML
        .split("id=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    for lookup in LEDGER_JS.split("$(\"").skip(1) {
        let (id, after) = lookup.split_once('"').unwrap();
        if after.starts_with(')') {
            assert!(
                ids.contains(id),
                "ledger.js looks up #{id}, which index.html lacks"
            );
        }
    }
    // The filters are looked up by name: each has its labelled field.
    for name in ["kind", "symbol", "side", "from", "to"] {
        assert!(ids.contains(format!("ledger-{name}").as_str()), "{name}");
        assert!(
            INDEX_HTML.contains(&format!("<label for=\"ledger-{name}\">")),
            "{name}"
        );
    }
    for path in ["/api/ledger", "/api/ledger.csv"] {
        assert!(LEDGER_JS.contains(path), "{path}");
        let (status, _, _) = common::call_raw(&app, "GET", path, "").await;
        assert_eq!(status, 200, "{path}");
    }
    // With closed reads the script is still served (it holds no data); the ledger is not.
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.auth.open_reads = false;
    let mut state = AppState::new(
        config,
        Arc::new(Store::open(&dir.path().join("t.db")).unwrap()),
    )
    .unwrap();
    state.token = Some("secret".into());
    let closed = router(Arc::new(state));
    let (status, _, _) = common::call_raw(&closed, "GET", "/assets/ledger.js", "").await;
    assert_eq!(status, 200);
    for path in ["/api/ledger", "/api/ledger.csv"] {
        let (status, _, _) = common::call_raw(&closed, "GET", path, "").await;
        assert_eq!(status, 401, "{path}");
    }
}
