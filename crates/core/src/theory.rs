//! Closed-form steady-state results of classic queues, to check runs against.
//!
//! M/M/c (Erlang C, which includes M/M/1), M/M/c/K (finite waiting room, rejection),
//! Erlang B (M/G/c/c, `capacity = 0`, insensitive to the service law) and M/G/1
//! (Pollaczek-Khinchine, which includes M/D/1). Sources: Gross, Shortle, Thompson &
//! Harris, *Fundamentals of Queueing Theory*, 4th ed., sec. 2.2-2.6 and 5.1.
//!
//! For arrivals or service that are not Poisson / exponential, the approximations
//! practitioners quote, fed by a run's measured squared coefficients of variation
//! (Ca² of the gaps between arrivals, Cs² of the service times): Kingman's for G/G/1,
//! Wq = rho / (1 - rho) x (Ca² + Cs²) / 2 x E\[S\] (J. F. C. Kingman, *The single server
//! queue in heavy traffic*, 1961), and Allen-Cunneen's for G/G/c, the M/M/c wait scaled
//! the same way, Wq = C(c, a) / (c mu - lambda) x (Ca² + Cs²) / 2 (A. O. Allen,
//! *Probability, Statistics and Queueing Theory*, 2nd ed., 1990, sec. 6.2), where C is
//! Erlang C. With one consumer the two are the same formula; with Poisson arrivals and
//! one consumer it is Pollaczek-Khinchine's, exact (M/D/1 included).

use crate::error::{ErrorKind, InputError};
use crate::metrics::Summary;
use crate::scenario::{ArrivalKind, ClientMode, Overflow, Scenario, Service};
use serde::Serialize;

/// The most consumers a model is computed for: Erlang's formulas take one step per
/// consumer, and a pool larger than this is not a queue anyone sizes by hand.
pub const MAX_CONSUMERS: u32 = 10_000_000;

/// Above this many states (consumers + waiting places) M/M/c/K is computed in closed form
/// instead of term by term: the time and memory stay those of the consumers, whatever the
/// capacity (up to `u64::MAX` places).
const TERMWISE_STATES: u64 = 1 << 20;

/// The inputs of a model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// Arrivals per second (Poisson).
    pub arrival_rate: f64,
    /// Mean service time, seconds.
    pub service_mean: f64,
    /// Squared coefficient of variation of the service time (1 = exponential, 0 = constant).
    pub service_scv: f64,
    /// Consumers.
    pub consumers: u32,
    /// Messages that may wait (`None` = unbounded).
    pub capacity: Option<u64>,
}

/// Steady-state figures. Times in seconds; `None` where the model has no steady state
/// (rho >= 1 with an unbounded queue) or no closed form for that figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// Which model was used.
    pub model: String,
    /// Offered load per consumer, arrival_rate * service_mean / consumers.
    pub rho: f64,
    /// Fraction of arrivals refused.
    pub p_block: f64,
    /// Admitted messages per second.
    pub throughput: f64,
    /// Busy fraction of each consumer.
    pub utilization: f64,
    /// Fraction of admitted messages that wait at all.
    pub p_wait: Option<f64>,
    /// Mean queue wait of admitted messages.
    pub wq_mean: Option<f64>,
    /// Mean time in system of admitted messages.
    pub w_mean: Option<f64>,
    /// Time-average number waiting.
    pub lq_mean: Option<f64>,
    /// True when the model is steady (rho < 1, or a finite system).
    pub stable: bool,
}

/// Erlang's loss formula B(c, a): probability all `c` servers are busy with `a` Erlangs offered.
pub fn erlang_b(c: u32, a: f64) -> f64 {
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (f64::from(k) + a * b);
    }
    b
}

/// Erlang C: probability an arrival waits in M/M/c with `a` Erlangs offered (a < c).
pub fn erlang_c(c: u32, a: f64) -> f64 {
    let b = erlang_b(c, a);
    let rho = a / f64::from(c);
    b / (1.0 - rho * (1.0 - b))
}

