//! `plan`: one planning run in the terminal.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};

use super::PlanArgs;
use super::serve::open_store_for_serving;
use crate::config::Config;

/// `plan`: one planning run in the terminal, with a progress bar on stderr.
pub(super) fn plan(config: Config, data_dir: &Path, args: &PlanArgs) -> anyhow::Result<ExitCode> {
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
    );
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {prefix:>11} {pos} candidate trades weighed, {msg}",
        )?
        .progress_chars("=> "),
    );
    if args.json {
        // Keep stdout for the JSON alone; the bar stays on stderr either way.
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    }
    let outcome = runner.run_here(chrono::Local::now().naive_local(), &mut |p| {
        bar.set_prefix(p.phase);
        bar.set_position(p.sequences_evaluated);
        bar.set_message(match p.best_score {
            Some(score) => format!("plan score {score:.1}"),
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
        "Plan {} — {} candidate trades weighed in {:.2} s ({})",
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
        "Score {:.1} → {:.1} (100 less the points from the targets)",
        plan.plan.score_before.unwrap_or(0.0),
        plan.plan.score_after.unwrap_or(0.0)
    )?;
    writeln!(out)?;
    if plan.plan.steps.is_empty() {
        writeln!(out, "No trades.")?;
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
