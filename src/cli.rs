//! The command line: `serve` (the default), `evaluate`, `import`, `bench`, `shadow`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

use crate::bench::{EvaluateBench, GenerateBench, run_evaluate_bench, run_generate_bench};
use crate::config::Config;
use crate::demo;
use crate::domain::MetricsBySymbol;
use crate::domain::validation::decode_body;
use crate::evaluator::symbol_terms::metric_names;
use crate::evaluator::{
    EvaluateOptions, EvaluateSequencesRequest, ScoringProfile, evaluate_request,
};
use crate::gateway::{self, AppState};
use crate::store::Store;
use crate::sync::jobs::Syncer;

#[derive(Debug, Parser)]
#[command(
    name = "trading-planner",
    version,
    about = "Plans trades for a long-term stock portfolio."
)]
pub struct Cli {
    /// Directory holding the database (created if missing).
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        env = "TRADING_PLANNER_DATA_DIR",
        default_value = "data"
    )]
    pub data_dir: PathBuf,
    /// YAML configuration file, applied over the defaults (see config/default.yaml); environment
    /// variables TRADING_PLANNER_<SECTION>__<KEY> override it.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (the default command).
    Serve(ServeArgs),
    /// Run one planning run on the data in the database and print the plan.
    Plan(PlanArgs),
    /// Evaluate an evaluator request (the body of POST /evaluator/evaluate) and print the answer.
    Evaluate(EvaluateArgs),
    /// Load data into the database.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Measure performance.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Replay recorded requests (serve --record) against two base URLs and compare the answers.
    Shadow(crate::shadow::replay::ShadowArgs),
}

#[derive(Debug, Default, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: server.bind of the config, 127.0.0.1:8000].
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,
    /// Record every request to the compatibility routes (/evaluator, /opportunity, /generator,
    /// /coordinator, /planning, /gateway) as one JSON file in DIR, for `shadow` to replay.
    /// Credentials are never written.
    #[arg(long, value_name = "DIR")]
    pub record: Option<PathBuf>,
    /// With --record: stop recording once DIR holds this many request files.
    #[arg(
        long,
        value_name = "N",
        default_value_t = gateway::record::DEFAULT_MAX_FILES,
        requires = "record"
    )]
    pub record_max_files: u64,
    /// With --record: stop recording before DIR's request files exceed this size (bytes, or
    /// with a suffix: 500KiB, 64MiB, 1GiB).
    #[arg(
        long,
        value_name = "SIZE",
        default_value = "64MiB",
        value_parser = gateway::record::parse_size,
        requires = "record"
    )]
    pub record_max_bytes: u64,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Print the plan as JSON (as GET /api/plans/{id} answers) instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// JSON file with the request body.
    #[arg(value_name = "REQUEST.json")]
    pub request: PathBuf,
    /// Metrics as {"SYMBOL": {"METRIC": value}}; without it the metrics come from the database.
    #[arg(long, value_name = "METRICS.json")]
    pub metrics: Option<PathBuf>,
    /// Scoring profile: the reference's numbers, or the corrected model.
    #[arg(long, value_enum, default_value = "python-compat")]
    pub profile: ScoringProfile,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Load {"SYMBOL": {"METRIC": value}} into the metrics table (no expiry), replacing those rows.
    Metrics {
        /// JSON file of metrics per symbol.
        #[arg(value_name = "FILE.json")]
        file: PathBuf,
        /// Source recorded with each row.
        #[arg(long, default_value = "import")]
        source: String,
    },
    /// Load an autoTrader data folder (config.db, state.db, ledger.db, calculations.db,
    /// rates.db), read-only
    Legacy {
        /// The autoTrader data folder.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Score random sequences against a synthetic portfolio; prints sequences per second.
    Evaluate(BenchEvaluateArgs),
    /// Generate every combination of synthetic candidates exhaustively; prints sequences per
    /// second and peak memory.
    Generate(BenchGenerateArgs),
    /// A whole native planning run on a synthetic universe in a temporary database; prints the
    /// wall time and peak memory.
    Plan(BenchPlanArgs),
    /// Concurrent clients reading the API over loopback while a planning run is active;
    /// prints requests, errors and latency percentiles.
    Load(BenchLoadArgs),
}

