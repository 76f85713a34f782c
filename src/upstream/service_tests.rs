use std::time::Duration;

use metrics_util::CompositeKey;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use serde_json::Value;

use super::service::{Service, current_request_id, with_request_id};
use super::{UpstreamError, Upstreams, http_client};
use crate::config::{ServiceConfig, UpstreamConfig};
use crate::domain::BreakerState;

/// A loopback address nothing listens on: connecting is refused at once.
fn refused_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

fn config(url: &str) -> ServiceConfig {
    ServiceConfig {
        url: url.to_string(),
        timeout_secs: 1.0,
        retries: 1,
        retry_backoff_secs: 0.0,
        breaker_failures: 2,
        breaker_open_secs: 60.0,
        min_interval_secs: 0.0,
    }
}

/// What a snapshot holds; taking one resets the recorder, so tests take one and query it.
type Samples = Vec<(
    CompositeKey,
    Option<metrics::Unit>,
    Option<metrics::SharedString>,
    DebugValue,
)>;

fn counter(samples: &Samples, name: &str, labels: &[(&str, &str)]) -> u64 {
    samples
        .iter()
        .filter(|(key, ..)| {
            let key = key.key();
            key.name() == name
                && labels
                    .iter()
                    .all(|(k, v)| key.labels().any(|l| l.key() == *k && l.value() == *v))
        })
        .map(|(.., value)| match value {
            DebugValue::Counter(n) => *n,
            _ => 0,
        })
        .sum()
}

fn histogram_samples(samples: &Samples, name: &str) -> usize {
    samples
        .iter()
        .filter(|(key, ..)| key.key().name() == name)
        .map(|(.., value)| match value {
            DebugValue::Histogram(samples) => samples.len(),
            _ => 0,
        })
        .sum()
}

#[tokio::test]
async fn request_id_is_task_local() {
    assert_eq!(current_request_id(), None);
    let seen = with_request_id("req-7".into(), async { current_request_id() }).await;
    assert_eq!(seen.as_deref(), Some("req-7"));
    assert_eq!(current_request_id(), None);
}

#[test]
fn connect_errors_open_the_breaker_which_then_refuses_without_calling() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let url = refused_url();
    let service = Service::new(
        "scoring",
        &url,
        http_client(Duration::from_secs(1)).unwrap(),
        &config(&url),
    );
    metrics::with_local_recorder(&recorder, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            for _ in 0..2 {
                let error = service
                    .get_json::<Value>("health", "/scoring/health", &[])
                    .await
                    .unwrap_err();
                assert!(matches!(error, UpstreamError::Connect { .. }), "{error}");
                assert!(
                    error
                        .to_string()
                        .starts_with("scoring: connection failed on health")
                );
            }
            let error = service
                .get_json::<Value>("health", "/scoring/health", &[])
                .await
                .unwrap_err();
            assert_eq!(
                error,
                UpstreamError::CircuitOpen {
                    service: "scoring",
                    route: "health"
                }
            );
        });
    });

    let samples = snapshotter.snapshot().into_vec();
    let ok_labels = |outcome| {
        [
            ("service", "scoring"),
            ("route", "health"),
            ("outcome", outcome),
        ]
    };
    assert_eq!(
        counter(
            &samples,
            "upstream_requests_total",
            &ok_labels("connect_error")
        ),
        2,
        "one count per logical call, retries included"
    );
    assert_eq!(
        counter(
            &samples,
            "upstream_requests_total",
            &ok_labels("circuit_open")
        ),
        1
    );
    assert_eq!(
        counter(&samples, "upstream_requests_total", &ok_labels("ok")),
        0
    );
    assert_eq!(
        histogram_samples(&samples, "upstream_request_duration_seconds"),
        2,
        "a refused call has no duration"
    );

    let status = service.status();
    assert_eq!(status.name, "scoring");
    assert_eq!(status.url, url);
    assert_eq!(status.breaker, BreakerState::Open);
    assert_eq!(status.consecutive_failures, 2);
    assert_eq!(status.last_success, None);
    let last = status.last_error.expect("the connect error");
    assert!(
        last.message.contains("connection failed"),
        "{}",
        last.message
    );
}

#[test]
fn upstreams_leave_unconfigured_services_out() {
    let none = Upstreams::new(&UpstreamConfig::default()).unwrap();
    assert!(none.tradernet.is_none() && none.scoring.is_none());
    assert!(none.statuses().is_empty());

    let mut config = UpstreamConfig::default();
    config.scoring.url = "http://127.0.0.1:8004/".into();
    let some = Upstreams::new(&config).unwrap();
    assert!(some.tradernet.is_none());
    let statuses = some.statuses();
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0].name, "scoring");
    assert_eq!(statuses[0].url, "http://127.0.0.1:8004");
    assert_eq!(statuses[0].breaker, BreakerState::Closed);
}

/// The sync jobs spawn these calls on the multi-threaded runtime.
#[test]
fn client_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let mut config = UpstreamConfig::default();
    config.tradernet.url = "http://127.0.0.1:9001".into();
    config.scoring.url = "http://127.0.0.1:8004".into();
    let upstreams = Upstreams::new(&config).unwrap();
    let tradernet = upstreams.tradernet.as_ref().unwrap();
    let scoring = upstreams.scoring.as_ref().unwrap();
    let symbols = vec!["AAPL.US".to_string()];
    let day = chrono::NaiveDate::from_ymd_opt(2025, 1, 2).unwrap();
    let quantity = crate::domain::Quantity::from_shares(1).unwrap();
    // Futures are lazy: building them sends nothing.
    assert_send(&tradernet.health());
    assert_send(&tradernet.positions());
    assert_send(&tradernet.cash_balances());
    assert_send(&tradernet.pending_orders());
    assert_send(&tradernet.quotes(&symbols));
    assert_send(&tradernet.candles("AAPL.US", day, day));
    assert_send(&tradernet.executed_trades(10));
    assert_send(&tradernet.place_order("AAPL.US", crate::domain::Side::Buy, quantity, "k"));
    assert_send(&scoring.health());
    let securities = vec![("AAPL.US".to_string(), "US0378331005".to_string())];
    assert_send(&scoring.score("AAPL.US", "US0378331005"));
    assert_send(&scoring.scores(&securities));
    assert_send(&with_request_id("x".into(), scoring.health()));
}
