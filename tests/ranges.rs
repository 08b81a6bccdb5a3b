//! Inputs as ranges: `--uncertain` in sweep and plan, `--futures` in plan.

use crate::capacity::files;
use crate::common::queuelab;
use predicates::prelude::*;
use queuelab::plan;
use queuelab::sweep::{self, uncertain, Seeds, Spec};

/// M/M/c with 100 ms service: utilization is λ / (c x 10/s) by theory.
const MMC: &str = r#"
name = "mmc-band"
seed = 5
duration = "20m"
warmup = "1m"
sample_every = "1m"
[[producers]]
name = "shoppers"
rate = 50.0
[consumers]
count = 5
service = { dist = "exponential", mean = "100ms" }
"#;

fn spec(reps: u32, seeds: Seeds, uncertain: &[&str]) -> Spec {
    Spec {
        scenario: "mmc.toml".into(),
        sets: vec![],
        variant: None,
        vary: vec![sweep::parse_vary("consumers.count=6,8").unwrap()],
        replications: reps,
        seeds,
        base_seed: 5,
        shard: None,
        uncertain: uncertain
            .iter()
            .map(|u| uncertain::parse(u).unwrap())
            .collect(),
    }
}

fn produced(rows: &[sweep::RunRow], point: usize) -> Vec<f64> {
    rows.iter()
        .filter(|r| r.point == point)
        .map(|r| r.metrics[0].unwrap())
        .collect()
}

/// Each replication is one future, drawn from its own seeded stream: the same at every
/// grid point (with common or independent simulation seeds), the same for any thread
/// count, the same for the same seed, and another for another seed.
#[test]
fn futures_are_common_to_every_point_and_seeded() {
    let metrics = vec!["counts.produced".to_string()];
    let laws = ["producers.shoppers.rate=uniform(20,80)"];
    for seeds in [Seeds::Common, Seeds::Independent] {
        let s = spec(6, seeds, &laws);
        for r in 0..6 {
            let p0 = sweep::scenario_for(&s, MMC, 0, r).unwrap();
            let p1 = sweep::scenario_for(&s, MMC, 1, r).unwrap();
            assert_eq!(p0.producers[0].rate, p1.producers[0].rate, "future {r}");
            assert_eq!(p0.producers[0].rate, s.future_values(r)[0]);
            assert!((20.0..=80.0).contains(&p0.producers[0].rate));
        }
        let one = sweep::execute(&s, MMC, 1, &metrics, &|_| {}).unwrap();
        let two = sweep::execute(&s, MMC, 2, &metrics, &|_| {}).unwrap();
        assert_eq!(one, two, "thread count changes nothing");
        // The produced count follows the drawn rate: 19 minutes at it.
        for r in &one {
            let rate = s.future_values(r.replication)[0];
            let got = r.metrics[0].unwrap() / (19.0 * 60.0);
            assert!((got - rate).abs() < 0.1 * rate, "{got} vs {rate}");
        }
    }
    let a = spec(6, Seeds::Common, &laws).future_values(3);
    let b = spec(6, Seeds::Common, &laws).future_values(3);
    let c = Spec {
        base_seed: 6,
        ..spec(6, Seeds::Common, &laws)
    }
    .future_values(3);
    assert_eq!(a, b);
    assert_ne!(a, c);
    // The futures differ from one another (the spread is the inputs', not only noise).
    let s = spec(6, Seeds::Common, &laws);
    let rows = sweep::execute(&s, MMC, 2, &metrics, &|_| {}).unwrap();
    let xs = produced(&rows, 0);
    let sp = sweep::spread(&xs.iter().map(|x| Some(*x)).collect::<Vec<_>>()).unwrap();
    assert!(sp.p95 > 1.5 * sp.p5, "{sp:?}");
}

#[test]
fn quantiles_and_shares_are_the_textbook_ones() {
    let xs: Vec<f64> = (1..=11).map(f64::from).collect();
    assert_eq!(sweep::quantile(&xs, 0.5), 6.0);
    assert_eq!(sweep::quantile(&xs, 0.05), 1.5);
    assert_eq!(sweep::quantile(&xs, 0.95), 10.5);
    // Wilson: 8 of 10 -> [0.490, 0.943]; 10 of 10 -> [0.722, 1].
    let s = sweep::share(8, 10).unwrap();
    assert!(
        (s.low - 0.4902).abs() < 1e-3 && (s.high - 0.9433).abs() < 1e-3,
        "{s:?}"
    );
    let s = sweep::share(10, 10).unwrap();
    assert!((s.low - 0.7225).abs() < 1e-3 && s.high == 1.0, "{s:?}");
    // 95% needs 73 futures that all meet; 90% needs 35.
    assert_eq!(sweep::runs_to_show(0.95), Some(73));
    assert_eq!(sweep::runs_to_show(0.9), Some(35));
    assert_eq!(sweep::runs_to_show(1.0), None);
}

