//! The Python services this process calls, in one registry ([`Upstreams`]) built from the
//! configuration: each configured service once, with its own HTTP client (rustls with the ring
//! provider, so the build carries no C code besides SQLite and ring) and its one circuit
//! breaker. The typed clients (tradernet, scoring) and the gateway's forwarding (the proxy and
//! the migration layer) take their services from it, so a service's breaker is the same
//! whichever path calls it.
//!
//! Every call of a typed client goes through its service's circuit breaker, rate limit,
//! timeout and retry rules ([`Service`]), is counted in the `upstream_requests_total` and
//! `upstream_request_duration_seconds` metrics, and carries an `x-request-id`. The layer never
//! touches the database: the sync jobs persist [`ServiceStatus`] snapshots and decide what an
//! answer may overwrite.

use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, MigrationConfig, MigrationModule, ServiceConfig, UpstreamConfig};

mod decode;
mod error;
pub(crate) mod resilience;
pub(crate) mod scoring;
pub(crate) mod service;
mod tls;
pub(crate) mod tradernet;

#[cfg(test)]
mod decode_tests;
#[cfg(test)]
mod resilience_tests;
#[cfg(test)]
mod service_tests;

pub use error::UpstreamError;
pub use scoring::{ScoreRound, ScoringClient, SecurityScore};
pub use service::{
    CallKind, LastError, Service, ServiceHealth, ServiceStatus, current_request_id, with_request_id,
};
pub use tradernet::{
    BrokerOrder, BrokerPosition, BrokerTrade, Candle, CashBalance, PlacedOrder, Quote,
    TradernetClient,
};

/// The configured upstream services; a service without a URL is not in it and never called.
#[derive(Debug)]
pub struct Upstreams {
    pub tradernet: Option<TradernetClient>,
    pub scoring: Option<ScoringClient>,
    /// Every configured service, the two above included, under its name: the services of
    /// `upstream.*` and the Python services of the migrating modules (`migration.*`), whose
    /// names never meet.
    services: Vec<Arc<Service>>,
}

impl Upstreams {
    /// The services of `config.upstream` and `config.migration`.
    pub fn from_config(config: &Config) -> reqwest::Result<Upstreams> {
        Upstreams::build(&config.upstream, &config.migration)
    }

    /// The services of `config` alone, without any migrating module's.
    pub fn new(config: &UpstreamConfig) -> reqwest::Result<Upstreams> {
        Upstreams::build(config, &MigrationConfig::default())
    }

    /// The one place services and their HTTP clients are made.
    fn build(upstream: &UpstreamConfig, migration: &MigrationConfig) -> reqwest::Result<Upstreams> {
        let forwarded: Vec<(&'static str, ServiceConfig)> = migration
            .modules()
            .into_iter()
            .map(|(module, settings)| (module, forwarding_rules(settings)))
            .collect();
        let mut services = Vec::new();
        let configured = upstream_services(upstream)
            .into_iter()
            .chain(forwarded.iter().map(|(name, config)| (*name, config)));
        for (name, config) in configured {
            let Some(url) = config.base_url() else {
                continue;
            };
            if url.starts_with("https://") && !tls::system_has_ca_certificates() {
                tracing::warn!(service = name, url, "{}", tls::NO_CA_CERTIFICATES);
            }
            // Each call sets its own timeout; the client's only bounds a call that somehow
            // does not.
            let timeout =
                resilience::secs_to_duration(config.timeout_secs).max(Duration::from_secs(1));
            let service = Service::new(name, url, http_client(timeout)?, config);
            services.push(Arc::new(service));
        }
        let named = |name: &str| services.iter().find(|s| s.name() == name).cloned();
        Ok(Upstreams {
            tradernet: named(tradernet::SERVICE_NAME).map(TradernetClient::new),
            scoring: named(scoring::SERVICE_NAME).map(ScoringClient::new),
            services,
        })
    }

    /// The configured service named `name` (`scoring`, `universe`, `evaluator`, …).
    pub fn service(&self, name: &str) -> Option<&Arc<Service>> {
        self.services.iter().find(|s| s.name() == name)
    }

    /// The status of the services with a typed client.
    pub fn statuses(&self) -> Vec<ServiceStatus> {
        let tradernet = self.tradernet.as_ref().map(TradernetClient::status);
        let scoring = self.scoring.as_ref().map(ScoringClient::status);
        tradernet.into_iter().chain(scoring).collect()
    }
}

/// The services of `upstream.*`, with their names.
fn upstream_services(upstream: &UpstreamConfig) -> [(&'static str, &ServiceConfig); 6] {
    [
        (tradernet::SERVICE_NAME, &upstream.tradernet),
        (scoring::SERVICE_NAME, &upstream.scoring),
        ("universe", &upstream.universe),
        ("portfolio", &upstream.portfolio),
        ("trading", &upstream.trading),
        ("optimization", &upstream.optimization),
    ]
}

/// A migrating module's Python service as a service: only forwarded to, so never retried nor
/// rate-limited.
fn forwarding_rules(settings: &MigrationModule) -> ServiceConfig {
    ServiceConfig {
        url: settings.url.clone(),
        timeout_secs: settings.timeout_secs,
        retries: 0,
        retry_backoff_secs: 0.0,
        breaker_failures: settings.breaker_failures,
        breaker_open_secs: settings.breaker_open_secs,
        min_interval_secs: 0.0,
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

/// An HTTP client: `timeout` per request, connections kept alive for reuse.
pub fn http_client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    install_crypto_provider();
    let builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(2)))
        .user_agent(concat!("trading-planner/", env!("CARGO_PKG_VERSION")));
    tls::with_roots(builder).build()
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
