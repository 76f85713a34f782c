//! The one place where errors become HTTP answers. Every answer is JSON with a `detail` field,
//! as FastAPI answers: a list of field errors for 422, a message otherwise. The errors of the
//! modules behind the handlers convert into [`ApiError`] with `?`, and [`ApiError::status`] is
//! the only place an error kind is given its status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rusqlite::ErrorCode;
use serde::Serialize;

use crate::backtest::BacktestError;
use crate::backtest_runner::BacktestRunnerError;
use crate::coordinator::RunnerError;
use crate::domain::validation::FieldError;
use crate::store::StoreError;
use crate::sync::cycle::CycleError;
use crate::upstream::UpstreamError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("request validation failed")]
    Validation(Vec<FieldError>),
    #[error("request body larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("could not read the request body: {0}")]
    BadBody(String),
    /// Values that decode but cannot be used; the message names the problem.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
    #[error("Not Found")]
    NotFound,
    /// A named thing that does not exist (a plan, a run).
    #[error("{0}")]
    NotFoundMessage(String),
    /// A planning run is going, so another cannot start; the answer names it.
    #[error("planning run {run_id} is already running")]
    RunConflict { run_id: i64 },
    /// A backtest is going, so another cannot start; the answer names it.
    #[error("backtest {backtest_id} is already running")]
    BacktestConflict { backtest_id: u64 },
    #[error("{}", store_message(.0))]
    Store(#[from] StoreError),
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// The blocking task doing the work panicked or was cancelled.
    #[error("the work stopped: {0}")]
    Stopped(#[from] tokio::task::JoinError),
}

impl From<Vec<FieldError>> for ApiError {
    fn from(errors: Vec<FieldError>) -> ApiError {
        ApiError::Validation(errors)
    }
}

impl From<RunnerError> for ApiError {
    fn from(error: RunnerError) -> ApiError {
        match error {
            RunnerError::AlreadyRunning { run_id } => ApiError::RunConflict { run_id },
            error @ RunnerError::NotRunning { .. } => ApiError::NotFoundMessage(error.to_string()),
            RunnerError::Store(error) => ApiError::Store(error),
        }
    }
}

impl From<BacktestRunnerError> for ApiError {
    fn from(error: BacktestRunnerError) -> ApiError {
        match error {
            BacktestRunnerError::AlreadyRunning { backtest_id } => {
                ApiError::BacktestConflict { backtest_id }
            }
            error @ BacktestRunnerError::NotRunning => ApiError::NotFoundMessage(error.to_string()),
            // The data files are the server's: the request was fine, the service cannot do it.
            BacktestRunnerError::Backtest(error @ BacktestError::Data { .. }) => {
                ApiError::Unavailable(format!("the backtest data cannot be used: {error}"))
            }
            BacktestRunnerError::Backtest(error) => ApiError::Invalid(error.to_string()),
            error @ BacktestRunnerError::Thread(_) => ApiError::Internal(error.to_string()),
        }
    }
}

impl From<CycleError> for ApiError {
    fn from(error: CycleError) -> ApiError {
        match error {
            CycleError::Runner(error) => error.into(),
            CycleError::Store(error) => ApiError::Store(error),
            CycleError::Join(error) => ApiError::Stopped(error),
        }
    }
}

impl ApiError {
    /// The status of each error kind.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) | ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BadBody(_) => StatusCode::BAD_REQUEST,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) | ApiError::Stopped(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::NotFound | ApiError::NotFoundMessage(_) => StatusCode::NOT_FOUND,
            ApiError::RunConflict { .. } | ApiError::BacktestConflict { .. } => {
                StatusCode::CONFLICT
            }
            ApiError::Store(error) if is_busy(error) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Upstream(error) => match error {
                UpstreamError::CircuitOpen { .. } => StatusCode::SERVICE_UNAVAILABLE,
                UpstreamError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
                UpstreamError::Connect { .. }
                | UpstreamError::Status { .. }
                | UpstreamError::Malformed { .. }
                | UpstreamError::Application { .. } => StatusCode::BAD_GATEWAY,
            },
        }
    }
}

/// Another connection holds the database: worth trying again shortly, unlike a failure.
fn is_busy(error: &StoreError) -> bool {
    matches!(
        error,
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _))
            if matches!(e.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

fn store_message(error: &StoreError) -> String {
    if is_busy(error) {
        format!("database unavailable: {error}")
    } else {
        error.to_string()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        match self {
            ApiError::Validation(errors) => {
                let errors: Vec<FieldError> = errors.into_iter().map(shortened).collect();
                (status, Json(Detail { detail: errors })).into_response()
            }
            ApiError::RunConflict { run_id } => (
                status,
                Json(Conflict {
                    detail: ApiError::RunConflict { run_id }.to_string(),
                    run_id,
                }),
            )
                .into_response(),
            ApiError::BacktestConflict { backtest_id } => (
                status,
                Json(BacktestConflict {
                    detail: ApiError::BacktestConflict { backtest_id }.to_string(),
                    backtest_id,
                }),
            )
                .into_response(),
            other => (
                status,
                Json(Detail {
                    detail: excerpt(&other.to_string()),
                }),
            )
                .into_response(),
        }
    }
}

/// Longest piece of a request an error answer quotes, in characters: enough to recognise the
/// input, never the megabytes a client sent.
pub const MAX_ECHO_CHARS: usize = 256;

/// `text` cut to [`MAX_ECHO_CHARS`] characters, with `…` where it was cut.
fn excerpt(text: &str) -> String {
    match text.char_indices().nth(MAX_ECHO_CHARS) {
        None => text.to_string(),
        Some((end, _)) => format!("{}…", &text[..end]),
    }
}

/// A field error whose quoted input and messages are at most excerpts; an input too long to
/// quote whole becomes the excerpt of its JSON text.
fn shortened(mut error: FieldError) -> FieldError {
    error.msg = excerpt(&error.msg);
    let input_text = error.input.to_string();
    if input_text.chars().nth(MAX_ECHO_CHARS).is_some() {
        error.input = serde_json::Value::String(excerpt(&input_text));
    }
    if let Some(ctx) = &mut error.ctx
        && ctx.to_string().chars().nth(MAX_ECHO_CHARS).is_some()
    {
        shorten_strings(ctx);
    }
    error
}

fn shorten_strings(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(text) => *text = excerpt(text),
        serde_json::Value::Array(items) => items.iter_mut().for_each(shorten_strings),
        serde_json::Value::Object(map) => map.values_mut().for_each(shorten_strings),
        _ => {}
    }
}

