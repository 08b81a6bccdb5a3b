//! Producers: when each message is created.
//!
//! A Poisson producer draws exponential gaps; a constant one emits every 1/rate, its first
//! message at 1/rate. A schedule step changes the rate at its time: a Poisson producer
//! simply redraws its next gap (the process is memoryless); a constant one keeps its
//! phase by rescaling the remaining part of the current gap.

use crate::rng::{exp_gap, Rng};
use crate::scenario::{ArrivalKind, Producer};
use crate::time::{secs_to_ns, Nanos};

/// One producer's state.
pub struct Source {
    kind: ArrivalKind,
    rate: f64,
    /// Bumped at every rate change, so a superseded arrival event can be recognised.
    pub generation: u32,
    /// Constant arrivals: time origin and index of the next arrival.
    origin: Nanos,
    k: u64,
    next: Option<Nanos>,
    rng: Rng,
}

impl Source {
    /// A producer starting at time 0.
    pub fn new(p: &Producer, rng: Rng) -> Self {
        Source {
            kind: p.arrivals,
            rate: p.rate,
            generation: 0,
            origin: 0,
            k: 1,
            next: None,
            rng,
        }
    }

    /// The first arrival time, if the initial rate is positive.
    pub fn first(&mut self) -> Option<Nanos> {
        self.next = self.draw(0);
        self.next
    }

    fn draw(&mut self, from: Nanos) -> Option<Nanos> {
        if self.rate <= 0.0 {
            return None;
        }
        Some(match self.kind {
            ArrivalKind::Poisson => from.saturating_add(exp_gap(&mut self.rng, self.rate)),
            ArrivalKind::Constant => self
                .origin
                .saturating_add(secs_to_ns(self.k as f64 / self.rate)),
        })
    }

    /// The arrival after the one at `t`.
    #[inline]
    pub fn after(&mut self, t: Nanos) -> Option<Nanos> {
        self.k += 1;
        self.next = self.draw(t);
        self.next
    }

    /// Changes the rate at `now`; returns the new next arrival (the old one is void).
    pub fn set_rate(&mut self, now: Nanos, rate: f64) -> Option<Nanos> {
        let old = self.rate;
        self.rate = rate;
        self.generation = self.generation.wrapping_add(1);
        match self.kind {
            ArrivalKind::Poisson => self.next = self.draw(now),
            ArrivalKind::Constant => {
                // Keep the phase: the remaining fraction of the current gap carries over.
                let frac = match self.next {
                    Some(t) if old > 0.0 => {
                        (t.saturating_sub(now) as f64 * old / 1e9).clamp(0.0, 1.0)
                    }
                    _ => 1.0,
                };
                self.next = if rate > 0.0 {
                    let first = now.saturating_add(secs_to_ns(frac / rate));
                    self.origin = first.saturating_sub(secs_to_ns(1.0 / rate));
                    self.k = 1;
                    Some(first)
                } else {
                    None
                };
            }
        }
        self.next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{stream, Stream};

    fn constant(rate: f64) -> Source {
        let p = Producer {
            name: "p".into(),
            arrivals: ArrivalKind::Constant,
            rate,
            schedule: vec![],
            priority: 0,
            stream: 0,
            duplicate_rate: 0.0,
            duplicate_delay: 1_000_000_000,
        };
        Source::new(&p, stream(1, Stream::Arrivals(0)))
    }

    #[test]
    fn constant_arrivals_are_evenly_spaced() {
        let mut s = constant(4.0);
        let mut t = s.first().unwrap();
        let mut times = vec![t];
        for _ in 0..3 {
            t = s.after(t).unwrap();
            times.push(t);
        }
        assert_eq!(
            times,
            vec![250_000_000, 500_000_000, 750_000_000, 1_000_000_000]
        );
    }

    #[test]
    fn rate_change_keeps_the_phase() {
        let mut s = constant(1.0);
        assert_eq!(s.first(), Some(1_000_000_000));
        // At 0.5 s half the gap remains; at 10/s that half is 50 ms.
        let next = s.set_rate(500_000_000, 10.0).unwrap();
        assert_eq!(next, 550_000_000);
        assert_eq!(s.after(next), Some(650_000_000));
        assert_eq!(s.set_rate(700_000_000, 0.0), None);
    }
}
