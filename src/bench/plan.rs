//! `bench plan`: a whole native planning run on a synthetic universe stored in a temporary
//! database, from the snapshot to the stored plan.

use std::sync::Arc;
use std::time::Instant;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::BenchError;
use crate::config::PlannerConfig;
use crate::coordinator::Runner;
use crate::domain::{Currency, Decimal, Money, Quantity};
use crate::events::EventHub;
use crate::store::{
    AllocationTarget, AllowEmpty, MetricRecord, PositionRecord, QuoteRecord, ScoreRecord,
    SecurityRecord, Store, StoreError, TargetKind, keys, now_iso,
};

#[derive(Clone, Debug)]
pub struct PlanBench {
    pub securities: usize,
    pub depth: usize,
    pub threads: usize,
    pub runs: usize,
    pub seed: u64,
}

#[derive(Clone, Debug)]
pub struct PlanBenchReport {
    pub seconds: Vec<f64>,
    pub median_seconds: f64,
    pub sequences: u64,
    pub candidates: usize,
    pub steps: usize,
    pub peak_rss_bytes: Option<u64>,
}

const COUNTRIES: [&str; 4] = ["Germany", "United States", "United Kingdom", "Japan"];
const INDUSTRIES: [&str; 6] = [
    "Software",
    "Semiconductors",
    "Banks",
    "Utilities",
    "Pharmaceuticals",
    "Consumer Staples",
];

/// Fills `store` with `n` EUR securities, a third of them held (some at a large gain, some at a
/// loss), quotes, scores and the metrics the scorer reads, 20,000 EUR of cash, and country and
/// industry targets (equal shares of 95 %) that the random holdings are far from.
pub fn synthetic_universe(store: &Store, n: usize, seed: u64) -> Result<(), StoreError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let now = now_iso();
    let mut securities = Vec::with_capacity(n);
    let mut quotes = Vec::with_capacity(n);
    let mut scores = Vec::with_capacity(n);
    let mut metrics = Vec::new();
    let mut positions = Vec::new();
    for i in 0..n {
        let symbol = format!("SYN{i:03}.EU");
        let mut security = SecurityRecord::new(&symbol, &format!("Synthetic {i}"), Currency::EUR);
        security.country = Some(COUNTRIES[i % COUNTRIES.len()].to_string());
        security.industry = Some(INDUSTRIES[i % INDUSTRIES.len()].to_string());
        security.allow_sell = true;
        securities.push(security);
        let price = rng.random_range(10.0..400.0_f64);
        quotes.push(QuoteRecord {
            symbol: symbol.clone(),
            price: Decimal::from_f64(price)
                .map_err(StoreError::from)?
                .round_dp(2),
            currency: Currency::EUR,
            as_of: now.clone(),
            source: "bench".into(),
        });
        scores.push(ScoreRecord {
            symbol: symbol.clone(),
            total_score: rng.random_range(0.4..0.9),
            components: Default::default(),
            calculated_at: now.clone(),
        });
        for (metric, low, high) in [
            ("CAGR_5Y", -0.05, 0.25),
            ("CAGR_10Y", -0.05, 0.2),
            ("DIVIDEND_YIELD", 0.0, 0.06),
            ("CONSISTENCY_SCORE", 0.2, 1.0),
            ("FINANCIAL_STRENGTH", 0.2, 1.0),
            ("DIVIDEND_CONSISTENCY", 0.0, 1.0),
            ("PAYOUT_RATIO", 0.0, 0.9),
            ("SORTINO", -0.5, 2.5),
            ("SHARPE", -0.5, 2.0),
            ("VOLATILITY_ANNUAL", 0.1, 0.6),
            ("MAX_DRAWDOWN", -0.6, -0.05),
        ] {
            metrics.push(MetricRecord {
                symbol: symbol.clone(),
                metric: metric.into(),
                value: rng.random_range(low..high),
                calculated_at: now.clone(),
                expires_at: None,
                source: "bench".into(),
            });
        }
        if i % 3 == 0 {
            // From far below the price (a windfall) to above it (a loss).
            let avg = price * rng.random_range(0.2..1.3);
            positions.push(PositionRecord {
                symbol,
                quantity: Quantity::from_shares(rng.random_range(5..80))
                    .map_err(StoreError::from)?,
                avg_price: Decimal::from_f64(avg)
                    .map_err(StoreError::from)?
                    .round_dp(2),
                currency: Currency::EUR,
            });
        }
    }
    store.replace_securities(&securities, AllowEmpty::No)?;
    store.put_quotes(&quotes)?;
    store.put_scores(&scores)?;
    store.put_metrics(&metrics)?;
    store.replace_positions(&positions, AllowEmpty::No)?;
    store.replace_cash_balances(
        &[Money::parse("20000", Currency::EUR).map_err(StoreError::from)?],
        AllowEmpty::No,
    )?;
    let share = |n: usize| Decimal::from_f64(0.95 / n as f64).map(|d| d.round_dp(4));
    let mut targets = Vec::new();
    for country in COUNTRIES {
        targets.push(AllocationTarget {
            kind: TargetKind::Country,
            group: country.into(),
            target: share(COUNTRIES.len())?,
        });
    }
    for industry in INDUSTRIES {
        targets.push(AllocationTarget {
            kind: TargetKind::Industry,
            group: industry.into(),
            target: share(INDUSTRIES.len())?,
        });
    }
    store.replace_allocation_targets(&targets, AllowEmpty::No)?;
    Ok(())
}

