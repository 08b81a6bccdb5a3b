//! Every kind of input error, checked against the standard: the file, the line (where the
//! problem is in the file), the key, what is wrong, and what is allowed or a suggestion.

use crate::common::queuelab;
use predicates::prelude::*;
use queuelab::error::ErrorKind;
use queuelab::scenario::{parse, Overrides};

const BASE: &str = r#"name = "e"
duration = "1m"
[[producers]]
rate = 10.0
[queue]
capacity = 5
[consumers]
count = 2
service = { dist = "exponential", mean = "10ms" }
[retry]
max_attempts = 3
base_delay = "100ms"
max_delay = "1s"
[[variants]]
name = "v"
consumers.count = 3
"#;

struct Case {
    what: &'static str,
    from: &'static str,
    to: &'static str,
    line: Option<usize>,
    key: Option<&'static str>,
    says: &'static str,
    /// Must also carry an `allowed:` or a `hint:`.
    guidance: bool,
}

const CASES: &[Case] = &[
    Case { what: "TOML syntax", from: "rate = 10.0", to: "rate = 10.0.0", line: Some(4), key: None, says: "", guidance: false },
    Case { what: "unknown top-level key", from: "duration = \"1m\"", to: "duration = \"1m\"\nsead = 3", line: Some(3), key: Some("sead"), says: "unknown key", guidance: true },
    Case { what: "unknown table", from: "[queue]", to: "[qeue]", line: Some(5), key: Some("qeue"), says: "unknown key", guidance: true },
    Case { what: "unknown nested key", from: "count = 2", to: "cont = 2", line: Some(8), key: Some("consumers.cont"), says: "unknown key", guidance: true },
    Case { what: "unknown key in a variant", from: "consumers.count = 3", to: "consumers.cuont = 3", line: Some(16), key: Some("consumers.cuont"), says: "in variant `v`: unknown key `cuont`", guidance: true },
    Case { what: "wrong type", from: "count = 2", to: "count = \"two\"", line: Some(8), key: Some("consumers.count"), says: "expected a whole number, found the string \"two\"", guidance: false },
    Case { what: "wrong type in a variant", from: "consumers.count = 3", to: "consumers.count = \"three\"", line: Some(16), key: Some("consumers.count"), says: "in variant `v`: expected a whole number", guidance: false },
    Case { what: "bad value in a variant", from: "consumers.count = 3", to: "consumers.count = 0", line: Some(16), key: Some("consumers.count"), says: "in variant `v`: must be between 1 and", guidance: false },
    Case { what: "a key nested too deeply", from: "duration = \"1m\"", to: "duration = \"1m\"\nqueue.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p = 1", line: Some(3), key: None, says: "nested too deeply", guidance: false },
    Case { what: "unknown enum value", from: "capacity = 5", to: "capacity = 5\noverflow = \"drop\"", line: Some(7), key: Some("queue.overflow"), says: "unknown value", guidance: true },
    Case { what: "bad duration", from: "\"10ms\"", to: "\"10 fortnights\"", line: Some(9), key: Some("consumers.service.mean"), says: "unknown unit", guidance: false },
    Case { what: "negative rate", from: "rate = 10.0", to: "rate = -1.0", line: Some(4), key: Some("producers.0.rate"), says: ">= 0", guidance: false },
    Case { what: "non-finite rate", from: "rate = 10.0", to: "rate = inf", line: Some(4), key: Some("producers.0.rate"), says: "finite", guidance: false },
    Case { what: "count out of range", from: "count = 2", to: "count = 0", line: Some(8), key: Some("consumers.count"), says: "between 1 and", guidance: false },
    Case { what: "negative capacity", from: "capacity = 5", to: "capacity = -5", line: Some(6), key: Some("queue.capacity"), says: ">= 0", guidance: true },
    Case { what: "probability out of range", from: "[retry]", to: "[downstream]\nfailure_rate = 2.0\n[retry]", line: Some(11), key: Some("downstream.failure_rate"), says: "between 0 and 1", guidance: true },
    Case { what: "max_attempts out of range", from: "max_attempts = 3", to: "max_attempts = 0", line: Some(11), key: Some("retry.max_attempts"), says: "between 1 and 1000", guidance: true },
    Case { what: "min above max", from: "base_delay = \"100ms\"", to: "base_delay = \"10s\"", line: Some(12), key: Some("retry.base_delay"), says: "must not be longer", guidance: false },
    Case { what: "outage ends before it starts", from: "[retry]", to: "[downstream]\noutages = [ { start = \"30s\", end = \"10s\" } ]\n[retry]", line: Some(11), key: Some("downstream.outages.0.end"), says: "after it starts", guidance: false },
    Case { what: "overlapping outages", from: "[retry]", to: "[downstream]\noutages = [ { start = \"1s\", end = \"10s\" }, { start = \"5s\", end = \"20s\" } ]\n[retry]", line: Some(11), key: Some("downstream.outages"), says: "overlap", guidance: false },
    Case { what: "warm-up longer than the run", from: "duration = \"1m\"", to: "duration = \"1m\"\nwarmup = \"2m\"", line: Some(3), key: Some("warmup"), says: "shorter than", guidance: false },
    Case { what: "schedule out of order", from: "rate = 10.0", to: "rate = 10.0\nschedule = [ { at = \"20s\", rate = 1.0 }, { at = \"10s\", rate = 2.0 } ]", line: Some(5), key: Some("producers.0.schedule.1.at"), says: "increasing", guidance: false },
    Case { what: "missing required key", from: "duration = \"1m\"\n", to: "", line: None, key: None, says: "missing required key `duration`", guidance: true },
    Case { what: "missing distribution parameter", from: "dist = \"exponential\", mean = \"10ms\"", to: "dist = \"exponential\"", line: Some(9), key: Some("consumers.service.mean"), says: "needs `mean`", guidance: true },
    Case { what: "parameter that does not apply", from: "mean = \"10ms\"", to: "mean = \"10ms\", value = 1", line: Some(9), key: Some("consumers.service.value"), says: "does not apply", guidance: false },
    Case { what: "unknown distribution", from: "\"exponential\"", to: "\"poisson\"", line: Some(9), key: Some("consumers.service.dist"), says: "unknown distribution", guidance: true },
    Case { what: "sync with crashes", from: "[retry]", to: "[client]\nmode = \"sync\"\n[delivery]\ncrash_rate = 0.1\n[retry]", line: Some(13), key: Some("delivery.crash_rate"), says: "need a broker", guidance: true },
    Case { what: "variant without a name", from: "name = \"v\"\n", to: "", line: Some(14), key: Some("variants.0.name"), says: "needs a `name`", guidance: false },
    Case { what: "name unusable as a folder", from: "name = \"e\"", to: "name = \"a/b\"", line: Some(1), key: Some("name"), says: "output folder", guidance: true },
    Case { what: "crash rate of 1", from: "[retry]", to: "[delivery]\ncrash_rate = 1.0\n[retry]", line: Some(11), key: Some("delivery.crash_rate"), says: "below 1", guidance: true },
    Case { what: "fan-out with a sync caller", from: "[retry]", to: "[client]\nmode = \"sync\"\n[[subscribers]]\nname = \"s\"\n[retry]", line: Some(11), key: Some("client.mode"), says: "asynchronous", guidance: true },
    Case { what: "key a subscriber cannot set", from: "[[variants]]", to: "[[subscribers]]\nname = \"s\"\nseed = 3\n[[variants]]", line: Some(16), key: Some("subscribers.0.seed"), says: "cannot be set per subscriber", guidance: true },
    Case { what: "unknown producer in a subscriber", from: "[[variants]]", to: "[[subscribers]]\nname = \"s\"\nproducers = [\"producer1\"]\n[[variants]]", line: Some(16), key: Some("subscribers.0.producers.0"), says: "no producer is called", guidance: true },
    Case { what: "blocking subscriber queue", from: "[[variants]]", to: "[[subscribers]]\nname = \"s\"\nqueue = { overflow = \"block\" }\n[[variants]]", line: Some(16), key: Some("subscribers.0.queue.overflow"), says: "hold back", guidance: true },
    Case { what: "bad value inside a subscriber", from: "[[variants]]", to: "[[subscribers]]\nname = \"s\"\nconsumers = { count = 0 }\n[[variants]]", line: Some(16), key: Some("subscribers.0.consumers.count"), says: "in subscriber `s`", guidance: false },
    Case { what: "consumer downtime ends before it starts", from: "count = 2", to: "count = 2\ndown = [ { start = \"30s\", end = \"10s\" } ]", line: Some(9), key: Some("consumers.down.0.end"), says: "end after it starts", guidance: false },
    Case { what: "overlapping consumer downtimes", from: "count = 2", to: "count = 2\ndown = [ { start = \"1s\", end = \"10s\" }, { start = \"5s\", end = \"20s\" } ]", line: Some(9), key: Some("consumers.down"), says: "overlap", guidance: false },
    Case { what: "broker knob of another kind", from: "[[variants]]", to: "[broker]\nkind = \"sqs\"\npartitions = 4\n[[variants]]", line: Some(16), key: Some("broker.partitions"), says: "does not apply", guidance: true },
    Case { what: "unknown broker kind", from: "[[variants]]", to: "[broker]\nkind = \"kafak\"\n[[variants]]", line: Some(15), key: Some("broker.kind"), says: "unknown value", guidance: true },
    Case { what: "SQS with a length bound", from: "[[variants]]", to: "[broker]\nkind = \"sqs\"\n[[variants]]", line: Some(6), key: Some("queue.capacity"), says: "no length bound", guidance: true },
    Case { what: "Kafka without partitions", from: "[[variants]]", to: "[broker]\nkind = \"kafka\"\n[[variants]]", line: Some(14), key: Some("broker.partitions"), says: "needs `partitions`", guidance: true },
    Case { what: "RabbitMQ with a retry policy", from: "[[variants]]", to: "[broker]\nkind = \"rabbitmq\"\n[[variants]]", line: Some(11), key: Some("retry.max_attempts"), says: "requeueing", guidance: false },
    Case { what: "a broker kind with a sync caller", from: "[retry]", to: "[client]\nmode = \"sync\"\n[broker]\nkind = \"sqs\"\n[retry]", line: Some(13), key: Some("broker.kind"), says: "needs client.mode", guidance: true },
    Case { what: "prefetch with a breaker", from: "[[variants]]", to: "[broker]\nkind = \"rabbitmq\"\nprefetch = 10\n[breaker]\nwindow = 5\n[[variants]]", line: Some(17), key: Some("breaker"), says: "not modelled", guidance: true },
    Case { what: "duplicate publishes with a sync caller", from: "rate = 10.0\n[queue]", to: "rate = 10.0\nduplicate_rate = 0.1\n[client]\nmode = \"sync\"\n[queue]", line: Some(5), key: Some("producers.0.duplicate_rate"), says: "async", guidance: true },
    Case { what: "key skew out of range", from: "[[variants]]", to: "[keys]\ncount = 10\nskew = -1.0\n[[variants]]", line: Some(16), key: Some("keys.skew"), says: "between 0", guidance: true },
    Case { what: "run too long", from: "duration = \"1m\"", to: "duration = \"20000000d\"", line: Some(2), key: Some("duration"), says: "too long", guidance: true },
];

