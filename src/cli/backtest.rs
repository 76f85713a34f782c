//! `backtest`: the three strategies on history, as a table or JSON, with a progress bar.

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

use super::BacktestArgs;
use crate::backtest::{Backtest, BacktestOptions, Figures, Report, RunControl, StrategyKind};
use crate::config::Config;

/// Runs the backtest the arguments ask for; bad input is a message and exit code 2.
pub(super) fn backtest(config: &Config, args: &BacktestArgs) -> anyhow::Result<ExitCode> {
    let options = BacktestOptions {
        data_dir: args
            .data
            .clone()
            .unwrap_or_else(|| config.backtest.data_dir.clone().into()),
        scenario: args.scenario.clone(),
        start: args.start,
        end: args.end,
        deposit: args.deposit,
        initial_cash: args.initial_cash,
        fee_fixed: args.fee_fixed,
        fee_rate: args.fee_rate,
        fx_rate: args.fx_rate,
        planner: config.planner.clone(),
    };
    let backtest = match Backtest::prepare(&options) {
        Ok(backtest) => backtest,
        Err(error) => {
            eprintln!("error: {error}");
            return Ok(ExitCode::from(2));
        }
    };
    let total = backtest.total_days(StrategyKind::ALL.len()) as u64;
    let bar = indicatif::ProgressBar::new(total).with_style(
        indicatif::ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} simulated days, {elapsed} (ETA {eta})",
        )?
        .progress_chars("=> "),
    );
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    bar.set_prefix(format!(
        "{} runs × {} strategies",
        backtest.runs.len(),
        StrategyKind::ALL.len()
    ));
    let done = AtomicU64::new(0);
    let on_day = || {
        // Drawing on every simulated day would cost more than the day itself.
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_multiple_of(256) {
            bar.set_position(n);
        }
    };
    let report = backtest
        .run(&StrategyKind::ALL, &RunControl::new(&on_day))?
        .expect("nothing cancels a command-line backtest");
    bar.finish_and_clear();
    if let Some(dir) = &args.csv {
        let written = report.write_csv(dir)?;
        eprintln!("wrote {} CSV files to {}", written.len(), dir.display());
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report.to_json())?;
        writeln!(out)?;
    } else {
        write!(out, "{}", table(&report))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One line per run and strategy: the contract's figures in percent where they are fractions.
fn table(report: &Report) -> String {
    let mut out = format!(
        "{:<23} {:>7} {:<16} {:>7} {:>7} {:>7} {:>8} {:>8} {:>6} {:>9} {:>6} {:>6} {:>5} {:>11}\n",
        "window",
        "deposit",
        "strategy",
        "TWR/yr",
        "vol",
        "max DD",
        "turnover",
        "fees €",
        "trades",
        "dist pp",
        "peak",
        "idle",
        "unex",
        "final €"
    );
    let pct = |x: f64| format!("{:.1}%", x * 100.0);
    for run in &report.runs {
        for (kind, simulated) in &run.results {
            let f: &Figures = &simulated.figures;
            out.push_str(&format!(
                "{:<23} {:>7} {:<16} {:>7} {:>7} {:>7} {:>8.2} {:>8.0} {:>6} {:>9.2} {:>6} {:>6} {:>5} {:>11.0}\n",
                format!("{} – {}", run.start, run.end),
                run.monthly_deposit_eur,
                kind.name(),
                pct(f.twr_annual),
                pct(f.volatility),
                pct(f.max_drawdown),
                f.turnover,
                f.fees_eur,
                f.trades,
                f.avg_distance_pp,
                pct(f.peak_weight),
                pct(f.avg_idle_cash),
                f.unexecutable_steps,
                f.final_value_eur,
            ));
        }
    }
    out
}
