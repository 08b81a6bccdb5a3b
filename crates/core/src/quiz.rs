//! `queuelab quiz`: predict first, then see the run and the reasoning that gets close
//! without a simulator.
//!
//! The back of the envelope is a fluid model: messages flow in at the offered rate and out
//! at the capacity (consumers / mean service time; none while the consumers are down
//! for a deploy, divided by the slowdown in a slowdown), the queue holding the difference,
//! starting from any warm backlog, capped by a bounded queue (refusing, evicting the oldest,
//! or, with `overflow = "block"`, holding the callers back) and, for sync callers, timing out
//! the calls that would wait too long. Each phase is one line of arithmetic. Waits are FIFO:
//! a message waits until everything ahead of it has been served.
//!
//! Questions whose answer depends on a mechanism this reasoning leaves out (retries that
//! something can trigger, autoscaling, TTLs, a circuit breaker, attempt timeouts, keys,
//! priority tiers for ages and latency, crash redeliveries for latency) are not asked; see
//! [`not_asked`].
//!
//! A guess scores 100 within 10% of the simulated value, falling to 0 at a factor of 10.

use crate::convert::{floor_usize, index_below, round_u64};
use crate::metrics::recovery::{self, Kind, RULE};
use crate::metrics::Summary;
use crate::scenario::{ClientMode, Overflow, Scenario};
use crate::time::{human, ns_to_secs, secs_to_ns, thousands};
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
    /// How the estimate is reached, in words with the numbers; its last figure is the
    /// estimate.
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

/// A number as the reasoning writes it: whole numbers with thousands separators from 100
/// up, else up to two decimals.
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    let a = x.abs();
    let sign = if x < 0.0 { "-" } else { "" };
    if a >= 100.0 {
        format!("{sign}{}", thousands(round_u64(a)))
    } else if a == 0.0 {
        "0".into()
    } else {
        // Three significant digits (at least one decimal place below 100).
        let decimals = floor_usize(2.0 - a.log10().floor()).clamp(1, 9);
        let t = format!("{a:.decimals$}");
        let t = t.trim_end_matches('0').trim_end_matches('.');
        format!("{sign}{t}")
    }
}

/// Why some questions are not asked for `s`: (which questions, why). Empty when every
/// question fits.
pub fn not_asked(s: &Scenario) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let d = &s.downstream;
    let fails = d.failure_rate > 0.0
        || d.poison_rate > 0.0
        || d.outages.iter().any(|o| o.failure_rate > 0.0)
        || d.timeout.is_some()
        || s.client.mode == ClientMode::Sync;
    let mut flow = Vec::new();
    if s.retry.max_attempts > 1 && fails {
        flow.push(
            "retries (the extra attempts depend on when each call fails and how long it backs off)",
        );
    }
    if s.autoscale.is_some() {
        flow.push("autoscaling (the capacity changes as the run goes)");
    }
    if s.queue.ttl.is_some() {
        flow.push("a TTL (messages leave the queue unserved once they are too old)");
    }
    if s.breaker.is_some() {
        flow.push("a circuit breaker (callers stop calling while it is open)");
    }
    if d.timeout.is_some() {
        flow.push("an attempt timeout (it cuts service times short)");
    }
    if s.keys.is_some() {
        flow.push("message keys (ordered lanes serve one message per key at a time)");
    }
    if !flow.is_empty() {
        out.push((
            "peak_backlog, oldest_age, drain_time, p99, error_rate",
            format!("the back of the envelope leaves out {}", flow.join(", ")),
        ));
        return out;
    }
    if s.queue.priority {
        out.push((
            "oldest_age, p99",
            "priority tiers serve some messages ahead of older ones, which FIFO reasoning leaves out".into(),
        ));
    } else if s.delivery.crash_rate > 0.0 {
        out.push((
            "p99",
            "messages of crashed consumers wait out the visibility timeout before redelivery, a tail this reasoning leaves out".into(),
        ));
    }
    out
}

fn asks(s: &Scenario, key: &str) -> bool {
    !not_asked(s)
        .iter()
        .any(|(keys, _)| keys.split(", ").any(|k| k == key))
}

