//! The binary, driven through its commands (docs/reference.md): exit statuses, messages, files.

use crate::common::{queuelab, write, SMALL};
use predicates::prelude::*;
use predicates::str::contains;
use std::path::Path;

fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap()
}

#[test]
fn run_writes_the_contract_files() {
    let tmp = tempfile::tempdir().unwrap();
    let scen = write(tmp.path(), "small.toml", SMALL);
    let out = tmp.path().join("out");
    queuelab()
        .args(["run", &scen, "--out"])
        .arg(&out)
        .assert()
        .success()
        .stdout(contains("small (seed 3)").and(contains("conservation holds")));
    for f in [
        "summary.json",
        "timeseries.csv",
        "dashboard.png",
        "dashboard.svg",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let s = read_json(&out.join("summary.json"));
    assert_eq!(s["scenario"], "small");
    assert!(s["variant"].is_null());
    assert_eq!(s["seed"], 3);
    assert_eq!(s["simulated_seconds"], 120.0);
    for key in [
        "produced",
        "accepted",
        "rejected",
        "dropped",
        "completed",
        "dead_lettered",
        "failed",
        "in_queue_at_end",
        "in_flight_at_end",
        "retry_waiting_at_end",
        "attempts",
        "failed_attempts",
        "retries",
        "redeliveries",
        "duplicates",
    ] {
        assert!(s["counts"][key].is_u64(), "counts.{key}");
    }
    for l in ["end_to_end", "queue_wait", "client"] {
        for f in ["count", "mean", "p50", "p90", "p99", "p999", "max"] {
            assert!(!s["latency"][l][f].is_null(), "latency.{l}.{f}");
        }
    }
    for (a, b) in [
        ("queue", "mean_depth"),
        ("queue", "max_depth"),
        ("queue", "max_oldest_age"),
        ("consumers", "count"),
        ("consumers", "utilization"),
        ("client", "ok"),
        ("client", "errors"),
        ("client", "timeouts"),
    ] {
        assert!(s[a][b].is_number(), "{a}.{b}");
    }
    let csv = std::fs::read_to_string(out.join("timeseries.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(header.starts_with(
        "time,arrivals,completed,rejected,retries,dead_lettered_total,queue_depth,oldest_age,in_flight,utilization,e2e_p50,e2e_p99"
    ));
    assert_eq!(csv.lines().count(), 121, "one row per second of 2 minutes");
    let png = image::open(out.join("dashboard.png")).unwrap();
    assert_eq!(
        (png.width(), png.height()),
        queuelab::report::plot::DASHBOARD_SIZE
    );
}

#[test]
fn variants_write_subfolders_and_comparisons() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("fs");
    queuelab()
        .args(["run", "scenarios/flash_sale.toml", "--no-plots", "--out"])
        .arg(&out)
        .assert()
        .success()
        .stdout(contains("variants side by side"));
    let mut produced = Vec::new();
    for v in ["bounded-8", "scaled-16", "unbounded-8"] {
        let s = read_json(&out.join(v).join("summary.json"));
        assert_eq!(s["variant"], v);
        produced.push(s["counts"]["produced"].as_u64().unwrap());
        assert!(out.join(v).join("timeseries.csv").is_file());
        assert!(!out.join(v).join("dashboard.png").exists(), "--no-plots");
    }
    assert!(
        produced.windows(2).all(|w| w[0] == w[1]),
        "every variant sees the same arrivals: {produced:?}"
    );
    assert!(out.join("comparison.csv").is_file() && out.join("comparison.json").is_file());
}

#[test]
fn one_variant_goes_straight_into_out() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("one");
    queuelab()
        .args([
            "run",
            "scenarios/flash_sale.toml",
            "--variant",
            "scaled-16",
            "--no-plots",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    assert_eq!(read_json(&out.join("summary.json"))["variant"], "scaled-16");
}

#[test]
fn json_format_prints_the_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let scen = write(tmp.path(), "small.toml", SMALL);
    let a = queuelab()
        .args(["run", &scen, "--no-plots", "--format", "json", "--out"])
        .arg(tmp.path().join("o"))
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    assert_eq!(v["scenario"], "small");
    let a = queuelab()
        .args([
            "run",
            "scenarios/flash_sale.toml",
            "--no-plots",
            "--format",
            "json",
            "--duration",
            "5m",
            "--out",
        ])
        .arg(tmp.path().join("f"))
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    assert_eq!(v.as_array().map(|a| a.len()), Some(4));
    assert_eq!(v[0]["simulated_seconds"], 300.0);
}

