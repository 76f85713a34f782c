//! `import metrics` and `import legacy`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};

use super::{open_store, read_metrics};
use crate::config::Config;

pub(super) fn import_legacy(
    config: &Config,
    data_dir: &Path,
    dir: &Path,
) -> anyhow::Result<ExitCode> {
    let store = open_store(config, data_dir)?;
    let report = crate::store::legacy::import_legacy(&store, dir)
        .context("importing the autoTrader data")?;
    print!("{report}");
    println!("\nwritten to {}", store.path().display());
    Ok(ExitCode::SUCCESS)
}

pub(super) fn import_metrics(
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
