//! The jobs that copy upstream data into the database.
//!
//! Each job asks one service for one kind of data and replaces the stored rows in one
//! transaction. An answer that fails, is malformed, or is empty never replaces stored data:
//! the kind is marked stale instead, and the planner keeps using what it has. The broker's
//! list of open orders is the one kind that is normally empty, so an empty list replaces it
//! only when two answers in a row say so (the wrapper is known to answer an SDK error with an
//! empty list, and a wrongly cleared order could let a duplicate through).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Datelike, Timelike, Utc, Weekday};

use super::execution::on_store;
use crate::config::{SyncConfig, SyncInterval};
use crate::domain::{Currency, Decimal, Money};
use crate::store::{
    AllowEmpty, BrokerOrderRecord, PositionRecord, QuoteRecord, ScoreRecord, SecurityRecord, Store,
    StoreError, now_iso,
};
use crate::upstream::{UpstreamError, Upstreams};

/// Executed trades asked for per sync; older ones were recorded by earlier syncs.
const TRADES_PER_SYNC: u32 = 500;

/// One kind of synced data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Job {
    Positions,
    Cash,
    PendingOrders,
    Quotes,
    Trades,
    Scores,
    Metrics,
}

impl Job {
    pub const ALL: [Job; 7] = [
        Job::Positions,
        Job::Cash,
        Job::PendingOrders,
        Job::Quotes,
        Job::Trades,
        Job::Scores,
        Job::Metrics,
    ];

    /// The data kind's name in `data_freshness` and the API.
    pub fn kind(self) -> &'static str {
        match self {
            Job::Positions => "positions",
            Job::Cash => "cash",
            Job::PendingOrders => "pending_orders",
            Job::Quotes => "quotes",
            Job::Trades => "trades",
            Job::Scores => "scores",
            Job::Metrics => "metrics",
        }
    }

    /// The service the data comes from.
    pub fn service(self) -> &'static str {
        match self {
            Job::Scores | Job::Metrics => crate::upstream::scoring::SERVICE_NAME,
            _ => crate::upstream::tradernet::SERVICE_NAME,
        }
    }

    fn interval(self, config: &SyncConfig) -> SyncInterval {
        match self {
            Job::Positions => config.positions,
            Job::Cash => config.cash,
            Job::PendingOrders => config.pending_orders,
            Job::Quotes => config.quotes,
            Job::Trades => config.trades,
            Job::Scores => config.scores,
            Job::Metrics => config.metrics,
        }
    }
}

/// What one run of a job did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// The stored rows were replaced (or added to) with this many rows.
    Updated { rows: usize },
    /// The answer was empty; the stored rows were kept and marked stale.
    KeptStored { reason: String },
}

/// Why a run failed; the stored rows were kept and marked stale.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{0} is not configured")]
    NotConfigured(&'static str),
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error("the answer was refused: {0}")]
    Store(#[from] StoreError),
    #[error("a database task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    /// A file or feed outside the services could not be read; the stored data was kept.
    #[error("{0}")]
    Feed(String),
}

/// Runs the jobs against the configured services.
pub struct Syncer {
    store: Arc<Store>,
    upstreams: Arc<Upstreams>,
    config: SyncConfig,
    /// Market hours as minutes after midnight UTC.
    market: (u32, u32),
    /// The scoring service's `calculations.db`, read for the metrics job.
    calculations_db: Option<std::path::PathBuf>,
}

impl Syncer {
    pub fn new(
        store: Arc<Store>,
        upstreams: Arc<Upstreams>,
        config: SyncConfig,
    ) -> Result<Syncer, crate::config::ConfigError> {
        let market = config.market_minutes()?;
        Ok(Syncer {
            store,
            upstreams,
            config,
            market,
            calculations_db: None,
        })
    }