/// The fluid model of a run: backlog, cumulative accepted arrivals and removals on a grid.
struct Fluid {
    dt: f64,
    /// Backlog at the start of each step (and at the end: one more entry).
    backlog: Vec<f64>,
    /// Cumulative accepted messages (the warm backlog counted at 0), at each grid point.
    arrived: Vec<f64>,
    /// Cumulative messages removed from the head (served, or evicted by drop-oldest).
    removed: Vec<f64>,
    /// Fraction of each step's removals that were served (not evicted).
    served_share: Vec<f64>,
    /// Mean service time of an attempt started in each step (slowed in a slowdown).
    service: Vec<f64>,
    produced: f64,
    refused: f64,
    timed_out: f64,
    failed: f64,
}

fn rate_at(s: &Scenario, t: f64) -> f64 {
    let ns = secs_to_ns(t);
    s.producers
        .iter()
        .map(|p| p.rate_at(ns) * (1.0 + p.duplicate_rate))
        .sum()
}

fn down_at(s: &Scenario, t: f64) -> bool {
    let ns = secs_to_ns(t);
    s.consumers.down.iter().any(|&(a, b)| a <= ns && ns < b)
}

fn slowdown_at(s: &Scenario, t: f64) -> (f64, f64) {
    let ns = secs_to_ns(t);
    s.downstream
        .outages
        .iter()
        .find(|o| o.start <= ns && ns < o.end)
        .map_or((1.0, s.downstream.failure_rate), |o| {
            (o.slowdown, o.failure_rate)
        })
}

/// Capacity at `t`, messages per second.
fn capacity_at(s: &Scenario, t: f64) -> f64 {
    if down_at(s, t) {
        0.0
    } else {
        f64::from(s.consumers.count) / (s.consumers.service.mean() * slowdown_at(s, t).0)
    }
}

impl Fluid {
    fn new(s: &Scenario) -> Fluid {
        let duration = ns_to_secs(s.duration);
        let n = 40_000usize;
        let dt = duration / n as f64;
        let sync = s.client.mode == ClientMode::Sync;
        let cap = s.queue.capacity.map(|c| c as f64);
        let b0 = s.queue.initial_backlog as f64;
        let mut f = Fluid {
            dt,
            backlog: Vec::with_capacity(n + 1),
            arrived: Vec::with_capacity(n + 1),
            removed: Vec::with_capacity(n + 1),
            served_share: Vec::with_capacity(n),
            service: Vec::with_capacity(n),
            produced: b0,
            refused: 0.0,
            timed_out: 0.0,
            failed: 0.0,
        };
        let (mut b, mut arr, mut rem) = (b0, b0, 0.0);
        for i in 0..n {
            let t = (i as f64 + 0.5) * dt;
            f.backlog.push(b);
            f.arrived.push(arr);
            f.removed.push(rem);
            let (slow, fail) = slowdown_at(s, t);
            f.service.push(s.consumers.service.mean() * slow);
            let inflow = rate_at(s, t) * dt;
            f.produced += inflow;
            let mu = capacity_at(s, t) * dt;
            let mut accepted = inflow;
            if sync && down_at(s, t) {
                // Calls to servers that are down are refused at once.
                f.refused += inflow;
                accepted = 0.0;
            }
            let served = mu.min(b + accepted);
            let mut next = b + accepted - served;
            let mut evicted = 0.0;
            if let Some(k) = cap {
                if next > k {
                    if sync || s.queue.overflow == Overflow::Reject {
                        f.refused += next - k;
                        accepted -= next - k;
                    } else if s.queue.overflow == Overflow::DropOldest {
                        evicted = next - k;
                    }
                    // Block: the callers wait, counted in the backlog.
                    if s.queue.overflow != Overflow::Block || sync {
                        next = k;
                    }
                }
            }
            if sync {
                f.failed += served * fail;
            }
            f.served_share.push(if served + evicted > 0.0 {
                served / (served + evicted)
            } else {
                1.0
            });
            b = next;
            arr += accepted;
            rem += served + evicted;
        }
        f.backlog.push(b);
        f.arrived.push(arr);
        f.removed.push(rem);
        if sync {
            if let Some(limit) = s.client.timeout.map(ns_to_secs) {
                let to: f64 = f
                    .waits()
                    .iter()
                    .filter(|w| w.wait + w.service > limit)
                    .map(|w| w.weight)
                    .sum();
                f.timed_out = to;
            }
        }
        f
    }

