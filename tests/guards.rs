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
    let start = std::time::Instant::now();
    interrupt_when(args, out, move || start.elapsed() >= after)
}

/// Like [`interrupt`], but sends SIGINT as soon as `ready` holds (at most 120 s).
fn interrupt_when(args: &[&str], out: &Path, ready: impl Fn() -> bool) -> (Option<i32>, String) {
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
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while !ready() {
        assert!(std::time::Instant::now() < deadline, "never ready");
        std::thread::sleep(Duration::from_millis(20));
    }
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
    // Interrupt once a run has finished (watching the staging folder's partial file), not
    // after a fixed delay: on a loaded machine no run may have finished in 2.5 s.
    let watch = tmp.path().to_path_buf();
    let (code, stderr) = interrupt_when(
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
        move || {
            std::fs::read_dir(&watch)
                .unwrap()
                .filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with(".s.queuelab-"))
                .filter_map(|e| std::fs::read_to_string(e.path().join("sweep.partial.csv")).ok())
                .any(|t| t.lines().count() >= 3)
        },
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

const SMALL: &str = "name = \"g\"\nduration = \"10s\"\n[[producers]]\nrate = 50.0\n[consumers]\ncount = 2\nservice = { dist = \"exponential\", mean = \"10ms\" }\n";

fn scen(dir: &Path, extra: &str) -> String {
    write(dir, "g.toml", &format!("{SMALL}{extra}"))
}

#[test]
fn sizes_past_what_a_machine_holds_are_refused_or_computed_without_allocating() {
    let tmp = tempfile::tempdir().unwrap();
    // Huge capacities: the run and its theory block neither panic nor allocate per place.
    for cap in ["9223372036854775807", "1099511627776"] {
        let s = scen(tmp.path(), &format!("[queue]\ncapacity = {cap}\n"));
        let out = tmp.path().join(format!("o{cap}"));
        queuelab()
            .args(["run", &s, "--no-plots", "--out"])
            .arg(&out)
            .timeout(Duration::from_secs(60))
            .assert()
            .success();
        queuelab()
            .args(["theory", &s, "--json"])
            .timeout(Duration::from_secs(60))
            .assert()
            .success()
            .stdout(contains("M/M/2/").and(contains("NaN").not()));
    }
    // theory --capacity u64::MAX: consumers + capacity once wrapped.
    queuelab()
        .args([
            "theory",
            "--arrival-rate",
            "150",
            "--service-mean",
            "10ms",
            "--consumers",
            "2",
        ])
        .args(["--capacity", "18446744073709551615", "--json"])
        .timeout(Duration::from_secs(60))
        .assert()
        .success()
        .stdout(contains("\"throughput\": 150").or(contains("\"throughput\": 149.9")));
    // A warm backlog past 2^31 messages is refused: message ids are u32 (model::message).
    let s = scen(tmp.path(), "[queue]\ninitial_backlog = 1000000000000\n");
    let out = tmp.path().join("warm");
    queuelab()
        .args(["run", &s, "--no-plots", "--max-events", "1e20", "--out"])
        .arg(&out)
        .timeout(Duration::from_secs(60))
        .assert()
        .code(2)
        .stderr(contains("queue.initial_backlog").and(contains("at most 2147483648")));
    assert!(!out.exists());
    // One of 2^31 is measured against --max-memory before it is stored.
    let s = scen(tmp.path(), "[queue]\ninitial_backlog = 2147483648\n");
    queuelab()
        .args(["run", &s, "--no-plots", "--max-events", "1e20", "--out"])
        .arg(&out)
        .timeout(Duration::from_secs(60))
        .assert()
        .code(2)
        .stderr(
            contains("queue.initial_backlog")
                .and(contains("memory budget"))
                .and(contains("--max-memory")),
        );
    assert!(!out.exists());
    // ... and counted by the work estimate.
    queuelab()
        .args(["run", &s, "--no-plots", "--max-events", "1e9", "--out"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(contains("--max-events"));
}

#[test]
fn theory_refuses_inputs_that_are_not_numbers() {
    for (flag, value) in [
        ("--service-scv", "nan"),
        ("--service-scv", "inf"),
        ("--arrival-rate", "nan"),
    ] {
        let mut args = vec!["theory", "--arrival-rate", "5", "--service-mean", "100ms"];
        if flag == "--arrival-rate" {
            args[2] = value;
        } else {
            args.extend([flag, value]);
        }
        queuelab()
            .args(&args)
            .assert()
            .code(2)
            .stderr(contains(flag))
            .stdout(contains("NaN").not());
    }
    // A load that overflows, and more consumers than the formulas take.
    queuelab()
        .args([
            "theory",
            "--arrival-rate",
            "1e300",
            "--service-mean",
            "1000000000s",
        ])
        .assert()
        .code(2)
        .stderr(contains("too large"));
    queuelab()
        .args([
            "theory",
            "--arrival-rate",
            "5",
            "--service-mean",
            "1s",
            "--consumers",
            "4294967295",
        ])
        .timeout(Duration::from_secs(30))
        .assert()
        .code(2)
        .stderr(contains("--consumers"));
}

#[test]
fn runs_that_would_not_end_are_refused_up_front() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str)] = &[
        // Zero-time redelivery loops: the clock would stand still.
        (
            "[downstream]\npoison_rate = 0.01\n[broker]\nkind = \"rabbitmq\"\nack_to_deliver = 0\n",
            "broker.requeue",
        ),
        (
            "[downstream]\nfailure_rate = 0.5\n[delivery]\nvisibility_timeout = 0\n[broker]\nkind = \"sqs\"\n",
            "delivery.visibility_timeout",
        ),
        // An autoscaler checked every nanosecond, 100k partitions sampled every ms.
        (
            "[autoscale]\nmax = 4\nscale_out_above = 100\nscale_in_below = 10\ncheck_every = \"1ns\"\n",
            "--max-events",
        ),
    ];
    for (extra, says) in cases {
        let mut text = format!("{SMALL}{extra}");
        if says.starts_with("broker") || says.starts_with("delivery") {
            text = text.replace(
                "{ dist = \"exponential\", mean = \"10ms\" }",
                "{ dist = \"constant\", value = 0 }",
            );
        }
        let s = write(tmp.path(), "loop.toml", &text);
        queuelab()
            .args(["run", &s, "--no-plots", "--out"])
            .arg(tmp.path().join("o"))
            .timeout(Duration::from_secs(30))
            .assert()
            .code(2)
            .stderr(contains(*says).and(contains("panicked").not()));
    }
    let lanes = SMALL.replace(
        "duration = \"10s\"",
        "duration = \"15m\"\nsample_every = \"1ms\"",
    );
    let s = write(
        tmp.path(),
        "lanes.toml",
        &format!("{lanes}[broker]\nkind = \"kafka\"\npartitions = 100000\n"),
    );
    queuelab()
        .args(["run", &s, "--no-plots", "--out"])
        .arg(tmp.path().join("o"))
        .timeout(Duration::from_secs(30))
        .assert()
        .code(2)
        .stderr(contains("--max-events"));
    // With a delivery limit the loop ends: accepted.
    let s = write(
        tmp.path(),
        "limited.toml",
        &format!("{}[downstream]\npoison_rate = 0.01\n[broker]\nkind = \"rabbitmq\"\nqueue_type = \"quorum\"\ndelivery_limit = 5\nack_to_deliver = 0\n", SMALL.replace("{ dist = \"exponential\", mean = \"10ms\" }", "{ dist = \"constant\", value = 0 }")),
    );
    queuelab().args(["check", &s]).assert().success();
}

