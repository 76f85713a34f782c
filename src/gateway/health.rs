//! Health answers: the reference's static per-module body, and `/healthz` for supervisors.

use std::collections::BTreeMap;

use axum::Json;

use super::body::PyJson;
use serde::Serialize;
use serde_json::{Value, json};

/// The reference's health body, fields in its order.
#[derive(Serialize)]
pub struct ModuleHealth {
    healthy: bool,
    version: &'static str,
    status: &'static str,
    checks: BTreeMap<String, String>,
}

/// `GET /<module>/health` as the reference answers it: static, no dependency checks.
pub async fn module_health() -> PyJson<ModuleHealth> {
    PyJson(ModuleHealth {
        healthy: true,
        version: "1.0.0",
        status: "OK",
        checks: BTreeMap::new(),
    })
}

/// `GET /healthz`: the process is up and serving.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}
