//! Every bundled scenario runs cleanly, and each one's lesson holds in numbers.

use crate::common::{assert_invariants, comparable, root};
use queuelab::metrics::Summary;
use queuelab::scenario::{self, Overrides, ScenarioFile};
use queuelab::sim::{self, RunResult};
use rayon::prelude::*;

fn load(name: &str) -> ScenarioFile {
    let path = root().join("scenarios").join(name);
    scenario::load(path.to_str().unwrap(), &Overrides::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs every variant of a bundled scenario; returns (variant name, result).
fn run_all(name: &str) -> Vec<(String, RunResult)> {
    let f = load(name);
    f.runs()
        .into_par_iter()
        .map(|s| (s.variant.clone().unwrap_or_default(), sim::run(s)))
        .collect()
}

fn get<'a>(runs: &'a [(String, RunResult)], variant: &str) -> &'a Summary {
    &runs
        .iter()
        .find(|(v, _)| v == variant)
        .unwrap_or_else(|| panic!("no variant {variant}"))
        .1
        .summary
}

#[test]
fn every_bundled_scenario_is_sound_and_deterministic() {
    let mut names: Vec<String> = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    assert!(names.len() >= 4, "{names:?}");
    for name in &names {
        let text = std::fs::read_to_string(root().join("scenarios").join(name)).unwrap();
        assert!(
            text.starts_with('#'),
            "{name} must open with a comment block stating its lesson"
        );
        assert!(text.contains("[teaching]"), "{name} needs [teaching] notes");
        let a = run_all(name);
        let b = run_all(name);
        let produced: Vec<u64> = a.iter().map(|(_, r)| r.summary.counts.produced).collect();
        assert!(
            produced.windows(2).all(|w| w[0] == w[1]),
            "{name}: every variant must see the same arrivals: {produced:?}"
        );
        for ((va, ra), (_, rb)) in a.iter().zip(&b) {
            assert_invariants(&ra.summary);
            assert_eq!(
                comparable(&ra.summary),
                comparable(&rb.summary),
                "{name}/{va} not deterministic"
            );
            assert_eq!(ra.rows, rb.rows);
            // The time series adds up to the counters.
            let arrivals: u64 = ra.rows.iter().map(|r| r.arrivals).sum();
            assert!(arrivals <= ra.summary.counts.produced);
            let last = ra.rows.last().unwrap();
            assert_eq!(
                last.dead_lettered_total, ra.summary.counts.dead_lettered,
                "{name}/{va}"
            );
        }
    }
}

#[test]
fn flash_sale_queue_absorbs_the_spike_and_pays_in_latency() {
    let runs = run_all("flash_sale.toml");
    let b = get(&runs, "bounded-8");
    assert_eq!(
        b.queue.max_depth, 50_000,
        "the spike fills the bounded queue"
    );
    assert!(
        b.counts.rejected > 30_000,
        "then it refuses work: {}",
        b.counts.rejected
    );
    assert_eq!(
        b.latency.client.max,
        Some(0.002),
        "callers only ever wait for the ack"
    );
    assert!(
        b.latency.end_to_end.p99.unwrap() > 200.0,
        "messages wait minutes"
    );
    let d = &b.recovery[0];
    assert_eq!(d.kind, "spike");
    // 50,000 queued messages drain at the spare capacity: 200/s - 100/s = 100/s -> ~500 s.
    let drain = d.drain_seconds.expect("recovers");
    assert!(
        (400.0..600.0).contains(&drain),
        "drain {drain} s vs ~500 s predicted"
    );
    // Twice the consumers: half the latency or better, fewer refusals.
    let s16 = get(&runs, "scaled-16");
    assert!(s16.counts.rejected < b.counts.rejected / 2 + 1);
    assert!(s16.latency.end_to_end.p99.unwrap() < b.latency.end_to_end.p99.unwrap() / 1.8);
    // Autoscaling: the pool grows during the spike and shrinks back, cutting the worst
    // latency well below the fixed pool's for far fewer consumer-hours than 48 fixed.
    let a = get(&runs, "autoscale-8-48");
    assert!(
        a.counts.scale_outs >= 3 && a.counts.scale_ins >= 3,
        "{:?}",
        a.counts
    );
    assert!(a.consumers.max_count > 30 && a.consumers.max_count <= 48);
    assert!(
        a.consumers.mean_count < 20.0,
        "mean {}",
        a.consumers.mean_count
    );
    assert!(a.latency.end_to_end.p99.unwrap() < b.latency.end_to_end.p99.unwrap() / 2.0);
    let rows = &runs
        .iter()
        .find(|(v, _)| v == "autoscale-8-48")
        .unwrap()
        .1
        .rows;
    assert_eq!(rows.first().unwrap().consumers, 8);
    assert_eq!(
        rows.last().unwrap().consumers,
        8,
        "back to the minimum after the spike"
    );
    assert!(rows.iter().all(|r| r.utilization <= 1.0 + 1e-9));
    // Unbounded: no refusals, but the backlog is still there when the run ends.
    let u = get(&runs, "unbounded-8");
    assert_eq!(u.counts.rejected, 0);
    assert!(!u.recovery[0].recovered);
    assert!(u.queue.max_oldest_age > b.queue.max_oldest_age);
}

