//! What the gateway and the shadow replay both need of HTTP messages: the request-id header
//! they put on every request, and the content type they compare answers by.

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderName};

/// The header that carries a request's id, inbound and onto every call made for it.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The `Content-Type` of an answer (or request) with `headers`; `None` when it has none or
/// one that is not visible ASCII.
pub fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
