//! Data files: arrivals from a trace or a rate series, service times from
//! measurements or a histogram. Hand calculations (Lindley, M/M/c, sampling error), the
//! replay knobs, and the errors a person gets for bad data files.

use crate::common::{assert_invariants, comparable, queuelab, write};
use predicates::str::contains;
use queuelab::input::MemInputs;
use queuelab::scenario::{parse_with, Overrides, ScenarioFile, Service};
use queuelab::sim::{self, RunResult};
use std::sync::Arc;

fn load(text: &str, files: &[(&str, &str)]) -> ScenarioFile {
    let mut m = MemInputs::new();
    for (n, b) in files {
        m.insert(*n, b);
    }
    parse_with(text, "data.toml", &Overrides::default(), Arc::new(m))
        .unwrap_or_else(|e| panic!("{e}\n---\n{text}"))
}

fn run(text: &str, files: &[(&str, &str)]) -> RunResult {
    let r = sim::run(&load(text, files).base);
    assert_invariants(&r.summary);
    r
}

/// A deterministic pseudo-random sequence in [0, 1) (no dependency on the simulator's
/// own streams).
fn lcg(n: usize, seed: u64) -> Vec<f64> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect()
}

/// Irregular gaps of 0..=90 ms (whole ms), as a trace of times in seconds.
fn trace_ms(n: usize) -> (Vec<u64>, String) {
    let mut t = 0u64;
    let mut times = Vec::new();
    let mut text = String::from("time\n");
    for u in lcg(n, 7) {
        t += (u * 91.0) as u64;
        times.push(t);
        text.push_str(&format!("{}.{:03}\n", t / 1000, t % 1000));
    }
    (times, text)
}

/// Lindley's recursion for one server with constant service `s_ms`: the wait of each
/// arrival, in ms.
fn lindley(times: &[u64], s_ms: u64) -> Vec<u64> {
    let mut w = vec![0u64; times.len()];
    for i in 1..times.len() {
        let a = times[i] - times[i - 1];
        w[i] = (w[i - 1] + s_ms).saturating_sub(a);
    }
    w
}

const LINDLEY: &str = r#"
name = "lindley"
duration = "1h"
[[producers]]
arrivals = "trace"
trace = "t.csv"
SPEED
[consumers]
count = 1
service = { dist = "constant", value = "40ms" }
"#;

#[test]
fn a_trace_with_constant_service_gives_the_waits_of_lindleys_recursion() {
    let (times, text) = trace_ms(5000);
    for speed in [1u64, 2] {
        let scen = LINDLEY.replace(
            "SPEED",
            &if speed == 1 {
                String::new()
            } else {
                format!("speed = {speed}")
            },
        );
        let r = run(&scen, &[("t.csv", &text)]);
        // speed = 2 halves every gap (the times are even ms, so halving is exact in ns).
        let ns: Vec<u64> = times.iter().map(|t| t * 1_000_000 / speed).collect();
        let mut w = vec![0u64; ns.len()];
        for i in 1..ns.len() {
            w[i] = (w[i - 1] + 40_000_000).saturating_sub(ns[i] - ns[i - 1]);
        }
        if speed == 1 {
            let by_ms = lindley(&times, 40);
            assert_eq!(w, by_ms.iter().map(|x| x * 1_000_000).collect::<Vec<_>>());
        }
        let s = &r.summary;
        assert_eq!(s.counts.produced, 5000);
        assert_eq!(s.counts.completed, 5000);
        let q = &s.latency.queue_wait;
        let sum: u64 = w.iter().sum();
        let mean = sum as f64 / 5000.0 / 1e9;
        assert!(
            (q.mean.unwrap() - mean).abs() < 1e-12,
            "speed {speed}: {} vs Lindley {mean}",
            q.mean.unwrap()
        );
        assert_eq!(q.max.unwrap(), *w.iter().max().unwrap() as f64 / 1e9);
        assert!(mean > 0.005, "the trace queues: mean wait {mean}");
        let e2e = &s.latency.end_to_end;
        assert!((e2e.mean.unwrap() - (mean + 0.04)).abs() < 1e-12);
    }
}