impl Params {
    /// Checks the inputs: finite, positive where they must be, a load that is a number,
    /// and a size the formulas can take. Each error names the parameter (as the
    /// `theory` command's flag) and what is allowed.
    ///
    /// # Errors
    /// [`ErrorKind::OutOfRange`] for a rate, mean or scv that is not a finite number in its
    /// range (NaN included), [`ErrorKind::TooLarge`] for more than [`MAX_CONSUMERS`]
    /// consumers or a load (`arrival_rate * service_mean`) too large to compute with.
    pub fn check(&self) -> Result<(), InputError> {
        let bad = |flag: &str, msg: String, allowed: &str| {
            Err(InputError::of(ErrorKind::OutOfRange, msg)
                .in_file(flag.to_string())
                .allowed(allowed.to_string()))
        };
        if !(self.arrival_rate.is_finite() && self.arrival_rate > 0.0) {
            return bad(
                "--arrival-rate",
                format!("must be a finite number > 0, got {}", self.arrival_rate),
                "messages per second, e.g. 90",
            );
        }
        if !(self.service_mean.is_finite() && self.service_mean > 0.0) {
            return bad(
                "--service-mean",
                format!("must be a finite duration > 0, got {} s", self.service_mean),
                "a duration such as 40ms",
            );
        }
        if !(self.service_scv.is_finite() && self.service_scv >= 0.0) {
            return bad(
                "--service-scv",
                format!("must be a finite number >= 0, got {}", self.service_scv),
                "0 (constant service) ..; 1 is exponential",
            );
        }
        if self.consumers == 0 {
            return bad("--consumers", "must be at least 1".into(), "1 ..");
        }
        if self.consumers > MAX_CONSUMERS {
            return Err(InputError::of(
                ErrorKind::TooLarge,
                format!(
                    "{} consumers: the formulas take one step per consumer; at most {MAX_CONSUMERS}",
                    self.consumers
                ),
            )
            .in_file("--consumers"));
        }
        let load = self.arrival_rate * self.service_mean;
        if !(load.is_finite() && load < 1e300) {
            return Err(InputError::of(
                ErrorKind::TooLarge,
                format!(
                    "the offered load arrival_rate x service_mean = {load:e} is too large to compute with"
                ),
            )
            .in_file("--arrival-rate")
            .allowed("a load below 1e300 Erlangs"));
        }
        Ok(())
    }
}

/// The prediction for `p`, choosing the model from its shape:
/// capacity 0 -> Erlang B; a finite capacity -> M/M/c/K (exponential service only);
/// unbounded -> M/M/c for exponential service, M/G/1 for one consumer and any law.
/// `None` when there is no closed form, or the inputs do not pass [`Params::check`].
pub fn predict(p: &Params) -> Option<Prediction> {
    p.check().ok()?;
    let c = p.consumers;
    let cf = f64::from(c);
    let lam = p.arrival_rate;
    let s = p.service_mean;
    let a = lam * s;
    let rho = a / cf;
    let exponential = (p.service_scv - 1.0).abs() < 1e-9;
    match p.capacity {
        Some(0) => {
            let b = erlang_b(c, a);
            let thr = lam * (1.0 - b);
            Some(Prediction {
                model: format!("Erlang B (M/G/{c}/{c})"),
                rho,
                p_block: b,
                throughput: thr,
                utilization: thr * s / cf,
                p_wait: Some(0.0),
                wq_mean: Some(0.0),
                w_mean: Some(s),
                lq_mean: Some(0.0),
                stable: true,
            })
        }
        Some(q) if exponential => Some(mmck(c, q, lam, s)),
        Some(_) => None,
        None if rho >= 1.0 => Some(Prediction {
            model: if exponential {
                format!("M/M/{c}")
            } else {
                format!("M/G/{c}")
            },
            rho,
            p_block: 0.0,
            throughput: lam.min(cf / s),
            utilization: 1.0,
            p_wait: Some(1.0),
            wq_mean: None,
            w_mean: None,
            lq_mean: None,
            stable: false,
        }),
        None if exponential => {
            let pw = erlang_c(c, a);
            let wq = pw / (cf / s - lam);
            Some(Prediction {
                model: format!("M/M/{c} (Erlang C)"),
                rho,
                p_block: 0.0,
                throughput: lam,
                utilization: rho,
                p_wait: Some(pw),
                wq_mean: Some(wq),
                w_mean: Some(wq + s),
                lq_mean: Some(lam * wq),
                stable: true,
            })
        }
        None if c == 1 => {
            let es2 = s * s * (1.0 + p.service_scv);
            let wq = lam * es2 / (2.0 * (1.0 - rho));
            Some(Prediction {
                model: if p.service_scv == 0.0 {
                    "M/D/1 (Pollaczek-Khinchine)".into()
                } else {
                    "M/G/1 (Pollaczek-Khinchine)".into()
                },
                rho,
                p_block: 0.0,
                throughput: lam,
                utilization: rho,
                p_wait: Some(rho),
                wq_mean: Some(wq),
                w_mean: Some(wq + s),
                lq_mean: Some(lam * wq),
                stable: true,
            })
        }
        None => None,
    }
}