    fn time(&self, i: usize) -> f64 {
        i as f64 * self.dt
    }

    fn end(&self) -> f64 {
        self.time(self.backlog.len() - 1)
    }

    /// The index of the first grid point at which `removed` reaches `x`, if any.
    fn reached(&self, x: f64, from: usize) -> Option<usize> {
        let r = &self.removed;
        let i = from + r[from..].partition_point(|&v| v < x - 1e-9);
        (i < r.len()).then_some(i)
    }

    /// FIFO waits: one entry per step's accepted arrivals (the warm backlog split in 200).
    fn waits(&self) -> Vec<Wait> {
        let mut out = Vec::new();
        let b0 = self.arrived[0];
        if b0 > 0.0 {
            let k = 200;
            for j in 0..k {
                let x = b0 * (j as f64 + 0.5) / k as f64;
                out.push(self.wait_of(x, 0, b0 / k as f64));
            }
        }
        for i in 0..self.backlog.len() - 1 {
            let a = self.arrived[i + 1] - self.arrived[i];
            if a > 1e-12 {
                out.push(self.wait_of(self.arrived[i + 1], i + 1, a));
            }
        }
        out
    }

    /// The wait of the message with cumulative number `x`, which arrives at grid point `i`.
    fn wait_of(&self, x: f64, i: usize, weight: f64) -> Wait {
        let t = self.time(i);
        let ahead = x - self.removed[i];
        match self.reached(x, i) {
            Some(j) => {
                // Between grid points, the removals run at a constant rate.
                let at = if j > i {
                    let (r0, r1) = (self.removed[j - 1], self.removed[j]);
                    self.time(j - 1) + self.dt * ((x - r0) / (r1 - r0).max(1e-12)).clamp(0.0, 1.0)
                } else {
                    t
                };
                let step = j.saturating_sub(1).min(self.service.len() - 1);
                Wait {
                    at: t,
                    ahead,
                    wait: (at - t).max(0.0),
                    served: true,
                    weight: weight * self.served_share[step],
                    service: self.service[step],
                }
            }
            None => Wait {
                at: t,
                ahead,
                wait: self.end() - t,
                served: false,
                weight,
                service: 0.0,
            },
        }
    }

    fn peak(&self) -> (usize, f64) {
        self.backlog
            .iter()
            .copied()
            .enumerate()
            .fold((0, 0.0), |m, (i, b)| if b > m.1 { (i, b) } else { m })
    }
}

#[derive(Clone, Copy)]
struct Wait {
    at: f64,
    ahead: f64,
    wait: f64,
    served: bool,
    weight: f64,
    service: f64,
}

/// The phases of `s` where something happens to the backlog, one line each.
fn phases(s: &Scenario, f: &Fluid, until: f64) -> Vec<String> {
    let duration = ns_to_secs(s.duration);
    let mut cuts: Vec<f64> = vec![0.0, duration];
    for p in &s.producers {
        cuts.extend(p.schedule.iter().map(|(t, _)| ns_to_secs(*t)));
    }
    for &(a, b) in &s.consumers.down {
        cuts.extend([ns_to_secs(a), ns_to_secs(b)]);
    }
    for o in &s.downstream.outages {
        cuts.extend([ns_to_secs(o.start), ns_to_secs(o.end)]);
    }
    cuts.retain(|t| *t <= duration);
    cuts.sort_by(f64::total_cmp);
    cuts.dedup();
    let at = |t: f64| -> f64 {
        let i = index_below((t / f.dt).round(), f.backlog.len());
        f.backlog[i]
    };
    let mut out = Vec::new();
    if s.queue.initial_backlog > 0 {
        out.push(format!(
            "at 0s {} messages already wait (a warm start)",
            thousands(s.queue.initial_backlog)
        ));
    }
    for w in cuts.windows(2) {
        let (a, b) = (w[0], w[1]);
        if a >= until {
            break;
        }
        let b = b.min(until);
        let (b0, b1) = (at(a), at(b));
        let lambda = rate_at(s, (a + b) / 2.0);
        let mu = capacity_at(s, (a + b) / 2.0);
        if b0 < 0.5 && b1 < 0.5 {
            continue;
        }
        let len = b - a;
        let head = format!(
            "{}–{}: {} msg/s in, {} msg/s out{}",
            human(a),
            human(b),
            num(lambda),
            num(mu),
            if mu == 0.0 && !s.consumers.down.is_empty() && down_at(s, (a + b) / 2.0) {
                " (consumers down)"
            } else if slowdown_at(s, (a + b) / 2.0).0 > 1.0 {
                " (slowed down)"
            } else {
                ""
            }
        );
        let net = lambda - mu;
        let linear = (b0 + net * len - b1).abs() <= 0.01 * b1.max(b0).max(100.0);
        let line = if s.client.mode == ClientMode::Sync && down_at(s, (a + b) / 2.0) {
            format!(
                "{head}: every call is refused; {} wait for the consumers",
                num(b0)
            )
        } else if linear {
            format!(
                "{head}: {} {} {} x {} s = {}",
                num(b0),
                if net >= 0.0 { "+" } else { "-" },
                num(net.abs()),
                num(len),
                num(b1)
            )
        } else if net > 0.0 {
            let what = match (s.client.mode, s.queue.overflow) {
                (ClientMode::Sync, _) | (_, Overflow::Reject) => "the rest is refused",
                (_, Overflow::DropOldest) => "the oldest are evicted",
                (_, Overflow::Block) => "callers wait",
            };
            format!(
                "{head}: the backlog grows at {} msg/s until it is full ({}); then {what}",
                num(net),
                num(b1)
            )
        } else {
            format!(
                "{head}: the backlog shrinks at {} msg/s and is empty after {} s",
                num(-net),
                num(b0 / -net)
            )
        };
        out.push(line);
    }
    out
}

