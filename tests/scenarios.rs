//! Every bundled scenario runs cleanly, and each one's lesson holds in numbers.

use crate::common::{assert_invariants, comparable, root};
use queuelab::metrics::recovery::Kind;
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

/// The figures of priority tier `p`.
fn class(s: &Summary, p: u8) -> queuelab::metrics::summary::ClassStats {
    s.classes
        .iter()
        .find(|c| c.priority == p)
        .cloned()
        .expect("class")
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
        // Messages published: with fan-out, each counts once however many copies it makes.
        let produced: Vec<u64> = a
            .iter()
            .map(|(_, r)| {
                r.summary
                    .fanout
                    .as_ref()
                    .map_or(r.summary.counts.produced, |f| f.published)
            })
            .collect();
        // Common random numbers: variants that keep the producers see the same arrivals
        // (a variant that changes the arrival process itself, such as real_traffic's
        // Poisson at the same mean rate, is compared with nothing).
        let f = load(name);
        let runs = f.runs();
        for (i, s) in runs.iter().enumerate() {
            if s.producers == runs[0].producers {
                assert_eq!(
                    produced[i], produced[0],
                    "{name}: every variant with the same producers must see the same arrivals: {produced:?}"
                );
            }
        }
        assert!(
            runs.iter()
                .filter(|s| s.producers == runs[0].producers)
                .count()
                > runs.len() / 2,
            "{name}: most variants keep the producers (common random numbers)"
        );
        for ((va, ra), (_, rb)) in a.iter().zip(&b) {
            assert_invariants(&ra.summary);
            for sub in &ra.summary.subscribers {
                assert_invariants(&sub.summary);
            }
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
    assert_eq!(d.kind, Kind::Spike);
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

/// Caller errors and timeouts counted in the rows with `a < time <= b`.
fn caller_bad(rows: &[queuelab::metrics::Row], a: f64, b: f64) -> u64 {
    rows.iter()
        .filter(|r| r.time > a && r.time <= b)
        .map(|r| r.client_errors + r.client_timeouts)
        .sum()
}

// retry_storm answers "why jitter?" with variants that isolate the attempt
// cap, backoff and jitter. Before, no variant had backoff without jitter, and nothing in
// the numbers showed what jitter does.
#[test]
fn the_attempt_cap_ends_the_storm_and_jitter_spreads_a_herd() {
    let runs = run_all("retry_storm.toml");
    let rows = |v: &str| runs.iter().find(|(n, _)| n == v).unwrap().1.rows.as_slice();
    // Part 1, the slowdown (up to 6m, before the herd).
    let part1 = |v: &str| caller_bad(rows(v), 0.0, 360.0);
    let herd = |v: &str| caller_bad(rows(v), 360.0, 420.0);
    // The cap alone ends the storm (3 x 30/s = 90 < 125/s); 5 immediate attempts do not.
    assert!(!get(&runs, "immediate-retries").recovery[0].recovered);
    for v in ["capped", "backoff", "backoff-jitter"] {
        assert!(get(&runs, v).recovery.iter().all(|d| d.recovered), "{v}");
    }
    assert!(part1("capped") * 3 < part1("immediate-retries"));
    // Backoff spreads the calls without changing much; jitter changes nothing when the
    // callers fail one by one: within 15% of each other.
    for (a, b) in [("capped", "backoff"), ("backoff", "backoff-jitter")] {
        let (x, y) = (part1(a) as f64, part1(b) as f64);
        assert!((x / y - 1.0).abs() < 0.15, "{a} {x} vs {b} {y}");
    }
    // With a backlog of 16 s of work every retry lands behind abandoned calls: no retries
    // does better, in the slowdown and in the herd, with or without jitter.
    assert!(part1("no-retries") * 2 < part1("backoff"));
    for v in ["capped", "backoff", "backoff-jitter"] {
        assert!(herd("no-retries") < herd(v), "{v}");
    }
    // Part 2, a backlog bounded to 0.8 s of work: the herd that failed together retries
    // together without jitter, in two waves of more than 800 retries in one second (4 s and
    // then 8 s later), against at most ~350 a second with full jitter ...
    let peak = |v: &str| {
        rows(v)
            .iter()
            .filter(|r| r.time > 361.0 && r.time <= 420.0)
            .map(|r| r.retries)
            .max()
            .unwrap()
    };
    let waves: Vec<f64> = rows("herd-backoff")
        .iter()
        .filter(|r| r.time > 361.0 && r.time <= 420.0 && r.retries > 800)
        .map(|r| r.time)
        .collect();
    assert_eq!(waves, [365.0, 373.0], "waves 4 s and then 8 s apart");
    assert!(peak("herd-backoff") > 2 * peak("herd-backoff-jitter"));
    assert!(peak("herd-backoff-jitter") < 400);
    // ... and far more of it gets through: in the herd's minute, errors and timeouts fall to
    // a fifth with jitter, and retries with backoff beat no retries.
    let (hn, hb, hj) = (
        herd("herd-no-retries"),
        herd("herd-backoff"),
        herd("herd-backoff-jitter"),
    );
    assert!(hj * 5 < hb, "jitter {hj} vs no jitter {hb}");
    assert!(hb * 3 / 2 < hn, "backoff {hb} vs no retries {hn}");
    // The price of jitter: shorter waits on average, so in the slowdown more retries land
    // inside it (as in downstream_outage).
    assert!(part1("herd-backoff-jitter") > part1("herd-backoff"));
    // Over the whole run, jitter still wins.
    let total = |v: &str| caller_bad(rows(v), 0.0, f64::INFINITY);
    assert!(total("herd-backoff-jitter") * 10 < total("herd-backoff") * 8);
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

#[test]
fn dedicated_queues_protect_checkout_but_drain_bulk_slower() {
    let runs = run_all("noisy_neighbour.toml");
    let (prio, dedicated) = (get(&runs, "priority"), get(&runs, "dedicated"));
    assert_invariants(dedicated);
    assert_eq!(dedicated.subscribers.len(), 2);
    assert_eq!(
        dedicated.counts.produced, prio.counts.produced,
        "same traffic"
    );
    // Checkout on its own 3 consumers (40/s x 40 ms = 1.6 busy) never sees the flood.
    let checkout = class(dedicated, 5).end_to_end.p99.unwrap();
    assert!(
        checkout < 1.0,
        "checkout p99 {checkout} s on a dedicated queue"
    );
    assert_eq!(
        dedicated.subscribers[0].summary.latency.end_to_end.p99,
        class(dedicated, 5).end_to_end.p99
    );
    // Bulk drains on 5 consumers (125/s) instead of the 8 that priority lends it when
    // checkout is quiet: its last message finishes later.
    let (bulk_prio, bulk_ded) = (
        class(prio, 0).end_to_end.max.unwrap(),
        class(dedicated, 0).end_to_end.max.unwrap(),
    );
    assert!(
        bulk_ded > bulk_prio + 30.0,
        "bulk waited {bulk_ded} s dedicated vs {bulk_prio} s with priority"
    );
}

fn subscriber<'a>(s: &'a Summary, name: &str) -> &'a Summary {
    &s.subscribers
        .iter()
        .find(|x| x.name == name)
        .unwrap_or_else(|| panic!("no subscriber {name}"))
        .summary
}

#[test]
fn checkout_fanout_decouples_the_buyer_and_the_side_effects() {
    let runs = run_all("checkout_fanout.toml");
    let (inline, event) = (get(&runs, "inline"), get(&runs, "event"));
    assert_invariants(inline);
    assert_invariants(event);
    let f = event.fanout.as_ref().unwrap();
    assert_eq!(f.published, inline.counts.produced, "the same orders");
    assert_eq!(f.deliveries, 3 * f.published);
    // Inline: the buyer waits for all three side effects (~115 ms mean) and every checkout
    // during the 3-minute email outage fails: 3 x 60 x 150 = 27,000, plus 1% otherwise.
    assert!(inline.latency.client.p99.unwrap() > 0.25);
    assert!(
        (27_000..30_000).contains(&inline.client.errors),
        "{}",
        inline.client.errors
    );
    // Event: the buyer waits for the topic's ack, and nothing fails.
    assert!((event.latency.client.p99.unwrap() - 0.005).abs() < 1e-5);
    assert_eq!(event.client.errors + event.client.timeouts, 0);
    // Email holds the orders through the outage (its breaker pauses consumption) and
    // sends them afterwards: minutes late, next to none lost.
    let email = subscriber(event, "email");
    assert!(email.queue.max_oldest_age > 150.0);
    assert!(
        email.counts.dead_lettered < 100,
        "{}",
        email.counts.dead_lettered
    );
    assert!(email.counts.breaker_opens > 0);
    assert!(email.recovery.iter().all(|d| d.recovered));
    // Analytics falls behind in the spike (250/s against 200/s of capacity) ...
    let analytics = subscriber(event, "analytics");
    assert!(
        analytics.queue.max_depth > 3_000,
        "{}",
        analytics.queue.max_depth
    );
    // ... and invoicing notices neither the outage nor analytics' backlog.
    let invoicing = subscriber(event, "invoicing");
    assert!(invoicing.latency.end_to_end.p99.unwrap() < 0.2);
    assert!(invoicing.queue.max_oldest_age < 1.0);
}

#[test]
fn poison_messages_need_a_retry_cap_and_a_dlq() {
    let runs = run_all("poison_message.toml");
    let (dlq, lost, forever) = (
        get(&runs, "dlq"),
        get(&runs, "no-dlq"),
        get(&runs, "retry-forever"),
    );
    // With a cap, every poison message is set aside after 5 attempts ...
    let poison = dlq.counts.poison;
    assert!(poison > 350, "{poison}");
    assert!(dlq.counts.dead_lettered + 5 >= poison && dlq.counts.dead_lettered <= poison);
    assert!(dlq.latency.end_to_end.p99.unwrap() < 0.2);
    // ... without a DLQ the same ones are lost instead (counted as failed) ...
    assert_eq!(lost.counts.failed, dlq.counts.dead_lettered);
    assert_eq!(lost.counts.dead_lettered, 0);
    // ... and retried forever they take over the consumers: healthy p99 grows tenfold+.
    assert_eq!(forever.counts.dead_lettered + forever.counts.failed, 0);
    assert!(forever.consumers.utilization > 0.9);
    assert!(forever.rates.retry_amplification > 1.5);
    assert!(forever.latency.end_to_end.p99.unwrap() > 10.0 * dlq.latency.end_to_end.p99.unwrap());
}

#[test]
fn a_restart_backlog_drains_at_the_spare_capacity() {
    let runs = run_all("restart_backlog.toml");
    let drain = |v: &str| {
        let d = &get(&runs, v).recovery;
        assert_eq!(d[0].kind, Kind::Restart);
        d[0].drain_seconds.expect("drained")
    };
    // To within 10% of the peak: 0.9 x 60,000 / (250 - 150) = 540 s; with 20 consumers
    // 0.9 x 60,000 / (500 - 150) = 154 s (not 0.9 x 60,000 / 500 = 108 s).
    let (ten, twenty) = (drain("10-consumers"), drain("20-consumers"));
    assert!((ten / 540.0 - 1.0).abs() < 0.1, "{ten}");
    assert!((twenty / 154.0 - 1.0).abs() < 0.15, "{twenty}");
    // A TTL caps the wait at 2 minutes, paid for in expired messages.
    // (Expiry happens at the head, as brokers do it, so what is processed waited at most
    // the TTL plus a service time.)
    let ttl = get(&runs, "ttl-2m");
    assert!(ttl.latency.end_to_end.max.unwrap() < 121.0);
    assert!(ttl.counts.expired > 20_000, "{}", ttl.counts.expired);
    assert!(get(&runs, "10-consumers").queue.max_oldest_age > 200.0);
}

#[test]
fn a_queue_cannot_fix_sustained_overload() {
    let runs = run_all("iot_firehose.toml");
    let (buffer, shed, batched) = (
        get(&runs, "buffer"),
        get(&runs, "shed"),
        get(&runs, "batched"),
    );
    // 42,000/s more in than out: the unbounded queue holds 1.26 M after 30 s, and its
    // oldest reading is nearly as old as the run.
    let growth = buffer.queue.max_depth as f64 / 30.0;
    assert!((growth / 42_000.0 - 1.0).abs() < 0.02, "{growth}/s");
    assert!(buffer.queue.max_oldest_age > 24.0);
    // Bounded: the excess is shed (84%: evicted, or waiting to be at the end), and what
    // is kept is at most 2 s old.
    let shed_share =
        (shed.counts.dropped + shed.counts.in_queue_at_end) as f64 / shed.counts.produced as f64;
    assert!((shed_share - 0.84).abs() < 0.01, "{shed_share}");
    assert!(shed.queue.max_oldest_age < 2.1);
    // Less work per reading is the fix: everything stored, in well under a millisecond.
    assert_eq!(batched.counts.completed, batched.counts.produced);
    assert!(batched.latency.end_to_end.p99.unwrap() < 0.001);
    assert!((batched.consumers.utilization - 0.625).abs() < 0.01);
}

#[test]
fn at_low_load_a_queue_only_adds_latency() {
    let runs = run_all("when_not_to_queue.toml");
    let (sync, asy) = (get(&runs, "sync"), get(&runs, "async"));
    // Nobody waits in either design (15% utilisation, no errors) ...
    assert_eq!(sync.client.errors + sync.client.timeouts, 0);
    assert!(sync.consumers.utilization < 0.2);
    // ... so the result behind a queue comes exactly the broker hop later (10 ms),
    // the same service draws being common to both.
    let (direct, queued) = (
        sync.latency.client.p99.unwrap(),
        asy.latency.end_to_end.p99.unwrap(),
    );
    assert!(
        (queued - direct - 0.010).abs() < 0.003,
        "{direct} vs {queued}"
    );
    assert!(sync.latency.client.p50.unwrap() < asy.latency.end_to_end.p50.unwrap());
}

#[test]
fn autoscaling_trades_reaction_time_for_cost() {
    let runs = run_all("autoscaling.toml");
    let (small, big, auto) = (
        get(&runs, "fixed-8"),
        get(&runs, "fixed-32"),
        get(&runs, "autoscale"),
    );
    let cost = |s: &Summary| s.cost.as_ref().unwrap().total;
    let p99 = |s: &Summary| s.latency.end_to_end.p99.unwrap();
    // 8 drown in the ramp (never recovered); 32 never wait; autoscale in between.
    assert!(small.recovery.iter().any(|d| !d.recovered));
    assert!(p99(small) > 300.0 && p99(big) < 0.5);
    assert!(p99(auto) < p99(small) / 20.0, "{}", p99(auto));
    assert!(
        cost(auto) < 0.4 * cost(big),
        "{} vs {}",
        cost(auto),
        cost(big)
    );
    assert!(auto.counts.scale_outs >= 3);
    assert!(auto.consumers.max_count > 15 && auto.consumers.mean_count < 12.0);
}

#[test]
fn a_retry_budget_starves_the_storm() {
    let runs = run_all("retry_storm.toml");
    let (storm, budget) = (get(&runs, "immediate-retries"), get(&runs, "budget"));
    assert!(storm.recovery.iter().any(|d| !d.recovered));
    assert!(budget.recovery.iter().all(|d| d.recovered));
    assert!(budget.counts.retries_denied > 0);
    // Retries stay within the budget: 10% of traffic plus the 10 saved tokens.
    assert!(budget.counts.retries as f64 <= 0.1 * budget.counts.produced as f64 + 10.0);
    // Up to the herd at 6m, nearly every call is answered.
    let rows = &runs.iter().find(|(v, _)| v == "budget").unwrap().1.rows;
    let early = rows.iter().filter(|r| r.time <= 360.0);
    let (done, arrived) = early.fold((0, 0), |(d, a), r| (d + r.completed, a + r.arrivals));
    assert!(done as f64 > 0.9 * arrived as f64, "{done} of {arrived}");
}

#[test]
fn a_queue_decouples_producers_from_consumers_in_time() {
    let runs = run_all("decoupling.toml");
    let (sync, asy) = (get(&runs, "sync"), get(&runs, "async"));
    // Sync: every call in the 4-minute deploy is refused: 60/s x 240 s = 14,400.
    assert!(
        (sync.client.errors as f64 / 14_400.0 - 1.0).abs() < 0.03,
        "{}",
        sync.client.errors
    );
    // Async: the producers notice nothing and nothing is lost ...
    assert_eq!(asy.client.errors + asy.client.timeouts, 0);
    assert_eq!(asy.counts.rejected, 0);
    let at_end = asy.counts.in_queue_at_end + asy.counts.in_flight_at_end;
    assert_eq!(asy.counts.completed + at_end, asy.counts.produced);
    // ... the messages waited out the deploy, and drained at the 60/s spare capacity.
    let d = &asy.recovery[0];
    assert_eq!(d.kind, Kind::Deploy);
    assert!(asy.queue.max_oldest_age > 230.0 && asy.queue.max_oldest_age < 250.0);
    assert!(
        (d.peak_backlog as f64 / 14_400.0 - 1.0).abs() < 0.03,
        "{}",
        d.peak_backlog
    );
    // To within 10% of the peak: 0.9 x 14,400 / 60 = 216 s.
    let drain = d.drain_seconds.unwrap();
    assert!((drain / 216.0 - 1.0).abs() < 0.1, "{drain}");
}

#[test]
fn at_least_once_redelivers_a_crashed_consumers_work() {
    let runs = run_all("at_least_once.toml");
    let (plain, idem, short) = (
        get(&runs, "not-idempotent"),
        get(&runs, "idempotent"),
        get(&runs, "short-visibility"),
    );
    for s in [plain, idem, short] {
        // Nothing lost: every crash is redelivered.
        assert_eq!(
            s.counts.dead_lettered + s.counts.failed + s.counts.rejected,
            0
        );
        assert!(
            s.counts.crashes > 450 && s.counts.crashes < 750,
            "{}",
            s.counts.crashes
        );
        let pending = s.counts.in_flight_at_end;
        assert!(s.counts.redeliveries + pending >= s.counts.crashes);
    }
    // Every crash repeats the side effect, unless the consumer is idempotent.
    // (All but those crashed in the last visibility timeout, still invisible at the end.)
    let (dup, crashes) = (plain.counts.duplicates, plain.counts.crashes);
    let pending = plain.counts.in_flight_at_end;
    assert!(
        dup <= crashes && dup + pending >= crashes,
        "{dup} of {crashes}, {pending} pending"
    );
    assert_eq!(idem.counts.duplicates, 0);
    // Redelivered messages come a visibility timeout late.
    assert!(plain.latency.end_to_end.max.unwrap() > 30.0);
    assert!(short.latency.end_to_end.p999.unwrap() < 3.0);
    assert!(short.latency.end_to_end.max.unwrap() < 10.0);
}

#[test]
fn a_bounded_queue_pushes_back_and_an_unbounded_one_hides_the_overload() {
    let runs = run_all("backpressure.toml");
    let (unbounded, reject, block) = (
        get(&runs, "unbounded"),
        get(&runs, "reject"),
        get(&runs, "block"),
    );
    // Unbounded: no caller ever hears of the overload, while the backlog reaches
    // (240 - 125) x 240 = 27,600 and the oldest message waits minutes.
    assert_eq!(unbounded.client.errors, 0);
    assert!((unbounded.queue.max_depth as f64 / 27_600.0 - 1.0).abs() < 0.05);
    assert!(unbounded.queue.max_oldest_age > 180.0);
    // Reject: the producer is told at once (errors), and the wait stays bounded.
    assert!(reject.client.errors > 20_000);
    assert_eq!(reject.queue.max_depth, 2_000);
    assert!(reject.queue.max_oldest_age < 20.0);
    // Block: no errors, but the producer's own calls now take minutes.
    assert_eq!(block.client.errors, 0);
    assert!(block.latency.client.p99.unwrap() > 60.0);
    assert_eq!(block.queue.max_depth, 2_000);
}

#[test]
fn each_dashboard_signal_moves_for_its_own_trouble() {
    let r = sim::run(&load("dashboard_signals.toml").base);
    let rows = &r.rows;
    let window = |a: f64, b: f64| rows.iter().filter(move |x| x.time > a && x.time <= b);
    let mean = |a: f64, b: f64, f: &dyn Fn(&queuelab::metrics::Row) -> f64| {
        let v: Vec<f64> = window(a, b).map(f).collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let quiet = (300.0, 540.0);
    let per_s = |x: &queuelab::metrics::Row| x.completed as f64;
    // Spike: throughput flat at the 160/s ceiling, depth up, no retries.
    assert!((mean(630.0, 840.0, &per_s) / 160.0 - 1.0).abs() < 0.05);
    assert!(window(600.0, 840.0).any(|x| x.queue_depth > 5_000));
    // Slowdown: throughput falls to a quarter of capacity (40/s) while the age climbs.
    assert!(mean(1530.0, 1800.0, &per_s) < 50.0);
    assert!(window(1500.0, 2100.0).any(|x| x.oldest_age > 240.0));
    // Failures: retries and dead letters, which are absent elsewhere.
    let retries = |a, b| mean(a, b, &|x: &queuelab::metrics::Row| x.retries as f64);
    assert!(retries(2430.0, 2700.0) > 50.0 && retries(quiet.0, quiet.1) < 1.0);
    assert!(window(2400.0, 2700.0).map(|x| x.dead_lettered).sum::<u64>() > 3_000);
    assert_eq!(
        window(quiet.0, quiet.1)
            .map(|x| x.dead_lettered)
            .sum::<u64>(),
        0
    );
    // And all three recover.
    assert_eq!(r.summary.recovery.len(), 3);
    assert!(r.summary.recovery.iter().all(|d| d.recovered));
}

#[test]
fn the_lessons_page_covers_every_bundled_scenario() {
    let page = std::fs::read_to_string(root().join("docs").join("lessons.md")).unwrap();
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    for e in std::fs::read_dir(root().join("scenarios")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".toml") {
            assert!(
                page.contains(&format!("scenarios/{name}")),
                "{name} not in docs/lessons.md"
            );
            assert!(
                readme.contains(&format!("`{name}`")),
                "{name} not in the README table"
            );
        }
    }
    // And the page names no scenario that does not exist.
    for part in page.split("scenarios/").skip(1) {
        let name: String = part
            .chars()
            .take_while(|c| *c != '`' && *c != ' ')
            .collect();
        if name.ends_with(".toml") {
            assert!(root().join("scenarios").join(&name).is_file(), "{name}");
        }
    }
}