/// M/M/c/K with `c` servers and `q` waiting places (K = c + q).
fn mmck(c: u32, q: u64, lam: f64, s: f64) -> Prediction {
    match u64::from(c).checked_add(q) {
        Some(k) if k <= TERMWISE_STATES => mmck_termwise(c, q, lam, s),
        _ => mmck_closed(c, q, lam, s),
    }
}

/// M/M/c/K term by term (K = c + q small enough to hold every p_n).
fn mmck_termwise(c: u32, q: u64, lam: f64, s: f64) -> Prediction {
    let k = u64::from(c) + q;
    let ki = usize::try_from(k).expect("mmck calls this only for K <= TERMWISE_STATES");
    let a = lam * s;
    let cf = f64::from(c);
    // Unnormalised p_n, in a numerically safe recurrence.
    let mut p = Vec::with_capacity(ki + 1);
    let mut x = 1.0f64;
    p.push(x);
    for n in 1..=k {
        let servers = (n as f64).min(cf);
        x *= a / servers;
        p.push(x);
        if x > 1e250 {
            // Rescale to avoid overflow on heavily overloaded systems.
            for v in p.iter_mut() {
                *v *= 1e-250;
            }
            x *= 1e-250;
        }
    }
    let total: f64 = p.iter().sum();
    for v in p.iter_mut() {
        *v /= total;
    }
    let p_block = p[ki];
    let lam_eff = lam * (1.0 - p_block);
    let lq: f64 = p
        .iter()
        .enumerate()
        .map(|(n, v)| (n as f64 - cf).max(0.0) * v)
        .sum();
    let busy: f64 = p
        .iter()
        .enumerate()
        .map(|(n, v)| (n as f64).min(cf) * v)
        .sum();
    let p_wait_arrival: f64 = p[c as usize..ki].iter().sum::<f64>() / (1.0 - p_block);
    let wq = lq / lam_eff;
    Prediction {
        model: format!("M/M/{c}/{k}"),
        rho: a / cf,
        p_block,
        throughput: lam_eff,
        utilization: busy / cf,
        p_wait: Some(p_wait_arrival),
        wq_mean: Some(wq),
        w_mean: Some(wq + s),
        lq_mean: Some(lq),
        stable: true,
    }
}

