//! Property tests over random scenarios that mix every feature.

use crate::common::{assert_invariants, comparable};
use proptest::prelude::*;
use queuelab::scenario::{parse, Overrides};
use queuelab::sim;

#[derive(Debug, Clone)]
struct Producer {
    poisson: bool,
    rate: f64,
    step: Option<(f64, f64)>,
    priority: u8,
}

#[derive(Debug, Clone)]
struct Gen {
    producers: Vec<Producer>,
    capacity: Option<u64>,
    overflow: &'static str,
    consumers: u32,
    service: String,
    failure: f64,
    timeout_ms: Option<u32>,
    outage: Option<(f64, f64, f64, f64)>,
    max_attempts: u32,
    backoff: &'static str,
    jitter: &'static str,
    in_consumer: bool,
    dlq: bool,
    crash: f64,
    idempotent: bool,
    sync: bool,
    enqueue_ms: u32,
    client_timeout_ms: Option<u32>,
    duration: f64,
    warmup: f64,
    seed: u64,
    breadth: Breadth,
}

/// The breadth features (poison messages, TTL, a warm backlog, a retry budget, the
/// breaker, autoscaling, broker kinds and keys), exercised in an async variant of their own.
#[derive(Debug, Clone)]
struct Breadth {
    poison: f64,
    ttl_ms: Option<u32>,
    ttl_dlq: bool,
    backlog: u64,
    budget: Option<(f64, f64)>,
    breaker: Option<(u32, f64, u32, u32)>,
    autoscale: Option<(u32, u32, u32, u32)>,
    /// Broker kind for the separate broker run: sqs, sqs-fifo, rabbitmq, kafka.
    kind: usize,
    /// `[keys]` count and skew, and Kafka partitions.
    keys: (u32, f64, u32),
}

const KINDS: [&str; 4] = ["sqs", "sqs-fifo", "rabbitmq", "kafka"];

fn breadth() -> impl Strategy<Value = Breadth> {
    (
        0.0..0.3f64,
        proptest::option::of(1u32..5000),
        any::<bool>(),
        0u64..200,
        proptest::option::of((0.0..1.0f64, 1.0..30.0f64)),
        proptest::option::of((1u32..30, 0.05..=1.0f64, 1u32..3000, 1u32..5)),
        proptest::option::of((1u32..4, 0u32..6, 1u32..3, 1u32..40)),
        0usize..4,
        (1u32..60, 0.0..2.0f64, 1u32..10),
    )
        .prop_map(
            |(poison, ttl_ms, ttl_dlq, backlog, budget, breaker, autoscale, kind, keys)| Breadth {
                poison,
                ttl_ms,
                ttl_dlq,
                backlog,
                budget,
                breaker,
                autoscale,
                kind,
                keys,
            },
        )
}

