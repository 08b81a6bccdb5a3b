//! `queuelab fit`: which textbook law a measured sample follows, and how bursty a stream of
//! arrivals is.
//!
//! Given a sample in seconds (service times, or the gaps between arrivals) [`fit`] fits
//! each family by maximum likelihood:
//! - exponential: rate = 1 / mean;
//! - lognormal: mu and sigma are the mean and the (1/n) standard deviation of the logs;
//! - gamma: the shape solves ln k - digamma(k) = ln(mean) - mean(ln x) (Minka's Newton
//!   iteration on 1/k, from his closed-form start: T. Minka, *Estimating a Gamma
//!   distribution*, 2002), scale = mean / shape;
//! - constant: the mean;
//! - empirical: the sample itself (resampled by `dist = "empirical"`).
//!
//! Each parametric fit is scored by the Kolmogorov-Smirnov distance D (the largest gap
//! between the sample's and the fitted cumulative distribution) and the Anderson-Darling
//! A² (which weighs the tails). A family is *acceptable* when D is below the 5% critical
//! value for the sample's size (Stephens' approximation 1.358 / (sqrt n + 0.12 + 0.11 /
//! sqrt n); the parameters come from the same sample, so this test is lenient);
//! constant is acceptable when the coefficient of variation is below [`CONSTANT_CV`].
//! `best` is the acceptable family with the fewest parameters (constant 1, exponential 1,
//! gamma and lognormal 2), the smaller D between equals; when none is acceptable, it is
//! `empirical`.
//!
//! For arrivals ([`Kind::Gaps`], [`Kind::Timestamps`]) [`Burstiness`] says how far the
//! stream is from Poisson: the gaps' squared coefficient of variation Ca² (1 for Poisson)
//! and the index of dispersion of counts (variance / mean of the arrivals in windows of a
//! few sizes; 1 for Poisson at every size), each against the band that chance alone gives
//! a Poisson stream of the same length.

use crate::convert::{floor_usize, nearest_rank};
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Gamma, LogNormal};

/// Below this coefficient of variation (stddev / mean) a sample is taken as constant.
pub const CONSTANT_CV: f64 = 0.01;

/// The fewest values a fit is made from.
pub const MIN_VALUES: usize = 2;

/// Stephens' coefficient for the 5% Kolmogorov-Smirnov critical value.
const KS_5PCT: f64 = 1.358;

/// What the sample measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Service times (or any durations): the paste line is a `service = { ... }`.
    Service,
    /// Gaps between consecutive arrivals.
    Gaps,
    /// Arrival times (seconds from any origin, non-decreasing): fitted on their gaps.
    Timestamps,
}

/// Where the sample came from, for the lines to paste.
#[derive(Debug, Clone)]
pub struct Source {
    /// The file as the user gave it.
    pub file: String,
    /// The unit the file's bare numbers are in (`s`, `ms`, ...).
    pub unit: String,
    /// What the sample measures.
    pub kind: Kind,
}

/// One fitted family.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// `exponential`, `lognormal`, `gamma`, `constant` or `empirical`.
    pub family: String,
    /// Parameters fitted from the sample (0 for empirical).
    pub parameters: u32,
    /// Mean of the fitted law, seconds.
    pub mean: f64,
    /// Standard deviation of the fitted law, seconds.
    pub stddev: f64,
    /// Exponential: events per second (1 / mean).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Lognormal: mean of ln(seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mu: Option<f64>,
    /// Lognormal: standard deviation of ln(seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sigma: Option<f64>,
    /// Gamma: shape k.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shape: Option<f64>,
    /// Gamma: scale theta, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale: Option<f64>,
    /// Constant: the value, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// Kolmogorov-Smirnov D against the sample (0 for empirical, the sample itself).
    pub ks_d: f64,
    /// Anderson-Darling A² (`null` for constant and empirical, which have no density).
    pub ad: Option<f64>,
    /// Whether the family passes the rule in the module's description.
    pub acceptable: bool,
    /// The scenario line to paste for this law (`null` where the scenario has no syntax
    /// for it, e.g. gamma gaps between arrivals).
    pub paste: Option<String>,
}

