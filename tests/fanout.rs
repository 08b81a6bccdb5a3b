//! Fan-out (`[[subscribers]]`): a topic copying each message to several subscribers, each with its
//! own queue and consumer group.

use crate::common::{assert_invariants, comparable, load, queuelab};
use queuelab::metrics::Counts;
use queuelab::scenario::{parse, Overrides};
use queuelab::sim;

const TOPIC: &str = r#"
name = "topic"
seed = 9
duration = "10m"
[[producers]]
name = "orders"
rate = 100.0
[[producers]]
name = "bulk"
rate = 40.0
schedule = [ { at = "4m", rate = 200.0 }, { at = "5m", rate = 40.0 } ]
[queue]
capacity = 5000
[consumers]
count = 6
service = { dist = "exponential", mean = "20ms" }
[client]
enqueue_latency = "5ms"

[[subscribers]]
name = "email"
producers = ["orders"]
downstream = { failure_rate = 0.05 }
retry = { max_attempts = 3, base_delay = "100ms" }

[[subscribers]]
name = "warehouse"

[[subscribers]]
name = "analytics"
consumers = { count = 4, service = { dist = "exponential", mean = "20ms" } }
"#;

#[test]
fn totals_add_up_every_copy_and_each_subscriber_keeps_the_identity() {
    let r = sim::run(&load(TOPIC).base);
    let s = &r.summary;
    assert_invariants(s);
    let f = s.fanout.as_ref().expect("fan-out figures");
    assert_eq!(f.subscribers, 3);
    let mut total = Counts::default();
    for sub in &s.subscribers {
        assert_invariants(&sub.summary);
        total.add(&sub.summary.counts);
    }
    assert_eq!(total, s.counts);
    assert_eq!(f.deliveries, s.counts.produced);
    // Copies: orders go to all three subscribers, bulk to two.
    let by = |name: &str| {
        &s.subscribers
            .iter()
            .find(|x| x.name == name)
            .unwrap()
            .summary
    };
    let orders = by("email").counts.produced;
    let all = by("warehouse").counts.produced;
    assert_eq!(by("analytics").counts.produced, all);
    assert_eq!(f.published, all);
    assert_eq!(f.deliveries, orders + 2 * all);
    assert_eq!(by("email").consumers.count, 6);
    assert_eq!(by("analytics").consumers.count, 4);
    assert_eq!(s.consumers.count, 16);
    // Latency totals merge every copy's histogram.
    let completed: u64 = s
        .subscribers
        .iter()
        .map(|x| x.summary.latency.end_to_end.count)
        .sum();
    assert_eq!(s.latency.end_to_end.count, completed);
    // The spike is a disturbance of the whole, analysed on the added-up time series.
    assert_eq!(s.recovery.len(), 1);
    assert_eq!(r.rows.len(), 600);
    let arrivals: u64 = r.rows.iter().map(|x| x.arrivals).sum();
    assert!(arrivals <= s.counts.produced && arrivals + 10 >= s.counts.produced);
}

#[test]
fn a_slow_subscriber_does_not_hold_back_the_others() {
    let base = sim::run(&load(TOPIC).base).summary;
    let mut o = Overrides::default();
    o.set("subscribers.analytics.consumers.count", "1");
    let slow = sim::run(&parse(TOPIC, "t.toml", &o).unwrap().base).summary;
    let get = |s: &queuelab::metrics::Summary, n: &str| {
        s.subscribers
            .iter()
            .find(|x| x.name == n)
            .unwrap()
            .summary
            .clone()
    };
    // Analytics on one consumer is overloaded (140/s at 20 ms = 2.8 consumers' work) ...
    let a = get(&slow, "analytics");
    assert!(
        a.consumers.utilization > 0.99,
        "{}",
        a.consumers.utilization
    );
    assert!(a.counts.rejected > 10_000, "{}", a.counts.rejected);
    assert!(
        a.queue.max_oldest_age > 3.0 * get(&base, "analytics").queue.max_oldest_age,
        "{} vs {}",
        a.queue.max_oldest_age,
        get(&base, "analytics").queue.max_oldest_age
    );
    // ... and the other subscribers' figures do not move at all.
    for n in ["email", "warehouse"] {
        assert_eq!(
            comparable(&get(&base, n)),
            comparable(&get(&slow, n)),
            "{n}"
        );
    }
    // Removing a subscriber does not change the others either (their streams come from
    // their names, not their positions).
    let mut o = Overrides::default();
    o.set(
        "subscribers",
        r#"[ { name = "warehouse" }, { name = "analytics", consumers = { count = 4 } } ]"#,
    );
    let fewer = sim::run(&parse(TOPIC, "t.toml", &o).unwrap().base).summary;
    assert_eq!(
        comparable(&get(&base, "warehouse")),
        comparable(&get(&fewer, "warehouse"))
    );
}

#[test]
fn subscribers_see_the_same_arrivals_and_draw_their_own_service_times() {
    let r = sim::run(&load(TOPIC).base);
    let (_, w) = &r.subscribers[1];
    let (_, a) = &r.subscribers[2];
    let arrivals = |x: &sim::RunResult| x.rows.iter().map(|r| r.arrivals).collect::<Vec<_>>();
    assert_eq!(arrivals(w), arrivals(a));
    // Same arrivals, different draws: the end-to-end distributions are not copies.
    assert_ne!(
        w.summary.latency.end_to_end.mean,
        a.summary.latency.end_to_end.mean
    );
    // And the same file runs the same, in any thread pool.
    let again = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| sim::run(&load(TOPIC).base));
    assert_eq!(comparable(&r.summary), comparable(&again.summary));
}

#[test]
fn fan_out_runs_write_per_subscriber_files_and_metrics_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("topic.toml");
    std::fs::write(&file, TOPIC).unwrap();
    let out = dir.path().join("out");
    queuelab()
        .args([
            "run",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .assert()
        .success()
        .stdout(predicates::str::contains("copies to 3 subscribers"));
    for f in [
        "summary.json",
        "timeseries.csv",
        "dashboard.png",
        "subscribers.png",
        "subscribers.svg",
        "report.html",
        "subscribers/email/timeseries.csv",
        "subscribers/analytics/dashboard.svg",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        queuelab::sweep::metric(&v, "subscribers.email.consumers.count"),
        Some(6.0)
    );
    assert_eq!(
        queuelab::sweep::metric(&v, "subscribers.2.consumers.count"),
        Some(4.0)
    );
    // plan searches one subscriber's consumers for that subscriber's target: the spike
    // brings 300/s at 20 ms = 6 consumers' work, so 7 is the least that keeps up.
    let plan = queuelab()
        .args([
            "plan",
            file.to_str().unwrap(),
            "--vary",
            "subscribers.analytics.consumers.count=1..8",
            "--target",
            "subscribers.analytics.latency.end_to_end.p99 < 1s",
            "--replications",
            "2",
        ])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&plan.get_output().stdout).to_string();
    assert!(
        text.contains("subscribers.analytics.consumers.count = 7"),
        "{text}"
    );
}

#[test]
fn a_producer_no_subscriber_takes_is_refused() {
    let text = TOPIC
        .replace(
            "name = \"warehouse\"",
            "name = \"warehouse\"\nproducers = [\"orders\"]",
        )
        .replace(
            "name = \"analytics\"",
            "name = \"analytics\"\nproducers = [\"orders\"]",
        );
    let e = parse(&text, "t.toml", &Overrides::default()).unwrap_err();
    assert!(e.message.contains("`bulk` feeds no subscriber"), "{e}");
}
