//! Engine speed: events per second and peak memory.
//!
//! ```text
//! cargo run --release --example throughput            # 10 M messages per case
//! cargo run --release --example throughput -- 50000000
//! ```
//!
//! Cases: a plain M/M/4 at rho = 0.9 (the README's benchmark), and the same load with every
//! failure feature on (a 3-minute outage every hour, 5% failures, attempt timeouts, 4
//! attempts with exponential backoff and full jitter, a bounded queue, DLQ, 0.1% consumer
//! crashes with redelivery). Peak memory is the process's high-water mark (VmHWM), which
//! stays flat as the message count grows. A third case fans the failure scenario out to
//! three subscribers (one copy of each message per subscriber), on one thread and then on
//! every core (subscribers run in parallel). The last two run the plain load on ordered
//! broker semantics (Kafka partitions, SQS FIFO message groups) with keyed messages.

use queuelab::scenario::{parse, Overrides};
use std::time::Instant;

fn fanout(messages: f64) -> String {
    let mut s = scenario(messages / 3.0, true);
    s.push_str(
        r#"
[[subscribers]]
name = "a"
[[subscribers]]
name = "b"
consumers = { count = 5 }
[[subscribers]]
name = "c"
downstream = { failure_rate = 0.01 }
"#,
    );
    s
}

fn broker(messages: f64, table: &str) -> String {
    let mut s = scenario(messages, false);
    s.push_str("[keys]\ncount = 10000\n");
    s.push_str(table);
    s
}

fn scenario(messages: f64, failures: bool) -> String {
    let mean = 0.001; // 1 ms service, 4 consumers
    let rate = 0.9 * 4.0 / mean;
    let duration = messages / rate;
    let mut s = format!(
        r#"
name = "bench"
duration = {duration}
sample_every = 10
[[producers]]
rate = {rate}
[consumers]
count = 4
service = {{ dist = "exponential", mean = {mean} }}
"#
    );
    if failures {
        let outages: Vec<String> = (0..(duration / 3600.0).ceil() as u64)
            .map(|h| {
                format!(
                    "{{ start = {}, end = {}, failure_rate = 0.8 }}",
                    h * 3600 + 1800,
                    h * 3600 + 1980
                )
            })
            .collect();
        s.push_str(&format!(
            r#"
[queue]
capacity = 100000
[downstream]
failure_rate = 0.05
timeout = "20ms"
outages = [{}]
[retry]
max_attempts = 4
backoff = "exponential"
base_delay = "10ms"
max_delay = "1s"
jitter = "full"
[dlq]
enabled = true
[delivery]
crash_rate = 0.001
visibility_timeout = "5s"
"#,
            outages.join(", ")
        ));
    }
    s
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn main() {
    let messages: f64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1e7);
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a thread pool");
    for (label, text, single) in [
        ("M/M/4 rho 0.9", scenario(messages, false), true),
        (
            "M/M/4 rho 0.9 + failures, retries, outages, crashes",
            scenario(messages, true),
            true,
        ),
        (
            "the same, fanned out to 3 subscribers, 1 thread",
            fanout(messages),
            true,
        ),
        (
            "the same, fanned out to 3 subscribers, all cores",
            fanout(messages),
            false,
        ),
        (
            "M/M/4 rho 0.9 on kafka semantics (16 partitions, 10,000 keys)",
            broker(messages, "[broker]\nkind = \"kafka\"\npartitions = 16\n"),
            true,
        ),
        (
            "M/M/4 rho 0.9 on sqs-fifo semantics (10,000 message groups)",
            broker(
                messages,
                "[broker]\nkind = \"sqs-fifo\"\nthroughput_limit = 1e9\n",
            ),
            true,
        ),
    ] {
        let file =
            parse(&text, "bench.toml", &Overrides::default()).expect("benchmark scenario is valid");
        let t = Instant::now();
        let r = if single {
            one.install(|| queuelab::sim::run(&file.base))
        } else {
            queuelab::sim::run(&file.base)
        };
        let secs = t.elapsed().as_secs_f64();
        let s = &r.summary;
        assert_eq!(s.conservation.gap, 0);
        println!(
            "{label}: {} messages, {} events in {secs:.2}s = {:.1} M events/s ({:.2} M messages/s); retries {}, DLQ {}; peak RSS {:.1} MiB",
            s.counts.produced,
            s.events,
            s.events as f64 / secs / 1e6,
            s.counts.produced as f64 / secs / 1e6,
            s.counts.retries,
            s.counts.dead_lettered,
            peak_rss_mib()
        );
    }
}
