use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use tower::ServiceExt;

use super::*;
use crate::upstream::current_request_id;

fn echo_router() -> Router {
    request_ids(Router::new().route(
        "/id",
        get(|| async { current_request_id().unwrap_or_default() }),
    ))
}

async fn get_id(router: &Router, header: Option<&str>) -> (String, String) {
    let mut request = Request::builder().uri("/id");
    if let Some(value) = header {
        request = request.header("x-request-id", value);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let echoed = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (echoed, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn a_sane_client_id_is_kept_and_seen_by_upstream_calls() {
    let router = echo_router();
    let (echoed, seen) = get_id(&router, Some("client-42")).await;
    assert_eq!((echoed.as_str(), seen.as_str()), ("client-42", "client-42"));
}

#[tokio::test]
async fn a_missing_or_odd_client_id_is_replaced() {
    let router = echo_router();
    let long = "x".repeat(MAX_REQUEST_ID_LEN + 1);
    for header in [None, Some(""), Some("two words"), Some(long.as_str())] {
        let (echoed, seen) = get_id(&router, header).await;
        assert_eq!(echoed, seen);
        assert_eq!(echoed.len(), 32, "{header:?}");
        assert!(echoed.bytes().all(|b| b.is_ascii_hexdigit()));
    }
    let limit = "y".repeat(MAX_REQUEST_ID_LEN);
    assert_eq!(get_id(&router, Some(&limit)).await.0, limit);
}

#[test]
fn new_ids_do_not_repeat() {
    let ids: std::collections::HashSet<String> = (0..1000).map(|_| new_request_id()).collect();
    assert_eq!(ids.len(), 1000);
}
