//! `evaluate`: one evaluator request from a file.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use super::{EvaluateArgs, open_store, read_file, read_metrics};
use crate::config::Config;
use crate::domain::validation::decode_body;
use crate::evaluator::symbol_terms::metric_names;
use crate::evaluator::{EvaluateOptions, EvaluateSequencesRequest, evaluate_request};

pub(super) fn evaluate(
    config: &Config,
    data_dir: &Path,
    args: &EvaluateArgs,
) -> anyhow::Result<ExitCode> {
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