/// M/M/c/K without a term per state: the states below `c` one by one (as many as there
/// are consumers), the `q + 1` states from `c` up in closed form, since there
/// p_(c+j) = p_c rho^j is geometric. Works in logarithms so that neither a huge `q` nor a
/// heavy overload overflows.
fn mmck_closed(c: u32, q: u64, lam: f64, s: f64) -> Prediction {
    let a = lam * s;
    let cf = f64::from(c);
    let rho = a / cf;
    // Head: h_n = a^n / n! for n = 0 ..= c, all scaled alike (by 1e-250 at a time) to
    // stay finite.
    let mut x = 1.0f64;
    let (mut head, mut head_busy) = (0.0f64, 0.0f64);
    for n in 0..c {
        head += x;
        head_busy += f64::from(n) * x;
        x *= a / f64::from(n + 1);
        if x > 1e250 {
            x *= 1e-250;
            head *= 1e-250;
            head_busy *= 1e-250;
        }
    }
    // Tail: sum over j = 0 ..= q of rho^j (and of j rho^j), relative to its largest term.
    let qf = q as f64;
    let l = rho.ln();
    let (g0, mean_j, top, last) = if l <= 0.0 {
        let (g0, m) = geometric(l, qf);
        (g0, m, 0.0, qf * l)
    } else {
        // Largest term last: count down from the top.
        let (g0, m) = geometric(-l, qf);
        (g0, qf - m, qf * l, 0.0)
    };
    // The head against the tail (in logarithms: the tail's largest term may be e^(1e19));
    // within the tail, the top state against the tail's total (no large numbers).
    let ln_tail = x.ln() + top + g0.ln();
    let r = (head.ln() - ln_tail).exp();
    let (p_head, p_tail) = if r.is_finite() {
        (r / (1.0 + r), 1.0 / (1.0 + r))
    } else {
        (1.0, 0.0)
    };
    let p_block = p_tail * last.exp() / g0;
    let lq = p_tail * mean_j;
    let busy = if head > 0.0 {
        head_busy / head * p_head
    } else {
        0.0
    } + cf * p_tail;
    let lam_eff = lam * (1.0 - p_block);
    let p_wait = ((p_tail - p_block) / (1.0 - p_block)).clamp(0.0, 1.0);
    let wq = lq / lam_eff;
    Prediction {
        model: format!("M/M/{c}/{}", u128::from(c) + u128::from(q)),
        rho,
        p_block,
        throughput: lam_eff,
        utilization: busy / cf,
        p_wait: Some(p_wait),
        wq_mean: Some(wq),
        w_mean: Some(wq + s),
        lq_mean: Some(lq),
        stable: true,
    }
}

/// For `l <= 0`: the sum of e^(j l) over j = 0 ..= q, and the mean of j under those
/// weights (a truncated geometric law), accurate from `l = 0` (uniform) to large `-l`.
fn geometric(l: f64, q: f64) -> (f64, f64) {
    let n = q + 1.0;
    if -l * n < 1e-6 {
        // Nearly uniform: series in l.
        let g0 = n * (1.0 + l * q / 2.0);
        let mean = q / 2.0 + l * q * (q + 2.0) / 12.0;
        return (g0, mean);
    }
    let g0 = (-(n * l).exp_m1()) / (-l.exp_m1());
    let mean = 1.0 / (-l).exp_m1() - n / (-n * l).exp_m1();
    (g0, mean.clamp(0.0, q))
}

/// The model parameters of `s`, if it is a textbook queue: one Poisson producer with no
/// schedule, no failures, outages, retries, crashes or attempt timeouts, async with no
/// enqueue latency, and a queue that rejects when full.
pub fn params_of(s: &Scenario) -> Option<Params> {
    let [p] = s.producers.as_slice() else {
        return None;
    };
    // A rate series of one row is a Poisson producer too.
    let plain = matches!(p.arrivals, ArrivalKind::Poisson | ArrivalKind::Rates)
        && p.schedule.is_empty()
        && s.downstream.failure_rate == 0.0
        && s.downstream.outages.is_empty()
        && s.downstream
            .timeout
            .is_none_or(|t| t as f64 / 1e9 > 1000.0 * s.consumers.service.mean())
        && s.delivery.crash_rate == 0.0
        && s.client.mode == ClientMode::Async
        && s.client.enqueue_latency == 0
        && s.subscribers.is_empty()
        && s.broker == crate::scenario::broker::Broker::Generic
        && (s.queue.capacity.is_none() || s.queue.overflow == Overflow::Reject);
    if !plain {
        return None;
    }
    let svc = &s.consumers.service;
    let m = svc.mean();
    let scv = match svc {
        Service::Exponential(_) => 1.0,
        _ => (svc.stddev() / m).powi(2),
    };
    Some(Params {
        arrival_rate: p.rate,
        service_mean: m,
        service_scv: scv,
        consumers: s.consumers.count,
        capacity: s.queue.capacity,
    })
}

