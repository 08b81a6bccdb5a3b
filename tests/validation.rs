//! The simulator against queueing theory.
//!
//! 1. Every case of tests/data/public_cases.toml (M/M/1, M/M/c, M/M/c/K, M/D/1,
//!    Erlang B, M/G/1): every expected value the contract exposes must agree within the
//!    case's tolerance, percentiles included.
//! 2. Cases beyond those, checked against the closed forms of `queuelab::theory`:
//!    rho 0.97, 64 consumers, tiny capacities, overload with rejection, Erlang B with
//!    lognormal (cv 3) service, M/G/1 with lognormal cv 3, D/M/1.

use crate::common::{assert_invariants, load};
use queuelab::metrics::Summary;
use queuelab::sim;
use queuelab::theory::{self, Params};
use rayon::prelude::*;

fn cases_file() -> String {
    std::fs::read_to_string(crate::common::root().join("tests/data/public_cases.toml"))
        .expect("tests/data/public_cases.toml")
}

/// The simulated value of a case metric (the case files name summary.json figures).
fn simulated(s: &Summary, metric: &str) -> Option<f64> {
    let l = |x: &queuelab::metrics::LatencyStats, q: &str| match q {
        "mean" => x.mean,
        "p50" => x.p50,
        "p90" => x.p90,
        "p99" => x.p99,
        _ => None,
    };
    if let Some(q) = metric.strip_prefix("wq_") {
        return l(&s.latency.queue_wait, q);
    }
    if let Some(q) = metric.strip_prefix("w_") {
        return l(&s.latency.end_to_end, q);
    }
    match metric {
        "lq_mean" => Some(s.queue.mean_depth),
        "l_mean" => Some(s.queue.mean_in_system),
        "utilization" => Some(s.consumers.utilization),
        "p_block" => Some(s.counts.rejected as f64 / s.counts.produced as f64),
        "throughput" => Some(s.rates.throughput),
        "p_wait" => s.queue.p_wait,
        _ => None,
    }
}

#[test]
fn public_cases_agree_with_theory() {
    let doc: toml::Table = toml::from_str(&cases_file()).unwrap();
    let cases = doc["case"].as_array().unwrap().clone();
    assert!(cases.len() >= 7, "expected the seven public cases");
    let failures: Vec<String> = cases
        .par_iter()
        .flat_map_iter(|case| {
            let id = case["id"].as_str().unwrap().to_string();
            let text = case["queuelab"]["scenario"].as_str().unwrap();
            let file = load(text);
            let result = sim::run(&file.base);
            let s = &result.summary;
            assert_invariants(s);
            let expected = case["expected"].as_table().unwrap();
            let tol = case["tolerance"].as_table().unwrap();
            let mut bad = Vec::new();
            let mut checked = 0;
            for (metric, want) in expected {
                let want = want.as_float().unwrap();
                let Some(t) = tol.get(metric) else { continue };
                let Some(got) = simulated(s, metric) else {
                    bad.push(format!("{id}: {metric} not exposed"));
                    continue;
                };
                checked += 1;
                let rel = t["rel"].as_float().unwrap();
                let abs = t["abs"].as_float().unwrap();
                let allowed = (rel * want.abs()).max(abs);
                if (got - want).abs() > allowed {
                    bad.push(format!("{id}: {metric} simulated {got:.6} expected {want:.6} (allowed ±{allowed:.6})"));
                }
            }
            assert!(checked >= 10, "{id}: only {checked} metrics checked");
            eprintln!("{id}: {checked} metrics checked, {} events", s.events);
            bad
        })
        .collect();
    assert!(
        failures.is_empty(),
        "disagreements with theory:\n{}",
        failures.join("\n")
    );
}

/// A scenario text for a single Poisson (or constant) source into `c` consumers.
fn textbook(
    rate: f64,
    c: u32,
    service: &str,
    capacity: Option<u64>,
    duration: f64,
    warmup: f64,
    arrivals: &str,
) -> String {
    let cap = capacity
        .map(|k| format!("[queue]\ncapacity = {k}\n"))
        .unwrap_or_default();
    format!(
        "name = \"t\"\nseed = 11\nduration = {duration}\nwarmup = {warmup}\nsample_every = {}\n\
         [[producers]]\narrivals = \"{arrivals}\"\nrate = {rate}\n{cap}[consumers]\ncount = {c}\nservice = {service}\n",
        duration / 100.0
    )
}

