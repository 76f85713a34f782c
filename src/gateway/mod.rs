//! The HTTP surface (axum): compatibility routes of the Python services and operational routes.
//! Handlers only translate between HTTP and the modules; errors become answers in `error`.

pub mod api;
pub mod auth;
pub mod body;
pub mod coordinator;
pub mod error;
pub mod evaluator;
pub mod generator;
pub mod health;
pub mod metrics;
pub mod middleware;
pub mod ndjson;
pub mod opportunity;
pub mod planning;
pub mod proxy;
pub mod sse;
pub mod system;
pub mod upstreams;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::coordinator::Runner;
use crate::events::EventHub;
use crate::store::Store;
use crate::upstream::Upstreams;

/// Most live subscribers of `GET /api/events` at once.
pub const MAX_EVENT_SUBSCRIBERS: usize = 32;
use error::ApiError;

/// What every handler shares.
pub struct AppState {
    pub config: Config,
    pub store: Arc<Store>,
    /// The pool that scores sequences; sized to leave a core to the server.
    pub pool: Arc<rayon::ThreadPool>,
    /// Clients of the configured Python services.
    pub upstreams: Arc<Upstreams>,
    /// Live events for `GET /api/events`.
    pub events: Arc<EventHub>,
    /// The native planner: one planning run at a time.
    pub runner: Arc<Runner>,
    /// The bearer token of state-changing routes; `None` leaves them open (tests, tools).
    pub token: Option<String>,
    /// When the process started serving, for uptime.
    pub started: std::time::Instant,
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
        let pool = Arc::new(pool);
        let events = Arc::new(EventHub::new(MAX_EVENT_SUBSCRIBERS));
        let runner = Arc::new(Runner::new(
            Arc::clone(&store),
            Arc::clone(&pool),
            Arc::clone(&events),
            config.planner.clone(),
        ));
        Ok(AppState {
            config,
            store,
            pool,
            upstreams: Arc::new(upstreams),
            events,
            runner,
            token: None,
            started: std::time::Instant::now(),
        })
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    let routes = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(upstreams::readyz))
        .route("/evaluator/health", get(health::module_health))
        .route("/evaluator/evaluate", post(evaluator::evaluate))
        .route("/opportunity/health", get(health::module_health))
        .route("/opportunity/identify", post(opportunity::identify))
        .route("/generator/health", get(health::module_health))
        .route("/generator/generate", post(generator::generate))
        .route("/metrics", get(metrics::metrics))
        .merge(coordinator::routes())
        .merge(planning::routes())
        .merge(system::routes())
        .merge(proxy::routes())
        .nest("/api", api::routes().merge(sse::routes()))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async {
            (
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                axum::Json(serde_json::json!({ "detail": "Method Not Allowed" })),
            )
        })
        .layer(TraceLayer::new_for_http());
    middleware::apply(routes, Arc::clone(&state)).with_state(state)
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