/// The downstream-outage counts, predicted from the backoff formula alone (integer ns):
/// arrivals every 20 ms from 20 ms, attempts of 20 ms, outage [300 s, 480 s), retry n after
/// base * 2^(n-1) with base 1 s, at most `max_attempts` attempts. No queueing happens
/// (12 consumers, at most 10 attempts at once), so each attempt starts when it is due.
fn predicted_outage(max_attempts: u32) -> (u64, u64, u64) {
    let (gap, service, base) = (20_000_000u64, 20_000_000u64, 1_000_000_000u64);
    let (start, end, duration) = (300_000_000_000u64, 480_000_000_000u64, 900_000_000_000u64);
    let (mut retries, mut dlq, mut attempts) = (0, 0, 0);
    let mut t = gap;
    while t <= duration {
        let mut s = t;
        for n in 1..=max_attempts {
            if s > duration {
                break;
            }
            attempts += 1;
            if !(start..end).contains(&s) {
                break;
            }
            if s + service > duration {
                break;
            }
            if n == max_attempts {
                dlq += 1;
                break;
            }
            retries += 1;
            s += service + base * (1 << (n - 1));
        }
        t += gap;
    }
    (retries, dlq, attempts)
}

#[test]
fn outage_counts_match_the_backoff_formula() {
    let runs = run_all("downstream_outage.toml");
    let none = get(&runs, "no-retries");
    assert_eq!(
        none.counts.failed, 9_000,
        "50/s x 180 s lost without retries or DLQ"
    );
    assert_eq!(none.counts.dead_lettered, 0);
    let b = get(&runs, "backoff");
    let (retries, dlq, attempts) = predicted_outage(5);
    assert_eq!(b.counts.dead_lettered, dlq, "DLQ");
    assert_eq!(b.counts.retries, retries, "retries");
    assert_eq!(b.counts.attempts, attempts, "attempts");
    assert_eq!(
        dlq, 8_246,
        "arrivals in [300 s, 480 s - 15.08 s) exhaust 5 attempts"
    );
    // Full jitter halves the expected waits, so a little more is lost than without it.
    let j = get(&runs, "backoff-jitter");
    assert!(
        j.counts.dead_lettered >= dlq && j.counts.dead_lettered < dlq + 600,
        "{}",
        j.counts.dead_lettered
    );
    // A backoff schedule longer than the outage saves every message.
    let long = get(&runs, "long-backoff");
    assert_eq!(long.counts.dead_lettered + long.counts.failed, 0);
    assert!(
        long.latency.end_to_end.max.unwrap() > 150.0,
        "at the price of minutes of delay"
    );
}

#[test]
fn sync_callers_pay_for_the_spike_async_callers_do_not() {
    let runs = run_all("sync_vs_async.toml");
    let (s, a) = (get(&runs, "sync"), get(&runs, "async"));
    assert_eq!(s.counts.produced, a.counts.produced);
    // Sync: errors and seconds of latency during the spike.
    assert!(
        s.client.errors + s.client.timeouts > 1_000,
        "sync errors {}",
        s.client.errors
    );
    assert!(
        s.latency.client.p99.unwrap() > 1.0,
        "sync caller p99 {:?}",
        s.latency.client.p99
    );
    let spike = &s.recovery[0];
    assert!(spike.client_errors > 1_000);
    // Async: the caller waits for the ack only, never errors.
    assert_eq!(a.client.errors + a.client.timeouts, 0);
    assert_eq!(a.latency.client.max, Some(0.005));
    // ... and the backlog's end-to-end latency grows instead.
    assert!(a.latency.end_to_end.p99.unwrap() > 10.0 * s.latency.end_to_end.p99.unwrap());
    assert!(a.queue.max_depth > 5_000);
    assert!(a.recovery[0].recovered);
}

