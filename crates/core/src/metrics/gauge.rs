//! Time-weighted gauges (queue depth, busy consumers).

use crate::time::Nanos;

/// An integer level that changes at instants; keeps its time integral since `from`
/// (the warm-up), its integral over the current sample interval, and exact maxima.
#[derive(Debug, Clone)]
pub struct TimeWeighted {
    value: u64,
    last: Nanos,
    from: Nanos,
    area: u128,
    lifetime_area: u128,
    interval_area: u128,
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
            area: 0,
            lifetime_area: 0,
            interval_area: 0,
            max: 0,
            interval_max: 0,
        }
    }

    #[inline]
    fn advance(&mut self, now: Nanos) {
        if now > self.last {
            let v = u128::from(self.value);
            self.interval_area += v * u128::from(now - self.last);
            self.lifetime_area += v * u128::from(now - self.last);
            if now > self.from {
                self.area += v * u128::from(now - self.last.max(self.from));
            }
            self.last = now;
        }
    }

    /// Sets the level at `now`.
    #[inline]
    pub fn set(&mut self, now: Nanos, value: u64) {
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
        if span == 0 {
            0.0
        } else {
            self.area as f64 / span as f64
        }
    }

    /// Closes the sample interval at `now`: returns (integral in level·ns, max level) of
    /// the interval and starts the next one.
    pub fn take_interval(&mut self, now: Nanos) -> (u128, u64) {
        self.advance(now);
        let out = (self.interval_area, self.interval_max);
        self.interval_area = 0;
        self.interval_max = self.value;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
