//! `bench`: the wiring of the benchmarks in `crate::bench` to the command line.

use std::process::ExitCode;

use anyhow::bail;
use itertools::Itertools;

use super::{BenchEvaluateArgs, BenchGenerateArgs, BenchLoadArgs, BenchPlanArgs};
use crate::bench::{EvaluateBench, GenerateBench, run_evaluate_bench, run_generate_bench};

pub(super) fn bench_evaluate(args: &BenchEvaluateArgs) -> anyhow::Result<ExitCode> {
    eprintln!("{}", crate::bench::binary_summary());
    let threads = threads_or_cores(args.threads);
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
    let rates = report.rates.iter().map(|r| format!("{r:.0}")).join(", ");
    eprintln!("runs (seq/s): {rates}");
    eprintln!("best score: {:.6}", report.best_score);
    if let Some(rss) = report.peak_rss_bytes {
        eprintln!("peak RSS: {:.1} MB", rss as f64 / 1_048_576.0);
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn bench_load(args: &BenchLoadArgs) -> anyhow::Result<ExitCode> {
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

pub(super) fn bench_plan(args: &BenchPlanArgs) -> anyhow::Result<ExitCode> {
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
    let threads = threads_or_cores(args.threads);
    let bench = crate::bench::plan::PlanBench {
        securities: args.securities,
        depth: args.depth,
        threads,
        runs: args.runs,
        seed: args.seed,
    };
    let report = crate::bench::plan::run_plan_bench(&bench)?;
    let rss_mb = megabytes_or_unknown(report.peak_rss_bytes);
    println!(
        "plan: {} securities, depth {}, {} threads: {:.3} s (median of {}), {} candidate trades weighed, peak RSS {} MB",
        bench.securities,
        bench.depth,
        threads,
        report.median_seconds,
        report.seconds.len(),
        report.sequences,
        rss_mb
    );
    let runs = report.seconds.iter().map(|s| format!("{s:.3}")).join(", ");
    eprintln!(
        "{} candidate trades, {} steps in the plan; runs (s): {}",
        report.candidates, report.steps, runs
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) fn bench_generate(args: &BenchGenerateArgs) -> anyhow::Result<ExitCode> {
    eprintln!("{}", crate::bench::binary_summary());
    let threads = threads_or_cores(args.threads);
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
    let rss_mb = megabytes_or_unknown(report.peak_rss_bytes);
    println!(
        "generate: {} sequences in {:.3} s = {:.0} seq/s, peak RSS {} MB",
        report.sequences,
        report.median_seconds,
        report.sequences as f64 / report.median_seconds,
        rss_mb
    );
    let runs = report.seconds.iter().map(|s| format!("{s:.3}")).join(", ");
    eprintln!(
        "{} candidates, depth {}, {} threads, batches of at most {}; runs (s): {}",
        bench.candidates, bench.max_depth, threads, bench.batch_size, runs
    );
    Ok(ExitCode::SUCCESS)
}

/// `--threads`, or every core when it is not given.
fn threads_or_cores(threads: Option<usize>) -> usize {
    threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// A peak RSS in MB with one decimal, or "unknown" where the platform does not report it.
fn megabytes_or_unknown(bytes: Option<u64>) -> String {
    bytes.map_or_else(
        || "unknown".to_string(),
        |b| format!("{:.1}", b as f64 / 1_048_576.0),
    )
}
