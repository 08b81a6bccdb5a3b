//! `--uncertain KEY=LAW(...)`: an input given as a range or a distribution instead of a
//! number, for `sweep` and `plan`.
//!
//! Each replication is one *plausible future*: it draws one value of every uncertain input
//! and runs the scenario with them (through the same overlay as `--set`). The draw of
//! input `k` in future `r` comes from a generator of its own, seeded from the sweep's base
//! seed, `r` and the key's name, so that
//! - the futures are the same at every grid point (points are compared on common futures,
//!   whatever `--seeds` says about the simulation's own streams),
//! - they do not depend on the thread count, the shard split or the order of the runs,
//! - adding or removing another uncertain input does not change this one's draws.
//!
//! Every law is drawn by inverting its distribution function at one uniform number
//! (the lognormal through the inverse normal), so futures are also *comonotone* across
//! bands: future `r` sits at the same quantile of `uniform(800,1200)` as of
//! `uniform(900,1100)`.

use crate::error::InputError;
use crate::rng::{mix64, uniform, Rng};
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

/// A distribution of an uncertain input, in the input's own unit (seconds for durations).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "law", rename_all = "lowercase")]
pub enum Law {
    /// Every value in `[low, high]` equally likely.
    Uniform {
        /// Smallest value.
        low: f64,
        /// Largest value.
        high: f64,
    },
    /// Between `low` and `high`, most likely `mode` (density rising linearly to it and
    /// falling linearly after).
    Triangular {
        /// Smallest value.
        low: f64,
        /// Most likely value.
        mode: f64,
        /// Largest value.
        high: f64,
    },
    /// Lognormal with this mean and standard deviation (of the value itself): positive,
    /// with a long right tail.
    Lognormal {
        /// Mean of the value.
        mean: f64,
        /// Standard deviation of the value.
        sd: f64,
    },
}

impl Law {
    /// The value at quantile `u` (0 <= u < 1).
    pub fn quantile(&self, u: f64) -> f64 {
        match *self {
            Law::Uniform { low, high } => low + u * (high - low),
            Law::Triangular { low, mode, high } => {
                let w = high - low;
                let f_mode = (mode - low) / w;
                if u < f_mode {
                    low + (u * w * (mode - low)).sqrt()
                } else {
                    high - ((1.0 - u) * w * (high - mode)).sqrt()
                }
            }
            Law::Lognormal { mean, sd } => {
                let (mu, sigma) = lognormal_params(mean, sd);
                (mu + sigma * normal_quantile(u)).exp()
            }
        }
    }

    /// The law's mean.
    pub fn mean(&self) -> f64 {
        match *self {
            Law::Uniform { low, high } => (low + high) / 2.0,
            Law::Triangular { low, mode, high } => (low + mode + high) / 3.0,
            Law::Lognormal { mean, .. } => mean,
        }
    }

    /// The smallest and largest values it can give (`None` for an unbounded end).
    pub fn bounds(&self) -> (f64, Option<f64>) {
        match *self {
            Law::Uniform { low, high } | Law::Triangular { low, high, .. } => (low, Some(high)),
            Law::Lognormal { .. } => (0.0, None),
        }
    }
}

/// `mu` and `sigma` of the normal whose exponential has this mean and standard deviation.
fn lognormal_params(mean: f64, sd: f64) -> (f64, f64) {
    let sigma2 = (1.0 + (sd / mean).powi(2)).ln();
    (mean.ln() - sigma2 / 2.0, sigma2.sqrt())
}

/// The standard normal quantile (Acklam's rational approximation, relative error below
/// 1.2e-9), for 0 < p < 1; `p = 0` gives a large negative number instead of minus infinity.
pub fn normal_quantile(p: f64) -> f64 {
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// What kind of value the input is: a plain number, or a duration (written with units,
/// drawn and reported in seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A number (a rate, a probability, a size).
    Number,
    /// A duration.
    Duration,
}

/// One `--uncertain`: the key, its law, and the text it was given as.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Uncertain {
    /// Dotted scenario key, as `--set` takes.
    pub key: String,
    /// The distribution (in seconds for a duration).
    #[serde(flatten)]
    pub law: Law,
    /// Number or duration.
    pub kind: Kind,
    /// The law as written, e.g. `triangular(800,1000,1200)`.
    pub text: String,
}

/// The laws `--uncertain` accepts, for error messages.
pub const ALLOWED: &str = "KEY=uniform(LOW,HIGH)  KEY=triangular(LOW,MODE,HIGH)  KEY=lognormal(MEAN,SD); numbers, or durations with units (e.g. triangular(30ms,40ms,80ms))";