#[test]
fn rfc3339_times_replay_from_the_first_one() {
    let text = "time,path\n2024-11-29T10:00:00Z,/a\n2024-11-29T10:00:00.030Z,/b\n2024-11-29T11:00:00.050+01:00,/c\n";
    let r = run(
        &LINDLEY.replace("SPEED", "offset = \"1s\""),
        &[("t.csv", text)],
    );
    // Arrivals at 1.000, 1.030, 1.050 s: waits 0, 10 ms, 30 ms.
    let q = &r.summary.latency.queue_wait;
    assert_eq!(r.summary.counts.produced, 3);
    assert!((q.mean.unwrap() - 0.04 / 3.0).abs() < 1e-12, "{q:?}");
    assert_eq!(q.max, Some(0.03));
}

const RATES: &str = r#"
name = "rates"
duration = "DUR"
seed = 5
[[producers]]
arrivals = "rates"
rates = "r.csv"
EXTRA
[consumers]
count = 2
service = { dist = "exponential", mean = "200ms" }
"#;

#[test]
fn a_constant_rate_series_is_the_poisson_producer_and_matches_mmc_theory() {
    let scen = RATES.replace("DUR", "20000s").replace("EXTRA", "");
    let file = load(&scen, &[("r.csv", "time,rate\n0,7\n")]);
    let r = sim::run(&file.base);
    // The same stream as `arrivals = "poisson", rate = 7`: the very same run.
    let poisson = scen.replace(
        "arrivals = \"rates\"\nrates = \"r.csv\"",
        "arrivals = \"poisson\"\nrate = 7.0",
    );
    let p = sim::run(&load(&poisson, &[]).base);
    assert_eq!(comparable(&r.summary), comparable(&p.summary));
    // And M/M/2 at rho = 0.7 from the theory module.
    let params = queuelab::theory::params_of(&file.base).expect("a textbook queue");
    let pred = queuelab::theory::predict(&params).unwrap();
    let wq = r.summary.latency.queue_wait.mean.unwrap();
    let th = pred.wq_mean.unwrap();
    assert!((wq / th - 1.0).abs() < 0.08, "Wq {wq} vs M/M/2 {th}");
    let w = r.summary.latency.end_to_end.mean.unwrap();
    assert!((w / pred.w_mean.unwrap() - 1.0).abs() < 0.05, "W {w}");
}

#[test]
fn a_rate_series_is_followed_piece_by_piece_and_speed_offset_loop_apply() {
    let series = "time,rate\n0,10\n100,50\n200,0\n";
    let per_window = |r: &RunResult, a: f64, b: f64| -> u64 {
        r.rows
            .iter()
            .filter(|row| row.time > a && row.time <= b)
            .map(|row| row.arrivals)
            .sum()
    };
    let near = |n: u64, mean: f64| (n as f64 - mean).abs() < 4.0 * mean.sqrt();
    let r = run(
        &RATES.replace("DUR", "300s").replace("EXTRA", ""),
        &[("r.csv", series)],
    );
    assert!(near(per_window(&r, 0.0, 100.0), 1000.0));
    assert!(near(per_window(&r, 100.0, 200.0), 5000.0));
    assert_eq!(per_window(&r, 200.0, 300.0), 0);
    // speed 2: the series in half the time; offset 20 s: nothing before it.
    let r = run(
        &RATES
            .replace("DUR", "300s")
            .replace("EXTRA", "speed = 2.0\noffset = \"20s\""),
        &[("r.csv", series)],
    );
    assert_eq!(per_window(&r, 0.0, 20.0), 0);
    assert!(near(per_window(&r, 20.0, 70.0), 500.0));
    assert!(near(per_window(&r, 70.0, 120.0), 2500.0));
    assert_eq!(per_window(&r, 120.0, 300.0), 0);
    // loop: period = span 200 s + last step 100 s = 300 s; scale 0.5 halves the rates.
    let r = run(
        &RATES
            .replace("DUR", "600s")
            .replace("EXTRA", "loop = true\nscale = 0.5"),
        &[("r.csv", series)],
    );
    assert!(near(per_window(&r, 300.0, 400.0), 500.0));
    assert!(near(per_window(&r, 400.0, 500.0), 2500.0));
    assert_eq!(per_window(&r, 500.0, 600.0), 0);
    // Per-minute RFC 3339 rows, as a metrics system exports them.
    let export = "time,rate\n2024-11-29T10:00:00Z,5\n2024-11-29T10:01:00Z,20\n";
    let r = run(
        &RATES.replace("DUR", "120s").replace("EXTRA", ""),
        &[("r.csv", export)],
    );
    assert!(near(per_window(&r, 0.0, 60.0), 300.0));
    assert!(near(per_window(&r, 60.0, 120.0), 1200.0));
}