/// plan --futures on M/M/c where the arrival rate is only known to lie in 40..60/s and
/// the target is utilization < 80%: by theory a future meets at c consumers when its rate
/// is below 8c, so c = 5 meets in no future, 6 in 40%, 7 in 80%, 8 in all of them. For
/// 90% of futures the answer is the count that meets at the top of the band (8); for
/// 50% it is 7.
#[test]
fn plan_answers_for_a_share_of_futures_as_theory_says() {
    let s = Spec {
        vary: vec![],
        replications: 40,
        ..spec(
            40,
            Seeds::Common,
            &["producers.shoppers.rate=uniform(40,60)"],
        )
    };
    let vary = sweep::parse_vary("consumers.count=4..12").unwrap();
    let targets = plan::parse_targets(&["consumers.utilization < 0.8".into()]).unwrap();
    // The top of the band needs the smallest c with 60 / (10 c) < 0.8.
    let at_top = (1..).find(|c| 60.0 / (10.0 * f64::from(*c)) < 0.8).unwrap();
    assert_eq!(at_top, 8);
    let p = plan::search_futures(&s, MMC, &vary, &targets, 2, &|| {}, Some(0.9)).unwrap();
    let text = plan::describe(&p, &targets);
    assert_eq!(p.answer.as_deref(), Some("8"), "{text}");
    let ans = p.answer_evaluation.as_ref().unwrap();
    assert_eq!(ans.futures_meeting.unwrap().met, 40, "{text}");
    let below = p.evidence.as_ref().unwrap();
    assert_eq!(below.value, "7");
    let share = below.futures_meeting.unwrap();
    assert!((share.fraction - 0.8).abs() < 0.15, "{text}");
    assert!(text.contains("40 futures per value"), "{text}");
    assert!(
        text.contains("producers.shoppers.rate ~ uniform(40,60)"),
        "{text}"
    );
    assert!(text.contains("95% interval"), "{text}");
    let p = plan::search_futures(&s, MMC, &vary, &targets, 2, &|| {}, Some(0.5)).unwrap();
    assert_eq!(
        p.answer.as_deref(),
        Some("7"),
        "{}",
        plan::describe(&p, &targets)
    );
    let six = p.evidence.as_ref().unwrap();
    assert_eq!(six.value, "6");
    assert!((six.futures_meeting.unwrap().fraction - 0.4).abs() < 0.15);
}

fn mmc_file(dir: &std::path::Path) -> std::path::PathBuf {
    let f = dir.join("mmc.toml");
    std::fs::write(&f, MMC.replace("\"20m\"", "\"5m\"")).unwrap();
    f
}

