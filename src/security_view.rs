//! Everything known of one security, for its page on the dashboard: the stored price history,
//! its metrics with where each came from and how old it is, its score and components, its
//! target, band and drift as a plan would see them now, our trades of it and its open orders.

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::coordinator::targets_now;
use crate::store::{Store, StoreError, iso};
use crate::sync::history_metrics::{MetricsProvenance, metrics_provenance, parse_time};
use crate::sync::open_orders::{BrokerOrder, OurOrder, orders_view};

/// The most daily closes a page shows: about five years of trading days.
pub const MAX_HISTORY_DAYS: usize = 1300;

#[derive(Debug, Serialize)]
pub struct SecurityView {
    pub symbol: String,
    pub name: String,
    pub currency: String,
    pub country: Option<String>,
    pub industry: Option<String>,
    /// The latest quote, in the security's currency.
    pub price: Option<String>,
    /// Daily closes, oldest first: the last `days` of the stored history.
    pub history: Vec<Close>,
    /// Closes stored in all (the page shows at most [`MAX_HISTORY_DAYS`]).
    pub history_days: usize,
    pub metrics: Vec<MetricView>,
    pub provenance: Option<MetricsProvenance>,
    pub score: Option<ScoreView>,
    pub target: Option<TargetView>,
    pub trades: Vec<TradeView>,
    pub orders: Vec<OurOrder>,
    pub broker_orders: Vec<BrokerOrder>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Close {
    pub date: String,
    pub close: f64,
}

#[derive(Debug, Serialize)]
pub struct MetricView {
    pub name: String,
    pub value: f64,
    pub source: String,
    pub calculated_at: String,
    pub age_hours: Option<f64>,
    /// Past its expiry: the planner no longer reads it.
    pub expired: bool,
}

#[derive(Debug, Serialize)]
pub struct ScoreView {
    pub total: f64,
    pub components: std::collections::BTreeMap<String, f64>,
    pub calculated_at: String,
}

#[derive(Debug, Serialize)]
pub struct TargetView {
    pub target: Option<f64>,
    pub band: f64,
    pub weight: f64,
    pub drift: Option<f64>,
    pub outside_band: bool,
    pub note: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TradeView {
    pub executed_at: String,
    pub side: crate::domain::Side,
    pub quantity: String,
    pub price: String,
    pub currency: String,
    pub source: &'static str,
}

/// The page of `symbol` (any case) at `now`, with at most `days` closes; `None` when no such
/// security is stored.
pub fn security_view(
    store: &Store,
    symbol: &str,
    now: NaiveDateTime,
    days: usize,
) -> Result<Option<SecurityView>, StoreError> {
    let Some(security) = store.security(symbol)? else {
        return Ok(None);
    };
    let symbol = security.symbol.clone();
    let closes = store.daily_closes(&symbol)?;
    let history_days = closes.len();
    let history = closes
        .into_iter()
        .skip(history_days.saturating_sub(days.min(MAX_HISTORY_DAYS)))
        .map(|(day, close)| Close {
            date: day.to_string(),
            close,
        })
        .collect();
    let now_iso = iso(now);
    let metrics = store
        .metric_origins()?
        .into_iter()
        .filter(|m| m.symbol == symbol)
        .map(|m| MetricView {
            expired: !m.is_valid(&now_iso),
            age_hours: parse_time(&m.calculated_at)
                .map(|at| ((now - at).num_minutes() as f64 / 60.0).max(0.0)),
            name: m.metric,
            value: m.value,
            source: m.source,
            calculated_at: m.calculated_at,
        })
        .collect();
    let provenance = metrics_provenance(store, now)?.remove(&symbol);
    let score = store.score(&symbol)?.map(|s| ScoreView {
        total: s.total_score,
        components: s.components,
        calculated_at: s.calculated_at,
    });
    let target = targets_now(store, now)?
        .securities
        .into_iter()
        .find(|t| t.symbol == symbol)
        .map(|t| TargetView {
            target: t.target,
            band: t.band,
            weight: t.weight,
            drift: t.drift,
            outside_band: t.outside_band,
            note: t.note,
        });
    let mut trades: Vec<TradeView> = store
        .trades(Some(&symbol))?
        .into_iter()
        .map(|t| TradeView {
            executed_at: t.trade.executed_at,
            side: t.trade.side,
            quantity: t.trade.quantity.to_string(),
            price: t.trade.price.to_string(),
            currency: t.trade.currency.to_string(),
            source: t.trade.source.into(),
        })
        .collect();
    // Newest first, as a page reads them.
    trades.reverse();
    let orders = orders_view(store)?;
    let price = store
        .quotes()?
        .into_iter()
        .find(|q| q.symbol == symbol)
        .map(|q| q.price.to_string());
    Ok(Some(SecurityView {
        name: security.name.clone(),
        currency: security.currency.to_string(),
        country: security.country.clone(),
        industry: security.industry.clone(),
        price,
        history,
        history_days,
        metrics,
        provenance,
        score,
        target,
        trades,
        orders: orders
            .orders
            .into_iter()
            .filter(|o| o.symbol == symbol)
            .collect(),
        broker_orders: orders
            .broker_orders
            .into_iter()
            .filter(|o| o.symbol == symbol)
            .collect(),
        symbol,
    }))
}

#[cfg(test)]
mod tests;