/// Runs `runs` planning runs on one synthetic universe; wall time from the snapshot to the
/// stored plan.
pub fn run_plan_bench(bench: &PlanBench) -> Result<PlanBenchReport, BenchError> {
    let dir = std::env::temp_dir().join(format!("trading-planner-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("bench.db");
    let _ = std::fs::remove_file(&path);
    let result = (|| {
        let store = Arc::new(Store::open(&path)?);
        synthetic_universe(&store, bench.securities, bench.seed)?;
        // The plan may hold `depth` trades, whatever the cycle and frequency limits.
        let depth = bench.depth.to_string();
        store.set_settings(&[
            (keys::MAX_PLAN_DEPTH.key.into(), depth.clone()),
            (keys::MAX_TRADES_PER_CYCLE.key.into(), depth.clone()),
            (keys::MAX_TRADES_PER_DAY.key.into(), depth.clone()),
            (keys::MAX_TRADES_PER_WEEK.key.into(), depth),
        ])?;
        let pool = Arc::new(
            rayon::ThreadPoolBuilder::new()
                .num_threads(bench.threads)
                .build()?,
        );
        let config = PlannerConfig {
            max_depth: bench.depth,
            ..PlannerConfig::default()
        };
        let runner = Runner::new(Arc::clone(&store), pool, Arc::new(EventHub::new(1)), config);
        let mut seconds = Vec::with_capacity(bench.runs);
        let mut last = None;
        for _ in 0..bench.runs.max(1) {
            let started = Instant::now();
            let outcome = runner
                .run_here(chrono::Local::now().naive_local(), &mut |_| {})
                .map_err(|e| BenchError::Run(e.to_string()))?;
            seconds.push(started.elapsed().as_secs_f64());
            last = Some(outcome);
        }
        let outcome = last.expect("at least one run");
        let plan_id = outcome
            .plan_id
            .ok_or_else(|| BenchError::Run(outcome.error.clone().unwrap_or_default()))?;
        let plan = store
            .plan(plan_id)?
            .ok_or_else(|| BenchError::Run("the plan vanished".into()))?;
        let candidates = plan.plan.body["run"]["candidates"].as_u64().unwrap_or(0) as usize;
        let mut sorted = seconds.clone();
        sorted.sort_by(f64::total_cmp);
        Ok(PlanBenchReport {
            median_seconds: sorted[sorted.len() / 2],
            seconds,
            sequences: outcome.sequences_evaluated,
            candidates,
            steps: plan.plan.steps.len(),
            peak_rss_bytes: super::peak_rss_bytes(),
        })
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_synthetic_universe_out_of_its_bands_gets_a_plan_of_full_depth() {
        // 100 securities: the suite also runs under an emulator, where 300 in a debug build
        // outlast the planner's time budget (BENCHMARKS.md has the 300-security figures).
        let report = run_plan_bench(&PlanBench {
            securities: 100,
            depth: 5,
            threads: 2,
            runs: 1,
            seed: 7,
        })
        .unwrap();
        assert_eq!(report.steps, 5, "{report:?}");
        assert!(report.candidates > 5, "{report:?}");
    }
}