fn within(name: &str, got: f64, want: f64, rel: f64) -> Option<String> {
    if (got - want).abs() <= rel * want.abs() {
        None
    } else {
        Some(format!(
            "{name}: simulated {got:.6}, theory {want:.6} (allowed ±{:.1}%)",
            rel * 100.0
        ))
    }
}

struct Extra {
    name: &'static str,
    text: String,
    params: Params,
    /// Relative tolerance for (wait mean, p_block, utilization).
    tol: (f64, f64, f64),
}

#[test]
fn unseen_cases_agree_with_theory() {
    let exp = |m: f64| format!("{{ dist = \"exponential\", mean = {m} }}");
    let p = |lam: f64, s: f64, scv: f64, c: u32, cap: Option<u64>| Params {
        arrival_rate: lam,
        service_mean: s,
        service_scv: scv,
        consumers: c,
        capacity: cap,
    };
    let cases = vec![
        // M/M/1 at rho 0.97: 4 M measured messages; relative SE of Wq is about 66/sqrt(n).
        Extra {
            name: "M/M/1 rho 0.97",
            text: textbook(0.97, 1, &exp(1.0), None, 4.0e6, 2.0e4, "poisson"),
            params: p(0.97, 1.0, 1.0, 1, None),
            tol: (0.17, 0.0, 0.01),
        },
        Extra {
            name: "M/M/64 rho 0.95",
            text: textbook(
                64.0 * 0.95 / 0.5,
                64,
                &exp(0.5),
                None,
                2.0e4,
                500.0,
                "poisson",
            ),
            params: p(64.0 * 0.95 / 0.5, 0.5, 1.0, 64, None),
            tol: (0.12, 0.0, 0.01),
        },
        Extra {
            name: "M/M/2/3 overloaded (capacity 1, rho 1.5)",
            text: textbook(30.0, 2, &exp(0.1), Some(1), 2.0e4, 100.0, "poisson"),
            params: p(30.0, 0.1, 1.0, 2, Some(1)),
            tol: (0.03, 0.02, 0.01),
        },
        Extra {
            name: "M/M/1/2 (capacity 1)",
            text: textbook(8.0, 1, &exp(0.1), Some(1), 5.0e4, 100.0, "poisson"),
            params: p(8.0, 0.1, 1.0, 1, Some(1)),
            tol: (0.03, 0.02, 0.01),
        },
        Extra {
            name: "M/M/4/6 heavy overload (rho 3)",
            text: textbook(120.0, 4, &exp(0.1), Some(2), 5.0e3, 50.0, "poisson"),
            params: p(120.0, 0.1, 1.0, 4, Some(2)),
            tol: (0.03, 0.01, 0.01),
        },
        // Erlang B is insensitive to the service law: lognormal with cv 3 gives the same loss.
        Extra {
            name: "Erlang B, lognormal service cv 3",
            text: textbook(
                4.0,
                8,
                "{ dist = \"lognormal\", mean = 1.5, stddev = 4.5 }",
                Some(0),
                2.0e5,
                1.0e3,
                "poisson",
            ),
            params: p(4.0, 1.5, 9.0, 8, Some(0)),
            tol: (0.0, 0.06, 0.02),
        },
        Extra {
            name: "M/G/1 lognormal cv 3, rho 0.6",
            text: textbook(
                12.0,
                1,
                "{ dist = \"lognormal\", mean = 0.05, stddev = 0.15 }",
                None,
                3.0e5,
                1.0e3,
                "poisson",
            ),
            params: p(12.0, 0.05, 9.0, 1, None),
            tol: (0.15, 0.0, 0.01),
        },
        Extra {
            name: "M/G/1 gamma cv 0.5, rho 0.8",
            text: textbook(
                16.0,
                1,
                "{ dist = \"gamma\", mean = 0.05, stddev = 0.025 }",
                None,
                5.0e4,
                500.0,
                "poisson",
            ),
            params: p(16.0, 0.05, 0.25, 1, None),
            tol: (0.05, 0.0, 0.01),
        },
    ];
    let failures: Vec<String> = cases
        .par_iter()
        .flat_map_iter(|case| {
            let s = sim::run(&load(&case.text).base).summary;
            assert_invariants(&s);
            let t = theory::predict(&case.params).expect("closed form exists");
            let mut bad = Vec::new();
            if case.tol.0 > 0.0 {
                bad.extend(within(
                    &format!("{} wq_mean", case.name),
                    s.latency.queue_wait.mean.unwrap(),
                    t.wq_mean.unwrap(),
                    case.tol.0,
                ));
                bad.extend(within(
                    &format!("{} lq_mean", case.name),
                    s.queue.mean_depth,
                    t.lq_mean.unwrap(),
                    case.tol.0 * 1.1,
                ));
            }
            if case.tol.1 > 0.0 {
                let pb = s.counts.rejected as f64 / s.counts.produced as f64;
                bad.extend(within(
                    &format!("{} p_block", case.name),
                    pb,
                    t.p_block,
                    case.tol.1,
                ));
            }
            bad.extend(within(
                &format!("{} utilization", case.name),
                s.consumers.utilization,
                t.utilization,
                case.tol.2,
            ));
            eprintln!("{}: {} events", case.name, s.events);
            bad
        })
        .collect();
    assert!(
        failures.is_empty(),
        "disagreements with theory:\n{}",
        failures.join("\n")
    );
}

