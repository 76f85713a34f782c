//! The HTTP surface (axum): compatibility routes of the Python services and operational routes.
//! Handlers only translate between HTTP and the modules; errors become answers in `error`.

pub mod allocator;
pub(crate) mod api;
pub mod auth;
mod backtest;
mod blocking;
mod body;
mod coordinator;
pub mod dashboard;
mod error;
mod evaluator;
mod generator;
mod health;
pub mod host;
mod ledger;
mod listener;
mod metrics;
pub mod middleware;
mod migration;
mod ndjson;
mod opportunity;
mod planning;
mod proxy;
pub(crate) mod record;
mod remote;
pub mod sse;
pub(crate) mod system;
mod tee;
mod upstreams;
mod value_history;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use tower_http::trace::TraceLayer;

use crate::backtest_runner::BacktestRunner;
use crate::config::Config;
use crate::coordinator::Runner;
use crate::events::EventHub;
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
    /// Live events for `GET /api/events`.
    pub events: Arc<EventHub>,
    /// The native planner: one planning run at a time.
    pub runner: Arc<Runner>,
    /// Backtests of the bundled history: one at a time.
    pub backtests: Arc<BacktestRunner>,
    /// The bearer token of state-changing routes; `None` leaves them open (tests, tools).
    pub token: Option<String>,
    /// When the process started serving, for uptime.
    pub started: std::time::Instant,
    /// `serve --record DIR`: writes the requests to the compatibility routes; `None` when off.
    pub recorder: Option<Arc<record::Recorder>>,
}

impl AppState {
    pub fn new(config: Config, store: Arc<Store>) -> std::io::Result<AppState> {
        let threads = config.evaluator.effective_threads();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("scoring-{i}"))
            .build()
            .map_err(std::io::Error::other)?;
        let upstreams = Upstreams::from_config(&config).map_err(std::io::Error::other)?;
        let pool = Arc::new(pool);
        let events = Arc::new(EventHub::with_anonymous_limit(
            config.server.max_event_streams,
            config.server.max_anonymous_event_streams,
        ));
        let runner = Arc::new(Runner::new(
            Arc::clone(&store),
            Arc::clone(&pool),
            Arc::clone(&events),
            config.planner.clone(),
        ));
        let backtests = Arc::new(BacktestRunner::new(Arc::clone(&pool), Arc::clone(&events)));
        Ok(AppState {
            config,
            store,
            pool,
            upstreams: Arc::new(upstreams),
            events,
            runner,
            backtests,
            token: None,
            started: std::time::Instant::now(),
            recorder: None,
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
        .merge(dashboard::routes())
        .merge(coordinator::routes())
        .merge(planning::routes())
        .merge(system::routes())
        .merge(proxy::routes())
        .nest(
            "/api",
            api::routes()
                .merge(sse::routes())
                .merge(backtest::routes())
                .merge(ledger::routes()),
        )
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async {
            (
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                axum::Json(serde_json::json!({ "detail": "Method Not Allowed" })),
            )
        })
        .layer(TraceLayer::new_for_http())
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            migration::layer,
        ))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            record::record,
        ));
    middleware::apply(routes, Arc::clone(&state)).with_state(state)
}

/// How long a cancelled planning run may take to stop once the server has stopped.
pub const RUN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// How often histogram samples are folded into their buckets when nobody scrapes, which
/// bounds the memory they hold.
const METRICS_UPKEEP: std::time::Duration = std::time::Duration::from_secs(5);

/// Serves until SIGINT or SIGTERM, then cancels the planning run, lets the requests in flight
/// finish (for at most `server.shutdown_grace_secs`), waits for the run to stop (at most [`RUN_GRACE`])
/// and returns, so the caller can drop the state and with it the database. Under systemd it
/// reports readiness, keeps the watchdog fed while the runtime answers, and announces the stop;
/// elsewhere the notifications do nothing.
pub async fn serve(listener: tokio::net::TcpListener, state: Arc<AppState>) -> std::io::Result<()> {
    let addr: SocketAddr = listener.local_addr()?;
    let signal = shutdown_signal()?;
    tracing::info!(%addr, "listening");
    let app = router(Arc::clone(&state));
    let helpers = [
        tokio::spawn(metrics_upkeep(metrics::install_recorder())),
        tokio::spawn(feed_watchdog()),
    ];
    notify_systemd(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status(&format!("serving on {addr}")),
    ]);

    let limits = listener::ListenerLimits::from_config(&state.config.server);
    let runner = Arc::clone(&state.runner);
    let backtests = Arc::clone(&state.backtests);
    let events = Arc::clone(&state.events);
    drop(state);
    let stop = {
        let runner = Arc::clone(&runner);
        async move {
            signal.await;
            notify_systemd(&[
                sd_notify::NotifyState::Stopping,
                sd_notify::NotifyState::Status("shutting down"),
            ]);
            runner.cancel_running();
            // Nothing of a backtest is kept on disk: it only has to stop using the cores.
            let _ = backtests.cancel();
            events.close();
        }
    };
    listener::serve(listener, app, limits, stop).await;
    runner.cancel_running();
    if tokio::time::timeout(RUN_GRACE, run_released(&runner))
        .await
        .is_err()
    {
        tracing::warn!(grace = ?RUN_GRACE, "the planning run did not stop in time");
    }
    for helper in helpers {
        helper.abort();
    }
    tracing::info!("stopped serving");
    Ok(())
}

/// Returns once no planning run is going and its thread has let go of the runner, and with it
/// of the database: the process must not end while that thread still writes the run's end.
async fn run_released(runner: &Arc<Runner>) {
    if let Some(progress) = runner.current() {
        runner.wait(progress.run_id).await;
    }
    // The thread drops its handle just after the run is marked finished. Other holders (the
    // connections of a drain that ran out of time) only make this wait until RUN_GRACE.
    while Arc::strong_count(runner) > 1 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

async fn metrics_upkeep(handle: metrics_exporter_prometheus::PrometheusHandle) {
    let mut ticks = tokio::time::interval(METRICS_UPKEEP);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        handle.run_upkeep();
    }
}

/// Sends `WATCHDOG=1` at half the interval systemd asked for. It runs on the runtime, so a
/// runtime that stops answering stops the pings and systemd restarts the service.
async fn feed_watchdog() {
    let Some(interval) = sd_notify::watchdog_enabled().filter(|i| !i.is_zero()) else {
        return;
    };
    let mut ticks = tokio::time::interval(interval / 2);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        notify_systemd(&[sd_notify::NotifyState::Watchdog]);
    }
}

/// Does nothing without `NOTIFY_SOCKET`; a failure is logged, never fatal, since serving
/// matters more than telling systemd about it.
fn notify_systemd(states: &[sd_notify::NotifyState<'_>]) {
    if let Err(error) = sd_notify::notify(states) {
        tracing::warn!(%error, "could not notify systemd");
    }
}

/// The first SIGINT or SIGTERM. The handlers are installed before this returns, not when the
/// future is first polled: readiness is announced before serving starts, and a signal sent
/// right after it must not find the default action (death) still in place.
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        tracing::info!("shutting down");
    })
}
