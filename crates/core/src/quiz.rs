//! `queuelab quiz`: predict first, then see the run and the reasoning that gets close
//! without a simulator.
//!
//! The questions fit the scenario (a spike or outage asks about the backlog, bounded or
//! sync callers about errors). Each has a back-of-envelope estimate built from
//! capacity = consumers / mean service time, backlog = excess rate x spike length (capped by
//! the queue), drain = backlog / spare capacity and Little's law, and the simulated answer.
//! A guess scores 100 within 10% of the simulated value, falling to 0 at a factor of 10.

use crate::metrics::recovery;
use crate::metrics::Summary;
use crate::scenario::{ClientMode, Scenario};
use crate::time::{human, ns_to_secs};
use serde::Serialize;

/// One question.
#[derive(Debug, Clone, Serialize)]
pub struct Question {
    /// Key for `--answer KEY=VALUE`.
    pub key: &'static str,
    /// The question.
    pub prompt: String,
    /// Unit of the answer.
    pub unit: &'static str,
    /// The back-of-envelope estimate.
    pub estimate: f64,
    /// How the estimate is reached, in words with the numbers.
    pub reasoning: String,
}

/// A question with the learner's answer and the simulated value.
#[derive(Debug, Clone, Serialize)]
pub struct Scored {
    /// The question.
    pub question: Question,
    /// What the learner said (None: skipped).
    pub answer: Option<f64>,
    /// What the simulation measured.
    pub actual: f64,
    /// 0..=100 (None when skipped).
    pub score: Option<f64>,
}

struct Shape {
    capacity: f64,
    base: f64,
    peak: f64,
    spike: Option<(f64, f64)>,
    mean: f64,
}

fn shape(s: &Scenario) -> Shape {
    let mean = s.consumers.service.mean();
    let capacity = f64::from(s.consumers.count) / mean;
    let total = |t| s.producers.iter().map(|p| p.rate_at(t)).sum::<f64>();
    let base = total(0);
    let mut peak = base;
    let mut spike = None;
    for (kind, a, b) in recovery::windows(s) {
        if kind == "spike" {
            peak = peak.max(total(a));
            spike.get_or_insert((ns_to_secs(a), ns_to_secs(b)));
        }
    }
    Shape {
        capacity,
        base,
        peak,
        spike,
        mean,
    }
}

