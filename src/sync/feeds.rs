//! The scheduled jobs of the feeds outside the Python services: the ECB's FX rates, and the
//! price history with the metrics computed from it. They run beside the sync jobs
//! ([`super::jobs::Syncer`]) when syncing is enabled.

use std::sync::Arc;
use std::time::Duration;

use chrono::Local;

use super::fx::{self, FeedError};
use super::history_metrics::{HistoryMetricsReport, refresh_history_metrics};
use super::prices::{self, BackfillReport};
use crate::config::FeedsConfig;
use crate::store::{DayRates, Store, StoreError};
use crate::upstream::Upstreams;

/// Limit of one download (an ECB file, one symbol's CSV).
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest wait before a failed FX download is tried again.
const FX_RETRY: Duration = Duration::from_secs(3600);

#[derive(Clone, Copy)]
enum FeedJob {
    Fx,
    Prices,
}

/// What one run of the price job did.
#[derive(Debug, Default)]
pub struct PricesReport {
    pub backfill: BackfillReport,
    pub candle_days: usize,
    pub metrics: HistoryMetricsReport,
}

pub struct Feeds {
    store: Arc<Store>,
    upstreams: Arc<Upstreams>,
    config: FeedsConfig,
    client: reqwest::Client,
}

impl Feeds {
    pub fn new(
        store: Arc<Store>,
        upstreams: Arc<Upstreams>,
        config: FeedsConfig,
    ) -> reqwest::Result<Feeds> {
        Ok(Feeds {
            store,
            upstreams,
            config,
            client: crate::upstream::http_client(DOWNLOAD_TIMEOUT)?,
        })
    }

    /// Starts the FX job (when an ECB URL is configured) and the price job; each runs at once,
    /// then at its interval.
    pub fn spawn(self: Arc<Self>) -> Vec<tokio::task::JoinHandle<()>> {
        let mut jobs = Vec::new();
        if !self.config.ecb_fx_url.is_empty() {
            jobs.push(tokio::spawn(Arc::clone(&self).run_forever(FeedJob::Fx)));
        }
        jobs.push(tokio::spawn(self.run_forever(FeedJob::Prices)));
        jobs
    }

    /// One job's loop; both jobs share it, so the runtime holds one task type for them.
    async fn run_forever(self: Arc<Self>, job: FeedJob) {
        loop {
            let wait = match job {
                FeedJob::Fx => {
                    let every = hours(self.config.fx_interval_hours);
                    match self.refresh_fx().await {
                        Ok(_) => every,
                        Err(error) => {
                            tracing::warn!(%error, "FX rates not refreshed; the stored ones are kept");
                            every.min(FX_RETRY)
                        }
                    }
                }
                FeedJob::Prices => {
                    match self.refresh_prices().await {
                        Ok(report) => tracing::info!(
                            backfilled = report.backfill.filled.len(),
                            candle_days = report.candle_days,
                            with_metrics = report.metrics.computed.len(),
                            not_enough_history = ?report.metrics.not_enough_history,
                            "price history refreshed"
                        ),
                        Err(error) => tracing::warn!(%error, "price history not refreshed"),
                    }
                    hours(self.config.prices_interval_hours)
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Downloads and stores the ECB's rates once.
    pub async fn refresh_fx(&self) -> Result<DayRates, FeedError> {
        fx::refresh(&self.store, &self.client, &self.config.ecb_fx_url).await
    }

    /// Extends the price history from the CSV source and the broker, then computes the metrics
    /// the scoring service does not provide.
    pub async fn refresh_prices(&self) -> Result<PricesReport, StoreError> {
        let mut report = PricesReport::default();
        if !self.config.price_csv_url.is_empty() {
            let pause = Duration::from_secs_f64(self.config.price_csv_min_interval_secs);
            report.backfill = prices::backfill_from_csv(
                &self.store,
                &self.client,
                &self.config.price_csv_url,
                pause,
            )
            .await?;
        }
        let today = Local::now().date_naive();
        if let Some(tradernet) = &self.upstreams.tradernet {
            report.candle_days = prices::candles_from_broker(&self.store, tradernet, today).await?;
        }
        report.metrics = super::execution::on_store(&self.store, move |store| {
            // The grown history also values the past days that had no price before.
            if let Err(error) = crate::portfolio_history::backfill_from_history(store, today) {
                tracing::warn!(%error, "could not back-fill the portfolio's daily values");
            }
            refresh_history_metrics(store, today, Local::now().naive_local())
        })
        .await
        .map_err(|e| StoreError::Invalid {
            what: "database task",
            reason: e.to_string(),
        })??;
        Ok(report)
    }
}

fn hours(hours: f64) -> Duration {
    Duration::from_secs_f64((hours * 3600.0).max(1.0))
}
