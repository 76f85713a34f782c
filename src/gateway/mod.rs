//! The HTTP surface (axum): compatibility routes of the Python services and operational routes.
//! Handlers only translate between HTTP and the modules; errors become answers in `error`.

pub mod body;
pub mod error;
pub mod evaluator;
pub mod generator;
pub mod health;
pub mod ndjson;
pub mod opportunity;
pub mod upstreams;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::store::Store;
use crate::upstream::Upstreams;
use error::ApiError;

/// What every handler shares.
pub struct AppState {
    pub config: Config,
    pub store: Arc<Store>,
    /// The pool that scores sequences; sized to leave a core to the server.
    pub pool: Arc<rayon::ThreadPool>,
    /// Clients of the configured Python services.
    pub upstreams: Arc<Upstreams>,
}

impl AppState {
    pub fn new(config: Config, store: Arc<Store>) -> std::io::Result<AppState> {
        let threads = config.evaluator.effective_threads();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("scoring-{i}"))
            .build()
            .map_err(std::io::Error::other)?;
        let upstreams = Upstreams::new(&config.upstream).map_err(std::io::Error::other)?;
        Ok(AppState {
            config,
            store,
            pool: Arc::new(pool),
            upstreams: Arc::new(upstreams),
        })
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(upstreams::readyz))
        .route("/api/upstreams", get(upstreams::upstreams))
        .route("/evaluator/health", get(health::module_health))
        .route("/evaluator/evaluate", post(evaluator::evaluate))
        .route("/opportunity/health", get(health::module_health))
        .route("/opportunity/identify", post(opportunity::identify))
        .route("/generator/health", get(health::module_health))
        .route("/generator/generate", post(generator::generate))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async {
            (
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                axum::Json(serde_json::json!({ "detail": "Method Not Allowed" })),
            )
        })
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves until SIGINT or SIGTERM, then finishes the requests in flight.
pub async fn serve(listener: tokio::net::TcpListener, state: Arc<AppState>) -> std::io::Result<()> {
    let addr: SocketAddr = listener.local_addr()?;
    tracing::info!(%addr, "listening");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
