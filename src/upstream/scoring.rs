//! Client of the scoring service (spec external-contracts §2.4): FastAPI plain bodies, no
//! envelope. Only routes the service has are called: `/score` per security and `/health`. The
//! service has no metrics route; its pre-computed metrics are read from its `calculations.db`
//! (`crate::sync::calculations`).

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

    /// The score of one security, `POST /scoring/score {"symbol", "isin"}`; `None` when the
    /// service has too little price history to score it (`found: false`). The ISIN is
    /// required: the service fails (500) building its answer without one (§2.4). A read in
    /// effect, so it is retried like one.
    pub async fn score(
        &self,
        symbol: &str,
        isin: &str,
    ) -> Result<Option<SecurityScore>, UpstreamError> {
        #[derive(Serialize)]
        struct ScoreRequest<'a> {
            symbol: &'a str,
            isin: &'a str,
        }
        self.service
            .post_with(
                "score",
                "/scoring/score",
                &ScoreRequest { symbol, isin },
                CallKind::Idempotent,
                &[],
                |body| decode_score(&decode::json(body)?),
            )
            .await
    }

    /// Scores `securities` (symbol, ISIN), one `POST /scoring/score` each, at most
    /// [`SCORE_CONCURRENCY`] at a time, in the order given. `/score/batch` is never used: it ignores its list,
    /// rescores every security for seconds and then fails (§2.4). Each call goes through the
    /// service's breaker and rate limit, so once the breaker opens the remaining calls fail at
    /// once instead of waiting on a failing service.
    pub async fn scores(&self, securities: &[(String, String)]) -> ScoreRound {
        let mut round = ScoreRound::default();
        // Chunks of SCORE_CONCURRENCY in flight at once, answers kept in the order asked.
        for chunk in securities.chunks(SCORE_CONCURRENCY) {
            let calls = chunk.iter().map(|(symbol, isin)| self.score(symbol, isin));
            let answers = futures_util::future::join_all(calls).await;
            for ((symbol, _), answer) in chunk.iter().zip(answers) {
                match answer {
                    Ok(Some(score)) => round.scores.push(score),
                    Ok(None) => round.not_found.push(symbol.clone()),
                    Err(error) => round.failed.push((symbol.clone(), error)),
                }
            }
        }
        round
    }
}

/// Calls of `POST /scoring/score` in flight at once: the service computes each score from its
/// price history and may ask Yahoo, so a small number keeps it (and a small board) responsive.
pub const SCORE_CONCURRENCY: usize = 2;

/// What scoring a list of securities gave.
#[derive(Debug, Default)]
pub struct ScoreRound {
    pub scores: Vec<SecurityScore>,
    /// Securities the service cannot score yet (too little price history).
    pub not_found: Vec<String>,
    /// Securities whose call failed, with why.
    pub failed: Vec<(String, UpstreamError)>,
}

/// The answer of `POST /scoring/score`: `{found, score}`.
pub(crate) fn decode_score(data: &Value) -> Result<Option<SecurityScore>, BodyError> {
    let Some(answer) = data.as_object() else {
        return Err(BodyError::Malformed(format!(
            "expected an object, got {}",
            decode::kind(data)
        )));
    };
    let Some(found) = answer.get("found").and_then(Value::as_bool) else {
        return Err(BodyError::Malformed("no found flag".to_string()));
    };
    let row = answer.get("score").filter(|s| !s.is_null());
    match (found, row) {
        (false, _) => Ok(None),
        (true, None) => Err(BodyError::Malformed("found, but no score".to_string())),
        (true, Some(row)) => decode_score_rows(std::slice::from_ref(row))
            .pop()
            .map(Some)
            .ok_or_else(|| BodyError::Malformed("the score has no symbol or total_score".into())),
    }
}

fn decode_score_rows(rows: &[Value]) -> Vec<SecurityScore> {
    decode::rows("score", rows, |row| {
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
    })
}