impl Candidate {
    /// The `p`-quantile of the fitted law (0 < p < 1), seconds; `None` for empirical.
    pub fn quantile(&self, p: f64) -> Option<f64> {
        match self.family.as_str() {
            "exponential" => Some(-(-p).ln_1p() / self.rate?),
            "lognormal" => LogNormal::new(self.mu?, self.sigma?)
                .ok()
                .map(|d| d.inverse_cdf(p)),
            "gamma" => Gamma::new(self.shape?, 1.0 / self.scale?)
                .ok()
                .map(|d| d.inverse_cdf(p)),
            "constant" => self.value,
            _ => None,
        }
    }
}

/// A family that could not be fitted, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotFitted {
    /// The family.
    pub family: String,
    /// Why, in words.
    pub reason: String,
}

/// How far a stream of arrivals is from Poisson.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Burstiness {
    /// Gaps measured.
    pub gaps: usize,
    /// Arrivals per second (1 / mean gap).
    pub rate: f64,
    /// Coefficient of variation of the gaps (stddev / mean; 1 for Poisson).
    pub cv: f64,
    /// Its square, Ca², the input of Kingman's and Allen-Cunneen's formulas.
    pub ca2: f64,
    /// Half-width of the band around 1 that Ca² of a Poisson stream with this many gaps
    /// stays in 95% of the time (1.96 x 2 / sqrt(gaps)).
    pub ca2_band: f64,
    /// Index of dispersion of counts per window size (windows of 1, 10, 100 and 1000 mean
    /// gaps, those with at least 20 whole windows in the trace).
    pub dispersion: Vec<Dispersion>,
    /// `poisson`, `bursty`, `regular` or `mixed` (see `sentence`).
    pub verdict: String,
    /// What the numbers say, in one sentence.
    pub sentence: String,
}

/// The index of dispersion of counts over one window size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dispersion {
    /// Window length, seconds.
    pub window: f64,
    /// Whole windows in the trace.
    pub windows: usize,
    /// Mean arrivals per window.
    pub mean_count: f64,
    /// Variance / mean of the counts (1 for Poisson).
    pub index: f64,
    /// Half-width of the 95% band a Poisson stream's index stays in (1.96 sqrt(2 / (w - 1))).
    pub band: f64,
}

/// The whole answer of `queuelab fit`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fit {
    /// What the sample measures: `service`, `gaps` or `timestamps`.
    pub kind: Kind,
    /// Values fitted (for timestamps: the gaps between them).
    pub n: usize,
    /// Sample mean, seconds.
    pub mean: f64,
    /// Sample standard deviation (n - 1), seconds.
    pub stddev: f64,
    /// stddev / mean.
    pub cv: f64,
    /// Smallest value, seconds.
    pub min: f64,
    /// Median, seconds.
    pub p50: f64,
    /// 99th percentile (nearest rank), seconds.
    pub p99: f64,
    /// Largest value, seconds.
    pub max: f64,
    /// The recommended family (the rule is in the module's description).
    pub best: String,
    /// Why `best` was chosen, in one sentence.
    pub reason: String,
    /// The Kolmogorov-Smirnov D a family must stay below to be acceptable.
    pub ks_critical: f64,
    /// Every family fitted, best first.
    pub candidates: Vec<Candidate>,
    /// Families that could not be fitted (e.g. lognormal with a zero in the sample).
    pub not_fitted: Vec<NotFitted>,
    /// For arrivals: how far from Poisson.
    pub arrivals: Option<Burstiness>,
}

/// Why a sample cannot be fitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FitError {
    /// Fewer than [`MIN_VALUES`] values (for timestamps: fewer than 2 gaps' worth).
    TooFew(usize),
    /// The value at this index (0-based, in the order given) is negative or not finite.
    Bad(usize),
    /// Timestamps: the value at this index is earlier than the one before.
    NotMonotone(usize),
}

impl std::fmt::Display for FitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FitError::TooFew(n) => write!(
                f,
                "{n} value(s): a fit needs at least {MIN_VALUES} (for timestamps, {} times)",
                MIN_VALUES + 1
            ),
            FitError::Bad(i) => write!(f, "value {} is negative or not a number", i + 1),
            FitError::NotMonotone(i) => {
                write!(f, "time {} is earlier than the one before", i + 1)
            }
        }
    }
}

