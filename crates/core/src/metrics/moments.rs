//! Streaming mean and variance of durations in nanoseconds, exactly: integer sums of the
//! values and of their squares (no allocation, no division per value), for the measured
//! coefficients of variation that the G/G formulas ([`crate::theory::gg_approximation`])
//! take.

use serde::Serialize;

/// Count, sum and sum of squares of the nanosecond values seen so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Moments {
    n: u64,
    sum: u128,
    sum_sq: u128,
    /// The sum of squares passed `u128::MAX` (values of about 10^14 ns, a day, summed by
    /// the billions): the variance is not known and is reported as `null`.
    overflow: bool,
}

impl Moments {
    /// Adds one value, in nanoseconds.
    #[inline]
    pub fn push(&mut self, ns: u64) {
        let x = u128::from(ns);
        self.n += 1;
        self.sum += x;
        match self.sum_sq.checked_add(x * x) {
            Some(v) => self.sum_sq = v,
            None => self.overflow = true,
        }
    }

    /// Adds another set's values.
    pub fn merge(&mut self, o: &Moments) {
        let Moments {
            n,
            sum,
            sum_sq,
            overflow,
        } = *o;
        self.n += n;
        self.sum += sum;
        match self.sum_sq.checked_add(sum_sq) {
            Some(v) => self.sum_sq = v,
            None => self.overflow = true,
        }
        self.overflow |= overflow;
    }

    /// Values seen.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// Their mean in seconds (`None` before the first).
    pub fn mean(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum as f64 / self.n as f64 / 1e9)
    }

    /// Their sample variance in seconds², n - 1 in the denominator (`None` below two
    /// values). `n * sum_sq - sum^2` is exact in integers where it fits in 128 bits (it
    /// does below about 10^7 values of 10^12 ns); beyond, it is taken in f64 from the
    /// exact sums.
    pub fn variance(&self) -> Option<f64> {
        if self.n < 2 || self.overflow {
            return None;
        }
        let n = u128::from(self.n);
        let ss = match (n.checked_mul(self.sum_sq), self.sum.checked_mul(self.sum)) {
            (Some(a), Some(b)) => a.saturating_sub(b) as f64 / n as f64,
            _ => (self.sum_sq as f64 - (self.sum as f64).powi(2) / n as f64).max(0.0),
        };
        Some(ss / (self.n - 1) as f64 / 1e18)
    }

    /// Squared coefficient of variation, variance / mean² (`None` below two values or
    /// with a zero mean).
    pub fn scv(&self) -> Option<f64> {
        let m = self.mean()?;
        (m > 0.0).then(|| self.variance().map(|v| v / (m * m)))?
    }

    /// The figures for summary.json.
    pub fn stats(&self) -> MomentStats {
        MomentStats {
            count: self.n,
            mean: self.mean(),
            stddev: self.variance().map(f64::sqrt),
            scv: self.scv(),
        }
    }
}

/// `variability.*`: one measured quantity's moments.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MomentStats {
    /// Values measured.
    pub count: u64,
    /// Their mean, seconds (`null` without values).
    pub mean: Option<f64>,
    /// Their standard deviation, seconds (`null` below two values).
    pub stddev: Option<f64>,
    /// Squared coefficient of variation, (stddev / mean)² (`null` below two values).
    pub scv: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_sums_and_merge_agree_with_the_two_pass_figures() {
        let xs: Vec<u64> = (0..1000u64)
            .map(|i| ((i * 37) % 101) * 1_000_000 + 5_000_000_000)
            .collect();
        let secs: Vec<f64> = xs.iter().map(|&x| x as f64 / 1e9).collect();
        let mean = secs.iter().sum::<f64>() / 1000.0;
        let var = secs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 999.0;
        let mut all = Moments::default();
        let (mut a, mut b) = (Moments::default(), Moments::default());
        for (i, &x) in xs.iter().enumerate() {
            all.push(x);
            if i < 300 {
                a.push(x)
            } else {
                b.push(x)
            }
        }
        a.merge(&b);
        for m in [all, a] {
            assert_eq!(m.count(), 1000);
            assert!((m.mean().unwrap() - mean).abs() < 1e-12);
            assert!(
                (m.variance().unwrap() / var - 1.0).abs() < 1e-9,
                "{:?} {var}",
                m.variance()
            );
        }
        assert_eq!(Moments::default().scv(), None);
    }

    #[test]
    fn constant_values_have_no_variance_exactly() {
        let mut m = Moments::default();
        for _ in 0..100_000 {
            m.push(1_234_567_891);
        }
        assert_eq!(m.variance(), Some(0.0));
        assert_eq!(m.scv(), Some(0.0));
    }

    #[test]
    fn sums_too_large_for_the_exact_path_and_overflow() {
        // n * sum_sq beyond u128: the f64 path, still close.
        let mut m = Moments::default();
        for i in 0..1000u64 {
            m.push(if i % 2 == 0 { 1 << 54 } else { 3 << 53 });
        }
        let (lo, hi) = ((1u64 << 54) as f64 / 1e9, (3u64 << 53) as f64 / 1e9);
        let mean = (lo + hi) / 2.0;
        let var = ((lo - mean).powi(2) * 1000.0) / 999.0;
        assert!((m.variance().unwrap() / var - 1.0).abs() < 1e-6);
        // The sum of squares itself overflows: the variance is not known.
        for _ in 0..1000 {
            m.push(u64::MAX);
        }
        assert_eq!(m.variance(), None);
        assert!(m.mean().is_some());
    }
}
