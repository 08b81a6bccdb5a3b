//! Model breadth: poison messages, message TTL, warm starts, retry
//! budgets and cost. Each is checked against what can be worked out by hand.

use crate::common::{assert_invariants, run_text};

const BASE: &str = r#"
name = "breadth"
seed = 4
duration = "20m"
[[producers]]
rate = 50.0
[consumers]
count = 4
service = { dist = "exponential", mean = "20ms" }
"#;

#[test]
fn the_dlq_isolates_poison_messages_while_the_rest_flow() {
    let s = run_text(&format!("{BASE}[downstream]\npoison_rate = 0.02\n[retry]\nmax_attempts = 4\nbackoff = \"fixed\"\nbase_delay = \"50ms\"\n")).summary;
    assert_invariants(&s);
    let c = &s.counts;
    assert!(
        (c.poison as f64 / c.produced as f64 - 0.02).abs() < 0.003,
        "{} of {}",
        c.poison,
        c.produced
    );
    // Poison messages fail every attempt and nothing else fails: every dead letter is a
    // poison message that used all 4 attempts; the poison messages not yet dead-lettered
    // are still in the system at the end.
    let at_end = c.in_queue_at_end + c.in_flight_at_end + c.retry_waiting_at_end;
    assert!(c.dead_lettered <= c.poison && c.poison - c.dead_lettered <= at_end);
    assert!(c.dead_lettered > 400, "{}", c.dead_lettered);
    assert!(c.retries >= 3 * c.dead_lettered && c.retries <= 3 * c.poison);
    assert!(c.failed_attempts >= 4 * c.dead_lettered && c.failed_attempts <= 4 * c.poison);
    assert!(
        c.completed + c.poison + at_end >= c.produced,
        "every healthy message completes"
    );
    // The others are untouched: end-to-end p99 stays at service-time scale.
    assert!(s.latency.end_to_end.p99.unwrap() < 0.5);
}

#[test]
fn ttl_caps_how_long_a_message_can_wait() {
    // 4 consumers x 50/s = 200/s of capacity against 300/s for 10 minutes: the backlog grows.
    let over = BASE.replace(
        "rate = 50.0",
        "rate = 50.0\nschedule = [ { at = \"1m\", rate = 300.0 }, { at = \"11m\", rate = 50.0 } ]",
    );
    let none = run_text(&over).summary;
    let ttl = run_text(&format!("{over}[queue]\nttl = \"30s\"\n")).summary;
    let dlq = run_text(&format!(
        "{over}[queue]\nttl = \"30s\"\nttl_action = \"dlq\"\n"
    ))
    .summary;
    for s in [&none, &ttl, &dlq] {
        assert_invariants(s);
    }
    assert_eq!(none.counts.expired, 0);
    assert!(none.latency.queue_wait.max.unwrap() > 120.0);
    assert!(ttl.counts.expired > 10_000, "{}", ttl.counts.expired);
    // Nothing starts processing after waiting longer than the TTL.
    assert!(ttl.latency.queue_wait.max.unwrap() <= 30.0 + 1e-9);
    assert_eq!(
        dlq.counts.dead_lettered, ttl.counts.expired,
        "same messages, other fate"
    );
    assert_eq!(dlq.counts.expired, 0);
}

#[test]
fn a_warm_start_drains_at_the_spare_capacity() {
    // 10,000 waiting at time 0; capacity 4 / 20 ms = 200/s against 50/s: ~67 s to drain.
    let r = run_text(&format!("{BASE}[queue]\ninitial_backlog = 10000\n"));
    let s = r.summary;
    assert_invariants(&s);
    let cold = run_text(BASE).summary;
    assert_eq!(s.counts.produced, cold.counts.produced + 10_000);
    assert!(s.queue.max_depth >= 9_990);
    // The last of the initial messages starts after 10,000 / 200 = 50 s of full-speed work...
    let oldest = s.queue.max_oldest_age;
    assert!(
        (45.0..55.0).contains(&oldest),
        "oldest waited {oldest} s (expected ~50)"
    );
    // ...and the queue, with what arrived meanwhile, is empty after 10,000 / (200 - 50) = 67 s.
    let drained = r
        .rows
        .iter()
        .find(|row| row.queue_depth < 20)
        .map(|row| row.time)
        .unwrap();
    assert!(
        (58.0..76.0).contains(&drained),
        "drained at {drained} s (expected ~67)"
    );
}