#[test]
fn same_file_and_seed_give_identical_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let scen = write(tmp.path(), "small.toml", SMALL);
    let mut outs = Vec::new();
    for name in ["a", "b"] {
        let out = tmp.path().join(name);
        queuelab()
            .args(["run", &scen, "--no-plots", "--out"])
            .arg(&out)
            .assert()
            .success();
        let mut s = read_json(&out.join("summary.json"));
        s.as_object_mut().unwrap().remove("wall_seconds");
        outs.push((s, std::fs::read(out.join("timeseries.csv")).unwrap()));
    }
    assert_eq!(outs[0], outs[1]);
    // A different seed gives a different run.
    let out = tmp.path().join("c");
    queuelab()
        .args(["run", &scen, "--no-plots", "--seed", "4", "--out"])
        .arg(&out)
        .assert()
        .success();
    assert_ne!(
        read_json(&out.join("summary.json"))["counts"],
        outs[0].0["counts"]
    );
}

#[test]
fn set_overrides_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let scen = write(tmp.path(), "small.toml", SMALL);
    let out = tmp.path().join("o");
    queuelab()
        .args([
            "run",
            &scen,
            "--no-plots",
            "--set",
            "consumers.count=5",
            "--set",
            "queue.overflow=drop-oldest",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    assert_eq!(
        read_json(&out.join("summary.json"))["consumers"]["count"],
        5
    );
}

/// Runs a bad invocation: exit 2, the listed fragments on stderr, nothing written.
fn refused(args: &[&str], out: &Path, fragments: &[&str]) {
    let mut cmd = queuelab();
    cmd.args(args).arg("--out").arg(out);
    let mut a = cmd.assert().code(2).stderr(contains("error:"));
    for f in fragments {
        a = a.stderr(contains(*f));
    }
    let _ = a;
}

#[test]
fn bad_scenarios_exit_2_with_located_messages() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("never");
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "typo.toml",
            SMALL.replace("[consumers]", "[consumer]"),
            vec![
                "typo.toml:9:2",
                "unknown key `consumer`",
                "did you mean `consumers`?",
            ],
        ),
        (
            "count.toml",
            SMALL.replace("count = 2", "count = 0"),
            vec!["count.toml:10:1", "consumers.count", "between 1 and"],
        ),
        (
            "unit.toml",
            SMALL.replace("\"30ms\"", "\"30 parsecs\""),
            vec!["unit.toml:11:", "unknown unit", "ms"],
        ),
        (
            "dist.toml",
            SMALL.replace("\"exponential\"", "\"exponentail\""),
            vec![
                "consumers.service.dist",
                "did you mean `exponential`?",
                "allowed:",
            ],
        ),
        (
            "prob.toml",
            format!("{SMALL}[downstream]\nfailure_rate = 1.5\n"),
            vec!["downstream.failure_rate", "between 0 and 1"],
        ),
        (
            "syntax.toml",
            SMALL.replace("rate = 50.0", "rate = = 50"),
            vec!["syntax.toml:6:8"],
        ),
        (
            "overflow.toml",
            SMALL.replace(
                "capacity = 100",
                "capacity = 100\noverflow = \"drop_oldest\"",
            ),
            vec!["unknown value `drop_oldest`", "did you mean `drop-oldest`?"],
        ),
        ("empty.toml", String::new(), vec!["missing required key"]),
        (
            "outage.toml",
            format!("{SMALL}[downstream]\noutages = [ {{ start = \"5m\", end = \"4m\" }} ]\n"),
            vec!["downstream.outages.0.end", "after it starts"],
        ),
    ];
    for (name, text, fragments) in &cases {
        let scen = write(tmp.path(), name, text);
        refused(&["run", &scen], &out, fragments);
        assert!(!out.exists(), "{name}: nothing may be written");
        queuelab().args(["check", &scen]).assert().code(2);
    }
    let garbage = tmp.path().join("garbage.toml");
    std::fs::write(&garbage, [0xffu8, 0xfe, 0, 1, 2, 3]).unwrap();
    refused(&["run", garbage.to_str().unwrap()], &out, &["garbage.toml"]);
    refused(
        &["run", "no/such/file.toml"],
        &out,
        &["no/such/file.toml", "cannot read"],
    );
    assert!(!out.exists());
}

