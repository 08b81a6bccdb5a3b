//! Closed-form steady-state results of classic queues, to check runs against.
//!
//! M/M/c (Erlang C, which includes M/M/1), M/M/c/K (finite waiting room, rejection),
//! Erlang B (M/G/c/c, `capacity = 0`, insensitive to the service law) and M/G/1
//! (Pollaczek-Khinchine, which includes M/D/1). Sources: Gross, Shortle, Thompson &
//! Harris, *Fundamentals of Queueing Theory*, 4th ed., sec. 2.2-2.6 and 5.1.

use crate::scenario::{ArrivalKind, ClientMode, Overflow, Scenario, Service};
use serde::Serialize;

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

/// The prediction for `p`, choosing the model from its shape:
/// capacity 0 -> Erlang B; a finite capacity -> M/M/c/K (exponential service only);
/// unbounded -> M/M/c for exponential service, M/G/1 for one consumer and any law.
pub fn predict(p: &Params) -> Option<Prediction> {
    let c = p.consumers;
    let cf = f64::from(c);
    let lam = p.arrival_rate;
    let s = p.service_mean;
    if !(lam > 0.0 && s > 0.0 && c >= 1) {
        return None;
    }
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
    let k = u64::from(c) + q;
    let a = lam * s;
    let cf = f64::from(c);
    // Unnormalised p_n, in a numerically safe recurrence.
    let mut p = Vec::with_capacity(k as usize + 1);
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
    let p_block = p[k as usize];
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
    let p_wait_arrival: f64 = p[c as usize..k as usize].iter().sum::<f64>() / (1.0 - p_block);
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

/// The model parameters of `s`, if it is a textbook queue: one Poisson producer with no
/// schedule, no failures, outages, retries, crashes or attempt timeouts, async with no
/// enqueue latency, and a queue that rejects when full.
pub fn params_of(s: &Scenario) -> Option<Params> {
    let [p] = s.producers.as_slice() else {
        return None;
    };
    let plain = p.arrivals == ArrivalKind::Poisson
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
    let svc = s.consumers.service;
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
        // Values from shared/validation/public_cases.toml.
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
    fn overload_has_no_steady_state_unless_bounded() {
        assert!(!predict(&params(2.0, 1.0, 1, None)).unwrap().stable);
        let b = predict(&params(20.0, 1.0, 2, Some(3))).unwrap();
        assert!(b.stable && b.p_block > 0.85);
    }
}
