//! Compatibility routes of the planning service (spec §1.5): `POST /planning/create` (the work
//! is `crate::planning::create_and_keep`); `GET /planning/plans/{id}`, `GET /planning/plans`
//! and `GET /planning/best` read the kept plans. Here the requests are read and checked.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::{Value, json};

use super::AppState;
use super::blocking::{blocking, on_store};
use super::body::{PyJson, read_json};
use super::coordinator::compat_options;
use super::error::ApiError;
use crate::domain::validation::FieldError;
use crate::planning::{
    CreateResponse, Plan, PlanningCreateRequest, best_plan_for_hash, create_and_keep, plan_view,
    plans_for_hash,
};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/planning/create", post(create))
        .route("/planning/plans/{plan_id}", get(plan_by_id))
        .route("/planning/plans", get(list))
        .route("/planning/best", get(best))
}

#[derive(Serialize)]
struct FoundResponse {
    found: bool,
    plan: Option<Plan>,
}

#[derive(Serialize)]
struct ListResponse {
    plans: Vec<Plan>,
    total: u64,
}

// ---------------------------------------------------------------------------------------------
// POST /planning/create

async fn create(
    State(state): State<Arc<AppState>>,
    body: Body,
) -> Result<PyJson<CreateResponse>, ApiError> {
    let request: PlanningCreateRequest =
        read_json(body, state.config.server.max_body_bytes).await?;
    let checked = request.check()?;
    let options = compat_options(&state);
    let worker = Arc::clone(&state);
    let outcome = blocking(move || {
        Ok::<_, ApiError>(
            worker
                .pool
                .install(|| create_and_keep(&worker.store, checked, &options)),
        )
    })
    .await?;
    Ok(PyJson(outcome.into()))
}

// ---------------------------------------------------------------------------------------------
// GET routes

async fn plan_by_id(
    State(state): State<Arc<AppState>>,
    Path(plan_id): Path<String>,
) -> Result<PyJson<FoundResponse>, ApiError> {
    // The reference's ids are text; one that is not a stored id is simply not found.
    let Ok(id) = plan_id.trim().parse::<i64>() else {
        return Ok(PyJson(FoundResponse {
            found: false,
            plan: None,
        }));
    };
    let record = on_store(&state.store, move |store| store.plan(id)).await?;
    Ok(PyJson(FoundResponse {
        found: record.is_some(),
        plan: record.as_ref().map(plan_view),
    }))
}

/// Query parameters as FastAPI reads them: the last value of a repeated key wins.
fn query_value<'a>(query: &'a [(String, String)], key: &str) -> Option<&'a str> {
    query
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn query_loc(name: &str) -> Vec<String> {
    vec!["query".into(), name.into()]
}

fn required_hash(query: &[(String, String)], errors: &mut Vec<FieldError>) -> String {
    match query_value(query, "portfolio_hash") {
        Some(hash) => hash.to_string(),
        None => {
            errors.push(FieldError::new(
                "missing",
                query_loc("portfolio_hash"),
                "Field required",
                Value::Null,
                None,
            ));
            String::new()
        }
    }
}

/// An integer query parameter with a lower and an optional upper bound; the error's input is
/// the text as sent, as FastAPI reports it.
fn bounded_int(
    query: &[(String, String)],
    name: &str,
    default: i64,
    min: i64,
    max: Option<i64>,
    errors: &mut Vec<FieldError>,
) -> i64 {
    let Some(text) = query_value(query, name) else {
        return default;
    };
    let Ok(value) = text.trim().parse::<i64>() else {
        errors.push(FieldError::new(
            "int_parsing",
            query_loc(name),
            "Input should be a valid integer, unable to parse string as an integer",
            Value::from(text),
            None,
        ));
        return default;
    };
    if value < min {
        errors.push(FieldError::new(
            "greater_than_equal",
            query_loc(name),
            format!("Input should be greater than or equal to {min}"),
            Value::from(text),
            Some(json!({ "ge": min })),
        ));
    } else if let Some(max) = max
        && value > max
    {
        errors.push(FieldError::new(
            "less_than_equal",
            query_loc(name),
            format!("Input should be less than or equal to {max}"),
            Value::from(text),
            Some(json!({ "le": max })),
        ));
    }
    value
}

async fn list(
    State(state): State<Arc<AppState>>,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<PyJson<ListResponse>, ApiError> {
    let mut errors = Vec::new();
    let hash = required_hash(&query, &mut errors);
    let limit = bounded_int(&query, "limit", 100, 1, Some(1000), &mut errors);
    let offset = bounded_int(&query, "offset", 0, 0, None, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let (plans, total) = on_store(&state.store, move |store| {
        plans_for_hash(store, &hash, limit as usize, offset as usize)
    })
    .await?;
    Ok(PyJson(ListResponse {
        plans: plans.iter().map(plan_view).collect(),
        total,
    }))
}

async fn best(
    State(state): State<Arc<AppState>>,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<PyJson<FoundResponse>, ApiError> {
    let mut errors = Vec::new();
    let hash = required_hash(&query, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let record = on_store(&state.store, move |store| best_plan_for_hash(store, &hash)).await?;
    Ok(PyJson(FoundResponse {
        found: record.is_some(),
        plan: record.as_ref().map(plan_view),
    }))
}