/// The gaps between consecutive `times`.
///
/// # Errors
/// [`FitError::NotMonotone`] at the first time earlier than the one before,
/// [`FitError::Bad`] at a time that is not finite.
pub fn gaps_of(times: &[f64]) -> Result<Vec<f64>, FitError> {
    if let Some(i) = times.iter().position(|t| !t.is_finite()) {
        return Err(FitError::Bad(i));
    }
    if let Some(i) = times.windows(2).position(|w| w[1] < w[0]) {
        return Err(FitError::NotMonotone(i + 1));
    }
    Ok(times.windows(2).map(|w| w[1] - w[0]).collect())
}

/// Fits every family to `values` (seconds; for [`Kind::Timestamps`], arrival times).
///
/// # Errors
/// A [`FitError`] for too few values, a negative or non-finite value, or (timestamps)
/// a time earlier than the one before.
pub fn fit(values: &[f64], src: &Source) -> Result<Fit, FitError> {
    let (mut x, times) = match src.kind {
        Kind::Timestamps => {
            if values.len() < MIN_VALUES + 1 {
                return Err(FitError::TooFew(values.len()));
            }
            (gaps_of(values)?, Some(values))
        }
        _ => {
            if let Some(i) = values.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
                return Err(FitError::Bad(i));
            }
            (values.to_vec(), None)
        }
    };
    if x.len() < MIN_VALUES {
        return Err(FitError::TooFew(x.len()));
    }
    let arrivals = match src.kind {
        Kind::Service => None,
        Kind::Gaps => Some(burstiness(&x, None)),
        Kind::Timestamps => Some(burstiness(&x, times)),
    };
    x.sort_by(f64::total_cmp);
    let n = x.len();
    let nf = n as f64;
    let mean = x.iter().sum::<f64>() / nf;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (nf - 1.0);
    let stddev = var.sqrt();
    let cv = if mean > 0.0 { stddev / mean } else { 0.0 };
    let rank = |q: f64| x[nearest_rank(q, n) - 1];
    let ks_critical = KS_5PCT / (nf.sqrt() + 0.12 + 0.11 / nf.sqrt());

    let mut cands = Vec::new();
    let mut not_fitted = Vec::new();
    // Constant.
    let below = x.partition_point(|v| *v < mean);
    let above = n - x.partition_point(|v| *v <= mean);
    cands.push(Candidate {
        family: "constant".into(),
        parameters: 1,
        mean,
        stddev: 0.0,
        value: Some(mean),
        ks_d: below.max(above) as f64 / nf,
        ad: None,
        acceptable: mean > 0.0 && cv < CONSTANT_CV,
        paste: None,
        ..blank()
    });
    if mean > 0.0 {
        let rate = 1.0 / mean;
        let (d, a2) = scores(&x, |v| -(-rate * v).exp_m1());
        cands.push(Candidate {
            family: "exponential".into(),
            parameters: 1,
            mean,
            stddev: mean,
            rate: Some(rate),
            ks_d: d,
            ad: Some(a2),
            acceptable: d < ks_critical,
            ..blank()
        });
    } else {
        not_fitted.push(NotFitted {
            family: "exponential".into(),
            reason: "every value is 0".into(),
        });
    }
    let zeros = x.partition_point(|v| *v <= 0.0);
    if zeros > 0 || cv < CONSTANT_CV {
        let reason = if zeros > 0 {
            format!("{zeros} value(s) are 0: these laws need every value > 0")
        } else {
            format!("the spread is below {CONSTANT_CV} of the mean: the sample is constant")
        };
        for f in ["lognormal", "gamma"] {
            not_fitted.push(NotFitted {
                family: f.into(),
                reason: reason.clone(),
            });
        }
    } else {
        let logs: Vec<f64> = x.iter().map(|v| v.ln()).collect();
        let mu = logs.iter().sum::<f64>() / nf;
        let sigma = (logs.iter().map(|l| (l - mu).powi(2)).sum::<f64>() / nf).sqrt();
        if let Ok(ln) = LogNormal::new(mu, sigma) {
            let (d, a2) = scores(&x, |v| ln.cdf(v));
            let m = (mu + sigma * sigma / 2.0).exp();
            cands.push(Candidate {
                family: "lognormal".into(),
                parameters: 2,
                mean: m,
                stddev: m * sigma.powi(2).exp_m1().sqrt(),
                mu: Some(mu),
                sigma: Some(sigma),
                ks_d: d,
                ad: Some(a2),
                acceptable: d < ks_critical,
                ..blank()
            });
        }
        let k = gamma_shape(mean.ln() - mu);
        let theta = mean / k;
        if let Ok(g) = Gamma::new(k, 1.0 / theta) {
            let (d, a2) = scores(&x, |v| g.cdf(v));
            cands.push(Candidate {
                family: "gamma".into(),
                parameters: 2,
                mean,
                stddev: mean / k.sqrt(),
                shape: Some(k),
                scale: Some(theta),
                ks_d: d,
                ad: Some(a2),
                acceptable: d < ks_critical,
                ..blank()
            });
        }
    }
    // Best: fewest parameters among the acceptable, then the smaller D.
    // The acceptable first (fewest parameters, then the smaller D), then the rest by D.
    cands.sort_by(|a, b| {
        let key = |c: &Candidate| (!c.acceptable, if c.acceptable { c.parameters } else { 0 });
        key(a).cmp(&key(b)).then(a.ks_d.total_cmp(&b.ks_d))
    });
    let empirical = Candidate {
        family: "empirical".into(),
        parameters: 0,
        mean,
        stddev,
        ks_d: 0.0,
        ad: None,
        acceptable: true,
        ..blank()
    };
    let (best, reason) = match cands.first().filter(|c| c.acceptable) {
        Some(c) if c.family == "constant" => (
            c.family.clone(),
            format!(
                "the spread is ~0 (stddev / mean = {cv:.2e}, below {CONSTANT_CV}): a constant {}",
                crate::time::human(mean)
            ),
        ),
        Some(c) => {
            let others: Vec<&Candidate> = cands[1..].iter().filter(|o| o.acceptable).collect();
            let rest = if others.is_empty() {
                "the only parametric family that fits".to_string()
            } else {
                format!(
                    "{} also fit{}; {} is preferred for {}",
                    others
                        .iter()
                        .map(|o| format!("{} (D = {:.4})", o.family, o.ks_d))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if others.len() == 1 { "s" } else { "" },
                    c.family,
                    if others.iter().any(|o| o.parameters > c.parameters) {
                        "having fewer parameters"
                    } else {
                        "the smaller D"
                    }
                )
            };
            (
                c.family.clone(),
                format!(
                    "{}: D = {:.4} is below the 5% critical value {ks_critical:.4} for {} values; {rest}",
                    c.family,
                    c.ks_d,
                    crate::time::thousands(n as u64)
                ),
            )
        }
        None => (
            "empirical".to_string(),
            format!(
                "no parametric family fits: every D is at or above the 5% critical value {ks_critical:.4} for {} values (the smallest is {} with D = {:.4}); resample the data itself",
                crate::time::thousands(n as u64),
                cands.iter().filter(|c| c.family != "constant").min_by(|a, b| a.ks_d.total_cmp(&b.ks_d)).map_or("-", |c| c.family.as_str()),
                cands.iter().filter(|c| c.family != "constant").map(|c| c.ks_d).fold(f64::INFINITY, f64::min),
            ),
        ),
    };
    if best == "empirical" {
        cands.insert(0, empirical);
    } else {
        cands.push(empirical);
    }
    for c in &mut cands {
        c.paste = paste(c, src);
    }
    Ok(Fit {
        kind: src.kind,
        n,
        mean,
        stddev,
        cv,
        min: x[0],
        p50: rank(0.5),
        p99: rank(0.99),
        max: x[n - 1],
        best,
        reason,
        ks_critical,
        candidates: cands,
        not_fitted,
        arrivals,
    })
}