#[derive(Debug, Args)]
pub struct BenchLoadArgs {
    /// Concurrent clients.
    #[arg(long, default_value_t = 100)]
    pub clients: usize,
    /// How long the clients read, in seconds.
    #[arg(long, default_value_t = 30.0)]
    pub seconds: f64,
    /// Pause between two requests of one client, in milliseconds (0 = back to back).
    #[arg(long, default_value_t = 100)]
    pub interval_ms: u64,
    /// Securities in the synthetic universe the planner works on.
    #[arg(long, default_value_t = 100)]
    pub securities: usize,
    /// Seed of the synthetic universe.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct BenchPlanArgs {
    /// Securities in the synthetic universe (a third of them held).
    #[arg(long, default_value_t = 100)]
    pub securities: usize,
    /// Longest sequence.
    #[arg(long, default_value_t = 5)]
    pub depth: usize,
    /// Planning threads [default: every core].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Runs; the median is reported.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Seed of the synthetic universe.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct BenchGenerateArgs {
    /// Candidates (half sells, half buys, distinct symbols).
    #[arg(long, default_value_t = 70)]
    pub candidates: usize,
    /// Longest sequence.
    #[arg(long, default_value_t = 5)]
    pub depth: usize,
    /// Generation threads [default: every core].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Runs; the median is reported.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Largest batch handed to the consumer.
    #[arg(long, default_value_t = 4_096)]
    pub batch_size: usize,
    /// Seed of the synthetic candidates.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct BenchEvaluateArgs {
    /// Positions held in the synthetic portfolio.
    #[arg(long, default_value_t = 25)]
    pub positions: usize,
    /// Sequences scored per run.
    #[arg(long, default_value_t = 1_000_000)]
    pub sequences: usize,
    /// Largest sequence depth; each sequence has 1..=DEPTH actions.
    #[arg(long, default_value_t = 5)]
    pub depth: usize,
    /// Scoring threads [default: every core].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Runs; the median is reported.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Sequences generated and scored per batch (bounds memory).
    #[arg(long, default_value_t = 16_384)]
    pub batch_size: usize,
    /// Seed of the synthetic portfolio and sequences.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let config =
        Config::load_from_env(cli.config.as_deref()).context("loading the configuration")?;
    match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => serve(config, &cli.data_dir, args),
        Command::Plan(args) => plan(config, &cli.data_dir, &args),
        Command::Evaluate(args) => evaluate(&config, &cli.data_dir, &args),
        Command::Import(ImportCommand::Metrics { file, source }) => {
            import_metrics(&config, &cli.data_dir, &file, &source)
        }
        Command::Import(ImportCommand::Legacy { dir }) => {
            import_legacy(&config, &cli.data_dir, &dir)
        }
        Command::Bench(BenchCommand::Evaluate(args)) => bench_evaluate(&args),
        Command::Bench(BenchCommand::Generate(args)) => bench_generate(&args),
        Command::Bench(BenchCommand::Plan(args)) => bench_plan(&args),
        Command::Bench(BenchCommand::Load(args)) => bench_load(&args),
        Command::Shadow(args) => Ok(crate::shadow::replay::run(&args)),
    }
}

fn open_store(config: &Config, data_dir: &Path) -> anyhow::Result<Store> {
    let path = config.store.database_path(data_dir);
    Store::open(&path).with_context(|| format!("opening the database {}", path.display()))
}

