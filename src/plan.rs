//! `queuelab plan`: the smallest setting whose confidence interval meets every target.
//!
//! The search assumes more of the varied resource never makes things worse (more
//! consumers, more capacity) and bisects the candidate values, so it runs about
//! log2(n) + 2 of them instead of all n. A value *meets* a target when the whole 95%
//! interval of the metric's mean over the replications is on the right side of it.

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
    let value = match value_text.parse::<f64>() {
        Ok(v) => v,
        Err(_) => {
            if let Some(p) = value_text.strip_suffix('%') {
                p.trim().parse::<f64>().map_err(|_| bad("not a number"))? / 100.0
            } else {
                crate::time::parse_duration(value_text).map_err(|m| bad(&m))?
            }
        }
    };
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
    /// Whether a metric's interval meets the target for sure (the whole interval).
    pub fn met_by(&self, iv: Option<&Interval>) -> bool {
        let Some(iv) = iv else { return false };
        match self.op {
            Op::Lt => iv.high < self.value,
            Op::Le => iv.high <= self.value,
            Op::Gt => iv.low > self.value,
            Op::Ge => iv.low >= self.value,
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
    /// The smallest value meeting every target (None: not even the largest does).
    pub answer: Option<String>,
    /// The answer's figures.
    pub answer_evaluation: Option<Evaluation>,
    /// The value just below the answer (or the largest, when none meets): which figure fails.
    pub evidence: Option<Evaluation>,
    /// Values evaluated, in search order.
    pub evaluated: Vec<Evaluation>,
    /// How many candidate values there were.
    pub candidates: usize,
}

/// Searches `vary.values` (in order) for the smallest value meeting every target.
pub fn search(
    base: &Spec,
    text: &str,
    vary: &Vary,
    targets: &[Target],
    threads: usize,
    tick: &(dyn Fn() + Sync),
) -> Result<Plan, Error> {
    let metrics: Vec<String> = targets.iter().map(|t| t.metric.clone()).collect();
    let mut cache: BTreeMap<usize, Evaluation> = BTreeMap::new();
    let mut order = Vec::new();
    let mut eval = |i: usize| -> Result<Evaluation, Error> {
        if let Some(e) = cache.get(&i) {
            return Ok(e.clone());
        }
        let spec = Spec {
            vary: vec![Vary {
                key: vary.key.clone(),
                values: vec![vary.values[i].clone()],
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
            value: vary.values[i].clone(),
            meets: figures.iter().all(|f| f.meets),
            figures,
        };
        cache.insert(i, e.clone());
        order.push(e.clone());
        Ok(e)
    };
    let n = vary.values.len();
    let top = eval(n - 1)?;
    let (answer, answer_evaluation, evidence) = if !top.meets {
        (None, None, Some(top))
    } else {
        let (mut lo, mut hi) = (0, n - 1);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if eval(mid)?.meets {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        let below = if lo > 0 { Some(eval(lo - 1)?) } else { None };
        (Some(vary.values[lo].clone()), Some(eval(lo)?), below)
    };
    Ok(Plan {
        key: vary.key.clone(),
        replications: base.replications,
        answer,
        answer_evaluation,
        evidence,
        evaluated: order,
        candidates: n,
    })
}

/// The plan in words.
pub fn describe(p: &Plan, targets: &[Target]) -> String {
    let fmt_iv = |iv: &Option<Interval>| match iv {
        Some(i) => format!("{:.4} [{:.4}, {:.4}]", i.mean, i.low, i.high),
        None => "no samples".to_string(),
    };
    let goals: Vec<&str> = targets.iter().map(|t| t.text.as_str()).collect();
    let mut o = format!(
        "plan: smallest {} meeting {} (95% CI over {} replications)\n",
        p.key,
        goals.join(" and "),
        p.replications
    );
    let figures = |o: &mut String, e: &Evaluation| {
        for f in &e.figures {
            o.push_str(&format!(
                "    {:<40} {}  {}\n",
                f.target,
                fmt_iv(&f.interval),
                if f.meets { "meets" } else { "FAILS" }
            ));
        }
    };
    match (&p.answer, &p.answer_evaluation) {
        (Some(a), Some(e)) => {
            o.push_str(&format!("  answer: {} = {a}\n", p.key));
            figures(&mut o, e);
        }
        _ => o.push_str(&format!(
            "  answer: none of the {} values meets every target, not even the largest\n",
            p.candidates
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
    }
}