#[test]
fn every_scenario_error_kind_is_located_and_explained() {
    let mut problems = Vec::new();
    for c in CASES {
        assert!(
            BASE.contains(c.from),
            "{}: `{}` not in the base",
            c.what,
            c.from
        );
        let text = BASE.replacen(c.from, c.to, 1);
        let e = match parse(&text, "e.toml", &Overrides::default()) {
            Ok(_) => {
                problems.push(format!("{}: accepted", c.what));
                continue;
            }
            Err(e) => e,
        };
        let shown = e.to_string();
        if e.file.as_deref() != Some("e.toml") {
            problems.push(format!("{}: no file in `{shown}`", c.what));
        }
        if c.line.is_some() && e.line != c.line {
            problems.push(format!(
                "{}: line {:?}, expected {:?}: {shown}",
                c.what, e.line, c.line
            ));
        }
        if let Some(k) = c.key {
            if e.key.as_deref() != Some(k) {
                problems.push(format!(
                    "{}: key {:?}, expected {k}: {shown}",
                    c.what, e.key
                ));
            }
        }
        if !shown.contains(c.says) {
            problems.push(format!("{}: `{shown}` does not say `{}`", c.what, c.says));
        }
        if c.guidance && e.allowed.is_none() && e.hint.is_none() {
            problems.push(format!(
                "{}: no allowed values or hint in `{shown}`",
                c.what
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_argument_error_kind_exits_2_and_names_the_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let scen = tmp.path().join("e.toml");
    std::fs::write(&scen, BASE).unwrap();
    let s = scen.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["run", s, "--set", "consumers.count"], "KEY=VALUE"),
        (
            vec!["run", s, "--set", "producers.7.rate=1"],
            "out of range",
        ),
        (
            vec!["run", s, "--set", "producers.x.rate=1"],
            "index it with a number",
        ),
        (
            vec!["run", s, "--set", "retry.max_attempts=lots"],
            "--set retry.max_attempts=lots",
        ),
        (vec!["run", s, "--duration", "forever"], "--duration"),
        (vec!["run", s, "--variant", "w"], "--variant"),
        (vec!["run", s, "--max-memory", "big"], "--max-memory"),
        (vec!["run", s, "--max-events=-5"], "--max-events"),
        (vec!["run", s, "--seed", "minus"], "--seed"),
        (vec!["sweep", s, "--vary", "consumers.count=9..1"], "--vary"),
        (
            vec![
                "sweep",
                s,
                "--vary",
                "consumers.count=1..3",
                "--threads",
                "0",
            ],
            "--threads",
        ),
        (
            vec![
                "sweep",
                s,
                "--vary",
                "consumers.count=1..3",
                "--shard",
                "4/3",
            ],
            "--shard",
        ),
        (
            vec![
                "sweep",
                s,
                "--vary",
                "consumers.count=1..3",
                "--replications",
                "0",
            ],
            "--replications",
        ),
        (
            vec!["sweep", s, "--vary", "consumers.count=0..3"],
            "consumers.count=0",
        ),
        (
            vec![
                "sweep",
                s,
                "--vary",
                "consumers.count=1..3",
                "--metric",
                "p99",
            ],
            "--metric",
        ),
        (
            vec![
                "plan",
                s,
                "--vary",
                "consumers.count=1..3",
                "--target",
                "latency.p99 < 1s",
            ],
            "did you mean",
        ),
        (
            vec![
                "plan",
                s,
                "--vary",
                "consumers.count=1..3",
                "--target",
                "fast please",
            ],
            "--target",
        ),
        (
            vec!["theory", "--arrival-rate", "0", "--service-mean", "1s"],
            "--arrival-rate",
        ),
        (vec!["run", "missing.toml"], "missing.toml"),
        (vec!["merge", "nowhere", "--out", "x"], "sweep.json"),
        (vec!["launch", s], "launch"),
    ];
    for (args, fragment) in cases {
        let out = tmp.path().join("never");
        let mut cmd = queuelab();
        cmd.args(&args);
        if matches!(args[0], "run" | "sweep") {
            cmd.arg("--out").arg(&out);
        }
        let a = cmd.assert().code(2);
        let stderr = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
        assert!(
            stderr.contains(fragment),
            "{args:?}: `{fragment}` not in:\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?} panicked");
        assert!(!out.exists(), "{args:?} wrote output");
    }
}

fn set_err(text: &str, sets: &[(&str, &str)]) -> queuelab::InputError {
    let mut o = Overrides::default();
    for (k, v) in sets {
        o.set(k, *v);
    }
    parse(text, "e.toml", &o).expect_err("refused")
}

#[test]
fn errors_have_kinds_a_program_can_match() {
    let kinds: &[(&str, &str, ErrorKind)] = &[
        ("rate = 10.0", "rate = 10.0.0", ErrorKind::Syntax),
        ("count = 2", "cont = 2", ErrorKind::UnknownKey),
        (
            "capacity = 5",
            "capacity = 5\noverflow = \"drop\"",
            ErrorKind::UnknownValue,
        ),
        ("count = 2", "count = \"two\"", ErrorKind::WrongType),
        ("duration = \"1m\"\n", "", ErrorKind::Missing),
        ("rate = 10.0", "rate = -1.0", ErrorKind::OutOfRange),
        ("\"10ms\"", "\"10 fortnights\"", ErrorKind::BadDuration),
        (
            "duration = \"1m\"",
            "duration = \"1m\"\nwarmup = \"2m\"",
            ErrorKind::Conflict,
        ),
        (
            "name = \"v\"",
            "name = \"v\"\nunset = [\"queue.ttl\"]",
            ErrorKind::Missing,
        ),
        ("name = \"e\"", "name = \"a/b\"", ErrorKind::BadName),
        (
            "[[variants]]\nname = \"v\"",
            "[[variants]]\nname = \"v\"\n[[variants]]\nname = \"v\"",
            ErrorKind::Duplicate,
        ),
        (
            "duration = \"1m\"",
            "duration = \"20000000d\"",
            ErrorKind::TooLarge,
        ),
        ("\"exponential\"", "\"poisson\"", ErrorKind::UnknownValue),
    ];
    for (from, to, kind) in kinds {
        assert!(BASE.contains(from), "{from}");
        let e = parse(&BASE.replacen(from, to, 1), "e.toml", &Overrides::default()).unwrap_err();
        assert_eq!(e.kind, *kind, "{to}: {e}");
        // The stable name a program (the browser lab) returns in JSON.
        let j = serde_json::to_value(&e).unwrap();
        assert_eq!(j["kind"], kind.name(), "{j}");
    }
    let e = set_err(BASE, &[("producers.x.rate", "1")]);
    assert_eq!(e.kind, ErrorKind::UnknownName);
    let e = queuelab::Error::from(set_err(BASE, &[("consumers.count.x", "3")]));
    assert_eq!(e.kind(), Some(ErrorKind::BadOverride));
}

#[test]
fn overlay_errors_blame_the_flag_or_the_variant_key() {
    let named = BASE.replace("[[producers]]\n", "[[producers]]\nname = \"p\"\n");
    // A bad --set value is the flag's, even where the file has a (valid) value there.
    let e = set_err(&named, &[("producers.p.rate", "-1")]);
    assert_eq!(e.file.as_deref(), Some("--set producers.p.rate=-1"), "{e}");
    assert_eq!(e.line, None, "{e}");
    assert!(e.to_string().contains(">= 0"), "{e}");
    // Through a variant too, and a wrong type from the flag in words.
    let e = set_err(&named, &[("consumers.count", "\"many\"")]);
    assert_eq!(
        e.file.as_deref(),
        Some("--set consumers.count=\"many\""),
        "{e}"
    );
    assert!(e.message.contains("expected a whole number"), "{e}");
    // Only the flag at fault is named.
    let e = set_err(
        &named,
        &[("consumers.count", "4"), ("retry.max_attempts", "0")],
    );
    assert_eq!(e.file.as_deref(), Some("--set retry.max_attempts=0"), "{e}");
    // A key inside a value that is not a table: the value's key is at fault, not `x`.
    let e = set_err(&named, &[("consumers.count.x", "3")]);
    assert_eq!(e.key.as_deref(), Some("consumers.count"), "{e}");
    assert!(e.message.contains("is a whole number, not a table"), "{e}");
    // A 120-part key gives a message about keys, not a parser's recursion limit.
    let deep = vec!["queue"; 120].join(".");
    let e = set_err(&named, &[(deep.as_str(), "1")]);
    assert!(
        e.message.contains("120 parts") && !e.message.contains("recursion"),
        "{e}"
    );
    // No Rust type names anywhere.
    for (from, to) in [
        ("count = 2", "count = 2.5"),
        ("rate = 10.0", "rate = true"),
        ("capacity = 5", "capacity = \"5\""),
    ] {
        let shown = parse(&BASE.replacen(from, to, 1), "e.toml", &Overrides::default())
            .unwrap_err()
            .to_string();
        for rust in ["i64", "f64", "u64", "u32", "struct ", "enum "] {
            assert!(!shown.contains(rust), "`{rust}` in {shown}");
        }
    }
    let e = parse(
        &BASE.replacen("capacity = 5", "capacity = \"5\"", 1),
        "e.toml",
        &Overrides::default(),
    )
    .unwrap_err();
    assert!(
        e.hint.as_deref().unwrap_or("").contains("without quotes"),
        "{e}"
    );
}

#[test]
fn a_huge_line_is_cut_around_the_caret() {
    let huge = format!("description = \"{}\"\nseed = \"x\"", "d".repeat(4 << 20));
    let text = BASE.replacen(
        "duration = \"1m\"",
        &format!("duration = \"1m\"\n{huge}"),
        1,
    );
    let e = parse(&text, "e.toml", &Overrides::default()).unwrap_err();
    assert_eq!(e.line, Some(4), "{e:?}");
    // A 4 MB value where the caret is: the line is cut around it.
    let text = BASE.replacen(
        "name = \"e\"",
        &format!("name = \"{}\"", "é".repeat(4 << 20)),
        1,
    );
    let e = parse(&text, "e.toml", &Overrides::default()).unwrap_err();
    let shown = e.to_string();
    assert!(shown.len() < 2000, "{} bytes shown", shown.len());
    assert!(shown.contains('…'), "{shown}");
    assert_eq!((e.line, e.col), (Some(1), Some(1)), "{shown}");
}

#[test]
fn the_largest_seed_is_a_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let scen = tmp.path().join("e.toml");
    std::fs::write(
        &scen,
        BASE.replace("\n[[variants]]\nname = \"v\"\nconsumers.count = 3\n", "\n"),
    )
    .unwrap();
    let out = tmp.path().join("o");
    let a = queuelab()
        .arg("run")
        .arg(&scen)
        .args([
            "--seed",
            "18446744073709551615",
            "--no-plots",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let _ = a;
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["seed"].as_u64(), Some(u64::MAX), "{}", s["seed"]);
    // A seed past u64 is --seed's own error.
    queuelab()
        .arg("run")
        .arg(&scen)
        .args(["--seed", "18446744073709551616"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--seed").and(predicates::str::contains("--set").not()));
}