#[test]
fn scale_two_doubles_the_count_and_keeps_the_shape() {
    // A burst (40/s for 20 s) in quieter traffic (5/s), irregular gaps.
    let mut t = 0.0;
    let mut text = String::new();
    for u in lcg(20_000, 3) {
        let rate = if (60.0..80.0).contains(&t) { 40.0 } else { 5.0 };
        t += -(1.0 - u).ln() / rate;
        if t >= 170.0 {
            break;
        }
        text.push_str(&format!("{t:.6}\n"));
    }
    let scen = |scale: f64| {
        format!(
            "name = \"s\"\nduration = \"180s\"\n[[producers]]\narrivals = \"trace\"\ntrace = \"t\"\nscale = {scale}\n[consumers]\ncount = 50\nservice = {{ dist = \"constant\", value = \"10ms\" }}\n"
        )
    };
    let one = run(&scen(1.0), &[("t", &text)]);
    let two = run(&scen(2.0), &[("t", &text)]);
    assert_eq!(two.summary.counts.produced, 2 * one.summary.counts.produced);
    for (a, b) in one.rows.iter().zip(&two.rows) {
        // Copies stay in the gap after their original: a window gains or loses at most
        // the copies of its last timestamp.
        assert!(
            b.arrivals.abs_diff(2 * a.arrivals) <= 2,
            "at {}: {} vs 2 x {}",
            a.time,
            b.arrivals,
            a.arrivals
        );
    }
    // offered_rate of a trace is what it produced in the interval.
    assert!(one.rows.iter().all(|r| r.offered_rate == r.arrivals as f64));
    let mid = &two.rows[70];
    assert!(
        mid.arrivals > 60,
        "the burst is still there: {}",
        mid.arrivals
    );
}

/// 5,000 "measured" times in ms: a lognormal by inversion of a logistic approximation is
/// not needed; exp of a sum of uniforms is long-tailed enough.
fn samples_ms() -> Vec<f64> {
    let u = lcg(15_000, 11);
    u.chunks(3)
        .map(|c| (20.0 * (c[0] + c[1] + c[2] - 1.5).exp() * 1000.0).round() / 1000.0)
        .collect()
}

const SERVICE: &str = r#"
name = "svc"
duration = "600s"
seed = 9
[[producers]]
rate = 200.0
[consumers]
count = 500
service = SERVICE
"#;

#[test]
fn an_empirical_sample_comes_back_with_its_mean_and_p99() {
    let xs = samples_ms();
    let text: String = xs.iter().map(|x| format!("{x}\n")).collect();
    let file = load(
        &SERVICE.replace(
            "SERVICE",
            "{ dist = \"empirical\", samples = \"p.csv\", unit = \"ms\" }",
        ),
        &[("p.csv", &text)],
    );
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n / 1e3;
    let sd = (xs.iter().map(|x| (x / 1e3 - mean).powi(2)).sum::<f64>() / n).sqrt();
    let svc = &file.base.consumers.service;
    assert!((svc.mean() - mean).abs() < 1e-12 && (svc.stddev() - sd).abs() < 1e-12);
    assert!(
        svc.describe().contains("5,000 samples"),
        "{}",
        svc.describe()
    );
    let r = sim::run(&file.base);
    assert_invariants(&r.summary);
    let l = &r.summary.latency.end_to_end;
    assert_eq!(r.summary.latency.queue_wait.max, Some(0.0), "nobody waits");
    let draws = l.count as f64;
    assert!(draws > 100_000.0);
    assert!(
        (l.mean.unwrap() - mean).abs() < 4.0 * sd / draws.sqrt(),
        "mean {} vs {mean}",
        l.mean.unwrap()
    );
    // p99 within sampling error: between the sample's quantiles 5 standard errors of a
    // proportion either side of 0.99 (and the histogram's 0.1%).
    let mut sorted = xs.clone();
    sorted.sort_by(f64::total_cmp);
    let se = (0.99 * 0.01 / draws).sqrt();
    let q = |p: f64| sorted[((p * n).ceil() as usize).min(sorted.len()) - 1] / 1e3;
    let p99 = l.p99.unwrap();
    assert!(
        p99 >= q(0.99 - 5.0 * se) * 0.999 && p99 <= q(0.99 + 5.0 * se) * 1.001,
        "p99 {p99} vs sample {}",
        q(0.99)
    );
}