#[test]
fn a_retry_budget_caps_retries_at_a_share_of_traffic() {
    // Half the attempts fail during a 5-minute outage; 5 attempts each would triple the load.
    let failing = format!("{BASE}[downstream]\noutages = [ {{ start = \"5m\", end = \"10m\", failure_rate = 0.5 }} ]\n[retry]\nmax_attempts = 5\nbackoff = \"fixed\"\nbase_delay = \"100ms\"\n");
    let free = run_text(&failing).summary;
    let capped = run_text(&format!("{failing}budget = 0.1\nbudget_burst = 20\n")).summary;
    for s in [&free, &capped] {
        assert_invariants(s);
    }
    assert_eq!(free.counts.retries_denied, 0);
    assert!(capped.counts.retries_denied > 0);
    let cap = 0.1 * capped.counts.produced as f64 + 20.0;
    assert!(
        capped.counts.retries as f64 <= cap,
        "{} retries, budget {cap}",
        capped.counts.retries
    );
    assert!(capped.counts.retries < free.counts.retries / 2);
    assert!(
        capped.counts.dead_lettered > free.counts.dead_lettered,
        "the price: more give up"
    );
}

#[test]
fn a_consumer_breaker_pauses_consumption_during_an_outage() {
    // A 2-minute total outage, 3 attempts with 1 s fixed backoff.
    let base = format!("{BASE}[downstream]\noutages = [ {{ start = \"5m\", end = \"7m\" }} ]\n[retry]\nmax_attempts = 3\nbackoff = \"fixed\"\nbase_delay = \"1s\"\n");
    let plain = run_text(&base).summary;
    let guarded = run_text(&format!("{base}[breaker]\nwindow = 20\nfailure_threshold = 0.5\nopen_for = \"10s\"\nhalf_open_probes = 2\n")).summary;
    for s in [&plain, &guarded] {
        assert_invariants(s);
    }
    // Without a breaker every message meeting the outage burns its attempts and is dead-lettered.
    assert!(
        plain.counts.dead_lettered > 4_000,
        "{}",
        plain.counts.dead_lettered
    );
    // With one, consumers stop taking messages: they wait in the queue and are processed later.
    assert!(
        guarded.counts.breaker_opens >= 2,
        "opens, probes, opens again: {}",
        guarded.counts.breaker_opens
    );
    assert!(
        guarded.counts.dead_lettered * 10 < plain.counts.dead_lettered,
        "{} vs {}",
        guarded.counts.dead_lettered,
        plain.counts.dead_lettered
    );
    assert!(guarded.counts.failed_attempts * 10 < plain.counts.failed_attempts);
    assert!(
        guarded.queue.max_depth > 3_000,
        "the queue absorbs the outage: {}",
        guarded.queue.max_depth
    );
    assert!(guarded.recovery[0].recovered);
}

#[test]
fn cost_is_consumer_hours_and_requests() {
    let s = run_text(&format!(
        "{BASE}[cost]\nper_consumer_hour = 0.5\nper_million_requests = 2.0\n"
    ))
    .summary;
    let c = s.cost.as_ref().expect("cost");
    assert!((c.consumer_hours - 4.0 * 20.0 / 60.0).abs() < 1e-9);
    assert_eq!(c.requests, s.counts.attempts);
    let want = c.consumer_hours * 0.5 + c.requests as f64 / 1e6 * 2.0;
    assert!((c.total - want).abs() < 1e-9);
    assert!(run_text(BASE).summary.cost.is_none());
}
