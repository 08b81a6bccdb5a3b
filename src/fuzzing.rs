//! The checks the fuzz targets (fuzz/) and their regression corpus (tests/) run on an input.

use crate::scenario::{overlay, parse, Overrides};

/// A valid scenario that uses every table, for the `overrides` target.
pub const BASE_SCENARIO: &str = r#"
name = "fuzz"
duration = "20s"
sample_every = "1s"
[[producers]]
rate = 50.0
schedule = [ { at = "5s", rate = 200.0 } ]
[[producers]]
arrivals = "constant"
rate = 10.0
[queue]
capacity = 20
overflow = "drop-oldest"
[consumers]
count = 2
service = { dist = "lognormal", mean = "20ms", stddev = "30ms" }
[downstream]
failure_rate = 0.1
timeout = "100ms"
outages = [ { start = "8s", end = "10s" } ]
[retry]
max_attempts = 3
jitter = "decorrelated"
[delivery]
crash_rate = 0.05
visibility_timeout = "1s"
[client]
enqueue_latency = "1ms"
[keys]
count = 7
skew = 1.0
[[variants]]
name = "sync"
client.mode = "sync"
delivery.crash_rate = 0.0
client.timeout = "50ms"
[[variants]]
name = "fan"
consumers.down = [ { start = "2s", end = "4s" } ]
subscribers = [ { name = "a" }, { name = "b", producers = ["producer1"], consumers = { count = 1 } } ]
[[variants]]
name = "rabbit"
unset = ["retry", "queue.overflow", "delivery.visibility_timeout"]
broker = { kind = "rabbitmq", queue_type = "quorum", requeue = true, delivery_limit = 3, overflow = "reject-publish" }
"#;

/// Most events a fuzzed scenario may cost before it is skipped (keeps iterations fast).
pub const MAX_FUZZ_EVENTS: f64 = 2e5;

/// Loads `text` with `sets` (`KEY=VALUE`) applied; if it loads, runs every variant whose
/// estimated work is small and checks that every message is accounted for. Panics (the
/// fuzzer's signal) only on a broken invariant, never on bad input.
pub fn check_scenario_text(text: &str, sets: &[&str]) {
    let mut o = Overrides::default();
    for s in sets {
        match overlay::split_assignment(s, "--set") {
            Ok((k, v)) => o.sets.push((k, v)),
            Err(_) => return,
        }
    }
    let Ok(file) = parse(text, "fuzz.toml", &o) else {
        return;
    };
    for s in file.runs() {
        if crate::guard::estimate(s).events > MAX_FUZZ_EVENTS {
            continue;
        }
        let r = crate::sim::run(s);
        let c = &r.summary.counts;
        assert_eq!(c.conservation_gap(), 0, "conservation broken: {c:?}");
        for l in [
            &r.summary.latency.end_to_end,
            &r.summary.latency.queue_wait,
            &r.summary.latency.client,
        ] {
            if let (Some(a), Some(b), Some(m)) = (l.p50, l.p99, l.max) {
                assert!(
                    0.0 <= a && a <= b && b <= m,
                    "percentiles out of order: {l:?}"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_scenario_loads_with_every_variant() {
        // The `overrides` target mutates this file: if it stopped loading, the target would
        // test nothing.
        let f = parse(BASE_SCENARIO, "fuzz.toml", &Overrides::default()).unwrap();
        assert_eq!(f.variants.len(), 3);
        assert_eq!(f.variants[1].subscribers.len(), 2);
        assert_eq!(f.variants[2].broker.name(), "rabbitmq");
    }
}