impl Gen {
    /// The same workload on a broker kind (a file of its own: kinds rule out some of the
    /// base's keys, which a variant cannot remove).
    fn broker_toml(&self) -> String {
        let mut g = self.clone();
        let b = &self.breadth;
        let kind = KINDS[b.kind];
        g.capacity = None;
        g.overflow = "reject";
        g.sync = false;
        if kind != "kafka" {
            g.max_attempts = 1;
        }
        if let Some((min, ..)) = b.autoscale {
            g.consumers = min;
        }
        // Producers that publish some messages twice (the broker may deduplicate them).
        let mut s = g.base_toml().replace(
            "[[producers]]\n",
            &format!(
                "[[producers]]\nduplicate_rate = {}\nduplicate_delay = \"{}ms\"\n",
                b.poison,
                100 * b.keys.2
            ),
        );
        if kind == "rabbitmq" {
            // RabbitMQ has no visibility timeout (a dead consumer's messages return at once).
            s = s.replace("visibility_timeout = \"1s\"\n", "");
        }
        if kind != "kafka" {
            // These brokers retry by their own rules: a [retry] table is refused.
            if let Some(i) = s.find("[retry]\n") {
                let end = s[i..]
                    .match_indices('\n')
                    .nth(6)
                    .map_or(s.len(), |(j, _)| i + j + 1);
                s.replace_range(i..end, "");
            }
        }
        if let Some((min, extra, step, out_above)) = b.autoscale {
            // Membership changes: Kafka pauses for a rebalance at each.
            s.push_str(&format!(
                "[autoscale]\nmin = {min}\nmax = {}\nstep = {step}\nscale_out_above = {out_above}\nscale_in_below = {}\nreaction = \"300ms\"\ncooldown = \"500ms\"\ncheck_every = \"200ms\"\n",
                min + extra,
                out_above / 2
            ));
        }
        s.push_str(&format!("[broker]\nkind = \"{kind}\"\n"));
        match kind {
            "sqs" => s.push_str(&format!(
                "max_receive_count = 3\nbatch_size = {}\n",
                b.keys.2
            )),
            "sqs-fifo" => s.push_str(&format!(
                "max_receive_count = 3\nthroughput_limit = 150.0\ndedup_window = \"{}ms\"\n",
                20 * b.keys.0
            )),
            "rabbitmq" => s.push_str(&format!(
                "queue_type = \"quorum\"\nrequeue = true\ndelivery_limit = 4\nprefetch = {}\n",
                b.keys.2
            )),
            _ => s.push_str(&format!(
                "partitions = {}\nrebalance_pause = \"200ms\"\nidempotent_producer = {}\n",
                b.keys.2, b.ttl_dlq
            )),
        }
        s.push_str(&format!(
            "[keys]\ncount = {}\nskew = {}\n",
            b.keys.0, b.keys.1
        ));
        s
    }

    fn toml(&self) -> String {
        let mut s = self.base_toml();
        self.variants_toml(&mut s);
        s
    }

    fn base_toml(&self) -> String {
        let mut s = format!(
            "name = \"prop\"\nseed = {}\nduration = {}\nwarmup = {}\nsample_every = 0.5\n",
            self.seed, self.duration, self.warmup
        );
        for p in &self.producers {
            s.push_str(&format!(
                "[[producers]]\narrivals = \"{}\"\nrate = {}\npriority = {}\n",
                if p.poisson { "poisson" } else { "constant" },
                p.rate,
                p.priority
            ));
            if let Some((at, r)) = p.step {
                s.push_str(&format!("schedule = [ {{ at = {at}, rate = {r} }} ]\n"));
            }
        }
        s.push_str("[queue]\n");
        if let Some(c) = self.capacity {
            s.push_str(&format!("capacity = {c}\n"));
        }
        s.push_str(&format!("overflow = \"{}\"\n", self.overflow));
        s.push_str(&format!(
            "[consumers]\ncount = {}\nservice = {}\n",
            self.consumers, self.service
        ));
        s.push_str(&format!("[downstream]\nfailure_rate = {}\n", self.failure));
        if let Some(t) = self.timeout_ms {
            s.push_str(&format!("timeout = \"{t}ms\"\n"));
        }
        if let Some((a, b, f, slow)) = self.outage {
            s.push_str(&format!(
                "outages = [ {{ start = {a}, end = {}, failure_rate = {f}, slowdown = {slow} }} ]\n",
                a + b
            ));
        }
        s.push_str(&format!(
            "[retry]\nmax_attempts = {}\nbackoff = \"{}\"\nbase_delay = \"50ms\"\nmax_delay = \"2s\"\njitter = \"{}\"\nin = \"{}\"\n",
            self.max_attempts,
            self.backoff,
            self.jitter,
            if self.in_consumer && !self.sync { "consumer" } else { "queue" }
        ));
        s.push_str(&format!("[dlq]\nenabled = {}\n", self.dlq));
        s.push_str(&format!(
            "[delivery]\ncrash_rate = {}\nvisibility_timeout = \"1s\"\nidempotent = {}\n",
            if self.sync { 0.0 } else { self.crash },
            self.idempotent
        ));
        s.push_str(&format!(
            "[client]\nmode = \"{}\"\nenqueue_latency = \"{}ms\"\n",
            if self.sync { "sync" } else { "async" },
            self.enqueue_ms
        ));
        if let Some(t) = self.client_timeout_ms {
            s.push_str(&format!("timeout = \"{t}ms\"\n"));
        }
        s
    }