fn serve(mut config: Config, data_dir: &Path, args: ServeArgs) -> anyhow::Result<ExitCode> {
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
    let state = Arc::new(state);
    let syncer = Arc::new(
        Syncer::new(
            Arc::clone(&state.store),
            Arc::clone(&state.upstreams),
            state.config.sync.clone(),
        )
        .context("configuring the sync jobs")?,
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        let jobs = Arc::clone(&syncer).spawn();
        if jobs.is_empty() {
            tracing::info!("no upstream service configured: planning on the stored data");
        }
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
fn open_store_for_serving(config: &Config, data_dir: &Path) -> anyhow::Result<Store> {
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
            if let Some(report) = demo::load_if_empty(&store).context("loading the demo data")? {
                tracing::info!("first start: loaded the demo data ({report})");
            }
        }
        std::fs::rename(&partial, &path)
            .with_context(|| format!("moving the new database to {}", path.display()))?;
        return open_store(config, data_dir);
    }
    let store = open_store(config, data_dir)?;
    if let Some(report) = demo::load_if_empty(&store).context("loading the demo data")? {
        tracing::info!("empty database: loaded the demo data ({report})");
    }
    Ok(store)
}

/// `plan`: one planning run in the terminal, with a progress bar on stderr.
fn plan(config: Config, data_dir: &Path, args: &PlanArgs) -> anyhow::Result<ExitCode> {
    let store = Arc::new(open_store_for_serving(&config, data_dir)?);
    store.fail_abandoned_planning_runs()?;
    let pool = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(config.evaluator.effective_threads())
            .thread_name(|i| format!("planning-{i}"))
            .build()?,
    );
    let runner = crate::coordinator::Runner::new(
        Arc::clone(&store),
        pool,
        Arc::new(crate::events::EventHub::new(1)),
        config.planner.clone(),
    )
    .with_batch_size(config.generator.batch_size);
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {prefix:>11} [{bar:30}] {pos}/{len} sequences, {msg} (ETA {eta})",
        )?
        .progress_chars("=> "),
    );
    if args.json {
        // Keep stdout for the JSON alone; the bar stays on stderr either way.
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    }
    let outcome = runner.run_here(&mut |p| {
        bar.set_prefix(p.phase);
        if let Some(expected) = p.sequences_expected {
            bar.set_length(expected);
        }
        bar.set_position(p.sequences_evaluated);
        bar.set_message(match p.best_score {
            Some(score) => format!("best score {score:.4}"),
            None => "no score yet".to_string(),
        });
    })?;
    bar.finish_and_clear();
    let Some(plan_id) = outcome.plan_id else {
        bail!(
            "the planning run ended as {}: {}",
            outcome.status,
            outcome.error.unwrap_or_default()
        );
    };
    let plan = store
        .plan(plan_id)?
        .with_context(|| format!("plan {plan_id} vanished"))?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &crate::gateway::api::plan_json(&plan))?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "Plan {} — {} sequences in {:.2} s ({})",
        plan.id,
        outcome.sequences_evaluated,
        outcome.elapsed_secs,
        outcome
            .stop
            .map_or("?".to_string(), |s| format!("{s:?}").to_lowercase())
    )?;
    if !outcome.stale_data.is_empty() {
        writeln!(
            out,
            "Stale data (the last sync failed or never ran): {}",
            outcome.stale_data.join(", ")
        )?;
    }
    writeln!(
        out,
        "Score {:.4} → {:.4}",
        plan.plan.score_before.unwrap_or(0.0),
        plan.plan.score_after.unwrap_or(0.0)
    )?;
    writeln!(out)?;
    if plan.plan.steps.is_empty() {
        writeln!(out, "No trades recommended.")?;
    } else {
        writeln!(
            out,
            "{:>2}  {:<4}  {:<10}  {:>10}  {:>12}  reason",
            "#", "side", "symbol", "quantity", "value EUR"
        )?;
        for (n, step) in plan.plan.steps.iter().enumerate() {
            let side = match step.side {
                crate::domain::Side::Buy => "BUY",
                crate::domain::Side::Sell => "SELL",
            };
            writeln!(
                out,
                "{:>2}  {:<4}  {:<10}  {:>10}  {:>12}  {}",
                n + 1,
                side,
                step.symbol,
                step.quantity.to_string(),
                step.value_eur.to_decimal_string(),
                step.reason
            )?;
        }
    }
    if let Some(narrative) = plan.plan.body["narrative"].as_str() {
        writeln!(out)?;
        writeln!(out, "{narrative}")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// Reads `{"SYMBOL": {"METRIC": number}}`.
fn read_metrics(path: &Path) -> anyhow::Result<MetricsBySymbol> {
    let bytes = read_file(path)?;
    serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "{} must be a JSON object of symbols, each an object of metric names to numbers",
            path.display()
        )
    })
}