#[test]
fn a_retry_table_the_broker_would_ignore_is_refused() {
    let base = format!("{SMALL}[broker]\nkind = \"sqs\"\n");
    for (retry, key) in [
        ("backoff = \"fixed\"", "retry.backoff"),
        ("base_delay = \"1s\"", "retry.base_delay"),
        ("jitter = \"full\"", "retry.jitter"),
        ("max_attempts = 3", "retry.max_attempts"),
    ] {
        let e = queuelab::scenario::parse(
            &format!("{base}[retry]\n{retry}\n"),
            "s.toml",
            &Default::default(),
        )
        .unwrap_err();
        assert_eq!(e.key.as_deref(), Some(key), "{e}");
        assert_eq!(e.kind, queuelab::error::ErrorKind::Conflict);
        assert!(
            e.message.contains("does not apply to kind = \"sqs\"")
                && e.message.contains("visibility"),
            "{e}"
        );
        assert_eq!(e.line, Some(11), "{e}");
    }
    // `max_attempts = 1` says the same as the broker: accepted.
    queuelab::scenario::parse(
        &format!("{base}[retry]\nmax_attempts = 1\n"),
        "s.toml",
        &Default::default(),
    )
    .unwrap();
}

#[test]
fn quiz_and_watch_measure_a_warm_backlog_against_the_memory_budget() {
    // 1e9 waiting messages (about 150 GiB) pass the work estimate but not the budget.
    let tmp = tempfile::tempdir().unwrap();
    let s = scen(tmp.path(), "[queue]\ninitial_backlog = 1000000000\n");
    for args in [
        vec!["quiz", s.as_str(), "--answer", "p99=1"],
        vec!["watch", s.as_str(), "--at", "1s"],
    ] {
        queuelab()
            .args(&args)
            .timeout(Duration::from_secs(60))
            .assert()
            .code(2)
            .stderr(contains("memory budget"));
    }
}
