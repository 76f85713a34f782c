use super::test_support::temp_store;
use super::*;

#[test]
fn upstream_status_and_freshness_round_trip() {
    let (_dir, store) = temp_store();
    assert_eq!(store.upstream_status("tradernet").unwrap(), None);
    store
        .record_upstream_failure(
            "tradernet",
            "2026-01-05T10:00:00",
            "timeout",
            BreakerState::Closed,
        )
        .unwrap();
    store
        .record_upstream_failure(
            "tradernet",
            "2026-01-05T10:01:00",
            "HTTP 503",
            BreakerState::Open,
        )
        .unwrap();
    let status = store.upstream_status("tradernet").unwrap().unwrap();
    assert_eq!(
        status,
        UpstreamStatus {
            service: "tradernet".into(),
            last_success_at: None,
            last_error_at: Some("2026-01-05T10:01:00".into()),
            last_error: Some("HTTP 503".into()),
            breaker_state: BreakerState::Open,
            consecutive_failures: 2,
        }
    );
    store
        .record_upstream_success("tradernet", "2026-01-05T10:02:00", BreakerState::Closed)
        .unwrap();
    let status = store.upstream_status("tradernet").unwrap().unwrap();
    assert_eq!(status.consecutive_failures, 0);
    assert_eq!(status.breaker_state, BreakerState::Closed);
    assert_eq!(
        status.last_success_at.as_deref(),
        Some("2026-01-05T10:02:00")
    );
    assert_eq!(status.last_error.as_deref(), Some("HTTP 503"));
    store
        .record_upstream_success("scoring", "2026-01-05T10:02:00", BreakerState::Closed)
        .unwrap();
    assert_eq!(store.upstream_statuses().unwrap().len(), 2);

    assert!(!store.mark_stale("positions").unwrap());
    store
        .mark_refreshed("positions", "tradernet", "2026-01-05T10:00:00")
        .unwrap();
    assert!(store.mark_stale("positions").unwrap());
    let fresh = store.data_freshness("positions").unwrap().unwrap();
    assert_eq!(
        fresh,
        DataFreshness {
            kind: "positions".into(),
            refreshed_at: "2026-01-05T10:00:00".into(),
            source: "tradernet".into(),
            stale: true,
        }
    );
    store
        .mark_refreshed("positions", "tradernet", "2026-01-05T10:15:00")
        .unwrap();
    assert!(!store.data_freshness("positions").unwrap().unwrap().stale);
    assert_eq!(store.all_data_freshness().unwrap().len(), 1);
}