#[test]
fn a_histogram_is_drawn_bucket_by_count_uniform_inside() {
    let file = load(
        &SERVICE.replace("SERVICE", "{ dist = \"histogram\", buckets = \"h.csv\" }"),
        &[("h.csv", "le,count\n0.01,1\n20ms,3\n0.05,1\n+Inf,0\n")],
    );
    let svc = &file.base.consumers.service;
    // By hand: bucket midpoints 5, 15, 35 ms with weights 1/5, 3/5, 1/5.
    assert!((svc.mean() - 0.017).abs() < 1e-15, "{}", svc.mean());
    let m2 = (0.01f64.powi(2) / 3.0
        + 3.0 * (0.01f64.powi(2) + 0.01 * 0.02 + 0.02f64.powi(2)) / 3.0
        + (0.02f64.powi(2) + 0.02 * 0.05 + 0.05f64.powi(2)) / 3.0)
        / 5.0;
    assert!((svc.stddev() - (m2 - 0.017f64.powi(2)).sqrt()).abs() < 1e-12);
    assert!(matches!(svc, Service::Histogram(_)));
    let r = sim::run(&file.base);
    let l = &r.summary.latency.end_to_end;
    let n = l.count as f64;
    assert!((l.mean.unwrap() - 0.017).abs() < 4.0 * svc.stddev() / n.sqrt());
    // 20% at or below 10 ms, 80% at or below 20 ms, nothing above 50 ms.
    let at = |x: f64| {
        r.e2e_cdf
            .iter()
            .take_while(|(t, _)| *t <= x)
            .last()
            .map_or(0.0, |p| p.1)
    };
    assert!((at(0.00999) - 0.2).abs() < 0.01, "{}", at(0.00999));
    assert!((at(0.01999) - 0.8).abs() < 0.01, "{}", at(0.01999));
    assert!(l.max.unwrap() <= 0.05 * 1.001);
}

#[test]
fn common_random_numbers_hold_across_service_laws_from_data() {
    // The same arrivals whichever law the service times come from, and each run again
    // gives the same bytes.
    let xs: String = samples_ms().iter().map(|x| format!("{x}ms\n")).collect();
    let files = [
        ("p.csv", xs.as_str()),
        ("h.csv", "le,count\n0.01,4\n0.1,1\n"),
    ];
    let (times, trace) = trace_ms(3000);
    let base = "name = \"crn\"\nduration = \"200s\"\n[[producers]]\narrivals = \"trace\"\ntrace = \"t\"\n[[producers]]\nrate = 10.0\n[consumers]\ncount = 2\nservice = { dist = \"empirical\", samples = \"p.csv\" }\n[[variants]]\nname = \"e\"\n[[variants]]\nname = \"h\"\nunset = [\"consumers.service\"]\nconsumers.service = { dist = \"histogram\", buckets = \"h.csv\" }\n[[variants]]\nname = \"c\"\nunset = [\"consumers.service\"]\nconsumers.service = { dist = \"constant\", value = \"30ms\" }\n";
    let mut all = files.to_vec();
    all.push(("t", &trace));
    let file = load(base, &all);
    let runs: Vec<RunResult> = file.runs().into_iter().map(sim::run).collect();
    let by: Vec<&Vec<(u32, u64)>> = runs.iter().map(|r| &r.produced_by).collect();
    assert_eq!(by[0], by[1]);
    assert_eq!(by[0], by[2]);
    assert_eq!(by[0][0], (0, times.len() as u64));
    for (sc, r) in file.runs().into_iter().zip(&runs) {
        assert_invariants(&r.summary);
        assert_eq!(comparable(&sim::run(sc).summary), comparable(&r.summary));
    }
}

// ---- Errors a person gets, through the command line: exit 2, file:line, what is allowed.

fn scenario_with(dir: &std::path::Path, producer: &str, service: &str) -> String {
    write(
        dir,
        "s.toml",
        &format!(
            "name = \"s\"\nduration = \"10s\"\n[[producers]]\n{producer}\n[consumers]\ncount = 1\nservice = {service}\n"
        ),
    )
}

const EXP: &str = "{ dist = \"exponential\", mean = \"10ms\" }";