    /// Reads the metrics job's data from the scoring service's `calculations.db` at `path`
    /// (empty = no metrics job).
    pub fn with_calculations_db(mut self, path: &str) -> Syncer {
        self.calculations_db = (!path.is_empty()).then(|| std::path::PathBuf::from(path));
        self
    }

    /// The jobs whose service is configured.
    pub fn jobs(&self) -> Vec<Job> {
        Job::ALL
            .into_iter()
            .filter(|job| match job.service() {
                _ if *job == Job::Metrics => self.calculations_db.is_some(),
                "scoring" => self.upstreams.scoring.is_some(),
                _ => self.upstreams.tradernet.is_some(),
            })
            .collect()
    }

    /// Starts one task per job of a configured service; each runs at once, then at its
    /// interval. Aborting the handles stops them; a write in progress still completes, because
    /// it runs on a blocking thread in one transaction.
    pub fn spawn(self: Arc<Self>) -> Vec<tokio::task::JoinHandle<()>> {
        if !self.config.enabled {
            return Vec::new();
        }
        self.jobs()
            .into_iter()
            .map(|job| {
                let syncer = Arc::clone(&self);
                tokio::spawn(async move {
                    loop {
                        let _ = syncer.run(job).await;
                        tokio::time::sleep(syncer.interval(job, Utc::now())).await;
                    }
                })
            })
            .collect()
    }

    /// How long `job` waits before its next run, by whether markets are open at `now`.
    pub fn interval(&self, job: Job, now: DateTime<Utc>) -> Duration {
        let interval = job.interval(&self.config);
        let secs = if market_open(now, self.market) {
            interval.open_secs
        } else {
            interval.closed_secs
        };
        Duration::from_secs_f64(secs)
    }

    /// Runs `job` once and records the outcome: freshness of the data kind and the health of
    /// the service.
    pub async fn run(&self, job: Job) -> Result<JobOutcome, SyncError> {
        let result = self.fetch_and_store(job).await;
        let kind = job.kind();
        let service = job.service();
        let breaker = match service {
            "scoring" => self.upstreams.scoring.as_ref().map(|c| c.status().breaker),
            _ => self
                .upstreams
                .tradernet
                .as_ref()
                .map(|c| c.status().breaker),
        }
        .unwrap_or(crate::domain::BreakerState::Closed);
        let at = now_iso();
        let record: Result<(), StoreError> = match &result {
            Ok(JobOutcome::Updated { rows }) => {
                tracing::debug!(kind, rows, "synced");
                let (kind, at) = (kind.to_string(), at.clone());
                // The metrics come from the service's file, so they say nothing of its health.
                let called = job != Job::Metrics;
                on_store(&self.store, move |s| {
                    s.mark_refreshed(&kind, service, &at)?;
                    if called {
                        s.record_upstream_success(service, &at, breaker)?;
                    }
                    Ok(())
                })
                .await?
            }
            Ok(JobOutcome::KeptStored { reason }) => {
                tracing::warn!(kind, %reason, "kept the stored data");
                let (kind, at) = (kind.to_string(), at.clone());
                let called = job != Job::Metrics;
                on_store(&self.store, move |s| {
                    s.mark_stale(&kind)?;
                    if called {
                        s.record_upstream_success(service, &at, breaker)?;
                    }
                    Ok(())
                })
                .await?
            }
            Err(error) => {
                tracing::warn!(kind, %error, "sync failed; kept the stored data");
                let (kind, at, message) = (kind.to_string(), at.clone(), error.to_string());
                let service_failed =
                    matches!(error, SyncError::Upstream(e) if e.is_service_failure());
                on_store(&self.store, move |s| {
                    s.mark_stale(&kind)?;
                    if service_failed {
                        s.record_upstream_failure(service, &at, &message, breaker)?;
                    }
                    Ok(())
                })
                .await?
            }
        };
        if let Err(error) = record {
            tracing::error!(kind, %error, "cannot record the sync outcome");
        }
        result
    }

