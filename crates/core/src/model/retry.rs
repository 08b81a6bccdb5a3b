//! Backoff and jitter, exactly as docs/reference.md (`[retry]`) defines them.
//!
//! Delay before retry `n` (n = 1 for the first retry), before jitter:
//! `none`: 0 · `fixed`: base · `exponential`: min(max, base · 2^(n-1)).
//! Jitter on that delay d: `none`: d · `full`: uniform(0, d) · `equal`: d/2 + uniform(0, d/2) ·
//! `decorrelated`: min(max, uniform(base, 3 · previous delay)), previous starting at base.

use crate::convert::floor_u64;
use crate::rng::{uniform, Rng};
use crate::scenario::{Backoff, Jitter, Retry};
use crate::time::Nanos;

/// The retry policy of a run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    cfg: Retry,
}

impl Policy {
    /// From the scenario's `[retry]`.
    pub(crate) fn new(cfg: Retry) -> Self {
        Policy { cfg }
    }

    /// Total attempts allowed, including the first.
    pub(crate) fn max_attempts(&self) -> u32 {
        self.cfg.max_attempts
    }

    /// The delay before backoff jitter for retry `n` (1-based).
    pub(crate) fn base(&self, n: u32) -> Nanos {
        let c = &self.cfg;
        match c.backoff {
            Backoff::None => 0,
            Backoff::Fixed => c.base_delay,
            Backoff::Exponential => {
                let shift = n.saturating_sub(1).min(63);
                c.base_delay.saturating_mul(1u64 << shift).min(c.max_delay)
            }
        }
    }

    /// The delay before retry `n`; `prev` is the message's previous delay (0 before its
    /// first retry) and is updated.
    pub(crate) fn delay(&self, n: u32, prev: &mut Nanos, rng: &mut Rng) -> Nanos {
        let c = &self.cfg;
        let d = self.base(n);
        let out = match c.jitter {
            Jitter::None => d,
            Jitter::Full => floor_u64(uniform(rng) * d as f64),
            Jitter::Equal => d / 2 + floor_u64(uniform(rng) * (d / 2) as f64),
            Jitter::Decorrelated => {
                let last = if *prev == 0 { c.base_delay } else { *prev };
                let hi = last.saturating_mul(3).max(c.base_delay);
                let x = c.base_delay as f64 + uniform(rng) * (hi - c.base_delay) as f64;
                floor_u64(x).min(c.max_delay)
            }
        };
        *prev = out;
        out
    }
}

/// A retry budget: a token bucket that earns `ratio` tokens per produced message (up to
/// `burst`) and spends one per retry, so retries stay below `ratio` of the traffic.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    tokens: f64,
    ratio: f64,
    burst: f64,
}

impl Budget {
    /// A full bucket.
    pub(crate) fn new(ratio: f64, burst: f64) -> Self {
        Budget {
            tokens: burst,
            ratio,
            burst,
        }
    }

    /// A message was produced.
    #[inline]
    pub(crate) fn earn(&mut self) {
        self.tokens = (self.tokens + self.ratio).min(self.burst);
    }

    /// Spends a token for a retry; false when the budget is exhausted.
    #[inline]
    pub(crate) fn spend(&mut self) -> bool {
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{stream, Stream};
    use crate::scenario::RetryPlace;

    fn policy(backoff: Backoff, jitter: Jitter) -> Policy {
        Policy::new(Retry {
            max_attempts: 5,
            backoff,
            base_delay: 100,
            max_delay: 1000,
            jitter,
            place: RetryPlace::Queue,
            budget: None,
        })
    }

    #[test]
    fn budget_caps_retries_at_a_share_of_traffic() {
        let mut b = Budget::new(0.1, 2.0);
        assert!(
            b.spend() && b.spend() && !b.spend(),
            "the burst, then nothing"
        );
        let mut allowed = 0;
        for _ in 0..1000 {
            b.earn();
            allowed += usize::from(b.spend());
        }
        assert!((99..=101).contains(&allowed), "{allowed}");
    }

    #[test]
    fn backoff_laws() {
        let e = policy(Backoff::Exponential, Jitter::None);
        assert_eq!(
            (1..=6).map(|n| e.base(n)).collect::<Vec<_>>(),
            vec![100, 200, 400, 800, 1000, 1000]
        );
        assert_eq!(policy(Backoff::Fixed, Jitter::None).base(4), 100);
        assert_eq!(policy(Backoff::None, Jitter::None).base(4), 0);
        assert_eq!(e.base(200), 1000, "huge n saturates at max_delay");
    }

    #[test]
    fn jitter_stays_in_its_range() {
        let mut rng = stream(1, Stream::Jitter);
        for n in 1..=6 {
            let mut prev = 0;
            let full = policy(Backoff::Exponential, Jitter::Full);
            let d = full.base(n);
            for _ in 0..200 {
                let x = full.delay(n, &mut prev, &mut rng);
                assert!(x <= d);
                let eq = policy(Backoff::Exponential, Jitter::Equal).delay(n, &mut prev, &mut rng);
                assert!(eq >= d / 2 && eq <= d);
            }
        }
        let dec = policy(Backoff::Exponential, Jitter::Decorrelated);
        let mut prev = 0;
        for n in 1..50 {
            let before = if prev == 0 { 100 } else { prev };
            let x = dec.delay(n, &mut prev, &mut rng);
            assert!(
                (100..=1000).contains(&x) && x <= 3 * before,
                "{x} after {before}"
            );
        }
    }
}
