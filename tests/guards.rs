//! Resource guards and interruption: refuse what is too big, stop what outgrows its
//! budget, and keep what finished when interrupted.

use crate::common::{queuelab, write};
use predicates::prelude::*;
use predicates::str::contains;
use std::path::Path;
use std::time::Duration;

const HUGE: &str = "name = \"huge\"\nduration = \"30d\"\n[[producers]]\nrate = 10000.0\n[consumers]\ncount = 8\nservice = { dist = \"exponential\", mean = \"0.5ms\" }\n";

#[test]
fn work_far_past_one_machine_is_refused_with_the_estimate() {
    let tmp = tempfile::tempdir().unwrap();
    let scen = write(tmp.path(), "huge.toml", HUGE);
    let out = tmp.path().join("o");
    queuelab()
        .args(["run", &scen, "--out"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(
            contains("--max-events")
                .and(contains("7.78e10 events"))
                .and(contains("pass --max-events")),
        );
    assert!(!out.exists());
    // The flag moves the limit both ways.
    let small = write(tmp.path(), "small.toml", &HUGE.replace("30d", "10s"));
    queuelab()
        .args(["run", &small, "--no-plots", "--max-events", "1000", "--out"])
        .arg(&out)
        .assert()
        .code(2);
    queuelab()
        .args(["run", &small, "--no-plots", "--max-events", "1e9", "--out"])
        .arg(&out)
        .assert()
        .success();
    queuelab()
        .args(["sweep", &scen, "--vary", "consumers.count=8,9", "--out"])
        .arg(tmp.path().join("s"))
        .assert()
        .code(2)
        .stderr(contains("--max-events"));
}

#[test]
fn an_unbounded_queue_past_the_memory_budget_stops_with_its_results() {
    let tmp = tempfile::tempdir().unwrap();
    let scen = write(
        tmp.path(),
        "over.toml",
        "name = \"over\"\nduration = \"1h\"\n[[producers]]\nrate = 2000.0\n[consumers]\ncount = 1\nservice = { dist = \"exponential\", mean = \"1ms\" }\n",
    );
    let out = tmp.path().join("o");
    queuelab()
        .args(["run", &scen, "--no-plots", "--max-memory", "16MiB", "--out"])
        .arg(&out)
        .assert()
        .code(1)
        .stderr(contains("memory budget").and(contains("results so far")));
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert!(s["stopped"].as_str().unwrap().contains("--max-memory"));
    assert!(s["simulated_seconds"].as_f64().unwrap() < 3600.0);
    assert_eq!(s["conservation"]["gap"], 0);
    assert!(s["counts"]["in_queue_at_end"].as_u64().unwrap() > 100_000);
    queuelab()
        .args(["run", &scen, "--max-memory", "lots"])
        .assert()
        .code(2)
        .stderr(contains("--max-memory"));
}

#[test]
fn time_series_resolution_is_bounded() {
    let tmp = tempfile::tempdir().unwrap();
    let long = "name = \"l\"\nduration = \"30d\"\n[[producers]]\nrate = 0.01\n[consumers]\ncount = 1\nservice = { dist = \"constant\", value = \"1s\" }\n";
    let f = queuelab::scenario::parse(long, "l.toml", &Default::default()).unwrap();
    assert_eq!(
        f.base.sample_every, 3_000_000_000,
        "omitted: coarsened to keep at most a million rows"
    );
    let scen = write(
        tmp.path(),
        "l.toml",
        &long.replace(
            "duration = \"30d\"",
            "duration = \"30d\"\nsample_every = \"1s\"",
        ),
    );
    queuelab()
        .args(["check", &scen])
        .assert()
        .code(2)
        .stderr(contains("sample_every").and(contains("coarser")));
    let scen = write(tmp.path(), "y.toml", &long.replace("30d", "40000d"));
    queuelab()
        .args(["check", &scen])
        .assert()
        .code(2)
        .stderr(contains("duration").and(contains("at most")));
}

/// Starts the binary, sends SIGINT after `after`, returns (exit code, stderr).
fn interrupt(args: &[&str], out: &Path, after: Duration) -> (Option<i32>, String) {
    let bin = assert_cmd::cargo::cargo_bin("queuelab");
    let child = std::process::Command::new(bin)
        .args(args)
        .arg("--out")
        .arg(out)
        .current_dir(crate::common::root())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn ctrl_c_stops_a_long_run_and_keeps_its_results() {
    let tmp = tempfile::tempdir().unwrap();
    let scen = write(
        tmp.path(),
        "long.toml",
        "name = \"long\"\nduration = \"400d\"\nsample_every = \"1h\"\n[[producers]]\nrate = 500.0\n[consumers]\ncount = 2\nservice = { dist = \"exponential\", mean = \"2ms\" }\n",
    );
    let out = tmp.path().join("o");
    let (code, stderr) = interrupt(
        &["run", &scen, "--no-plots", "--max-events", "1e12"],
        &out,
        Duration::from_millis(1500),
    );
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert!(s["stopped"].as_str().unwrap().starts_with("interrupted"));
    assert_eq!(s["conservation"]["gap"], 0);
    assert!(out.join("timeseries.csv").is_file());
}

#[test]
fn ctrl_c_stops_a_sweep_and_keeps_every_finished_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("s");
    let (code, stderr) = interrupt(
        &[
            "sweep",
            "scenarios/flash_sale.toml",
            "--variant",
            "bounded-8",
            "--vary",
            "seed=1..2000",
            "--no-plots",
        ],
        &out,
        Duration::from_millis(2500),
    );
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("runs finished"), "{stderr}");
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    let runs: Vec<usize> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert!(!runs.is_empty() && runs.len() < 2000, "{} runs", runs.len());
    assert!(runs.windows(2).all(|w| w[0] < w[1]), "in run order");
    assert!(!out.join("sweep.partial.csv").exists());
}