    async fn fetch_and_store(&self, job: Job) -> Result<JobOutcome, SyncError> {
        match job {
            Job::Positions => self.positions().await,
            Job::Cash => self.cash().await,
            Job::PendingOrders => self.pending_orders().await,
            Job::Quotes => self.quotes().await,
            Job::Trades => self.trades().await,
            Job::Scores => self.scores().await,
            Job::Metrics => self.metrics().await,
        }
    }

    fn tradernet(&self) -> Result<&crate::upstream::TradernetClient, SyncError> {
        self.upstreams
            .tradernet
            .as_ref()
            .ok_or(SyncError::NotConfigured("tradernet"))
    }

    fn scoring(&self) -> Result<&crate::upstream::ScoringClient, SyncError> {
        self.upstreams
            .scoring
            .as_ref()
            .ok_or(SyncError::NotConfigured("scoring"))
    }

    async fn positions(&self) -> Result<JobOutcome, SyncError> {
        let answer = self.tradernet()?.positions().await?;
        let held: Vec<_> = answer
            .into_iter()
            .filter(|p| !p.quantity.is_zero())
            .collect();
        if held.is_empty() {
            return Ok(kept("the broker listed no positions"));
        }
        let as_of = now_iso();
        let stubs: Vec<SecurityRecord> = held
            .iter()
            .map(|p| SecurityRecord {
                // Held but not chosen for the universe: kept for valuation, never bought.
                allow_buy: false,
                active: false,
                ..SecurityRecord::new(&p.symbol, &p.symbol, p.currency)
            })
            .collect();
        let positions: Vec<PositionRecord> = held
            .iter()
            .map(|p| PositionRecord {
                symbol: p.symbol.clone(),
                quantity: p.quantity,
                avg_price: p.avg_price,
                currency: p.currency,
            })
            .collect();
        let quotes: Vec<QuoteRecord> = held
            .iter()
            .filter_map(|p| {
                Some(QuoteRecord {
                    symbol: p.symbol.clone(),
                    price: p.current_price?,
                    currency: p.currency,
                    as_of: as_of.clone(),
                    source: "tradernet".into(),
                })
            })
            .collect();
        let rows = positions.len();
        on_store(&self.store, move |s| {
            // Holdings the universe does not list yet get a minimal security row, because
            // positions refer to securities.
            s.insert_missing_securities(&stubs)?;
            if let Some(forgotten) = crate::demo::forget_if_replacing(s)? {
                tracing::info!(
                    ?forgotten,
                    "the account's positions replace the demo's: forgot the demo's invented \
                     closes, the metrics computed from them and its daily values"
                );
            }
            s.replace_positions(&positions, AllowEmpty::No)?;
            if !quotes.is_empty() {
                s.put_quotes(&quotes)?;
            }
            Ok::<_, StoreError>(())
        })
        .await??;
        Ok(JobOutcome::Updated { rows })
    }

    async fn cash(&self) -> Result<JobOutcome, SyncError> {
        let answer = self.tradernet()?.cash_balances().await?;
        if answer.is_empty() {
            return Ok(kept("the broker listed no cash balances"));
        }
        // A currency listed twice (several accounts) is summed.
        let mut by_currency: BTreeMap<Currency, Money> = BTreeMap::new();
        for balance in &answer {
            let amount = Money::from_decimal_rounded(balance.amount, balance.currency)
                .map_err(StoreError::from)?;
            let total = match by_currency.get(&balance.currency) {
                Some(sum) => sum.checked_add(amount).map_err(StoreError::from)?,
                None => amount,
            };
            by_currency.insert(balance.currency, total);
        }
        let balances: Vec<Money> = by_currency.into_values().collect();
        let rows = balances.len();
        on_store(&self.store, move |s| {
            s.replace_cash_balances(&balances, AllowEmpty::No)
        })
        .await??;
        Ok(JobOutcome::Updated { rows })
    }