#[test]
fn a_missing_trace_file_is_named_with_the_folder_it_was_looked_for_in() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario_with(
        tmp.path(),
        "arrivals = \"trace\"\ntrace = \"data/nope.csv\"",
        EXP,
    );
    let want = tmp.path().join("data/nope.csv").display().to_string();
    for cmd in ["run", "check"] {
        queuelab()
            .args([cmd, &s])
            .assert()
            .code(2)
            .stderr(contains(format!("{want}: cannot open this data file")))
            .stderr(contains("producers.0.trace"))
            .stderr(contains("relative to the scenario file's folder"));
    }
}

#[test]
fn a_timestamp_that_goes_back_is_refused_with_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let t = write(tmp.path(), "t.csv", "time\n0.5\n1.0\n0.9\n");
    let s = scenario_with(tmp.path(), "arrivals = \"trace\"\ntrace = \"t.csv\"", EXP);
    queuelab()
        .args(["check", &s])
        .assert()
        .code(2)
        .stderr(contains(format!(
            "{t}:4: `0.9` is earlier than the timestamp before it"
        )))
        .stderr(contains("allowed: seconds from the start"))
        .stderr(contains("hint: sort the trace by time"));
}

#[test]
fn an_empty_sample_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "p.csv", "# nothing measured yet\n\n");
    let s = scenario_with(
        tmp.path(),
        "rate = 5.0",
        "{ dist = \"empirical\", samples = \"p.csv\", unit = \"ms\" }",
    );
    queuelab()
        .args(["run", &s])
        .assert()
        .code(2)
        .stderr(contains(format!("{p}: this data file has no values")))
        .stderr(contains("consumers.service.samples"))
        .stderr(contains("allowed: one duration a line"));
}

#[test]
fn a_negative_duration_is_refused_with_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "p.csv", "value\n12ms\n-3ms\n");
    let s = scenario_with(
        tmp.path(),
        "rate = 5.0",
        "{ dist = \"empirical\", samples = \"p.csv\" }",
    );
    queuelab()
        .args(["check", &s])
        .assert()
        .code(2)
        .stderr(contains(format!("{p}:3: `-3ms` is negative")))
        .stderr(contains("allowed: a duration >= 0"));
}

#[test]
fn a_missing_unit_is_refused_with_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "p.csv", "12ms\n30\n");
    let s = scenario_with(
        tmp.path(),
        "rate = 5.0",
        "{ dist = \"empirical\", samples = \"p.csv\" }",
    );
    queuelab()
        .args(["run", &s])
        .assert()
        .code(2)
        .stderr(contains(format!("{p}:2: `30` has no unit")))
        .stderr(contains("allowed: a number with a unit"))
        .stderr(contains("e.g. unit = \"ms\""));
}

#[test]
fn a_bad_line_past_the_checked_head_stops_the_run_naming_it() {
    // Loading checks the first 10,000 timestamps; a bad line after them is met in the
    // run, which stops there and says where: bad input (exit 2), with the results so far
    // written.
    let tmp = tempfile::tempdir().unwrap();
    let mut text: String = (0..12_000)
        .map(|i| format!("{}\n", i as f64 / 2000.0))
        .collect();
    text.push_str("soon\n");
    let t = write(tmp.path(), "t.csv", &text);
    let s = scenario_with(tmp.path(), "arrivals = \"trace\"\ntrace = \"t.csv\"", EXP);
    queuelab().args(["check", &s]).assert().success();
    queuelab()
        .args(["run", &s, "--no-plots", "--out"])
        .arg(tmp.path().join("o"))
        .assert()
        .code(2)
        .stderr(contains(format!(
            "{t}:12001: `soon` is not a number of seconds"
        )))
        .stderr(contains("the results so far are in"));
    assert!(tmp.path().join("o/summary.json").exists());
}

#[test]
fn the_example_scenario_runs_from_its_own_folder() {
    let tmp = tempfile::tempdir().unwrap();
    queuelab()
        .args([
            "run",
            "scenarios/data/your_data.toml",
            "--quiet",
            "--no-plots",
            "--out",
        ])
        .arg(tmp.path())
        .assert()
        .success();
    let f = queuelab::scenario::load(
        crate::common::root()
            .join("scenarios/data/your_data.toml")
            .to_str()
            .unwrap(),
        &Overrides::default(),
    )
    .unwrap();
    for sc in f.runs() {
        let r = sim::run(sc);
        assert_invariants(&r.summary);
        assert!(r.summary.counts.produced > 5000);
    }
}