/// Allen-Cunneen's mean queue wait for G/G/`c` (Kingman's for `c` = 1): arrivals per
/// second `lam`, mean service `es` seconds, squared coefficients of variation `ca2` of the
/// gaps and `cs2` of the service. `None` when rho = lam x es / c is not below 1 (no
/// steady state) or an input is not a finite non-negative number.
pub fn allen_cunneen(lam: f64, es: f64, ca2: f64, cs2: f64, c: u32) -> Option<f64> {
    let ok = |v: f64| v.is_finite() && v >= 0.0;
    if !(ok(lam) && ok(es) && ok(ca2) && ok(cs2) && lam > 0.0 && es > 0.0 && c > 0) {
        return None;
    }
    let cf = f64::from(c);
    let a = lam * es;
    if a / cf >= 1.0 {
        return None;
    }
    Some(erlang_c(c, a) / (cf / es - lam) * (ca2 + cs2) / 2.0)
}

/// Kingman's G/G/1 mean queue wait: rho / (1 - rho) x (Ca² + Cs²) / 2 x E\[S\].
pub fn kingman(lam: f64, es: f64, ca2: f64, cs2: f64) -> Option<f64> {
    allen_cunneen(lam, es, ca2, cs2, 1)
}

/// The fewest gaps and service times measured before the G/G formulas are fed them.
pub const GG_MIN_SAMPLES: u64 = 1000;

/// The most processing attempts per first attempt (`rates.retry_amplification`) for which
/// the G/G formulas are compared: retries are extra arrivals the formulas do not see.
pub const GG_MAX_RETRY_AMPLIFICATION: f64 = 1.01;

/// `gg_approximation`: Kingman's or Allen-Cunneen's mean wait from the run's measured
/// rates and variability, beside the simulated one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GgApproximation {
    /// `Kingman (G/G/1)` or `Allen-Cunneen (G/G/c)` with c the consumers.
    pub model: String,
    /// Arrivals per second the formula took: 1 / the mean measured gap.
    pub arrival_rate: f64,
    /// Mean service time the formula took (measured first attempts), seconds.
    pub service_mean: f64,
    /// arrival_rate x service_mean / consumers.
    pub rho: f64,
    /// Measured squared coefficient of variation of the gaps between arrivals.
    pub ca2: f64,
    /// Measured squared coefficient of variation of the service times.
    pub cs2: f64,
    /// The formula's mean queue wait, seconds.
    pub predicted_wait: f64,
    /// The run's `latency.queue_wait.mean`, seconds.
    pub simulated_wait: f64,
    /// The sentence the text report prints.
    pub sentence: String,
}