#[test]
fn bad_arguments_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let scen = write(tmp.path(), "small.toml", SMALL);
    let out = tmp.path().join("never");
    refused(
        &["run", &scen, "--set", "consumers.cuont=3"],
        &out,
        &["--set consumers.cuont=3", "did you mean `count`?"],
    );
    refused(
        &["run", &scen, "--set", "consumers.count=many"],
        &out,
        &["--set consumers.count=many"],
    );
    refused(&["run", &scen, "--set", "novalue"], &out, &["KEY=VALUE"]);
    refused(&["run", &scen, "--duration", "soon"], &out, &["--duration"]);
    refused(
        &["run", "scenarios/flash_sale.toml", "--variant", "scaled16"],
        &out,
        &["did you mean `scaled-16`?"],
    );
    refused(&["run", &scen, "--format", "yaml"], &out, &["yaml"]);
    refused(&["run", &scen, "--frobnicate"], &out, &["frobnicate"]);
    assert!(!out.exists());
}

#[test]
fn a_failed_run_leaves_the_previous_results_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let scen = write(tmp.path(), "small.toml", SMALL);
    let out = tmp.path().join("keep");
    queuelab()
        .args(["run", &scen, "--no-plots", "--out"])
        .arg(&out)
        .assert()
        .success();
    let before = std::fs::read(out.join("summary.json")).unwrap();
    let broken = write(
        tmp.path(),
        "small.toml",
        &SMALL.replace("count = 2", "count = -2"),
    );
    queuelab()
        .args(["run", &broken, "--out"])
        .arg(&out)
        .assert()
        .code(2);
    assert_eq!(std::fs::read(out.join("summary.json")).unwrap(), before);
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}

#[test]
fn check_validates_without_running() {
    queuelab()
        .args(["check", "scenarios/flash_sale.toml"])
        .assert()
        .success()
        .stdout(contains("ok").and(contains("bounded-8")));
}

#[test]
fn theory_answers_from_flags_and_from_a_scenario() {
    queuelab()
        .args([
            "theory",
            "--arrival-rate",
            "72",
            "--service-mean",
            "200ms",
            "--consumers",
            "16",
        ])
        .assert()
        .success()
        .stdout(
            contains("M/M/16")
                .and(contains("0.9000"))
                .and(contains("mean time in system    ")),
        );
    // Times print as durations here too (as in every command's text), with the exact
    // seconds.
    queuelab()
        .args(["theory", "--arrival-rate", "5", "--service-mean", "100ms"])
        .assert()
        .success()
        .stdout(contains("mean time in system    200ms (0.200000 s)"));
    let a = queuelab()
        .args([
            "theory",
            "--arrival-rate",
            "27",
            "--service-mean",
            "0.1",
            "--consumers",
            "3",
            "--capacity",
            "5",
            "--json",
        ])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    assert!((v["p_block"].as_f64().unwrap() - 0.08527451109414101).abs() < 1e-9);
    queuelab()
        .args(["theory", "--arrival-rate", "5"])
        .assert()
        .code(2)
        .stderr(contains("--service-mean"));
}

