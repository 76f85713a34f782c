//! `serve`: the HTTP API, and the database opening shared with `plan`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use super::{ServeArgs, open_store};
use crate::config::Config;
use crate::demo;
use crate::gateway::{self, AppState};
use crate::store::Store;
use crate::sync::jobs::Syncer;

pub(super) fn serve(
    mut config: Config,
    data_dir: &Path,
    args: ServeArgs,
) -> anyhow::Result<ExitCode> {
    gateway::allocator::bound_arenas();
    if let Some(bind) = args.bind {
        config.server.bind = bind;
    }
    let addr: std::net::SocketAddr = config
        .server
        .bind
        .parse()
        .with_context(|| format!("--bind {:?} is not an address", config.server.bind))?;
    // Migrations (and the demo data of a first start) run before the listener binds.
    let store = Arc::new(open_store_for_serving(&config, data_dir)?);
    let abandoned = store
        .fail_abandoned_planning_runs()
        .context("closing the planning runs of an earlier process")?;
    if abandoned > 0 {
        tracing::warn!(
            abandoned,
            "planning runs of an earlier process marked failed"
        );
    }
    let (token, token_origin) = gateway::auth::load_or_create_token(&config.auth, data_dir)
        .context("loading the access token")?;
    let mut state = AppState::new(config, store).context("starting the scoring pool")?;
    if let gateway::auth::TokenOrigin::Generated(path) = &token_origin {
        // On stdout rather than in the log, so no log level or filter can hide it.
        println!("access token: {token} (saved in {})", path.display());
    }
    state.token = Some(token);
    if let Some(dir) = &args.record {
        let limits = gateway::record::RecordLimits {
            max_files: args.record_max_files,
            max_bytes: args.record_max_bytes,
        };
        let recorder = gateway::record::Recorder::start(dir, limits)
            .with_context(|| format!("--record {}", dir.display()))?;
        state.recorder = Some(Arc::new(recorder));
    }
    // Today's value of the portfolio, and the days before it back-filled from the stored price
    // history: without upstream services no quotes sync records them.
    if let Err(error) =
        crate::portfolio_history::record_day(&state.store, chrono::Local::now().date_naive())
    {
        tracing::warn!(%error, "could not record the portfolio's daily value");
    }
    let state = Arc::new(state);
    let syncer = Arc::new(
        Syncer::new(
            Arc::clone(&state.store),
            Arc::clone(&state.upstreams),
            state.config.sync.clone(),
        )
        .context("configuring the sync jobs")?
        .with_calculations_db(&state.config.feeds.calculations_db),
    );
    let feeds = Arc::new(
        crate::sync::feeds::Feeds::new(
            Arc::clone(&state.store),
            Arc::clone(&state.upstreams),
            state.config.feeds.clone(),
        )
        .context("configuring the feeds")?,
    );
    let sync_enabled = state.config.sync.enabled;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        let mut jobs = Arc::clone(&syncer).spawn();
        if jobs.is_empty() {
            tracing::info!("no upstream service configured: planning on the stored data");
        }
        if sync_enabled {
            jobs.extend(feeds.spawn());
        }
        jobs.extend(crate::board::spawn_matrix(&state));
        let served = gateway::serve(listener, state)
            .await
            .context("serving HTTP");
        for job in jobs {
            job.abort();
        }
        served
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Opens the database for `serve`. On a first start (no database file yet) the demo data is
/// loaded into a new file that only takes the database's name once it is complete, so a start
/// killed half-way never leaves a half-loaded database behind.
pub(super) fn open_store_for_serving(config: &Config, data_dir: &Path) -> anyhow::Result<Store> {
    let path = config.store.database_path(data_dir);
    if !path.exists() {
        let partial = path.with_extension("db.partial");
        for leftover in [
            partial.clone(),
            PathBuf::from(format!("{}-wal", partial.display())),
            PathBuf::from(format!("{}-shm", partial.display())),
        ] {
            if leftover.exists() {
                std::fs::remove_file(&leftover)
                    .with_context(|| format!("removing {}", leftover.display()))?;
            }
        }
        {
            let store = Store::open(&partial)
                .with_context(|| format!("creating the database {}", partial.display()))?;
            load_demo(&store, "first start")?;
        }
        std::fs::rename(&partial, &path)
            .with_context(|| format!("moving the new database to {}", path.display()))?;
        return open_store(config, data_dir);
    }
    let store = open_store(config, data_dir)?;
    load_demo(&store, "empty database")?;
    Ok(store)
}

/// Loads the demo dataset into an empty database, with a year of invented closes so that the
/// value chart and the security pages have something to draw from the first start.
fn load_demo(store: &Store, occasion: &str) -> anyhow::Result<()> {
    if let Some(report) = demo::load_if_empty(store).context("loading the demo data")? {
        let today = chrono::Local::now().date_naive();
        let closes =
            demo::seed_price_history(store, today).context("writing the demo price history")?;
        tracing::info!(
            "{occasion}: loaded the demo data ({report}, {closes} invented daily closes over \
             the last {} days)",
            demo::HISTORY_DAYS
        );
    }
    Ok(())
}