    async fn pending_orders(&self) -> Result<JobOutcome, SyncError> {
        let client = self.tradernet()?;
        let answer = client.pending_orders().await?;
        if answer.is_empty() {
            // Before clearing stored orders on the word of an empty list, ask about each of
            // their symbols; any doubt keeps them.
            let stored = on_store(&self.store, |s| s.broker_orders()).await??;
            let symbols: BTreeSet<String> = stored.into_iter().map(|o| o.symbol).collect();
            for symbol in &symbols {
                if client.has_pending_order(symbol).await? {
                    return Ok(kept(&format!(
                        "the broker listed no open orders but still has one for {symbol}"
                    )));
                }
            }
        }
        let securities: BTreeMap<String, Currency> = on_store(&self.store, |s| s.securities())
            .await??
            .into_iter()
            .map(|s| (s.symbol, s.currency))
            .collect();
        let mut ids = BTreeSet::new();
        let mut orders = Vec::with_capacity(answer.len());
        let mut unattributable = Vec::new();
        for (index, order) in answer.into_iter().enumerate() {
            let symbol = crate::domain::normalize_symbol(&order.symbol);
            let Some(side) = order.side.filter(|_| !symbol.is_empty()) else {
                tracing::warn!(id = %order.id, %symbol, "open order without a symbol or side: live orders are blocked while it is listed");
                unattributable.push(order.id);
                continue;
            };
            if order.margin {
                tracing::warn!(id = %order.id, %symbol, ?side, "open order on margin (buy on margin or short sale)");
            }
            if order.quantity.is_zero() {
                tracing::warn!(id = %order.id, %symbol, "open order without a quantity: live orders are blocked while it is listed");
                unattributable.push(order.id);
                continue;
            }
            let Some(currency) = order.currency.or_else(|| securities.get(&symbol).copied()) else {
                tracing::warn!(%symbol, "open order of a security outside the universe, in an unknown currency, skipped");
                continue;
            };
            // An order without an id still blocks its symbol, so it gets a stable stand-in.
            let mut broker_id = if order.id.is_empty() {
                format!("unidentified-{symbol}-{index}")
            } else {
                order.id
            };
            while !ids.insert(broker_id.clone()) {
                broker_id.push('\'');
            }
            orders.push(BrokerOrderRecord {
                broker_id,
                symbol,
                side,
                quantity: order.quantity,
                price: order.price.unwrap_or(Decimal::ZERO),
                currency,
                margin: order.margin,
            });
        }
        let rows = orders.len() + unattributable.len();
        on_store(&self.store, move |s| {
            s.replace_broker_orders(&orders, AllowEmpty::Yes)?;
            s.replace_unattributable_orders(&unattributable)?;
            super::settlement::confirm_from_open_orders(s, &orders)
        })
        .await??;
        Ok(JobOutcome::Updated { rows })
    }

