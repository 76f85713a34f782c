use std::sync::Arc;
use std::time::Duration;

use tokio::time::{Instant, advance};

use super::resilience::{Breaker, MAX_BACKOFF, RateLimiter, RetryPolicy};
use crate::domain::BreakerState;

const OPEN_FOR: Duration = Duration::from_secs(30);

fn fail(breaker: &Breaker) {
    breaker.try_acquire().expect("admitted").failed();
}

fn succeed(breaker: &Breaker) {
    breaker.try_acquire().expect("admitted").succeeded();
}

#[tokio::test(start_paused = true)]
async fn breaker_opens_after_consecutive_failures_only() {
    let breaker = Breaker::new(3, OPEN_FOR);
    fail(&breaker);
    fail(&breaker);
    succeed(&breaker);
    assert_eq!(
        breaker.consecutive_failures(),
        0,
        "a success resets the count"
    );
    fail(&breaker);
    fail(&breaker);
    assert_eq!(breaker.state(), BreakerState::Closed);
    assert_eq!(breaker.consecutive_failures(), 2);
    fail(&breaker);
    assert_eq!(breaker.state(), BreakerState::Open);
    assert_eq!(breaker.consecutive_failures(), 3);
    assert!(breaker.try_acquire().is_none(), "open refuses at once");
}

#[tokio::test(start_paused = true)]
async fn an_open_breaker_counts_down_to_its_probe_in_whole_seconds() {
    let breaker = Breaker::new(1, OPEN_FOR);
    assert_eq!(breaker.health().retry_in_secs, None, "closed");
    fail(&breaker);
    assert_eq!(breaker.health().retry_in_secs, Some(30));
    advance(Duration::from_millis(10_500)).await;
    let health = breaker.health();
    assert_eq!(
        (
            health.state,
            health.consecutive_failures,
            health.retry_in_secs
        ),
        (BreakerState::Open, 1, Some(20)),
        "rounded up"
    );
    advance(Duration::from_millis(19_500)).await;
    assert_eq!(breaker.health().state, BreakerState::HalfOpen);
    assert_eq!(breaker.health().retry_in_secs, None, "time is up");
    assert_eq!(breaker.retry_in(), None);
    assert_eq!(breaker.retry_in_secs(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_permit_outlives_the_borrow_it_was_taken_with() {
    let breaker = Breaker::new(1, OPEN_FOR);
    let permit = breaker.try_acquire().expect("admitted");
    let reported = tokio::spawn(async move { permit.failed() });
    reported.await.unwrap();
    assert_eq!(breaker.state(), BreakerState::Open);
}

#[tokio::test(start_paused = true)]
async fn open_breaker_lets_one_probe_through_after_the_open_period() {
    let breaker = Breaker::new(1, OPEN_FOR);
    fail(&breaker);
    advance(OPEN_FOR - Duration::from_millis(1)).await;
    assert!(breaker.try_acquire().is_none());
    assert_eq!(breaker.state(), BreakerState::Open);

    advance(Duration::from_millis(1)).await;
    assert_eq!(
        breaker.state(),
        BreakerState::HalfOpen,
        "time is up: the next call probes"
    );
    let probe = breaker.try_acquire().expect("the probe");
    assert!(probe.is_probe());
    assert!(
        breaker.try_acquire().is_none(),
        "one probe at a time; the others are refused"
    );
    assert_eq!(breaker.state(), BreakerState::HalfOpen);
    probe.succeeded();
    assert_eq!(breaker.state(), BreakerState::Closed);
    assert_eq!(breaker.consecutive_failures(), 0);
    let next = breaker.try_acquire().expect("closed again");
    assert!(!next.is_probe());
    next.succeeded();
}

#[tokio::test(start_paused = true)]
async fn failed_probe_reopens_with_a_fresh_timer() {
    let breaker = Breaker::new(2, OPEN_FOR);
    fail(&breaker);
    fail(&breaker);
    advance(OPEN_FOR).await;
    breaker.try_acquire().expect("probe").failed();
    assert_eq!(breaker.state(), BreakerState::Open);
    assert_eq!(breaker.consecutive_failures(), 3);

    advance(OPEN_FOR / 2).await;
    assert!(breaker.try_acquire().is_none(), "the open period restarted");
    advance(OPEN_FOR / 2).await;
    assert!(breaker.try_acquire().expect("next probe").is_probe());
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_probe_frees_the_probe_slot() {
    let breaker = Breaker::new(1, OPEN_FOR);
    fail(&breaker);
    advance(OPEN_FOR).await;
    let probe = breaker.try_acquire().expect("probe");
    drop(probe);
    let again = breaker.try_acquire().expect("another call may probe");
    assert!(again.is_probe());
    again.failed();
    assert_eq!(breaker.state(), BreakerState::Open);
}

#[tokio::test(start_paused = true)]
async fn a_late_success_does_not_close_an_open_breaker() {
    let breaker = Breaker::new(1, OPEN_FOR);
    let straggler = breaker.try_acquire().expect("closed");
    fail(&breaker);
    assert_eq!(breaker.state(), BreakerState::Open);
    straggler.succeeded();
    assert_eq!(breaker.state(), BreakerState::Open);
}

#[tokio::test(start_paused = true)]
async fn rate_limiter_spaces_request_starts() {
    let interval = Duration::from_millis(1500);
    let limiter = RateLimiter::new(interval);
    let start = Instant::now();
    limiter.acquire().await;
    assert_eq!(
        start.elapsed(),
        Duration::ZERO,
        "the first request goes at once"
    );
    limiter.acquire().await;
    assert_eq!(start.elapsed(), interval);
    advance(Duration::from_secs(5)).await;
    let later = Instant::now();
    limiter.acquire().await;
    assert_eq!(
        later.elapsed(),
        Duration::ZERO,
        "a quiet period owes no wait"
    );
}

#[tokio::test(start_paused = true)]
async fn rate_limiter_queues_concurrent_callers() {
    let interval = Duration::from_millis(200);
    let limiter = Arc::new(RateLimiter::new(interval));
    let start = Instant::now();
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let limiter = Arc::clone(&limiter);
            tokio::spawn(async move {
                limiter.acquire().await;
                start.elapsed()
            })
        })
        .collect();
    let mut starts = Vec::new();
    for task in tasks {
        starts.push(task.await.unwrap());
    }
    starts.sort();
    assert_eq!(starts, [0, 200, 400, 600].map(Duration::from_millis));
}

#[tokio::test(start_paused = true)]
async fn zero_interval_never_waits() {
    let limiter = RateLimiter::new(Duration::ZERO);
    let start = Instant::now();
    for _ in 0..10 {
        limiter.acquire().await;
    }
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[test]
fn backoff_doubles_with_jitter_between_half_and_one_and_a_half() {
    let policy = RetryPolicy {
        retries: 2,
        backoff: Duration::from_secs(1),
    };
    assert_eq!(policy.delay(0, 0.0), Duration::from_millis(500));
    assert_eq!(policy.delay(0, 0.5), Duration::from_secs(1));
    assert_eq!(policy.delay(1, 0.0), Duration::from_secs(1));
    assert_eq!(policy.delay(1, 0.5), Duration::from_secs(2));
    assert!(policy.delay(1, 0.999_999) < Duration::from_secs(3));
    assert_eq!(policy.delay(30, 0.5), MAX_BACKOFF, "capped");
    let none = RetryPolicy {
        retries: 2,
        backoff: Duration::ZERO,
    };
    assert_eq!(none.delay(3, 0.7), Duration::ZERO);
}