#[test]
fn immediate_retries_outlive_their_trigger() {
    let runs = run_all("retry_storm.toml");
    let storm = get(&runs, "immediate-retries");
    let none = get(&runs, "no-retries");
    let backoff = get(&runs, "backoff-jitter");
    assert!(
        !storm.recovery[0].recovered,
        "the storm outlives the 30 s slowdown"
    );
    assert!(
        none.recovery[0].recovered,
        "without retries the backlog drains"
    );
    assert!(
        backoff.recovery[0].recovered,
        "with backoff, jitter and 3 attempts it drains too"
    );
    let breaker = get(&runs, "breaker");
    assert!(
        breaker.recovery[0].recovered,
        "a caller-side breaker lets the server drain its abandoned work"
    );
    assert!(breaker.counts.breaker_opens >= 1 && breaker.counts.breaker_rejections > 0);
    assert!(breaker.counts.abandoned_work < storm.counts.abandoned_work / 10);
    // While stuck the server runs flat out for callers who have left: goodput near zero.
    let rows = &runs
        .iter()
        .find(|(v, _)| v == "immediate-retries")
        .unwrap()
        .1
        .rows;
    let late: Vec<_> = rows.iter().filter(|r| r.time > 300.0).collect();
    let answered: u64 = late.iter().map(|r| r.completed).sum();
    let arrived: u64 = late.iter().map(|r| r.arrivals).sum();
    let busy = late.iter().map(|r| r.utilization).sum::<f64>() / late.len() as f64;
    assert!(
        answered * 100 < arrived,
        "goodput after 5 min: {answered} of {arrived}"
    );
    assert!(busy > 0.99, "yet the workers are busy: {busy}");
    assert!(storm.counts.abandoned_work > 10_000);
    assert!(storm.rates.retry_amplification > 2.0);
}