/// FastAPI's error envelope; typed so the field errors keep pydantic's key order.
#[derive(Serialize)]
struct Detail<T> {
    detail: T,
}

/// A refused start names the run that is going, so a client can follow it instead.
#[derive(Serialize)]
struct Conflict {
    detail: String,
    run_id: i64,
}

/// A refused backtest names the one that is going, so a client can follow it instead.
#[derive(Serialize)]
struct BacktestConflict {
    detail: String,
    backtest_id: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(code: i32) -> StoreError {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(code),
            None,
        ))
    }

    #[test]
    fn a_busy_database_is_unavailable_and_other_store_failures_are_internal() {
        let busy = ApiError::from(sqlite(rusqlite::ffi::SQLITE_BUSY));
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(busy.to_string().starts_with("database unavailable: "));
        let locked = ApiError::from(sqlite(rusqlite::ffi::SQLITE_LOCKED));
        assert_eq!(locked.status(), StatusCode::SERVICE_UNAVAILABLE);
        let corrupt = ApiError::from(StoreError::Corrupt {
            table: "plans",
            column: "body",
            value: "{".into(),
            reason: "EOF".into(),
        });
        assert_eq!(corrupt.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            ApiError::from(sqlite(1)).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn runner_errors_are_a_conflict_a_missing_run_or_the_store_s() {
        let conflict = ApiError::from(RunnerError::AlreadyRunning { run_id: 7 });
        assert_eq!(conflict.status(), StatusCode::CONFLICT);
        assert_eq!(conflict.to_string(), "planning run 7 is already running");
        let missing = ApiError::from(RunnerError::NotRunning { run_id: 7 });
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(missing.to_string(), "planning run 7 is not running");
        let store = ApiError::from(RunnerError::Store(sqlite(rusqlite::ffi::SQLITE_BUSY)));
        assert_eq!(store.status(), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn upstream_failures_answer_as_a_gateway_does() {
        let (service, route) = ("tradernet", "positions");
        let cases = [
            (
                UpstreamError::CircuitOpen { service, route },
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                UpstreamError::Timeout {
                    service,
                    route,
                    after: std::time::Duration::from_secs(5),
                },
                StatusCode::GATEWAY_TIMEOUT,
            ),
            (
                UpstreamError::Status {
                    service,
                    route,
                    status: 500,
                    excerpt: String::new(),
                },
                StatusCode::BAD_GATEWAY,
            ),
        ];
        for (error, status) in cases {
            assert_eq!(ApiError::from(error).status(), status);
        }
        let error = ApiError::from(UpstreamError::Malformed {
            service,
            route,
            reason: "not JSON".into(),
        });
        assert_eq!(error.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(
            error.to_string(),
            "tradernet: malformed answer on positions: not JSON"
        );
    }

    #[test]
    fn backtest_errors_are_a_conflict_a_refused_option_or_unusable_data() {
        let conflict = ApiError::from(BacktestRunnerError::AlreadyRunning { backtest_id: 2 });
        assert_eq!(conflict.status(), StatusCode::CONFLICT);
        let option = ApiError::from(BacktestRunnerError::Backtest(BacktestError::Options(
            "the deposit must not be negative, got -1".into(),
        )));
        assert_eq!(option.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            option.to_string(),
            "the deposit must not be negative, got -1"
        );
        let data = ApiError::from(BacktestRunnerError::Backtest(BacktestError::Data {
            file: "prices.csv".into(),
            line: 3,
            problem: "not a number".into(),
        }));
        assert_eq!(data.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(data.to_string().contains("prices.csv, line 3"), "{data}");
        let idle = ApiError::from(BacktestRunnerError::NotRunning);
        assert_eq!(idle.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn error_answers_quote_at_most_an_excerpt_of_the_input() {
        let huge = "x".repeat(100_000);
        let error = shortened(FieldError::value_error(
            vec!["body".into()],
            &format!("bad {huge}"),
            serde_json::json!({ "a": huge }),
        ));
        let text = serde_json::to_string(&error).unwrap();
        assert!(
            text.len() < 4 * MAX_ECHO_CHARS + 200,
            "{} bytes",
            text.len()
        );
        let small = FieldError::value_error(vec!["body".into()], "bad", serde_json::json!([1]));
        assert_eq!(shortened(small.clone()), small);
        assert!(excerpt(&huge).chars().count() == MAX_ECHO_CHARS + 1);
    }

    #[tokio::test]
    async fn a_conflict_names_the_running_run() {
        let response = ApiError::RunConflict { run_id: 3 }.into_response();
        assert_eq!(response.status(), StatusCode::CONFLICT);
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
            serde_json::json!({"detail": "planning run 3 is already running", "run_id": 3})
        );
    }
}