fn blank() -> Candidate {
    Candidate {
        family: String::new(),
        parameters: 0,
        mean: 0.0,
        stddev: 0.0,
        rate: None,
        mu: None,
        sigma: None,
        shape: None,
        scale: None,
        value: None,
        ks_d: 0.0,
        ad: None,
        acceptable: false,
        paste: None,
    }
}

/// Kolmogorov-Smirnov D and Anderson-Darling A² of the sorted sample `x` against `cdf`.
fn scores(x: &[f64], cdf: impl Fn(f64) -> f64) -> (f64, f64) {
    let n = x.len();
    let nf = n as f64;
    let f: Vec<f64> = x.iter().map(|&v| cdf(v).clamp(0.0, 1.0)).collect();
    let mut d = 0.0f64;
    for (i, &fi) in f.iter().enumerate() {
        d = d.max(fi - i as f64 / nf).max((i + 1) as f64 / nf - fi);
    }
    // A² = -n - (1/n) sum (2i - 1) [ln F(x_i) + ln(1 - F(x_(n+1-i)))], F kept off 0 and 1.
    let lo = 1e-300;
    let mut s = 0.0;
    for i in 0..n {
        let a = f[i].max(lo).ln();
        let b = (1.0 - f[n - 1 - i]).max(lo).ln();
        s += (2 * i + 1) as f64 * (a + b);
    }
    (d, -nf - s / nf)
}