    fn variants_toml(&self, s: &mut String) {
        // A variant that flips the design: it must see the same arrivals.
        s.push_str(&format!(
            "[[variants]]\nname = \"same\"\n[[variants]]\nname = \"flipped\"\nclient.mode = \"{}\"\ndelivery.crash_rate = 0.0\nretry.in = \"queue\"\nconsumers.down = [ {{ start = {}, end = {} }} ]\n",
            if self.sync { "async" } else { "sync" },
            self.duration * 0.5,
            self.duration * 0.6
        ));
        // Fan-out: one subscriber taking everything (it must see the base's arrivals), one
        // taking only the first producer, with its own consumers and failures.
        s.push_str(&format!(
            "[[variants]]\nname = \"fanout\"\nclient.mode = \"async\"\ndelivery.crash_rate = {}\nqueue.overflow = \"{}\"\nsubscribers = [ {{ name = \"all\" }}, {{ name = \"first\", producers = [\"producer0\"], consumers = {{ count = {} }}, downstream = {{ failure_rate = {} }} }} ]\n",
            self.crash,
            if self.overflow == "block" { "reject" } else { self.overflow },
            self.consumers % 3 + 1,
            self.failure / 2.0
        ));
        let b = &self.breadth;
        s.push_str(&format!(
            "[[variants]]\nname = \"breadth\"\nclient.mode = \"async\"\nconsumers.down = [ {{ start = {}, end = {} }} ]\ndownstream.poison_rate = {}\nqueue.initial_backlog = {}\nqueue.ttl_action = \"{}\"\nqueue.priority = true\n",
            self.duration * 0.2,
            self.duration * (0.21 + b.poison),
            b.poison,
            self.capacity.map_or(b.backlog, |c| b.backlog.min(c)),
            if b.ttl_dlq { "dlq" } else { "drop" }
        ));
        if let Some(t) = b.ttl_ms {
            s.push_str(&format!("queue.ttl = \"{t}ms\"\n"));
        }
        if let Some((ratio, burst)) = b.budget {
            s.push_str(&format!(
                "retry.budget = {ratio}\nretry.budget_burst = {burst}\n"
            ));
        }
        if let Some((min, extra, step, out_above)) = b.autoscale {
            s.push_str(&format!(
                "consumers.count = {min}\nautoscale.min = {min}\nautoscale.max = {}\nautoscale.step = {step}\nautoscale.scale_out_above = {out_above}\nautoscale.scale_in_below = {}\nautoscale.reaction = \"300ms\"\nautoscale.cooldown = \"500ms\"\nautoscale.check_every = \"200ms\"\n",
                min + extra,
                out_above / 2
            ));
        }
        if let Some((window, threshold, open_ms, probes)) = b.breaker {
            s.push_str(&format!(
                "breaker.window = {window}\nbreaker.failure_threshold = {threshold}\nbreaker.open_for = \"{open_ms}ms\"\nbreaker.half_open_probes = {probes}\n"
            ));
        }
    }
}

fn producer() -> impl Strategy<Value = Producer> {
    (
        any::<bool>(),
        0.0..300.0f64,
        proptest::option::of((0.0..20.0f64, 0.0..600.0f64)),
        0u8..3,
    )
        .prop_map(|(poisson, rate, step, priority)| Producer {
            poisson,
            rate,
            step,
            priority,
        })
}

