//! The one place where errors become HTTP answers. Every answer is JSON with a `detail` field,
//! as FastAPI answers: a list of field errors for 422, a message otherwise.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::validation::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("request validation failed")]
    Validation(Vec<FieldError>),
    #[error("request body larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("could not read the request body: {0}")]
    BadBody(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
    #[error("Not Found")]
    NotFound,
    /// A named thing that does not exist (a plan, a run).
    #[error("{0}")]
    NotFoundMessage(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BadBody(_) => StatusCode::BAD_REQUEST,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::NotFound | ApiError::NotFoundMessage(_) => StatusCode::NOT_FOUND,
        };
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        match self {
            ApiError::Validation(errors) => {
                (status, Json(Detail { detail: errors })).into_response()
            }
            other => (
                status,
                Json(Detail {
                    detail: other.to_string(),
                }),
            )
                .into_response(),
        }
    }
}

/// FastAPI's error envelope; typed so the field errors keep pydantic's key order.
#[derive(Serialize)]
struct Detail<T> {
    detail: T,
}
