use super::*;

#[test]
fn rss_is_read_from_vm_rss_in_kib() {
    let status = "Name:\ttrading-planner\nVmPeak:\t  9000 kB\nVmRSS:\t    1234 kB\nThreads:\t4\n";
    assert_eq!(parse_vm_rss(status), Some(1234 * 1024));
    assert_eq!(parse_vm_rss("Name:\tx\n"), None);
    assert!(resident_memory_bytes().is_some_and(|rss| rss > 0));
}

#[test]
fn odd_methods_share_one_label() {
    assert_eq!(method_label(&Method::PUT), "PUT");
    assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
}

#[test]
fn breaker_states_map_to_increasing_values() {
    assert_eq!(breaker_value(BreakerState::Closed), 0.0);
    assert_eq!(breaker_value(BreakerState::HalfOpen), 1.0);
    assert_eq!(breaker_value(BreakerState::Open), 2.0);
}

#[test]
fn installing_twice_gives_the_same_recorder() {
    let first = install_recorder();
    let second = install_recorder();
    metrics::counter!("installing_twice_probe_total").increment(1);
    assert!(second.render().contains("installing_twice_probe_total"));
    assert!(first.render().contains("installing_twice_probe_total"));
}