#[test]
fn every_bundled_scenario_draws_its_pictures_and_report() {
    let tmp = tempfile::tempdir().unwrap();
    let mut names: Vec<String> = std::fs::read_dir(crate::common::root().join("scenarios"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    for name in names {
        let out = tmp.path().join(name.trim_end_matches(".toml"));
        queuelab()
            .args(["run", &format!("scenarios/{name}"), "--quiet", "--out"])
            .arg(&out)
            .assert()
            .success()
            .stdout("");
        let file = queuelab::scenario::load(
            crate::common::root()
                .join("scenarios")
                .join(&name)
                .to_str()
                .unwrap(),
            &Default::default(),
        )
        .unwrap();
        let dirs: Vec<std::path::PathBuf> = if file.variants.is_empty() {
            vec![out.clone()]
        } else {
            for f in [
                "compare.png",
                "compare.svg",
                "comparison.csv",
                "comparison.json",
            ] {
                assert!(out.join(f).is_file(), "{name}: {f}");
            }
            let png = image::open(out.join("compare.png")).unwrap();
            assert_eq!(
                (png.width(), png.height()),
                queuelab::report::plot::COMPARE_SIZE
            );
            file.variants
                .iter()
                .map(|v| out.join(v.variant.as_deref().unwrap()))
                .collect()
        };
        for d in dirs {
            let png =
                image::open(d.join("dashboard.png")).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                (png.width(), png.height()),
                queuelab::report::plot::DASHBOARD_SIZE
            );
            let svg = std::fs::read_to_string(d.join("dashboard.svg")).unwrap();
            assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
            assert!(
                svg.contains("Queue depth"),
                "{name}: panel titles are drawn as text"
            );
        }
        let png = image::open(out.join("latency_cdf.png")).unwrap();
        assert_eq!(
            (png.width(), png.height()),
            queuelab::report::plot::CDF_SIZE
        );
        let html = std::fs::read_to_string(out.join("report.html")).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
        for outside in [
            "http:", "https:", "src=", "href=", "<script", "url(", "@import",
        ] {
            assert!(
                !html.contains(outside),
                "{name}: report.html references `{outside}`"
            );
        }
        assert!(
            html.contains("What happened") && html.contains("<svg"),
            "{name}"
        );
        assert!(
            html.contains(
                &file
                    .base
                    .teaching
                    .as_ref()
                    .unwrap()
                    .question
                    .replace('"', "&quot;")
            ),
            "{name}: question shown"
        );
    }
}

#[test]
fn plots_survive_degenerate_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        ("zero-traffic", SMALL.replace("rate = 50.0", "rate = 0.0")),
        (
            "one-sample",
            SMALL.replace("duration = \"2m\"", "duration = \"1s\""),
        ),
        (
            "no-samples",
            SMALL.replace(
                "duration = \"2m\"",
                "duration = \"1s\"\nsample_every = \"2s\"",
            ),
        ),
        (
            "no-completions",
            SMALL.replace(
                "[consumers]",
                "[downstream]\nfailure_rate = 1.0\n[consumers]",
            ),
        ),
    ];
    for (name, text) in cases {
        let scen = write(tmp.path(), &format!("{name}.toml"), &text);
        let out = tmp.path().join(name);
        queuelab()
            .args(["run", &scen, "--out"])
            .arg(&out)
            .assert()
            .success();
        assert!(image::open(out.join("dashboard.png")).is_ok(), "{name}");
        assert!(out.join("report.html").is_file(), "{name}");
    }
}

#[test]
fn quiz_scores_answers_given_by_flag() {
    let out = queuelab()
        .args([
            "quiz",
            "scenarios/flash_sale.toml",
            "--variant",
            "bounded-8",
            "--json",
        ])
        .args([
            "--answer",
            "peak_backlog=50000",
            "--answer",
            "oldest_age=25s",
            "--answer",
            "p99=250",
        ])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let by_key = |k: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|q| q["question"]["key"] == k)
            .unwrap()
            .clone()
    };
    // The queue caps the backlog at 50,000: an exact guess scores 100.
    assert_eq!(by_key("peak_backlog")["actual"], 50000.0);
    assert_eq!(by_key("peak_backlog")["score"], 100.0);
    // 25 s against ~250 s is a factor of ten: 0.
    assert!(by_key("oldest_age")["score"].as_f64().unwrap() <= 1.0);
    assert_eq!(by_key("p99")["score"], 100.0);
    // Unanswered questions are shown with the run's value and no score.
    assert!(by_key("drain_time")["score"].is_null());
    // The back-of-envelope estimates land near the run (that is the lesson).
    for k in [
        "peak_backlog",
        "oldest_age",
        "drain_time",
        "p99",
        "error_rate",
    ] {
        let q = by_key(k);
        let (est, act) = (
            q["question"]["estimate"].as_f64().unwrap(),
            q["actual"].as_f64().unwrap(),
        );
        assert!(
            queuelab::quiz::score(est, act) >= 60.0,
            "{k}: estimate {est} vs run {act}"
        );
    }
    queuelab()
        .args([
            "quiz",
            "scenarios/flash_sale.toml",
            "--answer",
            "peak_backlogg=5",
        ])
        .assert()
        .code(2)
        .stderr(contains("did you mean `peak_backlog`?"));
    queuelab()
        .args(["quiz", "scenarios/flash_sale.toml", "--answer", "p99=soon"])
        .assert()
        .code(2)
        .stderr(contains("--answer p99=soon"));
    queuelab()
        .args(["quiz", "scenarios/flash_sale.toml", "--answer", "p99=100"])
        .assert()
        .success()
        .stdout(contains("back of the envelope").and(contains("score:")));
}