fn inline(text: &str) -> Summary {
    let f = scenario::parse(text, "inline.toml", &Overrides::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let s = sim::run(&f.base).summary;
    assert_invariants(&s);
    s
}

const AT_LEAST_ONCE: &str = r#"
name = "alo"
duration = "30m"
[[producers]]
rate = 50.0
[consumers]
count = 4
service = { dist = "exponential", mean = "20ms" }
[delivery]
crash_rate = 0.05
visibility_timeout = "5s"
"#;

#[test]
fn at_least_once_duplicates_track_the_crash_rate() {
    let s = inline(AT_LEAST_ONCE);
    let c = &s.counts;
    // Each completion is preceded by a crash (and so a duplicate) with probability 0.05.
    let expected = 0.05 / 0.95 * c.completed as f64;
    assert!(
        (c.duplicates as f64 / expected - 1.0).abs() < 0.1,
        "duplicates {} vs ~{expected:.0}",
        c.duplicates
    );
    // Every crash is redelivered, except those still invisible at the end.
    assert!(c.redeliveries <= c.crashes && c.crashes - c.redeliveries <= c.in_flight_at_end);
    // Redelivery waits out the visibility timeout.
    assert!(s.latency.end_to_end.max.unwrap() >= 5.0);
    let idem = inline(&AT_LEAST_ONCE.replace(
        "visibility_timeout = \"5s\"",
        "visibility_timeout = \"5s\"\nidempotent = true",
    ));
    assert_eq!(
        idem.counts.duplicates, 0,
        "idempotent consumers do no second side effect"
    );
    assert_eq!(
        idem.counts.redeliveries, s.counts.redeliveries,
        "but redeliveries still happen"
    );
}

#[test]
fn inline_retries_cost_consumer_capacity() {
    let base = r#"
name = "inline"
duration = "10m"
[[producers]]
rate = 20.0
[consumers]
count = 4
service = { dist = "constant", value = "50ms" }
[downstream]
failure_rate = 0.3
[retry]
max_attempts = 4
backoff = "fixed"
base_delay = "200ms"
"#;
    let q = inline(&format!("{base}in = \"queue\"\n"));
    let c = inline(&format!("{base}in = \"consumer\"\n"));
    assert_eq!(q.consumers.backoff_fraction, 0.0);
    assert!(
        c.consumers.backoff_fraction > 0.05,
        "sleeping consumers: {}",
        c.consumers.backoff_fraction
    );
    assert!(c.consumers.utilization > q.consumers.utilization + 0.05);
    // Same failures, same retries: where they wait does not change how many there are.
    let ratio = c.counts.retries as f64 / q.counts.retries as f64;
    assert!((ratio - 1.0).abs() < 0.05, "{ratio}");
    // 0.3^4 of messages fail four times.
    let dlq = q.counts.dead_lettered as f64 / q.counts.produced as f64;
    assert!((dlq - 0.0081).abs() < 0.003, "{dlq}");
}

#[test]
fn overflow_policies_account_for_every_message() {
    let base = r#"
name = "ovf"
duration = "5m"
[[producers]]
rate = 100.0
schedule = [ { at = "1m", rate = 400.0 }, { at = "2m", rate = 100.0 } ]
[queue]
capacity = 500
[consumers]
count = 2
service = { dist = "exponential", mean = "10ms" }
"#;
    let with = |cap: &str, p: &str| {
        inline(&base.replace(
            "capacity = 500",
            &format!("capacity = {cap}\noverflow = \"{p}\""),
        ))
    };
    let reject = with("500", "reject");
    let drop = with("500", "drop-oldest");
    let block = with("500", "block");
    assert!(reject.counts.rejected > 0 && reject.counts.dropped == 0);
    assert!(drop.counts.dropped > 0 && drop.counts.rejected == 0);
    assert_eq!(block.counts.rejected + block.counts.dropped, 0);
    assert!(
        block.latency.client.max.unwrap() > 1.0,
        "blocked callers wait"
    );
    for s in [&reject, &drop, &block] {
        assert!(s.queue.max_depth <= 500);
    }
    // With nowhere to wait, every policy refuses.
    for p in ["reject", "drop-oldest", "block"] {
        let s = with("0", p);
        assert!(
            s.counts.rejected > 0 && s.counts.dropped == 0 && s.counts.blocked_at_end == 0,
            "{p}"
        );
        assert_eq!(s.queue.max_depth, 0);
    }
}

#[test]
fn zero_traffic_and_empty_runs_do_not_break() {
    let s = inline("name = \"quiet\"\nduration = \"10s\"\n[[producers]]\nrate = 0.0\n[consumers]\ncount = 1\nservice = { dist = \"constant\", value = 1 }\n");
    assert_eq!(s.counts.produced, 0);
    assert_eq!(s.latency.end_to_end.mean, None);
    assert_eq!(s.rates.retry_amplification, 0.0);
}

#[test]
fn priority_protects_critical_traffic_from_a_bulk_flood() {
    let runs = run_all("noisy_neighbour.toml");
    let class = |s: &Summary, p: u8| {
        s.classes
            .iter()
            .find(|c| c.priority == p)
            .cloned()
            .expect("class")
    };
    let (fifo, prio) = (get(&runs, "shared-fifo"), get(&runs, "priority"));
    // Shared FIFO: checkout waits behind the flood's ~28,800-message backlog (~2.4 min).
    let checkout_fifo = class(fifo, 5).end_to_end.p99.unwrap();
    assert!(
        checkout_fifo > 100.0,
        "checkout p99 {checkout_fifo} s in a shared FIFO"
    );
    // Priority: checkout stays at service-time scale.
    let checkout_prio = class(prio, 5).end_to_end.p99.unwrap();
    assert!(
        checkout_prio < 1.0,
        "checkout p99 {checkout_prio} s with priority"
    );
    // The bulk work is not lost, only later.
    assert_eq!(class(prio, 0).completed, class(fifo, 0).completed);
    assert!(class(prio, 0).end_to_end.max.unwrap() >= class(fifo, 0).end_to_end.max.unwrap());
    assert_eq!(
        class(prio, 5).produced + class(prio, 0).produced,
        prio.counts.produced
    );
}