/// Parses `KEY=LAW(A,B[,C])`.
pub fn parse(arg: &str) -> Result<Uncertain, InputError> {
    let (key, spec) = crate::scenario::overlay::split_assignment(arg, "--uncertain")?;
    let bad = |m: String| {
        InputError::new(m)
            .in_file(format!("--uncertain {arg}"))
            .allowed(ALLOWED)
    };
    let spec = spec.trim();
    let (name, rest) = spec
        .split_once('(')
        .ok_or_else(|| bad(format!("`{spec}` is not a law such as uniform(800,1200)")))?;
    let inner = rest
        .trim_end()
        .strip_suffix(')')
        .ok_or_else(|| bad(format!("`{spec}` lacks its closing `)`")))?;
    let texts: Vec<&str> = inner.split(',').map(str::trim).collect();
    // Each parameter is a number, or a duration with a unit; all of one kind.
    let mut kinds = Vec::new();
    let mut xs = Vec::new();
    for t in &texts {
        if let Ok(x) = t.parse::<f64>() {
            kinds.push(Kind::Number);
            xs.push(x);
        } else {
            let x = crate::time::parse_duration(t).map_err(|m| {
                bad(format!(
                    "`{t}` is neither a number nor a duration with a unit: {m}"
                ))
            })?;
            kinds.push(Kind::Duration);
            xs.push(x);
        }
    }
    if xs.iter().any(|x| !x.is_finite()) {
        return Err(bad("every parameter must be a finite number".into()));
    }
    let kind = kinds[0];
    if kinds.iter().any(|k| *k != kind) {
        return Err(bad(format!(
            "`{spec}` mixes plain numbers and durations: give every parameter with a unit, or none"
        )));
    }
    let name = name.trim().to_ascii_lowercase();
    let want = |n: usize| -> Result<(), InputError> {
        if xs.len() == n {
            Ok(())
        } else {
            Err(bad(format!(
                "{name}(...) takes {n} parameters, not {}",
                xs.len()
            )))
        }
    };
    let law = match name.as_str() {
        "uniform" => {
            want(2)?;
            if xs[0] >= xs[1] {
                return Err(bad(format!(
                    "uniform(LOW,HIGH) needs LOW < HIGH, not {spec} (for a fixed value use --set)"
                )));
            }
            Law::Uniform {
                low: xs[0],
                high: xs[1],
            }
        }
        "triangular" => {
            want(3)?;
            if !(xs[0] <= xs[1] && xs[1] <= xs[2] && xs[0] < xs[2]) {
                return Err(bad(format!(
                    "triangular(LOW,MODE,HIGH) needs LOW <= MODE <= HIGH and LOW < HIGH, not {spec}"
                )));
            }
            Law::Triangular {
                low: xs[0],
                mode: xs[1],
                high: xs[2],
            }
        }
        "lognormal" => {
            want(2)?;
            if xs[0] <= 0.0 || xs[1] <= 0.0 {
                return Err(bad(format!(
                    "lognormal(MEAN,SD) needs MEAN > 0 and SD > 0, not {spec}"
                )));
            }
            Law::Lognormal {
                mean: xs[0],
                sd: xs[1],
            }
        }
        other => return Err(bad(format!("unknown law `{other}`"))),
    };
    Ok(Uncertain {
        key,
        law,
        kind,
        text: spec.split_whitespace().collect::<Vec<_>>().join(""),
    })
}

impl Uncertain {
    /// The value of this input in future `future` of a sweep whose base seed is `base`.
    pub fn draw(&self, base: u64, future: u32) -> f64 {
        let mut rng = Rng::seed_from_u64(future_seed(base, future, &self.key));
        self.law.quantile(uniform(&mut rng))
    }

    /// The value as the overlay takes it (TOML text): a float for a number (`1012.5`), a
    /// duration string in seconds for a duration (`"0.0412s"`).
    pub fn value_text(&self, x: f64) -> String {
        match self.kind {
            // Debug prints the shortest text that reads back to x, always with `.` or `e`
            // (a TOML float, never an integer).
            Kind::Number => format!("{x:?}"),
            Kind::Duration => format!("\"{x}s\""),
        }
    }

    /// `producers.shoppers.rate ~ triangular(800,1000,1200)`.
    pub fn describe(&self) -> String {
        format!("{} ~ {}", self.key, self.text)
    }
}

