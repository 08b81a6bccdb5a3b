//! `queuelab plan`: the smallest setting whose confidence interval meets every target.
//!
//! The candidates are sorted (numerically when they are all numbers; otherwise they are
//! searched in the order given). The search first assumes that more of the varied
//! resource never makes things worse (more consumers, more capacity) and bisects, so it
//! runs about log2(n) + 2 values instead of all n; then it checks that assumption against
//! what it evaluated: when a larger value is worse than a smaller one on some target (their
//! intervals do not overlap), the metric is not monotone, and the search evaluates every
//! value and says so. A value *meets* a target when the whole 95% interval of the metric's
//! mean over the replications (at least two) is on the right side of it.

use crate::error::{Error, InputError};
use crate::stats::Interval;
use crate::sweep::{self, RunRow, Share, Spec, Spread, Vary};
use serde::Serialize;
use std::collections::BTreeMap;

/// A comparison in a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Op {
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
}

/// `METRIC OP VALUE`, e.g. `latency.end_to_end.p99 < 2s`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Target {
    /// Dotted summary path.
    pub metric: String,
    /// Comparison.
    pub op: Op,
    /// Threshold (seconds for durations).
    pub value: f64,
    /// As written.
    pub text: String,
}

/// Parses a target; several may be joined with `and` or `&&` (see [`parse_targets`]).
pub fn parse_target(s: &str) -> Result<Target, InputError> {
    let bad = |m: &str| {
        InputError::new(format!("`{s}`: {m}"))
            .in_file("--target")
            .allowed("METRIC OP VALUE with OP one of < <= > >=, e.g. \"latency.end_to_end.p99 < 2s\" or \"counts.dead_lettered <= 0\"")
    };
    let (pos, op, len) = ["<=", ">=", "<", ">"]
        .iter()
        .filter_map(|o| s.find(o).map(|p| (p, *o, o.len())))
        .min_by_key(|(p, _, l)| (*p, std::cmp::Reverse(*l)))
        .ok_or_else(|| bad("no comparison"))?;
    let metric = s[..pos].trim().to_string();
    let value_text = s[pos + len..].trim();
    if metric.is_empty() || value_text.is_empty() {
        return Err(bad("needs a metric on the left and a value on the right"));
    }
    let finite = |v: f64| {
        if v.is_finite() {
            Ok(v)
        } else {
            Err(bad("the value must be a finite number (not nan or inf)"))
        }
    };
    let value = finite(match value_text.parse::<f64>() {
        Ok(v) => v,
        Err(_) => {
            if let Some(p) = value_text.strip_suffix('%') {
                p.trim().parse::<f64>().map_err(|_| bad("not a number"))? / 100.0
            } else {
                crate::time::parse_duration(value_text).map_err(|m| bad(&m.to_string()))?
            }
        }
    })?;
    let op = match op {
        "<" => Op::Lt,
        "<=" => Op::Le,
        ">" => Op::Gt,
        _ => Op::Ge,
    };
    Ok(Target {
        metric,
        op,
        value,
        text: s.trim().to_string(),
    })
}

/// Parses every `--target`, each possibly several joined by `and` / `&&`.
pub fn parse_targets(args: &[String]) -> Result<Vec<Target>, InputError> {
    let mut out = Vec::new();
    for a in args {
        for part in a.split("&&").flat_map(|p| p.split(" and ")) {
            out.push(parse_target(part)?);
        }
    }
    if out.is_empty() {
        return Err(InputError::new("give at least one --target").in_file("plan"));
    }
    Ok(out)
}

impl Target {
    /// Whether one run's value meets the target.
    pub fn holds(&self, x: f64) -> bool {
        match self.op {
            Op::Lt => x < self.value,
            Op::Le => x <= self.value,
            Op::Gt => x > self.value,
            Op::Ge => x >= self.value,
        }
    }

