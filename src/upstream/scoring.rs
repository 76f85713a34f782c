//! Client of the scoring service (spec external-contracts §2.4, §5): FastAPI plain bodies, no
//! envelope. Scores and pre-computed metrics are decoded tolerantly, like the broker's rows.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use super::decode::{self, field};
use super::error::UpstreamError;
use super::service::{BodyError, CallKind, Service, ServiceHealth, ServiceStatus};

/// The service name in metrics, messages and the status table.
pub const SERVICE_NAME: &str = "scoring";

/// A security's score, every value on a 0–1 scale.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityScore {
    pub symbol: String,
    pub isin: Option<String>,
    pub total_score: f64,
    /// The group scores (`long_term`, `fundamentals`, …); non-numeric entries are left out.
    pub components: BTreeMap<String, f64>,
}

/// One pre-computed metric, shaped like a row of the reference's `calculated_metrics`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRow {
    pub symbol: String,
    pub metric: String,
    /// Always finite: rows with NaN or infinite values are skipped.
    pub value: f64,
    /// Local ISO time, as the scoring service writes it.
    pub calculated_at: String,
    /// Local ISO time after which the value is stale; `None` = never.
    pub expires_at: Option<String>,
    /// "calculated" or where the value came from ("yahoo").
    pub source: String,
}

/// The scoring service, behind the resilience rules of its [`Service`].
#[derive(Debug)]
pub struct ScoringClient {
    service: Arc<Service>,
}

impl ScoringClient {
    /// The client of `service`, which the registry ([`super::Upstreams`]) built as
    /// [`SERVICE_NAME`].
    pub(super) fn new(service: Arc<Service>) -> ScoringClient {
        ScoringClient { service }
    }

    /// The underlying service, for calls this client has no method for.
    pub fn service(&self) -> &Service {
        &self.service
    }

    /// The breaker and last outcomes.
    pub fn status(&self) -> ServiceStatus {
        self.service.status()
    }

    /// `GET /scoring/health`.
    pub async fn health(&self) -> Result<ServiceHealth, UpstreamError> {
        let value: Value = self
            .service
            .get_json("health", "/scoring/health", &[])
            .await?;
        let flag = value.get("healthy").and_then(Value::as_bool);
        let status_ok = value
            .get("status")
            .and_then(decode::text)
            .is_some_and(|s| s.eq_ignore_ascii_case("ok") || s.eq_ignore_ascii_case("healthy"));
        Ok(ServiceHealth {
            healthy: flag.unwrap_or(status_ok),
            connected: None,
            version: value.get("version").and_then(decode::text),
        })
    }

    /// Scores, `POST /scoring/score/batch {"isins": [...]}`. The service scores every active
    /// security whatever the list says (§2.4), so the answer may hold more than was asked
    /// for; every decodable row is returned. A read in effect, so it is retried like one.
    pub async fn scores(&self, isins: &[String]) -> Result<Vec<SecurityScore>, UpstreamError> {
        #[derive(Serialize)]
        struct BatchRequest<'a> {
            isins: &'a [String],
        }
        self.service
            .post_with(
                "scores",
                "/scoring/score/batch",
                &BatchRequest { isins },
                CallKind::Idempotent,
                &[],
                |body| decode_scores(&decode::json(body)?),
            )
            .await
    }

    /// Pre-computed metrics of `symbols`, `POST /scoring/metrics`; `names` empty = every
    /// metric. No symbols means no call.
    pub async fn metrics(
        &self,
        symbols: &[String],
        names: &[&str],
    ) -> Result<Vec<MetricRow>, UpstreamError> {
        #[derive(Serialize)]
        struct MetricsRequest<'a> {
            symbols: &'a [String],
            // Absent, not empty: the service reads an empty list as "no names".
            #[serde(skip_serializing_if = "Option::is_none")]
            names: Option<&'a [&'a str]>,
        }
        if symbols.is_empty() {
            return Ok(Vec::new());
        }
        let request = MetricsRequest {
            symbols,
            names: (!names.is_empty()).then_some(names),
        };
        self.service
            .post_with(
                "metrics",
                "/scoring/metrics",
                &request,
                CallKind::Idempotent,
                &[],
                |body| decode_metrics(&decode::json(body)?),
            )
            .await
    }
}

pub(crate) fn decode_scores(data: &Value) -> Result<Vec<SecurityScore>, BodyError> {
    let rows = decode::list(data, &["scores", "security_scores"])?;
    Ok(decode::rows("score", rows, |row| {
        let symbol = field(row, &["symbol"])
            .and_then(decode::text)
            .ok_or("no symbol")?;
        let total = field(row, &["total_score", "score"]).ok_or("no total_score")?;
        let total_score =
            decode::float(total).ok_or_else(|| format!("total_score is not a number: {total}"))?;
        let components = match field(row, &["component_scores", "components"]) {
            Some(Value::Object(map)) => map
                .iter()
                .filter_map(|(name, value)| Some((name.clone(), decode::float(value)?)))
                .collect(),
            _ => BTreeMap::new(),
        };
        Ok(SecurityScore {
            symbol,
            isin: field(row, &["isin"]).and_then(decode::text),
            total_score,
            components,
        })
    }))
}

pub(crate) fn decode_metrics(data: &Value) -> Result<Vec<MetricRow>, BodyError> {
    let rows = decode::list(data, &["metrics"])?;
    Ok(decode::rows("metric", rows, |row| {
        let text = |names: &[&str]| {
            field(row, names)
                .and_then(decode::text)
                .ok_or_else(|| format!("no {}", names[0]))
        };
        let value = field(row, &["value"]).ok_or("no value")?;
        Ok(MetricRow {
            symbol: text(&["symbol"])?,
            metric: text(&["metric", "name", "metric_name"])?,
            value: decode::float(value).ok_or_else(|| format!("value is not finite: {value}"))?,
            // Without it the row's age, and so its freshness, is unknown.
            calculated_at: text(&["calculated_at"])?,
            expires_at: field(row, &["expires_at"]).and_then(decode::text),
            source: field(row, &["source"])
                .and_then(decode::text)
                .unwrap_or_else(|| "calculated".to_string()),
        })
    }))
}