/// Trigamma, the derivative of digamma: the recurrence psi'(x) = psi'(x + 1) + 1/x² up to
/// x >= 12, then the asymptotic series (error below 1e-12 there).
fn trigamma(mut x: f64) -> f64 {
    let mut acc = 0.0;
    while x < 12.0 {
        acc += 1.0 / (x * x);
        x += 1.0;
    }
    let r = 1.0 / (x * x);
    acc + 1.0 / x
        + r / 2.0
        + r / x * (1.0 / 6.0 - r * (1.0 / 30.0 - r * (1.0 / 42.0 - r * (1.0 / 30.0))))
}

/// The gamma shape k with ln k - digamma(k) = `s` (s = ln mean - mean ln x > 0): Minka's
/// start and his Newton update of 1/k (converges in a few steps).
fn gamma_shape(s: f64) -> f64 {
    use statrs::function::gamma::digamma;
    let mut k = (3.0 - s + ((s - 3.0).powi(2) + 24.0 * s).sqrt()) / (12.0 * s);
    for _ in 0..50 {
        let num = k.ln() - digamma(k) - s;
        let den = k * k * (1.0 / k - trigamma(k));
        let next = 1.0 / (1.0 / k + num / den);
        if !(next.is_finite() && next > 0.0) {
            break;
        }
        let done = (next - k).abs() <= 1e-12 * k;
        k = next;
        if done {
            break;
        }
    }
    k
}

/// A duration for a scenario file: 4 significant digits in the unit that reads best.
pub fn duration_text(secs: f64) -> String {
    let (v, u) = if secs >= 1.0 {
        (secs, "s")
    } else if secs >= 1e-3 {
        (secs * 1e3, "ms")
    } else if secs >= 1e-6 {
        (secs * 1e6, "us")
    } else {
        (secs * 1e9, "ns")
    };
    format!("{}{u}", sig4(v))
}

