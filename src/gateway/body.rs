//! Reading JSON request bodies with a size limit and FastAPI-shaped validation errors.

use axum::body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::domain::validation::decode_body;

/// Reads at most `limit` bytes of `body` and decodes them into `T`.
pub async fn read_json<T: DeserializeOwned>(body: Body, limit: usize) -> Result<T, ApiError> {
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        Err(e) => return Err(ApiError::BadBody(e.to_string())),
    };
    decode_body(&bytes).map_err(ApiError::Validation)
}