fn describe_window(s: &Scenario, kind: Kind, a: f64, b: f64) -> String {
    let (ha, hb) = (human(a), human(b));
    match kind {
        Kind::Spike => format!(
            "Traffic goes from {} msg/s to {} msg/s from {ha} to {hb}.",
            num(rate_at(s, a - 1e-6)),
            num(rate_at(s, a + 1e-6))
        ),
        Kind::Deploy => format!("The consumers are down from {ha} to {hb} (a deploy)."),
        Kind::Slowdown => format!(
            "The downstream is {}x slower from {ha} to {hb}.",
            num(slowdown_at(s, a + 1e-6).0)
        ),
        Kind::Outage => format!(
            "{:.0}% of calls to the downstream fail from {ha} to {hb}.",
            100.0 * slowdown_at(s, a + 1e-6).1
        ),
        Kind::Restart => format!(
            "The consumers start with {} messages already waiting.",
            thousands(s.queue.initial_backlog)
        ),
    }
}

/// The first disturbance, chained with those that begin before its backlog is back to
/// normal (as `recovery` does): (kind, end, back-to-normal time or None, normal level).
fn first_recovery(s: &Scenario, f: &Fluid) -> Option<(Kind, f64, Option<f64>, f64)> {
    let w: Vec<(Kind, f64, f64)> = recovery::windows(s)
        .into_iter()
        .map(|(k, a, b)| (k, ns_to_secs(a), ns_to_secs(b)))
        .collect();
    let (kind, start, mut end) = *w.first()?;
    // The level before it (an empty queue before time 0, as `recovery` counts it).
    let base = if start > 0.0 {
        f.backlog[index_below(start / f.dt, f.backlog.len())]
    } else {
        0.0
    };
    let mut next = 1;
    loop {
        let from = index_below((end / f.dt).ceil(), f.backlog.len());
        let i0 = floor_usize(start / f.dt).min(from);
        let mut peak = f.backlog[i0..=from].iter().copied().fold(0.0, f64::max);
        let mut at = None;
        let mut level = recovery::normal_level_of(base, round_u64(peak));
        for i in from..f.backlog.len() {
            peak = peak.max(f.backlog[i]);
            level = recovery::normal_level_of(base, round_u64(peak));
            if f.backlog[i] <= level {
                at = Some(f.time(i));
                break;
            }
        }
        match w.get(next) {
            Some(&(_, a, b)) if a < end || at.is_none_or(|t| a < t) => {
                end = end.max(b);
                next += 1;
            }
            _ => return Some((kind, end, at, level)),
        }
    }
}