    /// Whether a metric's interval meets the target for sure (the whole interval; a mean
    /// of one run has no interval and meets nothing).
    pub fn met_by(&self, iv: Option<&Interval>) -> bool {
        let Some(iv) = iv.filter(|i| i.n >= 2) else {
            return false;
        };
        match self.op {
            Op::Lt => iv.high < self.value,
            Op::Le => iv.high <= self.value,
            Op::Gt => iv.low > self.value,
            Op::Ge => iv.low >= self.value,
        }
    }

    /// Whether `later` is worse than `earlier` for this target beyond doubt (the two
    /// intervals do not overlap, in the wrong direction).
    pub fn worse(&self, earlier: Option<&Interval>, later: Option<&Interval>) -> bool {
        let (Some(e), Some(l)) = (earlier, later) else {
            return false;
        };
        match self.op {
            Op::Lt | Op::Le => l.low > e.high,
            Op::Gt | Op::Ge => l.high < e.low,
        }
    }
}

/// Whether one run met every target (a target whose metric is not among `metrics`, or
/// has no sample in the run, is not met).
pub fn run_meets(targets: &[Target], metrics: &[String], row: &RunRow) -> bool {
    targets.iter().all(|t| {
        metrics
            .iter()
            .position(|m| *m == t.metric)
            .and_then(|i| row.metrics.get(i).copied().flatten())
            .is_some_and(|x| t.holds(x))
    })
}

/// One target at one value.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// The target as written.
    pub target: String,
    /// Mean and 95% interval over the replications (None: the metric had no samples).
    pub interval: Option<Interval>,
    /// With `--futures`: the metric's p5/p50/p95 across the futures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spread: Option<Spread>,
    /// With `--futures`: the share of futures meeting this target, with its 95% interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub futures_meeting: Option<Share>,
    /// Whether it is met.
    pub meets: bool,
}

/// One candidate value, run and judged.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// The value (as TOML text).
    pub value: String,
    /// Whether every target is met.
    pub meets: bool,
    /// With `--futures`: the share of futures meeting every target at once, with its 95%
    /// interval; the value meets when the interval's lower end is at least `futures`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub futures_meeting: Option<Share>,
    /// One per target.
    pub figures: Vec<Figure>,
}

/// The answer with its evidence.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The varied key.
    pub key: String,
    /// Replications per evaluated value.
    pub replications: u32,
    /// The smallest value meeting every target (None: no value does).
    pub answer: Option<String>,
    /// The answer's figures.
    pub answer_evaluation: Option<Evaluation>,
    /// The value just below the answer (or the largest, when none meets): which figure fails.
    pub evidence: Option<Evaluation>,
    /// Values evaluated, in search order.
    pub evaluated: Vec<Evaluation>,
    /// How many candidate values there were.
    pub candidates: usize,
    /// The candidates in the order searched: ascending when they are all numbers.
    pub order: Vec<String>,
    /// Whether the candidates were numbers, sorted ascending (else searched as given).
    pub sorted: bool,
    /// Whether every value was evaluated (a non-monotone metric, or few candidates).
    pub exhaustive: bool,
    /// Where a larger value was worse than a smaller one, in words (None: nothing
    /// evaluated contradicts "more never hurts").
    pub non_monotone: Option<String>,
    /// `--futures`: the share of plausible futures that must meet every target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub futures: Option<f64>,
    /// The `--uncertain` inputs, as `KEY ~ LAW(...)`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub uncertain: Vec<String>,
}

/// The candidates in search order: ascending and without repeats when they are all
/// numbers, else as given (without repeats). Returns whether they were sorted.
pub fn order_candidates(values: &[String]) -> (Vec<String>, bool) {
    let mut seen = std::collections::BTreeSet::new();
    let unique: Vec<String> = values
        .iter()
        .filter(|v| seen.insert(v.to_string()))
        .cloned()
        .collect();
    let nums: Option<Vec<f64>> = unique.iter().map(|v| v.parse::<f64>().ok()).collect();
    match nums {
        Some(n) => {
            let mut idx: Vec<usize> = (0..unique.len()).collect();
            idx.sort_by(|&a, &b| n[a].total_cmp(&n[b]));
            (idx.into_iter().map(|i| unique[i].clone()).collect(), true)
        }
        None => (unique, false),
    }
}

