//! Reading JSON request bodies with a size limit and FastAPI-shaped validation errors, and
//! writing JSON answers as the reference's framework writes them.

use axum::body::{Body, Bytes};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::domain::py_json::{PythonFormatter, write_python_json};
use crate::domain::validation::decode_body;

/// Reads at most `limit` bytes of `body` and decodes them into `T`.
pub async fn read_json<T: DeserializeOwned>(body: Body, limit: usize) -> Result<T, ApiError> {
    let bytes = read_bytes(body, limit).await?;
    decode_body(&bytes).map_err(ApiError::Validation)
}

/// Reads at most `limit` bytes of `body`; more is 413.
pub async fn read_bytes(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            Err(ApiError::PayloadTooLarge { limit })
        }
        Err(e) => Err(ApiError::BadBody(e.to_string())),
    }
}

/// Refuses with 413 a request whose body is announced larger than `server.max_body_bytes`,
/// before any handler runs: routes that ignore their body (cancels, reads) answer it as the
/// routes that read it do, and no route spends anything on it. Bodies sent without a length
/// are bounded where they are read ([`read_bytes`]).
pub async fn refuse_oversize(
    axum::extract::State(state): axum::extract::State<std::sync::Arc<super::AppState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use hyper::body::Body as _;
    let limit = state.config.server.max_body_bytes;
    if request.body().size_hint().lower() > limit as u64 {
        return ApiError::PayloadTooLarge { limit }.into_response();
    }
    next.run(request).await
}

/// A JSON answer in the reference's text: compact separators, floats as Python prints them
/// (`1e-05`, `1e+16`), so byte-level comparisons with the reference hold.
pub struct PyJson<T>(pub T);

impl<T: Serialize> IntoResponse for PyJson<T> {
    fn into_response(self) -> Response {
        let mut out = Vec::with_capacity(512);
        match write_python_json(&mut out, &self.0, PythonFormatter::COMPACT) {
            Ok(()) => ([(CONTENT_TYPE, "application/json")], out).into_response(),
            Err(e) => {
                ApiError::Internal(format!("could not encode the answer: {e}")).into_response()
            }
        }
    }
}