/// The G/G approximation for a run of `s` with figures `sum`, where it applies: some
/// producer's arrivals are not Poisson or the service is not exponential; one priority
/// tier, no fan-out, the generic broker, async callers; no schedule steps, outages,
/// consumer down windows, autoscaling, circuit breaker or warm backlog (a steady load);
/// nothing refused, dropped, expired or deduplicated; at most
/// [`GG_MAX_RETRY_AMPLIFICATION`] attempts per first attempt; the run not stopped early;
/// at least [`GG_MIN_SAMPLES`] gaps and service times measured; and the measured
/// rho < 1. `None` otherwise.
pub fn gg_approximation(s: &Scenario, sum: &Summary) -> Option<GgApproximation> {
    // A rate series without steps (one row) is a Poisson producer too; with steps it is
    // not a steady load (refused below, as a schedule).
    let textbook = s
        .producers
        .iter()
        .all(|p| matches!(p.arrivals, ArrivalKind::Poisson | ArrivalKind::Rates))
        && matches!(s.consumers.service, Service::Exponential(_));
    let mut tiers: Vec<u8> = s.producers.iter().map(|p| p.priority).collect();
    tiers.sort_unstable();
    tiers.dedup();
    let c = sum.counts;
    let applies = !textbook
        && tiers.len() == 1
        && s.subscribers.is_empty()
        && s.broker == crate::scenario::broker::Broker::Generic
        && s.client.mode == ClientMode::Async
        && s.producers.iter().all(|p| p.schedule.is_empty())
        && s.downstream.outages.is_empty()
        && s.consumers.down.is_empty()
        && s.autoscale.is_none()
        && s.breaker.is_none()
        && s.queue.initial_backlog == 0
        && c.rejected == 0
        && c.dropped == 0
        && c.expired == 0
        && c.deduplicated == 0
        && sum.rates.retry_amplification <= GG_MAX_RETRY_AMPLIFICATION
        && sum.stopped.is_none();
    if !applies {
        return None;
    }
    let (g, sv) = (sum.variability.interarrival, sum.variability.service);
    if g.count < GG_MIN_SAMPLES || sv.count < GG_MIN_SAMPLES {
        return None;
    }
    let (gap, es, ca2, cs2) = (g.mean?, sv.mean?, g.scv?, sv.scv?);
    if gap <= 0.0 {
        return None;
    }
    let lam = 1.0 / gap;
    let consumers = s.consumers.count;
    let predicted = allen_cunneen(lam, es, ca2, cs2, consumers)?;
    let simulated = sum.latency.queue_wait.mean?;
    let model = if consumers == 1 {
        "Kingman (G/G/1)".to_string()
    } else {
        format!("Allen-Cunneen (G/G/{consumers})")
    };
    let rho = lam * es / f64::from(consumers);
    let h = crate::time::human;
    let sentence = format!(
        "{model} predicts mean wait {}; the simulation says {}; this run's Ca² = {ca2:.2}, Cs² = {cs2:.2} (measured; rho = {rho:.3})",
        h(predicted),
        h(simulated)
    );
    Some(GgApproximation {
        model,
        arrival_rate: lam,
        service_mean: es,
        rho,
        ca2,
        cs2,
        predicted_wait: predicted,
        simulated_wait: simulated,
        sentence,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(lam: f64, s: f64, c: u32, cap: Option<u64>) -> Params {
        Params {
            arrival_rate: lam,
            service_mean: s,
            service_scv: 1.0,
            consumers: c,
            capacity: cap,
        }
    }

    #[test]
    fn mm1_textbook() {
        let p = predict(&params(0.5, 1.0, 1, None)).unwrap();
        assert!((p.wq_mean.unwrap() - 1.0).abs() < 1e-12);
        assert!((p.w_mean.unwrap() - 2.0).abs() < 1e-12);
        assert!((p.lq_mean.unwrap() - 0.5).abs() < 1e-12);
    }

    #[test]
    fn matches_the_public_cases() {
        // Published textbook values (Gross et al., examples of sec. 2.2-2.6), to 1e-12.
        let p = predict(&params(27.0, 0.1, 3, Some(5))).unwrap();
        assert!((p.p_block - 0.08527451109414101).abs() < 1e-12);
        assert!((p.wq_mean.unwrap() - 0.060132308832713366).abs() < 1e-12);
        assert!((p.lq_mean.unwrap() - 1.4851230010931296).abs() < 1e-12);
        let b = predict(&params(3.5, 2.0, 10, Some(0))).unwrap();
        assert!((b.p_block - 0.07874088296957026).abs() < 1e-12);
        let md1 = predict(&Params {
            service_scv: 0.0,
            ..params(16.0, 0.05, 1, None)
        })
        .unwrap();
        assert!((md1.wq_mean.unwrap() - 0.1).abs() < 1e-12);
    }

    #[test]
    fn the_closed_form_agrees_with_the_terms_and_takes_any_capacity() {
        // Light, near-critical, critical and overloaded, with room for the tail to matter.
        for (lam, c, q) in [
            (27.0, 3, 5000),
            (29.9, 3, 3000),
            (30.0, 3, 2000),
            (45.0, 3, 4000),
            (2.0, 40, 100_000),
        ] {
            let t = mmck_termwise(c, q, lam, 0.1);
            let f = mmck_closed(c, q, lam, 0.1);
            for (a, b) in [
                (t.p_block, f.p_block),
                (t.utilization, f.utilization),
                (t.p_wait.unwrap(), f.p_wait.unwrap()),
                (t.lq_mean.unwrap(), f.lq_mean.unwrap()),
            ] {
                assert!(
                    (a - b).abs() <= 1e-8 * a.abs().max(1.0),
                    "lam {lam} c {c} q {q}: {a} vs {b}"
                );
            }
        }
        // Capacities that once allocated a term each (i64::MAX, 2^40) or wrapped (u64::MAX).
        for cap in [i64::MAX as u64, 1 << 40, u64::MAX] {
            for lam in [5.0, 10.0, 20.0] {
                let p = predict(&params(lam, 0.1, 1, Some(cap))).unwrap();
                assert!(
                    p.p_block.is_finite() && p.lq_mean.unwrap().is_finite(),
                    "{p:?}"
                );
                if lam < 10.0 {
                    // Far below saturation a huge buffer is the unbounded queue: M/M/1.
                    let rho: f64 = lam * 0.1;
                    assert!(
                        (p.lq_mean.unwrap() - rho * rho / (1.0 - rho)).abs() < 1e-9,
                        "{p:?}"
                    );
                } else if lam > 10.0 {
                    assert!((p.throughput - 10.0).abs() < 1e-9, "{p:?}");
                }
            }
        }
        let p = predict(&params(5.0, 0.1, u32::MAX, Some(u64::MAX)));
        assert!(p.is_none(), "too many consumers is refused, not computed");
    }

    #[test]
    fn inputs_that_are_not_numbers_are_refused() {
        let nan = Params {
            service_scv: f64::NAN,
            ..params(1.0, 0.1, 1, None)
        };
        let e = nan.check().unwrap_err();
        assert_eq!(e.file.as_deref(), Some("--service-scv"));
        assert!(predict(&nan).is_none());
        let huge = params(1e300, 1e300, 1, None);
        assert_eq!(huge.check().unwrap_err().kind, ErrorKind::TooLarge);
        assert!(params(f64::INFINITY, 0.1, 1, None).check().is_err());
    }

    #[test]
    fn overload_has_no_steady_state_unless_bounded() {
        assert!(!predict(&params(2.0, 1.0, 1, None)).unwrap().stable);
        let b = predict(&params(20.0, 1.0, 2, Some(3))).unwrap();
        assert!(b.stable && b.p_block > 0.85);
    }

    #[test]
    fn kingman_and_allen_cunneen_by_hand() {
        // G/G/1: lam 8/s, E[S] 0.1 s (rho 0.8), Ca² 2, Cs² 0.5:
        // 0.8 / 0.2 x 1.25 x 0.1 = 0.5 s.
        assert!((kingman(8.0, 0.1, 2.0, 0.5).unwrap() - 0.5).abs() < 1e-12);
        // M/D/1 is Pollaczek-Khinchine: lam 16, E[S] 0.05: 0.1 s (as in the public cases).
        assert!((kingman(16.0, 0.05, 1.0, 0.0).unwrap() - 0.1).abs() < 1e-12);
        // G/G/2: lam 15, E[S] 0.1 (a = 1.5, rho 0.75). Erlang C(2, 1.5) = 0.642857...:
        // B(2, 1.5) = 1.125 / 3.625 = 0.310345; C = B / (1 - 0.75 (1 - B)) = 0.642857.
        // Wq(M/M/2) = C / (20 - 15) = 0.128571; x (Ca² 3 + Cs² 0.2) / 2 = 1.6: 0.205714 s.
        let w = allen_cunneen(15.0, 0.1, 3.0, 0.2, 2).unwrap();
        assert!((w - 0.9 / 7.0 * 1.6).abs() < 1e-12, "{w}");
        // At Ca² = Cs² = 1 it is M/M/c exactly.
        let mm = predict(&params(15.0, 0.1, 2, None))
            .unwrap()
            .wq_mean
            .unwrap();
        assert!((allen_cunneen(15.0, 0.1, 1.0, 1.0, 2).unwrap() - mm).abs() < 1e-12);
        assert_eq!(
            allen_cunneen(20.0, 0.1, 1.0, 1.0, 2),
            None,
            "rho = 1: no steady state"
        );
        assert_eq!(kingman(1.0, 0.1, f64::NAN, 1.0), None);
    }
}
