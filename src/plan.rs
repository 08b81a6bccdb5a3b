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
use crate::sweep::{self, Spec, Vary};
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
                crate::time::parse_duration(value_text).map_err(|m| bad(&m))?
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

/// One target at one value.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// The target as written.
    pub target: String,
    /// Mean and 95% interval over the replications (None: the metric had no samples).
    pub interval: Option<Interval>,
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
        let figures: Vec<Figure> = targets
            .iter()
            .zip(ivs)
            .map(|(t, iv)| Figure {
                target: t.text.clone(),
                interval: *iv,
                meets: t.met_by(iv.as_ref()),
            })
            .collect();
        let e = Evaluation {
            value: values[i].clone(),
            meets: figures.iter().all(|f| f.meets),
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
    })
}

/// The plan in words.
pub fn describe(p: &Plan, targets: &[Target]) -> String {
    let goals: Vec<&str> = targets.iter().map(|t| t.text.as_str()).collect();
    let mut o = format!(
        "plan: smallest {} meeting {} (95% CI over {} replications)\n",
        p.key,
        goals.join(" and "),
        p.replications
    );
    let figures = |o: &mut String, e: &Evaluation| {
        for (f, t) in e.figures.iter().zip(targets) {
            o.push_str(&format!(
                "    {:<40} {}  {}\n",
                f.target,
                sweep::fmt_interval(&t.metric, f.interval.as_ref()),
                if f.meets { "meets" } else { "FAILS" }
            ));
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
