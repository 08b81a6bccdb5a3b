//! The downstream dependency: how long one attempt takes and whether it fails.
//!
//! An attempt that starts inside an outage window `[start, end)` uses the window's
//! failure rate and has its service time multiplied by the window's slowdown. A failing
//! attempt occupies its consumer for its (slowed) service time; with a timeout, any attempt
//! that would take longer fails at the timeout and frees the consumer then.

use crate::scenario::{Downstream as Config, Outage};
use crate::time::Nanos;

/// The result of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    /// How long the consumer is occupied.
    pub duration: Nanos,
    /// Whether it succeeded.
    pub ok: bool,
    /// Whether it was cut short by the timeout.
    pub timed_out: bool,
}

/// The dependency with its outage windows.
pub struct Downstream {
    failure_rate: f64,
    timeout: Option<Nanos>,
    outages: Vec<Outage>,
}

impl Downstream {
    /// From the scenario's `[downstream]`.
    pub fn new(cfg: &Config) -> Self {
        Downstream {
            failure_rate: cfg.failure_rate,
            timeout: cfg.timeout,
            outages: cfg.outages.clone(),
        }
    }

    /// The outage in force at `t`, if any.
    #[inline]
    pub fn outage_at(&self, t: Nanos) -> Option<&Outage> {
        if self.outages.is_empty() {
            return None;
        }
        self.outages.iter().find(|o| o.start <= t && t < o.end)
    }

    /// An attempt starting at `start` with sampled service `base` and uniform draw `u`;
    /// a `poison` message fails whatever the draw (after its full service time).
    #[inline]
    pub fn attempt(&self, start: Nanos, base: Nanos, u: f64, poison: bool) -> Attempt {
        let (p_fail, duration) = match self.outage_at(start) {
            Some(o) => (
                o.failure_rate,
                crate::time::secs_to_ns(base as f64 * o.slowdown / 1e9),
            ),
            None => (self.failure_rate, base),
        };
        let ok = !poison && u >= p_fail;
        match self.timeout {
            Some(t) if duration > t => Attempt {
                duration: t,
                ok: false,
                timed_out: true,
            },
            _ => Attempt {
                duration,
                ok,
                timed_out: false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds() -> Downstream {
        Downstream::new(&Config {
            failure_rate: 0.1,
            timeout: Some(1000),
            outages: vec![Outage {
                start: 100,
                end: 200,
                failure_rate: 1.0,
                slowdown: 3.0,
            }],
            poison_rate: 0.0,
        })
    }

    #[test]
    fn normal_outage_and_timeout() {
        let d = ds();
        assert_eq!(
            d.attempt(0, 50, 0.5, false),
            Attempt {
                duration: 50,
                ok: true,
                timed_out: false
            }
        );
        assert!(!d.attempt(0, 50, 0.05, false).ok);
        let a = d.attempt(150, 50, 0.99, false);
        assert_eq!((a.duration, a.ok), (150, false));
        assert!(d.attempt(200, 50, 0.99, false).ok, "end is exclusive");
        let a = d.attempt(0, 5000, 0.99, false);
        assert_eq!((a.duration, a.ok, a.timed_out), (1000, false, true));
        assert!(!d.attempt(0, 50, 0.99, true).ok, "poison always fails");
    }
}
