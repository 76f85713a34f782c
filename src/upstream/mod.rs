//! Clients of the Python services that stay Python (tradernet, scoring): one shared HTTP client
//! built on rustls with the ring provider, so the build carries no C code besides SQLite and
//! ring.
//!
//! Every call goes through its service's circuit breaker, rate limit, timeout and retry rules
//! ([`Service`]), is counted in the `upstream_requests_total` and
//! `upstream_request_duration_seconds` metrics, and carries an `x-request-id`. The layer never
//! touches the database: the sync jobs persist [`ServiceStatus`] snapshots and decide what an
//! answer may overwrite.

use std::time::Duration;

use crate::config::UpstreamConfig;

mod decode;
pub mod error;
pub mod resilience;
pub mod scoring;
pub mod service;
pub mod tradernet;

#[cfg(test)]
mod decode_tests;
#[cfg(test)]
mod resilience_tests;
#[cfg(test)]
mod service_tests;

pub use error::UpstreamError;
pub use scoring::{MetricRow, ScoringClient, SecurityScore};
pub use service::{
    CallKind, LastError, Service, ServiceHealth, ServiceStatus, current_request_id, with_request_id,
};
pub use tradernet::{
    BrokerOrder, BrokerPosition, BrokerTrade, Candle, CashBalance, PlacedOrder, Quote,
    TradernetClient,
};

/// The configured upstream services; a service without a URL is `None` and never called.
#[derive(Debug)]
pub struct Upstreams {
    pub tradernet: Option<TradernetClient>,
    pub scoring: Option<ScoringClient>,
}

impl Upstreams {
    /// Clients of the configured services, sharing one HTTP client (one connection pool).
    pub fn new(config: &UpstreamConfig) -> reqwest::Result<Upstreams> {
        // Each call sets its own timeout; the client's only bounds a call that somehow does not.
        let longest = config
            .tradernet
            .timeout_secs
            .max(config.scoring.timeout_secs);
        let client =
            http_client(resilience::secs_to_duration(longest).max(Duration::from_secs(1)))?;
        Ok(Upstreams::with_client(client, config))
    }

    /// Clients of the configured services on a given HTTP client.
    pub fn with_client(client: reqwest::Client, config: &UpstreamConfig) -> Upstreams {
        Upstreams {
            tradernet: TradernetClient::new(client.clone(), &config.tradernet),
            scoring: ScoringClient::new(client, &config.scoring),
        }
    }

    /// The status of every configured service.
    pub fn statuses(&self) -> Vec<ServiceStatus> {
        let tradernet = self.tradernet.as_ref().map(TradernetClient::status);
        let scoring = self.scoring.as_ref().map(ScoringClient::status);
        tradernet.into_iter().chain(scoring).collect()
    }
}

/// Registers the descriptions of the upstream metrics with the installed recorder, so an
/// exporter can print their help text; harmless without one.
pub fn describe_metrics() {
    metrics::describe_counter!(
        "upstream_requests_total",
        "Logical calls to upstream services (retries included in one call), by service, route \
         and outcome: ok, http_error, timeout, connect_error, malformed, application_error, \
         circuit_open"
    );
    metrics::describe_histogram!(
        "upstream_request_duration_seconds",
        metrics::Unit::Seconds,
        "Duration of logical calls to upstream services, retries and their pauses included"
    );
}

/// Counts one logical call to `service` in `upstream_requests_total`.
pub fn count_request(service: &'static str, route: &'static str, outcome: &'static str) {
    metrics::counter!(
        "upstream_requests_total",
        "service" => service,
        "route" => route,
        "outcome" => outcome
    )
    .increment(1);
}

/// Makes ring the process's TLS crypto provider; reqwest is built without one. Calling it again
/// does nothing.
pub fn install_crypto_provider() {
    // `Err` means a provider is already installed, which is what is needed.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The shared HTTP client: `timeout` per request, connections kept alive for reuse.
pub fn http_client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    install_crypto_provider();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(2)))
        .user_agent(concat!("trading-planner/", env!("CARGO_PKG_VERSION")))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_builds_with_the_ring_provider() {
        assert!(http_client(Duration::from_secs(1)).is_ok());
        // A second client reuses the installed provider.
        assert!(http_client(Duration::from_secs(1)).is_ok());
    }
}