    async fn quotes(&self) -> Result<JobOutcome, SyncError> {
        let client = self.tradernet()?;
        let (securities, positions) = on_store(&self.store, |s| {
            Ok::<_, StoreError>((s.securities()?, s.positions()?))
        })
        .await??;
        let held: BTreeSet<&str> = positions.iter().map(|p| p.symbol.as_str()).collect();
        let wanted: BTreeMap<String, Currency> = securities
            .iter()
            .filter(|s| s.active || held.contains(s.symbol.as_str()))
            .map(|s| (s.symbol.clone(), s.currency))
            .collect();
        if wanted.is_empty() {
            return Ok(kept("no securities to quote"));
        }
        let symbols: Vec<String> = wanted.keys().cloned().collect();
        let answer = client.quotes(&symbols).await?;
        let as_of = now_iso();
        let mut quotes = BTreeMap::new();
        for quote in answer {
            let symbol = crate::domain::normalize_symbol(&quote.symbol);
            let Some(&currency) = wanted.get(&symbol) else {
                continue;
            };
            // A price in another unit (pence for pounds, say) must never be stored as if it
            // were in the security's currency.
            if quote.currency.is_some_and(|c| c != currency) {
                tracing::warn!(%symbol, quoted = ?quote.currency, %currency, "quote in another currency skipped");
                continue;
            }
            quotes.insert(
                symbol.clone(),
                QuoteRecord {
                    symbol,
                    price: quote.price,
                    currency,
                    as_of: as_of.clone(),
                    source: "tradernet".into(),
                },
            );
        }
        if quotes.is_empty() {
            return Ok(kept("the broker returned no usable quotes"));
        }
        let quotes: Vec<QuoteRecord> = quotes.into_values().collect();
        let rows = quotes.len();
        let today = chrono::Local::now().date_naive();
        on_store(&self.store, move |s| {
            s.put_quotes(&quotes)?;
            // Each quote is also the day's close so far: the price history grows from it.
            super::prices::record_quote_closes(s, &quotes, today)?;
            // And the day's value of the portfolio, which does not make the quotes stale.
            if let Err(error) = crate::portfolio_history::record_day(s, today) {
                tracing::warn!(%error, "could not record the portfolio's daily value");
            }
            Ok::<_, StoreError>(())
        })
        .await??;
        Ok(JobOutcome::Updated { rows })
    }

    async fn trades(&self) -> Result<JobOutcome, SyncError> {
        let answer = self.tradernet()?.executed_trades(TRADES_PER_SYNC).await?;
        if answer.is_empty() {
            return Ok(kept("the broker listed no executed trades"));
        }
        let recorded = on_store(&self.store, move |s| {
            super::settlement::record_broker_trades(s, &answer)
        })
        .await??;
        Ok(JobOutcome::Updated { rows: recorded })
    }

    async fn scores(&self) -> Result<JobOutcome, SyncError> {
        let client = self.scoring()?;
        let securities = on_store(&self.store, |s| s.securities()).await??;
        // The service cannot answer for a security without an ISIN (§2.4).
        let wanted: Vec<(String, String)> = securities
            .into_iter()
            .filter(|s| s.active)
            .filter_map(|s| Some((s.symbol, s.isin.filter(|i| !i.is_empty())?)))
            .collect();
        if wanted.is_empty() {
            return Ok(kept("no active security with an ISIN to score"));
        }
        let round = client.scores(&wanted).await;
        for (symbol, error) in &round.failed {
            tracing::warn!(%symbol, %error, "scoring failed; its stored score is kept");
        }
        if !round.not_found.is_empty() {
            tracing::info!(symbols = ?round.not_found, "the scoring service has too little history to score");
        }
        if round.scores.is_empty() {
            if let Some((_, error)) = round.failed.into_iter().next() {
                return Err(error.into());
            }
            return Ok(kept("the scoring service returned no scores"));
        }
        let at = now_iso();
        let scores: Vec<ScoreRecord> = round
            .scores
            .into_iter()
            .map(|s| ScoreRecord {
                symbol: crate::domain::normalize_symbol(&s.symbol),
                total_score: s.total_score,
                components: s.components,
                calculated_at: at.clone(),
            })
            .collect();
        let rows = scores.len();
        on_store(&self.store, move |s| s.put_scores(&scores)).await??;
        Ok(JobOutcome::Updated { rows })
    }

    /// Copies the valid metrics of the scoring service's `calculations.db` (the service has no
    /// route for them) into our table, with their own times and expiry.
    async fn metrics(&self) -> Result<JobOutcome, SyncError> {
        let path = self
            .calculations_db
            .clone()
            .ok_or(SyncError::NotConfigured("feeds.calculations_db"))?;
        let copied = on_store(&self.store, move |s| {
            super::calculations::copy_metrics(s, &path, &now_iso())
        })
        .await??;
        if copied == 0 {
            return Ok(kept(
                "calculations.db holds no valid metrics of our securities",
            ));
        }
        Ok(JobOutcome::Updated { rows: copied })
    }
}

