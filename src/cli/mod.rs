//! The command line: `serve` (the default), `plan`, `evaluate`, `import`, `bench`, `shadow`.
//! This module holds the clap definitions and the dispatch; each subcommand lives in its own file.

mod backtest;
mod bench;
mod evaluate;
mod import;
mod logging;
mod plan;
mod serve;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::config::Config;
use crate::domain::MetricsBySymbol;
use crate::evaluator::ScoringProfile;
use crate::gateway;
use crate::store::Store;

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
    /// Replay history through the planner, buy-and-hold and a 5/25 band rebalancer, and compare
    /// them (docs/backtest.md).
    Backtest(BacktestArgs),
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
pub struct BacktestArgs {
    /// The folder of sp500_prices.csv, ecb_rates.csv and scenario.yaml [default: backtest.data_dir
    /// of the config, data/backtest].
    #[arg(long = "data", value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Another scenario file than the data folder's scenario.yaml.
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// One window from the first trading day on or after DATE, instead of the seven default ones.
    #[arg(long, value_name = "DATE")]
    pub start: Option<chrono::NaiveDate>,
    /// With or without --start: the window ends on the last trading day on or before DATE.
    #[arg(long, value_name = "DATE")]
    pub end: Option<chrono::NaiveDate>,
    /// One monthly deposit in EUR instead of the runs with 0 and with 500.
    #[arg(long, value_name = "EUR", allow_negative_numbers = true)]
    pub deposit: Option<f64>,
    /// Starting cash in EUR [default: the scenario's].
    #[arg(long, value_name = "EUR", allow_negative_numbers = true)]
    pub initial_cash: Option<f64>,
    /// Fixed fee per order in EUR [default: the scenario's].
    #[arg(long, value_name = "EUR", allow_negative_numbers = true)]
    pub fee_fixed: Option<f64>,
    /// Fee per order as a fraction of its value [default: the scenario's].
    #[arg(long, value_name = "FRACTION", allow_negative_numbers = true)]
    pub fee_rate: Option<f64>,
    /// Cost of each currency conversion as a fraction of the amount [default: the scenario's].
    #[arg(long, value_name = "FRACTION", allow_negative_numbers = true)]
    pub fx_rate: Option<f64>,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also write each run's daily values per strategy as CSV files into DIR.
    #[arg(long, value_name = "DIR")]
    pub csv: Option<PathBuf>,
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
    /// Load daily closes from a CSV file (a header with date and close columns, and a symbol
    /// column or --symbol); days already stored are kept
    Prices {
        /// CSV file of daily prices.
        #[arg(value_name = "FILE.csv")]
        file: PathBuf,
        /// The symbol of every row, for a file without a symbol column.
        #[arg(long)]
        symbol: Option<String>,
    },
    /// Load the ECB's daily euro reference rates from its XML file (eurofxref-daily.xml), or
    /// their history from a CSV file (a header `date,USD,GBP,...`, one row per day, as the
    /// ECB's eurofxref-hist.csv); a malformed file writes nothing
    Fx {
        /// The ECB's daily XML file or a CSV history of its rates.
        #[arg(value_name = "FILE")]
        file: PathBuf,
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
    // A backtest's temporary databases would log their set-up once per run: only warnings.
    let quiet = matches!(cli.command, Some(Command::Backtest(_)));
    logging::init(if quiet { "warn" } else { "info" });
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            logging::fatal(&e);
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let config =
        Config::load_from_env(cli.config.as_deref()).context("loading the configuration")?;
    match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => serve::serve(config, &cli.data_dir, args),
        Command::Plan(args) => plan::plan(config, &cli.data_dir, &args),
        Command::Evaluate(args) => evaluate::evaluate(&config, &cli.data_dir, &args),
        Command::Import(ImportCommand::Metrics { file, source }) => {
            import::import_metrics(&config, &cli.data_dir, &file, &source)
        }
        Command::Import(ImportCommand::Legacy { dir }) => {
            import::import_legacy(&config, &cli.data_dir, &dir)
        }
        Command::Import(ImportCommand::Prices { file, symbol }) => {
            import::import_prices(&config, &cli.data_dir, &file, symbol.as_deref())
        }
        Command::Import(ImportCommand::Fx { file }) => {
            import::import_fx(&config, &cli.data_dir, &file)
        }
        Command::Bench(BenchCommand::Evaluate(args)) => bench::bench_evaluate(&args),
        Command::Bench(BenchCommand::Generate(args)) => bench::bench_generate(&args),
        Command::Bench(BenchCommand::Plan(args)) => bench::bench_plan(&args),
        Command::Bench(BenchCommand::Load(args)) => bench::bench_load(&args),
        Command::Backtest(args) => backtest::backtest(&config, &args),
        Command::Shadow(args) => Ok(crate::shadow::replay::run(&args)),
    }
}

fn open_store(config: &Config, data_dir: &Path) -> anyhow::Result<Store> {
    let path = config.store.database_path(data_dir);
    Store::open(&path).with_context(|| format!("opening the database {}", path.display()))
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