/// The questions that fit `s`.
pub fn questions(s: &Scenario) -> Vec<Question> {
    let f = Fluid::new(s);
    let mean = s.consumers.service.mean();
    let c = f64::from(s.consumers.count);
    let capacity = c / mean;
    let duration = ns_to_secs(s.duration);
    let mut q = Vec::new();
    let cap_txt = format!(
        "capacity = {} consumers / {} s each = {} msg/s",
        s.consumers.count,
        num(mean),
        num(capacity)
    );
    let windows = recovery::windows(s);
    let setting: Vec<String> = windows
        .iter()
        .map(|&(k, a, b)| describe_window(s, k, ns_to_secs(a), ns_to_secs(b)))
        .collect();
    let setting = setting.join(" ");
    let (peak_i, peak) = f.peak();
    if !windows.is_empty() && asks(s, "peak_backlog") {
        let mut lines = vec![cap_txt.clone()];
        lines.extend(phases(s, &f, f.time(peak_i)));
        q.push(Question {
            key: "peak_backlog",
            prompt: format!("{setting} How many messages are waiting at the worst moment?"),
            unit: "messages",
            estimate: peak.round(),
            reasoning: format!(
                "{}; the backlog is largest at {}: {} messages",
                lines.join("; "),
                human(f.time(peak_i)),
                num(peak)
            ),
        });
    }
    let waits = f.waits();
    if !windows.is_empty() && asks(s, "oldest_age") {
        let worst = waits
            .iter()
            .copied()
            .max_by(|a, b| a.wait.total_cmp(&b.wait))
            .unwrap_or(Wait {
                at: 0.0,
                ahead: 0.0,
                wait: 0.0,
                served: true,
                weight: 0.0,
                service: 0.0,
            });
        let steady = (0..f.service.len())
            .map(|i| capacity_at(s, f.time(i)))
            .collect::<Vec<_>>();
        let from = floor_usize(worst.at / f.dt);
        let to = floor_usize((worst.at + worst.wait) / f.dt);
        let constant = steady[from.min(steady.len() - 1)..to.min(steady.len())]
            .windows(2)
            .all(|w| w[0] == w[1]);
        let mu = steady[from.min(steady.len() - 1)];
        let how = if !worst.served {
            format!(
                "it is still waiting when the run ends at {}: {} - {} = {} s",
                human(duration),
                num(duration),
                num(worst.at),
                num(worst.wait)
            )
        } else if constant && mu > 0.0 && s.queue.overflow != Overflow::DropOldest {
            format!(
                "they are served at {} msg/s: {} / {} = {} s",
                num(mu),
                num(worst.ahead),
                num(mu),
                num(worst.wait)
            )
        } else {
            format!(
                "it reaches the head at {}: {} - {} = {} s",
                human(worst.at + worst.wait),
                num(worst.at + worst.wait),
                num(worst.at),
                num(worst.wait)
            )
        };
        q.push(Question {
            key: "oldest_age",
            prompt: "How long does the oldest waiting message wait, at worst (seconds)?".into(),
            unit: "seconds",
            estimate: worst.wait,
            reasoning: format!(
                "FIFO: the longest wait is for the message that arrives at {} with {} messages ahead of it (new arrivals queue behind it); {how}",
                human(worst.at),
                num(worst.ahead)
            ),
        });
    }
    if let (true, Some((kind, end, at, level))) = (asks(s, "drain_time"), first_recovery(s, &f)) {
        let (estimate, why) = match at {
            Some(t) => {
                let e = (t - end).max(0.0);
                let i = index_below(end / f.dt, f.backlog.len());
                let b_end = f.backlog[i];
                let spare = capacity_at(s, end + 1e-6) - rate_at(s, end + 1e-6);
                let linear = spare > 0.0 && ((b_end - level).max(0.0) / spare - e).abs() <= 0.02 * e.max(1.0);
                if b_end <= level {
                    (
                        e,
                        format!(
                            "when it ends, at {}, {} messages wait, already within 10% of the peak ({}): {} s",
                            human(end),
                            num(b_end),
                            num(level),
                            num(e)
                        ),
                    )
                } else if linear {
                    (
                        e,
                        format!(
                            "when it ends, at {}, {} messages wait; {cap_txt}, {} msg/s more than comes in; back to normal at {} (10% of the peak): ({} - {}) / {} = {} s",
                            human(end),
                            num(b_end),
                            num(spare),
                            num(level),
                            num(b_end),
                            num(level),
                            num(spare),
                            num(e)
                        ),
                    )
                } else {
                    (
                        e,
                        format!(
                            "{}; the backlog is down to {} (10% of the peak) at {}: {} - {} = {} s",
                            phases(s, &f, t).join("; "),
                            num(level),
                            human(t),
                            num(t),
                            num(end),
                            num(e)
                        ),
                    )
                }
            }
            None => (
                duration - end,
                format!(
                    "{}; the backlog never falls to 10% of its peak before the run ends, so the answer is the time left: {} - {} = {} s",
                    phases(s, &f, duration).join("; "),
                    num(duration),
                    num(end),
                    num(duration - end)
                ),
            ),
        };
        let what = match kind {
            Kind::Restart => "the restart".to_string(),
            k => format!("the {}", k.label()),
        };
        q.push(Question {
            key: "drain_time",
            prompt: format!(
                "How long after {what} ends is the backlog back to normal, in seconds ({RULE})?"
            ),
            unit: "seconds",
            estimate,
            reasoning: why,
        });
    }
    if asks(s, "p99") {
        let enqueue = ns_to_secs(s.client.enqueue_latency);
        let rho = rate_at(s, 0.0) / capacity;
        let cv = s.consumers.service.stddev() / mean;
        let wq = if rho < 1.0 {
            rho / (1.0 - rho) * mean / c
        } else {
            0.0
        };
        let service_p99 = mean * (1.0 + 3.6 * cv);
        let steady = service_p99 + 4.6 * wq;
        // Waits of the messages that complete (sync: whose callers had not given up).
        let limit = if s.client.mode == ClientMode::Sync {
            s.client.timeout.map(ns_to_secs)
        } else {
            None
        };
        let mut done: Vec<Wait> = waits
            .iter()
            .copied()
            .filter(|w| w.served && w.at + w.wait + w.service <= duration)
            .filter(|w| limit.is_none_or(|l| w.wait + w.service <= l))
            .collect();
        done.sort_by(|a, b| a.wait.total_cmp(&b.wait));
        let total: f64 = done.iter().map(|w| w.weight).sum();
        let waited: f64 = done
            .iter()
            .filter(|w| w.wait > 2.0 * f.dt)
            .map(|w| w.weight)
            .sum();
        let share = waited / total.max(1e-9);
        let mut acc = 0.0;
        let q99 = done
            .iter()
            .find(|w| {
                acc += w.weight;
                acc >= 0.99 * total
            })
            .map_or(0.0, |w| w.wait);
        let steady_txt = format!(
            "utilisation {:.2}; service p99 about mean x (1 + 3.6 x its coefficient of variation {}) = {} s, plus 4.6 x the mean queueing time {} s",
            rho,
            num(cv),
            num(service_p99),
            num(wq)
        );
        let (extra_txt, extra) = if enqueue > 0.0 {
            (
                format!(", and {} s to reach the queue", num(enqueue)),
                format!(" + {}", num(enqueue)),
            )
        } else {
            (String::new(), String::new())
        };
        let (estimate, why) = if share < 0.01 || q99 + mean < steady {
            let e = steady + enqueue;
            (
                e,
                format!(
                    "{steady_txt}{extra_txt}: {} + 4.6 x {}{extra} = {} s",
                    num(service_p99),
                    num(wq),
                    num(e)
                ),
            )
        } else {
            let e = q99 + mean + enqueue;
            (
                e,
                format!(
                    "{:.0}% of the messages that complete arrive behind a backlog, so the slowest 1% are among them: the 99th percentile of the FIFO waits is {} s; with {} s of service{extra_txt}: {} + {}{extra} = {} s",
                    100.0 * share,
                    num(q99),
                    num(mean),
                    num(q99),
                    num(mean),
                    num(e)
                ),
            )
        };
        q.push(Question {
            key: "p99",
            prompt: "What is the end-to-end p99 latency (seconds)?".into(),
            unit: "seconds",
            estimate,
            reasoning: why,
        });
    }
    let refusable = s.client.mode == ClientMode::Sync
        || (s.queue.capacity.is_some() && s.queue.overflow == Overflow::Reject);
    if refusable && asks(s, "error_rate") {
        let bad = f.refused + f.timed_out + f.failed;
        let pct = 100.0 * bad / f.produced.max(1.0);
        let mut parts = vec![format!("{} refused", num(f.refused))];
        if s.client.mode == ClientMode::Sync {
            parts.push(format!("{} timed out", num(f.timed_out)));
            parts.push(format!("{} failed", num(f.failed)));
        }
        let why = format!(
            "{}{}; {} = {} of {} messages: {} / {} x 100 = {}%",
            match (s.client.mode, s.queue.capacity) {
                (ClientMode::Sync, Some(k)) => format!("sync: a call is refused when {} calls already wait or the consumers are down, and times out when it would wait longer than its timeout, while the server still works on it", thousands(k)),
                (ClientMode::Sync, None) => "sync: a call is refused when the consumers are down, and times out when it would wait longer than its timeout".into(),
                (_, k) => format!("a message is refused when the queue already holds {}", thousands(k.unwrap_or(0))),
            },
            {
                let ph = phases(s, &f, duration);
                if ph.is_empty() {
                    "; the backlog never builds".to_string()
                } else {
                    format!("; {}", ph.join("; "))
                }
            },
            parts.join(" + "),
            num(bad),
            num(f.produced),
            num(bad),
            num(f.produced),
            num(pct)
        );
        q.push(Question {
            key: "error_rate",
            prompt: "What share of callers gets an error or gives up (percent)?".into(),
            unit: "percent",
            estimate: pct,
            reasoning: why,
        });
    }
    let peak_rate = peak_rate(s);
    let load = peak_rate * mean;
    let needed = needed(s);
    q.push(Question {
        key: "consumers_needed",
        prompt: format!(
            "How many consumers would keep up with the peak of {} msg/s without a growing queue?",
            num(peak_rate)
        ),
        unit: "consumers",
        estimate: needed,
        reasoning: format!(
            "offered load at the peak = {} msg/s x {} s = {} consumers' worth of work; utilisation below 1 needs more than that, so the smallest whole number above it = {}",
            num(peak_rate),
            num(mean),
            num(load),
            needed
        ),
    });
    q
}