fn evaluate(config: &Config, data_dir: &Path, args: &EvaluateArgs) -> anyhow::Result<ExitCode> {
    let bytes = read_file(&args.request)?;
    let request: EvaluateSequencesRequest = match decode_body(&bytes) {
        Ok(r) => r,
        Err(errors) => return report_invalid(&args.request, &errors),
    };
    let errors = request.validate();
    if !errors.is_empty() {
        return report_invalid(&args.request, &errors);
    }
    let metrics = match &args.metrics {
        Some(path) => read_metrics(path)?,
        None => {
            let store = open_store(config, data_dir)?;
            let symbols = request.metric_symbols();
            let symbols: Vec<&str> = symbols.iter().map(String::as_str).collect();
            store.valid_metrics_now(&symbols, &metric_names(args.profile))?
        }
    };
    let options = EvaluateOptions {
        profile: args.profile,
        default_seed: config.evaluator.monte_carlo_seed,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.evaluator.effective_threads())
        .build()?;
    let response = pool.install(|| evaluate_request(&request, &metrics, &options));
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, &response)?;
    writeln!(out)?;
    Ok(ExitCode::SUCCESS)
}

fn report_invalid(
    path: &Path,
    errors: &[crate::domain::validation::FieldError],
) -> anyhow::Result<ExitCode> {
    eprintln!("{} is not a valid evaluator request:", path.display());
    eprintln!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({ "detail": errors }))?
    );
    Ok(ExitCode::from(2))
}

fn import_legacy(config: &Config, data_dir: &Path, dir: &Path) -> anyhow::Result<ExitCode> {
    let store = open_store(config, data_dir)?;
    let report = crate::store::legacy::import_legacy(&store, dir)
        .context("importing the autoTrader data")?;
    print!("{report}");
    println!("\nwritten to {}", store.path().display());
    Ok(ExitCode::SUCCESS)
}

fn import_metrics(
    config: &Config,
    data_dir: &Path,
    file: &Path,
    source: &str,
) -> anyhow::Result<ExitCode> {
    let metrics = read_metrics(file)?;
    if metrics.is_empty() {
        bail!("{} holds no symbols", file.display());
    }
    let store = open_store(config, data_dir)?;
    let report = store.replace_metrics(&metrics, source)?;
    println!(
        "imported {} metrics for {} symbols into {}",
        report.rows,
        report.symbols,
        store.path().display()
    );
    Ok(ExitCode::SUCCESS)
}

fn bench_evaluate(args: &BenchEvaluateArgs) -> anyhow::Result<ExitCode> {
    eprintln!("{}", crate::bench::binary_summary());
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if args.depth == 0 || args.depth > 16 {
        bail!("--depth must be between 1 and 16");
    }
    let bench = EvaluateBench {
        positions: args.positions,
        sequences: args.sequences,
        max_depth: args.depth,
        threads,
        runs: args.runs,
        batch_size: args.batch_size,
        beam_width: 10,
        seed: args.seed,
    };
    let report = run_evaluate_bench(&bench)?;
    println!(
        "evaluate: {} sequences, {} positions, {} threads: {:.0} seq/s (median of {} runs)",
        bench.sequences,
        bench.positions,
        threads,
        report.median_rate,
        report.rates.len()
    );
    let rates: Vec<String> = report.rates.iter().map(|r| format!("{r:.0}")).collect();
    eprintln!("runs (seq/s): {}", rates.join(", "));
    eprintln!("best score: {:.6}", report.best_score);
    if let Some(rss) = report.peak_rss_bytes {
        eprintln!("peak RSS: {:.1} MB", rss as f64 / 1_048_576.0);
    }
    Ok(ExitCode::SUCCESS)
}