/// The questions that fit `s`.
pub fn questions(s: &Scenario) -> Vec<Question> {
    let sh = shape(s);
    let mut q = Vec::new();
    let cap_txt = format!(
        "capacity = {} consumers / {} each = {:.0} msg/s",
        s.consumers.count,
        human(sh.mean),
        sh.capacity
    );
    if let Some((a, b)) = sh.spike {
        let len = b - a;
        let excess = (sh.peak - sh.capacity).max(0.0);
        let raw_backlog = excess * len;
        let backlog = s
            .queue
            .capacity
            .map_or(raw_backlog, |c| raw_backlog.min(c as f64));
        let spare = (sh.capacity - sh.base).max(1e-9);
        q.push(Question {
            key: "peak_backlog",
            prompt: format!("Traffic goes from {:.0}/s to {:.0}/s for {}. How many messages are waiting at the worst moment?", sh.base, sh.peak, human(len)),
            unit: "messages",
            estimate: backlog,
            reasoning: format!(
                "{cap_txt}; the spike brings {:.0} - {:.0} = {:.0} msg/s more than that, for {:.0} s: {:.0} messages{}.",
                sh.peak,
                sh.capacity,
                excess,
                len,
                raw_backlog,
                s.queue.capacity.filter(|c| (*c as f64) < raw_backlog).map(|c| format!(", but the queue holds only {c}")).unwrap_or_default()
            ),
        });
        q.push(Question {
            key: "oldest_age",
            prompt: "How long does the oldest waiting message wait, at worst (seconds)?".into(),
            unit: "seconds",
            estimate: backlog / sh.capacity.max(1e-9) + if backlog > 0.0 { 0.0 } else { sh.mean },
            reasoning: format!(
                "FIFO: the message at the back of a {backlog:.0}-message queue waits for all of them to be served at {:.0} msg/s: {backlog:.0} / {:.0} = {:.0} s (new arrivals queue behind it, not ahead).",
                sh.capacity, sh.capacity, backlog / sh.capacity.max(1e-9)
            ),
        });
        q.push(Question {
            key: "drain_time",
            prompt: "How long after the spike ends is the backlog back to normal (seconds)?".into(),
            unit: "seconds",
            estimate: backlog / spare,
            reasoning: format!(
                "after the spike the queue shrinks at the spare capacity, {:.0} - {:.0} = {:.0} msg/s: {backlog:.0} / {:.0} = {:.0} s.",
                sh.capacity,
                sh.base,
                spare,
                spare,
                backlog / spare
            ),
        });
    }
    let rho = sh.base / sh.capacity;
    let (p99, p99_why) = if let Some((a, b)) = sh.spike {
        let excess = (sh.peak - sh.capacity).max(0.0);
        let backlog = s
            .queue
            .capacity
            .map_or(excess * (b - a), |c| (excess * (b - a)).min(c as f64));
        let w = backlog / sh.capacity;
        (
            w.max(sh.mean),
            format!("the slowest messages are the ones stuck behind the spike's backlog: about {w:.0} s, so p99 is close to the worst wait when more than 1% of messages arrive during and after the spike."),
        )
    } else if rho < 1.0 {
        let wq = rho / (1.0 - rho) * sh.mean / f64::from(s.consumers.count);
        (
            sh.mean * 4.6 + 4.6 * wq,
            format!("utilisation {rho:.2}; time in system is roughly exponential with mean service + queueing ({} + {}), and an exponential's p99 is 4.6 times its mean.", human(sh.mean), human(wq)),
        )
    } else {
        (
            f64::from(u32::MAX),
            "the load exceeds capacity: the queue grows without bound".into(),
        )
    };
    q.push(Question {
        key: "p99",
        prompt: "What is the end-to-end p99 latency (seconds)?".into(),
        unit: "seconds",
        estimate: p99,
        reasoning: p99_why,
    });
    let bounded = s.queue.capacity.is_some() || s.client.mode == ClientMode::Sync;
    if bounded {
        q.push(Question {
            key: "error_rate",
            prompt: "What share of callers gets an error or gives up (percent)?".into(),
            unit: "percent",
            estimate: match sh.spike {
                Some((a, b)) => {
                    let len = b - a;
                    let extra = ((sh.peak - sh.capacity).max(0.0) * len - s.queue.capacity.unwrap_or(0) as f64).max(0.0);
                    let total: f64 = sh.base * ns_to_secs(s.duration) + (sh.peak - sh.base) * len;
                    100.0 * extra / total.max(1.0)
                }
                None => 0.0,
            },
            reasoning: "callers are refused once the queue is full: the excess that does not fit, (peak - capacity) x spike length - queue capacity, over all messages.".into(),
        });
    }
    let needed = (sh.peak * sh.mean).ceil() + 1.0;
    q.push(Question {
        key: "consumers_needed",
        prompt: format!("How many consumers would keep up with the peak of {:.0}/s without a growing queue?", sh.peak),
        unit: "consumers",
        estimate: needed,
        reasoning: format!(
            "offered load at the peak = {:.0}/s x {} = {:.1} consumers' worth of work; utilisation must stay below 1, so at least {:.0} (one more for headroom).",
            sh.peak,
            human(sh.mean),
            sh.peak * sh.mean,
            needed
        ),
    });
    q
}

/// The simulated value for a question key.
pub fn actual(key: &str, s: &Scenario, sum: &Summary) -> f64 {
    match key {
        "peak_backlog" => sum
            .recovery
            .iter()
            .map(|d| d.peak_backlog)
            .max()
            .unwrap_or(sum.queue.max_depth) as f64,
        "oldest_age" => sum.queue.max_oldest_age,
        "drain_time" => sum
            .recovery
            .iter()
            .find(|d| d.kind == "spike")
            .and_then(|d| d.drain_seconds)
            .unwrap_or(ns_to_secs(s.duration)),
        "p99" => sum.latency.end_to_end.p99.unwrap_or(0.0),
        "error_rate" => {
            100.0 * (sum.client.errors + sum.client.timeouts) as f64
                / sum.counts.produced.max(1) as f64
        }
        _ => {
            let sh = shape(s);
            (sh.peak * sh.mean).floor() + 1.0
        }
    }
}