fn peak_rate(s: &Scenario) -> f64 {
    let mut times = vec![0];
    for p in &s.producers {
        times.extend(
            p.schedule
                .iter()
                .map(|(t, _)| *t)
                .filter(|t| *t < s.duration),
        );
    }
    times
        .into_iter()
        .map(|t| {
            s.producers
                .iter()
                .map(|p| p.rate_at(t) * (1.0 + p.duplicate_rate))
                .sum::<f64>()
        })
        .fold(0.0, f64::max)
}

fn needed(s: &Scenario) -> f64 {
    (peak_rate(s) * s.consumers.service.mean() + 1e-9).floor() + 1.0
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
        "drain_time" => sum.recovery.first().map_or(0.0, |d| {
            d.drain_seconds.unwrap_or(sum.simulated_seconds - d.end)
        }),
        "p99" => sum.latency.end_to_end.p99.unwrap_or(0.0),
        "error_rate" => {
            100.0 * (sum.client.errors + sum.client.timeouts) as f64
                / sum.counts.produced.max(1) as f64
        }
        _ => needed(s),
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

/// The lines that say which questions were not asked for `s`, and why (empty when all were).
pub fn not_asked_text(s: &Scenario) -> String {
    not_asked(s)
        .iter()
        .map(|(keys, why)| format!("not asked: {keys}: {why}\n"))
        .collect()
}

/// An answer as a person types it: a number (`50000`, `1e4`, `12.5%`) or a duration
/// (`90s`, `3m`, `1m30s`); None when it is neither (or negative, or not finite).
pub fn parse_answer(text: &str) -> Option<f64> {
    let t = text.trim();
    let t = t.strip_suffix('%').unwrap_or(t).trim();
    // Thousands separators (`50,000`), not decimal commas (`1,5` is not a number here).
    let grouped = t.split_once('.').map_or(t, |(w, _)| w);
    let parts: Vec<&str> = grouped.split(',').collect();
    let plain = if parts.len() > 1
        && (1..=3).contains(&parts[0].len())
        && parts[1..].iter().all(|p| p.len() == 3)
    {
        t.replace(',', "")
    } else {
        t.to_string()
    };
    plain
        .parse::<f64>()
        .ok()
        .or_else(|| crate::time::parse_duration(t).ok())
        .filter(|x| x.is_finite() && *x >= 0.0)
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
