//! Confidence intervals over replications.

use serde::Serialize;

/// Mean and 95% confidence interval (Student t) of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// Values used (non-missing).
    pub n: usize,
    /// Sample mean.
    pub mean: f64,
    /// Lower end of the 95% interval.
    pub low: f64,
    /// Upper end of the 95% interval.
    pub high: f64,
}

/// Two-sided 97.5% quantiles of Student's t for 1..=30 degrees of freedom.
const T975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// t quantile for a 95% two-sided interval with `df` degrees of freedom.
pub fn t975(df: usize) -> f64 {
    match df {
        0 => f64::INFINITY,
        1..=30 => T975[df - 1],
        31..=60 => 2.042 - (df - 30) as f64 * (2.042 - 2.000) / 30.0,
        61..=120 => 2.000 - (df - 60) as f64 * (2.000 - 1.980) / 60.0,
        _ => 1.960,
    }
}

/// The 95% interval of the mean of `values` (missing values are skipped). With one value
/// the interval is that value; with none, `None`.
pub fn interval(values: &[Option<f64>]) -> Option<Interval> {
    let xs: Vec<f64> = values
        .iter()
        .flatten()
        .copied()
        .filter(|x| x.is_finite())
        .collect();
    let n = xs.len();
    if n == 0 {
        return None;
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return Some(Interval {
            n,
            mean,
            low: mean,
            high: mean,
        });
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let half = t975(n - 1) * (var / n as f64).sqrt();
    Some(Interval {
        n,
        mean,
        low: mean - half,
        high: mean + half,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textbook_interval() {
        let xs: Vec<Option<f64>> = [1.0, 2.0, 3.0, 4.0, 5.0].iter().map(|x| Some(*x)).collect();
        let i = interval(&xs).unwrap();
        assert_eq!(i.mean, 3.0);
        // sd = 1.5811, se = 0.7071, t(4) = 2.776
        assert!((i.high - 3.0 - 2.776 * std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        assert_eq!(interval(&[None]), None);
        assert_eq!(interval(&[Some(2.0), None]).unwrap().high, 2.0);
    }
}