fn kept(reason: &str) -> JobOutcome {
    JobOutcome::KeptStored {
        reason: reason.to_string(),
    }
}

/// Monday to Friday, between the open and close minutes (UTC); a close before the open spans
/// midnight.
pub fn market_open(now: DateTime<Utc>, (open, close): (u32, u32)) -> bool {
    if matches!(now.weekday(), Weekday::Sat | Weekday::Sun) {
        return false;
    }
    let minute = now.hour() * 60 + now.minute();
    if open <= close {
        (open..close).contains(&minute)
    } else {
        minute >= open || minute < close
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        // 2026-11-23 is a Monday.
        Utc.with_ymd_and_hms(2026, 11, day, hour, minute, 0)
            .unwrap()
    }

    #[test]
    fn markets_are_open_on_weekdays_between_the_hours() {
        let hours = (7 * 60, 21 * 60);
        assert!(market_open(at(23, 7, 0), hours));
        assert!(market_open(at(27, 20, 59), hours));
        assert!(!market_open(at(23, 21, 0), hours));
        assert!(!market_open(at(23, 6, 59), hours));
        assert!(!market_open(at(28, 12, 0), hours), "Saturday");
        assert!(!market_open(at(29, 12, 0), hours), "Sunday");
        // Hours that span midnight.
        let overnight = (22 * 60, 2 * 60);
        assert!(market_open(at(24, 23, 0), overnight));
        assert!(market_open(at(24, 1, 0), overnight));
        assert!(!market_open(at(24, 12, 0), overnight));
    }

    #[test]
    fn jobs_run_faster_while_markets_are_open_and_only_for_configured_services() {
        let dir = tempfile::TempDir::new().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("planner.db")).unwrap());
        let mut upstream = crate::config::UpstreamConfig::default();
        upstream.scoring.url = "http://127.0.0.1:9".into();
        let upstreams = Arc::new(Upstreams::new(&upstream).unwrap());
        let syncer = Syncer::new(store, upstreams, SyncConfig::default()).unwrap();
        assert_eq!(syncer.jobs(), [Job::Scores]);
        let syncer = syncer.with_calculations_db("calculations.db");
        assert_eq!(syncer.jobs(), [Job::Scores, Job::Metrics]);
        assert_eq!(
            syncer.interval(Job::Quotes, at(23, 12, 0)),
            Duration::from_secs(300)
        );
        assert_eq!(
            syncer.interval(Job::Quotes, at(28, 12, 0)),
            Duration::from_secs(3600)
        );
    }

    #[tokio::test]
    async fn an_unreachable_service_marks_its_data_stale_and_keeps_it() {
        let dir = tempfile::TempDir::new().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("planner.db")).unwrap());
        store
            .replace_cash_balances(
                &[Money::parse("100", Currency::EUR).unwrap()],
                AllowEmpty::No,
            )
            .unwrap();
        store.mark_refreshed("cash", "demo", &now_iso()).unwrap();
        let mut upstream = crate::config::UpstreamConfig::default();
        // Nothing listens on the discard port; fail fast.
        upstream.tradernet.url = "http://127.0.0.1:9".into();
        upstream.tradernet.retries = 0;
        upstream.tradernet.min_interval_secs = 0.0;
        let upstreams = Arc::new(Upstreams::new(&upstream).unwrap());
        let syncer = Syncer::new(Arc::clone(&store), upstreams, SyncConfig::default()).unwrap();
        let error = syncer.run(Job::Cash).await.unwrap_err();
        assert!(error.to_string().contains("tradernet"), "{error}");
        assert!(store.data_freshness("cash").unwrap().unwrap().stale);
        assert_eq!(
            store.cash_balances().unwrap(),
            [Money::parse("100", Currency::EUR).unwrap()]
        );
        let status = store.upstream_status("tradernet").unwrap().unwrap();
        assert_eq!(status.consecutive_failures, 1);
        assert!(status.last_error.is_some());
    }
}
