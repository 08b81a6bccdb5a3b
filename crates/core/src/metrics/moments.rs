//! Streaming mean and variance (Welford's update, Chan's merge): no allocation, one
//! number at a time, for the measured coefficients of variation that the G/G formulas
//! ([`crate::theory::gg_approximation`]) take.

use serde::Serialize;

/// Count, mean and sum of squared deviations of the values seen so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Moments {
    n: u64,
    mean: f64,
    m2: f64,
}

impl Moments {
    /// Adds one value.
    #[inline]
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    /// Adds another set's values (Chan et al.'s pairwise update).
    pub fn merge(&mut self, o: &Moments) {
        if o.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *o;
            return;
        }
        let n = self.n + o.n;
        let d = o.mean - self.mean;
        let (a, b) = (self.n as f64, o.n as f64);
        self.mean += d * b / n as f64;
        self.m2 += o.m2 + d * d * a * b / n as f64;
        self.n = n;
    }

    /// Values seen.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// Their mean (`None` before the first).
    pub fn mean(&self) -> Option<f64> {
        (self.n > 0).then_some(self.mean)
    }

    /// Their sample variance, n - 1 in the denominator (`None` below two values).
    pub fn variance(&self) -> Option<f64> {
        (self.n > 1).then(|| (self.m2 / (self.n - 1) as f64).max(0.0))
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
    fn welford_and_merge_agree_with_the_two_pass_figures() {
        let xs: Vec<f64> = (0..1000)
            .map(|i| ((i * 37) % 101) as f64 * 1e-3 + 5.0)
            .collect();
        let mean = xs.iter().sum::<f64>() / 1000.0;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 999.0;
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
            assert!((m.variance().unwrap() - var).abs() < 1e-12 * var.max(1.0));
        }
        assert_eq!(Moments::default().scv(), None);
    }
}
