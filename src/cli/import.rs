//! `import metrics`, `import legacy`, `import prices` and `import fx`.

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

pub(super) fn import_prices(
    config: &Config,
    data_dir: &Path,
    file: &Path,
    symbol: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let closes = crate::sync::prices::parse_price_csv(&text, symbol)
        .map_err(|why| anyhow::anyhow!("{}: {why}", file.display()))?;
    let store = open_store(config, data_dir)?;
    let added = store.put_daily_closes(&closes, false)?;
    let symbols: std::collections::BTreeSet<&str> =
        closes.iter().map(|c| c.symbol.as_str()).collect();
    println!(
        "imported {added} new daily closes of {} ({} in the file) into {}",
        itertools::Itertools::join(&mut symbols.iter(), ", "),
        closes.len(),
        store.path().display()
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) fn import_fx(config: &Config, data_dir: &Path, file: &Path) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    if crate::sync::fx::is_history_csv(&text) {
        return import_fx_history(config, data_dir, file, &text);
    }
    let rates = crate::sync::fx::parse_ecb_daily(&text)
        .with_context(|| format!("reading {}", file.display()))?;
    let store = open_store(config, data_dir)?;
    let written = crate::sync::fx::store_rates(&store, &rates, "import")?;
    println!(
        "imported {written} FX rates of {} into {}",
        rates.date,
        store.path().display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `import fx` of a CSV history of the reference rates.
fn import_fx_history(
    config: &Config,
    data_dir: &Path,
    file: &Path,
    text: &str,
) -> anyhow::Result<ExitCode> {
    let days = crate::sync::fx::parse_history_csv(text)
        .with_context(|| format!("reading {}", file.display()))?;
    let store = open_store(config, data_dir)?;
    let written = crate::sync::fx::store_history(&store, &days, "import")?;
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        bail!("{} holds no rates", file.display());
    };
    println!(
        "imported {} FX rates of {} days ({} to {}) into the history of {}; {} current rates \
         replaced by those of {}",
        written.history_rates,
        days.len(),
        first.date,
        last.date,
        store.path().display(),
        written.current_rates,
        last.date
    );
    Ok(ExitCode::SUCCESS)
}