/// The seed of input `key`'s draw in future `future`.
pub fn future_seed(base: u64, future: u32, key: &str) -> u64 {
    use sha2::Digest;
    let d = sha2::Sha256::digest(key.as_bytes());
    let mut h = [0u8; 8];
    h.copy_from_slice(&d[..8]);
    mix64(base ^ mix64(0xf0_7e_5e_ed ^ mix64(u64::from(future)) ^ u64::from_le_bytes(h)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn laws_parse_and_refuse() {
        let u = parse("producers.shoppers.rate=triangular(800, 1000, 1200)").unwrap();
        assert_eq!(u.key, "producers.shoppers.rate");
        assert_eq!(
            u.law,
            Law::Triangular {
                low: 800.0,
                mode: 1000.0,
                high: 1200.0
            }
        );
        assert_eq!(u.kind, Kind::Number);
        assert_eq!(u.text, "triangular(800,1000,1200)");
        let d = parse("consumers.service.mean=uniform(30ms,50ms)").unwrap();
        assert_eq!(d.kind, Kind::Duration);
        assert_eq!(
            d.law,
            Law::Uniform {
                low: 0.03,
                high: 0.05
            }
        );
        assert_eq!(d.value_text(0.04), "\"0.04s\"");
        assert_eq!(u.value_text(1000.0), "1000.0");
        for bad in [
            "a=uniform(2,1)",
            "a=uniform(1,1)",
            "a=triangular(1,5,3)",
            "a=lognormal(0,1)",
            "a=uniform(1ms,2)",
            "a=beta(1,2)",
            "a=uniform(1,2,3)",
            "a=uniform(1,2",
            "a=1..3",
            "a=uniform(x,2)",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(
                e.to_string().contains("--uncertain"),
                "{bad}: {e} names the flag"
            );
        }
    }

    #[test]
    fn normal_quantile_is_accurate() {
        for (p, z) in [
            (0.5, 0.0),
            (0.975, 1.959_963_984_540_054),
            (0.025, -1.959_963_984_540_054),
            (0.999, 3.090_232_306_167_813_5),
            (1e-6, -4.753_424_308_822_899),
        ] {
            assert!((normal_quantile(p) - z).abs() < 1e-8, "{p}");
        }
    }

    /// The drawn values follow the law: inside its bounds, with its mean and (for the
    /// triangular) its mode, within sampling error.
    #[test]
    fn draws_follow_the_law() {
        let n = 20_000u32;
        let check = |u: &Uncertain, mean: f64, sd: f64| {
            let xs: Vec<f64> = (0..n).map(|r| u.draw(11, r)).collect();
            let (lo, hi) = u.law.bounds();
            assert!(xs.iter().all(|x| *x >= lo && hi.is_none_or(|h| *x <= h)));
            let m = xs.iter().sum::<f64>() / f64::from(n);
            let s = (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / f64::from(n - 1)).sqrt();
            // Four standard errors: fails by chance about once in 16,000.
            assert!(
                (m - mean).abs() < 4.0 * sd / f64::from(n).sqrt(),
                "{}: mean {m} vs {mean}",
                u.text
            );
            assert!((s - sd).abs() < 0.05 * sd, "{}: sd {s} vs {sd}", u.text);
            xs
        };
        let t = parse("r=triangular(800,1000,1200)").unwrap();
        // The variance of a triangular law is (a²+b²+c²-ab-ac-bc)/18.
        let (a, c, b) = (800.0f64, 1000.0f64, 1200.0f64);
        let sd = ((a * a + b * b + c * c - a * b - a * c - b * c) / 18.0).sqrt();
        let xs = check(&t, 1000.0, sd);
        // The mode: the 50-wide bin around 1000 is the fullest of the eight.
        let mut bins = [0u32; 8];
        for x in &xs {
            bins[(((x - 800.0) / 50.0) as usize).min(7)] += 1;
        }
        let fullest = (0..8).max_by_key(|&i| bins[i]).unwrap();
        assert!(fullest == 3 || fullest == 4, "{bins:?}");
        // Below the mode the density rises linearly: the first bin holds
        // 50² / (400 x 200) = 1/32 of the mass.
        assert!((f64::from(bins[0]) / f64::from(n) - 1.0 / 32.0).abs() < 0.005);
        check(&parse("r=uniform(2,8)").unwrap(), 5.0, 6.0 / 12.0f64.sqrt());
        check(&parse("r=lognormal(3,1.5)").unwrap(), 3.0, 1.5);
        // The same seed gives the same futures; another seed, others.
        let a: Vec<f64> = (0..50).map(|r| t.draw(11, r)).collect();
        let b: Vec<f64> = (0..50).map(|r| t.draw(11, r)).collect();
        let c: Vec<f64> = (0..50).map(|r| t.draw(12, r)).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        // Another key's draws are independent of this one's.
        let other = parse("s=triangular(800,1000,1200)").unwrap();
        assert_ne!(a, (0..50).map(|r| other.draw(11, r)).collect::<Vec<_>>());
    }
}
