//! `queuelab fit` through the binary, and the G/G approximations (`gg_approximation`)
//! fed by a run's measured variability.

use crate::common::{queuelab, run_text, write};
use predicates::prelude::*;
use predicates::str::contains;
use rand::SeedableRng;
use rand_distr::Distribution;
use std::path::Path;

fn sample(d: impl Distribution<f64>, n: usize, seed: u64, scale: f64) -> String {
    let mut r = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..n)
        .map(|_| format!("{:.6}\n", d.sample(&mut r) * scale))
        .collect()
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

#[test]
fn fit_picks_gamma_and_writes_json_and_qq_plots() {
    let tmp = tempfile::tempdir().unwrap();
    // Gamma, shape 3, scale 10ms, written in milliseconds under a `value` header.
    let body = sample(rand_distr::Gamma::new(3.0, 0.01).unwrap(), 8000, 11, 1e3);
    let f = write(tmp.path(), "payment.csv", &format!("value\n{body}"));
    let out = tmp.path().join("fitted");
    let o = queuelab()
        .args(["fit", &f, "--unit", "ms", "--format", "json", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["best"], "gamma", "{}", v["reason"]);
    assert_eq!(v, json(&out.join("fit.json")), "stdout is fit.json");
    let cands = v["candidates"].as_array().unwrap();
    let families: Vec<&str> = cands
        .iter()
        .map(|c| c["family"].as_str().unwrap())
        .collect();
    for f in ["gamma", "lognormal", "exponential", "constant", "empirical"] {
        assert!(families.contains(&f), "{f} missing from {families:?}");
    }
    let g = cands.iter().find(|c| c["family"] == "gamma").unwrap();
    let shape = g["shape"].as_f64().unwrap();
    assert!((shape - 3.0).abs() < 0.12, "shape {shape}");
    assert!((g["mean"].as_f64().unwrap() - 0.03).abs() < 0.0006, "{g}");
    assert!(
        (g["stddev"].as_f64().unwrap() - 0.03 / 3f64.sqrt()).abs() < 0.0008,
        "{g}"
    );
    assert!(g["ks_d"].as_f64().unwrap() < v["ks_critical"].as_f64().unwrap());
    assert_eq!(
        g["paste"].as_str().unwrap(),
        format!(
            "service = {{ dist = \"gamma\", mean = \"{}\", stddev = \"{}\" }}",
            queuelab::fit::duration_text(g["mean"].as_f64().unwrap()),
            queuelab::fit::duration_text(g["stddev"].as_f64().unwrap())
        )
    );
    for c in cands {
        assert!(c["mean"].is_number() && c["stddev"].is_number() && c["ks_d"].is_number());
    }
    for f in ["fit.json", "qq.png", "qq.svg", "manifest.json"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let png = std::fs::read(out.join("qq.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    assert!(std::fs::read_to_string(out.join("qq.svg"))
        .unwrap()
        .contains("gamma (best)"));
    // The same run as text: the table, the rule and the line to paste.
    queuelab()
        .args(["fit", &f, "--unit", "ms", "--no-plots"])
        .assert()
        .success()
        .stdout(
            contains("8,000 values")
                .and(contains("best        gamma — gamma: D = "))
                .and(contains("paste       service = { dist = \"gamma\""))
                .and(contains("lognormal"))
                .and(contains("files").not()),
        );
}

#[test]
fn fit_picks_lognormal_and_exponential() {
    let tmp = tempfile::tempdir().unwrap();
    let ln = write(
        tmp.path(),
        "ln.txt",
        &sample(
            rand_distr::LogNormal::new(-3.0, 0.8).unwrap(),
            6000,
            12,
            1.0,
        ),
    );
    let o = queuelab()
        .args(["fit", &ln, "--unit", "s", "--format", "json", "--no-plots"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["best"], "lognormal", "{}", v["reason"]);
    let c = &v["candidates"][0];
    assert!((c["mu"].as_f64().unwrap() + 3.0).abs() < 0.03, "{c}");
    assert!((c["sigma"].as_f64().unwrap() - 0.8).abs() < 0.02, "{c}");
    // Values carrying their own unit need no --unit.
    let mut r = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(13);
    let e = rand_distr::Exp::new(1.0 / 0.04).unwrap();
    let body: String = (0..3000)
        .map(|_| format!("{:.4}ms\n", e.sample(&mut r) * 1e3))
        .collect();
    let ex = write(tmp.path(), "exp.txt", &body);
    queuelab()
        .args(["fit", &ex, "--no-plots"])
        .assert()
        .success()
        .stdout(
            contains("best        exponential")
                .and(contains("service = { dist = \"exponential\", mean = \"")),
        );
}

#[test]
fn fit_of_gaps_and_timestamps_says_how_far_from_poisson() {
    let tmp = tempfile::tempdir().unwrap();
    let gaps = write(
        tmp.path(),
        "gaps.txt",
        &sample(rand_distr::Exp::new(200.0).unwrap(), 20_000, 14, 1.0),
    );
    let o = queuelab()
        .args([
            "fit",
            &gaps,
            "--gaps",
            "--unit",
            "s",
            "--format",
            "json",
            "--no-plots",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["best"], "exponential");
    assert_eq!(
        v["arrivals"]["verdict"], "poisson",
        "{}",
        v["arrivals"]["sentence"]
    );
    assert!((v["arrivals"]["ca2"].as_f64().unwrap() - 1.0).abs() < 0.06);
    assert!(v["candidates"][0]["paste"]
        .as_str()
        .unwrap()
        .starts_with("arrivals = \"poisson\", rate = "));
    // Bursts: 50 arrivals 1ms apart, then a 1s pause, 40 times, as timestamps.
    let mut t = 0.0;
    let mut lines = String::from("time\n");
    for _ in 0..40 {
        for _ in 0..50 {
            lines.push_str(&format!("{t:.4}\n"));
            t += 0.001;
        }
        t += 1.0;
    }
    let ts = write(tmp.path(), "trace.csv", &lines);
    queuelab()
        .args(["fit", &ts, "--timestamps", "--no-plots"])
        .assert()
        .success()
        .stdout(
            contains("gaps between timestamps")
                .and(contains("verdict     Burstier than Poisson"))
                .and(contains("arrivals = \"trace\", trace = ")),
        );
}

#[test]
fn fit_errors_exit_2_and_name_the_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let refused = |args: &[&str], want: &[&str]| {
        let o = queuelab().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        for w in want {
            assert!(err.contains(w), "{args:?}: `{w}` not in {err}");
        }
        assert!(!err.contains("panicked"), "{err}");
    };
    let missing = tmp.path().join("nope.csv").display().to_string();
    refused(
        &["fit", &missing, "--unit", "ms"],
        &["nope.csv", "cannot open"],
    );
    let empty = write(tmp.path(), "empty.csv", "value\n");
    refused(
        &["fit", &empty, "--unit", "ms"],
        &["empty.csv", "no values"],
    );
    let one = write(tmp.path(), "one.csv", "12ms\n");
    refused(&["fit", &one], &["one.csv", "at least 2"]);
    let neg = write(tmp.path(), "neg.csv", "12\n14\n-3\n");
    refused(
        &["fit", &neg, "--unit", "ms"],
        &["neg.csv:3", "negative", ">= 0"],
    );
    let bare = write(tmp.path(), "bare.csv", "12\n14\n");
    refused(
        &["fit", &bare],
        &["bare.csv:1", "no unit", "12ms", "--unit ms"],
    );
    refused(
        &["fit", &bare, "--unit", "parsec"],
        &["--unit", "parsec", "ms"],
    );
    let back = write(tmp.path(), "back.csv", "0.5\n1.0\n0.7\n");
    refused(
        &["fit", &back, "--timestamps"],
        &["back.csv:3", "earlier than the timestamp before"],
    );
    // Nothing was written by a refused fit.
    assert!(!tmp.path().join("output").exists());
}

/// M/D/1 (Poisson arrivals, constant service): Cs² = 0, and Kingman's formula is
/// Pollaczek-Khinchine's, exact for the mean wait: lam 16/s, 50ms: Wq = 0.1 s.
#[test]
fn kingman_is_exact_for_md1_within_simulation_error() {
    let r = run_text(
        r#"
name = "md1"
seed = 5
duration = "3h"
warmup = "2m"
[[producers]]
rate = 16.0
[consumers]
count = 1
service = { dist = "constant", value = "50ms" }
"#,
    );
    let s = &r.summary;
    let g = s
        .gg_approximation
        .as_ref()
        .expect("M/D/1 gets the G/G line");
    assert_eq!(g.model, "Kingman (G/G/1)");
    assert!(g.cs2.abs() < 1e-9, "constant service: Cs² = {}", g.cs2);
    assert!((g.ca2 - 1.0).abs() < 0.03, "Poisson gaps: Ca² = {}", g.ca2);
    assert!(s.variability.service.count > 150_000 && s.variability.interarrival.count > 150_000);
    // The formula on the measured inputs is within 4% of the exact 0.1 s, and the
    // simulation within 10% of it (about 170,000 waits, strongly correlated at rho 0.8).
    assert!((g.predicted_wait - 0.1).abs() < 0.004, "{g:?}");
    assert!(
        (g.simulated_wait - g.predicted_wait).abs() < 0.1 * g.predicted_wait,
        "{g:?}"
    );
    assert_eq!(Some(g.simulated_wait), s.latency.queue_wait.mean);
    // The sentence is the numbers.
    assert!(
        g.sentence.starts_with(&format!(
            "Kingman (G/G/1) predicts mean wait {}; the simulation says {}; this run's Ca² = {:.2}, Cs² = 0.00",
            queuelab::time::human(g.predicted_wait),
            queuelab::time::human(g.simulated_wait),
            g.ca2
        )),
        "{}",
        g.sentence
    );
}

const REGULAR: &str = r#"
name = "regular"
seed = 9
duration = "1h"
warmup = "1m"
[[producers]]
arrivals = "constant"
rate = 45.0
[consumers]
count = 3
service = { dist = "lognormal", mean = "60ms", stddev = "60ms" }
"#;

/// Evenly spaced arrivals (Ca² = 0) into three consumers with lognormal service
/// (Cs² = 1): Allen-Cunneen's line is printed with the run's own numbers.
#[test]
fn allen_cunneen_beside_regular_arrivals_is_printed_and_true() {
    let r = run_text(REGULAR);
    let s = &r.summary;
    let g = s.gg_approximation.as_ref().expect("G/G/3 applies");
    assert_eq!(g.model, "Allen-Cunneen (G/G/3)");
    assert!(g.ca2 < 1e-6, "evenly spaced: Ca² = {}", g.ca2);
    assert!((g.cs2 - 1.0).abs() < 0.15, "Cs² = {}", g.cs2);
    assert!((g.rho - 0.9).abs() < 0.01, "rho {}", g.rho);
    let by_hand = queuelab::theory::allen_cunneen(
        1.0 / s.variability.interarrival.mean.unwrap(),
        s.variability.service.mean.unwrap(),
        s.variability.interarrival.scv.unwrap(),
        s.variability.service.scv.unwrap(),
        3,
    )
    .unwrap();
    assert_eq!(g.predicted_wait, by_hand);
    // Allen-Cunneen is an approximation: here within a factor of 2 of the simulation.
    assert!(
        g.predicted_wait / g.simulated_wait > 0.5 && g.predicted_wait / g.simulated_wait < 2.0,
        "{g:?}"
    );
    // The text report prints it, and summary.json carries it.
    let tmp = tempfile::tempdir().unwrap();
    let f = write(tmp.path(), "regular.toml", REGULAR);
    let out = tmp.path().join("out");
    queuelab()
        .args(["run", &f, "--no-plots", "--out"])
        .arg(&out)
        .assert()
        .success()
        .stdout(contains(format!("  G/G theory  {}", g.sentence)));
    let j = json(&out.join("summary.json"));
    assert_eq!(j["gg_approximation"]["model"], "Allen-Cunneen (G/G/3)");
    assert!(j["variability"]["interarrival"]["scv"].as_f64().unwrap() < 1e-6);
}

#[test]
fn no_gg_line_where_the_formulas_do_not_apply() {
    let base = |extra: &str, service: &str| {
        run_text(&format!(
            r#"
name = "x"
seed = 2
duration = "20m"
[[producers]]
rate = 20.0
{extra}
[consumers]
count = 1
service = {service}
"#
        ))
        .summary
    };
    let logn = "{ dist = \"lognormal\", mean = \"40ms\", stddev = \"20ms\" }";
    assert!(
        base("", logn).gg_approximation.is_some(),
        "the control applies"
    );
    // M/M/1: the textbook formula already applies; no G/G line.
    let mm1 = base("", "{ dist = \"exponential\", mean = \"40ms\" }");
    assert!(mm1.gg_approximation.is_none());
    assert!(
        mm1.variability.service.count > 1000,
        "moments are kept all the same"
    );
    // Overloaded: no steady state, no number.
    let over = base(
        "",
        "{ dist = \"lognormal\", mean = \"60ms\", stddev = \"20ms\" }",
    );
    assert!(over.gg_approximation.is_none());
    // A traffic spike (a schedule) is not a steady load.
    let spike = base("schedule = [{ at = \"5m\", rate = 22.0 }]", logn);
    assert!(spike.gg_approximation.is_none());
}