/// The sweep's text and JSON name the uncertain inputs and how they were drawn, give the
/// spread across futures and the share meeting a target; merged shards are the same
/// bytes as one machine's sweep.
#[test]
fn sweep_reports_the_spread_across_futures() {
    let tmp = tempfile::tempdir().unwrap();
    let f = mmc_file(tmp.path());
    let args = |out: &std::path::Path| {
        let mut v: Vec<String> = [
            "sweep",
            f.to_str().unwrap(),
            "--vary",
            "consumers.count=6,8",
            "--uncertain",
            "producers.shoppers.rate=triangular(40,45,60)",
            "--uncertain",
            "consumers.service.mean=uniform(90ms,110ms)",
            "--target",
            "consumers.utilization < 0.8",
            "--replications",
            "12",
            "--no-plots",
            "--out",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.push(out.to_str().unwrap().to_string());
        v
    };
    let one = tmp.path().join("one");
    let out = queuelab()
        .args(args(&one))
        .args(["--metric", "consumers.utilization"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("producers.shoppers.rate ~ triangular(40,45,60), mean 48.3333"),
        "{text}"
    );
    assert!(
        text.contains("consumers.service.mean ~ uniform(90ms,110ms), mean 100ms"),
        "{text}"
    );
    assert!(text.contains("across futures p5"), "{text}");
    assert!(text.contains(" of 12 ("), "{text}");
    let summary = std::fs::read_to_string(one.join("sweep_summary.csv")).unwrap();
    let header = summary.lines().next().unwrap();
    for col in [
        "targets_met",
        "targets_met.low",
        "consumers.utilization.p5",
        "consumers.utilization.p95",
    ] {
        assert!(header.split(',').any(|c| c == col), "{col}: {header}");
    }
    let csv = std::fs::read_to_string(one.join("sweep.csv")).unwrap();
    assert!(csv
        .lines()
        .next()
        .unwrap()
        .contains("seed,producers.shoppers.rate,consumers.service.mean,"));
    let json = queuelab()
        .args(args(&tmp.path().join("json")))
        .args(["--format", "json"])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&json.get_output().stdout).unwrap();
    assert_eq!(v["uncertain"][0]["key"], "producers.shoppers.rate");
    assert_eq!(v["uncertain"][0]["law"], "triangular");
    let p = &v["points"][0];
    assert!(p["spread"]["p5"].as_f64().unwrap() <= p["spread"]["p95"].as_f64().unwrap());
    assert_eq!(p["targets_met"]["n"], 12);
    // Shards merge into the same bytes.
    let mut shards = Vec::new();
    for i in 1..=2 {
        let d = tmp.path().join(format!("s{i}"));
        queuelab()
            .args(args(&d))
            .args([
                "--shard",
                &format!("{i}/2"),
                "--metric",
                "consumers.utilization",
            ])
            .assert()
            .success();
        shards.push(d);
    }
    let merged = tmp.path().join("merged");
    queuelab()
        .arg("merge")
        .args(&shards)
        .args(["--out", merged.to_str().unwrap(), "--no-plots"])
        .args(["--metric", "consumers.utilization"])
        .assert()
        .success();
    assert_eq!(files(&one), files(&merged));
    // A drawn value edited in a shard is refused, with its line.
    let csv = shards[0].join("sweep.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut cells: Vec<String> = lines[1].split(',').map(str::to_string).collect();
    cells[5] = "41".into();
    lines[1] = cells.join(",");
    std::fs::write(&csv, lines.join("\n") + "\n").unwrap();
    queuelab()
        .arg("merge")
        .args(&shards)
        .args(["--out", tmp.path().join("bad").to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 2").and(predicate::str::contains("drew")));
}

/// Bad uses exit 2 and say what is allowed.
#[test]
fn uncertain_and_futures_misuse_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let f = mmc_file(tmp.path());
    let f = f.to_str().unwrap();
    let plan = |extra: &[&str]| {
        let mut v = vec![
            "plan",
            f,
            "--vary",
            "consumers.count=4..12",
            "--target",
            "consumers.utilization < 0.8",
        ];
        v.extend_from_slice(extra);
        queuelab().args(v).assert().code(2)
    };
    plan(&["--futures", "1"]).stderr(predicate::str::contains("--futures"));
    plan(&["--futures", "95%", "--replications", "20"]).stderr(
        predicate::str::contains("--replications").and(predicate::str::contains("73 or more")),
    );
    plan(&["--uncertain", "producers.0.rate=uniform(40,60)"])
        .stderr(predicate::str::contains("--futures 0.9"));
    plan(&[
        "--futures",
        "0.5",
        "--uncertain",
        "producers.0.rate=between(40,60)",
    ])
    .stderr(predicate::str::contains("unknown law").and(predicate::str::contains("triangular(")));
    plan(&[
        "--futures",
        "0.5",
        "--uncertain",
        "consumers.count=uniform(4,8)",
    ])
    .stderr(
        predicate::str::contains("consumers.count").and(predicate::str::contains("is both varied")),
    );
    queuelab()
        .args([
            "sweep",
            f,
            "--vary",
            "queue.capacity=10,20",
            "--uncertain",
            "consumers.count=uniform(4,8)",
        ])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("in future 0").and(predicate::str::contains("whole-number")),
        );
    queuelab()
        .args([
            "sweep",
            f,
            "--vary",
            "consumers.count=6,8",
            "--target",
            "subscribers.x.latency < 1s",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--target"));
}

/// The real-data lesson, scenarios/real_traffic.toml: a real day of
/// departures needs far more consumers than Poisson traffic at the same mean rate.
mod real_traffic {
    use super::*;
    use crate::common::root;
    use queuelab::scenario::Overrides;
    use queuelab::theory::{self, Params};

    fn lesson() -> (String, String) {
        let path = root().join("scenarios/real_traffic.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        (path.to_str().unwrap().to_string(), text)
    }

    /// The data file is the one the script derives (1,440 minutes, 5,064 departures, up to
    /// 18 in a minute), and the Poisson variant's rate is its mean.
    #[test]
    fn the_data_and_the_poisson_twin_have_the_same_mean() {
        let csv =
            std::fs::read_to_string(root().join("scenarios/data/departures_east_2001-06-29.csv"))
                .unwrap();
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some("time,rate"));
        let counts: Vec<f64> = lines
            .enumerate()
            .map(|(i, l)| {
                let (t, r) = l.split_once(',').unwrap();
                assert_eq!(t.parse::<usize>().unwrap(), 60 * i);
                r.parse::<f64>().unwrap() * 60.0
            })
            .collect();
        assert_eq!(counts.len(), 1440);
        let total: f64 = counts.iter().sum();
        assert!((total - 5064.0).abs() < 1e-6, "{total}");
        assert!((counts.iter().cloned().fold(0.0, f64::max) - 18.0).abs() < 1e-9);
        let (path, _) = lesson();
        let file = queuelab::scenario::load(&path, &Overrides::default()).unwrap();
        let poisson = file
            .variants
            .iter()
            .find(|v| v.variant.as_deref() == Some("poisson-12"))
            .unwrap();
        assert!((poisson.producers[0].rate - total / 86_400.0).abs() < 1e-12);
    }

    /// What the lesson says, at the file's seed: with 12 consumers Poisson traffic's p99
    /// queue wait is under a minute and the real day's is over five; 20 bring the real
    /// day under a minute.
    #[test]
    fn the_real_day_waits_where_poisson_does_not() {
        let (path, _) = lesson();
        let file = queuelab::scenario::load(&path, &Overrides::default()).unwrap();
        let p99 = |name: &str| {
            let sc = file
                .variants
                .iter()
                .find(|v| v.variant.as_deref() == Some(name))
                .unwrap();
            let r = queuelab::sim::run(sc);
            let produced = r.summary.counts.produced as f64;
            assert!(
                (produced - 5064.0).abs() < 4.0 * 5064f64.sqrt(),
                "{name}: {produced}"
            );
            r.summary.latency.queue_wait.p99.unwrap()
        };
        let (real12, poisson12, real20) = (p99("real-12"), p99("poisson-12"), p99("real-20"));
        assert!(poisson12 < 60.0, "{poisson12}");
        assert!(real12 > 300.0, "{real12}");
        assert!(real20 < 60.0, "{real20}");
    }

    /// plan over the consumer count, both traffics: Poisson needs what Erlang C says (12),
    /// the real day about 20.
    #[test]
    fn plan_says_how_many_more_consumers_the_real_day_needs() {
        let (path, text) = lesson();
        // Erlang C: P(W > t) = C(c, a) e^-(c mu - lambda) t; the smallest c whose p99 < 60 s.
        let lambda = 5064.0 / 86_400.0;
        let p99 = |c: u32| {
            let t = theory::predict(&Params {
                arrival_rate: lambda,
                service_mean: 120.0,
                service_scv: 1.0,
                consumers: c,
                capacity: None,
            })
            .unwrap();
            let pw = t.p_wait.unwrap();
            if pw <= 0.01 {
                0.0
            } else {
                (pw / 0.01).ln() / (f64::from(c) / 120.0 - lambda)
            }
        };
        let by_theory = (8..).find(|c| p99(*c) < 60.0).unwrap();
        assert_eq!(by_theory, 12);
        let targets = plan::parse_targets(&["latency.queue_wait.p99 < 1m".into()]).unwrap();
        let vary = sweep::parse_vary("consumers.count=8..40").unwrap();
        let answer = |variant: &str| {
            let s = Spec {
                scenario: path.clone(),
                sets: vec![],
                variant: Some(variant.into()),
                vary: vec![],
                replications: 10,
                seeds: Seeds::Common,
                base_seed: 29,
                shard: None,
                uncertain: vec![],
            };
            let p = plan::search(&s, &text, &vary, &targets, 2, &|| {}).unwrap();
            let a: u32 = p.answer.as_deref().unwrap().parse().unwrap();
            (a, plan::describe(&p, &targets))
        };
        let (poisson, why) = answer("poisson-12");
        assert_eq!(poisson, by_theory, "{why}");
        let (real, why) = answer("real-12");
        assert!((18..=22).contains(&real), "{why}");
    }
}
