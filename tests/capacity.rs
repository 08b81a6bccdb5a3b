//! Sweeps, shards, confidence intervals, plan and theory.

use crate::common::queuelab;
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

fn files(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
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
        .success()
        .stdout(predicates::str::contains("none of the 4 values"));
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