#[test]
fn list_shows_each_scenario_and_its_question() {
    queuelab()
        .args(["list", "scenarios"])
        .assert()
        .success()
        .stdout(
            contains("scenarios/flash_sale.toml")
                .and(contains("What happens to latency when traffic jumps 10x"))
                .and(contains("variants: bounded-8")),
        );
}

#[test]
fn one_vocabulary_across_commands() {
    // One vocabulary of flags: --format text|json wherever there is output, --variant and
    // --set wherever a scenario is read, --seed where runs are made; the old --json still
    // works.
    let tmp = tempfile::tempdir().unwrap();
    let scen = write(tmp.path(), "small.toml", SMALL);
    let json = |args: &[&str]| -> serde_json::Value {
        let a = queuelab().args(args).assert().success();
        serde_json::from_slice(&a.get_output().stdout).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    };
    let v = json(&[
        "check",
        &scen,
        "--set",
        "consumers.count=3",
        "--format",
        "json",
    ]);
    assert_eq!(
        (v["ok"].clone(), v["consumers"].clone()),
        (true.into(), 3.into())
    );
    let v = json(&[
        "check",
        "scenarios/flash_sale.toml",
        "--variant",
        "bounded-8",
        "--seed",
        "5",
        "--format",
        "json",
    ]);
    assert_eq!(
        (v["variant"].clone(), v["seed"].clone()),
        ("bounded-8".into(), 5.into())
    );
    // theory: a scenario with --set; --format json and the old --json agree.
    let a = json(&[
        "theory",
        &scen,
        "--set",
        "consumers.count=3",
        "--format",
        "json",
    ]);
    let b = json(&["theory", &scen, "--set", "consumers.count=3", "--json"]);
    assert_eq!(a, b);
    assert!(
        (a["utilization"].as_f64().unwrap() - 0.5).abs() < 1e-3,
        "{a}"
    );
    queuelab()
        .args([
            "theory",
            "--arrival-rate",
            "5",
            "--service-mean",
            "1ms",
            "--set",
            "x=1",
        ])
        .assert()
        .code(2)
        .stderr(contains("--set"));
    // quiz: --set and --seed reach the run it marks.
    let q = json(&[
        "quiz",
        &scen,
        "--set",
        "consumers.count=3",
        "--seed",
        "8",
        "--format",
        "json",
    ]);
    assert!(
        q.to_string().contains("utilisation 0.50"),
        "3 consumers at 50/s x 30ms: {q}"
    );
    // sweep: --format json, --seed, --variant and --set.
    let out = tmp.path().join("sw");
    let s = json(&[
        "sweep",
        &scen,
        "--vary",
        "consumers.count=2,3",
        "--replications",
        "2",
        "--seed",
        "21",
        "--set",
        "queue.capacity=50",
        "--no-plots",
        "--format",
        "json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(s["points"].as_array().unwrap().len(), 2);
    assert!(s["points"][0]["ci_low"].is_number());
    let manifest = read_json(&out.join("sweep.json"));
    assert_eq!(manifest["spec"]["base_seed"], 21);
}

#[test]
fn sweep_prints_durations_as_durations() {
    // The sweep table once printed raw seconds ("0.3042") where every other command
    // prints durations ("304ms").
    let tmp = tempfile::tempdir().unwrap();
    let scen = write(tmp.path(), "small.toml", SMALL);
    let a = queuelab()
        .args([
            "sweep",
            &scen,
            "--vary",
            "consumers.count=2,3",
            "--replications",
            "2",
        ])
        .args(["--no-plots", "--out"])
        .arg(tmp.path().join("d"))
        .assert()
        .success();
    let text = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("consumers.count=2"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("ms ["), "{line}");
    assert!(!line.contains("0."), "raw seconds in {line}");
}
