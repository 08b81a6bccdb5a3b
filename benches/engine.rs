//! Criterion benchmark of the event loop: M/M/4 at rho 0.9, plain and with every failure
//! feature on. Throughput is reported in events per second.
//!
//! `cargo bench --bench engine`; for the 10 M-message figure and peak memory use
//! `cargo run --release --example throughput`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use queuelab::scenario::{parse, Overrides};

const PLAIN: &str = r#"
name = "bench"
duration = 300
sample_every = 10
[[producers]]
rate = 3600.0
[consumers]
count = 4
service = { dist = "exponential", mean = "1ms" }
"#;

const FAILURES: &str = r#"
[queue]
capacity = 100000
[downstream]
failure_rate = 0.05
timeout = "20ms"
outages = [ { start = 100, end = 160, failure_rate = 0.8 } ]
[retry]
max_attempts = 4
base_delay = "10ms"
max_delay = "1s"
jitter = "full"
[delivery]
crash_rate = 0.001
visibility_timeout = "5s"
"#;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    for (name, text) in [
        ("mm4_rho090", PLAIN.to_string()),
        ("mm4_rho090_failures", format!("{PLAIN}{FAILURES}")),
    ] {
        let s = parse(&text, "bench.toml", &Overrides::default())
            .expect("valid")
            .base;
        let events = queuelab::sim::run(&s).summary.events;
        group.throughput(Throughput::Elements(events));
        group.bench_function(name, |b| b.iter(|| queuelab::sim::run(&s).summary.events));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