/// 100 within 10% of `actual`, falling with the log of the ratio to 0 at a factor of 10.
pub fn score(answer: f64, actual: f64) -> f64 {
    score_with_slack(answer, actual, 1e-3)
}

/// [`score`] with an absolute `slack` added to both sides, so that near-zero answers to
/// near-zero values count as close (half a point for percentages).
pub fn score_with_slack(answer: f64, actual: f64, slack: f64) -> f64 {
    let (a, b) = (answer.max(0.0), actual.max(0.0));
    let ratio = ((a + slack) / (b + slack)).log10().abs();
    if ratio <= 0.1f64.ln_1p() / std::f64::consts::LN_10 {
        100.0
    } else {
        (100.0 * (1.0 - ratio)).clamp(0.0, 100.0).round()
    }
}

/// Scores answers (by key) against a run.
pub fn mark(s: &Scenario, sum: &Summary, answers: &[(String, f64)]) -> Vec<Scored> {
    questions(s)
        .into_iter()
        .map(|q| {
            let actual = actual(q.key, s, sum);
            let answer = answers.iter().find(|(k, _)| k == q.key).map(|(_, v)| *v);
            Scored {
                score: answer.map(|a| {
                    score_with_slack(a, actual, if q.unit == "percent" { 0.5 } else { 1e-3 })
                }),
                question: q,
                answer,
                actual,
            }
        })
        .collect()
}

/// The marked quiz in words.
pub fn describe(scored: &[Scored]) -> String {
    let mut o = String::new();
    let mut total = 0.0;
    let mut n = 0;
    for (i, s) in scored.iter().enumerate() {
        let q = &s.question;
        o.push_str(&format!("{}. {}\n", i + 1, q.prompt));
        match (s.answer, s.score) {
            (Some(a), Some(sc)) => {
                total += sc;
                n += 1;
                o.push_str(&format!(
                    "   you said {}, {} {}: {sc:.0}/100\n",
                    fmt(a, q.unit),
                    source(q.key),
                    fmt(s.actual, q.unit)
                ));
            }
            _ => o.push_str(&format!(
                "   (skipped) {} {}\n",
                source(q.key),
                fmt(s.actual, q.unit)
            )),
        }
        o.push_str(&format!(
            "   back of the envelope: {} -> {}\n",
            q.reasoning,
            fmt(q.estimate, q.unit)
        ));
    }
    if n > 0 {
        o.push_str(&format!(
            "score: {:.0}/100 over {n} answer(s)\n",
            total / n as f64
        ));
    }
    o
}

/// Where the right answer comes from: the run, or (consumers needed) utilisation < 1 at the peak.
fn source(key: &str) -> &'static str {
    if key == "consumers_needed" {
        "utilisation below 1 at the peak needs"
    } else {
        "the run says"
    }
}

fn fmt(v: f64, unit: &str) -> String {
    match unit {
        "seconds" => human(v),
        "percent" => format!("{v:.1}%"),
        _ => format!("{v:.0} {unit}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoring_is_by_ratio() {
        assert_eq!(score(100.0, 100.0), 100.0);
        assert_eq!(score(108.0, 100.0), 100.0);
        assert!(
            score(1000.0, 100.0) <= 1.0,
            "a factor of ten is (about) nothing"
        );
        assert!(score(10.0, 100.0) <= 1.0);
        let half = score(200.0, 100.0);
        assert!((60.0..80.0).contains(&half), "{half}");
        assert_eq!(score(0.0, 0.0), 100.0);
        assert_eq!(
            score_with_slack(0.0, 0.3, 0.5),
            80.0,
            "0% against 0.3%: close, not right"
        );
    }
}