/// D/M/1: evenly spaced arrivals, exponential service. Wq = sigma / (mu (1 - sigma)) where
/// sigma solves sigma = exp(-mu (1 - sigma) / lambda) (Gross et al., sec. 6.3, GI/M/1).
#[test]
fn constant_arrivals_match_d_m_1() {
    let (lam, mu): (f64, f64) = (8.0, 10.0);
    let mut sigma = 0.5;
    for _ in 0..200 {
        sigma = (-mu * (1.0 - sigma) / lam).exp();
    }
    let wq = sigma / (mu * (1.0 - sigma));
    let s = sim::run(
        &load(&textbook(
            lam,
            1,
            "{ dist = \"exponential\", mean = 0.1 }",
            None,
            1.0e5,
            500.0,
            "constant",
        ))
        .base,
    )
    .summary;
    assert_invariants(&s);
    let got = s.latency.queue_wait.mean.unwrap();
    assert!(
        (got / wq - 1.0).abs() < 0.04,
        "D/M/1 Wq simulated {got}, theory {wq}"
    );
    // P(wait > 0) = sigma for GI/M/1.
    let pw = s.queue.p_wait.unwrap();
    assert!(
        (pw - sigma).abs() < 0.01,
        "D/M/1 P(wait) simulated {pw}, theory {sigma}"
    );
}

/// The estimators themselves: M/M/1 waiting-time quantiles, and that the time-weighted
/// depth and Little's law agree (Lq = lambda Wq) on the same run.
#[test]
fn quantiles_and_littles_law() {
    let (lam, mu) = (0.8, 1.0);
    let s = sim::run(
        &load(&textbook(
            lam,
            1,
            "{ dist = \"exponential\", mean = 1.0 }",
            None,
            5.0e5,
            1.0e3,
            "poisson",
        ))
        .base,
    )
    .summary;
    // W ~ Exp(mu - lam): quantile q at -ln(1-q)/(mu-lam).
    for (q, got) in [
        (0.5, s.latency.end_to_end.p50),
        (0.9, s.latency.end_to_end.p90),
        (0.99, s.latency.end_to_end.p99),
    ] {
        let want = -(1.0f64 - q).ln() / (mu - lam);
        let got = got.unwrap();
        assert!((got / want - 1.0).abs() < 0.06, "W p{q}: {got} vs {want}");
    }
    let little = s.rates.offered * s.latency.queue_wait.mean.unwrap();
    assert!(
        (s.queue.mean_depth / little - 1.0).abs() < 0.01,
        "Lq {} vs lambda Wq {little}",
        s.queue.mean_depth
    );
}