/// `v` with 4 significant digits, no trailing zeros.
fn sig4(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    // Negative (v >= 10^4) and NaN digits saturate to 0.
    let digits = floor_usize(3.0 - v.abs().log10().floor());
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// The scenario text for candidate `c`'s law.
fn paste(c: &Candidate, src: &Source) -> Option<String> {
    let d = duration_text;
    match (src.kind, c.family.as_str()) {
        (Kind::Service, "exponential") => Some(format!(
            "service = {{ dist = \"exponential\", mean = \"{}\" }}",
            d(c.mean)
        )),
        (Kind::Service, "lognormal" | "gamma") => Some(format!(
            "service = {{ dist = \"{}\", mean = \"{}\", stddev = \"{}\" }}",
            c.family,
            d(c.mean),
            d(c.stddev)
        )),
        (Kind::Service, "constant") => Some(format!(
            "service = {{ dist = \"constant\", value = \"{}\" }}",
            d(c.mean)
        )),
        (Kind::Service, "empirical") => Some(format!(
            "service = {{ dist = \"empirical\", samples = \"{}\", unit = \"{}\" }}",
            src.file.replace('\\', "/").replace('"', "\\\""),
            src.unit
        )),
        (_, "exponential") => Some(format!(
            "arrivals = \"poisson\", rate = {}",
            sig4(1.0 / c.mean)
        )),
        (_, "constant") => Some(format!(
            "arrivals = \"constant\", rate = {}",
            sig4(1.0 / c.mean)
        )),
        (Kind::Timestamps, "empirical") => Some(format!(
            "arrivals = \"trace\", trace = \"{}\"",
            src.file.replace('\\', "/").replace('"', "\\\"")
        )),
        _ => None,
    }
}

/// How far the gaps `g` (in arrival order) are from a Poisson stream's; `times`, when
/// given, are the arrival times themselves (else they are the gaps' running sums).
fn burstiness(g: &[f64], times: Option<&[f64]>) -> Burstiness {
    let n = g.len();
    let nf = n as f64;
    let mean = g.iter().sum::<f64>() / nf;
    let var = g.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (nf - 1.0);
    let cv = if mean > 0.0 { var.sqrt() / mean } else { 0.0 };
    let ca2 = cv * cv;
    let ca2_band = 1.96 * 2.0 / nf.sqrt();
    let start = times.map_or(0.0, |t| t[0]);
    let span: f64 = g.iter().sum();
    let mut dispersion = Vec::new();
    if mean > 0.0 {
        for k in [1.0, 10.0, 100.0, 1000.0] {
            let w = k * mean;
            let m = floor_usize(span / w);
            if m < 20 {
                continue;
            }
            let mut counts = vec![0u64; m];
            let mut t = start;
            let mut add = |t: f64| {
                let i = floor_usize((t - start) / w);
                if let Some(c) = counts.get_mut(i) {
                    *c += 1;
                }
            };
            // Every arrival: the first one, then one at the end of each gap.
            add(t);
            match times {
                Some(ts) => ts[1..].iter().for_each(|&x| add(x)),
                None => {
                    for gap in g {
                        t += gap;
                        add(t);
                    }
                }
            }
            let mf = m as f64;
            let cm = counts.iter().sum::<u64>() as f64 / mf;
            let cv2 = counts.iter().map(|&c| (c as f64 - cm).powi(2)).sum::<f64>() / (mf - 1.0);
            dispersion.push(Dispersion {
                window: w,
                windows: m,
                mean_count: cm,
                index: if cm > 0.0 { cv2 / cm } else { 0.0 },
                band: 1.96 * (2.0 / (mf - 1.0)).sqrt(),
            });
        }
    }
    let side = |v: f64, band: f64| -> i8 {
        if v > 1.0 + band {
            1
        } else if v < 1.0 - band {
            -1
        } else {
            0
        }
    };
    let gaps_side = side(ca2, ca2_band);
    let counts_sides: Vec<i8> = dispersion.iter().map(|d| side(d.index, d.band)).collect();
    let any_up = gaps_side > 0 || counts_sides.iter().any(|s| *s > 0);
    let any_down = gaps_side < 0 || counts_sides.iter().any(|s| *s < 0);
    let verdict = match (any_up, any_down) {
        (false, false) => "poisson",
        (true, false) => "bursty",
        (false, true) => "regular",
        (true, true) => "mixed",
    };
    let gaps_words = format!(
        "the gaps have Ca² = {ca2:.3} ({}; a Poisson stream of {} gaps gives 1 ± {ca2_band:.3})",
        match gaps_side {
            1 => "more variable than Poisson",
            -1 => "more regular than Poisson",
            _ => "as variable as Poisson",
        },
        crate::time::thousands(n as u64)
    );
    let counts_words = if dispersion.is_empty() {
        "the trace is too short for 20 windows of one mean gap, so counts were not compared"
            .to_string()
    } else {
        let parts: Vec<String> = dispersion
            .iter()
            .map(|d| {
                format!(
                    "{:.2} over {} windows",
                    d.index,
                    crate::time::human(d.window)
                )
            })
            .collect();
        let outside = counts_sides.iter().filter(|s| **s != 0).count();
        format!(
            "the index of dispersion of counts is {} (Poisson: 1; {} of {} outside the band chance gives)",
            parts.join(", "),
            outside,
            dispersion.len()
        )
    };
    let lead = match verdict {
        "poisson" => "Consistent with Poisson",
        "bursty" => "Burstier than Poisson",
        "regular" => "More regular than Poisson",
        _ => "Not Poisson, in both directions",
    };
    let mut sentence = format!("{lead}: {gaps_words}; {counts_words}.");
    if gaps_side != 0 {
        let (lo, hi) = if ca2 >= 1.0 { (1.0, ca2) } else { (ca2, 1.0) };
        sentence.push_str(&format!(
            " Kingman's approximation scales a queue's mean wait with (Ca² + Cs²) / 2: at the same load and service these arrivals give (Ca² + Cs²) / (1 + Cs²) times the wait of Poisson arrivals, between {lo:.2} and {hi:.2} (Cs², the service's, from large to 0)."
        ));
    }
    if counts_sides.iter().any(|s| *s > 0) && gaps_side <= 0 {
        sentence.push_str(
            " The counts vary more than the gaps alone explain: the gaps are correlated (busy and quiet spells), which formulas fed only Ca² (Kingman, Allen-Cunneen) do not see.",
        );
    }
    Burstiness {
        gaps: n,
        rate: if mean > 0.0 { 1.0 / mean } else { 0.0 },
        cv,
        ca2,
        ca2_band,
        dispersion,
        verdict: verdict.into(),
        sentence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigamma_and_the_gamma_shape_are_right() {
        // psi'(1) = pi²/6, psi'(0.5) = pi²/2.
        let pi2 = std::f64::consts::PI.powi(2);
        assert!((trigamma(1.0) - pi2 / 6.0).abs() < 1e-12);
        assert!((trigamma(0.5) - pi2 / 2.0).abs() < 1e-12);
        for k in [0.3, 1.0, 2.5, 40.0] {
            let s = f64::ln(k) - statrs::function::gamma::digamma(k);
            assert!((gamma_shape(s) - k).abs() < 1e-9 * k, "{k}");
        }
    }

    #[test]
    fn durations_read_back() {
        assert_eq!(duration_text(0.041237), "41.24ms");
        assert_eq!(duration_text(2.5), "2.5s");
        assert_eq!(duration_text(0.000_012_5), "12.5us");
        for s in [0.041237, 2.5, 1234.5, 0.0000125] {
            let back = crate::time::parse_duration(&duration_text(s)).unwrap();
            assert!((back - s).abs() < 1e-3 * s, "{s}");
        }
    }

    fn draw(d: impl rand_distr::Distribution<f64>, n: usize, seed: u64) -> Vec<f64> {
        use rand::SeedableRng;
        let mut r = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
        (0..n).map(|_| d.sample(&mut r)).collect()
    }

    fn service(v: &[f64]) -> Fit {
        let src = Source {
            file: "x.csv".into(),
            unit: "s".into(),
            kind: Kind::Service,
        };
        fit(v, &src).unwrap()
    }

    fn get<'a>(f: &'a Fit, family: &str) -> &'a Candidate {
        f.candidates.iter().find(|c| c.family == family).unwrap()
    }

    #[test]
    fn recovers_a_lognormal() {
        // mu = ln(0.04), sigma = 0.6: mean 47.9ms.
        let d = rand_distr::LogNormal::new(0.04f64.ln(), 0.6).unwrap();
        let f = service(&draw(d, 20_000, 1));
        assert_eq!(f.best, "lognormal", "{}", f.reason);
        let c = get(&f, "lognormal");
        assert!((c.mu.unwrap() - 0.04f64.ln()).abs() < 0.02, "{c:?}");
        assert!((c.sigma.unwrap() - 0.6).abs() < 0.015, "{c:?}");
        assert!(c.ks_d < f.ks_critical && !get(&f, "gamma").acceptable);
        assert!(!get(&f, "exponential").acceptable);
    }

    #[test]
    fn recovers_a_gamma() {
        // shape 3, scale 10ms: mean 30ms, stddev 17.3ms.
        let d = rand_distr::Gamma::new(3.0, 0.01).unwrap();
        let f = service(&draw(d, 20_000, 2));
        assert_eq!(f.best, "gamma", "{}", f.reason);
        let c = get(&f, "gamma");
        assert!((c.shape.unwrap() - 3.0).abs() < 0.1, "{c:?}");
        assert!((c.scale.unwrap() - 0.01).abs() < 0.0004, "{c:?}");
        assert!((c.mean - 0.03).abs() < 0.0005);
        assert!(!get(&f, "lognormal").acceptable && !get(&f, "exponential").acceptable);
        assert_eq!(
            c.paste.as_deref(),
            Some(
                format!(
                    "service = {{ dist = \"gamma\", mean = \"{}\", stddev = \"{}\" }}",
                    duration_text(c.mean),
                    duration_text(c.stddev)
                )
                .as_str()
            )
        );
    }

    #[test]
    fn prefers_exponential_over_a_gamma_of_shape_one() {
        let d = rand_distr::Exp::new(25.0).unwrap();
        let f = service(&draw(d, 5_000, 3));
        assert_eq!(f.best, "exponential", "{}", f.reason);
        let c = get(&f, "exponential");
        assert!((c.rate.unwrap() - 25.0).abs() < 1.0, "{c:?}");
        // Gamma fits too (shape ~1) but has a parameter more.
        assert!(get(&f, "gamma").acceptable);
        assert!((get(&f, "gamma").shape.unwrap() - 1.0).abs() < 0.05);
    }

    #[test]
    fn constant_and_empirical() {
        let f = service(&[0.05, 0.05, 0.05, 0.0500001]);
        assert_eq!(f.best, "constant", "{}", f.reason);
        assert_eq!(
            get(&f, "constant").paste.as_deref(),
            Some("service = { dist = \"constant\", value = \"50ms\" }")
        );
        // A two-humped sample that no family fits.
        let mut v = draw(rand_distr::Normal::new(0.01, 0.001).unwrap(), 3000, 4);
        v.extend(draw(rand_distr::Normal::new(0.2, 0.01).unwrap(), 3000, 5));
        let f = service(&v);
        assert_eq!(f.best, "empirical", "{}", f.reason);
        assert_eq!(f.candidates[0].family, "empirical");
        assert_eq!(
            f.candidates[0].paste.as_deref(),
            Some("service = { dist = \"empirical\", samples = \"x.csv\", unit = \"s\" }")
        );
    }

    #[test]
    fn zeros_and_errors() {
        let f = service(&[0.0, 0.01, 0.02, 0.03]);
        assert_eq!(f.not_fitted.len(), 2);
        assert!(f.candidates.iter().all(|c| c.family != "gamma"));
        let src = |kind| Source {
            file: "x".into(),
            unit: "s".into(),
            kind,
        };
        assert_eq!(fit(&[], &src(Kind::Service)), Err(FitError::TooFew(0)));
        assert_eq!(
            fit(&[0.1, -1.0], &src(Kind::Service)),
            Err(FitError::Bad(1))
        );
        assert_eq!(
            fit(&[1.0, 2.0, 1.5], &src(Kind::Timestamps)),
            Err(FitError::NotMonotone(2))
        );
    }

    #[test]
    fn burstiness_tells_poisson_from_bursts() {
        let src = Source {
            file: "g".into(),
            unit: "s".into(),
            kind: Kind::Gaps,
        };
        let poisson = draw(rand_distr::Exp::new(100.0).unwrap(), 50_000, 6);
        let b = fit(&poisson, &src).unwrap().arrivals.unwrap();
        assert_eq!(b.verdict, "poisson", "{}", b.sentence);
        assert!((b.rate - 100.0).abs() < 2.0);
        assert_eq!(b.dispersion.len(), 4);
        // Hyperexponential gaps: 10% long (mean 50ms), 90% short (mean 2ms).
        let long = draw(rand_distr::Exp::new(20.0).unwrap(), 50_000, 7);
        let short = draw(rand_distr::Exp::new(500.0).unwrap(), 50_000, 8);
        let h: Vec<f64> = (0..50_000)
            .map(|i| if i % 10 == 0 { long[i] } else { short[i] })
            .collect();
        let f = fit(&h, &src).unwrap();
        let b = f.arrivals.unwrap();
        assert_eq!(b.verdict, "bursty", "{}", b.sentence);
        // Ca² of this mixture: E[X²]/E[X]² - 1 = (0.1·2·0.05² + 0.9·2·0.002²)/0.0068² - 1.
        let ca2: f64 = (0.1 * 2.0 * 0.0025 + 0.9 * 2.0 * 4e-6) / 0.0068f64.powi(2) - 1.0;
        assert!((b.ca2 - ca2).abs() < 0.15 * ca2, "{} vs {ca2}", b.ca2);
        assert!(
            b.sentence.starts_with("Burstier than Poisson"),
            "{}",
            b.sentence
        );
        // Evenly spaced arrivals are regular.
        let even = vec![0.01; 5000];
        let b = fit(&even, &src).unwrap().arrivals.unwrap();
        assert_eq!(b.verdict, "regular", "{}", b.sentence);
        assert_eq!(
            fit(&even, &src).unwrap().candidates[0].paste.as_deref(),
            Some("arrivals = \"constant\", rate = 100")
        );
    }
}
