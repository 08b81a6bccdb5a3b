//! Sweeps, shards, confidence intervals, plan and theory.

use crate::common::queuelab;
use predicates::prelude::*;
use queuelab::plan;
use queuelab::sweep::{self, Seeds, Spec};
use queuelab::theory::{self, Params};

const MMC: &str = r#"
name = "mmc"
seed = 2
duration = "2h"
warmup = "5m"
sample_every = "1m"
[[producers]]
rate = 40.0
[consumers]
count = 4
service = { dist = "exponential", mean = "80ms" }
"#;

pub(crate) fn files(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn sweeps_are_identical_for_any_thread_count_and_when_merged_from_shards() {
    let tmp = tempfile::tempdir().unwrap();
    let scen = tmp.path().join("mmc.toml");
    std::fs::write(&scen, MMC.replace("2h", "10m")).unwrap();
    let scen = scen.to_str().unwrap();
    let args = [
        "--vary",
        "consumers.count=3..5",
        "--vary",
        "queue.capacity=10,1000",
        "--replications",
        "3",
    ];
    for t in ["1", "2"] {
        queuelab()
            .args(["sweep", scen])
            .args(args)
            .args(["--threads", t, "--out"])
            .arg(tmp.path().join(format!("t{t}")))
            .assert()
            .success();
    }
    let one = files(&tmp.path().join("t1"));
    assert_eq!(one, files(&tmp.path().join("t2")), "1 vs 2 threads");
    let names: Vec<&str> = one.iter().map(|(n, _)| n.as_str()).collect();
    for f in [
        "sweep.csv",
        "sweep_summary.csv",
        "sweep.json",
        "sweep_latency_end_to_end_p99.png",
        "sweep_latency_end_to_end_p99.svg",
    ] {
        assert!(names.contains(&f), "{f} in {names:?}");
    }
    let csv = String::from_utf8(
        one.iter()
            .find(|(n, _)| n == "sweep.csv")
            .unwrap()
            .1
            .clone(),
    )
    .unwrap();
    assert_eq!(csv.lines().count(), 1 + 3 * 2 * 3, "one row per run");
    assert!(csv
        .lines()
        .next()
        .unwrap()
        .starts_with("run,point,consumers.count,queue.capacity,replication,seed,"));

    let mut shards = Vec::new();
    for i in 1..=3 {
        let d = tmp.path().join(format!("shard{i}"));
        queuelab()
            .args(["sweep", scen])
            .args(args)
            .args(["--shard", &format!("{i}/3"), "--out"])
            .arg(&d)
            .assert()
            .success();
        shards.push(d);
    }
    let merged = tmp.path().join("merged");
    queuelab()
        .arg("merge")
        .args(&shards)
        .arg("--out")
        .arg(&merged)
        .assert()
        .success();
    assert_eq!(one, files(&merged), "merged shards == one machine");
    // A missing shard is refused, with the runs it lacks.
    queuelab()
        .arg("merge")
        .args(&shards[..2])
        .arg("--out")
        .arg(tmp.path().join("partial"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("missing runs"));
}

#[test]
fn replication_intervals_cover_erlang_c() {
    let spec = Spec {
        scenario: "mmc.toml".into(),
        sets: vec![],
        variant: None,
        vary: vec![sweep::parse_vary("consumers.count=4").unwrap()],
        replications: 12,
        seeds: Seeds::Common,
        base_seed: 2,
        shard: None,
        uncertain: vec![],
    };
    let metrics = vec![
        "latency.queue_wait.mean".to_string(),
        "queue.mean_depth".to_string(),
    ];
    let rows = sweep::execute(&spec, MMC, 2, &metrics, &|_| {}).unwrap();
    let ivs = &sweep::point_intervals(&spec, &metrics, &rows)[0];
    let t = theory::predict(&Params {
        arrival_rate: 40.0,
        service_mean: 0.08,
        service_scv: 1.0,
        consumers: 4,
        capacity: None,
    })
    .unwrap();
    for (iv, want) in ivs.iter().zip([t.wq_mean.unwrap(), t.lq_mean.unwrap()]) {
        let iv = iv.unwrap();
        assert!(
            iv.low <= want && want <= iv.high,
            "{iv:?} should cover {want}"
        );
        assert!(
            iv.high - iv.low < 0.2 * want,
            "interval too wide to mean anything: {iv:?}"
        );
    }
}

#[test]
fn plan_finds_the_erlang_c_consumer_count() {
    // 5 Erlangs offered (50/s x 100 ms). The target sits between Wq(c*-1) and Wq(c*) in
    // log terms, so the answer is clear-cut.
    let wq = |c: u32| {
        theory::predict(&Params {
            arrival_rate: 50.0,
            service_mean: 0.1,
            service_scv: 1.0,
            consumers: c,
            capacity: None,
        })
        .unwrap()
        .wq_mean
        .unwrap()
    };
    let c_star = 7;
    let target = (wq(c_star) * wq(c_star - 1)).sqrt();
    assert!(wq(c_star) < target && target < wq(c_star - 1));
    let text = MMC
        .replace("rate = 40.0", "rate = 50.0")
        .replace("\"80ms\"", "\"100ms\"")
        .replace("count = 4", "count = 6");
    let spec = Spec {
        scenario: "mmc.toml".into(),
        sets: vec![],
        variant: None,
        vary: vec![],
        replications: 6,
        seeds: Seeds::Common,
        base_seed: 2,
        shard: None,
        uncertain: vec![],
    };
    let vary = sweep::parse_vary("consumers.count=6..40").unwrap();
    let targets = plan::parse_targets(&[format!("latency.queue_wait.mean < {target}")]).unwrap();
    let p = plan::search(&spec, &text, &vary, &targets, 2, &|| {}).unwrap();
    assert_eq!(
        p.answer.as_deref(),
        Some("7"),
        "{}",
        plan::describe(&p, &targets)
    );
    assert_eq!(p.evidence.as_ref().map(|e| e.value.as_str()), Some("6"));
    assert!(
        p.evaluated.len() <= 8,
        "bisection, not a scan: {}",
        p.evaluated.len()
    );
}

#[test]
fn plan_cli_prints_answer_and_evidence() {
    let out = queuelab()
        .args([
            "plan",
            "scenarios/flash_sale.toml",
            "--variant",
            "bounded-8",
            "--vary",
            "consumers.count=1..64",
        ])
        .args([
            "--target",
            "latency.end_to_end.p99 < 60s",
            "--replications",
            "3",
            "--json",
        ])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let answer: u32 = v["answer"].as_str().unwrap().parse().unwrap();
    let evidence: u32 = v["evidence"]["value"].as_str().unwrap().parse().unwrap();
    assert_eq!(evidence + 1, answer);
    assert_eq!(v["evidence"]["meets"], false);
    queuelab()
        .args([
            "plan",
            "scenarios/flash_sale.toml",
            "--vary",
            "consumers.count=1..4",
            "--target",
            "latency.end_to_end.p99 < 1ms",
        ])
        .assert()
        .code(1)
        .stdout(predicates::str::contains("none of the 4 values"))
        .stderr(predicates::str::contains(
            "no value of consumers.count among the 4 candidates meets every target",
        ));
}

#[test]
fn theory_matches_the_public_cases() {
    let text = std::fs::read_to_string(crate::common::root().join("tests/data/public_cases.toml"))
        .unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    for case in doc["case"].as_array().unwrap() {
        let p = &case["params"];
        let svc = &p["service"];
        let params = Params {
            arrival_rate: p["arrival_rate"].as_float().unwrap(),
            service_mean: p["mean_service_time"].as_float().unwrap(),
            service_scv: svc["scv"].as_float().unwrap(),
            consumers: p["consumers"].as_integer().unwrap() as u32,
            capacity: p
                .get("waiting_capacity")
                .and_then(|v| v.as_integer())
                .map(|k| k as u64),
        };
        let t = theory::predict(&params).unwrap_or_else(|| panic!("{}: no model", case["id"]));
        let e = case["expected"].as_table().unwrap();
        let close = |name: &str, got: Option<f64>| {
            let want = e[name].as_float().unwrap();
            let got = got.unwrap_or_else(|| panic!("{} {name} missing", case["id"]));
            assert!(
                (got - want).abs() <= 1e-9 + 1e-9 * want.abs(),
                "{} {name}: {got} vs {want}",
                case["id"]
            );
        };
        close("p_block", Some(t.p_block));
        close("throughput", Some(t.throughput));
        close("utilization", Some(t.utilization));
        close("p_wait", t.p_wait);
        close("wq_mean", t.wq_mean);
        close("w_mean", t.w_mean);
        close("lq_mean", t.lq_mean);
    }
}

/// A cheap M/M/c for the CLI tests below.
const QUICK: &str = r#"
name = "quick"
seed = 4
duration = "4m"
warmup = "30s"
sample_every = "10s"
[[producers]]
rate = 40.0
[consumers]
count = 4
service = { dist = "exponential", mean = "80ms" }
"#;

fn quick(dir: &std::path::Path) -> String {
    crate::common::write(dir, "quick.toml", QUICK)
}

#[test]
fn one_replication_has_no_interval_and_plan_needs_two() {
    // One run per point gives a mean and no "95% interval" of zero width.
    let tmp = tempfile::tempdir().unwrap();
    let scen = quick(tmp.path());
    let out = tmp.path().join("one");
    queuelab()
        .args([
            "sweep",
            &scen,
            "--vary",
            "consumers.count=4,5",
            "--no-plots",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success()
        .stdout(
            predicates::str::contains("one run: no interval")
                .and(predicates::str::contains("[95% interval]").not()),
        );
    let summary = std::fs::read_to_string(out.join("sweep_summary.csv")).unwrap();
    let mut r = csv::Reader::from_reader(summary.as_bytes());
    let h = r.headers().unwrap().clone();
    let low = h
        .iter()
        .position(|c| c == "latency.end_to_end.p99.ci_low")
        .unwrap();
    let mean = h
        .iter()
        .position(|c| c == "latency.end_to_end.p99.mean")
        .unwrap();
    for rec in r.records() {
        let rec = rec.unwrap();
        assert!(!rec[mean].is_empty());
        assert_eq!(&rec[low], "", "an interval from one run");
    }
    queuelab()
        .args([
            "plan",
            &scen,
            "--vary",
            "consumers.count=4..8",
            "--replications",
            "1",
        ])
        .args(["--target", "latency.end_to_end.p99 < 1s"])
        .assert()
        .code(2)
        .stderr(
            predicates::str::contains("--replications").and(predicates::str::contains("2 or more")),
        );
}

#[test]
fn plan_sorts_descending_candidates() {
    // A list in descending order gives the same answer as in ascending order.
    let tmp = tempfile::tempdir().unwrap();
    let scen = quick(tmp.path());
    let answer = |values: &str| -> serde_json::Value {
        let out = queuelab()
            .args(["plan", &scen, "--vary", values, "--replications", "3"])
            .args([
                "--target",
                "latency.queue_wait.mean < 20ms",
                "--format",
                "json",
            ])
            .assert()
            .success();
        serde_json::from_slice(&out.get_output().stdout).unwrap()
    };
    let up = answer("consumers.count=4,5,6,7,8");
    let down = answer("consumers.count=8,7,6,5,4");
    assert_eq!(up["answer"], down["answer"]);
    assert!(up["answer"].is_string());
    assert_eq!(down["sorted"], true);
    assert_eq!(down["order"][0], "4");
}

#[test]
fn plan_detects_a_metric_that_gets_worse_with_more_and_searches_every_value() {
    // A target that gets worse with more: utilization falls as consumers are added, so
    // "utilization > 50%" gets worse with more; with "p99 < 2s" the values that meet both
    // lie in the middle (3.2 Erlangs: 4 to 6 consumers). Judging only the largest value
    // says "none meets".
    let tmp = tempfile::tempdir().unwrap();
    let scen = quick(tmp.path());
    let out = queuelab()
        .args([
            "plan",
            &scen,
            "--vary",
            "consumers.count=1..9",
            "--replications",
            "3",
        ])
        .args([
            "--target",
            "latency.end_to_end.p99 < 2s and consumers.utilization > 50%",
        ])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains("answer: consumers.count = 4"), "{text}");
    assert!(
        text.contains("not monotone: consumers.utilization is worse"),
        "{text}"
    );
    assert!(text.contains("every value was evaluated"), "{text}");
    assert!(text.contains("evaluated 9 of 9 values"), "{text}");
}

#[test]
fn plan_exits_non_zero_when_no_value_meets() {
    let tmp = tempfile::tempdir().unwrap();
    let scen = quick(tmp.path());
    queuelab()
        .args([
            "plan",
            &scen,
            "--vary",
            "consumers.count=4..6",
            "--replications",
            "2",
        ])
        .args(["--target", "latency.end_to_end.p99 < 1us"])
        .assert()
        .code(1)
        .stdout(predicates::str::contains(
            "none of the 3 values meets every target",
        ))
        .stderr(predicates::str::contains("no value of consumers.count"));
}

#[test]
fn bad_targets_threads_and_grids_are_refused_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let scen = quick(tmp.path());
    // `< nan` compares false with everything: refused, not "none meets".
    for v in ["nan", "inf"] {
        queuelab()
            .args(["plan", &scen, "--vary", "consumers.count=4..6"])
            .args(["--target", &format!("latency.end_to_end.p99 < {v}")])
            .assert()
            .code(2)
            .stderr(predicates::str::contains("--target").and(predicates::str::contains("finite")));
    }
    queuelab()
        .args([
            "sweep",
            &scen,
            "--vary",
            "consumers.count=4,5",
            "--threads",
            "1000000",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--threads").and(predicates::str::contains("1 to 1024")));
    // Four keys of 65,536 values each: 2^64 points, which wraps to 0 in a usize.
    let mut cmd = queuelab();
    cmd.args(["sweep", &scen]);
    for k in ["producers.0.rate", "consumers.count", "seed", "warmup"] {
        cmd.args(["--vary", &format!("{k}=1..65536")]);
    }
    cmd.assert().code(2).stderr(
        predicates::str::contains("too large to count").and(predicates::str::contains("1000000")),
    );
    queuelab()
        .args([
            "sweep",
            &scen,
            "--vary",
            "consumers.count=4,5",
            "--vary",
            "consumers.count=6",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "`consumers.count` is varied twice",
        ));
}

/// A small sharded sweep of QUICK; returns the shard folders.
fn shards(dir: &std::path::Path, scen: &str) -> Vec<std::path::PathBuf> {
    (1..=2)
        .map(|i| {
            let d = dir.join(format!("s{i}"));
            queuelab()
                .args([
                    "sweep",
                    scen,
                    "--vary",
                    "consumers.count=4,5",
                    "--replications",
                    "2",
                ])
                .args(["--shard", &format!("{i}/2"), "--no-plots", "--out"])
                .arg(&d)
                .assert()
                .success();
            d
        })
        .collect()
}

fn merge_fails(shards: &[std::path::PathBuf], out: &std::path::Path, fragments: &[&str]) {
    let a = queuelab()
        .arg("merge")
        .args(shards)
        .arg("--out")
        .arg(out)
        .arg("--no-plots")
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    for f in fragments {
        assert!(err.contains(f), "`{f}` not in: {err}");
    }
    assert!(!out.exists(), "a refused merge wrote {}", out.display());
}

#[test]
fn merge_refuses_shards_that_do_not_belong_together() {
    // Shards that do not belong together are refused, each with an error naming the
    // file: an edited run index, point or column, a scenario edited between shards, an
    // unusable manifest, the same shard twice, and --out naming one of the shards.
    let tmp = tempfile::tempdir().unwrap();
    let scen = quick(tmp.path());
    let s = shards(tmp.path(), &scen);
    let out = tmp.path().join("merged");
    queuelab()
        .arg("merge")
        .args(&s)
        .args(["--no-plots", "--out"])
        .arg(&out)
        .assert()
        .success();
    let edit = |shard: &std::path::Path, file: &str, f: &dyn Fn(String) -> String| {
        let p = shard.join(file);
        let old = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, f(old.clone())).unwrap();
        old
    };
    let bad = tmp.path().join("bad");
    // An edited run index (run 1 of shard 2 renamed to run 3, which is shard 2's too).
    let csv = s[1].join("sweep.csv");
    let old = edit(&s[1], "sweep.csv", &|t| t.replacen("\n1,0,", "\n3,0,", 1));
    merge_fails(
        &s,
        &bad,
        &[&csv.display().to_string(), "line 2", "run 3 is point 1"],
    );
    std::fs::write(&csv, &old).unwrap();
    // An edited point.
    edit(&s[1], "sweep.csv", &|t| {
        t.replacen("\n1,0,4,", "\n1,1,4,", 1)
    });
    merge_fails(&s, &bad, &["run 1 is point 0 replication 1, not point 1"]);
    std::fs::write(&csv, &old).unwrap();
    // A deleted column names the file.
    edit(&s[1], "sweep.csv", &|t| {
        t.lines()
            .map(|l| {
                let mut f: Vec<&str> = l.split(',').collect();
                f.remove(6);
                f.join(",")
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    });
    merge_fails(
        &s,
        &bad,
        &[
            &csv.display().to_string(),
            "lacks the column(s) counts.completed",
        ],
    );
    std::fs::write(&csv, &old).unwrap();
    // The scenario edited between the shards: shard 2 again from a changed file.
    std::fs::write(&scen, QUICK.replace("rate = 40.0", "rate = 41.0")).unwrap();
    let again = tmp.path().join("s2-edited");
    queuelab()
        .args([
            "sweep",
            &scen,
            "--vary",
            "consumers.count=4,5",
            "--replications",
            "2",
        ])
        .args(["--shard", "2/2", "--no-plots", "--out"])
        .arg(&again)
        .assert()
        .success();
    merge_fails(
        &[s[0].clone(), again],
        &bad,
        &["scenario's hash differs", "s2-edited/sweep.json"],
    );
    std::fs::write(&scen, QUICK).unwrap();
    // A manifest with an empty `vary` (it used to panic).
    let json = s[1].join("sweep.json");
    let manifest = edit(&s[1], "sweep.json", &|t| {
        let mut v: serde_json::Value = serde_json::from_str(&t).unwrap();
        v["spec"]["vary"] = serde_json::json!([]);
        v.to_string()
    });
    merge_fails(&s, &bad, &[&json.display().to_string(), "no key is varied"]);
    std::fs::write(&json, manifest).unwrap();
    // The same shard twice.
    merge_fails(
        &[s[0].clone(), s[0].clone()],
        &bad,
        &["appears in two shards"],
    );
    // Merging into one of the shards would replace it.
    let before = files(&s[0]);
    queuelab()
        .arg("merge")
        .args(&s)
        .arg("--out")
        .arg(&s[0])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "is one of the shards being merged",
        ));
    assert_eq!(before, files(&s[0]));
}

#[test]
fn sigterm_mid_sweep_keeps_the_finished_runs_and_merge_uses_them() {
    // SIGTERM (what `timeout`, Slurm and Kubernetes send) is handled like Ctrl-C.
    let tmp = tempfile::tempdir().unwrap();
    let scen = crate::common::write(tmp.path(), "slow.toml", &QUICK.replace("\"4m\"", "\"10h\""));
    let out = tmp.path().join("shard1");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("queuelab"))
        .args([
            "sweep",
            &scen,
            "--vary",
            "consumers.count=4..8",
            "--replications",
            "8",
        ])
        .args(["--shard", "1/2", "--threads", "1", "--no-plots", "--out"])
        .arg(&out)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for a few finished runs in the staging folder's partial file.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let rows = std::fs::read_dir(tmp.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(".shard1.queuelab-")
            })
            .filter_map(|e| std::fs::read_to_string(e.path().join("sweep.partial.csv")).ok())
            .map(|t| t.lines().count().saturating_sub(1))
            .max()
            .unwrap_or(0);
        if rows >= 3 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no runs finished");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(
        err.contains("interrupted") && err.contains("merge --partial"),
        "{err}"
    );
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("sweep.json")).unwrap()).unwrap();
    let runs = m["runs"].as_u64().unwrap();
    assert!((3..20).contains(&runs), "{runs} runs kept");
    assert_eq!(m["expected_runs"], 20);
    let merged = tmp.path().join("merged");
    let a = queuelab()
        .args(["merge", "--partial", "--no-plots", "--out"])
        .arg(&merged)
        .arg(&out)
        .assert()
        .success();
    let said = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(
        said.contains(&format!("partial: {runs} of 40 runs were merged")),
        "{said}"
    );
    let csv = std::fs::read_to_string(merged.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count() as u64, runs + 1);
    // Without --partial the missing runs are refused, as before.
    queuelab()
        .args(["merge", "--no-plots", "--out"])
        .arg(tmp.path().join("strict"))
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--partial"));
}