fn bench_load(args: &BenchLoadArgs) -> anyhow::Result<ExitCode> {
    eprintln!("{}", crate::bench::binary_summary());
    if args.clients == 0 || args.clients > 10_000 {
        bail!("--clients must be between 1 and 10000");
    }
    if !(args.seconds.is_finite() && args.seconds > 0.0 && args.seconds <= 3600.0) {
        bail!("--seconds must be between 0 and 3600");
    }
    let report = crate::bench::load::run_load_bench(&crate::bench::load::LoadBench {
        clients: args.clients,
        seconds: args.seconds,
        interval: std::time::Duration::from_millis(args.interval_ms),
        securities: args.securities,
        seed: args.seed,
    })?;
    println!(
        "load: {} clients, one request per {} ms each, for {} s: {} requests, {} errors, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        args.clients,
        args.interval_ms,
        args.seconds,
        report.requests,
        report.errors,
        report.p50_ms,
        report.p99_ms,
        report.max_ms
    );
    eprintln!(
        "planning run active at the end: {} ({} sequences evaluated)",
        report.planning_active, report.sequences_evaluated
    );
    Ok(if report.errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn bench_plan(args: &BenchPlanArgs) -> anyhow::Result<ExitCode> {
    eprintln!("{}", crate::bench::binary_summary());
    if args.depth == 0 || args.depth > crate::generator::exhaustive::MAX_DEPTH {
        bail!(
            "--depth must be between 1 and {}",
            crate::generator::exhaustive::MAX_DEPTH
        );
    }
    if args.securities == 0 || args.securities > 1000 {
        bail!("--securities must be between 1 and 1000");
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let bench = crate::bench::plan::PlanBench {
        securities: args.securities,
        depth: args.depth,
        threads,
        runs: args.runs,
        seed: args.seed,
    };
    let report = crate::bench::plan::run_plan_bench(&bench)?;
    let rss_mb = report.peak_rss_bytes.map_or_else(
        || "unknown".to_string(),
        |b| format!("{:.1}", b as f64 / 1_048_576.0),
    );
    println!(
        "plan: {} securities, depth {}, {} threads: {:.3} s (median of {}), {} sequences, peak RSS {} MB",
        bench.securities,
        bench.depth,
        threads,
        report.median_seconds,
        report.seconds.len(),
        report.sequences,
        rss_mb
    );
    let runs: Vec<String> = report.seconds.iter().map(|s| format!("{s:.3}")).collect();
    eprintln!(
        "{} candidates, {} steps in the plan; runs (s): {}",
        report.candidates,
        report.steps,
        runs.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}

fn bench_generate(args: &BenchGenerateArgs) -> anyhow::Result<ExitCode> {
    eprintln!("{}", crate::bench::binary_summary());
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if args.depth == 0 || args.depth > crate::generator::exhaustive::MAX_DEPTH {
        bail!(
            "--depth must be between 1 and {}",
            crate::generator::exhaustive::MAX_DEPTH
        );
    }
    if args.candidates > usize::from(u16::MAX) / 2 {
        bail!("--candidates must be at most {}", u16::MAX / 2);
    }
    let bench = GenerateBench {
        candidates: args.candidates,
        max_depth: args.depth,
        threads,
        runs: args.runs,
        batch_size: args.batch_size,
        seed: args.seed,
    };
    let report = run_generate_bench(&bench)?;
    let rss_mb = report.peak_rss_bytes.map_or_else(
        || "unknown".to_string(),
        |b| format!("{:.1}", b as f64 / 1_048_576.0),
    );
    println!(
        "generate: {} sequences in {:.3} s = {:.0} seq/s, peak RSS {} MB",
        report.sequences,
        report.median_seconds,
        report.sequences as f64 / report.median_seconds,
        rss_mb
    );
    let runs: Vec<String> = report.seconds.iter().map(|s| format!("{s:.3}")).collect();
    eprintln!(
        "{} candidates, depth {}, {} threads, batches of at most {}; runs (s): {}",
        bench.candidates,
        bench.max_depth,
        threads,
        bench.batch_size,
        runs.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}
