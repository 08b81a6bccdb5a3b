//! Helpers shared by the integration tests.
#![allow(dead_code)]

use queuelab::metrics::Summary;
use queuelab::scenario::{parse, Overrides, ScenarioFile};
use queuelab::sim::{self, RunResult};
use std::path::PathBuf;

/// The project root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Parses a scenario given as text, panicking with the error message.
pub fn load(text: &str) -> ScenarioFile {
    parse(text, "test.toml", &Overrides::default()).unwrap_or_else(|e| panic!("{e}\n---\n{text}"))
}

/// Runs the base scenario of `text`.
pub fn run_text(text: &str) -> RunResult {
    sim::run(&load(text).base)
}

/// Every invariant that must hold for any run.
pub fn assert_invariants(s: &Summary) {
    let c = &s.counts;
    assert_eq!(
        c.conservation_gap(),
        0,
        "conservation broken for {} / {:?}: {c:?}",
        s.scenario,
        s.variant
    );
    assert!(s.conservation.holds);
    assert!(c.accepted <= c.produced);
    assert!(c.failed_attempts <= c.attempts);
    if let Some(cap) = s.queue.capacity {
        assert!(
            s.queue.max_depth <= cap,
            "max depth {} above capacity {cap}",
            s.queue.max_depth
        );
    }
    assert!(s.queue.mean_depth >= 0.0 && s.queue.max_oldest_age >= 0.0);
    assert!(
        (0.0..=1.0 + 1e-9).contains(&s.consumers.utilization),
        "utilization {}",
        s.consumers.utilization
    );
    for l in [
        &s.latency.end_to_end,
        &s.latency.queue_wait,
        &s.latency.client,
    ] {
        if l.count == 0 {
            assert!(l.mean.is_none() && l.p50.is_none() && l.max.is_none());
            continue;
        }
        let v = [l.p50, l.p90, l.p99, l.p999, l.max].map(|x| x.expect("percentile present"));
        assert!(v[0] >= 0.0, "negative latency {l:?}");
        assert!(
            v.windows(2).all(|w| w[0] <= w[1]),
            "percentiles out of order: {l:?}"
        );
        assert!(l.mean.unwrap() >= 0.0 && l.mean.unwrap() <= v[4] + 1e-9);
    }
}

/// Summary JSON without the wall-clock field, for determinism comparisons.
pub fn comparable(s: &Summary) -> String {
    fn strip(v: &mut serde_json::Value) {
        if let Some(o) = v.as_object_mut() {
            o.remove("wall_seconds");
            if let Some(serde_json::Value::Array(subs)) = o.get_mut("subscribers") {
                subs.iter_mut().for_each(strip);
            }
        }
    }
    let mut v = serde_json::to_value(s).unwrap();
    strip(&mut v);
    v.to_string()
}

/// The binary, run from the project root.
pub fn queuelab() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("queuelab").unwrap();
    c.current_dir(root());
    c
}

/// Writes `text` to `dir/name` and returns the path as a string.
pub fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// A small bounded M/M/2 the CLI tests run in well under a second.
pub const SMALL: &str = r#"
name = "small"
seed = 3
duration = "2m"
[[producers]]
rate = 50.0
[queue]
capacity = 100
[consumers]
count = 2
service = { dist = "exponential", mean = "30ms" }
"#;
