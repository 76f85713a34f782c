//! `bench load`: concurrent clients reading the API over loopback while a planning run is
//! active. The server runs in this process on a synthetic universe, with the planner's budget
//! set to outlast the load, so every request competes with a busy planner.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::BenchError;
use crate::config::Config;
use crate::gateway::{AppState, router};
use crate::store::Store;

#[derive(Clone, Debug)]
pub struct LoadBench {
    pub clients: usize,
    pub seconds: f64,
    /// Each client sends one request per interval (a dashboard polls; it does not hammer).
    pub interval: Duration,
    pub securities: usize,
    pub seed: u64,
}

#[derive(Clone, Debug)]
pub struct LoadBenchReport {
    pub requests: u64,
    pub errors: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Whether the planning run was still active when the load ended.
    pub planning_active: bool,
    pub sequences_evaluated: u64,
}

/// The routes the clients read, in turn.
const PATHS: [&str; 4] = [
    "/api/portfolio",
    "/api/plans/latest",
    "/api/upstreams",
    "/api/runs/current",
];

pub fn run_load_bench(bench: &LoadBench) -> Result<LoadBenchReport, BenchError> {
    let dir = std::env::temp_dir().join(format!("trading-planner-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = load(bench, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn load(bench: &LoadBench, dir: &std::path::Path) -> Result<LoadBenchReport, BenchError> {
    let store = Arc::new(Store::open(&dir.join("load.db"))?);
    super::plan::synthetic_universe(&store, bench.securities, bench.seed)?;
    let mut config = Config::default();
    // A run that lasts longer than the load: no early stop, a budget past its end.
    config.planner.time_budget_secs = bench.seconds + 30.0;
    config.planner.plateau_batches = 0;
    config.planner.max_sequences = u64::MAX / 2;
    config.planner.max_depth = 6;
    config.planner.max_candidates = 80;
    let state = Arc::new(AppState::new(config, store)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = router(Arc::clone(&state));
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let runner = Arc::clone(&state.runner);
        tokio::task::spawn_blocking(move || runner.start()).await??;
        // Let the run get past its snapshot into scoring.
        tokio::time::sleep(Duration::from_millis(300)).await;

        let client = crate::upstream::http_client(Duration::from_secs(10))?;
        let deadline = Instant::now() + Duration::from_secs_f64(bench.seconds);
        let mut tasks = Vec::with_capacity(bench.clients);
        let (interval, clients) = (bench.interval, bench.clients);
        for c in 0..bench.clients {
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0u64;
                let mut i = c;
                let mut next = Instant::now() + interval.mul_f64(c as f64 / clients as f64);
                while Instant::now() < deadline {
                    tokio::time::sleep_until(next.into()).await;
                    next += interval;
                    let url = format!("http://{addr}{}", PATHS[i % PATHS.len()]);
                    i += 1;
                    let started = Instant::now();
                    let ok = match client.get(&url).send().await {
                        // 404 is the answer of "no plan yet" / "no run", not a failure.
                        Ok(r) => {
                            let good = r.status().is_success() || r.status().as_u16() == 404;
                            r.bytes().await.is_ok() && good
                        }
                        Err(_) => false,
                    };
                    latencies.push(started.elapsed().as_secs_f64() * 1000.0);
                    if !ok {
                        errors += 1;
                    }
                }
                (latencies, errors)
            }));
        }
        let mut latencies = Vec::new();
        let mut errors = 0;
        for task in tasks {
            let (l, e) = task.await?;
            latencies.extend(l);
            errors += e;
        }
        let progress = state.runner.current();
        state.runner.cancel_running();
        server.abort();
        latencies.sort_by(f64::total_cmp);
        let at = |q: f64| {
            latencies
                .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
                .copied()
                .unwrap_or(0.0)
        };
        Ok(LoadBenchReport {
            requests: latencies.len() as u64,
            errors,
            p50_ms: at(0.50),
            p99_ms: at(0.99),
            max_ms: latencies.last().copied().unwrap_or(0.0),
            planning_active: progress.is_some(),
            sequences_evaluated: progress.map_or(0, |p| p.sequences_evaluated),
        })
    })
}
