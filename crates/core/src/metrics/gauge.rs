//! Time-weighted gauges (queue depth, busy consumers).

use crate::time::Nanos;

/// An integer level that changes at instants; keeps its time integral since `from`
/// (the warm-up), its integral over the current sample interval, and exact maxima.
///
/// One running integral (level x ns, from 0) is kept; the others are differences of it:
/// its value when time passed `from`, and its value when the current interval began.
#[derive(Debug, Clone)]
pub struct TimeWeighted {
    value: u64,
    last: Nanos,
    from: Nanos,
    lifetime_area: u128,
    /// The integral over `[0, from]`, once time has passed `from`.
    at_from: Option<u128>,
    /// The integral when the current sample interval began.
    interval_mark: u128,
    max: u64,
    interval_max: u64,
}

impl TimeWeighted {
    /// A level of 0, integrated from `from` on.
    pub fn new(from: Nanos) -> Self {
        TimeWeighted {
            value: 0,
            last: 0,
            from,
            lifetime_area: 0,
            at_from: (from == 0).then_some(0),
            interval_mark: 0,
            max: 0,
            interval_max: 0,
        }
    }

    #[inline]
    fn advance(&mut self, now: Nanos) {
        if now > self.last {
            let v = u128::from(self.value);
            if self.at_from.is_none() && now > self.from {
                self.cross_from(v);
            }
            self.lifetime_area += v * u128::from(now - self.last);
            self.last = now;
        }
    }

    /// Time passes `from` (the end of the warm-up) for the first time.
    #[cold]
    fn cross_from(&mut self, v: u128) {
        let before = u128::from(self.from.saturating_sub(self.last));
        self.at_from = Some(self.lifetime_area + v * before);
    }

    /// Sets the level at `now`.
    #[inline]
    pub fn set(&mut self, now: Nanos, value: u64) {
        if value == self.value {
            // Nothing changes: the integral of the level since `last` is taken at the next
            // change or read, and both maxima already cover the level.
            return;
        }
        self.advance(now);
        self.value = value;
        if value > self.max {
            self.max = value;
        }
        if value > self.interval_max {
            self.interval_max = value;
        }
    }

    /// The current level.
    pub fn value(&self) -> u64 {
        self.value
    }

    /// The largest level seen.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The integral over `[0, now]` (warm-up included), level x ns.
    pub fn total_area(&mut self, now: Nanos) -> u128 {
        self.advance(now);
        self.lifetime_area
    }

    /// Time average over `[from, now]`.
    pub fn mean(&mut self, now: Nanos) -> f64 {
        self.advance(now);
        let span = now.saturating_sub(self.from);
        match self.at_from {
            Some(base) if span > 0 => (self.lifetime_area - base) as f64 / span as f64,
            _ => 0.0,
        }
    }

    /// Closes the sample interval at `now`: returns (integral in level·ns, max level) of
    /// the interval and starts the next one.
    pub fn take_interval(&mut self, now: Nanos) -> (u128, u64) {
        self.advance(now);
        let out = (self.lifetime_area - self.interval_mark, self.interval_max);
        self.interval_mark = self.lifetime_area;
        self.interval_max = self.value;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng as _, SeedableRng};

    #[test]
    fn integrates_after_warmup_only() {
        let mut g = TimeWeighted::new(10);
        g.set(0, 4); // 4 for [0, 20): only [10, 20) counts
        g.set(20, 2); // 2 for [20, 30)
        assert_eq!(g.mean(30), (4.0 * 10.0 + 2.0 * 10.0) / 20.0);
        assert_eq!(
            g.total_area(30),
            4 * 20 + 2 * 10,
            "the lifetime integral includes the warm-up"
        );
        assert_eq!(g.max(), 4);
        let (area, max) = g.take_interval(30);
        assert_eq!((area, max), (4 * 20 + 2 * 10, 4));
        let (area, max) = g.take_interval(40);
        assert_eq!((area, max), (20, 2));
    }

    #[test]
    fn the_three_integrals_agree_with_a_direct_sum() {
        // Levels changing at pseudo-random instants, a warm-up that ends between two
        // changes, on one, and at 0; intervals taken now and then.
        for from in [0u64, 1_000, 1_234, 50_000] {
            let mut g = TimeWeighted::new(from);
            let (mut t, mut v) = (0u64, 0u64);
            let mut rng = crate::rng::Rng::seed_from_u64(7);
            let (mut area, mut life, mut iv) = (0u128, 0u128, 0u128);
            for i in 0..5_000 {
                let state = rng.next_u64();
                let next = t + (state >> 60);
                let d = u128::from(next - t);
                life += u128::from(v) * d;
                iv += u128::from(v) * d;
                area += u128::from(v) * u128::from(next.max(from) - t.max(from));
                t = next;
                if i % 97 == 0 {
                    assert_eq!(g.take_interval(t).0, iv);
                    iv = 0;
                }
                v = (state >> 40) % 9;
                g.set(t, v);
            }
            assert_eq!(g.total_area(t), life);
            let want = if t > from {
                area as f64 / (t - from) as f64
            } else {
                0.0
            };
            assert_eq!(g.mean(t), want, "from {from}");
        }
    }
}
