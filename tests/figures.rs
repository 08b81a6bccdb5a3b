//! Figures that count from the right instant (the queue wait from arrival at the broker,
//! the offered rate with messages still in transit, retry amplification over the
//! messages attempted): each test failed before its fix.

use crate::common::run_text;
use queuelab::theory::erlang_c;

/// With an enqueue latency, the queue wait counts from arrival at the broker,
/// so P(wait) matches Erlang C and Little's law holds on the queue (Lq = lambda x Wq).
/// Before: p_wait was 1.0 (every message "waited" its transit) and Wq included 50 ms.
#[test]
fn queue_wait_counts_from_arrival_at_the_broker() {
    let s = run_text(
        r#"
name = "transit"
duration = "3h"
warmup = "5m"
seed = 11
[[producers]]
rate = 16.0
[consumers]
count = 2
service = { dist = "exponential", mean = "100ms" }
[client]
enqueue_latency = "50ms"
"#,
    )
    .summary;
    // M/M/2 at a = 1.6 Erlangs: P(wait) = C(2, 1.6), Wq = C / (c mu - lambda).
    let c = erlang_c(2, 1.6);
    let p_wait = s.queue.p_wait.unwrap();
    assert!((p_wait - c).abs() < 0.02, "p_wait {p_wait} vs Erlang C {c}");
    let wq = s.latency.queue_wait.mean.unwrap();
    let expected = c / (20.0 - 16.0);
    assert!(
        (wq - expected).abs() / expected < 0.06,
        "Wq {wq} vs {expected}"
    );
    let little = s.rates.offered * wq;
    let lq = s.queue.mean_depth;
    assert!(
        (lq - little).abs() / lq < 0.03,
        "Lq {lq} vs lambda Wq {little}"
    );
    // End to end still counts from production: it includes the 50 ms transit.
    let w = s.latency.end_to_end.mean.unwrap();
    assert!(
        w > wq + 0.1 + 0.045,
        "W {w} must include transit and service"
    );
}

/// A message produced before the end but still in transit to the broker is
/// produced, and counts in `rates.offered`. Before: offered left out the last second's
/// ten messages (9.0/s against 100 produced in 10 s).
#[test]
fn offered_rate_counts_messages_still_in_transit() {
    let s = run_text(
        r#"
name = "transit-end"
duration = "10s"
[[producers]]
arrivals = "constant"
rate = 10.0
[consumers]
count = 1
service = { dist = "constant", value = "1ms" }
[client]
enqueue_latency = "1s"
"#,
    )
    .summary;
    let produced = s.counts.produced as f64;
    assert!(s.counts.in_flight_at_end >= 9, "{:?}", s.counts);
    assert!(
        (s.rates.offered - produced / 10.0).abs() < 1e-9,
        "offered {} vs produced {produced} in 10 s",
        s.rates.offered
    );
}

/// `rates.retry_amplification` is attempts per message that was attempted,
/// so refused messages do not make it read below 1. Before: 0.77-like values with zero
/// retries (attempts / produced).
#[test]
fn attempts_per_attempted_message_is_one_without_retries() {
    let s = run_text(
        r#"
name = "loss"
duration = "10m"
[[producers]]
rate = 30.0
[queue]
capacity = 0
[consumers]
count = 2
service = { dist = "exponential", mean = "100ms" }
"#,
    )
    .summary;
    assert!(s.counts.rejected > 1000, "{:?}", s.counts);
    assert_eq!(s.counts.retries, 0);
    assert_eq!(s.rates.retry_amplification, 1.0);
}