fn service() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u32..200).prop_map(|v| format!("{{ dist = \"constant\", value = \"{v}ms\" }}")),
        (1u32..100, 0u32..200).prop_map(|(a, w)| format!(
            "{{ dist = \"uniform\", min = \"{a}ms\", max = \"{}ms\" }}",
            a + w
        )),
        (1u32..200).prop_map(|m| format!("{{ dist = \"exponential\", mean = \"{m}ms\" }}")),
        (1u32..200, 1u32..600).prop_map(|(m, s)| format!(
            "{{ dist = \"lognormal\", mean = \"{m}ms\", stddev = \"{s}ms\" }}"
        )),
        (1u32..200, 1u32..300).prop_map(|(m, s)| format!(
            "{{ dist = \"gamma\", mean = \"{m}ms\", stddev = \"{s}ms\" }}"
        )),
    ]
}

fn scenario() -> impl Strategy<Value = Gen> {
    let a = (
        proptest::collection::vec(producer(), 1..4),
        proptest::option::of(0u64..60),
        prop_oneof![Just("reject"), Just("drop-oldest"), Just("block")],
        1u32..8,
        service(),
        0.0..0.6f64,
        proptest::option::of(5u32..300),
        proptest::option::of((0.0..20.0f64, 0.1..10.0f64, 0.0..=1.0f64, 0.2..6.0f64)),
    );
    let b = (
        1u32..6,
        prop_oneof![Just("none"), Just("fixed"), Just("exponential")],
        prop_oneof![
            Just("none"),
            Just("full"),
            Just("equal"),
            Just("decorrelated")
        ],
        any::<bool>(),
        any::<bool>(),
        0.0..0.3f64,
        any::<bool>(),
        any::<bool>(),
        0u32..20,
        proptest::option::of(10u32..2000),
        (2.0..30.0f64, 0.0..0.5f64),
        any::<u64>(),
    );
    (a, b, breadth()).prop_map(|(a, b, c)| Gen {
        producers: a.0,
        capacity: a.1,
        overflow: a.2,
        consumers: a.3,
        service: a.4,
        failure: a.5,
        timeout_ms: a.6,
        outage: a.7,
        max_attempts: b.0,
        backoff: b.1,
        jitter: b.2,
        in_consumer: b.3,
        dlq: b.4,
        crash: b.5,
        idempotent: b.6,
        sync: b.7,
        enqueue_ms: b.8,
        client_timeout_ms: b.9,
        duration: b.10 .0,
        warmup: b.10 .0 * b.10 .1,
        seed: b.11 >> 1,
        breadth: c,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn every_random_scenario_keeps_the_invariants(g in scenario()) {
        let text = g.toml();
        let file = parse(&text, "prop.toml", &Overrides::default()).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let runs: Vec<_> = file.runs().into_iter().map(sim::run).collect();
        for r in &runs {
            assert_invariants(&r.summary);
            assert_finite(&r.summary, &text);
            assert_findings_agree(&r.summary, &text);
            let expected_rows = (file.base.duration / file.base.sample_every) as usize;
            prop_assert_eq!(r.rows.len(), expected_rows);
            for row in &r.rows {
                prop_assert!((0.0..=1.0 + 1e-9).contains(&row.utilization), "{:?}", row);
                prop_assert!(row.oldest_age >= 0.0);
                if let (Some(a), Some(b)) = (row.e2e_p50, row.e2e_p99) {
                    prop_assert!(a <= b);
                }
            }
            if g.dlq && r.summary.client.mode == "async" {
                prop_assert_eq!(r.summary.counts.failed, 0, "async with a DLQ fails nothing");
            }
            if !r.summary.classes.is_empty() {
                let by_tier: u64 = r.summary.classes.iter().map(|c| c.produced).sum();
                prop_assert_eq!(by_tier, r.summary.counts.produced, "every message is in a tier");
            }
            if g.idempotent {
                prop_assert_eq!(r.summary.counts.duplicates, 0);
            }
        }
        // "same" is the base file: identical to itself run again (determinism).
        let again = sim::run(file.runs()[0]);
        prop_assert_eq!(comparable(&runs[0].summary), comparable(&again.summary));
        // Common random numbers: flipping sync/async leaves the arrivals alone.
        prop_assert_eq!(runs[0].summary.counts.produced, runs[1].summary.counts.produced);
        // Fan-out: totals are the subscribers added up, each subscriber keeps the
        // invariants, and the subscriber taking every producer sees the base's arrivals.
        let fan = &runs[2].summary;
        prop_assert_eq!(fan.subscribers.len(), 2);
        let mut total = queuelab::metrics::Counts::default();
        for sub in &fan.subscribers {
            assert_invariants(&sub.summary);
            total.add(&sub.summary.counts);
        }
        prop_assert_eq!(total, fan.counts);
        prop_assert_eq!(fan.fanout.as_ref().unwrap().deliveries, fan.counts.produced);
        prop_assert_eq!(fan.subscribers[0].summary.counts.produced, runs[0].summary.counts.produced);
        prop_assert_eq!(fan.fanout.as_ref().unwrap().published, runs[0].summary.counts.produced);

        // The same workload on a broker kind: the identity, the same arrivals, and per-key
        // order wherever the kind promises it.
        let btext = g.broker_toml();
        let bfile = parse(&btext, "broker.toml", &Overrides::default()).unwrap_or_else(|e| panic!("{e}\n{btext}"));
        let br = sim::run(&bfile.base);
        assert_invariants(&br.summary);
        // (Producers' second copies come on top of the shared arrivals.)
        let published: u64 = br.produced_by.iter().map(|(_, n)| n).sum();
        prop_assert_eq!(published, runs[0].summary.counts.produced);
        prop_assert_eq!(&br.summary.broker.kind, KINDS[g.breadth.kind]);
        let ordered = match KINDS[g.breadth.kind] {
            "sqs-fifo" => true,
            "kafka" => g.in_consumer || g.max_attempts == 1,
            _ => false,
        };
        if ordered {
            prop_assert_eq!(br.summary.counts.out_of_order, 0, "{}", btext);
        }
        prop_assert_eq!(comparable(&br.summary), comparable(&sim::run(&bfile.base).summary));
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        let _ = parse(&text, "fuzz.toml", &Overrides::default());
    }

    #[test]
    fn mangled_scenarios_never_panic(g in scenario(), cut in 0usize..2000, junk in "[a-z=\\[\\]\"{}., 0-9-]{0,12}") {
        let text = g.toml();
        let cut = cut.min(text.len());
        let cut = (0..=cut).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
        let mangled = format!("{}{}{}", &text[..cut], junk, &text[cut..]);
        if let Ok(f) = parse(&mangled, "fuzz.toml", &Overrides::default()) {
            let mut s = f.base.clone();
            s.duration = s.duration.min(5_000_000_000);
            s.warmup = 0;
            assert_invariants(&sim::run(&s).summary);
        }
    }
}

/// No figure of `s` is NaN or infinite. serde_json writes both as `null` without a word, so
/// this looks through TOML, which spells them `nan` and `inf`.
pub(crate) fn assert_finite(s: &queuelab::metrics::Summary, label: &str) {
    let text = toml::to_string(s).unwrap_or_else(|e| panic!("{label}: {e}"));
    for line in text.lines() {
        let v = line.split_once(" = ").map_or("", |(_, v)| v);
        assert!(!v.contains("nan") && !v.contains("inf"), "{label}: {line}");
    }
}

/// Every whole number a finding quotes is one of the run's own figures (or a sum the
/// findings make of them), and the causes it names are there.
pub(crate) fn assert_findings_agree(s: &queuelab::metrics::Summary, label: &str) {
    fn collect(v: &serde_json::Value, out: &mut Vec<u64>) {
        match v {
            serde_json::Value::Number(n) => {
                if let Some(x) = n.as_f64() {
                    out.extend([x.floor() as u64, x.round() as u64]);
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
            serde_json::Value::Object(o) => {
                o.values().for_each(|x| collect(x, out));
                let get = |k: &str| o.get(k).and_then(|x| x.as_u64()).unwrap_or(0);
                out.push(get("errors") + get("timeouts"));
                out.push(get("rejected") + get("dropped") + get("expired"));
                out.push(get("duplicates").saturating_sub(get("duplicate_copies")));
            }
            _ => {}
        }
    }
    let json = serde_json::to_value(s).unwrap();
    let mut known = Vec::new();
    collect(&json, &mut known);

    let c = &s.counts;
    for f in queuelab::findings::sentences(s) {
        // The recovery rule printed with a verdict has a constant of its own ("at least 1
        // message"): the rule, not a figure of the run.
        let f = f.replace(queuelab::metrics::recovery::RULE, "");
        for word in f.split_whitespace() {
            let w = word.trim_matches(|ch: char| ",.;:()".contains(ch));
            if w.is_empty() || !w.chars().all(|ch| ch.is_ascii_digit() || ch == ',') {
                continue;
            }
            let n: u64 = w.replace(',', "").parse().unwrap();
            assert!(
                known.contains(&n),
                "{label}: {n} in {f:?} is no figure of the run"
            );
        }
        if f.contains("crashed") {
            assert!(c.crashes > 0, "{label}: {f}");
        }
        if f.contains("took effect more than once") {
            assert!(c.duplicates > 0 && s.client.mode == "sync", "{label}: {f}");
        }
        if f.contains("refused because the queue was full") {
            assert!(c.rejected > 0, "{label}: {f}");
        }
        if f.contains("did not recover") {
            assert!(s.recovery.iter().any(|d| !d.recovered), "{label}: {f}");
        }
        if f.contains("back to normal") && !f.contains("not back to normal") {
            assert!(s.recovery.iter().any(|d| d.recovered), "{label}: {f}");
        }
    }
}

// Every bundled scenario, every variant: no NaN or infinite figure, findings that agree
// with the run (what the report must show; the quiz half is in tests/teaching.rs).
#[test]
fn every_bundled_run_has_finite_figures_and_findings_that_agree() {
    let dir = crate::common::root().join("scenarios");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        // scenarios/data/ holds data files (and examples that are not bundled lessons).
        if path.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        let file = queuelab::scenario::load(path.to_str().unwrap(), &Overrides::default()).unwrap();
        for sc in file.runs() {
            let label = format!("{} {:?}", path.display(), sc.variant);
            let r = sim::run(sc);
            assert_finite(&r.summary, &label);
            assert_findings_agree(&r.summary, &label);
            n += 1;
        }
    }
    assert!(n > 50, "{n} runs");
}

/// A random trace, rate series and service data, and the scenario that uses them.
#[derive(Debug, Clone)]
struct DataGen {
    gaps_ms: Vec<u32>,
    scale: f64,
    speed: f64,
    looped: bool,
    rates: Vec<(u32, f64)>,
    samples_ms: Vec<u32>,
    histogram: bool,
    consumers: u32,
    capacity: Option<u64>,
    failure: f64,
    seed: u64,
}

impl DataGen {
    fn files(&self) -> queuelab::input::MemInputs {
        let mut t = 0u64;
        let mut trace = String::from("time\n");
        for g in &self.gaps_ms {
            t += u64::from(*g);
            trace.push_str(&format!("{}.{:03}\n", t / 1000, t % 1000));
        }
        let mut at = 0u32;
        let mut rates = String::from("time,rate\n");
        for (step, r) in &self.rates {
            rates.push_str(&format!("{at},{r}\n"));
            at += step;
        }
        let samples: String = self.samples_ms.iter().map(|x| format!("{x}ms\n")).collect();
        let mut hist = String::from("le,count\n");
        for (i, c) in self.samples_ms.iter().enumerate() {
            hist.push_str(&format!("{},{}\n", (i + 1) as f64 * 0.005, c % 7));
        }
        hist.push_str(&format!(
            "{},1\n",
            (self.samples_ms.len() + 1) as f64 * 0.005
        ));
        queuelab::input::MemInputs::new()
            .with("t.csv", trace)
            .with("r.csv", rates)
            .with("s.csv", samples)
            .with("h.csv", hist)
    }

    fn toml(&self) -> String {
        let service = if self.histogram {
            "{ dist = \"histogram\", buckets = \"h.csv\" }"
        } else {
            "{ dist = \"empirical\", samples = \"s.csv\" }"
        };
        let mut s = format!(
            "name = \"data\"\nseed = {}\nduration = 30\nsample_every = 0.5\n[[producers]]\narrivals = \"trace\"\ntrace = \"t.csv\"\nscale = {}\nspeed = {}\nloop = {}\n[[producers]]\narrivals = \"rates\"\nrates = \"r.csv\"\n[[producers]]\nrate = 5.0\n[consumers]\ncount = {}\nservice = {service}\n[downstream]\nfailure_rate = {}\n[retry]\nmax_attempts = 3\nbase_delay = \"20ms\"\njitter = \"full\"\n",
            self.seed, self.scale, self.speed, self.looped, self.consumers, self.failure
        );
        if let Some(c) = self.capacity {
            s.push_str(&format!("[queue]\ncapacity = {c}\n"));
        }
        s.push_str("[[variants]]\nname = \"same\"\n[[variants]]\nname = \"sync\"\nclient.mode = \"sync\"\n[[variants]]\nname = \"other-service\"\nunset = [\"consumers.service\"]\nconsumers.service = { dist = \"exponential\", mean = \"30ms\" }\n");
        s
    }
}

fn data_gen() -> impl Strategy<Value = DataGen> {
    (
        proptest::collection::vec(1u32..200, 2..400),
        prop_oneof![Just(1.0), Just(0.5), Just(1.5), Just(2.0), Just(3.25)],
        prop_oneof![Just(1.0), Just(2.0), Just(0.5)],
        any::<bool>(),
        proptest::collection::vec((1u32..20, 0.0..60.0f64), 1..6),
        proptest::collection::vec(0u32..120, 1..30),
        any::<bool>(),
        1u32..6,
        proptest::option::of(0u64..40),
        0.0..0.4f64,
        any::<u64>(),
    )
        .prop_map(|t| DataGen {
            gaps_ms: t.0,
            scale: t.1,
            speed: t.2,
            looped: t.3,
            rates: t.4,
            samples_ms: {
                let mut v = t.5;
                v.push(1);
                v
            },
            histogram: t.6,
            consumers: t.7,
            capacity: t.8,
            failure: t.9,
            seed: t.10 >> 1,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    // Data files: traces, rate series, empirical and histogram service keep the identity,
    // run the same twice, and every variant sees the same arrivals (common random numbers).
    #[test]
    fn traces_and_measured_service_keep_the_invariants(g in data_gen()) {
        let text = g.toml();
        let file = queuelab::scenario::parse_with(
            &text,
            "data.toml",
            &Overrides::default(),
            std::sync::Arc::new(g.files()),
        )
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let runs: Vec<_> = file.runs().into_iter().map(sim::run).collect();
        for r in &runs {
            assert_invariants(&r.summary);
            assert_finite(&r.summary, &text);
            prop_assert!(r.summary.stopped.is_none());
        }
        prop_assert_eq!(comparable(&runs[0].summary), comparable(&sim::run(file.runs()[0]).summary));
        prop_assert_eq!(&runs[0].produced_by, &runs[1].produced_by);
        prop_assert_eq!(&runs[0].produced_by, &runs[2].produced_by);
        if g.scale == 1.0 && g.speed == 1.0 && !g.looped {
            let total: u64 = g.gaps_ms.iter().map(|x| u64::from(*x)).sum();
            if total < 30_000 {
                prop_assert_eq!(runs[0].produced_by[0].1, g.gaps_ms.len() as u64);
            }
        }
    }
}