/// Searches the candidates of `vary` for the smallest value meeting every target.
pub fn search(
    base: &Spec,
    text: &str,
    vary: &Vary,
    targets: &[Target],
    threads: usize,
    tick: &(dyn Fn() + Sync),
) -> Result<Plan, Error> {
    search_futures(base, text, vary, targets, threads, tick, None)
}

/// As [`search`]; with `futures = Some(f)` a value meets when the share of its runs
/// (each one plausible future: the replication's draws of `base.uncertain`) meeting every
/// target has a 95% interval whose lower end is at least `f`, instead of when the
/// interval of each metric's mean is on the right side.
pub fn search_futures(
    base: &Spec,
    text: &str,
    vary: &Vary,
    targets: &[Target],
    threads: usize,
    tick: &(dyn Fn() + Sync),
    futures: Option<f64>,
) -> Result<Plan, Error> {
    let (values, sorted) = order_candidates(&vary.values);
    let metrics: Vec<String> = targets.iter().map(|t| t.metric.clone()).collect();
    let mut cache: BTreeMap<usize, Evaluation> = BTreeMap::new();
    let mut order = Vec::new();
    let eval_in = |i: usize,
                   cache: &mut BTreeMap<usize, Evaluation>,
                   order: &mut Vec<Evaluation>|
     -> Result<Evaluation, Error> {
        if let Some(e) = cache.get(&i) {
            return Ok(e.clone());
        }
        let spec = Spec {
            vary: vec![Vary {
                key: vary.key.clone(),
                values: vec![values[i].clone()],
            }],
            shard: None,
            ..base.clone()
        };
        let rows = sweep::execute(&spec, text, threads, &metrics, &|_| tick())?;
        if crate::guard::interrupted() {
            return Err(Error::Interrupted(
                "plan interrupted before it found an answer".into(),
            ));
        }
        let ivs = &sweep::point_intervals(&spec, &metrics, &rows)[0];
        let spreads = &sweep::point_spreads(&spec, &metrics, &rows)[0];
        let figures: Vec<Figure> = targets
            .iter()
            .zip(ivs.iter().zip(spreads))
            .map(|(t, (iv, sp))| {
                let one = std::slice::from_ref(t);
                let share = futures.and(sweep::point_shares(&spec, &metrics, &rows, one)[0]);
                Figure {
                    target: t.text.clone(),
                    interval: *iv,
                    spread: futures.and(*sp),
                    futures_meeting: share,
                    meets: match futures {
                        Some(f) => share.is_some_and(|s| s.low >= f),
                        None => t.met_by(iv.as_ref()),
                    },
                }
            })
            .collect();
        let all = futures.and(sweep::point_shares(&spec, &metrics, &rows, targets)[0]);
        let e = Evaluation {
            value: values[i].clone(),
            meets: match (futures, all) {
                (Some(f), Some(s)) => s.low >= f,
                (Some(_), None) => false,
                (None, _) => figures.iter().all(|f| f.meets),
            },
            futures_meeting: all,
            figures,
        };
        cache.insert(i, e.clone());
        order.push(e.clone());
        Ok(e)
    };
    let n = values.len();
    macro_rules! eval {
        ($i:expr) => {
            eval_in($i, &mut cache, &mut order)
        };
    }
    // Both ends first: the smallest may already meet, and the two ends are the first
    // test of "more never hurts".
    let bottom = eval!(0)?;
    let top = eval!(n - 1)?;
    if !bottom.meets && top.meets {
        let (mut lo, mut hi) = (0, n - 1);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if eval!(mid)?.meets {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        if lo > 0 {
            eval!(lo - 1)?;
        }
    }
    // Does anything evaluated contradict "more never hurts"? Compare every pair.
    let contradiction = |cache: &BTreeMap<usize, Evaluation>| -> Option<String> {
        let done: Vec<(&usize, &Evaluation)> = cache.iter().collect();
        for (a, (_, ea)) in done.iter().enumerate() {
            for (_, eb) in &done[a + 1..] {
                for (t, (fa, fb)) in targets.iter().zip(ea.figures.iter().zip(&eb.figures)) {
                    if t.worse(fa.interval.as_ref(), fb.interval.as_ref()) {
                        return Some(format!(
                            "{} is worse at {} = {} than at {} = {}",
                            t.metric, vary.key, eb.value, vary.key, ea.value
                        ));
                    }
                }
                if let (Some(sa), Some(sb)) = (ea.futures_meeting, eb.futures_meeting) {
                    if sb.high < sa.low {
                        return Some(format!(
                            "fewer futures meet every target at {} = {} than at {} = {}",
                            vary.key, eb.value, vary.key, ea.value
                        ));
                    }
                }
                if ea.meets && !eb.meets {
                    return Some(format!(
                        "{} = {} meets every target and {} = {} does not",
                        vary.key, ea.value, vary.key, eb.value
                    ));
                }
            }
        }
        None
    };
    let non_monotone = contradiction(&cache);
    let exhaustive = non_monotone.is_some() && !bottom.meets;
    if exhaustive {
        for i in 0..n {
            eval!(i)?;
        }
    }
    let non_monotone = non_monotone.or_else(|| contradiction(&cache));
    let exhaustive = exhaustive || cache.len() == n;
    let first_meeting = cache.iter().find(|(_, e)| e.meets).map(|(i, _)| *i);
    let (answer, answer_evaluation, evidence) = match first_meeting {
        Some(i) => (
            Some(values[i].clone()),
            cache.get(&i).cloned(),
            i.checked_sub(1).and_then(|j| cache.get(&j).cloned()),
        ),
        None => (None, None, cache.get(&(n - 1)).cloned()),
    };
    Ok(Plan {
        key: vary.key.clone(),
        replications: base.replications,
        answer,
        answer_evaluation,
        evidence,
        evaluated: order,
        candidates: n,
        order: values,
        sorted,
        exhaustive,
        non_monotone,
        futures,
        uncertain: base.uncertain.iter().map(|u| u.describe()).collect(),
    })
}

/// The plan in words.
pub fn describe(p: &Plan, targets: &[Target]) -> String {
    let goals: Vec<&str> = targets.iter().map(|t| t.text.as_str()).collect();
    let mut o = match p.futures {
        None => format!(
            "plan: smallest {} meeting {} (95% CI over {} replications)\n",
            p.key,
            goals.join(" and "),
            p.replications
        ),
        Some(f) => format!(
            "plan: smallest {} meeting {} in at least {} of plausible futures\n  {} futures per value, one run each; a value passes when the 95% interval of the share of its futures meeting every target lies at or above {}\n",
            p.key,
            goals.join(" and "),
            fmt_pct(f),
            p.replications,
            fmt_pct(f)
        ),
    };
    if p.futures.is_some() {
        if p.uncertain.is_empty() {
            o.push_str("  no input is uncertain: the futures differ only in their random draws\n");
        } else {
            o.push_str(&format!(
                "  uncertain inputs (each future draws one value of each; the same futures at every value): {}\n",
                p.uncertain.join(", ")
            ));
        }
    }
    let figures = |o: &mut String, e: &Evaluation| {
        if let Some(s) = &e.futures_meeting {
            o.push_str(&format!(
                "    futures meeting every target: {}  {}\n",
                sweep::fmt_share(s),
                if e.meets { "meets" } else { "FAILS" }
            ));
        }
        for (f, t) in e.figures.iter().zip(targets) {
            match (&f.futures_meeting, &f.spread) {
                (Some(s), sp) => o.push_str(&format!(
                    "    {:<40} met in {}; across futures {}\n",
                    f.target,
                    sweep::fmt_share(s),
                    sweep::fmt_spread(&t.metric, sp.as_ref()),
                )),
                (None, _) => o.push_str(&format!(
                    "    {:<40} {}  {}\n",
                    f.target,
                    sweep::fmt_interval(&t.metric, f.interval.as_ref()),
                    if f.meets { "meets" } else { "FAILS" }
                )),
            }
        }
    };
    if !p.sorted {
        o.push_str(&format!(
            "  the values are not all numbers, so they were searched in the order given: {}\n",
            p.order.join(", ")
        ));
    }
    if let Some(why) = &p.non_monotone {
        o.push_str(&format!(
            "  not monotone: {why}, so more is not always better here{}\n",
            if p.exhaustive {
                "; every value was evaluated"
            } else {
                ""
            }
        ));
    }
    match (&p.answer, &p.answer_evaluation) {
        (Some(a), Some(e)) => {
            o.push_str(&format!("  answer: {} = {a}\n", p.key));
            figures(&mut o, e);
        }
        _ => o.push_str(&format!(
            "  answer: none of the {} values meets every target{}\n",
            p.candidates,
            if p.exhaustive {
                " (every value was evaluated)"
            } else {
                ", not even the smallest or the largest (assuming more never hurts: nothing evaluated says otherwise)"
            }
        )),
    }
    if let Some(e) = &p.evidence {
        o.push_str(&format!(
            "  evidence: {} = {} does not meet them:\n",
            p.key, e.value
        ));
        figures(&mut o, e);
    }
    let tried: Vec<&str> = p.evaluated.iter().map(|e| e.value.as_str()).collect();
    o.push_str(&format!(
        "  evaluated {} of {} values (in this order): {}\n",
        tried.len(),
        p.candidates,
        tried.join(", ")
    ));
    o
}

/// `95%`, `97.5%`.
fn fmt_pct(f: f64) -> String {
    format!(
        "{}%",
        crate::metrics::timeseries::fmt_f((f * 1000.0).round() / 10.0)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_with_units() {
        let t = parse_target("latency.end_to_end.p99 < 2s").unwrap();
        assert_eq!(
            (t.metric.as_str(), t.op, t.value),
            ("latency.end_to_end.p99", Op::Lt, 2.0)
        );
        let t = parse_target("counts.dead_lettered<=0").unwrap();
        assert_eq!((t.op, t.value), (Op::Le, 0.0));
        let t = parse_target("consumers.utilization >= 50%").unwrap();
        assert_eq!(t.value, 0.5);
        assert_eq!(parse_targets(&["a < 1 and b > 2".into()]).unwrap().len(), 2);
        assert!(parse_target("p99 2s").is_err());
    }

    #[test]
    fn meeting_means_the_whole_interval() {
        let t = parse_target("x < 1").unwrap();
        let iv = |low, high| Interval {
            n: 3,
            mean: (low + high) / 2.0,
            low,
            high,
        };
        assert!(t.met_by(Some(&iv(0.5, 0.9))));
        assert!(!t.met_by(Some(&iv(0.5, 1.1))));
        assert!(!t.met_by(None));
        // One run: a mean without an interval meets nothing.
        let one = Interval {
            n: 1,
            mean: 0.5,
            low: 0.5,
            high: 0.5,
        };
        assert!(!t.met_by(Some(&one)));
    }

    #[test]
    fn targets_must_be_finite() {
        for v in ["nan", "inf", "-inf", "NaN"] {
            let e = parse_target(&format!("latency.end_to_end.p99 < {v}")).unwrap_err();
            assert!(e.to_string().contains("finite"), "{e}");
        }
    }

    #[test]
    fn candidates_sort_numerically() {
        let v = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            order_candidates(&v(&["8", "4", "16", "2", "4"])),
            (v(&["2", "4", "8", "16"]), true)
        );
        assert_eq!(
            order_candidates(&v(&["sync", "async"])),
            (v(&["sync", "async"]), false)
        );
    }
}
